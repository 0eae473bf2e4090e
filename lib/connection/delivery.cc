// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Delivery of a connection's RecordQueue to the partner: the sending half
// of ConnectionImpl's engine (the answers are handled in sent_answers.cc,
// the partner's traffic in receiving.cc).
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
// The sending window lives in memory (in_flight_): what each entry in
// flight is, without its payload. Picking walks the queue stepping over
// the window's entries unread (the queue's ReadyFilter), and stops as soon
// as the window is full and nothing in it is due for a resend, so a Step
// reads about as many entries as it sends. An entry that waits for
// another record's change (a child for its parent's insert) is parked
// until that record moves (parked_entries.h), stepped over as the window
// is.

#include <fmt/format.h>

#include <algorithm>
#include <limits>
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
  if (IsConnectionAction(action)) return std::string(kConnectionOrderingKey);
  if (IsMapAction(action)) return "map:" + record.object;
  if (IsRecordAction(action)) return "record:" + record.object + "/" + record.id;
  if (IsUserAction(action)) return std::string(kUserOrderingKey);
  // No other action exists; a key per action keeps each in order.
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
  // R20: unpublishing disconnects the object's synced records, here with
  // the unpublish and at the partner when the notice arrives; what was
  // queued before the notice belongs to the dropped links.
  const std::vector<uint64_t> sequences = pending.sequences();
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].action != QueueAction::kTypeMapDelete ||
        connection_->record_sync_ == nullptr) {
      continue;
    }
    connection_->record_sync_->RequestObjectUnlink(entries[i].record.object,
                                                   batch);
    connection_->record_sync_->StageUnlinkFence(entries[i].record.object,
                                                sequences[i], batch);
  }
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
  // After the notice is visible in the queue: a fence whose notice cannot
  // be found counts as delivered (RecordSync::StageUnlinkFence).
  if (connection_->record_sync_ != nullptr) {
    connection_->record_sync_->FinishUnlinkFences(write_status.ok());
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
    // R70/R73: a copy of all users due is queued first (user_sync.cc);
    // its failure does not hold back what is queued already.
    const absl::Status copied = QueueUserCopyIfDue();
    // A changed Schema is compared with the partner's and sent to it.
    const absl::Status compared = CompareLocalSchemaIfChanged();
    // R60: the running bulk sync's next pages (bulk_sync.cc).
    const absl::Status bulk = QueueBulkCopiesIfDue();
    // R74: the primary's metadata, on acceptance and then on a schedule
    // (metadata_sync.cc), beside the queue.
    const absl::Status pushed = PushMetadataIfDue();
    sent = Deliver(&logs);
    if (sent.ok() && !copied.ok()) sent = copied;
    if (sent.ok() && !compared.ok()) sent = compared;
    if (sent.ok() && !pushed.ok()) sent = pushed;
    if (sent.ok() && !bulk.ok()) sent = bulk;
  }
  FinishLogs(std::move(logs));
  TellBulkProgress();
  // Verify's reading, repair and requests (verify.cc), without a lock.
  const absl::Status verified = StepVerify();
  if (sent.ok() && !verified.ok()) sent = verified;
  ORGSYNC_RETURN_IF_ERROR(ReportQueueSizeIfDue());  // R7, queue_reports.cc
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
  // The copy of all users goes out in User Sync in Progress (R2); the
  // Picker holds everything else back until Active.
  return status == ConnectionStatus::kActive ||
         status == ConnectionStatus::kUserSyncInProgress;
}

