// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// bulk_sync_bench: how fast a bulk sync (R60) fills an empty secondary.
//
//   bulk_sync_bench [--records N] [--dir DIR] [--threads 1|2]
//                                                    (default N = 1000000)
//
// The primary holds N records of about 200 bytes in a LevelDB-backed
// RecordStore that shares its org's LevelDB (OpenStorageRecordStore): a
// parent object of N/10 records and a child object of 9N/10 with a lookup
// to it, written before the connection exists (so none was captured). The
// secondary is empty, its store in its own org's LevelDB too. The two orgs
// are joined by an InProcessTransportPair. With --threads 2 (the default)
// each org runs on a thread of its own that steps it and takes the
// messages addressed to it, as two processes would (PostgreSQL's initial
// copy runs in a publisher process and a subscriber worker as well); with
// --threads 1 one thread steps both orgs, then the pair. Printed:
// the time from StartBulkSync to the last answer, records/s, and the
// process's peak resident memory above what it used when the copy began;
// then the time a Verify of the two (identical) orgs takes, and the bytes
// it exchanged against the size of the records.
// Compare with PostgreSQL's initial copy of the same number of rows:
// ../shared/bench/peers/pg_initial_sync.sh (issue "Bulk sync, forwarding,
// unpublish, and Verify"). A benchmark: never part of the test command (its
// smoke run with a few records is).

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fmt/core.h"
#include "orgsync/bulk_sync.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"
#include "orgsync/transport.h"
#include "orgsync/verify.h"

