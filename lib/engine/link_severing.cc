// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Severed links: the record path's requests to drop record links, filed
// durably by whichever thread learns of them and carried out by the step
// thread, the only one that changes links (engine/record_sync.h). Two
// kinds share one mechanism: a local undelete in a one-way secondary
// severs one record's link (R34), and unpublishing an object -- here or by
// the partner -- drops every link of the object (R20). Each is logged
// LINK_SEVERED when done.

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/apply_results.h"
#include "engine/record_sync.h"
#include "orgsync/status.h"

namespace orgsync::internal {

absl::StatusOr<bool> RecordSync::OnLocalUndelete(std::string_view object,
                                                 std::string_view id) {
  if (deps_.role != ReplicationRole::kSecondary ||
      deps_.publish_set->IsObjectPublished(object)) {
    return false;
  }
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> link,
                           links_.FindByLocal(object, id));
  if (!link.has_value()) return false;
  // Host thread: links change on the step thread only, so the severing is
  // requested here, durably, and done there (SeverRequestedLinks).
  WriteBatch batch;
  links_.PutSeverRequest({std::string(object), std::string(id)}, &batch);
  // Part of a capture: durable before it returns (direct_storage).
  ORGSYNC_RETURN_IF_ERROR(deps_.direct_storage->Write(batch, WriteOptions{.sync = true}));
  sever_requests_.store(true);
  return true;
}

void RecordSync::RequestObjectUnlink(std::string_view object,
                                     WriteBatch* batch) {
  // A sever request without an id stands for the whole object.
  links_.PutSeverRequest(RecordRef{std::string(object), ""}, batch);
  sever_requests_.store(true);
}

void RecordSync::StageUnlinkFence(std::string_view object, uint64_t fence,
                                  WriteBatch* batch) {
  // Never lowered: a change below an earlier fence stays behind it.
  links_.PutUnlinkFence(object, std::max(fence, UnlinkFenceOf(object)), batch);
  internal::MutexLock lock(&fences_mu_);
  staged_fences_.emplace_back(object, fence);
  has_unlink_fences_.store(true);
}

void RecordSync::FinishUnlinkFences(bool written) {
  std::vector<std::pair<std::string, uint64_t>> staged;
  {
    internal::MutexLock lock(&fences_mu_);
    staged.swap(staged_fences_);
  }
  if (!written) return;
  for (const auto& [object, fence] : staged) NoteUnlinkFence(object, fence);
}

uint64_t RecordSync::UnlinkFenceOf(std::string_view object) const {
  internal::MutexLock lock(&fences_mu_);
  auto it = unlink_fences_.find(object);
  return it == unlink_fences_.end() ? 0 : it->second.sequence;
}

void RecordSync::NoteUnlinkFence(std::string_view object, uint64_t fence) {
  internal::MutexLock lock(&fences_mu_);
  UnlinkFence& kept = unlink_fences_[std::string(object)];
  if (fence > kept.sequence) kept = UnlinkFence{.sequence = fence};
  has_unlink_fences_.store(true);
}

absl::StatusOr<bool> RecordSync::AwaitsUnpublishNotice(
    std::string_view local_object) {
  if (!has_unlink_fences_.load()) return false;
  uint64_t fence = 0;
  {
    internal::MutexLock lock(&fences_mu_);
    for (const auto& [object, staged] : staged_fences_) {
      if (object == local_object) return true;
    }
    auto it = unlink_fences_.find(local_object);
    if (it == unlink_fences_.end() || it->second.delivered) return false;
    fence = it->second.sequence;
  }
  // The fence is the notice's sequence: queued until the partner has it
  // (or it failed for good).
  absl::StatusOr<QueueEntry> notice = deps_.queue->Get(fence);
  if (absl::IsNotFound(notice.status())) {
    internal::MutexLock lock(&fences_mu_);
    auto it = unlink_fences_.find(local_object);
    if (it != unlink_fences_.end() && it->second.sequence == fence) {
      it->second.delivered = true;
    }
    return false;
  }
  ORGSYNC_RETURN_IF_ERROR(notice.status());
  return true;
}

bool RecordSync::QueuedBeforeUnlink(const QueueEntry& entry) const {
  if (!has_unlink_fences_.load()) return false;
  return entry.sequence <= UnlinkFenceOf(entry.record.object);
}

absl::Status RecordSync::StageObjectUnlink(const std::string& object,
                                           WriteBatch* batch,
                                           std::vector<NewLogEntry>* notes) {
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<proto::RecordLink> links,
                           links_.List(object));
  if (links.empty()) return absl::OkStatus();
  for (const proto::RecordLink& link : links) {
    ORGSYNC_RETURN_IF_ERROR(links_.Remove(object, link, batch));
  }
  notes->push_back(NewLogEntry{
      .record = RecordRef{object, ""},
      .action = QueueAction::kTypeMapDelete,
      .status = LogStatus::kInfo,
      .error = SyncErrorCode::kLinkSevered,
      .description = fmt::format(
          "{} was unpublished: the links of its {} synced record{} are "
          "dropped, and their changes no longer travel; published again, "
          "they go once copied anew (bulk sync, forward) (R20)",
          object, links.size(), links.size() == 1 ? "" : "s"),
      .details = {{"links", std::to_string(links.size())}}});
  return absl::OkStatus();
}

