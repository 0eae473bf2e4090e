// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "engine/record_sync.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>
#include <variant>

#include "absl/time/time.h"
#include "fmt/format.h"
#include "orgsync/status.h"
#include "records/record_codec.h"

namespace orgsync::internal {
namespace {

constexpr WriteOptions kSync{.sync = true};

proto::QueueAction ToProto(QueueAction action) {
  return static_cast<proto::QueueAction>(static_cast<int>(action));
}

proto::ErrorCode ToProto(SyncErrorCode code) {
  return static_cast<proto::ErrorCode>(static_cast<int>(code));
}

QueueAction ActionFor(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kInsert:
      return QueueAction::kGenericInsert;
    case ChangeKind::kUpdate:
      return QueueAction::kGenericUpdate;
    case ChangeKind::kDelete:
      return QueueAction::kReplicationDelete;
    case ChangeKind::kUndelete:
      return QueueAction::kReplicationUndelete;
  }
  return QueueAction::kGenericUpdate;
}

// When a local write happened, for the hybrid clock: the later of the host's
// LastModifiedDate and this org's clock (the host may stamp its records from
// a clock of its own).
absl::Time LocalWriteTime(const Record& record, const Clock& clock) {
  return std::max(record.audit.last_modified_date, clock.Now());
}

proto::ItemResult Failure(const proto::RecordChange& change,
                          proto::Outcome outcome, SyncErrorCode code,
                          std::string description) {
  proto::ItemResult result;
  result.set_sequence(change.sequence());
  result.set_outcome(outcome);
  result.set_error(ToProto(code));
  result.set_description(std::move(description));
  return result;
}

proto::ItemResult Success(const proto::RecordChange& change,
                          proto::Outcome outcome, std::string local_id,
                          uint64_t version) {
  proto::ItemResult result;
  result.set_sequence(change.sequence());
  result.set_outcome(outcome);
  result.set_receiver_record_id(std::move(local_id));
  result.set_receiver_version(version);
  return result;
}

bool IsLookup(const FieldDef* def) {
  return def != nullptr && IsLookupFieldType(def->type) &&
         def->type != FieldType::kUserReference;
}

}  // namespace

struct RecordSync::MappedChange {
  FieldMap fields;  // local field name -> value to write here
  std::vector<NewLogEntry> notes;
};

absl::StatusOr<std::unique_ptr<RecordSync>> RecordSync::Create(
    RecordSyncDeps deps) {
  if (deps.storage == nullptr || deps.clock == nullptr ||
      deps.publish_set == nullptr || deps.subscription_map == nullptr ||
      deps.queue == nullptr || deps.log == nullptr || deps.store == nullptr ||
      deps.schema == nullptr) {
    return absl::InvalidArgumentError(
        "RecordSync: storage, clock, publish set, subscription map, queue, "
        "log, record store and schema are all required");
  }
  if (deps.connection_id.empty()) {
    return absl::InvalidArgumentError("RecordSync: empty connection id");
  }
  std::unique_ptr<RecordSync> sync(new RecordSync(std::move(deps)));
  ORGSYNC_RETURN_IF_ERROR(sync->hlc_.Restore());
  return sync;
}

RecordSync::RecordSync(RecordSyncDeps deps)
    : deps_(std::move(deps)),
      links_(deps_.storage, deps_.connection_id),
      hlc_(deps_.storage, deps_.connection_id) {
  if (deps_.resolver == nullptr) deps_.resolver = &default_resolver_;
  if (deps_.reserve_storage == nullptr) deps_.reserve_storage = deps_.storage;
}

RecordSync::~RecordSync() = default;

proto::FieldStamp RecordSync::StampOf(int64_t micros, bool from_primary,
                                      uint64_t version,
                                      uint64_t sequence) const {
  proto::FieldStamp stamp;
  stamp.set_micros(micros);
  stamp.set_from_primary(from_primary);
  stamp.set_version(version);
  stamp.set_sequence(sequence);
  return stamp;
}

absl::Status RecordSync::Commit(WriteBatch& batch,
                                const std::vector<NewLogEntry>& log_entries,
                                PendingLogs* deferred_logs) {
  hlc_.Stage(&batch);
  std::optional<SyncLog::PendingAppend> pending;
  if (!log_entries.empty()) {
    ORGSYNC_ASSIGN_OR_RETURN(pending,
                             deps_.log->PrepareAppend(log_entries, &batch));
  }
  absl::Status status = deps_.storage->Write(batch, kSync);
  if (pending.has_value()) {
    if (deferred_logs != nullptr) {
      deferred_logs->emplace_back(std::move(*pending), status);
    } else {
      deps_.log->FinishAppend(std::move(*pending), status);
    }
  }
  return status;
}

// --- Capture ---------------------------------------------------------------

// What one LocalChange becomes once filtered: its queue entry and the
// stamps and log notes written with it.
struct RecordSync::PlannedCapture {
  size_t index = 0;  // in the caller's span
  NewQueueEntry entry;
  std::vector<std::string> carried;  // fields whose stamps are written
  std::vector<NewLogEntry> notes;
  int64_t micros = 0;
  uint64_t version = 0;
  bool deletion = false;            // delete or undelete: "$deleted" stamp
  std::vector<RecordRef> cascaded;  // children whose "$deleted" is stamped
};

