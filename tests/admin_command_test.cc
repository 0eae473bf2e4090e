// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// orgsync-admin's commands (lib/admin/admin_command.h) on two orgs in
// process: state made through the public API (publish and subscribe, a
// queue entry that failed an attempt, log entries of every status -- Info
// from a settled conflict --, a suspension, a captured record), then each
// command's table and --json output, parsed back into
// proto/admin/admin_output.proto, and the exact messages and exit codes of
// bad command lines.

#include "admin/admin_command.h"

#include <google/protobuf/util/json_util.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "admin/admin_time.h"
#include "admin/text_table.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record_queue.h"
#include "orgsync/sync_log.h"
#include "orgsync/verify.h"
#include "proto/admin/admin_output.pb.h"
#include "testing/connection_fixture.h"
#include "testing/record_sync_pair.h"
#include "testing/storage_testing.h"

namespace orgsync::admin_command_test {
namespace {

using admin::AdminOutput;
using admin::RunAdminCommand;
using testing::RequireOk;
using Rows = std::vector<std::vector<std::string>>;

// Each line of a table, cut at runs of two or more spaces (cells hold
// single spaces: "Generic Insert").
Rows TableRows(const std::string& text) {
  Rows rows;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> cells;
    size_t start = 0;
    while (start < line.size()) {
      size_t gap = line.find("  ", start);
      if (gap == absl::string_view::npos) gap = line.size();
      cells.emplace_back(line.substr(start, gap - start));
      start = line.find_first_not_of(' ', gap);
      if (start == absl::string_view::npos) break;
    }
    rows.push_back(std::move(cells));
  }
  return rows;
}

// A table cell's text: at most TextTable::kDefaultMaxCellWidth code points
// (ASCII here), cut with "...".
std::string Clip(const std::string& text) {
  constexpr size_t kMax = admin::TextTable::kDefaultMaxCellWidth;
  return text.size() <= kMax ? text : text.substr(0, kMax - 3) + "...";
}

// Every cell of every line starts where its column's header starts.
void CheckAligned(const std::string& table) {
  std::vector<absl::string_view> lines =
      absl::StrSplit(table, '\n', absl::SkipEmpty());
  REQUIRE_FALSE(lines.empty());
  const auto starts = [](absl::string_view line) {
    std::vector<size_t> out;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] != ' ' &&
          (i == 0 || (i >= 2 && line[i - 1] == ' ' && line[i - 2] == ' '))) {
        out.push_back(i);
      }
    }
    return out;
  };
  const std::vector<size_t> header = starts(lines[0]);
  for (absl::string_view line : lines) {
    const std::vector<size_t> cells = starts(line);
    INFO(line);
    REQUIRE(cells.size() <= header.size());
    for (size_t i = 0; i < cells.size(); ++i) CHECK(cells[i] == header[i]);
  }
}

template <typename Message>
Message ParseJson(const AdminOutput& output) {
  REQUIRE(output.exit_code == 0);
  REQUIRE(output.err.empty());
  REQUIRE(!output.out.empty());
  CHECK(output.out.back() == '\n');
  Message message;
  const auto status =
      google::protobuf::util::JsonStringToMessage(output.out, &message);
  INFO(output.out);
  REQUIRE(status.ok());
  return message;
}

// Two orgs with a connection whose primary has been through some of
// everything the Connection Detail page shows.
struct AdminWorld {
  AdminWorld() {
    testing::FillCrmSchema(&primary_schema);
    testing::FillCrmSchema(&secondary_schema);
    testing::TwoOrgsConfig config;
    config.primary_schema = &primary_schema;
    config.secondary_schema = &secondary_schema;
    config.primary_record_store = primary_store.get();
    config.secondary_record_store = secondary_store.get();
    config.queue.retry = {.initial_delay = absl::Seconds(10),
                          .multiplier = 2.0,
                          .max_delay = absl::Minutes(1),
                          .jitter = 0.0,
                          .max_attempts = 3};
    config.delivery.ack_timeout = absl::Seconds(5);
    auto secondary_storage = std::make_unique<testing::FaultyReopenableStorage>(
        testing::NewReopenableMemoryStorage());
    faults = secondary_storage->faults();
    t = std::make_unique<testing::TwoOrgs>(
        21, testing::NewReopenableMemoryStorage(), std::move(secondary_storage),
        std::move(config));
    store_clock.target = &t->clock;
    InvitationOptions invitation = testing::DefaultInvitation();
    invitation.sync = {};
    std::tie(p, s) = t->Connect(invitation);

    // Account: the first attempt fails (Retrying), the next succeeds
    // (Resolved).
    faults->FailWritesWithKeyPrefix("s/");
    RequireOk(p->publish_set()->PublishObject("Account"));
    PumpUntilAttempts(1);
    faults->ClearFaults();
    REQUIRE(t->Settle());
    // Invoice: every attempt fails (Retrying, then Failed).
    faults->FailWritesWithKeyPrefix("s/");
    RequireOk(p->publish_set()->PublishObject("Invoice"));
    REQUIRE(t->Settle());
    faults->ClearFaults();
    // Contact arrives; the secondary subscribes to Account only.
    RequireOk(p->publish_set()->PublishObject("Contact"));
    REQUIRE(t->Settle());
    RequireOk(s->subscription_map()->Subscribe("Account"));
    REQUIRE(t->Settle());
    // Unpublishing Contact.Email fails its first attempt and stays queued.
    faults->FailWritesWithKeyPrefix("s/");
    RequireOk(p->publish_set()->UnpublishField("Contact", "Email"));
    PumpUntilAttempts(1);
  }

  void PumpUntilAttempts(uint32_t attempts) {
    for (int i = 0; i < 100; ++i) {
      auto oldest = p->record_queue()->Oldest();
      RequireOk(oldest.status());
      if (oldest->has_value() && (*oldest)->attempts >= attempts) return;
      t->Pump();
    }
    FAIL("the oldest queue entry never reached " << attempts << " attempts");
  }

  AdminOutput Run(Org& org, std::vector<std::string> args) {
    return RunAdminCommand(org, t->clock, args);
  }
  AdminOutput RunP(std::vector<std::string> args) {
    return Run(*t->primary, std::move(args));
  }

