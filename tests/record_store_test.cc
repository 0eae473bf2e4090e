// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The RecordStore contract (orgsync/record_store.h), run against every
// shipped store: the in-memory one and the Storage-backed one over every
// storage of testing::ReopenableStorageFactories(). Then what only the
// Storage-backed store promises: reopen and crash survival.

#include "orgsync/record_store.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <initializer_list>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "orgsync/clock.h"
#include "orgsync/record.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"
#include "testing/connection_fixture.h"

namespace orgsync::record_store_test {
namespace {

using testing::RequireOk;

FieldDef LookupField(std::string name, std::string target, FieldType type) {
  return FieldDef{.name = std::move(name),
                  .type = type,
                  .lookup_target = std::move(target)};
}

ObjectDef ObjectWith(std::string name, std::vector<FieldDef> fields) {
  return ObjectDef{.name = std::move(name), .fields = std::move(fields)};
}

// Contact -> Account and Note -> Contact are master-detail (they cascade),
// so a Note is an Account's grandchild; Contact.BillingAccountId and
// Opportunity -> Account are plain lookups; Folders may form a cycle.
// Contact.ReportsToId is a text field: a Reference there is no lookup.
// Account's Name and the like are not declared: the store keeps fields the
// schema does not know as given.
const Schema& TestSchema() {
  static const Schema* schema = [] {
    auto* s = new Schema;
    constexpr FieldType kMaster = FieldType::kMasterDetail;
    constexpr FieldType kPlain = FieldType::kLookup;
    RequireOk(s->AddObject(ObjectWith("Account", {})));
    RequireOk(s->AddObject(ObjectWith(
        "Contact", {LookupField("AccountId", "Account", kMaster),
                    LookupField("BillingAccountId", "Account", kPlain),
                    FieldDef{.name = "ReportsToId"}})));
    RequireOk(s->AddObject(
        ObjectWith("Note", {LookupField("ParentId", "Contact", kMaster)})));
    RequireOk(s->AddObject(ObjectWith(
        "Opportunity", {LookupField("AccountId", "Account", kPlain)})));
    RequireOk(s->AddObject(
        ObjectWith("Folder", {LookupField("ParentId", "Folder", kMaster)})));
    return s;
  }();
  return *schema;
}

RecordStoreOptions TestOptions(Clock* clock) {
  RecordStoreOptions options;
  options.schema = &TestSchema();
  options.clock = clock;
  options.id_prefix = "P-";
  options.user = "alice";
  return options;
}

const std::vector<std::string> kObjects = {"Account", "Contact", "Folder",
                                           "Note", "Opportunity"};

const ApplyContext kLocal;
const ApplyContext kReplicated{.from_replication = true,
                               .connection_id = "conn-1"};

template <typename T>
T ValueOf(absl::StatusOr<T> result) {
  INFO(result.status().ToString());
  REQUIRE(result.ok());
  return *std::move(result);
}

// A store under test and the means to reopen it.
class StoreHarness {
 public:
  virtual ~StoreHarness() = default;
  virtual std::string name() const = 0;
  // Closes the store and opens it again over the same storage, after a
  // simulated crash (MemoryStorage) or a real close (LevelDB).
  virtual void Reopen() = 0;
  RecordStore& store() { return *store_; }
  ManualClock& clock() { return clock_; }

 protected:
  ManualClock clock_;
  std::unique_ptr<RecordStore> store_;
};

class InMemoryHarness final : public StoreHarness {
 public:
  InMemoryHarness() {
    store_ = ValueOf(NewInMemoryRecordStore(TestOptions(&clock_)));
  }
  std::string name() const override { return "in-memory"; }
  void Reopen() override { FAIL("the in-memory store cannot be reopened"); }
};

class StorageHarness final : public StoreHarness {
 public:
  explicit StorageHarness(std::unique_ptr<testing::ReopenableStorage> storage)
      : storage_(std::move(storage)) {
    Open();
  }
  ~StorageHarness() override { store_.reset(); }
  std::string name() const override { return "storage/" + storage_->name(); }
  void Reopen() override {
    store_.reset();
    storage_->Reopen();
    Open();
  }

