// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The hybrid clock behind two-way field stamps (DESIGN.md rule 8):
// monotonic, moved past the partner's stamps but not by a runaway partner
// clock, persisted, and safe at the edges of its range.

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <memory>

#include "absl/time/time.h"
#include "engine/hybrid_clock.h"
#include "orgsync/storage.h"
#include "testing/storage_testing.h"

namespace orgsync::internal::hybrid_clock_test {
namespace {

using testing::RequireOk;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

TEST_CASE("Design rule 8: the hybrid clock never goes back, even when the "
          "physical clock does", "[clocks]") {
  std::unique_ptr<Storage> storage = NewMemoryStorage();
  HybridClock clock(storage.get(), "c1");
  const int64_t first = clock.Tick(kNow);
  CHECK(first == absl::ToUnixMicros(kNow));
  CHECK(clock.Tick(kNow) == first + 1);
  CHECK(clock.Tick(kNow - absl::Minutes(5)) == first + 2);
  CHECK(clock.Tick(kNow + absl::Seconds(1)) ==
        absl::ToUnixMicros(kNow + absl::Seconds(1)));
}

TEST_CASE("Design rule 8: a stamp seen from the partner orders every later "
          "local write after it, up to a day ahead of this org's clock",
          "[clocks]") {
  std::unique_ptr<Storage> storage = NewMemoryStorage();
  HybridClock clock(storage.get(), "c1");
  // The partner's clock is five minutes ahead.
  const int64_t partner = absl::ToUnixMicros(kNow + absl::Minutes(5));
  clock.Observe(partner, kNow);
  CHECK(clock.Tick(kNow) == partner + 1);

  // A partner stamp a year ahead moves this clock only a day ahead.
  HybridClock other(storage.get(), "c2");
  other.Observe(absl::ToUnixMicros(kNow + absl::Hours(24 * 365)), kNow);
  CHECK(other.Tick(kNow) ==
        absl::ToUnixMicros(kNow + HybridClock::kMaxForwardSkew) + 1);
}

TEST_CASE("Issue 8 finding 7: partner stamps outside 0..year 9999 are not "
          "acceptable, and the clock stops at the end of its range instead "
          "of overflowing", "[clocks]") {
  CHECK_FALSE(
      HybridClock::IsAcceptableStamp(std::numeric_limits<int64_t>::max()));
  CHECK_FALSE(HybridClock::IsAcceptableStamp(-1));
  CHECK(HybridClock::IsAcceptableStamp(0));
  CHECK(HybridClock::IsAcceptableStamp(HybridClock::kMaxStampMicros));

  std::unique_ptr<Storage> storage = NewMemoryStorage();
  HybridClock clock(storage.get(), "c1");
  const absl::Time end = absl::FromUnixMicros(HybridClock::kMaxStampMicros);
  clock.Observe(HybridClock::kMaxStampMicros, end);
  CHECK(clock.Tick(absl::InfiniteFuture()) == HybridClock::kMaxStampMicros);
  CHECK(clock.Tick(absl::InfiniteFuture()) == HybridClock::kMaxStampMicros);
}

TEST_CASE("Design rule 8: the hybrid clock survives a restart through the "
          "value staged with its writes", "[clocks]") {
  std::unique_ptr<Storage> storage = NewMemoryStorage();
  int64_t last = 0;
  {
    HybridClock clock(storage.get(), "c1");
    clock.Observe(absl::ToUnixMicros(kNow + absl::Minutes(10)), kNow);
    last = clock.Tick(kNow);
    WriteBatch batch;
    clock.Stage(&batch);
    RequireOk(storage->Write(batch, WriteOptions{.sync = true}));
  }
  HybridClock reopened(storage.get(), "c1");
  RequireOk(reopened.Restore());
  CHECK(reopened.Tick(kNow) == last + 1);
  // Another connection's clock is its own.
  HybridClock other(storage.get(), "c2");
  RequireOk(other.Restore());
  CHECK(other.Tick(kNow) == absl::ToUnixMicros(kNow));
}

TEST_CASE(
    "Design rule 8: a partner stamp is covered by a ceiling made "
    "durable before the host sees the partner's write -- a crash that "
    "loses the staged value restores above the stamp",
    "[clocks]") {
  std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
  const int64_t partner = absl::ToUnixMicros(kNow + absl::Minutes(5));
  const int64_t margin = absl::ToInt64Microseconds(HybridClock::kCeilingMargin);
  {
    HybridClock clock(storage.get(), "c1");
    RequireOk(clock.Restore());
    CHECK_FALSE(clock.NeedsCeiling());
    // Local ticks are persisted with the writes that use them.
    clock.Tick(kNow);
    CHECK_FALSE(clock.NeedsCeiling());
    clock.Observe(partner, kNow);
    CHECK(clock.NeedsCeiling());
    RequireOk(clock.PersistCeiling(storage.get()));
    CHECK_FALSE(clock.NeedsCeiling());
    // Within the margin: no sync owed.
    clock.Observe(partner + margin / 2, kNow);
    CHECK_FALSE(clock.NeedsCeiling());
    clock.Observe(partner + margin + 1, kNow);
    CHECK(clock.NeedsCeiling());
    // The apply's own writes (the staged value among them) are not synced
    // when the process dies.
    WriteBatch batch;
    clock.Stage(&batch);
    RequireOk(storage->Write(batch, WriteOptions{.sync = false}));
  }
  storage->SimulateCrash();
  HybridClock reopened(storage.get(), "c1");
  RequireOk(reopened.Restore());
  // Above every stamp observed under the durable ceiling.
  CHECK(reopened.Tick(kNow) == partner + margin + 1);
  CHECK_FALSE(reopened.NeedsCeiling());
}

}  // namespace
}  // namespace orgsync::internal::hybrid_clock_test
