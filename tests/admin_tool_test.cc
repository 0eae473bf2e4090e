// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The orgsync-admin program end to end: state folders made by
// `orgsync-node init`, connected and filled in this process through
// OpenNodeState (as the node itself opens them), then the tool run as a
// separate process on the stopped state -- its output, what its suspend
// and resume leave in the state, and its answers when the state cannot be
// opened -- and on the same state served by a running orgsync-node, whose
// control socket the tool then goes through. Spawns the binaries this
// build made (ORGSYNC_ADMIN_BINARY, and testing::NodeBinary()).

#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "admin/admin_command.h"
#include "node/node_state.h"
#include "orgsync/capture.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/transport.h"
#include "proto/admin/admin_output.pb.h"
#include "testing/node_process.h"
#include "testing/storage_testing.h"
#include "testing/temp_dir.h"

extern char** environ;

namespace orgsync::admin_tool_test {
namespace {

using testing::RequireOk;

struct ToolRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `argv` to its end (killed after 30 s), capturing stdout and stderr
// apart.
ToolRun RunProgram(const std::vector<std::string>& argv,
                   const testing::TempDir& scratch) {
  const std::string out_path = scratch.Sub("stdout.txt");
  const std::string err_path = scratch.Sub("stderr.txt");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int spawned =
      posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);
  int wait_status = 0;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (waitpid(pid, &wait_status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &wait_status, 0);
      FAIL("timed out: " << argv[0]);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ToolRun run;
  run.exit_code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status)
                                         : 128 + WTERMSIG(wait_status);
  run.out = ReadWhole(out_path);
  run.err = ReadWhole(err_path);
  return run;
}

constexpr char kSchema[] = R"pb(
  object {
    name: "Account"
    publishable: true
    field { name: "Name" type: "text" length: 80 }
    field { name: "Phone" type: "phone" }
  }
)pb";

// Two state folders made by `orgsync-node init`, connected in this process
// over an in-process pair, with Account published by the primary and
// subscribed by the secondary, and one account captured on the primary and
// left queued. Both are closed again when the constructor returns.
struct StoppedNodes {
  StoppedNodes() {
    {
      std::ofstream schema(dir.Sub("schema.textproto"));
      schema << kSchema;
    }
    for (const auto& [state, org] :
         {std::pair{primary_dir, "org-a"}, std::pair{secondary_dir, "org-b"}}) {
      const ToolRun init =
          RunProgram({testing::NodeBinary(), "init", "--state", state, "--org-id",
                      org, "--org-name", absl::StrCat(org, " name"), "--schema",
                      dir.Sub("schema.textproto")},
                     dir);
      INFO(init.out << init.err);
      REQUIRE(init.exit_code == 0);
    }
    auto primary = node::OpenNodeState(primary_dir);
    RequireOk(primary.status());
    auto secondary = node::OpenNodeState(secondary_dir);
    RequireOk(secondary.status());
    Org& a = *(*primary)->org;
    Org& b = *(*secondary)->org;
    InProcessTransportPair pair(7);
    InvitationOptions options;
    options.connection_id = "conn-1";
    options.owner = "alice@a";
    options.contact = "bob@b";
    auto invitation = a.CreateInvitation(options, "alice@a");
    RequireOk(invitation.status());
    Connection* p = *a.GetConnection("conn-1");
    RequireOk(p->AttachTransport(pair.a()));
    auto s =
        b.AcceptInvitation("conn-1", invitation->secret_hex, pair.b(), "bob@b");
    RequireOk(s.status());
    const auto settle = [&] {
      for (int round = 0; round < 1000; ++round) {
        RequireOk(a.Step().status());
        RequireOk(b.Step().status());
        pair.Step();
        if (p->idle() && (*s)->idle() && pair.InFlight() == 0) return;
      }
      FAIL("the two states never settled");
    };
    settle();
    REQUIRE(p->status() == ConnectionStatus::kActive);
    RequireOk(p->publish_set()->PublishObject("Account"));
    settle();
    RequireOk((*s)->subscription_map()->Subscribe("Account"));
    settle();

    Record account;
    account.object = "Account";
    account.fields = {{"Name", std::string("Acme")},
                      {"Phone", std::string("555")}};
    auto inserted =
        (*primary)->record_store->Insert(std::move(account), ApplyContext{});
    RequireOk(inserted.status());
    account_id = inserted->id;
    LocalChange change;
    change.kind = ChangeKind::kInsert;
    change.record = *inserted;
    auto captured = p->Capture(change);
    RequireOk(captured.status());
    REQUIRE(captured->captured);
    // Not stepped again: the insert stays queued in the primary's state.
    // The orgs go before the pair their connections are attached to.
    primary->reset();
    secondary->reset();
  }