 private:
  void Open() {
    store_ = ValueOf(
        OpenStorageRecordStore(storage_->storage(), TestOptions(&clock_)));
  }
  std::unique_ptr<testing::ReopenableStorage> storage_;
};

using HarnessFactory = std::function<std::unique_ptr<StoreHarness>()>;

// The Storage-backed store over every reopenable storage; LevelDB joins when
// testing::ReopenableStorageFactories() lists it.
std::vector<HarnessFactory> PersistentStores() {
  std::vector<HarnessFactory> factories;
  for (auto& storage_factory : testing::ReopenableStorageFactories()) {
    factories.push_back([storage_factory] {
      return std::make_unique<StorageHarness>(storage_factory());
    });
  }
  return factories;
}

std::vector<HarnessFactory> AllStores() {
  std::vector<HarnessFactory> factories = {
      [] { return std::make_unique<InMemoryHarness>(); }};
  for (HarnessFactory& factory : PersistentStores()) {
    factories.push_back(std::move(factory));
  }
  return factories;
}

Record NewRecord(std::string object, FieldMap fields = {},
                 std::string id = "") {
  Record record;
  record.object = std::move(object);
  record.id = std::move(id);
  record.fields = std::move(fields);
  return record;
}

std::string InsertId(RecordStore& store, Record record,
                     const ApplyContext& context = kLocal) {
  return ValueOf(store.Insert(std::move(record), context)).id;
}

Record GetOk(RecordStore& store, std::string_view object, std::string_view id) {
  return ValueOf(store.Get(object, id));
}

// Every record of every test object, in Scan order.
std::vector<Record> Dump(RecordStore& store) {
  std::vector<Record> records;
  for (const std::string& object : kObjects) {
    RequireOk(store.Scan(object, absl::InfinitePast(), [&](const Record& r) {
      records.push_back(r);
      return true;
    }));
  }
  return records;
}

std::vector<RecordRef> Refs(
    std::initializer_list<std::pair<const char*, std::string>> refs) {
  std::vector<RecordRef> out;
  for (const auto& [object, id] : refs) out.push_back({object, id});
  return out;
}

// An account with two contacts, a note on the first contact (grandchild)
// and an opportunity (plain lookup, no cascade).
struct Family {
  std::string account, contact1, contact2, note, opportunity;
};

Family MakeFamily(RecordStore& store) {
  Family f;
  f.account =
      InsertId(store, NewRecord("Account", {{"Name", std::string("Acme")}}));
  f.contact1 =
      InsertId(store, NewRecord("Contact", {{"AccountId", Reference{f.account}},
                                            {"Name", std::string("Ada")}}));
  f.contact2 =
      InsertId(store, NewRecord("Contact", {{"AccountId", Reference{f.account}},
                                            {"Name", std::string("Bob")}}));
  f.note =
      InsertId(store, NewRecord("Note", {{"ParentId", Reference{f.contact1}},
                                         {"Body", std::string("hi")}}));
  f.opportunity = InsertId(
      store, NewRecord("Opportunity", {{"AccountId", Reference{f.account}}}));
  return f;
}

#define FOR_EACH_STORE(factories)                                           \
  const std::vector<HarnessFactory> store_factories_ = factories;           \
  const size_t store_index_ =                                               \
      GENERATE_COPY(range(size_t{0}, store_factories_.size()));             \
  std::unique_ptr<StoreHarness> harness = store_factories_[store_index_](); \
  INFO("store: " << harness->name());                                       \
  RecordStore& store = harness->store()

TEST_CASE("Insert assigns ids in creation order, version 1 and audit stamps",
          "[records]") {
  FOR_EACH_STORE(AllStores());
  const absl::Time t0 = harness->clock().Now();

  Record first = ValueOf(store.Insert(
      NewRecord("Account", {{"Name", std::string("Acme")}}), kLocal));
  CHECK(first.id == "P-000000000001");
  CHECK(first.object == "Account");
  CHECK(first.version == 1);
  CHECK_FALSE(first.deleted);
  CHECK(first.audit == AuditFields{.created_by = "alice",
                                   .created_date = t0,
                                   .last_modified_by = "alice",
                                   .last_modified_date = t0});
  CHECK(GetOk(store, "Account", first.id) == first);

  // One counter for all objects: ids are unique store-wide.
  harness->clock().Advance(absl::Seconds(1));
  Record second = ValueOf(store.Insert(NewRecord("Contact"), kLocal));
  CHECK(second.id == "P-000000000002");
  CHECK(second.audit.created_date == t0 + absl::Seconds(1));

  // A version or audit given without keep_audit_fields is the store's to set.
  Record given = NewRecord("Account", {}, "explicit-1");
  given.version = 99;
  given.audit.created_by = "mallory";
  Record third = ValueOf(store.Insert(given, kLocal));
  CHECK(third.id == "explicit-1");
  CHECK(third.version == 1);
  CHECK(third.audit.created_by == "alice");

  // A number taken by an explicit id is skipped, never handed out twice.
  CHECK(InsertId(store, NewRecord("Account", {}, "P-000000000003")) ==
        "P-000000000003");
  CHECK(InsertId(store, NewRecord("Account")) == "P-000000000004");
}

TEST_CASE("R35: keep_audit_fields keeps the given audit fields on insert only",
          "[records]") {
  FOR_EACH_STORE(AllStores());
  const AuditFields origin{
      .created_by = "bob@primary",
      .created_date = absl::FromUnixSeconds(1700000000),
      .last_modified_by = "carol@primary",
      .last_modified_date = absl::FromUnixSeconds(1700000500)};
  Record copy = NewRecord("Account", {{"Name", std::string("Acme")}});
  copy.audit = origin;
  const ApplyContext first_copy{.from_replication = true,
                                .connection_id = "conn-1",
                                .keep_audit_fields = true};
  Record stored = ValueOf(store.Insert(copy, first_copy));
  CHECK(stored.audit == origin);
  CHECK(GetOk(store, "Account", stored.id).audit == origin);

  // Without the flag the store stamps its own, even for a replicated insert.
  Record stamped = ValueOf(store.Insert(copy, kReplicated));
  CHECK(stamped.audit.created_by == "alice");
  CHECK(stamped.audit.created_date == harness->clock().Now());

  // A later update stamps LastModified and keeps Created as copied.
  harness->clock().Advance(absl::Minutes(5));
  Record updated = ValueOf(store.Update(
      "Account", stored.id, {{"Name", std::string("Acme 2")}}, first_copy));
  CHECK(updated.audit.created_by == origin.created_by);
  CHECK(updated.audit.created_date == origin.created_date);
  CHECK(updated.audit.last_modified_by == "alice");
  CHECK(updated.audit.last_modified_date == harness->clock().Now());
}

TEST_CASE("Update merges the given fields and bumps the version by one",
          "[records]") {
  FOR_EACH_STORE(AllStores());
  const absl::Time t0 = harness->clock().Now();
  Record inserted = ValueOf(
      store.Insert(NewRecord("Account", {{"Name", std::string("Acme")},
                                         {"Employees", int64_t{10}},
                                         {"Rating", std::string("Hot")}}),
                   kLocal));
  harness->clock().Advance(absl::Hours(1));

  Record updated =
      ValueOf(store.Update("Account", inserted.id,
                           {{"Employees", int64_t{12}},
                            {"Rating", std::monostate{}},
                            {"Founded", absl::FromUnixSeconds(946684800)}},
                           kLocal));
  CHECK(updated.version == 2);
  CHECK(updated.fields ==
        FieldMap{{"Employees", int64_t{12}},
                 {"Founded", absl::FromUnixSeconds(946684800)},
                 {"Name", std::string("Acme")},
                 {"Rating", std::monostate{}}});
  CHECK(updated.audit.created_date == t0);
  CHECK(updated.audit.last_modified_date == t0 + absl::Hours(1));
  CHECK(GetOk(store, "Account", inserted.id) == updated);

  // An update that changes no field is still a change.
  CHECK(ValueOf(store.Update("Account", inserted.id, {}, kLocal)).version == 3);
}

TEST_CASE(
    "R31: a deleted record refuses local updates but takes replicated ones",
    "[records]") {
  FOR_EACH_STORE(AllStores());
  const std::string id =
      InsertId(store, NewRecord("Account", {{"Name", std::string("Acme")}}));
  ValueOf(store.Delete("Account", id, kLocal));
  const Record deleted = GetOk(store, "Account", id);
  CHECK(deleted.deleted);
  CHECK(deleted.version == 2);

  absl::StatusOr<Record> local =
      store.Update("Account", id, {{"Name", std::string("Local")}}, kLocal);
  CHECK(absl::IsFailedPrecondition(local.status()));
  CHECK(GetOk(store, "Account", id) == deleted);

  // In two-way sync an update can race a delete from the other org.
  Record replicated = ValueOf(store.Update(
      "Account", id, {{"Name", std::string("Remote")}}, kReplicated));
  CHECK(replicated.deleted);
  CHECK(replicated.version == 3);
  CHECK(std::get<std::string>(replicated.fields.at("Name")) == "Remote");
}

TEST_CASE(
    "R33: deleting a parent soft-deletes children and grandchildren -- "
    "undeleting restores them",
    "[records]") {
  FOR_EACH_STORE(AllStores());
  const Family f = MakeFamily(store);
  harness->clock().Advance(absl::Minutes(1));
  const absl::Time when = harness->clock().Now();

  CascadeResult deleted = ValueOf(store.Delete("Account", f.account, kLocal));
  CHECK(deleted.affected == Refs({{"Account", f.account},
                                  {"Contact", f.contact1},
                                  {"Contact", f.contact2},
                                  {"Note", f.note}}));
  for (const RecordRef& ref : deleted.affected) {
    INFO(ref.object << "/" << ref.id);
    const Record record = GetOk(store, ref.object, ref.id);
    CHECK(record.deleted);
    CHECK(record.version == 2);
    CHECK(record.audit.last_modified_date == when);
  }
  // A plain lookup does not cascade.
  CHECK_FALSE(GetOk(store, "Opportunity", f.opportunity).deleted);
  CHECK(GetOk(store, "Opportunity", f.opportunity).version == 1);

  CascadeResult restored =
      ValueOf(store.Undelete("Account", f.account, kLocal));
  CHECK(restored.affected == deleted.affected);
  for (const RecordRef& ref : restored.affected) {
    INFO(ref.object << "/" << ref.id);
    const Record record = GetOk(store, ref.object, ref.id);
    CHECK_FALSE(record.deleted);
    CHECK(record.version == 3);
  }
}

TEST_CASE("R33: a child deleted before its parent stays deleted on undelete",
          "[records]") {
  FOR_EACH_STORE(AllStores());
  const Family f = MakeFamily(store);

  // Deleting the contact on its own takes its note with it.
  CHECK(ValueOf(store.Delete("Contact", f.contact1, kLocal)).affected ==
        Refs({{"Contact", f.contact1}, {"Note", f.note}}));
  // A note added to the deleted contact afterwards is live.
  const std::string late_note =
      InsertId(store, NewRecord("Note", {{"ParentId", Reference{f.contact1}}}));

  // The account's delete skips what is already deleted but still reaches
  // the live note below it.
  CHECK(ValueOf(store.Delete("Account", f.account, kLocal)).affected ==
        Refs({{"Account", f.account},
              {"Contact", f.contact2},
              {"Note", late_note}}));
  const Record contact1_before = GetOk(store, "Contact", f.contact1);

  CHECK(ValueOf(store.Undelete("Account", f.account, kLocal)).affected ==
        Refs({{"Account", f.account},
              {"Contact", f.contact2},
              {"Note", late_note}}));
  CHECK(GetOk(store, "Contact", f.contact1) == contact1_before);
  CHECK(GetOk(store, "Note", f.note).deleted);
  CHECK_FALSE(GetOk(store, "Note", late_note).deleted);

  // The contact's own undelete brings back what its own delete took.
  CHECK(ValueOf(store.Undelete("Contact", f.contact1, kLocal)).affected ==
        Refs({{"Contact", f.contact1}, {"Note", f.note}}));
}

TEST_CASE(
    "R33: undeleting a child that went with its parent restores it and its "
    "own descendants, not the parent",
    "[records]") {
  FOR_EACH_STORE(AllStores());
  const Family f = MakeFamily(store);
  ValueOf(store.Delete("Account", f.account, kLocal));

  CHECK(ValueOf(store.Undelete("Contact", f.contact1, kLocal)).affected ==
        Refs({{"Contact", f.contact1}, {"Note", f.note}}));
  CHECK(GetOk(store, "Account", f.account).deleted);
  CHECK(GetOk(store, "Contact", f.contact2).deleted);

  // The parent's undelete then brings back the rest only.
  CHECK(ValueOf(store.Undelete("Account", f.account, kLocal)).affected ==
        Refs({{"Account", f.account}, {"Contact", f.contact2}}));
  CHECK(GetOk(store, "Contact", f.contact1).version == 3);
}

TEST_CASE("R33: a lookup cycle is deleted and restored once per record",
          "[records]") {
  FOR_EACH_STORE(AllStores());
  const std::string a = InsertId(store, NewRecord("Folder", {}, "folder-a"));
  const std::string b = InsertId(
      store, NewRecord("Folder", {{"ParentId", Reference{a}}}, "folder-b"));
  ValueOf(store.Update("Folder", a, {{"ParentId", Reference{b}}}, kLocal));
  const std::string self = InsertId(
      store,
      NewRecord("Folder", {{"ParentId", Reference{"folder-c"}}}, "folder-c"));

  CHECK(ValueOf(store.Delete("Folder", a, kLocal)).affected ==
        Refs({{"Folder", a}, {"Folder", b}}));
  CHECK(GetOk(store, "Folder", a).version == 3);
  CHECK(GetOk(store, "Folder", b).version == 2);
  CHECK(ValueOf(store.Undelete("Folder", b, kLocal)).affected ==
        Refs({{"Folder", b}, {"Folder", a}}));

  CHECK(ValueOf(store.Delete("Folder", self, kLocal)).affected ==
        Refs({{"Folder", self}}));
}

TEST_CASE("Delete and undelete refuse records in the wrong state",
          "[records]") {
  FOR_EACH_STORE(AllStores());
  const Family f = MakeFamily(store);
  const std::vector<Record> before = Dump(store);

  CHECK(absl::IsFailedPrecondition(
      store.Undelete("Account", f.account, kLocal).status()));
  CHECK(absl::IsNotFound(store.Delete("Account", "nope", kLocal).status()));
  CHECK(absl::IsNotFound(store.Undelete("Account", "nope", kLocal).status()));
  // The id exists, but in another object.
  CHECK(absl::IsNotFound(store.Delete("Contact", f.account, kLocal).status()));
  CHECK(Dump(store) == before);

  ValueOf(store.Delete("Contact", f.contact2, kLocal));
  const std::vector<Record> after_delete = Dump(store);
  CHECK(absl::IsFailedPrecondition(
      store.Delete("Contact", f.contact2, kLocal).status()));
  CHECK(Dump(store) == after_delete);
}

TEST_CASE(
    "Design rule 9: a write with an expected version changes the record only "
    "at that version, and otherwise is Aborted and changes nothing",
    "[records]") {
  FOR_EACH_STORE(AllStores());
  const Family f = MakeFamily(store);
  const uint64_t version = ValueOf(store.Get("Account", f.account)).version;
  auto at = [](uint64_t expected) {
    return ApplyContext{.from_replication = true,
                        .connection_id = "conn-1",
                        .expected_version = expected};
  };
  const std::vector<Record> before = Dump(store);

  // A version the record is not at (older, newer): refused, nothing moves.
  for (uint64_t stale : {version - 1, version + 1}) {
    INFO("expected version " << stale);
    CHECK(
        absl::IsAborted(store
                            .Update("Account", f.account,
                                    {{"Name", std::string("late")}}, at(stale))
                            .status()));
    CHECK(absl::IsAborted(
        store.Delete("Account", f.account, at(stale)).status()));
  }
  CHECK(Dump(store) == before);

  // At the version read, the write goes through.
  const Record updated = ValueOf(store.Update(
      "Account", f.account, {{"Name", std::string("Acme 2")}}, at(version)));
  CHECK(updated.version == version + 1);
  // The version moved: the same expectation is now stale.
  CHECK(absl::IsAborted(store
                            .Update("Account", f.account,
                                    {{"Name", std::string("Acme 3")}},
                                    at(version))
                            .status()));
  const CascadeResult deleted =
      ValueOf(store.Delete("Account", f.account, at(version + 1)));
  REQUIRE_FALSE(deleted.affected.empty());
  CHECK(deleted.affected.front() == RecordRef{"Account", f.account});
  const std::vector<Record> after_delete = Dump(store);
  CHECK(absl::IsAborted(
      store.Undelete("Account", f.account, at(version + 1)).status()));
  CHECK(Dump(store) == after_delete);
  ValueOf(store.Undelete("Account", f.account, at(version + 2)));
  CHECK_FALSE(ValueOf(store.Get("Account", f.account)).deleted);
  // The version is checked before the record's state: a stale expectation
  // on a live record is Aborted, not FailedPrecondition.
  CHECK(absl::IsAborted(
      store.Undelete("Account", f.account, at(version)).status()));
}

TEST_CASE("Children lists lookup referrers in (object, id) order",
          "[records]") {
  FOR_EACH_STORE(AllStores());
  const Family f = MakeFamily(store);
  const std::string other_account = InsertId(store, NewRecord("Account"));
  // Two lookups to the same account: listed once. ReportsToId is not a
  // lookup in the schema, so it makes no child.
  const std::string contact3 = InsertId(
      store, NewRecord("Contact", {{"AccountId", Reference{f.account}},
                                   {"BillingAccountId", Reference{f.account}},
                                   {"ReportsToId", Reference{f.contact1}}}));
  ValueOf(store.Delete("Contact", f.contact2, kLocal));

  CHECK(ValueOf(store.Children("Account", f.account)) ==
        Refs({{"Contact", f.contact1},
              {"Contact", f.contact2},
              {"Contact", contact3},
              {"Opportunity", f.opportunity}}));
  CHECK(ValueOf(store.Children("Contact", f.contact1)) ==
        Refs({{"Note", f.note}}));
  CHECK(ValueOf(store.Children("Account", other_account)).empty());

  // Updates keep the index: moving one lookup leaves the other in place,
  // moving both moves the child, and null clears it.
  ValueOf(store.Update("Contact", contact3,
                       {{"AccountId", Reference{other_account}}}, kLocal));
  CHECK(ValueOf(store.Children("Account", other_account)) ==
        Refs({{"Contact", contact3}}));
  CHECK(ValueOf(store.Children("Account", f.account)).size() == 4);
  ValueOf(store.Update("Contact", contact3,
                       {{"BillingAccountId", std::monostate{}}}, kLocal));
  CHECK(ValueOf(store.Children("Account", f.account)).size() == 3);
  ValueOf(store.Update("Opportunity", f.opportunity,
                       {{"AccountId", Reference{other_account}}}, kLocal));
  CHECK(ValueOf(store.Children("Account", other_account)) ==
        Refs({{"Contact", contact3}, {"Opportunity", f.opportunity}}));

  CHECK(absl::IsNotFound(store.Children("Account", "nope").status()));
  CHECK(absl::IsNotFound(store.Children("Contact", f.account).status()));
}

TEST_CASE("Insert accepts a lookup to a record that does not exist yet",
          "[records]") {
  FOR_EACH_STORE(AllStores());
  // The engine checks parents itself (R14, R64); the store does not.
  const std::string contact = InsertId(
      store, NewRecord("Contact", {{"AccountId", Reference{"acc-later"}}}));
  const std::string account =
      InsertId(store, NewRecord("Account", {}, "acc-later"));
  CHECK(ValueOf(store.Children("Account", account)) ==
        Refs({{"Contact", contact}}));
  CHECK(ValueOf(store.Delete("Account", account, kLocal)).affected ==
        Refs({{"Account", account}, {"Contact", contact}}));
}

TEST_CASE(
    "R33: the store takes its lookups from the schema: a delete cascades "
    "along master-detail only, and a schema change counts at the next call",
    "[records]") {
  // A schema of its own, changed below; a fresh one per store under test.
  const bool in_memory = GENERATE(true, false);
  Schema schema;
  RequireOk(schema.AddObject(ObjectWith("Account", {})));
  RequireOk(schema.AddObject(ObjectWith(
      "Contact", {LookupField("AccountId", "Account", FieldType::kMasterDetail),
                  LookupField("PartnerId", "Account", FieldType::kLookup),
                  FieldDef{.name = "Nickname"}})));
  ManualClock clock;
  RecordStoreOptions options;
  options.schema = &schema;
  options.clock = &clock;
  std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
  std::unique_ptr<RecordStore> owned =
      in_memory ? ValueOf(NewInMemoryRecordStore(options))
                : ValueOf(OpenStorageRecordStore(storage.get(), options));
  INFO("store: " << (in_memory ? "in-memory" : "storage/memory"));
  RecordStore& store = *owned;

  const std::string master = InsertId(store, NewRecord("Account"));
  const std::string partner = InsertId(store, NewRecord("Account"));
  const std::string detail = InsertId(
      store, NewRecord("Contact", {{"AccountId", Reference{master}},
                                   {"PartnerId", Reference{partner}}}));
  // A Reference in a field the schema does not declare a lookup is kept
  // and makes no child; a lookup field refuses anything but a Reference.
  const std::string loose =
      InsertId(store, NewRecord("Contact", {{"Nickname", Reference{partner}}}));
  CHECK(std::get<Reference>(
            GetOk(store, "Contact", loose).fields.at("Nickname")) ==
        Reference{partner});
  CHECK(absl::IsInvalidArgument(
      store
          .Insert(NewRecord("Contact", {{"PartnerId", std::string("x")}}),
                  kLocal)
          .status()));

  // Both kinds of lookup make the record a child.
  CHECK(ValueOf(store.Children("Account", master)) ==
        Refs({{"Contact", detail}}));
  CHECK(ValueOf(store.Children("Account", partner)) ==
        Refs({{"Contact", detail}}));

  // Deleting the target of the plain lookup leaves the contact live.
  CHECK(ValueOf(store.Delete("Account", partner, kLocal)).affected ==
        Refs({{"Account", partner}}));
  CHECK_FALSE(GetOk(store, "Contact", detail).deleted);
  CHECK_FALSE(GetOk(store, "Contact", loose).deleted);
  ValueOf(store.Undelete("Account", partner, kLocal));

  // Deleting the master takes its detail, and undeleting brings it back.
  CHECK(ValueOf(store.Delete("Account", master, kLocal)).affected ==
        Refs({{"Account", master}, {"Contact", detail}}));
  CHECK(GetOk(store, "Contact", detail).deleted);
  CHECK(ValueOf(store.Undelete("Account", master, kLocal)).affected ==
        Refs({{"Account", master}, {"Contact", detail}}));

  // The host makes PartnerId master-detail and Nickname a lookup: the next
  // delete follows the new schema, over the records already stored.
  ObjectDef changed = ObjectWith(
      "Contact", {LookupField("AccountId", "Account", FieldType::kLookup),
                  LookupField("PartnerId", "Account", FieldType::kMasterDetail),
                  LookupField("Nickname", "Account", FieldType::kLookup)});
  RequireOk(schema.ReplaceObject("Contact", std::move(changed)));
  CHECK(ValueOf(store.Children("Account", partner)) ==
        Refs({{"Contact", detail}, {"Contact", loose}}));
  CHECK(ValueOf(store.Delete("Account", master, kLocal)).affected ==
        Refs({{"Account", master}}));
  CHECK(ValueOf(store.Delete("Account", partner, kLocal)).affected ==
        Refs({{"Account", partner}, {"Contact", detail}}));
}

TEST_CASE("The shipped stores refuse options without a schema", "[records]") {
  RecordStoreOptions options;
  CHECK(absl::IsInvalidArgument(NewInMemoryRecordStore(options).status()));
  std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
  CHECK(absl::IsInvalidArgument(
      OpenStorageRecordStore(storage.get(), options).status()));
  // Nothing was written to the storage.
  CHECK(storage->KeyCount() == 0);
}

TEST_CASE(
    "Scan visits records modified since a time, in id order, and stops "
    "early",
    "[records]") {
  FOR_EACH_STORE(AllStores());
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(InsertId(store, NewRecord("Account", {{"N", int64_t{i}}})));
    harness->clock().Advance(absl::Hours(1));
  }
  InsertId(store, NewRecord("Contact"));
  const absl::Time since = GetOk(store, "Account", ids[3]).audit.created_date;
  ValueOf(store.Update("Account", ids[1], {{"N", int64_t{10}}}, kLocal));
  ValueOf(store.Delete("Account", ids[4], kLocal));

