// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "engine/record_sync.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include "absl/time/time.h"
#include "engine/captured_payload.h"
#include "fmt/format.h"
#include "orgsync/status.h"
#include "records/record_codec.h"
#include "wire/queued_change.h"

namespace orgsync::internal {
namespace {

constexpr WriteOptions kSyncWrite{.sync = true};

proto::QueueAction ToProto(QueueAction action) {
  return static_cast<proto::QueueAction>(static_cast<int>(action));
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

bool IsLookup(const FieldDef* def) {
  return def != nullptr && IsLookupFieldType(def->type) &&
         def->type != FieldType::kUserReference;
}

}  // namespace

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
  ORGSYNC_ASSIGN_OR_RETURN(auto fences, sync->links_.ListUnlinkFences());
  for (const auto& [object, fence] : fences) {
    sync->NoteUnlinkFence(object, fence);
  }
  return sync;
}

RecordSync::RecordSync(RecordSyncDeps deps)
    : deps_(std::move(deps)),
      links_(deps_.storage, deps_.connection_id),
      hlc_(deps_.storage, deps_.connection_id) {
  if (deps_.resolver == nullptr) deps_.resolver = &default_resolver_;
  if (deps_.direct_storage == nullptr) deps_.direct_storage = deps_.storage;
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
                                PendingLogs* deferred_logs, Storage* storage) {
  hlc_.Stage(&batch);
  std::optional<DurableSyncLog::PendingAppend> pending;
  if (!log_entries.empty()) {
    ORGSYNC_ASSIGN_OR_RETURN(pending,
                             deps_.log->PrepareAppend(log_entries, &batch));
  }
  if (storage == nullptr) storage = deps_.storage;
  absl::Status status = storage->Write(batch, kSyncWrite);
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
RecordSync::PlanCapture(const LocalChange& change, bool forwarded,
                        CaptureResult* result) {
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
  const QueueAction action = ActionFor(change.kind);
  // The hybrid clock, not the host's LastModifiedDate alone, orders this
  // write against the partner's (DESIGN.md rule 8).
  plan.micros = hlc_.Tick(LocalWriteTime(record, *deps_.clock));
  plan.version = record.version;

  std::string encoded;
  if (change.kind == ChangeKind::kInsert ||
      change.kind == ChangeKind::kUpdate) {
    // Written straight from the record: no message to fill and serialize.
    CapturedPayload payload(ToProto(action), record.object, record.id);
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
      static const FieldValue kNull;
      auto it = record.fields.find(field);
      const FieldValue& value =
          it != record.fields.end() ? it->second : kNull;
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
      payload.AddValue(field, value);
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
        payload.AddChangedField(field);
      }
    }
    if (change.kind == ChangeKind::kInsert && sync_audit_fields()) {
      payload.SetAudit(record.audit);  // R35
    }
    encoded =
        std::move(payload).Finish(record.version, plan.micros, forwarded);
  } else {
    proto::RecordChange payload;
    payload.set_action(ToProto(action));
    payload.set_object(record.object);
    payload.set_sender_record_id(record.id);
    payload.set_sender_version(record.version);
    payload.set_last_modified_micros(plan.micros);
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
    encoded = payload.SerializeAsString();
  }
  // A cascading delete or undelete takes the partner's children as they
  // are when it is applied there, so it must be applied after every earlier
  // change (a child moved to another parent) and before every later one (a
  // child undeleted on its own): the queue delivers it as a barrier.
  plan.entry = NewQueueEntry{.record = {record.object, record.id},
                             .action = action,
                             .payload = std::move(encoded),
                             .barrier = plan.deletion && change.cascade};
  return plan;
}

absl::StatusOr<CaptureResult> RecordSync::Capture(const LocalChange& change) {
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<CaptureResult> results,
                           CaptureBatch(absl::MakeConstSpan(&change, 1)));
  return std::move(results.front());
}

