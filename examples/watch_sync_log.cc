// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Example: watch the SyncLog. The guide's admins add a trigger on the
// connection's sync log that emails them when many changes fail; with
// orgsync the host registers an observer, a callback called for each log
// entry once it is durable, and raises its own alert.
//
// Two orgs in one process (in memory, joined by the in-process transport)
// sync Account and Contact. The primary's host writes five contacts under
// an account it forgot to capture, so every contact fails at the partner
// (MISSING_PARENT: the required account is not there), is retried, then
// logged Failed. The observer counts Failed entries over a sliding hour and
// sends one alert when they reach three. Exits 0 only if the alert went out
// exactly once and named the failures.

#include <fmt/format.h>

#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/status.h"
#include "orgsync/storage.h"
#include "orgsync/sync_log.h"
#include "orgsync/transport.h"
#include "example_orgs.h"

namespace {

using orgsync::ChangeKind;
using orgsync_example::AuditFields;
using orgsync_example::Capture;
using orgsync_example::Connect;
using orgsync_example::Field;
using orgsync_example::OpenOrg;
using orgsync_example::Settle;
using orgsync_example::Side;
using orgsync::FieldDef;
using orgsync::FieldType;
using orgsync::LogEntry;
using orgsync::LogStatus;
using orgsync::Record;

// A second of the orgs' time passes each round.
constexpr absl::Duration kTick = absl::Seconds(1);

// The host's alert rule: `threshold` Failed entries within `window` send
// one email; the next can go only once the count fell below again.
class FailureAlert {
 public:
  FailureAlert(size_t threshold, absl::Duration window)
      : threshold_(threshold), window_(window) {}

  // The SyncLog observer. orgsync calls it after the entry is durable and
  // without holding its locks, one entry at a time, in event order.
  void OnEntry(const LogEntry& entry) {
    if (entry.status != LogStatus::kFailed) return;
    failures_.push_back(entry);
    while (!failures_.empty() &&
           entry.time - failures_.front().time > window_) {
      failures_.pop_front();
    }
    if (failures_.size() < threshold_) {
      armed_ = true;
      return;
    }
    if (!armed_) return;
    armed_ = false;
    ++emails_sent_;
    fmt::print("ALERT email to sync-admins@example.com: {} changes failed "
               "within {}:\n",
               failures_.size(), absl::FormatDuration(window_));
    for (const LogEntry& failure : failures_) {
      fmt::print("  {} {}/{}: {}\n", orgsync::SyncErrorCodeName(failure.error),
                 failure.record.object, failure.record.id,
                 failure.description);
    }
  }

  int emails_sent() const { return emails_sent_; }