  std::vector<std::string> seen;
  RequireOk(store.Scan("Account", since, [&](const Record& r) {
    seen.push_back(r.id);
    return true;
  }));
  // ids[1] by its update, ids[3] and ids[4] (deleted ones included);
  // ids[0] and ids[2] were last modified before `since`.
  CHECK(seen == std::vector<std::string>{ids[1], ids[3], ids[4]});

  seen.clear();
  RequireOk(store.Scan("Account", absl::InfinitePast(), [&](const Record& r) {
    seen.push_back(r.id);
    // The view is fixed: the visitor may call the store, and what it
    // writes is not seen by this scan.
    RequireOk(store.Insert(NewRecord("Account"), kLocal).status());
    CHECK(GetOk(store, "Account", r.id).id == r.id);
    return true;
  }));
  CHECK(seen == ids);

  seen.clear();
  RequireOk(store.Scan("Account", absl::InfinitePast(), [&](const Record& r) {
    seen.push_back(r.id);
    return seen.size() < 2;
  }));
  CHECK(seen == std::vector<std::string>{ids[0], ids[1]});

  int visits = 0;
  RequireOk(store.Scan("Nothing", absl::InfinitePast(), [&](const Record&) {
    ++visits;
    return true;
  }));
  CHECK(visits == 0);
}

// A host store that implements only the required calls: ScanPage,
// ScanIdPage and GetMany are the interface's defaults, over Scan and Get.
class RequiredCallsStore final : public ForwardingRecordStore {
 public:
  using ForwardingRecordStore::ForwardingRecordStore;
  absl::StatusOr<RecordPage> ScanPage(std::string_view object,
                                      absl::Time modified_since,
                                      std::string_view after_id,
                                      size_t limit) override {
    return RecordStore::ScanPage(object, modified_since, after_id, limit);
  }
  absl::StatusOr<RecordIdPage> ScanIdPage(std::string_view object,
                                          std::string_view after_id,
                                          size_t limit) override {
    return RecordStore::ScanIdPage(object, after_id, limit);
  }
  absl::StatusOr<std::vector<std::optional<Record>>> GetMany(
      std::string_view object, const std::vector<std::string>& ids) override {
    return RecordStore::GetMany(object, ids);
  }
};

// The store a test reads through: `store` itself, or (`defaults`) the same
// records through the interface's default calls.
RecordStore& ReadThrough(RecordStore& store, RequiredCallsStore& required,
                         bool defaults) {
  if (defaults) return required;
  return store;
}

// Every record ScanPage returns, page after page of `limit`, and the pages
// that were not the end.
std::vector<std::string> PagedIds(RecordStore& store, absl::Time since,
                                  size_t limit, size_t* pages) {
  std::vector<std::string> ids;
  std::string after;
  *pages = 0;
  for (;;) {
    const RecordPage page =
        ValueOf(store.ScanPage("Account", since, after, limit));
    REQUIRE(page.records.size() <= limit);
    for (const Record& record : page.records) ids.push_back(record.id);
    // The resume point never goes back.
    REQUIRE(page.resume_after >= after);
    if (page.end) return ids;
    REQUIRE(page.resume_after > after);
    after = page.resume_after;
    REQUIRE(++*pages < 100);
  }
}

TEST_CASE(
    "ScanPage reads an object page by page in id order from where the last "
    "page ended, skipping what is older than the cutoff",
    "[records]") {
  FOR_EACH_STORE(AllStores());
  RequiredCallsStore required(&store);
  const bool defaults = GENERATE(false, true);
  INFO("default ScanPage: " << defaults);
  RecordStore& paged = ReadThrough(store, required, defaults);
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) {
    ids.push_back(InsertId(store, NewRecord("Account", {{"N", int64_t{i}}})));
    harness->clock().Advance(absl::Hours(1));
  }
  InsertId(store, NewRecord("Contact"));
  ValueOf(store.Delete("Account", ids[11], kLocal));

