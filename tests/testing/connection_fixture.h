// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Test helpers for connections: two orgs (a primary and a secondary)
// joined by an in-process transport pair, with one ManualClock (the
// secondary's may be set apart from the primary's by a fixed offset).

#ifndef ORGSYNC_TESTS_TESTING_CONNECTION_FIXTURE_H_
#define ORGSYNC_TESTS_TESTING_CONNECTION_FIXTURE_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "orgsync/clock.h"
#include "orgsync/conflict.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record_store.h"
#include "orgsync/storage.h"
#include "orgsync/transport.h"
#include "testing/fault_storage.h"
#include "testing/storage_testing.h"

namespace orgsync::testing {

// The default invitation: every option on, owner and contact set.
InvitationOptions DefaultInvitation(std::string connection_id = "conn-1");

// A ReopenableStorage whose storage() is a FaultInjectingStorage over
// another one; the faults object is recreated (clean) on Reopen().
class FaultyReopenableStorage final : public ReopenableStorage {
 public:
  explicit FaultyReopenableStorage(std::unique_ptr<ReopenableStorage> inner);
  std::string name() const override;
  Storage* storage() override { return faults_.get(); }
  void Reopen() override;
  FaultInjectingStorage* faults() { return faults_.get(); }

 private:
  std::unique_ptr<ReopenableStorage> inner_;
  std::unique_ptr<FaultInjectingStorage> faults_;
};

// A Clock that reads another one, set later: RecordStores exist before the
// orgs that point at them, and so before a fixture's clock.
class ForwardingClock final : public Clock {
 public:
  absl::Time Now() const override { return target->Now(); }
  Clock* target = nullptr;
};

// A Clock that reads another one and adds a fixed offset: an org whose wall
// clock is ahead of (positive) or behind (negative) its partner's.
// A resolver that always picks the primary's write: the same answer in
// both orgs, as a resolver must give (orgsync/conflict.h).
class PrimaryWins final : public ConflictResolver {
 public:
  ConflictWinner Resolve(const FieldConflict&) override {
    return ConflictWinner::kPrimary;
  }
};

class OffsetClock final : public Clock {
 public:
  OffsetClock(const Clock* base, absl::Duration offset)
      : base_(base), offset_(offset) {}
  absl::Time Now() const override { return base_->Now() + offset_; }

