// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Crash test with real processes (issue 12, item 4): a primary and a
// secondary orgsync-node over mutual TLS, a random two-way workload on
// both sides, and one of them killed at random moments -- SIGKILL (the
// page cache survives) or a power loss (SIGUSR1 to a node running with
// --power-loss-signal: everything not synced is dropped, see
// lib/node/power_loss_env.h) -- and restarted each time.
//
// The driver records every write the node acknowledged (its Capture call
// returned OK: the write and its capture are durable). A write whose
// answer the kill cut off is repeated, unchanged, once the node is back,
// until it is acknowledged; so at the end the expected state of every
// record is its last acknowledged write. Each side writes its own set of
// records (keys "a..." on the primary, "b..." on the secondary), so the
// checks are exact, with no conflict to settle. At the end both nodes are
// restarted, left to converge, and checked:
//   lost        a record whose last acknowledged write one side lacks
//               (missing, or holding an older value);
//   duplicated  a record held twice by one side;
//   divergent   a record whose two copies differ otherwise, or that holds
//               a value never written;
//   stuck       queued entries that failed an attempt with no SyncLog
//               entry for their record, or a queue that never drained.
// All four must be 0.
//
// Knobs (environment): ORGSYNC_CRASH_KILLS (default 20; the closing note's
// long run used 500), ORGSYNC_CRASH_SEED (default: from the clock; always
// printed), ORGSYNC_CRASH_POWER_LOSS_PERCENT (share of kills that are
// power losses, default 30). A seed replays the same schedule of writes
// and kills; where a kill lands in the nodes' work depends on timing.

#include <signal.h>
#include <sys/types.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fmt/core.h"
#include "testing/node_pair.h"
#include "testing/node_process.h"

namespace orgsync::node_crash_test {
namespace {

using testing::ItemState;
using testing::NodePair;
using testing::NodeProcess;
using testing::ReadFileText;
using testing::WaitUntil;

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  uint64_t value = 0;
  if (text == nullptr || !absl::SimpleAtoi(text, &value)) return fallback;
  return value;
}

// A write of the workload.
struct Write {
  std::string key;
  bool is_delete = false;
  std::string value;  // for upserts
};

// One side's records, as the driver wrote them.
struct SideLedger {
  std::string prefix;  // "a" or "b"
  // Last acknowledged state per key.
  std::map<std::string, ItemState> acked;
  // Every value ever written per key (to tell "older" from "never").
  std::map<std::string, std::set<std::string>> written;
  // The write whose answer a kill cut off; repeated until acknowledged.
  std::vector<Write> unanswered;
  int next_key = 0;
};

struct Figures {
  uint64_t kills = 0;
  uint64_t sigkills = 0;
  uint64_t power_losses = 0;
  uint64_t captures = 0;  // acknowledged writes
  uint64_t repeated = 0;  // writes repeated after their answer was cut off
  uint64_t lost = 0;
  uint64_t duplicated = 0;
  uint64_t divergent = 0;
  uint64_t stuck = 0;
  // What the power losses dropped: files cut back to their synced length,
  // files removed because their folder was not synced since they were
  // made.
  uint64_t files_cut_back = 0;
  uint64_t files_removed = 0;
};

class CrashDriver {
 public:
  CrashDriver(uint64_t seed, uint64_t kills, uint64_t power_loss_percent)
      : random_(seed),
        kills_(kills),
        power_loss_percent_(power_loss_percent),
        pair_({.ack_timeout_ms = 500,
               .retry_initial_delay_ms = 200,
               .extra_run_args = {"--power-loss-signal"}}) {
    a_.prefix = "a";
    b_.prefix = "b";
  }

