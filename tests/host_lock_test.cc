// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// DESIGN.md rule 9, the host's lock is the host's: a host that writes its
// store and captures the write while holding its own store lock must not
// deadlock against orgsync applying the partner's changes into the same
// store on another thread. Before the fix, message handling held the
// connection's mutex while it called the store (which waits for the host's
// lock), and Capture waited for that mutex while the host held its lock.

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/time/time.h"
#include "orgsync/capture.h"
#include "orgsync/connection.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "testing/connection_fixture.h"
#include "testing/record_sync_pair.h"
#include "testing/storage_testing.h"

namespace orgsync::host_lock_test {
namespace {

using testing::RequireOk;

// The host's lock, taken in arrival order. The host threads below write
// flat out; with an unfair mutex they can keep the engine from ever getting
// it on a 2-core machine -- starvation, not the deadlock this test is
// about.
class FifoLock {
 public:
  void lock() {
    std::unique_lock<std::mutex> guard(mu_);
    const uint64_t ticket = next_++;
    turn_.wait(guard, [&] { return serving_ == ticket; });
  }
  void unlock() {
    {
      std::lock_guard<std::mutex> guard(mu_);
      ++serving_;
    }
    turn_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable turn_;
  uint64_t next_ = 0;
  uint64_t serving_ = 0;
};

// A host store guarded by the host's own mutex: every call orgsync makes
// waits for it, as it would behind a host's transaction.
class HostLockedStore final : public ForwardingRecordStore {
 public:
  using ForwardingRecordStore::ForwardingRecordStore;

  absl::StatusOr<Record> Get(std::string_view object,
                             std::string_view id) override {
    std::lock_guard<FifoLock> lock(mu);
    return ForwardingRecordStore::Get(object, id);
  }
  absl::StatusOr<Record> Insert(Record record,
                                const ApplyContext& context) override {
    std::lock_guard<FifoLock> lock(mu);
    absl::StatusOr<Record> inserted =
        ForwardingRecordStore::Insert(std::move(record), context);
    if (inserted.ok() && context.from_replication) ++replicated_inserts;
    return inserted;
  }
  absl::StatusOr<Record> Update(std::string_view object, std::string_view id,
                                const FieldMap& changes,
                                const ApplyContext& context) override {
    std::lock_guard<FifoLock> lock(mu);
    return ForwardingRecordStore::Update(object, id, changes, context);
  }
  absl::StatusOr<std::string> ReserveId(std::string_view object) override {
    std::lock_guard<FifoLock> lock(mu);
    return ForwardingRecordStore::ReserveId(object);
  }

