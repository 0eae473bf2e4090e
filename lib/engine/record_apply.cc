// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The receiving half of RecordSync (engine/record_sync.h): Apply and what it
// calls -- field mapping, inserts, updates and their conflicts. Deletes,
// undeletes, their cascades and PrepareEnvelope are in apply_deletion.cc;
// the sending half (Capture, PrepareSend, OnResult) is in record_sync.cc.

#include <algorithm>
#include <optional>
#include <set>
#include <utility>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "engine/apply_results.h"
#include "engine/incoming_values.h"
#include "engine/record_sync.h"
#include "fmt/format.h"
#include "orgsync/status.h"
#include "records/record_codec.h"

namespace orgsync::internal {

struct RecordSync::MappedChange {
  FieldMap fields;  // local field name -> value to write here
  // A record sent whole: local field name -> the stamp of its value's
  // write (proto::RecordChange::field_stamps). Other fields, and every
  // field of other changes, take the change's own stamp (StampFor).
  absl::flat_hash_map<std::string, proto::FieldStamp> stamps;
  // Notes about the record itself: their record id is set once known.
  std::vector<NewLogEntry> notes;
  // Hints that named a record the connection does not share: logged as
  // they are, about the record named (KnownToPartnerAs).
  std::vector<NewLogEntry> refused_references;
};

// --- Apply -----------------------------------------------------------------

proto::ItemResult RecordSync::Apply(const proto::RecordChange& change) {
  PendingLogs logs;
  proto::ItemResult result = Apply(change, &logs);
  for (auto& [pending, status] : logs) {
    deps_.log->FinishAppend(std::move(pending), status);
  }
  return result;
}

proto::ItemResult RecordSync::Apply(const proto::RecordChange& change,
                                    PendingLogs* logs) {
  apply_logs_ = logs;
  absl::StatusOr<proto::ItemResult> result = ApplyOrError(change);
  apply_logs_ = nullptr;
  if (result.ok()) return *std::move(result);
  return ApplyFailure(change, proto::RETRYABLE_FAILURE, SyncErrorCode::kStorage,
                 fmt::format("applying {}/{} failed here: {}", change.object(),
                             change.sender_record_id(),
                             result.status().ToString()));
}

absl::StatusOr<proto::ItemResult> RecordSync::ApplyOrError(
    const proto::RecordChange& change) {
  if (!HybridClock::IsAcceptableStamp(change.last_modified_micros())) {
    return RefuseChange(
        change, LocalObjectOf(change.object()), std::nullopt,
        "last_modified_micros",
        ValueRefusal{.code = SyncErrorCode::kValidation,
                     .rule = "time",
                     .description = fmt::format(
                         "the change's time {} (Unix micros) is outside "
                         "0..{}",
                         change.last_modified_micros(),
                         HybridClock::kMaxStampMicros)});
  }
  // Every later local write must order after this one (DESIGN.md rule 8),
  // also after a crash that keeps the host's copy of this write but loses
  // the envelope's deferred writes: the ceiling is durable before the
  // host's store is written (engine/hybrid_clock.h).
  hlc_.Observe(change.last_modified_micros(), deps_.clock->Now());
  if (hlc_.NeedsCeiling()) {
    ORGSYNC_RETURN_IF_ERROR(hlc_.PersistCeiling(deps_.direct_storage));
  }
  if (!deps_.subscription_map->IsSubscribed(change.object())) {
    return ApplyFailure(change, proto::PERMANENT_FAILURE,
                   SyncErrorCode::kObjectNotSubscribed,
                   fmt::format("{} is not subscribed in this org",
                               change.object()));
  }
  const std::string local_object = LocalObjectOf(change.object());
  ORGSYNC_ASSIGN_OR_RETURN(const bool unpublishing,
                           AwaitsUnpublishNotice(local_object));
  if (unpublishing) {
    return ApplyFailure(
        change, proto::RETRYABLE_FAILURE, SyncErrorCode::kObjectNotSubscribed,
        fmt::format("{} was unpublished here and the notice has not reached "
                    "the partner yet: its changes wait until the partner "
                    "has dropped its links (R20)",
                    local_object));
  }
  std::optional<proto::RecordLink> link;
  bool fresh = false;
  if (auto reserved = envelope_reservations_.find(
          ReservationKey(local_object, change.sender_record_id()));
      reserved != envelope_reservations_.end()) {
    link = std::move(reserved->second);
    envelope_reservations_.erase(reserved);
    fresh = true;
  } else {
    ORGSYNC_ASSIGN_OR_RETURN(
        link, links_.FindByPartner(local_object, change.sender_record_id()));
    if (!link.has_value()) {
      ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::ItemResult> refused,
                               ReconnectSevered(change, local_object, &link));
      if (refused.has_value()) return *refused;
    }
  }
  const bool whole =
      change.action() == proto::GENERIC_INSERT ||
      change.action() == proto::BULK_SYNC;
  if (link.has_value() && change.sequence() <= link->last_applied_sequence()) {
    // A crash may have come between the insert and its deletion.
    if (whole && change.deleted() && !link->reserved()) {
      return DeleteAfterInsert(change, local_object);
    }
    uint64_t version = 0;
    if (absl::StatusOr<Record> here =
            deps_.store->Get(local_object, link->local_id());
        here.ok()) {
      version = here->version;
    }
    return ApplySuccess(change, proto::DUPLICATE, link->local_id(), version);
  }
  switch (change.action()) {
    case proto::GENERIC_INSERT:
    case proto::BULK_SYNC: {
      MappedChange mapped;
      ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::ItemResult> failed,
                               MapFields(change, local_object, link, &mapped));
      ORGSYNC_RETURN_IF_ERROR(LogNow(mapped.refused_references));
      if (failed.has_value()) return *failed;
      ORGSYNC_ASSIGN_OR_RETURN(
          proto::ItemResult inserted,
          ApplyInsert(change, local_object, std::move(link),
                      std::move(mapped), fresh));
      if (!change.deleted() || inserted.outcome() != proto::APPLIED) {
        return inserted;
      }
      return DeleteAfterInsert(change, local_object);
    }
    case proto::GENERIC_UPDATE: {
      if (!link.has_value() || link->reserved()) break;
      MappedChange mapped;
      ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::ItemResult> failed,
                               MapFields(change, local_object, link, &mapped));
      ORGSYNC_RETURN_IF_ERROR(LogNow(mapped.refused_references));
      if (failed.has_value()) return *failed;
      return ApplyUpdate(change, local_object, *std::move(link),
                         std::move(mapped));
    }
    case proto::REPLICATION_DELETE:
    case proto::REPLICATION_UNDELETE:
      if (!link.has_value() || link->reserved()) break;
      return ApplyDeletion(change, local_object, *std::move(link));
    default:
      return ApplyFailure(
          change, proto::PERMANENT_FAILURE, SyncErrorCode::kUnknown,
          fmt::format("{} is not a record change this org applies",
                      proto::QueueAction_Name(change.action())));
  }
  return ApplyFailure(
      change, proto::RETRYABLE_FAILURE, SyncErrorCode::kRecordNotFound,
      fmt::format("{} of {}/{}: the record is not linked in this org (its "
                  "insert has not arrived or failed)",
                  proto::QueueAction_Name(change.action()), change.object(),
                  change.sender_record_id()));
}

