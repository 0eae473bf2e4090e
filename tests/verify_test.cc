// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Verify through the public API (orgsync/verify.h): two orgs filled by a
// bulk sync are compared by range digests from either side; records
// changed behind orgsync's back, and records never sent, are found and
// repaired by forwarding.

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "orgsync/bulk_sync.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/verify.h"
#include "testing/connection_fixture.h"
#include "testing/crm_orgs.h"
#include "testing/storage_testing.h"

namespace orgsync::verify_test {
namespace {

using testing::RequireOk;
using Strings = std::vector<std::string>;

// Two orgs over the CRM schema with in-memory stores, Active at once; the
// primary publishes Account and Contact, the secondary subscribes them.
struct World : testing::CrmOrgs {
  World() { Flow(p, s, {"Account", "Contact"}); }

  // A record written to `store` and never captured.
  Record Uncaptured(RecordStore* store, const std::string& object,
                    FieldMap fields) {
    Record record;
    record.object = object;
    record.fields = std::move(fields);
    absl::StatusOr<Record> inserted =
        store->Insert(std::move(record), ApplyContext{});
    RequireOk(inserted.status());
    return *inserted;
  }

  // `accounts` accounts with two contacts each, written in the primary
  // before it was connected, and copied by a bulk sync.
  void FillAndCopy(int accounts) {
    for (int i = 0; i < accounts; ++i) {
      const Record account = Uncaptured(
          primary_store.get(), "Account",
          {{"Name", fmt::format("Account {}", i)}, {"Phone", "555"}});
      for (int c = 0; c < 2; ++c) {
        written.push_back(Uncaptured(
            primary_store.get(), "Contact",
            {{"LastName", fmt::format("Contact {}-{}", i, c)},
             {"AccountId", Reference{account.id}}}));
      }
      written.push_back(account);
    }
    BulkSyncOptions options;
    options.actor = "admin@a";
    RequireOk(p->StartBulkSync(options).status());
    REQUIRE(FinishBulkSync(p));
  }

  // Starts a Verify on `from` and pumps until it ends.
  VerifyReport Verify(Connection* from, VerifyOptions options = {}) {
    options.actor = "admin";
    absl::StatusOr<VerifyReport> started = from->StartVerify(options);
    RequireOk(started.status());
    CHECK(started->state == VerifyState::kRunning);
    CHECK_FALSE(from->idle());
    for (int round = 0; round < 2000; ++round) {
      absl::StatusOr<std::optional<VerifyReport>> status =
          from->VerifyStatus();
      RequireOk(status.status());
      REQUIRE(status->has_value());
      if ((*status)->state != VerifyState::kRunning) return **status;
      t->Pump();
    }
    FAIL("the Verify did not end");
    return {};
  }

  static const VerifyObjectReport& Of(const VerifyReport& report,
                                      const std::string& object) {
    for (const VerifyObjectReport& entry : report.objects) {
      if (entry.object == object) return entry;
    }
    FAIL("no report for " << object);
    return report.objects.front();
  }

