// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Two orgs over an in-process transport: publish/subscribe changes and
// connection notices delivered through the RecordQueue (R21, R50, R51),
// suspension (R5, R6), deactivation (R8), faulty transports, restarts and
// failing storage writes.

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record_queue.h"
#include "orgsync/schema.h"
#include "orgsync/sync_log.h"
#include "proto/wire.pb.h"
#include "queue/durable_record_queue.h"
#include "testing/connection_fixture.h"
#include "testing/fault_storage.h"
#include "testing/storage_testing.h"

namespace orgsync::integration_delivery_test {
namespace {

using testing::DefaultInvitation;
using testing::FaultyReopenableStorage;
using testing::LogOf;
using testing::RequireOk;
using testing::TwoOrgs;
using testing::TwoOrgsConfig;
using A = QueueAction;
using E = HistoryEvent;
using Side = InProcessTransportPair::Side;
using Strings = std::vector<std::string>;

// A small CRM schema; each org has its own copy.
std::unique_ptr<Schema> CrmSchema() {
  auto schema = std::make_unique<Schema>();
  RequireOk(schema->AddObject(
      {.name = "Account",
       .fields = {{.name = "Name",
                   .type = FieldType::kText,
                   .required = true,
                   .length = 80},
                  {.name = "Phone", .type = FieldType::kPhone},
                  {.name = "Industry",
                   .type = FieldType::kPicklist,
                   .picklist_values = {"Tech", "Retail"}}},
       .publishable = true}));
  RequireOk(schema->AddObject(
      {.name = "Contact",
       .fields = {{.name = "LastName", .type = FieldType::kText, .length = 80},
                  {.name = "Email", .type = FieldType::kEmail},
                  {.name = "AccountId",
                   .type = FieldType::kLookup,
                   .lookup_target = "Account"}},
       .publishable = true}));
  RequireOk(schema->AddObject(
      {.name = "Case",
       .fields = {{.name = "Subject", .type = FieldType::kText, .length = 255},
                  {.name = "AccountId",
                   .type = FieldType::kLookup,
                   .lookup_target = "Account"}},
       .publishable = true}));
  return schema;
}

// Two CRM schemas and the options the tests use: short retries and ack
// timeout, so that a few simulated minutes cover every retry.
struct Crm {
  std::unique_ptr<Schema> primary_schema = CrmSchema();
  std::unique_ptr<Schema> secondary_schema = CrmSchema();

