// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Example: embed the primary org in a host process. The host keeps its
// Account records in a LevelDB database with orgsync's state; it invites
// the secondary (embed_secondary, another process), serves the connection
// over gRPC with mutual TLS, publishes Account, and then captures each
// write it makes to its records. A Runner delivers in the background.
//
//   embed_primary --state DIR --invitation-file F --tls-dir D
//                 [--listen 127.0.0.1:0] [--port-file F] [--accounts 100]
//
// The first run creates the invitation and writes it to F (the secondary's
// administrator is given it out of band); later runs find the connection
// in DIR and the secret in F. Exits 0 once the secondary acknowledged
// every change: the host's maintenance window may then begin.

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "embedded_org.h"
#include "orgsync/capture.h"
#include "orgsync/connection.h"
#include "orgsync/grpc_transport.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/runner.h"
#include "orgsync/status.h"

namespace {

using orgsync_example::EmbeddedOrg;
using orgsync_example::InvitationFile;
using orgsync_example::WaitFor;

constexpr absl::Duration kPatience = absl::Seconds(60);

// The connection this org is primary of: made and written to
// `invitation_path` on the first run, found again on later ones.
absl::StatusOr<InvitationFile> Invite(orgsync::Org& org,
                                      const std::string& invitation_path) {
  if (org.Connections().empty()) {
    orgsync::InvitationOptions options;
    options.owner = "alice@org-a";
    options.contact = "bob@org-b";
    ORGSYNC_ASSIGN_OR_RETURN(orgsync::Invitation invitation,
                             org.CreateInvitation(options, "alice@org-a"));
    const InvitationFile file{invitation.connection_id, invitation.secret_hex};
    ORGSYNC_RETURN_IF_ERROR(
        orgsync_example::WriteInvitationFile(invitation_path, file));
    fmt::print("org-a: invited org-b to connection {} ({})\n",
               invitation.connection_id, invitation_path);
    return file;
  }
  ORGSYNC_ASSIGN_OR_RETURN(
      InvitationFile file,
      orgsync_example::ReadInvitationFile(invitation_path));
  fmt::print("org-a: reopened connection {}\n", file.connection_id);
  return file;
}

// The host's own write path: store the record, then tell orgsync. (A host
// that must not lose a capture to a crash between the two makes the
// capture inside its write, as orgsync/capture.h describes.)
absl::Status WriteAccount(EmbeddedOrg& side, orgsync::Connection& connection,
                          int number) {
  orgsync::Record account;
  account.object = "Account";
  account.fields = {{"Name", fmt::format("Account {}", number)},
                    {"Phone", fmt::format("555-{:04d}", number)}};
  ORGSYNC_ASSIGN_OR_RETURN(account, side.store->Insert(account, {}));
  orgsync::LocalChange change;
  change.kind = orgsync::ChangeKind::kInsert;
  change.record = account;
  ORGSYNC_ASSIGN_OR_RETURN(orgsync::CaptureResult result,
                           connection.Capture(change));
  if (!result.captured) {
    return absl::InternalError("not captured: " + result.reason);
  }
  return absl::OkStatus();
}

absl::Status Run(std::map<std::string, std::string> flags) {
  ORGSYNC_ASSIGN_OR_RETURN(const int accounts,
                           orgsync_example::AccountsFlag(flags));
  // Declared first, so destroyed last: the org (which detaches its
  // connection) goes before the transport it is attached to.
  std::unique_ptr<orgsync::GrpcTransport> transport;
  ORGSYNC_ASSIGN_OR_RETURN(
      std::unique_ptr<EmbeddedOrg> side,
      orgsync_example::OpenEmbeddedOrg(flags["state"], "org-a", "A-"));
  ORGSYNC_ASSIGN_OR_RETURN(InvitationFile invitation,
                           Invite(*side->org, flags["invitation-file"]));
  ORGSYNC_ASSIGN_OR_RETURN(orgsync::Connection * connection,
                           side->org->GetConnection(invitation.connection_id));

  orgsync::GrpcTransportOptions transport_options;
  transport_options.address = flags["listen"];
  transport_options.connection_id = invitation.connection_id;
  transport_options.secret_hex = invitation.secret_hex;
  transport_options.tls = orgsync_example::ListenerTls(flags["tls-dir"]);
  transport_options.on_auth_failure = [](const absl::Status& why) {
    fmt::print("org-a: refused a stream: {}\n", why.ToString());
  };
  ORGSYNC_ASSIGN_OR_RETURN(
      transport, orgsync::GrpcTransport::Listen(std::move(transport_options)));
  ORGSYNC_RETURN_IF_ERROR(connection->AttachTransport(transport.get()));
  if (!flags["port-file"].empty()) {
    std::ofstream(flags["port-file"] + ".tmp") << transport->port() << '\n';
    std::filesystem::rename(flags["port-file"] + ".tmp", flags["port-file"]);
  }
  fmt::print("org-a: listening on port {} (mutual TLS)\n", transport->port());

  ORGSYNC_ASSIGN_OR_RETURN(
      std::unique_ptr<orgsync::Runner> runner,
      orgsync::Runner::Start(side->org.get(), orgsync::RunnerOptions{}));
  ORGSYNC_RETURN_IF_ERROR(WaitFor("org-b's acceptance", kPatience,
                                  [&] { return connection->accepted(); }));
  fmt::print("org-a: org-b accepted\n");
  if (!connection->publish_set()->IsObjectPublished("Account")) {
    ORGSYNC_RETURN_IF_ERROR(
        connection->publish_set()->PublishObject("Account"));
    runner->Wake();
  }
  ORGSYNC_RETURN_IF_ERROR(
      WaitFor("org-b to subscribe to Account", kPatience, [&] {
        return connection->publish_set()->IsPartnerSubscribed("Account");
      }));
  fmt::print("org-a: publishes Account; org-b subscribes\n");

  for (int i = 0; i < accounts; ++i) {
    ORGSYNC_RETURN_IF_ERROR(WriteAccount(*side, *connection, i));
    runner->Wake();
  }
  ORGSYNC_RETURN_IF_ERROR(WaitFor("org-b to acknowledge every change",
                                  kPatience,
                                  [&] { return connection->idle(); }));
  const orgsync::ConnectionCounters counters = connection->counters();
  fmt::print(
      "org-a: wrote and captured {} accounts; {} changes sent, {} "
      "acknowledged\n",
      accounts, counters.entries_sent, counters.entries_acknowledged);
  runner->Stop();
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  return orgsync_example::ExampleMain(
      "embed_primary",
      "--state DIR --invitation-file F --tls-dir D [--listen HOST:PORT] "
      "[--port-file F] [--accounts N]",
      argc, argv,
      {{"state", ""},
       {"invitation-file", ""},
       {"tls-dir", ""},
       {"listen", "127.0.0.1:0"},
       {"port-file", "-"},
       {"accounts", "100"}},
      &Run);
}
