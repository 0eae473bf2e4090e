// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The Bloom filter the shipped LevelDB Storage keeps over orgsync's sync
// state keys (storage/scoped_bloom_filter.h), and how tables written under
// one filter setting read under another.

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "connection/connection_keys.h"
#include "engine/record_links.h"
#include "fmt/core.h"
#include "leveldb/filter_policy.h"
#include "leveldb/slice.h"
#include "orgsync/options.h"
#include "orgsync/storage.h"
#include "storage/leveldb_storage_internal.h"
#include "storage/scoped_bloom_filter.h"
#include "testing/temp_dir.h"

namespace orgsync::storage_filter_test {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

TEST_CASE(
    "Storage LevelDB: the sync state filter holds only keys under its "
    "prefix, never misses one, and never filters another",
    "[storage]") {
  const std::unique_ptr<const leveldb::FilterPolicy> policy =
      internal::NewScopedBloomFilterPolicy("k/", 10);
  std::vector<std::string> written;
  for (int i = 0; i < 500; ++i) {
    written.push_back(fmt::format("k/c1/l/Account{}{:05d}", '\0', i));
    written.push_back(fmt::format("q/c1/e/{:08d}", i));
  }
  std::vector<leveldb::Slice> slices(written.begin(), written.end());
  std::string filter;
  policy->CreateFilter(slices.data(), static_cast<int>(slices.size()),
                       &filter);
  for (const std::string& key : written) {
    CHECK(policy->KeyMayMatch(key, filter));
  }
  int passed = 0;
  for (int i = 500; i < 1500; ++i) {
    if (policy->KeyMayMatch(fmt::format("k/c1/l/Account{}{:05d}", '\0', i),
                            filter)) {
      ++passed;
    }
    // A key outside the prefix is never filtered out: the table may hold
    // it, for all the filter knows.
    CHECK(policy->KeyMayMatch(fmt::format("q/c1/e/{:08d}", i), filter));
  }
  // About 1% false positives at 10 bits per key.
  CHECK(passed < 50);
  // The filter is named after its prefix, so a table filtered over other
  // keys is never read with it.
  CHECK(std::string(policy->Name()) != "leveldb.BuiltinBloomFilter2");
  CHECK(std::string(policy->Name()) !=
        std::string(internal::NewScopedBloomFilterPolicy("q/", 10)->Name()));
}

TEST_CASE(
    "Storage LevelDB: record links, field stamps and applied marks are the "
    "keys the sync state filter covers",
    "[storage]") {
  const std::string_view prefix = internal::kSyncStateKeyPrefix;
  CHECK(internal::LocalLinkKeyPrefix("c1").starts_with(prefix));
  CHECK(internal::AppliedMarkKey("c1", "x").starts_with(prefix));
}

TEST_CASE(
    "Storage LevelDB: tables written under the sync state filter, every "
    "key's filter or none read back under any of them -- a bad size of "
    "either filter changes nothing",
    "[storage]") {
  TempDir dir;
  struct Setting {
    const char* name;
    LevelDbStorageOptions options;
  };
  const std::vector<Setting> settings = {
      {"sync state",
       {.write_buffer_bytes = 64 * 1024, .sync_state_filter_bits_per_key = 10}},
      {"every key",
       {.write_buffer_bytes = 64 * 1024, .bloom_filter_bits_per_key = 10}},
      {"none", {.write_buffer_bytes = 64 * 1024}}};
  const size_t written_with = GENERATE(0, 1, 2);
  const size_t read_with = GENERATE(0, 1, 2);
  CAPTURE(settings[written_with].name, settings[read_with].name);
  const std::string path = dir.Sub("state");
  constexpr int kKeys = 3000;
  auto key = [](int k) {
    return k % 3 == 0 ? fmt::format("q/c1/e/{:08d}", k)
                      : fmt::format("k/c1/l/Account{}{:06d}", '\0', k);
  };
  {
    absl::StatusOr<std::unique_ptr<Storage>> storage =
        OpenLevelDbStorage(path, settings[written_with].options);
    REQUIRE(storage.ok());
    for (int i = 0; i < kKeys; i += 100) {
      WriteBatch batch;
      for (int k = i; k < i + 100; ++k) {
        batch.Put(key(2 * k), fmt::format("value {}", k));
      }
      REQUIRE((*storage)->Write(batch, WriteOptions{}).ok());
    }
  }
  size_t tables = 0;
  for (const auto& file : fs::directory_iterator(path)) {
    if (file.path().extension() == ".ldb") ++tables;
  }
  // At least one table file holds keys, under the filter asked for
  // (compaction may have merged the flushed ones into one).
  REQUIRE(tables >= 1);
  // A small block cache: reads go to the tables, through their filters.
  LevelDbStorageOptions read_options = settings[read_with].options;
  read_options.block_cache_bytes = 16 * 1024;
  absl::StatusOr<std::unique_ptr<Storage>> storage =
      OpenLevelDbStorage(path, read_options);
  REQUIRE(storage.ok());
  for (int k = 0; k < kKeys; k += 7) {
    absl::StatusOr<std::string> present = (*storage)->Get(key(2 * k));
    if (present.value_or("") != fmt::format("value {}", k)) {
      FAIL(key(2 * k) << ": " << present.status());
    }
    absl::StatusOr<std::string> absent = (*storage)->Get(key(2 * k + 1));
    if (absent.status().code() != absl::StatusCode::kNotFound) {
      FAIL(key(2 * k + 1) << ": " << absent.status());
    }
  }

  for (const int bad : {-1, 41}) {
    for (const bool every_key : {false, true}) {
      const std::string other =
          dir.Sub(fmt::format("bad{}{}", bad + 1, every_key ? "all" : ""));
      LevelDbStorageOptions options;
      (every_key ? options.bloom_filter_bits_per_key
                 : options.sync_state_filter_bits_per_key) = bad;
      absl::StatusOr<std::unique_ptr<Storage>> refused =
          OpenLevelDbStorage(other, options);
      CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
      CHECK_THAT(std::string(refused.status().message()),
                 Catch::Contains(every_key ? "bloom_filter_bits_per_key"
                                           : "sync_state_filter_bits_per_key"));
      CHECK_FALSE(fs::exists(other));
    }
  }
}

}  // namespace
}  // namespace orgsync::storage_filter_test
