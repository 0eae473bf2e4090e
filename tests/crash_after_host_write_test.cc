// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Design rules 2, 3 and 8 across a crash that keeps the host's copy of a
// replicated insert but loses orgsync's writes of the same envelope (they
// share one deferred flush, and the host's records live in a database of
// their own): the link stays reserved, the stamps and the hybrid clock's
// observation of the partner's write are gone, and the partner sends the
// insert again. The simulation found three ways this went wrong:
//   * the host's next edit of the record went to the partner as an insert
//     of this org's own, and the partner held the record twice;
//   * with this org's clock behind, the clock restored from its last staged
//     value had never seen the partner's stamp, so the host's edit was
//     stamped below the insert it edited and lost to it in the partner;
//   * the redelivered insert stamped every field with its own (older)
//     stamp, undoing the stamps of the host's edits made since, so that a
//     concurrent partner write overwrote the newer value here only.
// And one with an update: when the resolver picked the partner's older
// write over a local one, the host's store took the partner's value, and
// the crash lost the resend that carries the decision to the partner; the
// redelivered change found the values equal and decided nothing, so the
// partner went on with the local write.

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "orgsync/bulk_sync.h"
#include "orgsync/capture.h"
#include "orgsync/conflict.h"
#include "orgsync/connection.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/sync_log.h"
#include "testing/connection_fixture.h"
#include "testing/record_sync_pair.h"
#include "testing/storage_testing.h"

namespace orgsync::crash_after_host_write_test {
namespace {

using testing::RequireOk;

constexpr char kConnection[] = "conn-1";

// The host's store of an org that, once armed, dies right after the store
// took the first replicated write of the chosen kind: every later write,
// to orgsync's storage and to this store alike, is refused -- the process
// is gone, and what orgsync had not synced is lost at the reopen. The
// host's records themselves survive (a database of their own).
class DyingHostStore final : public ForwardingRecordStore {
 public:
  enum class Kill { kInsert, kUpdate, kDelete };
  using ForwardingRecordStore::ForwardingRecordStore;

  void Arm(Kill kill, testing::FaultInjectingStorage* faults) {
    kill_ = kill;
    faults_ = faults;
  }
  bool armed() const { return faults_ != nullptr; }
  // The host process after the restart.
  void Revive() { dead_ = false; }

  absl::StatusOr<Record> Insert(Record record,
                                const ApplyContext& context) override {
    if (dead_) return Dead();
    absl::StatusOr<Record> out =
        ForwardingRecordStore::Insert(std::move(record), context);
    if (out.ok()) MaybeDie(Kill::kInsert, context, out->id);
    return out;
  }
  absl::StatusOr<Record> Update(std::string_view object, std::string_view id,
                                const FieldMap& changes,
                                const ApplyContext& context) override {
    if (dead_) return Dead();
    absl::StatusOr<Record> out =
        ForwardingRecordStore::Update(object, id, changes, context);
    if (out.ok()) MaybeDie(Kill::kUpdate, context, out->id);
    return out;
  }
  absl::StatusOr<CascadeResult> Delete(std::string_view object,
                                       std::string_view id,
                                       const ApplyContext& context) override {
    if (dead_) return Dead();
    absl::StatusOr<CascadeResult> out =
        ForwardingRecordStore::Delete(object, id, context);
    if (out.ok()) MaybeDie(Kill::kDelete, context, std::string(id));
    return out;
  }
  absl::StatusOr<CascadeResult> Undelete(std::string_view object,
                                         std::string_view id,
                                         const ApplyContext& context) override {
    if (dead_) return Dead();
    return ForwardingRecordStore::Undelete(object, id, context);
  }

  std::string killed_id;  // the record of the last write before the death

 private:
  static absl::Status Dead() {
    return absl::UnavailableError("the process died");
  }
  void MaybeDie(Kill kind, const ApplyContext& context, const std::string& id) {
    if (faults_ == nullptr || kind != kill_ || !context.from_replication) {
      return;
    }
    faults_->SetWriteHook(
        [](const WriteBatch&, const WriteOptions&) { return Dead(); });
    faults_ = nullptr;
    dead_ = true;
    killed_id = id;
  }