  size_t pages = 0;
  CHECK(PagedIds(paged, absl::InfinitePast(), 5, &pages) == ids);
  CHECK(pages >= 2);
  // Only what was modified since: ids[0..8] are older (a page may end
  // short of its limit while the store skips them).
  const absl::Time since = GetOk(store, "Account", ids[9]).audit.created_date;
  CHECK(PagedIds(paged, since, 1, &pages) ==
        std::vector<std::string>{ids[9], ids[10], ids[11]});
  // From the middle, and past the end.
  const RecordPage tail =
      ValueOf(paged.ScanPage("Account", absl::InfinitePast(), ids[9], 10));
  REQUIRE(tail.records.size() == 2);
  CHECK(tail.records[0].id == ids[10]);
  CHECK(tail.records[1].deleted);
  CHECK(tail.end);
  const RecordPage none =
      ValueOf(paged.ScanPage("Account", absl::InfinitePast(), ids[11], 10));
  CHECK(none.records.empty());
  CHECK(none.end);
  CHECK(ValueOf(paged.ScanPage("Nothing", absl::InfinitePast(), "", 3)).end);
  CHECK(absl::IsInvalidArgument(
      paged.ScanPage("Account", absl::InfinitePast(), "", 0).status()));
}

TEST_CASE(
    "ScanIdPage gives the ids, resume point and end of ScanPage's page "
    "without a cutoff, deleted records included",
    "[records]") {
  FOR_EACH_STORE(AllStores());
  RequiredCallsStore required(&store);
  const bool defaults = GENERATE(false, true);
  INFO("default ScanIdPage: " << defaults);
  RecordStore& paged = ReadThrough(store, required, defaults);
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    ids.push_back(InsertId(store, NewRecord("Account", {{"N", int64_t{i}}})));
  }
  InsertId(store, NewRecord("Contact"));
  ValueOf(store.Delete("Account", ids[3], kLocal));
  ValueOf(store.Delete("Account", ids[6], kLocal));

  std::vector<std::string> starts = {""};
  starts.insert(starts.end(), ids.begin(), ids.end());
  for (size_t limit = 1; limit <= ids.size() + 1; ++limit) {
    for (const std::string& after : starts) {
      INFO("limit " << limit << " after '" << after << "'");
      const RecordIdPage page =
          ValueOf(paged.ScanIdPage("Account", after, limit));
      const RecordPage records = ValueOf(
          store.ScanPage("Account", absl::InfinitePast(), after, limit));
      std::vector<std::string> expected;
      for (const Record& record : records.records) {
        expected.push_back(record.id);
      }
      CHECK(page.ids == expected);
      CHECK(page.resume_after == records.resume_after);
      CHECK(page.end == records.end);
    }
  }
  CHECK(ValueOf(paged.ScanIdPage("Nothing", "", 3)).ids.empty());
  CHECK(ValueOf(paged.ScanIdPage("Nothing", "", 3)).end);
  CHECK(absl::IsInvalidArgument(paged.ScanIdPage("Account", "", 0).status()));
  CHECK(absl::IsInvalidArgument(paged.ScanIdPage("", "", 3).status()));
}