  // Suspends the primary's side through the tool and captures an insert
  // meanwhile (it waits in the queue).
  void SuspendAndCapture() {
    const AdminOutput suspended = RunP({"suspend", "--actor", "carol"});
    REQUIRE(suspended.exit_code == 0);
    REQUIRE(p->status() == ConnectionStatus::kSuspended);
    t->clock.Advance(absl::Minutes(5));
    account = testing::InsertCapturedAccount(primary_store.get(), p, "555");
    t->clock.Advance(absl::Minutes(2));
  }

  std::vector<QueueEntry> Queued() const {
    auto page = p->record_queue()->List("", RecordQueue::kMaxPageSize);
    RequireOk(page.status());
    return page->entries;
  }

  Schema primary_schema;
  Schema secondary_schema;
  testing::ForwardingClock store_clock;
  std::unique_ptr<RecordStore> primary_store =
      testing::NewCrmRecordStore(&primary_schema, &store_clock, "P-");
  std::unique_ptr<RecordStore> secondary_store =
      testing::NewCrmRecordStore(&secondary_schema, &store_clock, "S-");
  testing::FaultInjectingStorage* faults = nullptr;
  std::unique_ptr<testing::TwoOrgs> t;
  Connection* p = nullptr;
  Connection* s = nullptr;
  Record account;
};

TEST_CASE("orgsync-admin status: one row per connection, as table and JSON",
          "[admin]") {
  AdminWorld w;
  w.SuspendAndCapture();
  const std::vector<QueueEntry> queued = w.Queued();
  REQUIRE(queued.size() == 3);
  const absl::Duration oldest_age = w.t->clock.Now() - queued[0].enqueued;

  const AdminOutput table = w.RunP({"status"});
  CHECK(table.exit_code == 0);
  CHECK(table.err.empty());
  const std::string expected_note = absl::StrCat(
      "conn-1: suspended since ",
      admin::FormatAdminTime(w.p->Info().suspended_since), " (by carol)\n");
  REQUIRE(absl::EndsWith(table.out, "\n\n" + expected_note));
  const std::string rows_text(
      absl::StripSuffix(table.out, "\n" + expected_note));
  CheckAligned(rows_text);
  CHECK(
      TableRows(rows_text) ==
      Rows{{"CONNECTION", "ROLE", "TYPE", "STATUS", "OPTIONS", "OWNER",
            "CONTACT", "PARTNER", "QUEUED", "OLDEST"},
           {"conn-1", "Primary", "Replication", "Suspended", "none", "alice@a",
            "bob@b", "org-b name (org-b)", "3", admin::FormatAge(oldest_age)}});

  const auto json =
      ParseJson<admin::proto::StatusOutput>(w.RunP({"status", "--json"}));
  REQUIRE(json.connections_size() == 1);
  const admin::proto::ConnectionStatus& c = json.connections(0);
  CHECK(c.connection_id() == "conn-1");
  CHECK(c.role() == "Primary");
  CHECK(c.type() == "Replication");
  CHECK(c.status() == "Suspended");
  CHECK_FALSE(c.sync_feeds_and_audit_fields());
  CHECK_FALSE(c.sync_metadata());
  CHECK_FALSE(c.sync_users());
  CHECK(c.owner() == "alice@a");
  CHECK(c.contact() == "bob@b");
  CHECK(c.partner_org_id() == "org-b");
  CHECK(c.partner_org_name() == "org-b name");
  CHECK(c.partner_available());
  CHECK(c.queue_count() == 3);
  CHECK(c.oldest_entry_enqueued() ==
        admin::FormatAdminTime(queued[0].enqueued));
  CHECK(c.oldest_entry_age_seconds() == absl::ToInt64Seconds(oldest_age));
  CHECK(c.oldest_entry_age_seconds() >= 7 * 60);
  CHECK(c.created() == admin::FormatAdminTime(w.p->Info().created));
  CHECK(c.accepted() == admin::FormatAdminTime(w.p->Info().accepted));
  CHECK_FALSE(c.accepted().empty());
  CHECK(c.admin_suspended());
  CHECK_FALSE(c.partner_unavailable());
  CHECK(c.suspended_by() == "carol");
  CHECK(c.suspended_since() ==
        admin::FormatAdminTime(w.p->Info().suspended_since));
  CHECK(std::map<std::string, uint64_t>(c.log_counts().begin(),
                                        c.log_counts().end()) ==
        std::map<std::string, uint64_t>{
            {"Retrying", 3}, {"Resolved", 1}, {"Failed", 1}});

  // The secondary's side: Active, nothing queued.
  const AdminOutput secondary = w.Run(*w.t->secondary, {"status"});
  CHECK(secondary.exit_code == 0);
  CHECK(TableRows(secondary.out) ==
        Rows{{"CONNECTION", "ROLE", "TYPE", "STATUS", "OPTIONS", "OWNER",
              "CONTACT", "PARTNER", "QUEUED", "OLDEST"},
             {"conn-1", "Secondary", "Replication", "Active", "none", "alice@a",
              "bob@b", "org-a name (org-a)", "0", "-"}});
}

