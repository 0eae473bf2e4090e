// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Metadata sync (DESIGN.md R2, R4, R52, R73, R74) between two orgs joined by
// an in-process transport, each with an InMemoryMetadataStore, written as a
// host would: through the public headers only.

#include <catch2/catch.hpp>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "orgsync/connection.h"
#include "orgsync/metadata_store.h"
#include "orgsync/org.h"
#include "testing/connection_fixture.h"
#include "testing/storage_testing.h"

namespace orgsync::metadata_sync_test {
namespace {

using testing::RequireOk;
using S = ConnectionStatus;
using T = MetadataType;

// A store that refuses to write the items named in `refused` (a host whose
// secondary cannot take them, e.g. a class that does not compile there),
// and counts the writes it was asked for.
class RefusingMetadataStore final : public MetadataStore {
 public:
  absl::StatusOr<MetadataItem> Get(MetadataType type,
                                   std::string_view name) override {
    return store.Get(type, name);
  }
  absl::Status Upsert(MetadataItem item, const ApplyContext& context) override {
    ++upserts;
    if (refused.contains(item.name)) {
      return absl::FailedPreconditionError(item.name + " does not compile");
    }
    return store.Upsert(std::move(item), context);
  }
  absl::Status Rename(MetadataType type, std::string_view old_name,
                      std::string_view new_name,
                      const ApplyContext& context) override {
    return store.Rename(type, old_name, new_name, context);
  }
  absl::Status Scan(
      const std::function<bool(const MetadataItem&)>& visit) override {
    return store.Scan(visit);
  }

  InMemoryMetadataStore store;
  std::set<std::string> refused;
  int upserts = 0;
};

struct MetadataWorld {
  explicit MetadataWorld(bool secondary_has_store = true) {
    testing::TwoOrgsConfig config;
    config.primary_metadata_store = &primary_items;
    config.secondary_metadata_store =
        secondary_has_store ? &secondary_items : nullptr;
    config.metadata_sync_interval = absl::Hours(24);
    t = std::make_unique<testing::TwoOrgs>(
        1, testing::NewReopenableMemoryStorage(),
        testing::NewReopenableMemoryStorage(), std::move(config));
    invitation = testing::DefaultInvitation();
    invitation.sync = {.sync_feeds_and_audit_fields = false,
                       .sync_metadata = true,
                       .sync_users = false};
  }

  void Put(MetadataStore& store, T type, std::string name, std::string body) {
    RequireOk(store.Upsert(
        {.type = type, .name = std::move(name), .body = std::move(body)}, {}));
  }

  void Connect() { std::tie(p, s) = t->Connect(invitation); }

  void PumpUntilActive() {
    for (int round = 0; round < 200; ++round) {
      if (p->status() == S::kActive && s->status() == S::kActive) break;
      t->Pump();
    }
    REQUIRE(p->status() == S::kActive);
    REQUIRE(s->status() == S::kActive);
    REQUIRE(t->Settle());
  }

  // Pumps `rounds` rounds of one second (well within the daily interval).
  void Pump(int rounds) {
    for (int i = 0; i < rounds; ++i) t->Pump();
  }

  std::string Body(MetadataStore& store, T type, const std::string& name) {
    absl::StatusOr<MetadataItem> item = store.Get(type, name);
    if (absl::IsNotFound(item.status())) return "<none>";
    RequireOk(item.status());
    return item->body;
  }

  std::vector<HistoryEntry> HistoryOf(const Connection* side,
                                      HistoryEvent event) {
    auto history = side->History(HistoryQuery{.event = event});
    RequireOk(history.status());
    return *history;
  }

