// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Delivery of a connection's RecordQueue to the partner, and the receiving
// side of the partner's: the engine half of ConnectionImpl.
//
// Sending (Step): the queue's due entries go out while the connection is
// Active and the partner available. Each entry has an ordering key (the
// record; "map:<object>"; "connection"); per key at most one entry is in
// flight, so the partner sees each key's entries in queue order and only
// has to remember, per key, the last sequence it applied. Entries of
// different keys travel in parallel; record changes share envelopes,
// packed by wire::ChangeBatchEncoder within the limits the partner decodes
// with (DESIGN.md rule 10) and the DeliveryOptions. An unanswered entry is
// sent again after the ack timeout; an envelope the partner refuses
// (ProtocolError) is handled in envelope_refusals.cc.
//
// Answers count only for entries in flight (sent since this process
// started and not answered yet): APPLIED/DUPLICATE remove the entry
// (logging Resolved if it had failed before, R51); a failure marks it
// failed on the queue's retry schedule, logging Retrying on the first
// failure and Failed when it leaves the queue. Queue and log changes share
// one synced WriteBatch. An answer for an entry not in flight is ignored
// and counted (and logged Info when the entry is queued): a partner cannot
// retire what was never sent to it.
//
// Receiving: the per-key applied mark ("k/<conn>/a/<key>") makes every item
// apply at most once (DESIGN.md rule 3). Connection notices write it in the
// same batch as their effect. Publish/subscribe updates are applied through
// the SubscriptionMap/PublishSet, which write their own batches, and the
// mark follows: a crash in between makes the partner send the same update
// again, and applying one map update twice leaves the same state (each
// carries the publisher's whole publication of the object, or a rename or
// delete that is a no-op once done), so nothing is applied twice in effect.

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "connection/connection_impl.h"
#include "connection/connection_keys.h"
#include "orgsync/status.h"
#include "proto/connection_state.pb.h"
#include "schema/schema_proto.h"
#include "wire/change_batch_encoder.h"
#include "wire/envelope_codec.h"

namespace orgsync {

absl::Status DeliveryOptions::Validate() const {
  if (ack_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "DeliveryOptions.ack_timeout must be positive");
  }
  if (max_in_flight == 0 || max_changes_per_envelope == 0 ||
      max_envelope_bytes == 0 || ready_scan == 0) {
    return absl::InvalidArgumentError(
        "DeliveryOptions: max_in_flight, max_changes_per_envelope, "
        "max_envelope_bytes and ready_scan must be at least 1");
  }
  return absl::OkStatus();
}

