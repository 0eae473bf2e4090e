// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "node_demo/demo_node.h"

#include <signal.h>

#include <utility>

#include "absl/time/time.h"
#include "fmt/core.h"

namespace orgsync_demo {

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

absl::Status RunCommand(const std::vector<std::string>& argv,
                        const std::string& log_path) {
  const int code = orgsync::node::RunToEnd(argv, log_path);
  if (code != 0) {
    return absl::InternalError(fmt::format(
        "{} ended with status {} (see {})", argv[0], code, log_path));
  }
  return absl::OkStatus();
}

DemoNode::DemoNode(std::string name, std::string binary, std::string state_dir,
                   std::vector<std::string> run_args)
    : name_(std::move(name)),
      binary_(std::move(binary)),
      state_dir_(std::move(state_dir)),
      run_args_(std::move(run_args)) {}

absl::Status DemoNode::Init(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {binary_, "init", "--state", state_dir_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, log_path());
}

absl::Status DemoNode::Start() {
  if (running()) {
    return absl::FailedPreconditionError(name_ + " runs already");
  }
  absl::Status started =
      process_.Start(binary_, state_dir_, run_args_, log_path());
  if (!started.ok()) return started;
  if (!process_.WaitServing(absl::Seconds(30))) {
    return absl::UnavailableError(fmt::format(
        "{} did not answer on its control socket; its log ends:\n{}", name_,
        LogTail()));
  }
  return absl::OkStatus();
}

absl::Status DemoNode::Stop() {
  if (!running()) return absl::OkStatus();
  process_.Signal(SIGTERM);
  const int code = process_.Wait(absl::Seconds(30));
  if (code != 0) {
    return absl::InternalError(
        fmt::format("{} ended with status {} on SIGTERM; its log ends:\n{}",
                    name_, code, LogTail()));
  }
  return absl::OkStatus();
}

absl::Status DemoNode::Kill() {
  if (!running()) {
    return absl::FailedPreconditionError(name_ + " is not running");
  }
  process_.Kill();
  return absl::OkStatus();
}

std::string DemoNode::LogTail() const {
  std::string log = orgsync::node::ReadFileText(log_path());
  if (log.size() > 2000) log = "..." + log.substr(log.size() - 2000);
  return log;
}

}  // namespace orgsync_demo