 private:
  const size_t threshold_;
  const absl::Duration window_;
  std::deque<LogEntry> failures_;
  bool armed_ = true;
  int emails_sent_ = 0;
};

absl::Status FillSchema(orgsync::Schema* schema) {
  orgsync::ObjectDef account{.name = "Account",
                             .fields = {Field("Name", FieldType::kText)},
                             .publishable = true};
  // Required master-detail: a contact cannot be inserted without its
  // account (R14).
  orgsync::ObjectDef contact{
      .name = "Contact",
      .fields = {Field("LastName", FieldType::kText),
                 FieldDef{.name = "AccountId",
                          .type = FieldType::kMasterDetail,
                          .required = true,
                          .lookup_target = "Account"}},
      .publishable = true};
  for (orgsync::ObjectDef* def : {&account, &contact}) {
    for (FieldDef& audit : AuditFields()) def->fields.push_back(audit);
    ORGSYNC_RETURN_IF_ERROR(schema->AddObject(*def));
  }
  return absl::OkStatus();
}

absl::Status Open(Side& side, const std::string& org_id,
                  orgsync::Clock* clock) {
  ORGSYNC_RETURN_IF_ERROR(FillSchema(&side.schema));
  orgsync::RecordStoreOptions store_options;
  store_options.schema = &side.schema;
  store_options.clock = clock;
  store_options.id_prefix = org_id + "-";
  ORGSYNC_ASSIGN_OR_RETURN(side.store,
                           orgsync::NewInMemoryRecordStore(store_options));
  return OpenOrg(side, org_id, clock, [](orgsync::OrgOptions& options) {
    // Three attempts a few seconds apart, then the change is given up.
    options.queue.retry = {.initial_delay = absl::Seconds(2),
                           .multiplier = 2.0,
                           .max_delay = absl::Seconds(8),
                           .jitter = 0.0,
                           .max_attempts = 3};
  });
}

absl::Status Run() {
  orgsync::ManualClock clock(absl::FromUnixSeconds(1'790'000'000));
  orgsync::InProcessTransportPair pair(/*seed=*/7);
  Side primary;
  Side secondary;
  ORGSYNC_RETURN_IF_ERROR(Open(primary, "org-a", &clock));
  ORGSYNC_RETURN_IF_ERROR(Open(secondary, "org-b", &clock));

  // Invitation, acceptance, and Account + Contact from org-a to org-b.
  ORGSYNC_RETURN_IF_ERROR(Connect(primary, pair.a(), secondary, pair.b()));
  ORGSYNC_RETURN_IF_ERROR(Settle(primary, secondary, pair, clock, kTick));
  ORGSYNC_RETURN_IF_ERROR(
      primary.connection->publish_set()->PublishObjects({"Account", "Contact"}));
  ORGSYNC_RETURN_IF_ERROR(Settle(primary, secondary, pair, clock, kTick));
  for (const char* object : {"Account", "Contact"}) {
    ORGSYNC_RETURN_IF_ERROR(
        secondary.connection->subscription_map()->Subscribe(object));
  }
  ORGSYNC_RETURN_IF_ERROR(Settle(primary, secondary, pair, clock, kTick));

  // The host's alert, on the primary's log: three failures within an hour.
  FailureAlert alert(3, absl::Hours(1));
  ORGSYNC_ASSIGN_OR_RETURN(
      orgsync::SyncLog::ObserverId observer,
      primary.connection->sync_log()->AddObserver(
          [&alert](const LogEntry& entry) { alert.OnEntry(entry); }));

  // A host bug: the account is stored but never captured; its contacts are.
  Record account;
  account.object = "Account";
  account.fields = {{"Name", std::string("Hidden Industries")}};
  ORGSYNC_ASSIGN_OR_RETURN(account, primary.store->Insert(account, {}));
  for (const char* name : {"Ng", "Ito", "Berg", "Diaz", "Okafor"}) {
    Record contact;
    contact.object = "Contact";
    contact.fields = {{"LastName", std::string(name)},
                      {"AccountId", orgsync::Reference{account.id}}};
    ORGSYNC_ASSIGN_OR_RETURN(contact, primary.store->Insert(contact, {}));
    ORGSYNC_RETURN_IF_ERROR(Capture(primary, ChangeKind::kInsert, contact));
  }
  fmt::print("org-a's host wrote 5 contacts under an account it never "
             "captured; org-b cannot insert them.\n");
  ORGSYNC_RETURN_IF_ERROR(Settle(primary, secondary, pair, clock, kTick));
  ORGSYNC_RETURN_IF_ERROR(primary.connection->sync_log()->RemoveObserver(
      observer));

  const uint64_t failed =
      primary.connection->sync_log()->CountByStatus()[LogStatus::kFailed];
  fmt::print("org-a's sync log holds {} Failed entries; {} alert email(s) "
             "sent.\n",
             failed, alert.emails_sent());
  if (failed != 5 || alert.emails_sent() != 1) {
    return absl::InternalError(
        "expected 5 Failed entries and exactly one alert");
  }
  return absl::OkStatus();
}

}  // namespace

int main() { return orgsync_example::Main("watch_sync_log", &Run); }
