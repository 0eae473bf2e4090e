// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The run: builds the two orgs from the seed, connects them, drives the
// rounds of the faulty phase, heals, settles and hands over to the final
// check (sim_checks.h). The parts it wires are described in simulation.h.

#include "testing/simulation.h"

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orgsync/clock.h"
#include "orgsync/conflict.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/transport.h"
#include "testing/connection_fixture.h"
#include "testing/sim_checks.h"
#include "testing/sim_directory.h"
#include "testing/sim_faults.h"
#include "testing/sim_ledger.h"
#include "testing/sim_model.h"
#include "testing/sim_republish.h"
#include "testing/sim_side.h"
#include "testing/sim_verify.h"
#include "testing/sim_workload.h"

namespace orgsync::testing {
namespace {

using sim::Check;
using sim::SimulationFailure;
using sim::Trace;

constexpr std::string_view kConnectionId = "sim";

// How many storage writes (of both orgs together) pass between two crashes,
// on average: a run makes about a thousand, so a few crashes strike
// mid-operation besides the restarts between operations.
constexpr uint64_t kMeanWritesBetweenCrashes = 150;

// Time between metadata runs (the seed's daily, made short so that runs
// happen while faults strike).
constexpr absl::Duration kMetadataSyncInterval = absl::Minutes(1);

class Simulation {
 public:
  explicit Simulation(const SimulationOptions& options)
      : options_(options),
        rng_(options.seed),
        bulk_rng_(options.seed * 104729 + 3),
        forward_rng_(options.seed * 15485863 + 5),
        model_(rng_),
        // The drift drawn first, as GCC evaluated these once: the seeds
        // pinned since still run the simulations they were pinned for.
        primary_clock_(&clock_,
                       {.drift = RandomDrift(), .skew = RandomSkew()}),
        secondary_clock_(&clock_,
                         {.drift = RandomDrift(), .skew = RandomSkew()}),
        pair_(options.seed * 7919 + 1),
        host_storage_apart_(Chance(0.75)),
        // 0, 5, 10 or 15% of replicated updates.
        workload_(&model_, &ledger_, &rng_,
                  0.05 * static_cast<double>(rng_() % 4)),
        republisher_(&model_, &ledger_, options.seed * 32452843 + 7,
                     options.two_way) {
    ConflictResolver* resolver =
        options.primary_wins_conflicts ? &primary_wins_ : nullptr;
    primary_ = std::make_unique<sim::Side>(
        SideOptions("org-a", "p", "P-", &primary_clock_, pair_.a(), resolver));
    secondary_ = std::make_unique<sim::Side>(SideOptions(
        "org-b", "s", "S-", &secondary_clock_, pair_.b(), resolver));
    // Races need a host writing where replication writes: two-way only (a
    // one-way secondary's own edits are never synced back).
    // Users and metadata sync on about two runs in three each.
    const bool sync_users = Chance(0.65);
    const bool sync_metadata = Chance(0.65);
    directory_ = std::make_unique<sim::DirectoryWorkload>(&rng_, sync_users,
                                                          sync_metadata);
    for (sim::Side* side : {primary_.get(), secondary_.get()}) {
      sim::DirectoryWorkload::DefineShared(side->users());
    }
    for (sim::Side* side : {primary_.get(), secondary_.get()}) {
      if (!options.two_way) break;
      side->set_race_hook([this, side](std::string_view object,
                                       std::string_view id,
                                       const FieldMap& changes) {
        workload_.Race(*side, object, id, changes);
      });
    }
  }

