// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// DemoNode: one org of the demo, an orgsync-node process run as an operator
// runs it -- initialized on its state folder, started (and waited for until
// its control socket answers), asked things over that socket, stopped with
// SIGTERM or killed with SIGKILL, and started again on the same folder.
// The process itself is lib/node/node_process.h's; this adds the demo's
// names, its errors as statuses, and the node's log in them.
//
// Thread-safety: one thread at a time.

#ifndef ORGSYNC_EXAMPLES_NODE_DEMO_DEMO_NODE_H_
#define ORGSYNC_EXAMPLES_NODE_DEMO_DEMO_NODE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "node/node_process.h"
#include "proto/node/node_control.grpc.pb.h"

namespace orgsync_demo {

class DemoNode {
 public:
  // `binary`: the orgsync-node program; `run_args`: what follows
  // "run --state <state_dir>". The node's output goes to <state_dir>.log.
  DemoNode(std::string name, std::string binary, std::string state_dir,
           std::vector<std::string> run_args);

  // Runs `orgsync-node init --state <state_dir> <args>` to its end.
  [[nodiscard]] absl::Status Init(const std::vector<std::string>& args);
  // Starts the process and waits until its control socket answers;
  // Unavailable with the end of its log if it does not.
  [[nodiscard]] absl::Status Start();
  // SIGTERM, then waits: Internal unless it exited 0.
  [[nodiscard]] absl::Status Stop();
  // SIGKILL, then waits.
  [[nodiscard]] absl::Status Kill();

  bool running() const { return process_.running(); }
  const std::string& name() const { return name_; }
  orgsync::node::NodeControl::Stub& control() { return process_.control(); }

 private:
  std::string LogTail() const;
  std::string log_path() const { return state_dir_ + ".log"; }

  const std::string name_;
  const std::string binary_;
  const std::string state_dir_;
  const std::vector<std::string> run_args_;
  orgsync::node::NodeProcess process_;
};

// How a control call ended, as an absl::Status (the node answers an absl
// status as the gRPC status of the same code and message).
absl::Status FromGrpc(const grpc::Status& status);

// Runs a command (looked up in PATH) to its end; Internal naming it and
// `log_path`, where its output went, unless it exits 0.
[[nodiscard]] absl::Status RunCommand(const std::vector<std::string>& argv,
                                      const std::string& log_path);

}  // namespace orgsync_demo

#endif  // ORGSYNC_EXAMPLES_NODE_DEMO_DEMO_NODE_H_
