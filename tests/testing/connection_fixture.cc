// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/connection_fixture.h"

#include <catch2/catch.hpp>
#include <utility>

namespace orgsync::testing {
namespace {

std::unique_ptr<Org> OpenOrg(const std::string& id, Storage* storage,
                             Clock* clock) {
  auto org =
      Org::Open({.org_id = id, .org_name = id + " name"}, storage, clock);
  RequireOk(org.status());
  return std::move(*org);
}

}  // namespace

InvitationOptions DefaultInvitation(std::string connection_id) {
  InvitationOptions options;
  options.connection_id = std::move(connection_id);
  options.sync = {.sync_feeds_and_audit_fields = true,
                  .sync_metadata = true,
                  .sync_users = true};
  options.owner = "alice@a";
  options.contact = "bob@b";
  return options;
}

TwoOrgs::TwoOrgs(uint64_t seed,
                 std::unique_ptr<ReopenableStorage> primary_storage_in,
                 std::unique_ptr<ReopenableStorage> secondary_storage_in)
    : pair(seed),
      primary_storage(std::move(primary_storage_in)),
      secondary_storage(std::move(secondary_storage_in)) {
  primary = OpenOrg("org-a", primary_storage->storage(), &clock);
  secondary = OpenOrg("org-b", secondary_storage->storage(), &clock);
}

TwoOrgs::~TwoOrgs() {
  // The orgs detach from the pair's endpoints; they go first.
  primary.reset();
  secondary.reset();
}

Invitation TwoOrgs::Invite(const InvitationOptions& options) {
  auto invitation = primary->CreateInvitation(options, "alice@a");
  RequireOk(invitation.status());
  auto connection = primary->GetConnection(invitation->connection_id);
  RequireOk(connection.status());
  RequireOk((*connection)->AttachTransport(pair.a()));
  return *invitation;
}

std::pair<Connection*, Connection*> TwoOrgs::Connect(
    const InvitationOptions& options) {
  const Invitation invitation = Invite(options);
  auto accepted = secondary->AcceptInvitation(
      invitation.connection_id, invitation.secret_hex, pair.b(), "bob@b");
  RequireOk(accepted.status());
  REQUIRE(pair.RunUntilIdle());
  Connection* p = *primary->GetConnection(invitation.connection_id);
  Connection* s = *accepted;
  REQUIRE(p->accepted());
  REQUIRE(s->accepted());
  return {p, s};
}

void TwoOrgs::Reopen(const std::string& connection_id) {
  primary.reset();
  secondary.reset();
  primary_storage->Reopen();
  secondary_storage->Reopen();
  primary = OpenOrg("org-a", primary_storage->storage(), &clock);
  secondary = OpenOrg("org-b", secondary_storage->storage(), &clock);
  if (auto c = primary->GetConnection(connection_id); c.ok()) {
    RequireOk((*c)->AttachTransport(pair.a()));
  }
  if (auto c = secondary->GetConnection(connection_id); c.ok()) {
    RequireOk((*c)->AttachTransport(pair.b()));
  }
}

}  // namespace orgsync::testing