absl::Status RecordSync::ValidateLocalChange(const LocalChange& change,
                                             size_t index) {
  const Record& record = change.record;
  if (record.object.empty() || record.id.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "Capture: change {} must name the record (object and id)", index));
  }
  for (const RecordRef& child : change.cascaded) {
    if (child.object.empty() || child.id.empty()) {
      return absl::InvalidArgumentError(fmt::format(
          "Capture: change {} ({}/{}): a cascaded record needs an object and "
          "an id",
          index, record.object, record.id));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<RecordSync::PlannedCapture>>
RecordSync::PlanCapture(const LocalChange& change, CaptureResult* result) {
  const Record& record = change.record;
  if (change.context.from_replication) {
    // R31: orgsync wrote this on behalf of the partner; sending it back
    // would echo it.
    result->reason = "applied from replication: never captured (R31)";
    return std::nullopt;
  }
  if (change.kind == ChangeKind::kUndelete) {
    ORGSYNC_ASSIGN_OR_RETURN(bool severed,
                             OnLocalUndelete(record.object, record.id));
    if (severed) {
      result->reason = "undeleted on the secondary of a one-way object: link "
                       "severed (R34)";
      return std::nullopt;
    }
  }
  if (!deps_.publish_set->IsObjectPublished(record.object)) {
    result->reason = fmt::format("{} is not published (R18)", record.object);
    return std::nullopt;
  }
  if (!deps_.publish_set->IsPartnerSubscribed(record.object)) {
    result->reason = fmt::format(
        "{} is published but the partner has not subscribed to it (R18)",
        record.object);
    return std::nullopt;
  }
  const std::shared_ptr<const ObjectDef> def =
      deps_.schema->FindObject(record.object);

  PlannedCapture plan;
  proto::RecordChange payload;
  const QueueAction action = ActionFor(change.kind);
  payload.set_action(ToProto(action));
  payload.set_object(record.object);
  payload.set_sender_record_id(record.id);
  payload.set_sender_version(record.version);
  // The hybrid clock, not the host's LastModifiedDate alone, orders this
  // write against the partner's (DESIGN.md rule 8).
  plan.micros = hlc_.Tick(LocalWriteTime(record, *deps_.clock));
  plan.version = record.version;
  payload.set_last_modified_micros(plan.micros);

  if (change.kind == ChangeKind::kInsert ||
      change.kind == ChangeKind::kUpdate) {
    std::vector<std::string> candidates;
    if (change.kind == ChangeKind::kInsert) {
      candidates = deps_.publish_set->PublishedFields(record.object);
    } else {
      for (const std::string& field : change.changed_fields) {
        if (deps_.publish_set->IsFieldPublished(record.object, field)) {
          candidates.push_back(field);
        }
      }
      std::sort(candidates.begin(), candidates.end());
      candidates.erase(std::unique(candidates.begin(), candidates.end()),
                       candidates.end());
    }
    for (const std::string& field : candidates) {
      const FieldDef* field_def =
          def != nullptr ? def->FindField(field) : nullptr;
      // R36: auto-numbers are assigned by each org (they are never
      // publishable; this guards a publication made before a type change).
      if (field_def != nullptr && field_def->type == FieldType::kAutoNumber) {
        continue;
      }
      auto it = record.fields.find(field);
      FieldValue value =
          it != record.fields.end() ? it->second : FieldValue{};
      if (const auto* binary = std::get_if<Binary>(&value);
          binary != nullptr && binary->bytes.size() > deps_.max_file_bytes) {
        result->dropped_fields.push_back(field);
        plan.notes.push_back(NewLogEntry{
            .record = {record.object, record.id},
            .action = action,
            .status = LogStatus::kFailed,
            .error = SyncErrorCode::kFileTooLarge,
            .description = fmt::format(
                "{}.{} of record {} holds {} bytes, above the {}-byte limit: "
                "not synced (R38)",
                record.object, field, record.id, binary->bytes.size(),
                deps_.max_file_bytes),
            .details = {{"field", field},
                        {"bytes", std::to_string(binary->bytes.size())},
                        {"limit", std::to_string(deps_.max_file_bytes)}}});
        continue;
      }
      FieldValueToProto(value, &(*payload.mutable_fields())[field]);
      plan.carried.push_back(field);
    }
    if (change.kind == ChangeKind::kUpdate) {
      if (plan.carried.empty() && plan.notes.empty()) {
        result->reason = fmt::format(
            "the update of {}/{} touches no published field (R18)",
            record.object, record.id);
        return std::nullopt;
      }
      for (const std::string& field : plan.carried) {
        payload.add_changed_fields(field);
      }
    }
    if (change.kind == ChangeKind::kInsert && sync_audit_fields()) {
      AuditFieldsToProto(record.audit, payload.mutable_audit());  // R35
    }
  } else {
    plan.deletion = true;
    payload.set_cascade(change.cascade);
    if (change.cascade && change.cascaded_known) {
      payload.set_cascade_listed(true);
      plan.cascaded = change.cascaded;
      for (const RecordRef& child : change.cascaded) {
        // Only what the partner can have: published objects.
        if (!deps_.publish_set->IsObjectPublished(child.object)) continue;
        proto::CascadedRecord* out = payload.add_cascaded();
        out->set_object(child.object);
        out->set_sender_record_id(child.id);
      }
    }
  }
  // A cascading delete or undelete takes the partner's children as they
  // are when it is applied there, so it must be applied after every earlier
  // change (a child moved to another parent) and before every later one (a
  // child undeleted on its own): the queue delivers it as a barrier.
  plan.entry = NewQueueEntry{.record = {record.object, record.id},
                             .action = action,
                             .payload = payload.SerializeAsString(),
                             .barrier = plan.deletion && change.cascade};
  return plan;
}

absl::StatusOr<CaptureResult> RecordSync::Capture(const LocalChange& change) {
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<CaptureResult> results,
                           CaptureBatch(absl::MakeConstSpan(&change, 1)));
  return std::move(results.front());
}

absl::StatusOr<std::vector<CaptureResult>> RecordSync::CaptureBatch(
    absl::Span<const LocalChange> changes) {
  if (changes.empty()) {
    return absl::InvalidArgumentError("CaptureBatch: no changes given");
  }
  // Every change is checked before anything is written.
  for (size_t i = 0; i < changes.size(); ++i) {
    ORGSYNC_RETURN_IF_ERROR(ValidateLocalChange(changes[i], i));
  }
  std::vector<CaptureResult> results(changes.size());
  std::vector<PlannedCapture> plans;
  for (size_t i = 0; i < changes.size(); ++i) {
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<PlannedCapture> plan,
                             PlanCapture(changes[i], &results[i]));
    if (!plan.has_value()) continue;
    plan->index = i;
    plans.push_back(*std::move(plan));
  }
  if (plans.empty()) return results;

  WriteBatch batch;
  std::vector<NewQueueEntry> entries;
  entries.reserve(plans.size());
  std::vector<NewLogEntry> notes;
  for (PlannedCapture& plan : plans) {
    entries.push_back(std::move(plan.entry));
    for (NewLogEntry& note : plan.notes) notes.push_back(std::move(note));
  }
  ORGSYNC_ASSIGN_OR_RETURN(RecordQueue::PendingEnqueue pending,
                           deps_.queue->PrepareEnqueue(entries, &batch));
  hlc_.Stage(&batch);
  const std::vector<uint64_t> sequences = pending.sequences();
  const bool primary = deps_.role == ReplicationRole::kPrimary;
  for (size_t i = 0; i < plans.size(); ++i) {
    const PlannedCapture& plan = plans[i];
    const RecordRef& record = entries[i].record;
    // Blind writes (no read, so captures never wait on each other): the
    // stamp of this side's latest write of each field, the later change of
    // a record in the batch last. Two captures of the SAME record racing on
    // two threads may land in either order and leave the older stamp; the
    // partner still orders them by stamp. Hosts normally serialize writes to
    // one record, which rules this out.
    const proto::FieldStamp stamp =
        StampOf(plan.micros, primary, plan.version, sequences[i]);
    if (plan.deletion) {
      links_.PutStamp(record.object, record.id, kDeletedStampField, stamp,
                      &batch);
      // The children the store took along changed state by this same
      // write: a partner's older delete or undelete of one of them must not
      // undo it.
      for (const RecordRef& child : plan.cascaded) {
        links_.PutStamp(child.object, child.id, kDeletedStampField, stamp,
                        &batch);
      }
    }
    for (const std::string& field : plan.carried) {
      links_.PutStamp(record.object, record.id, field, stamp, &batch);
    }
  }
  std::optional<SyncLog::PendingAppend> logged;
  if (!notes.empty()) {
    absl::StatusOr<SyncLog::PendingAppend> prepared =
        deps_.log->PrepareAppend(notes, &batch);
    if (!prepared.ok()) {
      deps_.queue->FinishEnqueue(std::move(pending), prepared.status());
      return prepared.status();
    }
    logged = std::move(*prepared);
  }
  // No lock is held here, so concurrent captures share the storage's group
  // commit.
  const absl::Status written = deps_.storage->Write(batch, kSync);
  deps_.queue->FinishEnqueue(std::move(pending), written);
  if (logged.has_value()) deps_.log->FinishAppend(std::move(*logged), written);
  ORGSYNC_RETURN_IF_ERROR(Annotate(
      written, plans.size() == 1
                   ? fmt::format("Capture of {}/{}", entries[0].record.object,
                                 entries[0].record.id)
                   : fmt::format("Capture of {} changes", plans.size())));
  for (size_t i = 0; i < plans.size(); ++i) {
    CaptureResult& result = results[plans[i].index];
    result.captured = true;
    result.sequence = sequences[i];
  }
  return results;
}

