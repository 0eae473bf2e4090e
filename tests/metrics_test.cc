// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// PrometheusMetrics (orgsync/metrics.h), read as a host's /metrics endpoint
// would serve it: the format a Prometheus server parses, and the figures of
// two orgs that synced, queued, conflicted and lagged.

#include "orgsync/metrics.h"

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "orgsync/capture.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "testing/connection_fixture.h"
#include "testing/crm_schema.h"
#include "testing/storage_testing.h"

namespace orgsync::metrics_test {
namespace {

using testing::RequireOk;

// Two orgs syncing Account both ways, the secondary's clock 3 s ahead.
struct MetricsWorld {
  MetricsWorld() {
    testing::FillSchema(primary_schema.get());
    testing::FillSchema(secondary_schema.get());
    testing::TwoOrgsConfig config;
    config.primary_schema = primary_schema.get();
    config.secondary_schema = secondary_schema.get();
    config.primary_record_store = primary_store.get();
    config.secondary_record_store = secondary_store.get();
    config.secondary_clock_offset = absl::Seconds(3);
    t = std::make_unique<testing::TwoOrgs>(
        1, testing::NewReopenableMemoryStorage(),
        testing::NewReopenableMemoryStorage(), std::move(config));
    store_clock.target = &t->clock;
    InvitationOptions options = testing::DefaultInvitation();
    options.sync = {};
    std::tie(p, s) = t->Connect(options);
    for (auto [from, to] : {std::pair{p, s}, std::pair{s, p}}) {
      RequireOk(from->publish_set()->PublishObjects({"Account"}));
      REQUIRE(t->Settle());
      RequireOk(to->subscription_map()->Subscribe("Account"));
      REQUIRE(t->Settle());
    }
  }

  // The host of `store` changes the Phone of (Account, id), captured.
  void SetPhone(RecordStore* store, Connection* connection,
                const std::string& id, const std::string& phone) {
    absl::StatusOr<Record> updated =
        store->Update("Account", id, {{"Phone", phone}}, ApplyContext{});
    RequireOk(updated.status());
    testing::CaptureWrite(connection, ChangeKind::kUpdate, *updated,
                          {"Phone"});
  }

