// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/simulation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/conflict.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/sync_log.h"
#include "orgsync/transport.h"
#include "testing/crm_schema.h"
#include "testing/storage_testing.h"

namespace orgsync::testing {
namespace {

constexpr std::string_view kConnectionId = "sim";

// Any failure inside a run; caught by RunSimulation and reported with the
// seed, so that one bad seed does not hide behind a Catch2 REQUIRE deep in
// a helper.
struct SimulationFailure {
  std::string what;
};

// ORGSYNC_SIM_TRACE=1 prints every event of a run (to replay one seed).
bool Tracing() {
  static const bool tracing = [] {
    const char* value = std::getenv("ORGSYNC_SIM_TRACE");
    return value != nullptr && *value != '\0' && *value != '0';
  }();
  return tracing;
}

template <typename... Args>
void Trace(fmt::format_string<Args...> format, Args&&... args) {
  if (Tracing()) {
    fmt::print(stderr, "{}\n", fmt::format(format, std::forward<Args>(args)...));
  }
}

void Check(const absl::Status& status, std::string_view doing) {
  if (!status.ok()) {
    throw SimulationFailure{fmt::format("{}: {}", doing, status.ToString())};
  }
}

// The objects the simulation syncs and, for each, the field that names a
// record the same way in both orgs (ids differ between orgs) and is never
// updated, the fields the workload updates, and the lookups.
struct SimObject {
  std::string name;
  std::string key_field;
  std::vector<std::string> updatable;
};

const std::vector<SimObject>& SimObjects() {
  static const auto* objects = new std::vector<SimObject>{
      {"Account", "Name", {"Phone", "Industry", "Revenue"}},
      {"Contact", "LastName", {"Email", "AccountId"}},
      {"Case", "Subject", {"Status", "Description", "ContactId"}},
      {"CaseComment", "Body", {}},
      {"Attachment", "Name", {"Body"}},
  };
  return *objects;
}

const SimObject& FindSimObject(std::string_view name) {
  for (const SimObject& object : SimObjects()) {
    if (object.name == name) return object;
  }
  throw SimulationFailure{fmt::format("unknown object {}", name)};
}

// Contact.AccountId is required: a contact's parent must exist on the
// receiving side before the contact does (R14).
void FillSimulationSchema(Schema* schema) {
  FieldDef revenue = Field("Revenue", FieldType::kCurrency);
  revenue.precision = 18;
  revenue.scale = 2;
  FieldDef account_of_contact = Lookup("AccountId", "Account");
  account_of_contact.required = true;
  ObjectDef comment =
      Object("CaseComment", {Lookup("ParentId", "Case", FieldType::kMasterDetail),
                             Field("Body", FieldType::kLongText, 4000)});
  comment.child_only = true;
  ObjectDef attachment = Object(
      "Attachment", {Lookup("ParentId", "Case"), Field("Name", FieldType::kText, 255),
                     Field("Body", FieldType::kBinary)});
  attachment.is_file = true;
  for (const ObjectDef& def : std::vector<ObjectDef>{
           Object("Account", {Field("Name", FieldType::kText, 255),
                              Field("Phone", FieldType::kPhone),
                              Picklist("Industry", {"Agriculture", "Banking",
                                                    "Chemicals"}),
                              revenue}),
           Object("Contact", {Field("LastName", FieldType::kText, 80),
                              Field("Email", FieldType::kEmail),
                              account_of_contact}),
           Object("Case", {Field("Subject", FieldType::kText, 255),
                           Lookup("AccountId", "Account"),
                           Lookup("ContactId", "Contact"),
                           Picklist("Status", {"New", "Working", "Closed"}),
                           Field("Description", FieldType::kLongText, 32000)}),
           comment, attachment}) {
    Check(schema->AddObject(def), "adding " + def.name + " to the schema");
  }
}

// Forwards to the org's store and traces what replication writes.
class TracingStore final : public ForwardingRecordStore {
 public:
  TracingStore(std::string org_id, RecordStore* target)
      : ForwardingRecordStore(target), org_id_(std::move(org_id)) {}