  Kill kill_ = Kill::kInsert;
  testing::FaultInjectingStorage* faults_ = nullptr;
  bool dead_ = false;
};

std::string Phone(RecordStore& store, const std::string& id) {
  absl::StatusOr<Record> record = store.Get("Account", id);
  RequireOk(record.status());
  auto it = record->fields.find("Phone");
  if (it == record->fields.end()) return "<none>";
  const std::string* text = std::get_if<std::string>(&it->second);
  return text != nullptr ? *text : "<not text>";
}

// An insert when no fields are named, else an update of them.
void Capture(Connection* connection, const Record& record,
             std::vector<std::string> fields) {
  const ChangeKind kind =
      fields.empty() ? ChangeKind::kInsert : ChangeKind::kUpdate;
  testing::CaptureWrite(connection, kind, record, std::move(fields));
}

// Two orgs syncing `objects` both ways: the secondary's host store can die
// right after one of its writes (DyingHostStore), and the secondary's
// storage loses then what it had not synced. Each host stamps its records
// with its own org's clock.
struct DyingSecondary {
  struct Options {
    uint64_t seed = 1;
    std::vector<std::string> objects = {"Account"};
    absl::Duration secondary_clock_offset = absl::ZeroDuration();
    ConflictResolver* resolver = nullptr;  // null: the default
  };

  explicit DyingSecondary(const Options& options) {
    testing::FillCrmSchema(&primary_schema);
    testing::FillCrmSchema(&secondary_schema);
    testing::TwoOrgsConfig config;
    config.primary_schema = &primary_schema;
    config.secondary_schema = &secondary_schema;
    config.primary_record_store = primary_store.get();
    config.secondary_record_store = &secondary_store;
    config.secondary_clock_offset = options.secondary_clock_offset;
    config.conflict_resolver = options.resolver;
    auto secondary_storage = std::make_unique<testing::FaultyReopenableStorage>(
        testing::NewReopenableMemoryStorage());
    faulty = secondary_storage.get();
    t = std::make_unique<testing::TwoOrgs>(
        options.seed, testing::NewReopenableMemoryStorage(),
        std::move(secondary_storage), std::move(config));
    primary_clock.target = &t->clock;
    secondary_clock.target = &t->secondary_clock;
    InvitationOptions invitation = testing::DefaultInvitation(kConnection);
    invitation.sync = {};
    std::tie(primary, secondary) = t->Connect(invitation);
    for (auto [from, to] : {std::pair{primary, secondary},
                            std::pair{secondary, primary}}) {
      RequireOk(from->publish_set()->PublishObjects(options.objects));
      REQUIRE(t->Settle());
      for (const std::string& object : options.objects) {
        RequireOk(to->subscription_map()->Subscribe(object));
      }
      REQUIRE(t->Settle());
    }
  }

  // Arms the secondary's host store to die after its next replicated write
  // of kind `kill` and steps only the primary (a dead org does not step)
  // until it did.
  void KillSecondaryOn(DyingHostStore::Kill kill) {
    secondary_store.Arm(kill, faulty->faults());
    for (int i = 0; i < 20 && secondary_store.armed(); ++i) {
      RequireOk(t->primary->Step().status());
      t->pair.Step();
      t->clock.Advance(absl::Seconds(1));
    }
    REQUIRE_FALSE(secondary_store.armed());
  }

  // An account the primary's host wrote before (never captured), copied by
  // a bulk sync whose apply in the secondary the crash cuts short; returns
  // the primary's record. Both orgs still have to reopen.
  Record BulkCopyKilledOnApply() {
    Record account;
    account.object = "Account";
    account.fields = {{"Name", std::string("Acme")},
                      {"Phone", std::string("original")}};
    absl::StatusOr<Record> existing =
        primary_store->Insert(std::move(account), ApplyContext{});
    RequireOk(existing.status());
    BulkSyncOptions options;
    options.actor = "admin";
    RequireOk(primary->StartBulkSync(options).status());
    KillSecondaryOn(DyingHostStore::Kill::kInsert);
    return *std::move(existing);
  }

  // The host inserts an account in the primary and captures it.
  Record InsertAccount() {
    return testing::InsertCapturedAccount(primary_store.get(), primary,
                                          "original");
  }

  // Both orgs reopen on what their storages kept; the host store lives on.
  void Reopen() {
    t->Reopen(kConnection);
    secondary_store.Revive();
    primary = *t->primary->GetConnection(kConnection);
    secondary = *t->secondary->GetConnection(kConnection);
  }

