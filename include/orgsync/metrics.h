// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Metrics a host scrapes: the state of every connection of an Org in the
// Prometheus text exposition format (version 0.0.4), ready to be served as
// the body of a /metrics endpoint (Content-Type
// "text/plain; version=0.0.4").
//
// Each connection's series carry the label connection="<id>":
//
//   orgsync_connection_info{connection,role,type,status}   gauge, always 1
//   orgsync_partner_available                      gauge 0/1
//   orgsync_queue_entries                          gauge, RecordQueue size
//   orgsync_queue_oldest_entry_age_seconds         gauge, 0 when empty
//   orgsync_changes_sent_total                     queue entries sent,
//                                                  resends included
//   orgsync_changes_resent_total                   of those, after the ack
//                                                  timeout
//   orgsync_changes_acknowledged_total             entries the partner
//                                                  applied (or had)
//   orgsync_changes_failed_total                   failures recorded on
//                                                  queue entries
//   orgsync_changes_applied_total                  the partner's items
//                                                  applied here
//   orgsync_changes_duplicate_total                ... found applied before
//   orgsync_changes_apply_failed_total             ... answered with a
//                                                  failure
//   orgsync_conflicts_total                        two-way conflicts settled
//   orgsync_apply_lag_seconds                      gauge, the last applied
//                                                  change's lag
//   orgsync_sync_log_entries{connection,status}    gauge, per log status
//
// The counters are ConnectionCounters: they count since the Org was opened
// (a restart resets them, which Prometheus' rate() handles). Connections
// appear in the Org's order; an Org without connections gives only the
// HELP and TYPE lines.
//
// Thread-safety: may be called from any thread, concurrently with
// everything else; it takes no lock while host code runs.

#ifndef ORGSYNC_METRICS_H_
#define ORGSYNC_METRICS_H_

#include <string>

#include "absl/status/statusor.h"
#include "orgsync/org.h"

namespace orgsync {

// The metrics of `org`'s connections as described above. Errors are those
// of reading a RecordQueue's oldest entry (its Storage's).
[[nodiscard]] absl::StatusOr<std::string> PrometheusMetrics(const Org& org);

}  // namespace orgsync

#endif  // ORGSYNC_METRICS_H_