  absl::StatusOr<Record> Insert(Record record,
                                const ApplyContext& context) override {
    const std::string object = record.object;
    const std::string key =
        FormatFieldValue(record.fields[FindSimObject(object).key_field]);
    absl::StatusOr<Record> out =
        ForwardingRecordStore::Insert(std::move(record), context);
    if (context.from_replication) {
      Trace("  {} applies insert {} {} (key {}): {}", org_id_, object,
            out.ok() ? out->id : "", key, out.status().ToString());
    }
    return out;
  }
  absl::StatusOr<Record> Update(std::string_view object, std::string_view id,
                                const FieldMap& changes,
                                const ApplyContext& context) override {
    absl::StatusOr<Record> out =
        ForwardingRecordStore::Update(object, id, changes, context);
    if (context.from_replication) {
      std::string fields;
      for (const auto& [name, value] : changes) {
        fields += fmt::format(" {}={}", name, FormatFieldValue(value));
      }
      Trace("  {} applies update {} {}{}: {}", org_id_, object, id, fields,
            out.status().ToString());
    }
    return out;
  }
  absl::StatusOr<CascadeResult> Delete(std::string_view object,
                                       std::string_view id,
                                       const ApplyContext& context) override {
    return Traced("delete", object, id, context,
                  ForwardingRecordStore::Delete(object, id, context));
  }
  absl::StatusOr<CascadeResult> Undelete(std::string_view object,
                                         std::string_view id,
                                         const ApplyContext& context) override {
    return Traced("undelete", object, id, context,
                  ForwardingRecordStore::Undelete(object, id, context));
  }

 private:
  absl::StatusOr<CascadeResult> Traced(std::string_view what,
                                       std::string_view object,
                                       std::string_view id,
                                       const ApplyContext& context,
                                       absl::StatusOr<CascadeResult> out) {
    if (context.from_replication) {
      Trace("  {} applies {} {} {} ({} records): {}", org_id_, what, object,
            id, out.ok() ? out->affected.size() : 0, out.status().ToString());
    }
    return out;
  }

  std::string org_id_;
};

// The same answer in both orgs, as a resolver must give (conflict.h).
class PrimaryWins final : public ConflictResolver {
 public:
  ConflictWinner Resolve(const FieldConflict&) override {
    return ConflictWinner::kPrimary;
  }
};

RecordStoreOptions StoreOptions(Clock* clock, std::string id_prefix) {
  RecordStoreOptions options;
  // Deleting an account takes its contacts, deleting a case its comments
  // and attachments (R33); a case outlives its account and contact.
  options.lookups["Contact"]["AccountId"] = true;
  options.lookups["Case"]["AccountId"] = false;
  options.lookups["Case"]["ContactId"] = false;
  options.lookups["CaseComment"]["ParentId"] = true;
  options.lookups["Attachment"]["ParentId"] = true;
  options.clock = clock;
  options.id_prefix = std::move(id_prefix);
  options.user = "U1";
  return options;
}

// One org and the host around it: its storage (replication state and
// records together, as a host keeping both in one LevelDB would), its
// RecordStore, and the habit of capturing every write it makes.
class Side {
 public:
  Side(std::string org_id, std::string key_prefix, Clock* clock,
       Transport* endpoint, bool leveldb, ConflictResolver* resolver)
      : resolver_(resolver),
        org_id_(std::move(org_id)),
        key_prefix_(std::move(key_prefix)),
        clock_(clock),
        endpoint_(endpoint),
        storage_(leveldb ? NewReopenableLevelDbStorage()
                         : NewReopenableMemoryStorage()) {
    FillSimulationSchema(&schema_);
    Open();
  }
  ~Side() { Close(); }

  Org* org() const { return org_.get(); }
  RecordStore* store() const { return store_.get(); }
  Connection* connection() const { return connection_; }
  const std::string& org_id() const { return org_id_; }
  uint64_t captures() const { return captures_; }
  const std::vector<std::pair<std::string, std::string>>& inserted() const {
    return inserted_;
  }

  void set_connection(Connection* connection) { connection_ = connection; }

  // A crash and a restart: what was not synced to storage is gone, then the
  // org and its store reopen from what is left.
  void Restart() {
    Trace("{} restarts", org_id_);
    Close();
    storage_->Reopen();
    Open();
  }

  std::string NextKey() { return fmt::format("{}{}", key_prefix_, ++keys_); }

