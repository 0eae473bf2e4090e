// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The Storage contract (include/orgsync/storage.h), one set of test bodies
// run against every shipped implementation. Each harness makes a fresh
// Storage and can "reopen" it: LevelDB closes and opens the same folder,
// MemoryStorage simulates a crash and keeps the object. Both keep what was
// written with sync, which is all the contract promises across a reopen.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "fmt/core.h"
#include "orgsync/storage.h"
#include "testing/fault_storage.h"
#include "testing/temp_dir.h"

namespace orgsync::storage_contract_test {
namespace {

using ::orgsync::testing::FaultInjectingStorage;
using ::orgsync::testing::TempDir;
using KeyValues = std::vector<std::pair<std::string, std::string>>;

#define CHECK_OK(expr) CHECK((expr) == ::absl::OkStatus())
#define REQUIRE_OK(expr) REQUIRE((expr) == ::absl::OkStatus())

constexpr WriteOptions kSync{.sync = true};
constexpr WriteOptions kNoSync{.sync = false};

class MemoryHarness {
 public:
  MemoryHarness() : storage_(NewMemoryStorage()) {}
  Storage* storage() { return storage_.get(); }
  // What survives a reopen of MemoryStorage is what survives a crash.
  void Reopen() { storage_->SimulateCrash(); }

 private:
  std::unique_ptr<MemoryStorage> storage_;
};

class LevelDbHarness {
 public:
  LevelDbHarness() { Open(); }
  Storage* storage() { return storage_.get(); }
  void Reopen() {
    storage_.reset();
    Open();
  }

 private:
  void Open() {
    absl::StatusOr<std::unique_ptr<Storage>> opened =
        OpenLevelDbStorage(dir_.Sub("state"));
    REQUIRE(opened.status() == absl::OkStatus());
    storage_ = std::move(opened).value();
  }