TEST_CASE(
    "orgsync-admin status lists every connection, the other commands need "
    "one",
    "[admin]") {
  AdminWorld w;
  InvitationOptions second = testing::DefaultInvitation("conn-2");
  second.owner = "dave@a";
  RequireOk(w.t->primary->CreateInvitation(second, "dave@a").status());

  const AdminOutput all = w.RunP({"status"});
  CHECK(all.exit_code == 0);
  const Rows rows = TableRows(all.out);
  REQUIRE(rows.size() == 3);
  CHECK(rows[1][0] == "conn-1");
  CHECK(rows[2] == std::vector<std::string>{"conn-2", "Primary", "Replication",
                                            "Invited", "audit,metadata,users",
                                            "dave@a", "bob@b", "-", "0", "-"});
  const auto json = ParseJson<admin::proto::StatusOutput>(
      w.RunP({"--json", "status", "--connection", "conn-2"}));
  REQUIRE(json.connections_size() == 1);
  CHECK(json.connections(0).status() == "Invited");
  CHECK(json.connections(0).sync_metadata());
  CHECK(json.connections(0).partner_org_id().empty());
  CHECK(json.connections(0).accepted().empty());

  const AdminOutput ambiguous = w.RunP({"queue"});
  CHECK(ambiguous.exit_code == admin::kExitUsage);
  CHECK(ambiguous.out.empty());
  CHECK(ambiguous.err ==
        "orgsync-admin: the org has 2 connections (conn-1, conn-2): choose "
        "one with --connection ID\nRun 'orgsync-admin queue --help' for its "
        "usage.\n");
  const AdminOutput missing = w.RunP({"log", "--connection=conn-9"});
  CHECK(missing.exit_code == admin::kExitNotFound);
  CHECK(missing.err ==
        "orgsync-admin: no connection 'conn-9' (connections: conn-1, "
        "conn-2)\n");
  CHECK(w.RunP({"queue", "--connection", "conn-2"}).out ==
        "The queue of connection conn-2 is empty.\n");

  // An org without connections.
  std::unique_ptr<Storage> storage = NewMemoryStorage();
  auto empty = Org::Open({.org_id = "org-c"}, storage.get(), &w.t->clock);
  RequireOk(empty.status());
  const AdminOutput none = w.Run(**empty, {"status"});
  CHECK(none.exit_code == 0);
  CHECK(none.out == "The org has no connections.\n");
  CHECK(ParseJson<admin::proto::StatusOutput>(
            w.Run(**empty, {"status", "--json"}))
            .connections_size() == 0);
  const AdminOutput no_queue = w.Run(**empty, {"queue"});
  CHECK(no_queue.exit_code == admin::kExitNotFound);
  CHECK(no_queue.err == "orgsync-admin: the org has no connections\n");
  CHECK(w.Run(**empty, {"status", "--connection", "x"}).err ==
        "orgsync-admin: no connection 'x' (the org has none)\n");
}

TEST_CASE("orgsync-admin published and subscribed", "[admin]") {
  AdminWorld w;
  const AdminOutput published = w.RunP({"published"});
  CHECK(published.exit_code == 0);
  CheckAligned(published.out);
  CHECK(TableRows(published.out) ==
        Rows{{"OBJECT", "PARTNER SUBSCRIBED", "FIELDS", "PUBLISHED FIELDS"},
             {"Account", "yes", "4", "Logo, Name, OwnerId, Phone"},
             {"Contact", "no", "2", "AccountId, LastName"},
             {"Invoice", "no", "2", "AccountId, Total"}});
  const auto published_json =
      ParseJson<admin::proto::PublishedOutput>(w.RunP({"published", "--json"}));
  CHECK(published_json.connection_id() == "conn-1");
  REQUIRE(published_json.objects_size() == 3);
  CHECK(published_json.objects(0).object() == "Account");
  CHECK(published_json.objects(0).partner_subscribed());
  CHECK(std::vector<std::string>(published_json.objects(0).fields().begin(),
                                 published_json.objects(0).fields().end()) ==
        std::vector<std::string>{"Logo", "Name", "OwnerId", "Phone"});
  CHECK_FALSE(published_json.objects(2).partner_subscribed());

  // The secondary knows Account and Contact (Invoice never arrived).
  Org& secondary = *w.t->secondary;
  const AdminOutput subscribed = w.Run(secondary, {"subscribed"});
  CHECK(subscribed.exit_code == 0);
  CheckAligned(subscribed.out);
  CHECK(TableRows(subscribed.out) ==
        Rows{{"OBJECT", "SUBSCRIBED", "LOCAL OBJECT", "FIELDS SUBSCRIBED"},
             {"Account", "yes", "Account", "4 of 4"},
             {"Contact", "no", "-", "0 of 3"}});
  const AdminOutput contact =
      w.Run(secondary, {"subscribed", "--object", "Contact"});
  CHECK(contact.exit_code == 0);
  REQUIRE(absl::StartsWith(contact.out, "Contact: not subscribed\n"));
  const Rows contact_rows = TableRows(
      std::string(absl::StripPrefix(contact.out, "Contact: not subscribed\n")));
  REQUIRE(contact_rows.size() == 4);
  CHECK(contact_rows[0] == std::vector<std::string>{"PARTNER FIELD", "STATUS",
                                                    "LOCAL FIELD", "REASON"});
  CHECK(contact_rows[1][0] == "AccountId");
  CHECK(contact_rows[2][0] == "Email");
  CHECK(contact_rows[3][0] == "LastName");
  for (size_t i = 1; i < contact_rows.size(); ++i) {
    CHECK(contact_rows[i][1] == "Not Subscribed");
  }
  const auto account = ParseJson<admin::proto::SubscribedOutput>(
      w.Run(secondary, {"subscribed", "--object", "Account", "--json"}));
  REQUIRE(account.objects_size() == 1);
  CHECK(account.objects(0).subscribed());
  CHECK(account.objects(0).local_object() == "Account");
  REQUIRE(account.objects(0).fields_size() == 4);
  CHECK(account.objects(0).fields(1).partner_field() == "Name");
  CHECK(account.objects(0).fields(1).status() == "Subscribed");
  CHECK(account.objects(0).fields(1).local_field() == "Name");
  CHECK(account.objects(0).fields(1).reason().empty());

  const AdminOutput unknown =
      w.Run(secondary, {"subscribed", "--object", "Invoice"});
  CHECK(unknown.exit_code == admin::kExitNotFound);
  CHECK(unknown.out.empty());
  CHECK(unknown.err ==
        "orgsync-admin: the partner publishes no object 'Invoice' on "
        "connection conn-1\n");
  CHECK(w.Run(secondary, {"published"}).out ==
        "Connection conn-1 publishes no objects.\n");
}

