// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include <atomic>
#include <catch2/catch.hpp>
#include <set>
#include <thread>
#include <vector>

#include "engine/record_links.h"
#include "testing/record_sync_pair.h"

namespace orgsync::testing::record_sync_test {
namespace {

using Kind = internal::OutgoingChange::Kind;

FieldMap AccountFields(const std::string& name) {
  return {{"Name", name}, {"Phone", std::string("555-0100")}};
}

// Every record of `object` in `from` that is linked has a copy in `to` with
// the same published field values (lookups translated) and deleted flag.
void ExpectConverged(Side& from, Side& to, const std::string& object) {
  size_t linked = 0;
  for (const Record& record : from.All(object)) {
    const std::optional<std::string> partner =
        from.PartnerIdOf(object, record.id);
    if (!partner.has_value()) continue;
    ++linked;
    const Record copy = to.Get(object, *partner);
    INFO(object << " " << record.id << " <-> " << *partner);
    CHECK(copy.deleted == record.deleted);
    for (const std::string& field : from.publish->PublishedFields(object)) {
      auto mine = record.fields.find(field);
      auto theirs = copy.fields.find(field);
      FieldValue a = mine == record.fields.end() ? FieldValue{} : mine->second;
      FieldValue b = theirs == copy.fields.end() ? FieldValue{} : theirs->second;
      if (const auto* ref = std::get_if<Reference>(&a);
          ref != nullptr && field != "OwnerId") {
        const std::optional<std::string> mapped =
            from.PartnerIdOf("Account", ref->id);
        REQUIRE(mapped.has_value());
        a = Reference{*mapped};
      }
      INFO("field " << field);
      CHECK(FormatFieldValue(a) == FormatFieldValue(b));
    }
  }
  CHECK(linked == to.All(object).size());
}

TEST_CASE("R18: unpublished objects and fields are not captured, and "
          "publishing copies no records",
          "[recsync]") {
  Pair p;
  const Record early = p.primary->Insert("Account", AccountFields("Early"));
  CHECK_FALSE(p.primary->last_capture.captured);
  CHECK(p.primary->queue->Count() == 0);

  p.Flow(*p.primary, *p.secondary, {"Account"});
  p.Drain();
  CHECK(p.secondary->All("Account").empty());  // publishing copied nothing

  REQUIRE(p.primary->publish->UnpublishField("Account", "Phone").ok());
  const Record a = p.primary->Insert("Account", AccountFields("Acme"));
  REQUIRE(p.primary->last_capture.captured);
  p.primary->Update("Account", a.id, {{"Phone", std::string("555-0199")}});
  CHECK_FALSE(p.primary->last_capture.captured);  // touches no published field
  CHECK(p.primary->queue->Count() == 1);
  p.Drain();
  REQUIRE(p.sent_by_primary.size() == 1);
  CHECK(p.sent_by_primary[0].fields().count("Phone") == 0);
  const auto copy = p.secondary->PartnerIdOf("Account", "x");
  CHECK_FALSE(copy.has_value());
  const std::optional<std::string> id = p.primary->PartnerIdOf("Account", a.id);
  REQUIRE(id.has_value());
  const Record there = p.secondary->Get("Account", *id);
  CHECK(std::get<std::string>(there.fields.at("Name")) == "Acme");
  CHECK(there.fields.count("Phone") == 0);
  CHECK_FALSE(p.primary->PartnerIdOf("Account", early.id).has_value());
}

TEST_CASE("R30: inserts, updates, deletes and undeletes flow from the "
          "primary, and in one-way sync the secondary's changes are not sent",
          "[recsync]") {
  Pair p;
  p.Flow(*p.primary, *p.secondary, {"Account"});
  const Record a = p.primary->Insert("Account", AccountFields("Acme"));
  p.Drain();
  const std::optional<std::string> id = p.primary->PartnerIdOf("Account", a.id);
  REQUIRE(id.has_value());
  CHECK(p.secondary->LocalIdOf("Account", a.id) == id);
  CHECK(std::get<std::string>(p.secondary->Get("Account", *id).fields.at(
            "Name")) == "Acme");

  p.primary->Update("Account", a.id, {{"Name", std::string("Acme Corp")}});
  p.Drain();
  CHECK(std::get<std::string>(p.secondary->Get("Account", *id).fields.at(
            "Name")) == "Acme Corp");

  p.primary->Delete("Account", a.id);
  p.Drain();
  CHECK(p.secondary->Get("Account", *id).deleted);
  p.primary->Undelete("Account", a.id);
  p.Drain();
  CHECK_FALSE(p.secondary->Get("Account", *id).deleted);

  // One-way: the secondary does not publish Account.
  p.secondary->Update("Account", *id, {{"Name", std::string("Local")}});
  CHECK_FALSE(p.secondary->last_capture.captured);
  CHECK(p.secondary->queue->Count() == 0);
  p.Drain();
  CHECK(std::get<std::string>(p.primary->Get("Account", a.id).fields.at(
            "Name")) == "Acme Corp");
  CHECK(p.primary->queue->Count() == 0);
  CHECK(p.primary->LogWith(SyncErrorCode::kRecordNotFound).empty());
}

TEST_CASE("R30: in two-way sync changes flow both ways", "[recsync]") {
  Pair p;
  p.Flow(*p.primary, *p.secondary, {"Account"});
  p.Flow(*p.secondary, *p.primary, {"Account"});
  const Record a = p.primary->Insert("Account", AccountFields("From P"));
  const Record b = p.secondary->Insert("Account", AccountFields("From S"));
  p.Drain();
  CHECK(p.primary->All("Account").size() == 2);
  CHECK(p.secondary->All("Account").size() == 2);
  const std::string a_there = *p.primary->PartnerIdOf("Account", a.id);
  p.secondary->Update("Account", a_there, {{"Phone", std::string("1")}});
  p.primary->Update("Account", *p.secondary->PartnerIdOf("Account", b.id),
                    {{"Phone", std::string("2")}});
  p.Drain();
  ExpectConverged(*p.primary, *p.secondary, "Account");
  ExpectConverged(*p.secondary, *p.primary, "Account");
  CHECK(std::get<std::string>(p.primary->Get("Account", a.id).fields.at(
            "Phone")) == "1");
}

TEST_CASE("R31: changes applied from the partner are not captured back",
          "[recsync]") {
  Pair p;
  p.Flow(*p.primary, *p.secondary, {"Account"});
  p.Flow(*p.secondary, *p.primary, {"Account"});
  const Record a = p.primary->Insert("Account", AccountFields("Acme"));
  p.primary->Update("Account", a.id, {{"Name", std::string("Acme 2")}});
  p.Drain();
  CHECK(p.secondary->queue->Count() == 0);
  CHECK(p.sent_by_secondary.empty());
  // A host that captures every write it makes, replicated ones included:
  LocalChange echo;
  echo.kind = ChangeKind::kUpdate;
  echo.record = p.secondary->Get("Account",
                                 *p.primary->PartnerIdOf("Account", a.id));
  echo.changed_fields = {"Name"};
  echo.context.from_replication = true;
  auto captured = p.secondary->sync->Capture(echo);
  REQUIRE(captured.ok());
  CHECK_FALSE(captured->captured);
  CHECK(p.secondary->queue->Count() == 0);
}

TEST_CASE("R32: lookups are translated through record links, both ways",
          "[recsync]") {
  Pair p;
  p.Flow(*p.primary, *p.secondary, {"Account", "Contact"});
  p.Flow(*p.secondary, *p.primary, {"Account", "Contact"});
  const Record a = p.primary->Insert("Account", AccountFields("Acme"));
  const Record c = p.primary->Insert(
      "Contact", {{"LastName", std::string("Doe")},
                  {"AccountId", Reference{a.id}}});
  // The child waits for its parent in the same queue.
  auto ready = p.primary->queue->Ready(p.clock.Now(), 10);
  REQUIRE(ready.ok());
  REQUIRE(ready->size() == 2);
  auto blocked = p.primary->sync->PrepareSend((*ready)[1]);
  REQUIRE(blocked.ok());
  CHECK(blocked->kind == Kind::kBlocked);
  CHECK(blocked->waits_for == RecordRef{"Account", a.id});
  p.Drain();
  const std::string a2 = *p.primary->PartnerIdOf("Account", a.id);
  const std::string c2 = *p.primary->PartnerIdOf("Contact", c.id);
  CHECK(p.secondary->Get("Contact", c2).fields.at("AccountId") ==
        FieldValue{Reference{a2}});
  // A child created in the secondary under the primary's account.
  const Record d = p.secondary->Insert(
      "Contact", {{"LastName", std::string("Roe")},
                  {"AccountId", Reference{a2}}});
  p.Drain();
  const std::string d1 = *p.secondary->PartnerIdOf("Contact", d.id);
  CHECK(p.primary->Get("Contact", d1).fields.at("AccountId") ==
        FieldValue{Reference{a.id}});
  ExpectConverged(*p.primary, *p.secondary, "Contact");
}

TEST_CASE("R30: a plain insert or update is sent as it was queued -- a change "
          "with lookups to translate is parsed and completed",
          "[recsync]") {
  Pair p;
  p.Flow(*p.primary, *p.secondary, {"Account", "Contact"});
  const Record a = p.primary->Insert("Account", AccountFields("Acme"));
  p.Drain();
  p.primary->Update("Account", a.id, {{"Name", std::string("Acme 2")}});
  p.primary->Insert("Contact", {{"LastName", std::string("Lee")},
                                {"AccountId", Reference{a.id}}});
  auto ready = p.primary->queue->Ready(p.clock.Now(), 10);
  REQUIRE(ready.ok());
  REQUIRE(ready->size() == 2);
  auto update = p.primary->sync->PrepareSend((*ready)[0]);
  REQUIRE(update.ok());
  CHECK(update->kind == Kind::kSend);
  REQUIRE_FALSE(update->serialized.empty());
  proto::RecordChange sent;
  REQUIRE(sent.ParseFromString(update->serialized));
  CHECK(sent.sequence() == (*ready)[0].sequence);
  CHECK(sent.receiver_record_id() == *p.primary->PartnerIdOf("Account", a.id));
  CHECK(sent.fields().at("Name").text() == "Acme 2");
  CHECK(update->queued_version == 2);
  auto child = p.primary->sync->PrepareSend((*ready)[1]);
  REQUIRE(child.ok());
  CHECK(child->kind == Kind::kSend);
  CHECK(child->serialized.empty());
  CHECK(child->change.lookup_receiver_ids().at("AccountId") ==
        *p.primary->PartnerIdOf("Account", a.id));
  p.Drain();
  CHECK(p.secondary->All("Contact").size() == 1);
}

TEST_CASE("R14: a required lookup to a missing parent fails retryably with "
          "MISSING_PARENT, an optional one is left blank and logged",
          "[recsync]") {
  Pair p;
  // The account exists before publishing, so it is not linked (R18).
  const Record a = p.primary->Insert("Account", AccountFields("Acme"));
  p.Flow(*p.primary, *p.secondary, {"Account", "Contact", "Invoice"});
  const Record c = p.primary->Insert(
      "Contact", {{"LastName", std::string("Doe")},
                  {"AccountId", Reference{a.id}}});
  const Record i = p.primary->Insert(
      "Invoice", {{"Total", 10.5}, {"AccountId", Reference{a.id}}});
  const std::vector<proto::ItemResult> results =
      p.Round(*p.primary, *p.secondary);
  REQUIRE(results.size() == 2);
  CHECK(results[0].outcome() == proto::APPLIED);
  CHECK(results[1].outcome() == proto::RETRYABLE_FAILURE);
  CHECK(results[1].error() == proto::ERROR_MISSING_PARENT);
  CHECK_THAT(results[1].description(),
             Catch::Contains("AccountId") && Catch::Contains(a.id) &&
                 Catch::Contains("R14"));
  const std::string c2 = *p.primary->PartnerIdOf("Contact", c.id);
  CHECK(p.secondary->Get("Contact", c2).fields.at("AccountId") ==
        FieldValue{std::monostate{}});
  const auto blanks = p.secondary->LogWith(SyncErrorCode::kMissingParent);
  REQUIRE(blanks.size() == 1);
  CHECK(blanks[0].status == LogStatus::kInfo);
  CHECK(blanks[0].record == RecordRef{"Contact", c2});

  // The parent changes, so it is sent whole (R55); the invoice then goes.
  p.primary->Update("Account", a.id, {{"Name", std::string("Acme 2")}});
  p.Drain();
  const std::string i2 = *p.primary->PartnerIdOf("Invoice", i.id);
  CHECK(p.secondary->Get("Invoice", i2).fields.at("AccountId") ==
        FieldValue{Reference{*p.primary->PartnerIdOf("Account", a.id)}});
}

TEST_CASE("R33: deleting a parent soft-deletes its children in both orgs "
          "and undeleting restores them",
          "[recsync]") {
  Pair p;
  p.Flow(*p.primary, *p.secondary, {"Account", "Contact"});
  p.Flow(*p.secondary, *p.primary, {"Account", "Contact"});
  const Record a = p.primary->Insert("Account", AccountFields("Acme"));
  const Record c = p.primary->Insert(
      "Contact", {{"LastName", std::string("Doe")},
                  {"AccountId", Reference{a.id}}});
  p.Drain();
  const std::string a2 = *p.primary->PartnerIdOf("Account", a.id);
  const std::string c2 = *p.primary->PartnerIdOf("Contact", c.id);
  p.primary->Delete("Account", a.id);
  CHECK(p.primary->Get("Contact", c.id).deleted);
  p.Drain();
  CHECK(p.secondary->Get("Account", a2).deleted);
  CHECK(p.secondary->Get("Contact", c2).deleted);
  // From the other org.
  p.secondary->Undelete("Account", a2);
  p.Drain();
  CHECK_FALSE(p.primary->Get("Account", a.id).deleted);
  CHECK_FALSE(p.primary->Get("Contact", c.id).deleted);
  CHECK(p.primary->queue->Count() == 0);
  CHECK(p.secondary->queue->Count() == 0);
}

TEST_CASE("R34: undeleting a record in the secondary of a one-way sync "
          "severs its link",
          "[recsync]") {
  Pair p;
  p.Flow(*p.primary, *p.secondary, {"Account"});
  const Record a = p.primary->Insert("Account", AccountFields("Acme"));
  p.Drain();
  const std::string a2 = *p.primary->PartnerIdOf("Account", a.id);
  p.primary->Delete("Account", a.id);
  p.Drain();
  REQUIRE(p.secondary->Get("Account", a2).deleted);
  p.secondary->Undelete("Account", a2);
  CHECK_FALSE(p.secondary->last_capture.captured);
  // The host's thread only asked; the step severs (links change on one
  // thread).
  p.Drain();
  CHECK_FALSE(p.secondary->LocalIdOf("Account", a.id).has_value());
  const auto severed = p.secondary->LogWith(SyncErrorCode::kLinkSevered);
  REQUIRE(severed.size() == 1);
  CHECK(severed[0].record == RecordRef{"Account", a2});
  CHECK(p.secondary->queue->Count() == 0);
  // Two-way objects are not severed: the undelete is sent instead.
  Pair q;
  q.Flow(*q.primary, *q.secondary, {"Account"});
  q.Flow(*q.secondary, *q.primary, {"Account"});
  const Record b = q.primary->Insert("Account", AccountFields("B"));
  q.Drain();
  const std::string b2 = *q.primary->PartnerIdOf("Account", b.id);
  q.secondary->Delete("Account", b2);
  q.Drain();
  q.secondary->Undelete("Account", b2);
  CHECK(q.secondary->last_capture.captured);
  CHECK(q.secondary->LocalIdOf("Account", b.id) == b2);
}

TEST_CASE("R35: audit fields travel with the first copy only, and only "
          "when the option is on",
          "[recsync]") {
  SECTION("on") {
    Pair p({.sync_audit_fields = true}, {.sync_audit_fields = true});
    p.Flow(*p.primary, *p.secondary, {"Account"});
    const Record a = p.primary->Insert("Account", AccountFields("Acme"));
    p.clock.Advance(absl::Hours(1));
    p.Drain();
    p.primary->Update("Account", a.id, {{"Name", std::string("B")}});
    p.Drain();
    REQUIRE(p.sent_by_primary.size() == 2);
    CHECK(p.sent_by_primary[0].has_audit());
    CHECK_FALSE(p.sent_by_primary[1].has_audit());
    const Record there =
        p.secondary->Get("Account", *p.primary->PartnerIdOf("Account", a.id));
    CHECK(there.audit.created_date == a.audit.created_date);
    CHECK(there.audit.created_by == a.audit.created_by);
  }
  SECTION("off") {
    Pair p;
    p.Flow(*p.primary, *p.secondary, {"Account"});
    const Record a = p.primary->Insert("Account", AccountFields("Acme"));
    p.clock.Advance(absl::Hours(1));
    p.Drain();
    REQUIRE(p.sent_by_primary.size() == 1);
    CHECK_FALSE(p.sent_by_primary[0].has_audit());
    const Record there =
        p.secondary->Get("Account", *p.primary->PartnerIdOf("Account", a.id));
    CHECK(there.audit.created_date != a.audit.created_date);
  }
}

TEST_CASE("R36: auto-number fields are not synced", "[recsync]") {
  Pair p;
  p.Flow(*p.primary, *p.secondary, {"Account"});
  FieldMap fields = AccountFields("Acme");
  fields["AccountNumber"] = std::string("A-0001");
  const Record a = p.primary->Insert("Account", fields);
  p.Drain();
  REQUIRE(p.sent_by_primary.size() == 1);
  CHECK(p.sent_by_primary[0].fields().count("AccountNumber") == 0);
  const Record there =
      p.secondary->Get("Account", *p.primary->PartnerIdOf("Account", a.id));
  CHECK(there.fields.count("AccountNumber") == 0);
}

TEST_CASE("R37: a user missing in the target becomes the connection owner, "
          "logged and never written back",
          "[recsync]") {
  Pair p({}, {.users = {"U2"}});
  p.Flow(*p.primary, *p.secondary, {"Account"});
  p.Flow(*p.secondary, *p.primary, {"Account"});
  FieldMap fields = AccountFields("Acme");
  fields["OwnerId"] = Reference{"U1"};
  const Record a = p.primary->Insert("Account", fields);
  p.Drain();
  const std::string a2 = *p.primary->PartnerIdOf("Account", a.id);
  CHECK(p.secondary->Get("Account", a2).fields.at("OwnerId") ==
        FieldValue{Reference{"U2"}});
  const auto notes = p.secondary->LogWith(SyncErrorCode::kMissingUser);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].status == LogStatus::kInfo);
  CHECK_THAT(notes[0].description, Catch::Contains("U1"));
  CHECK(p.sent_by_secondary.empty());
  CHECK(p.primary->Get("Account", a.id).fields.at("OwnerId") ==
        FieldValue{Reference{"U1"}});
}

