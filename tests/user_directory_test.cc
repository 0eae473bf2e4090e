// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The UserDirectory contract (orgsync/user_directory.h) that user sync
// (R70-R72) relies on, checked against both shipped directories: every
// contract case runs over InMemoryUserDirectory and over
// OpenStorageUserDirectory on a MemoryStorage. Then what only the
// Storage-backed directory has: users and the id counter that survive a
// reopen, refused writes that change nothing, and corrupt state reported.

#include "orgsync/user_directory.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "fmt/core.h"
#include "orgsync/metadata_store.h"
#include "orgsync/storage.h"
#include "testing/fault_storage.h"
#include "testing/storage_testing.h"

namespace orgsync::user_directory_test {
namespace {

using testing::RequireOk;

// One directory under test, and how a test defines the org's profiles,
// roles and permission sets for it: InMemoryUserDirectory's Add* calls, or
// items of the MetadataStore in the same Storage.
struct DirectoryUnderTest {
  std::string name;
  std::unique_ptr<MemoryStorage> storage;     // null for the in-memory one
  std::unique_ptr<MetadataStore> metadata;    // null for the in-memory one
  std::unique_ptr<UserDirectory> directory;
  std::function<absl::Status(MetadataType, std::string_view)> define;

  absl::Status AddProfile(std::string_view name) {
    return define(MetadataType::kProfile, name);
  }
  absl::Status AddRole(std::string_view name) {
    return define(MetadataType::kRole, name);
  }
  absl::Status AddPermissionSet(std::string_view name) {
    return define(MetadataType::kPermissionSet, name);
  }
};

DirectoryUnderTest MakeDirectory(bool storage_backed) {
  DirectoryUnderTest made;
  if (!storage_backed) {
    made.name = "in-memory";
    auto directory = std::make_unique<InMemoryUserDirectory>("U-");
    InMemoryUserDirectory* in_memory = directory.get();
    made.directory = std::move(directory);
    made.define = [in_memory](MetadataType type, std::string_view name) {
      switch (type) {
        case MetadataType::kProfile:
          return in_memory->AddProfile(name);
        case MetadataType::kRole:
          return in_memory->AddRole(name);
        default:
          return in_memory->AddPermissionSet(name);
      }
    };
    return made;
  }
  made.name = "storage";
  made.storage = NewMemoryStorage();
  auto metadata = OpenStorageMetadataStore(made.storage.get());
  RequireOk(metadata.status());
  made.metadata = std::move(metadata).value();
  auto directory = OpenStorageUserDirectory(made.storage.get());
  RequireOk(directory.status());
  made.directory = std::move(directory).value();
  MetadataStore* store = made.metadata.get();
  made.define = [store](MetadataType type, std::string_view name) {
    return store->Upsert(
        {.type = type, .name = std::string(name), .body = {}}, {});
  };
  return made;
}

// Each contract case runs once per directory.
#define FOR_EACH_DIRECTORY()                                         \
  const bool storage_backed_ = GENERATE(false, true);                \
  DirectoryUnderTest under_test = MakeDirectory(storage_backed_);    \
  INFO("directory: " << under_test.name);                            \
  UserDirectory& users = *under_test.directory

std::vector<User> ScanUsers(UserDirectory& users) {
  std::vector<User> seen;
  RequireOk(users.Scan([&](const User& user) {
    seen.push_back(user);
    return true;
  }));
  return seen;
}

User NewUser(std::string username, std::string id = {}) {
  return User{.id = std::move(id),
              .username = std::move(username),
              .email = {},
              .full_name = {},
              .profile = "Standard",
              .role = {},
              .permission_sets = {},
              .active = true,
              .standard_license = true};
}

User UpsertOk(UserDirectory& users, User user) {
  absl::StatusOr<User> stored = users.Upsert(std::move(user), {});
  RequireOk(stored.status());
  return *std::move(stored);
}

TEST_CASE(
    "R70: a user directory assigns ids, keeps usernames unique and refuses "
    "bad users without changing anything",
    "[users]") {
  FOR_EACH_DIRECTORY();
  User ann{.id = {},
           .username = "ann@corp",
           .email = "ann@corp",
           .full_name = "Ann",
           .profile = "Standard",
           .role = {},
           .permission_sets = {"Reports"},
           .active = true,
           .standard_license = true};
  auto stored = users.Upsert(ann, {});
  RequireOk(stored.status());
  CHECK(stored->id == "U-000000000001");
  auto got = users.Get(stored->id);
  RequireOk(got.status());
  CHECK(*got == *stored);

  // R71 relies on usernames being unique: another user cannot take one.
  User other = ann;
  other.id.clear();
  CHECK(users.Upsert(other, {}).status().code() ==
        absl::StatusCode::kAlreadyExists);
  other.username.clear();
  CHECK(users.Upsert(other, {}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(ScanUsers(users).size() == 1);

  // Renaming frees the old username.
  User renamed = *stored;
  renamed.username = "ann.b@corp";
  RequireOk(users.Upsert(renamed, {}).status());
  auto old_name = users.FindByUsername("ann@corp");
  RequireOk(old_name.status());
  CHECK_FALSE(old_name->has_value());
  auto new_name = users.FindByUsername("ann.b@corp");
  RequireOk(new_name.status());
  REQUIRE(new_name->has_value());
  CHECK((*new_name)->id == stored->id);

  CHECK(users.Get("U-404").status().code() == absl::StatusCode::kNotFound);

  // R72 asks the directory which profiles exist.
  CHECK_FALSE(*users.HasProfile("Standard"));
  RequireOk(under_test.AddProfile("Standard"));
  CHECK(*users.HasProfile("Standard"));
  CHECK(under_test.AddRole("").code() == absl::StatusCode::kInvalidArgument);
  RequireOk(under_test.AddPermissionSet("Reports"));
  CHECK(*users.HasPermissionSet("Reports"));
  CHECK_FALSE(*users.HasRole("Reports"));

  std::vector<std::string> seen;
  RequireOk(users.Scan([&](const User& user) {
    seen.push_back(user.username);
    return true;
  }));
  CHECK(seen == std::vector<std::string>{"ann.b@corp"});
}

TEST_CASE(
    "R70: a user directory stores every field as given, inserts a user with "
    "an unknown explicit id, and skips numbers taken by explicit ids",
    "[users]") {
  FOR_EACH_DIRECTORY();
  User bob{.id = "U-000000000001",
           .username = "bob@corp",
           .email = "bob@mail",
           .full_name = "Bob B",
           .profile = "Nowhere",  // not checked: R72 is user sync's job
           .role = "CEO",
           .permission_sets = {"Z", "A", "Z"},
           .active = false,
           .standard_license = false};
  CHECK(UpsertOk(users, bob) == bob);
  CHECK(*users.Get(bob.id) == bob);
  // The generated id steps over the number bob's explicit id holds.
  const User carl = UpsertOk(users, NewUser("carl@corp"));
  CHECK(carl.id == "U-000000000002");

  // A refused insert hands out no number: the next insert gets it.
  CHECK(users.Upsert(NewUser("carl@corp"), {}).status().code() ==
        absl::StatusCode::kAlreadyExists);
  CHECK(UpsertOk(users, NewUser("dan@corp")).id == "U-000000000003");

  // An update replaces the whole user, keeping its id.
  User bob2 = NewUser("bob@corp", bob.id);
  CHECK(UpsertOk(users, bob2) == bob2);
  CHECK(*users.Get(bob.id) == bob2);
  CHECK((*users.FindByUsername("bob@corp"))->id == bob.id);

  // Taking a username another user holds is refused and changes nothing,
  // updates included.
  User steal = carl;
  steal.username = "bob@corp";
  CHECK(users.Upsert(steal, {}).status().code() ==
        absl::StatusCode::kAlreadyExists);
  CHECK(*users.Get(carl.id) == carl);
  CHECK((*users.FindByUsername("carl@corp"))->id == carl.id);

  // Usernames match exactly (case-sensitive), NUL and non-ASCII characters
  // included.
  CHECK_FALSE(users.FindByUsername("BOB@corp")->has_value());
  CHECK_FALSE(users.FindByUsername("bob@corp.dr")->has_value());
  const std::string odd("e\0v\xc3\xa9", 5);
  const User eve = UpsertOk(users, NewUser(odd));
  CHECK((*users.FindByUsername(odd))->id == eve.id);
  CHECK_FALSE(users.FindByUsername("e")->has_value());

  // Empty names are never defined.
  CHECK_FALSE(*users.HasProfile(""));
  CHECK_FALSE(*users.HasRole(""));
  CHECK_FALSE(*users.HasPermissionSet(""));
}

TEST_CASE(
    "R70: a user directory scans in id order over a view fixed when the "
    "scan starts, and stops when told",
    "[users]") {
  FOR_EACH_DIRECTORY();
  UpsertOk(users, NewUser("x@corp", "U-b"));
  UpsertOk(users, NewUser("y@corp", "U-B"));
  UpsertOk(users, NewUser("z@corp", "U-a"));
  UpsertOk(users, NewUser("w@corp"));  // U-000000000001
  std::vector<std::string> ids;
  for (const User& user : ScanUsers(users)) ids.push_back(user.id);
  const std::vector<std::string> expected = {"U-000000000001", "U-B", "U-a",
                                             "U-b"};
  CHECK(ids == expected);

  // `visit` may write to the directory; the scan keeps the view it started
  // with.
  std::vector<std::string> seen;
  RequireOk(users.Scan([&](const User& user) {
    seen.push_back(user.id);
    if (seen.size() == 1) {
      UpsertOk(users, NewUser("new@corp", "U-0"));
      User renamed = user;
      renamed.username = "renamed@corp";
      UpsertOk(users, renamed);
      CHECK(users.FindByUsername("w@corp")->has_value() == false);
    }
    return true;
  }));
  CHECK(seen == expected);
  CHECK(ScanUsers(users).size() == 5);

  int visited = 0;
  RequireOk(users.Scan([&](const User&) { return ++visited < 3; }));
  CHECK(visited == 3);
}

TEST_CASE(
    "R71: a user directory takes concurrent upserts from several threads: "
    "ids stay unique and of several claims on one username exactly one "
    "wins",
    "[users][threads]") {
  FOR_EACH_DIRECTORY();
  constexpr int kThreads = 4;
  constexpr int kUsersPerThread = 10;
  std::atomic<int> claimed{0};
  std::atomic<int> refused{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kUsersPerThread; ++i) {
        if (!users.Upsert(NewUser(fmt::format("u{}-{}@corp", t, i)), {})
                 .ok()) {
          ++errors;
        }
      }
      // Every thread's reads are consistent with a username index that
      // never names a user without that username.
      if (!users.FindByUsername(fmt::format("u{}-0@corp", t)).ok()) ++errors;
      const absl::Status status =
          users.Upsert(NewUser("shared@corp"), {}).status();
      if (status.ok()) {
        ++claimed;
      } else if (status.code() == absl::StatusCode::kAlreadyExists) {
        ++refused;
      } else {
        ++errors;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(errors.load() == 0);
  CHECK(claimed.load() == 1);
  CHECK(refused.load() == kThreads - 1);
  std::set<std::string> ids;
  std::set<std::string> usernames;
  for (const User& user : ScanUsers(users)) {
    ids.insert(user.id);
    usernames.insert(user.username);
  }
  const auto expected = static_cast<size_t>(kThreads * kUsersPerThread + 1);
  CHECK(ids.size() == expected);
  CHECK(usernames.size() == expected);
  // No number was handed out twice, nor skipped by a refused claim.
  CHECK(*ids.rbegin() == fmt::format("U-{:012}", expected));
}

TEST_CASE(
    "R70: the Storage-backed user directory keeps its users, usernames and "
    "id counter across a close and reopen of its Storage (LevelDB)",
    "[users]") {
  std::unique_ptr<testing::ReopenableStorage> storage =
      testing::NewReopenableLevelDbStorage();
  std::vector<User> before;
  {
    auto users = OpenStorageUserDirectory(storage->storage());
    RequireOk(users.status());
    UpsertOk(**users, NewUser("ann@corp"));
    User bob = UpsertOk(**users, NewUser("bob@corp"));
    bob.username = "bob.b@corp";
    UpsertOk(**users, bob);
    before = ScanUsers(**users);
  }
  storage->Reopen();
  auto users = OpenStorageUserDirectory(storage->storage());
  RequireOk(users.status());
  CHECK(ScanUsers(**users) == before);
  CHECK(before.size() == 2);
  CHECK((*(*users)->FindByUsername("bob.b@corp"))->id == "U-000000000002");
  CHECK_FALSE((*users)->FindByUsername("bob@corp")->has_value());
  // The counter went with them: no number is handed out again.
  CHECK(UpsertOk(**users, NewUser("carl@corp")).id == "U-000000000003");
}

TEST_CASE(
    "R70: the Storage-backed user directory makes each upsert one synced "
    "write, and a refused write changes nothing",
    "[users]") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  testing::FaultInjectingStorage faulty(memory.get());
  auto opened = OpenStorageUserDirectory(&faulty);
  RequireOk(opened.status());
  UserDirectory& users = **opened;
  User ann = UpsertOk(users, NewUser("ann@corp"));
  CHECK(memory->UnsyncedBatchCount() == 0);
  const std::map<std::string, std::string> before = testing::Dump(memory.get());

  faulty.FailNextWrites(1);
  CHECK(users.Upsert(NewUser("bob@corp"), {}).status().code() ==
        absl::StatusCode::kUnavailable);
  User renamed = ann;
  renamed.username = "ann.b@corp";
  faulty.FailNextWrites(1);
  CHECK(users.Upsert(renamed, {}).status().code() ==
        absl::StatusCode::kUnavailable);
  faulty.FailNextReads(1);
  CHECK(users.Upsert(renamed, {}).status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK(testing::Dump(memory.get()) == before);
  CHECK((*users.FindByUsername("ann@corp"))->id == ann.id);
  CHECK_FALSE(users.FindByUsername("ann.b@corp")->has_value());

  // The stored User's texts are proto3 strings: a user with one that is not
  // UTF-8 could not be read back, so it is refused before any write.
  faulty.ResetCounts();
  User not_utf8 = NewUser("bob@corp");
  not_utf8.permission_sets = {"ok", std::string("bad\xff", 4)};
  CHECK(users.Upsert(not_utf8, {}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  not_utf8 = renamed;
  not_utf8.full_name = std::string("Ann\xc3", 4);  // a cut-off character
  CHECK(users.Upsert(not_utf8, {}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(faulty.counts().writes == 0);
  CHECK(testing::Dump(memory.get()) == before);

  // The refused inserts took no number; the rename is one write.
  faulty.ResetCounts();
  CHECK(UpsertOk(users, NewUser("bob@corp")).id == "U-000000000002");
  RequireOk(users.Upsert(renamed, {}).status());
  CHECK(faulty.counts().writes == 2);
  CHECK(faulty.counts().syncs == 2);
  CHECK_FALSE(users.FindByUsername("ann@corp")->has_value());
  // Two users: a record and an index entry each, and the counter.
  CHECK(memory->KeyCount() == 5);
}

TEST_CASE(
    "R72: the Storage-backed user directory reads profiles, roles and "
    "permission sets from the metadata store in the same Storage, and "
    "reports corrupt state as DataLoss",
    "[users]") {
  CHECK(OpenStorageUserDirectory(nullptr).status().code() ==
        absl::StatusCode::kInvalidArgument);
  std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
  auto metadata = OpenStorageMetadataStore(storage.get());
  RequireOk(metadata.status());
  RequireOk((*metadata)->Upsert(
      {.type = MetadataType::kProfile, .name = "Standard", .body = {}}, {}));
  RequireOk((*metadata)->Upsert(
      {.type = MetadataType::kRole, .name = "CEO", .body = {}}, {}));
  auto opened = OpenStorageUserDirectory(storage.get());
  RequireOk(opened.status());
  UserDirectory& users = **opened;
  CHECK(*users.HasProfile("Standard"));
  CHECK_FALSE(*users.HasProfile("CEO"));
  CHECK(*users.HasRole("CEO"));
  // A renamed profile (R74) is known under its new name only.
  RequireOk(
      (*metadata)->Rename(MetadataType::kProfile, "Standard", "Basic", {}));
  CHECK_FALSE(*users.HasProfile("Standard"));
  CHECK(*users.HasProfile("Basic"));

  const User ann = UpsertOk(users, NewUser("ann@corp"));
  // Damage each kind of key in turn: reads report it instead of guessing.
  std::string user_key;
  std::string username_key;
  for (const auto& [key, value] : testing::Dump(storage.get())) {
    if (key.starts_with("u/i/")) user_key = key;
    if (key.starts_with("u/n/")) username_key = key;
  }
  REQUIRE_FALSE(user_key.empty());
  REQUIRE_FALSE(username_key.empty());
  RequireOk(storage->Put(username_key, "U-404", {.sync = true}));
  CHECK(users.FindByUsername("ann@corp").status().code() ==
        absl::StatusCode::kDataLoss);
  RequireOk(storage->Put(user_key, "\xff\xff not a proto", {.sync = true}));
  CHECK(users.Get(ann.id).status().code() == absl::StatusCode::kDataLoss);
  CHECK(users.Scan([](const User&) { return true; }).code() ==
        absl::StatusCode::kDataLoss);
  RequireOk(storage->Put("u/next_id", "short", {.sync = true}));
  CHECK(OpenStorageUserDirectory(storage.get()).status().code() ==
        absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace orgsync::user_directory_test
