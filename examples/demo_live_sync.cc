// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The demo's chapters on live sync (3 to 6): edits on both sides, an admin
// suspension that makes the queue grow and drain, a contact whose required
// account never reached the partner (Retrying, Failed, repaired), and a
// conflict settled by last writer wins. orgsync_demo.cc runs them.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "demo.h"
#include "demo_table.h"
#include "fmt/core.h"
#include "orgsync/capture.h"
#include "orgsync/connection.h"
#include "orgsync/record.h"
#include "orgsync/record_queue.h"
#include "orgsync/status.h"
#include "orgsync/sync_log.h"

namespace orgsync_demo {

// --- 3. Live edits ------------------------------------------------------

absl::Status Demo::LiveEdits() {
  Heading("3. Live edits on both sides");
  ORGSYNC_ASSIGN_OR_RETURN(Record acme, Insert(primary_, "Account",
                                               {{"Name", Named("Acme Corp")},
                                                {"Phone", "555-0100"},
                                                {"City", "Lyon"}}));
  ORGSYNC_ASSIGN_OR_RETURN(Record ada,
                           Insert(primary_, "Contact",
                                  {{"FirstName", "Ada"},
                                   {"LastName", "Lovelace"},
                                   {"Email", Email("ada", "acme")},
                                   {"Title", "Engineer"},
                                   {"AccountId", Reference{acme.id}}}));
  fmt::print("On org-a, alice creates an account and a contact:\n  {}\n  {}\n",
             Describe(primary_, acme), Describe(primary_, ada));
  ORGSYNC_ASSIGN_OR_RETURN(int rounds, Settle());
  ORGSYNC_ASSIGN_OR_RETURN(
      Record acme_b, MustFindByKey(secondary_, "Account", Value(acme, "Name")));
  ORGSYNC_ASSIGN_OR_RETURN(
      Record ada_b, MustFindByKey(secondary_, "Contact", Value(ada, "Email")));
  fmt::print(
      "{} delivery rounds later they are in org-b, with org-b's own "
      "ids and the\ncontact's account translated:\n  {}\n  {}\n",
      rounds, Describe(secondary_, acme_b), Describe(secondary_, ada_b));

  ORGSYNC_ASSIGN_OR_RETURN(Record globex, Insert(secondary_, "Account",
                                                 {{"Name", Named("Globex")},
                                                  {"Phone", "555-0200"},
                                                  {"City", "Recife"}}));
  ORGSYNC_ASSIGN_OR_RETURN(Record grace,
                           Insert(secondary_, "Contact",
                                  {{"FirstName", "Grace"},
                                   {"LastName", "Hopper"},
                                   {"Email", Email("grace", "globex")},
                                   {"Title", "Admiral"},
                                   {"AccountId", Reference{globex.id}}}));
  ORGSYNC_ASSIGN_OR_RETURN(acme_b, Update(secondary_, "Account", acme_b.id,
                                          {{"Phone", "555-0101"}}));
  fmt::print(
      "\nOn org-b, bob creates an account and a contact, and changes "
      "Acme's phone:\n  {}\n  {}\n  {}\n",
      Describe(secondary_, globex), Describe(secondary_, grace),
      Describe(secondary_, acme_b));
  ORGSYNC_ASSIGN_OR_RETURN(rounds, Settle());
  ORGSYNC_ASSIGN_OR_RETURN(
      Record globex_a,
      MustFindByKey(primary_, "Account", Value(globex, "Name")));
  ORGSYNC_ASSIGN_OR_RETURN(
      Record grace_a,
      MustFindByKey(primary_, "Contact", Value(grace, "Email")));
  ORGSYNC_ASSIGN_OR_RETURN(acme, primary_.store->Get("Account", acme.id));
  fmt::print("{} rounds later org-a has all three changes:\n  {}\n  {}\n  {}\n",
             rounds, Describe(primary_, globex_a), Describe(primary_, grace_a),
             Describe(primary_, acme));
  if (Value(acme, "Phone") != "555-0101") {
    return Failed("bob's new phone for Acme did not reach org-a");
  }
  return SaveClock();
}

// --- 4. Suspend and resume -------------------------------------------------

absl::Status Demo::SuspendAndResume() {
  Heading("4. An admin suspends the connection on org-a");
  ORGSYNC_RETURN_IF_ERROR(primary_.connection->Suspend(primary_.admin));
  fmt::print("alice suspends org-a's side: org-a's status is now {}.\n",
             orgsync::ConnectionStatusName(primary_.connection->status()));
  ORGSYNC_ASSIGN_OR_RETURN(
      Record acme, MustFindByKey(primary_, "Account", Named("Acme Corp")));
  ORGSYNC_ASSIGN_OR_RETURN(
      Record ada, MustFindByKey(primary_, "Contact", Email("ada", "acme")));
  ORGSYNC_ASSIGN_OR_RETURN(Record globex,
                           MustFindByKey(primary_, "Account", Named("Globex")));
  ORGSYNC_RETURN_IF_ERROR(
      Update(primary_, "Account", acme.id, {{"City", "Osaka"}}).status());
  ORGSYNC_RETURN_IF_ERROR(
      Update(primary_, "Contact", ada.id, {{"Title", "Chief Engineer"}})
          .status());
  ORGSYNC_RETURN_IF_ERROR(
      Update(primary_, "Account", globex.id, {{"Phone", "555-0201"}}).status());
  ORGSYNC_ASSIGN_OR_RETURN(Record initech, Insert(primary_, "Account",
                                                  {{"Name", Named("Initech")},
                                                   {"Phone", "555-0300"},
                                                   {"City", "Austin"}}));
  ORGSYNC_RETURN_IF_ERROR(Insert(primary_, "Contact",
                                 {{"FirstName", "Peter"},
                                  {"LastName", "Gibbons"},
                                  {"Email", Email("peter", "initech")},
                                  {"Title", "Programmer"},
                                  {"AccountId", Reference{initech.id}}})
                              .status());
  fmt::print(
      "Meanwhile alice moves Acme to Osaka, promotes Ada, changes "
      "Globex's phone,\nand creates Initech with a contact. Each "
      "change waits in org-a's queue:\n");
  ORGSYNC_RETURN_IF_ERROR(PrintQueue(primary_));
  const uint64_t queued = primary_.connection->record_queue()->Count();
  for (int i = 0; i < 5; ++i) ORGSYNC_RETURN_IF_ERROR(Round());
  ORGSYNC_ASSIGN_OR_RETURN(
      Record acme_b, MustFindByKey(secondary_, "Account", Named("Acme Corp")));
  fmt::print(
      "\n5 delivery rounds later nothing was sent: the queue still "
      "holds {} entries,\nand org-b still has Acme in {}.\n",
      primary_.connection->record_queue()->Count(), Value(acme_b, "City"));
  if (primary_.connection->record_queue()->Count() != queued ||
      Value(acme_b, "City") != "Lyon") {
    return Failed("changes left org-a while it was suspended");
  }

  ORGSYNC_RETURN_IF_ERROR(primary_.connection->Resume(primary_.admin));
  fmt::print(
      "\nalice resumes: org-a's status is {} again (the resume "
      "queues a notice of its\nown). The queue drains, in order per "
      "record; entries left after each round:\n ",
      orgsync::ConnectionStatusName(primary_.connection->status()));
  const orgsync::RecordQueue* queue = primary_.connection->record_queue();
  std::string counts = fmt::format(" {}", queue->Count());
  for (int round = 0; Queued() > 0 || pair_.InFlight() > 0; ++round) {
    if (round == kMaxSettleRounds) return Failed("the queue never drained");
    ORGSYNC_RETURN_IF_ERROR(Round());
    counts += fmt::format(" -> {}", queue->Count());
  }
  fmt::print("{}\n", counts);
  ORGSYNC_ASSIGN_OR_RETURN(
      acme_b, MustFindByKey(secondary_, "Account", Named("Acme Corp")));
  ORGSYNC_ASSIGN_OR_RETURN(
      Record peter_b,
      MustFindByKey(secondary_, "Contact", Email("peter", "initech")));
  fmt::print("org-b now has:\n  {}\n  {}\n", Describe(secondary_, acme_b),
             Describe(secondary_, peter_b));
  if (Value(acme_b, "City") != "Osaka") {
    return Failed("Acme's new city did not reach org-b after the resume");
  }
  return SaveClock();
}

// --- 5. A change that fails ------------------------------------------------

absl::Status Demo::MissingParent() {
  Heading("5. A contact whose account never reached org-b");
  // A host bug: the account is written to the store but never captured.
  clock_->Advance(kThinkTime);
  Record hidden;
  hidden.object = "Account";
  hidden.fields = {{"Name", Named("Hidden Industries")},
                   {"Phone", "555-0400"},
                   {"City", "Oslo"}};
  ORGSYNC_ASSIGN_OR_RETURN(hidden, primary_.store->Insert(hidden, {}));
  fmt::print(
      "org-a's host writes an account but forgets to capture it:\n"
      "  {}\nthen creates a contact under it, captured as usual:\n",
      Describe(primary_, hidden));
  ORGSYNC_ASSIGN_OR_RETURN(Record hank,
                           Insert(primary_, "Contact",
                                  {{"FirstName", "Hank"},
                                   {"LastName", "Hill"},
                                   {"Email", Email("hank", "hidden")},
                                   {"Title", "Buyer"},
                                   {"AccountId", Reference{hidden.id}}}));
  fmt::print(
      "  {}\norg-b cannot insert it: AccountId is required and its "
      "account is not there.\n",
      Describe(primary_, hank));

  live_log_ = true;
  bool queue_shown = false;
  for (int round = 0; Queued() > 0 || pair_.InFlight() > 0; ++round) {
    if (round == kMaxSettleRounds) return Failed("the contact never failed");
    ORGSYNC_RETURN_IF_ERROR(Round());
    ORGSYNC_ASSIGN_OR_RETURN(
        std::vector<uint64_t> pending,
        primary_.connection->record_queue()->PendingSequences(
            {"Contact", hank.id}));
    if (!queue_shown && !pending.empty()) {
      ORGSYNC_ASSIGN_OR_RETURN(
          orgsync::QueueEntry entry,
          primary_.connection->record_queue()->Get(pending.front()));
      if (entry.attempts > 0) {
        fmt::print(
            "  The first attempt failed; the change stays queued for "
            "a retry:\n");
        ORGSYNC_RETURN_IF_ERROR(PrintQueue(primary_));
        queue_shown = true;
      }
    }
  }
  live_log_ = false;

  ORGSYNC_ASSIGN_OR_RETURN(const std::vector<LogEntry> hank_log,
                           RecordLog(primary_, "Contact", hank.id));
  fmt::print(
      "\nAfter its last retry the change left the queue; the sync "
      "log tells why:\n");
  PrintLog(primary_, hank_log);
  std::vector<LogStatus> statuses;
  for (const LogEntry& entry : hank_log) statuses.push_back(entry.status);
  if (statuses !=
      std::vector<LogStatus>{LogStatus::kRetrying, LogStatus::kFailed}) {
    return Failed(
        "the sync log does not show Retrying then Failed for the "
        "contact");
  }

  // The repair: capture the forgotten account, then save the contact again;
  // a record that failed is queued again the next time it changes (R55).
  ORGSYNC_RETURN_IF_ERROR(Capture(primary_, ChangeKind::kInsert, hidden));
  ORGSYNC_RETURN_IF_ERROR(
      Update(primary_, "Contact", hank.id, {{"Title", "Head Buyer"}}).status());
  fmt::print(
      "\nThe host fixes its bug: it captures the account now, and "
      "alice edits the contact,\nwhich queues it again (R55).\n");
  ORGSYNC_ASSIGN_OR_RETURN(int rounds, Settle());
  ORGSYNC_ASSIGN_OR_RETURN(
      Record hidden_b,
      MustFindByKey(secondary_, "Account", Named("Hidden Industries")));
  ORGSYNC_ASSIGN_OR_RETURN(
      Record hank_b,
      MustFindByKey(secondary_, "Contact", Email("hank", "hidden")));
  fmt::print("{} rounds later both are in org-b:\n  {}\n  {}\n", rounds,
             Describe(secondary_, hidden_b), Describe(secondary_, hank_b));
  return SaveClock();
}

// --- 6. A conflict ---------------------------------------------------------

absl::Status Demo::Conflict() {
  Heading("6. Both orgs change the same field while suspended");
  const absl::Time since = clock_->Now();
  ORGSYNC_RETURN_IF_ERROR(primary_.connection->Suspend(primary_.admin));
  ORGSYNC_RETURN_IF_ERROR(secondary_.connection->Suspend(secondary_.admin));
  ORGSYNC_ASSIGN_OR_RETURN(
      Record acme_a, MustFindByKey(primary_, "Account", Named("Acme Corp")));
  ORGSYNC_ASSIGN_OR_RETURN(
      Record acme_b, MustFindByKey(secondary_, "Account", Named("Acme Corp")));
  fmt::print(
      "alice and bob each suspend their side (both directions, as the seed "
      "recommends).\nAcme's phone is {} in "
      "both orgs.\n",
      Value(acme_a, "Phone"));
  ORGSYNC_ASSIGN_OR_RETURN(
      acme_a, Update(primary_, "Account", acme_a.id, {{"Phone", "555-0111"}}));
  ORGSYNC_ASSIGN_OR_RETURN(acme_b, Update(secondary_, "Account", acme_b.id,
                                          {{"Phone", "555-0122"}}));
  fmt::print(
      "  at {} alice (org-a) sets it to {}\n  at {} bob (org-b) sets "
      "it to {}\n",
      TimeOfDay(acme_a.audit.last_modified_date), Value(acme_a, "Phone"),
      TimeOfDay(acme_b.audit.last_modified_date), Value(acme_b, "Phone"));
  ORGSYNC_RETURN_IF_ERROR(primary_.connection->Resume(primary_.admin));
  ORGSYNC_RETURN_IF_ERROR(secondary_.connection->Resume(secondary_.admin));
  fmt::print(
      "Both resume; each org gets the other's change and sees the "
      "conflict.\n");
  live_log_ = true;
  ORGSYNC_ASSIGN_OR_RETURN(int rounds, Settle());
  live_log_ = false;
  ORGSYNC_ASSIGN_OR_RETURN(acme_a, primary_.store->Get("Account", acme_a.id));
  ORGSYNC_ASSIGN_OR_RETURN(acme_b, secondary_.store->Get("Account", acme_b.id));
  fmt::print(
      "{} rounds later Acme's phone is {} in org-a and {} in org-b: "
      "the last writer (bob) wins.\n",
      rounds, Value(acme_a, "Phone"), Value(acme_b, "Phone"));
  if (Value(acme_a, "Phone") != "555-0122" ||
      Value(acme_b, "Phone") != "555-0122") {
    return Failed("the orgs did not both keep the last writer's phone");
  }

  size_t conflicts = 0;
  for (const OrgSide* side : {&primary_, &secondary_}) {
    orgsync::LogQuery query;
    query.since = since;
    query.status = LogStatus::kInfo;
    query.newest_first = false;
    ORGSYNC_ASSIGN_OR_RETURN(
        orgsync::LogPage page,
        side->connection->sync_log()->Query(query, "", /*page_size=*/20));
    std::vector<LogEntry> found;
    for (LogEntry& entry : page.entries) {
      if (entry.error == SyncErrorCode::kConflict) {
        found.push_back(std::move(entry));
      }
    }
    if (found.empty()) continue;
    conflicts += found.size();
    fmt::print("\n");
    PrintLog(*side, found);
    for (const LogEntry& entry : found) {
      std::string details;
      for (const orgsync::LogDetail& detail : entry.details) {
        details += fmt::format("{}{} = {}", details.empty() ? "" : ", ",
                               detail.key, detail.value);
      }
      fmt::print("  event #{} details: {}\n", entry.event, details);
    }
  }
  if (conflicts == 0) {
    return Failed("neither sync log has a CONFLICT entry for Acme's phone");
  }
  return SaveClock();
}

}  // namespace orgsync_demo
