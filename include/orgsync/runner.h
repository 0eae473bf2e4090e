// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Runner: the optional background thread that steps an Org (DESIGN.md
// rule 1: the engine never starts threads itself; the host steps it, or
// starts this runner, which the library ships for hosts that want no loop
// of their own).
//
// A started Runner calls Org::Step() over and over on a thread of its own:
// at once again while the steps do work (up to RunnerOptions::max_busy_steps
// rounds in a row, then it pauses one idle interval so as not to spin), and
// otherwise after RunnerOptions::idle_interval, or as soon as Wake() is
// called. A host calls Wake() after Connection::Capture when it wants the
// change sent now rather than at the next idle round.
//
// A failing step is not fatal: its status is counted and kept
// (stats().errors, last_error()), the runner waits one idle interval and
// steps again, as a host loop would after a passing Storage error.
//
// Idle waits are measured in real (monotonic) time, not on the Org's
// Clock: they only pace the loop. What the engine does at each step still
// depends on the Org's Clock alone, so a runner over a ManualClock delivers
// everything due at that clock's time and nothing more.
//
// Ownership: the Runner does not own the Org (nor anything the extra step
// uses); they must outlive it. Stop the Runner (or destroy it) before
// destroying the Org.
//
// Thread-safety: Wake(), Stop(), stats() and last_error() may be called
// from any thread at any time. Stop() and the destructor wait for the
// thread to finish its round. Work done on the runner's thread
// (RunnerOptions::extra_step, and host callbacks the Org makes while it
// steps, such as OrgOptions::queue_report or SyncLog observers) may call
// Wake(), stats(), last_error() and Stop() -- which there only asks the
// runner to stop after the round -- but must not destroy the Runner.

#ifndef ORGSYNC_RUNNER_H_
#define ORGSYNC_RUNNER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orgsync/options.h"
#include "orgsync/org.h"

namespace orgsync {

// What a Runner did so far.
struct RunnerStats {
  uint64_t steps = 0;         // rounds: Org::Step() calls
  uint64_t entries_sent = 0;  // sum of what the successful steps returned
  uint64_t extra_work = 0;    // sum of what extra_step returned
  uint64_t errors = 0;        // failed Org::Step() and extra_step calls
  uint64_t idle_waits = 0;    // times a round did no work and it waited
  uint64_t wakes = 0;         // Wake() calls

  friend bool operator==(const RunnerStats&, const RunnerStats&) = default;
};

class Runner {
 public:
  Runner() = default;
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;
  // Stops the runner (see Stop()).
  virtual ~Runner() = default;

  // Starts the thread, which steps `org` at once. InvalidArgument for a
  // null org, an idle interval that is not positive, or max_busy_steps 0;
  // ResourceExhausted if no thread can be started.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Runner>> Start(
      Org* org, RunnerOptions options);

  // Makes the runner start a round now if it is waiting, or start another
  // one right after the round in progress.
  virtual void Wake() = 0;

  // Asks the runner to stop and waits until its thread has ended (the round
  // in progress finishes; no round starts after). Idempotent. From the
  // runner's own thread it only asks: the thread ends after that round.
  virtual void Stop() = 0;

  virtual RunnerStats stats() const = 0;

  // The error of the most recent failed round (step or extra step); OK if
  // none failed yet. Not reset by later successes: compare stats().errors.
  virtual absl::Status last_error() const = 0;
};

}  // namespace orgsync

#endif  // ORGSYNC_RUNNER_H_