  // The host's own writes, each captured as the host would.
  void Insert(const std::string& object, FieldMap fields) {
    const Record inserted = StoreInsert(object, std::move(fields), "");
    inserted_.emplace_back(object,
                           Text(inserted, FindSimObject(object).key_field));
    Capture(ChangeKind::kInsert, inserted, {});
  }
  // A write the host forgets to capture (or makes before publishing): the
  // partner never gets the record from this insert, so what refers to it
  // there fails or is blanked -- and must be logged (design rule 5).
  void InsertUncaptured(const std::string& object, FieldMap fields) {
    const Record inserted =
        StoreInsert(object, std::move(fields), " (not captured)");
    uncaptured_.insert(object + " " +
                       Text(inserted, FindSimObject(object).key_field));
  }
  const std::set<std::string>& uncaptured() const { return uncaptured_; }

  void Update(const Record& record, const FieldMap& changes) {
    absl::StatusOr<Record> updated =
        store_->Update(record.object, record.id, changes, ApplyContext{});
    Check(updated.status(), "host update of " + record.id);
    Trace("{} update {} {} {}", org_id_, record.object, record.id,
          Describe(changes));
    std::vector<std::string> names;
    for (const auto& [name, value] : changes) names.push_back(name);
    Capture(ChangeKind::kUpdate, *updated, std::move(names));
  }
  void Delete(const Record& record) {
    absl::StatusOr<CascadeResult> deleted =
        store_->Delete(record.object, record.id, ApplyContext{});
    Check(deleted.status(), "host delete of " + record.id);
    Trace("{} delete {} {} ({} records)", org_id_, record.object, record.id,
          deleted->affected.size());
    Capture(ChangeKind::kDelete, Get(record.object, record.id), {},
            deleted->affected);
  }
  void Undelete(const Record& record) {
    absl::StatusOr<CascadeResult> undeleted =
        store_->Undelete(record.object, record.id, ApplyContext{});
    Check(undeleted.status(), "host undelete of " + record.id);
    Trace("{} undelete {} {} ({} records)", org_id_, record.object,
          record.id, undeleted->affected.size());
    Capture(ChangeKind::kUndelete, Get(record.object, record.id), {},
            undeleted->affected);
  }

  Record Get(const std::string& object, const std::string& id) const {
    absl::StatusOr<Record> record = store_->Get(object, id);
    Check(record.status(), "reading " + id);
    return *record;
  }

  std::vector<Record> All(const std::string& object) const {
    std::vector<Record> out;
    Check(store_->Scan(object, absl::InfinitePast(),
                       [&](const Record& record) {
                         out.push_back(record);
                         return true;
                       }),
          "scanning " + object);
    return out;
  }

  static std::string Describe(const FieldMap& fields) {
    std::string out;
    for (const auto& [name, value] : fields) {
      out += fmt::format(" {}={}", name, FormatFieldValue(value));
    }
    return out;
  }

  static std::string Text(const Record& record, const std::string& field) {
    auto it = record.fields.find(field);
    if (it == record.fields.end() ||
        std::holds_alternative<std::monostate>(it->second)) {
      return "<null>";
    }
    return FormatFieldValue(it->second);
  }

 private:
  void Open() {
    absl::StatusOr<std::unique_ptr<RecordStore>> store = OpenStorageRecordStore(
        storage_->storage(),
        StoreOptions(clock_, key_prefix_ == "p" ? "P-" : "S-"));
    Check(store.status(), "opening the record store of " + org_id_);
    store_ = std::move(*store);
    tracing_store_ = std::make_unique<TracingStore>(org_id_, store_.get());
    OrgOptions options;
    options.org_id = org_id_;
    options.org_name = org_id_;
    options.schema = &schema_;
    // Short retries so that a run settles in simulated minutes; enough
    // attempts that faults alone never exhaust them.
    options.queue.retry = {.initial_delay = absl::Seconds(2),
                           .multiplier = 2.0,
                           .max_delay = absl::Seconds(30),
                           .jitter = 0.2,
                           .max_attempts = 40};
    options.delivery.ack_timeout = absl::Seconds(4);
    options.delivery.max_changes_per_envelope = 8;
    options.record_store = tracing_store_.get();
    options.conflict_resolver = resolver_;
    absl::StatusOr<std::unique_ptr<Org>> org =
        Org::Open(options, storage_->storage(), clock_);
    Check(org.status(), "opening org " + org_id_);
    org_ = std::move(*org);
    connection_ = nullptr;
    if (absl::StatusOr<Connection*> c = org_->GetConnection(kConnectionId);
        c.ok()) {
      connection_ = *c;
      Check(connection_->AttachTransport(endpoint_), "attaching the transport");
    }
  }

  void Close() {
    connection_ = nullptr;
    org_.reset();
    tracing_store_.reset();
    store_.reset();
  }