absl::StatusOr<std::optional<proto::ItemResult>> RecordSync::MapFields(
    const proto::RecordChange& change, const std::string& local_object,
    const std::optional<proto::RecordLink>& link, MappedChange* out) {
  const std::shared_ptr<const ObjectDef> local_def =
      deps_.schema->FindObject(local_object);
  const RecordRef here{local_object, ""};
  const auto action =
      static_cast<QueueAction>(static_cast<int>(change.action()));
  // Every value is checked against the local schema before any is
  // translated or stored: a change is refused whole, for the reason that
  // concerns its values, before a lookup waits for its parent.
  struct Received {
    const std::string* partner_field;
    const proto::FieldValue* wire_value;
    std::string local_field;
    const FieldDef* def;
  };
  std::vector<Received> received;
  for (const auto& [partner_field, wire_value] : change.fields()) {
    IncomingField incoming =
        ClassifyIncomingField(*deps_.subscription_map, change.object(),
                              local_def.get(), partner_field);
    switch (incoming.kind) {
      case IncomingFieldCase::kSkip:
        continue;  // the subscriber's choice (R16, R17)
      case IncomingFieldCase::kNotPublished:
        out->notes.push_back(NewLogEntry{
            .record = here,
            .action = action,
            .status = LogStatus::kInfo,
            .error = SyncErrorCode::kFieldNotSubscribed,
            .description = fmt::format(
                "partner record {} carries a value for {}.{}, which the "
                "partner does not publish: the value is not applied",
                ClipForLog(change.sender_record_id()),
                ClipForLog(change.object()), ClipForLog(partner_field)),
            .details = {{"field", incoming.local_field}}});
        continue;
      case IncomingFieldCase::kSchemaMismatch:
        // A null (an insert carries every published field) loses nothing:
        // the field is null here too once it exists.
        if (wire_value.kind_case() == proto::FieldValue::KIND_NOT_SET) {
          continue;
        }
        return RefuseChange(
            change, local_object, link, partner_field,
            ValueRefusal{
                .code = SyncErrorCode::kSchemaMismatch,
                .rule = "missing field",
                .description = fmt::format(
                    "the partner publishes {}.{}, but {} has no field {} in "
                    "this org: make the two orgs' metadata match, then "
                    "subscribe the field",
                    ClipForLog(change.object()), ClipForLog(partner_field),
                    local_object, ClipForLog(incoming.local_field))});
      case IncomingFieldCase::kReceive:
        break;
    }
    if (std::optional<ValueRefusal> refusal = CheckIncomingValue(
            local_object, *incoming.def, wire_value, deps_.max_file_bytes)) {
      return RefuseChange(change, local_object, link, partner_field, *refusal);
    }
    received.push_back({&partner_field, &wire_value,
                        std::move(incoming.local_field), incoming.def});
  }

  for (const Received& field : received) {
    FieldValue value = FieldValueFromProto(*field.wire_value);
    const std::string& local_field = field.local_field;
    const auto* ref = std::get_if<Reference>(&value);
    std::optional<std::string> linked_user;
    if (ref != nullptr && field.def->type == FieldType::kUserReference &&
        deps_.local_user) {
      ORGSYNC_ASSIGN_OR_RETURN(linked_user, deps_.local_user(ref->id));
    }
    if (linked_user.has_value()) {
      // The partner's user, as user sync copied it here (R37).
      value = Reference{*std::move(linked_user)};
    } else if (ref != nullptr && field.def->type == FieldType::kUserReference) {
      if (deps_.user_exists && !deps_.user_exists(ref->id)) {
        const std::string owner = owner_user_id();
        // R37: the owner stands in; never written back (from_replication).
        out->notes.push_back(NewLogEntry{
            .record = here,
            .action = action,
            .status = LogStatus::kInfo,
            .error = SyncErrorCode::kMissingUser,
            .description = fmt::format(
                "{}.{} of partner record {} names user {}, who does not "
                "exist here: the connection owner {} is set instead (R37)",
                local_object, local_field,
                ClipForLog(change.sender_record_id()), ClipForLog(ref->id),
                owner),
            .details = {{"field", local_field},
                        {"missing_user", ClipForLog(ref->id)},
                        {"owner", owner}}});
        value = Reference{owner};
      }
    } else if (ref != nullptr) {
      // A lookup (CheckIncomingValue let a reference only into one): R32
      // translates the partner's id through this connection's links.
      const std::string& target = field.def->lookup_target;
      ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> parent,
                               links_.FindByPartner(target, ref->id));
      std::optional<std::string> hinted;
      if (!parent.has_value() || parent->reserved()) {
        ORGSYNC_ASSIGN_OR_RETURN(
            hinted, HintedParent(change, *field.partner_field, target, ref->id,
                                 &out->refused_references));
      }
      if (parent.has_value() && !parent->reserved()) {
        value = Reference{parent->local_id()};  // R32
      } else if (hinted.has_value()) {
        value = Reference{*hinted};
      } else if (field.def->required) {
        return ApplyFailure(
            change, proto::RETRYABLE_FAILURE, SyncErrorCode::kMissingParent,
            fmt::format("{} record {} needs its required lookup {} to "
                        "point at {} record {}, which is not in this org "
                        "yet (R14)",
                        local_object, ClipForLog(change.sender_record_id()),
                        local_field, target, ClipForLog(ref->id)));
      } else {
        out->notes.push_back(NewLogEntry{
            .record = here,
            .action = action,
            .status = LogStatus::kInfo,
            .error = SyncErrorCode::kMissingParent,
            .description = fmt::format(
                "{}.{} of partner record {} points at {} record {}, which "
                "is not in this org: the lookup is left blank (R14)",
                local_object, local_field,
                ClipForLog(change.sender_record_id()), target,
                ClipForLog(ref->id)),
            .details = {{"field", local_field},
                        {"parent", ClipForLog(ref->id)}}});
        value = std::monostate{};
      }
    }
    if (auto sent = change.field_stamps().find(*field.partner_field);
        sent != change.field_stamps().end()) {
      proto::FieldStamp& stamp = out->stamps[local_field];
      stamp.set_micros(sent->second.micros());
      stamp.set_from_primary(sent->second.from_primary());
      stamp.set_version(sent->second.version());
      stamp.set_sequence(sent->second.sequence());
    }
    out->fields[local_field] = std::move(value);
  }
  return std::nullopt;
}

