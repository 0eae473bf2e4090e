// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Forwarding (R66; orgsync/bulk_sync.h): records the host names go to the
// partner now, as captures of their current state -- an insert for a
// record the partner does not have, a whole update for one it has -- with
// the child-only records under them and the related records the caller
// selects. Queued with one CaptureBatch, so all go or none.

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "connection/connection_impl.h"
#include "orgsync/status.h"

namespace orgsync::internal {

absl::StatusOr<ForwardResult> ConnectionImpl::Forward(
    const ForwardOptions& options) {
  if (record_sync_ == nullptr) {
    return absl::FailedPreconditionError(fmt::format(
        "Forward on connection {}: the org has no RecordStore "
        "(OrgOptions.record_store), so it syncs no records",
        id_));
  }
  if (options.records.empty()) {
    return absl::InvalidArgumentError("Forward: no record to forward");
  }
  std::set<RecordRef> seen;
  for (const RecordRef& record : options.records) {
    if (record.object.empty() || record.id.empty()) {
      return absl::InvalidArgumentError(
          "Forward: every record needs an object and an id");
    }
    if (!seen.insert(record).second) {
      return absl::InvalidArgumentError(fmt::format(
          "Forward: {}/{} is named twice", record.object, record.id));
    }
  }
  for (const std::string& object : options.related_objects) {
    if (object.empty()) {
      return absl::InvalidArgumentError(
          "Forward: a related object name is empty");
    }
  }
  auto flows = [&](const std::string& object) {
    return publish_set_->IsObjectPublished(object) &&
           publish_set_->IsPartnerSubscribed(object);
  };
  RecordStore* const store = env_->record_store;
  // What forwarding `record` captures: its whole state, as an insert if
  // the partner does not have it yet and no change of it is on its way;
  // otherwise as an update of every published field, which follows that
  // change (an insert there would be applied again over newer writes).
  auto change_of = [&](Record record) -> absl::StatusOr<LocalChange> {
    ORGSYNC_ASSIGN_OR_RETURN(
        std::optional<proto::RecordLink> link,
        record_sync_->links().FindByLocal(record.object, record.id));
    ORGSYNC_ASSIGN_OR_RETURN(
        const bool pending,
        record_queue_->HasPending(RecordRef{record.object, record.id}));
    LocalChange change;
    if ((link.has_value() && !link->reserved()) || pending) {
      change.kind = ChangeKind::kUpdate;
      change.changed_fields = publish_set_->PublishedFields(record.object);
    } else {
      change.kind = ChangeKind::kInsert;
    }
    change.record = std::move(record);
    return change;
  };

  std::vector<LocalChange> changes;
  ForwardResult result;
  for (const RecordRef& named : options.records) {
    if (!flows(named.object)) {
      return absl::FailedPreconditionError(fmt::format(
          "Forward: {} is not published by this org and subscribed by the "
          "partner; {}/{} cannot go",
          named.object, named.object, named.id));
    }
    ORGSYNC_ASSIGN_OR_RETURN(Record record,
                             store->Get(named.object, named.id));
    if (record.deleted) {
      return absl::FailedPreconditionError(fmt::format(
          "Forward: {}/{} is deleted; only live records are forwarded",
          named.object, named.id));
    }
    ORGSYNC_ASSIGN_OR_RETURN(LocalChange change, change_of(std::move(record)));
    changes.push_back(std::move(change));
  }
  // The children that go along, level after level (a child-only record's
  // own child-only records too), each after its parent.
  std::deque<RecordRef> parents(options.records.begin(),
                                options.records.end());
  while (!parents.empty()) {
    const RecordRef parent = std::move(parents.front());
    parents.pop_front();
    ORGSYNC_ASSIGN_OR_RETURN(std::vector<RecordRef> children,
                             store->Children(parent.object, parent.id));
    for (RecordRef& child : children) {
      const std::shared_ptr<const ObjectDef> def =
          env_->schema->FindObject(child.object);
      const bool selected =
          std::find(options.related_objects.begin(),
                    options.related_objects.end(),
                    child.object) != options.related_objects.end();
      if (!(selected || (def != nullptr && def->child_only)) ||
          !flows(child.object) || seen.contains(child)) {
        continue;
      }
      ORGSYNC_ASSIGN_OR_RETURN(Record record,
                               store->Get(child.object, child.id));
      seen.insert(child);
      if (record.deleted) continue;
      ORGSYNC_ASSIGN_OR_RETURN(LocalChange change,
                               change_of(std::move(record)));
      changes.push_back(std::move(change));
      result.children.push_back(child);
      parents.push_back(std::move(child));
    }
  }
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<CaptureResult> captured,
                           CaptureRecords(changes, /*forwarded=*/true));
  captured.resize(options.records.size());
  result.records = std::move(captured);
  return result;
}

}  // namespace orgsync::internal
