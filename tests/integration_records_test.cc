// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Live record sync through the Connection: two orgs, each with its own
// in-memory RecordStore and CRM schema, capture host writes with
// Connection::Capture and deliver them over an in-process transport (R30,
// R31, R5, R51).

#include <algorithm>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_queue.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/sync_log.h"
#include "testing/connection_fixture.h"
#include "testing/record_sync_pair.h"
#include "testing/storage_testing.h"

namespace orgsync::integration_records_test {
namespace {

using testing::LogOf;
using testing::RequireOk;
using testing::TwoOrgs;
using testing::TwoOrgsConfig;
using Strings = std::vector<std::string>;

// A host: writes its RecordStore, then captures the write on its
// connection, as a host application would.
struct Host {
  RecordStore* store = nullptr;
  Connection* connection = nullptr;
  ManualClock* clock = nullptr;
  uint64_t captured = 0;

  void Capture(ChangeKind kind, const Record& record, Strings fields = {},
               const std::vector<RecordRef>& affected = {}) {
    LocalChange change;
    change.kind = kind;
    change.record = record;
    change.changed_fields = std::move(fields);
    // The host tells what its store's delete/undelete took along.
    if (!affected.empty()) {
      change.cascaded.assign(affected.begin() + 1, affected.end());
      change.cascaded_known = true;
    }
    absl::StatusOr<CaptureResult> result = connection->Capture(change);
    RequireOk(result.status());
    INFO(result->reason);
    REQUIRE(result->captured);
    ++captured;
  }
  Record Insert(const std::string& object, FieldMap fields) {
    clock->Advance(absl::Milliseconds(1));
    Record record;
    record.object = object;
    record.fields = std::move(fields);
    absl::StatusOr<Record> inserted =
        store->Insert(std::move(record), ApplyContext{});
    RequireOk(inserted.status());
    Capture(ChangeKind::kInsert, *inserted);
    return *inserted;
  }
  void Update(const std::string& object, const std::string& id,
              const FieldMap& changes) {
    clock->Advance(absl::Milliseconds(1));
    absl::StatusOr<Record> updated =
        store->Update(object, id, changes, ApplyContext{});
    RequireOk(updated.status());
    Strings fields;
    for (const auto& [name, value] : changes) fields.push_back(name);
    Capture(ChangeKind::kUpdate, *updated, std::move(fields));
  }
  void Delete(const std::string& object, const std::string& id) {
    clock->Advance(absl::Milliseconds(1));
    absl::StatusOr<CascadeResult> done =
        store->Delete(object, id, ApplyContext{});
    RequireOk(done.status());
    Capture(ChangeKind::kDelete, Get(object, id), {}, done->affected);
  }
  void Undelete(const std::string& object, const std::string& id) {
    clock->Advance(absl::Milliseconds(1));
    absl::StatusOr<CascadeResult> done =
        store->Undelete(object, id, ApplyContext{});
    RequireOk(done.status());
    Capture(ChangeKind::kUndelete, Get(object, id), {}, done->affected);
  }
  Record Get(const std::string& object, const std::string& id) const {
    absl::StatusOr<Record> record = store->Get(object, id);
    RequireOk(record.status());
    return *record;
  }
};

std::vector<Record> All(RecordStore* store, const std::string& object) {
  std::vector<Record> out;
  RequireOk(store->Scan(object, absl::InfinitePast(), [&](const Record& r) {
    out.push_back(r);
    return true;
  }));
  return out;
}

// The record of `object` whose `field` holds `value`, if any.
std::optional<Record> Find(RecordStore* store, const std::string& object,
                           const std::string& field, const std::string& value) {
  for (const Record& record : All(store, object)) {
    auto it = record.fields.find(field);
    if (it != record.fields.end() && it->second == FieldValue(value)) {
      return record;
    }
  }
  return std::nullopt;
}

std::string Text(const Record& record, const std::string& field) {
  auto it = record.fields.find(field);
  // A published field never set is null on the partner.
  if (it == record.fields.end() ||
      std::holds_alternative<std::monostate>(it->second)) {
    return "<null>";
  }
  return FormatFieldValue(it->second);
}

// The published fields of every Account and Contact, with a Contact's
// account named by the account's Name (ids differ between the orgs), in a
// canonical order.
using Canon = std::vector<std::string>;
Canon CanonOf(RecordStore* store) {
  Canon canon;
  for (const Record& r : All(store, "Account")) {
    canon.push_back("Account " + Text(r, "Name") + " " + Text(r, "Phone") +
                    (r.deleted ? " deleted" : ""));
  }
  for (const Record& r : All(store, "Contact")) {
    std::string account = "<none>";
    auto it = r.fields.find("AccountId");
    if (it != r.fields.end()) {
      if (const auto* ref = std::get_if<Reference>(&it->second)) {
        absl::StatusOr<Record> parent = store->Get("Account", ref->id);
        account = parent.ok() ? Text(*parent, "Name") : "<missing>";
      }
    }
    canon.push_back("Contact " + Text(r, "LastName") + " " +
                    Text(r, "Email") + " of " + account +
                    (r.deleted ? " deleted" : ""));
  }
  std::sort(canon.begin(), canon.end());
  return canon;
}

// Two orgs with a RecordStore each, connected (every option off, so the
// connection is Active at once).
struct World {
  explicit World(uint64_t seed, bool connect = true,
                 const std::function<void(TwoOrgsConfig&)>& configure = {}) {
    testing::FillCrmSchema(primary_schema.get());
    testing::FillCrmSchema(secondary_schema.get());
    TwoOrgsConfig config;
    config.primary_schema = primary_schema.get();
    config.secondary_schema = secondary_schema.get();
    config.queue.retry = {.initial_delay = absl::Seconds(10),
                          .multiplier = 2.0,
                          .max_delay = absl::Minutes(1),
                          .jitter = 0.0,
                          .max_attempts = 4};
    config.delivery.ack_timeout = absl::Seconds(5);
    config.primary_record_store = primary_store.get();
    config.secondary_record_store = secondary_store.get();
    if (configure) configure(config);
    t = std::make_unique<TwoOrgs>(seed, testing::NewReopenableMemoryStorage(),
                                  testing::NewReopenableMemoryStorage(),
                                  std::move(config));
    store_clock.target = &t->clock;
    if (!connect) return;
    InvitationOptions options = testing::DefaultInvitation();
    options.sync = {};
    std::tie(p, s) = t->Connect(options);
    REQUIRE(p->status() == ConnectionStatus::kActive);
    primary.store = primary_store.get();
    primary.connection = p;
    primary.clock = &t->clock;
    secondary.store = secondary_store.get();
    secondary.connection = s;
    secondary.clock = &t->clock;
  }

