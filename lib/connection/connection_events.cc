// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// ConnectionImpl's connection events (OrgOptions.connection_events): noted
// under the state lock once a change is durable, told in order once no lock
// is held.

#include <string>
#include <utility>
#include <vector>

#include "connection/connection_impl.h"

namespace orgsync::internal {

void ConnectionImpl::NoteEvent(ConnectionEventKind kind, std::string object) {
  if (!env_->connection_events) return;
  pending_events_.push_back(ConnectionEvent{.connection_id = id_,
                                            .kind = kind,
                                            .status = StatusLocked(),
                                            .object = std::move(object)});
}

void ConnectionImpl::TellEvents() {
  if (!env_->connection_events) return;
  std::vector<ConnectionEvent> events;
  {
    internal::MutexLock lock(&mu_);
    if (telling_events_) return;  // that thread tells these too
    telling_events_ = true;
  }
  for (;;) {
    {
      internal::MutexLock lock(&mu_);
      events.clear();
      events.swap(pending_events_);
      if (events.empty()) {
        telling_events_ = false;
        return;
      }
    }
    for (const ConnectionEvent& event : events) env_->connection_events(event);
  }
}

}  // namespace orgsync::internal