TEST_CASE("orgsync-admin queue: action, record, attempts, next retry",
          "[admin]") {
  AdminWorld w;
  w.SuspendAndCapture();
  const std::vector<QueueEntry> queued = w.Queued();
  REQUIRE(queued.size() == 3);
  REQUIRE(queued[0].attempts == 1);
  const std::string error = queued[0].last_error.message;
  REQUIRE_FALSE(error.empty());

  const AdminOutput table = w.RunP({"queue"});
  CHECK(table.exit_code == 0);
  CheckAligned(table.out);
  const Rows rows = TableRows(table.out);
  REQUIRE(rows.size() == 4);
  CHECK(rows[0] == std::vector<std::string>{"SEQ", "ACTION", "OBJECT", "RECORD",
                                            "ATTEMPTS", "NEXT RETRY",
                                            "LAST ERROR"});
  CHECK(rows[1] ==
        std::vector<std::string>{absl::StrCat(queued[0].sequence),
                                 "Field Map Delete", "Contact", "-", "1",
                                 admin::FormatAdminTime(queued[0].next_retry),
                                 Clip(absl::StrCat("STORAGE: ", error))});
  CHECK(rows[2] == std::vector<std::string>{
                       absl::StrCat(queued[1].sequence),
                       "Connection Admin Suspended", "-", "-", "0",
                       admin::FormatAdminTime(queued[1].next_retry), "-"});
  CHECK(rows[3] == std::vector<std::string>{
                       absl::StrCat(queued[2].sequence), "Generic Insert",
                       "Account", w.account.id, "0",
                       admin::FormatAdminTime(queued[2].next_retry), "-"});

  const auto json =
      ParseJson<admin::proto::QueueOutput>(w.RunP({"queue", "--json"}));
  CHECK(json.connection_id() == "conn-1");
  CHECK(json.total_count() == 3);
  CHECK_FALSE(json.truncated());
  REQUIRE(json.entries_size() == 3);
  const admin::proto::QueueEntry& first = json.entries(0);
  CHECK(first.sequence() == queued[0].sequence);
  CHECK(first.action() == "Field Map Delete");
  CHECK(first.object() == "Contact");
  CHECK(first.record_id().empty());
  CHECK(first.attempts() == 1);
  CHECK(first.enqueued() == admin::FormatAdminTime(queued[0].enqueued));
  CHECK(first.next_retry() == admin::FormatAdminTime(queued[0].next_retry));
  CHECK(first.last_attempt() ==
        admin::FormatAdminTime(*queued[0].last_attempt));
  CHECK(first.last_error_code() == "STORAGE");
  CHECK(first.last_error() == error);
  const admin::proto::QueueEntry& insert = json.entries(2);
  CHECK(insert.action() == "Generic Insert");
  CHECK(insert.object() == "Account");
  CHECK(insert.record_id() == w.account.id);
  CHECK(insert.attempts() == 0);
  CHECK(insert.last_attempt().empty());
  CHECK(insert.last_error_code().empty());

  const AdminOutput limited = w.RunP({"queue", "--limit", "1"});
  CHECK(limited.exit_code == 0);
  CHECK(absl::EndsWith(limited.out,
                       "\nShowing the oldest 1 of 3 queued entries (see "
                       "--limit).\n"));
  const auto limited_json = ParseJson<admin::proto::QueueOutput>(
      w.RunP({"queue", "--limit=2", "--json"}));
  CHECK(limited_json.entries_size() == 2);
  CHECK(limited_json.total_count() == 3);
  CHECK(limited_json.truncated());
}

TEST_CASE("orgsync-admin log: filters by time, status and object", "[admin]") {
  AdminWorld w;
  const std::vector<LogEntry> log = testing::LogOf(w.p);  // oldest first
  REQUIRE(log.size() == 5);
  // Account Retrying, Resolved; Invoice Retrying, Failed; Contact Retrying.
  CHECK(log[0].record.object == "Account");
  CHECK(log[3].status == LogStatus::kFailed);
  CHECK(log[4].record.object == "Contact");

  const AdminOutput table = w.RunP({"log"});
  CHECK(table.exit_code == 0);
  CheckAligned(table.out);
  const Rows rows = TableRows(table.out);
  REQUIRE(rows.size() == 6);
  CHECK(rows[0] == std::vector<std::string>{"EVENT", "TIME", "STATUS", "ACTION",
                                            "OBJECT", "RECORD", "ERROR",
                                            "ATTEMPTS", "DESCRIPTION"});
  // Newest first.
  CHECK(rows[1][0] == absl::StrCat(log[4].event));
  CHECK(rows[1][2] == "Retrying");
  CHECK(rows[1][3] == "Field Map Delete");
  CHECK(rows[1][4] == "Contact");
  CHECK(rows[1][5] == "-");
  CHECK(rows[1][6] == "STORAGE");
  CHECK(rows[2] == std::vector<std::string>{absl::StrCat(log[3].event),
                                            admin::FormatAdminTime(log[3].time),
                                            "Failed", "Type Map Update",
                                            "Invoice", "-", "STORAGE", "3",
                                            Clip(log[3].description)});
  CHECK(rows[5][0] == absl::StrCat(log[0].event));

  const auto failed = ParseJson<admin::proto::LogOutput>(
      w.RunP({"log", "--status", "failed", "--json"}));
  CHECK(failed.connection_id() == "conn-1");
  CHECK(failed.matching_count() == 1);
  CHECK_FALSE(failed.truncated());
  REQUIRE(failed.entries_size() == 1);
  const admin::proto::LogEntry& entry = failed.entries(0);
  CHECK(entry.event() == log[3].event);
  CHECK(entry.time() == admin::FormatAdminTime(log[3].time));
  CHECK(entry.status() == "Failed");
  CHECK(entry.action() == "Type Map Update");
  CHECK(entry.object() == "Invoice");
  CHECK(entry.record_id().empty());
  CHECK(entry.error_code() == "STORAGE");
  CHECK(entry.description() == log[3].description);
  CHECK(entry.attempts() == 3);
  CHECK(entry.queue_sequence() == log[3].queue_sequence);

  const auto account = ParseJson<admin::proto::LogOutput>(
      w.RunP({"log", "--object", "Account", "--json"}));
  REQUIRE(account.entries_size() == 2);
  CHECK(account.entries(0).status() == "Resolved");
  CHECK(account.entries(1).status() == "Retrying");
  const auto retrying_account = ParseJson<admin::proto::LogOutput>(
      w.RunP({"log", "--object", "Account", "--status", "RETRYING", "--json"}));
  REQUIRE(retrying_account.entries_size() == 1);
  CHECK(retrying_account.entries(0).event() == log[0].event);

  // Times: RFC 3339 bounds (since inclusive, until exclusive) and spans
  // before now.
  const auto window = ParseJson<admin::proto::LogOutput>(
      w.RunP({"log", "--since", admin::FormatAdminTime(log[1].time), "--until",
              admin::FormatAdminTime(log[3].time), "--json"}));
  std::vector<uint64_t> events;
  for (const auto& e : window.entries()) events.push_back(e.event());
  std::vector<uint64_t> expected;
  for (const LogEntry& e : log) {
    if (e.time >= log[1].time && e.time < log[3].time) {
      expected.insert(expected.begin(), e.event);
    }
  }
  CHECK(events == expected);
  CHECK_FALSE(events.empty());
  w.t->clock.Advance(absl::Hours(3));
  CHECK(w.RunP({"log", "--since", "2h"}).out ==
        "No log entries match on connection conn-1.\n");
  CHECK(ParseJson<admin::proto::LogOutput>(
            w.RunP({"log", "--since", "1d", "--until", "2h", "--json"}))
            .entries_size() == 5);

  const AdminOutput limited = w.RunP({"log", "--limit", "2"});
  CHECK(TableRows(limited.out).size() == 4);  // header, 2 rows, footer
  CHECK(absl::EndsWith(limited.out,
                       "\nShowing the newest 2 of 5 matching entries (see "
                       "--limit).\n"));
}