  ToolRun Admin(std::vector<std::string> args) {
    args.insert(args.begin(), ORGSYNC_ADMIN_BINARY);
    return RunProgram(args, dir);
  }

  testing::TempDir dir;
  std::string primary_dir = dir.Sub("primary");
  std::string secondary_dir = dir.Sub("secondary");
  std::string account_id;
};

template <typename Message>
Message ParseJson(const ToolRun& run) {
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  REQUIRE(run.err.empty());
  Message message;
  REQUIRE(google::protobuf::util::JsonStringToMessage(run.out, &message).ok());
  return message;
}

// The cells of a table line, cut at runs of two or more spaces.
std::vector<std::string> Cells(absl::string_view line) {
  std::vector<std::string> cells;
  for (absl::string_view cell : absl::StrSplit(line, "  ", absl::SkipEmpty())) {
    cells.emplace_back(absl::StripLeadingAsciiWhitespace(cell));
  }
  return cells;
}

TEST_CASE("orgsync-admin on a stopped node's state folder",
          "[admin][process]") {
  StoppedNodes nodes;

  const ToolRun status = nodes.Admin({"--state", nodes.primary_dir, "status"});
  INFO(status.out << status.err);
  CHECK(status.exit_code == 0);
  CHECK(status.err.empty());
  std::vector<std::string> lines = absl::StrSplit(status.out, '\n');
  REQUIRE(lines.size() == 3);  // header, row, ""
  CHECK(Cells(lines[0]) ==
        std::vector<std::string>{"CONNECTION", "ROLE", "TYPE", "STATUS",
                                 "OPTIONS", "OWNER", "CONTACT", "PARTNER",
                                 "QUEUED", "OLDEST"});
  const std::vector<std::string> row = Cells(lines[1]);
  REQUIRE(row.size() == 10);
  CHECK(std::vector<std::string>(row.begin(), row.begin() + 9) ==
        std::vector<std::string>{"conn-1", "Primary", "Replication", "Active",
                                 "none", "alice@a", "bob@b",
                                 "org-b name (org-b)", "1"});

  // --state anywhere on the line; --json.
  const auto json = ParseJson<admin::proto::StatusOutput>(
      nodes.Admin({"status", "--json", "--state=" + nodes.secondary_dir}));
  REQUIRE(json.connections_size() == 1);
  CHECK(json.connections(0).role() == "Secondary");
  CHECK(json.connections(0).status() == "Active");
  CHECK(json.connections(0).partner_org_id() == "org-a");
  CHECK(json.connections(0).queue_count() == 0);
  // Opened by the tool, the state has no transport attached.
  CHECK_FALSE(json.connections(0).partner_available());

  const auto queue = ParseJson<admin::proto::QueueOutput>(
      nodes.Admin({"--state", nodes.primary_dir, "queue", "--json"}));
  REQUIRE(queue.entries_size() == 1);
  CHECK(queue.entries(0).action() == "Generic Insert");
  CHECK(queue.entries(0).object() == "Account");
  CHECK(queue.entries(0).record_id() == nodes.account_id);
  CHECK(queue.entries(0).attempts() == 0);

  const auto subscribed = ParseJson<admin::proto::SubscribedOutput>(
      nodes.Admin({"--state", nodes.secondary_dir, "subscribed", "--json"}));
  REQUIRE(subscribed.objects_size() == 1);
  CHECK(subscribed.objects(0).object() == "Account");
  CHECK(subscribed.objects(0).subscribed());

  // suspend writes to the state: the next run, and the node, see it.
  const ToolRun suspend = nodes.Admin(
      {"--state", nodes.primary_dir, "suspend", "--actor", "carol"});
  CHECK(suspend.exit_code == 0);
  CHECK(suspend.err.empty());
  CHECK(suspend.out ==
        "Connection conn-1 suspended by carol: Active -> Suspended.\n");
  const auto suspended = ParseJson<admin::proto::StatusOutput>(
      nodes.Admin({"--state", nodes.primary_dir, "status", "--json"}));
  REQUIRE(suspended.connections_size() == 1);
  CHECK(suspended.connections(0).status() == "Suspended");
  CHECK(suspended.connections(0).suspended_by() == "carol");
  // The suspension's notice joined the queue.
  CHECK(suspended.connections(0).queue_count() == 2);
  {
    auto state = node::OpenNodeState(nodes.primary_dir);
    RequireOk(state.status());
    Connection* p = *(*state)->org->GetConnection("conn-1");
    CHECK(p->status() == ConnectionStatus::kSuspended);
    auto history = p->History();
    RequireOk(history.status());
    REQUIRE_FALSE(history->empty());
    CHECK(history->back().event == HistoryEvent::kAdminSuspended);
    CHECK(history->back().actor == "carol");

    // While this process holds the state (as a node whose control socket
    // is gone would), the tool cannot open it, says so and changes nothing.
    const ToolRun held = nodes.Admin({"--state", nodes.primary_dir, "resume"});
    CHECK(held.exit_code == admin::kExitRuntimeError);
    CHECK(held.out.empty());
    CHECK(absl::StartsWith(held.err, absl::StrCat("orgsync-admin: cannot open ",
                                                  nodes.primary_dir, ": ")));
    CHECK(p->status() == ConnectionStatus::kSuspended);
  }

  // A control socket left by a killed node: nothing answers there, so the
  // tool opens the state itself.
  {
    const std::string socket_path = node::ControlSocketPath(nodes.primary_dir);
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(socket_path.size() < sizeof(address.sun_path));
    std::strncpy(address.sun_path, socket_path.c_str(),
                 sizeof(address.sun_path) - 1);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) ==
            0);
    close(fd);
  }
  const ToolRun resume =
      nodes.Admin({"--state", nodes.primary_dir, "resume", "--actor", "dave"});
  CHECK(resume.exit_code == 0);
  CHECK(resume.err.empty());
  CHECK(resume.out ==
        "Connection conn-1 resumed by dave: Suspended -> Active.\n");
  const ToolRun history =
      nodes.Admin({"--state", nodes.primary_dir, "history", "--limit", "2"});
  CHECK(history.exit_code == 0);
  std::vector<std::string> history_lines = absl::StrSplit(history.out, '\n');
  REQUIRE(history_lines.size() >= 3);
  CHECK(Cells(history_lines[1])[2] == "Connection Admin Suspended");
  CHECK(Cells(history_lines[1])[4] == "carol");
  CHECK(Cells(history_lines[2])[2] == "Connection Admin Resumed");
  CHECK(Cells(history_lines[2])[4] == "dave");

  // Refused by the connection's status: exit 4, nothing written.
  const ToolRun again = nodes.Admin({"--state", nodes.primary_dir, "resume"});
  CHECK(again.exit_code == admin::kExitRefused);
  CHECK(absl::StartsWith(again.err,
                         "orgsync-admin: cannot resume connection conn-1: "));
}