  Figures Run() {
    pair_.StartBoth();
    pair_.Connect();
    while (figures_.kills < kills_) {
      // A burst of writes on both sides, and a kill at a random moment of
      // it: during a write the victim may be answering, or between two,
      // while the nodes deliver and apply what came before.
      const bool primary = Uniform(0, 1) == 0;
      const bool power_loss =
          Uniform(0, 99) < static_cast<int>(power_loss_percent_);
      const int writes = Uniform(2, 24);
      const int kill_after_ms = Uniform(0, 80);
      const pid_t victim = (primary ? pair_.primary : pair_.secondary).pid();
      std::thread killer([victim, power_loss, kill_after_ms] {
        absl::SleepFor(absl::Milliseconds(kill_after_ms));
        kill(victim, power_loss ? SIGUSR1 : SIGKILL);
      });
      for (int i = 0; i < writes; ++i) {
        const bool on_primary = Uniform(0, 1) == 0;
        DoWrite(on_primary ? pair_.primary : pair_.secondary,
                on_primary ? a_ : b_);
      }
      killer.join();
      Restart(primary, power_loss);
    }
    Finish();
    CountPowerLossDrops();
    return figures_;
  }

  const std::string& log() const { return pair_.log(); }

 private:
  int Uniform(int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random_);
  }
  static void SleepMillis(int millis) {
    absl::SleepFor(absl::Milliseconds(millis));
  }

  Write NextWrite(SideLedger& side) {
    Write write;
    std::vector<std::string> live;
    for (const auto& [key, state] : side.acked) {
      if (!state.deleted) live.push_back(key);
    }
    const int roll = Uniform(0, 99);
    if (live.empty() || roll < 35) {
      write.key = absl::StrCat(side.prefix, side.next_key++);
    } else {
      write.key = live[Uniform(0, static_cast<int>(live.size()) - 1)];
      write.is_delete = roll >= 90;
    }
    if (!write.is_delete) {
      write.value = absl::StrCat(write.key, "@", ++value_counter_);
    }
    return write;
  }

  // The driver's record ids are its keys: a repeated insert then finds the
  // record its cut-off first attempt wrote, instead of making another.
  bool Send(NodeProcess& node, const Write& write) {
    if (write.is_delete) {
      return NodePair::Delete(node, write.key, absl::Seconds(5)).ok();
    }
    return NodePair::Upsert(node, write.key,
                            {{"Key", write.key}, {"Value", write.value}},
                            absl::Seconds(5))
        .ok();
  }

  void Acknowledge(SideLedger& side, const Write& write) {
    ++figures_.captures;
    ItemState& state = side.acked[write.key];
    if (write.is_delete) {
      state.deleted = true;
    } else {
      state.value = write.value;
      state.deleted = false;
    }
  }

  void DoWrite(NodeProcess& node, SideLedger& side) {
    // A cut-off write goes first, as it was.
    if (!RepeatUnanswered(node, side)) return;
    const Write write = NextWrite(side);
    if (!write.is_delete) side.written[write.key].insert(write.value);
    if (Send(node, write)) {
      Acknowledge(side, write);
    } else {
      side.unanswered.push_back(write);
    }
  }

  bool RepeatUnanswered(NodeProcess& node, SideLedger& side) {
    while (!side.unanswered.empty()) {
      if (!Send(node, side.unanswered.front())) return false;
      ++figures_.repeated;
      Acknowledge(side, side.unanswered.front());
      side.unanswered.erase(side.unanswered.begin());
    }
    return true;
  }

  // Stops the node with SIGTERM and returns its exit code. A node that does
  // not stop cleanly says why in the pair's log (a sanitizer's report goes
  // there too), which then joins the test's messages.
  int Stop(NodeProcess& node) {
    node.Signal(SIGTERM);
    const int code = node.Wait();
    if (code != 0) UNSCOPED_INFO(ReadFileText(pair_.log()));
    return code;
  }

