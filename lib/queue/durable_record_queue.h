// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// DurableRecordQueue: the engine's side of a connection's RecordQueue
// (orgsync/record_queue.h is the host's read-only view): opening it on a
// Storage, enqueueing, handing out what is due, and removing entries when
// the partner acknowledged them or they finally failed. Only the
// connection's sending side may remove entries, which is why none of this
// is public.
//
// Contract:
//   * Kept in a Storage under "q/<connection>/"; the backlog lives there, not
//     in memory: the queue keeps only counters in RAM, so millions of queued
//     entries cost disk, not memory (design rule 6). Open at most one
//     DurableRecordQueue per (storage, connection id) at a time.
//   * Each entry gets a sequence number: strictly increasing in allocation
//     order and never reused once an entry with it became durable, even
//     after a restart and after the entry left the queue. (A number reserved
//     by an enqueue whose write failed may be handed out again after a
//     restart: nobody ever saw it.)
//   * An entry holds the record (object + id; empty for connection-level
//     actions), the QueueAction, an opaque payload (the serialized change),
//     the attempts made, the Next Retry Date, the last error and the time it
//     was enqueued.
//   * Enqueue returns OK only once the entries are durable (design rule 2).
//     PrepareEnqueue/FinishEnqueue let a caller put them in a larger atomic
//     batch. Sequence numbers are reserved under a short internal lock and
//     the write happens outside it, so concurrent enqueuers (or one writer
//     that groups many enqueues into one durable write) never wait on each
//     other's disk writes.
//   * Ready(now, ...) returns entries in sequence order whose Next Retry
//     Date has come. An entry waiting for a retry holds back the later
//     entries of the SAME record (per-record order) but not other records'.
//     Entries without a record never hold anything back.
//   * A barrier entry (NewQueueEntry::barrier) orders record entries across
//     records: Ready returns it only once no earlier record entry is queued
//     (in flight or waiting counts), and returns no later record entry while
//     it is queued. Live sync makes cascading deletes and undeletes barriers,
//     because what they cascade to on the partner depends on every earlier
//     change of the children having arrived, and on no later one.
//   * An entry leaves the queue only through Acknowledge (the partner has
//     it) or through MarkFailed when its attempts are exhausted or the
//     failure is not retryable; in both cases the caller can write the
//     SyncLog entry (Resolved / Failed) in the same atomic batch by using the
//     Prepare/Finish forms.
//   * Every mutation is validated first; on any error (bad input, unknown
//     sequence, failed write) neither storage nor memory changes.
//   * Readers (Ready, List, Get, Oldest...) see an entry once its enqueue
//     finished and every earlier-numbered enqueue finished too, so FIFO
//     consumers never see sequence N+1 before N.
//
// Counters: Count() and CountByAction() come from memory. At Open they are
// rebuilt by one scan over the queue's entries (bench/record_queue_bench
// reports the cost at 1,000,000 entries); they are not persisted because a
// persisted counter would need every enqueue batch to rewrite one shared key
// in allocation order, i.e. a lock held across the write.
//
// Thread-safety: every DurableRecordQueue method may be called concurrently
// from any thread. The Pending* tokens are move-only and used by one thread.

#ifndef ORGSYNC_LIB_QUEUE_DURABLE_RECORD_QUEUE_H_
#define ORGSYNC_LIB_QUEUE_DURABLE_RECORD_QUEUE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "internal/pending_writes.h"
#include "orgsync/clock.h"
#include "orgsync/queue_action.h"
#include "orgsync/record_queue.h"
#include "orgsync/storage.h"

namespace orgsync::internal {

// What a caller enqueues. Record actions (IsRecordAction) need both
// record.object and record.id; an id always needs an object.
struct NewQueueEntry {
  RecordRef record;
  QueueAction action = QueueAction::kGenericUpdate;
  std::string payload;
  // See "barrier entry" above; only record actions may be barriers.
  bool barrier = false;
};

// What MarkFailed did.
struct FailureOutcome {
  // The entry after the failure was recorded (attempts incremented,
  // next_retry and last_error set).
  QueueEntry entry;
  // True if the entry left the queue (attempts exhausted, or the failure
  // was not retryable): log it as Failed. False: it waits for next_retry;
  // entry.attempts == 1 means this was the first failure (log Retrying).
  bool exhausted = false;
};

// What Ready needs of an entry its caller holds already (see ReadyFilter).
struct HeldEntry {
  QueueAction action = QueueAction::kGenericUpdate;
  bool barrier = false;
};

// A Ready caller's say in the walk. Called under no queue lock, on the
// thread that called Ready.
class ReadyFilter {
 public:
  enum class Verdict { kTake, kPass, kStop };