  Record StoreInsert(const std::string& object, FieldMap fields,
                     std::string_view note) {
    Record record;
    record.object = object;
    record.fields = std::move(fields);
    absl::StatusOr<Record> inserted =
        store_->Insert(std::move(record), ApplyContext{});
    Check(inserted.status(), "host insert of " + object);
    Trace("{} insert {} {} {}{}", org_id_, object, inserted->id,
          Describe(inserted->fields), note);
    return *std::move(inserted);
  }

  void Capture(ChangeKind kind, const Record& record,
               std::vector<std::string> changed_fields,
               const std::vector<RecordRef>& affected = {}) {
    LocalChange change;
    change.kind = kind;
    if (!affected.empty()) {
      change.cascaded.assign(affected.begin() + 1, affected.end());
      change.cascaded_known = true;
    }
    change.record = record;
    change.changed_fields = std::move(changed_fields);
    absl::StatusOr<CaptureResult> result = connection_->Capture(change);
    Check(result.status(), "capturing " + record.id);
    if (!result->captured) {
      throw SimulationFailure{
          fmt::format("{}: change of {} {} not captured: {}", org_id_,
                      record.object, record.id, result->reason)};
    }
    ++captures_;
  }

  ConflictResolver* resolver_;  // null: the default
  std::string org_id_;
  std::string key_prefix_;
  Clock* clock_;
  Transport* endpoint_;
  Schema schema_;
  std::unique_ptr<ReopenableStorage> storage_;
  std::unique_ptr<RecordStore> store_;
  std::unique_ptr<RecordStore> tracing_store_;
  std::unique_ptr<Org> org_;
  Connection* connection_ = nullptr;
  uint64_t keys_ = 0;
  uint64_t captures_ = 0;
  std::vector<std::pair<std::string, std::string>> inserted_;
  std::set<std::string> uncaptured_;  // "object key"
};

class Simulation {
 public:
  explicit Simulation(const SimulationOptions& options)
      : options_(options),
        rng_(options.seed),
        pair_(options.seed * 7919 + 1),
        primary_("org-a", "p", &clock_, pair_.a(), options.leveldb,
                 options.primary_wins_conflicts ? &primary_wins_ : nullptr),
        secondary_("org-b", "s", &clock_, pair_.b(), options.leveldb,
                   options.primary_wins_conflicts ? &primary_wins_
                                                  : nullptr) {}

  SimulationResult Run() {
    SimulationResult result;
    try {
      Connect();
      Flow(primary_, secondary_);
      if (options_.two_way) Flow(secondary_, primary_);
      for (size_t round = 0; round < options_.rounds; ++round) Round();
      Heal();
      if (!Settle(20000)) {
        throw SimulationFailure{fmt::format(
            "the queues did not drain: primary {} queued, secondary {} "
            "queued, {} in flight",
            primary_.connection()->record_queue()->Count(),
            secondary_.connection()->record_queue()->Count(), pair_.InFlight())};
      }
      Compare(&result);
    } catch (const SimulationFailure& failure) {
      result.failure = failure.what;
    }
    result.ok = result.failure.empty();
    result.captures = primary_.captures() + secondary_.captures();
    result.restarts = restarts_;
    result.suspensions = suspensions_;
    result.offline_periods = offline_periods_;
    result.partitions = partitions_;
    result.messages_dropped = pair_.counters().dropped;
    result.messages_duplicated = pair_.counters().duplicated;
    return result;
  }

 private:
  uint64_t Uniform(uint64_t n) { return rng_() % n; }
  bool Chance(double p) {
    return static_cast<double>(rng_() >> 11) * 0x1.0p-53 < p;
  }

  void Pump() {
    for (Side* side : {&primary_, &secondary_}) {
      Check(side->org()->Step().status(), "stepping " + side->org_id());
    }
    const size_t delivered = pair_.Step();
    clock_.Advance(absl::Seconds(1));
    if (delivered > 0) Trace("step: {} messages delivered", delivered);
  }

  bool Settle(size_t max_rounds) {
    for (size_t round = 0; round < max_rounds; ++round) {
      if (primary_.connection()->record_queue()->Count() == 0 &&
          secondary_.connection()->record_queue()->Count() == 0 &&
          pair_.InFlight() == 0) {
        return true;
      }
      Pump();
    }
    return false;
  }

