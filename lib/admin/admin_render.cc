// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "admin/admin_render.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "admin/admin_time.h"
#include "admin/text_table.h"
#include "google/protobuf/util/json_util.h"

namespace orgsync::admin {
namespace {

// An empty cell prints as "-", so that a column's gaps read as "none"
// rather than as misaligned text.
std::string Cell(const std::string& text) { return text.empty() ? "-" : text; }

std::string YesNo(bool value) { return value ? "yes" : "no"; }

std::string Options(const proto::ConnectionStatus& connection) {
  std::vector<std::string> options;
  if (connection.sync_feeds_and_audit_fields()) options.push_back("audit");
  if (connection.sync_metadata()) options.push_back("metadata");
  if (connection.sync_users()) options.push_back("users");
  return options.empty() ? "none" : absl::StrJoin(options, ",");
}

std::string Partner(const proto::ConnectionStatus& connection) {
  if (connection.partner_org_id().empty()) return "";
  if (connection.partner_org_name().empty() ||
      connection.partner_org_name() == connection.partner_org_id()) {
    return connection.partner_org_id();
  }
  return absl::StrCat(connection.partner_org_name(), " (",
                      connection.partner_org_id(), ")");
}

std::string SuspensionNote(const proto::ConnectionStatus& connection) {
  std::vector<std::string> reasons;
  if (connection.admin_suspended()) {
    reasons.push_back(absl::StrCat("by ", Cell(connection.suspended_by())));
  }
  if (connection.partner_unavailable()) {
    reasons.push_back("partner unavailable");
  }
  return absl::StrCat(connection.connection_id(), ": suspended since ",
                      Cell(connection.suspended_since()), " (",
                      absl::StrJoin(reasons, "; "), ")\n");
}

}  // namespace

std::string RenderStatus(const proto::StatusOutput& output) {
  if (output.connections().empty()) return "The org has no connections.\n";
  TextTable table({"CONNECTION", "ROLE", "TYPE", "STATUS", "OPTIONS", "OWNER",
                   "CONTACT", "PARTNER", "QUEUED", "OLDEST"});
  std::string notes;
  for (const proto::ConnectionStatus& connection : output.connections()) {
    table.AddRow(
        {connection.connection_id(), connection.role(), connection.type(),
         connection.status(), Options(connection), Cell(connection.owner()),
         Cell(connection.contact()), Cell(Partner(connection)),
         absl::StrCat(connection.queue_count()),
         connection.oldest_entry_enqueued().empty()
             ? "-"
             : FormatAge(
                   absl::Seconds(connection.oldest_entry_age_seconds()))});
    if (connection.admin_suspended() || connection.partner_unavailable()) {
      notes += SuspensionNote(connection);
    }
  }
  return notes.empty() ? table.Render()
                       : absl::StrCat(table.Render(), "\n", notes);
}

std::string RenderPublished(const proto::PublishedOutput& output) {
  if (output.objects().empty()) {
    return absl::StrCat("Connection ", output.connection_id(),
                        " publishes no objects.\n");
  }
  TextTable table(
      {"OBJECT", "PARTNER SUBSCRIBED", "FIELDS", "PUBLISHED FIELDS"},
      /*max_cell_width=*/80);
  for (const proto::PublishedObject& object : output.objects()) {
    table.AddRow({object.object(), YesNo(object.partner_subscribed()),
                  absl::StrCat(object.fields_size()),
                  Cell(absl::StrJoin(object.fields(), ", "))});
  }
  return table.Render();
}

std::string RenderSubscribed(const proto::SubscribedOutput& output,
                             bool field_mappings) {
  if (output.objects().empty()) {
    return absl::StrCat("The partner publishes no objects on connection ",
                        output.connection_id(), ".\n");
  }
  if (field_mappings && output.objects_size() == 1) {
    const proto::SubscribedObject& object = output.objects(0);
    TextTable table({"PARTNER FIELD", "STATUS", "LOCAL FIELD", "REASON"});
    for (const proto::FieldMapping& field : object.fields()) {
      table.AddRow({field.partner_field(), field.status(),
                    Cell(field.local_field()), Cell(field.reason())});
    }
    return absl::StrCat(
        object.object(), ": ",
        object.subscribed()
            ? absl::StrCat("subscribed, mapped to ", object.local_object())
            : std::string("not subscribed"),
        "\n", table.Render());
  }
  TextTable table(
      {"OBJECT", "SUBSCRIBED", "LOCAL OBJECT", "FIELDS SUBSCRIBED"});
  for (const proto::SubscribedObject& object : output.objects()) {
    const auto subscribed =
        std::count_if(object.fields().begin(), object.fields().end(),
                      [](const proto::FieldMapping& field) {
                        return field.status() == "Subscribed";
                      });
    table.AddRow({object.object(), YesNo(object.subscribed()),
                  Cell(object.local_object()),
                  absl::StrCat(subscribed, " of ", object.fields_size())});
  }
  return table.Render();
}

std::string RenderQueue(const proto::QueueOutput& output) {
  if (output.entries().empty() && output.total_count() == 0) {
    return absl::StrCat("The queue of connection ", output.connection_id(),
                        " is empty.\n");
  }
  TextTable table({"SEQ", "ACTION", "OBJECT", "RECORD", "ATTEMPTS",
                   "NEXT RETRY", "LAST ERROR"});
  for (const proto::QueueEntry& entry : output.entries()) {
    table.AddRow({absl::StrCat(entry.sequence()), entry.action(),
                  Cell(entry.object()), Cell(entry.record_id()),
                  absl::StrCat(entry.attempts()), entry.next_retry(),
                  entry.last_error_code().empty()
                      ? "-"
                      : absl::StrCat(entry.last_error_code(), ": ",
                                     entry.last_error())});
  }
  std::string text = table.Render();
  if (output.truncated()) {
    absl::StrAppend(&text, "\nShowing the oldest ", output.entries_size(),
                    " of ", output.total_count(),
                    " queued entries (see --limit).\n");
  }
  return text;
}

std::string RenderLog(const proto::LogOutput& output) {
  if (output.entries().empty()) {
    return absl::StrCat("No log entries match on connection ",
                        output.connection_id(), ".\n");
  }
  TextTable table({"EVENT", "TIME", "STATUS", "ACTION", "OBJECT", "RECORD",
                   "ERROR", "ATTEMPTS", "DESCRIPTION"});
  for (const proto::LogEntry& entry : output.entries()) {
    table.AddRow({absl::StrCat(entry.event()), entry.time(), entry.status(),
                  entry.action(), Cell(entry.object()), Cell(entry.record_id()),
                  entry.error_code() == "NONE" ? "-" : entry.error_code(),
                  absl::StrCat(entry.attempts()), Cell(entry.description())});
  }
  std::string text = table.Render();
  if (output.truncated()) {
    absl::StrAppend(&text, "\nShowing the newest ", output.entries_size(),
                    " of ", output.matching_count(),
                    " matching entries (see --limit).\n");
  }
  return text;
}

std::string RenderHistory(const proto::HistoryOutput& output) {
  if (output.entries().empty()) {
    return absl::StrCat("No history entries match on connection ",
                        output.connection_id(), ".\n");
  }
  TextTable table({"SEQ", "TIME", "EVENT", "STATUS", "ACTOR", "DETAIL"});
  for (const proto::HistoryEntry& entry : output.entries()) {
    std::string detail = entry.detail();
    if (entry.occurrences() > 1) {
      absl::StrAppend(&detail, detail.empty() ? "" : " ", "(",
                      entry.occurrences(), " times)");
    }
    table.AddRow({absl::StrCat(entry.sequence()), entry.time(), entry.event(),
                  entry.status_after(), entry.actor(), Cell(detail)});
  }
  std::string text = table.Render();
  if (output.truncated()) {
    absl::StrAppend(&text, "\nShowing the latest ", output.entries_size(),
                    " entries (see --limit).\n");
  }
  return text;
}

std::string RenderAction(const proto::ActionOutput& output) {
  const std::string done =
      output.action() == "suspend" ? "suspended" : "resumed";
  return absl::StrCat("Connection ", output.connection_id(), " ", done, " by ",
                      output.actor(), ": ", output.status_before(), " -> ",
                      output.status_after(), ".\n");
}

std::string RenderBulkSync(const proto::BulkSyncOutput& output,
                           bool started) {
  if (output.run() == 0) {
    return absl::StrCat("No bulk sync has run on connection ",
                        output.connection_id(), ".\n");
  }
  std::string text;
  if (started) {
    absl::StrAppend(&text, "Bulk sync ", output.run(), " started on connection ",
                    output.connection_id(), " by ", output.actor(), ".\n");
  }
  // The bar counts the copies answered (copied, failed or skipped when
  // due) against those queued so far.
  constexpr uint64_t kWidth = 30;
  const uint64_t total = std::max<uint64_t>(output.queued(), 1);
  uint64_t answered = output.queued() - output.remaining();
  // Nothing to copy (everything synced already, R62): done is all of it.
  if (output.queued() == 0 && output.state() == "Completed") {
    answered = total;
  }
  const uint64_t filled = answered * kWidth / total;
  const bool reading = std::any_of(
      output.objects().begin(), output.objects().end(),
      [](const proto::BulkSyncObject& object) { return !object.scanned(); });
  absl::StrAppend(
      &text, "Bulk sync ", output.run(), " (", output.state(),
      "): records modified since ", output.cutoff(),
      output.max_records() == 0
          ? std::string()
          : absl::StrCat(", up to ", output.max_records(), " records"),
      "\n[", std::string(filled, '#'), std::string(kWidth - filled, '.'), "] ",
      answered * 100 / total, "%  ", output.copied(), " copied, ",
      output.remaining(), " remaining", reading ? " (still reading)" : "",
      "\n");
  TextTable table({"OBJECT", "QUEUED", "COPIED", "FAILED", "SKIPPED",
                   "REMAINING", "READ"});
  for (const proto::BulkSyncObject& object : output.objects()) {
    table.AddRow({object.object(), absl::StrCat(object.queued()),
                  absl::StrCat(object.copied()), absl::StrCat(object.failed()),
                  absl::StrCat(object.skipped()),
                  absl::StrCat(object.remaining()),
                  object.scanned() ? "all" : "reading"});
  }
  absl::StrAppend(&text, table.Render());
  if (!output.finished().empty()) {
    absl::StrAppend(&text, "Completed ", output.finished(), ".\n");
  }
  return text;
}

std::string RenderVerify(const proto::VerifyOutput& output, bool started) {
  if (output.run() == 0) {
    return absl::StrCat("No Verify has run on connection ",
                        output.connection_id(), " since the node started.\n");
  }
  std::string text;
  if (started) {
    absl::StrAppend(&text, "Verify ", output.run(), " started on connection ",
                    output.connection_id(), " by ", output.actor(), ".\n");
  }
  absl::StrAppend(&text, "Verify ", output.run(), " (", output.state(), ")",
                  output.error().empty() ? "" : ": " + output.error(), "\n");
  TextTable table({"OBJECT", "COMPARED", "MATCHED", "DIFFERING", "ONLY HERE",
                   "ONLY THERE", "UNLINKED HERE", "UNLINKED THERE",
                   "PENDING"});
  for (const proto::VerifyObjectOutput& object : output.objects()) {
    table.AddRow({object.object(), absl::StrCat(object.compared()),
                  absl::StrCat(object.matched()),
                  absl::StrCat(object.differing()),
                  absl::StrCat(object.only_here()),
                  absl::StrCat(object.only_there()),
                  absl::StrCat(object.unlinked_here()),
                  absl::StrCat(object.unlinked_there()),
                  absl::StrCat(object.pending())});
  }
  absl::StrAppend(&text, table.Render());
  for (const proto::VerifyObjectOutput& object : output.objects()) {
    for (const proto::VerifyRecordIds& record : object.differing_records()) {
      absl::StrAppend(&text, "  differs: ", object.object(), " ",
                      record.local_id(), " (partner ", record.partner_id(),
                      ")\n");
    }
  }
  if (output.state() == "Completed") {
    absl::StrAppend(
        &text,
        output.identical() ? "The orgs are identical"
                           : "The orgs differ",
        " (", output.bytes_sent() + output.bytes_received(),
        " bytes exchanged", output.repair()
            ? absl::StrCat(", ", output.repaired(), " records forwarded")
            : std::string(),
        "). Completed ", output.finished(), ".\n");
  }
  return text;
}

absl::StatusOr<std::string> RenderJson(
    const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot write JSON: ", status.ToString()));
  }
  json += '\n';
  return json;
}

}  // namespace orgsync::admin
