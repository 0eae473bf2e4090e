// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Deletes and undeletes applied from the partner, with their cascades
// (R33, R34), the delete that follows an insert of a record sent whole
// while deleted, and PrepareEnvelope: the prepass over a received envelope
// that reserves its inserts' ids and marks its cascading deletes begun.
// Part of RecordSync's receiving half (engine/record_sync.h); inserts and
// updates are in record_apply.cc.

#include <algorithm>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "engine/apply_results.h"
#include "engine/record_sync.h"
#include "fmt/format.h"
#include "orgsync/status.h"

namespace orgsync::internal {

// The second half of a record sent whole while deleted: delete the copy
// the insert made (or merged into), ordered like any delete by its stamp,
// without taking children along (they travel on their own).
absl::StatusOr<proto::ItemResult> RecordSync::DeleteAfterInsert(
    const proto::RecordChange& change, const std::string& local_object) {
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::RecordLink> link,
      links_.FindByPartner(local_object, change.sender_record_id()));
  if (!link.has_value() || link->reserved()) {
    return ApplyFailure(change, proto::RETRYABLE_FAILURE, SyncErrorCode::kStorage,
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
  ORGSYNC_ASSIGN_OR_RETURN(proto::StepStamps stamps,
                           links_.StepStampsOf(local_object, link));
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::FieldStamp> stored,
      links_.NewestStamp(stamps, local_object, link.local_id(),
                         kDeletedStampField));
  const bool newer = !stored.has_value() || StampLess(*stored, incoming);
  WriteBatch batch;
  std::vector<RecordRef> took;  // what the local store's cascade touched
  if (newer) {
    // Conditional, like an update: a host write this org has not captured
    // yet (an undelete racing this delete, say) is not undone unseen.
    absl::StatusOr<Record> current =
        deps_.store->Get(local_object, link.local_id());
    if (!current.ok() && !absl::IsNotFound(current.status())) {
      return current.status();
    }
    const ApplyContext context{
        .from_replication = true,
        .connection_id = deps_.connection_id,
        .expected_version = current.ok() ? std::optional<uint64_t>(
                                               current->version)
                                         : std::nullopt};
    absl::StatusOr<CascadeResult> done =
        deleting ? deps_.store->Delete(local_object, link.local_id(), context)
                 : deps_.store->Undelete(local_object, link.local_id(),
                                         context);
    if (absl::IsAborted(done.status())) {
      return RecordChangedFailure(change, local_object, link.local_id(),
                                  done.status());
    }
    if (absl::IsNotFound(done.status())) {
      return ApplyFailure(change, proto::RETRYABLE_FAILURE,
                     SyncErrorCode::kRecordNotFound,
                     fmt::format("{} record {} (partner {}) is gone from "
                                 "this org",
                                 local_object, link.local_id(),
                                 change.sender_record_id()));
    }
    if (deleting && absl::IsFailedPrecondition(done.status())) {
      ORGSYNC_ASSIGN_OR_RETURN(
          done, RedoCrashedDelete(local_object, link.local_id(), incoming,
                                  stamps, std::move(done)));
      if (absl::IsAborted(done.status())) {
        return RecordChangedFailure(change, local_object, link.local_id(),
                                    done.status());
      }
    }
    // FailedPrecondition: already deleted (or live), e.g. by a cascade from
    // the same delete of the parent in the other org (R33): already applied.
    if (!done.ok() && !absl::IsFailedPrecondition(done.status())) {
      return done.status();
    }
    (*stamps.mutable_fields())[std::string(kDeletedStampField)] = incoming;
    if (done.ok() && done->affected.size() > 1) {
      took.assign(done->affected.begin() + 1, done->affected.end());
    }
  }
  // Even when a newer change of the record itself wins, the children the
  // sender took along follow the sender if nothing newer touched them.
  std::vector<NewLogEntry> refused;  // cascaded records not shared
  if (change.cascade() && change.cascade_listed()) {
    ORGSYNC_RETURN_IF_ERROR(
        MatchCascade(change, incoming, deleting, took, &batch, &refused));
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
  if (deleting) stamps.clear_deleting();
  links_.SetStepStamps(local_object, std::move(stamps), &link, &batch);
  links_.Put(local_object, link, &batch, proto::LINK_HOME_PARTNER);
  ORGSYNC_RETURN_IF_ERROR(Commit(batch, refused, apply_logs_));
  return ApplySuccess(change, proto::APPLIED, link.local_id(), version);
}

// The record was deleted already when this delete reached the store
// (`refused`, FailedPrecondition). If PrepareEnvelope marked this very
// delete begun at the record's previous version, an earlier delivery of
// it deleted the record in the host's store (every change bumps the
// version by one) and a crash lost the rest -- above all what its cascade
// took, which MatchCascade needs to put back the children the sender did
// not take. The store's Undelete restores exactly what its last Delete
// took, so undeleting and deleting again learns it (the host sees both
// writes, from replication). Otherwise the record was deleted some other
// way (a local delete, say) and `refused` stands. Aborted if a host write
// lands in between (the record may be live then; the change is retried).
absl::StatusOr<absl::StatusOr<CascadeResult>> RecordSync::RedoCrashedDelete(
    const std::string& local_object, const std::string& local_id,
    const proto::FieldStamp& incoming, const proto::StepStamps& stamps,
    absl::StatusOr<CascadeResult> refused) {
  if (!stamps.has_deleting() ||
      stamps.deleting().stamp().SerializeAsString() !=
          incoming.SerializeAsString()) {
    return refused;
  }
  const proto::DeleteMark* const mark = &stamps.deleting();
  ORGSYNC_ASSIGN_OR_RETURN(Record deleted,
                           deps_.store->Get(local_object, local_id));
  if (!deleted.deleted || deleted.version != mark->local_version() + 1) {
    return refused;
  }
  ApplyContext context{.from_replication = true,
                       .connection_id = deps_.connection_id,
                       .expected_version = deleted.version};
  absl::StatusOr<CascadeResult> restored =
      deps_.store->Undelete(local_object, local_id, context);
  if (!restored.ok()) return restored;
  ORGSYNC_ASSIGN_OR_RETURN(Record live,
                           deps_.store->Get(local_object, local_id));
  context.expected_version = live.version;
  return deps_.store->Delete(local_object, local_id, context);
}

// The sender listed what its delete/undelete took along; the local store
// cascaded along its own children, which may differ for a moment in
// two-way sync (a child inserted here while the partner deleted the
// parent, a child moved to another parent in one org only). Both orgs must
// end the same: children the sender took are given the same state here,
// and synced children the local cascade took that the sender did not are
// put back. Children of objects this side does not publish to the partner
// follow the local cascade: the partner never has them. A listed record
// the connection does not share is refused (KnownToPartnerAs, added to
// `refused`) and not touched.
absl::Status RecordSync::MatchCascade(const proto::RecordChange& change,
                                      const proto::FieldStamp& incoming,
                                      bool deleting,
                                      const std::vector<RecordRef>& took,
                                      WriteBatch* batch,
                                      std::vector<NewLogEntry>* refused) {
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
        KnownToPartnerAs(change, object, cascaded.receiver_record_id(),
                         cascaded.sender_record_id(),
                         deleting ? "a child its delete took along"
                                  : "a child its undelete took along",
                         refused));
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
    // A child the connection shares keeps its stamps in its link; a local
    // child the local cascade took, under their own key.
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> child_link,
                             links_.FindByLocal(child.object, child.id));
    ORGSYNC_ASSIGN_OR_RETURN(
        proto::StepStamps stamps,
        child_link.has_value()
            ? links_.StepStampsOf(child.object, *child_link)
            : links_.GetStepStamps(child.object, child.id));
    ORGSYNC_ASSIGN_OR_RETURN(
        std::optional<proto::FieldStamp> stored,
        links_.NewestStamp(stamps, child.object, child.id,
                           kDeletedStampField));
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
    (*stamps.mutable_fields())[std::string(kDeletedStampField)] = incoming;
    if (child_link.has_value()) {
      links_.SetStepStamps(child.object, std::move(stamps), &*child_link,
                           batch);
      links_.Put(child.object, *child_link, batch);
    } else {
      links_.PutStepStamps(child.object, child.id, stamps, batch);
    }
  }
  // What the local cascade took that the sender did not: put it back.
  for (const RecordRef& child : took) {
    if (wanted.contains(child)) continue;
    if (!deps_.publish_set->IsObjectPublished(child.object)) continue;
    ORGSYNC_RETURN_IF_ERROR(set_deleted(child, !deleting));
  }
  return absl::OkStatus();
}

