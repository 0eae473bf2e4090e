// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// DESIGN.md rule 9: apply never overwrites a host write it has not seen.
// Apply reads a record, decides field by field on the stamps, then writes;
// a host write landing between the read and the write is not captured yet,
// so its stamps are unknown to the decision. Written unconditionally, the
// partner's value overwrote the host's here while the host's later Capture
// sent the host's value there: the two orgs ended different, and no log
// said why. The write is now conditional on the version apply read, and a
// mismatch is retried after the host's capture.

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "orgsync/capture.h"
#include "orgsync/conflict.h"
#include "orgsync/connection.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/sync_log.h"
#include "testing/connection_fixture.h"
#include "testing/record_sync_pair.h"
#include "testing/storage_testing.h"

namespace orgsync::conditional_write_test {
namespace {

using testing::RequireOk;

// A host store where, once armed, the host writes `field` of the record
// that replication is about to write, just before replication's write
// reaches the store: the race of a host transaction committing between
// apply's read and its write.
class RacingHostStore final : public ForwardingRecordStore {
 public:
  using ForwardingRecordStore::ForwardingRecordStore;

  absl::StatusOr<Record> Update(std::string_view object, std::string_view id,
                                const FieldMap& changes,
                                const ApplyContext& context) override {
    if (context.from_replication && refuse_next_update) {
      refuse_next_update = false;
      return absl::InvalidArgumentError("refused by a validation rule");
    }
    HostWriteFirst(object, id, context);
    absl::StatusOr<Record> written =
        ForwardingRecordStore::Update(object, id, changes, context);
    if (written.ok() && context.from_replication && after_update) {
      // Once: the hook may write the store itself.
      std::function<void()> hook = std::move(after_update);
      after_update = nullptr;
      hook();
    }
    return written;
  }
  absl::StatusOr<CascadeResult> Delete(std::string_view object,
                                       std::string_view id,
                                       const ApplyContext& context) override {
    HostWriteFirst(object, id, context);
    return ForwardingRecordStore::Delete(object, id, context);
  }

  // The next replicated write of a record is preceded by a host write of
  // `field` = `value`.
  void Arm(std::string field, std::string value) {
    armed_field_ = std::move(field);
    armed_value_ = std::move(value);
  }
  // The host's write, to be captured (as the host does after its write).
  std::optional<Record> host_write;
  // The next replicated update is refused, as a host's validation rule
  // refuses it: for good (PERMANENT_FAILURE).
  bool refuse_next_update = false;
  // Run once, right after the next replicated update reached the store and
  // before apply returns to the engine (which then commits its stamps).
  std::function<void()> after_update;

 private:
  void HostWriteFirst(std::string_view object, std::string_view id,
                      const ApplyContext& context) {
    if (!context.from_replication || armed_field_.empty()) return;
    absl::StatusOr<Record> written = target()->Update(
        object, id, {{armed_field_, armed_value_}}, ApplyContext{});
    RequireOk(written.status());
    host_write = *std::move(written);
    armed_field_.clear();
  }

  std::string armed_field_;
  std::string armed_value_;
};

std::string FieldText(RecordStore& store, const std::string& id,
                      const std::string& field) {
  absl::StatusOr<Record> record = store.Get("Account", id);
  RequireOk(record.status());
  auto it = record->fields.find(field);
  if (it == record->fields.end()) return "<none>";
  const std::string* text = std::get_if<std::string>(&it->second);
  return text != nullptr ? *text : "<not text>";
}

struct RacingOrgs {
  explicit RacingOrgs(
      absl::Duration secondary_clock_offset = absl::ZeroDuration(),
      ConflictResolver* resolver = nullptr) {
    testing::FillCrmSchema(&primary_schema);
    testing::FillCrmSchema(&secondary_schema);
    testing::TwoOrgsConfig config;
    config.primary_schema = &primary_schema;
    config.secondary_schema = &secondary_schema;
    config.primary_record_store = primary_store.get();
    config.secondary_record_store = &secondary_store;
    config.secondary_clock_offset = secondary_clock_offset;
    config.conflict_resolver = resolver;
    t = std::make_unique<testing::TwoOrgs>(
        11, testing::NewReopenableMemoryStorage(),
        testing::NewReopenableMemoryStorage(), std::move(config));
    store_clock.target = &t->clock;
    InvitationOptions options = testing::DefaultInvitation();
    options.sync = {};
    std::tie(primary, secondary) = t->Connect(options);
    // Two-way Account.
    for (auto [from, to] : {std::pair{primary, secondary},
                            std::pair{secondary, primary}}) {
      RequireOk(from->publish_set()->PublishObjects({"Account"}));
      REQUIRE(t->Settle());
      RequireOk(to->subscription_map()->Subscribe("Account"));
      REQUIRE(t->Settle());
    }
  }

