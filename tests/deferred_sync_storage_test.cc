// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// DeferredSyncStorage: the group that lets one envelope of partner changes
// be applied with one disk sync. What the group defers must become durable
// at its flush, and nothing outside the group (host threads capturing at the
// same time) may lose its own sync (design rule 2: durable before
// acknowledged).

#include <atomic>
#include <future>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "orgsync/storage.h"
#include "storage/deferred_sync_storage.h"

namespace orgsync::internal::deferred_sync_storage_test {
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
  // Readable through the group, but held in memory until its flush.
  CHECK(Has(storage, "a"));
  CHECK_FALSE(Has(*memory, "a"));
  CHECK(memory->UnsyncedBatchCount() == 0);
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

// Counts the writes that reach the target, and keeps the keys of each.
class WriteCounter : public ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;
  absl::Status Write(const WriteBatch& batch,
                     const WriteOptions& options) override {
    std::vector<std::string> keys;
    for (const WriteBatch::Op& op : batch.ops()) keys.push_back(op.key);
    writes.push_back(std::move(keys));
    return ForwardingStorage::Write(batch, options);
  }
  std::vector<std::vector<std::string>> writes;
};

TEST_CASE("a group's writes reach the target as one batch at its flush") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  WriteCounter counter(memory.get());
  DeferredSyncStorage storage(&counter);
  DeferredSyncGroup group(&storage);
  for (int i = 0; i < 100; ++i) {
    REQUIRE_OK(storage.Put("k" + std::to_string(i), "v", kSync));
  }
  CHECK(counter.writes.empty());
  REQUIRE_OK(group.End());
  REQUIRE(counter.writes.size() == 1);
  CHECK(counter.writes[0].size() == 100);
  CHECK(memory->UnsyncedBatchCount() == 0);
}

TEST_CASE("a key written by every change of a group is written once") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  WriteCounter counter(memory.get());
  DeferredSyncStorage storage(&counter);
  DeferredSyncGroup group(&storage);
  for (int i = 0; i < 50; ++i) {
    WriteBatch change;
    change.Put("record" + std::to_string(i), "v");
    change.Put("clock", std::to_string(i));
    REQUIRE_OK(storage.Write(change, kSync));
  }
  REQUIRE_OK(storage.Delete("record7", kSync));
  REQUIRE_OK(group.End());
  REQUIRE(counter.writes.size() == 1);
  CHECK(counter.writes[0].size() == 51);
  CHECK(*memory->Get("clock") == "49");
  CHECK(absl::IsNotFound(memory->Get("record7").status()));
  CHECK(*memory->Get("record8") == "v");
}

// Fails the next `failures` writes, then forwards.
class FailingWrites : public ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;
  absl::Status Write(const WriteBatch& batch,
                     const WriteOptions& options) override {
    if (failures > 0) {
      --failures;
      return absl::UnavailableError("disk unplugged");
    }
    return ForwardingStorage::Write(batch, options);
  }
  int failures = 0;
};

TEST_CASE("a failed flush keeps the group's writes pending, values and "
          "deletes, and the next write puts them through") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  REQUIRE_OK(memory->Put("gone", "old", kSync));
  FailingWrites failing(memory.get());
  DeferredSyncStorage storage(&failing);
  {
    DeferredSyncGroup group(&storage);
    REQUIRE_OK(storage.Put("link", std::string(300, 'x'), kSync));
    REQUIRE_OK(storage.Put("clock", "7", kSync));
    REQUIRE_OK(storage.Delete("gone", kSync));
    failing.failures = 1;
    CHECK(absl::IsUnavailable(group.End()));
  }
  // Nothing reached the target, and readers still see the group's writes.
  CHECK_FALSE(Has(*memory, "link"));
  CHECK(*memory->Get("gone") == "old");
  CHECK(*storage.Get("link") == std::string(300, 'x'));
  CHECK(*storage.Get("clock") == "7");
  CHECK(absl::IsNotFound(storage.Get("gone").status()));
  // A later write (outside any group) lands after them, values intact.
  REQUIRE_OK(storage.Put("after", "1", kSync));
  CHECK(*memory->Get("link") == std::string(300, 'x'));
  CHECK(*memory->Get("clock") == "7");
  CHECK(absl::IsNotFound(memory->Get("gone").status()));
  CHECK(*memory->Get("after") == "1");
}

