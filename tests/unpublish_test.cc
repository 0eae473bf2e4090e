// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// R20 at the edges of the unpublish notice's journey: changes that were
// queued or on their way when an object was unpublished must leave the two
// orgs' record links agreeing -- a record linked on one side is linked to
// the same record on the other, or on neither -- so that a later bulk sync
// copies each disconnected record exactly once. Written against the public
// headers, as a host would.

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orgsync/bulk_sync.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/publish_set.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/subscription_map.h"
#include "orgsync/sync_log.h"
#include "testing/connection_fixture.h"
#include "testing/crm_orgs.h"
#include "testing/storage_testing.h"

namespace orgsync::unpublish_test {
namespace {

using testing::RequireOk;
using Strings = std::vector<std::string>;

// Two orgs with a CRM RecordStore each, connected; changes retried soon.
struct World : testing::CrmOrgs {
  World()
      : CrmOrgs([](testing::TwoOrgsConfig& config) {
          config.queue.retry = {.initial_delay = absl::Seconds(2),
                                .multiplier = 2.0,
                                .max_delay = absl::Seconds(10),
                                .jitter = 0.0,
                                .max_attempts = 10};
        }) {}

  // `from` publishes Account, `to` subscribes it.
  void Flow(Connection* from, Connection* to) {
    CrmOrgs::Flow(from, to, {"Account"});
  }

  static std::optional<std::string> PartnerOf(Connection* on,
                                              const std::string& id) {
    return CrmOrgs::PartnerOf(on, "Account", id);
  }

  // An Account named `name` inserted in `store` and captured on `on`.
  Record Insert(RecordStore* store, Connection* on, const std::string& name) {
    t->clock.Advance(absl::Milliseconds(1));
    Record record;
    record.object = "Account";
    record.fields = {{"Name", name}};
    absl::StatusOr<Record> inserted =
        store->Insert(std::move(record), ApplyContext{});
    RequireOk(inserted.status());
    testing::CaptureWrite(on, ChangeKind::kInsert, *inserted);
    return *inserted;
  }

  // Every Account of `store` whose Name is `name`, by id.
  static Strings Named(RecordStore* store, const std::string& name) {
    Strings ids;
    RequireOk(
        store->Scan("Account", absl::InfinitePast(), [&](const Record& record) {
          auto it = record.fields.find("Name");
          if (it != record.fields.end() && it->second == FieldValue(name)) {
            ids.push_back(record.id);
          }
          return true;
        }));
    return ids;
  }

  // The two orgs' links of every Account agree: each linked record's
  // partner names it back.
  void CheckLinksAgree() {
    CheckLinksOf(p, s, primary_store.get());
    CheckLinksOf(s, p, secondary_store.get());
  }

  // Each of `here`'s linked Accounts (in `store`) is linked back by `there`.
  static void CheckLinksOf(Connection* here, Connection* there,
                           RecordStore* store) {
    RequireOk(
        store->Scan("Account", absl::InfinitePast(), [&](const Record& record) {
          const std::optional<std::string> partner = PartnerOf(here, record.id);
          if (partner.has_value()) {
            INFO(record.id << " is linked to " << *partner);
            CHECK(PartnerOf(there, *partner) == record.id);
          }
          return true;
        }));
  }
};

TEST_CASE(
    "R20: a change queued before its object was unpublished is not sent "
    "once the object is published again (also after a restart) and its "
    "acknowledgement links nothing so a bulk sync copies the record once",
    "[unpublish]") {
  World w;
  w.Flow(w.p, w.s);
  // Queued while the partner is away, then unpublished and published
  // again before anything was sent.
  w.t->pair.SetOnline(InProcessTransportPair::Side::kB, false);
  const Record acme = w.Insert(w.primary_store.get(), w.p, "Acme");
  RequireOk(w.p->publish_set()->UnpublishObject("Account"));
  RequireOk(w.p->publish_set()->PublishObject("Account"));
  // The fence outlives a restart.
  w.Reopen();
  w.t->pair.SetOnline(InProcessTransportPair::Side::kB, true);
  REQUIRE(w.t->Settle());
  if (!w.s->subscription_map()->IsSubscribed("Account")) {
    RequireOk(w.s->subscription_map()->Subscribe("Account"));
    REQUIRE(w.t->Settle());
  }
  REQUIRE(w.p->publish_set()->IsPartnerSubscribed("Account"));

  // The insert belonged to the links the unpublish dropped: not sent, and
  // the log says so.
  CHECK(World::Named(w.secondary_store.get(), "Acme").empty());
  CHECK_FALSE(World::PartnerOf(w.p, acme.id).has_value());
  bool logged = false;
  for (const LogEntry& entry : testing::LogOf(w.p)) {
    logged |= entry.status == LogStatus::kFailed &&
              entry.record.id == acme.id &&
              entry.error == SyncErrorCode::kObjectNotSubscribed &&
              entry.description.find("R20") != std::string::npos;
  }
  CHECK(logged);

  // A bulk sync copies it, once, linked on both sides.
  BulkSyncOptions options;
  options.actor = "admin";
  RequireOk(w.p->StartBulkSync(options).status());
  REQUIRE(w.FinishBulkSync(w.p));
  const Strings copies = World::Named(w.secondary_store.get(), "Acme");
  REQUIRE(copies.size() == 1);
  CHECK(World::PartnerOf(w.p, acme.id) == copies.front());
  w.CheckLinksAgree();
}

TEST_CASE(
    "R20: in a two-way sync the partner's changes of an object unpublished "
    "here wait until the partner has the notice so both orgs link the "
    "record or neither",
    "[unpublish]") {
  World w;
  w.Flow(w.p, w.s);
  w.Flow(w.s, w.p);
  // org-b inserts a record and org-a unpublishes Account before org-b has
  // heard of it: org-b's insert reaches org-a first.
  const Record globex = w.Insert(w.secondary_store.get(), w.s, "Globex");
  RequireOk(w.p->publish_set()->UnpublishObject("Account"));
  for (int round = 0; round < 5; ++round) {
    RequireOk(w.s->Step().status());
    w.t->pair.Step();
    w.t->clock.Advance(absl::Seconds(1));
  }
  REQUIRE(w.t->Settle());

  w.CheckLinksAgree();
  // org-a refused the insert, retryably, until org-b had the notice; sent
  // again, it is a new record there, linked on both sides.
  const Strings in_primary = World::Named(w.primary_store.get(), "Globex");
  REQUIRE(in_primary.size() == 1);
  CHECK(World::PartnerOf(w.s, globex.id) == in_primary.front());
}

}  // namespace
}  // namespace orgsync::unpublish_test
