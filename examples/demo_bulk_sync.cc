// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Chapter 2b of orgsync_demo: org-a held records before it published
// anything, and publishing copies none of them (R18). Its admin starts a
// bulk sync (R60), which copies them to org-b, accounts before their
// contacts (R65), with a progress bar drawn from the connection's progress
// (R63). In a later run the records of earlier runs are linked already and
// are skipped, not copied again (R62).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "demo.h"
#include "fmt/core.h"
#include "orgsync/bulk_sync.h"
#include "orgsync/connection.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/status.h"

namespace orgsync_demo {
namespace {

// Records org-a had before the connection: per account, this many
// contacts.
constexpr int kBulkAccounts = 200;
constexpr int kContactsPerAccount = 4;
constexpr int kBarWidth = 30;

std::string ProgressBar(const orgsync::BulkSyncProgress& progress) {
  const uint64_t total = std::max<uint64_t>(progress.queued(), 1);
  const uint64_t answered = progress.queued() - progress.remaining();
  const int filled = static_cast<int>(answered * kBarWidth / total);
  return fmt::format("  [{}{}] {:3}%  {} of {} copied, {} remaining{}",
                     std::string(static_cast<size_t>(filled), '#'),
                     std::string(static_cast<size_t>(kBarWidth - filled), '.'),
                     answered * 100 / total, progress.copied(),
                     progress.queued(), progress.remaining(),
                     progress.objects.empty() ||
                             std::all_of(progress.objects.begin(),
                                         progress.objects.end(),
                                         [](const auto& object) {
                                           return object.scanned;
                                         })
                         ? ""
                         : " (still reading org-a's records)");
}

}  // namespace

absl::Status Demo::BulkSync() {
  Heading("2b. Bulk sync: the records org-a had before");
  // Written to org-a's store only: records that existed before the
  // connection, which no capture ever queued.
  for (int a = 0; a < kBulkAccounts; ++a) {
    Record account;
    account.object = "Account";
    account.fields = {{"Name", Named(fmt::format("Legacy Account {:03}", a))},
                      {"City", std::string("Lisbon")}};
    ORGSYNC_ASSIGN_OR_RETURN(Record stored,
                             primary_.store->Insert(std::move(account), {}));
    for (int c = 0; c < kContactsPerAccount; ++c) {
      Record contact;
      contact.object = "Contact";
      contact.fields = {
          {"LastName", fmt::format("Legacy {:03}-{}", a, c)},
          {"Email", Email(fmt::format("legacy{:03}.{}", a, c), "legacy")},
          {"AccountId", orgsync::Reference{stored.id}}};
      ORGSYNC_RETURN_IF_ERROR(
          primary_.store->Insert(std::move(contact), {}).status());
    }
  }
  const int records = kBulkAccounts * (1 + kContactsPerAccount);
  fmt::print(
      "org-a's host already held {} accounts and {} contacts that it never\n"
      "captured: publishing copied none of them (R18). {} starts a bulk\n"
      "sync of everything published and subscribed, modified in the last "
      "year\n(the default and earliest cutoff, R61):\n",
      kBulkAccounts, kBulkAccounts * kContactsPerAccount, primary_.admin);
  orgsync::BulkSyncOptions options;
  options.actor = primary_.admin;
  ORGSYNC_ASSIGN_OR_RETURN(orgsync::BulkSyncProgress started,
                           primary_.connection->StartBulkSync(options));
  fmt::print("  bulk sync {} of {}, objects in copy order:", started.run,
             primary_.org_id);
  for (const orgsync::BulkSyncObjectProgress& object : started.objects) {
    fmt::print(" {}", object.object);
  }
  fmt::print(" (parents first, R65)\n");
  // R63: while it runs, a second one is refused.
  const absl::Status second =
      primary_.connection->StartBulkSync(options).status();
  if (!absl::IsFailedPrecondition(second)) {
    return Failed("a second bulk sync was not refused while one runs");
  }
  fmt::print("  A second start is refused while it runs (R63).\n");

  orgsync::BulkSyncProgress progress = started;
  for (int round = 0; progress.state != orgsync::BulkSyncState::kCompleted;
       ++round) {
    if (round == kMaxSettleRounds) {
      return Failed(fmt::format("the bulk sync did not finish in {} rounds",
                                kMaxSettleRounds));
    }
    ORGSYNC_RETURN_IF_ERROR(Round());
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<orgsync::BulkSyncProgress> now,
                             primary_.connection->BulkSyncStatus());
    if (!now.has_value()) return Failed("the bulk sync's progress is gone");
    if (now->queued() != progress.queued() ||
        now->remaining() != progress.remaining()) {
      fmt::print("{}\n", ProgressBar(*now));
    }
    progress = *std::move(now);
  }
  ORGSYNC_RETURN_IF_ERROR(Settle().status());
  fmt::print(
      "Bulk sync {} completed: {} copied, {} skipped (linked to org-b "
      "already, R62), {} failed.\n",
      progress.run, progress.copied(), progress.skipped(), progress.failed());
  if (progress.failed() != 0 || progress.copied() < static_cast<uint64_t>(records)) {
    return Failed(fmt::format("the bulk sync copied {} of this run's {} records",
                              progress.copied(), records));
  }
  // Spot check: a contact of the last account arrived under its account.
  ORGSYNC_ASSIGN_OR_RETURN(
      Record contact,
      MustFindByKey(secondary_, "Contact",
                    Email(fmt::format("legacy{:03}.{}", kBulkAccounts - 1, 0),
                          "legacy")));
  fmt::print("  org-b now has, for example: {}\n",
             Describe(secondary_, contact));
  return absl::OkStatus();
}

}  // namespace orgsync_demo