namespace {

namespace fs = std::filesystem;
using orgsync::Connection;
using orgsync::FieldDef;
using orgsync::FieldType;
using orgsync::ObjectDef;
using orgsync::Record;

[[noreturn]] void Die(std::string_view what, const absl::Status& status) {
  fmt::print(stderr, "bulk_sync_bench: {}: {}\n", what, status.ToString());
  std::exit(1);
}

void Check(const absl::Status& status, std::string_view what) {
  if (!status.ok()) Die(what, status);
}

template <typename T>
T Take(absl::StatusOr<T> value, std::string_view what) {
  Check(value.status(), what);
  return *std::move(value);
}

// Resident memory in KiB: the current figure, or the peak (VmHWM).
int64_t MemoryKiB(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) {
      return std::strtoll(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return 0;
}

void FillSchema(orgsync::Schema* schema) {
  auto field = [](std::string name, FieldType type, uint32_t length = 0) {
    return FieldDef{.name = std::move(name), .type = type, .length = length};
  };
  for (const char* object : {"Parent", "Child"}) {
    ObjectDef def{.name = object,
                  .fields = {field("Name", FieldType::kText, 80),
                             field("Notes", FieldType::kText, 255),
                             field("Amount", FieldType::kNumber)},
                  .publishable = true};
    def.fields[2].precision = 12;
    def.fields[2].scale = 2;
    if (std::string_view(object) == "Child") {
      FieldDef parent = field("ParentId", FieldType::kLookup);
      parent.lookup_target = "Parent";
      def.fields.push_back(std::move(parent));
    }
    Check(schema->AddObject(def), "defining the schema");
  }
}

struct Side {
  orgsync::Schema schema;
  std::unique_ptr<orgsync::Storage> storage;
  std::unique_ptr<orgsync::RecordStore> store;
  std::unique_ptr<orgsync::Org> org;
  Connection* connection = nullptr;
};

void OpenSide(Side& side, const std::string& folder, const std::string& id,
              orgsync::Clock* clock) {
  FillSchema(&side.schema);
  side.storage = Take(orgsync::OpenLevelDbStorage(folder), "opening LevelDB");
  orgsync::RecordStoreOptions store_options;
  store_options.schema = &side.schema;
  store_options.clock = clock;
  store_options.id_prefix = id + "-";
  store_options.shares_org_storage = true;
  side.store = Take(
      orgsync::OpenStorageRecordStore(side.storage.get(), store_options),
      "opening the record store");
  orgsync::OrgOptions options;
  options.org_id = id;
  options.schema = &side.schema;
  options.record_store = side.store.get();
  side.org = Take(orgsync::Org::Open(options, side.storage.get(), clock),
                  "opening the org");
}

// Steps each org on a thread of its own, each taking the messages
// addressed to it, until Stop.
class Drivers {
 public:
  Drivers(orgsync::InProcessTransportPair* pair, orgsync::Org* a,
          orgsync::Org* b) {
    using PairSide = orgsync::InProcessTransportPair::Side;
    auto drive = [this, pair](orgsync::Org* org, PairSide side) {
      while (!stop_.load(std::memory_order_acquire)) {
        const size_t sent = Take(org->Step(), "stepping an org");
        size_t delivered = 0;
        while (pair->DeliverNextTo(side)) ++delivered;
        // Idle: leave the core to the other org and LevelDB's compaction.
        if (sent + delivered == 0) {
          std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
      }
    };
    threads_[0] = std::thread(drive, a, PairSide::kA);
    threads_[1] = std::thread(drive, b, PairSide::kB);
  }
  ~Drivers() { Stop(); }
  void Stop() {
    stop_.store(true, std::memory_order_release);
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread threads_[2];
};

}  // namespace

int main(int argc, char** argv) {
  uint64_t records = 1000000;
  uint64_t threads = 2;
  std::string dir = fs::temp_directory_path().string();
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--records" && i + 1 < argc &&
        absl::SimpleAtoi(argv[i + 1], &records) && records >= 10) {
      ++i;
    } else if (arg == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (arg == "--threads" && i + 1 < argc &&
               absl::SimpleAtoi(argv[i + 1], &threads) &&
               (threads == 1 || threads == 2)) {
      ++i;
    } else {
      fmt::print(stderr,
                 "usage: bulk_sync_bench [--records N>=10] [--dir DIR] "
                 "[--threads 1|2]\n");
      return 2;
    }
  }
  const fs::path folder =
      fs::path(dir) / fmt::format("orgsync_bulk_sync_bench_{}", getpid());
  fs::remove_all(folder);
  orgsync::Clock* clock = orgsync::Clock::System();
  Side primary;
  Side secondary;
  OpenSide(primary, (folder / "primary").string(), "org-a", clock);
  OpenSide(secondary, (folder / "secondary").string(), "org-b", clock);

  // The primary's records, written before any connection: never captured.
  // Written as replication writes so that the store, which shares the
  // org's LevelDB, does not sync each one (loading is not what is measured).
  const absl::Time load_start = absl::Now();
  const orgsync::ApplyContext unsynced{.from_replication = true,
                                       .connection_id = "load"};
  const uint64_t parents = records / 10;
  const std::string notes(150, 'n');
  std::vector<std::string> parent_ids;
  parent_ids.reserve(parents);
  for (uint64_t i = 0; i < records; ++i) {
    Record record;
    record.object = i < parents ? "Parent" : "Child";
    record.fields = {{"Name", fmt::format("{} {:010}", record.object, i)},
                     {"Notes", notes},
                     {"Amount", static_cast<double>(i % 100000) / 4}};
    if (i >= parents) {
      record.fields["ParentId"] = orgsync::Reference{parent_ids[i % parents]};
    }
    Record stored = Take(primary.store->Insert(std::move(record), unsynced),
                         "loading the primary");
    if (i < parents) parent_ids.push_back(std::move(stored.id));
  }
  parent_ids.clear();
  parent_ids.shrink_to_fit();
  const double load_seconds = absl::ToDoubleSeconds(absl::Now() - load_start);

  orgsync::InProcessTransportPair pair(/*seed=*/1);
  orgsync::InvitationOptions invitation_options;
  invitation_options.owner = "bench@a";
  invitation_options.contact = "bench@b";
  const orgsync::Invitation invitation = Take(
      primary.org->CreateInvitation(invitation_options, "bench"), "inviting");
  primary.connection = Take(primary.org->GetConnection(invitation.connection_id),
                            "finding the connection");
  Check(primary.connection->AttachTransport(pair.a()), "attaching");
  secondary.connection =
      Take(secondary.org->AcceptInvitation(invitation.connection_id,
                                           invitation.secret_hex, pair.b(),
                                           "bench"),
           "accepting");
  auto round = [&] {
    Check(primary.org->Step().status(), "stepping org-a");
    Check(secondary.org->Step().status(), "stepping org-b");
    pair.Step();
  };
  // Until `done` holds: rounds on this thread, or the two drivers while
  // this thread watches (and samples memory through `watch`).
  auto run_until = [&](const auto& done, const auto& watch) {
    if (threads == 1) {
      for (uint64_t rounds = 1;; ++rounds) {
        round();
        if (rounds % 16 == 0) watch();
        if (done()) return;
      }
    }
    Drivers drivers(&pair, primary.org.get(), secondary.org.get());
    while (!done()) {
      watch();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  };
  auto settle = [&] {
    while (!(primary.connection->idle() && secondary.connection->idle() &&
             pair.InFlight() == 0)) {
      round();
    }
  };
  settle();
  Check(primary.connection->publish_set()->PublishObjects({"Parent", "Child"}),
        "publishing");
  settle();
  for (const char* object : {"Parent", "Child"}) {
    Check(secondary.connection->subscription_map()->Subscribe(object),
          "subscribing");
  }
  settle();

  const int64_t rss_before = MemoryKiB("VmRSS:");
  int64_t rss_peak = rss_before;
  orgsync::BulkSyncOptions options;
  options.actor = "bench";
  const absl::Time start = absl::Now();
  Check(primary.connection->StartBulkSync(options).status(), "starting");
  orgsync::BulkSyncProgress progress;
  run_until(
      [&] {
        std::optional<orgsync::BulkSyncProgress> now =
            Take(primary.connection->BulkSyncStatus(), "reading progress");
        if (!now.has_value() ||
            now->state != orgsync::BulkSyncState::kCompleted) {
          return false;
        }
        progress = *std::move(now);
        return true;
      },
      [&] { rss_peak = std::max(rss_peak, MemoryKiB("VmRSS:")); });
  settle();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  rss_peak = std::max(rss_peak, MemoryKiB("VmRSS:"));

  fmt::print(
      "bulk_sync_bench: {} records (~{} bytes each: {} parents, {} children "
      "with a lookup), LevelDB-backed stores, in-process transport, {}\n"
      "loaded the primary in {:.1f} s\n"
      "{:<28} {:>10} {:>9} {:>14}\n"
      "{:<28} {:>10} {:>9.2f} {:>14.0f}\n"
      "copied {}, failed {}, skipped {}; peak RSS during the copy {:.1f} MiB "
      "above the {:.1f} MiB at its start (process peak {:.1f} MiB)\n",
      records, 200, parents, records - parents,
      threads == 1 ? "both orgs on one thread" : "each org on its own thread",
      load_seconds, "measure",
      "records", "seconds", "records/s", "bulk sync to an empty org",
      progress.copied(), seconds,
      static_cast<double>(progress.copied()) / seconds, progress.copied(),
      progress.failed(), progress.skipped(),
      static_cast<double>(rss_peak - rss_before) / 1024,
      static_cast<double>(rss_before) / 1024,
      static_cast<double>(MemoryKiB("VmHWM:")) / 1024);

  // Verify of the two orgs, now identical: time, and the bytes it moved
  // against the size of the data (records x ~200 bytes).
  orgsync::VerifyOptions verify_options;
  verify_options.actor = "bench";
  const absl::Time verify_start = absl::Now();
  Check(primary.connection->StartVerify(verify_options).status(),
        "starting Verify");
  orgsync::VerifyReport report;
  run_until(
      [&] {
        std::optional<orgsync::VerifyReport> now =
            Take(primary.connection->VerifyStatus(), "reading Verify");
        if (!now.has_value() || now->state == orgsync::VerifyState::kRunning) {
          return false;
        }
        report = *std::move(now);
        return true;
      },
      [] {});
  const double verify_seconds =
      absl::ToDoubleSeconds(absl::Now() - verify_start);
  const uint64_t moved = report.bytes_sent + report.bytes_received;
  fmt::print(
      "{:<28} {:>10} {:>9.2f} {:>14.0f}\n"
      "Verify: {}, {} bytes exchanged ({:.4f}% of {} bytes of records)\n",
      "Verify of identical orgs", records, verify_seconds,
      static_cast<double>(records) / verify_seconds,
      report.identical() ? "identical" : "NOT identical: " + report.error,
      moved, 100.0 * static_cast<double>(moved) / (records * 200.0),
      records * 200);

  primary.org.reset();
  secondary.org.reset();
  fs::remove_all(folder);
  return progress.copied() == records && progress.failed() == 0 &&
                 report.identical()
             ? 0
             : 1;
}