  void Connect() {
    InvitationOptions invitation_options;
    invitation_options.connection_id = std::string(kConnectionId);
    invitation_options.owner = "alice@a";
    invitation_options.contact = "bob@b";
    invitation_options.sync.sync_feeds_and_audit_fields = Chance(0.5);
    absl::StatusOr<Invitation> invitation =
        primary_.org()->CreateInvitation(invitation_options, "alice@a");
    Check(invitation.status(), "creating the invitation");
    absl::StatusOr<Connection*> p = primary_.org()->GetConnection(kConnectionId);
    Check(p.status(), "finding the primary's connection");
    Check((*p)->AttachTransport(pair_.a()), "attaching the primary");
    primary_.set_connection(*p);
    absl::StatusOr<Connection*> s = secondary_.org()->AcceptInvitation(
        kConnectionId, invitation->secret_hex, pair_.b(), "bob@b");
    Check(s.status(), "accepting the invitation");
    secondary_.set_connection(*s);
    pair_.RunUntilIdle();
    if (primary_.connection()->status() != ConnectionStatus::kActive ||
        secondary_.connection()->status() != ConnectionStatus::kActive) {
      throw SimulationFailure{"the connection did not become Active"};
    }
  }

  // `from` publishes every object, `to` subscribes them all.
  void Flow(Side& from, Side& to) {
    std::vector<std::string> objects;
    for (const SimObject& object : SimObjects()) objects.push_back(object.name);
    Check(from.connection()->publish_set()->PublishObjects(objects),
          "publishing");
    if (!Settle(1000)) throw SimulationFailure{"publishing did not settle"};
    for (const std::string& object : objects) {
      Check(to.connection()->subscription_map()->Subscribe(object),
            "subscribing " + object);
    }
    if (!Settle(1000)) throw SimulationFailure{"subscribing did not settle"};
    for (const std::string& object : objects) {
      if (!from.connection()->publish_set()->IsPartnerSubscribed(object)) {
        throw SimulationFailure{object + " is not partner-subscribed"};
      }
    }
  }

  void Round() {
    const uint64_t roll = Uniform(100);
    if (roll < 45) {
      Side& writer =
          options_.two_way && Chance(0.5) ? secondary_ : primary_;
      Write(writer);
      clock_.Advance(absl::Milliseconds(1 + Uniform(50)));
    } else if (roll < 88) {
      Pump();
    } else if (roll < 91) {
      ToggleAdminSuspension(Chance(0.5) ? primary_ : secondary_);
    } else if (roll < 93) {
      Side& side = Chance(0.5) ? primary_ : secondary_;
      side.Restart();
      ++restarts_;
    } else if (roll < 95) {
      const auto which = Chance(0.5) ? InProcessTransportPair::Side::kA
                                     : InProcessTransportPair::Side::kB;
      const bool online = !pair_.online(which);
      pair_.SetOnline(which, online);
      if (!online) ++offline_periods_;
    } else if (roll < 97) {
      pair_.SetPartitioned(!pair_.partitioned());
      if (pair_.partitioned()) ++partitions_;
    } else {
      const bool calm = Chance(0.3);
      Check(pair_.SetFaults(
                {.drop_probability = calm ? 0.0 : 0.05 * Uniform(5),
                 .duplicate_probability = calm ? 0.0 : 0.05 * Uniform(5),
                 .reorder_probability = calm ? 0.0 : 0.1 * Uniform(5),
                 .max_delay_steps = calm ? 0u
                                         : static_cast<uint32_t>(Uniform(4))}),
            "setting faults");
    }
  }

  void ToggleAdminSuspension(Side& side) {
    Connection* c = side.connection();
    const ConnectionInfo info = c->Info();
    if (info.admin_suspended) {
      Check(c->Resume("admin@" + side.org_id()), "resuming");
    } else if (info.status == ConnectionStatus::kActive ||
               info.status == ConnectionStatus::kSuspended) {
      Check(c->Suspend("admin@" + side.org_id()), "suspending");
      ++suspensions_;
    }
  }

  // Faults stop: the link is whole and reliable again, both orgs online,
  // admin suspensions lifted.
  void Heal() {
    Check(pair_.SetFaults({}), "clearing faults");
    pair_.SetPartitioned(false);
    pair_.SetOnline(InProcessTransportPair::Side::kA, true);
    pair_.SetOnline(InProcessTransportPair::Side::kB, true);
    for (Side* side : {&primary_, &secondary_}) {
      if (side->connection()->Info().admin_suspended) {
        Check(side->connection()->Resume("admin"), "resuming at the end");
      }
    }
  }

