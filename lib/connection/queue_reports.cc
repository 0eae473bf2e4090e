// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// ConnectionImpl's queue-size reports (R7): while a connection is
// Suspended, the host hears of its queue's size on a schedule kept in the
// connection's state, so that a restart neither loses nor repeats a report.

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "connection/connection_impl.h"
#include "orgsync/status.h"

namespace orgsync::internal {

void ConnectionImpl::TrackSuspension(proto::ConnectionState* next) const {
  if (next->status() != proto::STORED_SUSPENDED) {
    next->clear_suspended_micros();
    next->clear_suspended_by();
    next->clear_queue_report_due_micros();
    next->clear_queue_reports_made();
    return;
  }
  // Another reason joining or leaving an ongoing suspension (admin and
  // partner) keeps its schedule: the backlog has grown since it began.
  if (state_.status() == proto::STORED_SUSPENDED &&
      next->suspended_micros() != 0) {
    return;
  }
  const absl::Time now = StoredNow(*env_->clock);
  next->set_suspended_micros(absl::ToUnixMicros(now));
  next->set_queue_report_due_micros(
      absl::ToUnixMicros(now + env_->queue_report_interval));
  next->set_queue_reports_made(0);
}

absl::Status ConnectionImpl::ReportQueueSizeIfDue() {
  // Without a callback the schedule still stands (TrackSuspension keeps
  // it), so it is simply not acted upon.
  if (!env_->queue_report) return absl::OkStatus();
  QueueSizeReport report;
  {
    internal::MutexLock lock(&mu_);
    if (StatusLocked() != ConnectionStatus::kSuspended) {
      return absl::OkStatus();
    }
    if (state_.suspended_micros() == 0) {
      // Suspended before R7 existed: the schedule starts now.
      return Commit(state_, WriteBatch());
    }
    const absl::Time now = StoredNow(*env_->clock);
    const absl::Time due = absl::FromUnixMicros(state_.queue_report_due_micros());
    if (now < due) return absl::OkStatus();
    const absl::Duration interval = env_->queue_report_interval;
    // The first slot after `now` on the suspension's grid: slots missed
    // while nobody stepped give this one report, not a burst.
    absl::Duration remainder;
    const int64_t missed = absl::IDivDuration(now - due, interval, &remainder);
    const absl::Time next_due = due + (missed + 1) * interval;
    proto::ConnectionState next = state_;
    next.set_queue_report_due_micros(absl::ToUnixMicros(next_due));
    next.set_queue_reports_made(state_.queue_reports_made() + 1);
    // Durable before the host hears of it (see Connection::Step).
    ORGSYNC_RETURN_IF_ERROR(
        Annotate(Commit(std::move(next), WriteBatch()),
                 "scheduling the next queue-size report (R7)"));
    report.connection_id = id_;
    report.time = now;
    report.status = ConnectionStatus::kSuspended;
    report.queued_entries = record_queue_->Count();
    report.owner = state_.owner();
    report.suspended_by = state_.suspended_by();
    report.admin_suspended = state_.admin_suspended();
    report.partner_unavailable = state_.partner_unavailable();
    report.suspended_since = absl::FromUnixMicros(state_.suspended_micros());
    report.report_number = state_.queue_reports_made();
  }
  env_->queue_report(report);
  return absl::OkStatus();
}

}  // namespace orgsync::internal
