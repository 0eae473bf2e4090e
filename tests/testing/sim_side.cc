// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/sim_side.h"

#include <fmt/format.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "testing/storage_testing.h"

namespace orgsync::testing::sim {
namespace {

constexpr std::string_view kConnectionId = "sim";

class MemoryDisk final : public Disk {
 public:
  Storage* storage() override { return storage_.get(); }
  void Crash(size_t keep) override { storage_->SimulateCrashKeeping(keep); }
  size_t unsynced() const override { return storage_->UnsyncedBatchCount(); }

 private:
  std::unique_ptr<MemoryStorage> storage_ = NewMemoryStorage();
};

class LevelDbDisk final : public Disk {
 public:
  Storage* storage() override { return storage_->storage(); }
  void Crash(size_t) override { storage_->Reopen(); }
  size_t unsynced() const override { return 0; }

 private:
  std::unique_ptr<ReopenableStorage> storage_ = NewReopenableLevelDbStorage();
};

std::unique_ptr<Disk> NewDisk(bool leveldb) {
  if (leveldb) return std::make_unique<LevelDbDisk>();
  return std::make_unique<MemoryDisk>();
}

// Forwards to the org's store and traces what replication writes.
class TracingStore final : public ForwardingRecordStore {
 public:
  TracingStore(std::string org_id, const SimModel* model, RecordStore* target)
      : ForwardingRecordStore(target),
        org_id_(std::move(org_id)),
        model_(model) {}

  absl::StatusOr<Record> Insert(Record record,
                                const ApplyContext& context) override {
    if (!Tracing()) {
      return ForwardingRecordStore::Insert(std::move(record), context);
    }
    const std::string key = model_->KeyOf(record);
    absl::StatusOr<Record> out =
        ForwardingRecordStore::Insert(std::move(record), context);
    if (context.from_replication) {
      Trace("  {} applies insert {} as {}: {}", org_id_, key,
            out.ok() ? out->id : "", out.status().ToString());
    }
    return out;
  }
  absl::StatusOr<Record> Update(std::string_view object, std::string_view id,
                                const FieldMap& changes,
                                const ApplyContext& context) override {
    absl::StatusOr<Record> out =
        ForwardingRecordStore::Update(object, id, changes, context);
    if (context.from_replication) {
      Trace("  {} applies update {} {}{}: {}", org_id_, object, id,
            Describe(changes), out.status().ToString());
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
      Trace("  {} applies {} {} {} ({} records): {}", org_id_, what, object, id,
            out.ok() ? out->affected.size() : 0, out.status().ToString());
    }
    return out;
  }

