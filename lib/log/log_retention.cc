// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The sync log's retention (SyncLogOptions: max_age, max_entries): the
// oldest entries go first, with their index keys, in atomic chunks each
// written durably.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "internal/strings.h"
#include "log/sync_log_impl.h"
#include "orgsync/status.h"

namespace orgsync::internal {
namespace {

constexpr size_t kPruneChunk = 1000;

}  // namespace

absl::StatusOr<uint64_t> DurableSyncLog::Impl::PruneLocked() {
  const bool by_age = options_.max_age > absl::ZeroDuration();
  if (!by_age && options_.max_entries == 0) return 0;
  const absl::Time cutoff =
      by_age ? clock_->Now() - options_.max_age : absl::InfinitePast();
  const std::string entry_prefix = keys_.EntryPrefix();
  uint64_t removed = 0;
  while (true) {
    uint64_t start = 0;
    uint64_t bound = 0;
    uint64_t excess = 0;
    {
      MutexLock lock(&mu_);
      start = first_event_hint_;
      bound = VisibleBound();
      if (options_.max_entries > 0 && total_ > options_.max_entries) {
        excess = total_ - options_.max_entries;
      }
    }
    // Collect one chunk with a short-lived iterator (an open iterator would
    // make the memory storage copy its map on our write).
    WriteBatch batch;
    std::vector<LogEntry> doomed;
    {
      ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                               storage_->NewIterator({}));
      for (it->Seek(keys_.Entry(start));
           it->Valid() && StartsWith(it->key(), entry_prefix) &&
           doomed.size() < kPruneChunk;
           it->Next()) {
        ORGSYNC_ASSIGN_OR_RETURN(uint64_t event,
                                 EventFromKey(it->key(), entry_prefix.size()));
        if (event >= bound) break;
        ORGSYNC_ASSIGN_OR_RETURN(LogEntry entry,
                                 DecodeLogEntry(event, it->value()));
        // Entries are in time order, so the first one kept ends the prune.
        if (doomed.size() >= excess && entry.time >= cutoff) break;
        batch.Delete(it->key());
        for (std::string& prefix : keys_.IndexPrefixes(entry)) {
          batch.Delete(WithEvent(std::move(prefix), event));
        }
        doomed.push_back(std::move(entry));
      }
      ORGSYNC_RETURN_IF_ERROR(it->status());
    }
    if (doomed.empty()) break;
    const uint64_t last = doomed.back().event;
    batch.Put(keys_.HighWater(), EncodeUint64(last));
    ORGSYNC_RETURN_IF_ERROR(storage_->Write(batch, {.sync = true}));
    {
      MutexLock lock(&mu_);
      total_ -= doomed.size();
      for (const LogEntry& entry : doomed) {
        --by_action_[static_cast<size_t>(entry.action)];
        --by_status_[static_cast<size_t>(entry.status)];
      }
      first_event_hint_ = std::max(first_event_hint_, last + 1);
    }
    removed += doomed.size();
    if (doomed.size() < kPruneChunk) break;
  }
  return removed;
}

}  // namespace orgsync::internal