// A value of a record sent whole whose write this org has met already:
// its own (an echo of this org's write, which it stamped at least as new),
// or the partner's, no newer than the partner stamp this org holds for the
// field (the partner wrote it before, or it is the very write applied
// here). Nothing to decide: the value here is at least as new. Not
// skipped, an old value the partner still held when it read the record
// for sending would meet this org's newer write as a conflict, and a
// resolver could bring it back.
bool RecordSync::SeenHere(const proto::FieldStamp& incoming,
                          const std::optional<proto::FieldStamp>& stored,
                          const proto::StepStamps& stamps,
                          const std::string& field) const {
  const bool primary_here = deps_.role == ReplicationRole::kPrimary;
  if (incoming.from_primary() == primary_here) {
    return stored.has_value() && !StampLess(*stored, incoming);
  }
  auto applied = stamps.fields().find(field);
  return applied != stamps.fields().end() &&
         applied->second.from_primary() != primary_here &&
         !StampLess(applied->second, incoming);
}

const proto::FieldStamp& RecordSync::StampFor(const MappedChange& mapped,
                                              const std::string& field,
                                              const proto::FieldStamp& whole) {
  auto own = mapped.stamps.find(field);
  return own != mapped.stamps.end() ? own->second : whole;
}

// Writes `entries` (if any) to the SyncLog by themselves, whatever becomes
// of the change they came with.
absl::Status RecordSync::LogNow(const std::vector<NewLogEntry>& entries) {
  if (entries.empty()) return absl::OkStatus();
  WriteBatch batch;
  return Commit(batch, entries, apply_logs_);
}

