// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "orgsync/clock.h"

#include "absl/time/clock.h"

namespace orgsync {
namespace {

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

Clock* Clock::System() {
  // Leaked on purpose: a clock must outlive every object that may hold it,
  // including ones destroyed during static destruction.
  static Clock* const clock = new SystemClock();
  return clock;
}

ManualClock::ManualClock(absl::Time start) : now_(start) {}

absl::Time ManualClock::Now() const {
  internal::MutexLock lock(&mu_);
  return now_;
}

void ManualClock::Advance(absl::Duration delta) {
  if (delta <= absl::ZeroDuration()) return;
  internal::MutexLock lock(&mu_);
  now_ += delta;
}

void ManualClock::AdvanceTo(absl::Time t) {
  internal::MutexLock lock(&mu_);
  if (t > now_) now_ = t;
}

}  // namespace orgsync
