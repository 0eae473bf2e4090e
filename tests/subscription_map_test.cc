// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "publish/durable_subscription_map.h"

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
#include "publish/durable_publish_set.h"
#include "testing/change_sink_testing.h"
#include "testing/crm_schema.h"
#include "testing/storage_testing.h"

namespace orgsync::subscription_map_test {
namespace {

using Catch::Matchers::Contains;
using internal::DurablePublishSet;
using internal::DurableSubscriptionMap;
using internal::MapNotice;
using internal::PartnerMapUpdate;

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

// Org A (the partner) publishes with a real PublishSet; its notices are
// delivered to org B's SubscriptionMap as a Connection would deliver them,
// with the publication read when the notice is sent.
struct Pair {
  Pair() {
    FillSchema(&partner_schema);
    FillSchema(&schema);
    faulty = std::make_unique<FaultyStorage>(memory.get(), &sink.log);
    auto partner_set =
        DurablePublishSet::Open(partner_storage.get(), "conn1", &partner_schema,
                         &partner_sink);
    REQUIRE(partner_set.ok());
    partner = *std::move(partner_set);
    Reopen();
  }
  void Reopen() {
    map.reset();
    auto opened = DurableSubscriptionMap::Open(faulty.get(), "conn1", &schema, &sink);
    REQUIRE(opened.ok());
    map = *std::move(opened);
  }

  // Delivers every partner notice not delivered yet.
  void Deliver() {
    const std::vector<MapNotice> all = partner_sink.All();
    for (; delivered < all.size(); ++delivered) {
      REQUIRE(map->ApplyPartnerUpdate(ToUpdate(all[delivered])).ok());
    }
  }
  PartnerMapUpdate ToUpdate(const MapNotice& notice) const {
    PartnerMapUpdate update;
    update.action = notice.action;
    update.object = notice.object;
    update.field = notice.field;
    update.new_name = notice.new_name;
    update.value = notice.value;
    if (notice.action == QueueAction::kTypeMapUpdate ||
        notice.action == QueueAction::kFieldMapUpdate ||
        notice.action == QueueAction::kFieldMapDelete) {
      update.publication = partner->Publication(notice.object);
    }
    return update;
  }
  void PartnerPublishes(const std::vector<std::string>& objects) {
    REQUIRE(partner->PublishObjects(objects).ok());
    Deliver();
  }
  // Applies `mutate` to the partner's definition of `object` and tells its
  // PublishSet, then delivers what that emitted.
  void PartnerChanges(const std::string& object,
                      const std::function<void(ObjectDef&)>& mutate,
                      SchemaChange change = {}) {
    ObjectDef def = *partner_schema.FindObject(object);
    mutate(def);
    REQUIRE(partner_schema.ReplaceObject(object, def).ok());
    if (change.object.empty()) change.object = object;
    REQUIRE(partner->FollowSchemaChange(change).ok());
    Deliver();
  }
  void LocalChanges(const std::string& object,
                    const std::function<void(ObjectDef&)>& mutate,
                    SchemaChange change = {}) {
    ObjectDef def = *schema.FindObject(object);
    mutate(def);
    REQUIRE(schema.ReplaceObject(object, def).ok());
    if (change.object.empty()) change.object = object;
    REQUIRE(map->OnLocalSchemaChanged(change).ok());
  }

  FieldStatus StatusOf(const std::string& object, const std::string& field) {
    auto mapping = map->GetFieldMapping(object, field);
    REQUIRE(mapping.ok());
    return mapping->status;
  }
  std::string ReasonOf(const std::string& object, const std::string& field) {
    auto mapping = map->GetFieldMapping(object, field);
    REQUIRE(mapping.ok());
    return mapping->reason;
  }

  Schema partner_schema;
  RecordingSink partner_sink;
  std::unique_ptr<MemoryStorage> partner_storage = NewMemoryStorage();
  std::unique_ptr<DurablePublishSet> partner;
  size_t delivered = 0;

