// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// What the two-process demo asks of a node, as small calls over its control
// socket: status, records, captures, waiting for a condition. Each returns
// the node's own error when the node refuses.

#ifndef ORGSYNC_EXAMPLES_NODE_DEMO_DEMO_NODES_H_
#define ORGSYNC_EXAMPLES_NODE_DEMO_DEMO_NODES_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node_demo/demo_node.h"
#include "orgsync/status.h"

namespace orgsync_demo {

// One control call: `method` is a NodeControl::Stub method such as
// &NodeControl::Stub::Status.
template <typename Reply, typename Request, typename Method>
absl::StatusOr<Reply> Ask(DemoNode& node, Method method,
                          const Request& request) {
  if (!node.running()) {
    return absl::FailedPreconditionError(node.name() + " is not running");
  }
  Reply reply;
  std::unique_ptr<grpc::ClientContext> context =
      orgsync::node::NodeProcess::Call();
  ORGSYNC_RETURN_IF_ERROR(
      FromGrpc((node.control().*method)(context.get(), request, &reply)));
  return reply;
}

// The node's one connection (the demo's nodes carry one each); NotFound if
// it has none yet.
absl::StatusOr<orgsync::node::ConnectionStatusText> OnlyConnection(
    DemoNode& node);

// Upserts a record (empty id: a new one) and returns its id.
absl::StatusOr<std::string> Upsert(
    DemoNode& node, std::string_view object, std::string_view id,
    const std::map<std::string, std::string>& fields);

// The live records of `object`, by id.
absl::StatusOr<std::map<std::string, orgsync::node::RecordText>> Records(
    DemoNode& node, std::string_view object);

// The id of the live record of `object` whose `field` is `value`; NotFound
// if there is none.
absl::StatusOr<std::string> FindId(DemoNode& node, std::string_view object,
                                   std::string_view field,
                                   std::string_view value);

// The node's admin command output (orgsync-admin's, run inside the node).
absl::StatusOr<std::string> Admin(DemoNode& node,
                                  const std::vector<std::string>& args);

// Polls `done` every 50 ms until it says true or fails; DeadlineExceeded
// naming `what` after `timeout`.
absl::Status Eventually(std::string_view what, absl::Duration timeout,
                        const std::function<absl::StatusOr<bool>()>& done);

}  // namespace orgsync_demo

#endif  // ORGSYNC_EXAMPLES_NODE_DEMO_DEMO_NODES_H_