absl::StatusOr<std::vector<QueueEntry>> ConnectionImpl::PickEntries(
    absl::Time now) {
  // Runs inside Ready, on this thread, while PickEntries holds mu_ (the
  // analysis cannot follow the lock into the queue's callbacks).
  class Picker final : public ReadyFilter {
   public:
    Picker(ConnectionImpl* connection, absl::Time now)
        ABSL_EXCLUSIVE_LOCKS_REQUIRED(connection->mu_)
        : connection_(connection),
          now_(now),
          options_(connection->env_->delivery),
          deactivated_(connection->StatusLocked() ==
                       ConnectionStatus::kDeactivated),
          users_only_(connection->StatusLocked() ==
                      ConnectionStatus::kUserSyncInProgress) {
      // The window is walked only when something in it may be due; the
      // walk makes the floor exact again.
      absl::Time& floor = connection->in_flight_sent_floor_;
      if (now - floor < options_.ack_timeout) return;
      floor = absl::InfiniteFuture();
      for (const auto& [key, flying] : connection->in_flight_) {
        if (TimedOut(flying)) ++resends_left_;
        floor = std::min(floor, flying.sent);
      }
    }

    std::optional<HeldEntry> Held(uint64_t sequence) const override
        ABSL_NO_THREAD_SAFETY_ANALYSIS {
      auto flying = connection_->in_flight_.find(sequence);
      if (flying == connection_->in_flight_.end()) {
        return connection_->parked_.Held(sequence);
      }
      const QueueEntry& entry = flying->second.entry;
      if (TimedOut(flying->second)) return std::nullopt;  // a resend
      return HeldEntry{.action = entry.action, .barrier = entry.barrier};
    }

    Verdict Take(const QueueEntry& entry) override
        ABSL_NO_THREAD_SAFETY_ANALYSIS {
      if (resends_left_ == 0 && Full()) return Verdict::kStop;
      // Only the oldest due entry of each key is a candidate: the later
      // ones wait for it (R50 per-record order).
      std::string key = OrderingKey(entry.record, entry.action);
      if (!seen_.insert(key).second) return Verdict::kPass;
      // A parked entry's record waits behind it (R50).
      if (connection_->parked_.HoldsKey(key)) return Verdict::kPass;
      if (deactivated_ && entry.action != QueueAction::kConnectionDeactivate) {
        return Verdict::kPass;
      }
      if (users_only_ && !IsUserAction(entry.action)) return Verdict::kPass;
      // Connection notices have no record, so the queue does not hold a
      // later one back while an older one waits for its retry; this does.
      const std::set<uint64_t>& notices = connection_->queued_notices_;
      if (IsConnectionAction(entry.action) &&
          (notices.empty() || *notices.begin() != entry.sequence)) {
        return Verdict::kPass;
      }
      auto flying_key = connection_->in_flight_keys_.find(key);
      if (flying_key != connection_->in_flight_keys_.end()) {
        auto flying = connection_->in_flight_.find(flying_key->second);
        if (flying_key->second != entry.sequence ||
            flying == connection_->in_flight_.end() ||
            !TimedOut(flying->second)) {
          return Verdict::kPass;
        }
        --resends_left_;
        ++connection_->counters_.entries_resent;
        return Verdict::kTake;
      }
      if (Full()) return Verdict::kPass;
      ++fresh_;
      return Verdict::kTake;
    }

    bool CanTakeAny() const { return resends_left_ > 0 || !Full(); }

   private:
    bool TimedOut(const InFlight& flying) const {
      return now_ - flying.sent >= options_.ack_timeout;
    }
    bool Full() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return connection_->in_flight_.size() + fresh_ >= options_.max_in_flight;
    }

    ConnectionImpl* const connection_;
    const absl::Time now_;
    const DeliveryOptions& options_;
    const bool deactivated_;
    const bool users_only_;
    size_t resends_left_ = 0;
    size_t fresh_ = 0;
    std::set<std::string, std::less<>> seen_;
  };
  // Parked entries whose deadline passed are offered again.
  parked_.ReleaseDue(now);
  Picker picker(this, now);
  // A full window with nothing due for a resend has nothing to pick: no
  // walk at all (a Step between two answers costs nothing).
  if (!picker.CanTakeAny()) return std::vector<QueueEntry>();
  return record_queue_->Ready(now, env_->delivery.ready_scan, &picker);
}

