// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "engine/hybrid_clock.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fmt/format.h"
#include "internal/keys.h"
#include "orgsync/status.h"

namespace orgsync::internal {
namespace {

int64_t ClampedMicros(absl::Time t) {
  return std::clamp<int64_t>(absl::ToUnixMicros(t), 0,
                             HybridClock::kMaxStampMicros - 1);
}

// A persisted clock value under `key`; 0 if there is none.
absl::StatusOr<int64_t> ReadStamp(Storage* storage, const std::string& key) {
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                           storage->GetIfPresent(key));
  if (!stored.has_value()) return 0;
  std::string_view in = *stored;
  int64_t value = 0;
  if (!ConsumeInt64(&in, &value) || !in.empty() ||
      !HybridClock::IsAcceptableStamp(value)) {
    return absl::DataLossError(
        fmt::format("the hybrid clock at {} is unreadable", key));
  }
  return value;
}

}  // namespace

HybridClock::HybridClock(Storage* storage, std::string connection_id)
    : storage_(storage),
      key_(fmt::format("k/{}/hlc", connection_id)),
      ceiling_key_(fmt::format("k/{}/hlc_ceiling", connection_id)) {}

absl::Status HybridClock::Restore() {
  absl::StatusOr<int64_t> value = ReadStamp(storage_, key_);
  if (!value.ok()) return value.status();
  absl::StatusOr<int64_t> ceiling = ReadStamp(storage_, ceiling_key_);
  if (!ceiling.ok()) return ceiling.status();
  RaiseTo(std::max(*value, *ceiling));
  ceiling_.store(std::max(ceiling_.load(), *ceiling));
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
  const int64_t seen =
      std::min(partner_micros, ClampedMicros(physical + kMaxForwardSkew));
  RaiseTo(seen);
  int64_t observed = observed_.load(std::memory_order_relaxed);
  while (observed < seen &&
         !observed_.compare_exchange_weak(observed, seen,
                                          std::memory_order_acq_rel)) {
  }
}

bool HybridClock::NeedsCeiling() const {
  return observed_.load(std::memory_order_acquire) >
         ceiling_.load(std::memory_order_acquire);
}

absl::Status HybridClock::PersistCeiling(Storage* storage) {
  const int64_t margin = absl::ToInt64Microseconds(kCeilingMargin);
  const int64_t ceiling =
      std::min(std::max(last(), observed_.load()), kMaxStampMicros - margin) +
      margin;
  std::string value;
  AppendInt64(&value, ceiling);
  WriteBatch batch;
  batch.Put(ceiling_key_, value);
  absl::Status written = storage->Write(batch, WriteOptions{.sync = true});
  if (!written.ok()) return written;
  if (ceiling_.load() < ceiling) ceiling_.store(ceiling);
  return absl::OkStatus();
}

void HybridClock::Stage(WriteBatch* batch) const {
  std::string value;
  AppendInt64(&value, last());
  batch->Put(key_, value);
}

}  // namespace orgsync::internal
