// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// FaultInjectingStorage (tests/testing/fault_storage.h). Later tests use it to
// prove "changes nothing on error" and "durable before acknowledged", so its
// own promises are checked here: a refused write never reaches the target,
// faults fire exactly as configured, and counts are exact under threads.

#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "fmt/core.h"
#include "orgsync/storage.h"
#include "testing/fault_storage.h"

namespace orgsync::storage_fault_injection_test {
namespace {

using ::orgsync::testing::FaultInjectingStorage;

#define CHECK_OK(expr) CHECK((expr) == ::absl::OkStatus())
#define REQUIRE_OK(expr) REQUIRE((expr) == ::absl::OkStatus())

constexpr WriteOptions kSync{.sync = true};
constexpr WriteOptions kNoSync{.sync = false};

TEST_CASE("Fault storage: without faults every call reaches the target",
          "[storage]") {
  std::unique_ptr<MemoryStorage> target = NewMemoryStorage();
  FaultInjectingStorage faulty(target.get());
  CHECK(faulty.target() == target.get());
  REQUIRE_OK(faulty.Put("a", "1", kSync));
  CHECK(faulty.Get("a").value_or("") == "1");
  CHECK(target->Get("a").value_or("") == "1");
  auto snapshot = faulty.GetSnapshot();
  REQUIRE_OK(snapshot.status());
  REQUIRE_OK(faulty.Put("a", "2", kNoSync));
  CHECK(
      faulty.Get("a", ReadOptions{.snapshot = snapshot->get()}).value_or("") ==
      "1");
  auto it = faulty.NewIterator();
  REQUIRE_OK(it.status());
  (*it)->SeekToFirst();
  REQUIRE((*it)->Valid());
  CHECK((*it)->value() == "2");
}

TEST_CASE("Fault storage: FailNextWrites refuses exactly the next n writes",
          "[storage]") {
  std::unique_ptr<MemoryStorage> target = NewMemoryStorage();
  FaultInjectingStorage faulty(target.get());
  faulty.FailNextWrites(2, absl::ResourceExhaustedError("disk full"));
  const absl::Status first = faulty.Put("a", "1", kSync);
  CHECK(first.code() == absl::StatusCode::kResourceExhausted);
  CHECK(first.message() == "disk full");
  CHECK(faulty.Delete("b", kNoSync).code() ==
        absl::StatusCode::kResourceExhausted);
  CHECK(target->KeyCount() == 0);
  CHECK(target->UnsyncedBatchCount() == 0);
  CHECK_OK(faulty.Put("a", "3", kNoSync));
  CHECK(target->Get("a").value_or("") == "3");

  // The default error is Unavailable and names the injection.
  faulty.FailNextWrites(1);
  const absl::Status injected = faulty.Put("a", "4", kNoSync);
  CHECK(injected.code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(injected.message()), Catch::Contains("injected"));
  CHECK(target->Get("a").value_or("") == "3");
}

TEST_CASE("Fault storage: a key prefix fault refuses every batch touching it",
          "[storage]") {
  std::unique_ptr<MemoryStorage> target = NewMemoryStorage();
  FaultInjectingStorage faulty(target.get());
  REQUIRE_OK(faulty.Put("q/conn/1", "kept", kSync));
  faulty.FailWritesWithKeyPrefix("q/conn/");
  faulty.FailWritesWithKeyPrefix("l/", absl::InternalError("log is broken"));

  CHECK(faulty.Put("q/conn/2", "x", kNoSync).code() ==
        absl::StatusCode::kUnavailable);
  CHECK(faulty.Delete("q/conn/1", kNoSync).code() ==
        absl::StatusCode::kUnavailable);
  WriteBatch mixed;
  mixed.Put("p/ok", "x");
  mixed.Put("l/1", "x");
  CHECK(faulty.Write(mixed, kSync).code() == absl::StatusCode::kInternal);
  CHECK(target->KeyCount() == 1);
  // Keys that merely resemble the prefix pass.
  CHECK_OK(faulty.Put("q/conn", "x", kNoSync));
  CHECK_OK(faulty.Put("q/connx/1", "x", kNoSync));
  CHECK_OK(faulty.Put("ll", "x", kNoSync));
  CHECK(target->KeyCount() == 4);
  // The fault stays until cleared.
  CHECK_FALSE(faulty.Put("q/conn/3", "x", kNoSync).ok());
  faulty.ClearFaults();
  CHECK_OK(faulty.Put("q/conn/3", "x", kNoSync));
  CHECK_OK(faulty.Write(mixed, kSync));
  CHECK(target->KeyCount() == 7);
}

TEST_CASE("Fault storage: FailSyncs fails only synced writes", "[storage]") {
  std::unique_ptr<MemoryStorage> target = NewMemoryStorage();
  FaultInjectingStorage faulty(target.get());

  SECTION("refusing the batch whole") {
    faulty.FailSyncs();
    CHECK_OK(faulty.Put("unsynced", "1", kNoSync));
    CHECK(faulty.Put("synced", "2", kSync).code() ==
          absl::StatusCode::kUnavailable);
    CHECK(target->Get("synced").status().code() == absl::StatusCode::kNotFound);
    // The failed sync did not make the earlier write durable either.
    target->SimulateCrash();
    CHECK(target->KeyCount() == 0);
  }
  SECTION("applying the batch without making it durable") {
    faulty.FailSyncs(absl::DataLossError("fsync failed"),
                     FaultInjectingStorage::SyncFailure::kAppliedNotDurable);
    CHECK(faulty.Put("synced", "2", kSync).code() ==
          absl::StatusCode::kDataLoss);
    CHECK(target->Get("synced").value_or("") == "2");
    CHECK(target->UnsyncedBatchCount() == 1);
    target->SimulateCrash();
    CHECK(target->KeyCount() == 0);
  }
  faulty.ClearFaults();
  CHECK_OK(faulty.Put("synced", "3", kSync));
  target->SimulateCrash();
  CHECK(target->Get("synced").value_or("") == "3");
}

TEST_CASE("Fault storage: the write hook sees each batch and decides first",
          "[storage]") {
  std::unique_ptr<MemoryStorage> target = NewMemoryStorage();
  FaultInjectingStorage faulty(target.get());
  std::vector<std::string> seen;
  faulty.SetWriteHook([&seen](const WriteBatch& batch,
                              const WriteOptions& options) {
    seen.push_back(fmt::format("{} ops sync={}", batch.Count(), options.sync));
    if (batch.Count() > 2) return absl::OutOfRangeError("batch too large");
    return absl::OkStatus();
  });
  faulty.FailNextWrites(1, absl::AbortedError("next"));

  WriteBatch big;
  for (int i = 0; i < 3; ++i) big.Put(std::to_string(i), "x");
  // The hook refuses first, so FailNextWrites is not used up.
  CHECK(faulty.Write(big, kSync).code() == absl::StatusCode::kOutOfRange);
  CHECK(faulty.Put("a", "1", kNoSync).code() == absl::StatusCode::kAborted);
  CHECK_OK(faulty.Put("a", "1", kNoSync));
  CHECK(seen == std::vector<std::string>{"3 ops sync=true", "1 ops sync=false",
                                         "1 ops sync=false"});
  CHECK(target->KeyCount() == 1);

  // A hook may reconfigure the wrapper it runs in.
  faulty.SetWriteHook([&faulty](const WriteBatch&, const WriteOptions&) {
    faulty.SetWriteHook(nullptr);
    return absl::UnavailableError("once");
  });
  CHECK_FALSE(faulty.Put("b", "1", kNoSync).ok());
  CHECK_OK(faulty.Put("b", "1", kNoSync));
}

TEST_CASE("Fault storage: read faults fail Get NewIterator and GetSnapshot",
          "[storage]") {
  std::unique_ptr<MemoryStorage> target = NewMemoryStorage();
  FaultInjectingStorage faulty(target.get());
  REQUIRE_OK(faulty.Put("secret", "1", kNoSync));
  REQUIRE_OK(faulty.Put("public", "2", kNoSync));

  faulty.FailNextReads(3, absl::DataLossError("bad block"));
  CHECK(faulty.Get("public").status().code() == absl::StatusCode::kDataLoss);
  CHECK(faulty.NewIterator().status().code() == absl::StatusCode::kDataLoss);
  CHECK(faulty.GetSnapshot().status().code() == absl::StatusCode::kDataLoss);
  CHECK(faulty.Get("public").ok());

  faulty.SetReadHook(
      [](FaultInjectingStorage::ReadKind kind, std::string_view key) {
        if (kind == FaultInjectingStorage::ReadKind::kGet && key == "secret") {
          return absl::PermissionDeniedError("no");
        }
        return absl::OkStatus();
      });
  CHECK(faulty.Get("secret").status().code() ==
        absl::StatusCode::kPermissionDenied);
  CHECK(faulty.Get("public").ok());
  CHECK(faulty.NewIterator().ok());
  // Writes are not reads.
  CHECK_OK(faulty.Put("secret", "3", kNoSync));
}

TEST_CASE("Fault storage: counts every call", "[storage]") {
  std::unique_ptr<MemoryStorage> target = NewMemoryStorage();
  FaultInjectingStorage faulty(target.get());
  WriteBatch two;
  two.Put("a", "1");
  two.Put("b", "2");
  REQUIRE_OK(faulty.Write(two, kSync));
  REQUIRE_OK(faulty.Put("c", "3", kNoSync));
  faulty.FailNextWrites(1);
  CHECK_FALSE(faulty.Write(two, kSync).ok());
  faulty.FailSyncs();
  CHECK_FALSE(faulty.Put("d", "4", kSync).ok());
  faulty.ClearFaults();
  CHECK(faulty.Get("a").ok());
  CHECK(faulty.Get("missing").status().code() == absl::StatusCode::kNotFound);
  CHECK(faulty.NewIterator().ok());
  CHECK(faulty.GetSnapshot().ok());
  faulty.FailNextReads(1);
  CHECK_FALSE(faulty.Get("a").ok());

  FaultInjectingStorage::Counts counts = faulty.counts();
  CHECK(counts.writes == 4);
  CHECK(counts.failed_writes == 2);
  CHECK(counts.syncs == 3);
  CHECK(counts.failed_syncs == 2);
  CHECK(counts.ops_written == 3);
  CHECK(counts.gets == 3);
  CHECK(counts.iterators == 1);
  CHECK(counts.reads() == 4);
  CHECK(counts.snapshots == 1);
  CHECK(counts.failed_reads == 1);  // NotFound is an answer, not a failure

  faulty.ResetCounts();
  counts = faulty.counts();
  CHECK(counts.writes == 0);
  CHECK(counts.reads() == 0);
}

TEST_CASE("Fault storage: faults and counts are exact under concurrent writers",
          "[storage][threads]") {
  std::unique_ptr<MemoryStorage> target = NewMemoryStorage();
  FaultInjectingStorage faulty(target.get());
  constexpr int kThreads = 4;
  constexpr int kWritesPerThread = 300;
  constexpr int kInjected = 100;
  faulty.FailNextWrites(kInjected);
  std::atomic<int> succeeded{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWritesPerThread; ++i) {
        const absl::Status status =
            faulty.Put(fmt::format("{}/{}", t, i), "x", kNoSync);
        (status.ok() ? succeeded : failed).fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(failed.load() == kInjected);
  CHECK(succeeded.load() == kThreads * kWritesPerThread - kInjected);
  CHECK(target->KeyCount() == static_cast<size_t>(succeeded.load()));
  const FaultInjectingStorage::Counts counts = faulty.counts();
  CHECK(counts.writes == kThreads * kWritesPerThread);
  CHECK(counts.failed_writes == kInjected);
  CHECK(counts.ops_written == succeeded.load());
}

}  // namespace
}  // namespace orgsync::storage_fault_injection_test