namespace internal {
namespace {

constexpr std::string_view kConnectionKey = "connection";

// History rows per event kind per window for the partner's notices (see
// "Bounded state" in orgsync/connection.h).
constexpr size_t kNoticeRowsPerWindow = 4;

bool IsMapAction(QueueAction action) {
  switch (action) {
    case QueueAction::kTypeMapUpdate:
    case QueueAction::kTypeMapDelete:
    case QueueAction::kTypeMapNameUpdate:
    case QueueAction::kTypeMapSetPartnerSub:
    case QueueAction::kFieldMapUpdate:
    case QueueAction::kFieldMapDelete:
    case QueueAction::kFieldMapNameUpdate:
    case QueueAction::kValueMapDelete:
      return true;
    default:
      return false;
  }
}

std::string PartnerActorOf(const std::string& org_id) {
  return "partner:" + org_id.substr(0, 256);
}


SyncErrorCode ToSyncErrorCode(proto::ErrorCode code) {
  absl::StatusOr<SyncErrorCode> converted =
      SyncErrorCodeFromNumber(static_cast<int>(code));
  if (!converted.ok() || *converted == SyncErrorCode::kNone) {
    return SyncErrorCode::kUnknown;
  }
  return *converted;
}

// The header every sent envelope gets (the message id at its largest), so
// that ValidateEnvelope judges it as the partner's decoder will.
proto::Envelope WithHeader(proto::Envelope envelope, const std::string& id,
                           const std::string& org_id) {
  envelope.set_protocol_version(wire::kProtocolVersion);
  envelope.set_connection_id(id);
  envelope.set_sender_org_id(org_id);
  envelope.set_message_id(std::numeric_limits<uint64_t>::max());
  return envelope;
}

}  // namespace

proto::ItemResult ItemResultOf(uint64_t sequence, proto::Outcome outcome,
                               proto::ErrorCode error,
                               std::string description) {
  proto::ItemResult result;
  result.set_sequence(sequence);
  result.set_outcome(outcome);
  result.set_error(error);
  result.set_description(std::move(description));
  return result;
}

bool IsConnectionAction(QueueAction action) {
  switch (action) {
    case QueueAction::kConnectionAdminResumed:
    case QueueAction::kConnectionAdminSuspended:
    case QueueAction::kConnectionDeactivate:
    case QueueAction::kConnectionResumed:
    case QueueAction::kConnectionSuspended:
    case QueueAction::kConnectionUpdate:
      return true;
    default:
      return false;
  }
}

std::string OrderingKey(const RecordRef& record, QueueAction action) {
  if (IsConnectionAction(action)) return std::string(kConnectionKey);
  if (IsMapAction(action)) return "map:" + record.object;
  if (IsRecordAction(action)) return "record:" + record.object + "/" + record.id;
  // User and metadata sync (not built yet): one key per action.
  return fmt::format("action:{}", static_cast<int>(action));
}

// --- ChangeSink ----------------------------------------------------------

absl::Status ConnectionImpl::MapSink::Stage(
    absl::Span<const MapNotice> notices, WriteBatch* batch) {
  // A deactivated connection sends nothing ever again (R8).
  if (connection_->deactivated_) return absl::OkStatus();
  std::vector<NewQueueEntry> entries;
  for (const MapNotice& notice : notices) {
    // The sender's own admin notice; it never crosses.
    if (notice.action == QueueAction::kMapUpdateEmail) continue;
    proto::MapUpdate update;
    update.set_action(static_cast<proto::QueueAction>(notice.action));
    update.set_object(notice.object);
    update.set_field(notice.field);
    update.set_new_name(notice.new_name);
    update.set_picklist_value(notice.value);
    update.set_subscribed(notice.subscribed);
    if (notice.publication.has_value()) {
      *update.mutable_object_schema() = ToObjectSchema(*notice.publication);
      for (const FieldDef& field : notice.publication->fields) {
        update.add_published_fields(field.name);
      }
    }
    // The sequence is the queue's, set when the entry is sent.
    NewQueueEntry entry;
    entry.record = RecordRef{.object = notice.object, .id = ""};
    entry.action = notice.action;
    entry.payload = update.SerializeAsString();
    entries.push_back(std::move(entry));
  }
  if (entries.empty()) return absl::OkStatus();
  ORGSYNC_ASSIGN_OR_RETURN(
      DurableRecordQueue::PendingEnqueue pending,
      connection_->record_queue_->PrepareEnqueue(entries, batch));
  internal::MutexLock lock(&mu_);
  pending_ = std::move(pending);
  return absl::OkStatus();
}

void ConnectionImpl::MapSink::Finish(const absl::Status& write_status) {
  std::optional<DurableRecordQueue::PendingEnqueue> pending;
  {
    internal::MutexLock lock(&mu_);
    pending.swap(pending_);
  }
  if (pending.has_value()) {
    connection_->record_queue_->FinishEnqueue(std::move(*pending),
                                              write_status);
  }
}

// --- Sending ---------------------------------------------------------------

void ConnectionImpl::FinishLogs(DeferredLogs logs) {
  for (auto& [pending, status] : logs) {
    sync_log_->FinishAppend(std::move(pending), status);
  }
}

absl::StatusOr<size_t> ConnectionImpl::Step() {
  const EventTeller tell(this);
  DeferredLogs logs;
  absl::StatusOr<size_t> sent;
  {
    internal::MutexLock record_lock(&record_mu_);
    sent = Deliver(&logs);
  }
  FinishLogs(std::move(logs));
  ORGSYNC_RETURN_IF_ERROR(ReportQueueSizeIfDue());  // R7, connection_impl.cc
  return sent;
}

absl::StatusOr<size_t> ConnectionImpl::Deliver(DeferredLogs* logs) {
  if (record_sync_ != nullptr) {
    // R34 severings the host's undeletes asked for, before anything of
    // those records is sent.
    ORGSYNC_RETURN_IF_ERROR(record_sync_->SeverRequestedLinks(logs));
  }
  std::vector<QueueEntry> to_send;
  ConnectionStatus picked_in = ConnectionStatus::kInvited;
  absl::Time now;
  {
    internal::MutexLock lock(&mu_);
    if (!CanSendLocked()) return 0;
    picked_in = StatusLocked();
    now = env_->clock->Now();
    ORGSYNC_ASSIGN_OR_RETURN(to_send, PickEntries(now));
  }
  if (to_send.empty()) return 0;
  // Record changes are read from the host's RecordStore: without mu_.
  std::vector<std::optional<absl::StatusOr<OutgoingChange>>> prepared(
      to_send.size());
  if (record_sync_ != nullptr) {
    for (size_t i = 0; i < to_send.size(); ++i) {
      if (IsRecordAction(to_send[i].action)) {
        prepared[i] = record_sync_->PrepareSend(to_send[i]);
      }
    }
  }
  internal::MutexLock lock(&mu_);
  // Suspended, detached or deactivated meanwhile: the entries wait for the
  // next Step, which picks again.
  if (!CanSendLocked() || StatusLocked() != picked_in) return 0;
  return SendEntries(std::move(to_send), std::move(prepared), now, logs);
}

bool ConnectionImpl::CanSendLocked() const {
  if (transport_ == nullptr || !partner_available_) return false;
  const ConnectionStatus status = StatusLocked();
  // Suspended (R5, R6), or not accepted yet / still in the initial syncs:
  // the entries wait in the queue. Deactivated: only the Connection
  // Deactivate notice goes, to a partner this side knows.
  if (status == ConnectionStatus::kDeactivated) {
    return !state_.partner_org_id().empty();
  }
  return status == ConnectionStatus::kActive;
}

absl::StatusOr<std::vector<QueueEntry>> ConnectionImpl::PickEntries(
    absl::Time now) {
  const bool deactivated = StatusLocked() == ConnectionStatus::kDeactivated;
  const DeliveryOptions& options = env_->delivery;
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<QueueEntry> ready,
                           record_queue_->Ready(now, options.ready_scan));
  std::vector<QueueEntry> to_send;
  std::set<std::string, std::less<>> seen;
  size_t fresh = 0;
  for (QueueEntry& entry : ready) {
    // Only the oldest due entry of each key is a candidate: the later ones
    // wait for it (R50 per-record order).
    std::string key = OrderingKey(entry.record, entry.action);
    if (!seen.insert(key).second) continue;
    if (deactivated && entry.action != QueueAction::kConnectionDeactivate) {
      continue;
    }
    // Connection notices have no record, so the queue does not hold a later
    // one back while an older one waits for its retry; this does.
    if (IsConnectionAction(entry.action) &&
        (queued_notices_.empty() || *queued_notices_.begin() != entry.sequence)) {
      continue;
    }
    auto flying = in_flight_.find(key);
    if (flying != in_flight_.end()) {
      if (flying->second.sequence != entry.sequence ||
          now - flying->second.sent < options.ack_timeout) {
        continue;
      }
      ++counters_.entries_resent;
    } else {
      if (in_flight_.size() + fresh >= options.max_in_flight) continue;
      ++fresh;
    }
    to_send.push_back(std::move(entry));
  }
  return to_send;
}

