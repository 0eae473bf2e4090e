// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "admin/admin_collect.h"

#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "admin/admin_time.h"
#include "orgsync/bulk_sync.h"
#include "orgsync/publish_set.h"
#include "orgsync/queue_action.h"
#include "orgsync/record_queue.h"
#include "orgsync/status.h"
#include "orgsync/subscription_map.h"

namespace orgsync::admin {
namespace {

void FillSubscribedObject(const SubscriptionMap& map, const std::string& object,
                          proto::SubscribedObject& out) {
  out.set_object(object);
  out.set_subscribed(map.IsSubscribed(object));
  if (std::optional<std::string> local = map.LocalObject(object)) {
    out.set_local_object(*local);
  }
  for (const FieldMapping& mapping : map.FieldMappings(object)) {
    proto::FieldMapping& field = *out.add_fields();
    field.set_partner_field(mapping.partner_field);
    field.set_status(FieldStatusName(mapping.status));
    field.set_local_field(mapping.local_field);
    field.set_reason(mapping.reason);
  }
}

void FillQueueEntry(const QueueEntry& entry, proto::QueueEntry& out) {
  out.set_sequence(entry.sequence);
  out.set_action(QueueActionName(entry.action));
  out.set_object(entry.record.object);
  out.set_record_id(entry.record.id);
  out.set_attempts(entry.attempts);
  out.set_enqueued(FormatAdminTime(entry.enqueued));
  out.set_next_retry(FormatAdminTime(entry.next_retry));
  if (entry.last_attempt) {
    out.set_last_attempt(FormatAdminTime(*entry.last_attempt));
  }
  if (entry.last_error.code != SyncErrorCode::kNone ||
      !entry.last_error.message.empty()) {
    out.set_last_error_code(SyncErrorCodeName(entry.last_error.code));
    out.set_last_error(entry.last_error.message);
  }
}

void FillLogEntry(const LogEntry& entry, proto::LogEntry& out) {
  out.set_event(entry.event);
  out.set_time(FormatAdminTime(entry.time));
  out.set_status(LogStatusName(entry.status));
  out.set_action(QueueActionName(entry.action));
  out.set_object(entry.record.object);
  out.set_record_id(entry.record.id);
  out.set_error_code(SyncErrorCodeName(entry.error));
  out.set_description(entry.description);
  out.set_attempts(entry.attempts);
  out.set_queue_sequence(entry.queue_sequence);
  for (const LogDetail& detail : entry.details) {
    proto::LogDetail& kept = *out.add_details();
    kept.set_key(detail.key);
    kept.set_value(detail.value);
  }
}

void FillHistoryEntry(const HistoryEntry& entry, proto::HistoryEntry& out) {
  out.set_sequence(entry.sequence);
  out.set_time(FormatAdminTime(entry.time));
  out.set_event(HistoryEventName(entry.event));
  out.set_status_after(ConnectionStatusName(entry.status_after));
  out.set_actor(entry.actor);
  out.set_detail(entry.detail);
  out.set_occurrences(entry.occurrences);
}

}  // namespace

absl::StatusOr<proto::ConnectionStatus> CollectStatus(
    const Connection& connection, absl::Time now) {
  const ConnectionInfo info = connection.Info();
  proto::ConnectionStatus out;
  out.set_connection_id(info.connection_id);
  out.set_role(ReplicationRoleName(info.role));
  out.set_type(ConnectionTypeName(info.type));
  out.set_status(ConnectionStatusName(info.status));
  out.set_sync_feeds_and_audit_fields(info.sync.sync_feeds_and_audit_fields);
  out.set_sync_metadata(info.sync.sync_metadata);
  out.set_sync_users(info.sync.sync_users);
  out.set_owner(info.owner);
  out.set_contact(info.contact);
  out.set_partner_org_id(info.partner_org_id);
  out.set_partner_org_name(info.partner_org_name);
  out.set_partner_available(connection.partner_available());
  const RecordQueue& queue = *connection.record_queue();
  out.set_queue_count(queue.Count());
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<QueueEntry> oldest, queue.Oldest());
  if (oldest) {
    out.set_oldest_entry_enqueued(FormatAdminTime(oldest->enqueued));
    out.set_oldest_entry_age_seconds(
        std::max<int64_t>(0, absl::ToInt64Seconds(now - oldest->enqueued)));
  }
  out.set_created(FormatAdminTime(info.created));
  out.set_accepted(FormatAdminTime(info.accepted));
  out.set_admin_suspended(info.admin_suspended);
  out.set_partner_unavailable(info.partner_unavailable);
  out.set_suspended_since(FormatAdminTime(info.suspended_since));
  out.set_suspended_by(info.suspended_by);
  for (const auto& [status, count] : connection.sync_log()->CountByStatus()) {
    (*out.mutable_log_counts())[LogStatusName(status)] = count;
  }
  return out;
}