  // `from` publishes `objects`; `to` subscribes them (fields map by name).
  void Flow(Connection* from, Connection* to, const Strings& objects) {
    testing::FlowObjects(*t, from, to, objects);
  }

  // Two-way: each side publishes `objects` and the other subscribes them.
  void FlowBothWays(const Strings& objects) {
    Flow(p, s, objects);
    Flow(s, p, objects);
  }

  void CheckConverged() {
    const Canon a = CanonOf(primary_store.get());
    const Canon b = CanonOf(secondary_store.get());
    CHECK(a == b);
    CHECK_FALSE(a.empty());
  }

  std::unique_ptr<Schema> primary_schema = std::make_unique<Schema>();
  std::unique_ptr<Schema> secondary_schema = std::make_unique<Schema>();
  testing::ForwardingClock store_clock;
  std::unique_ptr<RecordStore> primary_store =
      testing::NewCrmRecordStore(primary_schema.get(), &store_clock, "P-");
  std::unique_ptr<RecordStore> secondary_store =
      testing::NewCrmRecordStore(secondary_schema.get(), &store_clock, "S-");
  std::unique_ptr<TwoOrgs> t;
  Connection* p = nullptr;
  Connection* s = nullptr;
  Host primary;
  Host secondary;
};

std::vector<QueueEntry> RecordEntries(const Connection* c) {
  auto page = c->record_queue()->List("", RecordQueue::kMaxPageSize);
  RequireOk(page.status());
  std::vector<QueueEntry> out;
  for (const QueueEntry& entry : page->entries) {
    if (IsRecordAction(entry.action)) out.push_back(entry);
  }
  return out;
}

void SetFaults(TwoOrgs& t) {
  RequireOk(t.pair.SetFaults({.drop_probability = 0.2,
                              .duplicate_probability = 0.2,
                              .reorder_probability = 0.3,
                              .max_delay_steps = 2}));
}

TEST_CASE(
    "R30, R31: one-way inserts, updates, deletes and undeletes reach the "
    "secondary over a faulty transport, and nothing echoes back",
    "[integration][records]") {
  uint64_t faults_seen = 0;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    INFO("seed " << seed);
    World w(seed);
    w.Flow(w.p, w.s, Strings{"Account", "Contact"});
    SetFaults(*w.t);
    const uint64_t s_acknowledged = w.s->counters().entries_acknowledged;
    const uint64_t p_acknowledged = w.p->counters().entries_acknowledged;

    const Record acme =
        w.primary.Insert("Account", {{"Name", "Acme"}, {"Phone", "1"}});
    w.primary.Insert("Contact", {{"LastName", "Ng"},
                                 {"Email", "ng@acme.test"},
                                 {"AccountId", Reference{acme.id}}});
    const Record globex = w.primary.Insert("Account", {{"Name", "Globex"}});
    w.primary.Update("Account", acme.id, {{"Phone", "2"}});
    REQUIRE(w.t->Settle());
    w.CheckConverged();
    std::optional<Record> there =
        Find(w.secondary_store.get(), "Account", "Name", "Acme");
    REQUIRE(there.has_value());
    CHECK(Text(*there, "Phone") == "2");

    // The delete cascades to the contact on both sides (R33).
    w.primary.Delete("Account", acme.id);
    w.primary.Update("Account", globex.id, {{"Name", "Globex Corp"}});
    REQUIRE(w.t->Settle());
    w.CheckConverged();
    there = Find(w.secondary_store.get(), "Account", "Name", "Acme");
    REQUIRE(there.has_value());
    CHECK(there->deleted);
    std::optional<Record> contact =
        Find(w.secondary_store.get(), "Contact", "LastName", "Ng");
    REQUIRE(contact.has_value());
    CHECK(contact->deleted);

    w.primary.Undelete("Account", acme.id);
    w.primary.Update("Account", acme.id, {{"Phone", "3"}});
    REQUIRE(w.t->Settle());
    w.CheckConverged();
    there = Find(w.secondary_store.get(), "Account", "Name", "Acme");
    REQUIRE(there.has_value());
    CHECK_FALSE(there->deleted);
    CHECK(Text(*there, "Phone") == "3");
    contact = Find(w.secondary_store.get(), "Contact", "LastName", "Ng");
    REQUIRE(contact.has_value());
    CHECK_FALSE(contact->deleted);

    // R31: every change left the primary's queue once, and the secondary
    // queued nothing although it applied them all.
    CHECK(w.p->counters().entries_acknowledged - p_acknowledged ==
          w.primary.captured);
    CHECK(w.s->counters().entries_acknowledged == s_acknowledged);
    CHECK(w.s->record_queue()->Count() == 0);
    // A host that captures orgsync's own writes gets "not captured".
    LocalChange echo;
    echo.kind = ChangeKind::kUpdate;
    echo.record = *there;
    echo.changed_fields = {"Phone"};
    echo.context.from_replication = true;
    absl::StatusOr<CaptureResult> echoed = w.s->Capture(echo);
    RequireOk(echoed.status());
    CHECK_FALSE(echoed->captured);
    CHECK(w.s->record_queue()->Count() == 0);
    faults_seen += w.t->pair.counters().dropped +
                   w.t->pair.counters().duplicated;
  }
  CHECK(faults_seen > 0);
}

TEST_CASE(
    "R30, R31: two-way changes from both orgs converge over a faulty "
    "transport, each delivered once and none echoed",
    "[integration][records]") {
  uint64_t faults_seen = 0;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    INFO("seed " << seed);
    World w(seed);
    w.FlowBothWays(Strings{"Account", "Contact"});
    SetFaults(*w.t);
    const uint64_t s_acknowledged = w.s->counters().entries_acknowledged;
    const uint64_t p_acknowledged = w.p->counters().entries_acknowledged;

    w.primary.Insert("Account", {{"Name", "Acme"}, {"Phone", "1"}});
    const Record globex =
        w.secondary.Insert("Account", {{"Name", "Globex"}, {"Phone", "7"}});
    w.secondary.Insert("Contact", {{"LastName", "Li"},
                                   {"Email", "li@globex.test"},
                                   {"AccountId", Reference{globex.id}}});
    REQUIRE(w.t->Settle());
    w.CheckConverged();

    // Each side edits the record the other created.
    std::optional<Record> acme_s =
        Find(w.secondary_store.get(), "Account", "Name", "Acme");
    REQUIRE(acme_s.has_value());
    w.secondary.Update("Account", acme_s->id, {{"Phone", "2"}});
    std::optional<Record> globex_p =
        Find(w.primary_store.get(), "Account", "Name", "Globex");
    REQUIRE(globex_p.has_value());
    w.primary.Update("Account", globex_p->id, {{"Name", "Globex Corp"}});
    REQUIRE(w.t->Settle());
    w.CheckConverged();
    std::optional<Record> acme_p =
        Find(w.primary_store.get(), "Account", "Name", "Acme");
    REQUIRE(acme_p.has_value());
    CHECK(Text(*acme_p, "Phone") == "2");
    CHECK(Text(w.secondary.Get("Account", globex.id), "Name") ==
          "Globex Corp");

    // The primary deletes the secondary's account (and its contact); the
    // secondary brings it back.
    w.primary.Delete("Account", globex_p->id);
    REQUIRE(w.t->Settle());
    w.CheckConverged();
    CHECK(w.secondary.Get("Account", globex.id).deleted);
    w.secondary.Undelete("Account", globex.id);
    REQUIRE(w.t->Settle());
    w.CheckConverged();
    CHECK_FALSE(w.primary.Get("Account", globex_p->id).deleted);
    std::optional<Record> contact =
        Find(w.primary_store.get(), "Contact", "LastName", "Li");
    REQUIRE(contact.has_value());
    CHECK_FALSE(contact->deleted);

    // R31: what each side applied from the other was never sent back.
    CHECK(w.p->counters().entries_acknowledged - p_acknowledged ==
          w.primary.captured);
    CHECK(w.s->counters().entries_acknowledged - s_acknowledged ==
          w.secondary.captured);
    faults_seen += w.t->pair.counters().dropped +
                   w.t->pair.counters().duplicated;
  }
  CHECK(faults_seen > 0);
}

