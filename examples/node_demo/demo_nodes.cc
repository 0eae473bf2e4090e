// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "node_demo/demo_nodes.h"

#include "absl/time/clock.h"
#include "fmt/core.h"
#include "fmt/ranges.h"

namespace orgsync_demo {

using orgsync::node::NodeControl;

absl::StatusOr<orgsync::node::ConnectionStatusText> OnlyConnection(
    DemoNode& node) {
  ORGSYNC_ASSIGN_OR_RETURN(
      orgsync::node::StatusReply status,
      Ask<orgsync::node::StatusReply>(node, &NodeControl::Stub::Status,
                                      orgsync::node::StatusRequest()));
  if (status.connections().empty()) {
    return absl::NotFoundError(node.name() + " has no connection yet");
  }
  return status.connections(0);
}

absl::StatusOr<std::string> Upsert(
    DemoNode& node, std::string_view object, std::string_view id,
    const std::map<std::string, std::string>& fields) {
  orgsync::node::CaptureRequest request;
  request.set_kind(orgsync::node::CaptureRequest::UPSERT);
  request.set_object(std::string(object));
  request.set_id(std::string(id));
  for (const auto& [name, value] : fields) {
    (*request.mutable_fields())[name] = value;
  }
  ORGSYNC_ASSIGN_OR_RETURN(
      orgsync::node::CaptureReply reply,
      Ask<orgsync::node::CaptureReply>(node, &NodeControl::Stub::Capture,
                                       request));
  return reply.id();
}

absl::StatusOr<std::map<std::string, orgsync::node::RecordText>> Records(
    DemoNode& node, std::string_view object) {
  orgsync::node::GetRecordsRequest request;
  request.set_object(std::string(object));
  ORGSYNC_ASSIGN_OR_RETURN(
      orgsync::node::GetRecordsReply reply,
      Ask<orgsync::node::GetRecordsReply>(
          node, &NodeControl::Stub::GetRecords, request));
  std::map<std::string, orgsync::node::RecordText> records;
  for (const orgsync::node::RecordText& record : reply.records()) {
    if (!record.deleted()) records[record.id()] = record;
  }
  return records;
}

absl::StatusOr<std::string> FindId(DemoNode& node, std::string_view object,
                                   std::string_view field,
                                   std::string_view value) {
  ORGSYNC_ASSIGN_OR_RETURN(auto records, Records(node, object));
  for (const auto& [id, record] : records) {
    const auto found = record.fields().find(std::string(field));
    if (found != record.fields().end() && found->second == value) return id;
  }
  return absl::NotFoundError(fmt::format("{} has no {} with {} = {}",
                                         node.name(), object, field, value));
}

absl::StatusOr<std::string> Admin(DemoNode& node,
                                  const std::vector<std::string>& args) {
  orgsync::node::AdminRequest request;
  for (const std::string& arg : args) request.add_args(arg);
  ORGSYNC_ASSIGN_OR_RETURN(
      orgsync::node::AdminReply reply,
      Ask<orgsync::node::AdminReply>(node, &NodeControl::Stub::Admin,
                                     request));
  if (reply.exit_code() != 0) {
    return absl::InternalError(fmt::format(
        "orgsync-admin {} on {} exited {}: {}", fmt::join(args, " "),
        node.name(), reply.exit_code(), reply.err()));
  }
  return reply.out();
}

absl::Status Eventually(std::string_view what, absl::Duration timeout,
                        const std::function<absl::StatusOr<bool>()>& done) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last = absl::OkStatus();
  while (absl::Now() < deadline) {
    absl::StatusOr<bool> result = done();
    if (result.ok() && *result) return absl::OkStatus();
    // A node that is restarting may not answer for a moment.
    if (!result.ok()) last = result.status();
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      fmt::format("gave up waiting for {} after {}{}", what,
                  absl::FormatDuration(timeout),
                  last.ok() ? "" : " (last error: " + last.ToString() + ")"));
}

}  // namespace orgsync_demo