TEST_CASE("R38: binary values above the size limit are not synced and are "
          "logged",
          "[recsync]") {
  Pair p({.max_file_bytes = 16}, {});
  p.Flow(*p.primary, *p.secondary, {"Account"});
  FieldMap fields = AccountFields("Acme");
  fields["Logo"] = Binary{std::string(17, 'x')};
  const Record a = p.primary->Insert("Account", fields);
  CHECK(p.primary->last_capture.dropped_fields ==
        std::vector<std::string>{"Logo"});
  const auto logged = p.primary->LogWith(SyncErrorCode::kFileTooLarge);
  REQUIRE(logged.size() == 1);
  CHECK(logged[0].record == RecordRef{"Account", a.id});
  p.primary->Update("Account", a.id, {{"Logo", Binary{std::string(16, 'y')}}});
  p.Drain();
  const Record there =
      p.secondary->Get("Account", *p.primary->PartnerIdOf("Account", a.id));
  CHECK(there.fields.at("Logo") == FieldValue{Binary{std::string(16, 'y')}});
  CHECK(there.fields.at("Name") == FieldValue{std::string("Acme")});
}

TEST_CASE("R39: records that existed in the secondary before stay unlinked",
          "[recsync]") {
  Pair p;
  const Record old = p.secondary->Insert("Account", AccountFields("Acme"));
  p.Flow(*p.primary, *p.secondary, {"Account"});
  p.primary->Insert("Account", AccountFields("Acme"));
  p.Drain();
  CHECK(p.secondary->All("Account").size() == 2);
  CHECK_FALSE(p.secondary->PartnerIdOf("Account", old.id).has_value());
  auto links = p.secondary->sync->links().List("Account");
  REQUIRE(links.ok());
  CHECK(links->size() == 1);
}

