// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Schema fingerprints (issue 13 item 4, DESIGN.md "Beyond the seed"; R4:
// the connection history records metadata events): an object both orgs
// define differently is reported in the history, as a ConnectionEvent and
// by Connection::SchemaMismatches() from the handshake on -- before any
// record of it is sent -- and again when the definitions agree.

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/schema.h"
#include "testing/connection_fixture.h"
#include "testing/storage_testing.h"

namespace orgsync::schema_fingerprint_test {
namespace {

using testing::RequireOk;

ObjectDef Account(uint32_t name_length) {
  return ObjectDef{
      .name = "Account",
      .fields = {FieldDef{
          .name = "Name", .type = FieldType::kText, .length = name_length}},
      .publishable = true};
}

ObjectDef Lead() {
  return ObjectDef{
      .name = "Lead",
      .fields = {FieldDef{.name = "Email", .type = FieldType::kEmail}},
      .publishable = true};
}

std::vector<std::string> MismatchedObjects(const Connection* connection) {
  std::vector<std::string> objects;
  for (const SchemaMismatch& m : connection->SchemaMismatches()) {
    objects.push_back(m.object);
  }
  return objects;
}

size_t HistoryCount(const Connection* connection, HistoryEvent event) {
  auto history = connection->History(HistoryQuery{.event = event});
  RequireOk(history.status());
  return history->size();
}

struct FingerprintWorld {
  FingerprintWorld() {
    RequireOk(primary_schema.AddObject(Account(80)));
    RequireOk(secondary_schema.AddObject(Account(40)));  // differs
    RequireOk(primary_schema.AddObject(Lead()));
    RequireOk(secondary_schema.AddObject(Lead()));
    // An object only the secondary has is no mismatch.
    RequireOk(secondary_schema.AddObject(
        ObjectDef{.name = "Local__c", .fields = {}, .publishable = false}));
    testing::TwoOrgsConfig config;
    config.primary_schema = &primary_schema;
    config.secondary_schema = &secondary_schema;
    config.primary_events = [this](const ConnectionEvent& e) {
      primary_events.push_back(e);
    };
    t = std::make_unique<testing::TwoOrgs>(
        1, testing::NewReopenableMemoryStorage(),
        testing::NewReopenableMemoryStorage(), std::move(config));
    InvitationOptions options = testing::DefaultInvitation();
    options.sync = {};
    std::tie(p, s) = t->Connect(options);
  }

  Schema primary_schema;
  Schema secondary_schema;
  std::vector<ConnectionEvent> primary_events;
  std::unique_ptr<testing::TwoOrgs> t;
  Connection* p = nullptr;
  Connection* s = nullptr;
};

TEST_CASE(
    "R4: an object defined differently in the two orgs is reported by both "
    "at the handshake, before any record of it is sent",
    "[fingerprints]") {
  FingerprintWorld w;
  for (const Connection* side : {w.p, w.s}) {
    CHECK(MismatchedObjects(side) == std::vector<std::string>{"Account"});
    CHECK(HistoryCount(side, HistoryEvent::kSchemaMismatch) == 1);
  }
  const SchemaMismatch m = w.p->SchemaMismatches().at(0);
  CHECK(m.local_fingerprint == ObjectFingerprint(Account(80)));
  CHECK(m.partner_fingerprint == ObjectFingerprint(Account(40)));
  CHECK(w.s->SchemaMismatches().at(0).local_fingerprint ==
        ObjectFingerprint(Account(40)));
  auto rows =
      w.p->History(HistoryQuery{.event = HistoryEvent::kSchemaMismatch});
  RequireOk(rows.status());
  CHECK(rows->at(0).detail.find("Account") != std::string::npos);
  bool told = false;
  for (const ConnectionEvent& e : w.primary_events) {
    told = told || (e.kind == ConnectionEventKind::kSchemaMismatch &&
                    e.object == "Account");
  }
  CHECK(told);
  // Nothing of any record was queued or sent.
  CHECK(w.p->record_queue()->Count() == 0);
  CHECK(w.p->counters().entries_sent == 0);
}

TEST_CASE(
    "R4: a schema change after the handshake is compared again on both "
    "sides: reported when it matches again, and when it starts to differ",
    "[fingerprints]") {
  FingerprintWorld w;
  // The secondary fixes Account: both sides see it match.
  RequireOk(w.secondary_schema.ReplaceObject("Account", Account(80)));
  w.t->Pump();
  REQUIRE(w.t->Settle());
  for (const Connection* side : {w.p, w.s}) {
    CHECK(MismatchedObjects(side).empty());
    CHECK(HistoryCount(side, HistoryEvent::kSchemaMatched) == 1);
  }
  // The primary changes Lead: both sides see it differ.
  ObjectDef lead = Lead();
  lead.fields.push_back(FieldDef{.name = "Score", .type = FieldType::kNumber});
  RequireOk(w.primary_schema.ReplaceObject("Lead", lead));
  w.t->Pump();
  REQUIRE(w.t->Settle());
  for (const Connection* side : {w.p, w.s}) {
    CHECK(MismatchedObjects(side) == std::vector<std::string>{"Lead"});
    CHECK(HistoryCount(side, HistoryEvent::kSchemaMismatch) == 2);
  }
  // Stepping again with no schema change reports nothing more.
  w.t->Pump();
  w.t->Pump();
  CHECK(HistoryCount(w.p, HistoryEvent::kSchemaMismatch) == 2);
  CHECK(HistoryCount(w.s, HistoryEvent::kSchemaMismatch) == 2);
  CHECK(w.p->record_queue()->Count() == 0);
  CHECK(w.s->record_queue()->Count() == 0);
}

TEST_CASE("R4: schema mismatches survive a restart unchanged",
          "[fingerprints]") {
  FingerprintWorld w;
  w.t->Reopen("conn-1");
  Connection* p = *w.t->primary->GetConnection("conn-1");
  CHECK(MismatchedObjects(p) == std::vector<std::string>{"Account"});
  w.t->Pump();
  CHECK(HistoryCount(p, HistoryEvent::kSchemaMismatch) == 1);
  CHECK(p->record_queue()->Count() == 0);
}

}  // namespace
}  // namespace orgsync::schema_fingerprint_test