  Schema primary_schema;
  Schema secondary_schema;
  testing::ForwardingClock primary_clock;
  testing::ForwardingClock secondary_clock;
  std::unique_ptr<RecordStore> primary_store =
      testing::NewCrmRecordStore(&primary_schema, &primary_clock, "P-");
  std::unique_ptr<RecordStore> secondary_inner =
      testing::NewCrmRecordStore(&secondary_schema, &secondary_clock, "S-");
  DyingHostStore secondary_store{secondary_inner.get()};
  testing::FaultyReopenableStorage* faulty = nullptr;
  std::unique_ptr<testing::TwoOrgs> t;
  Connection* primary = nullptr;
  Connection* secondary = nullptr;
};

// The primary inserts an account, the secondary crashes right after its
// host's store took the copy, and both reopen.
struct CrashedApply : DyingSecondary {
  explicit CrashedApply(absl::Duration secondary_clock_offset)
      : DyingSecondary({.seed = 5,
                        .secondary_clock_offset = secondary_clock_offset}) {
    primary_id = InsertAccount().id;
    KillSecondaryOn(DyingHostStore::Kill::kInsert);
    secondary_id = secondary_store.killed_id;
    Reopen();
  }

  // The host's update of Phone in `store`, captured on `connection`.
  void HostUpdate(RecordStore& store, Connection* connection,
                  const std::string& id, const std::string& phone) {
    absl::StatusOr<Record> updated =
        store.Update("Account", id, {{"Phone", phone}}, ApplyContext{});
    RequireOk(updated.status());
    Capture(connection, *updated, {"Phone"});
  }

  size_t PrimaryAccounts() {
    size_t count = 0;
    RequireOk(primary_store->Scan("Account", absl::InfinitePast(),
                                  [&](const Record&) {
                                    ++count;
                                    return true;
                                  }));
    return count;
  }