TEST_CASE(
    "R5: changes captured while suspended wait in the queue and drain in "
    "order on resume",
    "[integration][records]") {
  World w(1);
  w.Flow(w.p, w.s, Strings{"Account"});
  const Record acme =
      w.primary.Insert("Account", {{"Name", "Acme"}, {"Phone", "0"}});
  REQUIRE(w.t->Settle());

  RequireOk(w.p->Suspend("alice@a"));
  REQUIRE(w.p->status() == ConnectionStatus::kSuspended);
  for (const char* phone : {"1", "2", "3"}) {
    w.primary.Update("Account", acme.id, {{"Phone", phone}});
  }
  w.primary.Insert("Account", {{"Name", "Initech"}});
  const std::vector<QueueEntry> queued = RecordEntries(w.p);
  REQUIRE(queued.size() == 4);
  for (size_t i = 1; i < queued.size(); ++i) {
    CHECK(queued[i - 1].sequence < queued[i].sequence);
  }
  CHECK(queued[0].action == QueueAction::kGenericUpdate);
  CHECK(queued[3].action == QueueAction::kGenericInsert);

  for (int i = 0; i < 20; ++i) w.t->Pump();
  CHECK(RecordEntries(w.p).size() == 4);
  std::optional<Record> there =
      Find(w.secondary_store.get(), "Account", "Name", "Acme");
  REQUIRE(there.has_value());
  CHECK(Text(*there, "Phone") == "0");
  CHECK_FALSE(
      Find(w.secondary_store.get(), "Account", "Name", "Initech").has_value());

  RequireOk(w.p->Resume("alice@a"));
  REQUIRE(w.p->status() == ConnectionStatus::kActive);
  // The record's changes leave the queue oldest first: what remains is
  // always the tail.
  std::vector<uint64_t> acme_sequences;
  for (const QueueEntry& entry : queued) {
    if (entry.record.id == acme.id) acme_sequences.push_back(entry.sequence);
  }
  for (int round = 0; round < 200 && !RecordEntries(w.p).empty(); ++round) {
    w.t->Pump();
    std::vector<uint64_t> left;
    for (const QueueEntry& entry : RecordEntries(w.p)) {
      if (entry.record.id == acme.id) left.push_back(entry.sequence);
    }
    REQUIRE(left.size() <= acme_sequences.size());
    CHECK(std::equal(left.begin(), left.end(),
                     acme_sequences.end() - static_cast<ptrdiff_t>(left.size())));
  }
  REQUIRE(w.t->Settle());
  there = Find(w.secondary_store.get(), "Account", "Name", "Acme");
  REQUIRE(there.has_value());
  CHECK(Text(*there, "Phone") == "3");
  CHECK(
      Find(w.secondary_store.get(), "Account", "Name", "Initech").has_value());
  w.CheckConverged();
}

