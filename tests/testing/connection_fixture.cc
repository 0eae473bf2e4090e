// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/connection_fixture.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "orgsync/publish_set.h"
#include "orgsync/subscription_map.h"

namespace orgsync::testing {
namespace {

std::unique_ptr<Org> OpenOrg(const std::string& id, const Schema* schema,
                             RecordStore* record_store,
                             const TwoOrgsConfig& config, Storage* storage,
                             Clock* clock) {
  auto org = Org::Open({.org_id = id,
                        .org_name = id + " name",
                        .schema = schema,
                        .queue = config.queue,
                        .log = config.log,
                        .delivery = config.delivery,
                        .record_store = record_store,
                        .conflict_resolver = config.conflict_resolver,
                        .user_exists = config.user_exists,
                        .user_directory = id == "org-a"
                                              ? config.primary_user_directory
                                              : config.secondary_user_directory,
                        .metadata_store =
                            id == "org-a" ? config.primary_metadata_store
                                          : config.secondary_metadata_store,
                        .metadata_sync_interval = config.metadata_sync_interval,
                        .max_file_bytes = config.max_file_bytes,
                        .queue_report_interval = config.queue_report_interval,
                        .queue_report = id == "org-a"
                                            ? config.primary_queue_report
                                            : config.secondary_queue_report,
                        .connection_events = id == "org-a"
                                                 ? config.primary_events
                                                 : config.secondary_events,
                        .bulk_sync_progress =
                            id == "org-a" ? config.primary_bulk_progress
                                          : config.secondary_bulk_progress},
                       storage, clock);
  RequireOk(org.status());
  return std::move(*org);
}

}  // namespace

std::unique_ptr<RecordStore> NewCrmRecordStore(const Schema* schema,
                                               Clock* clock,
                                               std::string id_prefix) {
  RecordStoreOptions options;
  options.schema = schema;
  options.clock = clock;
  options.id_prefix = std::move(id_prefix);
  options.user = "U1";
  absl::StatusOr<std::unique_ptr<RecordStore>> store =
      NewInMemoryRecordStore(std::move(options));
  RequireOk(store.status());
  return *std::move(store);
}

std::vector<LogEntry> LogOf(const Connection* connection) {
  LogQuery query;
  query.newest_first = false;
  auto page = connection->sync_log()->Query(query, "", SyncLog::kMaxPageSize);
  RequireOk(page.status());
  return page->entries;
}

void CaptureWrite(Connection* connection, ChangeKind kind, const Record& record,
                  std::vector<std::string> changed_fields) {
  LocalChange change;
  change.kind = kind;
  change.record = record;
  change.changed_fields = std::move(changed_fields);
  absl::StatusOr<CaptureResult> captured = connection->Capture(change);
  RequireOk(captured.status());
  REQUIRE(captured->captured);
}

Record InsertCapturedAccount(RecordStore* store, Connection* connection,
                             std::string phone) {
  Record account;
  account.object = "Account";
  account.fields = {{"Name", std::string("Acme")}, {"Phone", std::move(phone)}};
  absl::StatusOr<Record> inserted =
      store->Insert(std::move(account), ApplyContext{});
  RequireOk(inserted.status());
  CaptureWrite(connection, ChangeKind::kInsert, *inserted);
  return *std::move(inserted);
}

void FlowObjects(TwoOrgs& orgs, Connection* from, Connection* to,
                 const std::vector<std::string>& objects) {
  RequireOk(from->publish_set()->PublishObjects(objects));
  REQUIRE(orgs.Settle());
  for (const std::string& object : objects) {
    RequireOk(to->subscription_map()->Subscribe(object));
  }
  REQUIRE(orgs.Settle());
  for (const std::string& object : objects) {
    REQUIRE(from->publish_set()->IsPartnerSubscribed(object));
  }
}

std::string LinkedPartnerId(Connection* connection, std::string_view object,
                            std::string_view id) {
  absl::StatusOr<std::optional<std::string>> partner_id =
      connection->PartnerRecordId(object, id);
  RequireOk(partner_id.status());
  REQUIRE(partner_id->has_value());
  return **partner_id;
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

FaultyReopenableStorage::FaultyReopenableStorage(
    std::unique_ptr<ReopenableStorage> inner)
    : inner_(std::move(inner)),
      faults_(std::make_unique<FaultInjectingStorage>(inner_->storage())) {}

std::string FaultyReopenableStorage::name() const {
  return "faulty " + inner_->name();
}

void FaultyReopenableStorage::Reopen() {
  faults_.reset();
  inner_->Reopen();
  faults_ = std::make_unique<FaultInjectingStorage>(inner_->storage());
}

TwoOrgs::TwoOrgs(uint64_t seed,
                 std::unique_ptr<ReopenableStorage> primary_storage_in,
                 std::unique_ptr<ReopenableStorage> secondary_storage_in,
                 TwoOrgsConfig config_in)
    : config(std::move(config_in)),
      pair(seed),
      primary_storage(std::move(primary_storage_in)),
      secondary_storage(std::move(secondary_storage_in)) {
  OpenOrgs();
}

void TwoOrgs::OpenOrgs() {
  primary = OpenOrg("org-a", config.primary_schema,
                    config.primary_record_store, config,
                    primary_storage->storage(), &clock);
  secondary = OpenOrg("org-b", config.secondary_schema,
                      config.secondary_record_store, config,
                      secondary_storage->storage(), &secondary_clock);
}

void TwoOrgs::Pump(absl::Duration tick) {
  RequireOk(primary->Step().status());
  RequireOk(secondary->Step().status());
  pair.Step();
  clock.Advance(tick);
}

bool TwoOrgs::Settle(size_t max_rounds, absl::Duration tick) {
  auto queued = [](const Org& org) {
    uint64_t count = 0;
    for (const Connection* c : org.Connections()) {
      // A deactivated connection never sends its queue.
      if (c->status() != ConnectionStatus::kDeactivated) {
        count += c->record_queue()->Count();
      }
    }
    return count;
  };
  for (size_t round = 0; round < max_rounds; ++round) {
    if (queued(*primary) == 0 && queued(*secondary) == 0 &&
        pair.InFlight() == 0) {
      return true;
    }
    Pump(tick);
  }
  return false;
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
  OpenOrgs();
  if (auto c = primary->GetConnection(connection_id); c.ok()) {
    RequireOk((*c)->AttachTransport(pair.a()));
  }
  if (auto c = secondary->GetConnection(connection_id); c.ok()) {
    RequireOk((*c)->AttachTransport(pair.b()));
  }
}

}  // namespace orgsync::testing