// Fails `change` for good because of what it carries for `partner_field`,
// logged here (the receiving side) as Failed with the field and the rule;
// the result carries the same description back to the sender, which logs
// it as Failed too.
absl::StatusOr<proto::ItemResult> RecordSync::RefuseChange(
    const proto::RecordChange& change, const std::string& local_object,
    const std::optional<proto::RecordLink>& link,
    const std::string& partner_field, const ValueRefusal& refusal) {
  const auto action =
      static_cast<QueueAction>(static_cast<int>(change.action()));
  const std::string description =
      fmt::format("{} (rule: {}); the {} of partner record {} is refused",
                  refusal.description, refusal.rule, QueueActionName(action),
                  ClipForLog(change.sender_record_id()));
  const std::string local_id =
      link.has_value() && !link->reserved() ? link->local_id() : "";
  const std::vector<NewLogEntry> entries = {NewLogEntry{
      .record = {local_object, local_id},
      .action = action,
      .status = LogStatus::kFailed,
      .error = refusal.code,
      .description = description,
      .details = {
          {"field", ClipForLog(partner_field)},
          {"rule", refusal.rule},
          {"partner_record_id", ClipForLog(change.sender_record_id())}}}};
  ORGSYNC_RETURN_IF_ERROR(LogNow(entries));
  return ApplyFailure(change, proto::PERMANENT_FAILURE, refusal.code,
                      description);
}

// The local record the sender says `field` points at, when the connection
// shares it (KnownToPartnerAs): our own link to it is recorded only when
// the partner's acknowledgement of it arrives, which may come after this
// change.
absl::StatusOr<std::optional<std::string>> RecordSync::HintedParent(
    const proto::RecordChange& change, const std::string& field,
    const std::string& target, const std::string& partner_id,
    std::vector<NewLogEntry>* refused) {
  auto hint = change.lookup_receiver_ids().find(field);
  if (hint == change.lookup_receiver_ids().end()) return std::nullopt;
  return KnownToPartnerAs(
      change, target, hint->second, partner_id,
      fmt::format("the target of lookup {}", ClipForLog(field)), refused);
}