TEST_CASE(
    "GetMany gives what Get gives for each id, in the order asked, nullopt "
    "for an id the object lacks",
    "[records]") {
  FOR_EACH_STORE(AllStores());
  RequiredCallsStore required(&store);
  const bool defaults = GENERATE(false, true);
  INFO("default GetMany: " << defaults);
  RecordStore& reader = ReadThrough(store, required, defaults);
  std::vector<std::string> accounts;
  for (int i = 0; i < 40; ++i) {
    accounts.push_back(
        InsertId(store, NewRecord("Account", {{"N", int64_t{i}}})));
  }
  const std::string contact = InsertId(store, NewRecord("Contact"));
  ValueOf(store.Delete("Account", accounts[5], kLocal));
  // Close ids and far ones (past the few steps a walk takes before it
  // seeks), out of order, one twice, one of another object, one unknown.
  const std::vector<std::string> asked = {
      accounts[30], accounts[1],  accounts[2], accounts[5], contact,
      accounts[39], "no-such-id", accounts[1], accounts[0], accounts[20]};
  const std::vector<std::optional<Record>> got =
      ValueOf(reader.GetMany("Account", asked));
  REQUIRE(got.size() == asked.size());
  for (size_t i = 0; i < asked.size(); ++i) {
    INFO("asked " << asked[i]);
    absl::StatusOr<Record> one = store.Get("Account", asked[i]);
    if (absl::IsNotFound(one.status())) {
      CHECK_FALSE(got[i].has_value());
    } else {
      REQUIRE(got[i].has_value());
      CHECK(*got[i] == ValueOf(std::move(one)));
    }
  }
  CHECK(got[3]->deleted);
  CHECK_FALSE(got[4].has_value());
  CHECK(ValueOf(reader.GetMany("Account", {})).empty());
  CHECK(absl::IsInvalidArgument(
      reader.GetMany("Account", {accounts[0], std::string("a\0b", 3)})
          .status()));
}

