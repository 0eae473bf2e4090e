// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/connection_fixture.h"

#include <catch2/catch.hpp>
#include <utility>

#include "testing/temp_dir.h"

namespace orgsync::testing {
namespace {

class MemoryReopenable final : public ReopenableStorage {
 public:
  MemoryReopenable() : storage_(NewMemoryStorage()) {}
  std::string name() const override { return "memory"; }
  Storage* storage() override { return storage_.get(); }
  void Reopen() override { storage_->SimulateCrash(); }

 private:
  std::unique_ptr<MemoryStorage> storage_;
};

// LevelDB in a temporary folder; Reopen closes the database and opens the
// folder again, as a process restart would.
class LevelDbReopenable final : public ReopenableStorage {
 public:
  LevelDbReopenable() { Open(); }
  std::string name() const override { return "leveldb"; }
  Storage* storage() override { return storage_.get(); }
  void Reopen() override {
    storage_.reset();
    Open();
  }

 private:
  void Open() {
    auto storage = OpenLevelDbStorage(dir_.Sub("state"));
    RequireOk(storage.status());
    storage_ = std::move(*storage);
  }

  TempDir dir_;
  std::unique_ptr<Storage> storage_;
};

std::unique_ptr<Org> OpenOrg(const std::string& id, Storage* storage,
                             Clock* clock) {
  auto org =
      Org::Open({.org_id = id, .org_name = id + " name"}, storage, clock);
  RequireOk(org.status());
  return std::move(*org);
}

}  // namespace

std::unique_ptr<ReopenableStorage> NewReopenableMemoryStorage() {
  return std::make_unique<MemoryReopenable>();
}

std::vector<std::function<std::unique_ptr<ReopenableStorage>()>>
ReopenableStorageFactories() {
  return {NewReopenableMemoryStorage,
          [] { return std::make_unique<LevelDbReopenable>(); }};
}

void RequireOk(const absl::Status& status) {
  INFO(status.ToString());
  REQUIRE(status.ok());
}

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
