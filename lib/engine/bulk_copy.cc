// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The record path's half of bulk sync (R60-R65; orgsync/bulk_sync.h): which
// objects a bulk sync copies and in what order, which records of a scanned
// page get a Bulk Sync entry (and which parents go first), and what such an
// entry sends when its turn comes. The run itself -- its options, scan
// cursor and progress -- is the connection's (lib/connection/bulk_sync.cc).
//
// A Bulk Sync entry carries only the record's name and the version the scan
// read: the record is read again when the entry is sent, so a record edited
// between the scan and the send arrives as it is then, once. Edits captured
// after the copy was queued follow it in the record's order (R50) and are
// applied on top of it.

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "engine/record_sync.h"
#include "orgsync/status.h"

namespace orgsync::internal {
namespace {

// Deeper lookup chains than this are not followed when queuing parents: a
// chain so long is a cycle through records in all likelihood, and the
// record still goes (its lookup blank if the parent is not there, R14).
constexpr int kMaxParentDepth = 32;

}  // namespace

std::vector<std::pair<std::string, std::string>> RecordSync::CopiedLookups(
    std::string_view object) const {
  std::vector<std::pair<std::string, std::string>> out;
  const std::shared_ptr<const ObjectDef> def =
      deps_.schema->FindObject(object);
  if (def == nullptr) return out;
  for (const std::string& field :
       deps_.publish_set->PublishedLookups(object)) {
    const FieldDef* field_def = def->FindField(field);
    if (field_def == nullptr || field_def->lookup_target.empty() ||
        field_def->type == FieldType::kUserReference) {
      continue;
    }
    const std::string& target = field_def->lookup_target;
    if (!deps_.publish_set->IsObjectPublished(target) ||
        !deps_.publish_set->IsPartnerSubscribed(target)) {
      continue;  // R14: the partner gets the lookup blank
    }
    out.emplace_back(field, target);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> RecordSync::BulkSyncObjects(
    const std::vector<std::string>& requested) const {
  std::set<std::string> chosen;
  if (requested.empty()) {
    for (std::string& object : deps_.publish_set->PublishedObjects()) {
      if (deps_.publish_set->IsPartnerSubscribed(object)) {
        chosen.insert(std::move(object));
      }
    }
    if (chosen.empty()) {
      return absl::FailedPreconditionError(
          "bulk sync: no object is published here and subscribed by the "
          "partner; publish and subscribe first (R18)");
    }
  }
  for (const std::string& object : requested) {
    if (object.empty()) {
      return absl::InvalidArgumentError("bulk sync: an object name is empty");
    }
    if (!chosen.insert(object).second) {
      return absl::InvalidArgumentError(
          fmt::format("bulk sync: object {} is named twice", object));
    }
    if (!deps_.publish_set->IsObjectPublished(object)) {
      return absl::FailedPreconditionError(fmt::format(
          "bulk sync: object {} is not published by this org", object));
    }
    if (!deps_.publish_set->IsPartnerSubscribed(object)) {
      return absl::FailedPreconditionError(fmt::format(
          "bulk sync: object {} is not subscribed by the partner yet",
          object));
    }
  }
  // Parents first (R65): an object goes once every chosen object it looks
  // up went, smallest name first among those ready. Self-lookups do not
  // order anything (the scan queues such parents ahead of their children);
  // R15 keeps other cycles out of what is published, and should one remain
  // its objects go by name.
  std::map<std::string, std::set<std::string>> waits_for;
  for (const std::string& object : chosen) {
    std::set<std::string>& parents = waits_for[object];
    for (const auto& [field, target] : CopiedLookups(object)) {
      if (target != object && chosen.contains(target)) parents.insert(target);
    }
  }
  std::vector<std::string> order;
  while (!waits_for.empty()) {
    auto ready = std::find_if(waits_for.begin(), waits_for.end(),
                              [](const auto& entry) {
                                return entry.second.empty();
                              });
    if (ready == waits_for.end()) ready = waits_for.begin();
    const std::string object = ready->first;
    waits_for.erase(ready);
    for (auto& [other, parents] : waits_for) parents.erase(object);
    order.push_back(object);
  }
  return order;
}

absl::StatusOr<bool> RecordSync::LinkedOrQueued(const RecordRef& record) const {
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> link,
                           links_.FindByLocal(record.object, record.id));
  if (link.has_value()) return true;
  return deps_.queue->HasPending(record);
}

absl::StatusOr<size_t> RecordSync::PlanBulkCopy(const Record& record,
                                                BulkCopies* copies) {
  const RecordRef ref{record.object, record.id};
  if (record.deleted || copies->planned.contains(ref)) return 0;
  ORGSYNC_ASSIGN_OR_RETURN(const bool known, LinkedOrQueued(ref));
  if (known) return 0;  // R62
  const size_t before = copies->entries.size();
  std::set<RecordRef> visiting;
  ORGSYNC_RETURN_IF_ERROR(PlanWithParents(record, 0, &visiting, copies));
  return copies->entries.size() - before;
}

absl::Status RecordSync::PlanWithParents(const Record& record, int depth,
                                         std::set<RecordRef>* visiting,
                                         BulkCopies* copies) {
  RecordRef ref{record.object, record.id};
  visiting->insert(ref);
  for (const auto& [field, target] : CopiedLookups(record.object)) {
    auto value = record.fields.find(field);
    if (value == record.fields.end()) continue;
    const auto* reference = std::get_if<Reference>(&value->second);
    if (reference == nullptr || reference->id.empty()) continue;
    const RecordRef parent{target, reference->id};
    if (copies->planned.contains(parent) || visiting->contains(parent) ||
        depth >= kMaxParentDepth) {
      continue;
    }
    ORGSYNC_ASSIGN_OR_RETURN(const bool known, LinkedOrQueued(parent));
    if (known) continue;
    absl::StatusOr<Record> stored = deps_.store->Get(target, reference->id);
    // A lookup to a record that does not exist goes as it is: the partner
    // blanks it, or refuses the record if the lookup is required (R14).
    if (absl::IsNotFound(stored.status())) continue;
    ORGSYNC_RETURN_IF_ERROR(stored.status());
    if (stored->deleted) continue;
    if (copies->read_already && copies->read_already(*stored)) continue;
    ORGSYNC_RETURN_IF_ERROR(
        PlanWithParents(*stored, depth + 1, visiting, copies));
  }
  proto::RecordChange copy;
  copy.set_action(proto::BULK_SYNC);
  copy.set_object(record.object);
  copy.set_sender_record_id(record.id);
  copy.set_sender_version(record.version);
  NewQueueEntry entry;
  entry.record = ref;
  entry.action = QueueAction::kBulkSync;
  entry.payload = copy.SerializeAsString();
  copies->entries.push_back(std::move(entry));
  copies->modified.push_back(record.audit.last_modified_date);
  copies->planned.insert(std::move(ref));
  return absl::OkStatus();
}

absl::StatusOr<OutgoingChange> RecordSync::PrepareBulkSend(
    const QueueEntry& entry) {
  OutgoingChange out;
  proto::RecordChange queued;
  if (!queued.ParseFromString(entry.payload) ||
      queued.action() != proto::BULK_SYNC ||
      queued.object() != entry.record.object ||
      queued.sender_record_id() != entry.record.id) {
    return PayloadMismatch(entry);
  }
  out.queued_version = queued.sender_version();
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::RecordLink> link,
      links_.FindByLocal(entry.record.object, entry.record.id));
  if (link.has_value() && link->reserved()) {
    return Blocked(entry.record, kPartnerInsertUnfinished);
  }
  if (link.has_value()) {
    // R62: live sync (or a change queued before this copy) linked it.
    out.kind = OutgoingChange::Kind::kSkip;
    out.reason = fmt::format("{}/{} is linked to the partner already",
                             entry.record.object, entry.record.id);
    return out;
  }
  // A change captured between the scan and this copy's enqueue goes
  // first, and links the record if it copies it.
  ORGSYNC_ASSIGN_OR_RETURN(const bool earlier, HasEarlierChange(entry));
  if (earlier) return Blocked(entry.record, kEarlierChangeQueued);
  absl::StatusOr<Record> current =
      deps_.store->Get(entry.record.object, entry.record.id);
  if (absl::IsNotFound(current.status())) {
    out.kind = OutgoingChange::Kind::kSkip;
    out.reason = fmt::format("{}/{} no longer exists here",
                             entry.record.object, entry.record.id);
    return out;
  }
  ORGSYNC_RETURN_IF_ERROR(current.status());
  ORGSYNC_ASSIGN_OR_RETURN(out.change, FullStateInsert(*current, link));
  out.change.set_action(proto::BULK_SYNC);
  // A record deleted since the scan still goes, live. This copy may have
  // reached the partner already (its answer lost, or this process
  // restarted since): sent again it is a duplicate there, and the answer
  // gives this side the link that the delete queued after it needs to
  // carry its cascade. Skipped, the delete would go unlinked, as a whole
  // record, and the partner could not tell which children it took. If the
  // copy never arrived, that delete removes it again.
  out.change.set_deleted(false);
  out.change.set_sequence(entry.sequence);
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<RecordRef> waiting,
                           ResolveReferences(&out.change, entry));
  if (waiting.has_value()) return BlockedByParent(*waiting);
  // R64: a parent that should have gone first but is not linked -- its
  // own copy failed -- keeps its children from being copied.
  for (const auto& [field, target] : CopiedLookups(entry.record.object)) {
    auto value = current->fields.find(field);
    if (value == current->fields.end() ||
        out.change.lookup_receiver_ids().contains(field)) {
      continue;
    }
    const auto* reference = std::get_if<Reference>(&value->second);
    if (reference == nullptr || reference->id.empty()) continue;
    absl::StatusOr<Record> parent = deps_.store->Get(target, reference->id);
    if (absl::IsNotFound(parent.status())) continue;
    ORGSYNC_RETURN_IF_ERROR(parent.status());
    if (parent->deleted) continue;
    out.kind = OutgoingChange::Kind::kFail;
    out.error = SyncErrorCode::kMissingParent;
    out.reason = fmt::format(
        "not copied: its parent {}/{} (field {}) was not copied to the "
        "partner (see that record's log entries)",
        target, reference->id, field);
    out.change.Clear();
    return out;
  }
  return out;
}

}  // namespace orgsync::internal
