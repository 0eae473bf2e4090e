// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// R7: while a connection is Suspended, Connection::Step() tells the host the
// size of its queue on a schedule (OrgOptions.queue_report_interval, twice
// a day by default).

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/storage.h"
#include "orgsync/transport.h"
#include "testing/connection_fixture.h"
#include "testing/storage_testing.h"

namespace orgsync::queue_report_test {
namespace {

using testing::RequireOk;
using Side = InProcessTransportPair::Side;

constexpr char kConnection[] = "conn-1";

// Two connected orgs (Active at once: every sync option off) whose queue
// reports are collected per side.
struct Fixture {
  explicit Fixture(absl::Duration interval = absl::Hours(12),
                   std::unique_ptr<testing::ReopenableStorage> primary_storage =
                       testing::NewReopenableMemoryStorage()) {
    testing::TwoOrgsConfig config;
    config.queue_report_interval = interval;
    config.primary_queue_report = [this](const QueueSizeReport& report) {
      primary_reports.push_back(report);
    };
    config.secondary_queue_report = [this](const QueueSizeReport& report) {
      secondary_reports.push_back(report);
    };
    t = std::make_unique<testing::TwoOrgs>(
        1, std::move(primary_storage), testing::NewReopenableMemoryStorage(),
        std::move(config));
    InvitationOptions options = testing::DefaultInvitation(kConnection);
    options.sync = {};
    std::tie(p, s) = t->Connect(options);
    REQUIRE(p->status() == ConnectionStatus::kActive);
    REQUIRE(s->status() == ConnectionStatus::kActive);
  }

  // Both orgs step once, at the clock's current time.
  void StepBoth() {
    RequireOk(t->primary->Step().status());
    RequireOk(t->secondary->Step().status());
  }

  // Advances the clock by `delta` and steps both orgs.
  void AdvanceAndStep(absl::Duration delta) {
    t->clock.Advance(delta);
    StepBoth();
  }

  void Reopen() {
    t->Reopen(kConnection);
    p = *t->primary->GetConnection(kConnection);
    s = *t->secondary->GetConnection(kConnection);
  }

  absl::Time Now() const { return t->clock.Now(); }