TEST_CASE("orgsync-admin log: an Info entry, with its details in order",
          "[admin]") {
  Schema primary_schema;
  Schema secondary_schema;
  testing::FillCrmSchema(&primary_schema);
  testing::FillCrmSchema(&secondary_schema);
  testing::ForwardingClock store_clock;
  std::unique_ptr<RecordStore> primary_store =
      testing::NewCrmRecordStore(&primary_schema, &store_clock, "P-");
  std::unique_ptr<RecordStore> secondary_store =
      testing::NewCrmRecordStore(&secondary_schema, &store_clock, "S-");
  testing::TwoOrgsConfig config;
  config.primary_schema = &primary_schema;
  config.secondary_schema = &secondary_schema;
  config.primary_record_store = primary_store.get();
  config.secondary_record_store = secondary_store.get();
  testing::TwoOrgs t(31, testing::NewReopenableMemoryStorage(),
                     testing::NewReopenableMemoryStorage(), std::move(config));
  store_clock.target = &t.clock;
  InvitationOptions invitation = testing::DefaultInvitation();
  invitation.sync = {};
  auto [p, s] = t.Connect(invitation);
  // Account two-way.
  for (auto [from, to] : {std::pair{p, s}, std::pair{s, p}}) {
    RequireOk(from->publish_set()->PublishObjects({"Account"}));
    REQUIRE(t.Settle());
    RequireOk(to->subscription_map()->Subscribe("Account"));
    REQUIRE(t.Settle());
  }
  const Record account =
      testing::InsertCapturedAccount(primary_store.get(), p, "0");
  REQUIRE(t.Settle());
  const std::string partner_id =
      testing::LinkedPartnerId(p, "Account", account.id);
  // Both orgs change Phone before either hears of the other's change.
  for (auto [connection, store, id, phone] :
       {std::tuple{p, primary_store.get(), account.id, "primary"},
        std::tuple{s, secondary_store.get(), partner_id, "secondary"}}) {
    t.clock.Advance(absl::Seconds(1));
    auto updated = store->Update("Account", id, {{"Phone", std::string(phone)}},
                                 ApplyContext{});
    RequireOk(updated.status());
    testing::CaptureWrite(connection, ChangeKind::kUpdate, *updated, {"Phone"});
  }
  REQUIRE(t.Settle());

  // The side that settled the conflict logged it as Info, with both values.
  Org* org = nullptr;
  LogEntry conflict;
  for (auto [side, side_org] :
       {std::pair{p, t.primary.get()}, std::pair{s, t.secondary.get()}}) {
    for (const LogEntry& entry : testing::LogOf(side)) {
      if (entry.status == LogStatus::kInfo && !entry.details.empty()) {
        org = side_org;
        conflict = entry;
      }
    }
  }
  REQUIRE(org != nullptr);
  REQUIRE(conflict.details.size() >= 2);

  const auto json = ParseJson<admin::proto::LogOutput>(
      RunAdminCommand(*org, t.clock, {"log", "--status", "info", "--json"}));
  REQUIRE(json.entries_size() >= 1);
  const admin::proto::LogEntry& entry = json.entries(0);
  CHECK(entry.event() == conflict.event);
  CHECK(entry.status() == "Info");
  CHECK(entry.error_code() == SyncErrorCodeName(conflict.error));
  CHECK(entry.object() == "Account");
  REQUIRE(entry.details_size() == static_cast<int>(conflict.details.size()));
  for (size_t i = 0; i < conflict.details.size(); ++i) {
    CHECK(entry.details(static_cast<int>(i)).key() == conflict.details[i].key);
    CHECK(entry.details(static_cast<int>(i)).value() ==
          conflict.details[i].value);
  }
  const AdminOutput table =
      RunAdminCommand(*org, t.clock, {"log", "--status", "Info"});
  CHECK(table.exit_code == 0);
  const Rows rows = TableRows(table.out);
  REQUIRE(rows.size() >= 2);
  CHECK(rows[1][2] == "Info");
  CHECK(rows[1][4] == "Account");
  CHECK(rows[1][5] == conflict.record.id);
  CHECK(rows[1][6] == SyncErrorCodeName(conflict.error));
}