TEST_CASE("Refused calls change nothing", "[records]") {
  FOR_EACH_STORE(AllStores());
  const Family f = MakeFamily(store);
  const std::vector<Record> before = Dump(store);
  const auto unchanged = [&] { CHECK(Dump(store) == before); };

  Record deleted_record = NewRecord("Account");
  deleted_record.deleted = true;
  const std::pair<const char*, absl::Status> refused[] = {
      {"empty object", store.Insert(NewRecord(""), kLocal).status()},
      {"NUL in id",
       store.Insert(NewRecord("Account", {}, std::string("a\0b", 3)), kLocal)
           .status()},
      {"empty field name",
       store.Insert(NewRecord("Account", {{"", int64_t{1}}}), kLocal).status()},
      {"text in a lookup",
       store
           .Insert(NewRecord("Contact", {{"AccountId", std::string("x")}}),
                   kLocal)
           .status()},
      {"empty Reference",
       store.Insert(NewRecord("Account", {{"OwnerId", Reference{}}}), kLocal)
           .status()},
      {"inserted deleted", store.Insert(deleted_record, kLocal).status()},
      {"update: text in a lookup",
       store.Update("Contact", f.contact1, {{"AccountId", int64_t{5}}}, kLocal)
           .status()},
      {"update: NUL in a field name",
       store
           .Update("Contact", f.contact1,
                   {{std::string("a\0b", 3), int64_t{5}}}, kLocal)
           .status()},
      {"scan: empty object", store.Scan("", absl::InfinitePast(),
                                        [](const Record&) { return true; })},
  };
  for (const auto& [what, status] : refused) {
    INFO(what << ": " << status.ToString());
    CHECK(absl::IsInvalidArgument(status));
  }
  unchanged();

  // Ids are unique across objects.
  CHECK(absl::IsAlreadyExists(
      store.Insert(NewRecord("Account", {}, f.account), kLocal).status()));
  CHECK(absl::IsAlreadyExists(
      store.Insert(NewRecord("Note", {}, f.contact1), kLocal).status()));
  CHECK(absl::IsNotFound(
      store.Update("Account", "nope", {{"Name", std::string("x")}}, kLocal)
          .status()));
  CHECK(absl::IsNotFound(store.Get("Account", "nope").status()));
  unchanged();

  // No refused insert used up an id.
  CHECK(InsertId(store, NewRecord("Account")) == "P-000000000006");
}