  // The victim was sent its signal: it ends as that signal says, and is
  // started again.
  void Restart(bool primary, bool power_loss) {
    NodeProcess& node = primary ? pair_.primary : pair_.secondary;
    ++figures_.kills;
    const int code = node.Wait();
    INFO(ReadFileText(pair_.log()));
    if (power_loss) {
      ++figures_.power_losses;
      REQUIRE(code == 86);
    } else {
      ++figures_.sigkills;
      REQUIRE(code == 128 + SIGKILL);
    }
    REQUIRE((primary ? pair_.StartPrimary() : pair_.StartSecondary()).ok());
    REQUIRE(node.WaitServing());
  }

  // What the power losses dropped, from the nodes' own reports.
  void CountPowerLossDrops() {
    const std::string log = ReadFileText(pair_.log());
    static constexpr char kMarker[] = "power loss: ";
    for (size_t at = log.find(kMarker); at != std::string::npos;
         at = log.find(kMarker, at + 1)) {
      int truncated = 0;
      int removed = 0;
      if (std::sscanf(log.c_str() + at + sizeof(kMarker) - 1,
                      "%d file(s) cut back to their synced length, %d",
                      &truncated, &removed) == 2) {
        figures_.files_cut_back += truncated;
        figures_.files_removed += removed;
      }
    }
  }

  // Both restarted, the cut-off writes repeated, then both left to drain.
  void Finish() {
    for (NodeProcess* node : {&pair_.primary, &pair_.secondary}) {
      REQUIRE(Stop(*node) == 0);
    }
    pair_.StartBoth();
    REQUIRE(WaitUntil([&] {
      return RepeatUnanswered(pair_.primary, a_) &&
             RepeatUnanswered(pair_.secondary, b_);
    }));
    std::map<std::string, ItemState> expected = a_.acked;
    expected.insert(b_.acked.begin(), b_.acked.end());
    const bool converged = WaitUntil(
        [&] {
          if (!NodePair::Idle(pair_.primary) ||
              !NodePair::Idle(pair_.secondary)) {
            return false;
          }
          for (NodeProcess* node : {&pair_.primary, &pair_.secondary}) {
            absl::StatusOr<std::map<std::string, ItemState>> items =
                NodePair::Items(*node);
            if (!items.ok() || *items != expected) return false;
          }
          return true;
        },
        absl::Seconds(30));
    if (!converged) ++figures_.stuck;
    Check(expected);
    for (NodeProcess* node : {&pair_.primary, &pair_.secondary}) {
      const node::StatusReply status = NodePair::Status(*node);
      for (const node::ConnectionStatusText& connection :
           status.connections()) {
        figures_.stuck += connection.queued_without_log();
      }
      CHECK(Stop(*node) == 0);
    }
  }

  void Check(const std::map<std::string, ItemState>& expected) {
    std::map<std::string, std::set<std::string>> written = a_.written;
    written.insert(b_.written.begin(), b_.written.end());
    std::map<std::string, ItemState> held[2];
    int side = 0;
    for (NodeProcess* node : {&pair_.primary, &pair_.secondary}) {
      std::vector<std::string> duplicates;
      absl::StatusOr<std::map<std::string, ItemState>> items =
          NodePair::Items(*node, &duplicates);
      REQUIRE(items.ok());
      held[side++] = *items;
      figures_.duplicated += duplicates.size();
      for (const std::string& key : duplicates) {
        if (++reported_ <= kMaxReported) {
          std::printf("crash test: %s held twice by side %d\n", key.c_str(),
                      side);
        }
      }
    }
    for (const auto& [key, state] : expected) {
      bool lost = false;
      bool divergent = false;
      for (const auto& items : held) {
        auto it = items.find(key);
        if (it == items.end()) {
          lost = true;
          continue;
        }
        if (it->second == state) continue;
        const ItemState& found = it->second;
        if (state.deleted && !found.deleted) {
          lost = true;  // the acknowledged delete is missing
        } else if (!found.deleted && found.value != state.value &&
                   written[key].contains(found.value)) {
          lost = true;  // an older write than the last acknowledged one
        } else {
          divergent = true;
        }
      }
      if ((lost || divergent) && ++reported_ <= kMaxReported) {
        std::printf("crash test: %s: expected %s%s; primary %s, secondary %s\n",
                    key.c_str(), state.value.c_str(),
                    state.deleted ? " (deleted)" : "",
                    Describe(held[0], key).c_str(),
                    Describe(held[1], key).c_str());
      }
      figures_.lost += lost ? 1 : 0;
      figures_.divergent += (!lost && divergent) ? 1 : 0;
    }
    for (const auto& items : held) {
      for (const auto& [key, state] : items) {
        if (expected.contains(key)) continue;
        ++figures_.divergent;  // never written by the driver
        if (++reported_ <= kMaxReported) {
          std::printf("crash test: %s was never written\n", key.c_str());
        }
      }
    }
  }

