// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Two-way sync between orgs whose wall clocks disagree (DESIGN.md rule 8):
// the write made last, in real order, wins in both orgs, whichever org's
// clock is behind. Before the hybrid clock, field stamps were the host's
// LastModifiedDate, and a write made after seeing the partner's, in the org
// whose clock is behind, lost to it silently in the partner org only.

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <variant>

#include "absl/time/time.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/sync_log.h"
#include "orgsync/transport.h"
#include "testing/connection_fixture.h"
#include "testing/record_sync_pair.h"
#include "testing/storage_testing.h"

namespace orgsync::skewed_clocks_test {
namespace {

using testing::RequireOk;

// One org as its host sees it: a store and a connection to capture on.
struct Side {
  RecordStore* store = nullptr;
  Connection* connection = nullptr;

  void Capture(ChangeKind kind, const Record& record, std::string field = {}) {
    std::vector<std::string> fields;
    if (!field.empty()) fields.push_back(std::move(field));
    testing::CaptureWrite(connection, kind, record, std::move(fields));
  }
  std::string Phone(const std::string& id) const {
    absl::StatusOr<Record> record = store->Get("Account", id);
    RequireOk(record.status());
    auto it = record->fields.find("Phone");
    if (it == record->fields.end()) return "<none>";
    const std::string* text = std::get_if<std::string>(&it->second);
    return text != nullptr ? *text : "<not text>";
  }
};

struct SkewedOrgs {
  explicit SkewedOrgs(absl::Duration secondary_offset) {
    testing::FillCrmSchema(&primary_schema);
    testing::FillCrmSchema(&secondary_schema);
    testing::TwoOrgsConfig config;
    config.primary_schema = &primary_schema;
    config.secondary_schema = &secondary_schema;
    config.primary_record_store = primary_store.get();
    config.secondary_record_store = secondary_store.get();
    config.secondary_clock_offset = secondary_offset;
    t = std::make_unique<testing::TwoOrgs>(
        7, testing::NewReopenableMemoryStorage(),
        testing::NewReopenableMemoryStorage(), std::move(config));
    // Each host stamps its records from its own org's clock.
    primary_store_clock.target = &t->clock;
    secondary_store_clock.target = &t->secondary_clock;
    InvitationOptions options = testing::DefaultInvitation();
    options.sync = {};
    auto [p, s] = t->Connect(options);
    primary = {primary_store.get(), p};
    secondary = {secondary_store.get(), s};
    for (auto [from, to] : {std::pair{p, s}, std::pair{s, p}}) {
      RequireOk(from->publish_set()->PublishObjects({"Account"}));
      REQUIRE(t->Settle());
      RequireOk(to->subscription_map()->Subscribe("Account"));
      REQUIRE(t->Settle());
    }
  }

  // The host of `side` changes the Phone of its copy `id`, later in real
  // time than anything before.
  void SetPhone(Side& side, const std::string& id, const std::string& phone) {
    t->clock.Advance(absl::Seconds(1));
    absl::StatusOr<Record> updated = side.store->Update(
        "Account", id, {{"Phone", phone}}, ApplyContext{});
    RequireOk(updated.status());
    side.Capture(ChangeKind::kUpdate, *updated, "Phone");
    REQUIRE(t->Settle());
  }

  // An account inserted in the primary and synced: (primary id, secondary
  // id).
  std::pair<std::string, std::string> SyncedAccount() {
    const Record inserted = testing::InsertCapturedAccount(
        primary_store.get(), primary.connection, "0");
    REQUIRE(t->Settle());
    return {inserted.id, testing::LinkedPartnerId(primary.connection,
                                                  "Account", inserted.id)};
  }

