// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The reservation machinery the record queue and the sync log share. Both
// hand out numbers (sequences, events) under a short lock, let the caller
// write outside it -- alone, or inside a larger atomic batch with other
// changes -- and finish the write afterwards. Both must never show a reader
// number N+1 before N is finished, and both give the caller a move-only
// token that must reach its Finish call exactly once.
//
//   ReservedNumbers: which numbers were handed out and which of them are
//     still being written ("in flight"). The visible bound is the lowest
//     in-flight number, or the next number when none is: readers look only
//     below it, which keeps order when writes finish out of order.
//     Not thread-safe: the owner guards it with its own mutex, together with
//     whatever it reserves alongside (the log's clamped time, say).
//
//   PendingWrite<Owner, State>: the token. It carries what Finish needs
//     (State). Destroyed, or overwritten by a move, before Finish took it, it
//     calls owner->Abandon(state): a dropped token counts as a failed write
//     and never leaves a number in flight for ever (which would hide every
//     later entry from readers).

#ifndef ORGSYNC_LIB_INTERNAL_PENDING_WRITES_H_
#define ORGSYNC_LIB_INTERNAL_PENDING_WRITES_H_

#include <cstdint>
#include <map>
#include <utility>

namespace orgsync::internal {

class ReservedNumbers {
 public:
  // The number the next Reserve returns first. Set once when the owner
  // restores itself from storage.
  uint64_t next() const { return next_; }
  void set_next(uint64_t next) { next_ = next; }

  // Reserves `count` (>= 1) consecutive numbers, in flight until Finish;
  // returns the first.
  uint64_t Reserve(uint64_t count) {
    const uint64_t first = next_;
    next_ += count;
    in_flight_.emplace(first, count);
    return first;
  }

  // The write of the numbers reserved from `first` ended (either way).
  void Finish(uint64_t first) { in_flight_.erase(first); }

  // Every number below this was written or failed.
  uint64_t VisibleBound() const {
    return in_flight_.empty() ? next_ : in_flight_.begin()->first;
  }

  // Whether `number` belongs to a reservation still being written.
  bool InFlight(uint64_t number) const {
    auto it = in_flight_.upper_bound(number);
    if (it == in_flight_.begin()) return false;
    --it;
    return number < it->first + it->second;
  }

 private:
  uint64_t next_ = 1;
  std::map<uint64_t, uint64_t> in_flight_;  // first -> count
};

// Owner must have a `void Abandon(State&)` that PendingWrite can call
// (declare `template <typename, typename> friend class PendingWrite;`).
// Token classes derive from PendingWrite and add read accessors; the Owner,
// their friend, creates them and spends them with Take().
template <typename Owner, typename State>
class PendingWrite {
 public:
  PendingWrite(PendingWrite&& other) noexcept
      : owner_(std::exchange(other.owner_, nullptr)),
        state_(std::move(other.state_)) {}
  PendingWrite& operator=(PendingWrite&& other) noexcept {
    if (this != &other) {
      Abandon();
      owner_ = std::exchange(other.owner_, nullptr);
      state_ = std::move(other.state_);
    }
    return *this;
  }
  PendingWrite(const PendingWrite&) = delete;
  PendingWrite& operator=(const PendingWrite&) = delete;
  ~PendingWrite() { Abandon(); }

 protected:
  PendingWrite(Owner* owner, State state)
      : owner_(owner), state_(std::move(state)) {}

  const State& state() const { return state_; }
  State& mutable_state() { return state_; }

  // For the Finish call: the owner, once; null when the token was already
  // spent or moved from. The token no longer abandons anything.
  Owner* Take() { return std::exchange(owner_, nullptr); }

 private:
  void Abandon() {
    if (owner_ != nullptr) std::exchange(owner_, nullptr)->Abandon(state_);
  }

  Owner* owner_ = nullptr;
  State state_;
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_INTERNAL_PENDING_WRITES_H_