TEST_CASE("orgsync-admin history, suspend and resume", "[admin]") {
  AdminWorld w;
  const AdminOutput suspended =
      w.RunP({"suspend", "--actor", "carol", "--json"});
  const auto action = ParseJson<admin::proto::ActionOutput>(suspended);
  CHECK(action.connection_id() == "conn-1");
  CHECK(action.action() == "suspend");
  CHECK(action.actor() == "carol");
  CHECK(action.status_before() == "Active");
  CHECK(action.status_after() == "Suspended");
  CHECK(w.p->status() == ConnectionStatus::kSuspended);
  CHECK(w.p->Info().suspended_by == "carol");

  // Suspending again is refused, and changes nothing.
  const AdminOutput again = w.RunP({"suspend"});
  CHECK(again.exit_code == admin::kExitRefused);
  CHECK(again.out.empty());
  CHECK(absl::StartsWith(again.err,
                         "orgsync-admin: cannot suspend connection conn-1: "));
  CHECK(w.p->Info().suspended_by == "carol");

  w.t->clock.Advance(absl::Minutes(1));
  const AdminOutput resumed = w.RunP({"resume"});
  CHECK(resumed.exit_code == 0);
  CHECK(resumed.err.empty());
  CHECK(resumed.out ==
        "Connection conn-1 resumed by orgsync-admin: Suspended -> Active.\n");
  CHECK(w.p->status() == ConnectionStatus::kActive);
  const AdminOutput resumed_again = w.RunP({"resume", "--actor", "dave"});
  CHECK(resumed_again.exit_code == admin::kExitRefused);
  CHECK(absl::StartsWith(resumed_again.err,
                         "orgsync-admin: cannot resume connection conn-1: "));

  auto history = w.p->History();
  RequireOk(history.status());
  REQUIRE(history->size() >= 4);
  const HistoryEntry& suspend_entry = (*history)[history->size() - 2];
  const HistoryEntry& resume_entry = history->back();

  const AdminOutput table = w.RunP({"history"});
  CHECK(table.exit_code == 0);
  CheckAligned(table.out);
  const Rows rows = TableRows(table.out);
  REQUIRE(rows.size() == history->size() + 1);
  CHECK(rows[0] == std::vector<std::string>{"SEQ", "TIME", "EVENT", "STATUS",
                                            "ACTOR", "DETAIL"});
  CHECK(rows[1][2] == "Invitation Created");
  CHECK(rows[1][4] == "alice@a");
  CHECK(rows[rows.size() - 2][0] == absl::StrCat(suspend_entry.sequence));
  CHECK(rows[rows.size() - 2][1] == admin::FormatAdminTime(suspend_entry.time));
  CHECK(rows[rows.size() - 2][2] == "Connection Admin Suspended");
  CHECK(rows[rows.size() - 2][3] == "Suspended");
  CHECK(rows[rows.size() - 2][4] == "carol");
  CHECK(rows.back()[2] == "Connection Admin Resumed");
  CHECK(rows.back()[3] == "Active");
  CHECK(rows.back()[4] == "orgsync-admin");

  const auto latest = ParseJson<admin::proto::HistoryOutput>(
      w.RunP({"history", "--limit", "2", "--json"}));
  CHECK(latest.connection_id() == "conn-1");
  CHECK(latest.truncated());
  REQUIRE(latest.entries_size() == 2);
  CHECK(latest.entries(0).sequence() == suspend_entry.sequence);
  CHECK(latest.entries(0).event() == "Connection Admin Suspended");
  CHECK(latest.entries(0).actor() == "carol");
  CHECK(latest.entries(0).status_after() == "Suspended");
  CHECK(latest.entries(0).detail() == suspend_entry.detail);
  CHECK(latest.entries(0).occurrences() == 1);
  CHECK(latest.entries(1).sequence() == resume_entry.sequence);
  CHECK(latest.entries(1).time() == admin::FormatAdminTime(resume_entry.time));
  CHECK(absl::EndsWith(w.RunP({"history", "--limit", "1"}).out,
                       "\nShowing the latest 1 entries (see --limit).\n"));
  const auto since = ParseJson<admin::proto::HistoryOutput>(
      w.RunP({"history", "--since", admin::FormatAdminTime(resume_entry.time),
              "--json"}));
  REQUIRE(since.entries_size() == 1);
  CHECK(since.entries(0).event() == "Connection Admin Resumed");
  CHECK_FALSE(since.truncated());
}

TEST_CASE("orgsync-admin bulk-sync and bulk-status", "[admin][bulk_sync]") {
  AdminWorld w;
  const AdminOutput none = w.RunP({"bulk-status"});
  CHECK(none.exit_code == 0);
  CHECK(none.out == "No bulk sync has run on connection conn-1.\n");
  CHECK(ParseJson<admin::proto::BulkSyncOutput>(
            w.RunP({"bulk-status", "--json"}))
            .state() == "None");
  // Records the primary held before: never captured.
  for (const char* name : {"Ann", "Bo", "Cy"}) {
    Record account;
    account.object = "Account";
    account.fields = {{"Name", std::string(name)}};
    RequireOk(w.primary_store->Insert(std::move(account), {}).status());
  }

  // Refused: further back than a year (R61), an object the partner does
  // not subscribe, a zero limit.
  const AdminOutput too_early = w.RunP({"bulk-sync", "--since", "400d"});
  CHECK(too_early.exit_code == admin::kExitUsage);
  CHECK_THAT(too_early.err, Catch::Contains("one year"));
  const AdminOutput unsubscribed =
      w.RunP({"bulk-sync", "--object", "Account,Contact"});
  CHECK(unsubscribed.exit_code == admin::kExitRefused);
  CHECK_THAT(unsubscribed.err, Catch::Contains("Contact"));
  CHECK(w.RunP({"bulk-sync", "--max-records", "0"}).exit_code ==
        admin::kExitUsage);
  CHECK(w.RunP({"bulk-status", "--actor", "x"}).exit_code ==
        admin::kExitUsage);
  auto unstarted = w.p->BulkSyncStatus();
  RequireOk(unstarted.status());
  CHECK_FALSE(unstarted->has_value());

  // Exactly a year back is the earliest cutoff, and allowed.
  const auto started = ParseJson<admin::proto::BulkSyncOutput>(
      w.RunP({"bulk-sync", "--since", "365d", "--object", "Account",
              "--max-records", "2", "--actor", "carol", "--json"}));
  CHECK(started.run() == 1);
  CHECK(started.state() == "Running");
  CHECK(started.actor() == "carol");
  CHECK(started.max_records() == 2);
  CHECK(started.cutoff() ==
        admin::FormatAdminTime(w.t->clock.Now() - kMaxBulkSyncAge));
  REQUIRE(started.objects_size() == 1);
  CHECK(started.objects(0).object() == "Account");
  // R63: one at a time.
  const AdminOutput second = w.RunP({"bulk-sync"});
  CHECK(second.exit_code == admin::kExitRefused);
  CHECK_THAT(second.err, Catch::Contains("bulk sync 1"));

  for (int i = 0; i < 50; ++i) {
    auto progress = w.p->BulkSyncStatus();
    RequireOk(progress.status());
    if ((*progress)->state == BulkSyncState::kCompleted) break;
    w.t->Pump();
  }
  const AdminOutput done = w.RunP({"bulk-status"});
  CHECK(done.exit_code == 0);
  INFO(done.out);
  CHECK_THAT(done.out,
             Catch::StartsWith("Bulk sync 1 (Completed): records modified "
                               "since ") &&
                 Catch::Contains(", up to 2 records\n[" +
                                 std::string(30, '#') +
                                 "] 100%  2 copied, 0 remaining\n"));
  const std::string table =
      done.out.substr(done.out.find("OBJECT"),
                      done.out.find("Completed 20") - done.out.find("OBJECT"));
  CheckAligned(table);
  const Rows rows = TableRows(table);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == std::vector<std::string>{"OBJECT", "QUEUED", "COPIED",
                                            "FAILED", "SKIPPED", "REMAINING",
                                            "READ"});
  CHECK(rows[1] ==
        std::vector<std::string>{"Account", "2", "2", "0", "0", "0", "all"});
  const auto status = ParseJson<admin::proto::BulkSyncOutput>(
      w.RunP({"bulk-status", "--json"}));
  CHECK(status.state() == "Completed");
  CHECK(status.copied() == 2);
  CHECK_FALSE(status.finished().empty());
  // The next one copies the third account only (R62).
  const AdminOutput next = w.RunP({"bulk-sync", "--actor", "dave"});
  CHECK(next.exit_code == 0);
  CHECK_THAT(next.out, Catch::StartsWith("Bulk sync 2 started on connection "
                                         "conn-1 by dave.\n"));
}