  // The host's lock. The host writes through target() while holding it.
  FifoLock mu;
  std::atomic<int> replicated_inserts{0};
};

TEST_CASE(
    "Design rule 9: a host capturing inside its own store lock does not "
    "deadlock with the partner's changes being applied into that store",
    "[records][threads]") {
  Schema primary_schema;
  Schema secondary_schema;
  testing::FillCrmSchema(&primary_schema);
  testing::FillCrmSchema(&secondary_schema);
  testing::ForwardingClock store_clock;
  std::unique_ptr<RecordStore> primary_store =
      testing::NewCrmRecordStore(&primary_schema, &store_clock, "P-");
  std::unique_ptr<RecordStore> secondary_inner =
      testing::NewCrmRecordStore(&secondary_schema, &store_clock, "S-");
  HostLockedStore secondary_store(secondary_inner.get());

  testing::TwoOrgsConfig config;
  config.primary_schema = &primary_schema;
  config.secondary_schema = &secondary_schema;
  config.primary_record_store = primary_store.get();
  config.secondary_record_store = &secondary_store;
  testing::TwoOrgs t(3, testing::NewReopenableMemoryStorage(),
                     testing::NewReopenableMemoryStorage(), std::move(config));
  store_clock.target = &t.clock;
  InvitationOptions options = testing::DefaultInvitation();
  options.sync = {};
  Connection* p = nullptr;
  Connection* s = nullptr;
  std::tie(p, s) = t.Connect(options);
  // Two-way Account: both sides capture, both apply.
  for (auto [from, to] : {std::pair{p, s}, std::pair{s, p}}) {
    RequireOk(from->publish_set()->PublishObjects({"Account"}));
    REQUIRE(t.Settle());
    RequireOk(to->subscription_map()->Subscribe("Account"));
    REQUIRE(t.Settle());
  }

  // A backlog on the primary for the secondary to apply.
  constexpr int kPrimaryInserts = 300;
  std::vector<LocalChange> backlog;
  for (int i = 0; i < kPrimaryInserts; ++i) {
    Record account;
    account.object = "Account";
    account.fields = {{"Name", "primary " + std::to_string(i)}};
    absl::StatusOr<Record> inserted =
        primary_store->Insert(std::move(account), ApplyContext{});
    RequireOk(inserted.status());
    LocalChange change;
    change.kind = ChangeKind::kInsert;
    change.record = *inserted;
    backlog.push_back(std::move(change));
  }
  RequireOk(p->CaptureBatch(backlog).status());

  // Host threads on the secondary: write and capture under the host lock,
  // until the whole backlog has been applied (so that they overlap with
  // the apply), at least kMinWritesPerThread times each.
  constexpr int kHostThreads = 4;
  constexpr int kMinWritesPerThread = 20;
  std::atomic<int> host_inserts{0};
  auto host_writes = [&](int thread) {
    for (int i = 0; i < kMinWritesPerThread ||
                    secondary_store.replicated_inserts < kPrimaryInserts;
         ++i) {
      std::lock_guard<FifoLock> lock(secondary_store.mu);
      Record account;
      account.object = "Account";
      account.fields = {{"Name", fmt::format("secondary {}-{}", thread, i)}};
      absl::StatusOr<Record> inserted =
          secondary_store.target()->Insert(std::move(account), ApplyContext{});
      if (!inserted.ok()) return inserted.status();
      LocalChange change;
      change.kind = ChangeKind::kInsert;
      change.record = *inserted;
      absl::StatusOr<CaptureResult> captured = s->Capture(change);
      if (!captured.ok()) return captured.status();
      ++host_inserts;
      // Outside the lock, leave the engine room to take it.
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    return absl::OkStatus();
  };
  std::atomic<bool> hosts_done{false};
  std::vector<std::future<absl::Status>> hosts;
  hosts.reserve(kHostThreads);
  for (int i = 0; i < kHostThreads; ++i) {
    hosts.push_back(std::async(std::launch::async, host_writes, i));
  }
  // The engine, meanwhile, on a thread of its own.
  std::future<void> engine = std::async(std::launch::async, [&] {
    while (!hosts_done.load()) t.Pump(absl::Milliseconds(100));
  });

  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(60);
  for (std::future<absl::Status>& host : hosts) {
    if (host.wait_until(deadline) != std::future_status::ready) {
      // Deadlocked: the threads can never be joined, so end the process
      // with the failure rather than hang the test run.
      std::fprintf(stderr,
                   "host_lock_test: host capture still blocked after 60 s: "
                   "deadlock between the host's lock and orgsync's\n");
      std::_Exit(1);
    }
  }
  hosts_done = true;
  engine.get();
  // Catch2's assertions are not thread-safe: check the hosts' results only
  // once the engine thread (which asserts in Pump) has ended.
  for (std::future<absl::Status>& host : hosts) RequireOk(host.get());

  REQUIRE(t.Settle());
  size_t primary_accounts = 0;
  size_t secondary_accounts = 0;
  RequireOk(primary_store->Scan("Account", absl::InfinitePast(),
                                [&](const Record&) {
                                  ++primary_accounts;
                                  return true;
                                }));
  RequireOk(secondary_inner->Scan("Account", absl::InfinitePast(),
                                  [&](const Record&) {
                                    ++secondary_accounts;
                                    return true;
                                  }));
  const size_t expected = kPrimaryInserts + host_inserts.load();
  CHECK(primary_accounts == expected);
  CHECK(secondary_accounts == expected);
}

// A host store that, once armed, holds the first call of `kind` inside
// host code until the test releases it, and tells the test it is there.
class GateStore final : public ForwardingRecordStore {
 public:
  enum class Gate { kNone, kReplicatedInsert, kGet };
  using ForwardingRecordStore::ForwardingRecordStore;

  absl::StatusOr<Record> Get(std::string_view object,
                             std::string_view id) override {
    Wait(Gate::kGet);
    return ForwardingRecordStore::Get(object, id);
  }
  absl::StatusOr<Record> Insert(Record record,
                                const ApplyContext& context) override {
    if (context.from_replication) Wait(Gate::kReplicatedInsert);
    return ForwardingRecordStore::Insert(std::move(record), context);
  }

  void Arm(Gate gate) { armed_ = gate; }
  std::promise<void> entered;
  std::promise<void> release;

 private:
  void Wait(Gate gate) {
    Gate expected = gate;
    if (!armed_.compare_exchange_strong(expected, Gate::kNone)) return;
    entered.set_value();
    // Bounded, so that a broken engine fails the test instead of hanging
    // it (the test ends the process first when the host's calls block).
    release.get_future().wait_for(std::chrono::seconds(60));
  }

  std::atomic<Gate> armed_{Gate::kNone};
};

TEST_CASE(
    "Design rule 9: while orgsync runs host code -- applying into the "
    "store, or reading a record to send -- the host's other calls on the "
    "connection do not wait for it",
    "[records][threads]") {
  const bool applying = GENERATE(true, false);
  CAPTURE(applying);
  Schema primary_schema;
  Schema secondary_schema;
  testing::FillCrmSchema(&primary_schema);
  testing::FillCrmSchema(&secondary_schema);
  testing::ForwardingClock store_clock;
  std::unique_ptr<RecordStore> primary_inner =
      testing::NewCrmRecordStore(&primary_schema, &store_clock, "P-");
  std::unique_ptr<RecordStore> secondary_inner =
      testing::NewCrmRecordStore(&secondary_schema, &store_clock, "S-");
  GateStore primary_store(primary_inner.get());
  GateStore secondary_store(secondary_inner.get());

  testing::TwoOrgsConfig config;
  config.primary_schema = &primary_schema;
  config.secondary_schema = &secondary_schema;
  config.primary_record_store = &primary_store;
  config.secondary_record_store = &secondary_store;
  testing::TwoOrgs t(5, testing::NewReopenableMemoryStorage(),
                     testing::NewReopenableMemoryStorage(), std::move(config));
  store_clock.target = &t.clock;
  InvitationOptions options = testing::DefaultInvitation();
  options.sync = {};
  Connection* p = nullptr;
  Connection* s = nullptr;
  std::tie(p, s) = t.Connect(options);
  RequireOk(p->publish_set()->PublishObjects({"Account"}));
  REQUIRE(t.Settle());
  RequireOk(s->subscription_map()->Subscribe("Account"));
  REQUIRE(t.Settle());

  Record account;
  account.object = "Account";
  account.fields = {{"Name", std::string("Acme")}};
  absl::StatusOr<Record> inserted =
      primary_inner->Insert(std::move(account), ApplyContext{});
  RequireOk(inserted.status());
  // Captured as an update of a record the partner has never had: sending
  // reads the record whole from the store (R55), and the partner inserts
  // it.
  LocalChange change;
  change.kind = ChangeKind::kUpdate;
  change.record = *inserted;
  change.changed_fields = {"Name"};
  RequireOk(p->Capture(change).status());

  // Applying: the secondary's handling of the insert waits in its store.
  // Sending: the primary's Step waits in its store reading the record.
  GateStore& gated = applying ? secondary_store : primary_store;
  Connection* const waiting = applying ? s : p;
  gated.Arm(applying ? GateStore::Gate::kReplicatedInsert
                     : GateStore::Gate::kGet);
  std::atomic<bool> stop{false};
  std::future<void> engine = std::async(std::launch::async, [&] {
    while (!stop.load()) t.Pump(absl::Milliseconds(100));
  });
  std::future<void> entered = gated.entered.get_future();
  const bool in_host_code =
      entered.wait_for(std::chrono::seconds(60)) == std::future_status::ready;

  // The host, on its own thread, while orgsync is inside its store.
  std::future<absl::Status> host = std::async(std::launch::async, [&] {
    if (waiting->status() == ConnectionStatus::kDeactivated) {
      return absl::InternalError("deactivated");
    }
    (void)waiting->Info();
    (void)waiting->counters();
    (void)waiting->partner_available();
    absl::StatusOr<std::vector<HistoryEntry>> history =
        waiting->History(HistoryQuery{});
    if (!history.ok()) return history.status();
    (void)waiting->record_queue()->Count();
    absl::Status suspended = waiting->Suspend("host");
    if (!suspended.ok()) return suspended;
    return waiting->Resume("host");
  });
  const bool host_done =
      in_host_code &&
      host.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  if (in_host_code && !host_done) {
    std::fprintf(stderr,
                 "host_lock_test: the host's status/Suspend calls are still "
                 "blocked after 20 s while orgsync runs host code: a "
                 "connection lock is held across the host's store\n");
    std::_Exit(1);
  }
  gated.release.set_value();
  stop = true;
  engine.get();
  REQUIRE(in_host_code);
  RequireOk(host.get());

  REQUIRE(t.Settle());
  absl::StatusOr<std::optional<std::string>> copy =
      p->PartnerRecordId("Account", inserted->id);
  RequireOk(copy.status());
  CHECK(copy->has_value());
}

}  // namespace
}  // namespace orgsync::host_lock_test