  TwoOrgsConfig Config(uint32_t max_attempts = 4) const {
    TwoOrgsConfig config;
    config.primary_schema = primary_schema.get();
    config.secondary_schema = secondary_schema.get();
    config.queue.retry = {.initial_delay = absl::Seconds(10),
                          .multiplier = 2.0,
                          .max_delay = absl::Minutes(1),
                          .jitter = 0.0,
                          .max_attempts = max_attempts};
    config.delivery.ack_timeout = absl::Seconds(5);
    return config;
  }
};

// Every option off, so that the connection is Active once accepted.
InvitationOptions PlainInvitation() {
  InvitationOptions options = DefaultInvitation();
  options.sync = {};
  return options;
}

std::vector<QueueEntry> Queued(const Connection* c) {
  auto page = c->record_queue()->List("", RecordQueue::kMaxPageSize);
  RequireOk(page.status());
  return page->entries;
}

std::vector<A> QueuedActions(const Connection* c) {
  std::vector<A> actions;
  for (const QueueEntry& entry : Queued(c)) actions.push_back(entry.action);
  return actions;
}

std::vector<LogStatus> LogStatuses(const Connection* c) {
  std::vector<LogStatus> statuses;
  for (const LogEntry& entry : LogOf(c)) statuses.push_back(entry.status);
  return statuses;
}

// The history events the partner caused, oldest first.
std::vector<E> PartnerEvents(const Connection* c) {
  auto history = c->History();
  RequireOk(history.status());
  std::vector<E> events;
  for (const HistoryEntry& entry : *history) {
    if (entry.actor.rfind("partner:", 0) == 0 &&
        entry.event != E::kInvitationAccepted) {
      events.push_back(entry.event);
    }
  }
  return events;
}

// Pumps until `done` holds, at most `rounds` times.
template <typename Done>
bool PumpUntil(TwoOrgs& t, Done done, int rounds = 200) {
  for (int i = 0; i < rounds; ++i) {
    if (done()) return true;
    t.Pump();
  }
  return done();
}

std::optional<ObjectDef> PartnerPublication(const Connection* c,
                                            const std::string& object) {
  return c->subscription_map()->PartnerPublication(object);
}

// ---------------------------------------------------------------------------
// R21: publish/subscribe end to end

TEST_CASE(
    "R21: publications, subscriptions and unpublishing reach the partner "
    "through the queue",
    "[integration][connection]") {
  Crm crm;
  TwoOrgs t(1, testing::NewReopenableMemoryStorage(),
            testing::NewReopenableMemoryStorage(), crm.Config());
  Connection* p = nullptr;
  Connection* s = nullptr;
  std::tie(p, s) = t.Connect(PlainInvitation());

  RequireOk(p->publish_set()->PublishObjects(Strings{"Account", "Contact"}));
  // Queued in the same write as the change (R21), keyed by the object.
  const std::vector<QueueEntry> queued = Queued(p);
  REQUIRE(queued.size() == 2);
  CHECK(queued[0].action == A::kTypeMapUpdate);
  CHECK(queued[0].record == RecordRef{.object = "Account", .id = ""});
  CHECK(queued[1].record == RecordRef{.object = "Contact", .id = ""});
  CHECK_FALSE(s->subscription_map()->IsPartnerPublished("Account"));

  REQUIRE(t.Settle());
  CHECK(s->subscription_map()->PartnerPublishedObjects() ==
        Strings{"Account", "Contact"});
  std::optional<ObjectDef> account = PartnerPublication(s, "Account");
  REQUIRE(account.has_value());
  CHECK(account->FindField("Phone") != nullptr);
  CHECK(account->FindField("Name") != nullptr);

  // The secondary subscribes: the primary learns it (Type Map Set Partner
  // Sub).
  RequireOk(s->subscription_map()->Subscribe("Account"));
  CHECK(QueuedActions(s) == std::vector<A>{A::kTypeMapSetPartnerSub});
  REQUIRE(t.Settle());
  CHECK(p->publish_set()->IsPartnerSubscribed("Account"));
  CHECK_FALSE(p->publish_set()->IsPartnerSubscribed("Contact"));
  CHECK(s->subscription_map()->MappedField("Account", "Phone") == "Phone");

  // Unpublishing a field, then an object, reaches the partner.
  RequireOk(p->publish_set()->UnpublishField("Account", "Phone"));
  CHECK(QueuedActions(p) == std::vector<A>{A::kFieldMapDelete});
  REQUIRE(t.Settle());
  account = PartnerPublication(s, "Account");
  REQUIRE(account.has_value());
  CHECK(account->FindField("Phone") == nullptr);
  CHECK_FALSE(s->subscription_map()->MappedField("Account", "Phone"));
  CHECK(s->subscription_map()->MappedField("Account", "Name") == "Name");

  RequireOk(p->publish_set()->UnpublishObject("Contact"));
  REQUIRE(t.Settle());
  CHECK(s->subscription_map()->PartnerPublishedObjects() ==
        Strings{"Account"});

  // The other direction works the same way (two-way, R19).
  RequireOk(s->publish_set()->PublishObject("Case"));
  REQUIRE(t.Settle());
  CHECK(p->subscription_map()->IsPartnerPublished("Case"));
  RequireOk(p->subscription_map()->Subscribe("Case"));
  RequireOk(s->subscription_map()->Unsubscribe("Account"));
  REQUIRE(t.Settle());
  CHECK(s->publish_set()->IsPartnerSubscribed("Case"));
  CHECK_FALSE(p->publish_set()->IsPartnerSubscribed("Account"));

  // Each entry applied exactly once, nothing failed or left behind.
  CHECK(s->counters().items_applied == 4 + 1);  // 2 + FMD + TMD; TMSPS
  CHECK(p->counters().items_applied == 2 + 1);  // Sub, Unsub; TMU Case
  CHECK(s->counters().items_failed == 0);
  CHECK(p->counters().entries_acknowledged == 5);
  CHECK(p->record_queue()->Count() == 0);
  CHECK(s->record_queue()->Count() == 0);
  CHECK(p->sync_log()->Count() == 0);
  CHECK(s->sync_log()->Count() == 0);
}

// ---------------------------------------------------------------------------
// R50, R51: the queue until acknowledged, retries and the log

TEST_CASE(
    "R50: an entry is listed with its action, attempts and next retry date "
    "until the partner acknowledges it",
    "[integration][connection]") {
  Crm crm;
  auto secondary_storage = std::make_unique<FaultyReopenableStorage>(
      testing::NewReopenableMemoryStorage());
  testing::FaultInjectingStorage* faults = secondary_storage->faults();
  TwoOrgs t(2, testing::NewReopenableMemoryStorage(),
            std::move(secondary_storage), crm.Config());
  Connection* p = nullptr;
  Connection* s = nullptr;
  std::tie(p, s) = t.Connect(PlainInvitation());

  RequireOk(p->publish_set()->PublishObject("Account"));
  std::vector<QueueEntry> queued = Queued(p);
  REQUIRE(queued.size() == 1);
  CHECK(queued[0].action == A::kTypeMapUpdate);
  CHECK(queued[0].attempts == 0);
  CHECK(queued[0].next_retry == queued[0].enqueued);
  CHECK_FALSE(queued[0].last_attempt.has_value());

  // The partner cannot store it: the entry stays, with its failure.
  faults->FailWritesWithKeyPrefix("s/");
  REQUIRE(PumpUntil(t, [&] { return Queued(p)[0].attempts == 1; }));
  queued = Queued(p);
  REQUIRE(queued.size() == 1);
  CHECK(queued[0].last_error.code == SyncErrorCode::kStorage);
  CHECK(queued[0].last_attempt.has_value());
  CHECK(queued[0].next_retry > t.clock.Now());
  CHECK(queued[0].next_retry <= *queued[0].last_attempt + absl::Seconds(10));

  faults->ClearFaults();
  REQUIRE(t.Settle());
  CHECK(p->record_queue()->Count() == 0);
  CHECK(s->subscription_map()->IsPartnerPublished("Account"));
}

TEST_CASE(
    "R51: the first failure logs Retrying and a success after it logs "
    "Resolved",
    "[integration][connection]") {
  Crm crm;
  auto secondary_storage = std::make_unique<FaultyReopenableStorage>(
      testing::NewReopenableMemoryStorage());
  testing::FaultInjectingStorage* faults = secondary_storage->faults();
  TwoOrgs t(3, testing::NewReopenableMemoryStorage(),
            std::move(secondary_storage), crm.Config());
  Connection* p = nullptr;
  Connection* s = nullptr;
  std::tie(p, s) = t.Connect(PlainInvitation());

  faults->FailWritesWithKeyPrefix("s/");
  RequireOk(p->publish_set()->PublishObject("Account"));
  REQUIRE(PumpUntil(t, [&] { return Queued(p)[0].attempts == 1; }));
  std::vector<LogEntry> log = LogOf(p);
  REQUIRE(log.size() == 1);
  CHECK(log[0].status == LogStatus::kRetrying);
  CHECK(log[0].action == A::kTypeMapUpdate);
  CHECK(log[0].record == RecordRef{.object = "Account", .id = ""});
  CHECK(log[0].error == SyncErrorCode::kStorage);
  CHECK(log[0].attempts == 1);
  CHECK(log[0].queue_sequence == Queued(p)[0].sequence);

  // Later failures of the same entry log nothing more.
  REQUIRE(PumpUntil(t, [&] { return Queued(p)[0].attempts == 2; }));
  CHECK(LogOf(p).size() == 1);

  faults->ClearFaults();
  REQUIRE(t.Settle());
  CHECK(LogStatuses(p) ==
        std::vector<LogStatus>{LogStatus::kRetrying, LogStatus::kResolved});
  CHECK(LogOf(p)[1].attempts == 2);
  CHECK(s->subscription_map()->IsPartnerPublished("Account"));
  CHECK(s->counters().items_applied == 1);
}

TEST_CASE(
    "R51: after the last retry the entry is logged Failed and leaves the "
    "queue",
    "[integration][connection]") {
  Crm crm;
  auto secondary_storage = std::make_unique<FaultyReopenableStorage>(
      testing::NewReopenableMemoryStorage());
  testing::FaultInjectingStorage* faults = secondary_storage->faults();
  TwoOrgs t(4, testing::NewReopenableMemoryStorage(),
            std::move(secondary_storage), crm.Config(/*max_attempts=*/3));
  Connection* p = nullptr;
  Connection* s = nullptr;
  std::tie(p, s) = t.Connect(PlainInvitation());

  faults->FailWritesWithKeyPrefix("s/");
  RequireOk(p->publish_set()->PublishObject("Account"));
  REQUIRE(t.Settle());
  const std::vector<LogEntry> log = LogOf(p);
  REQUIRE(log.size() == 2);
  CHECK(log[0].status == LogStatus::kRetrying);
  CHECK(log[1].status == LogStatus::kFailed);
  CHECK(log[1].attempts == 3);
  CHECK(log[1].error == SyncErrorCode::kStorage);
  CHECK(log[1].record == RecordRef{.object = "Account", .id = ""});
  CHECK(p->record_queue()->Count() == 0);
  CHECK_FALSE(s->subscription_map()->IsPartnerPublished("Account"));
  CHECK(s->counters().items_failed == 3);

  // A later change of the object is queued and delivered normally (R55).
  faults->ClearFaults();
  RequireOk(p->publish_set()->UnpublishField("Account", "Phone"));
  REQUIRE(t.Settle());
  CHECK(s->subscription_map()->IsPartnerPublished("Account"));
}

TEST_CASE(
    "R51: a change the partner refuses for good is logged Failed at once, "
    "and an org without a RecordStore refuses record changes",
    "[integration][connection]") {
  Crm crm;
  TwoOrgs t(5, testing::NewReopenableMemoryStorage(),
            testing::NewReopenableMemoryStorage(), crm.Config());
  Connection* p = nullptr;
  Connection* s = nullptr;
  std::tie(p, s) = t.Connect(PlainInvitation());
  proto::RecordChange change;
  change.set_action(proto::GENERIC_INSERT);
  change.set_object("Account");
  change.set_sender_record_id("001");
  internal::NewQueueEntry entry;
  entry.record = {.object = "Account", .id = "001"};
  entry.action = A::kGenericInsert;
  entry.payload = change.SerializeAsString();
  // A record change queued behind Capture's back, as only the engine can:
  // the host's view of the queue is read-only.
  auto* queue = static_cast<internal::DurableRecordQueue*>(p->record_queue());
  RequireOk(queue->Enqueue({entry}).status());
  REQUIRE(t.Settle());
  const std::vector<LogEntry> log = LogOf(p);
  REQUIRE(log.size() == 1);
  CHECK(log[0].status == LogStatus::kFailed);
  CHECK(log[0].attempts == 1);
  CHECK(log[0].record == entry.record);
  CHECK(log[0].description.find("no RecordStore") != std::string::npos);
  CHECK(s->counters().items_failed == 1);
}

// ---------------------------------------------------------------------------
// R5, R6, R8: suspension and deactivation

TEST_CASE(
    "R5: while suspended nothing is sent, an owner change is queued as "
    "Connection Update, and resuming drains the queue in order",
    "[integration][connection]") {
  Crm crm;
  TwoOrgs t(6, testing::NewReopenableMemoryStorage(),
            testing::NewReopenableMemoryStorage(), crm.Config());
  Connection* p = nullptr;
  Connection* s = nullptr;
  std::tie(p, s) = t.Connect(PlainInvitation());
  RequireOk(p->Suspend("alice"));
  RequireOk(p->publish_set()->PublishObject("Account"));
  RequireOk(p->UpdateOwner("carol@a", "alice"));
  for (int i = 0; i < 50; ++i) t.Pump();
  CHECK(p->counters().entries_sent == 0);
  CHECK(QueuedActions(p) == std::vector<A>{A::kConnectionAdminSuspended,
                                           A::kTypeMapUpdate,
                                           A::kConnectionUpdate});
  CHECK_FALSE(s->subscription_map()->IsPartnerPublished("Account"));
  CHECK(s->Info().owner == "alice@a");

  RequireOk(p->Resume("alice"));
  REQUIRE(t.Settle());
  CHECK(p->record_queue()->Count() == 0);
  CHECK(s->subscription_map()->IsPartnerPublished("Account"));
  CHECK(s->Info().owner == "carol@a");
  CHECK(PartnerEvents(s) ==
        std::vector<E>{E::kAdminSuspended, E::kOwnerUpdated, E::kAdminResumed});
  // The partner's suspension is its own: this side stayed Active.
  CHECK(s->status() == ConnectionStatus::kActive);
}

TEST_CASE(
    "R5: both sides may change different settings at once without "
    "overwriting each other",
    "[integration][connection]") {
  Crm crm;
  TwoOrgs t(7, testing::NewReopenableMemoryStorage(),
            testing::NewReopenableMemoryStorage(), crm.Config());
  Connection* p = nullptr;
  Connection* s = nullptr;
  std::tie(p, s) = t.Connect(PlainInvitation());
  RequireOk(p->UpdateOwner("carol@a", "alice"));
  RequireOk(s->UpdateContact("dave@b", "bob"));
  const SyncOptions sync{.sync_feeds_and_audit_fields = true};
  RequireOk(p->UpdateSyncOptions(sync, "alice"));
  REQUIRE(t.Settle());
  for (Connection* c : {p, s}) {
    CHECK(c->Info().owner == "carol@a");
    CHECK(c->Info().contact == "dave@b");
    CHECK(c->Info().sync == sync);
  }
}

TEST_CASE(
    "R6: a partner gone suspends delivery, its return resumes it and the "
    "queue drains",
    "[integration][connection]") {
  Crm crm;
  TwoOrgs t(8, testing::NewReopenableMemoryStorage(),
            testing::NewReopenableMemoryStorage(), crm.Config());
  Connection* p = nullptr;
  Connection* s = nullptr;
  std::tie(p, s) = t.Connect(PlainInvitation());
  t.pair.SetOnline(Side::kB, false);
  CHECK(p->status() == ConnectionStatus::kSuspended);
  RequireOk(p->publish_set()->PublishObject("Account"));
  for (int i = 0; i < 20; ++i) t.Pump();
  CHECK(p->counters().entries_sent == 0);
  CHECK(QueuedActions(p) ==
        std::vector<A>{A::kConnectionSuspended, A::kTypeMapUpdate});

  t.pair.SetOnline(Side::kB, true);
  CHECK(p->status() == ConnectionStatus::kActive);
  REQUIRE(t.Settle());
  CHECK(s->subscription_map()->IsPartnerPublished("Account"));
  CHECK(p->record_queue()->Count() == 0);
  CHECK(s->record_queue()->Count() == 0);
}

TEST_CASE(
    "R8: deactivating one side deactivates the partner and nothing is "
    "sent afterwards",
    "[integration][connection]") {
  Crm crm;
  TwoOrgs t(9, testing::NewReopenableMemoryStorage(),
            testing::NewReopenableMemoryStorage(), crm.Config());
  Connection* p = nullptr;
  Connection* s = nullptr;
  std::tie(p, s) = t.Connect(PlainInvitation());
  RequireOk(s->publish_set()->PublishObject("Account"));
  RequireOk(p->Deactivate("alice"));
  // The secondary's Type Map Update was never sent; it may go before the
  // Deactivate arrives, or be refused after: both are fine.
  REQUIRE(PumpUntil(t, [&] {
    return s->status() == ConnectionStatus::kDeactivated &&
           p->record_queue()->Count() == 0;
  }));
  CHECK(PartnerEvents(s) == std::vector<E>{E::kDeactivated});
  const uint64_t sent = p->counters().entries_sent + s->counters().entries_sent;
  // Changes after deactivation queue nothing and send nothing.
  RequireOk(p->publish_set()->PublishObject("Contact"));
  for (int i = 0; i < 20; ++i) t.Pump();
  CHECK(p->record_queue()->Count() == 0);
  CHECK(p->counters().entries_sent + s->counters().entries_sent == sent);
}

// ---------------------------------------------------------------------------
// Faults: transport, restarts, storage

// The workload of the fault tests, in phases that need the partner to have
// heard of the previous one. Returns the entries each side queued.
struct Workload {
  uint64_t primary_entries = 0;
  uint64_t secondary_entries = 0;
};

void PhaseOne(Connection* p, Connection* s, Workload* w) {
  RequireOk(p->publish_set()->PublishObjects(
      Strings{"Account", "Contact", "Case"}));
  RequireOk(p->UpdateOwner("carol@a", "alice"));
  RequireOk(s->UpdateContact("dave@b", "bob"));
  w->primary_entries += 4;
  w->secondary_entries += 1;
}

void PhaseTwo(Connection* p, Connection* s, Workload* w) {
  RequireOk(s->subscription_map()->Subscribe("Account"));
  RequireOk(s->subscription_map()->Subscribe("Contact"));
  RequireOk(p->publish_set()->UnpublishField("Account", "Phone"));
  RequireOk(p->publish_set()->UnpublishObject("Case"));
  w->primary_entries += 2;
  w->secondary_entries += 2;
}

void CheckConverged(Connection* p, Connection* s) {
  CHECK(s->subscription_map()->PartnerPublishedObjects() ==
        Strings{"Account", "Contact"});
  std::optional<ObjectDef> account = PartnerPublication(s, "Account");
  REQUIRE(account.has_value());
  CHECK(account->FindField("Phone") == nullptr);
  CHECK(s->subscription_map()->SubscribedObjects() ==
        Strings{"Account", "Contact"});
  CHECK(p->publish_set()->IsPartnerSubscribed("Account"));
  CHECK(p->publish_set()->IsPartnerSubscribed("Contact"));
  for (Connection* c : {p, s}) {
    CHECK(c->Info().owner == "carol@a");
    CHECK(c->Info().contact == "dave@b");
    CHECK(c->record_queue()->Count() == 0);
    CHECK(c->sync_log()->Count() == 0);
  }
}

TEST_CASE(
    "R21, R50: over a transport that drops, duplicates, reorders and delays, "
    "every entry is applied exactly once",
    "[integration][connection]") {
  Crm crm;
  uint64_t duplicates_seen = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    INFO("seed " << seed);
    TwoOrgs t(seed, testing::NewReopenableMemoryStorage(),
              testing::NewReopenableMemoryStorage(), crm.Config());
    Connection* p = nullptr;
    Connection* s = nullptr;
    std::tie(p, s) = t.Connect(PlainInvitation());
    RequireOk(t.pair.SetFaults({.drop_probability = 0.25,
                                .duplicate_probability = 0.25,
                                .reorder_probability = 0.5,
                                .max_delay_steps = 3}));
    Workload w;
    PhaseOne(p, s, &w);
    REQUIRE(t.Settle());
    PhaseTwo(p, s, &w);
    REQUIRE(t.Settle());
    CheckConverged(p, s);
    CHECK(s->counters().items_applied == w.primary_entries);
    CHECK(p->counters().items_applied == w.secondary_entries);
    CHECK(p->counters().entries_acknowledged == w.primary_entries);
    CHECK(s->counters().entries_acknowledged == w.secondary_entries);
    duplicates_seen +=
        p->counters().items_duplicate + s->counters().items_duplicate;
    CHECK(t.pair.counters().dropped > 0);
  }
  // The faults did make the receivers see copies they had applied.
  CHECK(duplicates_seen > 0);
}

TEST_CASE(
    "R50: both orgs restarted mid-flight still converge with nothing "
    "applied twice",
    "[integration][connection]") {
  Crm crm;
  for (const auto& factory : testing::ReopenableStorageFactories()) {
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      TwoOrgs t(seed, factory(), factory(), crm.Config());
      INFO("storage " << t.primary_storage->name() << ", seed " << seed);
      Connection* p = nullptr;
      Connection* s = nullptr;
      std::tie(p, s) = t.Connect(PlainInvitation());
      const std::string id = p->id();
      RequireOk(t.pair.SetFaults({.drop_probability = 0.2,
                                  .duplicate_probability = 0.3,
                                  .reorder_probability = 0.3,
                                  .max_delay_steps = 2}));
      Workload w;
      uint64_t applied_by_s = 0;
      uint64_t applied_by_p = 0;
      auto restart = [&] {
        applied_by_s += s->counters().items_applied;
        applied_by_p += p->counters().items_applied;
        t.Reopen(id);
        p = *t.primary->GetConnection(id);
        s = *t.secondary->GetConnection(id);
      };
      PhaseOne(p, s, &w);
      for (int i = 0; i < 2; ++i) t.Pump();
      restart();
      REQUIRE(t.Settle());
      PhaseTwo(p, s, &w);
      t.Pump();
      restart();
      t.Pump();
      restart();
      REQUIRE(t.Settle());
      CheckConverged(p, s);
      CHECK(applied_by_s + s->counters().items_applied == w.primary_entries);
      CHECK(applied_by_p + p->counters().items_applied == w.secondary_entries);
    }
  }
}