  std::vector<Record> written;
};

TEST_CASE(
    "Verify: two orgs a bulk sync filled are identical, from either side, "
    "by range digests that move a small part of the data",
    "[verify]") {
  World w;
  w.FillAndCopy(1200);  // 3600 records: several ranges per object

  for (Connection* from : {w.p, w.s}) {
    const VerifyReport report = w.Verify(from);
    INFO("verified from " << (from == w.p ? "the primary" : "the secondary")
                          << (report.error.empty() ? "" : ": " + report.error));
    REQUIRE(report.state == VerifyState::kCompleted);
    CHECK(report.identical());
    CHECK(report.finished != absl::InfinitePast());
    const VerifyObjectReport& accounts = World::Of(report, "Account");
    const VerifyObjectReport& contacts = World::Of(report, "Contact");
    CHECK(accounts.compared == 1200);
    CHECK(accounts.matched == 1200);
    CHECK(contacts.compared == 2400);
    CHECK(contacts.matched == 2400);
    CHECK(accounts.partner_object == "Account");
    CHECK(std::find(accounts.fields.begin(), accounts.fields.end(), "Name") !=
          accounts.fields.end());
    // The records are ~60 bytes each here (216 KB in all); Verify moves a
    // digest per thousand.
    CHECK(report.bytes_sent + report.bytes_received < 4000);
    CHECK(report.bytes_received > 0);
    CHECK(from->idle());
  }
  absl::StatusOr<std::optional<VerifyReport>> last = w.p->VerifyStatus();
  RequireOk(last.status());
  CHECK((*last)->run == 1);
}

TEST_CASE(
    "Verify lists records that differ, that the partner lacks or that are "
    "not linked, and its repair forwards them from the side that ran it",
    "[verify]") {
  World w;
  w.FillAndCopy(600);
  const Record& contact = w.written.at(0);
  const Record& account = w.written.at(2);
  REQUIRE(account.object == "Account");
  const std::string contact_there =
      testing::LinkedPartnerId(w.p, "Contact", contact.id);
  const std::string account_there =
      testing::LinkedPartnerId(w.p, "Account", account.id);

  // Behind orgsync's back: a value changed in the secondary, a record
  // deleted there, and one record in each org that was never sent.
  RequireOk(w.secondary_store
                ->Update("Contact", contact_there,
                         {{"LastName", std::string("Edited there")}},
                         ApplyContext{})
                .status());
  RequireOk(
      w.secondary_store->Delete("Account", account_there, ApplyContext{})
          .status());
  const Record lonely_here = w.Uncaptured(w.primary_store.get(), "Account",
                                          {{"Name", "Only in A"}});
  const Record lonely_there = w.Uncaptured(w.secondary_store.get(), "Account",
                                           {{"Name", "Only in B"}});

  VerifyOptions options;
  options.repair = true;
  const VerifyReport found = w.Verify(w.p, options);
  INFO(found.error);
  REQUIRE(found.state == VerifyState::kCompleted);
  CHECK_FALSE(found.identical());
  const VerifyObjectReport& contacts = World::Of(found, "Contact");
  const VerifyObjectReport& accounts = World::Of(found, "Account");
  CHECK(contacts.differing == 1);
  CHECK(contacts.differing_records ==
        std::vector<VerifiedRecord>{{contact.id, contact_there}});
  // Deleted there, not here (Contact.AccountId is a plain lookup: its
  // contacts stay).
  CHECK(accounts.differing == 1);
  CHECK(accounts.differing_records ==
        std::vector<VerifiedRecord>{{account.id, account_there}});
  CHECK(contacts.matched + contacts.differing + contacts.pending ==
        contacts.compared);
  CHECK(accounts.unlinked_here == 1);
  CHECK(accounts.unlinked_here_ids == Strings{lonely_here.id});
  CHECK(accounts.unlinked_there == 1);
  CHECK(accounts.unlinked_there_ids == Strings{lonely_there.id});
  CHECK(accounts.only_here == 0);
  CHECK(accounts.only_there == 0);
  // Repaired: the differing records and the one never sent, forwarded.
  CHECK(found.repaired >= 3);
  REQUIRE(w.t->Settle());

  const VerifyReport after = w.Verify(w.p);
  REQUIRE(after.state == VerifyState::kCompleted);
  const VerifyObjectReport& contacts_after = World::Of(after, "Contact");
  const VerifyObjectReport& accounts_after = World::Of(after, "Account");
  CHECK(contacts_after.differing == 0);
  CHECK(accounts_after.unlinked_here == 0);
  // The secondary's own record stays: a Verify from there repairs it.
  CHECK(accounts_after.unlinked_there == 1);
  absl::StatusOr<Record> repaired =
      w.secondary_store->Get("Contact", contact_there);
  RequireOk(repaired.status());
  CHECK(std::get<std::string>(repaired->fields.at("LastName")) ==
        std::get<std::string>(contact.fields.at("LastName")));
}

TEST_CASE(
    "Verify is refused with a precise status while it cannot run, and one "
    "runs at a time",
    "[verify]") {
  World w;
  VerifyOptions unknown;
  unknown.objects = {"Invoice"};
  CHECK(absl::IsFailedPrecondition(w.p->StartVerify(unknown).status()));
  VerifyOptions twice;
  twice.objects = {"Account", "Account"};
  CHECK(absl::IsInvalidArgument(w.p->StartVerify(twice).status()));
  VerifyOptions none_listed;
  none_listed.max_listed = 0;
  CHECK(absl::IsInvalidArgument(w.p->StartVerify(none_listed).status()));
  absl::StatusOr<std::optional<VerifyReport>> nothing = w.p->VerifyStatus();
  RequireOk(nothing.status());
  CHECK_FALSE(nothing->has_value());

  RequireOk(w.p->Suspend("admin@a"));
  absl::Status suspended = w.p->StartVerify({}).status();
  CHECK(absl::IsFailedPrecondition(suspended));
  CHECK_THAT(std::string(suspended.message()), Catch::Contains("Active"));
  RequireOk(w.p->Resume("admin@a"));
  REQUIRE(w.t->Settle());

  RequireOk(w.p->StartVerify({}).status());
  absl::Status second = w.p->StartVerify({}).status();
  CHECK(absl::IsFailedPrecondition(second));
  CHECK_THAT(std::string(second.message()), Catch::Contains("one at a time"));
}

}  // namespace
}  // namespace orgsync::verify_test
