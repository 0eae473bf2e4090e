// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Side: one simulated org and the host around it -- orgsync's state on a
// Storage, the host's records in a RecordStore, the org's own clock, its
// endpoint of the transport, and the host's habit of capturing every write
// it makes (noting in the HostLedger what a crash cut short).
//
// Where the host keeps its records (chosen per seed):
//   * its own database (most seeds): a Storage of its own, on which the
//     shipped store commits each write durably before returning, as a
//     host's database does. orgsync's writes on its state storage are not
//     all synced when they land (an envelope's applies share one flush), so
//     a crash can leave the host's records ahead of orgsync's links, stamps,
//     queue and log: the host's write survived and orgsync's did not. That
//     is the window a real host crash opens between the host's commit and
//     orgsync's, and the one this layout exists to hit.
//   * one database with orgsync's state (as a host keeping both in one
//     LevelDB would): a host commit then also makes orgsync's earlier
//     unsynced writes durable, and the store does not sync live sync's
//     writes (RecordStoreOptions::shares_org_storage): the org's flush of
//     the envelope does.
// A crash on MemoryStorage is a power loss: each storage keeps what was
// synced and, as a log that partly reached the disk, a seeded prefix of the
// later batches. On LevelDB it is a process crash (kill -9): LevelDB keeps
// every write the process handed it.
//
// Not thread-safe: a simulation runs on one thread.

#ifndef ORGSYNC_TESTS_TESTING_SIM_SIDE_H_
#define ORGSYNC_TESTS_TESTING_SIM_SIDE_H_

#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/conflict.h"
#include "orgsync/connection.h"
#include "orgsync/metadata_store.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/transport.h"
#include "orgsync/user_directory.h"
#include "testing/sim_faults.h"
#include "testing/sim_ledger.h"
#include "testing/sim_model.h"

namespace orgsync::testing::sim {

// Where one org's data lives across crashes.
class Disk {
 public:
  virtual ~Disk() = default;
  // Valid until the next Crash.
  virtual Storage* storage() = 0;
  // Loses what the storage kind loses in a crash (the first `keep` unsynced
  // batches survive on memory) and opens it again.
  virtual void Crash(size_t keep) = 0;
  // Batches written but not synced (0 where unknown).
  virtual size_t unsynced() const = 0;
};

struct SideOptions {
  std::string org_id;
  std::string key_prefix;  // of the records' keys: "p" or "s"
  std::string id_prefix;   // of the host store's ids: "P-" or "S-"
  Clock* clock = nullptr;  // the org's own; outlives the side
  Transport* endpoint = nullptr;
  bool leveldb = false;
  // The host's records in a database of their own (see the file comment).
  bool host_storage_apart = true;
  ConflictResolver* resolver = nullptr;  // null: the default
  const SimModel* model = nullptr;
  CrashPlan* crash_plan = nullptr;
  HostLedger* ledger = nullptr;
  std::mt19937_64* rng = nullptr;  // the run's; for crash losses
  // OrgOptions.metadata_sync_interval (R74).
  absl::Duration metadata_sync_interval = absl::Minutes(1);
};

class Side {
 public:
  explicit Side(SideOptions options);
  ~Side();

  Org* org() const { return org_.get(); }
  RecordStore* store() const { return store_.get(); }
  Connection* connection() const { return connection_; }
  const std::string& org_id() const { return options_.org_id; }
  Clock* clock() const { return options_.clock; }
  Transport* endpoint() { return &transport_; }
  bool down() const { return process_.down(); }
  OrgProcess* process() { return &process_; }
  uint64_t captures() const { return captures_; }
  // The host's users and metadata (sim_directory.h): kept by the host, so
  // they survive the org's crashes.
  InMemoryUserDirectory& users() { return users_; }
  InMemoryMetadataStore& metadata() { return metadata_; }

  void set_connection(Connection* connection) { connection_ = connection; }
  // The host's write racing each replicated update (RacingStore).
  void set_race_hook(RacingStore::Hook hook);

  // A crash (see the file comment) and a restart on what survived. Also
  // after a crash the org made itself (down()); it restarts again if it
  // crashes while opening.
  void Restart();

  std::string NextKey();

  // The host's own writes, each captured as the host would; what a crash
  // cut short is noted in the ledger. A write attempted while the org is
  // down changes nothing (the host process is gone too).
  void Insert(const std::string& object, FieldMap fields);
  // A write the host forgets to capture (or makes before publishing): the
  // partner never gets the record from this insert, so what refers to it
  // there fails or is blanked -- and must be logged (design rule 5).
  void InsertUncaptured(const std::string& object, FieldMap fields);
  void Update(const Record& record, const FieldMap& changes);
  // R66: the host forwards a live record; its whole state is promised.
  void Forward(const Record& record);
  void Delete(const Record& record);
  void Undelete(const Record& record);

  Record Get(const std::string& object, const std::string& id) const;
  std::vector<Record> All(const std::string& object) const;
  // The "object key" of every record InsertUncaptured made that is not
  // deleted now.
  std::vector<std::string> UncapturedLiveKeys() const;

 private:
  absl::Status Open();
  void Close();
  Record StoreInsert(const std::string& object, FieldMap fields,
                     std::string_view note, bool* lost);
  // Whether the capture returned OK (the change is promised).
  bool Capture(ChangeKind kind, const Record& record,
               std::vector<std::string> changed_fields,
               const std::vector<RecordRef>& affected = {});
  std::string KeyOf(const RecordRef& ref) const;

  SideOptions options_;
  Schema schema_;
  OrgProcess process_;
  CrashableTransport transport_;
  std::unique_ptr<Disk> state_disk_;
  std::unique_ptr<Disk> host_disk_;  // null: the records share state_disk_
  std::unique_ptr<CrashingStorage> state_storage_;
  std::unique_ptr<CrashingStorage> host_storage_;
  // The records InsertUncaptured made.
  std::set<RecordRef> uncaptured_;
  std::unique_ptr<RecordStore> store_;
  std::unique_ptr<RacingStore> racing_store_;
  std::unique_ptr<RecordStore> tracing_store_;
  RacingStore::Hook race_hook_;
  InMemoryUserDirectory users_;
  InMemoryMetadataStore metadata_;
  std::unique_ptr<Org> org_;
  Connection* connection_ = nullptr;
  uint64_t keys_ = 0;
  uint64_t captures_ = 0;
};

// A call into `side` that may have crashed it: an error is the crash's
// (traced) when the org is down, anything else fails the run. Whether the
// call returned OK.
bool Survived(const absl::Status& status, const Side& side,
              std::string_view doing);

}  // namespace orgsync::testing::sim

#endif  // ORGSYNC_TESTS_TESTING_SIM_SIDE_H_