  Schema schema;
  RecordingSink sink;
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  std::unique_ptr<FaultyStorage> faulty;
  std::unique_ptr<DurableSubscriptionMap> map;
};

// Everything a SubscriptionMap shows, to compare two of them.
struct View {
  std::vector<std::string> published;
  std::vector<std::string> subscribed;
  std::map<std::string, ObjectDef> publications;
  std::map<std::string, std::vector<FieldMapping>> mappings;
  std::map<std::string, std::optional<std::string>> local_objects;
  friend bool operator==(const View&, const View&) = default;
};

View ViewOf(const SubscriptionMap& map) {
  View view;
  view.published = map.PartnerPublishedObjects();
  view.subscribed = map.SubscribedObjects();
  for (const std::string& object : view.published) {
    view.publications[object] = *map.PartnerPublication(object);
    view.mappings[object] = map.FieldMappings(object);
    view.local_objects[object] = map.LocalObject(object);
  }
  return view;
}

void ExpectRefused(Pair& p, const std::function<absl::Status()>& refused,
                   absl::StatusCode code, const std::string& message_part) {
  const auto storage_before = Dump(p.memory.get());
  const View view_before = ViewOf(*p.map);
  const size_t staged_before = p.sink.staged.size();
  const int writes_before = p.faulty->writes;
  absl::Status status = refused();
  CHECK(status.code() == code);
  CHECK_THAT(std::string(status.message()), Contains(message_part));
  CHECK(Dump(p.memory.get()) == storage_before);
  CHECK(ViewOf(*p.map) == view_before);
  CHECK(p.sink.staged.size() == staged_before);
  CHECK(p.faulty->writes == writes_before);
}

using Names = std::vector<std::string>;
const MapNotice kSubAccount{QueueAction::kTypeMapSetPartnerSub, "Account", "",
                            "", ""};

// ---------------------------------------------------------------- tests

TEST_CASE("R16: subscribing auto-maps the object and its fields to "
          "themselves") {
  Pair p;
  p.PartnerPublishes({"Account"});
  CHECK(p.map->IsPartnerPublished("Account"));
  CHECK(p.map->PartnerPublishedObjects() == Names{"Account"});
  CHECK_FALSE(p.map->IsSubscribed("Account"));
  CHECK_FALSE(p.map->MappedField("Account", "Name").has_value());
  CHECK(p.StatusOf("Account", "Name") == FieldStatus::kNotSubscribed);
  CHECK(p.ReasonOf("Account", "Name") == "object Account is not subscribed");
  // The partner's unpublished and never-publishable fields are not offered.
  CHECK(p.map->GetFieldMapping("Account", "AccountNumber").status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(p.map->GetFieldMapping("Account", "CreatedBy").status().code() ==
        absl::StatusCode::kNotFound);

  REQUIRE(p.map->Subscribe("Account").ok());
  CHECK(p.sink.staged == std::vector<std::vector<MapNotice>>{{kSubAccount}});
  CHECK(p.map->IsSubscribed("Account"));
  CHECK(p.map->SubscribedObjects() == Names{"Account"});
  CHECK(p.map->LocalObject("Account") == "Account");
  const std::vector<FieldMapping> mappings = p.map->FieldMappings("Account");
  REQUIRE(mappings.size() == 6);
  for (const FieldMapping& m : mappings) {
    INFO(m.partner_field << ": " << m.reason);
    CHECK(m.status == FieldStatus::kSubscribed);
    CHECK(m.local_field == m.partner_field);
    CHECK(m.reason.empty());
    CHECK(p.map->MappedField("Account", m.partner_field) == m.partner_field);
  }
  CHECK(FieldStatusName(FieldStatus::kSubscribed) == "Subscribed");

  // Subscribing again is a no-op.
  p.sink.Clear();
  const int writes = p.faulty->writes;
  REQUIRE(p.map->Subscribe("Account").ok());
  CHECK(p.sink.staged.empty());
  CHECK(p.faulty->writes == writes);
}

TEST_CASE("R16: a published field with no same-named compatible local field "
          "is --None--") {
  Pair p;
  p.LocalChanges("Account", [](ObjectDef& d) {
    d.fields.erase(d.fields.begin() + 1);             // no Phone here
    d.fields[0].length = 100;                         // Name too short
    d.fields[4].type = FieldType::kNumber;            // Revenue is a number
    d.fields.push_back(Field("Telephone", FieldType::kPhone));
  });
  p.PartnerPublishes({"Account"});
  REQUIRE(p.map->Subscribe("Account").ok());

  CHECK(p.StatusOf("Account", "Phone") == FieldStatus::kUnmapped);
  CHECK(FieldStatusName(FieldStatus::kUnmapped) == "--None--");
  CHECK(p.ReasonOf("Account", "Phone") == "local object Account has no field Phone");
  CHECK(p.StatusOf("Account", "Name") == FieldStatus::kUnmapped);
  CHECK(p.ReasonOf("Account", "Name") ==
        "local field Account.Name holds 100 characters, the partner's Name "
        "holds 255");
  CHECK(p.StatusOf("Account", "Revenue") == FieldStatus::kUnmapped);
  CHECK_THAT(p.ReasonOf("Account", "Revenue"),
             Contains("local field Account.Revenue is a number field, the "
                      "partner's Revenue is a currency field"));
  CHECK_FALSE(p.map->MappedField("Account", "Phone").has_value());
  CHECK(p.StatusOf("Account", "Industry") == FieldStatus::kSubscribed);

  ExpectRefused(
      p, [&] { return p.map->SubscribeField("Account", "Phone"); },
      absl::StatusCode::kFailedPrecondition,
      "cannot subscribe field Account.Phone: local object Account has no "
      "field Phone");
  // Mapped by hand to a differently named compatible field.
  REQUIRE(p.map->SubscribeField("Account", "Phone", "Telephone").ok());
  CHECK(p.map->MappedField("Account", "Phone") == "Telephone");
  ExpectRefused(
      p, [&] { return p.map->SubscribeField("Account", "Industry", "Telephone"); },
      absl::StatusCode::kFailedPrecondition, "is a phone field");
  // Two partner fields may not feed one local field.
  p.LocalChanges("Account", [](ObjectDef& d) {
    d.fields.push_back(Field("Fax", FieldType::kPhone));
  });
  ExpectRefused(
      p, [&] { return p.map->SubscribeField("Account", "Phone", "Industry"); },
      absl::StatusCode::kFailedPrecondition, "is a picklist field");
  p.PartnerChanges("Account", [](ObjectDef& d) {
    d.fields.push_back(Field("Fax", FieldType::kPhone));
  });
  REQUIRE(p.partner->PublishField("Account", "Fax").ok());
  p.Deliver();
  ExpectRefused(
      p, [&] { return p.map->SubscribeField("Account", "Fax", "Telephone"); },
      absl::StatusCode::kFailedPrecondition,
      "local field Account.Telephone already receives the partner's Phone");
}

TEST_CASE("R16: a lookup to an unsubscribed object is None Available until "
          "that object is subscribed") {
  Pair p;
  p.PartnerPublishes({"Account", "Contact", "Case"});
  REQUIRE(p.map->Subscribe("Case").ok());
  CHECK(p.StatusOf("Case", "AccountId") == FieldStatus::kNoneAvailable);
  CHECK(p.StatusOf("Case", "ContactId") == FieldStatus::kNoneAvailable);
  CHECK(FieldStatusName(FieldStatus::kNoneAvailable) == "None Available");
  CHECK_THAT(p.ReasonOf("Case", "AccountId"),
             Contains("R16: lookup target Account is not subscribed here"));
  CHECK_FALSE(p.map->MappedField("Case", "AccountId").has_value());
  CHECK(p.StatusOf("Case", "Subject") == FieldStatus::kSubscribed);

  p.sink.Clear();
  REQUIRE(p.map->Subscribe("Account").ok());
  // Automatically subscribed, in the same write as the Account subscription.
  CHECK(p.StatusOf("Case", "AccountId") == FieldStatus::kSubscribed);
  CHECK(p.map->MappedField("Case", "AccountId") == "AccountId");
  CHECK(p.StatusOf("Case", "ContactId") == FieldStatus::kNoneAvailable);
  CHECK(p.sink.staged == std::vector<std::vector<MapNotice>>{{kSubAccount}});

  REQUIRE(p.map->Subscribe("Contact").ok());
  CHECK(p.StatusOf("Case", "ContactId") == FieldStatus::kSubscribed);
  CHECK(p.StatusOf("Contact", "AccountId") == FieldStatus::kSubscribed);
  CHECK(p.StatusOf("Contact", "ReportsToId") == FieldStatus::kSubscribed);

  // Persisted: a reopened map shows the same.
  p.Reopen();
  CHECK(p.StatusOf("Case", "ContactId") == FieldStatus::kSubscribed);

  p.sink.Clear();
  REQUIRE(p.map->Unsubscribe("Account").ok());
  CHECK(p.sink.staged == std::vector<std::vector<MapNotice>>{{kSubAccount}});
  CHECK_FALSE(p.map->IsSubscribed("Account"));
  CHECK_FALSE(p.map->LocalObject("Account").has_value());
  CHECK(p.StatusOf("Case", "AccountId") == FieldStatus::kNoneAvailable);
  CHECK(p.StatusOf("Contact", "AccountId") == FieldStatus::kNoneAvailable);
  CHECK(p.StatusOf("Account", "Name") == FieldStatus::kNotSubscribed);
  // And back once subscribed again.
  REQUIRE(p.map->Subscribe("Account").ok());
  CHECK(p.StatusOf("Contact", "AccountId") == FieldStatus::kSubscribed);
}

TEST_CASE("R16: subscribing needs the partner's publication and a local "
          "object") {
  Pair p;
  REQUIRE(p.schema.RemoveObject("Attachment").ok());
  p.PartnerPublishes({"Attachment"});
  ExpectRefused(
      p, [&] { return p.map->Subscribe("Lead"); }, absl::StatusCode::kNotFound,
      "R16: the partner does not publish object Lead");
  ExpectRefused(
      p, [&] { return p.map->Subscribe("Attachment"); },
      absl::StatusCode::kFailedPrecondition,
      "R16: the local schema has no object Attachment");
  ExpectRefused(
      p, [&] { return p.map->Unsubscribe("Lead"); }, absl::StatusCode::kNotFound,
      "Lead");
  ExpectRefused(
      p, [&] { return p.map->SubscribeField("Attachment", "Name"); },
      absl::StatusCode::kFailedPrecondition,
      "object Attachment is not subscribed");
  ExpectRefused(
      p, [&] { return p.map->SubscribeField("Attachment", "Size"); },
      absl::StatusCode::kNotFound, "does not publish field Attachment.Size");
  // Unsubscribing what is not subscribed is a no-op.
  REQUIRE(p.map->Unsubscribe("Attachment").ok());
  CHECK(p.sink.staged.empty());
}

TEST_CASE("R17: a partner type change unsubscribes the field here, it can be "
          "subscribed again once compatible") {
  Pair p;
  p.PartnerPublishes({"Account"});
  REQUIRE(p.map->Subscribe("Account").ok());
  p.sink.Clear();

  p.PartnerChanges("Account", [](ObjectDef& d) {
    d.fields[1].type = FieldType::kText;  // Phone
    d.fields[1].length = 40;
  });
  CHECK(p.sink.staged.empty());  // partner updates emit nothing here
  CHECK(p.partner->IsFieldPublished("Account", "Phone"));  // still published
  CHECK(p.StatusOf("Account", "Phone") == FieldStatus::kNotSubscribed);
  CHECK(p.ReasonOf("Account", "Phone") ==
        "R17: the partner changed field Account.Phone from phone to text; "
        "subscribe it again");
  CHECK_FALSE(p.map->MappedField("Account", "Phone").has_value());
  CHECK(p.StatusOf("Account", "Name") == FieldStatus::kSubscribed);

  ExpectRefused(
      p, [&] { return p.map->SubscribeField("Account", "Phone"); },
      absl::StatusCode::kFailedPrecondition,
      "local field Account.Phone is a phone field, the partner's Phone is a "
      "text field");

  p.LocalChanges("Account", [](ObjectDef& d) {
    d.fields[1].type = FieldType::kText;
    d.fields[1].length = 40;
  });
  REQUIRE(p.map->SubscribeField("Account", "Phone").ok());
  CHECK(p.map->MappedField("Account", "Phone") == "Phone");
}

TEST_CASE("R17: size or precision changes of text, long text, number, "
          "currency and percent fields unsubscribe them") {
  Pair p;
  auto metrics = [] {
    FieldDef number = Field("N", FieldType::kNumber);
    number.precision = 10;
    FieldDef currency = Field("C", FieldType::kCurrency);
    currency.precision = 18;
    currency.scale = 2;
    FieldDef percent = Field("P", FieldType::kPercent);
    percent.precision = 5;
    percent.scale = 2;
    return Object("Metrics", {Field("T", FieldType::kText, 50),
                              Field("L", FieldType::kLongText, 1000), number,
                              currency, percent,
                              Field("D", FieldType::kDate),
                              Picklist("K", {"a", "b"})});
  };
  REQUIRE(p.partner_schema.AddObject(metrics()).ok());
  REQUIRE(p.schema.AddObject(metrics()).ok());
  p.PartnerPublishes({"Metrics"});
  REQUIRE(p.map->Subscribe("Metrics").ok());

  // Changes that R17 does not list keep the subscription.
  p.PartnerChanges("Metrics", [](ObjectDef& d) {
    d.fields[5].required = true;
    d.fields[6].picklist_values.push_back("c");
  });
  for (const FieldMapping& m : p.map->FieldMappings("Metrics")) {
    INFO(m.partner_field);
    CHECK(m.status == FieldStatus::kSubscribed);
  }

  p.PartnerChanges("Metrics", [](ObjectDef& d) {
    d.fields[0].length = 40;     // T shrinks
    d.fields[1].length = 2000;   // L grows
    d.fields[2].precision = 12;  // N
    d.fields[3].scale = 3;       // C
    d.fields[4].precision = 6;   // P
  });
  for (const std::string field : {"T", "L", "N", "C", "P"}) {
    INFO(field);
    CHECK(p.StatusOf("Metrics", field) == FieldStatus::kNotSubscribed);
    CHECK_THAT(p.ReasonOf("Metrics", field),
               Contains("R17: the partner changed the size or precision of "
                        "field Metrics." + field));
  }
  CHECK(p.StatusOf("Metrics", "D") == FieldStatus::kSubscribed);

  // A smaller partner field fits the local one: subscribe again at once.
  REQUIRE(p.map->SubscribeField("Metrics", "T").ok());
  // A larger one does not fit until the local field grows.
  ExpectRefused(
      p, [&] { return p.map->SubscribeField("Metrics", "L"); },
      absl::StatusCode::kFailedPrecondition,
      "local field Metrics.L holds 1000 characters, the partner's L holds 2000");
  p.LocalChanges("Metrics", [](ObjectDef& d) { d.fields[1].length = 4000; });
  REQUIRE(p.map->SubscribeField("Metrics", "L").ok());
  CHECK(p.map->MappedField("Metrics", "L") == "L");
}

TEST_CASE("R17: a field the partner deletes leaves the map, one it publishes "
          "later waits for SubscribeField") {
  Pair p;
  p.PartnerPublishes({"Account"});
  REQUIRE(p.map->Subscribe("Account").ok());

  p.PartnerChanges("Account", [](ObjectDef& d) {
    d.fields.erase(d.fields.begin() + 1);  // Phone deleted
  });
  CHECK(p.map->GetFieldMapping("Account", "Phone").status().code() ==
        absl::StatusCode::kNotFound);
  CHECK_FALSE(p.map->MappedField("Account", "Phone").has_value());

  REQUIRE(p.partner->UnpublishField("Account", "Revenue").ok());
  p.Deliver();
  CHECK(p.map->GetFieldMapping("Account", "Revenue").status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(p.map->IsSubscribed("Account"));

  REQUIRE(p.partner->PublishField("Account", "Revenue").ok());
  p.Deliver();
  CHECK(p.StatusOf("Account", "Revenue") == FieldStatus::kNotSubscribed);
  CHECK_THAT(p.ReasonOf("Account", "Revenue"),
             Contains("published by the partner after the object was "
                      "subscribed"));
  REQUIRE(p.map->SubscribeField("Account", "Revenue").ok());
  CHECK(p.map->MappedField("Account", "Revenue") == "Revenue");

  // Unsubscribing one field by hand, and back.
  REQUIRE(p.map->UnsubscribeField("Account", "Revenue").ok());
  CHECK(p.StatusOf("Account", "Revenue") == FieldStatus::kNotSubscribed);
  REQUIRE(p.map->UnsubscribeField("Account", "Revenue").ok());
  CHECK(p.map->UnsubscribeField("Account", "Bogus").code() ==
        absl::StatusCode::kNotFound);
  REQUIRE(p.map->SubscribeField("Account", "Revenue").ok());
  CHECK(p.StatusOf("Account", "Revenue") == FieldStatus::kSubscribed);
}

TEST_CASE("R20: the partner unpublishing an object drops it here and lookups "
          "to it become None Available") {
  Pair p;
  p.PartnerPublishes({"Account", "Contact"});
  REQUIRE(p.map->Subscribe("Account").ok());
  REQUIRE(p.map->Subscribe("Contact").ok());
  REQUIRE(p.partner->UnpublishObject("Account").ok());
  p.Deliver();
  CHECK_FALSE(p.map->IsPartnerPublished("Account"));
  CHECK_FALSE(p.map->IsSubscribed("Account"));
  CHECK(p.map->FieldMappings("Account").empty());
  CHECK(p.StatusOf("Contact", "AccountId") == FieldStatus::kNoneAvailable);
  CHECK(Dump(p.memory.get()).count("s/conn1/o/Account") == 0);
  // Redelivery is harmless.
  PartnerMapUpdate again;
  again.action = QueueAction::kTypeMapDelete;
  again.object = "Account";
  REQUIRE(p.map->ApplyPartnerUpdate(again).ok());
}

TEST_CASE("R21: Subscribe and Unsubscribe emit Type Map Set Partner Sub in "
          "the same synced write") {
  Pair p;
  p.PartnerPublishes({"Account"});
  CHECK(p.sink.log == Names{"write sync"});  // partner updates: no notices
  p.sink.Clear();
  REQUIRE(p.map->Subscribe("Account").ok());
  CHECK(p.sink.log == Names{"stage", "write sync", "finish ok"});
  bool has_state = false;
  bool has_sink_key = false;
  for (const WriteBatch::Op& op : p.faulty->last_batch.ops()) {
    has_state |= op.key == "s/conn1/o/Account";
    has_sink_key |= op.key == "q/test/1";
  }
  CHECK(has_state);
  CHECK(has_sink_key);

  // A failed write: nothing changes and Finish hears about it.
  const auto before = Dump(p.memory.get());
  const View view = ViewOf(*p.map);
  p.faulty->fail_writes = true;
  for (const auto& change : std::vector<std::function<absl::Status()>>{
           [&] { return p.map->Unsubscribe("Account"); },
           [&] { return p.map->UnsubscribeField("Account", "Name"); },
           [&] {
             PartnerMapUpdate gone;
             gone.action = QueueAction::kTypeMapDelete;
             gone.object = "Account";
             return p.map->ApplyPartnerUpdate(gone);
           }}) {
    p.sink.Clear();
    CHECK(change().code() == absl::StatusCode::kUnavailable);
    CHECK(Dump(p.memory.get()) == before);
    CHECK(ViewOf(*p.map) == view);
    for (const absl::Status& finish : p.sink.finishes) {
      CHECK(finish.code() == absl::StatusCode::kUnavailable);
    }
  }
  CHECK(p.sink.log == Names{"write sync"});  // the partner update: no sink
  p.faulty->fail_writes = false;

  // A sink that cannot stage aborts the change before any write.
  p.sink.Clear();
  p.sink.stage_error = absl::ResourceExhaustedError("queue full");
  const int writes = p.faulty->writes;
  CHECK(p.map->Unsubscribe("Account").code() ==
        absl::StatusCode::kResourceExhausted);
  CHECK(p.sink.log == Names{"stage"});
  CHECK(p.faulty->writes == writes);
  CHECK(p.map->IsSubscribed("Account"));
  p.sink.stage_error = absl::OkStatus();
  REQUIRE(p.map->Unsubscribe("Account").ok());
  CHECK_FALSE(p.map->IsSubscribed("Account"));
}

TEST_CASE("R21: partner renames follow object and field names") {
  Pair p;
  p.PartnerPublishes({"Account", "Contact"});
  REQUIRE(p.map->Subscribe("Account").ok());
  REQUIRE(p.map->Subscribe("Contact").ok());

  p.PartnerChanges(
      "Account", [](ObjectDef& d) { d.fields[1].name = "MainPhone"; },
      {.object = "Account", .renamed_fields = {{"Phone", "MainPhone"}}});
  CHECK(p.map->MappedField("Account", "MainPhone") == "Phone");
  CHECK(p.map->GetFieldMapping("Account", "Phone").status().code() ==
        absl::StatusCode::kNotFound);
  // Redelivered rename: harmless.
  PartnerMapUpdate rename;
  rename.action = QueueAction::kFieldMapNameUpdate;
  rename.object = "Account";
  rename.field = "Phone";
  rename.new_name = "MainPhone";
  REQUIRE(p.map->ApplyPartnerUpdate(rename).ok());
  rename.field = "Fax";
  rename.new_name = "Telefax";
  ExpectRefused(p, [&] { return p.map->ApplyPartnerUpdate(rename); },
                absl::StatusCode::kNotFound, "never published Fax");

  p.PartnerChanges(
      "Account",
      [](ObjectDef& d) {
        d.name = "Client";
        d.fields[3].lookup_target = "Client";
      },
      {.object = "Account", .renamed_to = "Client"});
  ObjectDef contact = *p.partner_schema.FindObject("Contact");
  contact.fields[2].lookup_target = "Client";
  REQUIRE(p.partner_schema.ReplaceObject("Contact", contact).ok());
  REQUIRE(p.partner->FollowSchemaChange({.object = "Contact"}).ok());
  p.Deliver();

  CHECK(p.map->PartnerPublishedObjects() == Names{"Client", "Contact"});
  CHECK(p.map->IsSubscribed("Client"));
  CHECK(p.map->LocalObject("Client") == "Account");
  CHECK(p.map->MappedField("Client", "Name") == "Name");
  CHECK(p.map->MappedField("Client", "ParentId") == "ParentId");
  CHECK(p.map->PartnerPublication("Contact")->FindField("AccountId")->lookup_target ==
        "Client");
  CHECK(p.StatusOf("Contact", "AccountId") == FieldStatus::kSubscribed);

  PartnerMapUpdate type_rename;
  type_rename.action = QueueAction::kTypeMapNameUpdate;
  type_rename.object = "Account";
  type_rename.new_name = "Client";
  REQUIRE(p.map->ApplyPartnerUpdate(type_rename).ok());  // redelivered
  type_rename.object = "Lead";
  type_rename.new_name = "Prospect";
  ExpectRefused(p, [&] { return p.map->ApplyPartnerUpdate(type_rename); },
                absl::StatusCode::kNotFound, "never published Lead");
  type_rename.object = "Contact";
  type_rename.new_name = "Client";
  ExpectRefused(p, [&] { return p.map->ApplyPartnerUpdate(type_rename); },
                absl::StatusCode::kFailedPrecondition, "already publishes");
}

TEST_CASE("R21: Value Map Delete removes the value from the partner's "
          "publication") {
  Pair p;
  p.PartnerPublishes({"Account"});
  REQUIRE(p.map->Subscribe("Account").ok());
  p.PartnerChanges("Account", [](ObjectDef& d) {
    d.fields[2].picklist_values = {"Agriculture", "Chemicals"};
  });
  CHECK(p.map->PartnerPublication("Account")->FindField("Industry")->picklist_values ==
        Names{"Agriculture", "Chemicals"});
  CHECK(p.StatusOf("Account", "Industry") == FieldStatus::kSubscribed);
  PartnerMapUpdate bogus;
  bogus.action = QueueAction::kValueMapDelete;
  bogus.object = "Account";
  bogus.field = "Nope";
  bogus.value = "x";
  ExpectRefused(p, [&] { return p.map->ApplyPartnerUpdate(bogus); },
                absl::StatusCode::kNotFound, "Account.Nope");
}

TEST_CASE("R12: a partner publication that lists a never-publishable field is "
          "refused") {
  Pair p;
  p.PartnerPublishes({"Account"});
  PartnerMapUpdate update = p.ToUpdate(
      {QueueAction::kTypeMapUpdate, "Account", "", "", ""});
  update.publication->fields.push_back(Field("AccountNumber", FieldType::kAutoNumber));
  ExpectRefused(p, [&] { return p.map->ApplyPartnerUpdate(update); },
                absl::StatusCode::kInvalidArgument,
                "R12: the partner's publication of Account lists field "
                "AccountNumber (auto-number)");
  update.publication->fields.back() = Field("CreatedDate", FieldType::kDateTime);
  ExpectRefused(p, [&] { return p.map->ApplyPartnerUpdate(update); },
                absl::StatusCode::kInvalidArgument, "CreatedDate");
  update.publication->fields.pop_back();
  update.publication->name = "Contact";
  ExpectRefused(p, [&] { return p.map->ApplyPartnerUpdate(update); },
                absl::StatusCode::kInvalidArgument,
                "names object Account but carries the publication of Contact");
  update.publication.reset();
  ExpectRefused(p, [&] { return p.map->ApplyPartnerUpdate(update); },
                absl::StatusCode::kInvalidArgument, "carries no publication");
  update.action = QueueAction::kGenericInsert;
  ExpectRefused(p, [&] { return p.map->ApplyPartnerUpdate(update); },
                absl::StatusCode::kInvalidArgument,
                "Generic Insert is not a publish/subscribe notice");
  update.action = QueueAction::kTypeMapSetPartnerSub;
  ExpectRefused(p, [&] { return p.map->ApplyPartnerUpdate(update); },
                absl::StatusCode::kInvalidArgument,
                "PublishSet::SetPartnerSubscribed");
}

TEST_CASE("R16: local schema changes keep the mappings in step") {
  Pair p;
  p.PartnerPublishes({"Account", "Contact", "Case"});
  for (const char* object : {"Account", "Contact", "Case"}) {
    REQUIRE(p.map->Subscribe(object).ok());
  }
  p.sink.Clear();

  p.LocalChanges(
      "Account", [](ObjectDef& d) { d.fields[1].name = "MainPhone"; },
      {.object = "Account", .renamed_fields = {{"Phone", "MainPhone"}}});
  CHECK(p.map->MappedField("Account", "Phone") == "MainPhone");

  p.LocalChanges("Account", [](ObjectDef& d) {
    d.fields.erase(d.fields.begin() + 5);             // Revenue deleted
    d.fields[0].type = FieldType::kLongText;          // Name retyped
  });
  CHECK(p.StatusOf("Account", "Revenue") == FieldStatus::kUnmapped);
  CHECK(p.StatusOf("Account", "Name") == FieldStatus::kNotSubscribed);
  CHECK_THAT(p.ReasonOf("Account", "Name"), Contains("the local field changed"));
  CHECK(p.sink.staged.empty());

  // Renaming the local object keeps the subscription, under the new name.
  p.LocalChanges(
      "Account", [](ObjectDef& d) {
        d.name = "Client";
        d.fields[3].lookup_target = "Client";
      },
      {.object = "Account", .renamed_to = "Client"});
  CHECK(p.map->LocalObject("Account") == "Client");
  CHECK(p.map->MappedField("Account", "ParentId") == "ParentId");

  // Deleting a local object ends its subscription and tells the partner.
  REQUIRE(p.schema.RemoveObject("Contact").ok());
  REQUIRE(p.map->OnLocalSchemaChanged({.object = "Contact"}).ok());
  CHECK_FALSE(p.map->IsSubscribed("Contact"));
  CHECK(p.sink.All() == std::vector<MapNotice>{{QueueAction::kTypeMapSetPartnerSub,
                                                "Contact", "", "", ""}});
  CHECK(p.StatusOf("Case", "ContactId") == FieldStatus::kNoneAvailable);

  ExpectRefused(
      p,
      [&] {
        return p.map->OnLocalSchemaChanged({.object = "Case",
                                            .renamed_to = "Ticket"});
      },
      absl::StatusCode::kFailedPrecondition, "no object Ticket");
}

TEST_CASE("R19: the direction report tells two-way from one-way objects and "
          "warns when a connection mixes them") {
  // This side is org B: it publishes to A (its own PublishSet) and
  // subscribes to what A publishes (its SubscriptionMap).
  Pair p;
  auto mine = DurablePublishSet::Open(p.memory.get(), "conn1", &p.schema, nullptr);
  REQUIRE(mine.ok());
  DurablePublishSet& publish_set = **mine;

  p.PartnerPublishes({"Account", "Contact", "Case"});
  for (const char* object : {"Account", "Contact", "Case"}) {
    REQUIRE(p.map->Subscribe(object).ok());
  }
  // A pure one-way connection (A -> B) is not mixed.
  DirectionReport report = ReportSyncDirections(publish_set, *p.map);
  CHECK_FALSE(report.mixed);
  CHECK(report.warnings.empty());
  REQUIRE(report.objects.size() == 3);
  for (const ObjectDirection& d : report.objects) {
    CHECK(d.direction == SyncDirection::kReceiveOnly);
  }

  const Names back = {"Account", "Contact"};
  REQUIRE(publish_set.PublishObjects(back).ok());
  REQUIRE(publish_set.SetPartnerSubscribed("Account", true).ok());
  report = ReportSyncDirections(publish_set, *p.map);
  CHECK(report.mixed);
  REQUIRE(report.objects.size() == 3);
  CHECK(report.objects[0].object == "Account");
  CHECK(report.objects[0].direction == SyncDirection::kTwoWay);
  CHECK(report.objects[1].object == "Case");
  CHECK(report.objects[1].direction == SyncDirection::kReceiveOnly);
  CHECK(report.objects[2].object == "Contact");
  CHECK(report.objects[2].direction == SyncDirection::kReceiveOnly);
  CHECK(report.objects[2].published_here);
  CHECK_FALSE(report.objects[2].subscribed_by_partner);
  REQUIRE(report.warnings.size() == 2);
  CHECK(report.warnings[0] ==
        "R19: this connection mixes two-way objects (Account) with one-way "
        "objects (Case, Contact); edits to the one-way objects on the "
        "receiving side are not sent back");
  CHECK(report.warnings[1] ==
        "Contact is published here but the partner has not subscribed to it: "
        "none of its changes are sent");
  CHECK(SyncDirectionName(SyncDirection::kTwoWay) == "two-way");

  REQUIRE(publish_set.PublishObject("Case").ok());
  REQUIRE(publish_set.SetPartnerSubscribed("Contact", true).ok());
  REQUIRE(publish_set.SetPartnerSubscribed("Case", true).ok());
  report = ReportSyncDirections(publish_set, *p.map);
  CHECK_FALSE(report.mixed);
  CHECK(report.warnings.empty());
  for (const ObjectDirection& d : report.objects) {
    CHECK(d.direction == SyncDirection::kTwoWay);
  }

  REQUIRE(p.map->Unsubscribe("Case").ok());
  report = ReportSyncDirections(publish_set, *p.map);
  CHECK(report.mixed);
  CHECK(report.objects[1].direction == SyncDirection::kSendOnly);
  CHECK_THAT(report.warnings[1], Contains("the partner publishes Case but it "
                                          "is not subscribed here"));
}

TEST_CASE("R21: reopening restores the identical subscription map") {
  for (const auto& make : Harnesses()) {
    std::unique_ptr<ReopenableStorage> harness = make();
    DYNAMIC_SECTION(harness->name()) {
      Pair p;
      p.LocalChanges("Account", [](ObjectDef& d) {
        d.fields.erase(d.fields.begin() + 1);  // Phone: --None--
      });
      View before;
      {
        auto map = DurableSubscriptionMap::Open(harness->storage(), "conn1", &p.schema,
                                         &p.sink);
        REQUIRE(map.ok());
        p.map = *std::move(map);
        p.PartnerPublishes({"Account", "Contact", "Case", "CaseComment"});
        REQUIRE(p.map->Subscribe("Case").ok());  // lookups None Available
        REQUIRE(p.map->Subscribe("Account").ok());
        p.PartnerChanges("Account", [](ObjectDef& d) {
          d.fields[0].length = 200;  // R17: Name not subscribed
        });
        REQUIRE(p.map->UnsubscribeField("Case", "Subject").ok());
        REQUIRE(p.map->SubscribeField("Account", "Name").ok());
        REQUIRE(p.map->UnsubscribeField("Account", "Industry").ok());
        before = ViewOf(*p.map);
        auto other = DurableSubscriptionMap::Open(harness->storage(), "conn2",
                                           &p.schema, nullptr);
        REQUIRE(other.ok());
        CHECK((*other)->PartnerPublishedObjects().empty());
        p.map.reset();
      }
      harness->Reopen();
      auto map = DurableSubscriptionMap::Open(harness->storage(), "conn1", &p.schema,
                                       &p.sink);
      REQUIRE(map.ok());
      CHECK(ViewOf(**map) == before);
      CHECK(before.subscribed == Names{"Account", "Case"});
      CHECK((*map)->GetFieldMapping("Case", "ContactId")->status ==
            FieldStatus::kNoneAvailable);
      CHECK((*map)->GetFieldMapping("Account", "Phone")->status ==
            FieldStatus::kUnmapped);
      CHECK((*map)->GetFieldMapping("Account", "Industry")->status ==
            FieldStatus::kNotSubscribed);
      CHECK((*map)->PartnerPublication("CaseComment")->child_only);
    }
  }
}

TEST_CASE("SubscriptionMap::Open refuses bad arguments and corrupt state") {
  Schema schema;
  FillSchema(&schema);
  std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
  CHECK(DurableSubscriptionMap::Open(storage.get(), "", &schema, nullptr).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(DurableSubscriptionMap::Open(storage.get(), "x/y", &schema, nullptr)
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
  CHECK(DurableSubscriptionMap::Open(nullptr, "x", &schema, nullptr).status().code() ==
        absl::StatusCode::kInvalidArgument);
  REQUIRE(storage->Put("s/x/o/Account", "\xff\xff garbage", {}).ok());
  auto corrupt = DurableSubscriptionMap::Open(storage.get(), "x", &schema, nullptr);
  CHECK(corrupt.status().code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(corrupt.status().message()), Contains("s/x/o/Account"));
}

TEST_CASE("R16: mapping queries stay consistent while subscriptions change "
          "on another thread", "[threads]") {
  Pair p;
  p.PartnerPublishes({"Account", "Contact"});
  REQUIRE(p.map->Subscribe("Contact").ok());
  std::atomic<bool> stop{false};
  std::atomic<long> torn{0};
  std::thread reader([&] {
    while (!stop.load()) {
      if (p.map->MappedField("Contact", "LastName") != "LastName") ++torn;
      auto status = p.map->GetFieldMapping("Contact", "AccountId");
      if (!status.ok() || (status->status != FieldStatus::kSubscribed &&
                           status->status != FieldStatus::kNoneAvailable)) {
        ++torn;
      }
    }
  });
  for (int i = 0; i < 50; ++i) {
    REQUIRE(p.map->Subscribe("Account").ok());
    REQUIRE(p.map->Unsubscribe("Account").ok());
  }
  stop = true;
  reader.join();
  CHECK(torn.load() == 0);
  CHECK(p.StatusOf("Contact", "AccountId") == FieldStatus::kNoneAvailable);
}

}  // namespace
}  // namespace orgsync::subscription_map_test
