// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Example: embed the secondary org in a host process. Given the primary's
// invitation (embed_primary writes it), the host accepts it, dials the
// primary over gRPC with mutual TLS, subscribes to Account once the
// primary publishes it, and then only watches: orgsync writes the
// primary's records into the host's store in the background, each marked
// from_replication (ApplyContext) so the host's own triggers can tell.
//
//   embed_secondary --state DIR --invitation-file F --tls-dir D
//                   --primary HOST:PORT [--accounts 100]
//
// Exits 0 once the store holds the expected accounts and the primary,
// having heard every change acknowledged, has gone.

#include <fmt/format.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "embedded_org.h"
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

// Live accounts in the host's store, or -1 if it cannot be read.
int CountAccounts(EmbeddedOrg& side) {
  int live = 0;
  const absl::Status scanned = side.store->Scan(
      "Account", absl::InfinitePast(), [&](const orgsync::Record& record) {
        if (!record.deleted) ++live;
        return true;
      });
  return scanned.ok() ? live : -1;
}

absl::Status Run(std::map<std::string, std::string> flags) {
  ORGSYNC_ASSIGN_OR_RETURN(const int accounts,
                           orgsync_example::AccountsFlag(flags));
  // Declared first, so destroyed last: the org (which detaches its
  // connection) goes before the transport it is attached to.
  std::unique_ptr<orgsync::GrpcTransport> transport;
  ORGSYNC_ASSIGN_OR_RETURN(
      std::unique_ptr<EmbeddedOrg> side,
      orgsync_example::OpenEmbeddedOrg(flags["state"], "org-b", "B-"));
  ORGSYNC_ASSIGN_OR_RETURN(
      InvitationFile invitation,
      orgsync_example::ReadInvitationFile(flags["invitation-file"]));

  orgsync::GrpcTransportOptions transport_options;
  transport_options.address = flags["primary"];
  transport_options.connection_id = invitation.connection_id;
  transport_options.secret_hex = invitation.secret_hex;
  transport_options.tls = orgsync_example::DialerTls(flags["tls-dir"]);
  ORGSYNC_ASSIGN_OR_RETURN(
      transport, orgsync::GrpcTransport::Dial(std::move(transport_options)));

  // Accepted once, durably; a restart attaches the transport again.
  orgsync::Connection* connection = nullptr;
  if (absl::StatusOr<orgsync::Connection*> known =
          side->org->GetConnection(invitation.connection_id);
      known.ok() && (*known)->accepted()) {
    connection = *known;
    ORGSYNC_RETURN_IF_ERROR(connection->AttachTransport(transport.get()));
    fmt::print("org-b: reopened connection {}\n", invitation.connection_id);
  } else {
    ORGSYNC_ASSIGN_OR_RETURN(
        connection, side->org->AcceptInvitation(invitation.connection_id,
                                                invitation.secret_hex,
                                                transport.get(), "bob@org-b"));
    // The acceptance goes out at once if the stream is up; otherwise it is
    // sent again once the dialer reached org-a.
    absl::Status failure;
    ORGSYNC_RETURN_IF_ERROR(WaitFor("org-a to confirm", kPatience, [&] {
      const absl::Status status = connection->acceptance_status();
      if (status.ok() || absl::IsPermissionDenied(status)) return true;
      if (absl::IsUnavailable(status) && connection->partner_available()) {
        const absl::Status sent = connection->SendAcceptance();
        if (!sent.ok() && !absl::IsUnavailable(sent)) failure = sent;
      }
      return !failure.ok();
    }));
    ORGSYNC_RETURN_IF_ERROR(failure);
    ORGSYNC_RETURN_IF_ERROR(connection->acceptance_status());
    fmt::print("org-b: accepted the invitation to connection {}\n",
               invitation.connection_id);
  }

  ORGSYNC_ASSIGN_OR_RETURN(
      std::unique_ptr<orgsync::Runner> runner,
      orgsync::Runner::Start(side->org.get(), orgsync::RunnerOptions{}));
  ORGSYNC_RETURN_IF_ERROR(WaitFor("org-a to publish Account", kPatience, [&] {
    return connection->subscription_map()->IsPartnerPublished("Account");
  }));
  if (!connection->subscription_map()->IsSubscribed("Account")) {
    ORGSYNC_RETURN_IF_ERROR(
        connection->subscription_map()->Subscribe("Account"));
    runner->Wake();
  }
  fmt::print("org-b: subscribes to Account, every field\n");

  ORGSYNC_RETURN_IF_ERROR(
      WaitFor(fmt::format("{} accounts from org-a", accounts), kPatience,
              [&] { return CountAccounts(*side) >= accounts; }));
  fmt::print("org-b: holds {} accounts, {} changes applied\n",
             CountAccounts(*side), connection->counters().items_applied);
  // The primary leaves once it heard every change acknowledged; leaving
  // first could take unsent acknowledgements along.
  ORGSYNC_RETURN_IF_ERROR(WaitFor("org-a to finish", kPatience, [&] {
    return !connection->partner_available();
  }));
  fmt::print("org-b: org-a went away; the connection is {}\n",
             orgsync::ConnectionStatusName(connection->status()));
  runner->Stop();
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  return orgsync_example::ExampleMain(
      "embed_secondary",
      "--state DIR --invitation-file F --tls-dir D --primary HOST:PORT "
      "[--accounts N]",
      argc, argv,
      {{"state", ""},
       {"invitation-file", ""},
       {"tls-dir", ""},
       {"primary", ""},
       {"accounts", "100"}},
      &Run);
}
