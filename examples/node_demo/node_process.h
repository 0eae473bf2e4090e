// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// NodeProcess: one orgsync-node process as an operator runs it -- started
// on its state folder, asked things over its control socket
// (<state>/control.sock, the NodeControl service), stopped with SIGTERM or
// killed with SIGKILL, and started again on the same folder.
//
// Thread-safety: one thread at a time.

#ifndef ORGSYNC_EXAMPLES_NODE_DEMO_NODE_PROCESS_H_
#define ORGSYNC_EXAMPLES_NODE_DEMO_NODE_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/node/node_control.grpc.pb.h"

namespace orgsync_demo {

class NodeProcess {
 public:
  // `binary`: the orgsync-node program; `run_args`: what follows
  // "run --state <state_dir>". The node's output goes to <state_dir>.log.
  NodeProcess(std::string name, std::string binary, std::string state_dir,
              std::vector<std::string> run_args);
  // Kills the process if it still runs.
  ~NodeProcess();
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  // Starts the process and waits until its control socket answers.
  // FailedPrecondition if it runs already; Unavailable (with the end of
  // its log) if it exits or does not answer in time.
  [[nodiscard]] absl::Status Start();
  // SIGTERM, then waits for the exit: Internal unless it exited 0.
  [[nodiscard]] absl::Status Stop();
  // SIGKILL, then reaps it.
  [[nodiscard]] absl::Status Kill();
  bool running() const { return pid_ > 0; }

  const std::string& name() const { return name_; }
  const std::string& state_dir() const { return state_dir_; }

  // The control service of the running process.
  orgsync::node::NodeControl::Stub& control() { return *stub_; }

  // Runs `orgsync-node init --state <state_dir> <args>` to completion.
  [[nodiscard]] absl::Status Init(const std::vector<std::string>& args);

 private:
  // Waits for the process to exit; its exit status (128 + signal if it
  // was killed).
  absl::StatusOr<int> Reap();
  std::string LogTail() const;

  const std::string name_;
  const std::string binary_;
  const std::string state_dir_;
  const std::vector<std::string> run_args_;
  pid_t pid_ = 0;
  std::unique_ptr<orgsync::node::NodeControl::Stub> stub_;
};

// How a control call ended, as an absl::Status (the node answers an absl
// status as the gRPC status of the same code and message).
absl::Status FromGrpc(const grpc::Status& status);

// A client context for one control call, with a deadline.
std::unique_ptr<grpc::ClientContext> CallContext(
    absl::Duration timeout = absl::Seconds(10));

// Runs a command and waits: `argv[0]` is looked up in PATH. Internal with
// the exit status unless it exits 0; its output goes to `log_path`.
[[nodiscard]] absl::Status RunCommand(const std::vector<std::string>& argv,
                                      const std::string& log_path);

}  // namespace orgsync_demo

#endif  // ORGSYNC_EXAMPLES_NODE_DEMO_NODE_PROCESS_H_
