// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Tests that run orgsync-node as a real process: spawning it, signalling
// it, waiting for it, and calling its NodeControl service over its control
// socket. The binary's path comes from CMake (ORGSYNC_NODE_BINARY).
// Built only with ORGSYNC_GRPC.
//
// Thread-safety: none; one test thread uses each object.

#ifndef ORGSYNC_TESTS_TESTING_NODE_PROCESS_H_
#define ORGSYNC_TESTS_TESTING_NODE_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "proto/node/node_control.grpc.pb.h"

namespace orgsync::testing {

// The orgsync-node binary this build made.
std::string NodeBinary();

// Runs `args` (argv[0] included) to its end, with stdout and stderr going
// to `output` (a file path; empty: /dev/null). Returns the exit code, or
// 128 + the signal that ended it; -1 if it could not start or outlived
// `timeout` (it is then killed).
int RunToEnd(const std::vector<std::string>& args,
             const std::string& output = "",
             absl::Duration timeout = absl::Seconds(30));

// The whole text of a file ("" if it cannot be read).
std::string ReadFileText(const std::string& path);

// A port on 127.0.0.1 that was free a moment ago.
int PickFreePort();

// Polls `done` every 10 ms until it is true or `timeout` passed.
bool WaitUntil(const std::function<bool()>& done,
               absl::Duration timeout = absl::Seconds(20));

// One orgsync-node process.
class NodeProcess {
 public:
  NodeProcess() = default;
  ~NodeProcess();  // SIGKILLs a process still running
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  // Starts `orgsync-node run --state <state_dir> <run_args...>`, appending
  // its output to `log_file`. Does not wait for it to serve.
  absl::Status Start(const std::string& state_dir,
                     const std::vector<std::string>& run_args,
                     const std::string& log_file);
  // Waits until its control socket answers Status (false on timeout, or if
  // the process ended first).
  bool WaitServing(absl::Duration timeout = absl::Seconds(20));

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  void Signal(int signal_number);
  // Waits for the end; the exit code, or 128 + the signal; -1 on timeout.
  int Wait(absl::Duration timeout = absl::Seconds(20));
  // SIGKILL and wait.
  int Kill();

  node::NodeControl::Stub& control();
  // A context with a deadline, for one control call.
  static std::unique_ptr<grpc::ClientContext> Call(
      absl::Duration deadline = absl::Seconds(10));

 private:
  void NewStub();

  pid_t pid_ = -1;
  std::string state_dir_;
  std::unique_ptr<node::NodeControl::Stub> stub_;
};

}  // namespace orgsync::testing

#endif  // ORGSYNC_TESTS_TESTING_NODE_PROCESS_H_