  InMemoryMetadataStore primary_items;
  RefusingMetadataStore secondary_items;
  std::unique_ptr<testing::TwoOrgs> t;
  InvitationOptions invitation;
  Connection* p = nullptr;
  Connection* s = nullptr;
};

TEST_CASE(
    "R2, R74: on acceptance the primary's supported metadata is copied, in "
    "batches, while both sides show Metadata Sync in Progress -- then Active",
    "[metadata]") {
  MetadataWorld w;
  // More custom fields than one push carries.
  for (int i = 0; i < 450; ++i) {
    w.Put(w.primary_items, T::kCustomField, "Invoice__c.F" + std::to_string(i),
          "<CustomField n=" + std::to_string(i) + "/>");
  }
  w.Put(w.primary_items, T::kApexClass, "InvoiceService", "class v1");
  w.Put(w.primary_items, T::kProfile, "Sales", "profile");
  // The secondary's own item, and one of the primary's it changed.
  w.Put(w.secondary_items, T::kLayout, "Local Layout", "mine");
  w.Put(w.secondary_items, T::kApexClass, "InvoiceService", "class edited");
  w.Connect();
  CHECK(w.p->status() == S::kMetadataSyncInProgress);
  CHECK(w.s->status() == S::kMetadataSyncInProgress);
  // The run is due before the first Step: work left.
  CHECK_FALSE(w.p->idle());
  w.PumpUntilActive();

  CHECK(w.secondary_items.store.size() == 453);
  CHECK(w.Body(w.secondary_items, T::kCustomField, "Invoice__c.F449") ==
        "<CustomField n=449/>");
  CHECK(w.Body(w.secondary_items, T::kApexClass, "InvoiceService") ==
        "class v1");
  // Deletes never sync: what only the secondary has stays.
  CHECK(w.Body(w.secondary_items, T::kLayout, "Local Layout") == "mine");
  // 452 items in batches of at most 200.
  CHECK(w.p->counters().metadata_pushes_sent == 3);
  for (Connection* side : {w.p, w.s}) {
    CHECK(w.HistoryOf(side, HistoryEvent::kMetadataSyncCompleted).size() == 1);
    CHECK(w.HistoryOf(side, HistoryEvent::kMetadataSyncFailure).empty());
  }
  CHECK(w.p->idle());
}

TEST_CASE(
    "R74: every interval the primary's inserts and updates reach the "
    "secondary, overwriting what was changed there -- unchanged items are not "
    "written again",
    "[metadata]") {
  MetadataWorld w;
  w.Put(w.primary_items, T::kRole, "Sales", "role v1");
  w.Put(w.primary_items, T::kLayout, "Invoice Layout", "layout v1");
  w.Put(w.primary_items, T::kApexPage, "Unchanged", "page");
  w.Connect();
  w.PumpUntilActive();
  const int writes_after_copy = w.secondary_items.upserts;
  CHECK(writes_after_copy == 3);

  w.Put(w.primary_items, T::kLayout, "Invoice Layout", "layout v2");
  w.Put(w.primary_items, T::kRecordType, "Invoice.Standard", "rt");
  w.Put(w.secondary_items, T::kRole, "Sales", "edited on the secondary");
  // Not before the day is over.
  w.Pump(60);
  CHECK(w.Body(w.secondary_items, T::kLayout, "Invoice Layout") ==
        "layout v1");
  w.t->clock.Advance(absl::Hours(24));
  REQUIRE(w.t->Settle());
  w.Pump(3);
  CHECK(w.Body(w.secondary_items, T::kLayout, "Invoice Layout") ==
        "layout v2");
  CHECK(w.Body(w.secondary_items, T::kRecordType, "Invoice.Standard") == "rt");
  CHECK(w.Body(w.secondary_items, T::kRole, "Sales") == "role v1");
  // The secondary's own edit plus three writes; the unchanged items of the
  // primary were compared, not written.
  CHECK(w.secondary_items.upserts == writes_after_copy + 1 + 3);
  CHECK(w.HistoryOf(w.p, HistoryEvent::kMetadataSyncCompleted).size() == 2);
  // The option is the primary's (R74).
  CHECK(w.s->UpdateSyncOptions({.sync_metadata = false}, "admin").code() ==
        absl::StatusCode::kFailedPrecondition);
}

TEST_CASE(
    "R74: top-level renames the primary's host reports sync as renames "
    "before the run's items -- other renames are refused",
    "[metadata]") {
  MetadataWorld w;
  w.Put(w.primary_items, T::kPermissionSet, "Invoicing", "perms");
  w.Connect();
  w.PumpUntilActive();

  RequireOk(w.primary_items.Rename(T::kPermissionSet, "Invoicing",
                                   "Invoicing EMEA", {}));
  absl::StatusOr<CaptureResult> renamed = w.p->CaptureMetadataRename(
      T::kPermissionSet, "Invoicing", "Invoicing EMEA");
  RequireOk(renamed.status());
  CHECK(renamed->captured);
  CHECK(w.p->CaptureMetadataRename(T::kCustomField, "A__c", "B__c")
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
  CHECK(w.p->CaptureMetadataRename(T::kRole, "Same", "Same").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(w.s->CaptureMetadataRename(T::kRole, "A", "B").status().code() ==
        absl::StatusCode::kFailedPrecondition);

  w.t->clock.Advance(absl::Hours(24));
  REQUIRE(w.t->Settle());
  w.Pump(3);
  CHECK(w.Body(w.secondary_items, T::kPermissionSet, "Invoicing EMEA") ==
        "perms");
  // Renamed, not copied: the old name is gone.
  CHECK(w.Body(w.secondary_items, T::kPermissionSet, "Invoicing") ==
        "<none>");
  CHECK(w.secondary_items.store.size() == 1);
}

TEST_CASE(
    "R73: turning sync metadata off and on pushes all supported metadata at "
    "once -- while off nothing is pushed",
    "[metadata]") {
  MetadataWorld w;
  w.Put(w.primary_items, T::kApexPage, "InvoicePage", "page v1");
  w.Connect();
  w.PumpUntilActive();
  const uint64_t pushes = w.p->counters().metadata_pushes_sent;

  RequireOk(w.p->UpdateSyncOptions({.sync_metadata = false}, "admin"));
  w.Put(w.primary_items, T::kApexPage, "InvoicePage", "page v2");
  w.t->clock.Advance(absl::Hours(25));
  w.Pump(5);
  CHECK(w.p->counters().metadata_pushes_sent == pushes);
  CHECK(w.Body(w.secondary_items, T::kApexPage, "InvoicePage") == "page v1");

  RequireOk(w.p->UpdateSyncOptions({.sync_metadata = true}, "admin"));
  w.Pump(5);
  CHECK(w.Body(w.secondary_items, T::kApexPage, "InvoicePage") == "page v2");
  CHECK(w.p->counters().metadata_pushes_sent == pushes + 1);
}

TEST_CASE(
    "R52, R4: an item the secondary cannot write is logged in both "
    "histories at once and never retried -- the rest of the run goes on",
    "[metadata]") {
  MetadataWorld w;
  w.secondary_items.refused = {"Broken"};
  w.Put(w.primary_items, T::kApexClass, "Broken", "class {");
  w.Put(w.primary_items, T::kApexClass, "Fine", "class {}");
  w.Connect();
  w.PumpUntilActive();
  w.Pump(120);  // well past the ack timeout: nothing is sent again

  CHECK(w.Body(w.secondary_items, T::kApexClass, "Fine") == "class {}");
  CHECK(w.Body(w.secondary_items, T::kApexClass, "Broken") == "<none>");
  CHECK(w.secondary_items.upserts == 2);
  CHECK(w.p->counters().metadata_pushes_sent == 1);
  for (Connection* side : {w.p, w.s}) {
    std::vector<HistoryEntry> failures =
        w.HistoryOf(side, HistoryEvent::kMetadataSyncFailure);
    REQUIRE(failures.size() == 1);
    CHECK_THAT(failures.front().detail,
               Catch::Contains("Apex Class Broken") &&
                   Catch::Contains("does not compile"));
  }
  // The phase still ends (R2): a failure does not hold the connection.
  std::vector<HistoryEntry> completed =
      w.HistoryOf(w.p, HistoryEvent::kMetadataSyncCompleted);
  REQUIRE(completed.size() == 1);
  CHECK_THAT(completed.front().detail, Catch::Contains("1 batches with"));
}

TEST_CASE(
    "R74, R2: a secondary without a metadata store refuses the pushes, the "
    "primary logs it, and both sides still leave Metadata Sync in Progress",
    "[metadata]") {
  MetadataWorld w(/*secondary_has_store=*/false);
  w.Put(w.primary_items, T::kRole, "Sales", "role");
  w.Connect();
  w.PumpUntilActive();
  std::vector<HistoryEntry> failures =
      w.HistoryOf(w.p, HistoryEvent::kMetadataSyncFailure);
  REQUIRE(failures.size() == 1);
  CHECK_THAT(failures.front().detail, Catch::Contains("no metadata store"));
}

TEST_CASE(
    "R74: a run interrupted by a restart of both orgs continues from the "
    "last answered batch and completes with every item",
    "[metadata]") {
  MetadataWorld w;
  for (int i = 0; i < 500; ++i) {
    w.Put(w.primary_items, T::kCustomField, "Invoice__c.F" + std::to_string(i),
          "f" + std::to_string(i));
  }
  w.Connect();
  // Until the first batch is answered.
  for (int round = 0; round < 50 && w.secondary_items.store.size() < 200;
       ++round) {
    w.t->Pump();
  }
  REQUIRE(w.secondary_items.store.size() >= 200);
  REQUIRE(w.p->status() == S::kMetadataSyncInProgress);
  w.t->Reopen("conn-1");
  w.p = *w.t->primary->GetConnection("conn-1");
  w.s = *w.t->secondary->GetConnection("conn-1");
  CHECK(w.p->status() == S::kMetadataSyncInProgress);
  w.PumpUntilActive();
  CHECK(w.secondary_items.store.size() == 500);
  // The items already answered were not pushed again: at most the batch in
  // flight at the restart was.
  CHECK(w.secondary_items.upserts == 500);
}

}  // namespace
}  // namespace orgsync::metadata_sync_test
