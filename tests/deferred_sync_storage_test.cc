// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// DeferredSyncStorage: the group that lets one envelope of partner changes
// be applied with one disk sync. What the group defers must become durable
// at its flush, and nothing outside the group (host threads capturing at the
// same time) may lose its own sync (design rule 2: durable before
// acknowledged).

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "orgsync/storage.h"
#include "storage/deferred_sync_storage.h"

namespace orgsync::internal {
namespace {

#define REQUIRE_OK(expr) REQUIRE((expr) == ::absl::OkStatus())

constexpr WriteOptions kSync{.sync = true};
constexpr WriteOptions kNoSync{.sync = false};

bool Has(Storage& storage, const std::string& key) {
  return storage.Get(key).ok();
}

TEST_CASE("Rule 2: a group's sync writes become durable together at End") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  DeferredSyncStorage storage(memory.get());
  DeferredSyncGroup group(&storage);
  REQUIRE(storage.InGroup());
  REQUIRE_OK(storage.Put("a", "1", kSync));
  REQUIRE_OK(storage.Put("b", "2", kSync));
  // Written, readable, but not yet durable.
  CHECK(Has(storage, "a"));
  CHECK(memory->UnsyncedBatchCount() == 2);
  REQUIRE_OK(group.End());
  CHECK_FALSE(storage.InGroup());
  CHECK(memory->UnsyncedBatchCount() == 0);
  memory->SimulateCrash();
  CHECK(Has(*memory, "a"));
  CHECK(Has(*memory, "b"));
}

TEST_CASE("Rule 2: a crash before the group's flush loses its writes whole") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  DeferredSyncStorage storage(memory.get());
  storage.Begin();
  REQUIRE_OK(storage.Put("a", "1", kSync));
  memory->SimulateCrash();
  CHECK_FALSE(Has(*memory, "a"));
  REQUIRE_OK(storage.End());
}

TEST_CASE("Rule 2: Flush makes the writes so far durable and keeps the group") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  DeferredSyncStorage storage(memory.get());
  DeferredSyncGroup group(&storage);
  REQUIRE_OK(storage.Put("a", "1", kSync));
  REQUIRE_OK(storage.Flush());
  REQUIRE(storage.InGroup());
  REQUIRE_OK(storage.Put("b", "2", kSync));
  memory->SimulateCrash();
  CHECK(Has(*memory, "a"));
  CHECK_FALSE(Has(*memory, "b"));
  REQUIRE_OK(group.End());
}

TEST_CASE("Rule 2: outside a group, and on other threads, sync writes sync", "[threads]") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  DeferredSyncStorage storage(memory.get());
  REQUIRE_OK(storage.Put("before", "1", kSync));
  CHECK(memory->UnsyncedBatchCount() == 0);

  DeferredSyncGroup group(&storage);
  std::thread host([&] {
    CHECK_FALSE(storage.InGroup());
    CHECK(storage.Put("host", "1", kSync).ok());
  });
  host.join();
  // The host's synced write made everything before it durable, as the
  // Storage contract says; the group owes nothing it did not write since.
  CHECK(memory->UnsyncedBatchCount() == 0);
  memory->SimulateCrash();
  CHECK(Has(*memory, "host"));
  REQUIRE_OK(group.End());
}

TEST_CASE("Rule 2: unsynced writes stay unsynced and an idle group costs nothing") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  DeferredSyncStorage storage(memory.get());
  {
    DeferredSyncGroup group(&storage);
    REQUIRE_OK(group.End());
  }
  // Nothing owed: End wrote nothing.
  CHECK(memory->UnsyncedBatchCount() == 0);
  DeferredSyncGroup group(&storage);
  REQUIRE_OK(storage.Put("loose", "1", kNoSync));
  // An unsynced write owes no sync; the group does not add one.
  REQUIRE_OK(group.End());
  CHECK(memory->UnsyncedBatchCount() == 1);
}

TEST_CASE("Rule 2: a group left without End still flushes in its destructor") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  DeferredSyncStorage storage(memory.get());
  {
    DeferredSyncGroup group(&storage);
    REQUIRE_OK(storage.Put("a", "1", kSync));
  }
  CHECK_FALSE(storage.InGroup());
  memory->SimulateCrash();
  CHECK(Has(*memory, "a"));
}

}  // namespace
}  // namespace orgsync::internal