  Schema primary_schema;
  Schema secondary_schema;
  testing::ForwardingClock primary_store_clock;
  testing::ForwardingClock secondary_store_clock;
  std::unique_ptr<RecordStore> primary_store =
      testing::NewCrmRecordStore(&primary_schema, &primary_store_clock, "P-");
  std::unique_ptr<RecordStore> secondary_store = testing::NewCrmRecordStore(
      &secondary_schema, &secondary_store_clock, "S-");
  std::unique_ptr<testing::TwoOrgs> t;
  Side primary;
  Side secondary;
};

TEST_CASE(
    "Design rule 8, R30: with the orgs' clocks five minutes apart, the "
    "write made last in real order wins in both orgs",
    "[records][clocks]") {
  const absl::Duration offset =
      GENERATE(absl::Minutes(-5), absl::Minutes(5), absl::Minutes(-10));
  const bool primary_first = GENERATE(true, false);
  CAPTURE(absl::FormatDuration(offset), primary_first);
  SkewedOrgs orgs(offset);

  // The account starts in the primary and reaches the secondary.
  const auto [p_id, s_id] = orgs.SyncedAccount();

  Side& first = primary_first ? orgs.primary : orgs.secondary;
  Side& second = primary_first ? orgs.secondary : orgs.primary;
  const std::string& first_id = primary_first ? p_id : s_id;
  const std::string& second_id = primary_first ? s_id : p_id;

  // One org writes, the other receives it, then writes the same field.
  orgs.SetPhone(first, first_id, "first");
  REQUIRE(second.Phone(second_id) == "first");
  orgs.SetPhone(second, second_id, "second");

  CHECK(orgs.primary.Phone(p_id) == "second");
  CHECK(orgs.secondary.Phone(s_id) == "second");
}

bool LoggedConflict(const Connection* connection) {
  for (const LogEntry& entry : testing::LogOf(connection)) {
    if (entry.error == SyncErrorCode::kConflict) return true;
  }
  return false;
}

TEST_CASE(
    "Design rule 8, R30: a partner change older than this org's own write "
    "of the field was made without seeing it -- the conflict is logged even "
    "when the partner acknowledged this org's write before it arrived",
    "[records][clocks]") {
  // The secondary's clock is five minutes ahead: its stamps are above the
  // primary's until the primary applies one of them.
  SkewedOrgs orgs(absl::Minutes(5));
  const auto [p_id, s_id] = orgs.SyncedAccount();
  using Destination = InProcessTransportPair::Side;
  auto write = [&](Side& side, const std::string& id,
                   const std::string& phone) {
    orgs.t->clock.Advance(absl::Seconds(1));
    absl::StatusOr<Record> updated = side.store->Update(
        "Account", id, {{"Phone", phone}}, ApplyContext{});
    RequireOk(updated.status());
    side.Capture(ChangeKind::kUpdate, *updated, "Phone");
  };
  auto deliver_all_to = [&](Destination to) {
    while (orgs.t->pair.DeliverNextTo(to)) {
    }
  };

  // Both hosts write the same Phone at about the same time; the primary's
  // change stays queued (the primary does not step).
  write(orgs.primary, p_id, "same");
  write(orgs.secondary, s_id, "same");
  RequireOk(orgs.t->secondary->Step().status());
  // The secondary's change reaches the primary: equal values, nothing to
  // decide. Then the secondary writes again, and that change is applied and
  // acknowledged too, while the primary's write is still queued there.
  deliver_all_to(Destination::kA);
  deliver_all_to(Destination::kB);
  write(orgs.secondary, s_id, "later");
  RequireOk(orgs.t->secondary->Step().status());
  deliver_all_to(Destination::kA);
  deliver_all_to(Destination::kB);
  REQUIRE(orgs.primary.Phone(p_id) == "later");
  // Now the primary's "same" reaches the secondary: older than the
  // secondary's "later" by the stamps, and made without seeing it.
  REQUIRE(orgs.t->Settle());

  // The newer write wins in both orgs, and the losing write is on record.
  // Before, the secondary skipped the primary's change silently (its own
  // write was acknowledged), and the primary had taken the secondary's
  // equal value without a decision: neither log said the primary's host
  // write was lost.
  CHECK(orgs.primary.Phone(p_id) == "later");
  CHECK(orgs.secondary.Phone(s_id) == "later");
  CHECK((LoggedConflict(orgs.primary.connection) ||
         LoggedConflict(orgs.secondary.connection)));
}

}  // namespace
}  // namespace orgsync::skewed_clocks_test
