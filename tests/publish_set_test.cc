// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "publish/durable_publish_set.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "orgsync/queue_action.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"
#include "publish/change_sink.h"
#include "testing/change_sink_testing.h"
#include "testing/crm_schema.h"
#include "testing/storage_testing.h"

namespace orgsync::publish_set_test {
namespace {

using Catch::Matchers::Contains;
using internal::DurablePublishSet;
using internal::MapNotice;

// ---------------------------------------------------------------- helpers

using testing::Dump;
using testing::FaultyStorage;
using testing::RecordingSink;
using testing::ReopenableStorage;

std::vector<std::function<std::unique_ptr<ReopenableStorage>()>> Harnesses() {
  return testing::ReopenableStorageFactories();
}

using testing::AuditFields;
using testing::Field;
using testing::FillSchema;
using testing::Lookup;
using testing::Object;
using testing::Picklist;

struct Fixture {
  Fixture() {
    FillSchema(&schema);
    faulty = std::make_unique<FaultyStorage>(memory.get(), &sink.log);
    Reopen();
  }
  void Reopen() {
    set.reset();
    auto opened = DurablePublishSet::Open(faulty.get(), "conn1", &schema, &sink);
    REQUIRE(opened.ok());
    set = *std::move(opened);
  }

  Schema schema;
  RecordingSink sink;
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  std::unique_ptr<FaultyStorage> faulty;
  std::unique_ptr<DurablePublishSet> set;
};

// Everything a PublishSet shows, to compare two of them.
struct View {
  std::vector<std::string> objects;
  std::map<std::string, std::vector<std::string>> fields;
  std::map<std::string, ObjectDef> publications;
  std::map<std::string, bool> partner_subscribed;
  friend bool operator==(const View&, const View&) = default;
};

View ViewOf(const PublishSet& set) {
  View view;
  view.objects = set.PublishedObjects();
  for (const std::string& object : view.objects) {
    view.fields[object] = set.PublishedFields(object);
    view.publications[object] = *set.Publication(object);
    view.partner_subscribed[object] = set.IsPartnerSubscribed(object);
  }
  return view;
}

// Runs `refused`, which must fail with `code` and a message containing
// `message_part`, and checks that it changed nothing anywhere.
void ExpectRefused(Fixture& f, const std::function<absl::Status()>& refused,
                   absl::StatusCode code, const std::string& message_part) {
  const auto storage_before = Dump(f.memory.get());
  const View view_before = ViewOf(*f.set);
  const size_t staged_before = f.sink.staged.size();
  const size_t finished_before = f.sink.finishes.size();
  const int writes_before = f.faulty->writes;
  absl::Status status = refused();
  CHECK(status.code() == code);
  CHECK_THAT(std::string(status.message()), Contains(message_part));
  CHECK(Dump(f.memory.get()) == storage_before);
  CHECK(ViewOf(*f.set) == view_before);
  CHECK(f.sink.staged.size() == staged_before);
  CHECK(f.sink.finishes.size() == finished_before);
  CHECK(f.faulty->writes == writes_before);
}

bool HasNotice(const std::vector<MapNotice>& notices, QueueAction action,
               const std::string& object, const std::string& field = "",
               const std::string& new_name = "",
               const std::string& value = "") {
  for (const MapNotice& n : notices) {
    if (n.action == action && n.object == object && n.field == field &&
        n.new_name == new_name && n.value == value) {
      return true;
    }
  }
  return false;
}

using Names = std::vector<std::string>;

// ---------------------------------------------------------------- tests

TEST_CASE("R10: only objects the host marks publishable can be published") {
  Fixture f;
  ExpectRefused(
      f, [&] { return f.set->PublishObject("SetupAuditTrail"); },
      absl::StatusCode::kFailedPrecondition,
      "R10: object SetupAuditTrail is not publishable");
  ExpectRefused(
      f, [&] { return f.set->PublishObject("Invoice"); },
      absl::StatusCode::kNotFound, "R10: object Invoice is not in the local schema");
  // One refused object refuses the whole group.
  ExpectRefused(
      f,
      [&] {
        const Names group = {"Account", "SetupAuditTrail"};
        return f.set->PublishObjects(group);
      },
      absl::StatusCode::kFailedPrecondition, "SetupAuditTrail");
  CHECK_FALSE(f.set->IsObjectPublished("Account"));

  REQUIRE(f.set->PublishObject("Account").ok());
  CHECK(f.set->IsObjectPublished("Account"));
}

TEST_CASE("R10: an object the host stops marking publishable is unpublished") {
  Fixture f;
  REQUIRE(f.set->PublishObject("Account").ok());
  f.sink.Clear();
  ObjectDef account = *f.schema.FindObject("Account");
  account.publishable = false;
  REQUIRE(f.schema.ReplaceObject("Account", account).ok());
  auto notices = f.set->FollowSchemaChange({.object = "Account"});
  REQUIRE(notices.ok());
  CHECK(HasNotice(*notices, QueueAction::kTypeMapDelete, "Account"));
  CHECK(f.sink.All().size() == 1);
  CHECK_FALSE(f.set->IsObjectPublished("Account"));
}

TEST_CASE("R11: publishing an object publishes all its supported fields by "
          "default, fields can be unpublished one by one") {
  Fixture f;
  REQUIRE(f.set->PublishObject("Account").ok());
  CHECK(f.set->PublishedFields("Account") ==
        Names{"Industry", "Name", "OwnerId", "ParentId", "Phone", "Revenue"});
  // The publication keeps the schema's field order and definitions.
  std::optional<ObjectDef> publication = f.set->Publication("Account");
  REQUIRE(publication.has_value());
  CHECK(publication->fields.front().name == "Name");
  CHECK(publication->fields.front().length == 255);
  CHECK(publication->FindField("Industry")->picklist_values.size() == 3);

  f.sink.Clear();
  REQUIRE(f.set->UnpublishField("Account", "Phone").ok());
  CHECK_FALSE(f.set->IsFieldPublished("Account", "Phone"));
  CHECK(f.set->IsFieldPublished("Account", "Name"));
  CHECK(f.set->IsObjectPublished("Account"));
  REQUIRE(f.set->UnpublishField("Account", "Revenue").ok());
  CHECK(f.set->PublishedFields("Account") ==
        Names{"Industry", "Name", "OwnerId", "ParentId"});
  CHECK(f.sink.All().size() == 2);
  CHECK(HasNotice(f.sink.All(), QueueAction::kFieldMapDelete, "Account", "Phone"));
  CHECK(HasNotice(f.sink.All(), QueueAction::kFieldMapDelete, "Account", "Revenue"));

  f.sink.Clear();
  REQUIRE(f.set->PublishField("Account", "Phone").ok());
  CHECK(f.set->IsFieldPublished("Account", "Phone"));
  REQUIRE(f.sink.All().size() == 1);
  CHECK(HasNotice(f.sink.All(), QueueAction::kFieldMapUpdate, "Account", "Phone"));
  // Re-published in the schema's place, not appended.
  CHECK(f.set->Publication("Account")->fields[1].name == "Phone");

  ExpectRefused(
      f, [&] { return f.set->PublishField("Contact", "Email"); },
      absl::StatusCode::kFailedPrecondition,
      "R11: object Contact is not published; publish it before its field Email");
  ExpectRefused(
      f, [&] { return f.set->PublishField("Account", "Fax"); },
      absl::StatusCode::kNotFound, "object Account has no field Fax");
}

TEST_CASE("R12: never-publishable field types are refused, audit fields are "
          "not listed") {
  Fixture f;
  const Names all = {"Account", "Contact", "Case"};
  REQUIRE(f.set->PublishObjects(all).ok());
  for (const std::string& object : all) {
    for (std::string_view audit : kAuditFieldNames) {
      CHECK_FALSE(f.set->IsFieldPublished(object, audit));
    }
  }
  ExpectRefused(
      f, [&] { return f.set->PublishField("Case", "CaseNumber"); },
      absl::StatusCode::kInvalidArgument,
      "R12: field Case.CaseNumber is an auto-number field and can never be "
      "published");
  ExpectRefused(
      f, [&] { return f.set->PublishField("Contact", "Ssn"); },
      absl::StatusCode::kInvalidArgument,
      "R12: field Contact.Ssn is an encrypted field and can never be published");
  ExpectRefused(
      f, [&] { return f.set->PublishField("Account", "Notes"); },
      absl::StatusCode::kInvalidArgument,
      "R12: field Account.Notes is a rich text area field");
  ExpectRefused(
      f, [&] { return f.set->PublishField("Account", "Score"); },
      absl::StatusCode::kInvalidArgument,
      "R12: field Account.Score is a formula field");
  ExpectRefused(
      f, [&] { return f.set->PublishField("Case", "CommentCount"); },
      absl::StatusCode::kInvalidArgument,
      "R12: field Case.CommentCount is a roll-up summary field");
  ExpectRefused(
      f, [&] { return f.set->PublishField("Account", "Location"); },
      absl::StatusCode::kInvalidArgument,
      "R12: field Account.Location is a geolocation field");
  ExpectRefused(
      f, [&] { return f.set->PublishField("Account", "CreatedBy"); },
      absl::StatusCode::kInvalidArgument,
      "R12: field Account.CreatedBy is an audit field");
  ExpectRefused(
      f, [&] { return f.set->PublishField("Case", "LastModifiedDate"); },
      absl::StatusCode::kInvalidArgument, "audit field");
}

TEST_CASE("R12: a published field whose type becomes never-publishable is "
          "unpublished") {
  Fixture f;
  REQUIRE(f.set->PublishObject("Account").ok());
  ObjectDef account = *f.schema.FindObject("Account");
  account.fields[1].type = FieldType::kFormula;  // Phone
  REQUIRE(f.schema.ReplaceObject("Account", account).ok());
  auto notices = f.set->FollowSchemaChange({.object = "Account"});
  REQUIRE(notices.ok());
  CHECK(*notices == std::vector<MapNotice>{
                        {QueueAction::kFieldMapDelete, "Account", "Phone", "", ""}});
  CHECK_FALSE(f.set->IsFieldPublished("Account", "Phone"));
}

TEST_CASE("R13: a lookup to an unpublished object is not published by "
          "default but can be published explicitly") {
  Fixture f;
  REQUIRE(f.set->PublishObject("Contact").ok());
  CHECK_FALSE(f.set->IsFieldPublished("Contact", "AccountId"));
  // A self-lookup's target is published with it.
  CHECK(f.set->IsFieldPublished("Contact", "ReportsToId"));

  f.sink.Clear();
  REQUIRE(f.set->PublishField("Contact", "AccountId").ok());
  CHECK(f.set->IsFieldPublished("Contact", "AccountId"));
  CHECK(HasNotice(f.sink.All(), QueueAction::kFieldMapUpdate, "Contact",
                  "AccountId"));
}

TEST_CASE("R13: publishing the target later leaves earlier lookups as they "
          "were") {
  Fixture f;
  REQUIRE(f.set->PublishObject("Case").ok());
  CHECK(f.set->PublishedLookups("Case").empty());
  REQUIRE(f.set->PublishObject("Account").ok());
  REQUIRE(f.set->PublishObject("Contact").ok());
  CHECK_FALSE(f.set->IsFieldPublished("Case", "AccountId"));
  CHECK_FALSE(f.set->IsFieldPublished("Case", "ContactId"));
  // Contact was published after Account, so its lookup is in.
  CHECK(f.set->IsFieldPublished("Contact", "AccountId"));
}

TEST_CASE("R13: objects published together publish the lookups between them") {
  Fixture f;
  const Names group = {"Case", "Contact", "Account", "Contact"};
  REQUIRE(f.set->PublishObjects(group).ok());
  CHECK(f.set->PublishedLookups("Case") == Names{"AccountId", "ContactId"});
  CHECK(f.set->PublishedLookups("Contact") == Names{"AccountId", "ReportsToId"});
  // One atomic write with one notice per object, in the caller's order.
  REQUIRE(f.sink.staged.size() == 1);
  CHECK(f.sink.staged[0] ==
        std::vector<MapNotice>{{QueueAction::kTypeMapUpdate, "Case", "", "", ""},
                               {QueueAction::kTypeMapUpdate, "Contact", "", "", ""},
                               {QueueAction::kTypeMapUpdate, "Account", "", "", ""}});
}

TEST_CASE("R13: an explicit lookup needs a target the schema knows") {
  Fixture f;
  ObjectDef lead = Object("Lead", {Field("Company", FieldType::kText, 255),
                                   Lookup("CampaignId", "Campaign")});
  REQUIRE(f.schema.AddObject(lead).ok());
  REQUIRE(f.set->PublishObject("Lead").ok());
  CHECK(f.set->PublishedFields("Lead") == Names{"Company"});
  ExpectRefused(
      f, [&] { return f.set->PublishField("Lead", "CampaignId"); },
      absl::StatusCode::kFailedPrecondition,
      "R13: lookup field Lead.CampaignId targets object Campaign, which is "
      "not in the local schema");
}

TEST_CASE("R14: the published lookups are exposed for the record flow") {
  Fixture f;
  REQUIRE(f.set->PublishObject("CaseComment").ok());
  // Child published before its parent: the master-detail stays out, and
  // records will replicate with it blank.
  CHECK(f.set->PublishedLookups("CaseComment").empty());
  CHECK(f.set->PublishedFields("CaseComment") == Names{"Body"});
  REQUIRE(f.set->PublishObject("Case").ok());
  REQUIRE(f.set->PublishField("CaseComment", "ParentId").ok());
  CHECK(f.set->PublishedLookups("CaseComment") == Names{"ParentId"});
  CHECK(f.set->PublishedLookups("Unknown").empty());
}

TEST_CASE("R15: publishing that would create a circular lookup dependency is "
          "refused") {
  Fixture f;
  ObjectDef account = *f.schema.FindObject("Account");
  account.fields.push_back(Lookup("PrimaryContactId", "Contact"));
  REQUIRE(f.schema.ReplaceObject("Account", account).ok());

  ExpectRefused(
      f,
      [&] {
        const Names both = {"Account", "Contact"};
        return f.set->PublishObjects(both);
      },
      absl::StatusCode::kFailedPrecondition,
      "R15: publishing Account, Contact would create a circular lookup "
      "dependency among published objects: Account.PrimaryContactId -> "
      "Contact.AccountId -> Account");

  // One at a time, the later lookup is left out (R13), so no cycle.
  REQUIRE(f.set->PublishObject("Account").ok());
  REQUIRE(f.set->PublishObject("Contact").ok());
  CHECK_FALSE(f.set->IsFieldPublished("Account", "PrimaryContactId"));
  ExpectRefused(
      f, [&] { return f.set->PublishField("Account", "PrimaryContactId"); },
      absl::StatusCode::kFailedPrecondition,
      "R15: publishing field Account.PrimaryContactId would create a "
      "circular lookup dependency");

  // Breaking the cycle on the other side makes it publishable.
  REQUIRE(f.set->UnpublishField("Contact", "AccountId").ok());
  REQUIRE(f.set->PublishField("Account", "PrimaryContactId").ok());
}

TEST_CASE("R15: a longer cycle through three objects is refused") {
  Fixture f;
  // Account -> Case (new lookup), Case -> Contact, Contact -> Account.
  ObjectDef account = *f.schema.FindObject("Account");
  account.fields.push_back(Lookup("LatestCaseId", "Case"));
  REQUIRE(f.schema.ReplaceObject("Account", account).ok());
  REQUIRE(f.set->PublishObject("Account").ok());
  REQUIRE(f.set->PublishObject("Contact").ok());
  REQUIRE(f.set->PublishObject("Case").ok());
  REQUIRE(f.set->UnpublishField("Case", "AccountId").ok());
  ExpectRefused(
      f, [&] { return f.set->PublishField("Account", "LatestCaseId"); },
      absl::StatusCode::kFailedPrecondition,
      "Account.LatestCaseId -> Case.ContactId -> Contact.AccountId -> Account");
}

TEST_CASE("R15: self-lookups (hierarchies) are not circular dependencies") {
  Fixture f;
  REQUIRE(f.set->PublishObject("Account").ok());
  CHECK(f.set->IsFieldPublished("Account", "ParentId"));
  CHECK(f.set->PublishedLookups("Account") == Names{"ParentId"});
}

TEST_CASE("R15: a schema change that retargets a published lookup into a "
          "cycle unpublishes it") {
  Fixture f;
  ObjectDef account = *f.schema.FindObject("Account");
  account.fields.push_back(Lookup("Partner", "Account"));  // a self-lookup
  REQUIRE(f.schema.ReplaceObject("Account", account).ok());
  const Names both = {"Account", "Contact"};
  REQUIRE(f.set->PublishObjects(both).ok());
  REQUIRE(f.set->IsFieldPublished("Account", "Partner"));

  account.fields.back().lookup_target = "Contact";  // now Account -> Contact
  REQUIRE(f.schema.ReplaceObject("Account", account).ok());
  f.sink.Clear();
  auto notices = f.set->FollowSchemaChange({.object = "Account"});
  REQUIRE(notices.ok());
  CHECK(*notices == std::vector<MapNotice>{{QueueAction::kFieldMapDelete,
                                            "Account", "Partner", "", ""}});
  CHECK_FALSE(f.set->IsFieldPublished("Account", "Partner"));
  CHECK(f.set->IsFieldPublished("Contact", "AccountId"));
  CHECK(f.sink.All() == *notices);
}

TEST_CASE("R18: publishing copies no records: only map notices are emitted") {
  Fixture f;
  const Names all = {"Account", "Contact", "Case", "CaseComment", "Attachment"};
  const auto before = Dump(f.memory.get());
  CHECK(before.empty());
  REQUIRE(f.set->PublishObjects(all).ok());
  for (const MapNotice& notice : f.sink.All()) {
    CHECK_FALSE(IsRecordAction(notice.action));
  }
  CHECK(f.sink.All().size() == 5);
  for (const auto& [key, value] : Dump(f.memory.get())) {
    const bool ours = key.rfind("p/conn1/o/", 0) == 0;
    const bool sinks = key.rfind("q/test/", 0) == 0;
    CHECK((ours || sinks));
  }
}

TEST_CASE("R20: unpublishing an object emits Type Map Delete, unpublishing a "
          "field stops only that field") {
  Fixture f;
  const Names both = {"Account", "Contact"};
  REQUIRE(f.set->PublishObjects(both).ok());
  f.sink.Clear();

  REQUIRE(f.set->UnpublishField("Contact", "Email").ok());
  CHECK(f.sink.staged.back() ==
        std::vector<MapNotice>{{QueueAction::kFieldMapDelete, "Contact", "Email", "", ""}});
  CHECK(f.set->IsObjectPublished("Contact"));
  CHECK(f.set->IsFieldPublished("Contact", "LastName"));

  REQUIRE(f.set->UnpublishObject("Account").ok());
  CHECK(f.sink.staged.back() ==
        std::vector<MapNotice>{{QueueAction::kTypeMapDelete, "Account", "", "", ""}});
  CHECK_FALSE(f.set->IsObjectPublished("Account"));
  CHECK_FALSE(f.set->IsFieldPublished("Account", "Name"));
  CHECK(f.set->PublishedFields("Account").empty());
  CHECK_FALSE(f.set->Publication("Account").has_value());
  // A lookup to it stays published; its records replicate it blank (R14).
  CHECK(f.set->IsFieldPublished("Contact", "AccountId"));
  // Storage holds no trace of it.
  for (const auto& [key, value] : Dump(f.memory.get())) {
    CHECK(key != "p/conn1/o/Account");
  }
  // Publishing again starts from the defaults, partner subscription reset.
  REQUIRE(f.set->PublishObject("Account").ok());
  CHECK_FALSE(f.set->IsPartnerSubscribed("Account"));
}

TEST_CASE("R21: every change stages its notices, writes them synced in the "
          "same batch, then finishes") {
  Fixture f;
  REQUIRE(f.set->PublishObject("Account").ok());
  CHECK(f.sink.log == Names{"stage", "write sync", "finish ok"});
  // The sink's own key went into the same batch as the publish state.
  bool has_state = false;
  bool has_sink_key = false;
  for (const WriteBatch::Op& op : f.faulty->last_batch.ops()) {
    has_state |= op.key == "p/conn1/o/Account";
    has_sink_key |= op.key == "q/test/1";
  }
  CHECK(has_state);
  CHECK(has_sink_key);
  CHECK(f.sink.finishes.size() == 1);

  // A crash right after the call loses nothing: the write was synced.
  f.set.reset();
  f.memory->SimulateCrash();
  f.Reopen();
  CHECK(f.set->IsObjectPublished("Account"));
  CHECK(Dump(f.memory.get()).count("q/test/1") == 1);
}

TEST_CASE("R21: a failed write changes nothing and Finish gets the error") {
  Fixture f;
  REQUIRE(f.set->PublishObject("Account").ok());
  REQUIRE(f.set->UnpublishField("Account", "Phone").ok());
  const auto before = Dump(f.memory.get());
  const View view = ViewOf(*f.set);
  f.sink.Clear();
  f.faulty->fail_writes = true;

  const std::vector<std::function<absl::Status()>> changes = {
      [&] { return f.set->PublishObject("Contact"); },
      [&] { return f.set->UnpublishObject("Account"); },
      [&] { return f.set->UnpublishField("Account", "Name"); },
      [&] { return f.set->PublishField("Account", "Phone"); },
  };
  for (const auto& change : changes) {
    f.sink.Clear();
    absl::Status status = change();
    CHECK(status.code() == absl::StatusCode::kUnavailable);
    CHECK(f.sink.log == Names{"stage", "write sync", "finish error"});
    REQUIRE(f.sink.finishes.size() == 1);
    CHECK(f.sink.finishes.back().code() == absl::StatusCode::kUnavailable);
    CHECK(Dump(f.memory.get()) == before);
    CHECK(ViewOf(*f.set) == view);
  }
  ObjectDef account = *f.schema.FindObject("Account");
  account.fields[0].length = 300;
  REQUIRE(f.schema.ReplaceObject("Account", account).ok());
  f.sink.Clear();
  CHECK(f.set->FollowSchemaChange({.object = "Account"}).status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK(f.sink.log == Names{"stage", "write sync", "finish error"});
  CHECK(ViewOf(*f.set) == view);
  CHECK(f.set->SetPartnerSubscribed("Account", true).code() ==
        absl::StatusCode::kUnavailable);
  CHECK_FALSE(f.set->IsPartnerSubscribed("Account"));

  // Once the storage works again, the same change goes through.
  f.faulty->fail_writes = false;
  REQUIRE(f.set->FollowSchemaChange({.object = "Account"}).ok());
  CHECK(f.set->Publication("Account")->fields[0].length == 300);
  REQUIRE(f.set->PublishObject("Contact").ok());
  CHECK(f.set->IsObjectPublished("Contact"));
}

TEST_CASE("R21: a sink that refuses to stage aborts the change unwritten") {
  Fixture f;
  f.sink.stage_error = absl::ResourceExhaustedError("queue full");
  absl::Status status = f.set->PublishObject("Account");
  CHECK(status.code() == absl::StatusCode::kResourceExhausted);
  CHECK(f.sink.log == Names{"stage"});  // no write, no Finish
  CHECK(f.faulty->writes == 0);
  CHECK_FALSE(f.set->IsObjectPublished("Account"));
  CHECK(Dump(f.memory.get()).empty());
}

TEST_CASE("R21: requests already satisfied return OK and emit nothing, "
          "unknown names are NotFound") {
  Fixture f;
  REQUIRE(f.set->PublishObject("Account").ok());
  f.sink.Clear();
  const int writes = f.faulty->writes;
  CHECK(f.set->PublishObject("Account").ok());
  CHECK(f.set->PublishField("Account", "Name").ok());
  CHECK(f.set->UnpublishObject("Contact").ok());
  CHECK(f.set->UnpublishField("Contact", "Email").ok());
  CHECK(f.set->SetPartnerSubscribed("Account", false).ok());
  REQUIRE(f.set->UnpublishField("Account", "Phone").ok());
  f.sink.Clear();
  CHECK(f.set->UnpublishField("Account", "Phone").ok());
  CHECK(f.sink.staged.empty());
  CHECK(f.faulty->writes == writes + 1);

  ExpectRefused(f, [&] { return f.set->UnpublishObject("Invoice"); },
                absl::StatusCode::kNotFound, "Invoice");
  ExpectRefused(f, [&] { return f.set->UnpublishField("Account", "Fax"); },
                absl::StatusCode::kNotFound, "Account.Fax");
  ExpectRefused(f, [&] { return f.set->PublishField("Invoice", "Total"); },
                absl::StatusCode::kNotFound, "Invoice");
  ExpectRefused(f, [&] { return f.set->SetPartnerSubscribed("Contact", true); },
                absl::StatusCode::kNotFound, "Contact");
}

TEST_CASE("R21: local schema changes emit name updates, field updates, field "
          "deletes and value map deletes") {
  Fixture f;
  const Names both = {"Account", "Contact"};
  REQUIRE(f.set->PublishObjects(both).ok());
  REQUIRE(f.set->UnpublishField("Account", "Revenue").ok());
  f.sink.Clear();

  ObjectDef account = *f.schema.FindObject("Account");
  account.fields[0].length = 300;                          // Name resized
  account.fields[1].name = "MainPhone";                    // Phone renamed
  account.fields[2].picklist_values = {"Agriculture", "Chemicals", "Energy"};
  account.fields.erase(account.fields.begin() + 4);        // OwnerId deleted
  account.fields[4].precision = 20;                        // Revenue (unpublished)
  account.fields.push_back(Field("Website", FieldType::kUrl));  // added
  REQUIRE(f.schema.ReplaceObject("Account", account).ok());

  auto notices = f.set->FollowSchemaChange(
      {.object = "Account", .renamed_fields = {{"Phone", "MainPhone"}}});
  REQUIRE(notices.ok());
  CHECK(*notices ==
        std::vector<MapNotice>{
            {QueueAction::kFieldMapUpdate, "Account", "Name", "", ""},
            {QueueAction::kFieldMapNameUpdate, "Account", "Phone", "MainPhone", ""},
            // A value added and one removed: an update plus a value delete.
            {QueueAction::kFieldMapUpdate, "Account", "Industry", "", ""},
            {QueueAction::kValueMapDelete, "Account", "Industry", "", "Banking"},
            {QueueAction::kFieldMapDelete, "Account", "OwnerId", "", ""},
        });
  CHECK(f.sink.staged.size() == 1);
  CHECK(f.sink.All() == *notices);
  CHECK(f.set->PublishedFields("Account") ==
        Names{"Industry", "MainPhone", "Name", "ParentId"});
  CHECK(f.set->Publication("Account")->FindField("Name")->length == 300);

  // Only removing a value: just the Value Map Delete.
  account.fields[2].picklist_values = {"Agriculture", "Energy"};
  REQUIRE(f.schema.ReplaceObject("Account", account).ok());
  notices = f.set->FollowSchemaChange({.object = "Account"});
  REQUIRE(notices.ok());
  CHECK(*notices ==
        std::vector<MapNotice>{
            {QueueAction::kValueMapDelete, "Account", "Industry", "", "Chemicals"}});

  // Nothing published changed: no notice, no write.
  const int writes = f.faulty->writes;
  account.fields.push_back(Field("Fax", FieldType::kPhone));
  REQUIRE(f.schema.ReplaceObject("Account", account).ok());
  notices = f.set->FollowSchemaChange({.object = "Account"});
  REQUIRE(notices.ok());
  CHECK(notices->empty());
  CHECK(f.faulty->writes == writes);
  CHECK_FALSE(f.set->IsFieldPublished("Account", "Fax"));  // not auto-published
  REQUIRE(f.set->FollowSchemaChange({.object = "Case"}).ok());  // unpublished
  CHECK(f.faulty->writes == writes);

  // Attributes of the object itself: Type Map Update.
  account.child_only = true;
  REQUIRE(f.schema.ReplaceObject("Account", account).ok());
  notices = f.set->FollowSchemaChange({.object = "Account"});
  REQUIRE(notices.ok());
  CHECK(*notices == std::vector<MapNotice>{
                        {QueueAction::kTypeMapUpdate, "Account", "", "", ""}});
}

TEST_CASE("R21: renaming or deleting a published object emits Type Map Name "
          "Update or Type Map Delete") {
  Fixture f;
  const Names both = {"Account", "Contact"};
  REQUIRE(f.set->PublishObjects(both).ok());
  REQUIRE(f.set->SetPartnerSubscribed("Account", true).ok());
  f.sink.Clear();

  ObjectDef client = *f.schema.FindObject("Account");
  client.name = "Client";
  client.fields[3].lookup_target = "Client";  // the self-lookup follows
  REQUIRE(f.schema.ReplaceObject("Account", client).ok());
  ObjectDef contact = *f.schema.FindObject("Contact");
  contact.fields[2].lookup_target = "Client";
  REQUIRE(f.schema.ReplaceObject("Contact", contact).ok());

  auto notices =
      f.set->FollowSchemaChange({.object = "Account", .renamed_to = "Client"});
  REQUIRE(notices.ok());
  CHECK(*notices == std::vector<MapNotice>{{QueueAction::kTypeMapNameUpdate,
                                            "Account", "", "Client", ""}});
  CHECK(f.set->PublishedObjects() == Names{"Client", "Contact"});
  CHECK(f.set->IsPartnerSubscribed("Client"));
  CHECK(f.set->IsFieldPublished("Client", "ParentId"));
  // Lookups to the renamed object follow it, with no further notice.
  CHECK(f.set->Publication("Contact")->FindField("AccountId")->lookup_target ==
        "Client");
  notices = f.set->FollowSchemaChange({.object = "Contact"});
  REQUIRE(notices.ok());
  CHECK(notices->empty());

  REQUIRE(f.schema.RemoveObject("Client").ok());
  notices = f.set->FollowSchemaChange({.object = "Client"});
  REQUIRE(notices.ok());
  CHECK(*notices == std::vector<MapNotice>{
                        {QueueAction::kTypeMapDelete, "Client", "", "", ""}});
  CHECK(f.set->PublishedObjects() == Names{"Contact"});
  CHECK(Dump(f.memory.get()).count("p/conn1/o/Client") == 0);
  CHECK(Dump(f.memory.get()).count("p/conn1/o/Account") == 0);
}

TEST_CASE("R21: a schema change that contradicts the Schema is refused "
          "unchanged") {
  Fixture f;
  const Names both = {"Account", "Contact"};
  REQUIRE(f.set->PublishObjects(both).ok());
  ExpectRefused(
      f,
      [&] {
        return f.set->FollowSchemaChange({.object = "Account",
                                            .renamed_to = "Client"})
            .status();
      },
      absl::StatusCode::kFailedPrecondition,
      "the local schema has no object Client");
  ExpectRefused(
      f,
      [&] {
        return f.set->FollowSchemaChange({.object = "Account",
                                            .renamed_to = "Contact"})
            .status();
      },
      absl::StatusCode::kFailedPrecondition, "Contact is published too");
  ExpectRefused(
      f,
      [&] {
        return f.set->FollowSchemaChange(
                   {.object = "Account",
                    .renamed_fields = {{"Phone", "MainPhone"}}})
            .status();
      },
      absl::StatusCode::kFailedPrecondition, "no field MainPhone");
  ExpectRefused(
      f,
      [&] {
        return f.set->FollowSchemaChange(
                   {.object = "Account",
                    .renamed_fields = {{"Phone", "A"}, {"Phone", "B"}}})
            .status();
      },
      absl::StatusCode::kInvalidArgument, "twice");
}

TEST_CASE("R19: the partner's subscription to a published object is kept") {
  Fixture f;
  REQUIRE(f.set->PublishObject("Account").ok());
  f.sink.Clear();
  REQUIRE(f.set->SetPartnerSubscribed("Account", true).ok());
  CHECK(f.set->IsPartnerSubscribed("Account"));
  CHECK(f.sink.staged.empty());  // nothing to tell the partner
  f.Reopen();
  CHECK(f.set->IsPartnerSubscribed("Account"));
  REQUIRE(f.set->SetPartnerSubscribed("Account", false).ok());
  CHECK_FALSE(f.set->IsPartnerSubscribed("Account"));
}

TEST_CASE("R21: reopening restores the identical publish set") {
  for (const auto& make : Harnesses()) {
    std::unique_ptr<ReopenableStorage> harness = make();
    DYNAMIC_SECTION(harness->name()) {
      Schema schema;
      FillSchema(&schema);
      RecordingSink sink;
      View before;
      {
        auto set = DurablePublishSet::Open(harness->storage(), "conn1", &schema, &sink);
        REQUIRE(set.ok());
        const Names group = {"Account", "Contact", "CaseComment", "Attachment"};
        REQUIRE((*set)->PublishObjects(group).ok());
        REQUIRE((*set)->UnpublishField("Account", "Phone").ok());
        REQUIRE((*set)->PublishObject("Case").ok());
        REQUIRE((*set)->PublishField("Case", "AccountId").ok());
        REQUIRE((*set)->SetPartnerSubscribed("Contact", true).ok());
        ObjectDef account = *schema.FindObject("Account");
        account.fields[0].name = "AccountName";
        REQUIRE(schema.ReplaceObject("Account", account).ok());
        REQUIRE((*set)->FollowSchemaChange(
                          {.object = "Account",
                           .renamed_fields = {{"Name", "AccountName"}}})
                    .ok());
        before = ViewOf(**set);
        // Another connection on the same storage is kept apart.
        auto other = DurablePublishSet::Open(harness->storage(), "conn2", &schema, &sink);
        REQUIRE(other.ok());
        REQUIRE((*other)->PublishObject("Lead").code() ==
                absl::StatusCode::kNotFound);
        REQUIRE((*other)->PublishObject("Account").ok());
      }
      harness->Reopen();
      auto set = DurablePublishSet::Open(harness->storage(), "conn1", &schema, &sink);
      REQUIRE(set.ok());
      CHECK(ViewOf(**set) == before);
      CHECK(before.objects ==
            Names{"Account", "Attachment", "Case", "CaseComment", "Contact"});
      CHECK((*set)->IsFieldPublished("Account", "AccountName"));
      CHECK((*set)->Publication("Attachment")->is_file);
      CHECK((*set)->Publication("CaseComment")->child_only);
      auto other = DurablePublishSet::Open(harness->storage(), "conn2", &schema, &sink);
      REQUIRE(other.ok());
      CHECK((*other)->PublishedObjects() == Names{"Account"});
    }
  }
}

TEST_CASE("PublishSet::Open refuses bad arguments and corrupt state") {
  Schema schema;
  FillSchema(&schema);
  std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
  CHECK(DurablePublishSet::Open(storage.get(), "", &schema, nullptr).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(DurablePublishSet::Open(storage.get(), "a/b", &schema, nullptr).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(DurablePublishSet::Open(nullptr, "c", &schema, nullptr).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(DurablePublishSet::Open(storage.get(), "c", nullptr, nullptr).status().code() ==
        absl::StatusCode::kInvalidArgument);

  {
    // A null sink drops the notices but the change still happens.
    auto set = DurablePublishSet::Open(storage.get(), "c", &schema, nullptr);
    REQUIRE(set.ok());
    REQUIRE((*set)->PublishObject("Account").ok());
    CHECK((*set)->connection_id() == "c");
  }
  REQUIRE(storage->Put("p/c/o/Contact", "\xff\xff garbage", {}).ok());
  auto corrupt = DurablePublishSet::Open(storage.get(), "c", &schema, nullptr);
  CHECK(corrupt.status().code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(corrupt.status().message()), Contains("p/c/o/Contact"));
}

TEST_CASE("R21: queries stay consistent while changes run on another thread", "[threads]") {
  Fixture f;
  REQUIRE(f.set->PublishObject("Account").ok());
  std::atomic<bool> stop{false};
  std::atomic<long> torn{0};
  std::thread reader([&] {
    while (!stop.load()) {
      // Name is never touched; Phone flips.
      if (!f.set->IsFieldPublished("Account", "Name")) ++torn;
      const Names fields = f.set->PublishedFields("Account");
      if (fields.size() != 5 && fields.size() != 6) ++torn;
    }
  });
  for (int i = 0; i < 100; ++i) {
    REQUIRE(f.set->UnpublishField("Account", "Phone").ok());
    REQUIRE(f.set->PublishField("Account", "Phone").ok());
  }
  stop = true;
  reader.join();
  CHECK(torn.load() == 0);
  CHECK(f.set->IsFieldPublished("Account", "Phone"));
}

}  // namespace
}  // namespace orgsync::publish_set_test
