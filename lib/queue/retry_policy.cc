// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// RetryPolicy: exponential backoff with deterministic jitter.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "orgsync/record_queue.h"

namespace orgsync {
namespace {

// SplitMix64's finalizer: a cheap, well-mixed hash of one word. The jitter
// must depend only on its inputs so that a seeded simulation replays.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A number in [0, 1) from (seed, sequence, attempt).
double UnitJitter(uint64_t seed, uint64_t sequence, uint32_t attempt) {
  const uint64_t bits = Mix(Mix(Mix(seed) ^ sequence) ^ attempt);
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

}  // namespace

absl::Status RetryPolicy::Validate() const {
  if (initial_delay <= absl::ZeroDuration() ||
      initial_delay == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("RetryPolicy.initial_delay must be positive and finite, "
                     "not ",
                     absl::FormatDuration(initial_delay)));
  }
  if (!(multiplier >= 1.0) || !std::isfinite(multiplier)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RetryPolicy.multiplier must be finite and at least 1, not ",
        multiplier));
  }
  if (max_delay < initial_delay || max_delay == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("RetryPolicy.max_delay (", absl::FormatDuration(max_delay),
                     ") must be finite and at least initial_delay (",
                     absl::FormatDuration(initial_delay), ")"));
  }
  if (!(jitter >= 0.0 && jitter < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("RetryPolicy.jitter must be in [0, 1), not ", jitter));
  }
  if (max_attempts == 0) {
    return absl::InvalidArgumentError(
        "RetryPolicy.max_attempts must be at least 1");
  }
  return absl::OkStatus();
}

absl::Duration RetryPolicy::DelayAfter(uint64_t sequence,
                                       uint32_t failed_attempts) const {
  if (failed_attempts == 0) failed_attempts = 1;
  // pow may overflow to infinity for large attempt counts; the cap below
  // absorbs that.
  const double growth =
      std::pow(multiplier, static_cast<double>(failed_attempts - 1));
  const double base_seconds =
      std::min(absl::ToDoubleSeconds(initial_delay) * growth,
               absl::ToDoubleSeconds(max_delay));
  const absl::Duration base = std::min(absl::Seconds(base_seconds), max_delay);
  // Jitter only shortens the wait, so the cap holds without clamping and
  // entries that reached the cap still spread out.
  const double factor =
      1.0 - jitter * UnitJitter(jitter_seed, sequence, failed_attempts);
  return base * factor;
}

}  // namespace orgsync
