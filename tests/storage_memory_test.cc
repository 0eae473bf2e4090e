// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// MemoryStorage's crash model: what SimulateCrash and SimulateCrashKeeping
// keep and drop. Other tests rely on it to stand in for a power loss, so it
// must be exact. The shared behaviour is in storage_contract_test.cc.

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "orgsync/storage.h"

namespace orgsync::storage_memory_test {
namespace {

#define REQUIRE_OK(expr) REQUIRE((expr) == ::absl::OkStatus())

constexpr WriteOptions kSync{.sync = true};
constexpr WriteOptions kNoSync{.sync = false};

std::vector<std::string> Keys(Storage& storage) {
  auto it = storage.NewIterator();
  REQUIRE(it.status() == absl::OkStatus());
  std::vector<std::string> keys;
  for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next()) {
    keys.emplace_back((*it)->key());
  }
  return keys;
}

// Batch i puts "b<i>/x" and "b<i>/y" and deletes "base".
WriteBatch NumberedBatch(int i) {
  WriteBatch batch;
  batch.Put("b" + std::to_string(i) + "/x", "1");
  batch.Put("b" + std::to_string(i) + "/y", "2");
  batch.Delete("base");
  return batch;
}

TEST_CASE(
    "Storage memory: SimulateCrash drops unsynced writes and keeps "
    "synced ones",
    "[storage]") {
  std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
  REQUIRE_OK(storage->Put("synced", "1", kSync));
  REQUIRE_OK(storage->Put("unsynced", "2", kNoSync));
  REQUIRE_OK(storage->Put("synced", "changed", kNoSync));
  REQUIRE_OK(storage->Delete("synced-too", kNoSync));
  CHECK(storage->Get("unsynced").ok());
  storage->SimulateCrash();
  CHECK(Keys(*storage) == std::vector<std::string>{"synced"});
  CHECK(storage->Get("synced").value_or("") == "1");
  CHECK(storage->UnsyncedBatchCount() == 0);
  // A crash with nothing pending changes nothing.
  storage->SimulateCrash();
  CHECK(Keys(*storage) == std::vector<std::string>{"synced"});
}

TEST_CASE("Storage memory: a sync write makes earlier unsynced writes durable",
          "[storage]") {
  std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
  REQUIRE_OK(storage->Put("a", "1", kNoSync));
  REQUIRE_OK(storage->Put("b", "2", kNoSync));
  REQUIRE_OK(storage->Delete("a", kNoSync));
  REQUIRE_OK(storage->Put("c", "3", kSync));
  REQUIRE_OK(storage->Put("d", "4", kNoSync));
  storage->SimulateCrash();
  CHECK(Keys(*storage) == std::vector<std::string>{"b", "c"});
}

TEST_CASE(
    "Storage memory: SimulateCrashKeeping keeps exactly the first k "
    "unsynced batches",
    "[storage]") {
  constexpr int kBatches = 5;
  for (size_t keep = 0; keep <= kBatches + 2; ++keep) {
    std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
    REQUIRE_OK(storage->Put("base", "0", kSync));
    for (int i = 0; i < kBatches; ++i) {
      REQUIRE_OK(storage->Write(NumberedBatch(i), kNoSync));
    }
    REQUIRE(storage->UnsyncedBatchCount() == kBatches);
    storage->SimulateCrashKeeping(keep);

    std::vector<std::string> expected;
    const size_t kept = std::min<size_t>(keep, kBatches);
    // Whole batches only: both puts and the delete of "base", or none.
    for (size_t i = 0; i < kept; ++i) {
      expected.push_back("b" + std::to_string(i) + "/x");
      expected.push_back("b" + std::to_string(i) + "/y");
    }
    if (kept == 0) expected.push_back("base");
    INFO("keep = " << keep);
    CHECK(Keys(*storage) == expected);
    CHECK(storage->UnsyncedBatchCount() == 0);
    // What was kept is durable now: a second crash keeps it.
    storage->SimulateCrash();
    CHECK(Keys(*storage) == expected);
  }
}

TEST_CASE("Storage memory: UnsyncedBatchCount and KeyCount", "[storage]") {
  std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
  CHECK(storage->UnsyncedBatchCount() == 0);
  CHECK(storage->KeyCount() == 0);
  REQUIRE_OK(storage->Put("a", "1", kNoSync));
  REQUIRE_OK(storage->Put("a", "2", kNoSync));
  REQUIRE_OK(storage->Write(NumberedBatch(7), kNoSync));
  CHECK(storage->UnsyncedBatchCount() == 3);
  CHECK(storage->KeyCount() == 3);  // a, b7/x, b7/y
  // An empty unsynced batch is nothing to lose.
  REQUIRE_OK(storage->Write(WriteBatch(), kNoSync));
  CHECK(storage->UnsyncedBatchCount() == 3);
  REQUIRE_OK(storage->Delete("a", kSync));
  CHECK(storage->UnsyncedBatchCount() == 0);
  CHECK(storage->KeyCount() == 2);
  REQUIRE_OK(storage->Put("z", "1", kNoSync));
  CHECK(storage->KeyCount() == 3);
  storage->SimulateCrash();
  CHECK(storage->KeyCount() == 2);
}

TEST_CASE(
    "Storage memory: iterators and snapshots keep their view across a "
    "crash",
    "[storage]") {
  std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
  REQUIRE_OK(storage->Put("durable", "1", kSync));
  REQUIRE_OK(storage->Put("volatile", "2", kNoSync));
  auto snapshot = storage->GetSnapshot();
  REQUIRE(snapshot.ok());
  auto it = storage->NewIterator();
  REQUIRE(it.ok());
  storage->SimulateCrash();
  CHECK(storage->Get("volatile").status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(storage->Get("volatile", ReadOptions{.snapshot = snapshot->get()})
            .value_or("") == "2");
  (*it)->SeekToLast();
  REQUIRE((*it)->Valid());
  CHECK((*it)->key() == "volatile");
}

}  // namespace
}  // namespace orgsync::storage_memory_test
