// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// DurableSyncLog: the engine's side of a connection's SyncLog
// (orgsync/sync_log.h is the host's read-only view): opening it on a
// Storage, appending (alone or in the same atomic write as a queue change),
// and retention.
//
// Contract:
//   * One SyncLog per connection, kept in a Storage under "l/<connection>/".
//     Open at most one DurableSyncLog per (storage, connection id) at a time.
//   * Each entry gets an event number: increasing in append order, never
//     reused, even after a restart or after old entries were pruned.
//   * Each entry has the record (may be empty for connection-level events),
//     the QueueAction, the time (from the Clock; never earlier than the
//     previous entry's, so time order equals event order), a status, an
//     error code, a description and optional key/value details (for a
//     conflict: both values).
//   * Append returns OK only once the entries are durable (sync write). To
//     make an entry durable in the same atomic write as other changes (for
//     instance removing the failed RecordQueue entry), use PrepareAppend,
//     write the batch, then FinishAppend.
//   * Observers (the seed's log triggers, R54) are called exactly once per
//     new entry, after it is durable, in event order, never while an
//     internal lock is held (an observer may query or append to the log).
//   * Queries filter by time range, object, record, status and action, in any
//     combination, newest or oldest first, paged. They use secondary index
//     keys (object, record, status, action) and the fact that time order
//     equals event order, so a narrow query does not read the whole log.
//   * Retention (SyncLogOptions): entries older than max_age and the oldest
//     beyond max_entries are removed, with their index keys, by Prune() and
//     automatically after every `prune_every` appends.
//   * Queries and counts see an entry once its append finished; an entry
//     whose append is still in progress (or failed) is invisible, so a
//     reader paging oldest-first never skips an entry that shows up late.
//
// Thread-safety: every DurableSyncLog method may be called concurrently from any
// thread. PendingAppend is a move-only token used by one thread.


#ifndef ORGSYNC_LIB_LOG_DURABLE_SYNC_LOG_H_
#define ORGSYNC_LIB_LOG_DURABLE_SYNC_LOG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "internal/pending_writes.h"
#include "orgsync/clock.h"
#include "orgsync/storage.h"
#include "orgsync/sync_log.h"

namespace orgsync::internal {

// What a caller appends.
struct NewLogEntry {
  RecordRef record;
  QueueAction action = QueueAction::kGenericUpdate;
  LogStatus status = LogStatus::kFailed;
  // Required (not kNone) for Retrying and Failed.
  SyncErrorCode error = SyncErrorCode::kNone;
  std::string description;
  std::vector<LogDetail> details;
  // The RecordQueue sequence the entry is about; 0 if none.
  uint64_t queue_sequence = 0;
  // Delivery attempts made so far; 0 if not applicable.
  uint32_t attempts = 0;
};

class DurableSyncLog final : public SyncLog {
 public:
  // What an append's token carries to FinishAppend: the entries, numbered.
  struct AppendState {
    std::vector<LogEntry> entries = {};
  };

  // Proof that entries were staged into a batch (internal/pending_writes.h).
  // Hand it to FinishAppend exactly once; a token destroyed unfinished
  // counts as a failed write.
  class PendingAppend : public PendingWrite<DurableSyncLog, AppendState> {
   public:
    // The event numbers the entries will have, in the order given.
    std::vector<uint64_t> events() const;

   private:
    friend class DurableSyncLog;
    PendingAppend(DurableSyncLog* owner, AppendState state)
        : PendingWrite(owner, std::move(state)) {}
  };

  // Opens the log of `connection_id` (must be non-empty, at most 128 bytes,
  // no '/' or control characters), restoring it from `storage`. Neither
  // pointer is owned; both must outlive the log. Errors: InvalidArgument for
  // bad arguments or options, DataLoss for undecodable stored state, or the
  // storage's error.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DurableSyncLog>> Open(
      Storage* storage, Clock* clock, std::string connection_id,
      SyncLogOptions options = {});

  ~DurableSyncLog() override;

  const std::string& connection_id() const override;

  // Appends entries durably and returns their event numbers. Observers are
  // called on this thread before it returns, unless another thread is
  // already notifying observers or an earlier-numbered append is still in
  // progress: then the thread that notifies next calls them, so observers
  // always see event order. Errors: InvalidArgument naming the bad entry and
  // field (nothing appended), or the storage's error (nothing appended).
  [[nodiscard]] absl::StatusOr<std::vector<uint64_t>> Append(
      absl::Span<const NewLogEntry> entries);
  [[nodiscard]] absl::StatusOr<uint64_t> Append(const NewLogEntry& entry);

  // Validates `entries` and adds their writes to `batch` (nothing else
  // changes yet). The caller writes the batch, then calls FinishAppend with
  // the write's status. Event numbers are reserved at once; a failed write
  // leaves a gap, never a duplicate.
  [[nodiscard]] absl::StatusOr<PendingAppend> PrepareAppend(
      absl::Span<const NewLogEntry> entries, WriteBatch* batch);
  void FinishAppend(PendingAppend pending, const absl::Status& write_status);

  // ---- Reading: see SyncLog ----

  [[nodiscard]] absl::StatusOr<LogEntry> Get(uint64_t event) const override;
  [[nodiscard]] absl::StatusOr<LogPage> Query(const LogQuery& query,
                                              std::string_view page_token,
                                              size_t page_size) const override;
  [[nodiscard]] absl::StatusOr<uint64_t> Count(
      const LogQuery& query) const override;
  [[nodiscard]] absl::StatusOr<LogPage> Last24Hours(
      std::string_view page_token, size_t page_size) const override;
  [[nodiscard]] absl::StatusOr<uint64_t> CountLast24Hours() const override;
  uint64_t Count() const override;
  std::map<QueueAction, uint64_t> CountByAction() const override;
  std::map<LogStatus, uint64_t> CountByStatus() const override;
  [[nodiscard]] absl::StatusOr<ObserverId> AddObserver(
      Observer observer) override;
  [[nodiscard]] absl::Status RemoveObserver(ObserverId id) override;

  // Applies the retention policy now; returns how many entries it removed.
  // Entries go oldest first, in atomic chunks of up to 1000 entries with
  // their index keys, each written durably; on an error the chunks already
  // written stay pruned and the rest stays intact.
  [[nodiscard]] absl::StatusOr<uint64_t> Prune();

 private:
  class Impl;
  explicit DurableSyncLog(std::unique_ptr<Impl> impl);
  template <typename, typename>
  friend class PendingWrite;
  // A token destroyed before FinishAppend: its write counts as failed.
  void Abandon(AppendState& state);

  std::unique_ptr<Impl> impl_;
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_LOG_DURABLE_SYNC_LOG_H_
