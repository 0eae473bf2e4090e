// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// History entries for events that messages from outside cause: refused
// acceptances and handshake answers, and the partner's Connection notices.
// A peer can send those as often as it likes, so the entries they add are
// bounded by time rather than by messages (see "Bounded state" in
// orgsync/connection.h): per key (an event and, for refusals, the reason),
// at most a few rows per window; later occurrences in the window rewrite
// the window's last row with a higher count and the latest detail. The
// windows live in memory: after a restart the next occurrence opens a new
// one.

#include <algorithm>
#include <string>

#include "connection/connection_impl.h"
#include "connection/connection_keys.h"

namespace orgsync::internal {
namespace {

// How long a window lasts, by the Org's Clock.
constexpr absl::Duration kIncomingHistoryWindow = absl::Minutes(10);

}  // namespace

void ConnectionImpl::AddIncomingHistory(
    std::string_view window_key, size_t rows_per_window, HistoryEvent event,
    std::string_view actor, std::string_view detail,
    proto::ConnectionState* next, WriteBatch* batch) {
  const absl::Time now = StoredNow(*env_->clock);
  auto it = history_windows_.find(window_key);
  if (it == history_windows_.end()) {
    it = history_windows_.emplace(std::string(window_key), HistoryWindow())
             .first;
  }
  HistoryWindow& window = it->second;
  if (window.rows == 0 || now >= window.start + kIncomingHistoryWindow) {
    window = HistoryWindow();
    window.start = now;
  }
  const std::string clipped = ClipPeerText(detail);
  if (window.rows < rows_per_window) {
    window.last_row = AddHistory(id_, now, event, actor, clipped, next, batch);
    ++window.rows;
    return;
  }
  proto::StoredHistoryEntry& row = window.last_row;
  row.set_occurrences(std::max<uint64_t>(row.occurrences(), 1) + 1);
  row.set_detail(clipped);
  batch->Put(HistoryKey(id_, row.sequence()), row.SerializeAsString());
}

}  // namespace orgsync::internal
