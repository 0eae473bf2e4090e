// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The sending side's answers: what the partner said about the entries in
// flight (delivery.cc sends them). APPLIED/DUPLICATE remove the entry
// (logging Resolved if it had failed before, R51); a failure marks it
// failed on the queue's retry schedule, logging Retrying on the first
// failure and Failed when it leaves the queue. Queue and log changes share
// one synced WriteBatch. An answer for an entry not in flight is ignored
// and counted (and logged Info when the entry is queued): a partner cannot
// retire what was never sent to it.
//
// The window keeps what it sent (InFlight::entry), so an acknowledgement
// removes entries without reading them back.

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "connection/connection_impl.h"
#include "orgsync/status.h"

namespace orgsync::internal {
namespace {

SyncErrorCode ToSyncErrorCode(proto::ErrorCode code) {
  absl::StatusOr<SyncErrorCode> converted =
      SyncErrorCodeFromNumber(static_cast<int>(code));
  if (!converted.ok() || *converted == SyncErrorCode::kNone) {
    return SyncErrorCode::kUnknown;
  }
  return *converted;
}

}  // namespace

void ConnectionImpl::ForgetInFlight(uint64_t sequence) {
  // Not through TakeInFlight: nothing is moved out, and GCC 12 reports the
  // moved-from optional's string as maybe uninitialized.
  const auto flying = in_flight_.find(sequence);
  if (flying == in_flight_.end()) return;
  const auto key = in_flight_keys_.find(flying->second.key);
  if (key != in_flight_keys_.end() && key->second == sequence) {
    parked_.Release(key->first);
    in_flight_keys_.erase(key);
  }
  in_flight_.erase(flying);
}

void ConnectionImpl::ForgetConnectionNotices(
    const std::vector<uint64_t>& sequences) {
  for (uint64_t sequence : sequences) queued_notices_.erase(sequence);
}

std::optional<ConnectionImpl::InFlight> ConnectionImpl::TakeInFlight(
    uint64_t sequence) {
  auto flying = in_flight_.find(sequence);
  if (flying == in_flight_.end()) return std::nullopt;
  std::optional<InFlight> taken = std::move(flying->second);
  in_flight_.erase(flying);
  auto key = in_flight_keys_.find(taken->key);
  if (key != in_flight_keys_.end() && key->second == sequence) {
    parked_.Release(key->first);
    in_flight_keys_.erase(key);
  }
  return taken;
}

void ConnectionImpl::HandleAck(const proto::Acknowledgement& ack,
                               DeferredLogs* logs) {
  std::vector<Answered> done;
  std::vector<Failure> failures;
  bool user_copy_answered = false;
  for (const proto::ItemResult& result : ack.results()) {
    const uint64_t sequence = result.sequence();
    if (IsMetadataPushSequence(sequence)) {
      HandleMetadataAnswer(result);  // no queue entry (metadata_sync.cc)
      continue;
    }
    const auto flying = in_flight_.find(sequence);
    const bool in_flight = flying != in_flight_.end();
    // The end of a copy of all users, answered for good: the User Sync in
    // Progress phase is over (R2; user_sync.cc).
    if (in_flight && IsUserCopyEnd(flying->second.entry) &&
        result.outcome() != proto::RETRYABLE_FAILURE) {
      user_copy_answered = true;
    }
    switch (result.outcome()) {
      case proto::APPLIED:
      case proto::DUPLICATE:
        // Only an entry sent to the partner (since this process started)
        // and not answered yet may leave the queue. A late answer to an
        // attempt that timed out still counts: the entry stays in flight
        // until it is answered. Anything else -- an entry never sent, held
        // while Suspended, or sent before a restart -- is no proof that the
        // partner has it: the entry stays queued and goes out (again), to be
        // answered DUPLICATE if the partner had it after all.
        if (!in_flight) {
          IgnoreResultNotInFlight(result, logs);
          break;
        }
        if (std::optional<InFlight> flying = TakeInFlight(sequence)) {
          done.push_back(Answered{.entry = std::move(flying->entry),
                                  .sender_version = flying->sender_version,
                                  .result = result});
        }
        break;
      case proto::RETRYABLE_FAILURE:
      case proto::PERMANENT_FAILURE:
        // A failure counts only for the attempt in flight; a late copy of
        // an answer already processed must not count twice.
        if (!in_flight) {
          ++counters_.stale_results;
          break;
        }
        ForgetInFlight(sequence);
        failures.push_back(
            {.sequence = sequence,
             .code = ToSyncErrorCode(result.error()),
             .description = result.description().empty()
                                ? std::string("refused by the partner")
                                : result.description(),
             .retryable = result.outcome() == proto::RETRYABLE_FAILURE});
        break;
      default:
        break;
    }
  }
  RecordAcknowledged(std::move(done), logs);
  RecordFailures(failures, logs);
  if (user_copy_answered) FinishUserCopyLocked();
}

void ConnectionImpl::IgnoreResultNotInFlight(const proto::ItemResult& result,
                                             DeferredLogs* logs) {
  const uint64_t sequence = result.sequence();
  absl::StatusOr<QueueEntry> entry = record_queue_->Get(sequence);
  if (!entry.ok()) {
    // Gone already: a late copy of an answer processed before.
    ++counters_.stale_results;
    return;
  }
  ++counters_.results_not_in_flight;
  // One log entry per queue entry, for a bounded number of entries: the
  // partner may repeat the answer at will.
  if (logged_results_not_in_flight_.size() >= kMaxLoggedResultsNotInFlight ||
      !logged_results_not_in_flight_.insert(sequence).second) {
    return;
  }
  NewLogEntry log;
  log.record = entry->record;
  log.action = entry->action;
  log.status = LogStatus::kInfo;
  log.description = fmt::format(
      "ignored the partner's {} answer for queue entry {}: it is not in "
      "flight to the partner ({}); the entry stays queued",
      proto::Outcome_Name(result.outcome()), sequence,
      StatusLocked() == ConnectionStatus::kSuspended
          ? "held while the connection is Suspended"
          : "not sent since this process started");
  log.queue_sequence = sequence;
  log.attempts = entry->attempts;
  WriteBatch batch;
  absl::StatusOr<DurableSyncLog::PendingAppend> staged =
      sync_log_->PrepareAppend(absl::MakeConstSpan(&log, 1), &batch);
  if (!staged.ok()) return;  // counted above; nothing else changes
  const absl::Status written =
      storage_->Write(batch, WriteOptions{.sync = true});
  logs->emplace_back(std::move(*staged), written);
}

void ConnectionImpl::RecordAcknowledged(std::vector<Answered> answered,
                                        DeferredLogs* logs) {
  if (answered.empty()) return;
  // What the partner answered (its record id and version) is recorded in
  // the same write that removes the entry, in sequence order.
  std::sort(answered.begin(), answered.end(),
            [](const Answered& a, const Answered& b) {
              return a.entry.sequence < b.entry.sequence;
            });
  WriteBatch batch;
  for (const Answered& one : answered) {
    if (!one.result.has_value()) continue;
    if (IsUserAction(one.entry.action)) {
      // A user the partner applied: its id there links to ours (R37, R35;
      // user_sync.cc).
      if (!one.entry.record.id.empty() &&
          !one.result->receiver_record_id().empty()) {
        StageUserLink(one.entry.record.id,
                      ClipPeerText(one.result->receiver_record_id()), &batch);
      }
      continue;
    }
    if (record_sync_ == nullptr || !IsRecordAction(one.entry.action)) {
      continue;
    }
    // On an error the entries stay queued and are sent again; the
    // partner answers DUPLICATE then.
    if (!record_sync_
             ->OnResult(one.entry, one.sender_version, *one.result, &batch)
             .ok()) {
      return;
    }
  }
  // Bulk sync copies (R63): applied, or not sent because the record was
  // linked or deleted by then.
  BulkAnswers bulk;
  for (const Answered& one : answered) {
    if (one.entry.action != QueueAction::kBulkSync) continue;
    ++(one.result.has_value() ? bulk.copied
                              : bulk.dropped)[one.entry.record.object];
  }
  std::optional<proto::StoredBulkSync> bulk_after =
      StageBulkAnswers(bulk, &batch);
  std::vector<QueueEntry> entries;
  entries.reserve(answered.size());
  for (Answered& one : answered) entries.push_back(std::move(one.entry));
  absl::StatusOr<DurableRecordQueue::PendingRemoval> removal =
      record_queue_->PrepareAcknowledgeSent(std::move(entries), &batch);
  if (!removal.ok()) return;
  std::vector<NewLogEntry> resolved;
  for (const QueueEntry& entry : removal->entries()) {
    if (entry.attempts == 0) continue;
    NewLogEntry log;
    log.record = entry.record;
    log.action = entry.action;
    log.status = LogStatus::kResolved;
    log.description =
        fmt::format("delivered after {} failed attempt{}; last error: {}",
                    entry.attempts, entry.attempts == 1 ? "" : "s",
                    entry.last_error.message);
    log.queue_sequence = entry.sequence;
    log.attempts = entry.attempts;
    resolved.push_back(std::move(log));
  }
  std::optional<DurableSyncLog::PendingAppend> append;
  if (!resolved.empty()) {
    absl::StatusOr<DurableSyncLog::PendingAppend> staged =
        sync_log_->PrepareAppend(resolved, &batch);
    if (!staged.ok()) {
      record_queue_->FinishAcknowledge(std::move(*removal), staged.status());
      return;
    }
    append = std::move(*staged);
  }
  std::vector<uint64_t> sequences;
  sequences.reserve(removal->entries().size());
  for (const QueueEntry& entry : removal->entries()) {
    sequences.push_back(entry.sequence);
  }
  const absl::Status written =
      storage_->Write(batch, WriteOptions{.sync = true});
  record_queue_->FinishAcknowledge(std::move(*removal), written);
  if (append.has_value()) logs->emplace_back(std::move(*append), written);
  if (!written.ok()) return;
  if (bulk_after.has_value()) InstallBulkSync(*std::move(bulk_after));
  counters_.entries_acknowledged += sequences.size();
  ForgetConnectionNotices(sequences);
  ForgetEnvelopeCaps(sequences);
}

void ConnectionImpl::RecordFailures(const std::vector<Failure>& failures,
                                    DeferredLogs* logs) {
  // Failures are the exception; one batch each keeps this simple.
  for (const Failure& failure : failures) {
    WriteBatch batch;
    absl::StatusOr<DurableRecordQueue::PendingFailure> marked =
        record_queue_->PrepareMarkFailed(
            failure.sequence,
            QueueError{.code = failure.code, .message = failure.description},
            failure.retryable, &batch);
    if (!marked.ok()) continue;  // gone meanwhile
    const FailureOutcome& outcome = marked->outcome();
    const QueueEntry& entry = outcome.entry;
    if (outcome.exhausted && !failure.retryable && record_sync_ != nullptr) {
      // R55: the partner refused what the change carried; the record's
      // next update goes whole, marked in the same write.
      if (absl::Status staged = record_sync_->OnFailed(entry, &batch);
          !staged.ok()) {
        record_queue_->FinishMarkFailed(std::move(*marked), staged);
        continue;
      }
    }
    // R51: Retrying on the first failure, Failed when the entry leaves.
    std::optional<NewLogEntry> log;
    if (outcome.exhausted) {
      log.emplace();
      log->status = LogStatus::kFailed;
      log->description =
          failure.retryable
              ? fmt::format("gave up after {} attempts: {}", entry.attempts,
                            failure.description)
              : fmt::format("not retryable: {}", failure.description);
    } else if (entry.attempts == 1) {
      log.emplace();
      log->status = LogStatus::kRetrying;
      log->description = fmt::format("retrying: {}", failure.description);
    }
    std::optional<DurableSyncLog::PendingAppend> append;
    if (log.has_value()) {
      log->record = entry.record;
      log->action = entry.action;
      log->error = failure.code;
      log->queue_sequence = entry.sequence;
      log->attempts = entry.attempts;
      absl::StatusOr<DurableSyncLog::PendingAppend> staged =
          sync_log_->PrepareAppend(absl::MakeConstSpan(&*log, 1), &batch);
      if (!staged.ok()) {
        record_queue_->FinishMarkFailed(std::move(*marked), staged.status());
        continue;
      }
      append = std::move(*staged);
    }
    const bool exhausted = outcome.exhausted;
    // A bulk sync copy that failed for good (R64) is answered.
    BulkAnswers bulk;
    if (exhausted && entry.action == QueueAction::kBulkSync) {
      ++bulk.failed[entry.record.object];
    }
    std::optional<proto::StoredBulkSync> bulk_after =
        StageBulkAnswers(bulk, &batch);
    const absl::Status written =
        storage_->Write(batch, WriteOptions{.sync = true});
    record_queue_->FinishMarkFailed(std::move(*marked), written);
    if (append.has_value()) logs->emplace_back(std::move(*append), written);
    if (!written.ok()) continue;
    if (bulk_after.has_value()) InstallBulkSync(*std::move(bulk_after));
    ++counters_.entries_failed;
    if (exhausted) {
      ForgetConnectionNotices({failure.sequence});
      ForgetEnvelopeCaps({failure.sequence});
    }
  }
}

}  // namespace orgsync::internal
