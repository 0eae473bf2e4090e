// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The record queue's readers: what is due to be sent (Ready, with per-record
// order and barriers), single entries, pages, the oldest entry, a record's
// pending sequences and the per-action counts. Readers look only below the
// visible bound (record_queue_impl.h), so they never see sequence N+1
// before N.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "internal/keys.h"
#include "internal/numbered_keys.h"
#include "internal/strings.h"
#include "orgsync/status.h"
#include "queue/record_queue_impl.h"

namespace orgsync::internal {

absl::StatusOr<std::vector<QueueEntry>> DurableRecordQueue::Impl::Ready(
    absl::Time now, size_t limit, ReadyFilter* filter) const {
  if (limit == 0) {
    return absl::InvalidArgumentError("Ready needs a limit of at least 1");
  }
  const auto [start, bound] = ScanWindow();
  std::vector<QueueEntry> ready;
  std::optional<uint64_t> first_present;
  {
    ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                             storage_->NewIterator({}));
    const std::string prefix = keys_.EntryPrefix();
    // Records with an entry waiting for its retry: their later entries wait
    // too. Bounded by the scan limit.
    absl::flat_hash_set<std::string> held;
    // Barriers: whether a record entry was examined (queued before what
    // comes next), and whether a barrier was met (nothing after it goes).
    bool record_before = false;
    bool fenced = false;
    // True when a record entry must not go: a barrier is ahead of it, or it
    // is a barrier with a record entry ahead. Updates the two flags.
    auto barred = [&](QueueAction action, bool barrier) {
      if (!IsRecordAction(action)) return false;
      if (fenced) return true;
      const bool blocked_barrier = barrier && record_before;
      record_before = true;
      if (barrier) fenced = true;
      return blocked_barrier;
    };
    size_t examined = 0;
    // Whether the iterator is already on the next entry to look at (after
    // a Seek past held entries) rather than on the one just looked at.
    bool positioned = true;
    for (it->Seek(keys_.Entry(start));;) {
      if (!positioned) it->Next();
      positioned = false;
      if (!it->Valid() || !StartsWith(it->key(), prefix)) break;
      ORGSYNC_ASSIGN_OR_RETURN(uint64_t sequence,
                               SequenceFromKey(it->key(), prefix.size()));
      if (sequence >= bound) break;
      if (!first_present) first_present = sequence;
      if (++examined > options_.ready_scan_limit) break;
      // An entry the caller holds is in flight, not waiting for a retry: it
      // holds nothing back but still counts for the barriers.
      if (const std::optional<HeldEntry> shape = filter->Held(sequence)) {
        barred(shape->action, shape->barrier);
        // The entries after it that the caller holds too (a window sent
        // in sequence order) are stepped over by one Seek: iterating
        // would read every block of their values, which is most of the
        // walk when records are wide. A held sequence removed from the
        // queue meanwhile counts as present here, which can only hold a
        // barrier back a little longer, never let one pass.
        uint64_t next = sequence + 1;
        for (; next < bound && examined < options_.ready_scan_limit; ++next) {
          const std::optional<HeldEntry> more = filter->Held(next);
          if (!more) break;
          barred(more->action, more->barrier);
          ++examined;
        }
        if (next > sequence + 1) {
          it->Seek(keys_.Entry(next));
          positioned = true;
        }
        continue;
      }
      ORGSYNC_ASSIGN_OR_RETURN(QueueEntry entry,
                               DecodeQueueEntry(sequence, it->value()));
      if (barred(entry.action, entry.barrier)) continue;
      const std::string order_key =
          entry.record.empty() ? std::string() : OrderKey(entry.record);
      if (!order_key.empty() && held.contains(order_key)) continue;
      if (entry.next_retry > now) {
        if (!order_key.empty()) held.insert(order_key);
        continue;
      }
      const ReadyFilter::Verdict verdict = filter->Take(entry);
      if (verdict == ReadyFilter::Verdict::kStop) break;
      if (verdict == ReadyFilter::Verdict::kPass) continue;
      ready.push_back(std::move(entry));
      if (ready.size() == limit) break;
    }
    ORGSYNC_RETURN_IF_ERROR(it->status());
  }
  AdvanceScanStart(first_present.value_or(bound));
  return ready;
}