absl::StatusOr<std::vector<CaptureResult>> RecordSync::CaptureBatch(
    absl::Span<const LocalChange> changes, bool forwarded) {
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
                             PlanCapture(changes[i], forwarded, &results[i]));
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
  ORGSYNC_ASSIGN_OR_RETURN(DurableRecordQueue::PendingEnqueue pending,
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
    // one record, which rules this out. Captures have their stamp keys to
    // themselves (engine/record_links.h), so apply's stamps, committed on
    // the step thread after its store write, never hide a capture's newer
    // one.
    const proto::FieldStamp stamp =
        StampOf(plan.micros, primary, plan.version, sequences[i]);
    if (plan.deletion) {
      links_.PutCaptureStamp(record.object, record.id, kDeletedStampField,
                             stamp, &batch);
      // The children the store took along changed state by this same
      // write: a partner's older delete or undelete of one of them must not
      // undo it.
      for (const RecordRef& child : plan.cascaded) {
        links_.PutCaptureStamp(child.object, child.id, kDeletedStampField,
                               stamp, &batch);
      }
    }
    // A record is inserted once: its insert's stamps share one key.
    if (entries[i].action == QueueAction::kGenericInsert) {
      links_.PutInsertCaptureStamps(record.object, record.id, plan.carried,
                                    stamp, &batch);
    } else {
      for (const std::string& field : plan.carried) {
        links_.PutCaptureStamp(record.object, record.id, field, stamp,
                               &batch);
      }
    }
  }
  std::optional<DurableSyncLog::PendingAppend> logged;
  if (!notes.empty()) {
    absl::StatusOr<DurableSyncLog::PendingAppend> prepared =
        deps_.log->PrepareAppend(notes, &batch);
    if (!prepared.ok()) {
      deps_.queue->FinishEnqueue(std::move(pending), prepared.status());
      return prepared.status();
    }
    logged = std::move(*prepared);
  }
  // No lock is held here, so concurrent captures share the storage's group
  // commit. Durable before Capture returns, also inside an envelope's
  // deferred sync (direct_storage).
  const absl::Status written = deps_.direct_storage->Write(batch, kSyncWrite);
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

// --- PrepareSend -----------------------------------------------------------

absl::StatusOr<proto::RecordChange> RecordSync::FullStateInsert(
    const Record& record, const std::optional<proto::RecordLink>& link) {
  proto::RecordChange change;
  change.set_action(proto::GENERIC_INSERT);
  change.set_object(record.object);
  change.set_sender_record_id(record.id);
  change.set_sender_version(record.version);
  const std::shared_ptr<const ObjectDef> def =
      deps_.schema->FindObject(record.object);
  std::vector<std::string> sent;
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
    sent.push_back(field);
  }
  // Each value goes with the stamp of its write as this org knows it, not
  // the moment it is sent: sent again (a retry, a bulk copy after a crash
  // cut its apply short), a whole record would otherwise claim values newer
  // than the partner's writes made since, and overwrite them there while
  // this org takes them here (DESIGN.md rule 8). A value this org never
  // stamped (written before it was captured) is as old as the host says
  // the record is.
  ORGSYNC_ASSIGN_OR_RETURN(
      const proto::StepStamps step,
      link.has_value() ? links_.StepStampsOf(record.object, *link)
                       : links_.GetStepStamps(record.object, record.id));
  ORGSYNC_ASSIGN_OR_RETURN(
      const std::vector<std::optional<proto::FieldStamp>> stamps,
      links_.NewestStamps(step, record.object, record.id, sent));
  const bool primary_here = deps_.role == ReplicationRole::kPrimary;
  const int64_t written = std::clamp<int64_t>(
      absl::ToUnixMicros(record.audit.last_modified_date), 0,
      HybridClock::kMaxStampMicros);
  // The whole record is as new as the moment it is sent, and never older
  // than a value it carries: the partner's clock moves past this.
  int64_t newest = hlc_.Tick(LocalWriteTime(record, *deps_.clock));
  for (size_t i = 0; i < sent.size(); ++i) {
    proto::SentStamp& out = (*change.mutable_field_stamps())[sent[i]];
    if (stamps[i].has_value()) {
      out.set_micros(stamps[i]->micros());
      out.set_from_primary(stamps[i]->from_primary());
      out.set_version(stamps[i]->version());
      out.set_sequence(stamps[i]->sequence());
    } else {
      out.set_micros(written);
      out.set_from_primary(primary_here);
      out.set_version(record.version);
    }
    newest = std::max(newest, out.micros());
  }
  change.set_last_modified_micros(newest);
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

OutgoingChange RecordSync::Blocked(const RecordRef& waits_for,
                                   std::string_view reason) {
  OutgoingChange out;
  out.kind = OutgoingChange::Kind::kBlocked;
  out.waits_for = waits_for;
  out.reason = std::string(reason);
  return out;
}

OutgoingChange RecordSync::BlockedByParent(const RecordRef& parent) {
  return Blocked(parent,
                 fmt::format("parent {}/{} has an earlier queued change",
                             parent.object, parent.id));
}