  std::string org_id_;
  const SimModel* model_;
};

}  // namespace

Side::Side(SideOptions options)
    : options_(std::move(options)),
      process_(options_.org_id),
      transport_(options_.endpoint, &process_),
      state_disk_(NewDisk(options_.leveldb)),
      host_disk_(options_.host_storage_apart ? NewDisk(options_.leveldb)
                                             : nullptr),
      users_(options_.id_prefix + "U-") {
  options_.model->FillSchema(&schema_);
  Check(Open(), "opening " + options_.org_id);
}

Side::~Side() { Close(); }

void Side::set_race_hook(RacingStore::Hook hook) {
  race_hook_ = std::move(hook);
  if (racing_store_ != nullptr) racing_store_->set_hook(race_hook_);
}

void Side::Restart() {
  for (int attempt = 0;; ++attempt) {
    Trace("{} {}", org_id(),
          down() ? "crashed and restarts" : "crashes and restarts");
    Close();
    for (Disk* disk : {state_disk_.get(), host_disk_.get()}) {
      if (disk == nullptr) continue;
      // Half the crashes keep nothing unsynced; the others a prefix.
      const size_t unsynced = disk->unsynced();
      const size_t keep =
          (*options_.rng)() % 2 == 0 ? 0 : (*options_.rng)() % (unsynced + 1);
      disk->Crash(keep);
    }
    process_.Revive();
    const absl::Status opened = Open();
    if (!down()) {
      Check(opened, "reopening " + org_id());
      return;
    }
    if (attempt >= 8) {
      throw SimulationFailure{org_id() + " crashed in every restart"};
    }
  }
}

std::string Side::NextKey() {
  return fmt::format("{}{}", options_.key_prefix, ++keys_);
}

absl::Status Side::Open() {
  state_storage_ = std::make_unique<CrashingStorage>(
      state_disk_->storage(), &process_, options_.crash_plan);
  Storage* host_storage = state_storage_.get();
  if (host_disk_ != nullptr) {
    host_storage_ = std::make_unique<CrashingStorage>(
        host_disk_->storage(), &process_, options_.crash_plan);
    host_storage = host_storage_.get();
  }
  RecordStoreOptions store_options =
      StoreOptions(&schema_, options_.clock, options_.id_prefix);
  // In orgsync's own database, the store leaves live sync's writes to the
  // org's synced flush of the same envelope; a crash then loses or keeps
  // them together with orgsync's own writes.
  store_options.shares_org_storage = host_disk_ == nullptr;
  absl::StatusOr<std::unique_ptr<RecordStore>> store =
      OpenStorageRecordStore(host_storage, std::move(store_options));
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  racing_store_ = std::make_unique<RacingStore>(store_.get());
  racing_store_->set_hook(race_hook_);
  tracing_store_ = std::make_unique<TracingStore>(org_id(), options_.model,
                                                  racing_store_.get());
  OrgOptions org_options;
  org_options.org_id = org_id();
  org_options.org_name = org_id();
  org_options.schema = &schema_;
  // Short retries so that a run settles in simulated minutes, and enough
  // attempts that faults alone never exhaust them: 20 attempts wait about
  // 2 + 4 + 8 + 16 + 16 x 30 s = 8.5 minutes, over three times the faulty
  // phase (300 rounds, about 150 simulated seconds). A change that cannot
  // be applied (its parent was never captured) fails only after all of
  // them, and the changes of its record queued behind it one after the
  // other: the settle phase, and most of a run's cost, is that wait.
  org_options.queue.retry = {.initial_delay = absl::Seconds(2),
                             .multiplier = 2.0,
                             .max_delay = absl::Seconds(30),
                             .jitter = 0.2,
                             .max_attempts = 20};
  org_options.delivery.ack_timeout = absl::Seconds(4);
  org_options.delivery.max_changes_per_envelope = 8;
  org_options.record_store = tracing_store_.get();
  org_options.conflict_resolver = options_.resolver;
  org_options.user_directory = &users_;
  org_options.metadata_store = &metadata_;
  org_options.metadata_sync_interval = options_.metadata_sync_interval;
  absl::StatusOr<std::unique_ptr<Org>> org =
      Org::Open(org_options, state_storage_.get(), options_.clock);
  if (!org.ok()) return org.status();
  org_ = std::move(*org);
  connection_ = nullptr;
  if (absl::StatusOr<Connection*> c = org_->GetConnection(kConnectionId);
      c.ok()) {
    connection_ = *c;
    return connection_->AttachTransport(&transport_);
  }
  return absl::OkStatus();
}

void Side::Close() {
  connection_ = nullptr;
  org_.reset();
  tracing_store_.reset();
  racing_store_.reset();
  store_.reset();
  host_storage_.reset();
  state_storage_.reset();
}

std::string Side::KeyOf(const RecordRef& ref) const {
  return options_.model->KeyOf(Get(ref.object, ref.id));
}

Record Side::StoreInsert(const std::string& object, FieldMap fields,
                         std::string_view note, bool* lost) {
  Record record;
  record.object = object;
  record.fields = std::move(fields);
  const std::string key = options_.model->KeyOf(record);
  for (const auto& [name, value] : record.fields) {
    options_.ledger->NoteWrite(key, name);
  }
  absl::StatusOr<Record> inserted =
      store_->Insert(std::move(record), ApplyContext{});
  *lost = !inserted.ok() && down();
  if (*lost) {
    Trace("{} insert {}: lost, the org is down", org_id(), key);
    return Record{};
  }
  Check(inserted.status(), "host insert of " + object);
  Trace("{} insert {} {} {}{}", org_id(), object, inserted->id,
        Describe(inserted->fields), note);
  return *std::move(inserted);
}

void Side::Insert(const std::string& object, FieldMap fields) {
  bool lost = false;
  const Record inserted = StoreInsert(object, std::move(fields), "", &lost);
  if (lost) return;
  const std::string key = options_.model->KeyOf(inserted);
  if (Capture(ChangeKind::kInsert, inserted, {})) {
    options_.ledger->NoteCapturedInsert(key);
    return;
  }
  options_.ledger->ExcuseRecord(key);
  // Inserted while its object was unpublished (R20): never sent, like an
  // insert the host did not capture, and copied by a later bulk sync.
  if (!down()) uncaptured_.insert(RecordRef{inserted.object, inserted.id});
}

void Side::InsertUncaptured(const std::string& object, FieldMap fields) {
  bool lost = false;
  const Record inserted =
      StoreInsert(object, std::move(fields), " (not captured)", &lost);
  if (lost) return;
  options_.ledger->ExcuseRecord(options_.model->KeyOf(inserted));
  ++options_.ledger->uncaptured;
  uncaptured_.insert(RecordRef{inserted.object, inserted.id});
}

std::vector<std::string> Side::UncapturedLiveKeys() const {
  std::vector<std::string> keys;
  for (const RecordRef& ref : uncaptured_) {
    const Record record = Get(ref.object, ref.id);
    if (!record.deleted) keys.push_back(options_.model->KeyOf(record));
  }
  return keys;
}

void Side::Forward(const Record& record) {
  const std::string key = options_.model->KeyOf(record);
  ForwardOptions options;
  options.records = {RecordRef{record.object, record.id}};
  absl::StatusOr<ForwardResult> result = connection_->Forward(options);
  if (!result.ok() && down()) {
    Trace("{} forward of {} {}: lost in the crash ({})", org_id(),
          record.object, record.id, result.status().ToString());
    return;  // nothing was promised
  }
  Check(result.status(), "forwarding " + record.id);
  Trace("{} forward {} {}", org_id(), record.object, record.id);
  // Every published field goes with its value here, stamped now: a write
  // of each, promised.
  std::set<std::string> fields;
  for (const auto& [name, value] : record.fields) fields.insert(name);
  for (std::string& name :
       connection_->publish_set()->PublishedFields(record.object)) {
    fields.insert(std::move(name));
  }
  for (const std::string& name : fields) {
    options_.ledger->NoteWrite(key, name);
    options_.ledger->Promise(org_id(), key, name);
  }
}

void Side::Update(const Record& record, const FieldMap& changes) {
  const std::string key = options_.model->KeyOf(record);
  for (const auto& [name, value] : changes) {
    options_.ledger->NoteWrite(key, name);
  }
  absl::StatusOr<Record> updated =
      store_->Update(record.object, record.id, changes, ApplyContext{});
  if (!updated.ok() && down()) return;
  Check(updated.status(), "host update of " + record.id);
  Trace("{} update {} {} {}", org_id(), record.object, record.id,
        Describe(changes));
  std::vector<std::string> names;
  for (const auto& [name, value] : changes) names.push_back(name);
  const bool promised = Capture(ChangeKind::kUpdate, *updated, names);
  for (const std::string& name : names) {
    if (promised) {
      options_.ledger->Promise(org_id(), key, name);
    } else {
      options_.ledger->ExcuseField(org_id(), key, name);
      // The record moved to another parent here only: a later delete of
      // either parent cascades to it in one org and not in the other.
      if (IsCascadeLookup(schema_, record.object, name)) {
        options_.ledger->ExcuseField(org_id(), key, kDeletedField);
      }
    }
  }
}

void Side::Delete(const Record& record) {
  absl::StatusOr<CascadeResult> deleted =
      store_->Delete(record.object, record.id, ApplyContext{});
  if (!deleted.ok() && down()) return;
  Check(deleted.status(), "host delete of " + record.id);
  Trace("{} delete {} {} ({} records)", org_id(), record.object, record.id,
        deleted->affected.size());
  const bool promised =
      Capture(ChangeKind::kDelete, Get(record.object, record.id), {},
              deleted->affected);
  for (const RecordRef& ref : deleted->affected) {
    const std::string key = KeyOf(ref);
    options_.ledger->NoteWrite(key, kDeletedField);
    if (promised) {
      options_.ledger->Promise(org_id(), key, kDeletedField);
    } else {
      options_.ledger->ExcuseField(org_id(), key, kDeletedField);
    }
  }
}

void Side::Undelete(const Record& record) {
  absl::StatusOr<CascadeResult> undeleted =
      store_->Undelete(record.object, record.id, ApplyContext{});
  if (!undeleted.ok() && down()) return;
  Check(undeleted.status(), "host undelete of " + record.id);
  Trace("{} undelete {} {} ({} records)", org_id(), record.object, record.id,
        undeleted->affected.size());
  const bool promised =
      Capture(ChangeKind::kUndelete, Get(record.object, record.id), {},
              undeleted->affected);
  for (const RecordRef& ref : undeleted->affected) {
    const std::string key = KeyOf(ref);
    options_.ledger->NoteWrite(key, kDeletedField);
    if (promised) {
      options_.ledger->Promise(org_id(), key, kDeletedField);
    } else {
      options_.ledger->ExcuseField(org_id(), key, kDeletedField);
    }
  }
}

Record Side::Get(const std::string& object, const std::string& id) const {
  absl::StatusOr<Record> record = store_->Get(object, id);
  Check(record.status(), "reading " + id);
  return *record;
}

std::vector<Record> Side::All(const std::string& object) const {
  std::vector<Record> out;
  Check(store_->Scan(object, absl::InfinitePast(),
                     [&](const Record& record) {
                       out.push_back(record);
                       return true;
                     }),
        "scanning " + object);
  return out;
}

bool Survived(const absl::Status& status, const Side& side,
              std::string_view doing) {
  if (!status.ok() && side.down()) {
    Trace("{} {}: cut short by the crash ({})", side.org_id(), doing,
          status.ToString());
    return false;
  }
  Check(status, std::string(doing) + " on " + side.org_id());
  return true;
}

bool Side::Capture(ChangeKind kind, const Record& record,
                   std::vector<std::string> changed_fields,
                   const std::vector<RecordRef>& affected) {
  LocalChange change;
  change.kind = kind;
  if (!affected.empty()) {
    change.cascaded.assign(affected.begin() + 1, affected.end());
    change.cascaded_known = true;
  }
  change.record = record;
  change.changed_fields = std::move(changed_fields);
  absl::StatusOr<CaptureResult> result = connection_->Capture(change);
  if (!result.ok() && down()) {
    // The host's write survives; the change never reached orgsync's queue
    // and was never promised.
    Trace("{} capture of {} {}: lost in the crash ({})", org_id(),
          record.object, record.id, result.status().ToString());
    ++options_.ledger->lost_captures;
    return false;
  }
  Check(result.status(), "capturing " + record.id);
  // R20, R18: a change of an object this org unpublished, or published
  // again before the partner subscribed it again, is not sent, and not
  // promised.
  const PublishSet* published = connection_->publish_set();
  if (!result->captured && (!published->IsObjectPublished(record.object) ||
                            !published->IsPartnerSubscribed(record.object))) {
    Trace("{} capture of {} {}: not sent ({})", org_id(), record.object,
          record.id, result->reason);
    return false;
  }
  if (!result->captured) {
    throw SimulationFailure{fmt::format("{}: change of {} {} not captured: {}",
                                        org_id(), record.object, record.id,
                                        result->reason)};
  }
  ++captures_;
  return true;
}

}  // namespace orgsync::testing::sim
