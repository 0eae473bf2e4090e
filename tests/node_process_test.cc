// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// orgsync-node as a host deploys it: two processes on loopback with mutual
// TLS, driven only through their command line and their control sockets.
// Init both, invite on the primary, accept on the secondary, publish and
// subscribe both ways, capture on both sides, watch the records converge,
// stop both with SIGTERM, start them again: the connection comes back on
// its own and the records are kept. Plus the command line's contract
// (usage errors exit 2, runtime errors exit 1 with a precise message) and
// the state folder's lock.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "proto/node/node_control.grpc.pb.h"
#include "testing/node_pair.h"
#include "testing/node_process.h"
#include "testing/temp_dir.h"
#include "testing/test_certificates.h"

namespace orgsync::node_process_test {
namespace {

using testing::ItemState;
using testing::NodeBinary;
using testing::NodePair;
using testing::NodeProcess;
using testing::ReadFileText;
using testing::RunToEnd;
using testing::TempDir;
using testing::WaitUntil;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

std::string MustUpsert(NodeProcess& node, const std::string& id,
                       const std::map<std::string, std::string>& fields) {
  absl::StatusOr<std::string> written = NodePair::Upsert(node, id, fields);
  INFO(written.status().ToString());
  REQUIRE(written.ok());
  return *written;
}

void MustDelete(NodeProcess& node, const std::string& id) {
  absl::Status deleted = NodePair::Delete(node, id);
  INFO(deleted.ToString());
  REQUIRE(deleted.ok());
}

std::map<std::string, ItemState> Items(NodeProcess& node) {
  absl::StatusOr<std::map<std::string, ItemState>> items =
      NodePair::Items(node);
  INFO(items.status().ToString());
  REQUIRE(items.ok());
  return *items;
}

TEST_CASE(
    "orgsync-node: two processes over mutual TLS sync both ways, stop on "
    "SIGTERM and come back with their connection and records",
    "[node]") {
  NodePair pair;
  pair.StartBoth();
  pair.Connect();
  CHECK(NodePair::Status(pair.primary).connections(0).role() == "Primary");
  CHECK(NodePair::Status(pair.secondary).connections(0).role() ==
        "Secondary");
  CHECK(NodePair::Status(pair.secondary).connections(0).partner_org_id() ==
        "org-a");

  // Each side writes its own records; one of each is updated, one deleted.
  std::map<std::string, ItemState> expected;
  std::string a_ids[3];
  std::string b_ids[3];
  for (int i = 0; i < 3; ++i) {
    a_ids[i] = MustUpsert(pair.primary, "",
                          {{"Key", absl::StrCat("a", i)},
                           {"Value", "from a"},
                           {"Amount", absl::StrCat(i)}});
    b_ids[i] = MustUpsert(pair.secondary, absl::StrCat("B-own-", i),
                          {{"Key", absl::StrCat("b", i)},
                           {"Value", "from b"},
                           {"Amount", absl::StrCat(10 + i)}});
    expected[absl::StrCat("a", i)] = {"from a", absl::StrCat(i)};
    expected[absl::StrCat("b", i)] = {"from b", absl::StrCat(10 + i)};
  }
  CHECK(a_ids[0].rfind("org-a-", 0) == 0);  // the store's own ids
  CHECK(b_ids[0] == "B-own-0");             // the host's
  MustUpsert(pair.primary, a_ids[1], {{"Value", "edited on a"}});
  expected["a1"].value = "edited on a";
  MustUpsert(pair.secondary, b_ids[2], {{"Amount", "99"}});
  expected["b2"].amount = "99";
  MustDelete(pair.primary, a_ids[0]);
  expected["a0"].deleted = true;
  MustDelete(pair.secondary, b_ids[1]);
  expected["b1"].deleted = true;

  CHECK(WaitUntil([&] {
    return Items(pair.primary) == expected &&
           Items(pair.secondary) == expected;
  }));
  CHECK(Items(pair.primary) == expected);
  CHECK(Items(pair.secondary) == expected);

  // orgsync-admin's commands reach the running node over its socket: the
  // tool, and the Admin call it makes.
  {
    const std::string out = pair.dir().Sub("admin.txt");
    CHECK(RunToEnd({ORGSYNC_ADMIN_BINARY, "status", "--state",
                    pair.primary_state()},
                   out) == 0);
    const std::string text = ReadFileText(out);
    INFO(text);
    CHECK(absl::StrContains(text, "a-b"));
    CHECK(absl::StrContains(text, "Active"));

    node::AdminRequest request;
    request.add_args("suspend");
    node::AdminReply reply;
    REQUIRE(pair.secondary.control()
                .Admin(NodeProcess::Call().get(), request, &reply)
                .ok());
    INFO(reply.err());
    CHECK(reply.exit_code() == 0);
    CHECK(NodePair::Status(pair.secondary).connections(0).status() ==
          "Suspended");
    // Suspended: a capture waits in the queue.
    MustUpsert(pair.secondary, b_ids[2], {{"Value", "while suspended"}});
    expected["b2"].value = "while suspended";
    CHECK(NodePair::Status(pair.secondary).connections(0).queue_count() >= 1);
    request.set_args(0, "resume");
    REQUIRE(pair.secondary.control()
                .Admin(NodeProcess::Call().get(), request, &reply)
                .ok());
    CHECK(reply.exit_code() == 0);
    CHECK(WaitUntil([&] { return Items(pair.primary) == expected; }));
    CHECK(Items(pair.primary) == expected);
    // A usage error comes back as the tool's exit code and message.
    request.set_args(0, "frobnicate");
    REQUIRE(pair.primary.control()
                .Admin(NodeProcess::Call().get(), request, &reply)
                .ok());
    CHECK(reply.exit_code() == 2);
    CHECK_FALSE(reply.err().empty());
  }

  // SIGTERM: a clean stop, exit 0, the control socket gone.
  pair.secondary.Signal(SIGTERM);
  pair.primary.Signal(SIGTERM);
  CHECK(pair.secondary.Wait() == 0);
  CHECK(pair.primary.Wait() == 0);
  CHECK_FALSE(
      std::filesystem::exists(pair.primary_state() + "/control.sock"));
  CHECK(absl::StrContains(ReadFileText(pair.log()), "stopped cleanly"));

  // Started again with the same arguments and nothing else: the link comes
  // back from the state, the records are kept, and sync goes on.
  pair.StartBoth();
  CHECK(WaitUntil([&] { return NodePair::Active(pair.primary); }));
  CHECK(WaitUntil([&] { return NodePair::Active(pair.secondary); }));
  CHECK(Items(pair.primary) == expected);
  CHECK(Items(pair.secondary) == expected);
  MustUpsert(pair.secondary, b_ids[0], {{"Value", "after restart"}});
  expected["b0"].value = "after restart";
  CHECK(WaitUntil([&] { return Items(pair.primary) == expected; }));
  CHECK(Items(pair.primary) == expected);
  pair.secondary.Signal(SIGTERM);
  pair.primary.Signal(SIGTERM);
  CHECK(pair.secondary.Wait() == 0);
  CHECK(pair.primary.Wait() == 0);
}

TEST_CASE(
    "orgsync-node: usage errors exit 2, runtime errors exit 1 naming what "
    "is wrong, --help exits 0, one process per state folder",
    "[node]") {
  TempDir dir;
  const std::string out = dir.Sub("out.txt");
  auto run = [&](std::vector<std::string> args) {
    std::filesystem::remove(out);
    args.insert(args.begin(), NodeBinary());
    return RunToEnd(args, out);
  };

  CHECK(run({}) == 2);
  CHECK(run({"frobnicate"}) == 2);
  CHECK(run({"--help"}) == 0);
  CHECK(run({"init", "--help"}) == 0);
  CHECK(absl::StrContains(ReadFileText(out), "--schema FILE"));
  CHECK(run({"run", "--help"}) == 0);
  CHECK(run({"init", "--state", dir.Sub("s")}) == 2);
  CHECK(absl::StrContains(ReadFileText(out), "--org-id is required"));
  CHECK(run({"run", "--state", dir.Sub("s"), "--bogus"}) == 2);
  CHECK(run({"run", "--state", dir.Sub("s")}) == 2);  // no TLS, no --insecure
  CHECK(run({"run", "--state", dir.Sub("s"), "--insecure", "--tls-root",
             "x"}) == 2);

  // A schema with an unknown field type: the file, object and field named.
  const std::string bad_schema = dir.Sub("bad.textproto");
  WriteFile(bad_schema,
            "object { name: \"Item\" field { name: \"Size\" type: \"huge\" } "
            "}");
  CHECK(run({"init", "--state", dir.Sub("s"), "--org-id", "a", "--org-name",
             "A", "--schema", bad_schema}) == 1);
  const std::string text = ReadFileText(out);
  INFO(text);
  CHECK(absl::StrContains(text, bad_schema));
  CHECK(absl::StrContains(text, "object 'Item', field 'Size'"));
  CHECK(absl::StrContains(text, "unknown field type \"huge\""));
  CHECK_FALSE(std::filesystem::exists(dir.Sub("s") + "/node.textproto"));
  // Not text format at all: file and line.
  WriteFile(bad_schema, "object { name: \n");
  CHECK(run({"init", "--state", dir.Sub("s"), "--org-id", "a", "--org-name",
             "A", "--schema", bad_schema}) == 1);
  CHECK(absl::StrContains(ReadFileText(out), "line 2"));
  // A bad org id is refused and leaves nothing behind.
  const std::string schema = dir.Sub("schema.textproto");
  WriteFile(schema, testing::kNodeTestSchema);
  CHECK(run({"init", "--state", dir.Sub("s"), "--org-id", "bad id!",
             "--org-name", "A", "--schema", schema}) == 1);
  CHECK_FALSE(std::filesystem::exists(dir.Sub("s") + "/db"));

  // A state folder that was never initialized.
  CHECK(run({"run", "--state", dir.Sub("none"), "--insecure"}) == 1);
  CHECK(absl::StrContains(ReadFileText(out), "node.textproto"));

  // Init twice: refused. A second process on a running node's folder:
  // refused, naming the folder.
  REQUIRE(run({"init", "--state", dir.Sub("s"), "--org-id", "a",
               "--org-name", "A", "--schema", schema}) == 0);
  CHECK(run({"init", "--state", dir.Sub("s"), "--org-id", "a", "--org-name",
             "A", "--schema", schema}) == 1);
  NodeProcess node;
  REQUIRE(node.Start(NodeBinary(), dir.Sub("s"), {"--insecure"},
                     dir.Sub("node.log"))
              .ok());
  REQUIRE(node.WaitServing());
  CHECK(run({"run", "--state", dir.Sub("s"), "--insecure"}) == 1);
  CHECK(absl::StrContains(ReadFileText(out), "in use by another process"));
  node.Signal(SIGINT);
  CHECK(node.Wait() == 0);
}

// Sends `request` to 127.0.0.1:`port` on a raw socket and returns all it
// got back before the server closed the connection.
std::string RawHttp(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&address),
                  sizeof(address)) == 0);
  REQUIRE(send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  std::string answer;
  char buffer[4096];
  for (;;) {
    const ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
    if (got <= 0) break;
    answer.append(buffer, static_cast<size_t>(got));
  }
  close(fd);
  return answer;
}