TEST_CASE(
    "R50: a failing storage write changes nothing, and delivery recovers "
    "from one",
    "[integration][connection]") {
  Crm crm;
  auto primary_storage = std::make_unique<FaultyReopenableStorage>(
      testing::NewReopenableMemoryStorage());
  testing::FaultInjectingStorage* faults = primary_storage->faults();
  TwoOrgs t(10, std::move(primary_storage),
            testing::NewReopenableMemoryStorage(), crm.Config());
  Connection* p = nullptr;
  Connection* s = nullptr;
  std::tie(p, s) = t.Connect(PlainInvitation());
  Storage* storage = t.primary_storage->storage();

  const auto before = testing::Dump(storage);
  faults->FailNextWrites(1);
  CHECK_FALSE(p->publish_set()->PublishObject("Account").ok());
  faults->FailNextWrites(1);
  CHECK_FALSE(p->Suspend("alice").ok());
  faults->FailNextWrites(1);
  CHECK_FALSE(p->UpdateOwner("carol@a", "alice").ok());
  CHECK(testing::Dump(storage) == before);
  CHECK(p->record_queue()->Count() == 0);
  CHECK_FALSE(p->publish_set()->IsObjectPublished("Account"));
  CHECK(p->status() == ConnectionStatus::kActive);
  CHECK(p->Info().owner == "alice@a");

  // The write that would remove the acknowledged entry fails: the entry
  // stays, is sent again, and the partner answers it as a duplicate.
  RequireOk(p->publish_set()->PublishObject("Account"));
  RequireOk(p->Step().status());
  REQUIRE(p->counters().entries_sent == 1);
  faults->FailNextWrites(1);
  REQUIRE(PumpUntil(t, [&] { return faults->counts().failed_writes == 4; }));
  CHECK(p->record_queue()->Count() == 1);
  CHECK(p->sync_log()->Count() == 0);
  REQUIRE(t.Settle());
  CHECK(p->record_queue()->Count() == 0);
  CHECK(s->counters().items_applied == 1);
  CHECK(s->counters().items_duplicate >= 1);
  CHECK(p->sync_log()->Count() == 0);
}

}  // namespace
}  // namespace orgsync::integration_delivery_test