absl::StatusOr<bool> RecordSync::HasEarlierChange(
    const QueueEntry& entry) const {
  return deps_.queue->HasEarlierPending(entry.record, entry.sequence);
}

absl::Status RecordSync::PayloadMismatch(const QueueEntry& entry) {
  return absl::DataLossError(fmt::format(
      "PrepareSend: the payload of queue entry {} ({}/{}) is not the "
      "record change Capture wrote",
      entry.sequence, entry.record.object, entry.record.id));
}

bool RecordSync::SendsAsQueued(
    const wire::QueuedChange& plain,
    const std::optional<proto::RecordLink>& link) const {
  const bool insert = plain.action == proto::GENERIC_INSERT;
  // R55: an update of a record the partner never got, or whose last
  // change it refused for good, goes whole.
  if (!link.has_value() && !insert) return false;
  if (link.has_value() && link->resend_whole_after() != 0 && !insert) {
    return false;
  }
  // Lookups are translated through links and may wait for their parent
  // (ResolveReferences).
  const std::shared_ptr<const ObjectDef> def =
      deps_.schema->FindObject(plain.object);
  if (def == nullptr) return true;
  return std::none_of(def->fields.begin(), def->fields.end(),
                      [](const FieldDef& field) {
                        return IsLookup(&field) &&
                               !field.lookup_target.empty();
                      });
}

absl::StatusOr<OutgoingChange> RecordSync::PrepareSend(
    const QueueEntry& entry) {
  if (!IsRecordAction(entry.action) || entry.record.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "PrepareSend: queue entry {} ({}) is not a record change",
        entry.sequence, QueueActionName(entry.action)));
  }
  if (!deps_.publish_set->IsObjectPublished(entry.record.object) ||
      QueuedBeforeUnlink(entry)) {
    // R20: queued before its object was unpublished (and perhaps
    // published again since).
    OutgoingChange out;
    out.kind = OutgoingChange::Kind::kFail;
    out.error = SyncErrorCode::kObjectNotSubscribed;
    out.reason = fmt::format(
        "not sent: {} was unpublished after the change was queued (R20)",
        entry.record.object);
    return out;
  }
  if (entry.action == QueueAction::kBulkSync) return PrepareBulkSend(entry);
  OutgoingChange out;
  // A plain insert or update is sent as it was queued when nothing about
  // it needs rewriting (SendsAsQueued); everything else is parsed.
  const std::optional<wire::QueuedChange> plain =
      wire::ReadQueuedChange(entry.payload);
  if (plain.has_value()) {
    if (plain->object != entry.record.object ||
        plain->sender_record_id != entry.record.id) {
      return PayloadMismatch(entry);
    }
    out.queued_version = plain->sender_version;
  } else {
    if (!out.change.ParseFromString(entry.payload) ||
        out.change.object() != entry.record.object ||
        out.change.sender_record_id() != entry.record.id) {
      return PayloadMismatch(entry);
    }
    out.queued_version = out.change.sender_version();
  }
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::RecordLink> link,
      links_.FindByLocal(entry.record.object, entry.record.id));
  if (link.has_value() && link->reserved()) {
    // The partner's insert created this record here, and a crash cut its
    // apply short after the host's store had it (the link stayed
    // reserved): the partner sends that insert again, which completes the
    // link. Until then the record must not go as an insert of this org's
    // own -- the partner would hold it twice.
    return Blocked(entry.record, kPartnerInsertUnfinished);
  }
  const bool linked = link.has_value();
  if (plain.has_value()) {
    if (SendsAsQueued(*plain, link)) {
      // Room for what the send appends: no second allocation.
      out.serialized.reserve(entry.payload.size() + wire::kMaxSendFieldsBytes +
                             (linked ? link->partner_id().size() : 0));
      out.serialized.append(entry.payload);
      wire::AppendSendFields(entry.sequence,
                             linked ? link->partner_id() : std::string(),
                             linked ? link->partner_version() : 0,
                             &out.serialized);
      return out;
    }
    if (!out.change.ParseFromString(entry.payload)) {
      return PayloadMismatch(entry);
    }
  }
  if (!linked && out.change.action() != proto::GENERIC_INSERT) {
    // The record's own insert is still on its way.
    ORGSYNC_ASSIGN_OR_RETURN(const bool earlier, HasEarlierChange(entry));
    if (earlier) return Blocked(entry.record, kEarlierChangeQueued);
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
    const bool forwarded = out.change.forwarded();
    ORGSYNC_ASSIGN_OR_RETURN(out.change, FullStateInsert(*current, link));
    out.change.set_forwarded(forwarded);  // R34: a forward still
  } else if (linked && link->resend_whole_after() != 0 &&
             out.change.action() == proto::GENERIC_UPDATE) {
    // R55: an earlier change of the record failed for good (OnFailed); the
    // partner gets the whole record, merged into its copy like an update.
    absl::StatusOr<Record> current =
        deps_.store->Get(entry.record.object, entry.record.id);
    if (current.ok()) {
      const bool forwarded = out.change.forwarded();
      ORGSYNC_ASSIGN_OR_RETURN(out.change, FullStateInsert(*current, link));
      out.change.set_forwarded(forwarded);
    } else if (!absl::IsNotFound(current.status())) {
      return current.status();
    }
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
  if (parent.has_value()) return BlockedByParent(*parent);
  return out;
}

