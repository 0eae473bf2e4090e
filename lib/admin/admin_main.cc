// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// orgsync-admin: what an orgsync-node's Connection Detail page would show,
// for an administrator at a terminal or a script.
//
//   orgsync-admin --state DIR <command> [options]
//
// While the node that owns DIR runs, the tool sends the command line (less
// --state) to it over DIR/control.sock (NodeControl.Admin), and the node
// runs it on its open Org: LevelDB's lock keeps a second process out of
// the state folder, and the node's answer is the live state. When no node
// answers there, the tool opens DIR itself (OpenNodeState) and runs the
// command in process; only suspend, resume and bulk-sync write to it then.
// Either way the output is RunAdminCommand's (lib/admin/admin_command.h), so the
// two read the same.
//
// Exit codes: RunAdminCommand's (0 ok, 1 runtime error, 2 usage, 3 not
// found, 4 refused); a state folder that cannot be opened is 1, one that
// does not exist 3.

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "admin/admin_args.h"
#include "admin/admin_command.h"
#include "admin/admin_help.h"
#include "node/node_state.h"
#include "proto/node/node_control.grpc.pb.h"

namespace orgsync::admin {
namespace {

// How long one command may take inside a running node. Generous: a
// --limit 10000 log page on a busy node is still far below it.
constexpr auto kNodeDeadline = std::chrono::seconds(60);
// The largest answer accepted from the node: a page of 10000 log entries
// with long descriptions can pass gRPC's default of 4 MiB.
constexpr int kMaxReplyBytes = 256 * 1024 * 1024;

int Print(const AdminOutput& output) {
  std::fputs(output.out.c_str(), stdout);
  std::fputs(output.err.c_str(), stderr);
  std::fflush(stdout);
  return output.exit_code;
}

AdminOutput Error(int exit_code, std::string message) {
  return {.exit_code = exit_code,
          .out = "",
          .err = absl::StrCat("orgsync-admin: ", message, "\n")};
}

bool IsSocket(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode);
}

// The running node's answer; Unavailable when nothing listens on the
// socket (the node stopped, or was killed and left it behind).
absl::StatusOr<AdminOutput> AskNode(const std::string& socket_path,
                                    const std::vector<std::string>& args) {
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(kMaxReplyBytes);
  const std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
      "unix:" + socket_path, grpc::InsecureChannelCredentials(), channel_args);
  const std::unique_ptr<node::NodeControl::Stub> stub =
      node::NodeControl::NewStub(channel);
  node::AdminRequest request;
  for (const std::string& arg : args) request.add_args(arg);
  node::AdminReply reply;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kNodeDeadline);
  const grpc::Status status = stub->Admin(&context, request, &reply);
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return absl::UnavailableError(status.error_message());
  }
  if (!status.ok()) {
    // The gRPC code, as absl spells the same codes (UNIMPLEMENTED from a
    // node that does not serve the Admin call, DEADLINE_EXCEEDED, ...).
    const absl::Status failure(
        static_cast<absl::StatusCode>(status.error_code()),
        status.error_message());
    return absl::InternalError(
        absl::StrCat("the node at ", socket_path,
                     " failed the command: ", failure.ToString()));
  }
  return AdminOutput{
      .exit_code = reply.exit_code(), .out = reply.out(), .err = reply.err()};
}

AdminOutput RunOnStoppedNode(const std::string& state_dir,
                             const std::vector<std::string>& args,
                             bool socket_left_behind) {
  absl::StatusOr<std::unique_ptr<node::NodeState>> state =
      node::OpenNodeState(state_dir);
  if (!state.ok()) {
    if (absl::IsNotFound(state.status())) {
      return Error(kExitNotFound, absl::StrCat("no node state in ", state_dir,
                                               ": ", state.status().message()));
    }
    if (absl::IsFailedPrecondition(state.status()) && socket_left_behind) {
      return Error(kExitRuntimeError,
                   absl::StrCat("the node that holds ", state_dir,
                                " does not answer on ",
                                node::ControlSocketPath(state_dir), ": ",
                                state.status().message()));
    }
    return Error(kExitRuntimeError,
                 absl::StrCat("cannot open ", state_dir, ": ",
                              state.status().message()));
  }
  return RunAdminCommand(*(*state)->org, *(*state)->clock, args);
}

int Main(const std::vector<std::string>& argv) {
  std::optional<std::string> state_dir;
  std::vector<std::string> args;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    std::optional<std::string> value;
    if (arg == "--state") {
      if (i + 1 >= argv.size()) {
        return Print(Error(kExitUsage, "--state needs a value"));
      }
      value = argv[++i];
    } else if (absl::StartsWith(arg, "--state=")) {
      value = arg.substr(std::string("--state=").size());
    } else {
      args.push_back(arg);
      continue;
    }
    if (state_dir) return Print(Error(kExitUsage, "--state given twice"));
    if (value->empty())
      return Print(Error(kExitUsage, "--state needs a value"));
    state_dir = std::move(value);
  }

  // Help and bad command lines need no state folder; the command line is
  // read again by whoever runs it, with the org's clock.
  const ParsedAdminArgs parsed = ParseAdminArgs(args, absl::Now());
  if (parsed.args.help) {
    return Print({.exit_code = kExitOk,
                  .out = parsed.args.command ? CommandHelp(*parsed.args.command)
                                             : ToolHelp(),
                  .err = ""});
  }
  if (!parsed.error.empty()) {
    AdminOutput usage = Error(kExitUsage, parsed.error);
    usage.err += UsageHint(parsed.args);
    return Print(usage);
  }
  if (!state_dir) {
    AdminOutput usage = Error(kExitUsage, "--state DIR is required");
    usage.err += UsageHint(parsed.args);
    return Print(usage);
  }

  const std::string socket_path = node::ControlSocketPath(*state_dir);
  const bool has_socket = IsSocket(socket_path);
  if (has_socket) {
    absl::StatusOr<AdminOutput> answer = AskNode(socket_path, args);
    if (answer.ok()) return Print(*answer);
    if (!absl::IsUnavailable(answer.status())) {
      return Print(
          Error(kExitRuntimeError, std::string(answer.status().message())));
    }
  }
  return Print(RunOnStoppedNode(*state_dir, args, has_socket));
}

}  // namespace
}  // namespace orgsync::admin

int main(int argc, char** argv) {
  return orgsync::admin::Main(std::vector<std::string>(argv + 1, argv + argc));
}
