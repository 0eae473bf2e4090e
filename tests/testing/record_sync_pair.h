// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Test-only: two orgs (primary and secondary), each with its own storage,
// in-memory RecordStore, Schema, PublishSet, SubscriptionMap, RecordQueue,
// SyncLog and internal::RecordSync, and a tiny delivery loop between them
// that can duplicate, shuffle (keeping per-record order) and lose
// acknowledgements.

#ifndef ORGSYNC_TESTS_TESTING_RECORD_SYNC_PAIR_H_
#define ORGSYNC_TESTS_TESTING_RECORD_SYNC_PAIR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/record_sync.h"
#include "orgsync/clock.h"
#include "orgsync/record_store.h"
#include "orgsync/storage.h"
#include "publish/durable_publish_set.h"
#include "publish/durable_subscription_map.h"
#include "testing/storage_testing.h"

namespace orgsync::testing {

// Account(Name, Phone, OwnerId user, AccountNumber auto-number, Logo binary)
// <- Contact(LastName, Email, AccountId master-detail: deleting the account
//    deletes the contact, R33)
// <- Invoice(Total, AccountId required lookup).
void FillCrmSchema(Schema* schema);

// A RecordStore that forwards to another and can fail the next Insert before
// or after forwarding it (a crash between link and insert, or after).
class FlakyStore : public RecordStore {
 public:
  explicit FlakyStore(RecordStore* target) : target_(target) {}
  int fail_inserts_before = 0;
  int fail_inserts_after = 0;
  // Inserts refused as invalid (a permanent failure), while > 0.
  int refuse_inserts = 0;
  absl::StatusOr<Record> Get(std::string_view o, std::string_view i) override {
    return target_->Get(o, i);
  }
  absl::StatusOr<Record> Insert(Record r, const ApplyContext& c) override;
  absl::StatusOr<Record> Update(std::string_view o, std::string_view i,
                                const FieldMap& f,
                                const ApplyContext& c) override {
    return target_->Update(o, i, f, c);
  }
  absl::StatusOr<CascadeResult> Delete(std::string_view o, std::string_view i,
                                       const ApplyContext& c) override {
    return target_->Delete(o, i, c);
  }
  absl::StatusOr<CascadeResult> Undelete(std::string_view o,
                                         std::string_view i,
                                         const ApplyContext& c) override {
    return target_->Undelete(o, i, c);
  }
  absl::StatusOr<std::string> ReserveId(std::string_view o) override {
    return target_->ReserveId(o);
  }
  absl::StatusOr<std::vector<RecordRef>> Children(std::string_view o,
                                                  std::string_view i) override {
    return target_->Children(o, i);
  }
  absl::Status Scan(std::string_view o, absl::Time since,
                    const std::function<bool(const Record&)>& v) override {
    return target_->Scan(o, since, v);
  }
  absl::Status SyncReservedIds() override {
    return target_->SyncReservedIds();
  }

 private:
  RecordStore* target_;
};

struct SideConfig {
  bool sync_audit_fields = false;
  ConflictResolver* resolver = nullptr;
  std::set<std::string> users = {"U1", "U2"};
  size_t max_file_bytes = internal::kDefaultMaxFileBytes;
  // orgsync's state in LevelDB (in a temp folder) instead of memory.
  bool leveldb = false;
};

class Side {
 public:
  Side(ReplicationRole role, Clock* clock, SideConfig config);

  // Reopens the storage (memory: drops what was not durable; LevelDB: closes
  // and reopens the folder), then every component on it (the in-memory
  // RecordStore survives: it is the host's).
  void CrashAndReopen();
  void Open();

  // Host writes: change the store, then capture (as a host would).
  Record Insert(const std::string& object, FieldMap fields);
  Record Update(const std::string& object, const std::string& id,
                FieldMap changes);
  void Delete(const std::string& object, const std::string& id);
  void Undelete(const std::string& object, const std::string& id);
  // The last Capture result.
  CaptureResult last_capture;

  Record Get(const std::string& object, const std::string& id);
  std::optional<std::string> PartnerIdOf(const std::string& object,
                                         const std::string& id);
  std::optional<std::string> LocalIdOf(const std::string& object,
                                       const std::string& partner_id);
  std::vector<LogEntry> Log();
  std::vector<LogEntry> LogWith(SyncErrorCode code);
  std::vector<Record> All(const std::string& object);

  ReplicationRole role;
  Clock* clock;
  SideConfig config;
  Schema schema;
  std::unique_ptr<ReopenableStorage> holder;
  Storage* storage = nullptr;
  std::unique_ptr<RecordStore> inner_store;
  std::unique_ptr<FlakyStore> store;
  std::unique_ptr<internal::ChangeSink> sink;
  std::unique_ptr<internal::DurablePublishSet> publish;
  std::unique_ptr<internal::DurableSubscriptionMap> subs;
  std::unique_ptr<internal::DurableRecordQueue> queue;
  std::unique_ptr<internal::DurableSyncLog> log;
  std::unique_ptr<internal::RecordSync> sync;
};

struct DeliveryFaults {
  bool duplicate = false;    // every change applied twice
  bool shuffle = false;      // across records; per-record order kept
  bool lose_acks = false;    // results dropped every other round
  uint32_t seed = 1;
};

class Pair {
 public:
  explicit Pair(SideConfig primary_config = {},
                SideConfig secondary_config = {});

  // `from` publishes `objects`, `to` subscribes them (as the connection's
  // map notices would), and `from` learns the partner subscribed.
  void Flow(Side& from, Side& to, const std::vector<std::string>& objects);

  // One delivery round from `from` to `to`: Ready entries, PrepareSend,
  // Apply, OnResult + Acknowledge (or MarkFailed). Returns the results.
  std::vector<proto::ItemResult> Round(Side& from, Side& to,
                                       const DeliveryFaults& faults = {});
  // Rounds both ways (advancing the clock past retries) until both queues
  // are empty or `max_rounds` passed.
  void Drain(const DeliveryFaults& faults = {}, int max_rounds = 50);

  ManualClock clock;
  std::unique_ptr<Side> primary;
  std::unique_ptr<Side> secondary;
  // Every change put on the wire, by direction (for R35 and similar checks).
  std::vector<proto::RecordChange> sent_by_primary;
  std::vector<proto::RecordChange> sent_by_secondary;

 private:
  int round_ = 0;
};

}  // namespace orgsync::testing

#endif  // ORGSYNC_TESTS_TESTING_RECORD_SYNC_PAIR_H_