  std::vector<Record> Pick(Side& side, const std::string& object,
                           bool deleted) {
    std::vector<Record> out;
    for (Record& record : side.All(object)) {
      if (record.deleted == deleted) out.push_back(std::move(record));
    }
    return out;
  }

  std::optional<Record> PickOne(Side& side, const std::string& object,
                                bool deleted = false) {
    std::vector<Record> records = Pick(side, object, deleted);
    if (records.empty()) return std::nullopt;
    return records[Uniform(records.size())];
  }

  FieldValue RandomValue(Side& side, const std::string& object,
                         const std::string& field) {
    if (field == "Phone") return fmt::format("555-{:04}", Uniform(10000));
    if (field == "Industry") {
      static const char* kIndustries[] = {"Agriculture", "Banking",
                                          "Chemicals"};
      return std::string(kIndustries[Uniform(3)]);
    }
    if (field == "Revenue") return static_cast<double>(Uniform(100000)) / 4;
    if (field == "Email") return fmt::format("u{}@example.test", Uniform(1000));
    if (field == "Status") {
      static const char* kStatuses[] = {"New", "Working", "Closed"};
      return std::string(kStatuses[Uniform(3)]);
    }
    if (field == "Description") {
      return fmt::format("{} words about it", Uniform(1000000));
    }
    if (field == "Body") {
      return Binary{std::string(1 + Uniform(64), static_cast<char>('a' + Uniform(26)))};
    }
    if (field == "AccountId" || field == "ContactId") {
      const std::string target = field == "AccountId" ? "Account" : "Contact";
      std::optional<Record> parent = PickOne(side, target);
      // Contact.AccountId is required: keep the current value instead.
      if (!parent && object == "Contact") return FieldValue{};
      return parent ? FieldValue(Reference{parent->id}) : FieldValue{};
    }
    throw SimulationFailure{"no generator for " + object + "." + field};
  }

  void Write(Side& side) {
    const uint64_t roll = Uniform(100);
    if (roll < 2) {
      side.InsertUncaptured(
          "Account", {{"Name", side.NextKey()},
                      {"Phone", RandomValue(side, "Account", "Phone")}});
    } else if (roll < 20) {
      side.Insert("Account", {{"Name", side.NextKey()},
                              {"Phone", RandomValue(side, "Account", "Phone")},
                              {"Industry", RandomValue(side, "Account", "Industry")},
                              {"Revenue", RandomValue(side, "Account", "Revenue")}});
    } else if (roll < 36) {
      std::optional<Record> account = PickOne(side, "Account");
      if (!account) return;
      side.Insert("Contact", {{"LastName", side.NextKey()},
                              {"Email", RandomValue(side, "Contact", "Email")},
                              {"AccountId", Reference{account->id}}});
    } else if (roll < 46) {
      FieldMap fields = {{"Subject", side.NextKey()},
                         {"Status", RandomValue(side, "Case", "Status")}};
      if (Chance(0.7)) fields["AccountId"] = RandomValue(side, "Case", "AccountId");
      if (Chance(0.5)) fields["ContactId"] = RandomValue(side, "Case", "ContactId");
      side.Insert("Case", std::move(fields));
    } else if (roll < 54) {
      std::optional<Record> parent = PickOne(side, "Case");
      if (!parent) return;
      side.Insert("CaseComment", {{"Body", side.NextKey()},
                                  {"ParentId", Reference{parent->id}}});
    } else if (roll < 58) {
      std::optional<Record> parent = PickOne(side, "Case");
      if (!parent) return;
      side.Insert("Attachment", {{"Name", side.NextKey()},
                                 {"ParentId", Reference{parent->id}},
                                 {"Body", RandomValue(side, "Attachment", "Body")}});
    } else if (roll < 84) {
      const SimObject& object = SimObjects()[Uniform(SimObjects().size())];
      if (object.updatable.empty()) return;
      std::optional<Record> record = PickOne(side, object.name);
      if (!record) return;
      FieldMap changes;
      const size_t count = 1 + Uniform(object.updatable.size());
      for (size_t i = 0; i < count; ++i) {
        const std::string& field =
            object.updatable[Uniform(object.updatable.size())];
        FieldValue value = RandomValue(side, object.name, field);
        if (object.name == "Contact" && field == "AccountId" &&
            std::holds_alternative<std::monostate>(value)) {
          continue;
        }
        changes[field] = std::move(value);
      }
      if (changes.empty()) return;
      side.Update(*record, changes);
    } else if (roll < 93) {
      const SimObject& object = SimObjects()[Uniform(SimObjects().size())];
      std::optional<Record> record = PickOne(side, object.name);
      if (!record) return;
      side.Delete(*record);
    } else {
      const SimObject& object = SimObjects()[Uniform(SimObjects().size())];
      std::optional<Record> record = PickOne(side, object.name, true);
      if (!record) return;
      side.Undelete(*record);
    }
  }