TEST_CASE(
    "orgsync-node --metrics-listen answers GET /metrics with the org's "
    "Prometheus metrics over HTTP/1.0, and nothing else",
    "[node]") {
  TempDir dir;
  const std::string schema = dir.Sub("schema.textproto");
  WriteFile(schema, testing::kNodeTestSchema);
  const std::string state = dir.Sub("s");
  REQUIRE(RunToEnd({NodeBinary(), "init", "--state", state, "--org-id", "a",
                    "--org-name", "A", "--schema", schema}) == 0);
  const int port = testing::PickFreePort();
  NodeProcess node;
  REQUIRE(node.Start(NodeBinary(), state,
                     {"--insecure", "--metrics-listen",
                      absl::StrCat("127.0.0.1:", port)},
                     dir.Sub("node.log"))
              .ok());
  INFO(ReadFileText(dir.Sub("node.log")));
  REQUIRE(node.WaitServing());
  // A connection, so that the metrics have one to describe.
  node::CreateInvitationRequest invite;
  invite.set_connection_id("metered");
  node::InvitationReply invitation;
  REQUIRE(node.control()
              .CreateInvitation(NodeProcess::Call().get(), invite, &invitation)
              .ok());

  const std::string answer =
      RawHttp(port, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
  INFO(answer);
  CHECK(answer.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
  CHECK(absl::StrContains(answer, "Content-Type: text/plain; version=0.0.4"));
  CHECK(absl::StrContains(answer, "orgsync_connection_info{"));
  CHECK(absl::StrContains(answer, "connection=\"metered\""));
  // The body is exactly what Content-Length says.
  const size_t body = answer.find("\r\n\r\n") + 4;
  const size_t length_at = answer.find("Content-Length: ") + 16;
  CHECK(std::stoul(answer.substr(length_at)) == answer.size() - body);

  CHECK(RawHttp(port, "GET /other HTTP/1.0\r\n\r\n").rfind(
            "HTTP/1.0 404 ", 0) == 0);
  CHECK(RawHttp(port, "POST /metrics HTTP/1.0\r\n\r\n")
            .rfind("HTTP/1.0 405 ", 0) == 0);
  CHECK(RawHttp(port, "hello\r\n\r\n").rfind("HTTP/1.0 400 ", 0) == 0);

  node.Signal(SIGTERM);
  CHECK(node.Wait() == 0);
  // A port that is taken: the node says so and exits 1.
  const int taken_fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  REQUIRE(bind(taken_fd, reinterpret_cast<sockaddr*>(&address),
               sizeof(address)) == 0);
  REQUIRE(listen(taken_fd, 1) == 0);
  socklen_t length = sizeof(address);
  REQUIRE(getsockname(taken_fd, reinterpret_cast<sockaddr*>(&address),
                      &length) == 0);
  const std::string out = dir.Sub("out.txt");
  CHECK(RunToEnd({NodeBinary(), "run", "--state", state, "--insecure",
                  "--metrics-listen",
                  absl::StrCat("127.0.0.1:", ntohs(address.sin_port))},
                 out) == 1);
  CHECK(absl::StrContains(ReadFileText(out), "cannot listen for metrics"));
  close(taken_fd);
}

}  // namespace
}  // namespace orgsync::node_process_test
