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
// below one it issued before it (a write racing the crash may make the
// restored value a few microseconds low; stamps equal to older ones are
// still ordered deterministically).
//
// A partner's stamp needs more: apply writes the partner's value to the
// host's records, which may live in another database and be durable before
// orgsync's own writes of that envelope are (they share one deferred
// flush). After a crash in between, the host's record shows the partner's
// write while a clock restored from Stage alone has never seen its stamp,
// and the host's next write of that record would be stamped below the
// write it overwrote -- and lose to it in the partner. So observed stamps
// are covered by a ceiling, persisted synced under a key of its own before
// any host write reflects them: when NeedsCeiling() says an observed stamp
// lies above the durable ceiling, PersistCeiling writes a new one
// kCeilingMargin above the clock, so a sync is owed once per margin of the
// partner's time, not per change. Restore starts from the higher of the
// two values: after a crash local stamps may run up to the margin ahead.
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
  // How far above the clock a persisted ceiling lies: the most a restart
  // moves the clock ahead, and the partner time one ceiling sync covers.
  static constexpr absl::Duration kCeilingMargin = absl::Seconds(1);

  // The clock of connection `connection_id`, persisted in `storage`; starts
  // at 0 until Restore.
  HybridClock(Storage* storage, std::string connection_id);
  HybridClock(const HybridClock&) = delete;
  HybridClock& operator=(const HybridClock&) = delete;

  // Reads the persisted value and ceiling (none: 0). DataLoss if one is
  // unreadable.
  [[nodiscard]] absl::Status Restore();

  // A stamp for a local write happening at `physical`: later than every
  // stamp returned or observed before.
  int64_t Tick(absl::Time physical);

  // Moves the clock past a partner's stamp, seen at this org's time
  // `physical` (at most kMaxForwardSkew beyond it). Call only with a stamp
  // IsAcceptableStamp accepted.
  void Observe(int64_t partner_micros, absl::Time physical);

  // Whether a stamp observed so far lies above the durable ceiling: then
  // PersistCeiling must succeed before anything that reflects that stamp
  // reaches a store outside orgsync's Storage.
  bool NeedsCeiling() const;
  // Writes, synced, a ceiling kCeilingMargin above the clock to `storage`
  // (this clock's Storage, or one that writes through to it undeferred).
  // Call from one thread at a time (the step thread).
  [[nodiscard]] absl::Status PersistCeiling(Storage* storage);

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
  const std::string ceiling_key_;
  std::atomic<int64_t> last_{0};
  // The highest partner stamp observed (as far as it moved the clock).
  std::atomic<int64_t> observed_{0};
  // The ceiling known durable: restored, or written by PersistCeiling.
  std::atomic<int64_t> ceiling_{0};
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_ENGINE_HYBRID_CLOCK_H_