absl::StatusOr<bool> RecordSync::OnLocalUndelete(std::string_view object,
                                                 std::string_view id) {
  if (deps_.role != ReplicationRole::kSecondary ||
      deps_.publish_set->IsObjectPublished(object)) {
    return false;
  }
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> link,
                           links_.FindByLocal(object, id));
  if (!link.has_value()) return false;
  WriteBatch batch;
  links_.Remove(object, *link, &batch);
  std::vector<NewLogEntry> notes = {NewLogEntry{
      .record = {std::string(object), std::string(id)},
      .action = QueueAction::kReplicationUndelete,
      .status = LogStatus::kInfo,
      .error = SyncErrorCode::kLinkSevered,
      .description = fmt::format(
          "{}/{} was undeleted in the secondary of a one-way sync: its link "
          "to primary record {} is severed; forward it to reconnect (R34)",
          object, id, link->partner_id()),
      .details = {{"partner_id", link->partner_id()}}}};
  ORGSYNC_RETURN_IF_ERROR(Commit(batch, notes));
  return true;
}

// --- PrepareSend -----------------------------------------------------------

absl::StatusOr<proto::RecordChange> RecordSync::FullStateInsert(
    const Record& record) {
  proto::RecordChange change;
  change.set_action(proto::GENERIC_INSERT);
  change.set_object(record.object);
  change.set_sender_record_id(record.id);
  change.set_sender_version(record.version);
  // A whole record sent again is as new as the moment it is sent.
  change.set_last_modified_micros(
      hlc_.Tick(LocalWriteTime(record, *deps_.clock)));
  const std::shared_ptr<const ObjectDef> def =
      deps_.schema->FindObject(record.object);
  for (const std::string& field :
       deps_.publish_set->PublishedFields(record.object)) {
    const FieldDef* field_def = def != nullptr ? def->FindField(field) : nullptr;
    if (field_def != nullptr && field_def->type == FieldType::kAutoNumber) {
      continue;
    }
    auto it = record.fields.find(field);
    const FieldValue value =
        it != record.fields.end() ? it->second : FieldValue{};
    if (const auto* binary = std::get_if<Binary>(&value);
        binary != nullptr && binary->bytes.size() > deps_.max_file_bytes) {
      continue;  // logged when it was captured (R38)
    }
    FieldValueToProto(value, &(*change.mutable_fields())[field]);
  }
  if (sync_audit_fields()) {
    AuditFieldsToProto(record.audit, change.mutable_audit());
  }
  change.set_deleted(record.deleted);
  return change;
}