  std::string primary_id;
  std::string secondary_id;
};

TEST_CASE(
    "Design rule 3, R30: a record a crash left half-applied (the host has "
    "it, its link is reserved) is not sent back to the partner as a new "
    "record when the host edits it",
    "[records]") {
  CrashedApply orgs(absl::ZeroDuration());
  orgs.HostUpdate(orgs.secondary_store, orgs.secondary, orgs.secondary_id,
                  "secondary");
  REQUIRE(orgs.t->Settle());
  CHECK(orgs.PrimaryAccounts() == 1);
  CHECK(Phone(*orgs.primary_store, orgs.primary_id) == "secondary");
  CHECK(Phone(orgs.secondary_store, orgs.secondary_id) == "secondary");
}

TEST_CASE(
    "Design rule 8: after a crash that kept the host's copy of the "
    "partner's write but lost the clock's sight of it, the host's next edit "
    "still wins in both orgs, with this org's clock five minutes behind",
    "[records][clocks]") {
  CrashedApply orgs(-absl::Minutes(5));
  orgs.t->clock.Advance(absl::Seconds(5));
  orgs.HostUpdate(orgs.secondary_store, orgs.secondary, orgs.secondary_id,
                  "secondary");
  REQUIRE(orgs.t->Settle());
  CHECK(orgs.PrimaryAccounts() == 1);
  CHECK(Phone(*orgs.primary_store, orgs.primary_id) == "secondary");
  CHECK(Phone(orgs.secondary_store, orgs.secondary_id) == "secondary");
}

TEST_CASE(
    "Design rule 8: a redelivered insert does not undo the stamps of the "
    "host's edits made since the crash -- a concurrent older partner write "
    "loses in both orgs",
    "[records][clocks]") {
  // The secondary's clock is ahead: its edit is the newer of the two.
  CrashedApply orgs(absl::Minutes(5));
  orgs.t->clock.Advance(absl::Seconds(5));
  orgs.HostUpdate(orgs.secondary_store, orgs.secondary, orgs.secondary_id,
                  "secondary");
  orgs.t->clock.Advance(absl::Seconds(5));
  orgs.HostUpdate(*orgs.primary_store, orgs.primary, orgs.primary_id,
                  "primary");
  REQUIRE(orgs.t->Settle());
  CHECK(orgs.PrimaryAccounts() == 1);
  CHECK(Phone(*orgs.primary_store, orgs.primary_id) == "secondary");
  CHECK(Phone(orgs.secondary_store, orgs.secondary_id) == "secondary");
}

using testing::PrimaryWins;

TEST_CASE(
    "Conflicts, design rule 5: a resolver's pick of the partner's older "
    "write survives a crash that kept the host's copy of it but lost the "
    "resend -- both orgs end with the winner",
    "[records]") {
  PrimaryWins primary_wins;
  DyingSecondary orgs({.seed = 7, .resolver = &primary_wins});
  testing::TwoOrgs& t = *orgs.t;
  RecordStore* primary_store = orgs.primary_store.get();
  RecordStore* secondary_inner = orgs.secondary_inner.get();
  DyingHostStore& secondary_store = orgs.secondary_store;
  Connection* primary = orgs.primary;
  Connection* secondary = orgs.secondary;
  const std::string p_id = orgs.InsertAccount().id;
  REQUIRE(t.Settle());
  absl::StatusOr<std::optional<std::string>> s_id =
      primary->PartnerRecordId("Account", p_id);
  RequireOk(s_id.status());
  REQUIRE(s_id->has_value());

  // Both change Phone, the secondary last; the primary's change reaches the
  // secondary first, which the resolver lets win there.
  absl::StatusOr<Record> p_update = primary_store->Update(
      "Account", p_id, {{"Phone", std::string("primary")}}, ApplyContext{});
  RequireOk(p_update.status());
  Capture(primary, *p_update, {"Phone"});
  t.clock.Advance(absl::Seconds(1));
  absl::StatusOr<Record> s_update = secondary_inner->Update(
      "Account", **s_id, {{"Phone", std::string("secondary")}}, ApplyContext{});
  RequireOk(s_update.status());
  Capture(secondary, *s_update, {"Phone"});
  // Only the primary steps: the secondary's change stays queued, and the
  // secondary dies once its host's store took the primary's value.
  orgs.KillSecondaryOn(DyingHostStore::Kill::kUpdate);
  REQUIRE(Phone(secondary_store, **s_id) == "primary");

  orgs.Reopen();
  primary = orgs.primary;
  secondary = orgs.secondary;
  // The primary's change is delivered again and acknowledged before the
  // secondary sends its own: the primary then takes that one as the newer.
  for (int i = 0; i < 60 && primary->record_queue()->Count() > 0; ++i) {
    RequireOk(t.primary->Step().status());
    t.pair.Step();
    t.clock.Advance(absl::Seconds(1));
  }
  REQUIRE(primary->record_queue()->Count() == 0);
  REQUIRE(t.Settle());
  CHECK(Phone(*primary_store, p_id) == "primary");
  CHECK(Phone(secondary_store, **s_id) == "primary");
  bool conflict_logged = false;
  for (const LogEntry& entry : testing::LogOf(secondary)) {
    conflict_logged |= entry.error == SyncErrorCode::kConflict;
  }
  CHECK(conflict_logged);
}

TEST_CASE(
    "R33, design rule 5: a replicated delete whose apply a crash cut short "
    "after the host's cascade still puts back the children the sender did "
    "not take",
    "[records]") {
  DyingSecondary orgs({.seed = 9, .objects = {"Account", "Contact"}});
  testing::TwoOrgs& t = *orgs.t;
  RecordStore* primary_store = orgs.primary_store.get();
  RecordStore* secondary_inner = orgs.secondary_inner.get();
  Connection* primary = orgs.primary;
  Connection* secondary = orgs.secondary;
  Record account;
  account.object = "Account";
  account.fields = {{"Name", std::string("Acme")}};
  absl::StatusOr<Record> inserted =
      primary_store->Insert(std::move(account), ApplyContext{});
  RequireOk(inserted.status());
  const std::string p_account = inserted->id;
  Capture(primary, *inserted, {});
  REQUIRE(t.Settle());
  absl::StatusOr<std::optional<std::string>> s_account =
      primary->PartnerRecordId("Account", p_account);
  RequireOk(s_account.status());
  REQUIRE(s_account->has_value());

  // The secondary adds a contact to the account; before it travels, the
  // primary deletes the account (taking no contact along).
  Record contact;
  contact.object = "Contact";
  contact.fields = {{"LastName", std::string("Late")},
                    {"AccountId", Reference{**s_account}}};
  absl::StatusOr<Record> added =
      secondary_inner->Insert(std::move(contact), ApplyContext{});
  RequireOk(added.status());
  const std::string s_contact = added->id;
  Capture(secondary, *added, {});
  absl::StatusOr<CascadeResult> deleted =
      primary_store->Delete("Account", p_account, ApplyContext{});
  RequireOk(deleted.status());
  LocalChange change;
  change.kind = ChangeKind::kDelete;
  change.record = *primary_store->Get("Account", p_account);
  change.cascaded.assign(deleted->affected.begin() + 1,
                         deleted->affected.end());
  change.cascaded_known = true;
  RequireOk(primary->Capture(change).status());
  // Only the primary steps: its delete reaches the secondary, whose store
  // cascades to the new contact, and the secondary dies then.
  orgs.KillSecondaryOn(DyingHostStore::Kill::kDelete);

  orgs.Reopen();
  secondary = orgs.secondary;
  REQUIRE(t.Settle());
  // As without the crash: the contact the primary never had stays live.
  absl::StatusOr<Record> here = secondary_inner->Get("Contact", s_contact);
  RequireOk(here.status());
  CHECK_FALSE(here->deleted);
  absl::StatusOr<std::optional<std::string>> p_contact =
      secondary->PartnerRecordId("Contact", s_contact);
  RequireOk(p_contact.status());
  REQUIRE(p_contact->has_value());
  absl::StatusOr<Record> there = primary_store->Get("Contact", **p_contact);
  RequireOk(there.status());
  CHECK(there->deleted == here->deleted);
}

TEST_CASE(
    "Rule 3, R60: a bulk copy resent after the crash cut its apply short "
    "brings the values the record has now, not only their stamps, so the "
    "update queued after it is not refused as older",
    "[crash][bulk_sync]") {
  DyingSecondary w({});
  // A record the primary held before: copied by a bulk sync.
  const Record existing = w.BulkCopyKilledOnApply();
  // While the secondary is down the host edits the record, which queues
  // behind its copy; the copy is read again when it is sent again.
  w.t->clock.Advance(absl::Seconds(1));
  absl::StatusOr<Record> edited = w.primary_store->Update(
      "Account", existing.id, {{"Phone", std::string("newer")}},
      ApplyContext{});
  RequireOk(edited.status());
  Capture(w.primary, *edited, {"Phone"});
  w.Reopen();
  REQUIRE(w.t->Settle());
  for (int i = 0; i < 50; ++i) w.t->Pump();
  REQUIRE(w.t->Settle());
  CHECK(Phone(*w.primary_store, existing.id) == "newer");
  CHECK(Phone(*w.secondary_inner, w.secondary_store.killed_id) == "newer");
}

TEST_CASE(
    "Design rule 8, R60: a bulk copy sent again after a crash cut its apply "
    "short carries its fields' own stamps -- the host's edit of the copy "
    "made since wins in both orgs, with the sender's clock ten minutes "
    "ahead",
    "[crash][bulk_sync][clocks]") {
  DyingSecondary w({.secondary_clock_offset = -absl::Minutes(10)});
  const Record existing = w.BulkCopyKilledOnApply();
  w.Reopen();
  // The secondary's host edits the copy it holds; the copy's link is still
  // reserved, so the edit waits until the copy's apply is finished.
  w.t->clock.Advance(absl::Seconds(5));
  absl::StatusOr<Record> edited = w.secondary_store.Update(
      "Account", w.secondary_store.killed_id,
      {{"Phone", std::string("secondary")}}, ApplyContext{});
  RequireOk(edited.status());
  Capture(w.secondary, *edited, {"Phone"});
  REQUIRE(w.t->Settle());
  // Stamped as new as the moment it was sent again, the copy's "original"
  // was newer than the host's edit by the primary's clock: the secondary
  // took it back while the primary took the edit, and no log said so.
  CHECK(Phone(*w.primary_store, existing.id) == "secondary");
  CHECK(Phone(*w.secondary_inner, w.secondary_store.killed_id) ==
        "secondary");
}

}  // namespace
}  // namespace orgsync::crash_after_host_write_test