TEST_CASE("R55: a record whose insert failed for good is sent whole with "
          "its next change",
          "[recsync]") {
  Pair p;
  p.Flow(*p.primary, *p.secondary, {"Account"});
  p.secondary->store->refuse_inserts = 1;
  const Record a = p.primary->Insert("Account", AccountFields("Acme"));
  p.Drain();
  CHECK(p.primary->queue->Count() == 0);
  const auto failed = p.primary->LogWith(SyncErrorCode::kValidation);
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].status == LogStatus::kFailed);
  CHECK(p.secondary->All("Account").empty());

  p.primary->Update("Account", a.id, {{"Phone", std::string("555-0111")}});
  p.Drain();
  REQUIRE(p.sent_by_primary.size() == 2);
  CHECK(p.sent_by_primary[1].action() == proto::GENERIC_INSERT);
  const std::optional<std::string> id = p.primary->PartnerIdOf("Account", a.id);
  REQUIRE(id.has_value());
  const Record there = p.secondary->Get("Account", *id);
  CHECK(there.fields.at("Name") == FieldValue{std::string("Acme")});
  CHECK(there.fields.at("Phone") == FieldValue{std::string("555-0111")});
  CHECK(p.secondary->All("Account").size() == 1);
}

// A mixed workload on both sides of a two-way connection.
void Workload(Pair& p, int rounds) {
  std::vector<std::string> accounts;
  for (int i = 0; i < rounds; ++i) {
    Side& side = i % 2 == 0 ? *p.primary : *p.secondary;
    const Record a = side.Insert("Account", AccountFields(
                                                "A" + std::to_string(i)));
    const Record c = side.Insert(
        "Contact", {{"LastName", "C" + std::to_string(i)},
                    {"AccountId", Reference{a.id}}});
    side.Update("Account", a.id, {{"Phone", "p" + std::to_string(i)}});
    side.Update("Contact", c.id, {{"Email", "e" + std::to_string(i)}});
    if (i % 3 == 0) {
      side.Delete("Account", a.id);
      side.Undelete("Account", a.id);
    }
  }
}