// One pass over what the change refers to, one link read each: names the
// receiver's ids the sender knows (lookup_receiver_ids, and the cascaded
// records' receiver_record_id), and returns the first unlinked parent that
// still has a change queued before `entry` (the change must wait for it).
absl::StatusOr<std::optional<RecordRef>> RecordSync::ResolveReferences(
    proto::RecordChange* change, const QueueEntry& entry) {
  for (proto::CascadedRecord& cascaded : *change->mutable_cascaded()) {
    ORGSYNC_ASSIGN_OR_RETURN(
        std::optional<proto::RecordLink> link,
        links_.FindByLocal(cascaded.object(), cascaded.sender_record_id()));
    if (link.has_value() && !link->reserved() && !link->partner_id().empty()) {
      cascaded.set_receiver_record_id(link->partner_id());
    }
  }
  const std::shared_ptr<const ObjectDef> def =
      deps_.schema->FindObject(change->object());
  if (def == nullptr) return std::nullopt;
  for (const auto& [field, value] : change->fields()) {
    if (value.kind_case() != proto::FieldValue::kReference) continue;
    const FieldDef* field_def = def->FindField(field);
    if (!IsLookup(field_def) || field_def->lookup_target.empty()) continue;
    RecordRef parent{field_def->lookup_target, value.reference()};
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> link,
                             links_.FindByLocal(parent.object, parent.id));
    if (link.has_value() && !link->reserved()) {
      if (!link->partner_id().empty()) {
        (*change->mutable_lookup_receiver_ids())[field] = link->partner_id();
      }
      continue;
    }
    ORGSYNC_ASSIGN_OR_RETURN(std::vector<uint64_t> pending,
                             deps_.queue->PendingSequences(parent));
    if (std::any_of(pending.begin(), pending.end(),
                    [&](uint64_t s) { return s < entry.sequence; })) {
      return parent;
    }
  }
  return std::nullopt;
}

absl::StatusOr<OutgoingChange> RecordSync::PrepareSend(
    const QueueEntry& entry) {
  if (!IsRecordAction(entry.action) || entry.record.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "PrepareSend: queue entry {} ({}) is not a record change",
        entry.sequence, QueueActionName(entry.action)));
  }
  OutgoingChange out;
  if (!out.change.ParseFromString(entry.payload) ||
      out.change.object() != entry.record.object ||
      out.change.sender_record_id() != entry.record.id) {
    return absl::DataLossError(fmt::format(
        "PrepareSend: the payload of queue entry {} ({}/{}) is not the "
        "record change Capture wrote",
        entry.sequence, entry.record.object, entry.record.id));
  }
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::RecordLink> link,
      links_.FindByLocal(entry.record.object, entry.record.id));
  const bool linked = link.has_value() && !link->reserved();
  if (!linked && out.change.action() != proto::GENERIC_INSERT) {
    ORGSYNC_ASSIGN_OR_RETURN(std::vector<uint64_t> pending,
                             deps_.queue->PendingSequences(entry.record));
    if (std::any_of(pending.begin(), pending.end(),
                    [&](uint64_t s) { return s < entry.sequence; })) {
      // The record's own insert is still on its way.
      out.kind = OutgoingChange::Kind::kBlocked;
      out.waits_for = entry.record;
      out.reason = "an earlier change of the same record is still queued";
      return out;
    }
    // R55: the partner never got the record (its insert failed for good):
    // send it whole, as it is now.
    // A deleted record goes whole too, marked deleted: the partner may hold
    // a copy from an earlier send whose acknowledgement was lost, and that
    // copy must end deleted as well.
    absl::StatusOr<Record> current =
        deps_.store->Get(entry.record.object, entry.record.id);
    if (absl::IsNotFound(current.status())) {
      out.kind = OutgoingChange::Kind::kSkip;
      out.reason = fmt::format(
          "{}/{} is not linked and is gone here: the partner has nothing to "
          "change",
          entry.record.object, entry.record.id);
      return out;
    }
    ORGSYNC_RETURN_IF_ERROR(current.status());
    ORGSYNC_ASSIGN_OR_RETURN(out.change, FullStateInsert(*current));
  }
  out.change.set_sequence(entry.sequence);
  if (linked) {
    out.change.set_receiver_record_id(link->partner_id());
    out.change.set_last_synced_receiver_version(link->partner_version());
  }
  if (out.change.action() != proto::GENERIC_INSERT) {
    out.change.clear_audit();  // R35: only the first copy
  }
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<RecordRef> parent,
                           ResolveReferences(&out.change, entry));
  if (parent.has_value()) {
    out.kind = OutgoingChange::Kind::kBlocked;
    out.waits_for = *parent;
    out.reason = fmt::format("parent {}/{} has an earlier queued change",
                             parent->object, parent->id);
    out.change.Clear();
  }
  return out;
}

// --- OnResult --------------------------------------------------------------

absl::Status RecordSync::OnResult(const QueueEntry& entry,
                                  const proto::ItemResult& result,
                                  WriteBatch* batch) {
  if (result.outcome() != proto::APPLIED &&
      result.outcome() != proto::DUPLICATE) {
    return absl::OkStatus();
  }
  if (!IsRecordAction(entry.action) || entry.record.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "OnResult: queue entry {} is not a record change", entry.sequence));
  }
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::RecordLink> link,
      links_.FindByLocal(entry.record.object, entry.record.id));
  if (!link.has_value()) {
    if (result.receiver_record_id().empty()) return absl::OkStatus();
    link.emplace();
    link->set_local_id(entry.record.id);
    link->set_partner_id(result.receiver_record_id());
  } else if (link->reserved()) {
    return absl::OkStatus();  // our own apply of this record is unfinished
  }
  link->set_acked_local_sequence(
      std::max(link->acked_local_sequence(), entry.sequence));
  link->set_partner_version(
      std::max(link->partner_version(), result.receiver_version()));
  proto::RecordChange payload;
  if (payload.ParseFromString(entry.payload)) {
    link->set_local_version(
        std::max(link->local_version(), payload.sender_version()));
  }
  links_.Put(entry.record.object, *link, batch);
  return absl::OkStatus();
}

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
  return Failure(change, proto::RETRYABLE_FAILURE, SyncErrorCode::kStorage,
                 fmt::format("applying {}/{} failed here: {}", change.object(),
                             change.sender_record_id(),
                             result.status().ToString()));
}

