// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// HybridClock: the time in the stamps that order writes of one connection's
// records across the two orgs (DESIGN.md rule 8, two-way conflicts).
//
// The two orgs' wall clocks do not agree: with one org five minutes behind,
// a field written there after it received the partner's write would still
// carry the older time and lose, and the orgs would end with different
// values. A hybrid logical clock keeps physical time where the clocks agree
// and repairs causality where they do not: every stamp this side issues is
// later than every stamp it issued or saw from the partner before, so a
// write made after seeing the partner's write always wins over it. Equal
// stamps are ordered by the rest of the stamp (StampLess), the same way in
// both orgs.
//
// The clock is one number, Unix micros. Tick(physical) returns
// max(physical, last + 1); Observe(stamp) moves last up to a partner's
// stamp. The last value is persisted with the writes that use it (Stage),
// and Restore reads it back at open, so a restart never issues a stamp
// below one it issued or saw before it (a write racing the crash may make
// the restored value a few microseconds low; stamps equal to older ones
// are still ordered deterministically).
//
// A partner's stamp is range-checked before it is observed
// (IsAcceptableStamp): a stamp past kMaxStampMicros (the end of year 9999)
// is refused, so that no arithmetic on stamps overflows, and a stamp more
// than kMaxForwardSkew ahead of this org's clock moves the clock only that
// far, so one partner with a runaway clock cannot drag this org's stamps
// into the far future.
//
// Thread-safety: every method may be called concurrently (lock-free).

#ifndef ORGSYNC_LIB_ENGINE_HYBRID_CLOCK_H_
#define ORGSYNC_LIB_ENGINE_HYBRID_CLOCK_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orgsync/storage.h"

namespace orgsync::internal {

class HybridClock {
 public:
  // 9999-12-31T23:59:59.999999Z in Unix micros.
  static constexpr int64_t kMaxStampMicros = 253402300799999999;
  // How far ahead of this org's clock a partner's stamp may move this one.
  static constexpr absl::Duration kMaxForwardSkew = absl::Hours(24);

  // The clock of connection `connection_id`, persisted in `storage`; starts
  // at 0 until Restore.
  HybridClock(Storage* storage, std::string connection_id);
  HybridClock(const HybridClock&) = delete;
  HybridClock& operator=(const HybridClock&) = delete;

  // Reads the persisted value (none: 0). DataLoss if it is unreadable.
  [[nodiscard]] absl::Status Restore();

  // A stamp for a local write happening at `physical`: later than every
  // stamp returned or observed before.
  int64_t Tick(absl::Time physical);

  // Moves the clock past a partner's stamp, seen at this org's time
  // `physical` (at most kMaxForwardSkew beyond it). Call only with a stamp
  // IsAcceptableStamp accepted.
  void Observe(int64_t partner_micros, absl::Time physical);

  // Whether a partner-supplied stamp may be used at all: 0 ("no time", as
  // older senders and tests send) up to kMaxStampMicros.
  static bool IsAcceptableStamp(int64_t micros) {
    return micros >= 0 && micros <= kMaxStampMicros;
  }

  // Stages the current value into `batch`, to be written with the stamps
  // it ordered.
  void Stage(WriteBatch* batch) const;

  int64_t last() const { return last_.load(std::memory_order_acquire); }

 private:
  // Raises last_ to at least `value`.
  void RaiseTo(int64_t value);

  Storage* const storage_;
  const std::string key_;
  std::atomic<int64_t> last_{0};
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_ENGINE_HYBRID_CLOCK_H_