proto::PublishedOutput CollectPublished(const Connection& connection) {
  const PublishSet& publish_set = *connection.publish_set();
  proto::PublishedOutput out;
  out.set_connection_id(connection.id());
  for (const std::string& object : publish_set.PublishedObjects()) {
    proto::PublishedObject& row = *out.add_objects();
    row.set_object(object);
    row.set_partner_subscribed(publish_set.IsPartnerSubscribed(object));
    for (std::string& field : publish_set.PublishedFields(object)) {
      row.add_fields(std::move(field));
    }
  }
  return out;
}

absl::StatusOr<proto::SubscribedOutput> CollectSubscribed(
    const Connection& connection, std::optional<std::string_view> object) {
  const SubscriptionMap& map = *connection.subscription_map();
  proto::SubscribedOutput out;
  out.set_connection_id(connection.id());
  if (object) {
    if (!map.IsPartnerPublished(*object)) {
      return absl::NotFoundError(absl::StrCat(
          "the partner publishes no object '", std::string(*object),
          "' on connection ", connection.id()));
    }
    FillSubscribedObject(map, std::string(*object), *out.add_objects());
    return out;
  }
  for (const std::string& name : map.PartnerPublishedObjects()) {
    FillSubscribedObject(map, name, *out.add_objects());
  }
  return out;
}

absl::StatusOr<proto::QueueOutput> CollectQueue(const Connection& connection,
                                                size_t limit) {
  const RecordQueue& queue = *connection.record_queue();
  proto::QueueOutput out;
  out.set_connection_id(connection.id());
  // Counted before the page is read: entries queued in between show in
  // neither, entries sent in between only lower what the page holds.
  out.set_total_count(queue.Count());
  ORGSYNC_ASSIGN_OR_RETURN(QueuePage page, queue.ListAfter(0, limit));
  for (const QueueEntry& entry : page.entries) {
    FillQueueEntry(entry, *out.add_entries());
  }
  out.set_truncated(!page.next_page_token.empty() &&
                    out.total_count() >
                        static_cast<uint64_t>(out.entries_size()));
  return out;
}

absl::StatusOr<proto::LogOutput> CollectLog(const Connection& connection,
                                            const LogQuery& query,
                                            size_t limit) {
  const SyncLog& log = *connection.sync_log();
  proto::LogOutput out;
  out.set_connection_id(connection.id());
  ORGSYNC_ASSIGN_OR_RETURN(LogPage page, log.Query(query, "", limit));
  ORGSYNC_ASSIGN_OR_RETURN(uint64_t matching, log.Count(query));
  // An entry appended between the two reads may be counted and not shown.
  out.set_matching_count(
      std::max<uint64_t>(matching, static_cast<uint64_t>(page.entries.size())));
  for (const LogEntry& entry : page.entries) {
    FillLogEntry(entry, *out.add_entries());
  }
  out.set_truncated(!page.next_page_token.empty());
  return out;
}

absl::StatusOr<proto::HistoryOutput> CollectHistory(
    const Connection& connection, absl::Time since, absl::Time until,
    std::optional<size_t> limit) {
  proto::HistoryOutput out;
  out.set_connection_id(connection.id());
  HistoryQuery query;
  query.since = since;
  query.until = until;
  query.limit = kMaxHistoryPageSize;
  // Oldest first is the only order History() reads in: the latest `limit`
  // are the last ones kept of a walk over every page.
  std::deque<HistoryEntry> kept;
  bool dropped = false;
  while (true) {
    ORGSYNC_ASSIGN_OR_RETURN(std::vector<HistoryEntry> page,
                             connection.History(query));
    for (HistoryEntry& entry : page) {
      kept.push_back(std::move(entry));
      if (limit && kept.size() > *limit) {
        kept.pop_front();
        dropped = true;
      }
    }
    if (page.size() < query.limit) break;
    query.after_sequence = kept.back().sequence;
  }
  for (const HistoryEntry& entry : kept) {
    FillHistoryEntry(entry, *out.add_entries());
  }
  out.set_truncated(dropped);
  return out;
}