absl::StatusOr<size_t> ConnectionImpl::SendEntries(
    std::vector<QueueEntry> entries,
    std::vector<std::optional<absl::StatusOr<OutgoingChange>>> prepared,
    absl::Time now, DeferredLogs* logs) {
  const DeliveryOptions& options = env_->delivery;
  size_t sent = 0;
  std::vector<Failure> unsendable;
  // Record entries with nothing to send (RecordSync said skip).
  std::vector<uint64_t> skipped;
  absl::Status send_error;

  auto mark_sent = [&](const std::vector<const QueueEntry*>& carried,
                       uint64_t message_id) {
    ++counters_.envelopes_sent;
    for (const QueueEntry* entry : carried) {
      std::string key = OrderingKey(entry->record, entry->action);
      in_flight_keys_[entry->sequence] = key;
      in_flight_[key] = InFlight{
          .sequence = entry->sequence, .sent = now, .message_id = message_id};
      ++counters_.entries_sent;
      ++sent;
    }
  };
  // Unavailable: the partner went away; the entries stay queued.
  auto send = [&](proto::Envelope envelope, const QueueEntry* entry) {
    if (!send_error.ok()) return;
    uint64_t message_id = 0;
    send_error = SendEnvelope(std::move(envelope), &message_id);
    if (send_error.ok()) mark_sent({entry}, message_id);
  };

  // Record changes share envelopes, packed within the partner's decoding
  // limits (the encoder measures each change as the decoder counts it),
  // the delivery options, and the caps of entries whose envelope the
  // partner refused (envelope_refusals.cc).
  wire::ChangeBatchEncoder batch(id_, env_->org_id);
  std::vector<const QueueEntry*> batched;
  size_t batch_cap = options.max_changes_per_envelope;
  auto flush = [&] {
    if (batched.empty()) return;
    if (send_error.ok()) {
      uint64_t message_id = 0;
      send_error = SendChangeBatch(&batch, &message_id);
      if (send_error.ok()) mark_sent(batched, message_id);
    }
    batch.Clear();
    batched.clear();
    batch_cap = options.max_changes_per_envelope;
  };

  for (size_t i = 0; i < entries.size(); ++i) {
    const QueueEntry& entry = entries[i];
    proto::Envelope envelope;
    bool parsed = false;
    if (prepared[i].has_value()) {
      absl::StatusOr<OutgoingChange>& out = *prepared[i];
      if (!out.ok()) {
        if (absl::IsDataLoss(out.status()) ||
            absl::IsInvalidArgument(out.status())) {
          unsendable.push_back(
              {.sequence = entry.sequence,
               .code = SyncErrorCode::kUnknown,
               .description = std::string(out.status().message()),
               .retryable = false});
        }
        // Otherwise (storage trouble) the entry waits for the next step.
        continue;
      }
      if (out->kind == OutgoingChange::Kind::kBlocked) continue;  // R50
      if (out->kind == OutgoingChange::Kind::kSkip) {
        ForgetInFlight(entry.sequence);
        skipped.push_back(entry.sequence);
        continue;
      }
      *envelope.mutable_changes()->add_changes() = std::move(out->change);
      parsed = true;
    } else if (IsRecordAction(entry.action)) {
      proto::RecordChange* change =
          envelope.mutable_changes()->add_changes();
      parsed = change->ParseFromString(entry.payload);
      change->set_sequence(entry.sequence);
    } else if (IsConnectionAction(entry.action)) {
      parsed = envelope.mutable_notice()->ParseFromString(entry.payload);
      envelope.mutable_notice()->set_sequence(entry.sequence);
    } else if (IsMapAction(entry.action)) {
      parsed = envelope.mutable_map_update()->ParseFromString(entry.payload);
      envelope.mutable_map_update()->set_sequence(entry.sequence);
    } else {
      unsendable.push_back(
          {.sequence = entry.sequence,
           .code = SyncErrorCode::kUnknown,
           .description = fmt::format("{} entries cannot be sent yet",
                                      QueueActionName(entry.action)),
           .retryable = false});
      continue;
    }
    if (!parsed) {
      unsendable.push_back({.sequence = entry.sequence,
                            .code = SyncErrorCode::kUnknown,
                            .description = "the queued payload is unreadable",
                            .retryable = false});
      continue;
    }
    // What the partner's decoder would refuse can never be delivered: it
    // fails here, at once, rather than being sent forever.
    if (!IsRecordAction(entry.action)) {
      if (absl::Status valid =
              wire::ValidateEnvelope(WithHeader(envelope, id_, env_->org_id));
          !valid.ok()) {
        unsendable.push_back({.sequence = entry.sequence,
                              .code = SyncErrorCode::kValidation,
                              .description = std::string(valid.message()),
                              .retryable = false});
        continue;
      }
      send(std::move(envelope), &entry);
      continue;
    }
    absl::StatusOr<wire::EncodedChange> encoded =
        batch.Encode(envelope.changes().changes(0));
    if (!encoded.ok()) {
      unsendable.push_back(
          {.sequence = entry.sequence,
           .code = SyncErrorCode::kValidation,
           .description = fmt::format("can never be sent to the partner: {}",
                                      std::string(encoded.status().message())),
           .retryable = false});
      continue;
    }
    const size_t cap = std::min(batch_cap, EnvelopeCapOf(entry.sequence));
    if (!batched.empty() &&
        (batched.size() >= cap ||
         batch.bytes() + encoded->EnvelopeBytes() >
             options.max_envelope_bytes ||
         !batch.Fits(*encoded))) {
      flush();
    }
    batch_cap = std::min(batch_cap, EnvelopeCapOf(entry.sequence));
    batch.Add(*std::move(encoded));
    batched.push_back(&entry);
  }
  flush();
  RecordAcknowledged(std::move(skipped), {}, logs);
  RecordFailures(unsendable, logs);
  // Unavailable (the partner went away) and ResourceExhausted (the
  // transport's flow control) leave the rest queued for a later Step; see
  // the contract in orgsync/transport.h.
  if (!send_error.ok() && !absl::IsUnavailable(send_error) &&
      !absl::IsResourceExhausted(send_error)) {
    return send_error;
  }
  return sent;
}