TEST_CASE(
    "Issue 8.8: idle() says when a side has nothing left to deliver: queue "
    "empty and nothing awaiting an answer",
    "[integration][records]") {
  World w(2);
  w.Flow(w.p, w.s, Strings{"Account"});
  CHECK(w.p->idle());
  CHECK(w.s->idle());
  w.primary.Insert("Account", {{"Name", std::string("Acme")}});
  CHECK_FALSE(w.p->idle());  // queued
  CHECK(w.s->idle());
  // Sent, not answered yet: the primary steps, the pair has not delivered.
  RequireOk(w.p->Step().status());
  CHECK(w.p->record_queue()->Count() == 1);
  CHECK_FALSE(w.p->idle());
  REQUIRE(w.t->Settle());
  CHECK(w.p->idle());
  CHECK(w.s->idle());
  CHECK(All(w.secondary_store.get(), "Account").size() == 1);
}

TEST_CASE(
    "Issue 8.8: setup driven by events -- the secondary subscribes when told "
    "the partner published, the primary hears the subscription and the "
    "status changes",
    "[integration][records]") {
  // Events are told without orgsync's locks: the callbacks call back in.
  std::vector<ConnectionEvent> primary_events;
  std::vector<ConnectionEvent> secondary_events;
  Org* secondary_org = nullptr;
  World w(4, /*connect=*/false, [&](TwoOrgsConfig& config) {
    config.primary_events = [&](const ConnectionEvent& event) {
      primary_events.push_back(event);
    };
    config.secondary_events = [&](const ConnectionEvent& event) {
      secondary_events.push_back(event);
      if (event.kind == ConnectionEventKind::kPartnerPublished) {
        absl::StatusOr<Connection*> c =
            secondary_org->GetConnection(event.connection_id);
        RequireOk(c.status());
        RequireOk((*c)->subscription_map()->Subscribe(event.object));
      }
    };
  });
  secondary_org = w.t->secondary.get();
  InvitationOptions options = testing::DefaultInvitation();
  options.sync = {};
  std::tie(w.p, w.s) = w.t->Connect(options);
  const ConnectionEvent active{.connection_id = "conn-1",
                               .kind = ConnectionEventKind::kStatusChanged,
                               .status = ConnectionStatus::kActive};
  CHECK(primary_events == std::vector<ConnectionEvent>{active});
  CHECK(secondary_events == std::vector<ConnectionEvent>{active});

  // The primary's host only publishes; the rest follows from events.
  RequireOk(w.p->publish_set()->PublishObjects({"Account"}));
  REQUIRE(w.t->Settle());
  CHECK(w.p->publish_set()->IsPartnerSubscribed("Account"));
  REQUIRE(secondary_events.size() == 2);
  CHECK(secondary_events[1].kind == ConnectionEventKind::kPartnerPublished);
  CHECK(secondary_events[1].object == "Account");
  REQUIRE(primary_events.size() == 2);
  CHECK(primary_events[1].kind == ConnectionEventKind::kPartnerSubscribed);
  CHECK(primary_events[1].object == "Account");

  RequireOk(w.s->Suspend("bob"));
  REQUIRE(secondary_events.size() == 3);
  CHECK(secondary_events[2].kind == ConnectionEventKind::kStatusChanged);
  CHECK(secondary_events[2].status == ConnectionStatus::kSuspended);
}

