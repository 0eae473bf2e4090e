// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// What the small examples (watch_sync_log, custom_transport,
// custom_record_store; embed_primary and embed_secondary use main()) share, so that each file shows only its own task:
// two orgs in memory, each with its host's record store, invited and
// accepted over a Transport; a captured write; settling two orgs over the
// in-process pair; and main(). Public headers only, as a host would.

#ifndef ORGSYNC_EXAMPLES_EXAMPLE_ORGS_H_
#define ORGSYNC_EXAMPLES_EXAMPLE_ORGS_H_

#include <fmt/format.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/status.h"
#include "orgsync/storage.h"
#include "orgsync/transport.h"

namespace orgsync_example {

inline orgsync::FieldDef Field(std::string name, orgsync::FieldType type) {
  return orgsync::FieldDef{.name = std::move(name), .type = type};
}

// The audit fields every published object carries.
inline std::vector<orgsync::FieldDef> AuditFields() {
  return {Field("CreatedBy", orgsync::FieldType::kUserReference),
          Field("CreatedDate", orgsync::FieldType::kDateTime),
          Field("LastModifiedBy", orgsync::FieldType::kUserReference),
          Field("LastModifiedDate", orgsync::FieldType::kDateTime)};
}

// One org in memory, its host's record store, and its connection.
struct Side {
  orgsync::Schema schema;
  std::unique_ptr<orgsync::Storage> storage = orgsync::NewMemoryStorage();
  std::unique_ptr<orgsync::RecordStore> store;
  std::unique_ptr<orgsync::Org> org;
  orgsync::Connection* connection = nullptr;
};

// Opens side.org over side.schema and side.store (both set before);
// `tune` may change the options first.
inline absl::Status OpenOrg(
    Side& side, const std::string& org_id, orgsync::Clock* clock,
    const std::function<void(orgsync::OrgOptions&)>& tune = {}) {
  orgsync::OrgOptions options;
  options.org_id = org_id;
  options.org_name = org_id;
  options.schema = &side.schema;
  options.record_store = side.store.get();
  if (tune) tune(options);
  ORGSYNC_ASSIGN_OR_RETURN(
      side.org, orgsync::Org::Open(options, side.storage.get(), clock));
  return absl::OkStatus();
}

// The primary invites over `to_secondary`; the secondary accepts with the
// secret over `to_primary`. The handshake still has to be delivered.
inline absl::Status Connect(Side& primary, orgsync::Transport* to_secondary,
                            Side& secondary, orgsync::Transport* to_primary) {
  orgsync::InvitationOptions invitation_options;
  invitation_options.owner = "alice@org-a";
  invitation_options.contact = "bob@org-b";
  ORGSYNC_ASSIGN_OR_RETURN(
      orgsync::Invitation invitation,
      primary.org->CreateInvitation(invitation_options, "alice@org-a"));
  ORGSYNC_ASSIGN_OR_RETURN(primary.connection, primary.org->GetConnection(
                                                   invitation.connection_id));
  ORGSYNC_RETURN_IF_ERROR(primary.connection->AttachTransport(to_secondary));
  ORGSYNC_ASSIGN_OR_RETURN(
      secondary.connection,
      secondary.org->AcceptInvitation(invitation.connection_id,
                                      invitation.secret_hex, to_primary,
                                      "bob@org-b"));
  return absl::OkStatus();
}

// The host's capture of a write it made to `record`.
inline absl::Status Capture(Side& side, orgsync::ChangeKind kind,
                            const orgsync::Record& record,
                            std::vector<std::string> changed_fields = {}) {
  orgsync::LocalChange change;
  change.kind = kind;
  change.record = record;
  change.changed_fields = std::move(changed_fields);
  ORGSYNC_ASSIGN_OR_RETURN(orgsync::CaptureResult result,
                           side.connection->Capture(change));
  if (!result.captured) {
    return absl::InternalError("not captured: " + result.reason);
  }
  return absl::OkStatus();
}

// Both orgs step and the pair delivers, `tick` passing each round, until
// nothing is queued or in flight.
inline absl::Status Settle(Side& a, Side& b,
                           orgsync::InProcessTransportPair& pair,
                           orgsync::ManualClock& clock, absl::Duration tick) {
  for (int round = 0; round < 1000; ++round) {
    ORGSYNC_RETURN_IF_ERROR(a.org->Step().status());
    ORGSYNC_RETURN_IF_ERROR(b.org->Step().status());
    pair.Step();
    clock.Advance(tick);
    if (a.connection->idle() && b.connection->idle() && pair.InFlight() == 0) {
      return absl::OkStatus();
    }
  }
  return absl::DeadlineExceededError("the orgs never settled");
}

// main(): runs `run`, prints its error or "<program>: done.", exit status.
inline int Main(std::string_view program,
                const std::function<absl::Status()>& run) {
  const absl::Status status = run();
  if (!status.ok()) {
    fmt::print(stderr, "{}: {}\n", program, status.ToString());
    return EXIT_FAILURE;
  }
  fmt::print("{}: done.\n", program);
  return EXIT_SUCCESS;
}

}  // namespace orgsync_example

#endif  // ORGSYNC_EXAMPLES_EXAMPLE_ORGS_H_
