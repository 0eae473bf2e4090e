// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Bulk sync across a crash, with real processes (R60, issue "Bulk sync,
// forwarding, unpublish, and Verify"): a primary orgsync-node holds
// thousands of records from before it was connected, an administrator
// starts a bulk sync through orgsync-admin's commands on the node's control
// socket, and the primary is killed with SIGKILL while the copies are under
// way. Restarted on its LevelDB state folder, it goes on with the same bulk
// sync, and the secondary ends with every record exactly once.

#include <signal.h>

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "proto/admin/admin_output.pb.h"
#include "proto/node/node_control.grpc.pb.h"
#include "testing/node_pair.h"
#include "testing/node_process.h"

namespace orgsync::node_bulk_sync_test {
namespace {

using testing::ItemState;
using testing::NodePair;
using testing::NodeProcess;
using testing::ReadFileText;
using testing::WaitUntil;

// One orgsync-admin command run inside the node (its Admin RPC).
node::AdminReply Admin(NodeProcess& node, std::vector<std::string> args) {
  node::AdminRequest request;
  for (std::string& arg : args) request.add_args(std::move(arg));
  node::AdminReply reply;
  const grpc::Status status =
      node.control().Admin(NodeProcess::Call().get(), request, &reply);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return reply;
}

admin::proto::BulkSyncOutput BulkStatus(NodeProcess& node) {
  const node::AdminReply reply = Admin(node, {"bulk-status", "--json"});
  INFO(reply.err());
  REQUIRE(reply.exit_code() == 0);
  admin::proto::BulkSyncOutput output;
  REQUIRE(google::protobuf::util::JsonStringToMessage(reply.out(), &output)
              .ok());
  return output;
}

TEST_CASE(
    "R60: a primary orgsync-node killed with SIGKILL in the middle of a "
    "bulk sync finishes it once restarted, every record copied exactly once",
    "[node][bulk_sync]") {
  NodePair pair({.ack_timeout_ms = 500,
                 .retry_initial_delay_ms = 200,
                 .extra_run_args = {}});
  pair.StartBoth();
  // Records the primary held before it had any connection: written, not
  // captured.
  constexpr int kRecords = 3000;
  for (int i = 0; i < kRecords; ++i) {
    node::CaptureRequest request;
    request.set_kind(node::CaptureRequest::UPSERT);
    request.set_object("Item");
    (*request.mutable_fields())["Key"] = absl::StrCat("k", i);
    (*request.mutable_fields())["Value"] = absl::StrCat("v", i);
    node::CaptureReply reply;
    const grpc::Status status = pair.primary.control().Capture(
        NodeProcess::Call().get(), request, &reply);
    INFO(status.error_message());
    REQUIRE(status.ok());
    REQUIRE(reply.connections().empty());
  }
  pair.Connect();
  std::vector<std::string> duplicates;
  absl::StatusOr<std::map<std::string, ItemState>> before =
      NodePair::Items(pair.secondary, &duplicates);
  REQUIRE(before.ok());
  REQUIRE(before->empty());  // publishing copied nothing (R18)

  const node::AdminReply started =
      Admin(pair.primary, {"bulk-sync", "--actor", "ops"});
  INFO(started.err());
  REQUIRE(started.exit_code() == 0);
  // Killed as soon as the first copies are queued, before they are all
  // answered.
  admin::proto::BulkSyncOutput at_kill;
  REQUIRE(WaitUntil([&] {
    at_kill = BulkStatus(pair.primary);
    return at_kill.queued() > 0;
  }));
  pair.primary.Signal(SIGKILL);
  INFO("killed at: " << at_kill.ShortDebugString());
  REQUIRE(at_kill.state() == "Running");
  REQUIRE(at_kill.copied() < static_cast<uint64_t>(kRecords));
  REQUIRE(pair.primary.Wait() == 128 + SIGKILL);

  REQUIRE(pair.StartPrimary().ok());
  REQUIRE(pair.primary.WaitServing());
  INFO(ReadFileText(pair.log()));
  admin::proto::BulkSyncOutput done;
  REQUIRE(WaitUntil(
      [&] {
        done = BulkStatus(pair.primary);
        return done.state() == "Completed";
      },
      absl::Seconds(60)));
  REQUIRE(WaitUntil([&] {
    return NodePair::Idle(pair.primary) && NodePair::Idle(pair.secondary);
  }));
  CHECK(done.run() == 1);
  CHECK(done.queued() == static_cast<uint64_t>(kRecords));
  CHECK(done.copied() == static_cast<uint64_t>(kRecords));
  CHECK(done.failed() == 0);

  absl::StatusOr<std::map<std::string, ItemState>> after =
      NodePair::Items(pair.secondary, &duplicates);
  REQUIRE(after.ok());
  CHECK(duplicates.empty());
  REQUIRE(after->size() == static_cast<size_t>(kRecords));
  for (int i = 0; i < kRecords; ++i) {
    const std::string key = absl::StrCat("k", i);
    INFO(key);
    REQUIRE(after->contains(key));
    CHECK(after->at(key).value == absl::StrCat("v", i));
  }
}

}  // namespace
}  // namespace orgsync::node_bulk_sync_test
