// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// HandlerSlot (orgsync/transport.h): the handler side of the Transport
// contract, once for every transport.

#include <string>
#include <utility>

#include "orgsync/transport.h"

namespace orgsync {

void HandlerSlot::Set(TransportHandler* handler) {
  internal::MutexLock lock(&mu_);
  // A call in progress finishes with the handler it started with; the
  // caller of Set may destroy that handler as soon as Set returns.
  mu_.Await([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !calling_; });
  handler_ = handler;
}

TransportHandler* HandlerSlot::Begin() {
  internal::MutexLock lock(&mu_);
  mu_.Await([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !calling_; });
  if (handler_ == nullptr) return nullptr;
  calling_ = true;
  return handler_;
}

void HandlerSlot::End() {
  internal::MutexLock lock(&mu_);
  calling_ = false;  // the unlock wakes whoever awaits !calling_
}

bool HandlerSlot::Deliver(std::string bytes) {
  TransportHandler* handler = Begin();
  if (handler == nullptr) return false;
  handler->OnMessage(std::move(bytes));
  End();
  return true;
}

bool HandlerSlot::NotifyAvailability(bool available) {
  TransportHandler* handler = Begin();
  if (handler == nullptr) return false;
  handler->OnAvailabilityChanged(available);
  End();
  return true;
}

}  // namespace orgsync