// `local_id` if the partner may name it as its record `partner_id`: a
// record of `object` here that is linked to `partner_id` on this
// connection, or not linked yet but with a change queued to the partner
// (its insert, or the acknowledgement that teaches the link, is on its
// way). A partner never reaches any other record through a hint: ids are
// easy to guess, and a guessed one is refused with a Failed entry about the
// record named (added to `refused`), which is not touched.
absl::StatusOr<std::optional<std::string>> RecordSync::KnownToPartnerAs(
    const proto::RecordChange& change, const std::string& object,
    const std::string& local_id, const std::string& partner_id,
    std::string_view named_as, std::vector<NewLogEntry>* refused) {
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> link,
                           links_.FindByLocal(object, local_id));
  std::string why;
  if (link.has_value()) {
    if (link->partner_id() != partner_id) {
      why = fmt::format("is linked to partner record {}",
                        ClipForLog(link->partner_id()));
    }
  } else {
    ORGSYNC_ASSIGN_OR_RETURN(bool queued,
                             deps_.queue->HasPending({object, local_id}));
    if (!queued) why = "is not shared on this connection";
  }
  if (why.empty()) {
    absl::StatusOr<Record> here = deps_.store->Get(object, local_id);
    if (absl::IsNotFound(here.status())) return std::nullopt;
    ORGSYNC_RETURN_IF_ERROR(here.status());
    return local_id;
  }
  refused->push_back(NewLogEntry{
      .record = {object, ClipForLog(local_id)},
      .action = static_cast<QueueAction>(static_cast<int>(change.action())),
      .status = LogStatus::kFailed,
      .error = SyncErrorCode::kRecordNotFound,
      .description = fmt::format(
          "the partner named {} record {} as {} in its change of {} record "
          "{} (its record {}), but this record {}: refused, the record is "
          "not touched",
          object, ClipForLog(local_id), named_as, ClipForLog(change.object()),
          ClipForLog(change.sender_record_id()), ClipForLog(partner_id), why),
      .details = {{"partner_record_id", ClipForLog(change.sender_record_id())},
                  {"named_as", ClipForLog(partner_id)}}});
  return std::nullopt;
}

