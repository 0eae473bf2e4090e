// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/node_pair.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "proto/node/node_control.grpc.pb.h"
#include "testing/test_certificates.h"

namespace orgsync::testing {
namespace {

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

void InitNode(const std::string& state, const std::string& org_id,
              const std::string& schema, const std::string& log,
              const NodePairOptions& options) {
  std::vector<std::string> args = {
      NodeBinary(), "init",         "--state",     state,
      "--org-id",   org_id,         "--org-name",  "Org " + org_id,
      "--schema",   schema,         "--id-prefix", org_id + "-",
      "--ack-timeout-ms", absl::StrCat(options.ack_timeout_ms)};
  if (options.retry_initial_delay_ms > 0) {
    args.push_back("--retry-initial-delay-ms");
    args.push_back(absl::StrCat(options.retry_initial_delay_ms));
  }
  INFO(ReadFileText(log));
  REQUIRE(RunToEnd(args, log) == 0);
}

}  // namespace

const char kNodeTestSchema[] = R"pb(
  object {
    name: "Item"
    publishable: true
    field { name: "Key" type: "text" length: 80 }
    field { name: "Value" type: "text" length: 255 }
    field { name: "Amount" type: "number" precision: 12 }
  }
)pb";

NodePair::NodePair(NodePairOptions options)
    : options_(std::move(options)),
      schema_(dir_.Sub("schema.textproto")),
      primary_state_(dir_.Sub("primary")),
      secondary_state_(dir_.Sub("secondary")),
      log_(dir_.Sub("nodes.log")),
      port_(PickFreePort()) {
  {
    std::ofstream out(schema_);
    out << kNodeTestSchema;
  }
  REQUIRE(port_ > 0);
  InitNode(primary_state_, "org-a", schema_, log_, options_);
  InitNode(secondary_state_, "org-b", schema_, log_, options_);
}

absl::Status NodePair::StartPrimary() {
  const Certificates& certs = TestCertificates();
  std::vector<std::string> args = {
      "--listen",   absl::StrCat("127.0.0.1:", port_),
      "--tls-cert", certs.server_cert(),
      "--tls-key",  certs.server_key(),
      "--tls-root", certs.ca(),
      "--require-client-cert"};
  args.insert(args.end(), options_.extra_run_args.begin(),
              options_.extra_run_args.end());
  return primary.Start(primary_state_, args, log_);
}

absl::Status NodePair::StartSecondary() {
  const Certificates& certs = TestCertificates();
  std::vector<std::string> args = {
      "--tls-cert", certs.client_cert(), "--tls-key", certs.client_key(),
      "--tls-root", certs.ca(), "--tls-server-name", "localhost"};
  args.insert(args.end(), options_.extra_run_args.begin(),
              options_.extra_run_args.end());
  return secondary.Start(secondary_state_, args, log_);
}

void NodePair::StartBoth() {
  REQUIRE(StartPrimary().ok());
  REQUIRE(StartSecondary().ok());
  INFO(ReadFileText(log_));
  REQUIRE(primary.WaitServing());
  REQUIRE(secondary.WaitServing());
}

node::StatusReply NodePair::Status(NodeProcess& node) {
  node::StatusReply reply;
  grpc::Status status = node.control().Status(
      NodeProcess::Call().get(), node::StatusRequest(), &reply);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return reply;
}

bool NodePair::Active(NodeProcess& node) {
  node::StatusReply reply = Status(node);
  return reply.connections_size() == 1 &&
         reply.connections(0).status() == "Active" &&
         reply.connections(0).partner_available();
}

bool NodePair::Idle(NodeProcess& node) {
  node::StatusReply reply = Status(node);
  return reply.connections_size() == 1 &&
         reply.connections(0).status() == "Active" &&
         reply.connections(0).partner_available() &&
         reply.connections(0).idle() && reply.connections(0).queue_count() == 0;
}

