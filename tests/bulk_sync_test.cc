// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Bulk sync through the public API (R60-R65; orgsync/bulk_sync.h): a host
// whose records existed before it published them starts a bulk sync on the
// primary, steps both orgs, and finds the records in the secondary, each
// once, with their lookups resolved.

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/match.h"
#include "orgsync/bulk_sync.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/sync_log.h"
#include "testing/connection_fixture.h"
#include "testing/crm_schema.h"
#include "testing/storage_testing.h"

namespace orgsync::bulk_sync_test {
namespace {

using testing::RequireOk;
using Strings = std::vector<std::string>;

// A RecordStore that counts the inserts made into it and refuses, as a
// validation rule would, those of records whose `Name` or `LastName` is in
// `refused`.
class CountingStore final : public ForwardingRecordStore {
 public:
  explicit CountingStore(RecordStore* target) : ForwardingRecordStore(target) {}
  absl::StatusOr<Record> Insert(Record record,
                                const ApplyContext& context) override {
    for (const char* field : {"Name", "LastName"}) {
      auto value = record.fields.find(field);
      if (value != record.fields.end() &&
          std::find(refused.begin(), refused.end(),
                    FormatFieldValue(value->second)) != refused.end()) {
        return absl::InvalidArgumentError("a validation rule refused it");
      }
    }
    absl::StatusOr<Record> inserted =
        ForwardingRecordStore::Insert(std::move(record), context);
    if (inserted.ok()) ++inserts[inserted->object + " " + Label(*inserted)];
    return inserted;
  }
  static std::string Label(const Record& record) {
    for (const char* field : {"Name", "LastName"}) {
      auto value = record.fields.find(field);
      if (value != record.fields.end()) return FormatFieldValue(value->second);
    }
    return record.id;
  }
  Strings refused;
  std::map<std::string, int> inserts;
};

// Two orgs over the CRM schema (tests/testing/crm_schema.h) with in-memory
// stores, connected with every option off (Active at once); the primary
// publishes Account, Contact and Case and the secondary subscribes them.
struct World {
  explicit World(const std::function<void(testing::TwoOrgsConfig&)>&
                     configure = {}) {
    testing::FillSchema(&primary_schema);
    testing::FillSchema(&secondary_schema);
    testing::TwoOrgsConfig config;
    config.primary_schema = &primary_schema;
    config.secondary_schema = &secondary_schema;
    config.primary_record_store = primary_store.get();
    config.secondary_record_store = &secondary_counting;
    config.delivery.ack_timeout = absl::Seconds(5);
    config.queue.retry = {.initial_delay = absl::Seconds(10),
                          .multiplier = 2.0,
                          .max_delay = absl::Minutes(1),
                          .jitter = 0.0,
                          .max_attempts = 3};
    config.primary_bulk_progress = [this](const BulkSyncProgress& progress) {
      told.push_back(progress);
    };
    if (configure) configure(config);
    auto primary_storage = std::make_unique<testing::FaultyReopenableStorage>(
        testing::NewReopenableMemoryStorage());
    primary_storage_faults = primary_storage.get();
    t = std::make_unique<testing::TwoOrgs>(
        1, std::move(primary_storage), testing::NewReopenableMemoryStorage(),
        std::move(config));
    store_clock.target = &t->clock;
    InvitationOptions options = testing::DefaultInvitation();
    options.sync = {};
    std::tie(p, s) = t->Connect(options);
    REQUIRE(p->status() == ConnectionStatus::kActive);
    testing::FlowObjects(*t, p, s,
                         {"Account", "Contact", "Case", "CaseComment"});
    REQUIRE(p->publish_set()->IsFieldPublished("Contact", "ReportsToId"));
    REQUIRE(p->publish_set()->IsFieldPublished("Account", "ParentId"));
  }

  // A record that existed in the primary before it was published: written
  // to its store, never captured.
  Record Existing(const std::string& object, FieldMap fields) {
    t->clock.Advance(absl::Milliseconds(1));
    Record record;
    record.object = object;
    record.fields = std::move(fields);
    absl::StatusOr<Record> inserted =
        primary_store->Insert(std::move(record), ApplyContext{});
    RequireOk(inserted.status());
    return *inserted;
  }

  // Steps both orgs until the bulk sync completed and nothing is queued or
  // in flight; false if that takes more than `max_rounds`.
  bool FinishBulkSync(size_t max_rounds = 3000) {
    for (size_t round = 0; round < max_rounds; ++round) {
      absl::StatusOr<std::optional<BulkSyncProgress>> status =
          p->BulkSyncStatus();
      RequireOk(status.status());
      if (status->has_value() &&
          (*status)->state == BulkSyncState::kCompleted &&
          p->record_queue()->Count() == 0 && s->record_queue()->Count() == 0 &&
          t->pair.InFlight() == 0) {
        return true;
      }
      t->Pump();
    }
    return false;
  }

  BulkSyncProgress Status() {
    absl::StatusOr<std::optional<BulkSyncProgress>> status =
        p->BulkSyncStatus();
    RequireOk(status.status());
    REQUIRE(status->has_value());
    return **status;
  }

  // The secondary's records of `object` by label ("Name" or "LastName").
  std::map<std::string, Record> There(const std::string& object) {
    std::map<std::string, Record> out;
    RequireOk(secondary_store->Scan(object, absl::InfinitePast(),
                                    [&](const Record& record) {
                                      out.emplace(CountingStore::Label(record),
                                                  record);
                                      return true;
                                    }));
    return out;
  }

  // The secondary's id of the primary's record.
  std::optional<std::string> PartnerId(const Record& record) {
    absl::StatusOr<std::optional<std::string>> id =
        p->PartnerRecordId(record.object, record.id);
    RequireOk(id.status());
    return *id;
  }