// A transport whose buffers are full while `full` is set: Send refuses
// with ResourceExhausted and takes nothing (flow control).
class ThrottledTransport final : public Transport {
 public:
  explicit ThrottledTransport(Transport* inner) : inner_(inner) {}
  void SetHandler(TransportHandler* handler) override {
    inner_->SetHandler(handler);
  }
  absl::Status Send(std::string bytes) override {
    if (full) {
      ++refused;
      return absl::ResourceExhaustedError("send buffer full");
    }
    return inner_->Send(std::move(bytes));
  }
  bool PartnerAvailable() const override { return inner_->PartnerAvailable(); }

  bool full = false;
  int refused = 0;

 private:
  Transport* const inner_;
};

TEST_CASE(
    "Transport contract: ResourceExhausted from Send is flow control -- Step "
    "does not fail, the entries wait and go at a later Step",
    "[integration][records]") {
  World w(3);
  w.Flow(w.p, w.s, Strings{"Account"});
  ThrottledTransport throttled(w.t->pair.a());
  RequireOk(w.p->AttachTransport(&throttled));
  throttled.full = true;
  w.primary.Insert("Account", {{"Name", std::string("Acme")}});
  absl::StatusOr<size_t> sent = w.p->Step();
  RequireOk(sent.status());
  CHECK(*sent == 0);
  CHECK(throttled.refused >= 1);
  CHECK(w.p->record_queue()->Count() == 1);
  throttled.full = false;
  REQUIRE(w.t->Settle());
  CHECK(All(w.secondary_store.get(), "Account").size() == 1);
  RequireOk(w.p->AttachTransport(w.t->pair.a()));
}

