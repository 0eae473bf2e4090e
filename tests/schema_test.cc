// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "orgsync/schema.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "proto/common.pb.h"
#include "schema/fnv1a.h"
#include "schema/schema_proto.h"

namespace orgsync::schema_test {
namespace {

FieldDef Text(std::string name, uint32_t length) {
  FieldDef f;
  f.name = std::move(name);
  f.type = FieldType::kText;
  f.length = length;
  return f;
}

FieldDef Typed(std::string name, FieldType type) {
  FieldDef f;
  f.name = std::move(name);
  f.type = type;
  return f;
}

FieldDef Lookup(std::string name, std::string target) {
  FieldDef f = Typed(std::move(name), FieldType::kLookup);
  f.lookup_target = std::move(target);
  return f;
}

FieldDef Picklist(std::string name, std::vector<std::string> values) {
  FieldDef f = Typed(std::move(name), FieldType::kPicklist);
  f.picklist_values = std::move(values);
  return f;
}

ObjectDef Account() {
  ObjectDef def;
  def.name = "Account";
  def.publishable = true;
  FieldDef revenue = Typed("Revenue", FieldType::kCurrency);
  revenue.precision = 18;
  revenue.scale = 2;
  def.fields = {Text("Name", 255),
                Typed("Phone", FieldType::kPhone),
                Picklist("Industry", {"Agriculture", "Banking", "Chemicals"}),
                Lookup("ParentId", "Account"),
                revenue,
                Typed("AccountNumber", FieldType::kAutoNumber)};
  def.fields[0].required = true;
  return def;
}

TEST_CASE("R12: field types keep the wire numbers and the never-publishable "
          "set") {
  for (int n = 1; n <= 22; ++n) {
    auto type = FieldTypeFromNumber(n);
    REQUIRE(type.ok());
    CHECK(static_cast<int>(*type) == n);
    CHECK(proto::FieldType_IsValid(n));
    CHECK(FieldTypeName(*type) != "unknown");
  }
  CHECK(FieldTypeFromNumber(0).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(FieldTypeFromNumber(23).status().code() ==
        absl::StatusCode::kInvalidArgument);

  const std::vector<FieldType> never = {
      FieldType::kAutoNumber, FieldType::kEncrypted, FieldType::kRichTextArea,
      FieldType::kFormula, FieldType::kRollupSummary, FieldType::kGeolocation};
  for (int n = 1; n <= 22; ++n) {
    const FieldType type = static_cast<FieldType>(n);
    const bool refused =
        std::find(never.begin(), never.end(), type) != never.end();
    INFO(FieldTypeName(type));
    CHECK(IsPublishableFieldType(type) == !refused);
  }
  CHECK_FALSE(IsPublishableFieldType(static_cast<FieldType>(0)));
  CHECK(FieldTypeName(FieldType::kAutoNumber) == "auto-number");

  CHECK(IsLookupFieldType(FieldType::kLookup));
  CHECK(IsLookupFieldType(FieldType::kMasterDetail));
  CHECK_FALSE(IsLookupFieldType(FieldType::kUserReference));

  // R17's list.
  for (FieldType type : {FieldType::kText, FieldType::kLongText,
                         FieldType::kNumber, FieldType::kCurrency,
                         FieldType::kPercent}) {
    CHECK(IsSizeSensitiveFieldType(type));
  }
  CHECK_FALSE(IsSizeSensitiveFieldType(FieldType::kPhone));
  CHECK_FALSE(IsSizeSensitiveFieldType(FieldType::kPicklist));
}

TEST_CASE("R12: the four audit fields are recognised by exact name") {
  CHECK(kAuditFieldNames.size() == 4);
  for (std::string_view name :
       {"CreatedBy", "CreatedDate", "LastModifiedBy", "LastModifiedDate"}) {
    CHECK(IsAuditFieldName(name));
  }
  CHECK_FALSE(IsAuditFieldName("createdby"));
  CHECK_FALSE(IsAuditFieldName("Name"));
}

TEST_CASE("Schema refuses malformed definitions with InvalidArgument and "
          "changes nothing") {
  Schema schema;
  REQUIRE(schema.AddObject(Account()).ok());

  struct Bad {
    std::string why;
    ObjectDef def;
    std::string message_part;
  };
  std::vector<Bad> cases;
  {
    ObjectDef d = Account();
    d.name = "";
    cases.push_back({"empty object name", d, "object name is empty"});
  }
  {
    ObjectDef d = Account();
    d.name = "Lead";
    d.fields.push_back(Text("", 10));
    cases.push_back({"empty field name", d, "object Lead: field name is empty"});
  }
  {
    ObjectDef d = Account();
    d.name = "Lead";
    d.fields.push_back(Text("Name", 10));
    cases.push_back({"duplicate field", d, "defines field Name twice"});
  }
  {
    ObjectDef d = Account();
    d.name = "Lead";
    d.fields.push_back(Typed("OwnerAccount", FieldType::kLookup));
    cases.push_back({"lookup without target", d,
                     "field Lead.OwnerAccount is a lookup field without a "
                     "lookup target"});
  }
  {
    ObjectDef d = Account();
    d.name = "Lead";
    FieldDef f = Text("Title", 10);
    f.lookup_target = "Account";
    d.fields.push_back(f);
    cases.push_back({"target on a text field", d, "Lead.Title"});
  }
  {
    ObjectDef d = Account();
    d.name = "Lead";
    FieldDef f = Text("Title", 10);
    f.picklist_values = {"x"};
    d.fields.push_back(f);
    cases.push_back({"picklist values on text", d, "lists picklist values"});
  }
  {
    ObjectDef d = Account();
    d.name = "Lead";
    d.fields.push_back(Picklist("Rating", {"Hot", "Cold", "Hot"}));
    cases.push_back({"duplicate picklist value", d, "'Hot' twice"});
  }
  {
    ObjectDef d = Account();
    d.name = "Lead";
    FieldDef f = Typed("Score", FieldType::kNumber);
    f.precision = 3;
    f.scale = 4;
    d.fields.push_back(f);
    cases.push_back({"scale above precision", d, "scale 4 above its precision 3"});
  }
  {
    ObjectDef d = Account();
    d.name = "Lead";
    d.fields.push_back(Typed("Odd", static_cast<FieldType>(99)));
    cases.push_back({"unknown type", d, "unknown type number 99"});
  }
  {
    ObjectDef d = Account();
    d.name = std::string("Le\nad");
    cases.push_back({"control character", d, "control character"});
  }
  {
    ObjectDef d = Account();
    d.name = std::string(256, 'x');
    cases.push_back({"overlong name", d, "longer than 255 bytes"});
  }

  for (const Bad& bad : cases) {
    INFO(bad.why);
    absl::Status s = ValidateObjectDef(bad.def);
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(s.message()),
               Catch::Matchers::Contains(bad.message_part));
    CHECK(schema.AddObject(bad.def).code() ==
          absl::StatusCode::kInvalidArgument);
    CHECK(schema.ReplaceObject("Account", bad.def).code() ==
          absl::StatusCode::kInvalidArgument);
    CHECK(schema.ObjectNames() == std::vector<std::string>{"Account"});
    CHECK(*schema.FindObject("Account") == Account());
  }
}

TEST_CASE("Schema adds, replaces, renames and removes objects") {
  Schema schema;
  REQUIRE(schema.AddObject(Account()).ok());
  CHECK(schema.AddObject(Account()).code() == absl::StatusCode::kAlreadyExists);

  std::shared_ptr<const ObjectDef> before = schema.FindObject("Account");
  ObjectDef changed = Account();
  changed.fields.push_back(Text("Site", 80));
  REQUIRE(schema.ReplaceObject("Account", changed).ok());
  // A definition handed out earlier is a snapshot: it does not change.
  CHECK(*before == Account());
  CHECK(*schema.FindObject("Account") == changed);

  CHECK(schema.ReplaceObject("Lead", changed).code() ==
        absl::StatusCode::kNotFound);

  ObjectDef contact;
  contact.name = "Contact";
  contact.fields = {Text("LastName", 80), Lookup("AccountId", "Account")};
  REQUIRE(schema.AddObject(contact).ok());

  ObjectDef renamed = changed;
  renamed.name = "Contact";
  CHECK(schema.ReplaceObject("Account", renamed).code() ==
        absl::StatusCode::kAlreadyExists);
  renamed.name = "Client";
  REQUIRE(schema.ReplaceObject("Account", renamed).ok());
  CHECK_FALSE(schema.HasObject("Account"));
  CHECK(schema.HasObject("Client"));
  CHECK(schema.ObjectNames() == std::vector<std::string>{"Client", "Contact"});

  CHECK(schema.Fingerprints().at("Client") == ObjectFingerprint(renamed));
  REQUIRE(schema.RemoveObject("Client").ok());
  CHECK(schema.RemoveObject("Client").code() == absl::StatusCode::kNotFound);
  CHECK(schema.FindObject("Client") == nullptr);
}

TEST_CASE("FNV-1a matches the published test vectors") {
  using internal::Fnv1a64Of;
  CHECK(Fnv1a64Of("") == 0xcbf29ce484222325ULL);
  CHECK(Fnv1a64Of("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(Fnv1a64Of("foobar") == 0x85944171f73967e8ULL);
}

TEST_CASE("Fingerprints are stable, independent of field order and "
          "sensitive to shape") {
  const ObjectDef account = Account();
  const uint64_t fp = ObjectFingerprint(account);
  // Pinned: a change of encoding would make two versions of orgsync report
  // every object as different. Change it only with a protocol version bump.
  // (Cross-checked against an independent implementation of the encoding.)
  CHECK(fp == 0x0d5d1569c9a52ad4ULL);

  ObjectDef reordered = account;
  std::reverse(reordered.fields.begin(), reordered.fields.end());
  std::reverse(reordered.fields[3].picklist_values.begin(),
               reordered.fields[3].picklist_values.end());
  CHECK(ObjectFingerprint(reordered) == fp);

  ObjectDef policy = account;
  policy.publishable = false;  // a local policy, not a shape
  CHECK(ObjectFingerprint(policy) == fp);

  auto differs = [&](auto mutate) {
    ObjectDef d = account;
    mutate(d);
    return ObjectFingerprint(d) != fp;
  };
  CHECK(differs([](ObjectDef& d) { d.name = "Accounts"; }));
  CHECK(differs([](ObjectDef& d) { d.child_only = true; }));
  CHECK(differs([](ObjectDef& d) { d.is_file = true; }));
  CHECK(differs([](ObjectDef& d) { d.fields[0].length = 256; }));
  CHECK(differs([](ObjectDef& d) { d.fields[0].required = false; }));
  CHECK(differs([](ObjectDef& d) { d.fields[1].name = "Phone2"; }));
  CHECK(differs([](ObjectDef& d) { d.fields[1].type = FieldType::kText; }));
  CHECK(differs([](ObjectDef& d) { d.fields[2].picklist_values.pop_back(); }));
  CHECK(differs([](ObjectDef& d) { d.fields[3].lookup_target = "Contact"; }));
  CHECK(differs([](ObjectDef& d) { d.fields[4].scale = 3; }));
  CHECK(differs([](ObjectDef& d) { d.fields.pop_back(); }));
}

TEST_CASE("Schema converts to and from its protobuf forms") {
  const ObjectDef account = Account();

  proto::ObjectDefinition lossless = internal::ToObjectDefinition(account);
  auto back = internal::FromObjectDefinition(lossless);
  REQUIRE(back.ok());
  CHECK(*back == account);

  // The wire form has no slot for picklist values.
  proto::ObjectSchema wire = internal::ToObjectSchema(account);
  CHECK(wire.name() == "Account");
  CHECK(wire.publishable());
  REQUIRE(wire.fields_size() == 6);
  CHECK(wire.fields(3).type() == proto::LOOKUP);
  CHECK(wire.fields(3).lookup_target() == "Account");
  CHECK(wire.fields(4).precision() == 18);
  auto from_wire = internal::FromObjectSchema(wire);
  REQUIRE(from_wire.ok());
  ObjectDef expected = account;
  expected.fields[2].picklist_values.clear();
  CHECK(*from_wire == expected);

  proto::ObjectSchema bad_type = wire;
  bad_type.mutable_fields(0)->set_type(proto::FIELD_TYPE_UNSPECIFIED);
  CHECK(internal::FromObjectSchema(bad_type).status().code() ==
        absl::StatusCode::kInvalidArgument);

  proto::ObjectSchema no_target = wire;
  no_target.mutable_fields(3)->clear_lookup_target();
  CHECK(internal::FromObjectSchema(no_target).status().code() ==
        absl::StatusCode::kInvalidArgument);

  proto::ObjectDefinition stray = lossless;
  proto::FieldPicklist* extra = stray.add_picklists();
  extra->set_field("Name");
  extra->add_values("x");
  CHECK(internal::FromObjectDefinition(stray).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Schema may be read while another thread replaces objects", "[threads]") {
  Schema schema;
  REQUIRE(schema.AddObject(Account()).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!stop.load()) {
      std::shared_ptr<const ObjectDef> def = schema.FindObject("Account");
      if (def != nullptr && def->FindField("Name") != nullptr) ++reads;
    }
  });
  for (uint32_t i = 1; i <= 200; ++i) {
    ObjectDef d = Account();
    d.fields[0].length = i;
    REQUIRE(schema.ReplaceObject("Account", d).ok());
  }
  stop = true;
  reader.join();
  CHECK(schema.FindObject("Account")->fields[0].length == 200);
}

ObjectDef WideObject(size_t count) {
  ObjectDef def;
  def.name = "Wide";
  for (size_t i = 0; i < count; ++i) {
    def.fields.push_back(FieldDef{.name = "F" + std::to_string(i)});
  }
  return def;
}

TEST_CASE("FindField finds every field of a wide object, and stays right "
          "when the host changes its own copy") {
  ObjectDef def = WideObject(50);
  for (size_t i = 0; i < 50; ++i) {
    const FieldDef* field = def.FindField("F" + std::to_string(i));
    REQUIRE(field != nullptr);
    CHECK(field == &def.fields[i]);
  }
  CHECK(def.FindField("F50") == nullptr);

  ObjectDef copy = def;
  CHECK(copy == def);  // the index is no part of the definition
  copy.fields[3].name = "Renamed";
  REQUIRE(copy.FindField("Renamed") != nullptr);
  CHECK(copy.FindField("F3") == nullptr);
  CHECK(def.FindField("F3") == &def.fields[3]);

  def.fields.push_back(FieldDef{.name = "F50"});
  REQUIRE(def.FindField("F50") != nullptr);
  CHECK(def.FindField("F50")->name == "F50");
  def = copy;
  CHECK(def.FindField("Renamed") == &def.fields[3]);
}

TEST_CASE("FindField on one shared definition from many threads", "[threads]") {
  const auto def = std::make_shared<const ObjectDef>(WideObject(64));
  std::atomic<size_t> found{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      for (size_t i = 0; i < 64; ++i) {
        const FieldDef* field = def->FindField("F" + std::to_string(i));
        if (field != nullptr && field->name == "F" + std::to_string(i)) {
          found.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& reader : readers) reader.join();
  CHECK(found.load() == 4 * 64);
}

}  // namespace
}  // namespace orgsync::schema_test