  virtual ~ReadyFilter() = default;
  // The shape of an entry the caller holds (e.g. in flight): Ready steps
  // over it without reading its value or offering it; it still orders
  // barriers. nullopt: read the entry and offer it if due.
  virtual std::optional<HeldEntry> Held(uint64_t sequence) const = 0;
  // A due entry, in sequence order: kTake returns it, kPass goes on to the
  // next, kStop ends the walk.
  virtual Verdict Take(const QueueEntry& entry) = 0;
};

class DurableRecordQueue final : public RecordQueue {
 public:
  // What each token carries to its Finish call.
  struct EnqueueState {
    uint64_t first = 0;
    uint64_t count = 0;
    std::vector<QueueAction> actions = {};
    // The entries' records (those that name one), for the in-memory
    // filter of records with pending entries.
    std::vector<RecordRef> records = {};
  };
  struct RemovalState {
    std::vector<QueueEntry> entries = {};
    // The high-water-mark key this removal writes (if it removes the
    // newest entry) and the older ones it deletes.
    std::optional<uint64_t> new_high_water = {};
    std::vector<uint64_t> dropped_high_water = {};
  };
  struct FailureState {
    FailureOutcome outcome = {};
    // Used when the entry leaves the queue (see RemovalState).
    std::optional<uint64_t> new_high_water = {};
    std::vector<uint64_t> dropped_high_water = {};
  };

  // Move-only proofs that a change was staged into a batch
  // (internal/pending_writes.h). Hand each to its Finish* call exactly once
  // (to any DurableRecordQueue: it is forwarded to the queue that made it).
  // A token destroyed unfinished counts as a failed write.
  class PendingEnqueue : public PendingWrite<DurableRecordQueue, EnqueueState> {
   public:
    // The sequence numbers given to the entries, in the order given.
    std::vector<uint64_t> sequences() const;

   private:
    friend class DurableRecordQueue;
    PendingEnqueue(DurableRecordQueue* owner, EnqueueState state)
        : PendingWrite(owner, std::move(state)) {}
  };

  class PendingRemoval : public PendingWrite<DurableRecordQueue, RemovalState> {
   public:
    // The entries that leave the queue, as they were (e.g. to log Resolved
    // for those with attempts > 0).
    const std::vector<QueueEntry>& entries() const { return state().entries; }

   private:
    friend class DurableRecordQueue;
    PendingRemoval(DurableRecordQueue* owner, RemovalState state)
        : PendingWrite(owner, std::move(state)) {}
  };

  class PendingFailure : public PendingWrite<DurableRecordQueue, FailureState> {
   public:
    const FailureOutcome& outcome() const { return state().outcome; }

   private:
    friend class DurableRecordQueue;
    PendingFailure(DurableRecordQueue* owner, FailureState state)
        : PendingWrite(owner, std::move(state)) {}
  };

  // Opens the queue of `connection_id` (non-empty, at most 128 bytes, no
  // '/' or control characters), restoring it from `storage`. Neither pointer
  // is owned; both must outlive the queue. Errors: InvalidArgument for bad
  // arguments or options, DataLoss for undecodable stored state, or the
  // storage's error.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DurableRecordQueue>>
  Open(
      Storage* storage, Clock* clock, std::string connection_id,
      RecordQueueOptions options = {});

  ~DurableRecordQueue() override;

  const std::string& connection_id() const override;
  const RecordQueueOptions& options() const override;

  // ---- Producers ----

  // Appends `entries` (at least one) durably; returns their sequence
  // numbers, consecutive and in the order given. InvalidArgument naming the
  // bad entry and field, or the storage's error; nothing is queued then.
  [[nodiscard]] absl::StatusOr<std::vector<uint64_t>> Enqueue(
      absl::Span<const NewQueueEntry> entries);

  // Validates `entries`, reserves their sequence numbers and adds their
  // writes to `batch`. The caller writes the batch (sync=true for the
  // durability contract) and then calls FinishEnqueue with the write's
  // status; until then the entries are invisible to readers and to the
  // counters, and so are later-numbered ones (FIFO). Nothing changes on
  // error.
  [[nodiscard]] absl::StatusOr<PendingEnqueue> PrepareEnqueue(
      absl::Span<const NewQueueEntry> entries, WriteBatch* batch);
  void FinishEnqueue(PendingEnqueue pending, const absl::Status& write_status);

  // ---- Consumers ----