TEST_CASE(
    "R51: a child whose required parent never arrives is logged Retrying, "
    "then Failed",
    "[integration][records]") {
  World w(1);
  w.Flow(w.p, w.s, Strings{"Account", "Invoice"});
  // The host wrote the parent without capturing it: the partner never
  // gets it.
  Record parent;
  parent.object = "Account";
  parent.fields = {{"Name", "Hidden"}};
  absl::StatusOr<Record> hidden =
      w.primary_store->Insert(std::move(parent), ApplyContext{});
  RequireOk(hidden.status());
  const Record invoice =
      w.primary.Insert("Invoice", {{"AccountId", Reference{hidden->id}}});
  REQUIRE(w.t->Settle());

  CHECK(w.p->record_queue()->Count() == 0);
  CHECK(All(w.secondary_store.get(), "Invoice").empty());
  std::vector<LogStatus> statuses;
  for (const LogEntry& entry : LogOf(w.p)) {
    if (entry.record.object != "Invoice") continue;
    CHECK(entry.record.id == invoice.id);
    CHECK(entry.error == SyncErrorCode::kMissingParent);
    statuses.push_back(entry.status);
  }
  CHECK(statuses == std::vector<LogStatus>{LogStatus::kRetrying,
                                           LogStatus::kFailed});
}

TEST_CASE(
    "R5, R8: Capture needs an accepted, not deactivated connection and an "
    "org with a RecordStore",
    "[integration][records]") {
  World w(1, /*connect=*/false);
  const Invitation invitation = w.t->Invite();
  Connection* p = *w.t->primary->GetConnection(invitation.connection_id);
  LocalChange change;
  change.kind = ChangeKind::kInsert;
  change.record.object = "Account";
  change.record.id = "P-1";
  change.record.fields = {{"Name", "Acme"}};
  CHECK(absl::IsFailedPrecondition(p->Capture(change).status()));

  auto accepted = w.t->secondary->AcceptInvitation(
      invitation.connection_id, invitation.secret_hex, w.t->pair.b(), "bob@b");
  RequireOk(accepted.status());
  REQUIRE(w.t->pair.RunUntilIdle());
  REQUIRE(p->accepted());
  // Accepted (still in the initial syncs): capturing is allowed; the
  // object is not published, so nothing is queued.
  absl::StatusOr<CaptureResult> captured = p->Capture(change);
  RequireOk(captured.status());
  CHECK_FALSE(captured->captured);

  RequireOk(p->Deactivate("alice@a"));
  const uint64_t queued = p->record_queue()->Count();
  CHECK(absl::IsFailedPrecondition(p->Capture(change).status()));
  CHECK(p->record_queue()->Count() == queued);

  // No RecordStore: no record sync at all.
  testing::TwoOrgs bare;
  auto [bp, bs] = bare.Connect();
  CHECK(absl::IsFailedPrecondition(bp->Capture(change).status()));
  CHECK(absl::IsFailedPrecondition(bs->Capture(change).status()));
}

TEST_CASE(
    "R33: a contact inserted in one org while the other deletes its account "
    "ends the same in both orgs, and so does the undelete",
    "[integration][records]") {
  World w(1);
  w.FlowBothWays(Strings{"Account", "Contact"});
  const Record acme = w.primary.Insert("Account", {{"Name", "Acme"}});
  REQUIRE(w.t->Settle());
  std::optional<Record> acme_s =
      Find(w.secondary_store.get(), "Account", "Name", "Acme");
  REQUIRE(acme_s.has_value());

  // Both sides hold their changes while each makes one.
  RequireOk(w.p->Suspend("alice@a"));
  RequireOk(w.s->Suspend("bob@b"));
  w.primary.Insert("Contact", {{"LastName", "Ng"},
                               {"AccountId", Reference{acme.id}}});
  w.secondary.Delete("Account", acme_s->id);
  RequireOk(w.p->Resume("alice@a"));
  RequireOk(w.s->Resume("bob@b"));
  REQUIRE(w.t->Settle());
  // The secondary's delete did not take the contact (it had none): the
  // primary puts back the contact its own cascade took, so both orgs hold
  // the deleted account and the live contact.
  w.CheckConverged();
  CHECK(w.primary.Get("Account", acme.id).deleted);
  std::optional<Record> ng =
      Find(w.primary_store.get(), "Contact", "LastName", "Ng");
  REQUIRE(ng.has_value());
  CHECK_FALSE(ng->deleted);

  w.secondary.Undelete("Account", acme_s->id);
  w.primary.Delete("Contact", ng->id);
  REQUIRE(w.t->Settle());
  w.CheckConverged();
  CHECK_FALSE(w.primary.Get("Account", acme.id).deleted);
  CHECK(w.primary.Get("Contact", ng->id).deleted);
}