  TempDir dir_;
  std::unique_ptr<Storage> storage_;
};

// Everything an iterator yields from SeekToFirst to the end.
KeyValues ScanAll(StorageIterator& it) {
  KeyValues out;
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    out.emplace_back(std::string(it.key()), std::string(it.value()));
  }
  REQUIRE(it.status() == absl::OkStatus());
  return out;
}

KeyValues ScanAll(Storage& storage, const ReadOptions& options = {}) {
  auto it = storage.NewIterator(options);
  REQUIRE(it.status() == absl::OkStatus());
  return ScanAll(**it);
}

// The entries whose key starts with `prefix`, in order.
KeyValues ScanPrefix(Storage& storage, std::string_view prefix) {
  auto it = storage.NewIterator();
  REQUIRE(it.status() == absl::OkStatus());
  KeyValues out;
  for ((*it)->Seek(prefix);
       (*it)->Valid() && (*it)->key().substr(0, prefix.size()) == prefix;
       (*it)->Next()) {
    out.emplace_back(std::string((*it)->key()), std::string((*it)->value()));
  }
  REQUIRE((*it)->status() == absl::OkStatus());
  return out;
}

std::string GetOrStatus(Storage& storage, std::string_view key,
                        const ReadOptions& options = {}) {
  absl::StatusOr<std::string> value = storage.Get(key, options);
  return value.ok() ? *value : value.status().ToString();
}

absl::StatusCode GetCode(Storage& storage, std::string_view key,
                         const ReadOptions& options = {}) {
  return storage.Get(key, options).status().code();
}

TEMPLATE_TEST_CASE("Storage contract: Get of a missing key is NotFound",
                   "[storage]", MemoryHarness, LevelDbHarness) {
  TestType h;
  Storage& s = *h.storage();
  CHECK(GetCode(s, "nothing") == absl::StatusCode::kNotFound);
  CHECK(GetCode(s, "") == absl::StatusCode::kNotFound);
  REQUIRE_OK(s.Put("key", "value", kNoSync));
  CHECK(GetCode(s, "ke") == absl::StatusCode::kNotFound);
  CHECK(GetCode(s, "key2") == absl::StatusCode::kNotFound);
  absl::Status missing = s.Get(std::string("k\0\xff", 3)).status();
  CHECK(missing.code() == absl::StatusCode::kNotFound);
  // The message names the key, escaped so that it stays printable.
  CHECK_THAT(std::string(missing.message()), Catch::Contains("k\\x00\\xff"));
}

TEMPLATE_TEST_CASE(
    "Storage contract: GetIfPresent answers a missing key with nullopt, "
    "and a present one, a snapshot's view and a failed read as Get does",
    "[storage]", MemoryHarness, LevelDbHarness) {
  TestType h;
  Storage& s = *h.storage();
  auto present = [&](std::string_view key, const ReadOptions& options = {}) {
    absl::StatusOr<std::optional<std::string>> value =
        s.GetIfPresent(key, options);
    REQUIRE_OK(value.status());
    return *value;
  };
  CHECK(present("nothing") == std::nullopt);
  REQUIRE_OK(s.Put("key", "value", kNoSync));
  REQUIRE_OK(s.Put("empty", "", kNoSync));
  CHECK(present("key") == "value");
  CHECK(present("empty") == "");  // an empty value is a value
  CHECK(present("ke") == std::nullopt);
  auto snapshot = s.GetSnapshot();
  REQUIRE_OK(snapshot.status());
  REQUIRE_OK(s.Delete("key", kSync));
  REQUIRE_OK(s.Put("later", "1", kNoSync));
  CHECK(present("key") == std::nullopt);
  const ReadOptions as_of{.snapshot = snapshot->get()};
  CHECK(present("key", as_of) == "value");
  CHECK(present("later", as_of) == std::nullopt);
  CHECK(present("later") == "1");

  // A Storage that does not override it answers through its Get, errors
  // included.
  FaultInjectingStorage faulty(&s);
  CHECK(faulty.GetIfPresent("later").value() == "1");
  CHECK(faulty.GetIfPresent("gone").value() == std::nullopt);
  faulty.FailNextReads(1, absl::UnavailableError("disk away"));
  const absl::Status failed = faulty.GetIfPresent("later").status();
  CHECK(absl::IsUnavailable(failed));
  CHECK(faulty.counts().gets == 3);
}

TEMPLATE_TEST_CASE("Storage contract: put get overwrite and delete",
                   "[storage]", MemoryHarness, LevelDbHarness) {
  TestType h;
  Storage& s = *h.storage();
  REQUIRE_OK(s.Put("a", "1", kNoSync));
  CHECK(GetOrStatus(s, "a") == "1");
  REQUIRE_OK(s.Put("a", "22", kSync));
  CHECK(GetOrStatus(s, "a") == "22");
  REQUIRE_OK(s.Put("empty", "", kNoSync));
  CHECK(GetOrStatus(s, "empty").empty());
  const std::string binary("\0\x01\xff\0", 4);
  REQUIRE_OK(s.Put(binary, binary, kNoSync));
  CHECK(GetOrStatus(s, binary) == binary);
  REQUIRE_OK(s.Delete("a", kNoSync));
  CHECK(GetCode(s, "a") == absl::StatusCode::kNotFound);
  // Deleting what is not there is fine and changes nothing.
  REQUIRE_OK(s.Delete("never", kSync));
  CHECK(ScanAll(s) == KeyValues{{binary, binary}, {"empty", ""}});
}

TEMPLATE_TEST_CASE(
    "Storage contract: Put and Delete conveniences are one-operation writes",
    "[storage]", MemoryHarness, LevelDbHarness) {
  TestType h;
  FaultInjectingStorage counted(h.storage());
  REQUIRE_OK(counted.Put("k", "v", kSync));
  REQUIRE_OK(counted.Delete("k", kNoSync));
  REQUIRE_OK(counted.Put("k", "w", kNoSync));
  const FaultInjectingStorage::Counts counts = counted.counts();
  CHECK(counts.writes == 3);
  CHECK(counts.syncs == 1);
  CHECK(counts.ops_written == 3);
  CHECK(GetOrStatus(*h.storage(), "k") == "w");
}

TEMPLATE_TEST_CASE(
    "Storage contract: within a batch the later operation on a key wins",
    "[storage]", MemoryHarness, LevelDbHarness) {
  TestType h;
  Storage& s = *h.storage();
  REQUIRE_OK(s.Put("c", "old", kNoSync));
  WriteBatch batch;
  batch.Put("a", "1");
  batch.Put("a", "2");
  batch.Put("b", "1");
  batch.Delete("b");
  batch.Delete("c");
  batch.Put("c", "new");
  batch.Put("d", "1");
  batch.Delete("d");
  batch.Put("d", "3");
  CHECK(batch.Count() == 9);
  REQUIRE_OK(s.Write(batch, kSync));
  CHECK(ScanAll(s) == KeyValues{{"a", "2"}, {"c", "new"}, {"d", "3"}});
  h.Reopen();
  CHECK(ScanAll(*h.storage()) ==
        KeyValues{{"a", "2"}, {"c", "new"}, {"d", "3"}});
}

TEMPLATE_TEST_CASE(
    "Storage contract: an empty batch is a no-op and with sync makes earlier "
    "writes durable",
    "[storage]", MemoryHarness, LevelDbHarness) {
  TestType h;
  REQUIRE_OK(h.storage()->Write(WriteBatch(), kNoSync));
  CHECK(ScanAll(*h.storage()).empty());
  REQUIRE_OK(h.storage()->Put("a", "1", kNoSync));
  REQUIRE_OK(h.storage()->Put("b", "2", kNoSync));
  REQUIRE_OK(h.storage()->Write(WriteBatch(), kSync));
  h.Reopen();
  CHECK(ScanAll(*h.storage()) == KeyValues{{"a", "1"}, {"b", "2"}});
}

TEMPLATE_TEST_CASE("Storage contract: a refused batch leaves nothing visible",
                   "[storage]", MemoryHarness, LevelDbHarness) {
  TestType h;
  REQUIRE_OK(h.storage()->Put("q/keep", "before", kSync));
  FaultInjectingStorage faulty(h.storage());
  faulty.FailWritesWithKeyPrefix("q/bad");
  WriteBatch batch;
  batch.Put("q/1", "one");
  batch.Delete("q/keep");
  batch.Put("q/bad", "poison");
  batch.Put("q/2", "two");
  const absl::Status status = faulty.Write(batch, kSync);
  CHECK(status.code() == absl::StatusCode::kUnavailable);
  CHECK(ScanAll(faulty) == KeyValues{{"q/keep", "before"}});
  h.Reopen();
  CHECK(ScanAll(*h.storage()) == KeyValues{{"q/keep", "before"}});
}

TEMPLATE_TEST_CASE("Storage contract: iteration order is bytewise", "[storage]",
                   MemoryHarness, LevelDbHarness) {
  TestType h;
  Storage& s = *h.storage();
  // Signed-char comparison, NUL-terminated comparison or a locale would each
  // order some of these differently.
  std::vector<std::string> keys = {
      "b",     std::string("a\0", 2),
      "a",     std::string("a\0b", 3),
      "a\x01", "ab",
      "\x7f",  "\x80",
      "\xff",  "\xff\xff",
      "",      "A",
      "a/",    "a/1",
      "a0",
  };
  WriteBatch batch;
  for (size_t i = 0; i < keys.size(); ++i) {
    // One empty value among them: present, not missing.
    batch.Put(keys[i], i == 3 ? "" : "v" + std::to_string(i));
  }
  REQUIRE_OK(s.Write(batch, kNoSync));

  std::vector<std::string> expected = keys;
  std::sort(expected.begin(), expected.end(),
            [](const std::string& x, const std::string& y) {
              return std::lexicographical_compare(
                  x.begin(), x.end(), y.begin(), y.end(), [](char p, char q) {
                    return static_cast<unsigned char>(p) <
                           static_cast<unsigned char>(q);
                  });
            });
  CHECK(expected.front().empty());
  CHECK(expected.back() == "\xff\xff");

  std::vector<std::string> forward;
  for (const auto& [key, value] : ScanAll(s)) forward.push_back(key);
  CHECK(forward == expected);

  auto it = s.NewIterator();
  REQUIRE_OK(it.status());
  std::vector<std::string> backward;
  for ((*it)->SeekToLast(); (*it)->Valid(); (*it)->Prev()) {
    backward.emplace_back((*it)->key());
  }
  std::reverse(backward.begin(), backward.end());
  CHECK(backward == expected);
  CHECK(GetOrStatus(s, std::string("a\0b", 3)).empty());
}

TEMPLATE_TEST_CASE("Storage contract: Seek SeekToFirst SeekToLast Next Prev",
                   "[storage]", MemoryHarness, LevelDbHarness) {
  TestType h;
  Storage& s = *h.storage();
  {
    auto empty = s.NewIterator();
    REQUIRE_OK(empty.status());
    StorageIterator& it = **empty;
    CHECK_FALSE(it.Valid());
    it.SeekToFirst();
    CHECK_FALSE(it.Valid());
    it.SeekToLast();
    CHECK_FALSE(it.Valid());
    it.Seek("");
    CHECK_FALSE(it.Valid());
    CHECK_OK(it.status());
  }
  WriteBatch batch;
  batch.Put("b", "B");
  batch.Put("d", "D");
  batch.Put("f", "F");
  REQUIRE_OK(s.Write(batch, kNoSync));
  auto made = s.NewIterator();
  REQUIRE_OK(made.status());
  StorageIterator& it = **made;
  CHECK_FALSE(it.Valid());

  it.Seek("a");
  REQUIRE(it.Valid());
  CHECK(it.key() == "b");
  CHECK(it.value() == "B");
  it.Seek("b");
  REQUIRE(it.Valid());
  CHECK(it.key() == "b");
  it.Seek("c");
  REQUIRE(it.Valid());
  CHECK(it.key() == "d");
  it.Seek(std::string("d\0", 2));
  REQUIRE(it.Valid());
  CHECK(it.key() == "f");
  it.Seek("g");
  CHECK_FALSE(it.Valid());

  it.SeekToLast();
  REQUIRE(it.Valid());
  CHECK(it.key() == "f");
  it.Prev();
  REQUIRE(it.Valid());
  CHECK(it.key() == "d");
  it.Next();
  REQUIRE(it.Valid());
  CHECK(it.key() == "f");
  it.Next();
  CHECK_FALSE(it.Valid());

  it.SeekToFirst();
  REQUIRE(it.Valid());
  CHECK(it.key() == "b");
  it.Prev();
  CHECK_FALSE(it.Valid());
  // An iterator that ran off either end can be positioned again.
  it.Seek("d");
  REQUIRE(it.Valid());
  CHECK(it.value() == "D");
  it.Prev();
  REQUIRE(it.Valid());
  CHECK(it.key() == "b");
  CHECK_OK(it.status());
}

TEMPLATE_TEST_CASE("Storage contract: prefix scans stop at the prefix end",
                   "[storage]", MemoryHarness, LevelDbHarness) {
  TestType h;
  Storage& s = *h.storage();
  WriteBatch batch;
  for (const char* key :
       {"p/x", "q/1/a", "q/1/b", "q/1", "q/10/a", "q/2/a", "q/", "r", "q0"}) {
    batch.Put(key, std::string(key) + "!");
  }
  REQUIRE_OK(s.Write(batch, kNoSync));
  CHECK(ScanPrefix(s, "q/1/") ==
        KeyValues{{"q/1/a", "q/1/a!"}, {"q/1/b", "q/1/b!"}});
  CHECK(ScanPrefix(s, "q/1").size() == 4);  // q/1 q/1/a q/1/b q/10/a
  CHECK(ScanPrefix(s, "q/").size() == 6);
  CHECK(ScanPrefix(s, "q/3/").empty());
  CHECK(ScanPrefix(s, "z").empty());
  CHECK(ScanPrefix(s, "").size() == 9);
}

TEMPLATE_TEST_CASE("Storage contract: a snapshot hides later writes",
                   "[storage]", MemoryHarness, LevelDbHarness) {
  TestType h;
  Storage& s = *h.storage();
  REQUIRE_OK(s.Put("a", "1", kNoSync));
  REQUIRE_OK(s.Put("c", "3", kNoSync));
  auto snapshot = s.GetSnapshot();
  REQUIRE_OK(snapshot.status());
  const ReadOptions as_of{.snapshot = snapshot->get()};
  auto before = s.NewIterator();  // no snapshot: fixed at creation anyway
  REQUIRE_OK(before.status());

  WriteBatch later;
  later.Put("a", "changed");
  later.Put("b", "2");
  later.Delete("c");
  REQUIRE_OK(s.Write(later, kSync));

  CHECK(GetOrStatus(s, "a", as_of) == "1");
  CHECK(GetCode(s, "b", as_of) == absl::StatusCode::kNotFound);
  CHECK(GetOrStatus(s, "c", as_of) == "3");
  CHECK(ScanAll(s, as_of) == KeyValues{{"a", "1"}, {"c", "3"}});
  CHECK(ScanAll(**before) == KeyValues{{"a", "1"}, {"c", "3"}});
  CHECK(ScanAll(s) == KeyValues{{"a", "changed"}, {"b", "2"}});

  // An iterator made from the snapshot keeps its view after the snapshot is
  // released and after still more writes.
  auto through_snapshot = s.NewIterator(as_of);
  REQUIRE_OK(through_snapshot.status());
  snapshot->reset();
  REQUIRE_OK(s.Put("a", "again", kNoSync));
  REQUIRE_OK(s.Delete("b", kNoSync));
  CHECK(ScanAll(**through_snapshot) == KeyValues{{"a", "1"}, {"c", "3"}});
  CHECK(ScanAll(s) == KeyValues{{"a", "again"}});
}

TEMPLATE_TEST_CASE(
    "Storage contract: a snapshot from another storage is InvalidArgument",
    "[storage]", MemoryHarness, LevelDbHarness) {
  TestType h;
  TestType other;
  REQUIRE_OK(h.storage()->Put("k", "v", kNoSync));
  auto foreign = other.storage()->GetSnapshot();
  REQUIRE_OK(foreign.status());
  const ReadOptions wrong{.snapshot = foreign->get()};
  CHECK(GetCode(*h.storage(), "k", wrong) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(h.storage()->NewIterator(wrong).status().code() ==
        absl::StatusCode::kInvalidArgument);

  // A snapshot of the other implementation is just as foreign.
  std::unique_ptr<MemoryStorage> memory = NewMemoryStorage();
  auto memory_snapshot = memory->GetSnapshot();
  REQUIRE_OK(memory_snapshot.status());
  LevelDbHarness leveldb;
  auto leveldb_snapshot = leveldb.storage()->GetSnapshot();
  REQUIRE_OK(leveldb_snapshot.status());
  for (const Snapshot* snapshot :
       {memory_snapshot->get(), leveldb_snapshot->get()}) {
    CHECK(GetCode(*h.storage(), "k", ReadOptions{.snapshot = snapshot}) ==
          absl::StatusCode::kInvalidArgument);
  }
  // A snapshot passed through a wrapper still belongs to its storage.
  FaultInjectingStorage wrapper(h.storage());
  auto own = wrapper.GetSnapshot();
  REQUIRE_OK(own.status());
  CHECK(GetOrStatus(*h.storage(), "k", ReadOptions{.snapshot = own->get()}) ==
        "v");
}

TEMPLATE_TEST_CASE("Storage contract: a reopen keeps synced writes",
                   "[storage]", MemoryHarness, LevelDbHarness) {
  TestType h;
  REQUIRE_OK(h.storage()->Put("a", "1", kSync));
  WriteBatch batch;
  batch.Put("b", "2");
  batch.Put("c", "3");
  batch.Delete("a");
  REQUIRE_OK(h.storage()->Write(batch, kSync));
  REQUIRE_OK(h.storage()->Put("d", std::string(100000, 'x'), kSync));
  h.Reopen();
  Storage& s = *h.storage();
  CHECK(GetCode(s, "a") == absl::StatusCode::kNotFound);
  CHECK(GetOrStatus(s, "b") == "2");
  CHECK(GetOrStatus(s, "c") == "3");
  CHECK(GetOrStatus(s, "d") == std::string(100000, 'x'));
  // The reopened storage takes writes as before.
  REQUIRE_OK(s.Put("e", "5", kSync));
  h.Reopen();
  CHECK(ScanAll(*h.storage()).size() == 4);
}

TEMPLATE_TEST_CASE("Storage contract: ten thousand keys come back in order",
                   "[storage]", MemoryHarness, LevelDbHarness) {
  TestType h;
  constexpr int kKeys = 10000;
  std::vector<int> order(kKeys);
  for (int i = 0; i < kKeys; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(20260101));
  const auto key = [](int i) { return fmt::format("q/conn/{:08d}", i); };
  WriteBatch batch;
  for (int i : order) {
    batch.Put(key(i), fmt::format("value {}", i));
    if (batch.Count() == 100) {
      REQUIRE_OK(h.storage()->Write(batch, kNoSync));
      batch.Clear();
    }
  }
  REQUIRE_OK(h.storage()->Write(batch, kSync));
  h.Reopen();
  const KeyValues all = ScanAll(*h.storage());
  REQUIRE(all.size() == kKeys);
  for (int i = 0; i < kKeys; ++i) {
    if (all[i].first != key(i) || all[i].second != fmt::format("value {}", i)) {
      FAIL("entry " << i << " is " << all[i].first << " = " << all[i].second);
    }
  }
  CHECK(GetOrStatus(*h.storage(), key(4321)) == "value 4321");
}

TEMPLATE_TEST_CASE("Storage contract: writes from four threads all land",
                   "[storage][threads]", MemoryHarness, LevelDbHarness) {
  TestType h;
  Storage& s = *h.storage();
  constexpr int kThreads = 4;
  constexpr int kWritesPerThread = 250;
  std::vector<absl::Status> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&s, &failures, t] {
      for (int i = 0; i < kWritesPerThread; ++i) {
        // Alternate single puts and two-key batches, some synced.
        absl::Status status;
        if (i % 2 == 0) {
          status = s.Put(fmt::format("t{}/{:04d}", t, i), "x",
                         WriteOptions{.sync = i % 50 == 0});
        } else {
          WriteBatch batch;
          batch.Put(fmt::format("t{}/{:04d}", t, i), "y");
          batch.Put(fmt::format("u{}/{:04d}", t, i), "z");
          status = s.Write(batch, kNoSync);
        }
        if (!status.ok()) {
          failures[t] = status;
          return;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& failure : failures) CHECK_OK(failure);
  // Every thread's keys: all of t<n>/, and u<n>/ for the odd writes.
  CHECK(ScanAll(s).size() ==
        kThreads * (kWritesPerThread + kWritesPerThread / 2));
  for (int t = 0; t < kThreads; ++t) {
    CHECK(ScanPrefix(s, fmt::format("t{}/", t)).size() == kWritesPerThread);
  }
}

}  // namespace
}  // namespace orgsync::storage_contract_test
