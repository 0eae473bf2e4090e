// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "engine/hybrid_clock.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "fmt/format.h"
#include "internal/keys.h"

namespace orgsync::internal {
namespace {

int64_t ClampedMicros(absl::Time t) {
  return std::clamp<int64_t>(absl::ToUnixMicros(t), 0,
                             HybridClock::kMaxStampMicros - 1);
}

}  // namespace

HybridClock::HybridClock(Storage* storage, std::string connection_id)
    : storage_(storage),
      key_(fmt::format("k/{}/hlc", std::move(connection_id))) {}

absl::Status HybridClock::Restore() {
  absl::StatusOr<std::string> stored = storage_->Get(key_);
  if (absl::IsNotFound(stored.status())) return absl::OkStatus();
  if (!stored.ok()) return stored.status();
  std::string_view in = *stored;
  int64_t value = 0;
  if (!ConsumeInt64(&in, &value) || !in.empty() ||
      !IsAcceptableStamp(value)) {
    return absl::DataLossError(
        fmt::format("the hybrid clock at {} is unreadable", key_));
  }
  RaiseTo(value);
  return absl::OkStatus();
}

void HybridClock::RaiseTo(int64_t value) {
  int64_t current = last_.load(std::memory_order_relaxed);
  while (current < value &&
         !last_.compare_exchange_weak(current, value,
                                      std::memory_order_acq_rel)) {
  }
}

int64_t HybridClock::Tick(absl::Time physical) {
  const int64_t now = ClampedMicros(physical);
  int64_t current = last_.load(std::memory_order_relaxed);
  while (true) {
    // At the end of time the clock stops rather than overflow; stamps are
    // then ordered by the rest of the stamp.
    const int64_t next =
        std::max(now, std::min(current + 1, kMaxStampMicros));
    if (last_.compare_exchange_weak(current, next,
                                    std::memory_order_acq_rel)) {
      return next;
    }
  }
}

void HybridClock::Observe(int64_t partner_micros, absl::Time physical) {
  const int64_t ceiling = ClampedMicros(physical + kMaxForwardSkew);
  RaiseTo(std::min(partner_micros, ceiling));
}

void HybridClock::Stage(WriteBatch* batch) const {
  std::string value;
  AppendInt64(&value, last());
  batch->Put(key_, value);
}

}  // namespace orgsync::internal