TEST_CASE("every reader sees the group's pending writes as made", "[threads]") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  REQUIRE_OK(memory->Put("gone", "old", kSync));
  REQUIRE_OK(memory->Put("kept", "old", kSync));
  DeferredSyncStorage storage(memory.get());
  DeferredSyncGroup group(&storage);
  REQUIRE_OK(storage.Put("kept", "new", kSync));
  REQUIRE_OK(storage.Put("added", "1", kSync));
  REQUIRE_OK(storage.Delete("gone", kSync));
  REQUIRE_OK(storage.Put("added", "2", kSync));
  CHECK(*storage.Get("kept") == "new");
  CHECK(*storage.Get("added") == "2");
  CHECK(absl::IsNotFound(storage.Get("gone").status()));
  // Another thread reads the same.
  std::thread reader([&] {
    CHECK(*storage.Get("added") == "2");
    CHECK(absl::IsNotFound(storage.Get("gone").status()));
  });
  reader.join();
  // An iterator sees them too: the pending writes reach the target first.
  absl::StatusOr<std::unique_ptr<StorageIterator>> it = storage.NewIterator();
  REQUIRE_OK(it.status());
  std::vector<std::string> seen;
  for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next()) {
    seen.push_back(std::string((*it)->key()) + "=" +
                   std::string((*it)->value()));
  }
  REQUIRE_OK((*it)->status());
  CHECK(seen == std::vector<std::string>{"added=2", "kept=new"});
  // Written unsynced: still owed to the flush.
  memory->SimulateCrash();
  CHECK(*memory->Get("kept") == "old");
  CHECK(absl::IsNotFound(storage.Get("added").status()));
  REQUIRE_OK(group.End());
}

TEST_CASE("a write from outside the group lands after the group's pending "
          "writes, in the order they were made", "[threads]") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  WriteCounter counter(memory.get());
  DeferredSyncStorage storage(&counter);
  DeferredSyncGroup group(&storage);
  REQUIRE_OK(storage.Put("shared", "group", kSync));
  std::thread host([&] { CHECK(storage.Put("shared", "host", kSync).ok()); });
  host.join();
  // The host's synced write carried the group's before it.
  REQUIRE(counter.writes.size() == 2);
  CHECK(*memory->Get("shared") == "host");
  memory->SimulateCrash();
  CHECK(*memory->Get("shared") == "host");
  REQUIRE_OK(group.End());
  CHECK(*memory->Get("shared") == "host");

  // direct() on the group's own thread does the same.
  DeferredSyncGroup second(&storage);
  REQUIRE_OK(storage.Put("reservation", "pending", kSync));
  REQUIRE_OK(storage.direct()->Put("reservation", "direct", kSync));
  CHECK(*storage.Get("reservation") == "direct");
  memory->SimulateCrash();
  CHECK(*memory->Get("reservation") == "direct");
  REQUIRE_OK(second.End());
}

// Counts the reads that reach the target, by key.
class ReadCounter : public ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;
  absl::StatusOr<std::string> Get(std::string_view key,
                                  const ReadOptions& options) override {
    ++reads[std::string(key)];
    return ForwardingStorage::Get(key, options);
  }
  std::map<std::string, int> reads;
};

TEST_CASE("the read cache answers repeated reads of its keys, and forgets "
          "a key written through it") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  ReadCounter counter(memory.get());
  DeferredSyncStorage storage(
      &counter, ReadCacheOptions{.key_prefix = "c/", .max_entries = 3});
  REQUIRE_OK(memory->Put("c/present", "1", kSync));
  REQUIRE_OK(memory->Put("other", "x", kSync));

  SECTION("present, absent and uncached keys") {
    for (int i = 0; i < 3; ++i) {
      CHECK(*storage.Get("c/present") == "1");
      CHECK(absl::IsNotFound(storage.Get("c/absent").status()));
      CHECK(*storage.Get("other") == "x");
    }
    CHECK(counter.reads["c/present"] == 1);
    CHECK(counter.reads["c/absent"] == 1);
    CHECK(counter.reads["other"] == 3);
    // An absent key's NotFound still names it.
    CHECK_THAT(std::string(storage.Get("c/absent").status().message()),
               Catch::Contains("c/absent"));
  }

  SECTION("every way of writing a key makes the next read see it") {
    CHECK(*storage.Get("c/present") == "1");
    CHECK(absl::IsNotFound(storage.Get("c/absent").status()));
    REQUIRE_OK(storage.Put("c/present", "2", kSync));  // outside a group
    REQUIRE_OK(storage.Put("c/absent", "now", kNoSync));
    CHECK(*storage.Get("c/present") == "2");
    CHECK(*storage.Get("c/absent") == "now");
    {
      DeferredSyncGroup group(&storage);
      REQUIRE_OK(storage.Delete("c/present", kSync));  // pending
      CHECK(absl::IsNotFound(storage.Get("c/present").status()));
      REQUIRE_OK(group.End());
    }
    CHECK(absl::IsNotFound(storage.Get("c/present").status()));
    {
      DeferredSyncGroup group(&storage);
      REQUIRE_OK(storage.direct()->Put("c/present", "3", kSync));
      REQUIRE_OK(group.End());
    }
    CHECK(*storage.Get("c/present") == "3");
    CHECK(*memory->Get("c/present") == "3");
  }

  SECTION("reads through a snapshot bypass it") {
    CHECK(*storage.Get("c/present") == "1");
    auto snapshot = storage.GetSnapshot();
    REQUIRE(snapshot.ok());
    CHECK(*storage.Get("c/present", {.snapshot = snapshot->get()}) == "1");
    CHECK(counter.reads["c/present"] == 2);
  }

  SECTION("it holds at most max_entries keys") {
    for (const char* key : {"c/1", "c/2", "c/3", "c/4"}) {
      CHECK(absl::IsNotFound(storage.Get(key).status()));
    }
    // Full at the fourth: it started empty again and kept only c/4.
    CHECK(absl::IsNotFound(storage.Get("c/1").status()));
    CHECK(absl::IsNotFound(storage.Get("c/4").status()));
    CHECK(counter.reads["c/1"] == 2);
    CHECK(counter.reads["c/4"] == 1);
  }
}