  SimulationResult Run() {
    SimulationResult result;
    try {
      Connect();
      Flow(*primary_, *secondary_);
      if (options_.two_way) Flow(*secondary_, *primary_);
      // Crashes strike from the first round to the end of the faults.
      crashes_armed_ = true;
      crash_plan_.Arm(NextCrashGap());
      for (size_t round = 0; round < options_.rounds; ++round) {
        Round();
        MaybeStartBulkSync();
        MaybeForward();
        if (options_.republish) republisher_.Round(*primary_, *secondary_);
      }
      Heal();
      republisher_.Finish(*primary_, *secondary_,
                          [this](size_t rounds) { return Settle(rounds); });
      const uint64_t before = pumps_;
      bool settled = Settle(20000);
      // A last bulk sync from each org that writes copies what the hosts
      // never captured (R60): those records must then match too.
      if (settled) settled = FinalBulkSyncs();
      // Two more metadata runs: the last one starts after every write of
      // the workload (R74).
      for (int run = 0; run < 2 && settled && directory_->sync_metadata();
           ++run) {
        clock_.Advance(kMetadataSyncInterval + absl::Seconds(1));
        settled = Settle(20000);
      }
      settle_steps_ = pumps_ - before;
      if (!settled) {
        throw SimulationFailure{fmt::format(
            "the queues did not drain: primary {} queued, secondary {} "
            "queued, {} in flight",
            primary_->connection()->record_queue()->Count(),
            secondary_->connection()->record_queue()->Count(),
            pair_.InFlight())};
      }
      const sim::CheckResult checked =
          sim::CheckConverged(*primary_, *secondary_, model_, ledger_);
      directory_->Check(*primary_, *secondary_);
      // Verify from each org must say what the comparison said.
      VerifyFrom(*primary_, checked);
      VerifyFrom(*secondary_, checked);
      result.conflicts_logged = checked.conflicts_logged;
      result.not_applied_logged = checked.not_applied_logged;
      result.records = checked.records;
    } catch (const SimulationFailure& failure) {
      result.failure = failure.what;
    }
    result.ok = result.failure.empty();
    result.captures = primary_->captures() + secondary_->captures();
    result.restarts = restarts_;
    result.steps = pumps_;
    result.settle_steps = settle_steps_;
    result.crashes = crash_plan_.crashes();
    result.storage_writes = crash_plan_.writes();
    result.lost_captures = ledger_.lost_captures;
    result.races = workload_.races();
    result.suspensions = suspensions_;
    result.offline_periods = offline_periods_;
    result.partitions = partitions_;
    result.bulk_syncs = bulk_syncs_;
    result.forwards = forwards_;
    result.verifies = verifies_;
    result.republishes = republisher_.episodes();
    result.messages_dropped = pair_.counters().dropped;
    result.messages_duplicated = pair_.counters().duplicated;
    result.primary_skew_seconds = absl::ToDoubleSeconds(primary_clock_.skew());
    result.secondary_skew_seconds =
        absl::ToDoubleSeconds(secondary_clock_.skew());
    result.primary_drift = primary_clock_.drift();
    result.secondary_drift = secondary_clock_.drift();
    result.host_storage_apart = host_storage_apart_;
    result.wide_fields = model_.wide_fields();
    const sim::DirectoryCounts& directory = directory_->counts();
    result.user_saves = directory.user_saves;
    result.metadata_writes = directory.metadata_writes;
    result.metadata_renames = directory.renames;
    result.users_checked = directory.users_checked;
    result.metadata_items_checked = directory.items_checked;
    return result;
  }