  BulkSyncOptions Options() const {
    BulkSyncOptions options;
    options.actor = "admin@a";
    return options;
  }

  Schema primary_schema;
  Schema secondary_schema;
  testing::ForwardingClock store_clock;
  std::unique_ptr<RecordStore> primary_store =
      testing::NewCrmRecordStore(&primary_schema, &store_clock, "P-");
  std::unique_ptr<RecordStore> secondary_store =
      testing::NewCrmRecordStore(&secondary_schema, &store_clock, "S-");
  CountingStore secondary_counting{secondary_store.get()};
  std::vector<BulkSyncProgress> told;
  // The primary's Storage, which can be made to fail (faults()).
  testing::FaultyReopenableStorage* primary_storage_faults = nullptr;
  std::unique_ptr<testing::TwoOrgs> t;
  Connection* p = nullptr;
  Connection* s = nullptr;
};

// A field's value as text; a field never set reads as null, as the
// partner, which gets every published field, holds it.
std::string Text(const Record& record, const std::string& field) {
  auto it = record.fields.find(field);
  if (it == record.fields.end() ||
      std::holds_alternative<std::monostate>(it->second)) {
    return "<null>";
  }
  return FormatFieldValue(it->second);
}

std::string ReferenceId(const Record& record, const std::string& field) {
  auto it = record.fields.find(field);
  if (it == record.fields.end()) return "";
  const auto* reference = std::get_if<Reference>(&it->second);
  return reference == nullptr ? "" : reference->id;
}

size_t HistoryCount(const Connection* connection, HistoryEvent event) {
  HistoryQuery query;
  query.event = event;
  absl::StatusOr<std::vector<HistoryEntry>> history =
      connection->History(query);
  RequireOk(history.status());
  return history->size();
}

TEST_CASE(
    "R60, R61: a bulk sync copies the records modified since the cutoff, "
    "one year back by default and never further",
    "[bulk_sync]") {
  World w;
  w.Existing("Account", {{"Name", "Old"}});
  w.t->clock.Advance(absl::Hours(24 * 300));
  const Record mid = w.Existing("Account", {{"Name", "Mid"}});
  w.t->clock.Advance(absl::Hours(24 * 100));
  const Record fresh = w.Existing("Account", {{"Name", "Fresh"}});
  const absl::Time now = w.t->clock.Now();

  // R61: earlier than one year back, or later than now: refused, and
  // nothing is started.
  BulkSyncOptions too_early = w.Options();
  too_early.cutoff = now - absl::Hours(24 * 366);
  absl::StatusOr<BulkSyncProgress> refused = w.p->StartBulkSync(too_early);
  CHECK(absl::IsInvalidArgument(refused.status()));
  CHECK_THAT(std::string(refused.status().message()),
             Catch::Contains("one year"));
  BulkSyncOptions future = w.Options();
  future.cutoff = now + absl::Hours(1);
  CHECK(absl::IsInvalidArgument(w.p->StartBulkSync(future).status()));
  BulkSyncOptions anonymous = w.Options();
  anonymous.actor = "";
  CHECK(absl::IsInvalidArgument(w.p->StartBulkSync(anonymous).status()));
  BulkSyncOptions unknown = w.Options();
  unknown.objects = {"Invoice"};
  CHECK(absl::IsFailedPrecondition(w.p->StartBulkSync(unknown).status()));
  absl::StatusOr<std::optional<BulkSyncProgress>> none = w.p->BulkSyncStatus();
  RequireOk(none.status());
  CHECK_FALSE(none->has_value());
  CHECK(w.p->record_queue()->Count() == 0);
  CHECK(HistoryCount(w.p, HistoryEvent::kBulkSyncStarted) == 0);

  // The default cutoff: one year before now.
  absl::StatusOr<BulkSyncProgress> started = w.p->StartBulkSync(w.Options());
  RequireOk(started.status());
  CHECK(started->run == 1);
  CHECK(started->state == BulkSyncState::kRunning);
  CHECK(started->cutoff == now - kMaxBulkSyncAge);
  CHECK(started->actor == "admin@a");
  REQUIRE(w.FinishBulkSync());

  const std::map<std::string, Record> there = w.There("Account");
  CHECK(there.size() == 2);
  CHECK(there.contains("Mid"));
  CHECK(there.contains("Fresh"));
  CHECK_FALSE(there.contains("Old"));
  // The copies are linked: later changes flow as live updates.
  CHECK(w.PartnerId(mid) == there.at("Mid").id);
  CHECK(w.PartnerId(fresh) == there.at("Fresh").id);

  const BulkSyncProgress done = w.Status();
  CHECK(done.state == BulkSyncState::kCompleted);
  CHECK(done.copied() == 2);
  CHECK(done.remaining() == 0);
  CHECK(done.failed() == 0);
  CHECK(done.finished >= done.started);
  CHECK(HistoryCount(w.p, HistoryEvent::kBulkSyncStarted) == 1);
  CHECK(HistoryCount(w.p, HistoryEvent::kBulkSyncCompleted) == 1);
  // The host heard of the start and of the end.
  REQUIRE(w.told.size() >= 2);
  CHECK(w.told.front().state == BulkSyncState::kRunning);
  CHECK(w.told.back() == done);
}

TEST_CASE(
    "R60: a bulk sync of up to N records copies N, and the next one the "
    "rest",
    "[bulk_sync]") {
  World w;
  for (int i = 0; i < 10; ++i) {
    w.Existing("Account", {{"Name", fmt::format("A{}", i)}});
  }
  BulkSyncOptions options = w.Options();
  options.max_records = 4;
  RequireOk(w.p->StartBulkSync(options).status());
  REQUIRE(w.FinishBulkSync());
  CHECK(w.There("Account").size() == 4);
  CHECK(w.Status().copied() == 4);

  RequireOk(w.p->StartBulkSync(w.Options()).status());
  REQUIRE(w.FinishBulkSync());
  CHECK(w.There("Account").size() == 10);
  const BulkSyncProgress second = w.Status();
  CHECK(second.run == 2);
  CHECK(second.copied() == 6);
  CHECK(second.skipped() == 4);  // R62: linked by the first one
}

TEST_CASE(
    "R62: bulk syncs over successive date ranges copy each record once, and "
    "records live sync linked are not copied again",
    "[bulk_sync]") {
  World w;
  for (int i = 0; i < 3; ++i) {
    w.Existing("Account", {{"Name", fmt::format("Early{}", i)}});
  }
  w.t->clock.Advance(absl::Hours(24 * 90));
  for (int i = 0; i < 3; ++i) {
    w.Existing("Account", {{"Name", fmt::format("Late{}", i)}});
  }
  // One record reaches the partner by live sync before any bulk sync.
  testing::CaptureWrite(w.p, ChangeKind::kInsert,
                        w.Existing("Account", {{"Name", "Live"}}));
  REQUIRE(w.t->Settle());
  REQUIRE(w.There("Account").size() == 1);

  // The last month first, then the whole year.
  BulkSyncOptions recent = w.Options();
  recent.cutoff = w.t->clock.Now() - absl::Hours(24 * 30);
  RequireOk(w.p->StartBulkSync(recent).status());
  REQUIRE(w.FinishBulkSync());
  CHECK(w.There("Account").size() == 4);
  CHECK(w.Status().copied() == 3);
  CHECK(w.Status().skipped() == 1);

  RequireOk(w.p->StartBulkSync(w.Options()).status());
  REQUIRE(w.FinishBulkSync());
  CHECK(w.There("Account").size() == 7);
  CHECK(w.Status().copied() == 3);
  CHECK(w.Status().skipped() == 4);
  // Each record was inserted in the secondary exactly once.
  for (const auto& [label, count] : w.secondary_counting.inserts) {
    INFO(label);
    CHECK(count == 1);
  }
  CHECK(w.secondary_counting.inserts.size() == 7);
}

TEST_CASE(
    "R63: one bulk sync at a time, a second start names the running one, "
    "and the host sees the records remaining fall",
    "[bulk_sync]") {
  World w([](testing::TwoOrgsConfig& config) {
    // A small window, so the copies take several rounds.
    config.delivery.max_in_flight = 20;
    config.delivery.max_changes_per_envelope = 20;
  });
  for (int i = 0; i < 150; ++i) {
    w.Existing("Account", {{"Name", fmt::format("A{:03}", i)}});
  }
  RequireOk(w.p->StartBulkSync(w.Options()).status());
  absl::StatusOr<BulkSyncProgress> second = w.p->StartBulkSync(w.Options());
  CHECK(absl::IsFailedPrecondition(second.status()));
  CHECK_THAT(std::string(second.status().message()),
             Catch::Contains("bulk sync 1") && Catch::Contains("admin@a") &&
                 Catch::Contains("R63"));
  CHECK(HistoryCount(w.p, HistoryEvent::kBulkSyncStarted) == 1);
  // Nothing is queued yet, but the run is work left: not idle.
  CHECK(w.p->record_queue()->Count() == 0);
  CHECK_FALSE(w.p->idle());

  w.t->Pump();
  const BulkSyncProgress first_step = w.Status();
  CHECK(first_step.queued() == 150);
  CHECK(first_step.remaining() > 0);
  // The copies wait in the RecordQueue as Bulk Sync entries (the seed's
  // records remaining).
  CHECK(w.p->record_queue()->CountByAction()[QueueAction::kBulkSync] ==
        first_step.remaining());
  REQUIRE(w.FinishBulkSync());
  CHECK(w.Status().copied() == 150);
  CHECK(w.There("Account").size() == 150);
  // The host was told the remaining count falling, step by step.
  std::vector<uint64_t> remaining;
  for (const BulkSyncProgress& progress : w.told) {
    remaining.push_back(progress.remaining());
  }
  CHECK(w.told.size() >= 4);
  CHECK(std::is_sorted(remaining.begin() + 1, remaining.end(),
                       std::greater<>()));
  // Over: a new one may start.
  RequireOk(w.p->StartBulkSync(w.Options()).status());
}

TEST_CASE(
    "R64: a record the partner refuses is logged, its children are not "
    "copied and are logged, unrelated records are copied",
    "[bulk_sync]") {
  World w;
  const Record bad = w.Existing("Account", {{"Name", "Bad"}});
  const Record good = w.Existing("Account", {{"Name", "Good"}});
  const Record orphan = w.Existing(
      "Contact", {{"LastName", "Orphan"}, {"AccountId", Reference{bad.id}}});
  const Record grand = w.Existing(
      "Contact", {{"LastName", "Grand"}, {"ReportsToId", Reference{orphan.id}}});
  w.Existing("Contact",
             {{"LastName", "Kept"}, {"AccountId", Reference{good.id}}});
  w.secondary_counting.refused = {"Bad"};

  RequireOk(w.p->StartBulkSync(w.Options()).status());
  REQUIRE(w.FinishBulkSync());
  CHECK(w.There("Account").size() == 1);
  CHECK(w.There("Account").contains("Good"));
  const std::map<std::string, Record> contacts = w.There("Contact");
  CHECK(contacts.size() == 1);
  CHECK(contacts.contains("Kept"));

  const BulkSyncProgress done = w.Status();
  CHECK(done.copied() == 2);
  CHECK(done.failed() == 3);
  // Each failure is in the primary's log, the children's as MISSING_PARENT.
  std::map<std::string, SyncErrorCode> failed;
  for (const LogEntry& entry : testing::LogOf(w.p)) {
    if (entry.status == LogStatus::kFailed) {
      failed[entry.record.id] = entry.error;
      CHECK(entry.action == QueueAction::kBulkSync);
    }
  }
  REQUIRE(failed.size() == 3);
  CHECK(failed.at(bad.id) == SyncErrorCode::kValidation);
  CHECK(failed.at(orphan.id) == SyncErrorCode::kMissingParent);
  CHECK(failed.at(grand.id) == SyncErrorCode::kMissingParent);
}

TEST_CASE(
    "R64: a parent whose copy failed is not queued again for its children "
    "read in later pages, and every record is counted once",
    "[bulk_sync]") {
  World w([](testing::TwoOrgsConfig& config) {
    config.delivery.max_in_flight = 50;
  });
  const Record bad = w.Existing("Account", {{"Name", "Bad"}});
  constexpr int kChildren = 1200;  // more than one page of the scan
  for (int i = 0; i < kChildren; ++i) {
    w.Existing("Contact", {{"LastName", fmt::format("C{:04}", i)},
                           {"AccountId", Reference{bad.id}}});
  }
  w.secondary_counting.refused = {"Bad"};
  RequireOk(w.p->StartBulkSync(w.Options()).status());
  REQUIRE(w.FinishBulkSync());
  const BulkSyncProgress done = w.Status();
  CHECK(done.queued() == kChildren + 1);
  CHECK(done.failed() == kChildren + 1);
  CHECK(done.copied() == 0);
  size_t bad_failures = 0;
  for (const LogEntry& entry : testing::LogOf(w.p)) {
    if (entry.status == LogStatus::kFailed && entry.record.id == bad.id) {
      ++bad_failures;
    }
  }
  CHECK(bad_failures == 1);
  CHECK(w.There("Contact").empty());
}

TEST_CASE(
    "R65: parents go before their children and multi-level lookups "
    "resolve, parents older than the cutoff included",
    "[bulk_sync]") {
  World w;
  // Top is older than the cutoff: only its children are in range.
  const Record top = w.Existing("Account", {{"Name", "Top"}});
  w.t->clock.Advance(absl::Hours(24 * 60));
  const Record branch =
      w.Existing("Account", {{"Name", "Branch"}, {"ParentId", Reference{top.id}}});
  // The boss is created after her report, so id order is not parent order.
  const Record report =
      w.Existing("Contact", {{"LastName", "Report"},
                             {"AccountId", Reference{branch.id}}});
  const Record boss = w.Existing(
      "Contact", {{"LastName", "Boss"}, {"AccountId", Reference{branch.id}}});
  RequireOk(w.primary_store
                ->Update("Contact", report.id,
                         {{"ReportsToId", Reference{boss.id}}}, ApplyContext{})
                .status());
  w.Existing("Case", {{"Subject", "Broken"},
                      {"AccountId", Reference{branch.id}},
                      {"ContactId", Reference{report.id}}});

  BulkSyncOptions options = w.Options();
  // Only the cases are chosen, children first in the list: the parents
  // they need go too, level after level.
  options.objects = {"Case"};
  options.cutoff = w.t->clock.Now() - absl::Hours(24 * 30);
  absl::StatusOr<BulkSyncProgress> started = w.p->StartBulkSync(options);
  RequireOk(started.status());
  REQUIRE(w.FinishBulkSync());

  const std::map<std::string, Record> accounts = w.There("Account");
  const std::map<std::string, Record> contacts = w.There("Contact");
  REQUIRE(accounts.size() == 2);
  REQUIRE(contacts.size() == 2);
  const std::map<std::string, Record> cases = w.There("Case");
  REQUIRE(cases.size() == 1);
  const Record& copied_case = cases.begin()->second;
  CHECK(ReferenceId(copied_case, "ContactId") == contacts.at("Report").id);
  CHECK(ReferenceId(copied_case, "AccountId") == accounts.at("Branch").id);
  CHECK(ReferenceId(contacts.at("Report"), "ReportsToId") ==
        contacts.at("Boss").id);
  CHECK(ReferenceId(accounts.at("Branch"), "ParentId") ==
        accounts.at("Top").id);
  const BulkSyncProgress done = w.Status();
  CHECK(done.copied() == 5);
  CHECK(done.failed() == 0);
  // The parents' objects are listed with what went as parents.
  REQUIRE(done.objects.size() == 3);
  CHECK(done.objects[0].object == "Case");

  // Every object chosen: the order is parents first, whatever was asked.
  RequireOk(w.p->StartBulkSync([&] {
                  BulkSyncOptions all = w.Options();
                  all.objects = {"Case", "Contact", "Account"};
                  return all;
                }())
                .status());
  const BulkSyncProgress all = w.Status();
  REQUIRE(all.objects.size() == 3);
  CHECK(all.objects[0].object == "Account");
  CHECK(all.objects[1].object == "Contact");
  CHECK(all.objects[2].object == "Case");
  REQUIRE(w.FinishBulkSync());
  CHECK(w.Status().copied() == 0);
}

TEST_CASE(
    "Bulk sync: records edited and inserted while they are copied end with "
    "their latest values in both orgs, each inserted once",
    "[bulk_sync]") {
  World w([](testing::TwoOrgsConfig& config) {
    config.delivery.max_in_flight = 10;
    config.delivery.max_changes_per_envelope = 10;
  });
  std::vector<Record> accounts;
  for (int i = 0; i < 40; ++i) {
    accounts.push_back(w.Existing(
        "Account", {{"Name", fmt::format("A{:02}", i)}, {"Phone", "0"}}));
  }
  auto edit = [&](const Record& account, const std::string& phone) {
    w.t->clock.Advance(absl::Milliseconds(1));
    absl::StatusOr<Record> updated = w.primary_store->Update(
        "Account", account.id, {{"Phone", phone}}, ApplyContext{});
    RequireOk(updated.status());
    testing::CaptureWrite(w.p, ChangeKind::kUpdate, *updated, {"Phone"});
  };
  // Edited after the start, before the scan read it: the edit's own
  // change copies it (R62: the scan skips a record with a change queued).
  RequireOk(w.p->StartBulkSync(w.Options()).status());
  edit(accounts[0], "before-scan");
  w.t->Pump();
  // Edited after its copy was queued, before or after it was sent.
  for (int i = 1; i < 40; i += 3) edit(accounts[static_cast<size_t>(i)], "1");
  w.t->Pump();
  for (int i = 1; i < 40; i += 6) edit(accounts[static_cast<size_t>(i)], "2");
  // A record inserted while the bulk sync runs goes by live sync.
  testing::CaptureWrite(w.p, ChangeKind::kInsert,
                        w.Existing("Account", {{"Name", "New"}}));
  REQUIRE(w.FinishBulkSync());

  std::map<std::string, std::string> here;
  RequireOk(w.primary_store->Scan("Account", absl::InfinitePast(),
                                  [&](const Record& record) {
                                    here[Text(record, "Name")] =
                                        Text(record, "Phone");
                                    return true;
                                  }));
  std::map<std::string, std::string> there;
  for (const auto& [name, record] : w.There("Account")) {
    there[name] = Text(record, "Phone");
  }
  CHECK(there == here);
  CHECK(there.size() == 41);
  CHECK(there.at("A00") == "before-scan");
  CHECK(there.at("A01") == "2");
  for (const auto& [label, count] : w.secondary_counting.inserts) {
    INFO(label);
    CHECK(count == 1);
  }
}

TEST_CASE(
    "Bulk sync: a restart in the middle goes on from where it was and "
    "copies every record exactly once",
    "[bulk_sync]") {
  World w([](testing::TwoOrgsConfig& config) {
    config.delivery.max_in_flight = 100;
    config.delivery.max_changes_per_envelope = 50;
  });
  constexpr int kRecords = 2500;
  for (int i = 0; i < kRecords; ++i) {
    w.Existing("Account", {{"Name", fmt::format("A{:04}", i)}});
  }
  RequireOk(w.p->StartBulkSync(w.Options()).status());
  for (int i = 0; i < 6; ++i) w.t->Pump();
  const BulkSyncProgress before = w.Status();
  REQUIRE(before.copied() > 0);
  REQUIRE(before.remaining() + (kRecords - before.queued()) > 0);

  w.t->Reopen("conn-1");
  w.p = *w.t->primary->GetConnection("conn-1");
  w.s = *w.t->secondary->GetConnection("conn-1");
  const BulkSyncProgress reopened = w.Status();
  CHECK(reopened.run == before.run);
  CHECK(reopened.queued() == before.queued());
  CHECK(reopened.copied() <= before.copied());
  REQUIRE(w.FinishBulkSync());

  CHECK(w.There("Account").size() == static_cast<size_t>(kRecords));
  CHECK(w.secondary_counting.inserts.size() == static_cast<size_t>(kRecords));
  for (const auto& [label, count] : w.secondary_counting.inserts) {
    INFO(label);
    REQUIRE(count == 1);
  }
  const BulkSyncProgress done = w.Status();
  CHECK(done.copied() == static_cast<uint64_t>(kRecords));
  CHECK(done.queued() == static_cast<uint64_t>(kRecords));
  CHECK(done.skipped() == 0);
}

TEST_CASE(
    "Bulk sync: a record deleted after its copy reached the partner, whose "
    "answer a restart lost, is deleted there with exactly the children its "
    "delete took",
    "[bulk_sync]") {
  World w;
  const Record kase = w.Existing("Case", {{"Subject", "Broken"}});
  RequireOk(w.p->StartBulkSync(w.Options()).status());
  // One round: the copy is sent and applied by org-b, but org-a cannot
  // record org-b's answer (its storage refuses the write): the copy stays
  // queued, to be sent again.
  RequireOk(w.t->primary->Step().status());
  RequireOk(w.t->secondary->Step().status());
  w.primary_storage_faults->faults()->FailWritesWithKeyPrefix("q/");
  w.t->pair.Step();
  w.primary_storage_faults->faults()->ClearFaults();
  REQUIRE(w.There("Case").size() == 1);
  REQUIRE(w.Status().copied() == 0);
  // org-b's host adds a comment of its own under its copy of the case.
  const std::string case_there = w.There("Case").begin()->second.id;
  Record own;
  own.object = "CaseComment";
  own.fields = {{"Body", std::string("theirs")},
                {"ParentId", Reference{case_there}}};
  RequireOk(w.secondary_store->Insert(std::move(own), ApplyContext{}).status());
  // org-a's host comments on the case, then deletes it, which takes the
  // comment along (R33); both captured.
  w.t->clock.Advance(absl::Seconds(1));
  Record mine;
  mine.object = "CaseComment";
  mine.fields = {{"Body", std::string("ours")},
                 {"ParentId", Reference{kase.id}}};
  absl::StatusOr<Record> inserted =
      w.primary_store->Insert(std::move(mine), ApplyContext{});
  RequireOk(inserted.status());
  testing::CaptureWrite(w.p, ChangeKind::kInsert, *inserted);
  w.t->clock.Advance(absl::Seconds(1));
  absl::StatusOr<CascadeResult> deleted =
      w.primary_store->Delete("Case", kase.id, ApplyContext{});
  RequireOk(deleted.status());
  REQUIRE(deleted->affected.size() == 2);
  LocalChange change;
  change.kind = ChangeKind::kDelete;
  absl::StatusOr<Record> gone = w.primary_store->Get("Case", kase.id);
  RequireOk(gone.status());
  change.record = *gone;
  change.cascaded.assign(deleted->affected.begin() + 1,
                         deleted->affected.end());
  change.cascaded_known = true;
  RequireOk(w.p->Capture(change).status());
  REQUIRE(w.FinishBulkSync());

  // In org-b the case is deleted with the comment org-a's delete took,
  // under its copy of the case (and org-b's own comment under it, by its
  // store's cascade, R33).
  REQUIRE(w.There("Case").size() == 1);
  CHECK(w.There("Case").begin()->second.deleted);
  std::map<std::string, std::pair<bool, std::string>> comments;
  RequireOk(w.secondary_store->Scan(
      "CaseComment", absl::InfinitePast(), [&](const Record& record) {
        comments[Text(record, "Body")] = {record.deleted,
                                          ReferenceId(record, "ParentId")};
        return true;
      }));
  CHECK(comments == std::map<std::string, std::pair<bool, std::string>>{
                        {"ours", {true, case_there}},
                        {"theirs", {true, case_there}}});
}

TEST_CASE(
    "R20: unpublishing a field stops that field only, unpublishing an "
    "object drops its record links on both sides, and a bulk sync after "
    "publishing it again copies its records again",
    "[bulk_sync][unpublish]") {
  World w;
  const Record acme = w.Existing("Account", {{"Name", "Acme"}, {"Phone", "1"}});
  RequireOk(w.p->StartBulkSync(w.Options()).status());
  REQUIRE(w.FinishBulkSync());
  const std::string acme_there = w.There("Account").at("Acme").id;
  REQUIRE(w.PartnerId(acme) == acme_there);

  // A field: its edits stop; the others' go on, and new records go
  // without it.
  RequireOk(w.p->publish_set()->UnpublishField("Account", "Phone"));
  REQUIRE(w.t->Settle());
  w.t->clock.Advance(absl::Seconds(1));
  absl::StatusOr<Record> edited = w.primary_store->Update(
      "Account", acme.id, {{"Phone", "2"}, {"Name", "Acme Corp"}},
      ApplyContext{});
  RequireOk(edited.status());
  testing::CaptureWrite(w.p, ChangeKind::kUpdate, *edited, {"Phone", "Name"});
  testing::CaptureWrite(
      w.p, ChangeKind::kInsert,
      w.Existing("Account", {{"Name", "Fresh"}, {"Phone", "3"}}));
  REQUIRE(w.t->Settle());
  std::map<std::string, Record> there = w.There("Account");
  REQUIRE(there.contains("Acme Corp"));
  CHECK(Text(there.at("Acme Corp"), "Phone") == "1");
  REQUIRE(there.contains("Fresh"));
  CHECK(Text(there.at("Fresh"), "Phone") == "<null>");

  // The object: its links go on both sides, each side logs it, and edits
  // are no longer captured.
  RequireOk(w.p->publish_set()->UnpublishObject("Account"));
  REQUIRE(w.t->Settle());
  CHECK_FALSE(w.PartnerId(acme).has_value());
  absl::StatusOr<std::optional<std::string>> back =
      w.s->PartnerRecordId("Account", acme_there);
  RequireOk(back.status());
  CHECK_FALSE(back->has_value());
  for (Connection* side : {w.p, w.s}) {
    bool logged = false;
    for (const LogEntry& entry : testing::LogOf(side)) {
      logged |= entry.error == SyncErrorCode::kLinkSevered &&
                entry.record.object == "Account" &&
                entry.description.find("R20") != std::string::npos;
    }
    CHECK(logged);
  }
  LocalChange later;
  later.kind = ChangeKind::kUpdate;
  later.record = *edited;
  later.changed_fields = {"Name"};
  absl::StatusOr<CaptureResult> captured = w.p->Capture(later);
  RequireOk(captured.status());
  CHECK_FALSE(captured->captured);

  // Published and subscribed again: nothing is linked, so a bulk sync
  // copies the records again (org-b keeps its disconnected copies).
  RequireOk(w.p->publish_set()->PublishObject("Account"));
  REQUIRE(w.t->Settle());
  if (!w.s->subscription_map()->IsSubscribed("Account")) {
    RequireOk(w.s->subscription_map()->Subscribe("Account"));
    REQUIRE(w.t->Settle());
  }
  REQUIRE(w.p->publish_set()->IsPartnerSubscribed("Account"));
  RequireOk(w.p->StartBulkSync(w.Options()).status());
  REQUIRE(w.FinishBulkSync());
  CHECK(w.Status().copied() == 2);
  CHECK(w.secondary_counting.inserts.at("Account Acme Corp") == 1);
  CHECK(w.secondary_counting.inserts.at("Account Fresh") == 2);
  CHECK(w.PartnerId(acme).has_value());
  CHECK(w.PartnerId(acme) != acme_there);
}

ForwardOptions Records(std::vector<RecordRef> records,
                       Strings related_objects = {}) {
  ForwardOptions options;
  options.records = std::move(records);
  options.related_objects = std::move(related_objects);
  return options;
}

TEST_CASE(
    "R66: forwarding copies records now whatever their date, child-only "
    "records with them, related ones only when selected, and repairs a "
    "copy that differs",
    "[bulk_sync][forward]") {
  World w;
  const Record acme = w.Existing("Account", {{"Name", "Acme"}, {"Phone", "1"}});
  const Record ng = w.Existing(
      "Contact", {{"LastName", "Ng"}, {"AccountId", Reference{acme.id}}});
  const Record broken = w.Existing(
      "Case", {{"Subject", "Broken"}, {"AccountId", Reference{acme.id}}});
  const Record comment = w.Existing(
      "CaseComment", {{"Body", "it is broken"}, {"ParentId", Reference{broken.id}}});
  // Older than any bulk sync reaches (R61): forwarding does not care.
  w.t->clock.Advance(absl::Hours(24 * 400));

  // Refused, and nothing queued.
  const uint64_t queued = w.p->record_queue()->Count();
  CHECK(absl::IsInvalidArgument(w.p->Forward(Records({})).status()));
  CHECK(absl::IsInvalidArgument(
      w.p->Forward(Records({{"Account", acme.id}, {"Account", acme.id}}))
          .status()));
  CHECK(absl::IsNotFound(
      w.p->Forward(Records({{"Account", acme.id}, {"Account", "P-nobody"}}))
          .status()));
  CHECK(absl::IsFailedPrecondition(
      w.p->Forward(Records({{"Attachment", acme.id}})).status()));
  CHECK(w.p->record_queue()->Count() == queued);

  // The account alone: its contact and case are not selected.
  absl::StatusOr<ForwardResult> forwarded =
      w.p->Forward(Records({{"Account", acme.id}}));
  RequireOk(forwarded.status());
  REQUIRE(forwarded->records.size() == 1);
  CHECK(forwarded->records[0].captured);
  CHECK(forwarded->children.empty());
  REQUIRE(w.t->Settle());
  CHECK(w.There("Account").contains("Acme"));
  CHECK(w.There("Contact").empty());
  CHECK(w.There("Case").empty());

  // The case goes with its comment, a child-only record (R66).
  forwarded = w.p->Forward(Records({{"Case", broken.id}}));
  RequireOk(forwarded.status());
  CHECK(forwarded->children ==
        std::vector<RecordRef>{{"CaseComment", comment.id}});
  REQUIRE(w.t->Settle());
  REQUIRE(w.There("Case").size() == 1);
  const std::map<std::string, Record> comments = w.There("CaseComment");
  REQUIRE(comments.size() == 1);
  CHECK(ReferenceId(comments.begin()->second, "ParentId") ==
        w.There("Case").begin()->second.id);

  // The org-b copy of the account drifted (a host write never captured);
  // forwarding the account again repairs it, and its selected related
  // contact goes along.
  const std::string acme_there = w.There("Account").at("Acme").id;
  RequireOk(w.secondary_store
                ->Update("Account", acme_there, {{"Phone", "drifted"}},
                         ApplyContext{})
                .status());
  forwarded = w.p->Forward(Records({{"Account", acme.id}}, {"Contact"}));
  RequireOk(forwarded.status());
  CHECK(forwarded->children == std::vector<RecordRef>{{"Contact", ng.id}});
  REQUIRE(w.t->Settle());
  CHECK(Text(w.There("Account").at("Acme"), "Phone") == "1");
  REQUIRE(w.There("Contact").contains("Ng"));
  CHECK(ReferenceId(w.There("Contact").at("Ng"), "AccountId") == acme_there);
  // One insert each: the repair was an update.
  CHECK(w.secondary_counting.inserts.at("Account Acme") == 1);

  // A deleted record is not forwarded.
  RequireOk(w.primary_store->Delete("Contact", ng.id, ApplyContext{}).status());
  CHECK(absl::IsFailedPrecondition(
      w.p->Forward(Records({{"Contact", ng.id}})).status()));
}

TEST_CASE(
    "R66: a record forwarded while its own insert is still queued goes as "
    "an update after it, so a newer write in the partner is not undone",
    "[bulk_sync][forward]") {
  World w;
  // Two-way Account: org-b's edits come back.
  RequireOk(w.s->publish_set()->PublishObject("Account"));
  REQUIRE(w.t->Settle());
  RequireOk(w.p->subscription_map()->Subscribe("Account"));
  REQUIRE(w.t->Settle());
  const Record acme = w.Existing("Account", {{"Name", "Acme"}, {"Phone", "1"}});
  testing::CaptureWrite(w.p, ChangeKind::kInsert, acme);
  RequireOk(w.p->Forward(Records({{"Account", acme.id}})).status());
  // The insert arrives; org-b's host edits its copy before the forward
  // does.
  w.t->Pump();
  REQUIRE(w.There("Account").contains("Acme"));
  w.t->clock.Advance(absl::Seconds(1));
  absl::StatusOr<Record> edited = w.secondary_store->Update(
      "Account", w.There("Account").at("Acme").id, {{"Phone", "2"}},
      ApplyContext{});
  RequireOk(edited.status());
  testing::CaptureWrite(w.s, ChangeKind::kUpdate, *edited, {"Phone"});
  REQUIRE(w.t->Settle());
  // The newest write wins in both orgs.
  CHECK(Text(w.There("Account").at("Acme"), "Phone") == "2");
  absl::StatusOr<Record> here = w.primary_store->Get("Account", acme.id);
  RequireOk(here.status());
  CHECK(Text(*here, "Phone") == "2");
  CHECK(w.secondary_counting.inserts.at("Account Acme") == 1);
}

TEST_CASE(
    "R66, R14: a forwarded child whose parent the partner lacks arrives "
    "with the lookup blank and logged, and goes whole with its next "
    "forward once the parent was forwarded",
    "[bulk_sync][forward]") {
  World w;
  const Record parent = w.Existing("Account", {{"Name", "Parent"}});
  const Record child = w.Existing(
      "Contact", {{"LastName", "Child"}, {"AccountId", Reference{parent.id}}});
  RequireOk(w.p->Forward(Records({{"Contact", child.id}})).status());
  REQUIRE(w.t->Settle());
  REQUIRE(w.There("Contact").contains("Child"));
  CHECK(ReferenceId(w.There("Contact").at("Child"), "AccountId").empty());
  bool blank_logged = false;
  for (const LogEntry& entry : testing::LogOf(w.s)) {
    blank_logged |= entry.error == SyncErrorCode::kMissingParent;
  }
  CHECK(blank_logged);

  RequireOk(w.p->Forward(Records({{"Account", parent.id}})).status());
  RequireOk(w.p->Forward(Records({{"Contact", child.id}})).status());
  REQUIRE(w.t->Settle());
  CHECK(ReferenceId(w.There("Contact").at("Child"), "AccountId") ==
        w.There("Account").at("Parent").id);
  CHECK(w.secondary_counting.inserts.at("Contact Child") == 1);
}


namespace r34 {

// The host's write of `kind` to `record` in `store`, captured on
// `connection`; the record as stored after it.
Record WriteAndCapture(RecordStore* store, Connection* connection,
                       ChangeKind kind, const Record& record,
                       const FieldMap& fields = {},
                       CaptureResult* captured = nullptr) {
  absl::Status written;
  switch (kind) {
    case ChangeKind::kDelete:
      written = store->Delete(record.object, record.id, ApplyContext{}).status();
      break;
    case ChangeKind::kUndelete:
      written =
          store->Undelete(record.object, record.id, ApplyContext{}).status();
      break;
    default:
      written =
          store->Update(record.object, record.id, fields, ApplyContext{})
              .status();
  }
  RequireOk(written);
  absl::StatusOr<Record> now = store->Get(record.object, record.id);
  RequireOk(now.status());
  LocalChange change;
  change.kind = kind;
  change.record = *now;
  for (const auto& [field, value] : fields) {
    change.changed_fields.push_back(field);
  }
  absl::StatusOr<CaptureResult> result = connection->Capture(change);
  RequireOk(result.status());
  if (captured != nullptr) *captured = *result;
  return *std::move(now);
}

std::vector<LogEntry> Severed(const Connection* connection, LogStatus status) {
  std::vector<LogEntry> out;
  for (const LogEntry& entry : testing::LogOf(connection)) {
    if (entry.error == SyncErrorCode::kLinkSevered && entry.status == status) {
      out.push_back(entry);
    }
  }
  return out;
}

TEST_CASE(
    "R34 and R66: a record undeleted in the secondary of a one-way sync "
    "is severed and the primary's later changes of it are refused and "
    "logged until forwarding it links it again to the same record",
    "[bulk_sync][forward]") {
  World w;
  const Record acme = w.Existing("Account", {{"Name", "Acme"}, {"Phone", "1"}});
  RequireOk(w.p->Forward(Records({{"Account", acme.id}})).status());
  REQUIRE(w.t->Settle());
  const std::optional<std::string> there = w.PartnerId(acme);
  REQUIRE(there.has_value());
  auto copy = [&] {
    absl::StatusOr<Record> record = w.secondary_store->Get("Account", *there);
    RequireOk(record.status());
    return *record;
  };
  auto linked_there = [&]() -> std::optional<std::string> {
    absl::StatusOr<std::optional<std::string>> id =
        w.s->PartnerRecordId("Account", *there);
    RequireOk(id.status());
    return *id;
  };

  // Deleted in the primary, then undeleted by the secondary's host: the
  // undelete is not sent (one-way), the link is severed.
  WriteAndCapture(w.primary_store.get(), w.p, ChangeKind::kDelete, acme);
  REQUIRE(w.t->Settle());
  REQUIRE(copy().deleted);
  CaptureResult captured;
  WriteAndCapture(w.secondary_store.get(), w.s, ChangeKind::kUndelete, copy(),
                  {}, &captured);
  CHECK_FALSE(captured.captured);
  // Nothing is queued, yet the secondary has work left: the severing.
  CHECK_FALSE(w.s->idle());
  for (int round = 0; round < 10 && !w.s->idle(); ++round) w.t->Pump();
  CHECK_FALSE(linked_there().has_value());
  CHECK(Severed(w.s, LogStatus::kInfo).size() == 1);

  // The primary undeletes and edits its record: the secondary refuses both
  // for good (its record stays as its host left it), and the primary's log
  // says how to reconnect.
  WriteAndCapture(w.primary_store.get(), w.p, ChangeKind::kUndelete, acme);
  WriteAndCapture(w.primary_store.get(), w.p, ChangeKind::kUpdate, acme,
                  {{"Phone", "2"}});
  REQUIRE(w.t->Settle());
  CHECK_FALSE(copy().deleted);
  CHECK(Text(copy(), "Phone") == "1");
  const std::vector<LogEntry> refused = Severed(w.p, LogStatus::kFailed);
  REQUIRE(refused.size() == 2);
  for (const LogEntry& entry : refused) {
    CHECK(entry.record == RecordRef{"Account", acme.id});
    CHECK(absl::StrContains(entry.description, "only a forward"));
  }
  CHECK(w.p->record_queue()->Count() == 0);
  CHECK_FALSE(linked_there().has_value());

  // Forwarded, the primary's record is linked again to the same record
  // there, which takes its values; nothing is inserted.
  RequireOk(w.p->Forward(Records({{"Account", acme.id}})).status());
  REQUIRE(w.t->Settle());
  CHECK(linked_there() == acme.id);
  CHECK(Text(copy(), "Phone") == "2");
  CHECK(w.secondary_counting.inserts.at("Account Acme") == 1);
  const std::vector<LogEntry> reconnected = Severed(w.s, LogStatus::kInfo);
  REQUIRE(reconnected.size() == 2);
  CHECK(reconnected.back().record == RecordRef{"Account", *there});
  CHECK(absl::StrContains(reconnected.back().description,
                          "linked to it again"));

  // And its changes flow again.
  WriteAndCapture(w.primary_store.get(), w.p, ChangeKind::kUpdate, acme,
                  {{"Phone", "3"}});
  REQUIRE(w.t->Settle());
  CHECK(Text(copy(), "Phone") == "3");
  CHECK(Severed(w.p, LogStatus::kFailed).size() == 2);
}

}  // namespace r34

}  // namespace
}  // namespace orgsync::bulk_sync_test