TEST_CASE("orgsync-admin verify and verify-status", "[admin][verify]") {
  AdminWorld w;
  const AdminOutput none = w.RunP({"verify-status"});
  CHECK(none.exit_code == 0);
  CHECK(none.out ==
        "No Verify has run on connection conn-1 since the node started.\n");
  for (const char* name : {"Ann", "Bo"}) {
    Record account;
    account.object = "Account";
    account.fields = {{"Name", std::string(name)}};
    RequireOk(w.primary_store->Insert(std::move(account), {}).status());
  }
  CHECK(w.RunP({"verify", "--object", "Invoice"}).exit_code ==
        admin::kExitRefused);
  CHECK(w.RunP({"verify-status", "--repair"}).exit_code == admin::kExitUsage);

  const AdminOutput started =
      w.RunP({"verify", "--object", "Account", "--actor", "erin"});
  CHECK(started.exit_code == 0);
  CHECK_THAT(started.out, Catch::StartsWith("Verify 1 started on connection "
                                            "conn-1 by erin.\n"));
  // One at a time.
  CHECK(w.RunP({"verify"}).exit_code == admin::kExitRefused);
  for (int i = 0; i < 50; ++i) {
    auto report = w.p->VerifyStatus();
    RequireOk(report.status());
    if ((*report)->state != VerifyState::kRunning) break;
    w.t->Pump();
  }
  // The two accounts were never sent: not linked, and the orgs differ.
  const AdminOutput found = w.RunP({"verify-status"});
  INFO(found.out);
  CHECK(found.exit_code == 0);
  CHECK_THAT(found.out, Catch::StartsWith("Verify 1 (Completed)\n") &&
                            Catch::Contains("The orgs differ"));
  const std::string table = found.out.substr(
      found.out.find("OBJECT"),
      found.out.find("The orgs") - found.out.find("OBJECT"));
  CheckAligned(table);
  const Rows rows = TableRows(table);
  REQUIRE(rows.size() == 2);
  CHECK(rows[1] == std::vector<std::string>{"Account", "0", "0", "0", "0",
                                            "0", "2", "0", "0"});
  const auto json = ParseJson<admin::proto::VerifyOutput>(
      w.RunP({"verify-status", "--json"}));
  CHECK(json.state() == "Completed");
  CHECK_FALSE(json.identical());
  REQUIRE(json.objects_size() == 1);
  CHECK(json.objects(0).unlinked_here_ids_size() == 2);

  // --repair forwards them; the next Verify finds the orgs identical.
  CHECK(w.RunP({"verify", "--repair"}).exit_code == 0);
  for (int i = 0; i < 100; ++i) w.t->Pump();
  CHECK(w.RunP({"verify"}).exit_code == 0);
  for (int i = 0; i < 50; ++i) w.t->Pump();
  const auto repaired = ParseJson<admin::proto::VerifyOutput>(
      w.RunP({"verify-status", "--json"}));
  INFO(w.RunP({"verify-status"}).out);
  CHECK(repaired.run() == 3);
  CHECK(repaired.identical());
}