// --- PrepareEnvelope -------------------------------------------------------

std::string RecordSync::ReservationKey(std::string_view local_object,
                                       std::string_view partner_id) {
  std::string key(local_object);
  key.push_back('\0');  // names hold no NUL (RecordStore contract)
  key.append(partner_id);
  return key;
}

absl::Status RecordSync::PrepareEnvelope(const proto::ChangeBatch& changes) {
  envelope_reservations_.clear();
  WriteBatch batch;
  const bool primary_here = deps_.role == ReplicationRole::kPrimary;
  for (const proto::RecordChange& change : changes.changes()) {
    if (change.action() != proto::REPLICATION_DELETE || !change.cascade() ||
        !change.cascade_listed() ||
        !deps_.subscription_map->IsSubscribed(change.object())) {
      continue;
    }
    const std::string local_object = LocalObjectOf(change.object());
    ORGSYNC_ASSIGN_OR_RETURN(
        std::optional<proto::RecordLink> link,
        links_.FindByPartner(local_object, change.sender_record_id()));
    if (!link.has_value() || link->reserved() ||
        change.sequence() <= link->last_applied_sequence()) {
      continue;
    }
    const proto::FieldStamp incoming =
        StampOf(change.last_modified_micros(), !primary_here,
                change.sender_version(), change.sequence());
    // A mark from an earlier delivery of this delete stays: it holds the
    // version the record had before that delivery's delete.
    ORGSYNC_ASSIGN_OR_RETURN(proto::StepStamps stamps,
                             links_.StepStampsOf(local_object, *link));
    if (stamps.has_deleting() &&
        stamps.deleting().stamp().SerializeAsString() ==
            incoming.SerializeAsString()) {
      continue;
    }
    // Only a live record can be deleted by this delete.
    absl::StatusOr<Record> current =
        deps_.store->Get(local_object, link->local_id());
    if (absl::IsNotFound(current.status())) continue;
    ORGSYNC_RETURN_IF_ERROR(current.status());
    if (current->deleted) continue;
    proto::DeleteMark* mark = stamps.mutable_deleting();
    *mark->mutable_stamp() = incoming;
    mark->set_local_version(current->version);
    links_.SetStepStamps(local_object, std::move(stamps), &*link, &batch);
    links_.Put(local_object, *link, &batch, proto::LINK_HOME_PARTNER);
  }
  // An envelope carries one change per record, but a malformed one must
  // not reserve two ids for one partner record.
  std::set<std::pair<std::string, std::string>> reserved;
  std::vector<std::pair<std::string, proto::RecordLink>> fresh_links;
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
    // Refused by apply, to be sent again (R20).
    ORGSYNC_ASSIGN_OR_RETURN(const bool unpublishing,
                             AwaitsUnpublishNotice(local_object));
    if (unpublishing) continue;
    ORGSYNC_ASSIGN_OR_RETURN(
        std::optional<proto::RecordLink> link,
        links_.FindByPartner(local_object, change.sender_record_id()));
    if (link.has_value()) continue;
    // R34: a record sent whole to a link this org severed is not a new
    // copy; apply decides what it is (ReconnectSevered). Only a forward or
    // a record the sender holds linked can be one.
    if (change.forwarded() || !change.receiver_record_id().empty()) {
      ORGSYNC_ASSIGN_OR_RETURN(
          std::optional<proto::RecordLink> severed,
          links_.FindSevered(local_object, change.sender_record_id()));
      if (severed.has_value()) continue;
    }
    ORGSYNC_ASSIGN_OR_RETURN(std::string id,
                             deps_.store->ReserveId(local_object));
    proto::RecordLink fresh =
        RecordLinks::NewLink(std::move(id), change.sender_record_id());
    fresh.set_reserved(true);
    links_.Create(local_object, fresh, &batch);
    fresh_links.emplace_back(ReservationKey(local_object, fresh.partner_id()),
                             std::move(fresh));
  }
  if (batch.Count() == 0) return absl::OkStatus();
  // The host's store keeps the ids reserved before the links name them.
  if (!fresh_links.empty()) {
    ORGSYNC_RETURN_IF_ERROR(deps_.store->SyncReservedIds());
  }
  ORGSYNC_RETURN_IF_ERROR(deps_.direct_storage->Write(batch, kApplyWrite));
  for (auto& [key, link] : fresh_links) {
    envelope_reservations_.emplace(std::move(key), std::move(link));
  }
  return absl::OkStatus();
}

}  // namespace orgsync::internal