void ConnectionImpl::ForgetInFlight(uint64_t sequence) {
  auto it = in_flight_keys_.find(sequence);
  if (it == in_flight_keys_.end()) return;
  auto flying = in_flight_.find(it->second);
  if (flying != in_flight_.end() && flying->second.sequence == sequence) {
    in_flight_.erase(flying);
  }
  in_flight_keys_.erase(it);
}

void ConnectionImpl::ForgetConnectionNotices(
    const std::vector<uint64_t>& sequences) {
  for (uint64_t sequence : sequences) queued_notices_.erase(sequence);
}

void ConnectionImpl::HandleAck(const proto::Acknowledgement& ack,
                               DeferredLogs* logs) {
  std::vector<uint64_t> done;
  std::map<uint64_t, proto::ItemResult> done_results;
  std::vector<Failure> failures;
  for (const proto::ItemResult& result : ack.results()) {
    const uint64_t sequence = result.sequence();
    const bool in_flight = in_flight_keys_.contains(sequence);
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
        ForgetInFlight(sequence);
        if (done_results.emplace(sequence, result).second) {
          done.push_back(sequence);
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
  RecordAcknowledged(std::move(done), done_results, logs);
  RecordFailures(failures, logs);
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
      env_->storage->Write(batch, WriteOptions{.sync = true});
  logs->emplace_back(std::move(*staged), written);
}

void ConnectionImpl::RecordAcknowledged(
    std::vector<uint64_t> sequences,
    const std::map<uint64_t, proto::ItemResult>& results, DeferredLogs* logs) {
  if (sequences.empty()) return;
  WriteBatch batch;
  absl::StatusOr<DurableRecordQueue::PendingRemoval> removal =
      record_queue_->PrepareAcknowledge(sequences, &batch);
  if (absl::IsNotFound(removal.status())) {
    // Some answers came late, for entries already gone: keep the rest.
    std::vector<uint64_t> queued;
    for (uint64_t sequence : sequences) {
      if (record_queue_->Get(sequence).ok()) {
        queued.push_back(sequence);
      } else {
        ++counters_.stale_results;
      }
    }
    if (queued.empty()) return;
    sequences = std::move(queued);
    batch.Clear();
    removal = record_queue_->PrepareAcknowledge(sequences, &batch);
  }
  // On an error the entries stay queued and are sent again; the partner
  // answers DUPLICATE then.
  if (!removal.ok()) return;
  if (record_sync_ != nullptr && !results.empty()) {
    // What the partner answered (its record id and version) is recorded in
    // the same write that removes the entry, in sequence order.
    std::vector<const QueueEntry*> removed;
    for (const QueueEntry& entry : removal->entries()) {
      removed.push_back(&entry);
    }
    std::sort(removed.begin(), removed.end(),
              [](const QueueEntry* a, const QueueEntry* b) {
                return a->sequence < b->sequence;
              });
    for (const QueueEntry* entry : removed) {
      if (!IsRecordAction(entry->action)) continue;
      auto result = results.find(entry->sequence);
      if (result == results.end()) continue;
      if (absl::Status staged =
              record_sync_->OnResult(*entry, result->second, &batch);
          !staged.ok()) {
        // The entries stay queued; sent again, they come back DUPLICATE.
        record_queue_->FinishAcknowledge(std::move(*removal), staged);
        return;
      }
    }
  }
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
  const absl::Status written =
      env_->storage->Write(batch, WriteOptions{.sync = true});
  record_queue_->FinishAcknowledge(std::move(*removal), written);
  if (append.has_value()) logs->emplace_back(std::move(*append), written);
  if (!written.ok()) return;
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
    const absl::Status written =
        env_->storage->Write(batch, WriteOptions{.sync = true});
    record_queue_->FinishMarkFailed(std::move(*marked), written);
    if (append.has_value()) logs->emplace_back(std::move(*append), written);
    if (!written.ok()) continue;
    ++counters_.entries_failed;
    if (exhausted) {
      ForgetConnectionNotices({failure.sequence});
      ForgetEnvelopeCaps({failure.sequence});
    }
  }
}

// --- Receiving -------------------------------------------------------------

absl::StatusOr<uint64_t> ConnectionImpl::AppliedMark(
    std::string_view key) const {
  absl::StatusOr<std::string> bytes =
      env_->storage->Get(AppliedMarkKey(id_, key));
  if (absl::IsNotFound(bytes.status())) return 0;
  ORGSYNC_RETURN_IF_ERROR(bytes.status());
  proto::AppliedMark mark;
  if (!mark.ParseFromString(*bytes)) {
    return absl::DataLossError(fmt::format(
        "connection {}: unreadable applied mark for {}", id_, key));
  }
  return mark.sequence();
}

void ConnectionImpl::PutAppliedMark(std::string_view key, uint64_t sequence,
                                    WriteBatch* batch) const {
  proto::AppliedMark mark;
  mark.set_sequence(sequence);
  batch->Put(AppliedMarkKey(id_, key), mark.SerializeAsString());
}

proto::ItemResult ConnectionImpl::ApplyNotice(
    const proto::ConnectionNotice& notice) {
  const uint64_t sequence = notice.sequence();
  absl::StatusOr<uint64_t> mark = AppliedMark(kConnectionKey);
  if (!mark.ok()) {
    return ItemResultOf(sequence, proto::RETRYABLE_FAILURE, proto::ERROR_STORAGE,
                  std::string(mark.status().message()));
  }
  if (sequence <= *mark) return ItemResultOf(sequence, proto::DUPLICATE);

  proto::ConnectionState next = state_;
  WriteBatch batch;
  const absl::Time now = StoredNow(*env_->clock);
  const std::string actor = PartnerActorOf(state_.partner_org_id());
  const std::string why =
      notice.reason().empty()
          ? std::string()
          : fmt::format(" (by {})", notice.reason().substr(0, 256));
  bool deactivates = false;
  // The partner may send notices at will: their history entries are
  // coalesced (incoming_history.cc), a few per event per window.
  auto record = [&](HistoryEvent event, std::string_view detail) {
    AddIncomingHistory(fmt::format("notice:{}", static_cast<int>(event)),
                       kNoticeRowsPerWindow, event, actor, detail, &next,
                       &batch);
  };
  switch (notice.action()) {
    case proto::CONNECTION_UPDATE: {
      const proto::ConnectionOptions& options = notice.options();
      // Sync options are the primary's (R74): a secondary's notice carries
      // them only as it last knew them.
      if (role_ == ReplicationRole::kSecondary) {
        proto::StoredSyncOptions sync;
        sync.set_sync_feeds_and_audit_fields(
            options.sync_feeds_and_audit_fields());
        sync.set_sync_metadata(options.sync_metadata());
        sync.set_sync_users(options.sync_users());
        if (sync.SerializeAsString() != next.sync().SerializeAsString()) {
          auto describe = [](const proto::StoredSyncOptions& s) {
            return DescribeSync({.sync_feeds_and_audit_fields =
                                     s.sync_feeds_and_audit_fields(),
                                 .sync_metadata = s.sync_metadata(),
                                 .sync_users = s.sync_users()});
          };
          const std::string detail =
              fmt::format("{} -> {}{}", describe(next.sync()), describe(sync),
                          why);
          *next.mutable_sync() = sync;
          record(HistoryEvent::kSyncOptionsUpdated, detail);
        }
      }
      const std::string owner = options.owner().substr(0, 256);
      if (!owner.empty() && owner != next.owner()) {
        const std::string detail =
            fmt::format("{} -> {}{}", next.owner(), owner, why);
        next.set_owner(owner);
        record(HistoryEvent::kOwnerUpdated, detail);
      }
      const std::string contact = options.contact().substr(0, 256);
      if (!contact.empty() && contact != next.contact()) {
        const std::string detail =
            fmt::format("{} -> {}{}", next.contact(), contact, why);
        next.set_contact(contact);
        record(HistoryEvent::kContactUpdated, detail);
      }
      break;
    }
    case proto::CONNECTION_ADMIN_SUSPENDED:
      record(HistoryEvent::kAdminSuspended,
             "the partner org suspended its side" + why);
      break;
    case proto::CONNECTION_ADMIN_RESUMED:
      record(HistoryEvent::kAdminResumed,
             "the partner org resumed its side" + why);
      break;
    case proto::CONNECTION_SUSPENDED:
    case proto::CONNECTION_RESUMED:
      // Both sides see the link themselves (R6); nothing to record.
      break;
    case proto::CONNECTION_DEACTIVATE:
      if (next.status() != proto::STORED_DEACTIVATED) {
        const ConnectionStatus was = StatusLocked();
        next.set_status(proto::STORED_DEACTIVATED);
        next.set_admin_suspended(false);
        next.set_partner_unavailable(false);
        next.clear_secret();
        AddHistory(id_, now, HistoryEvent::kDeactivated, actor,
                   fmt::format("the partner org deactivated the connection{}; "
                               "was {}",
                               why, ConnectionStatusName(was)),
                   &next, &batch);
        deactivates = true;
      }
      break;
    default:
      return ItemResultOf(sequence, proto::PERMANENT_FAILURE, proto::ERROR_UNKNOWN,
                    "not a connection action");
  }
  PutAppliedMark(kConnectionKey, sequence, &batch);
  if (absl::Status written = Commit(std::move(next), std::move(batch));
      !written.ok()) {
    return ItemResultOf(sequence, proto::RETRYABLE_FAILURE, proto::ERROR_STORAGE,
                  std::string(written.message()));
  }
  if (deactivates) {
    in_flight_.clear();
    in_flight_keys_.clear();
  }
  return ItemResultOf(sequence, proto::APPLIED);
}

proto::ItemResult ConnectionImpl::ApplyRecordChange(
    const proto::RecordChange& change, DeferredLogs* logs) {
  // RecordSync applies each change at most once in effect (its record
  // links remember what was applied), so no applied mark is needed here.
  if (record_sync_ != nullptr) return record_sync_->Apply(change, logs);
  return ItemResultOf(change.sequence(), proto::PERMANENT_FAILURE,
                proto::ERROR_UNKNOWN,
                fmt::format("record change ({}) refused: org {} has no "
                            "RecordStore, so it syncs no records",
                            QueueActionName(static_cast<QueueAction>(
                                change.action())),
                            env_->org_id));
}

void ConnectionImpl::CountResult(const proto::ItemResult& result) {
  switch (result.outcome()) {
    case proto::APPLIED:
      ++counters_.items_applied;
      break;
    case proto::DUPLICATE:
      ++counters_.items_duplicate;
      break;
    default:
      ++counters_.items_failed;
      break;
  }
}

void ConnectionImpl::SendResults(std::vector<proto::ItemResult> results) {
  if (results.empty()) return;
  proto::Envelope envelope;
  for (proto::ItemResult& result : results) {
    *envelope.mutable_ack()->add_results() = std::move(result);
  }
  // A lost answer is recovered by the sender's resend, answered DUPLICATE.
  SendEnvelope(std::move(envelope)).IgnoreError();
}

}  // namespace internal
}  // namespace orgsync
