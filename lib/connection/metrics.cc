// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// PrometheusMetrics (orgsync/metrics.h): reads each connection once, then
// writes the samples grouped by metric, as the exposition format wants
// every sample of a metric after that metric's HELP and TYPE lines.

#include "orgsync/metrics.h"

#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "orgsync/connection.h"
#include "orgsync/record_queue.h"
#include "orgsync/status.h"
#include "orgsync/sync_log.h"

namespace orgsync {
namespace {

// What one connection shows, read once.
struct ConnectionSample {
  std::string id;
  std::string role;
  std::string type;
  std::string status;
  bool partner_available = false;
  uint64_t queue_entries = 0;
  absl::Duration oldest_entry_age;
  ConnectionCounters counters;
  std::map<LogStatus, uint64_t> log_entries;
};

// A label value: backslash, double quote and newline escaped.
std::string LabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Seconds(absl::Duration duration) {
  return fmt::format("{:.6f}", absl::ToDoubleSeconds(duration));
}

class MetricsWriter {
 public:
  explicit MetricsWriter(const std::vector<ConnectionSample>& samples)
      : samples_(samples) {}

  // One metric: its HELP and TYPE lines, then a sample per connection.
  void Metric(std::string_view name, std::string_view type,
              std::string_view help,
              const std::function<std::string(const ConnectionSample&)>&
                  value) {
    Header(name, type, help);
    for (const ConnectionSample& sample : samples_) {
      out_ += fmt::format("{}{{connection=\"{}\"}} {}\n", name,
                          LabelValue(sample.id), value(sample));
    }
  }

  void Counter(std::string_view name, std::string_view help,
               uint64_t ConnectionCounters::*field) {
    Metric(name, "counter", help, [field](const ConnectionSample& sample) {
      return std::to_string(sample.counters.*field);
    });
  }

  void Info() {
    Header("orgsync_connection_info", "gauge",
           "The connection's role, type and status (always 1).");
    for (const ConnectionSample& sample : samples_) {
      out_ += fmt::format(
          "orgsync_connection_info{{connection=\"{}\",role=\"{}\",type=\"{}\","
          "status=\"{}\"}} 1\n",
          LabelValue(sample.id), LabelValue(sample.role),
          LabelValue(sample.type), LabelValue(sample.status));
    }
  }

  void LogEntries() {
    Header("orgsync_sync_log_entries", "gauge",
           "Entries in the connection's sync log, by status.");
    for (const ConnectionSample& sample : samples_) {
      for (const LogStatus status : kAllLogStatuses) {
        const auto found = sample.log_entries.find(status);
        out_ += fmt::format(
            "orgsync_sync_log_entries{{connection=\"{}\",status=\"{}\"}} {}\n",
            LabelValue(sample.id), LabelValue(LogStatusName(status)),
            found == sample.log_entries.end() ? 0 : found->second);
      }
    }
  }

  std::string Take() { return std::move(out_); }

 private:
  void Header(std::string_view name, std::string_view type,
              std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                        type);
  }

  const std::vector<ConnectionSample>& samples_;
  std::string out_;
};

}  // namespace

absl::StatusOr<std::string> PrometheusMetrics(const Org& org) {
  std::vector<ConnectionSample> samples;
  for (Connection* connection : org.Connections()) {
    ConnectionSample sample;
    sample.id = connection->id();
    sample.role = ReplicationRoleName(connection->role());
    sample.type = ConnectionTypeName(connection->type());
    sample.status = ConnectionStatusName(connection->status());
    sample.partner_available = connection->partner_available();
    sample.queue_entries = connection->record_queue()->Count();
    ORGSYNC_ASSIGN_OR_RETURN(sample.oldest_entry_age,
                             connection->record_queue()->OldestEntryAge());
    sample.counters = connection->counters();
    sample.log_entries = connection->sync_log()->CountByStatus();
    samples.push_back(std::move(sample));
  }

  MetricsWriter writer(samples);
  writer.Info();
  writer.Metric("orgsync_partner_available", "gauge",
                "1 when the partner org can be reached, else 0.",
                [](const ConnectionSample& sample) {
                  return std::string(sample.partner_available ? "1" : "0");
                });
  writer.Metric("orgsync_queue_entries", "gauge",
                "Entries waiting in the connection's record queue.",
                [](const ConnectionSample& sample) {
                  return std::to_string(sample.queue_entries);
                });
  writer.Metric("orgsync_queue_oldest_entry_age_seconds", "gauge",
                "How long the oldest queue entry has waited (0 when empty).",
                [](const ConnectionSample& sample) {
                  return Seconds(sample.oldest_entry_age);
                });
  writer.Counter("orgsync_changes_sent_total",
                 "Queue entries sent to the partner, resends included.",
                 &ConnectionCounters::entries_sent);
  writer.Counter("orgsync_changes_resent_total",
                 "Queue entries sent again after the ack timeout.",
                 &ConnectionCounters::entries_resent);
  writer.Counter("orgsync_changes_acknowledged_total",
                 "Queue entries the partner applied or already had.",
                 &ConnectionCounters::entries_acknowledged);
  writer.Counter("orgsync_changes_failed_total",
                 "Failures recorded on queue entries (retrying or failed).",
                 &ConnectionCounters::entries_failed);
  writer.Counter("orgsync_changes_applied_total",
                 "Items from the partner applied here.",
                 &ConnectionCounters::items_applied);
  writer.Counter("orgsync_changes_duplicate_total",
                 "Items from the partner found applied before.",
                 &ConnectionCounters::items_duplicate);
  writer.Counter("orgsync_changes_apply_failed_total",
                 "Items from the partner answered with a failure.",
                 &ConnectionCounters::items_failed);
  writer.Counter("orgsync_conflicts_total",
                 "Fields and users changed in both orgs, settled and logged.",
                 &ConnectionCounters::conflicts);
  writer.Metric("orgsync_apply_lag_seconds", "gauge",
                "For the last record change applied: this org's time of "
                "applying it minus the partner's time of the write.",
                [](const ConnectionSample& sample) {
                  return Seconds(sample.counters.last_apply_lag);
                });
  writer.LogEntries();
  return writer.Take();
}

}  // namespace orgsync
