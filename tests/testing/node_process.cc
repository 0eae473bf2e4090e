// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/node_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "fmt/core.h"
#include "grpcpp/grpcpp.h"

namespace orgsync::testing {
namespace {

pid_t Spawn(const std::vector<std::string>& args, const std::string& output) {
  std::vector<char*> argv;
  for (const std::string& arg : args) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  const std::string target = output.empty() ? "/dev/null" : output;
  const pid_t pid = fork();
  if (pid != 0) return pid;
  // The child: only async-signal-safe calls until exec.
  const int fd = open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
  }
  // The test process may block signals on some threads; the node sets
  // its own mask.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execv(argv[0], argv.data());
  _exit(127);
}

// The exit code of a wait status.
int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int WaitPid(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return ExitCode(status);
    if (done < 0) return -1;
    if (absl::Now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

std::string NodeBinary() { return ORGSYNC_NODE_BINARY; }

int RunToEnd(const std::vector<std::string>& args, const std::string& output,
             absl::Duration timeout) {
  const pid_t pid = Spawn(args, output);
  if (pid < 0) return -1;
  const int code = WaitPid(pid, timeout);
  if (code == -1) {
    kill(pid, SIGKILL);
    WaitPid(pid, absl::Seconds(5));
  }
  return code;
}

std::string ReadFileText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  int port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

NodeProcess::~NodeProcess() {
  if (running()) Kill();
}

absl::Status NodeProcess::Start(const std::string& state_dir,
                                const std::vector<std::string>& run_args,
                                const std::string& log_file) {
  if (running()) return absl::FailedPreconditionError("already running");
  std::vector<std::string> args = {NodeBinary(), "run", "--state", state_dir};
  args.insert(args.end(), run_args.begin(), run_args.end());
  pid_ = Spawn(args, log_file);
  if (pid_ < 0) return absl::InternalError("fork failed");
  state_dir_ = state_dir;
  NewStub();
  return absl::OkStatus();
}

void NodeProcess::NewStub() {
  // A restarted node is back within a second: reconnect quickly instead
  // of gRPC's default backoff of up to two minutes.
  grpc::ChannelArguments channel_args;
  channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
  channel_args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20);
  channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  stub_ = node::NodeControl::NewStub(grpc::CreateCustomChannel(
      "unix:" + state_dir_ + "/control.sock",
      grpc::InsecureChannelCredentials(), channel_args));
}

bool NodeProcess::WaitServing(absl::Duration timeout) {
  return WaitUntil(
      [this] {
        if (!running()) return true;
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;  // ended before serving
          return true;
        }
        // A fresh channel each time: one that failed while the socket was
        // missing would wait out its reconnect backoff.
        NewStub();
        node::StatusReply reply;
        return control()
            .Status(Call(absl::Milliseconds(500)).get(), node::StatusRequest(),
                    &reply)
            .ok();
      },
      timeout) &&
         running();
}

void NodeProcess::Signal(int signal_number) {
  if (running()) kill(pid_, signal_number);
}

int NodeProcess::Wait(absl::Duration timeout) {
  if (!running()) return -1;
  const int code = WaitPid(pid_, timeout);
  if (code != -1) pid_ = -1;
  return code;
}

int NodeProcess::Kill() {
  Signal(SIGKILL);
  return Wait(absl::Seconds(10));
}

node::NodeControl::Stub& NodeProcess::control() { return *stub_; }

std::unique_ptr<grpc::ClientContext> NodeProcess::Call(
    absl::Duration deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(deadline));
  return context;
}

}  // namespace orgsync::testing