TEST_CASE("orgsync-admin asks a running node over its control socket",
          "[admin][process]") {
  StoppedNodes nodes;
  const std::string log_path = nodes.dir.Sub("node.log");
  testing::NodeProcess node;
  RequireOk(node.Start(testing::NodeBinary(), nodes.primary_dir, {"--insecure"},
                       log_path));
  // The node holds the state folder from before its control socket
  // answers: from then on every answer comes through the socket (the tool
  // could not open the state itself).
  if (!node.WaitServing())
    FAIL("the node never served: " << ReadWhole(log_path));
  const ToolRun status =
      nodes.Admin({"--state", nodes.primary_dir, "status", "--json"});
  const auto live = ParseJson<admin::proto::StatusOutput>(status);
  REQUIRE(live.connections_size() == 1);
  CHECK(live.connections(0).connection_id() == "conn-1");
  CHECK(live.connections(0).role() == "Primary");
  CHECK(live.connections(0).partner_org_id() == "org-b");

  const ToolRun suspend = nodes.Admin(
      {"--state", nodes.primary_dir, "suspend", "--actor", "carol"});
  CHECK(suspend.exit_code == 0);
  CHECK(suspend.out ==
        "Connection conn-1 suspended by carol: Active -> Suspended.\n");
  const ToolRun again = nodes.Admin({"--state", nodes.primary_dir, "suspend"});
  CHECK(again.exit_code == admin::kExitRefused);
  CHECK(absl::StartsWith(again.err,
                         "orgsync-admin: cannot suspend connection conn-1: "));
  const ToolRun missing = nodes.Admin(
      {"--state", nodes.primary_dir, "queue", "--connection", "nope"});
  CHECK(missing.exit_code == admin::kExitNotFound);
  CHECK(missing.err ==
        "orgsync-admin: no connection 'nope' (connections: conn-1)\n");
  const auto queue = ParseJson<admin::proto::QueueOutput>(
      nodes.Admin({"--state", nodes.primary_dir, "queue", "--json"}));
  REQUIRE(queue.entries_size() >= 1);
  CHECK(queue.entries(0).record_id() == nodes.account_id);

  node.Signal(SIGTERM);
  REQUIRE(node.Wait() == 0);
  // What the running node did is in the state.
  const auto stopped = ParseJson<admin::proto::StatusOutput>(
      nodes.Admin({"--state", nodes.primary_dir, "status", "--json"}));
  REQUIRE(stopped.connections_size() == 1);
  CHECK(stopped.connections(0).status() == "Suspended");
  CHECK(stopped.connections(0).suspended_by() == "carol");
}