  // Declared before `t`, whose callbacks point at them.
  std::vector<QueueSizeReport> primary_reports;
  std::vector<QueueSizeReport> secondary_reports;
  std::unique_ptr<testing::TwoOrgs> t;
  Connection* p = nullptr;
  Connection* s = nullptr;
};

TEST_CASE("R7: an Active connection gets no queue-size report",
          "[queue_report]") {
  Fixture f;
  RequireOk(f.p->UpdateContact("dana@b", "alice@a"));
  for (int i = 0; i < 12; ++i) f.AdvanceAndStep(absl::Hours(6));
  CHECK(f.primary_reports.empty());
  CHECK(f.secondary_reports.empty());
  const ConnectionInfo info = f.p->Info();
  CHECK(info.suspended_since == absl::InfinitePast());
  CHECK(info.suspended_by.empty());
  CHECK(info.next_queue_report == absl::InfiniteFuture());
}

TEST_CASE(
    "R7: an admin-suspended connection reports its queue size 12 h after the "
    "suspension and every 12 h after that",
    "[queue_report]") {
  Fixture f;
  const absl::Time t0 = f.Now();
  RequireOk(f.p->Suspend("carol@a"));
  ConnectionInfo info = f.p->Info();
  CHECK(info.suspended_since == t0);
  CHECK(info.suspended_by == "carol@a");
  CHECK(info.next_queue_report == t0 + absl::Hours(12));
  const size_t history_before = f.p->History()->size();

  f.AdvanceAndStep(absl::Hours(12) - absl::Seconds(1));
  CHECK(f.primary_reports.empty());

  f.AdvanceAndStep(absl::Seconds(1));
  REQUIRE(f.primary_reports.size() == 1);
  const QueueSizeReport& first = f.primary_reports[0];
  CHECK(first.connection_id == kConnection);
  CHECK(first.time == t0 + absl::Hours(12));
  CHECK(first.status == ConnectionStatus::kSuspended);
  // The Connection Admin Suspended notice waits in the queue (R5).
  CHECK(first.queued_entries == 1);
  CHECK(first.queued_entries == f.p->record_queue()->Count());
  CHECK(first.owner == "alice@a");
  CHECK(first.suspended_by == "carol@a");
  CHECK(first.admin_suspended);
  CHECK_FALSE(first.partner_unavailable);
  CHECK(first.suspended_since == t0);
  CHECK(first.report_number == 1);
  // The partner is not suspended: its side has nothing to report.
  CHECK(f.secondary_reports.empty());
  CHECK(f.p->Info().next_queue_report == t0 + absl::Hours(24));
  // A report is no connection event: the history (R4) is unchanged.
  CHECK(f.p->History()->size() == history_before);

  // Stepping again at the same time reports nothing more.
  f.StepBoth();
  CHECK(f.primary_reports.size() == 1);

  // Changes made while suspended are queued (R5) and the next report
  // counts them, with the current owner.
  RequireOk(f.p->UpdateContact("dana@b", "carol@a"));
  RequireOk(f.p->UpdateOwner("erin@a", "carol@a"));
  f.AdvanceAndStep(absl::Hours(12) - absl::Seconds(1));
  CHECK(f.primary_reports.size() == 1);
  f.AdvanceAndStep(absl::Seconds(1));
  REQUIRE(f.primary_reports.size() == 2);
  const QueueSizeReport& second = f.primary_reports[1];
  CHECK(second.time == t0 + absl::Hours(24));
  CHECK(second.queued_entries == 3);
  CHECK(second.queued_entries == f.p->record_queue()->Count());
  CHECK(second.owner == "erin@a");
  CHECK(second.suspended_by == "carol@a");
  CHECK(second.suspended_since == t0);
  CHECK(second.report_number == 2);
  CHECK(f.secondary_reports.empty());
}

TEST_CASE(
    "R7, R6: a connection suspended because the partner is unavailable "
    "reports too, naming no suspender",
    "[queue_report]") {
  Fixture f;
  const absl::Time t0 = f.Now();
  f.t->pair.SetOnline(Side::kB, false);
  REQUIRE(f.p->status() == ConnectionStatus::kSuspended);
  REQUIRE(f.s->status() == ConnectionStatus::kSuspended);

  f.AdvanceAndStep(absl::Hours(12));
  REQUIRE(f.primary_reports.size() == 1);
  REQUIRE(f.secondary_reports.size() == 1);
  for (const QueueSizeReport& report :
       {f.primary_reports[0], f.secondary_reports[0]}) {
    CHECK(report.time == t0 + absl::Hours(12));
    CHECK(report.suspended_by.empty());
    CHECK_FALSE(report.admin_suspended);
    CHECK(report.partner_unavailable);
    CHECK(report.suspended_since == t0);
    // Each side queued its Connection Suspended notice.
    CHECK(report.queued_entries == 1);
  }
  CHECK(f.secondary_reports[0].owner == "alice@a");

  // An administrator suspends too: the report names them from now on, and
  // the schedule of the ongoing suspension stands.
  f.t->clock.Advance(absl::Hours(1));
  RequireOk(f.p->Suspend("carol@a"));
  ConnectionInfo info = f.p->Info();
  CHECK(info.suspended_since == t0);
  CHECK(info.suspended_by == "carol@a");
  CHECK(info.next_queue_report == t0 + absl::Hours(24));
  f.AdvanceAndStep(absl::Hours(11));
  REQUIRE(f.primary_reports.size() == 2);
  CHECK(f.primary_reports[1].suspended_by == "carol@a");
  CHECK(f.primary_reports[1].admin_suspended);
  CHECK(f.primary_reports[1].partner_unavailable);
  CHECK(f.primary_reports[1].queued_entries == 2);
  CHECK(f.primary_reports[1].report_number == 2);
  REQUIRE(f.secondary_reports.size() == 2);
  CHECK(f.secondary_reports[1].suspended_by.empty());

  // The partner comes back: the secondary is Active and stops reporting;
  // the primary stays suspended by its administrator, on the same schedule.
  f.t->clock.Advance(absl::Hours(1));
  f.t->pair.SetOnline(Side::kB, true);
  REQUIRE(f.s->status() == ConnectionStatus::kActive);
  REQUIRE(f.p->status() == ConnectionStatus::kSuspended);
  CHECK(f.p->Info().next_queue_report == t0 + absl::Hours(36));
  f.AdvanceAndStep(absl::Hours(11));
  REQUIRE(f.primary_reports.size() == 3);
  CHECK(f.primary_reports[2].time == t0 + absl::Hours(36));
  CHECK(f.primary_reports[2].admin_suspended);
  CHECK_FALSE(f.primary_reports[2].partner_unavailable);
  CHECK(f.secondary_reports.size() == 2);
}

TEST_CASE(
    "R7, R8: resuming stops the reports, a new suspension starts a new "
    "schedule, and deactivating stops them for good",
    "[queue_report]") {
  Fixture f;
  const absl::Time t0 = f.Now();
  RequireOk(f.p->Suspend("carol@a"));
  f.AdvanceAndStep(absl::Hours(12));
  REQUIRE(f.primary_reports.size() == 1);

  f.t->clock.Advance(absl::Hours(1));
  RequireOk(f.p->Resume("carol@a"));
  ConnectionInfo info = f.p->Info();
  CHECK(info.suspended_since == absl::InfinitePast());
  CHECK(info.suspended_by.empty());
  CHECK(info.next_queue_report == absl::InfiniteFuture());
  for (int i = 0; i < 8; ++i) f.AdvanceAndStep(absl::Hours(6));
  CHECK(f.primary_reports.size() == 1);

  // Suspended again: the first report comes one interval after this
  // suspension, numbered 1 again.
  const absl::Time t1 = f.Now();
  REQUIRE(t1 == t0 + absl::Hours(61));
  RequireOk(f.p->Suspend("frank@a"));
  f.AdvanceAndStep(absl::Hours(12) - absl::Seconds(1));
  CHECK(f.primary_reports.size() == 1);
  f.AdvanceAndStep(absl::Seconds(1));
  REQUIRE(f.primary_reports.size() == 2);
  CHECK(f.primary_reports[1].time == t1 + absl::Hours(12));
  CHECK(f.primary_reports[1].suspended_since == t1);
  CHECK(f.primary_reports[1].suspended_by == "frank@a");
  CHECK(f.primary_reports[1].report_number == 1);

  // R8: a deactivated connection has no backlog to report.
  RequireOk(f.p->Deactivate("frank@a"));
  CHECK(f.p->Info().next_queue_report == absl::InfiniteFuture());
  for (int i = 0; i < 8; ++i) f.AdvanceAndStep(absl::Hours(6));
  CHECK(f.primary_reports.size() == 2);
  CHECK(f.secondary_reports.empty());
}

TEST_CASE(
    "R7: a restart neither repeats a report nor forgets the schedule "
    "(memory and LevelDB)",
    "[queue_report]") {
  for (const auto& factory : testing::ReopenableStorageFactories()) {
    std::unique_ptr<testing::ReopenableStorage> storage = factory();
    INFO(storage->name());
    Fixture f(absl::Hours(12), std::move(storage));
    const absl::Time t0 = f.Now();
    RequireOk(f.p->Suspend("carol@a"));
    f.AdvanceAndStep(absl::Hours(6));
    f.Reopen();
    ConnectionInfo info = f.p->Info();
    CHECK(info.status == ConnectionStatus::kSuspended);
    CHECK(info.suspended_since == t0);
    CHECK(info.suspended_by == "carol@a");
    CHECK(info.next_queue_report == t0 + absl::Hours(12));

    f.AdvanceAndStep(absl::Hours(6) - absl::Seconds(1));
    CHECK(f.primary_reports.empty());
    f.AdvanceAndStep(absl::Seconds(1));
    REQUIRE(f.primary_reports.size() == 1);
    CHECK(f.primary_reports[0].time == t0 + absl::Hours(12));

    // Restarting right after a report does not report again.
    f.Reopen();
    f.StepBoth();
    CHECK(f.primary_reports.size() == 1);
    CHECK(f.p->Info().next_queue_report == t0 + absl::Hours(24));
    f.AdvanceAndStep(absl::Hours(12));
    REQUIRE(f.primary_reports.size() == 2);
    CHECK(f.primary_reports[1].time == t0 + absl::Hours(24));
    CHECK(f.primary_reports[1].report_number == 2);
    CHECK(f.secondary_reports.empty());
  }
}

TEST_CASE(
    "R7: a custom interval sets the schedule, and slots missed while nothing "
    "stepped give one report",
    "[queue_report]") {
  Fixture f(absl::Hours(1));
  const absl::Time t0 = f.Now();
  RequireOk(f.p->Suspend("carol@a"));
  CHECK(f.p->Info().next_queue_report == t0 + absl::Hours(1));
  f.AdvanceAndStep(absl::Hours(1));
  f.AdvanceAndStep(absl::Hours(1));
  REQUIRE(f.primary_reports.size() == 2);
  CHECK(f.primary_reports[0].time == t0 + absl::Hours(1));
  CHECK(f.primary_reports[1].time == t0 + absl::Hours(2));

  // Nobody stepped for five and a half hours: one report, and the next on
  // the suspension's grid.
  f.AdvanceAndStep(absl::Minutes(330));
  REQUIRE(f.primary_reports.size() == 3);
  CHECK(f.primary_reports[2].time == t0 + absl::Minutes(450));
  CHECK(f.primary_reports[2].report_number == 3);
  CHECK(f.p->Info().next_queue_report == t0 + absl::Hours(8));
  f.AdvanceAndStep(absl::Minutes(30));
  REQUIRE(f.primary_reports.size() == 4);
  CHECK(f.primary_reports[3].time == t0 + absl::Hours(8));
}

TEST_CASE(
    "R7: a queue report interval that is not positive and finite is refused "
    "at Org::Open, writing nothing",
    "[queue_report]") {
  ManualClock clock;
  for (const absl::Duration interval :
       {absl::ZeroDuration(), absl::Seconds(-1), absl::InfiniteDuration(),
        -absl::InfiniteDuration()}) {
    INFO(absl::FormatDuration(interval));
    std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
    OrgOptions options;
    options.org_id = "org-a";
    options.queue_report_interval = interval;
    absl::StatusOr<std::unique_ptr<Org>> org =
        Org::Open(options, storage.get(), &clock);
    CHECK(org.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(org.status().message()),
               Catch::Contains("queue_report_interval"));
    CHECK(testing::Dump(storage.get()).empty());
  }
  std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
  OrgOptions options;
  options.org_id = "org-a";
  options.queue_report_interval = absl::Microseconds(1);
  RequireOk(Org::Open(options, storage.get(), &clock).status());
}

TEST_CASE(
    "R7: without a callback the schedule is kept, and a callback set at a "
    "restart gets the overdue report at once",
    "[queue_report]") {
  Fixture f;
  f.t->config.primary_queue_report = nullptr;
  f.Reopen();
  const absl::Time t0 = f.Now();
  RequireOk(f.p->Suspend("carol@a"));
  f.AdvanceAndStep(absl::Hours(13));
  CHECK(f.primary_reports.empty());
  CHECK(f.p->Info().next_queue_report == t0 + absl::Hours(12));

  f.t->config.primary_queue_report = [&f](const QueueSizeReport& report) {
    f.primary_reports.push_back(report);
  };
  f.Reopen();
  f.StepBoth();
  REQUIRE(f.primary_reports.size() == 1);
  CHECK(f.primary_reports[0].time == t0 + absl::Hours(13));
  CHECK(f.p->Info().next_queue_report == t0 + absl::Hours(24));
}

TEST_CASE(
    "R7: the report callback runs without the connection's lock and may "
    "call the connection",
    "[queue_report]") {
  Fixture f;
  f.t->config.primary_queue_report = [&f](const QueueSizeReport& report) {
    Connection* c = *f.t->primary->GetConnection(report.connection_id);
    // Each of these takes the connection's lock.
    CHECK(c->Info().next_queue_report == report.time + absl::Hours(12));
    CHECK(c->record_queue()->Count() == report.queued_entries);
    RequireOk(c->UpdateContact("reported@b", "queue-bot"));
    f.primary_reports.push_back(report);
  };
  f.Reopen();
  RequireOk(f.p->Suspend("carol@a"));
  f.AdvanceAndStep(absl::Hours(12));
  REQUIRE(f.primary_reports.size() == 1);
  CHECK(f.p->Info().contact == "reported@b");
  CHECK(f.p->record_queue()->Count() ==
        f.primary_reports[0].queued_entries + 1);
}

TEST_CASE(
    "R7: a failing write delays the report to the next step and never "
    "doubles it",
    "[queue_report]") {
  auto faulty = std::make_unique<testing::FaultyReopenableStorage>(
      testing::NewReopenableMemoryStorage());
  testing::FaultyReopenableStorage* storage = faulty.get();
  Fixture f(absl::Hours(12), std::move(faulty));
  const absl::Time t0 = f.Now();
  RequireOk(f.p->Suspend("carol@a"));
  f.t->clock.Advance(absl::Hours(12));
  storage->faults()->FailNextWrites(1);
  const absl::StatusOr<size_t> failed = f.t->primary->Step();
  CHECK_FALSE(failed.ok());
  CHECK(f.primary_reports.empty());
  CHECK(f.p->Info().next_queue_report == t0 + absl::Hours(12));

  f.StepBoth();
  REQUIRE(f.primary_reports.size() == 1);
  CHECK(f.primary_reports[0].report_number == 1);
  f.StepBoth();
  CHECK(f.primary_reports.size() == 1);
}

}  // namespace
}  // namespace orgsync::queue_report_test