  static void Capture(Connection* connection, ChangeKind kind,
                      const Record& record,
                      std::vector<std::string> fields = {}) {
    testing::CaptureWrite(connection, kind, record, std::move(fields));
  }

  // An account inserted in the primary and synced; returns (primary id,
  // secondary id).
  std::pair<std::string, std::string> SyncedAccount() {
    const Record inserted =
        testing::InsertCapturedAccount(primary_store.get(), primary, "0");
    REQUIRE(t->Settle());
    return {inserted.id,
            testing::LinkedPartnerId(primary, "Account", inserted.id)};
  }

  Schema primary_schema;
  Schema secondary_schema;
  testing::ForwardingClock store_clock;
  std::unique_ptr<RecordStore> primary_store =
      testing::NewCrmRecordStore(&primary_schema, &store_clock, "P-");
  std::unique_ptr<RecordStore> secondary_inner =
      testing::NewCrmRecordStore(&secondary_schema, &store_clock, "S-");
  RacingHostStore secondary_store{secondary_inner.get()};
  std::unique_ptr<testing::TwoOrgs> t;
  Connection* primary = nullptr;
  Connection* secondary = nullptr;
};

bool HasEntry(const Connection* connection, SyncErrorCode code) {
  for (const LogEntry& entry : testing::LogOf(connection)) {
    if (entry.error == code) return true;
  }
  return false;
}

TEST_CASE(
    "Design rule 9, R30: a host write landing between apply's read and its "
    "write is not overwritten -- the orgs converge and the log says why",
    "[records]") {
  RacingOrgs orgs;
  const auto [p_id, s_id] = orgs.SyncedAccount();

  // The primary changes Phone; while the secondary applies it, its host
  // changes Phone too (not captured yet when apply writes).
  orgs.secondary_store.Arm("Phone", "secondary host");
  orgs.t->clock.Advance(absl::Seconds(1));
  absl::StatusOr<Record> updated = orgs.primary_store->Update(
      "Account", p_id, {{"Phone", std::string("primary")}}, ApplyContext{});
  RequireOk(updated.status());
  RacingOrgs::Capture(orgs.primary, ChangeKind::kUpdate, *updated, {"Phone"});
  for (int i = 0; i < 10 && !orgs.secondary_store.host_write.has_value();
       ++i) {
    orgs.t->Pump();
  }
  REQUIRE(orgs.secondary_store.host_write.has_value());
  // The host's write is still in the store: apply did not overwrite it.
  CHECK(FieldText(orgs.secondary_store, s_id, "Phone") == "secondary host");

  // The host captures its write, as it does after every write.
  RacingOrgs::Capture(orgs.secondary, ChangeKind::kUpdate,
                      *orgs.secondary_store.host_write, {"Phone"});
  REQUIRE(orgs.t->Settle());

  const std::string primary_phone = FieldText(*orgs.primary_store, p_id, "Phone");
  CHECK(primary_phone == FieldText(orgs.secondary_store, s_id, "Phone"));
  // The race is on the record: the primary retried its change (RECORD_CHANGED)
  // and one side logged the conflict between the two writes.
  CHECK(HasEntry(orgs.primary, SyncErrorCode::kRecordChanged));
  CHECK((HasEntry(orgs.primary, SyncErrorCode::kConflict) ||
         HasEntry(orgs.secondary, SyncErrorCode::kConflict)));
}

TEST_CASE(
    "Design rule 9, R30, R33: a host write landing before a replicated "
    "delete's write is seen first -- both orgs end deleted with the same "
    "values",
    "[records]") {
  RacingOrgs orgs;
  const auto [p_id, s_id] = orgs.SyncedAccount();

  orgs.secondary_store.Arm("Phone", "secondary host");
  orgs.t->clock.Advance(absl::Seconds(1));
  absl::StatusOr<CascadeResult> deleted =
      orgs.primary_store->Delete("Account", p_id, ApplyContext{});
  RequireOk(deleted.status());
  absl::StatusOr<Record> gone = orgs.primary_store->Get("Account", p_id);
  RequireOk(gone.status());
  LocalChange change;
  change.kind = ChangeKind::kDelete;
  change.record = *gone;
  change.cascaded.assign(deleted->affected.begin() + 1,
                         deleted->affected.end());
  RequireOk(orgs.primary->Capture(change).status());
  for (int i = 0; i < 10 && !orgs.secondary_store.host_write.has_value();
       ++i) {
    orgs.t->Pump();
  }
  REQUIRE(orgs.secondary_store.host_write.has_value());
  RacingOrgs::Capture(orgs.secondary, ChangeKind::kUpdate,
                      *orgs.secondary_store.host_write, {"Phone"});
  REQUIRE(orgs.t->Settle());

  absl::StatusOr<Record> here = orgs.secondary_store.Get("Account", s_id);
  RequireOk(here.status());
  CHECK(here->deleted);
  CHECK(FieldText(*orgs.primary_store, p_id, "Phone") ==
        FieldText(orgs.secondary_store, s_id, "Phone"));
  CHECK(HasEntry(orgs.primary, SyncErrorCode::kRecordChanged));
}

TEST_CASE(
    "Design rule 9, R30: a host write captured while apply is between its "
    "store write and its stamps keeps its stamp -- the partner's next change "
    "of the field meets it as a conflict, and the orgs converge",
    "[records]") {
  // The secondary's clock is five minutes ahead, so its host's write is the
  // newest of the three by the stamps although the primary writes last.
  RacingOrgs orgs(absl::Minutes(5));
  const auto [p_id, s_id] = orgs.SyncedAccount();

  // While the secondary applies the primary's first Phone, right after
  // apply's (conditional) write reached the store, the secondary's host
  // writes Phone and captures it: apply's stamp commit comes after that
  // capture's stamp.
  orgs.secondary_store.after_update = [&orgs, s_id = s_id] {
    absl::StatusOr<Record> written = orgs.secondary_inner->Update(
        "Account", s_id, {{"Phone", std::string("secondary host")}},
        ApplyContext{});
    RequireOk(written.status());
    RacingOrgs::Capture(orgs.secondary, ChangeKind::kUpdate, *written,
                        {"Phone"});
    orgs.secondary_store.host_write = *std::move(written);
  };
  orgs.t->clock.Advance(absl::Seconds(1));
  absl::StatusOr<Record> first = orgs.primary_store->Update(
      "Account", p_id, {{"Phone", std::string("primary 1")}}, ApplyContext{});
  RequireOk(first.status());
  RacingOrgs::Capture(orgs.primary, ChangeKind::kUpdate, *first, {"Phone"});
  for (int i = 0; i < 10 && !orgs.secondary_store.host_write.has_value();
       ++i) {
    orgs.t->Pump();
  }
  REQUIRE(orgs.secondary_store.host_write.has_value());

  // The primary writes Phone again before the secondary's capture reaches
  // it: its stamp is older than the secondary host's (the clocks), newer
  // than its first write's.
  absl::StatusOr<Record> second = orgs.primary_store->Update(
      "Account", p_id, {{"Phone", std::string("primary 2")}}, ApplyContext{});
  RequireOk(second.status());
  RacingOrgs::Capture(orgs.primary, ChangeKind::kUpdate, *second, {"Phone"});
  REQUIRE(orgs.t->Settle());

  // Without a stamp per writer, apply's commit put the first change's stamp
  // over the capture's; the second change then overwrote the host's newer
  // value here while the host's value won there: the orgs ended "primary 2"
  // and "secondary host", and neither log said why.
  CHECK(FieldText(*orgs.primary_store, p_id, "Phone") == "secondary host");
  CHECK(FieldText(orgs.secondary_store, s_id, "Phone") == "secondary host");
  CHECK((HasEntry(orgs.primary, SyncErrorCode::kConflict) ||
         HasEntry(orgs.secondary, SyncErrorCode::kConflict)));
}

using testing::PrimaryWins;

TEST_CASE(
    "Design rule 8, R55: a record sent whole that carries back this org's "
    "own older value of a field does not meet this org's newer write as a "
    "conflict -- the newer write stays in both orgs",
    "[records]") {
  PrimaryWins primary_wins;
  RacingOrgs orgs(absl::ZeroDuration(), &primary_wins);
  const auto [p_id, s_id] = orgs.SyncedAccount();

  // The secondary refuses the primary's next update for good, so the
  // primary sends its next change of the record whole (R55).
  orgs.secondary_store.refuse_next_update = true;
  orgs.t->clock.Advance(absl::Seconds(1));
  absl::StatusOr<Record> refused = orgs.primary_store->Update(
      "Account", p_id, {{"Name", std::string("Refused")}}, ApplyContext{});
  RequireOk(refused.status());
  RacingOrgs::Capture(orgs.primary, ChangeKind::kUpdate, *refused, {"Name"});
  REQUIRE(orgs.t->Settle());
  REQUIRE(HasEntry(orgs.primary, SyncErrorCode::kValidation));

  // The secondary's host writes Phone "A", which reaches the primary, then
  // "B", which has not left the secondary when the primary's whole record,
  // with "A" in it, arrives there.
  auto secondary_phone = [&orgs, s_id = s_id](const std::string& phone) {
    orgs.t->clock.Advance(absl::Seconds(1));
    absl::StatusOr<Record> written = orgs.secondary_store.Update(
        "Account", s_id, {{"Phone", phone}}, ApplyContext{});
    RequireOk(written.status());
    RacingOrgs::Capture(orgs.secondary, ChangeKind::kUpdate, *written,
                        {"Phone"});
  };
  secondary_phone("A");
  REQUIRE(orgs.t->Settle());
  REQUIRE(FieldText(*orgs.primary_store, p_id, "Phone") == "A");
  secondary_phone("B");
  orgs.t->clock.Advance(absl::Seconds(1));
  absl::StatusOr<Record> renamed = orgs.primary_store->Update(
      "Account", p_id, {{"Name", std::string("Acme 2")}}, ApplyContext{});
  RequireOk(renamed.status());
  RacingOrgs::Capture(orgs.primary, ChangeKind::kUpdate, *renamed, {"Name"});
  RequireOk(orgs.primary->Step().status());
  orgs.t->pair.Step();
  REQUIRE(orgs.t->Settle());

  // Met as a conflict, the secondary's own "A" won over its "B" by the
  // resolver (the primary's value), and both orgs lost "B".
  CHECK(FieldText(*orgs.primary_store, p_id, "Phone") == "B");
  CHECK(FieldText(orgs.secondary_store, s_id, "Phone") == "B");
  CHECK(FieldText(*orgs.primary_store, p_id, "Name") == "Acme 2");
  CHECK(FieldText(orgs.secondary_store, s_id, "Name") == "Acme 2");
  CHECK_FALSE(HasEntry(orgs.primary, SyncErrorCode::kConflict));
  CHECK_FALSE(HasEntry(orgs.secondary, SyncErrorCode::kConflict));
}

}  // namespace
}  // namespace orgsync::conditional_write_test