// Holds one read after it read the target, until told to return.
class HeldRead : public ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;
  absl::StatusOr<std::string> Get(std::string_view key,
                                  const ReadOptions& options) override {
    absl::StatusOr<std::string> value = ForwardingStorage::Get(key, options);
    if (hold.exchange(false)) {
      read.set_value();
      release.get_future().wait();
    }
    return value;
  }
  std::atomic<bool> hold{false};
  std::promise<void> read;
  std::promise<void> release;
};

TEST_CASE("GetIfPresent answers from the group's pending writes and the "
          "read cache as Get does") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  ReadCounter counter(memory.get());
  DeferredSyncStorage storage(
      &counter, ReadCacheOptions{.key_prefix = "c/", .max_entries = 3});
  REQUIRE_OK(memory->Put("c/present", "1", kSync));
  auto present = [&](std::string_view key) {
    absl::StatusOr<std::optional<std::string>> value =
        storage.GetIfPresent(key);
    REQUIRE_OK(value.status());
    return *value;
  };
  for (int i = 0; i < 3; ++i) {
    CHECK(present("c/present") == "1");
    CHECK(present("c/absent") == std::nullopt);
  }
  // A cached answer, present or absent, is not read again, and Get shares
  // the cache: its NotFound still names the key.
  CHECK(counter.reads["c/present"] == 1);
  CHECK(counter.reads["c/absent"] == 1);
  const absl::Status missing = storage.Get("c/absent").status();
  CHECK(absl::IsNotFound(missing));
  CHECK_THAT(std::string(missing.message()), Catch::Contains("c/absent"));
  CHECK(counter.reads["c/absent"] == 1);
  {
    DeferredSyncGroup group(&storage);
    REQUIRE_OK(storage.Delete("c/present", kSync));  // pending
    REQUIRE_OK(storage.Put("c/absent", "now", kSync));
    CHECK(present("c/present") == std::nullopt);
    CHECK(present("c/absent") == "now");
    REQUIRE_OK(group.End());
  }
  CHECK(present("c/present") == std::nullopt);
  CHECK(present("c/absent") == "now");
  CHECK(memory->GetIfPresent("c/absent").value() == "now");
}

TEST_CASE("the read cache keeps nothing from a read that a write overtook",
          "[threads]") {
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  HeldRead held(memory.get());
  DeferredSyncStorage storage(
      &held, ReadCacheOptions{.key_prefix = "c/", .max_entries = 64});
  REQUIRE_OK(memory->Put("c/k", "old", kSync));
  held.hold = true;
  // A host thread reads "old" from the target and is held there...
  std::thread reader([&] { CHECK(*storage.Get("c/k") == "old"); });
  held.read.get_future().wait();
  // ... while the step thread writes the key.
  REQUIRE_OK(storage.Put("c/k", "new", kSync));
  held.release.set_value();
  reader.join();
  // The late reader's "old" was not kept.
  CHECK(*storage.Get("c/k") == "new");
}

}  // namespace
}  // namespace orgsync::internal::deferred_sync_storage_test
