// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Design rule 2 for a host trigger: a host that adapts its triggers to
// replicated writes (R3) may, inside the RecordStore call apply makes, write
// another record and capture it -- on the step thread, while the envelope's
// writes are deferred to one flush (storage/deferred_sync_storage.h). That
// Capture used to go through the deferred storage: it returned OK with its
// queue entry not yet durable, and a crash before the envelope's flush lost
// a change the host had been told was safe. The simulation found it (a host
// write racing apply, captured from the store call, vanished after a crash
// in the same envelope). Captures now write to the undeferred storage.

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "orgsync/capture.h"
#include "orgsync/connection.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "testing/connection_fixture.h"
#include "testing/record_sync_pair.h"
#include "testing/storage_testing.h"

namespace orgsync::trigger_capture_test {
namespace {

using testing::RequireOk;

constexpr char kConnection[] = "conn-1";

// After replication inserts an account, the host's trigger inserts an
// "audit" account of its own and captures it; then the process dies: every
// later write is refused, as if the power went.
class TriggerStore final : public ForwardingRecordStore {
 public:
  using ForwardingRecordStore::ForwardingRecordStore;

  absl::StatusOr<Record> Insert(Record record,
                                const ApplyContext& context) override {
    absl::StatusOr<Record> inserted =
        ForwardingRecordStore::Insert(std::move(record), context);
    if (!inserted.ok() || !context.from_replication || connection == nullptr) {
      return inserted;
    }
    Record audit;
    audit.object = "Account";
    audit.fields = {{"Name", std::string("audit of ") + inserted->id}};
    absl::StatusOr<Record> written =
        target()->Insert(std::move(audit), ApplyContext{});
    RequireOk(written.status());
    LocalChange change;
    change.kind = ChangeKind::kInsert;
    change.record = *written;
    absl::StatusOr<CaptureResult> captured = connection->Capture(change);
    RequireOk(captured.status());
    REQUIRE(captured->captured);
    triggered_id = written->id;
    triggered_name = "audit of " + inserted->id;
    faults->SetWriteHook([](const WriteBatch&, const WriteOptions&) {
      return absl::UnavailableError("the process died");
    });
    connection = nullptr;  // fires once
    return inserted;
  }

  Connection* connection = nullptr;  // set: the trigger is armed
  testing::FaultInjectingStorage* faults = nullptr;
  std::string triggered_id;
  std::string triggered_name;
};

TEST_CASE(
    "Design rule 2, R3: a change a host trigger captures inside apply is "
    "durable when Capture returns, even if the process dies before the "
    "envelope's flush",
    "[records]") {
  Schema primary_schema;
  Schema secondary_schema;
  testing::FillCrmSchema(&primary_schema);
  testing::FillCrmSchema(&secondary_schema);
  testing::ForwardingClock store_clock;
  std::unique_ptr<RecordStore> primary_store =
      testing::NewCrmRecordStore(&primary_schema, &store_clock, "P-");
  std::unique_ptr<RecordStore> secondary_inner =
      testing::NewCrmRecordStore(&secondary_schema, &store_clock, "S-");
  TriggerStore secondary_store(secondary_inner.get());
  testing::TwoOrgsConfig config;
  config.primary_schema = &primary_schema;
  config.secondary_schema = &secondary_schema;
  config.primary_record_store = primary_store.get();
  config.secondary_record_store = &secondary_store;
  auto secondary_storage = std::make_unique<testing::FaultyReopenableStorage>(
      testing::NewReopenableMemoryStorage());
  testing::FaultyReopenableStorage* faulty = secondary_storage.get();
  testing::TwoOrgs t(3, testing::NewReopenableMemoryStorage(),
                     std::move(secondary_storage), std::move(config));
  store_clock.target = &t.clock;
  InvitationOptions options = testing::DefaultInvitation(kConnection);
  options.sync = {};
  auto [primary, secondary] = t.Connect(options);
  for (auto [from, to] :
       {std::pair{primary, secondary}, std::pair{secondary, primary}}) {
    RequireOk(from->publish_set()->PublishObjects({"Account"}));
    REQUIRE(t.Settle());
    RequireOk(to->subscription_map()->Subscribe("Account"));
    REQUIRE(t.Settle());
  }

  Record account;
  account.object = "Account";
  account.fields = {{"Name", std::string("Acme")}};
  absl::StatusOr<Record> inserted =
      primary_store->Insert(std::move(account), ApplyContext{});
  RequireOk(inserted.status());
  LocalChange change;
  change.kind = ChangeKind::kInsert;
  change.record = *inserted;
  RequireOk(primary->Capture(change).status());
  secondary_store.connection = secondary;
  secondary_store.faults = faulty->faults();
  // Deliver until the secondary applied the insert (and its trigger ran);
  // the secondary does not step on its own: its process is dead by then.
  for (int i = 0; i < 20 && secondary_store.triggered_id.empty(); ++i) {
    RequireOk(t.primary->Step().status());
    t.pair.Step();
    t.clock.Advance(absl::Seconds(1));
  }
  REQUIRE_FALSE(secondary_store.triggered_id.empty());

  // The crash drops what was not synced; the trigger's change is queued.
  t.Reopen(kConnection);
  absl::StatusOr<Connection*> reopened =
      t.secondary->GetConnection(kConnection);
  RequireOk(reopened.status());
  absl::StatusOr<bool> queued = (*reopened)->record_queue()->HasPending(
      {"Account", secondary_store.triggered_id});
  RequireOk(queued.status());
  CHECK(*queued);

  // And it reaches the primary.
  REQUIRE(t.Settle());
  absl::StatusOr<std::optional<std::string>> in_primary =
      (*reopened)->PartnerRecordId("Account", secondary_store.triggered_id);
  RequireOk(in_primary.status());
  REQUIRE(in_primary->has_value());
  absl::StatusOr<Record> copy = primary_store->Get("Account", **in_primary);
  RequireOk(copy.status());
  CHECK(std::get<std::string>(copy->fields["Name"]) ==
        secondary_store.triggered_name);
}

}  // namespace
}  // namespace orgsync::trigger_capture_test
