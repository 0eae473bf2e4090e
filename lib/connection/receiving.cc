// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// ConnectionImpl's receiving side: a message from the partner is decoded,
// checked against the connection's status and partner, and dispatched --
// acknowledgements and refusals to the sending side (delivery.cc,
// envelope_refusals.cc), handshakes to handshake.cc, publish/subscribe
// updates to map_updates.cc, connection notices here -- while a batch of
// record changes is applied by the record path with the state lock
// released (DESIGN.md rule 9).
//
// The per-key applied mark ("k/<conn>/a/<key>") makes every item apply at
// most once (DESIGN.md rule 3). Connection notices write it in the same
// batch as their effect. Publish/subscribe updates are applied through the
// SubscriptionMap/PublishSet, which write their own batches, and the mark
// follows: a crash in between makes the partner send the same update again,
// and applying one map update twice leaves the same state (each carries the
// publisher's whole publication of the object, or a rename or delete that
// is a no-op once done), so nothing is applied twice in effect.

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "connection/connection_impl.h"
#include "connection/connection_keys.h"
#include "google/protobuf/arena.h"
#include "orgsync/status.h"
#include "proto/connection_state.pb.h"
#include "storage/deferred_sync_storage.h"
#include "wire/envelope_codec.h"

namespace orgsync::internal {
namespace {


// The receiving arena's blocks: after the connection's reused first block
// (ConnectionImpl::receive_block_), blocks of 16 KiB growing to 1 MiB.
constexpr size_t kReceiveArenaFirstBlock = size_t{16} << 10;
constexpr size_t kReceiveArenaMaxBlock = size_t{1} << 20;
// The reused first block grows to fit the largest envelope seen, up to
// this: an envelope of a thousand changes of a few hundred bytes takes
// about a megabyte.
constexpr size_t kMaxReceiveBlockBytes = size_t{4} << 20;

// History rows per event kind per window for the partner's notices (see
// "Bounded state" in orgsync/connection.h).
constexpr size_t kNoticeRowsPerWindow = 4;

std::string PartnerActorOf(const std::string& org_id) {
  return "partner:" + org_id.substr(0, 256);
}

}  // namespace

void ConnectionImpl::HandleMessage(std::string bytes) {
  const EventTeller tell(this);
  DeferredLogs logs;
  // The record path's lock first (Step takes it too): acknowledgements and
  // refusals update record links, and a batch of the partner's changes is
  // applied under it alone, without mu_, because applying calls the host's
  // RecordStore, resolver and user directory (DESIGN.md rule 9).
  internal::MutexLock record_lock(&record_mu_);
  // The envelope lives on an arena: a batch of a thousand changes is tens
  // of thousands of small objects, allocated and freed in a few blocks.
  google::protobuf::ArenaOptions arena_options;
  arena_options.start_block_size = kReceiveArenaFirstBlock;
  arena_options.max_block_size = kReceiveArenaMaxBlock;
  arena_options.initial_block = receive_block_.get();
  arena_options.initial_block_size = receive_block_bytes_;
  std::optional<google::protobuf::Arena> arena;
  // Runs when the scope ends, after everything declared below it is gone:
  // destroys the arena first (then nothing uses the block any more), and
  // gives the next envelope a first block as big as what this one took.
  const absl::Cleanup grow_block = [this, &arena] {
    const size_t used = arena->SpaceAllocated();
    arena.reset();
    if (used > receive_block_bytes_ &&
        receive_block_bytes_ < kMaxReceiveBlockBytes) {
      receive_block_bytes_ = std::min(used, kMaxReceiveBlockBytes);
      receive_block_ = std::make_unique<char[]>(receive_block_bytes_);
    }
  };
  arena.emplace(arena_options);
  proto::Envelope* decoded =
      google::protobuf::Arena::CreateMessage<proto::Envelope>(&*arena);
  const proto::Envelope* to_apply = nullptr;
  {
    internal::MutexLock lock(&mu_);
    ++counters_.received;
    if (absl::Status refused = wire::DecodeEnvelopeInto(bytes, decoded);
        !refused.ok()) {
      ++counters_.rejected_malformed;
      // An acceptance is answered by the handshake; anything else on an
      // accepted connection with a ProtocolError (design rule 10).
      if (!AnswerUndecodedAcceptance(bytes, refused)) {
        AnswerRefusedEnvelope(bytes, refused);
      }
      return;
    }
    const proto::Envelope& envelope = *decoded;
    if (envelope.connection_id() != id_) {
      ++counters_.rejected_wrong_connection;
      if (envelope.body_case() == proto::Envelope::kAccept) {
        AnswerUnknownInvitation(envelope);
      }
      return;
    }
    const ConnectionStatus status = StatusLocked();
    // A deactivated primary still answers acceptances (with a refusal), so
    // that the secondary learns why. A deactivated side also takes the
    // answers to its own Connection Deactivate notice, and answers the
    // partner's (both may deactivate at once); nothing else is looked at.
    const bool deactivation_traffic =
        envelope.body_case() == proto::Envelope::kAck ||
        (envelope.body_case() == proto::Envelope::kNotice &&
         envelope.notice().action() == proto::CONNECTION_DEACTIVATE);
    if (status == ConnectionStatus::kDeactivated &&
        envelope.body_case() != proto::Envelope::kAccept &&
        !(deactivation_traffic && !state_.partner_org_id().empty())) {
      ++counters_.rejected_deactivated;
      return;
    }
    switch (envelope.body_case()) {
      case proto::Envelope::kAccept:
        if (role_ != ReplicationRole::kPrimary) {
          // This side accepts the id itself: it has no invitation to give.
          ++counters_.rejected_wrong_connection;
          AnswerUnknownInvitation(envelope);
          return;
        }
        HandleAccept(envelope);
        return;
      case proto::Envelope::kHandshakeResult:
        if (role_ != ReplicationRole::kSecondary) {
          ++counters_.rejected_wrong_connection;
          return;
        }
        HandleHandshakeResult(envelope);
        return;
      default:
        break;
    }
    // Everything else needs an accepted connection with this partner (R1).
    if (status == ConnectionStatus::kInvited) {
      ++counters_.rejected_not_accepted;
      return;
    }
    if (envelope.sender_org_id() != state_.partner_org_id()) {
      ++counters_.rejected_wrong_connection;
      return;
    }
    // Record changes, users and metadata are applied without mu_: applying
    // calls the host's RecordStore, UserDirectory or MetadataStore.
    if (envelope.body_case() == proto::Envelope::kChanges ||
        envelope.body_case() == proto::Envelope::kUserUpsert ||
        envelope.body_case() == proto::Envelope::kMetadataPush ||
        envelope.body_case() == proto::Envelope::kVerifyRequest) {
      to_apply = decoded;
    } else {
      RouteToEngine(envelope, &logs);
    }
  }
  if (to_apply != nullptr &&
      to_apply->body_case() == proto::Envelope::kVerifyRequest) {
    // Read-only: answered, nothing applied (verify.cc).
    AnswerVerifyRequest(to_apply->verify_request());
  } else if (to_apply != nullptr) {
    std::vector<proto::ItemResult> results;
    if (to_apply->body_case() == proto::Envelope::kUserUpsert) {
      results.push_back(ApplyUserUpsert(to_apply->user_upsert(), &logs));
    } else if (to_apply->body_case() == proto::Envelope::kMetadataPush) {
      results.push_back(ApplyMetadataPush(to_apply->metadata_push()));
    } else {
      results = ApplyChangeBatch(to_apply->changes(), &logs);
    }
    internal::MutexLock lock(&mu_);
    for (const proto::ItemResult& result : results) CountResult(result);
    if (to_apply->body_case() == proto::Envelope::kChanges) {
      NoteApplyLag(to_apply->changes(), results);
    }
    // The connection may have been deactivated (or detached) meanwhile;
    // SendResults sends nothing without a transport, and the partner asks
    // again for what it hears no answer to.
    SendResults(std::move(results));
  }
  FinishLogs(std::move(logs));
}

void ConnectionImpl::RouteToEngine(const proto::Envelope& envelope,
                                   DeferredLogs* logs) {
  std::vector<proto::ItemResult> results;
  switch (envelope.body_case()) {
    case proto::Envelope::kAck:
      HandleAck(envelope.ack(), logs);
      return;
    case proto::Envelope::kMapUpdate:
      results.push_back(ApplyMapUpdate(envelope.map_update()));
      break;
    case proto::Envelope::kNotice:
      results.push_back(ApplyNotice(envelope.notice()));
      break;
    case proto::Envelope::kChanges:
    case proto::Envelope::kUserUpsert:
    case proto::Envelope::kMetadataPush:
      // Never routed here: HandleMessage applies them without mu_
      // (ApplyChangeBatch, ApplyUserUpsert in user_sync.cc,
      // ApplyMetadataPush in metadata_sync.cc).
      return;
    case proto::Envelope::kProtocolError:
      HandleProtocolError(envelope.protocol_error(), logs);
      return;
    case proto::Envelope::kVerifyAnswer:
      HandleVerifyAnswer(envelope.verify_answer(),
                         envelope.verify_answer().ByteSizeLong());
      return;
    case proto::Envelope::kVerifyRequest:
      // Never routed here: answered without mu_ (AnswerVerifyRequest).
      return;
    default:
      // Handshake bodies were dispatched before; nothing else exists.
      ++counters_.rejected_wrong_connection;
      return;
  }
  for (const proto::ItemResult& result : results) CountResult(result);
  SendResults(std::move(results));
}

std::vector<proto::ItemResult> ConnectionImpl::ApplyChangeBatch(
    const proto::ChangeBatch& batch, DeferredLogs* logs) {
  std::vector<proto::ItemResult> results;
  results.reserve(batch.changes_size());
  // The envelope's writes share one sync, made before the results leave
  // (storage/deferred_sync_storage.h); its inserts reserve their ids, and
  // its cascading deletes are marked begun, together first.
  if (record_sync_ != nullptr) {
    // R34 severings the host's undeletes asked for come first: a change
    // for such a record must find it unlinked. Ignored failure: the
    // requests stay filed, and the next Step retries them and returns the
    // Storage's error to the host; this envelope is still applied (its
    // changes raced the undelete anyway).
    record_sync_->SeverRequestedLinks(logs).IgnoreError();
  }
  DeferredSyncGroup group(storage_.get());
  if (record_sync_ != nullptr) {
    // On failure each insert reserves its own id as it is applied, and
    // the deletes go unmarked.
    record_sync_->PrepareEnvelope(batch).IgnoreError();
  }
  // The log entries of this envelope's changes are finished (their
  // observers told) after the group's sync, outside the locks.
  DeferredLogs applied_logs;
  for (const proto::RecordChange& change : batch.changes()) {
    results.push_back(ApplyRecordChange(change, &applied_logs));
  }
  const absl::Status flushed = group.End();
  for (auto& [pending, status] : applied_logs) {
    if (status.ok() && !flushed.ok()) status = flushed;
    logs->emplace_back(std::move(pending), std::move(status));
  }
  if (!flushed.ok()) {
    // Not durable: nothing may be reported applied. Sent again, the
    // changes are applied or answered as duplicates then.
    for (proto::ItemResult& result : results) {
      if (result.outcome() != proto::APPLIED &&
          result.outcome() != proto::DUPLICATE) {
        continue;
      }
      result.set_outcome(proto::RETRYABLE_FAILURE);
      result.set_error(proto::ERROR_STORAGE);
      result.set_description(std::string(flushed.message()));
    }
  }
  return results;
}

// --- Receiving -------------------------------------------------------------

absl::StatusOr<uint64_t> ConnectionImpl::AppliedMark(
    std::string_view key) const {
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                           storage_->GetIfPresent(AppliedMarkKey(id_, key)));
  if (!bytes.has_value()) return 0;
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
  absl::StatusOr<uint64_t> mark = AppliedMark(kConnectionOrderingKey);
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
  SchemaEvents schema_events;
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
      // The partner's schema changed (or it repeats its fingerprints):
      // compare again, with this org's fingerprints as last sent to it (a
      // change of this org's schema not compared yet is Step's, which also
      // tells the partner; schema_fingerprints.cc).
      if (notice.has_schema_fingerprints()) {
        TakePartnerFingerprints(notice.schema_fingerprints(), &next);
        schema_events =
            StageSchemaComparison(/*partner_caused=*/true, &next, &batch);
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
  PutAppliedMark(kConnectionOrderingKey, sequence, &batch);
  if (absl::Status written = Commit(std::move(next), std::move(batch));
      !written.ok()) {
    return ItemResultOf(sequence, proto::RETRYABLE_FAILURE, proto::ERROR_STORAGE,
                  std::string(written.message()));
  }
  if (deactivates) {
    in_flight_.clear();
    in_flight_keys_.clear();
    parked_.Clear();
  }
  NoteSchemaEvents(std::move(schema_events));
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

void ConnectionImpl::NoteApplyLag(
    const proto::ChangeBatch& batch,
    const std::vector<proto::ItemResult>& results) {
  // One result per change, in order (ApplyChangeBatch). The last change
  // applied that carries its write time tells the lag.
  const absl::Time now = env_->clock->Now();
  for (size_t i = std::min<size_t>(batch.changes_size(), results.size());
       i-- > 0;) {
    const proto::RecordChange& change = batch.changes(static_cast<int>(i));
    if (results[i].outcome() != proto::APPLIED ||
        change.last_modified_micros() <= 0) {
      continue;
    }
    counters_.last_apply_lag = std::max(
        absl::ZeroDuration(),
        now - absl::FromUnixMicros(change.last_modified_micros()));
    return;
  }
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

}  // namespace orgsync::internal