  std::unique_ptr<Schema> primary_schema = std::make_unique<Schema>();
  std::unique_ptr<Schema> secondary_schema = std::make_unique<Schema>();
  testing::ForwardingClock store_clock;
  std::unique_ptr<RecordStore> primary_store =
      testing::NewCrmRecordStore(primary_schema.get(), &store_clock, "P-");
  std::unique_ptr<RecordStore> secondary_store =
      testing::NewCrmRecordStore(secondary_schema.get(), &store_clock, "S-");
  std::unique_ptr<testing::TwoOrgs> t;
  Connection* p = nullptr;
  Connection* s = nullptr;
};

// The samples of the exposition text, by "name{labels}"; fails on a line
// that is neither a HELP/TYPE comment nor a sample, and on a sample whose
// metric has no TYPE line before it.
std::map<std::string, std::string> Samples(const std::string& text) {
  static const std::regex kSample(
      R"(^([a-z_]+)(\{[a-z_]+="[^"\\\n]*"(,[a-z_]+="[^"\\\n]*")*\}) (-?[0-9]+(\.[0-9]+)?)$)");
  static const std::regex kComment(R"(^# (HELP|TYPE) ([a-z_]+) .+$)");
  std::map<std::string, std::string> samples;
  std::set<std::string> typed;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch match;
    if (std::regex_match(line, match, kComment)) {
      if (match[1] == "TYPE") typed.insert(match[2]);
      continue;
    }
    INFO(line);
    REQUIRE(std::regex_match(line, match, kSample));
    CHECK(typed.count(match[1]) == 1);
    samples[std::string(match[1]) + std::string(match[2])] = match[4];
  }
  return samples;
}

std::map<std::string, std::string> MetricsOf(const Org& org) {
  absl::StatusOr<std::string> text = PrometheusMetrics(org);
  RequireOk(text.status());
  return Samples(*text);
}

double Number(const std::map<std::string, std::string>& samples,
              const std::string& key) {
  INFO(key);
  const auto found = samples.find(key);
  REQUIRE(found != samples.end());
  return std::stod(found->second);
}

TEST_CASE(
    "Metrics: each connection's queue, traffic, conflicts and apply lag, "
    "in the Prometheus text format",
    "[metrics]") {
  MetricsWorld w;
  const std::string c = "{connection=\"" + w.p->id() + "\"}";
  const Record acme =
      testing::InsertCapturedAccount(w.primary_store.get(), w.p, "555-0100");
  REQUIRE(w.t->Settle());

  std::map<std::string, std::string> primary = MetricsOf(*w.t->primary);
  std::map<std::string, std::string> secondary = MetricsOf(*w.t->secondary);
  CHECK(Number(primary, "orgsync_connection_info{connection=\"" +
                            w.p->id() +
                            "\",role=\"Primary\",type=\"Replication\","
                            "status=\"Active\"}") == 1);
  CHECK(Number(primary, "orgsync_partner_available" + c) == 1);
  CHECK(Number(primary, "orgsync_queue_entries" + c) == 0);
  CHECK(Number(primary, "orgsync_queue_oldest_entry_age_seconds" + c) == 0);
  // The figures are the connection's counters, whatever else was sent.
  const ConnectionCounters sent = w.p->counters();
  const ConnectionCounters applied = w.s->counters();
  CHECK(sent.entries_acknowledged >= 1);
  CHECK(Number(primary, "orgsync_changes_sent_total" + c) ==
        static_cast<double>(sent.entries_sent));
  CHECK(Number(primary, "orgsync_changes_acknowledged_total" + c) ==
        static_cast<double>(sent.entries_acknowledged));
  CHECK(Number(secondary, "orgsync_changes_applied_total" + c) ==
        static_cast<double>(applied.items_applied));
  CHECK(Number(secondary, "orgsync_changes_apply_failed_total" + c) == 0);
  // The insert was captured at the primary's time t and applied one round
  // later by the secondary, whose clock is 3 s ahead: the lag shows both.
  const double lag = Number(secondary, "orgsync_apply_lag_seconds" + c);
  CHECK(lag >= 3.0);
  CHECK(lag < 10.0);
  CHECK(Number(primary, "orgsync_sync_log_entries{connection=\"" + w.p->id() +
                            "\",status=\"Failed\"}") == 0);

  // Held back, the queue grows old by the clock.
  RequireOk(w.p->Suspend("admin"));
  RequireOk(w.s->Suspend("admin"));
  w.SetPhone(w.primary_store.get(), w.p, acme.id, "555-0111");
  const std::string acme_s =
      testing::LinkedPartnerId(w.p, "Account", acme.id);
  w.t->clock.Advance(absl::Seconds(90));
  w.SetPhone(w.secondary_store.get(), w.s, acme_s, "555-0122");
  primary = MetricsOf(*w.t->primary);
  CHECK(Number(primary, "orgsync_queue_entries" + c) ==
        static_cast<double>(w.p->record_queue()->Count()));
  CHECK(Number(primary, "orgsync_queue_oldest_entry_age_seconds" + c) >= 90);
  CHECK(Number(primary, "orgsync_conflicts_total" + c) == 0);

  // Both changed the phone: resumed, each side settles the conflict once.
  RequireOk(w.p->Resume("admin"));
  RequireOk(w.s->Resume("admin"));
  REQUIRE(w.t->Settle());
  primary = MetricsOf(*w.t->primary);
  secondary = MetricsOf(*w.t->secondary);
  CHECK(Number(primary, "orgsync_conflicts_total" + c) +
            Number(secondary, "orgsync_conflicts_total" + c) >=
        1);
  CHECK(Number(primary, "orgsync_conflicts_total" + c) ==
        static_cast<double>(w.p->counters().conflicts));
  CHECK(Number(primary, "orgsync_queue_entries" + c) == 0);
}

TEST_CASE("Metrics: an org without connections has only HELP and TYPE lines",
          "[metrics]") {
  Schema schema;
  testing::FillSchema(&schema);
  std::unique_ptr<testing::ReopenableStorage> storage =
      testing::NewReopenableMemoryStorage();
  OrgOptions options;
  options.org_id = "org-z";
  options.org_name = "Org Z";
  options.schema = &schema;
  absl::StatusOr<std::unique_ptr<Org>> org =
      Org::Open(options, storage->storage(), Clock::System());
  RequireOk(org.status());
  absl::StatusOr<std::string> text = PrometheusMetrics(**org);
  RequireOk(text.status());
  CHECK(Samples(*text).empty());
  CHECK(text->find("# TYPE orgsync_queue_entries gauge\n") !=
        std::string::npos);
}

}  // namespace
}  // namespace orgsync::metrics_test