  static std::string Describe(const std::map<std::string, ItemState>& items,
                              const std::string& key) {
    auto it = items.find(key);
    if (it == items.end()) return "none";
    return it->second.value + "/" + it->second.amount +
           (it->second.deleted ? " (deleted)" : "");
  }

  std::mt19937_64 random_;
  const uint64_t kills_;
  const uint64_t power_loss_percent_;
  NodePair pair_;
  SideLedger a_;
  SideLedger b_;
  uint64_t value_counter_ = 0;
  Figures figures_;
  // Differences printed so far (the first few are enough to debug).
  static constexpr int kMaxReported = 20;
  int reported_ = 0;
};

TEST_CASE(
    "Crash test: a primary and a secondary orgsync-node killed (SIGKILL and "
    "power loss) at random moments lose, duplicate and diverge nothing",
    "[node][crash]") {
  const uint64_t seed =
      EnvNumber("ORGSYNC_CRASH_SEED",
                static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())));
  const uint64_t kills = EnvNumber("ORGSYNC_CRASH_KILLS", 20);
  const uint64_t power_loss_percent =
      EnvNumber("ORGSYNC_CRASH_POWER_LOSS_PERCENT", 30);
  const absl::Time start = absl::Now();
  std::printf("crash test: seed %llu, %llu kills, %llu%% power losses\n",
              static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(kills),
              static_cast<unsigned long long>(power_loss_percent));
  std::fflush(stdout);
  INFO("seed " << seed << " (ORGSYNC_CRASH_SEED replays it)");
  CrashDriver driver(seed, kills, power_loss_percent);
  const Figures figures = driver.Run();
  std::printf(
      "crash test: seed %llu: kills %llu (SIGKILL %llu, power loss %llu), "
      "captures %llu (%llu repeated after a cut-off answer), lost %llu, "
      "duplicated %llu, divergent %llu, stuck %llu; power losses cut back "
      "%llu file(s) and removed %llu; %.1f s\n",
      static_cast<unsigned long long>(seed),
      static_cast<unsigned long long>(figures.kills),
      static_cast<unsigned long long>(figures.sigkills),
      static_cast<unsigned long long>(figures.power_losses),
      static_cast<unsigned long long>(figures.captures),
      static_cast<unsigned long long>(figures.repeated),
      static_cast<unsigned long long>(figures.lost),
      static_cast<unsigned long long>(figures.duplicated),
      static_cast<unsigned long long>(figures.divergent),
      static_cast<unsigned long long>(figures.stuck),
      static_cast<unsigned long long>(figures.files_cut_back),
      static_cast<unsigned long long>(figures.files_removed),
      absl::ToDoubleSeconds(absl::Now() - start));
  std::fflush(stdout);
  CHECK(figures.kills == kills);
  CHECK(figures.captures > 0);
  CHECK(figures.lost == 0);
  CHECK(figures.duplicated == 0);
  CHECK(figures.divergent == 0);
  CHECK(figures.stuck == 0);
}

}  // namespace
}  // namespace orgsync::node_crash_test