absl::StatusOr<proto::ItemResult> RecordSync::ApplyOrError(
    const proto::RecordChange& change) {
  if (!HybridClock::IsAcceptableStamp(change.last_modified_micros())) {
    return Failure(change, proto::PERMANENT_FAILURE,
                   SyncErrorCode::kValidation,
                   fmt::format("the change of {}/{} carries the time {} "
                               "(Unix micros), outside 0..{}",
                               change.object(), change.sender_record_id(),
                               change.last_modified_micros(),
                               HybridClock::kMaxStampMicros));
  }
  // Every later local write must order after this one (DESIGN.md rule 8).
  hlc_.Observe(change.last_modified_micros(), deps_.clock->Now());
  if (!deps_.subscription_map->IsSubscribed(change.object())) {
    return Failure(change, proto::PERMANENT_FAILURE,
                   SyncErrorCode::kObjectNotSubscribed,
                   fmt::format("{} is not subscribed in this org",
                               change.object()));
  }
  const std::string local_object = LocalObjectOf(change.object());
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::RecordLink> link,
      links_.FindByPartner(local_object, change.sender_record_id()));
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
    return Success(change, proto::DUPLICATE, link->local_id(), version);
  }
  switch (change.action()) {
    case proto::GENERIC_INSERT:
    case proto::BULK_SYNC: {
      MappedChange mapped;
      ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::ItemResult> failed,
                               MapFields(change, local_object, &mapped));
      if (failed.has_value()) return *failed;
      ORGSYNC_ASSIGN_OR_RETURN(
          proto::ItemResult inserted,
          ApplyInsert(change, local_object, std::move(link),
                      std::move(mapped)));
      if (!change.deleted() || inserted.outcome() != proto::APPLIED) {
        return inserted;
      }
      return DeleteAfterInsert(change, local_object);
    }
    case proto::GENERIC_UPDATE: {
      if (!link.has_value() || link->reserved()) break;
      MappedChange mapped;
      ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::ItemResult> failed,
                               MapFields(change, local_object, &mapped));
      if (failed.has_value()) return *failed;
      return ApplyUpdate(change, local_object, *std::move(link),
                         std::move(mapped));
    }
    case proto::REPLICATION_DELETE:
    case proto::REPLICATION_UNDELETE:
      if (!link.has_value() || link->reserved()) break;
      return ApplyDeletion(change, local_object, *std::move(link));
    default:
      return Failure(change, proto::PERMANENT_FAILURE, SyncErrorCode::kUnknown,
                     fmt::format("{} is not a record change this org applies",
                                 proto::QueueAction_Name(change.action())));
  }
  return Failure(
      change, proto::RETRYABLE_FAILURE, SyncErrorCode::kRecordNotFound,
      fmt::format("{} of {}/{}: the record is not linked in this org (its "
                  "insert has not arrived or failed)",
                  proto::QueueAction_Name(change.action()), change.object(),
                  change.sender_record_id()));
}

absl::StatusOr<std::optional<proto::ItemResult>> RecordSync::MapFields(
    const proto::RecordChange& change, const std::string& local_object,
    MappedChange* out) {
  const std::optional<ObjectDef> publication =
      deps_.subscription_map->PartnerPublication(change.object());
  const std::shared_ptr<const ObjectDef> local_def =
      deps_.schema->FindObject(local_object);
  const RecordRef here{local_object, ""};
  const auto action = static_cast<QueueAction>(static_cast<int>(change.action()));
  for (const auto& [partner_field, wire_value] : change.fields()) {
    std::optional<std::string> local_field =
        deps_.subscription_map->MappedField(change.object(), partner_field);
    if (!local_field.has_value()) continue;  // unsubscribed / None Available
    FieldValue value = FieldValueFromProto(wire_value);
    const FieldDef* partner_def =
        publication.has_value() ? publication->FindField(partner_field)
                                : nullptr;
    const FieldDef* local_field_def =
        local_def != nullptr ? local_def->FindField(*local_field) : nullptr;
    if (const auto* ref = std::get_if<Reference>(&value)) {
      if (partner_def != nullptr &&
          partner_def->type == FieldType::kUserReference) {
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
                  local_object, *local_field, change.sender_record_id(),
                  ref->id, owner),
              .details = {{"field", *local_field},
                          {"missing_user", ref->id},
                          {"owner", owner}}});
          value = Reference{owner};
        }
      } else {
        const std::string partner_target =
            partner_def != nullptr ? partner_def->lookup_target : "";
        const std::string target =
            deps_.subscription_map->LocalObject(partner_target)
                .value_or(local_field_def != nullptr
                              ? local_field_def->lookup_target
                              : partner_target);
        ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> parent,
                                 links_.FindByPartner(target, ref->id));
        ORGSYNC_ASSIGN_OR_RETURN(
            std::optional<std::string> hinted,
            HintedParent(change, partner_field, target, ref->id));
        if (parent.has_value() && !parent->reserved()) {
          value = Reference{parent->local_id()};  // R32
        } else if (hinted.has_value()) {
          value = Reference{*hinted};
        } else if (local_field_def != nullptr && local_field_def->required) {
          return Failure(
              change, proto::RETRYABLE_FAILURE, SyncErrorCode::kMissingParent,
              fmt::format("{} record {} needs its required lookup {} to "
                          "point at {} record {}, which is not in this org "
                          "yet (R14)",
                          local_object, change.sender_record_id(),
                          *local_field, target, ref->id));
        } else {
          out->notes.push_back(NewLogEntry{
              .record = here,
              .action = action,
              .status = LogStatus::kInfo,
              .error = SyncErrorCode::kMissingParent,
              .description = fmt::format(
                  "{}.{} of partner record {} points at {} record {}, which "
                  "is not in this org: the lookup is left blank (R14)",
                  local_object, *local_field, change.sender_record_id(),
                  target, ref->id),
              .details = {{"field", *local_field}, {"parent", ref->id}}});
          value = std::monostate{};
        }
      }
    }
    out->fields[*local_field] = std::move(value);
  }
  return std::nullopt;
}

