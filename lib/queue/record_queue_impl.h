// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The state behind a DurableRecordQueue, shared by the files that do its
// jobs: durable_record_queue.cc (open, enqueue, remove, the tokens) and
// queue_reading.cc (what is due, listing, counting).
//
// Concurrency. Producers reserve a range of sequence numbers under mu_ and
// write outside it; until FinishEnqueue the range is "in flight". Readers
// look only below the lowest in-flight number (the visible bound), which is
// what keeps FIFO order when writes complete out of order. Consumers claim
// the entries they change (busy_) under mu_, read and write outside it, and
// release them in Finish*: two changes of one entry cannot interleave, and
// no lock is held across a storage write.
//
// Sequence numbers survive restarts through the entry keys themselves (the
// newest key), plus a high-water key "h<seq>" written when a removal takes
// the newest committed entry away. Because several removals may be written
// in any order, each writes its own key and deletes only older ones it knows
// to be durable; Load takes the largest.

#ifndef ORGSYNC_LIB_QUEUE_RECORD_QUEUE_IMPL_H_
#define ORGSYNC_LIB_QUEUE_RECORD_QUEUE_IMPL_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "internal/pending_writes.h"
#include "orgsync/internal/mutex.h"
#include "queue/durable_record_queue.h"
#include "queue/queue_codec.h"

namespace orgsync::internal {

class DurableRecordQueue::Impl {
 public:
  // What a removal (acknowledge, or a failure that exhausts the entry)
  // stages beyond the deletes themselves.
  struct HighWaterChange {
    std::optional<uint64_t> added;
    std::vector<uint64_t> dropped;
  };

  Impl(Storage* storage, Clock* clock, std::string connection_id,
       RecordQueueOptions options)
      : storage_(storage),
        clock_(clock),
        connection_id_(std::move(connection_id)),
        options_(std::move(options)),
        keys_(connection_id_) {}

  absl::Status Load();

  absl::StatusOr<uint64_t> PrepareEnqueue(absl::Span<const NewQueueEntry> in,
                                          WriteBatch* batch);
  void FinishEnqueue(uint64_t first, absl::Span<const QueueAction> actions,
                     absl::Span<const RecordRef> records,
                     const absl::Status& status);

  // Marks `sequences` busy after checking they are queued, and reads them.
  absl::StatusOr<std::vector<QueueEntry>> Claim(
      absl::Span<const uint64_t> sequences);
  // Marks `sequences` busy after checking they can be queued (distinct,
  // issued, not busy); reads nothing.
  absl::Status MarkBusy(absl::Span<const uint64_t> sequences);
  // Marks `entries` busy after checking they can be queued; reads nothing.
  absl::Status ClaimHeld(absl::Span<const QueueEntry> entries);
  void Unclaim(absl::Span<const QueueEntry> entries);
  // Stages the removal of claimed `entries`.
  HighWaterChange StageRemoval(absl::Span<const QueueEntry> entries,
                               WriteBatch* batch);
  void FinishRemoval(absl::Span<const QueueEntry> entries,
                     const HighWaterChange& high_water,
                     const absl::Status& status);
  void StageUpdate(const QueueEntry& entry, WriteBatch* batch) {
    batch->Put(keys_.Entry(entry.sequence), QueueEntryToState(entry).SerializeAsString());
  }

  absl::StatusOr<std::vector<QueueEntry>> Ready(absl::Time now, size_t limit,
                                                ReadyFilter* filter) const;
  absl::StatusOr<QueueEntry> Get(uint64_t sequence) const;
  absl::StatusOr<QueuePage> ListAfter(uint64_t after, size_t page_size) const;
  absl::StatusOr<std::optional<QueueEntry>> Oldest() const;
  absl::StatusOr<std::vector<uint64_t>> PendingSequences(
      const RecordRef& record, size_t limit) const;

  uint64_t Count() const {
    MutexLock lock(&mu_);
    return count_;
  }
  // False when surely no queued entry names `record` (see
  // pending_by_bucket_); true when one may.
  bool MayHavePending(const RecordRef& record) const {
    MutexLock lock(&mu_);
    return count_ > 0 && pending_by_bucket_[Bucket(record)] > 0;
  }
  // Whether the bucket of `record` holds more than one queued entry.
  bool MayHaveOthersPending(const RecordRef& record) const {
    MutexLock lock(&mu_);
    return pending_by_bucket_[Bucket(record)] > 1;
  }
  std::map<QueueAction, uint64_t> CountByAction() const;

  Storage* storage() const { return storage_; }
  Clock* clock() const { return clock_; }
  const std::string& connection_id() const { return connection_id_; }
  const RecordQueueOptions& options() const { return options_; }

 private:
  uint64_t VisibleBound() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return sequences_.VisibleBound();
  }
  // Where scans start and where they must stop, read under mu_ BEFORE the
  // caller opens its iterator: every entry below `bound` was written (or
  // failed) before that, so the iterator sees it.
  std::pair<uint64_t, uint64_t> ScanWindow() const {
    MutexLock lock(&mu_);
    return {scan_start_, VisibleBound()};
  }
  // Records that no entry below `first_present` exists any more.
  void AdvanceScanStart(uint64_t first_present) const {
    MutexLock lock(&mu_);
    scan_start_ = std::max(scan_start_, first_present);
  }

  Storage* const storage_;
  Clock* const clock_;
  const std::string connection_id_;
  const RecordQueueOptions options_;
  const QueueKeys keys_;

  mutable Mutex mu_;
  // Sequence numbers handed out, and those whose enqueue is being written.
  ReservedNumbers sequences_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<uint64_t> busy_ ABSL_GUARDED_BY(mu_);
  uint64_t count_ ABSL_GUARDED_BY(mu_) = 0;
  // How many queued entries name a record of each hash bucket: a record
  // whose bucket holds none has no pending entry, which PendingSequences
  // answers without a storage iterator (one costs more than the rest of a
  // bulk copy's or an apply's check of a record). Counted when an enqueue
  // or removal is durable, rebuilt at Load.
  static constexpr size_t kRecordBuckets = size_t{1} << 16;
  static size_t Bucket(const RecordRef& record) {
    const size_t hash = std::hash<std::string_view>{}(record.object) * 31 +
                        std::hash<std::string_view>{}(record.id);
    return hash & (kRecordBuckets - 1);
  }
  std::vector<uint32_t> pending_by_bucket_ ABSL_GUARDED_BY(mu_) =
      std::vector<uint32_t>(kRecordBuckets, 0);
  std::array<uint64_t, kQueueActionSlots> by_action_ ABSL_GUARDED_BY(mu_) = {};
  // The newest sequence of a finished enqueue (or restored at Load).
  uint64_t max_committed_ ABSL_GUARDED_BY(mu_) = 0;
  // High-water keys known durable; normally one.
  std::set<uint64_t> high_water_keys_ ABSL_GUARDED_BY(mu_);
  // Every entry below this is gone: scans seek here rather than to the start
  // of the prefix, stepping over no LevelDB tombstones of acknowledged
  // entries. Only a hint, hence mutable in const readers.
  mutable uint64_t scan_start_ ABSL_GUARDED_BY(mu_) = 1;
};


}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_QUEUE_RECORD_QUEUE_IMPL_H_