 private:
  uint64_t Uniform(uint64_t n) { return rng_() % n; }
  bool Chance(double p) {
    return static_cast<double>(rng_() >> 11) * 0x1.0p-53 < p;
  }
  // Up to 10 minutes either way, to the microsecond.
  absl::Duration RandomSkew() {
    return absl::Microseconds(static_cast<int64_t>(Uniform(1'200'000'001)) -
                              600'000'000);
  }
  // Up to 1% fast or slow.
  double RandomDrift() {
    return (static_cast<double>(Uniform(20001)) - 10000) / 1e6;
  }
  uint64_t NextCrashGap() { return 1 + Uniform(2 * kMeanWritesBetweenCrashes); }

  sim::SideOptions SideOptions(std::string org_id, std::string key_prefix,
                               std::string id_prefix, Clock* clock,
                               Transport* endpoint,
                               ConflictResolver* resolver) {
    return sim::SideOptions{.org_id = std::move(org_id),
                            .key_prefix = std::move(key_prefix),
                            .id_prefix = std::move(id_prefix),
                            .clock = clock,
                            .endpoint = endpoint,
                            .leveldb = options_.leveldb,
                            .host_storage_apart = host_storage_apart_,
                            .resolver = resolver,
                            .model = &model_,
                            .crash_plan = &crash_plan_,
                            .ledger = &ledger_,
                            .rng = &rng_,
                            .metadata_sync_interval = kMetadataSyncInterval};
  }

  // Restarts each org that crashed, then arms the next crash if the last
  // one struck (also while an org was reopening).
  void Recover() {
    for (sim::Side* side : {primary_.get(), secondary_.get()}) {
      if (side->down()) side->Restart();
    }
    if (crashes_armed_ && !crash_plan_.armed()) {
      crash_plan_.Arm(NextCrashGap());
    }
  }

  void Pump() {
    ++pumps_;
    for (sim::Side* side : {primary_.get(), secondary_.get()}) {
      if (side->down()) continue;  // a dead org does not step
      sim::Survived(side->org()->Step().status(), *side, "stepping");
    }
    const size_t delivered = pair_.Step();
    clock_.Advance(absl::Seconds(1));
    if (delivered > 0) Trace("step: {} messages delivered", delivered);
    Recover();
  }

  bool Settle(size_t max_rounds) {
    for (size_t round = 0; round < max_rounds; ++round) {
      Recover();
      if (primary_->connection()->idle() && secondary_->connection()->idle() &&
          pair_.InFlight() == 0) {
        return true;
      }
      Pump();
    }
    return false;
  }

  void Connect() {
    InvitationOptions invitation_options;
    invitation_options.connection_id = std::string(kConnectionId);
    invitation_options.owner = "alice@a";
    invitation_options.contact = "bob@b";
    invitation_options.sync.sync_feeds_and_audit_fields = Chance(0.5);
    invitation_options.sync.sync_users = directory_->sync_users();
    invitation_options.sync.sync_metadata = directory_->sync_metadata();
    absl::StatusOr<Invitation> invitation =
        primary_->org()->CreateInvitation(invitation_options, "alice@a");
    Check(invitation.status(), "creating the invitation");
    absl::StatusOr<Connection*> p =
        primary_->org()->GetConnection(kConnectionId);
    Check(p.status(), "finding the primary's connection");
    Check((*p)->AttachTransport(primary_->endpoint()), "attaching the primary");
    primary_->set_connection(*p);
    absl::StatusOr<Connection*> s = secondary_->org()->AcceptInvitation(
        kConnectionId, invitation->secret_hex, secondary_->endpoint(), "bob@b");
    Check(s.status(), "accepting the invitation");
    secondary_->set_connection(*s);
    pair_.RunUntilIdle();
    // The initial metadata and user syncs (R2).
    for (int round = 0;
         round < 200 &&
         (primary_->connection()->status() != ConnectionStatus::kActive ||
          secondary_->connection()->status() != ConnectionStatus::kActive);
         ++round) {
      Pump();
    }
    if (primary_->connection()->status() != ConnectionStatus::kActive ||
        secondary_->connection()->status() != ConnectionStatus::kActive) {
      throw SimulationFailure{"the connection did not become Active"};
    }
  }

  // `from` publishes every object, `to` subscribes them all.
  void Flow(sim::Side& from, sim::Side& to) {
    const std::vector<std::string> objects = model_.ObjectNames();
    Check(from.connection()->publish_set()->PublishObjects(objects),
          "publishing");
    if (!Settle(1000)) throw SimulationFailure{"publishing did not settle"};
    for (const std::string& object : objects) {
      Check(to.connection()->subscription_map()->Subscribe(object),
            "subscribing " + object);
    }
    if (!Settle(1000)) throw SimulationFailure{"subscribing did not settle"};
    for (const std::string& object : objects) {
      if (!from.connection()->publish_set()->IsPartnerSubscribed(object)) {
        throw SimulationFailure{object + " is not partner-subscribed"};
      }
    }
  }

  void Round() {
    const uint64_t roll = Uniform(100);
    if (roll < 4) {
      const bool on_primary = Chance(0.6);
      directory_->Write(on_primary ? *primary_ : *secondary_,
                        on_primary ? *secondary_ : *primary_, on_primary);
    } else if (roll < 45) {
      sim::Side& writer =
          options_.two_way && Chance(0.5) ? *secondary_ : *primary_;
      workload_.Write(writer);
      clock_.Advance(absl::Milliseconds(1 + Uniform(50)));
    } else if (roll < 88) {
      Pump();
    } else if (roll < 91) {
      ToggleAdminSuspension(Chance(0.5) ? *primary_ : *secondary_);
    } else if (roll < 93) {
      (Chance(0.5) ? primary_ : secondary_)->Restart();
      ++restarts_;
    } else if (roll < 95) {
      const auto which = Chance(0.5) ? InProcessTransportPair::Side::kA
                                     : InProcessTransportPair::Side::kB;
      const bool online = !pair_.online(which);
      pair_.SetOnline(which, online);
      if (!online) ++offline_periods_;
    } else if (roll < 97) {
      pair_.SetPartitioned(!pair_.partitioned());
      if (pair_.partitioned()) ++partitions_;
    } else {
      const bool calm = Chance(0.3);
      Check(pair_.SetFaults(
                {.drop_probability = calm ? 0.0 : 0.05 * Uniform(5),
                 .duplicate_probability = calm ? 0.0 : 0.05 * Uniform(5),
                 .reorder_probability = calm ? 0.0 : 0.1 * Uniform(5),
                 .max_delay_steps =
                     calm ? 0u : static_cast<uint32_t>(Uniform(4))}),
            "setting faults");
    }
    Recover();
  }

  // Now and then (from a generator of its own, so the rest of the run
  // draws what it drew before bulk syncs existed), a bulk sync from a
  // writing org: concurrent with live edits, faults, crashes and restarts.
  // Refused while one runs (R63) or while the connection cannot take it.
  void MaybeStartBulkSync() {
    if (bulk_rng_() % 100 >= 2) return;
    sim::Side& side =
        options_.two_way && bulk_rng_() % 2 == 1 ? *secondary_ : *primary_;
    if (side.down()) return;
    BulkSyncOptions options;
    options.actor = "admin@" + side.org_id();
    // Within the last day, which holds the whole run, or the default.
    if (bulk_rng_() % 2 == 0) {
      options.cutoff =
          side.clock()->Now() - absl::Seconds(static_cast<int64_t>(
                                    bulk_rng_() % (24 * 3600)));
    }
    if (bulk_rng_() % 4 == 0) options.max_records = 1 + bulk_rng_() % 40;
    absl::StatusOr<BulkSyncProgress> started =
        side.connection()->StartBulkSync(options);
    if (absl::IsFailedPrecondition(started.status())) return;
    sim::Survived(started.status(), side, "starting a bulk sync");
    if (started.ok()) {
      ++bulk_syncs_;
      Trace("{} started bulk sync {}", side.org_id(), started->run);
    }
  }

  // Now and then (from a generator of its own too), the host of a writing
  // org forwards one of its live records (R66): inserted there if the
  // partner lacks it, its whole state otherwise.
  void MaybeForward() {
    if (forward_rng_() % 100 >= 2) return;
    sim::Side& side =
        options_.two_way && forward_rng_() % 2 == 1 ? *secondary_ : *primary_;
    if (side.down()) return;
    static constexpr const char* kObjects[] = {"Account", "Contact", "Case"};
    std::vector<Record> live;
    for (Record& record : side.All(kObjects[forward_rng_() % 3])) {
      if (!record.deleted) live.push_back(std::move(record));
    }
    if (live.empty()) return;
    side.Forward(live[forward_rng_() % live.size()]);
    ++forwards_;
  }

  // After the faults: waits for a running bulk sync, then runs one more
  // from each writing org to its end, and takes back the excuses of the
  // inserts the hosts never captured that are still live (the bulk sync
  // copied them). False if the orgs do not settle.
  bool FinalBulkSyncs() {
    std::vector<sim::Side*> writers = {primary_.get()};
    if (options_.two_way) writers.push_back(secondary_.get());
    for (sim::Side* side : writers) {
      BulkSyncOptions options;
      options.actor = "admin@" + side->org_id();
      absl::StatusOr<BulkSyncProgress> started =
          side->connection()->StartBulkSync(options);
      Check(started.status(), "starting the last bulk sync on " +
                                  side->org_id());
      ++bulk_syncs_;
      if (!Settle(20000)) return false;
      absl::StatusOr<std::optional<BulkSyncProgress>> done =
          side->connection()->BulkSyncStatus();
      Check(done.status(), "reading the last bulk sync");
      if (!done->has_value() ||
          (*done)->state != BulkSyncState::kCompleted) {
        throw SimulationFailure{side->org_id() +
                                "'s last bulk sync did not complete"};
      }
      for (const std::string& key : side->UncapturedLiveKeys()) {
        ledger_.ForgiveRecord(key);
      }
    }
    return true;
  }

  void ToggleAdminSuspension(sim::Side& side) {
    Connection* c = side.connection();
    const ConnectionInfo info = c->Info();
    if (info.admin_suspended) {
      sim::Survived(c->Resume("admin@" + side.org_id()), side, "resuming");
    } else if (info.status == ConnectionStatus::kActive ||
               info.status == ConnectionStatus::kSuspended) {
      sim::Survived(c->Suspend("admin@" + side.org_id()), side, "suspending");
      ++suspensions_;
    }
  }

  // Runs Verify from `from` to its end and checks its report
  // (sim_verify.h).
  void VerifyFrom(sim::Side& from, const sim::CheckResult& checked) {
    VerifyOptions options;
    options.actor = "admin@" + from.org_id();
    options.max_listed = uint64_t{1} << 20;
    Check(from.connection()->StartVerify(options).status(),
          "starting Verify on " + from.org_id());
    for (size_t round = 0; round < 20000; ++round) {
      absl::StatusOr<std::optional<VerifyReport>> status =
          from.connection()->VerifyStatus();
      Check(status.status(), "reading Verify's report");
      if (status->has_value() && (*status)->state != VerifyState::kRunning) {
        sim::CheckVerify(**status, from, &from == primary_.get(), checked);
        ++verifies_;
        return;
      }
      Pump();
    }
    throw SimulationFailure{"Verify from " + from.org_id() + " did not end"};
  }

  // Faults stop: no more crashes, the link is whole and reliable again,
  // both orgs online, admin suspensions lifted.
  void Heal() {
    crashes_armed_ = false;
    crash_plan_.Disarm();
    Recover();
    Check(pair_.SetFaults({}), "clearing faults");
    pair_.SetPartitioned(false);
    pair_.SetOnline(InProcessTransportPair::Side::kA, true);
    pair_.SetOnline(InProcessTransportPair::Side::kB, true);
    for (sim::Side* side : {primary_.get(), secondary_.get()}) {
      if (side->connection()->Info().admin_suspended) {
        Check(side->connection()->Resume("admin"), "resuming at the end");
      }
    }
  }

  SimulationOptions options_;
  PrimaryWins primary_wins_;
  std::mt19937_64 rng_;
  std::mt19937_64 bulk_rng_;
  std::mt19937_64 forward_rng_;
  sim::SimModel model_;
  ManualClock clock_;  // the simulated time
  sim::SkewedClock primary_clock_;
  sim::SkewedClock secondary_clock_;
  InProcessTransportPair pair_;
  bool host_storage_apart_;
  sim::CrashPlan crash_plan_;
  bool crashes_armed_ = false;
  sim::HostLedger ledger_;
  sim::Workload workload_;
  sim::Republisher republisher_;
  std::unique_ptr<sim::DirectoryWorkload> directory_;
  std::unique_ptr<sim::Side> primary_;
  std::unique_ptr<sim::Side> secondary_;
  uint64_t pumps_ = 0;
  uint64_t settle_steps_ = 0;
  uint64_t restarts_ = 0;
  uint64_t suspensions_ = 0;
  uint64_t offline_periods_ = 0;
  uint64_t partitions_ = 0;
  uint64_t bulk_syncs_ = 0;
  uint64_t verifies_ = 0;
  uint64_t forwards_ = 0;
};

}  // namespace

SimulationResult RunSimulation(const SimulationOptions& options) {
  Simulation simulation(options);
  return simulation.Run();
}

std::string DescribeSimulation(const SimulationOptions& options,
                               const SimulationResult& result) {
  // Records and conflicts are counted once the orgs agree.
  const std::string outcome =
      result.ok ? fmt::format("{} records, ", result.records) : "";
  return fmt::format(
      "seed {} {}{}: clocks {:+.0f} s {:+.2f}% / {:+.0f} s {:+.2f}%, {} "
      "wide fields, host records {}; {} steps ({} to settle), {} captures, "
      "{}{} storage writes, {} "
      "crashes ({} captures cut short), {} restarts, {} host writes racing "
      "apply, {} admin suspensions, {} offline periods, {} partitions, {} "
      "messages dropped, {} duplicated, {} bulk syncs, {} forwards, {} "
      "unpublish/re-publish episodes, {} conflicts logged, "
      "{} records not applied (each logged or never promised); {} user "
      "saves, {} metadata writes ({} renames), {} users and {} metadata "
      "items compared; {} Verify runs agreed",
      options.seed, options.two_way ? "two-way" : "one-way",
      std::string(options.leveldb ? " on LevelDB" : "") +
          (options.primary_wins_conflicts ? ", primary wins conflicts" : ""),
      result.primary_skew_seconds, result.primary_drift * 100,
      result.secondary_skew_seconds, result.secondary_drift * 100,
      result.wide_fields,
      result.host_storage_apart ? "apart" : "with orgsync's state",
      result.steps, result.settle_steps, result.captures, outcome,
      result.storage_writes, result.crashes, result.lost_captures,
      result.restarts, result.races, result.suspensions, result.offline_periods,
      result.partitions, result.messages_dropped, result.messages_duplicated,
      result.bulk_syncs, result.forwards, result.republishes,
      result.conflicts_logged, result.not_applied_logged, result.user_saves,
      result.metadata_writes, result.metadata_renames, result.users_checked,
      result.metadata_items_checked, result.verifies);
}

}  // namespace orgsync::testing