absl::StatusOr<QueueEntry> DurableRecordQueue::Impl::Get(uint64_t sequence) const {
  const auto [start, bound] = ScanWindow();
  if (sequence < start || sequence >= bound) {
    return absl::NotFoundError(absl::StrCat("no record queue entry ", sequence,
                                            " in '", connection_id_, "'"));
  }
  absl::StatusOr<std::string> value = storage_->Get(keys_.Entry(sequence));
  if (absl::IsNotFound(value.status())) {
    return absl::NotFoundError(absl::StrCat("no record queue entry ", sequence,
                                            " in '", connection_id_, "'"));
  }
  ORGSYNC_RETURN_IF_ERROR(value.status());
  return DecodeQueueEntry(sequence, *value);
}

absl::StatusOr<QueuePage> DurableRecordQueue::Impl::ListAfter(uint64_t after,
                                                       size_t page_size) const {
  if (page_size == 0 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "record queue page size ", page_size, " is not in 1..", kMaxPageSize));
  }
  QueuePage page;
  if (after == std::numeric_limits<uint64_t>::max()) return page;
  const auto [start, bound] = ScanWindow();
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator({}));
  const std::string prefix = keys_.EntryPrefix();
  for (it->Seek(keys_.Entry(std::max(start, after + 1)));
       it->Valid() && StartsWith(it->key(), prefix); it->Next()) {
    ORGSYNC_ASSIGN_OR_RETURN(uint64_t sequence,
                             SequenceFromKey(it->key(), prefix.size()));
    if (sequence >= bound) break;
    if (page.entries.size() == page_size) {
      page.next_page_token = SequenceToken(page.entries.back().sequence);
      break;
    }
    ORGSYNC_ASSIGN_OR_RETURN(QueueEntry entry,
                             DecodeQueueEntry(sequence, it->value()));
    page.entries.push_back(std::move(entry));
  }
  ORGSYNC_RETURN_IF_ERROR(it->status());
  return page;
}

absl::StatusOr<std::optional<QueueEntry>> DurableRecordQueue::Impl::Oldest() const {
  const auto [start, bound] = ScanWindow();
  std::optional<QueueEntry> oldest;
  {
    ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                             storage_->NewIterator({}));
    const std::string prefix = keys_.EntryPrefix();
    it->Seek(keys_.Entry(start));
    if (it->Valid() && StartsWith(it->key(), prefix)) {
      ORGSYNC_ASSIGN_OR_RETURN(uint64_t sequence,
                               SequenceFromKey(it->key(), prefix.size()));
      if (sequence < bound) {
        ORGSYNC_ASSIGN_OR_RETURN(oldest, DecodeQueueEntry(sequence, it->value()));
      }
    }
    ORGSYNC_RETURN_IF_ERROR(it->status());
  }
  AdvanceScanStart(oldest ? oldest->sequence : bound);
  return oldest;
}

absl::StatusOr<std::vector<uint64_t>> DurableRecordQueue::Impl::PendingSequences(
    const RecordRef& record, size_t limit) const {
  if (record.empty()) {
    return absl::InvalidArgumentError(
        "a record queue lookup needs a record object");
  }
  ORGSYNC_RETURN_IF_ERROR(
      ValidateQueueRecord(record, options_.max_name_bytes,
                          "record queue lookup"));
  // A record no queued entry names needs no iterator (a LevelDB iterator
  // costs more than the rest of a Verify's or bulk sync's work per
  // record). The filter and the scan window's bound move together
  // (FinishEnqueue), so this answers as the scan would.
  if (!MayHavePending(record)) return std::vector<uint64_t>{};
  const uint64_t bound = ScanWindow().second;
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator({}));
  const std::string prefix = keys_.RecordPrefix(record);
  std::vector<uint64_t> sequences;
  for (it->Seek(prefix);
       it->Valid() && StartsWith(it->key(), prefix) && sequences.size() < limit;
       it->Next()) {
    ORGSYNC_ASSIGN_OR_RETURN(uint64_t sequence,
                             SequenceFromKey(it->key(), prefix.size()));
    if (sequence >= bound) break;
    sequences.push_back(sequence);
  }
  ORGSYNC_RETURN_IF_ERROR(it->status());
  return sequences;
}

std::map<QueueAction, uint64_t> DurableRecordQueue::Impl::CountByAction() const {
  MutexLock lock(&mu_);
  std::map<QueueAction, uint64_t> counts;
  for (QueueAction action : kAllQueueActions) {
    const uint64_t n = by_action_[static_cast<size_t>(action)];
    if (n > 0) counts[action] = n;
  }
  return counts;
}

}  // namespace orgsync::internal