proto::BulkSyncOutput CollectBulkSync(
    const std::string& connection_id,
    const std::optional<BulkSyncProgress>& progress) {
  proto::BulkSyncOutput out;
  out.set_connection_id(connection_id);
  if (!progress.has_value()) {
    out.set_state("None");
    return out;
  }
  out.set_run(progress->run);
  out.set_state(progress->state == BulkSyncState::kRunning ? "Running"
                                                           : "Completed");
  out.set_actor(progress->actor);
  out.set_started(FormatAdminTime(progress->started));
  if (progress->finished != absl::InfinitePast()) {
    out.set_finished(FormatAdminTime(progress->finished));
  }
  out.set_cutoff(FormatAdminTime(progress->cutoff));
  out.set_max_records(progress->max_records);
  for (const BulkSyncObjectProgress& object : progress->objects) {
    proto::BulkSyncObject& row = *out.add_objects();
    row.set_object(object.object);
    row.set_queued(object.queued);
    row.set_copied(object.copied);
    row.set_failed(object.failed);
    row.set_skipped(object.skipped);
    row.set_remaining(object.remaining);
    row.set_scanned(object.scanned);
  }
  out.set_queued(progress->queued());
  out.set_copied(progress->copied());
  out.set_failed(progress->failed());
  out.set_skipped(progress->skipped());
  out.set_remaining(progress->remaining());
  return out;
}

proto::VerifyOutput CollectVerify(const std::string& connection_id,
                                  const std::optional<VerifyReport>& report) {
  proto::VerifyOutput out;
  out.set_connection_id(connection_id);
  if (!report.has_value()) {
    out.set_state("None");
    return out;
  }
  out.set_run(report->run);
  out.set_state(report->state == VerifyState::kRunning     ? "Running"
                : report->state == VerifyState::kCompleted ? "Completed"
                                                           : "Failed");
  out.set_actor(report->actor);
  out.set_started(FormatAdminTime(report->started));
  if (report->finished != absl::InfinitePast()) {
    out.set_finished(FormatAdminTime(report->finished));
  }
  out.set_error(report->error);
  out.set_repair(report->repair);
  out.set_repaired(report->repaired);
  out.set_bytes_sent(report->bytes_sent);
  out.set_bytes_received(report->bytes_received);
  out.set_identical(report->identical());
  auto ids = [](const std::vector<VerifiedRecord>& records,
                google::protobuf::RepeatedPtrField<proto::VerifyRecordIds>*
                    out_records) {
    for (const VerifiedRecord& record : records) {
      proto::VerifyRecordIds& row = *out_records->Add();
      row.set_local_id(record.local_id);
      row.set_partner_id(record.partner_id);
    }
  };
  for (const VerifyObjectReport& object : report->objects) {
    proto::VerifyObjectOutput& row = *out.add_objects();
    row.set_object(object.object);
    row.set_partner_object(object.partner_object);
    for (const std::string& field : object.fields) row.add_fields(field);
    row.set_compared(object.compared);
    row.set_matched(object.matched);
    row.set_differing(object.differing);
    row.set_only_here(object.only_here);
    row.set_only_there(object.only_there);
    row.set_unlinked_here(object.unlinked_here);
    row.set_unlinked_there(object.unlinked_there);
    row.set_pending(object.pending);
    ids(object.differing_records, row.mutable_differing_records());
    ids(object.only_here_records, row.mutable_only_here_records());
    ids(object.only_there_records, row.mutable_only_there_records());
    for (const std::string& id : object.unlinked_here_ids) {
      row.add_unlinked_here_ids(id);
    }
    for (const std::string& id : object.unlinked_there_ids) {
      row.add_unlinked_there_ids(id);
    }
    row.set_identical(object.identical());
  }
  return out;
}

}  // namespace orgsync::admin