void NodePair::Connect() {
  node::InvitationReply invitation;
  {
    node::CreateInvitationRequest request;
    request.set_connection_id("a-b");
    request.set_owner("alice@a");
    request.set_contact("bob@b");
    absl::Status status = FromGrpc(primary.control().CreateInvitation(
        NodeProcess::Call().get(), request, &invitation));
    INFO(status.ToString());
    REQUIRE(status.ok());
    REQUIRE(invitation.secret_hex().size() == 64);
  }
  {
    node::AcceptRequest request;
    request.set_connection_id(invitation.connection_id());
    request.set_secret_hex(invitation.secret_hex());
    request.set_partner_address(absl::StrCat("127.0.0.1:", port_));
    node::AcceptReply reply;
    absl::Status status = FromGrpc(secondary.control().Accept(
        NodeProcess::Call().get(), request, &reply));
    INFO(status.ToString());
    REQUIRE(status.ok());
  }
  INFO(ReadFileText(log_));
  REQUIRE(WaitUntil([this] { return Active(primary); }));
  REQUIRE(WaitUntil([this] { return Active(secondary); }));

  for (NodeProcess* node : {&primary, &secondary}) {
    node::PublishRequest request;
    request.add_objects()->set_object("Item");
    node::PublishReply reply;
    absl::Status status = FromGrpc(
        node->control().Publish(NodeProcess::Call().get(), request, &reply));
    INFO(status.ToString());
    REQUIRE(status.ok());
  }
  for (NodeProcess* node : {&primary, &secondary}) {
    // Possible once the partner's publication arrived.
    REQUIRE(WaitUntil([node] {
      node::SubscribeRequest request;
      request.add_objects()->set_object("Item");
      node::SubscribeReply reply;
      return node->control()
          .Subscribe(NodeProcess::Call().get(), request, &reply)
          .ok();
    }));
  }
  for (NodeProcess* node : {&primary, &secondary}) {
    REQUIRE(WaitUntil([node] {
      node::DirectionsReply reply;
      return node->control()
                 .Directions(NodeProcess::Call().get(),
                             node::DirectionsRequest(), &reply)
                 .ok() &&
             reply.objects_size() == 1 &&
             reply.objects(0).direction() == "two-way";
    }));
  }
}

absl::StatusOr<std::string> NodePair::Upsert(
    NodeProcess& node, const std::string& id,
    const std::map<std::string, std::string>& fields,
    absl::Duration deadline) {
  node::CaptureRequest request;
  request.set_kind(node::CaptureRequest::UPSERT);
  request.set_object("Item");
  request.set_id(id);
  for (const auto& [name, value] : fields) {
    (*request.mutable_fields())[name] = value;
  }
  node::CaptureReply reply;
  absl::Status status = FromGrpc(node.control().Capture(
      NodeProcess::Call(deadline).get(), request, &reply));
  if (!status.ok()) return status;
  if (reply.connections_size() != 1 || !reply.connections(0).captured()) {
    return absl::InternalError(absl::StrCat(
        "the write was not captured: ", reply.ShortDebugString()));
  }
  return reply.id();
}

absl::Status NodePair::Delete(NodeProcess& node, const std::string& id,
                              absl::Duration deadline) {
  node::CaptureRequest request;
  request.set_kind(node::CaptureRequest::DELETE);
  request.set_object("Item");
  request.set_id(id);
  node::CaptureReply reply;
  absl::Status status = FromGrpc(node.control().Capture(
      NodeProcess::Call(deadline).get(), request, &reply));
  if (!status.ok()) return status;
  if (reply.connections_size() != 1 || !reply.connections(0).captured()) {
    return absl::InternalError(absl::StrCat(
        "the delete was not captured: ", reply.ShortDebugString()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, ItemState>> NodePair::Items(
    NodeProcess& node, std::vector<std::string>* duplicates) {
  node::GetRecordsRequest request;
  request.set_object("Item");
  node::GetRecordsReply reply;
  absl::Status status = FromGrpc(node.control().GetRecords(
      NodeProcess::Call().get(), request, &reply));
  if (!status.ok()) return status;
  std::map<std::string, ItemState> items;
  for (const node::RecordText& record : reply.records()) {
    auto field = [&record](const char* name) {
      auto it = record.fields().find(name);
      return it == record.fields().end() ? std::string() : it->second;
    };
    const std::string key = field("Key");
    if (items.contains(key) && duplicates != nullptr) {
      duplicates->push_back(key);
    }
    items[key] = ItemState{.value = field("Value"),
                           .amount = field("Amount"),
                           .deleted = record.deleted()};
  }
  return items;
}

}  // namespace orgsync::testing
