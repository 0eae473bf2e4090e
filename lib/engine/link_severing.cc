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

#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