  // A record as both orgs must agree on it: its key, its published fields
  // with lookups named by their target's key, and whether it is deleted.
  std::map<std::string, std::string> Canon(Side& side) {
    std::map<std::string, std::string> canon;
    const std::map<std::string, std::string> key_of_id = KeysById(side);
    for (const SimObject& object : SimObjects()) {
      for (const Record& record : side.All(object.name)) {
        std::string text;
        for (const auto& [name, value] : record.fields) {
          if (std::holds_alternative<std::monostate>(value)) continue;
          std::string rendered;
          if (const auto* ref = std::get_if<Reference>(&value)) {
            auto it = key_of_id.find(ref->id);
            rendered = it == key_of_id.end() ? "->missing " + ref->id
                                             : "->" + it->second;
          } else {
            rendered = FormatFieldValue(value);
          }
          text += fmt::format(" {}={}", name, rendered);
        }
        if (record.deleted) text += " (deleted)";
        const std::string key =
            object.name + " " + Side::Text(record, object.key_field);
        if (!canon.emplace(key, text).second) {
          throw SimulationFailure{side.org_id() + " holds " + key + " twice"};
        }
      }
    }
    return canon;
  }

  // The side's whole SyncLog, oldest first.
  static std::vector<LogEntry> LogOf(Side& side) {
    LogQuery query;
    query.newest_first = false;
    absl::StatusOr<LogPage> page = side.connection()->sync_log()->Query(
        query, "", SyncLog::kMaxPageSize);
    Check(page.status(), "querying the log");
    return std::move(page->entries);
  }

  // The entries that say a change was not applied (status Failed).
  static std::string FailuresIn(const Side& side,
                                const std::vector<LogEntry>& log) {
    std::string out;
    for (const LogEntry& entry : log) {
      if (entry.status != LogStatus::kFailed) continue;
      out += fmt::format("\n    {} log #{}: {} {} {} {}: {}", side.org_id(),
                         entry.event, QueueActionName(entry.action),
                         entry.record.object, entry.record.id,
                         SyncErrorCodeName(entry.error), entry.description);
    }
    return out;
  }

  static uint64_t CountConflicts(const std::vector<LogEntry>& log) {
    return static_cast<uint64_t>(
        std::count_if(log.begin(), log.end(), [](const LogEntry& entry) {
          return entry.status == LogStatus::kInfo &&
                 entry.error == SyncErrorCode::kConflict;
        }));
  }

  // "object key" of every record `side` holds, by id.
  std::map<std::string, std::string> KeysById(Side& side) {
    std::map<std::string, std::string> keys;
    for (const SimObject& object : SimObjects()) {
      for (const Record& record : side.All(object.name)) {
        keys[record.id] =
            object.name + " " + Side::Text(record, object.key_field);
      }
    }
    return keys;
  }

  // The records whose changes were not applied, by "object key", as the
  // logs of both orgs say: Failed entries on the sending side and, on the
  // receiving side, lookups left blank (Info MISSING_PARENT). The only
  // cause the workload creates is a parent the host never captured; any
  // other failure fails the run.
  std::set<std::string> LoggedAsNotApplied(Side& side,
                                           const std::vector<LogEntry>& log) {
    const std::map<std::string, std::string> keys = KeysById(side);
    std::set<std::string> out;
    for (const LogEntry& entry : log) {
      Trace("{} log #{}: {} {} {} {} {}: {}", side.org_id(), entry.event,
            LogStatusName(entry.status), QueueActionName(entry.action),
            entry.record.object, entry.record.id,
            SyncErrorCodeName(entry.error), entry.description);
      const bool failed = entry.status == LogStatus::kFailed;
      const bool blanked = entry.status == LogStatus::kInfo &&
                           entry.error == SyncErrorCode::kMissingParent;
      if (!failed && !blanked) continue;
      if (entry.error != SyncErrorCode::kMissingParent) {
        throw SimulationFailure{fmt::format(
            "{} logged a failure the workload cannot cause: #{} {} {} {}: "
            "{}",
            side.org_id(), entry.event, entry.record.object, entry.record.id,
            SyncErrorCodeName(entry.error), entry.description)};
      }
      auto key = keys.find(entry.record.id);
      if (key != keys.end()) out.insert(key->second);
    }
    return out;
  }

