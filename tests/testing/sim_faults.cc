// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/sim_faults.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace orgsync::testing::sim {

SkewedClock::SkewedClock(const Clock* base, Fault fault)
    : base_(base),
      start_(base->Now()),
      skew_(fault.skew),
      drift_(fault.drift) {}

absl::Time SkewedClock::Now() const {
  const absl::Time base = base_->Now();
  const absl::Time now = base + skew_ + (base - start_) * drift_;
  absl::MutexLock lock(&mu_);
  // A drift above -100% never runs backwards by itself; the clamp keeps
  // the promise for any base clock, as orgsync relies on it.
  last_ = std::max(last_, now);
  return last_;
}

void CrashPlan::Arm(uint64_t writes_from_now) {
  crash_at_ = writes_from_now == 0 ? 0 : writes_ + writes_from_now;
}

void CrashPlan::AfterWrite(OrgProcess* process) {
  ++writes_;
  if (crash_at_ != 0 && writes_ == crash_at_) {
    crash_at_ = 0;
    ++crashes_;
    process->Crash();
  }
}

absl::Status CrashingStorage::Write(const WriteBatch& batch,
                                    const WriteOptions& options) {
  if (process_->down()) {
    return absl::UnavailableError(fmt::format(
        "{} crashed: this write never happened", process_->org_id()));
  }
  absl::Status written = ForwardingStorage::Write(batch, options);
  plan_->AfterWrite(process_);
  return written;
}

CrashableTransport::~CrashableTransport() {
  if (handler_ != nullptr) target_->SetHandler(nullptr);
}

void CrashableTransport::SetHandler(TransportHandler* handler) {
  handler_ = handler;
  target_->SetHandler(handler == nullptr ? nullptr : this);
}

absl::Status CrashableTransport::Send(std::string bytes) {
  if (process_->down()) return absl::OkStatus();  // lost with the process
  return target_->Send(std::move(bytes));
}

void CrashableTransport::OnMessage(std::string bytes) {
  if (process_->down() || handler_ == nullptr) return;
  handler_->OnMessage(std::move(bytes));
}

void CrashableTransport::OnAvailabilityChanged(bool available) {
  if (process_->down() || handler_ == nullptr) return;
  handler_->OnAvailabilityChanged(available);
}

absl::StatusOr<Record> RacingStore::Update(std::string_view object,
                                           std::string_view id,
                                           const FieldMap& changes,
                                           const ApplyContext& context) {
  if (context.from_replication && hook_) hook_(object, id, changes);
  return ForwardingRecordStore::Update(object, id, changes, context);
}

absl::StatusOr<CascadeResult> RacingStore::Delete(std::string_view object,
                                                  std::string_view id,
                                                  const ApplyContext& context) {
  if (context.from_replication && hook_) hook_(object, id, FieldMap{});
  return ForwardingRecordStore::Delete(object, id, context);
}

absl::StatusOr<CascadeResult> RacingStore::Undelete(
    std::string_view object, std::string_view id, const ApplyContext& context) {
  if (context.from_replication && hook_) hook_(object, id, FieldMap{});
  return ForwardingRecordStore::Undelete(object, id, context);
}

}  // namespace orgsync::testing::sim