 private:
  const Clock* const base_;
  const absl::Duration offset_;
};

// An in-memory RecordStore over `schema` (FillCrmSchema's, not owned, must
// outlive the store; it may be filled after this call): deleting an Account
// takes its Contacts (master-detail), not its Invoices (lookup); ids are
// `id_prefix` + a number; local writes are stamped by user "U1".
std::unique_ptr<RecordStore> NewCrmRecordStore(const Schema* schema,
                                               Clock* clock,
                                               std::string id_prefix);

// The connection's whole SyncLog, oldest first.
std::vector<LogEntry> LogOf(const Connection* connection);

// The host's capture of a write of `record`, which must be captured (not
// filtered out).
void CaptureWrite(Connection* connection, ChangeKind kind, const Record& record,
                  std::vector<std::string> changed_fields = {});

// The host's insert of an Account named "Acme" with `phone` into `store`,
// captured on `connection`; the record as stored.
Record InsertCapturedAccount(RecordStore* store, Connection* connection,
                             std::string phone);

// The partner's id of `connection`'s record (object, id), which must be
// linked.
std::string LinkedPartnerId(Connection* connection, std::string_view object,
                            std::string_view id);

class TwoOrgs;

// `from` publishes `objects` and `to` subscribes them, each step settled
// over `orgs`; `from` then knows the partner subscribes each one.
void FlowObjects(TwoOrgs& orgs, Connection* from, Connection* to,
                 const std::vector<std::string>& objects);

// What the two orgs are opened with besides their ids.
struct TwoOrgsConfig {
  const Schema* primary_schema = nullptr;
  const Schema* secondary_schema = nullptr;
  RecordQueueOptions queue = {};
  SyncLogOptions log = {};
  DeliveryOptions delivery = {};
  // Record sync (OrgOptions.record_store and friends); not owned.
  RecordStore* primary_record_store = nullptr;
  RecordStore* secondary_record_store = nullptr;
  std::function<bool(std::string_view)> user_exists = {};
  // User sync (OrgOptions.user_directory); not owned.
  UserDirectory* primary_user_directory = nullptr;
  UserDirectory* secondary_user_directory = nullptr;
  // Metadata sync (OrgOptions.metadata_store, metadata_sync_interval of
  // both orgs); not owned.
  MetadataStore* primary_metadata_store = nullptr;
  MetadataStore* secondary_metadata_store = nullptr;
  absl::Duration metadata_sync_interval = absl::Hours(24);
  // OrgOptions.max_file_bytes of both orgs (R38).
  size_t max_file_bytes = size_t{38} * 1024 * 1024;
  // R7: OrgOptions.queue_report_interval and each org's queue_report.
  absl::Duration queue_report_interval = absl::Hours(12);
  std::function<void(const QueueSizeReport&)> primary_queue_report = {};
  std::function<void(const QueueSizeReport&)> secondary_queue_report = {};
  // OrgOptions.connection_events of each org.
  std::function<void(const ConnectionEvent&)> primary_events = {};
  std::function<void(const ConnectionEvent&)> secondary_events = {};
  // OrgOptions.bulk_sync_progress of each org.
  std::function<void(const BulkSyncProgress&)> primary_bulk_progress = {};
  std::function<void(const BulkSyncProgress&)> secondary_bulk_progress = {};
  // OrgOptions.conflict_resolver of both orgs; not owned; null: the
  // default.
  ConflictResolver* conflict_resolver = nullptr;
  // How far the secondary's clock is ahead of the primary's (negative:
  // behind). The two clocks advance together.
  absl::Duration secondary_clock_offset = absl::ZeroDuration();
};

// A primary org ("org-a") and a secondary org ("org-b") over their own
// storages, joined by `pair` (endpoint A is the primary's).
class TwoOrgs {
 public:
  explicit TwoOrgs(uint64_t seed = 1,
                   std::unique_ptr<ReopenableStorage> primary_storage =
                       NewReopenableMemoryStorage(),
                   std::unique_ptr<ReopenableStorage> secondary_storage =
                       NewReopenableMemoryStorage(),
                   TwoOrgsConfig config = {});
  ~TwoOrgs();

  // One round of the engine: both orgs Step(), the pair delivers one step,
  // and the clock advances by `tick`.
  void Pump(absl::Duration tick = absl::Seconds(1));

  // Pumps until both orgs' queues are empty and nothing is in flight, at
  // most `max_rounds` rounds; returns whether that state was reached.
  bool Settle(size_t max_rounds = 2000, absl::Duration tick = absl::Seconds(1));

  // Creates the invitation on the primary and attaches endpoint A to it.
  Invitation Invite(const InvitationOptions& options = DefaultInvitation());

  // Invite, accept on the secondary over endpoint B and deliver until idle.
  // Returns the two sides' connections (primary first), both accepted.
  std::pair<Connection*, Connection*> Connect(
      const InvitationOptions& options = DefaultInvitation());

  // Closes and reopens both orgs (and their storages), reattaching the
  // transports to connection `connection_id` on both sides if it exists.
  void Reopen(const std::string& connection_id);

  TwoOrgsConfig config;
  // The primary's clock; the secondary reads secondary_clock, which is
  // `clock` moved by config.secondary_clock_offset.
  ManualClock clock;
  OffsetClock secondary_clock{&clock, config.secondary_clock_offset};
  InProcessTransportPair pair;
  std::unique_ptr<ReopenableStorage> primary_storage;
  std::unique_ptr<ReopenableStorage> secondary_storage;
  std::unique_ptr<Org> primary;
  std::unique_ptr<Org> secondary;

 private:
  // Opens both orgs on their storages as they are now.
  void OpenOrgs();
};

}  // namespace orgsync::testing

#endif  // ORGSYNC_TESTS_TESTING_CONNECTION_FIXTURE_H_