// The local record the sender says `field` points at, if it is of the
// lookup's target object and not linked to another partner record: our own
// link to it is recorded only when the partner's acknowledgement of it
// arrives, which may come after this change.
absl::StatusOr<std::optional<std::string>> RecordSync::HintedParent(
    const proto::RecordChange& change, const std::string& field,
    const std::string& target, const std::string& partner_id) {
  auto hint = change.lookup_receiver_ids().find(field);
  if (hint == change.lookup_receiver_ids().end()) return std::nullopt;
  return KnownToPartnerAs(target, hint->second, partner_id);
}

// `local_id` if the partner may name it `partner_id`: the record exists
// here and is not linked to another partner record.
absl::StatusOr<std::optional<std::string>> RecordSync::KnownToPartnerAs(
    const std::string& object, const std::string& local_id,
    const std::string& partner_id) {
  absl::StatusOr<Record> here = deps_.store->Get(object, local_id);
  if (absl::IsNotFound(here.status())) return std::nullopt;
  ORGSYNC_RETURN_IF_ERROR(here.status());
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> link,
                           links_.FindByLocal(object, local_id));
  if (link.has_value() && link->partner_id() != partner_id) {
    return std::nullopt;
  }
  return local_id;
}

absl::StatusOr<proto::ItemResult> RecordSync::ApplyInsert(
    const proto::RecordChange& change, const std::string& local_object,
    std::optional<proto::RecordLink> link, MappedChange mapped) {
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
    link.emplace();
    link->set_local_id(id);
    link->set_partner_id(change.sender_record_id());
    link->set_reserved(true);
    WriteBatch reserve;
    links_.Put(local_object, *link, &reserve);
    ORGSYNC_RETURN_IF_ERROR(deps_.reserve_storage->Write(reserve, kSync));
  }
  proto::Outcome outcome = proto::APPLIED;
  Record stored;
  absl::StatusOr<Record> existing =
      deps_.store->Get(local_object, link->local_id());
  if (existing.ok()) {
    outcome = proto::DUPLICATE;  // inserted before a crash
    stored = *std::move(existing);
  } else if (absl::IsNotFound(existing.status())) {
    const bool keep_audit = sync_audit_fields() && change.has_audit();
    Record record;
    record.object = local_object;
    record.id = link->local_id();
    record.fields = mapped.fields;
    if (keep_audit) record.audit = AuditFieldsFromProto(change.audit());
    absl::StatusOr<Record> inserted = deps_.store->Insert(
        std::move(record), ApplyContext{.from_replication = true,
                                        .connection_id = deps_.connection_id,
                                        .keep_audit_fields = keep_audit});
    if (absl::IsInvalidArgument(inserted.status()) ||
        absl::IsAlreadyExists(inserted.status())) {
      return Failure(change, proto::PERMANENT_FAILURE,
                     SyncErrorCode::kValidation,
                     fmt::format("this org refused {} record {}: {}",
                                 local_object, change.sender_record_id(),
                                 std::string(inserted.status().message())));
    }
    ORGSYNC_RETURN_IF_ERROR(inserted.status());
    stored = *std::move(inserted);
  } else {
    return existing.status();
  }
  link->set_reserved(false);
  link->set_last_applied_sequence(change.sequence());
  link->set_partner_version(
      std::max(link->partner_version(), change.sender_version()));
  link->set_local_version(stored.version);
  WriteBatch batch;
  links_.Put(local_object, *link, &batch);
  const proto::FieldStamp stamp =
      StampOf(change.last_modified_micros(),
              deps_.role != ReplicationRole::kPrimary, change.sender_version(),
              change.sequence());
  for (const auto& [field, value] : mapped.fields) {
    links_.PutStamp(local_object, link->local_id(), field, stamp, &batch);
  }
  for (NewLogEntry& note : mapped.notes) note.record.id = link->local_id();
  ORGSYNC_RETURN_IF_ERROR(Commit(batch, mapped.notes, apply_logs_));
  return Success(change, outcome, link->local_id(), stored.version);
}