  void Compare(SimulationResult* result) {
    const std::vector<LogEntry> log_a = LogOf(primary_);
    const std::vector<LogEntry> log_b = LogOf(secondary_);
    result->conflicts_logged = CountConflicts(log_a) + CountConflicts(log_b);
    const std::map<std::string, std::string> a = Canon(primary_);
    const std::map<std::string, std::string> b = Canon(secondary_);
    // What may differ: records the host never captured, and records whose
    // change a SyncLog entry says was not applied. Everything else must be
    // the same in both orgs.
    std::set<std::string> excused = LoggedAsNotApplied(primary_, log_a);
    excused.merge(LoggedAsNotApplied(secondary_, log_b));
    for (Side* side : {&primary_, &secondary_}) {
      excused.insert(side->uncaptured().begin(), side->uncaptured().end());
    }
    std::string differences;
    size_t shown = 0;
    std::set<std::string> keys;
    for (const auto& [key, text] : a) keys.insert(key);
    for (const auto& [key, text] : b) keys.insert(key);
    for (const std::string& key : keys) {
      auto in_a = a.find(key);
      auto in_b = b.find(key);
      const std::string text_a = in_a == a.end() ? "<absent>" : in_a->second;
      const std::string text_b = in_b == b.end() ? "<absent>" : in_b->second;
      if (text_a == text_b) continue;
      if (excused.contains(key)) {
        ++result->not_applied_logged;
        continue;
      }
      if (++shown > 8) continue;
      differences += fmt::format("\n  {}\n    primary:  {}\n    secondary:{}",
                                 key, text_a, text_b);
    }
    for (Side* side : {&primary_, &secondary_}) {
      for (const auto& [object, key] : side->inserted()) {
        const std::string canon_key = object + " " + key;
        if ((!a.contains(canon_key) || !b.contains(canon_key)) &&
            !excused.contains(canon_key)) {
          differences += fmt::format("\n  captured insert {} is missing",
                                     canon_key);
          ++shown;
        }
      }
    }
    if (shown > 0) {
      std::string logs =
          FailuresIn(primary_, log_a) + FailuresIn(secondary_, log_b);
      throw SimulationFailure{fmt::format(
          "{} records differ between the orgs without a SyncLog entry that "
          "says why:{}\n  failures in the sync logs:{}",
          shown, differences, logs.empty() ? " none" : logs)};
    }
    result->records = a.size();
  }

  SimulationOptions options_;
  PrimaryWins primary_wins_;  // before the sides, which point at it
  std::mt19937_64 rng_;
  ManualClock clock_;
  InProcessTransportPair pair_;
  Side primary_;
  Side secondary_;
  uint64_t restarts_ = 0;
  uint64_t suspensions_ = 0;
  uint64_t offline_periods_ = 0;
  uint64_t partitions_ = 0;
};

}  // namespace

SimulationResult RunSimulation(const SimulationOptions& options) {
  Simulation simulation(options);
  return simulation.Run();
}

std::string DescribeSimulation(const SimulationOptions& options,
                               const SimulationResult& result) {
  // Records and conflicts are counted once the orgs agree.
  const std::string outcome =
      result.ok ? fmt::format("{} records, ", result.records) : "";
  return fmt::format(
      "seed {} {}{}: {} captures, {}{} restarts, {} admin "
      "suspensions, {} offline periods, {} partitions, {} messages dropped, "
      "{} duplicated, {} conflicts logged, {} records not applied (each "
      "logged)",
      options.seed, options.two_way ? "two-way" : "one-way",
      std::string(options.leveldb ? " on LevelDB" : "") +
          (options.primary_wins_conflicts ? ", primary wins conflicts" : ""),
      result.captures,
      outcome, result.restarts, result.suspensions,
      result.offline_periods, result.partitions, result.messages_dropped,
      result.messages_duplicated, result.conflicts_logged,
      result.not_applied_logged);
}

}  // namespace orgsync::testing