TEST_CASE("Design rule 3: every change delivered twice, in shuffled order "
          "with lost acknowledgements, gives the same state and no "
          "duplicate records",
          "[recsync]") {
  for (uint32_t seed : {1u, 2u, 3u}) {
    Pair p;
    p.Flow(*p.primary, *p.secondary, {"Account", "Contact"});
    p.Flow(*p.secondary, *p.primary, {"Account", "Contact"});
    Workload(p, 6);
    p.Drain({.duplicate = true, .shuffle = true, .lose_acks = true,
             .seed = seed},
            80);
    INFO("seed " << seed);
    for (Side* side : {p.primary.get(), p.secondary.get()}) {
      auto left = side->queue->ListAfter(0, 100);
      REQUIRE(left.ok());
      for (const QueueEntry& e : left->entries) {
        auto out = side->sync->PrepareSend(e);
        WARN("left " << e.sequence << " " << e.record.object << "/"
                              << e.record.id << " "
                              << QueueActionName(e.action) << " attempts "
                              << e.attempts << " " << e.last_error.message
                              << " kind " << static_cast<int>(out->kind)
                              << " " << out->reason);
      }
    }
    REQUIRE(p.primary->queue->Count() == 0);
    REQUIRE(p.secondary->queue->Count() == 0);
    CHECK(p.primary->All("Account").size() == 6);
    CHECK(p.secondary->All("Account").size() == 6);
    CHECK(p.primary->All("Contact").size() == 6);
    CHECK(p.secondary->All("Contact").size() == 6);
    ExpectConverged(*p.primary, *p.secondary, "Account");
    ExpectConverged(*p.primary, *p.secondary, "Contact");
    ExpectConverged(*p.secondary, *p.primary, "Contact");
  }
}