absl::Status RecordSync::StageRecordSever(const RecordRef& record,
                                          WriteBatch* batch,
                                          std::vector<NewLogEntry>* notes) {
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> link,
                           links_.FindByLocal(record.object, record.id));
  if (!link.has_value()) return absl::OkStatus();
  ORGSYNC_RETURN_IF_ERROR(links_.Remove(record.object, *link, batch));
  links_.PutSevered(record.object, *link, batch);
  notes->push_back(NewLogEntry{
      .record = record,
      .action = QueueAction::kReplicationUndelete,
      .status = LogStatus::kInfo,
      .error = SyncErrorCode::kLinkSevered,
      .description = fmt::format(
          "{}/{} was undeleted in the secondary of a one-way sync: its "
          "link to primary record {} is severed; forward it to "
          "reconnect (R34)",
          record.object, record.id, link->partner_id()),
      .details = {{"partner_id", link->partner_id()}}});
  return absl::OkStatus();
}

absl::StatusOr<std::optional<proto::ItemResult>> RecordSync::ReconnectSevered(
    const proto::RecordChange& change, const std::string& local_object,
    std::optional<proto::RecordLink>* link) {
  const bool whole = change.action() == proto::GENERIC_INSERT ||
                     change.action() == proto::BULK_SYNC;
  // A new copy (the partner has no link either: a first insert, a bulk
  // copy after R20 dropped the links) is one, whatever was severed: no
  // read on the inserts' path.
  if (whole && !change.forwarded() && change.receiver_record_id().empty()) {
    return std::nullopt;
  }
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::RecordLink> severed,
      links_.FindSevered(local_object, change.sender_record_id()));
  if (!severed.has_value()) return std::nullopt;
  const std::string& local_id = severed->local_id();
  auto refuse = [&](std::string why) {
    return ApplyFailure(
        change, proto::PERMANENT_FAILURE, SyncErrorCode::kLinkSevered,
        fmt::format("{} of {}/{}: {} (R34)",
                    proto::QueueAction_Name(change.action()), change.object(),
                    change.sender_record_id(), why));
  };
  if (!change.forwarded()) {
    return refuse(fmt::format(
        "its link to {} record {} was severed when that record was "
        "undeleted in this org, the secondary of a one-way sync; only a "
        "forward of the record reconnects it",
        local_object, local_id));
  }
  // A forward. Only the record that was linked to this partner record is
  // linked to it again, and only if nothing else took its place.
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> taken,
                           links_.FindByLocal(local_object, local_id));
  if (taken.has_value()) {
    return refuse(fmt::format(
        "{} record {}, whose link to it was severed, is linked to partner "
        "record {} now",
        local_object, local_id, taken->partner_id()));
  }
  absl::StatusOr<Record> here = deps_.store->Get(local_object, local_id);
  if (absl::IsNotFound(here.status())) {
    return refuse(fmt::format("{} record {}, whose link to it was severed, "
                              "is gone from this org",
                              local_object, local_id));
  }
  ORGSYNC_RETURN_IF_ERROR(here.status());
  WriteBatch batch;
  links_.Create(local_object, *severed, &batch);
  links_.DeleteSevered(local_object, change.sender_record_id(), &batch);
  const std::vector<NewLogEntry> notes = {NewLogEntry{
      .record = {local_object, local_id},
      .action = static_cast<QueueAction>(static_cast<int>(change.action())),
      .status = LogStatus::kInfo,
      .error = SyncErrorCode::kLinkSevered,
      .description = fmt::format(
          "partner record {} was forwarded: {}/{}, whose link to it was "
          "severed, is linked to it again and takes its values (R34)",
          change.sender_record_id(), local_object, local_id),
      .details = {{"partner_id", change.sender_record_id()},
                  {"reconnected", "true"}}}};
  // Durable before the change is applied to the record: a redelivery
  // after a crash finds the link.
  ORGSYNC_RETURN_IF_ERROR(Commit(batch, notes, apply_logs_));
  *link = *std::move(severed);
  return std::nullopt;
}

absl::Status RecordSync::SeverRequestedLinks(PendingLogs* logs) {
  if (!sever_requests_.exchange(false)) return absl::OkStatus();
  // A bounded number per call; the flag stays up while more remain.
  constexpr size_t kPerCall = 256;
  absl::StatusOr<std::vector<RecordRef>> requests =
      links_.ListSeverRequests(kPerCall);
  if (!requests.ok()) {
    sever_requests_.store(true);
    return requests.status();
  }
  if (requests->size() == kPerCall) sever_requests_.store(true);
  for (const RecordRef& record : *requests) {
    WriteBatch batch;
    std::vector<NewLogEntry> notes;
    // A request without an id is for every link of an unpublished object
    // (R20); one with an id for one undeleted record (R34).
    absl::Status staged =
        record.id.empty() ? StageObjectUnlink(record.object, &batch, &notes)
                          : StageRecordSever(record, &batch, &notes);
    if (staged.ok()) {
      links_.DeleteSeverRequest(record, &batch);
      staged = Commit(batch, notes, logs);
    }
    if (!staged.ok()) {
      sever_requests_.store(true);  // the request stays; the next call retries
      return staged;
    }
  }
  return absl::OkStatus();
}

}  // namespace orgsync::internal