TEST_CASE("Concurrent inserts from 8 threads get unique ids",
          "[records][threads]") {
  FOR_EACH_STORE(AllStores());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<absl::Status> failures(kThreads);
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          absl::StatusOr<Record> inserted = store.Insert(
              NewRecord("Account", {{"Thread", int64_t{t}}}), kLocal);
          if (!inserted.ok()) {
            failures[t] = inserted.status();
            return;
          }
          ids[t].push_back(inserted->id);
          // Readers run alongside the writers.
          absl::Status read = store.Get("Account", inserted->id).status();
          if (!read.ok()) {
            failures[t] = read;
            return;
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  for (const absl::Status& failure : failures) RequireOk(failure);

  std::set<std::string> unique;
  for (int t = 0; t < kThreads; ++t) {
    // Each thread's own ids come out increasing.
    CHECK(std::is_sorted(ids[t].begin(), ids[t].end()));
    unique.insert(ids[t].begin(), ids[t].end());
  }
  CHECK(unique.size() == kThreads * kPerThread);
  // No number skipped either: exactly the first 320 ids.
  CHECK(*unique.begin() == "P-000000000001");
  CHECK(*unique.rbegin() == "P-000000000320");
  CHECK(Dump(store).size() == kThreads * kPerThread);
}

// ---------------------------------------------------------------------------
// The Storage-backed store only.

TEST_CASE(
    "Reopening the storage store restores records, lookups, deletions "
    "and the id counter",
    "[records]") {
  FOR_EACH_STORE(PersistentStores());
  const Family f = MakeFamily(harness->store());
  ValueOf(harness->store().Delete("Contact", f.contact1, kLocal));
  ValueOf(harness->store().Delete("Account", f.account, kLocal));
  const std::vector<Record> before = Dump(harness->store());

  harness->Reopen();
  RecordStore& reopened = harness->store();
  CHECK(Dump(reopened) == before);
  CHECK(ValueOf(reopened.Children("Account", f.account)) ==
        Refs({{"Contact", f.contact1},
              {"Contact", f.contact2},
              {"Opportunity", f.opportunity}}));
  // Which delete took which record survived too (R33).
  CHECK(ValueOf(reopened.Undelete("Account", f.account, kLocal)).affected ==
        Refs({{"Account", f.account}, {"Contact", f.contact2}}));
  CHECK(GetOk(reopened, "Contact", f.contact1).deleted);
  // No id is handed out twice.
  CHECK(InsertId(reopened, NewRecord("Account")) == "P-000000000006");
  (void)store;
}

TEST_CASE("Every call of the storage store survives a crash once it returned",
          "[records]") {
  FOR_EACH_STORE(PersistentStores());
  // Runs `step`, then crashes and reopens, and checks that nothing the
  // store returned is lost.
  const auto step_then_crash =
      [&](const char* what, const std::function<void(RecordStore&)>& step) {
        INFO(what);
        step(harness->store());
        const std::vector<Record> acknowledged = Dump(harness->store());
        harness->Reopen();
        CHECK(Dump(harness->store()) == acknowledged);
      };
  Family f;
  step_then_crash("insert", [&](RecordStore& s) { f = MakeFamily(s); });
  step_then_crash("update", [&](RecordStore& s) {
    ValueOf(s.Update("Contact", f.contact1, {{"Name", std::string("Ada L.")}},
                     kLocal));
  });
  step_then_crash("cascading delete", [&](RecordStore& s) {
    ValueOf(s.Delete("Account", f.account, kLocal));
  });
  step_then_crash("replicated update of a deleted record", [&](RecordStore& s) {
    ValueOf(
        s.Update("Note", f.note, {{"Body", std::string("x")}}, kReplicated));
  });
  step_then_crash("cascading undelete", [&](RecordStore& s) {
    ValueOf(s.Undelete("Account", f.account, kLocal));
  });
  step_then_crash("insert after reopen", [&](RecordStore& s) {
    CHECK(InsertId(s, NewRecord("Account")) == "P-000000000006");
  });
  CHECK(ValueOf(harness->store().Children("Contact", f.contact1)) ==
        Refs({{"Note", f.note}}));
  (void)store;
}

// Fails every write while `fail` is set.
class FailingStorage final : public ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;
  absl::Status Write(const WriteBatch& batch,
                     const WriteOptions& options) override {
    if (fail) return absl::UnavailableError("injected write failure");
    return ForwardingStorage::Write(batch, options);
  }
  bool fail = false;
};

TEST_CASE("A failed storage write changes nothing, in memory or on disk",
          "[records]") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  FailingStorage storage(memory.get());
  ManualClock clock;
  std::unique_ptr<RecordStore> store =
      ValueOf(OpenStorageRecordStore(&storage, TestOptions(&clock)));
  const Family f = MakeFamily(*store);
  const std::vector<Record> before = Dump(*store);
  const size_t keys_before = memory->KeyCount();

  storage.fail = true;
  CHECK(absl::IsUnavailable(
      store->Insert(NewRecord("Account"), kLocal).status()));
  CHECK(absl::IsUnavailable(store
                                ->Update("Contact", f.contact1,
                                         {{"AccountId", std::monostate{}}},
                                         kLocal)
                                .status()));
  CHECK(absl::IsUnavailable(
      store->Delete("Account", f.account, kLocal).status()));
  CHECK(Dump(*store) == before);
  CHECK(memory->KeyCount() == keys_before);
  CHECK(ValueOf(store->Children("Account", f.account)).size() == 3);

  storage.fail = false;
  // The failed insert's id and the failed delete's number were not used up.
  CHECK(InsertId(*store, NewRecord("Account")) == "P-000000000006");
  ValueOf(store->Delete("Account", f.account, kLocal));
  ValueOf(store->Undelete("Account", f.account, kLocal));
  CHECK_FALSE(GetOk(*store, "Contact", f.contact1).deleted);
}