absl::StatusOr<proto::ItemResult> RecordSync::ApplyUpdate(
    const proto::RecordChange& change, const std::string& local_object,
    proto::RecordLink link, MappedChange mapped) {
  absl::StatusOr<Record> current =
      deps_.store->Get(local_object, link.local_id());
  if (absl::IsNotFound(current.status())) {
    return Failure(change, proto::RETRYABLE_FAILURE,
                   SyncErrorCode::kRecordNotFound,
                   fmt::format("{} record {} (partner {}) is gone from this "
                               "org",
                               local_object, link.local_id(),
                               change.sender_record_id()));
  }
  ORGSYNC_RETURN_IF_ERROR(current.status());
  const bool primary_here = deps_.role == ReplicationRole::kPrimary;
  const proto::FieldStamp incoming =
      StampOf(change.last_modified_micros(), !primary_here,
              change.sender_version(), change.sequence());

  FieldMap apply;
  std::vector<std::pair<std::string, proto::FieldStamp>> new_stamps;
  FieldMap resend;  // resolver picked the older write: send it again
  std::vector<NewLogEntry> notes = std::move(mapped.notes);
  for (auto& [field, value] : mapped.fields) {
    ORGSYNC_ASSIGN_OR_RETURN(
        std::optional<proto::FieldStamp> stored,
        links_.GetStamp(local_object, link.local_id(), field));
    const bool incoming_newer =
        !stored.has_value() || StampLess(*stored, incoming);
    const bool local_unseen = stored.has_value() &&
                              stored->from_primary() == primary_here &&
                              stored->sequence() > link.acked_local_sequence();
    auto here_it = current->fields.find(field);
    const FieldValue here_value =
        here_it != current->fields.end() ? here_it->second : FieldValue{};
    if (!local_unseen || here_value == value) {
      if (incoming_newer) {
        apply[field] = value;
        new_stamps.emplace_back(field, incoming);
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
    const bool remote_wins =
        (winner == ConflictWinner::kPrimary) != primary_here;
    if (remote_wins) apply[field] = value;
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

  Record updated = *current;
  if (!apply.empty()) {
    absl::StatusOr<Record> written = deps_.store->Update(
        local_object, link.local_id(), apply,
        ApplyContext{.from_replication = true,
                     .connection_id = deps_.connection_id});
    if (absl::IsInvalidArgument(written.status())) {
      return Failure(change, proto::PERMANENT_FAILURE,
                     SyncErrorCode::kValidation,
                     fmt::format("this org refused the update of {} record "
                                 "{}: {}",
                                 local_object, link.local_id(),
                                 std::string(written.status().message())));
    }
    ORGSYNC_RETURN_IF_ERROR(written.status());
    updated = *std::move(written);
  }
  link.set_last_applied_sequence(change.sequence());
  link.set_partner_version(
      std::max(link.partner_version(), change.sender_version()));
  link.set_local_version(updated.version);
  WriteBatch batch;
  links_.Put(local_object, link, &batch);
  for (const auto& [field, stamp] : new_stamps) {
    links_.PutStamp(local_object, link.local_id(), field, stamp, &batch);
  }
  std::optional<RecordQueue::PendingEnqueue> pending;
  if (!resend.empty()) {
    proto::RecordChange again;
    again.set_action(proto::GENERIC_UPDATE);
    again.set_object(local_object);
    again.set_sender_record_id(link.local_id());
    again.set_sender_version(updated.version);
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
        StampOf(micros, primary_here, updated.version,
                pending->sequences().front());
    for (const auto& [field, value] : resend) {
      links_.PutStamp(local_object, link.local_id(), field, stamp, &batch);
    }
  }
  for (NewLogEntry& note : notes) note.record.id = link.local_id();
  const absl::Status written = Commit(batch, notes, apply_logs_);
  if (pending.has_value()) {
    deps_.queue->FinishEnqueue(std::move(*pending), written);
  }
  ORGSYNC_RETURN_IF_ERROR(written);
  return Success(change, proto::APPLIED, link.local_id(), updated.version);
}

// The second half of a record sent whole while deleted: delete the copy
// the insert made (or merged into), ordered like any delete by its stamp,
// without taking children along (they travel on their own).
absl::StatusOr<proto::ItemResult> RecordSync::DeleteAfterInsert(
    const proto::RecordChange& change, const std::string& local_object) {
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::RecordLink> link,
      links_.FindByPartner(local_object, change.sender_record_id()));
  if (!link.has_value() || link->reserved()) {
    return Failure(change, proto::RETRYABLE_FAILURE, SyncErrorCode::kStorage,
                   fmt::format("{}/{} was inserted but its link is not "
                               "recorded here",
                               change.object(), change.sender_record_id()));
  }
  proto::RecordChange deletion;
  deletion.set_sequence(change.sequence());
  deletion.set_action(proto::REPLICATION_DELETE);
  deletion.set_object(change.object());
  deletion.set_sender_record_id(change.sender_record_id());
  deletion.set_sender_version(change.sender_version());
  deletion.set_last_modified_micros(change.last_modified_micros());
  // The store's delete cascades; an empty list of what the sender took
  // along makes the local children that cascade took come back: they
  // follow their own changes (the sender's delete, when it comes, lists
  // the children it took).
  deletion.set_cascade(true);
  deletion.set_cascade_listed(true);
  return ApplyDeletion(deletion, local_object, *std::move(link));
}

absl::StatusOr<proto::ItemResult> RecordSync::ApplyDeletion(
    const proto::RecordChange& change, const std::string& local_object,
    proto::RecordLink link) {
  const bool primary_here = deps_.role == ReplicationRole::kPrimary;
  const bool deleting = change.action() == proto::REPLICATION_DELETE;
  const proto::FieldStamp incoming =
      StampOf(change.last_modified_micros(), !primary_here,
              change.sender_version(), change.sequence());
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::FieldStamp> stored,
      links_.GetStamp(local_object, link.local_id(), kDeletedStampField));
  const bool newer = !stored.has_value() || StampLess(*stored, incoming);
  WriteBatch batch;
  std::vector<RecordRef> took;  // what the local store's cascade touched
  if (newer) {
    const ApplyContext context{.from_replication = true,
                               .connection_id = deps_.connection_id};
    absl::StatusOr<CascadeResult> done =
        deleting ? deps_.store->Delete(local_object, link.local_id(), context)
                 : deps_.store->Undelete(local_object, link.local_id(),
                                         context);
    if (absl::IsNotFound(done.status())) {
      return Failure(change, proto::RETRYABLE_FAILURE,
                     SyncErrorCode::kRecordNotFound,
                     fmt::format("{} record {} (partner {}) is gone from "
                                 "this org",
                                 local_object, link.local_id(),
                                 change.sender_record_id()));
    }
    // FailedPrecondition: already deleted (or live), e.g. by a cascade from
    // the same delete of the parent in the other org (R33): already applied.
    if (!done.ok() && !absl::IsFailedPrecondition(done.status())) {
      return done.status();
    }
    links_.PutStamp(local_object, link.local_id(), kDeletedStampField,
                    incoming, &batch);
    if (done.ok() && done->affected.size() > 1) {
      took.assign(done->affected.begin() + 1, done->affected.end());
    }
  }
  // Even when a newer change of the record itself wins, the children the
  // sender took along follow the sender if nothing newer touched them.
  if (change.cascade() && change.cascade_listed()) {
    ORGSYNC_RETURN_IF_ERROR(
        MatchCascade(change, incoming, deleting, took, &batch));
  }
  uint64_t version = 0;
  if (absl::StatusOr<Record> now =
          deps_.store->Get(local_object, link.local_id());
      now.ok()) {
    version = now->version;
  }
  link.set_last_applied_sequence(change.sequence());
  link.set_partner_version(
      std::max(link.partner_version(), change.sender_version()));
  link.set_local_version(version);
  links_.Put(local_object, link, &batch);
  ORGSYNC_RETURN_IF_ERROR(Commit(batch, {}, apply_logs_));
  return Success(change, proto::APPLIED, link.local_id(), version);
}

// The sender listed what its delete/undelete took along; the local store
// cascaded along its own children, which may differ for a moment in
// two-way sync (a child inserted here while the partner deleted the
// parent, a child moved to another parent in one org only). Both orgs must
// end the same: children the sender took are given the same state here,
// and synced children the local cascade took that the sender did not are
// put back. Children of objects this side does not publish to the partner
// follow the local cascade: the partner never has them.
absl::Status RecordSync::MatchCascade(const proto::RecordChange& change,
                                      const proto::FieldStamp& incoming,
                                      bool deleting,
                                      const std::vector<RecordRef>& took,
                                      WriteBatch* batch) {
  const ApplyContext context{.from_replication = true,
                             .connection_id = deps_.connection_id};
  std::set<RecordRef> wanted;
  for (const proto::CascadedRecord& cascaded : change.cascaded()) {
    if (!deps_.subscription_map->IsSubscribed(cascaded.object())) continue;
    const std::string object = LocalObjectOf(cascaded.object());
    ORGSYNC_ASSIGN_OR_RETURN(
        std::optional<proto::RecordLink> child,
        links_.FindByPartner(object, cascaded.sender_record_id()));
    if (child.has_value() && !child->reserved()) {
      wanted.insert(RecordRef{object, child->local_id()});
      continue;
    }
    // Our own record, whose link we learn only from the partner's
    // acknowledgement, which may still be on its way.
    if (cascaded.receiver_record_id().empty()) continue;
    ORGSYNC_ASSIGN_OR_RETURN(
        std::optional<std::string> hinted,
        KnownToPartnerAs(object, cascaded.receiver_record_id(),
                         cascaded.sender_record_id()));
    if (hinted.has_value()) wanted.insert(RecordRef{object, *hinted});
  }
  // Deletes (or undeletes) one child; a child already in that state, or
  // gone, is fine: the goal is the state.
  auto set_deleted = [&](const RecordRef& child, bool deleted) -> absl::Status {
    absl::StatusOr<CascadeResult> done =
        deleted ? deps_.store->Delete(child.object, child.id, context)
                : deps_.store->Undelete(child.object, child.id, context);
    if (done.ok() || absl::IsFailedPrecondition(done.status()) ||
        absl::IsNotFound(done.status())) {
      return absl::OkStatus();
    }
    return done.status();
  };
  const std::set<RecordRef> taken(took.begin(), took.end());
  for (const RecordRef& child : wanted) {
    ORGSYNC_ASSIGN_OR_RETURN(
        std::optional<proto::FieldStamp> stored,
        links_.GetStamp(child.object, child.id, kDeletedStampField));
    if (stored.has_value() && !StampLess(*stored, incoming)) {
      // A newer delete/undelete of the child itself wins over this
      // cascade: undo what the local cascade did to it.
      if (taken.contains(child)) {
        ORGSYNC_RETURN_IF_ERROR(set_deleted(child, !deleting));
      }
      continue;
    }
    if (!taken.contains(child)) {
      ORGSYNC_RETURN_IF_ERROR(set_deleted(child, deleting));
    }
    links_.PutStamp(child.object, child.id, kDeletedStampField, incoming,
                    batch);
  }
  // What the local cascade took that the sender did not: put it back.
  for (const RecordRef& child : took) {
    if (wanted.contains(child)) continue;
    if (!deps_.publish_set->IsObjectPublished(child.object)) continue;
    ORGSYNC_RETURN_IF_ERROR(set_deleted(child, !deleting));
  }
  return absl::OkStatus();
}

void RecordSync::UpdateSettings(bool sync_audit_fields,
                                std::string owner_user_id) {
  absl::MutexLock lock(&settings_mu_);
  deps_.sync_audit_fields = sync_audit_fields;
  deps_.owner_user_id = std::move(owner_user_id);
}

bool RecordSync::sync_audit_fields() const {
  absl::MutexLock lock(&settings_mu_);
  return deps_.sync_audit_fields;
}

std::string RecordSync::owner_user_id() const {
  absl::MutexLock lock(&settings_mu_);
  return deps_.owner_user_id;
}

// --- ReserveInserts --------------------------------------------------------

absl::Status RecordSync::ReserveInserts(const proto::ChangeBatch& changes) {
  WriteBatch batch;
  // An envelope carries one change per record, but a malformed one must
  // not reserve two ids for one partner record.
  std::set<std::pair<std::string, std::string>> reserved;
  for (const proto::RecordChange& change : changes.changes()) {
    if (change.action() != proto::GENERIC_INSERT &&
        change.action() != proto::BULK_SYNC) {
      continue;
    }
    if (!deps_.subscription_map->IsSubscribed(change.object())) continue;
    const std::string local_object = LocalObjectOf(change.object());
    if (!reserved.emplace(local_object, change.sender_record_id()).second) {
      continue;
    }
    ORGSYNC_ASSIGN_OR_RETURN(
        std::optional<proto::RecordLink> link,
        links_.FindByPartner(local_object, change.sender_record_id()));
    if (link.has_value()) continue;
    ORGSYNC_ASSIGN_OR_RETURN(std::string id,
                             deps_.store->ReserveId(local_object));
    proto::RecordLink fresh;
    fresh.set_local_id(std::move(id));
    fresh.set_partner_id(change.sender_record_id());
    fresh.set_reserved(true);
    links_.Put(local_object, fresh, &batch);
  }
  if (batch.Count() == 0) return absl::OkStatus();
  return deps_.reserve_storage->Write(batch, kSync);
}

// The local name of a partner object the SubscriptionMap maps (the
// partner's name when it maps it to the same name or not at all).
std::string RecordSync::LocalObjectOf(
    const std::string& partner_object) const {
  return deps_.subscription_map->LocalObject(partner_object)
      .value_or(partner_object);
}

}  // namespace orgsync::internal