TEST_CASE("Design rule 2: a crash between reserving the id and inserting "
          "inserts the record once on redelivery",
          "[recsync]") {
  const bool leveldb = GENERATE(false, true);
  Pair p({}, {.leveldb = leveldb});
  p.Flow(*p.primary, *p.secondary, {"Account"});
  const Record a = p.primary->Insert("Account", AccountFields("Acme"));
  SECTION("crash before the insert") {
    p.secondary->store->fail_inserts_before = 1;
    auto results = p.Round(*p.primary, *p.secondary);
    REQUIRE(results.size() == 1);
    CHECK(results[0].outcome() == proto::RETRYABLE_FAILURE);
    p.secondary->CrashAndReopen();
    auto link = p.secondary->sync->links().FindByPartner("Account", a.id);
    REQUIRE(link.ok());
    REQUIRE(link->has_value());  // durable before the insert
    CHECK((*link)->reserved());
    p.Drain();
    REQUIRE(p.secondary->All("Account").size() == 1);
    CHECK(p.secondary->All("Account")[0].id == (*link)->local_id());
  }
  SECTION("crash after the insert, before the link is final") {
    p.secondary->store->fail_inserts_after = 1;
    p.Round(*p.primary, *p.secondary);
    p.secondary->CrashAndReopen();
    p.clock.Advance(absl::Seconds(2));
    auto results = p.Round(*p.primary, *p.secondary);
    REQUIRE(results.size() == 1);
    CHECK(results[0].outcome() == proto::DUPLICATE);
    CHECK(p.secondary->All("Account").size() == 1);
    CHECK(p.primary->PartnerIdOf("Account", a.id) ==
          p.secondary->All("Account")[0].id);
  }
}