TEST_CASE(
    "R32: a lookup to a record whose acknowledgement was lost is translated "
    "with the id the sender knows",
    "[integration][records]") {
  World w(1);
  w.FlowBothWays(Strings{"Account", "Contact"});
  const Record acme = w.primary.Insert("Account", {{"Name", "Acme"}});
  RequireOk(w.p->Step().status());  // the primary sends the insert
  w.t->pair.Step();                 // the secondary applies it and answers
  w.t->pair.SetPartitioned(true);
  w.t->pair.Step();                 // the answer is lost
  w.t->pair.SetPartitioned(false);
  std::optional<Record> acme_s =
      Find(w.secondary_store.get(), "Account", "Name", "Acme");
  REQUIRE(acme_s.has_value());
  // The primary does not know the secondary's id of its account yet; the
  // secondary's new contact names the account by the primary's id too.
  w.secondary.Insert("Contact", {{"LastName", "Li"},
                                 {"AccountId", Reference{acme_s->id}}});
  RequireOk(w.s->Step().status());
  w.t->pair.Step();
  std::optional<Record> li =
      Find(w.primary_store.get(), "Contact", "LastName", "Li");
  REQUIRE(li.has_value());
  CHECK(li->fields.at("AccountId") == FieldValue(Reference{acme.id}));
  for (const LogEntry& entry : LogOf(w.p)) {
    CHECK(entry.error != SyncErrorCode::kMissingParent);
  }
  REQUIRE(w.t->Settle());
  w.CheckConverged();
}

}  // namespace
}  // namespace orgsync::integration_records_test

namespace orgsync::integration_records_test {
namespace {

TEST_CASE(
    "R35: turning on the sync of audit fields applies to the next insert "
    "without a reopen",
    "[integration][records]") {
  World w(1);  // every sync option off
  w.Flow(w.p, w.s, Strings{"Account"});
  w.t->clock.Advance(absl::Hours(1));
  const Record before = w.primary.Insert("Account", {{"Name", "Before"}});
  w.t->clock.Advance(absl::Minutes(5));  // the copy is made later
  REQUIRE(w.t->Settle());
  std::optional<Record> copy =
      Find(w.secondary_store.get(), "Account", "Name", "Before");
  REQUIRE(copy.has_value());
  CHECK(copy->audit.created_date != before.audit.created_date);

  SyncOptions sync = w.p->Info().sync;
  sync.sync_feeds_and_audit_fields = true;
  RequireOk(w.p->UpdateSyncOptions(sync, "alice@a"));
  REQUIRE(w.t->Settle());
  REQUIRE(w.s->Info().sync.sync_feeds_and_audit_fields);
  const Record after = w.primary.Insert("Account", {{"Name", "After"}});
  w.t->clock.Advance(absl::Minutes(5));
  REQUIRE(w.t->Settle());
  copy = Find(w.secondary_store.get(), "Account", "Name", "After");
  REQUIRE(copy.has_value());
  CHECK(copy->audit.created_date == after.audit.created_date);
  CHECK(copy->audit.created_by == after.audit.created_by);
}

}  // namespace
}  // namespace orgsync::integration_records_test

namespace orgsync::integration_records_test {
namespace {

TEST_CASE(
    "R14, R51: the receiving org's log observers run after the apply is "
    "durable and outside the connection's lock",
    "[integration][records]") {
  World w(1);
  w.Flow(w.p, w.s, Strings{"Account", "Contact"});
  // An observer that calls back into the connection: under the
  // connection's lock it would deadlock.
  std::vector<std::string> seen;
  auto id = w.s->sync_log()->AddObserver([&](const LogEntry& entry) {
    const ConnectionInfo info = w.s->Info();
    seen.push_back(fmt::format("{} {}", SyncErrorCodeName(entry.error),
                               ConnectionStatusName(info.status)));
  });
  RequireOk(id.status());
  // The contact's account is not captured: the secondary blanks the
  // lookup and logs it (R14).
  Record parent;
  parent.object = "Account";
  parent.fields = {{"Name", "Hidden"}};
  absl::StatusOr<Record> hidden =
      w.primary_store->Insert(std::move(parent), ApplyContext{});
  RequireOk(hidden.status());
  w.primary.Insert("Contact", {{"LastName", "Ng"},
                               {"AccountId", Reference{hidden->id}}});
  REQUIRE(w.t->Settle());
  CHECK(seen == std::vector<std::string>{"MISSING_PARENT Active"});
  CHECK(All(w.secondary_store.get(), "Contact").size() == 1);
}

}  // namespace
}  // namespace orgsync::integration_records_test