// --- OnResult --------------------------------------------------------------

uint64_t RecordSync::QueuedVersionOf(const QueueEntry& entry) {
  proto::RecordChange payload;
  return payload.ParseFromString(entry.payload) ? payload.sender_version() : 0;
}

absl::Status RecordSync::OnResult(const QueueEntry& entry,
                                  uint64_t sender_version,
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
  // R20: unpublished while the change was on its way; its links are
  // dropped and stay so, also once the object is published again.
  if (!deps_.publish_set->IsObjectPublished(entry.record.object) ||
      QueuedBeforeUnlink(entry)) {
    return absl::OkStatus();
  }
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::RecordLink> link,
      links_.FindByLocal(entry.record.object, entry.record.id));
  const bool created = !link.has_value();
  if (created) {
    if (result.receiver_record_id().empty()) return absl::OkStatus();
    link.emplace();
    link->set_local_id(entry.record.id);
    link->set_partner_id(result.receiver_record_id());
    // This side finds it by its local id when it sends the record's
    // next change.
    link->set_home(proto::LINK_HOME_LOCAL);
  } else if (link->reserved()) {
    return absl::OkStatus();  // our own apply of this record is unfinished
  }
  link->set_acked_local_sequence(
      std::max(link->acked_local_sequence(), entry.sequence));
  // R55: an update queued after the failure was sent whole and is applied.
  if (link->resend_whole_after() != 0 &&
      entry.sequence > link->resend_whole_after() &&
      (entry.action == QueueAction::kGenericUpdate ||
       entry.action == QueueAction::kGenericInsert)) {
    link->set_resend_whole_after(0);
  }
  link->set_partner_version(
      std::max(link->partner_version(), result.receiver_version()));
  link->set_local_version(std::max(link->local_version(), sender_version));
  if (created) {
    links_.Create(entry.record.object, *std::move(link), batch);
  } else {
    links_.Put(entry.record.object, *link, batch);
  }
  return absl::OkStatus();
}

absl::Status RecordSync::OnFailed(const QueueEntry& entry,
                                  WriteBatch* batch) {
  if (!IsRecordAction(entry.action) || entry.record.empty()) {
    return absl::OkStatus();
  }
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::RecordLink> link,
      links_.FindByLocal(entry.record.object, entry.record.id));
  if (!link.has_value() || link->reserved()) return absl::OkStatus();
  // Changes of the record queued before now may have been sent as they
  // are; only one queued after now is surely sent whole.
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<uint64_t> pending,
                           deps_.queue->PendingSequences(entry.record));
  uint64_t after = std::max(entry.sequence, link->resend_whole_after());
  for (uint64_t sequence : pending) after = std::max(after, sequence);
  link->set_resend_whole_after(after);
  links_.Put(entry.record.object, *link, batch);
  return absl::OkStatus();
}

// --- Settings --------------------------------------------------------------

void RecordSync::UpdateSettings(bool sync_audit_fields,
                                std::string owner_user_id) {
  internal::MutexLock lock(&settings_mu_);
  deps_.sync_audit_fields = sync_audit_fields;
  deps_.owner_user_id = std::move(owner_user_id);
}

bool RecordSync::sync_audit_fields() const {
  internal::MutexLock lock(&settings_mu_);
  return deps_.sync_audit_fields;
}

std::string RecordSync::owner_user_id() const {
  internal::MutexLock lock(&settings_mu_);
  return deps_.owner_user_id;
}

}  // namespace orgsync::internal