TEST_CASE("Conflicts: the same field changed in both orgs is settled the "
          "same way in both, and logged with both values",
          "[recsync]") {
  Pair p;
  p.Flow(*p.primary, *p.secondary, {"Account"});
  p.Flow(*p.secondary, *p.primary, {"Account"});
  const Record a = p.primary->Insert("Account", AccountFields("Acme"));
  p.Drain();
  const std::string a2 = *p.primary->PartnerIdOf("Account", a.id);
  p.primary->Update("Account", a.id, {{"Name", std::string("Primary")}});
  p.secondary->Update("Account", a2, {{"Name", std::string("Secondary")}});
  SECTION("secondary's write is later: it wins") {
    p.Drain();
  }
  SECTION("delivered the other way round first") {
    p.Round(*p.secondary, *p.primary);
    p.Drain();
  }
  CHECK(p.primary->Get("Account", a.id).fields.at("Name") ==
        FieldValue{std::string("Secondary")});
  CHECK(p.secondary->Get("Account", a2).fields.at("Name") ==
        FieldValue{std::string("Secondary")});
  const auto logged = p.primary->LogWith(SyncErrorCode::kConflict);
  const auto logged2 = p.secondary->LogWith(SyncErrorCode::kConflict);
  REQUIRE(logged.size() + logged2.size() >= 1);
  const LogEntry& entry = logged.empty() ? logged2[0] : logged[0];
  CHECK(entry.status == LogStatus::kInfo);
  CHECK(std::find(entry.details.begin(), entry.details.end(),
                  LogDetail{"primary_value", "Primary"}) !=
        entry.details.end());
  CHECK(std::find(entry.details.begin(), entry.details.end(),
                  LogDetail{"secondary_value", "Secondary"}) !=
        entry.details.end());
  CHECK(std::find(entry.details.begin(), entry.details.end(),
                  LogDetail{"winner", "secondary"}) != entry.details.end());
}

TEST_CASE("Conflicts: applying inserts, updates and deletes writes each "
          "linked record's stamps in its link, no key of their own",
          "[recsync]") {
  Pair p;
  p.Flow(*p.primary, *p.secondary, {"Account"});
  const Record a = p.primary->Insert("Account", AccountFields("Acme"));
  const Record b = p.primary->Insert("Account", AccountFields("Beta"));
  p.Drain();
  p.primary->Update("Account", a.id, {{"Name", std::string("Acme 2")}});
  p.primary->Delete("Account", b.id);
  p.Drain();
  auto it = p.secondary->storage->NewIterator();
  REQUIRE(it.ok());
  size_t step_keys = 0;
  for ((*it)->Seek("k/"); (*it)->Valid() && (*it)->key().starts_with("k/");
       (*it)->Next()) {
    if ((*it)->key().find("/s/") != std::string_view::npos) ++step_keys;
  }
  CHECK(step_keys == 0);
  auto linked =
      p.secondary->sync->links().FindByLocal(
          "Account", *p.primary->PartnerIdOf("Account", a.id));
  REQUIRE(linked.ok());
  REQUIRE(linked->has_value());
  CHECK((*linked)->holds_step_stamps());
  auto linked_stamps =
      p.secondary->sync->links().StepStampsOf("Account", **linked);
  REQUIRE(linked_stamps.ok());
  CHECK(linked_stamps->fields().contains("Name"));
  auto deleted =
      p.secondary->sync->links().FindByLocal(
          "Account", *p.primary->PartnerIdOf("Account", b.id));
  REQUIRE(deleted.ok());
  REQUIRE(deleted->has_value());
  auto deleted_stamps =
      p.secondary->sync->links().StepStampsOf("Account", **deleted);
  REQUIRE(deleted_stamps.ok());
  CHECK(deleted_stamps->fields().contains("$deleted"));
}

TEST_CASE("Conflicts: different fields changed in both orgs merge",
          "[recsync]") {
  Pair p;
  p.Flow(*p.primary, *p.secondary, {"Account"});
  p.Flow(*p.secondary, *p.primary, {"Account"});
  const Record a = p.primary->Insert("Account", AccountFields("Acme"));
  p.Drain();
  const std::string a2 = *p.primary->PartnerIdOf("Account", a.id);
  p.primary->Update("Account", a.id, {{"Name", std::string("New name")}});
  p.secondary->Update("Account", a2, {{"Phone", std::string("555-9")}});
  p.Drain();
  for (const Record& r : {p.primary->Get("Account", a.id),
                          p.secondary->Get("Account", a2)}) {
    CHECK(r.fields.at("Name") == FieldValue{std::string("New name")});
    CHECK(r.fields.at("Phone") == FieldValue{std::string("555-9")});
  }
  CHECK(p.primary->LogWith(SyncErrorCode::kConflict).empty());
  CHECK(p.secondary->LogWith(SyncErrorCode::kConflict).empty());
}

class PrimaryAlwaysWins : public ConflictResolver {
 public:
  ConflictWinner Resolve(const FieldConflict&) override {
    ++calls;
    return ConflictWinner::kPrimary;
  }
  std::atomic<int> calls{0};
};