absl::StatusOr<proto::ItemResult> RecordSync::ApplyInsert(
    const proto::RecordChange& change, const std::string& local_object,
    std::optional<proto::RecordLink> link, MappedChange mapped, bool fresh) {
  if (link.has_value() && !link->reserved()) {
    // The record is here already (e.g. R55 resent it whole after an
    // acknowledgement was lost): merge it like an update.
    return ApplyUpdate(change, local_object, *std::move(link),
                       std::move(mapped));
  }
  if (!link.has_value()) {
    // Reserve the id and make the link durable before inserting: after a
    // crash in between, the redelivered insert finds the link and inserts
    // under the same id, so nothing is ever created twice.
    ORGSYNC_ASSIGN_OR_RETURN(std::string id,
                             deps_.store->ReserveId(local_object));
    link = RecordLinks::NewLink(std::move(id), change.sender_record_id());
    link->set_reserved(true);
    WriteBatch reserve;
    links_.Create(local_object, *link, &reserve);
    // The host's store keeps the id reserved before the link names it.
    ORGSYNC_RETURN_IF_ERROR(deps_.store->SyncReservedIds());
    ORGSYNC_RETURN_IF_ERROR(deps_.direct_storage->Write(reserve, kApplyWrite));
  }
  const proto::FieldStamp stamp =
      StampOf(change.last_modified_micros(),
              deps_.role != ReplicationRole::kPrimary, change.sender_version(),
              change.sequence());
  proto::StepStamps stamps;
  if (!fresh) {
    ORGSYNC_ASSIGN_OR_RETURN(stamps,
                             links_.StepStampsOf(local_object, *link));
  }
  proto::Outcome outcome = proto::APPLIED;
  uint64_t stored_version = 0;
  absl::StatusOr<Record> existing =
      fresh ? absl::NotFoundError("reserved by this envelope")
            : deps_.store->Get(local_object, link->local_id());
  if (existing.ok()) {
    outcome = proto::DUPLICATE;  // inserted before a crash
    stored_version = existing->version;
    // Values this insert carries that the record does not hold: a whole
    // record sent again (R55, a bulk copy) is read when it is sent, and
    // may be newer than the copy the cut-short apply stored.
    FieldMap newer;
    for (auto& [field, value] : mapped.fields) {
      // The host's store had the record already (a crash cut an earlier
      // apply of this insert short), and the host may have edited it since:
      // the stamps of those edits are newer than this insert's and stay.
      const proto::FieldStamp& own = StampFor(mapped, field, stamp);
      ORGSYNC_ASSIGN_OR_RETURN(
          std::optional<proto::FieldStamp> newest,
          links_.NewestStamp(stamps, local_object, link->local_id(), field));
      if (newest.has_value() && !StampLess(*newest, own)) continue;
      (*stamps.mutable_fields())[field] = own;
      auto held = existing->fields.find(field);
      const bool same = held != existing->fields.end()
                            ? held->second == value
                            : std::holds_alternative<std::monostate>(value);
      if (!same) newer.emplace(field, std::move(value));
    }
    // Stamped as this insert's, the values must be its too: else a later
    // change with an older stamp would be refused against values it never
    // met.
    if (!newer.empty()) {
      absl::StatusOr<Record> written = deps_.store->Update(
          local_object, link->local_id(), newer,
          ApplyContext{.from_replication = true,
                       .connection_id = deps_.connection_id,
                       .expected_version = existing->version});
      if (absl::IsAborted(written.status())) {
        return RecordChangedFailure(change, local_object, link->local_id(),
                                    written.status());
      }
      if (absl::IsInvalidArgument(written.status())) {
        return ApplyFailure(change, proto::PERMANENT_FAILURE,
                            SyncErrorCode::kValidation,
                            fmt::format("this org refused the update of {} "
                                        "record {}: {}",
                                        local_object, link->local_id(),
                                        std::string(written.status().message())));
      }
      ORGSYNC_RETURN_IF_ERROR(written.status());
      stored_version = written->version;
    }
  } else if (absl::IsNotFound(existing.status())) {
    for (const auto& [field, value] : mapped.fields) {
      (*stamps.mutable_fields())[field] = StampFor(mapped, field, stamp);
    }
    const bool keep_audit = sync_audit_fields() && change.has_audit();
    Record record;
    record.object = local_object;
    record.id = link->local_id();
    record.fields = std::move(mapped.fields);  // stamped above
    if (keep_audit) {
      record.audit = AuditFieldsFromProto(change.audit());
      // R35 with user sync: the audit users are this org's copies of the
      // partner's (kept as they came when not linked).
      if (deps_.local_user) {
        for (std::string* user :
             {&record.audit.created_by, &record.audit.last_modified_by}) {
          if (user->empty()) continue;
          ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> local,
                                   deps_.local_user(*user));
          if (local.has_value()) *user = *std::move(local);
        }
      }
    }
    absl::StatusOr<Record> inserted = deps_.store->Insert(
        std::move(record), ApplyContext{.from_replication = true,
                                        .connection_id = deps_.connection_id,
                                        .keep_audit_fields = keep_audit});
    if (absl::IsInvalidArgument(inserted.status()) ||
        absl::IsAlreadyExists(inserted.status())) {
      return ApplyFailure(change, proto::PERMANENT_FAILURE,
                     SyncErrorCode::kValidation,
                     fmt::format("this org refused {} record {}: {}",
                                 local_object, change.sender_record_id(),
                                 std::string(inserted.status().message())));
    }
    ORGSYNC_RETURN_IF_ERROR(inserted.status());
    stored_version = inserted->version;
  } else {
    return existing.status();
  }
  link->set_reserved(false);
  link->set_last_applied_sequence(change.sequence());
  link->set_partner_version(
      std::max(link->partner_version(), change.sender_version()));
  link->set_local_version(stored_version);
  WriteBatch batch;
  links_.SetStepStamps(local_object, std::move(stamps), &*link, &batch);
  links_.Put(local_object, *link, &batch, proto::LINK_HOME_PARTNER);
  for (NewLogEntry& note : mapped.notes) note.record.id = link->local_id();
  ORGSYNC_RETURN_IF_ERROR(Commit(batch, mapped.notes, apply_logs_));
  return ApplySuccess(change, outcome, link->local_id(), stored_version);
}