namespace orgsync::integration_records_test {
namespace {

TEST_CASE(
    "R30, R18: CaptureBatch queues many changes in order with one durable "
    "write, or none of them",
    "[integration][records]") {
  World w(1);
  w.Flow(w.p, w.s, Strings{"Account"});
  Record acme;
  acme.object = "Account";
  acme.fields = {{"Name", "Acme"}, {"Phone", "1"}};
  absl::StatusOr<Record> inserted =
      w.primary_store->Insert(std::move(acme), ApplyContext{});
  RequireOk(inserted.status());
  absl::StatusOr<Record> updated = w.primary_store->Update(
      "Account", inserted->id, {{"Phone", "2"}}, ApplyContext{});
  RequireOk(updated.status());
  Record note;  // an object that is not published
  note.object = "SetupAuditTrail";
  note.id = "X-1";

  std::vector<LocalChange> changes(3);
  changes[0].kind = ChangeKind::kInsert;
  changes[0].record = *inserted;
  changes[1].kind = ChangeKind::kUpdate;
  changes[1].record = *updated;
  changes[1].changed_fields = {"Phone"};
  changes[2].kind = ChangeKind::kInsert;
  changes[2].record = note;

  // A malformed change anywhere refuses the whole batch.
  std::vector<LocalChange> bad = changes;
  bad[2].record.id.clear();
  const uint64_t queued = w.p->record_queue()->Count();
  CHECK(absl::IsInvalidArgument(w.p->CaptureBatch(bad).status()));
  CHECK(absl::IsInvalidArgument(w.p->CaptureBatch({}).status()));
  CHECK(w.p->record_queue()->Count() == queued);

  absl::StatusOr<std::vector<CaptureResult>> results =
      w.p->CaptureBatch(changes);
  RequireOk(results.status());
  REQUIRE(results->size() == 3);
  CHECK((*results)[0].captured);
  CHECK((*results)[1].captured);
  CHECK((*results)[1].sequence == (*results)[0].sequence + 1);
  CHECK_FALSE((*results)[2].captured);
  CHECK((*results)[2].reason.find("not published") != std::string::npos);
  CHECK(w.p->record_queue()->Count() == queued + 2);

  // Durable on return: a crash right after loses nothing.
  const std::string id = w.p->id();  // Reopen frees the connection
  w.t->Reopen(id);
  w.p = *w.t->primary->GetConnection(id);
  w.s = *w.t->secondary->GetConnection(id);
  CHECK(w.p->record_queue()->Count() == queued + 2);
  REQUIRE(w.t->Settle());
  std::optional<Record> there =
      Find(w.secondary_store.get(), "Account", "Name", "Acme");
  REQUIRE(there.has_value());
  CHECK(Text(*there, "Phone") == "2");
}

}  // namespace
}  // namespace orgsync::integration_records_test

namespace orgsync::integration_records_test {
namespace {

TEST_CASE(
    "R55: a record sent whole whose acknowledgement was lost, then deleted, "
    "ends deleted in the partner too",
    "[integration][records]") {
  World w(1);
  w.Flow(w.p, w.s, Strings{"Account"});
  // The host wrote the account without capturing it; its first captured
  // change sends it whole (R55).
  Record ghost;
  ghost.object = "Account";
  ghost.fields = {{"Name", "Ghost"}};
  absl::StatusOr<Record> inserted =
      w.primary_store->Insert(std::move(ghost), ApplyContext{});
  RequireOk(inserted.status());
  w.primary.Update("Account", inserted->id, {{"Phone", "9"}});
  RequireOk(w.p->Step().status());  // sent whole
  w.t->pair.Step();                 // applied; the answer is on its way
  w.t->pair.SetPartitioned(true);
  w.t->pair.Step();                 // the answer is lost
  w.t->pair.SetPartitioned(false);
  std::optional<Record> copy =
      Find(w.secondary_store.get(), "Account", "Name", "Ghost");
  REQUIRE(copy.has_value());
  CHECK_FALSE(copy->deleted);

  // Deleted before the primary learns the secondary has it: the resend goes
  // whole and marked deleted, and the delete follows.
  w.primary.Delete("Account", inserted->id);
  REQUIRE(w.t->Settle());
  copy = Find(w.secondary_store.get(), "Account", "Name", "Ghost");
  REQUIRE(copy.has_value());
  CHECK(copy->deleted);
  CHECK(Text(*copy, "Phone") == "9");
  w.CheckConverged();
}

}  // namespace
}  // namespace orgsync::integration_records_test