TEST_CASE("Conflicts: a custom resolver decides and both orgs converge",
          "[recsync]") {
  PrimaryAlwaysWins resolver;
  Pair p({.resolver = &resolver}, {.resolver = &resolver});
  p.Flow(*p.primary, *p.secondary, {"Account"});
  p.Flow(*p.secondary, *p.primary, {"Account"});
  const Record a = p.primary->Insert("Account", AccountFields("Acme"));
  p.Drain();
  const std::string a2 = *p.primary->PartnerIdOf("Account", a.id);
  p.primary->Update("Account", a.id, {{"Name", std::string("Primary")}});
  p.secondary->Update("Account", a2, {{"Name", std::string("Secondary")}});
  SECTION("secondary's change arrives first") {
    p.Round(*p.secondary, *p.primary);
    p.Drain();
  }
  SECTION("primary's change arrives first") {
    p.Round(*p.primary, *p.secondary);
    p.Drain();
  }
  CHECK(resolver.calls >= 1);
  CHECK(p.primary->Get("Account", a.id).fields.at("Name") ==
        FieldValue{std::string("Primary")});
  CHECK(p.secondary->Get("Account", a2).fields.at("Name") ==
        FieldValue{std::string("Primary")});
  CHECK(p.primary->queue->Count() == 0);
  CHECK(p.secondary->queue->Count() == 0);
}

TEST_CASE("Design rule 2: Capture is durable when it returns", "[recsync]") {
  const bool leveldb = GENERATE(false, true);
  Pair p({.leveldb = leveldb}, {.leveldb = leveldb});
  p.Flow(*p.primary, *p.secondary, {"Account"});
  const Record a = p.primary->Insert("Account", AccountFields("Acme"));
  REQUIRE(p.primary->last_capture.captured);
  p.primary->CrashAndReopen();
  CHECK(p.primary->queue->Count() == 1);
  p.Drain();
  CHECK(p.primary->PartnerIdOf("Account", a.id).has_value());
}

