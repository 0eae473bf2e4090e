// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Runner: the background thread that steps an Org (DESIGN.md rule 1). The
// tests never step the orgs while a runner runs; they wait (up to a
// generous limit, polling) for what the runner must bring about, and assert
// on counts, never on how long anything took.

#include "orgsync/runner.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"
#include "orgsync/verify.h"
#include "testing/connection_fixture.h"
#include "testing/record_sync_pair.h"
#include "testing/storage_testing.h"

namespace orgsync::runner_test {
namespace {

using testing::RequireOk;

// Polls `done` until it holds or 10 s passed (a limit only a hang reaches);
// returns whether it held.
bool WaitFor(const std::function<bool()>& done) {
  const absl::Time limit = absl::Now() + absl::Seconds(10);
  while (!done()) {
    if (absl::Now() > limit) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

// Two connected orgs with a RecordStore each; Account is published by the
// primary and subscribed by the secondary (set up by stepping by hand,
// before any runner starts).
struct Orgs {
  explicit Orgs(
      std::unique_ptr<testing::ReopenableStorage> primary_storage =
          testing::NewReopenableMemoryStorage(),
      std::function<void(const QueueSizeReport&)> primary_report = nullptr) {
    testing::FillCrmSchema(primary_schema.get());
    testing::FillCrmSchema(secondary_schema.get());
    testing::TwoOrgsConfig config;
    config.primary_schema = primary_schema.get();
    config.secondary_schema = secondary_schema.get();
    config.primary_record_store = primary_store.get();
    config.secondary_record_store = secondary_store.get();
    config.primary_queue_report = std::move(primary_report);
    t = std::make_unique<testing::TwoOrgs>(
        1, std::move(primary_storage), testing::NewReopenableMemoryStorage(),
        std::move(config));
    store_clock.target = &t->clock;
    InvitationOptions options = testing::DefaultInvitation();
    options.sync = {};
    std::tie(p, s) = t->Connect(options);
    RequireOk(p->publish_set()->PublishObjects({"Account"}));
    REQUIRE(t->Settle());
    RequireOk(s->subscription_map()->Subscribe("Account"));
    REQUIRE(t->Settle());
    REQUIRE(p->publish_set()->IsPartnerSubscribed("Account"));
  }

  // Inserts an Account in the primary's store and captures it, as a host
  // would.
  void InsertAccount(const std::string& name) {
    Record record;
    record.object = "Account";
    record.fields = {{"Name", FieldValue(name)}};
    absl::StatusOr<Record> inserted =
        primary_store->Insert(std::move(record), ApplyContext{});
    RequireOk(inserted.status());
    LocalChange change;
    change.kind = ChangeKind::kInsert;
    change.record = *inserted;
    absl::StatusOr<CaptureResult> captured = p->Capture(change);
    RequireOk(captured.status());
    REQUIRE(captured->captured);
  }

  // How many Accounts the secondary's store holds.
  size_t SecondaryAccounts() const {
    size_t count = 0;
    RequireOk(secondary_store->Scan("Account", absl::InfinitePast(),
                                    [&count](const Record&) {
                                      ++count;
                                      return true;
                                    }));
    return count;
  }

  std::unique_ptr<Schema> primary_schema = std::make_unique<Schema>();
  std::unique_ptr<Schema> secondary_schema = std::make_unique<Schema>();
  testing::ForwardingClock store_clock;
  std::unique_ptr<RecordStore> primary_store =
      testing::NewCrmRecordStore(primary_schema.get(), &store_clock, "P-");
  std::unique_ptr<RecordStore> secondary_store =
      testing::NewCrmRecordStore(secondary_schema.get(), &store_clock, "S-");
  std::unique_ptr<testing::TwoOrgs> t;
  Connection* p = nullptr;
  Connection* s = nullptr;
};

// An org with no connection: its Step() does nothing and never fails.
struct LoneOrg {
  LoneOrg() {
    absl::StatusOr<std::unique_ptr<Org>> opened =
        Org::Open({.org_id = "org-a"}, storage.get(), &clock);
    RequireOk(opened.status());
    org = std::move(*opened);
  }
  std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
  ManualClock clock;
  std::unique_ptr<Org> org;
};

std::unique_ptr<Runner> StartRunner(Org* org, RunnerOptions options) {
  absl::StatusOr<std::unique_ptr<Runner>> runner =
      Runner::Start(org, std::move(options));
  RequireOk(runner.status());
  return std::move(*runner);
}

TEST_CASE(
    "Runner (design rule 1): two runners deliver captured records, the test "
    "never stepping",
    "[runner][threads]") {
  Orgs o;
  // The primary's runner also drives the transport pair; the secondary
  // answers from inside the deliveries, and its own runner sends whatever
  // it queues.
  std::unique_ptr<Runner> primary = StartRunner(
      o.t->primary.get(), {.extra_step = [&o]() -> absl::StatusOr<size_t> {
        return o.t->pair.Step();
      }});
  std::unique_ptr<Runner> secondary = StartRunner(o.t->secondary.get(), {});
  constexpr size_t kRecords = 25;
  for (size_t i = 0; i < kRecords; ++i) {
    o.InsertAccount("Account " + std::to_string(i));
  }
  // The secondary's runner may get its first turn only after the records
  // arrived (its answers go out from inside the deliveries): wait for it
  // too rather than assume an order of the threads.
  CHECK(WaitFor([&] {
    return o.SecondaryAccounts() == kRecords &&
           o.p->record_queue()->Count() == 0 && secondary->stats().steps > 0;
  }));
  primary->Stop();
  secondary->Stop();
  const RunnerStats stats = primary->stats();
  CHECK(stats.entries_sent >= kRecords);
  CHECK(stats.extra_work > 0);
  CHECK(stats.errors == 0);
  RequireOk(primary->last_error());
  CHECK(secondary->stats().steps > 0);
  CHECK(secondary->stats().errors == 0);
  CHECK(o.p->counters().entries_acknowledged >= kRecords);
  CHECK(o.SecondaryAccounts() == kRecords);
}

TEST_CASE(
    "Runner: a Verify runs on the runners' threads while the host captures, "
    "and finds the orgs identical once they are idle",
    "[runner][threads][verify]") {
  Orgs o;
  std::unique_ptr<Runner> primary = StartRunner(
      o.t->primary.get(), {.extra_step = [&o]() -> absl::StatusOr<size_t> {
        return o.t->pair.Step();
      }});
  std::unique_ptr<Runner> secondary = StartRunner(o.t->secondary.get(), {});
  auto verify = [&](Connection* from) {
    RequireOk(from->StartVerify({.actor = "admin"}).status());
    std::optional<VerifyReport> report;
    CHECK(WaitFor([&] {
      absl::StatusOr<std::optional<VerifyReport>> status =
          from->VerifyStatus();
      RequireOk(status.status());
      report = *status;
      return report->state != VerifyState::kRunning;
    }));
    return *report;
  };
  // From the secondary, while the primary's host goes on capturing: its
  // requests go out on the secondary's runner, the primary answers from
  // the deliveries its runner makes, the answers come back the same way.
  constexpr size_t kRecords = 40;
  for (size_t i = 0; i < kRecords / 2; ++i) {
    o.InsertAccount("Account " + std::to_string(i));
  }
  RequireOk(o.s->StartVerify({.actor = "admin"}).status());
  for (size_t i = kRecords / 2; i < kRecords; ++i) {
    o.InsertAccount("Account " + std::to_string(i));
  }
  CHECK(WaitFor([&] {
    absl::StatusOr<std::optional<VerifyReport>> status = o.s->VerifyStatus();
    RequireOk(status.status());
    return (*status)->state == VerifyState::kCompleted;
  }));
  CHECK(WaitFor([&] {
    return o.SecondaryAccounts() == kRecords && o.p->idle() && o.s->idle();
  }));
  for (Connection* from : {o.p, o.s}) {
    const VerifyReport report = verify(from);
    INFO(report.error);
    CHECK(report.identical());
    REQUIRE(report.objects.size() == 1);
    CHECK(report.objects[0].matched == kRecords);
  }
  primary->Stop();
  secondary->Stop();
  CHECK(primary->stats().errors == 0);
  CHECK(secondary->stats().errors == 0);
}

TEST_CASE("Runner: Wake makes a runner that waits for ever step at once",
          "[runner][threads]") {
  Orgs o;
  // Without Wake() this runner steps once at its start and never again.
  std::unique_ptr<Runner> runner = StartRunner(
      o.t->primary.get(), {.idle_interval = absl::InfiniteDuration(),
                           .extra_step = [&o]() -> absl::StatusOr<size_t> {
                             return o.t->pair.Step();
                           }});
  REQUIRE(WaitFor([&] { return runner->stats().idle_waits == 1; }));
  const uint64_t steps_before = runner->stats().steps;
  o.InsertAccount("Woken Inc");
  runner->Wake();
  CHECK(WaitFor([&] {
    return o.SecondaryAccounts() == 1 && o.p->record_queue()->Count() == 0;
  }));
  runner->Stop();
  const RunnerStats stats = runner->stats();
  CHECK(stats.wakes == 1);
  CHECK(stats.steps > steps_before);
  CHECK(stats.entries_sent == 1);
}

TEST_CASE(
    "Runner: Stop ends a waiting runner, is idempotent and safe from several "
    "threads, and no round runs after it",
    "[runner][threads]") {
  LoneOrg lone;
  std::atomic<uint64_t> extra_calls{0};
  std::unique_ptr<Runner> runner =
      StartRunner(lone.org.get(),
                  {.idle_interval = absl::InfiniteDuration(),
                   .extra_step = [&extra_calls]() -> absl::StatusOr<size_t> {
                     ++extra_calls;
                     return 0;
                   }});
  REQUIRE(WaitFor([&] { return runner->stats().idle_waits == 1; }));
  // Stop wakes the wait (for ever, here) rather than sitting it out.
  std::thread other([&runner] { runner->Stop(); });
  runner->Stop();
  other.join();
  runner->Stop();
  const RunnerStats stopped = runner->stats();
  CHECK(stopped.steps == 1);
  CHECK(extra_calls.load() == 1);
  runner->Wake();
  CHECK(runner->stats().steps == stopped.steps);
  CHECK(runner->stats().wakes == 1);
  CHECK(extra_calls.load() == 1);
}

TEST_CASE("Runner: the destructor stops the runner and waits for its round",
          "[runner][threads]") {
  LoneOrg lone;
  std::atomic<bool> in_round{false};
  std::atomic<uint64_t> started{0};
  std::atomic<uint64_t> finished{0};
  std::unique_ptr<Runner> runner = StartRunner(
      lone.org.get(), {.idle_interval = absl::Microseconds(100),
                       .extra_step = [&]() -> absl::StatusOr<size_t> {
                         in_round = true;
                         ++started;
                         // Widens the window in which a destructor that did not
                         // wait would return mid-round.
                         absl::SleepFor(absl::Milliseconds(2));
                         ++finished;
                         in_round = false;
                         return 0;
                       }});
  REQUIRE(WaitFor([&] { return started.load() >= 3; }));
  runner.reset();
  CHECK_FALSE(in_round.load());
  CHECK(started.load() == finished.load());
}

TEST_CASE(
    "Runner: Stop called from the runner's own thread ends it after that "
    "round",
    "[runner][threads]") {
  LoneOrg lone;
  std::atomic<Runner*> self{nullptr};
  std::atomic<uint64_t> calls{0};
  internal::Mutex mu;
  bool ready = false;  // guarded by mu: `self` is set
  std::unique_ptr<Runner> runner = StartRunner(
      lone.org.get(), {.idle_interval = absl::Microseconds(100),
                       .extra_step = [&]() -> absl::StatusOr<size_t> {
                         {
                           internal::MutexLock lock(&mu);
                           mu.Await([&] { return ready; });
                         }
                         if (++calls == 3) self.load()->Stop();
                         return 0;
                       }});
  self = runner.get();
  {
    internal::MutexLock lock(&mu);
    ready = true;
  }
  REQUIRE(WaitFor([&] { return calls.load() >= 3; }));
  runner->Stop();
  CHECK(calls.load() == 3);
  CHECK(runner->stats().steps == 3);
}

TEST_CASE(
    "Runner: busy rounds follow each other up to max_busy_steps, then it "
    "waits",
    "[runner][threads]") {
  LoneOrg lone;
  std::unique_ptr<Runner> runner = StartRunner(
      lone.org.get(), {.idle_interval = absl::InfiniteDuration(),
                       .max_busy_steps = 5,
                       .extra_step = []() -> absl::StatusOr<size_t> {
                         return 1;  // always "did work"
                       }});
  REQUIRE(WaitFor([&] { return runner->stats().idle_waits == 1; }));
  // The first round and five busy ones after it.
  CHECK(runner->stats().steps == 6);
  CHECK(runner->stats().extra_work == 6);
  runner->Wake();
  REQUIRE(WaitFor([&] { return runner->stats().idle_waits == 2; }));
  CHECK(runner->stats().steps == 12);
}

TEST_CASE("Runner: failing extra steps are counted and kept, not fatal",
          "[runner][threads]") {
  LoneOrg lone;
  std::atomic<uint64_t> calls{0};
  std::unique_ptr<Runner> runner = StartRunner(
      lone.org.get(),
      {.idle_interval = absl::Microseconds(100),
       .extra_step = [&calls]() -> absl::StatusOr<size_t> {
         const uint64_t call = ++calls;
         if (call <= 4 && call % 2 == 0) {
           return absl::UnavailableError("call " + std::to_string(call));
         }
         return 0;
       }});
  REQUIRE(WaitFor([&] { return runner->stats().steps >= 10; }));
  runner->Stop();
  CHECK(runner->stats().errors == 2);
  const absl::Status last = runner->last_error();
  CHECK(last.code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(last.message()), Catch::Contains("call 4"));
  CHECK_THAT(std::string(last.message()), Catch::Contains("extra_step"));
}

TEST_CASE(
    "Runner, R7: failing Org steps are counted and retried, and the runner "
    "makes the suspended connection's queue report once",
    "[runner][threads]") {
  internal::Mutex mu;
  std::vector<QueueSizeReport> reports;
  auto faulty = std::make_unique<testing::FaultyReopenableStorage>(
      testing::NewReopenableMemoryStorage());
  testing::FaultyReopenableStorage* storage = faulty.get();
  Orgs o(std::move(faulty), [&](const QueueSizeReport& report) {
    internal::MutexLock lock(&mu);
    reports.push_back(report);
  });
  RequireOk(o.p->Suspend("carol@a"));
  o.t->clock.Advance(absl::Hours(12));
  // A suspended connection writes only to schedule its report, so the
  // first three rounds fail at that write.
  storage->faults()->FailNextWrites(3, absl::UnavailableError("disk hiccup"));
  std::unique_ptr<Runner> runner = StartRunner(
      o.t->primary.get(), {.idle_interval = absl::Microseconds(100)});
  REQUIRE(WaitFor([&] {
    internal::MutexLock lock(&mu);
    return !reports.empty();
  }));
  // More rounds, none of which may report again.
  const uint64_t steps = runner->stats().steps;
  REQUIRE(WaitFor([&] { return runner->stats().steps >= steps + 5; }));
  runner->Stop();
  const RunnerStats stats = runner->stats();
  CHECK(stats.errors == 3);
  CHECK(runner->last_error().code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(runner->last_error().message()),
             Catch::Contains("disk hiccup"));
  internal::MutexLock lock(&mu);
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].report_number == 1);
  CHECK(reports[0].suspended_by == "carol@a");
}

TEST_CASE("Runner: Start refuses a null org and bad options", "[runner][threads]") {
  LoneOrg lone;
  CHECK(Runner::Start(nullptr, {}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  for (const absl::Duration idle :
       {absl::ZeroDuration(), absl::Milliseconds(-1),
        -absl::InfiniteDuration()}) {
    INFO(absl::FormatDuration(idle));
    const absl::Status status =
        Runner::Start(lone.org.get(), {.idle_interval = idle}).status();
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()), Catch::Contains("idle_interval"));
  }
  const absl::Status status =
      Runner::Start(lone.org.get(), {.max_busy_steps = 0}).status();
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(status.message()), Catch::Contains("max_busy_steps"));
}

}  // namespace
}  // namespace orgsync::runner_test
