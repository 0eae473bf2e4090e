// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include <catch2/catch.hpp>

#include "orgsync/clock.h"

namespace orgsync::clock_test {
namespace {

TEST_CASE("ManualClock moves only forward and only when told") {
  const absl::Time start = absl::FromUnixSeconds(1000);
  ManualClock clock(start);
  CHECK(clock.Now() == start);
  clock.Advance(absl::Seconds(5));
  CHECK(clock.Now() == start + absl::Seconds(5));
  clock.Advance(absl::Seconds(-3));
  CHECK(clock.Now() == start + absl::Seconds(5));
  clock.AdvanceTo(start);
  CHECK(clock.Now() == start + absl::Seconds(5));
  clock.AdvanceTo(start + absl::Minutes(1));
  CHECK(clock.Now() == start + absl::Minutes(1));
}

TEST_CASE("System clock follows the wall clock") {
  const absl::Time a = Clock::System()->Now();
  const absl::Time b = Clock::System()->Now();
  CHECK(b >= a);
  CHECK(a > absl::FromUnixSeconds(1700000000));
  CHECK(Clock::System() == Clock::System());
}

}  // namespace
}  // namespace orgsync::clock_test
