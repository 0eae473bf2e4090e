// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The MetadataStore contract (orgsync/metadata_store.h) that metadata sync
// (R74) is to rely on, checked against both shipped stores: every contract
// case runs over InMemoryMetadataStore and over OpenStorageMetadataStore on
// a MemoryStorage. Then what only the Storage-backed store has: contents
// that survive a reopen, refused writes that change nothing, and the keys
// it shares the "m/" prefix with.

#include "orgsync/metadata_store.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "fmt/core.h"
#include "orgsync/storage.h"
#include "testing/fault_storage.h"
#include "testing/storage_testing.h"

namespace orgsync::metadata_store_test {
namespace {

using testing::RequireOk;

// One store under test, with the Storage it may live in.
struct MetadataStoreUnderTest {
  std::string name;
  std::unique_ptr<MemoryStorage> storage;  // null for the in-memory store
  std::unique_ptr<MetadataStore> store;
};

MetadataStoreUnderTest MakeMetadataStore(bool storage_backed) {
  MetadataStoreUnderTest made;
  if (!storage_backed) {
    made.name = "in-memory";
    made.store = std::make_unique<InMemoryMetadataStore>();
    return made;
  }
  made.name = "storage";
  made.storage = NewMemoryStorage();
  auto opened = OpenStorageMetadataStore(made.storage.get());
  RequireOk(opened.status());
  made.store = std::move(opened).value();
  return made;
}

// Each contract case runs once per store.
#define FOR_EACH_METADATA_STORE()                                    \
  const bool storage_backed_ = GENERATE(false, true);                \
  MetadataStoreUnderTest under_test_ = MakeMetadataStore(storage_backed_); \
  INFO("store: " << under_test_.name);                               \
  MetadataStore& store = *under_test_.store

// "Type:name" of every item, in Scan order.
std::vector<std::string> ScanNames(MetadataStore& store) {
  std::vector<std::string> seen;
  RequireOk(store.Scan([&](const MetadataItem& item) {
    seen.push_back(MetadataTypeName(item.type) + ":" + item.name);
    return true;
  }));
  return seen;
}

std::vector<MetadataItem> ScanItems(MetadataStore& store) {
  std::vector<MetadataItem> items;
  RequireOk(store.Scan([&](const MetadataItem& item) {
    items.push_back(item);
    return true;
  }));
  return items;
}

TEST_CASE(
    "R74: a metadata store keeps items by type and name, renames them, and "
    "refuses bad input without changing anything",
    "[metadata]") {
  FOR_EACH_METADATA_STORE();
  RequireOk(store.Upsert(
      {.type = MetadataType::kProfile, .name = "Sales", .body = "v1"}, {}));
  RequireOk(store.Upsert(
      {.type = MetadataType::kRole, .name = "Sales", .body = "role"}, {}));
  RequireOk(store.Upsert(
      {.type = MetadataType::kProfile, .name = "Sales", .body = "v2"}, {}));
  CHECK(ScanItems(store).size() == 2);
  auto profile = store.Get(MetadataType::kProfile, "Sales");
  RequireOk(profile.status());
  CHECK(profile->body == "v2");

  // R74: top-level items (roles, profiles, permission sets) rename.
  CHECK(IsTopLevelMetadataType(MetadataType::kProfile));
  CHECK_FALSE(IsTopLevelMetadataType(MetadataType::kCustomField));
  RequireOk(store.Rename(MetadataType::kProfile, "Sales", "Sales EMEA", {}));
  CHECK(store.Get(MetadataType::kProfile, "Sales").status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(store.Get(MetadataType::kProfile, "Sales EMEA")->body == "v2");
  CHECK(store.Get(MetadataType::kProfile, "Sales EMEA")->name == "Sales EMEA");
  CHECK(store.Rename(MetadataType::kProfile, "Nobody", "X", {}).code() ==
        absl::StatusCode::kNotFound);
  RequireOk(store.Upsert(
      {.type = MetadataType::kProfile, .name = "Support", .body = ""}, {}));
  CHECK(store.Rename(MetadataType::kProfile, "Support", "Sales EMEA", {})
            .code() == absl::StatusCode::kAlreadyExists);

  CHECK(
      store.Upsert({.type = MetadataType::kLayout, .name = "", .body = ""}, {})
          .code() == absl::StatusCode::kInvalidArgument);
  CHECK(
      store
          .Upsert(
              {.type = static_cast<MetadataType>(99), .name = "x", .body = ""},
              {})
          .code() == absl::StatusCode::kInvalidArgument);
  CHECK(ScanItems(store).size() == 3);

  CHECK(ScanNames(store) == std::vector<std::string>{"Role:Sales",
                                                     "Profile:Sales EMEA",
                                                     "Profile:Support"});
}

TEST_CASE(
    "R74: a metadata store refuses unknown types and empty names in every "
    "call, and renaming an item to its own name keeps it",
    "[metadata]") {
  FOR_EACH_METADATA_STORE();
  const auto unknown = static_cast<MetadataType>(0);
  CHECK(store.Get(unknown, "x").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(store.Get(MetadataType::kLayout, "").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(store.Get(MetadataType::kLayout, "Missing").status().code() ==
        absl::StatusCode::kNotFound);
  RequireOk(store.Upsert(
      {.type = MetadataType::kRole, .name = "Boss", .body = "b"}, {}));
  CHECK(store.Rename(MetadataType::kRole, "Boss", "", {}).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(store.Rename(MetadataType::kRole, "", "Boss", {}).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(store.Rename(unknown, "Boss", "Chief", {}).code() ==
        absl::StatusCode::kInvalidArgument);
  // A rename to the same name checks that the item exists, and keeps it.
  CHECK(store.Rename(MetadataType::kRole, "Nobody", "Nobody", {}).code() ==
        absl::StatusCode::kNotFound);
  RequireOk(store.Rename(MetadataType::kRole, "Boss", "Boss", {}));
  CHECK(ScanItems(store) ==
        std::vector<MetadataItem>{
            {.type = MetadataType::kRole, .name = "Boss", .body = "b"}});
  // NUL and non-ASCII characters in names are kept exactly.
  const std::string odd("a\0b\xc3\xa9", 5);
  const std::string odd_body("\0\1", 2);
  RequireOk(store.Upsert(
      {.type = MetadataType::kApexClass, .name = odd, .body = odd_body}, {}));
  CHECK(store.Get(MetadataType::kApexClass, odd)->body == odd_body);
  CHECK(store.Get(MetadataType::kApexClass, "a").status().code() ==
        absl::StatusCode::kNotFound);
}

TEST_CASE(
    "R74: a metadata store scans by type number, then name, over a view "
    "fixed when the scan starts, and stops when told",
    "[metadata]") {
  FOR_EACH_METADATA_STORE();
  // Inserted out of order; names compare bytewise ("B" < "a", "a" < "ab").
  for (const auto& [type, name] :
       std::vector<std::pair<MetadataType, std::string>>{
           {MetadataType::kProfile, "ab"},
           {MetadataType::kApexClass, "z"},
           {MetadataType::kProfile, "a"},
           {MetadataType::kProfile, "B"},
           {MetadataType::kCustomField, "Account.Name"}}) {
    RequireOk(store.Upsert({.type = type, .name = name, .body = name}, {}));
  }
  const std::vector<std::string> expected = {
      "Apex Class:z", "Custom Field:Account.Name", "Profile:B", "Profile:a",
      "Profile:ab"};
  CHECK(ScanNames(store) == expected);

  // `visit` may write to the store; the scan keeps the view it started with.
  std::vector<std::string> seen;
  RequireOk(store.Scan([&](const MetadataItem& item) {
    seen.push_back(MetadataTypeName(item.type) + ":" + item.name);
    if (item.type == MetadataType::kApexClass) {
      RequireOk(store.Upsert(
          {.type = MetadataType::kLayout, .name = "New", .body = ""}, {}));
      RequireOk(
          store.Rename(MetadataType::kProfile, "ab", "zz", ApplyContext{}));
    }
    return true;
  }));
  CHECK(seen == expected);
  CHECK(ScanNames(store).size() == 6);

  int visited = 0;
  RequireOk(store.Scan([&](const MetadataItem&) { return ++visited < 2; }));
  CHECK(visited == 2);
}

TEST_CASE(
    "R74: a metadata store takes concurrent upserts and renames from "
    "several threads -- of two renames to one name exactly one wins",
    "[metadata][threads]") {
  FOR_EACH_METADATA_STORE();
  constexpr int kThreads = 4;
  constexpr int kItemsPerThread = 10;
  // Every thread renames its own item to the same contested name.
  for (int t = 0; t < kThreads; ++t) {
    RequireOk(store.Upsert({.type = MetadataType::kRole,
                            .name = fmt::format("role-{}", t),
                            .body = fmt::format("{}", t)},
                           {}));
  }
  std::atomic<int> renamed{0};
  std::atomic<int> refused{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kItemsPerThread; ++i) {
        if (!store
                 .Upsert({.type = MetadataType::kLayout,
                          .name = fmt::format("layout-{}-{}", t, i),
                          .body = "x"},
                         {})
                 .ok()) {
          ++errors;
        }
      }
      const absl::Status status = store.Rename(
          MetadataType::kRole, fmt::format("role-{}", t), "Chief", {});
      if (status.ok()) {
        ++renamed;
      } else if (status.code() == absl::StatusCode::kAlreadyExists) {
        ++refused;
      } else {
        ++errors;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(errors.load() == 0);
  CHECK(renamed.load() == 1);
  CHECK(refused.load() == kThreads - 1);
  CHECK(ScanItems(store).size() ==
        static_cast<size_t>(kThreads * kItemsPerThread + kThreads));
  auto chief = store.Get(MetadataType::kRole, "Chief");
  RequireOk(chief.status());
  // The winner's item moved: its old name is gone, the others' stay.
  const std::string winner = "role-" + chief->body;
  CHECK(store.Get(MetadataType::kRole, winner).status().code() ==
        absl::StatusCode::kNotFound);
}

TEST_CASE(
    "R74: the Storage-backed metadata store keeps its items across a close "
    "and reopen of its Storage (LevelDB)",
    "[metadata]") {
  std::unique_ptr<testing::ReopenableStorage> storage =
      testing::NewReopenableLevelDbStorage();
  std::vector<MetadataItem> before;
  {
    auto store = OpenStorageMetadataStore(storage->storage());
    RequireOk(store.status());
    RequireOk((*store)->Upsert(
        {.type = MetadataType::kProfile, .name = "Sales", .body = "v1"}, {}));
    RequireOk((*store)->Upsert(
        {.type = MetadataType::kLayout, .name = "Account", .body = "L"}, {}));
    RequireOk((*store)->Rename(MetadataType::kProfile, "Sales", "Sales EMEA",
                               {}));
    before = ScanItems(**store);
  }
  storage->Reopen();
  auto store = OpenStorageMetadataStore(storage->storage());
  RequireOk(store.status());
  CHECK(ScanItems(**store) == before);
  CHECK(before.size() == 2);
  CHECK((*store)->Get(MetadataType::kProfile, "Sales EMEA")->body == "v1");
  CHECK((*store)->Get(MetadataType::kProfile, "Sales").status().code() ==
        absl::StatusCode::kNotFound);
}

TEST_CASE(
    "R74: the Storage-backed metadata store makes each change one synced "
    "write, and a refused write changes nothing",
    "[metadata]") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  testing::FaultInjectingStorage faulty(memory.get());
  auto opened = OpenStorageMetadataStore(&faulty);
  RequireOk(opened.status());
  MetadataStore& store = **opened;
  RequireOk(store.Upsert(
      {.type = MetadataType::kRole, .name = "Boss", .body = "b"}, {}));
  RequireOk(store.Upsert(
      {.type = MetadataType::kRole, .name = "Clerk", .body = "c"}, {}));
  // Synced: a crash right after the calls keeps them.
  CHECK(memory->UnsyncedBatchCount() == 0);
  const std::map<std::string, std::string> before = testing::Dump(memory.get());

  faulty.FailNextWrites(1);
  CHECK(store
            .Upsert({.type = MetadataType::kRole, .name = "Boss", .body = "b2"},
                    {})
            .code() == absl::StatusCode::kUnavailable);
  faulty.FailNextWrites(1);
  CHECK(store.Rename(MetadataType::kRole, "Boss", "Chief", {}).code() ==
        absl::StatusCode::kUnavailable);
  CHECK(testing::Dump(memory.get()) == before);
  CHECK(store.Get(MetadataType::kRole, "Boss")->body == "b");

  // A rename is one batch: the item is never under both names or neither.
  faulty.ResetCounts();
  RequireOk(store.Rename(MetadataType::kRole, "Boss", "Chief", {}));
  CHECK(faulty.counts().writes == 1);
  CHECK(faulty.counts().syncs == 1);
  CHECK(memory->KeyCount() == before.size());

  // A read that fails fails the call, and changes nothing either.
  faulty.FailNextReads(1);
  CHECK(store.Rename(MetadataType::kRole, "Chief", "Boss", {}).code() ==
        absl::StatusCode::kUnavailable);
  CHECK(store.Get(MetadataType::kRole, "Chief")->body == "b");

  // The stored MetadataItem's name is a proto3 string: a name that is not
  // UTF-8 could not be read back, so it is refused before any write.
  const std::map<std::string, std::string> renamed =
      testing::Dump(memory.get());
  const std::string not_utf8("Boss\xff", 5);
  faulty.ResetCounts();
  CHECK(store
            .Upsert({.type = MetadataType::kRole, .name = not_utf8, .body = ""},
                    {})
            .code() == absl::StatusCode::kInvalidArgument);
  CHECK(store.Rename(MetadataType::kRole, "Chief", not_utf8, {}).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(faulty.counts().writes == 0);
  CHECK(testing::Dump(memory.get()) == renamed);
}

TEST_CASE(
    "R74: the Storage-backed metadata store reads and writes only its own "
    "keys under \"m/\" and reports a corrupt item as DataLoss",
    "[metadata]") {
  CHECK(OpenStorageMetadataStore(nullptr).status().code() ==
        absl::StatusCode::kInvalidArgument);
  std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
  // A host's own keys under "m/", as the demo keeps its run counter, and
  // the neighbouring prefixes.
  RequireOk(storage->Put("m/demo/runs", "3", {.sync = true}));
  RequireOk(storage->Put("l", "x", {.sync = true}));
  RequireOk(storage->Put("n/", "x", {.sync = true}));
  auto opened = OpenStorageMetadataStore(storage.get());
  RequireOk(opened.status());
  MetadataStore& store = **opened;
  CHECK(ScanItems(store).empty());
  RequireOk(store.Upsert(
      {.type = MetadataType::kRecordType, .name = "demo", .body = "r"}, {}));
  CHECK(ScanNames(store) == std::vector<std::string>{"Record Type:demo"});
  CHECK(storage->Get("m/demo/runs").value_or("") == "3");
  CHECK(storage->KeyCount() == 4);

  // Damage the stored item: reads report it instead of guessing.
  std::string item_key;
  for (const auto& [key, value] : testing::Dump(storage.get())) {
    if (key.starts_with(std::string_view("m/\0", 3))) item_key = key;
  }
  REQUIRE_FALSE(item_key.empty());
  RequireOk(storage->Put(item_key, "\xff\xff not a proto", {.sync = true}));
  CHECK(store.Get(MetadataType::kRecordType, "demo").status().code() ==
        absl::StatusCode::kDataLoss);
  CHECK(store.Scan([](const MetadataItem&) { return true; }).code() ==
        absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace orgsync::metadata_store_test