TEST_CASE("orgsync-admin: bad command lines get exact messages and exit 2",
          "[admin]") {
  AdminWorld w;
  const auto usage = [&](std::vector<std::string> args) {
    const AdminOutput output = w.RunP(std::move(args));
    CHECK(output.exit_code == admin::kExitUsage);
    CHECK(output.out.empty());
    return output.err;
  };
  const std::string tool_hint =
      "Run 'orgsync-admin --help' for the commands.\n";
  CHECK(usage({}) == "orgsync-admin: no command given\n" + tool_hint);
  CHECK(usage({"frobnicate"}) ==
        "orgsync-admin: unknown command 'frobnicate'\n" + tool_hint);
  CHECK(usage({"--bogus"}) ==
        "orgsync-admin: unknown option --bogus\n" + tool_hint);
  const auto hint = [](const char* command) {
    return absl::StrCat("Run 'orgsync-admin ", command,
                        " --help' for its usage.\n");
  };
  CHECK(usage({"queue", "--since", "1h"}) ==
        "orgsync-admin: 'queue' takes no option --since\n" + hint("queue"));
  CHECK(usage({"status", "--actor", "x"}) ==
        "orgsync-admin: 'status' takes no option --actor\n" + hint("status"));
  CHECK(usage({"log", "--limit", "0"}) ==
        "orgsync-admin: --limit must be a whole number from 1 to 10000, not "
        "'0'\n" +
            hint("log"));
  CHECK(usage({"queue", "--limit", "12x"}) ==
        "orgsync-admin: --limit must be a whole number from 1 to 10000, not "
        "'12x'\n" +
            hint("queue"));
  CHECK(usage({"log", "--limit"}) ==
        "orgsync-admin: --limit needs a value\n" + hint("log"));
  CHECK(usage({"log", "--status", "bogus"}) ==
        "orgsync-admin: --status must be one of Retrying, Failed, Resolved, "
        "Info, not 'bogus'\n" +
            hint("log"));
  CHECK(usage({"log", "--since", "yesterday"}) ==
        "orgsync-admin: --since: 'yesterday' is neither an RFC 3339 time "
        "(e.g. 2026-01-01T10:00:00Z) nor a span before now (e.g. 90s, 15m, "
        "1h30m, 2d)\n" +
            hint("log"));
  CHECK(usage({"log", "--since", "1h", "--until", "2h"}) ==
        "orgsync-admin: --since must be earlier than --until\n" + hint("log"));
  CHECK(usage({"history", "--limit", "5", "--limit", "6"}) ==
        "orgsync-admin: --limit given twice\n" + hint("history"));
  CHECK(usage({"status", "--json=yes"}) ==
        "orgsync-admin: --json takes no value\n" + hint("status"));
  CHECK(usage({"status", "extra"}) ==
        "orgsync-admin: unexpected argument 'extra'\n" + hint("status"));
  CHECK(usage({"suspend", "--actor="}) ==
        "orgsync-admin: --actor needs a value\n" + hint("suspend"));
  // Nothing was done.
  CHECK(w.p->status() == ConnectionStatus::kActive);
}

TEST_CASE("orgsync-admin --help: the tool's and every command's", "[admin]") {
  AdminWorld w;
  const AdminOutput tool = w.RunP({"--help"});
  CHECK(tool.exit_code == 0);
  CHECK(tool.err.empty());
  CHECK(absl::StartsWith(tool.out, "orgsync-admin: "));
  CHECK(absl::StrContains(tool.out, "Usage: orgsync-admin --state DIR"));
  CHECK(absl::StrContains(tool.out, "Exit codes:\n  0  done\n"));
  CHECK(absl::StrContains(tool.out, "  3  not found"));
  CHECK(w.RunP({"help"}).out == tool.out);
  CHECK(w.RunP({"-h"}).out == tool.out);
  for (const char* command :
       {"status", "published", "subscribed", "queue", "log", "history",
        "suspend", "resume", "bulk-sync", "bulk-status", "verify",
        "verify-status"}) {
    INFO(command);
    const AdminOutput help = w.RunP({command, "--help"});
    CHECK(help.exit_code == 0);
    CHECK(help.err.empty());
    CHECK(absl::StartsWith(help.out,
                           absl::StrCat("orgsync-admin ", command, ": ")));
    CHECK(absl::StrContains(
        help.out, absl::StrCat("Usage: orgsync-admin --state DIR ", command,
                               " [options]\n")));
    CHECK(absl::StrContains(help.out, "--connection ID"));
    CHECK(absl::StrContains(help.out, "Exit codes:"));
    CHECK(w.RunP({"help", command}).out == help.out);
    // Help wins over a bad option on the same line, and does nothing.
    CHECK(w.RunP({command, "--bogus", "--help"}).out == help.out);
  }
  CHECK(absl::StrContains(w.RunP({"log", "--help"}).out, "--status S"));
  CHECK(absl::StrContains(w.RunP({"suspend", "--help"}).out,
                          "--actor NAME     who suspends it (default "
                          "orgsync-admin)"));
  CHECK(w.p->status() == ConnectionStatus::kActive);
}

TEST_CASE("orgsync-admin times and tables", "[admin]") {
  const absl::Time t0 = absl::FromUnixSeconds(1767225600);
  CHECK(admin::FormatAdminTime(t0) == "2026-01-01T00:00:00Z");
  CHECK(admin::FormatAdminTime(t0 + absl::Milliseconds(250)) ==
        "2026-01-01T00:00:00.25Z");
  CHECK(admin::FormatAdminTime(absl::InfinitePast()).empty());
  CHECK(admin::FormatAge(absl::Seconds(45)) == "45s");
  CHECK(admin::FormatAge(absl::Seconds(200)) == "3m 20s");
  CHECK(admin::FormatAge(absl::Hours(2)) == "2h 0m");
  CHECK(admin::FormatAge(absl::Hours(97) + absl::Minutes(3)) == "4d 1h");
  CHECK(admin::FormatAge(absl::ZeroDuration()) == "0s");
  CHECK(*admin::ParseAdminTime("2026-01-01T12:00:00+02:00", t0) ==
        t0 + absl::Hours(10));
  CHECK(*admin::ParseAdminTime("1h30m", t0) == t0 - absl::Minutes(90));
  CHECK(*admin::ParseAdminTime("2d", t0) == t0 - absl::Hours(48));
  CHECK(*admin::ParseAdminTime("500ms", t0) == t0 - absl::Milliseconds(500));
  for (const char* bad : {"", "h", "0s", "5w", "-1h", "1h-", "10"}) {
    INFO(bad);
    CHECK(absl::IsInvalidArgument(admin::ParseAdminTime(bad, t0).status()));
  }

  admin::TextTable table({"A", "LONGER"}, /*max_cell_width=*/8);
  // Widths count code points: "première" (8, in 9 bytes) fits and pads
  // like any 8-letter word; a longer one is cut.
  table.AddRow({"première", "x"});
  table.AddRow({"premièrement", "y"});
  table.AddRow({"a\tb\nc", "0123456789"});
  CHECK(table.Render() ==
        "A         LONGER\n"
        "première  x\n"
        "premi...  y\n"
        "a b c     01234...\n");
}

}  // namespace
}  // namespace orgsync::admin_command_test