TEST_CASE("orgsync-admin: help and command-line errors need no state folder",
          "[admin][process]") {
  testing::TempDir scratch;
  const auto admin = [&](std::vector<std::string> args) {
    args.insert(args.begin(), ORGSYNC_ADMIN_BINARY);
    return RunProgram(args, scratch);
  };
  const ToolRun help = admin({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.err.empty());
  CHECK(absl::StartsWith(help.out, "orgsync-admin: "));
  CHECK(absl::StrContains(help.out, "Exit codes:"));
  const ToolRun log_help = admin({"log", "--help"});
  CHECK(log_help.exit_code == 0);
  CHECK(absl::StartsWith(log_help.out, "orgsync-admin log: "));

  const ToolRun no_state = admin({"status"});
  CHECK(no_state.exit_code == admin::kExitUsage);
  CHECK(no_state.out.empty());
  CHECK(no_state.err ==
        "orgsync-admin: --state DIR is required\nRun 'orgsync-admin status "
        "--help' for its usage.\n");
  CHECK(admin({"status", "--state"}).err ==
        "orgsync-admin: --state needs a value\n");
  CHECK(admin({"--state", "a", "--state", "b", "status"}).err ==
        "orgsync-admin: --state given twice\n");
  const ToolRun bad = admin({"--state", scratch.Sub("none"), "frobnicate"});
  CHECK(bad.exit_code == admin::kExitUsage);
  CHECK(bad.err ==
        "orgsync-admin: unknown command 'frobnicate'\nRun 'orgsync-admin "
        "--help' for the commands.\n");

  const ToolRun missing = admin({"--state", scratch.Sub("none"), "status"});
  CHECK(missing.exit_code == admin::kExitNotFound);
  CHECK(missing.out.empty());
  CHECK(absl::StartsWith(missing.err,
                         absl::StrCat("orgsync-admin: no node state in ",
                                      scratch.Sub("none"), ": ")));
}

}  // namespace
}  // namespace orgsync::admin_tool_test