// Counts the synced writes that reach a Storage.
class SyncCountingStorage final : public ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;
  absl::Status Write(const WriteBatch& batch,
                     const WriteOptions& options) override {
    if (options.sync) ++syncs;
    ++writes;
    return ForwardingStorage::Write(batch, options);
  }
  int syncs = 0;
  int writes = 0;
};

// A storage-backed store over a SyncCountingStorage, sharing its org's
// Storage or not.
struct CountedStore {
  explicit CountedStore(bool shares) {
    options.shares_org_storage = shares;
    store = ValueOf(OpenStorageRecordStore(&storage, options));
  }
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  SyncCountingStorage storage{memory.get()};
  ManualClock clock;
  RecordStoreOptions options = TestOptions(&clock);
  std::unique_ptr<RecordStore> store;
};

TEST_CASE(
    "shares_org_storage: live sync's writes are left to the org's sync, the "
    "host's own are synced, and reserved ids are synced together "
    "(SyncReservedIds, issue 10)",
    "[records]") {
  for (const bool shares : {false, true}) {
    CAPTURE(shares);
    CountedStore counted(shares);
    SyncCountingStorage& storage = counted.storage;
    std::unique_ptr<RecordStore>& store = counted.store;

    // Live sync's calls: an id reserved, then inserted, updated, deleted
    // and undeleted with from_replication.
    const std::string id = ValueOf(store->ReserveId("Account"));
    Record record = NewRecord("Account", {{"Name", std::string("Acme")}});
    record.id = id;
    ValueOf(store->Insert(record, kReplicated));
    ValueOf(store->Update("Account", id, {{"Name", std::string("Acme 2")}},
                          kReplicated));
    ValueOf(store->Delete("Account", id, kReplicated));
    ValueOf(store->Undelete("Account", id, kReplicated));
    // The reservation is not synced by ReserveId either way.
    CHECK(storage.syncs == (shares ? 0 : 4));
    // Ids reserved in a Storage of the store's own are synced together;
    // in the org's, its own synced write follows them there.
    ValueOf(store->ReserveId("Account"));
    ValueOf(store->ReserveId("Account"));
    REQUIRE(store->SyncReservedIds().ok());
    CHECK(storage.syncs == (shares ? 0 : 5));
    // Nothing reserved since: nothing to sync.
    REQUIRE(store->SyncReservedIds().ok());
    CHECK(storage.syncs == (shares ? 0 : 5));

    // The host's own writes are durable when they return either way.
    const int before = storage.syncs;
    const std::string local = InsertId(*store, NewRecord("Account"));
    ValueOf(
        store->Update("Account", local, {{"Name", std::string("B")}}, kLocal));
    CHECK(storage.syncs == before + 2);
    // Synced or not, every write landed.
    CHECK(GetOk(*store, "Account", id).fields.at("Name") ==
          FieldValue(std::string("Acme 2")));
    CHECK(GetOk(*store, "Account", id).version == 4);
  }
}

TEST_CASE(
    "Issue 10: the ids ReserveId hands out are durable together once "
    "SyncReservedIds returned",
    "[records]") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  SyncCountingStorage storage(memory.get());
  ManualClock clock;
  const RecordStoreOptions options = TestOptions(&clock);
  std::unique_ptr<RecordStore> store =
      ValueOf(OpenStorageRecordStore(&storage, options));
  const std::string first = ValueOf(store->ReserveId("Account"));
  const std::string second = ValueOf(store->ReserveId("Account"));
  CHECK(storage.syncs == 0);
  REQUIRE(store->SyncReservedIds().ok());
  CHECK(storage.syncs == 1);
  // A crash keeps what SyncReservedIds made durable: no id twice.
  store.reset();
  memory->SimulateCrash();
  store = ValueOf(OpenStorageRecordStore(&storage, options));
  const std::string third = ValueOf(store->ReserveId("Account"));
  CHECK(third != first);
  CHECK(third != second);
  CHECK(third > second);
}

TEST_CASE(
    "Issue 10: ReserveId writes nothing, SyncReservedIds writes the counter "
    "once for every id reserved since, and a write carrying counters takes "
    "them along",
    "[records]") {
  for (const bool shares : {false, true}) {
    CAPTURE(shares);
    CountedStore counted(shares);
    MemoryStorage* const memory = counted.memory.get();
    SyncCountingStorage& storage = counted.storage;
    const RecordStoreOptions& options = counted.options;
    std::unique_ptr<RecordStore>& store = counted.store;
    std::vector<std::string> reserved;
    for (int i = 0; i < 5; ++i) {
      reserved.push_back(ValueOf(store->ReserveId("Account")));
    }
    CHECK(storage.writes == 0);
    REQUIRE(store->SyncReservedIds().ok());
    CHECK(storage.writes == 1);
    CHECK(storage.syncs == (shares ? 0 : 1));
    // In the org's Storage, the org's synced write of its links follows.
    if (shares)
      RequireOk(storage.Put("links", "x", WriteOptions{.sync = true}));

    // A host insert after more reservations writes their counter with it
    // (it generates the next id from them): nothing is left to sync.
    reserved.push_back(ValueOf(store->ReserveId("Account")));
    const std::string inserted = InsertId(*store, NewRecord("Account"));
    CHECK(inserted > reserved.back());
    const int after_insert = storage.writes;
    REQUIRE(store->SyncReservedIds().ok());
    CHECK(storage.writes == after_insert);

    // A crash keeps every id handed out: none comes again.
    store.reset();
    memory->SimulateCrash();
    store = ValueOf(OpenStorageRecordStore(&storage, options));
    const std::string next = ValueOf(store->ReserveId("Account"));
    CHECK(next > inserted);
    for (const std::string& id : reserved) CHECK(next != id);
  }
}

TEST_CASE("OpenStorageRecordStore refuses a null storage and corrupt counters",
          "[records]") {
  ManualClock clock;
  CHECK(absl::IsInvalidArgument(
      OpenStorageRecordStore(nullptr, TestOptions(&clock)).status()));
  std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
  RequireOk(storage->Put("r/meta", "\xff\xff", WriteOptions{.sync = true}));
  CHECK(absl::IsDataLoss(
      OpenStorageRecordStore(storage.get(), TestOptions(&clock)).status()));
}

}  // namespace
}  // namespace orgsync::record_store_test
