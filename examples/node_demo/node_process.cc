// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "node_demo/node_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/time/clock.h"
#include "fmt/core.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace orgsync_demo {
namespace {

// fork + exec of `argv`, output appended to `log_path`. The child leaves
// the parent's process group alone: a terminal's Ctrl-C reaches the demo,
// which stops its nodes itself.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv,
                            const std::string& log_path) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (log < 0) {
    return absl::UnavailableError(fmt::format("cannot open {}: {}", log_path,
                                              std::strerror(errno)));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    return absl::ResourceExhaustedError(
        fmt::format("fork: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    ::close(log);
    ::setpgid(0, 0);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(log);
  return pid;
}

absl::StatusOr<int> WaitFor(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return absl::InternalError(
          fmt::format("waitpid({}): {}", pid, std::strerror(errno)));
    }
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

std::unique_ptr<grpc::ClientContext> CallContext(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMicroseconds(timeout));
  return context;
}

absl::Status RunCommand(const std::vector<std::string>& argv,
                        const std::string& log_path) {
  absl::StatusOr<pid_t> pid = Spawn(argv, log_path);
  if (!pid.ok()) return pid.status();
  absl::StatusOr<int> exit = WaitFor(*pid);
  if (!exit.ok()) return exit.status();
  if (*exit != 0) {
    return absl::InternalError(fmt::format(
        "{} exited with status {} (see {})", argv[0], *exit, log_path));
  }
  return absl::OkStatus();
}

NodeProcess::NodeProcess(std::string name, std::string binary,
                         std::string state_dir,
                         std::vector<std::string> run_args)
    : name_(std::move(name)),
      binary_(std::move(binary)),
      state_dir_(std::move(state_dir)),
      run_args_(std::move(run_args)) {}

NodeProcess::~NodeProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    Reap().IgnoreError();
  }
}

absl::Status NodeProcess::Init(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {binary_, "init", "--state", state_dir_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, state_dir_ + ".log");
}

absl::Status NodeProcess::Start() {
  if (pid_ > 0) {
    return absl::FailedPreconditionError(
        fmt::format("{} runs already (pid {})", name_, pid_));
  }
  std::vector<std::string> argv = {binary_, "run", "--state", state_dir_};
  argv.insert(argv.end(), run_args_.begin(), run_args_.end());
  absl::StatusOr<pid_t> pid = Spawn(argv, state_dir_ + ".log");
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    // A new channel each try: a channel that found no socket yet (or the
    // one a killed node left) waits a growing backoff before it tries
    // again, seconds after the node is up.
    stub_ = orgsync::node::NodeControl::NewStub(grpc::CreateChannel(
        "unix:" + state_dir_ + "/control.sock",
        grpc::InsecureChannelCredentials()));
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      return absl::UnavailableError(fmt::format(
          "{} exited at start; its log ends:\n{}", name_, LogTail()));
    }
    orgsync::node::StatusReply reply;
    if (stub_->Status(CallContext(absl::Milliseconds(500)).get(),
                      orgsync::node::StatusRequest(), &reply)
            .ok()) {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::UnavailableError(fmt::format(
      "{} did not answer on its control socket; its log ends:\n{}", name_,
      LogTail()));
}

absl::Status NodeProcess::Stop() {
  if (pid_ <= 0) return absl::OkStatus();
  ::kill(pid_, SIGTERM);
  absl::StatusOr<int> exit = Reap();
  if (!exit.ok()) return exit.status();
  if (*exit != 0) {
    return absl::InternalError(
        fmt::format("{} exited with status {} on SIGTERM; its log ends:\n{}",
                    name_, *exit, LogTail()));
  }
  return absl::OkStatus();
}

absl::Status NodeProcess::Kill() {
  if (pid_ <= 0) {
    return absl::FailedPreconditionError(fmt::format("{} is not running", name_));
  }
  ::kill(pid_, SIGKILL);
  return Reap().status();
}

absl::StatusOr<int> NodeProcess::Reap() {
  const pid_t pid = pid_;
  pid_ = 0;
  stub_.reset();
  return WaitFor(pid);
}

std::string NodeProcess::LogTail() const {
  std::ifstream in(state_dir_ + ".log");
  std::stringstream text;
  text << in.rdbuf();
  std::string log = text.str();
  if (log.size() > 2000) log = "..." + log.substr(log.size() - 2000);
  return log;
}

}  // namespace orgsync_demo