  // Up to `limit` (>= 1) entries due at `now`, in sequence order, skipping
  // entries waiting for a retry and the later entries of their records, and
  // honouring barriers (above).
  // Entries with sequence <= after_sequence are not returned (they are
  // taken to be in flight already) but still hold back their records if
  // they wait for a retry. A read: nothing changes.
  [[nodiscard]] absl::StatusOr<std::vector<QueueEntry>> Ready(
      absl::Time now, size_t limit, uint64_t after_sequence = 0) const;
  // The same walk, with the caller choosing: entries `filter` holds already
  // are stepped over without reading their values (the sending window
  // re-reads nothing it has in flight), and each due entry is offered to
  // filter->Take; up to `limit` taken entries are returned.
  [[nodiscard]] absl::StatusOr<std::vector<QueueEntry>> Ready(
      absl::Time now, size_t limit, ReadyFilter* filter) const;

  // The partner has these entries: they leave the queue. All must be queued
  // and distinct, otherwise nothing changes: NotFound for an unknown (or
  // not yet finished) sequence, InvalidArgument for an empty list or a
  // duplicate, FailedPrecondition if another Acknowledge/MarkFailed of the
  // entry is between its Prepare and Finish.
  [[nodiscard]] absl::Status Acknowledge(uint64_t sequence);
  [[nodiscard]] absl::Status Acknowledge(absl::Span<const uint64_t> sequences);
  [[nodiscard]] absl::StatusOr<PendingRemoval> PrepareAcknowledge(
      absl::Span<const uint64_t> sequences, WriteBatch* batch);
  // The same for entries the caller holds as Ready returned them (the
  // payload may be cleared): nothing is read back. The caller vouches that
  // each is still queued unchanged, as the sending window knows of the
  // entries it has in flight (only it acknowledges or fails them).
  [[nodiscard]] absl::StatusOr<PendingRemoval> PrepareAcknowledgeSent(
      std::vector<QueueEntry> sent, WriteBatch* batch);
  void FinishAcknowledge(PendingRemoval pending,
                         const absl::Status& write_status);

  // Records a failed delivery attempt of `sequence`: attempts + 1, last
  // error, and either a Next Retry Date by the RetryPolicy or, when the
  // attempts are exhausted or `retryable` is false (R52), removal from the
  // queue (FailureOutcome::exhausted). `error.code` must not be kNone.
  // Errors as for Acknowledge.
  [[nodiscard]] absl::StatusOr<FailureOutcome> MarkFailed(
      uint64_t sequence, const QueueError& error, bool retryable = true);
  [[nodiscard]] absl::StatusOr<PendingFailure> PrepareMarkFailed(
      uint64_t sequence, const QueueError& error, bool retryable,
      WriteBatch* batch);
  void FinishMarkFailed(PendingFailure pending,
                        const absl::Status& write_status);

  // ---- Inspection (R50): see RecordQueue ----

  [[nodiscard]] absl::StatusOr<QueueEntry> Get(uint64_t sequence) const override;
  [[nodiscard]] absl::StatusOr<QueuePage> List(std::string_view page_token,
                                               size_t page_size) const override;
  [[nodiscard]] absl::StatusOr<QueuePage> ListAfter(
      uint64_t after_sequence, size_t page_size) const override;
  uint64_t Count() const override;
  std::map<QueueAction, uint64_t> CountByAction() const override;
  [[nodiscard]] absl::StatusOr<std::optional<QueueEntry>> Oldest()
      const override;
  [[nodiscard]] absl::StatusOr<absl::Duration> OldestEntryAge() const override;
  // Whether an entry of `record` older than `sequence` is queued, where
  // `sequence` is a queued entry of `record` (so that, most often, the
  // in-memory filter answers alone: a bucket holding one entry holds only
  // that one).
  [[nodiscard]] absl::StatusOr<bool> HasEarlierPending(const RecordRef& record,
                                                       uint64_t sequence) const;
  [[nodiscard]] absl::StatusOr<bool> HasPending(
      const RecordRef& record) const override;
  [[nodiscard]] absl::StatusOr<std::vector<uint64_t>> PendingSequences(
      const RecordRef& record) const override;

 private:
  template <typename, typename>
  friend class PendingWrite;
  class Impl;

  // What a token destroyed before its Finish call undoes.
  void Abandon(EnqueueState& state);
  void Abandon(RemovalState& state);
  void Abandon(FailureState& state);

  explicit DurableRecordQueue(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_QUEUE_DURABLE_RECORD_QUEUE_H_