TEST_CASE("Design rule 2: Capture from 8 threads at once queues every "
          "change with unique sequences",
          "[recsync][threads]") {
  const bool leveldb = GENERATE(false, true);
  Pair p({.leveldb = leveldb}, {});
  p.Flow(*p.primary, *p.secondary, {"Account"});
  constexpr int kThreads = 8;
  constexpr int kEach = 40;
  std::vector<std::vector<uint64_t>> sequences(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Record record;
        record.object = "Account";
        record.fields = AccountFields(std::to_string(t) + "-" + std::to_string(i));
        auto inserted =
            p.primary->inner_store->Insert(std::move(record), ApplyContext{});
        if (!inserted.ok()) {
          ++failures;
          continue;
        }
        LocalChange change;
        change.kind = ChangeKind::kInsert;
        change.record = *inserted;
        auto captured = p.primary->sync->Capture(change);
        if (!captured.ok() || !captured->captured) {
          ++failures;
          continue;
        }
        sequences[t].push_back(captured->sequence);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(failures == 0);
  std::set<uint64_t> all;
  for (const auto& mine : sequences) all.insert(mine.begin(), mine.end());
  CHECK(all.size() == kThreads * kEach);
  CHECK(p.primary->queue->Count() == kThreads * kEach);
  p.primary->CrashAndReopen();
  CHECK(p.primary->queue->Count() == kThreads * kEach);
}

TEST_CASE("Conflicts: captures of one record's updates on several threads at "
          "once each keep the stamp of the field they changed",
          "[recsync][threads]") {
  // On LevelDB, where each capture's synced write is slow enough for the
  // threads' captures to overlap.
  Pair p({.leveldb = true}, {});
  p.Flow(*p.primary, *p.secondary, {"Account"});
  const Record account = p.primary->Insert("Account", AccountFields("Acme"));
  p.Drain();
  // Each thread changes a field of its own, over and over: however the
  // captures keep their stamps, none may write over another's.
  const std::vector<std::string> fields = {"Name", "Phone"};
  auto value = [](size_t t, int i) {
    return std::string(t == 0 ? "Acme " : "555-") + std::to_string(i);
  };
  std::vector<uint64_t> last_sequence(fields.size(), 0);
  std::atomic<int> failures{0};
  std::string first_failure;  // written by the first failing thread only
  std::vector<std::thread> threads;
  for (size_t t = 0; t < fields.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        auto updated = p.primary->inner_store->Update(
            "Account", account.id,
            {{fields[t], value(t, i)}},
            ApplyContext{});
        if (!updated.ok()) {
          if (failures++ == 0) first_failure = updated.status().ToString();
          continue;
        }
        LocalChange change;
        change.kind = ChangeKind::kUpdate;
        change.record = *updated;
        change.changed_fields = {fields[t]};
        auto captured = p.primary->sync->Capture(change);
        if (!captured.ok() || !captured->captured) {
          if (failures++ == 0) {
            first_failure = captured.ok() ? captured->reason
                                          : captured.status().ToString();
          }
          continue;
        }
        last_sequence[t] = captured->sequence;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  INFO(first_failure);
  REQUIRE(failures == 0);
  internal::RecordLinks links(p.primary->storage, "conn1");
  for (size_t t = 0; t < fields.size(); ++t) {
    auto stamp = links.GetStamp("Account", account.id, fields[t]);
    REQUIRE(stamp.ok());
    REQUIRE(stamp->has_value());
    CHECK((*stamp)->sequence() == last_sequence[t]);
  }
  p.Drain();
  ExpectConverged(*p.primary, *p.secondary, "Account");
}

TEST_CASE("Conflicts: an update racing a delete leaves the record deleted in "
          "both orgs with the updated values",
          "[recsync]") {
  Pair p;
  p.Flow(*p.primary, *p.secondary, {"Account"});
  p.Flow(*p.secondary, *p.primary, {"Account"});
  const Record a = p.primary->Insert("Account", AccountFields("Acme"));
  p.Drain();
  const std::string a2 = *p.primary->PartnerIdOf("Account", a.id);
  p.primary->Delete("Account", a.id);
  p.secondary->Update("Account", a2, {{"Name", std::string("Renamed")}});
  p.Drain();
  for (const Record& r : {p.primary->Get("Account", a.id),
                          p.secondary->Get("Account", a2)}) {
    CHECK(r.deleted);
    CHECK(r.fields.at("Name") == FieldValue{std::string("Renamed")});
  }
  // A delete older than the record's last undelete does not win.
  p.primary->Undelete("Account", a.id);
  p.Drain();
  CHECK_FALSE(p.secondary->Get("Account", a2).deleted);
}

TEST_CASE("Design rule 2: RecordStore::ReserveId hands out ids Insert "
          "accepts and never reuses them",
          "[recsync]") {
  auto storage = NewMemoryStorage();
  Schema schema;  // no objects: no lookups
  RecordStoreOptions options;
  options.schema = &schema;
  options.id_prefix = "R-";
  auto durable = OpenStorageRecordStore(storage.get(), options);
  REQUIRE(durable.ok());
  auto made = NewInMemoryRecordStore({.schema = &schema});
  REQUIRE(made.ok());
  std::unique_ptr<RecordStore> memory = *std::move(made);
  for (RecordStore* store : {durable->get(), memory.get()}) {
    auto first = store->ReserveId("Account");
    auto second = store->ReserveId("Account");
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    CHECK(*first != *second);
    Record record;
    record.object = "Account";
    record.id = *second;
    ApplyContext replicated;
    replicated.from_replication = true;
    REQUIRE(store->Insert(record, replicated).ok());
    Record fresh;
    fresh.object = "Account";
    auto generated = store->Insert(fresh, ApplyContext{});
    REQUIRE(generated.ok());
    CHECK(generated->id != *first);
    CHECK(generated->id != *second);
    CHECK(absl::IsNotFound(store->Get("Account", *first).status()));
  }
  // The storage-backed store keeps the counter across a restart, once
  // SyncReservedIds made the reservation durable (live sync calls it
  // before any link names the id).
  const std::string before = *(*durable)->ReserveId("Account");
  REQUIRE((*durable)->SyncReservedIds().ok());
  durable->reset();
  auto reopened = OpenStorageRecordStore(storage.get(), options);
  REQUIRE(reopened.ok());
  auto after = (*reopened)->ReserveId("Account");
  REQUIRE(after.ok());
  CHECK(*after > before);
  CHECK(absl::IsInvalidArgument(memory->ReserveId("").status()));
}

TEST_CASE("R30: a change for an object not subscribed fails for good, an "
          "update of an unlinked record is retried, and a redelivered change "
          "is a duplicate",
          "[recsync]") {
  Pair p;
  p.Flow(*p.primary, *p.secondary, {"Account"});
  proto::RecordChange change;
  change.set_sequence(7);
  change.set_action(proto::GENERIC_UPDATE);
  change.set_object("Contact");
  change.set_sender_record_id("P-000000000042");
  (*change.mutable_fields())["LastName"].set_text("Doe");
  proto::ItemResult result = p.secondary->sync->Apply(change);
  CHECK(result.outcome() == proto::PERMANENT_FAILURE);
  CHECK(result.error() == proto::ERROR_OBJECT_NOT_SUBSCRIBED);

  change.set_object("Account");
  change.clear_fields();
  (*change.mutable_fields())["Name"].set_text("Acme");
  result = p.secondary->sync->Apply(change);
  CHECK(result.outcome() == proto::RETRYABLE_FAILURE);
  CHECK(result.error() == proto::ERROR_RECORD_NOT_FOUND);
  CHECK(p.secondary->All("Account").empty());

  change.set_action(proto::GENERIC_INSERT);
  result = p.secondary->sync->Apply(change);
  REQUIRE(result.outcome() == proto::APPLIED);
  const std::string id = result.receiver_record_id();
  CHECK(result.receiver_version() == 1);
  result = p.secondary->sync->Apply(change);
  CHECK(result.outcome() == proto::DUPLICATE);
  CHECK(result.receiver_record_id() == id);
  CHECK(p.secondary->All("Account").size() == 1);
  // An older change of the same record arriving late is a duplicate too.
  change.set_sequence(6);
  change.set_action(proto::GENERIC_UPDATE);
  CHECK(p.secondary->sync->Apply(change).outcome() == proto::DUPLICATE);
}

}  // namespace
}  // namespace orgsync::testing::record_sync_test