absl::StatusOr<proto::ItemResult> RecordSync::ApplyUpdate(
    const proto::RecordChange& change, const std::string& local_object,
    proto::RecordLink link, MappedChange mapped) {
  absl::StatusOr<Record> current =
      deps_.store->Get(local_object, link.local_id());
  if (absl::IsNotFound(current.status())) {
    return ApplyFailure(change, proto::RETRYABLE_FAILURE,
                   SyncErrorCode::kRecordNotFound,
                   fmt::format("{} record {} (partner {}) is gone from this "
                               "org",
                               local_object, link.local_id(),
                               change.sender_record_id()));
  }
  ORGSYNC_RETURN_IF_ERROR(current.status());
  const bool primary_here = deps_.role == ReplicationRole::kPrimary;
  const proto::FieldStamp whole =
      StampOf(change.last_modified_micros(), !primary_here,
              change.sender_version(), change.sequence());

  FieldMap apply;
  std::vector<std::pair<std::string, proto::FieldStamp>> new_stamps;
  FieldMap resend;  // resolver picked the older write: send it again
  std::vector<NewLogEntry> notes = std::move(mapped.notes);
  ORGSYNC_ASSIGN_OR_RETURN(proto::StepStamps stamps,
                           links_.StepStampsOf(local_object, link));
  for (auto& [field, value] : mapped.fields) {
    auto own = mapped.stamps.find(field);
    const bool sent_whole = own != mapped.stamps.end();
    const proto::FieldStamp& incoming = sent_whole ? own->second : whole;
    ORGSYNC_ASSIGN_OR_RETURN(
        std::optional<proto::FieldStamp> stored,
        links_.NewestStamp(stamps, local_object, link.local_id(), field));
    if (sent_whole && SeenHere(incoming, stored, stamps, field)) continue;
    const bool incoming_newer =
        !stored.has_value() || StampLess(*stored, incoming);
    const bool written_here =
        stored.has_value() && stored->from_primary() == primary_here;
    static const FieldValue kNull;
    auto here_it = current->fields.find(field);
    const FieldValue& here_value =
        here_it != current->fields.end() ? here_it->second : kNull;
    const bool same = here_value == value;
    // Two writes conflict when neither was made after seeing the other:
    // this org's write the partner has not acknowledged yet, or -- when the
    // values differ -- one newer than the partner's change. The partner's
    // hybrid clock moves past every stamp it applies, so a change of its
    // older than our write was made without seeing it, even if the partner
    // has acknowledged our write since (its acknowledgement says it applied
    // our write, not that its own change came after). Equal values lose
    // nothing there, and deciding them again would only resend them.
    const bool local_unseen =
        written_here && (stored->sequence() > link.acked_local_sequence() ||
                         (!incoming_newer && !same));
    // Equal values need no decision -- unless the local write is the newer
    // one and not acknowledged: the value here may then be the partner's,
    // written by an earlier apply of this same change whose decision (the
    // resolver picked the partner's older write) a crash lost after the
    // host's store took it, with the resend that was to carry it to the
    // partner. Deciding again repeats that resend; if the local write wins,
    // nothing differs.
    if (!local_unseen || (same && incoming_newer)) {
      if (incoming_newer) {
        new_stamps.emplace_back(field, incoming);
        apply[field] = std::move(value);
      }
      continue;
    }
    // Both orgs changed this field since they last synced it.
    const FieldWrite local_write{
        .value = here_value,
        .modified = absl::FromUnixMicros(stored->micros()),
        .version = stored->version()};
    const FieldWrite remote_write{
        .value = value,
        .modified = absl::FromUnixMicros(incoming.micros()),
        .version = incoming.version()};
    const FieldConflict conflict{
        .object = local_object,
        .field = field,
        .record_id = link.local_id(),
        .primary = primary_here ? local_write : remote_write,
        .secondary = primary_here ? remote_write : local_write};
    const ConflictWinner winner = deps_.resolver->Resolve(conflict);
    conflicts_.fetch_add(1, std::memory_order_relaxed);
    const bool remote_wins =
        (winner == ConflictWinner::kPrimary) != primary_here;
    if (same && !remote_wins) continue;
    if (remote_wins && !same) apply[field] = value;
    if (remote_wins == incoming_newer) {
      if (incoming_newer) new_stamps.emplace_back(field, incoming);
    } else {
      // The resolver overrode the stamp order: the winner is written again
      // with a stamp above both, and sent, so the partner converges.
      resend[field] = remote_wins ? value : here_value;
    }
    notes.push_back(NewLogEntry{
        .record = {local_object, link.local_id()},
        .action = QueueAction::kGenericUpdate,
        .status = LogStatus::kInfo,
        .error = SyncErrorCode::kConflict,
        .description = fmt::format(
            "{}.{} of record {} was changed in both orgs: the {}'s value "
            "wins",
            local_object, field, link.local_id(),
            winner == ConflictWinner::kPrimary ? "primary" : "secondary"),
        .details = {{"field", field},
                    {"primary_value", FormatFieldValue(conflict.primary.value)},
                    {"secondary_value",
                     FormatFieldValue(conflict.secondary.value)},
                    {"winner", winner == ConflictWinner::kPrimary
                                   ? "primary"
                                   : "secondary"}}});
  }

  // Only the version of what the store holds afterwards is needed.
  uint64_t updated_version = current->version;
  if (!apply.empty()) {
    // Conditional on the version read above: the decisions were taken
    // against it (design rule 9).
    absl::StatusOr<Record> written = deps_.store->Update(
        local_object, link.local_id(), apply,
        ApplyContext{.from_replication = true,
                     .connection_id = deps_.connection_id,
                     .expected_version = current->version});
    if (absl::IsAborted(written.status())) {
      return RecordChangedFailure(change, local_object, link.local_id(),
                                  written.status());
    }
    if (absl::IsInvalidArgument(written.status())) {
      return ApplyFailure(change, proto::PERMANENT_FAILURE,
                     SyncErrorCode::kValidation,
                     fmt::format("this org refused the update of {} record "
                                 "{}: {}",
                                 local_object, link.local_id(),
                                 std::string(written.status().message())));
    }
    ORGSYNC_RETURN_IF_ERROR(written.status());
    updated_version = written->version;
  }
  link.set_last_applied_sequence(change.sequence());
  link.set_partner_version(
      std::max(link.partner_version(), change.sender_version()));
  link.set_local_version(updated_version);
  WriteBatch batch;
  for (const auto& [field, stamp] : new_stamps) {
    (*stamps.mutable_fields())[field] = stamp;
  }
  std::optional<DurableRecordQueue::PendingEnqueue> pending;
  if (!resend.empty()) {
    proto::RecordChange again;
    again.set_action(proto::GENERIC_UPDATE);
    again.set_object(local_object);
    again.set_sender_record_id(link.local_id());
    again.set_sender_version(updated_version);
    // Above both writes: the clock has seen the incoming stamp and issued
    // or seen every stored one.
    const int64_t micros = hlc_.Tick(deps_.clock->Now());
    for (const auto& [field, value] : resend) {
      FieldValueToProto(value, &(*again.mutable_fields())[field]);
      again.add_changed_fields(field);
    }
    again.set_last_modified_micros(micros);
    const NewQueueEntry entry{.record = {local_object, link.local_id()},
                              .action = QueueAction::kGenericUpdate,
                              .payload = again.SerializeAsString()};
    ORGSYNC_ASSIGN_OR_RETURN(
        pending,
        deps_.queue->PrepareEnqueue(absl::MakeConstSpan(&entry, 1), &batch));
    const proto::FieldStamp stamp =
        StampOf(micros, primary_here, updated_version,
                pending->sequences().front());
    for (const auto& [field, value] : resend) {
      (*stamps.mutable_fields())[field] = stamp;
    }
  }
  if (!new_stamps.empty() || !resend.empty()) {
    links_.SetStepStamps(local_object, std::move(stamps), &link, &batch);
  }
  links_.Put(local_object, link, &batch, proto::LINK_HOME_PARTNER);
  for (NewLogEntry& note : notes) note.record.id = link.local_id();
  const absl::Status written = Commit(batch, notes, apply_logs_);
  if (pending.has_value()) {
    deps_.queue->FinishEnqueue(std::move(*pending), written);
  }
  ORGSYNC_RETURN_IF_ERROR(written);
  return ApplySuccess(change, proto::APPLIED, link.local_id(), updated_version);
}

// The local name of a partner object the SubscriptionMap maps (the
// partner's name when it maps it to the same name or not at all).
std::string RecordSync::LocalObjectOf(
    const std::string& partner_object) const {
  return deps_.subscription_map->LocalObject(partner_object)
      .value_or(partner_object);
}

}  // namespace orgsync::internal
