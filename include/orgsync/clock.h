// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Clock: where orgsync reads the time.
//
// The engine never reads the wall clock directly (DESIGN.md, rule 1): retry
// dates, log times, suspension notices and bulk-sync cutoffs all come from
// the Clock the host hands in. Production code uses Clock::System(); tests
// and simulations use a ManualClock and advance it themselves, which makes a
// seeded run replay exactly.
//
// Thread-safety: every method of every Clock here may be called from any
// thread at the same time.

#ifndef ORGSYNC_CLOCK_H_
#define ORGSYNC_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "orgsync/internal/mutex.h"

namespace orgsync {

class Clock {
 public:
  Clock() = default;
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;
  virtual ~Clock() = default;

  // The current time. Never fails.
  virtual absl::Time Now() const = 0;

  // The process-wide wall clock. The returned object lives forever; the
  // caller does not own it.
  static Clock* System();
};

// A clock that moves only when told to. Starts at `start` (by default the
// Unix epoch plus a fixed offset, so times print as plausible dates).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::FromUnixSeconds(1767225600));

  absl::Time Now() const override;

  // Moves the clock forward by `delta`; a negative delta is ignored, because
  // orgsync relies on time never running backwards.
  void Advance(absl::Duration delta);

  // Sets the clock to `t` if `t` is not earlier than Now().
  void AdvanceTo(absl::Time t);

 private:
  mutable internal::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace orgsync

#endif  // ORGSYNC_CLOCK_H_