absl::StatusOr<size_t> ConnectionImpl::SendEntries(
    std::vector<QueueEntry> entries,
    std::vector<std::optional<absl::StatusOr<OutgoingChange>>> prepared,
    absl::Time now, DeferredLogs* logs) {
  const DeliveryOptions& options = env_->delivery;
  size_t sent = 0;
  std::vector<Failure> unsendable;
  // Record entries with nothing to send (RecordSync said skip).
  std::vector<Answered> skipped;
  // Record entries that wait for another change (RecordSync said blocked).
  std::vector<size_t> blocked;
  // Each entry's ordering key, taken before sending moves entries away.
  std::vector<std::string> keys;
  keys.reserve(entries.size());
  for (const QueueEntry& entry : entries) {
    keys.push_back(OrderingKey(entry.record, entry.action));
  }
  absl::Status send_error;

  // Moves each sent entry, without its payload, into the window.
  auto mark_sent = [&](const std::vector<size_t>& carried,
                       uint64_t message_id) {
    ++counters_.envelopes_sent;
    for (const size_t i : carried) {
      QueueEntry& entry = entries[i];
      std::string key = keys[i];
      in_flight_keys_[key] = entry.sequence;
      InFlight& flying = in_flight_[entry.sequence];
      flying.key = std::move(key);
      flying.sequence = entry.sequence;
      flying.sent = now;
      in_flight_sent_floor_ = std::min(in_flight_sent_floor_, now);
      flying.message_id = message_id;
      flying.sender_version = prepared[i].has_value() && prepared[i]->ok()
                                  ? (*prepared[i])->queued_version
                                  : 0;
      flying.entry = std::move(entry);
      flying.entry.payload.clear();
      ++counters_.entries_sent;
      ++sent;
    }
  };
  // Unavailable: the partner went away; the entries stay queued.
  auto send = [&](proto::Envelope envelope, size_t i) {
    if (!send_error.ok()) return;
    uint64_t message_id = 0;
    send_error = SendEnvelope(std::move(envelope), &message_id);
    if (send_error.ok()) mark_sent({i}, message_id);
  };

  // Record changes share envelopes, packed within the partner's decoding
  // limits (the encoder measures each change as the decoder counts it),
  // the delivery options, and the caps of entries whose envelope the
  // partner refused (envelope_refusals.cc).
  wire::ChangeBatchEncoder batch(id_, env_->org_id);
  std::vector<size_t> batched;  // indices into `entries`
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
    // A record change RecordSync serialized already (sent as queued).
    std::string serialized;
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
      if (out->kind == OutgoingChange::Kind::kBlocked) {  // R50
        blocked.push_back(i);
        continue;
      }
      if (out->kind == OutgoingChange::Kind::kSkip) {
        ForgetInFlight(entry.sequence);
        skipped.push_back(Answered{.entry = entry, .result = std::nullopt});
        continue;
      }
      if (out->kind == OutgoingChange::Kind::kFail) {
        ForgetInFlight(entry.sequence);
        unsendable.push_back({.sequence = entry.sequence,
                              .code = out->error,
                              .description = std::move(out->reason),
                              .retryable = false});
        continue;
      }
      if (!out->serialized.empty()) {
        serialized = std::move(out->serialized);
      } else {
        *envelope.mutable_changes()->add_changes() = std::move(out->change);
      }
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
    } else if (IsUserAction(entry.action)) {
      parsed = envelope.mutable_user_upsert()->ParseFromString(entry.payload);
      envelope.mutable_user_upsert()->set_sequence(entry.sequence);
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
      send(std::move(envelope), i);
      continue;
    }
    absl::StatusOr<wire::EncodedChange> encoded =
        serialized.empty()
            ? batch.Encode(envelope.changes().changes(0))
            : batch.EncodeSerialized(std::move(serialized), entry.sequence);
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
    batched.push_back(i);
  }
  flush();
  // The records of this Step's entries moved (sent, skipped or failed):
  // what was parked on them may go again. Then this Step's blocked entries
  // park, each on the record it waits for, unless that is its own record
  // (an earlier change of it, or its own unfinished insert): it is
  // prepared again at the next Step. The deadline is a safety net should
  // the awaited record never move.
  std::vector<bool> waiting(entries.size(), false);
  for (const size_t i : blocked) waiting[i] = true;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!waiting[i]) parked_.Release(keys[i]);
  }
  for (const size_t i : blocked) {
    std::string awaited = OrderingKey((*prepared[i])->waits_for,
                                      QueueAction::kGenericUpdate);
    if (awaited == keys[i]) continue;
    parked_.Park(entries[i], std::move(keys[i]), std::move(awaited),
                 now + options.ack_timeout);
  }
  RecordAcknowledged(std::move(skipped), logs);
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

}  // namespace internal
}  // namespace orgsync
