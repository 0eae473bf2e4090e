// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Example: write your own RecordStore. orgsync reads and writes the host's
// records only through this interface (orgsync/record_store.h), so a host
// keeps them in its own database; here, a map under a mutex, to show what
// each call must do:
//   * Insert assigns an id when there is none, sets version 1 and stamps
//     the audit fields (or keeps the given ones for a first copy, R35);
//   * Update merges fields, bumps the version, and refuses with Aborted
//     when context.expected_version is set and differs -- the conditional
//     write that keeps replication from overwriting a host write it has
//     not captured yet (design rule 9);
//   * Delete and Undelete are soft; ReserveId hands out an id never given
//     again (live sync records it before inserting, so that a crash never
//     creates a record twice);
//   * Scan visits a fixed view, without the lock, so `visit` may call the
//     store.
// This store's schema has no lookups, so nothing cascades.
//
// The secondary org keeps its records in this store; the primary uses the
// shipped in-memory one. Accounts inserted, updated and deleted on the
// primary must end the same in this store. Exits 0 only if they do.

#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/status.h"
#include "orgsync/storage.h"
#include "orgsync/transport.h"
#include "example_orgs.h"

namespace {

using orgsync::ApplyContext;
using orgsync::CascadeResult;
using orgsync::FieldMap;
using orgsync::Record;
using orgsync::RecordRef;
using orgsync_example::AuditFields;
using orgsync_example::Capture;
using orgsync_example::Connect;
using orgsync_example::Field;
using orgsync_example::OpenOrg;
using orgsync_example::Settle;
using orgsync_example::Side;

// A tenth of a second of the orgs' time passes each round.
constexpr absl::Duration kTick = absl::Milliseconds(100);

// The host's own store: records by (object, id) in a map. Thread-safe.
class MapRecordStore final : public orgsync::RecordStore {
 public:
  explicit MapRecordStore(orgsync::Clock* clock) : clock_(clock) {}

  absl::StatusOr<Record> Get(std::string_view object,
                             std::string_view id) override {
    orgsync::internal::MutexLock lock(&mu_);
    ORGSYNC_ASSIGN_OR_RETURN(Record * record, Find(object, id));
    return *record;
  }

  absl::StatusOr<Record> Insert(Record record,
                                const ApplyContext& context) override {
    orgsync::internal::MutexLock lock(&mu_);
    if (record.id.empty()) record.id = NextId();
    const Key key{record.object, record.id};
    if (records_.contains(key)) {
      return absl::AlreadyExistsError("host store: id taken: " + record.id);
    }
    if (!context.keep_audit_fields) {
      const absl::Time now = clock_->Now();
      record.audit = {.created_by = "host",
                      .created_date = now,
                      .last_modified_by = "host",
                      .last_modified_date = now};
    }
    record.version = 1;
    record.deleted = false;
    records_[key] = record;
    return record;
  }

  absl::StatusOr<Record> Update(std::string_view object, std::string_view id,
                                const FieldMap& changes,
                                const ApplyContext& context) override {
    orgsync::internal::MutexLock lock(&mu_);
    ORGSYNC_ASSIGN_OR_RETURN(Record * record, Find(object, id));
    ORGSYNC_RETURN_IF_ERROR(CheckVersion(*record, context));
    if (record->deleted && !context.from_replication) {
      return absl::FailedPreconditionError("host store: record is deleted");
    }
    for (const auto& [name, value] : changes) record->fields[name] = value;
    Touch(*record);
    return *record;
  }

  absl::StatusOr<CascadeResult> Delete(std::string_view object,
                                       std::string_view id,
                                       const ApplyContext& context) override {
    return SetDeleted(object, id, context, true);
  }

  absl::StatusOr<CascadeResult> Undelete(
      std::string_view object, std::string_view id,
      const ApplyContext& context) override {
    return SetDeleted(object, id, context, false);
  }

  absl::StatusOr<std::string> ReserveId(std::string_view) override {
    orgsync::internal::MutexLock lock(&mu_);
    return NextId();
  }

  absl::StatusOr<std::vector<RecordRef>> Children(
      std::string_view object, std::string_view id) override {
    orgsync::internal::MutexLock lock(&mu_);
    ORGSYNC_RETURN_IF_ERROR(Find(object, id).status());
    return std::vector<RecordRef>();  // no lookups in this schema
  }

  absl::Status Scan(std::string_view object, absl::Time modified_since,
                    const std::function<bool(const Record&)>& visit) override {
    std::vector<Record> view;
    {
      orgsync::internal::MutexLock lock(&mu_);
      for (const auto& [key, record] : records_) {
        if (key.first == object &&
            record.audit.last_modified_date >= modified_since) {
          view.push_back(record);
        }
      }
    }
    for (const Record& record : view) {
      if (!visit(record)) break;
    }
    return absl::OkStatus();
  }

 private:
  using Key = std::pair<std::string, std::string>;

  absl::StatusOr<Record*> Find(std::string_view object, std::string_view id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const auto found = records_.find(Key(object, id));
    if (found == records_.end()) {
      return absl::NotFoundError(
          fmt::format("host store: no record {}/{}", object, id));
    }
    return &found->second;
  }

  static absl::Status CheckVersion(const Record& record,
                                   const ApplyContext& context) {
    if (context.expected_version.has_value() &&
        *context.expected_version != record.version) {
      return absl::AbortedError(fmt::format(
          "host store: {}/{} is at version {}, not {}", record.object,
          record.id, record.version, *context.expected_version));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<CascadeResult> SetDeleted(std::string_view object,
                                           std::string_view id,
                                           const ApplyContext& context,
                                           bool deleted) {
    orgsync::internal::MutexLock lock(&mu_);
    ORGSYNC_ASSIGN_OR_RETURN(Record * record, Find(object, id));
    ORGSYNC_RETURN_IF_ERROR(CheckVersion(*record, context));
    if (record->deleted == deleted) {
      return absl::FailedPreconditionError(
          deleted ? "host store: already deleted" : "host store: not deleted");
    }
    record->deleted = deleted;
    Touch(*record);
    return CascadeResult{.affected = {RecordRef{record->object, record->id}}};
  }

  void Touch(Record& record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++record.version;
    record.audit.last_modified_by = "host";
    record.audit.last_modified_date = clock_->Now();
  }

  std::string NextId() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return fmt::format("H-{:06d}", ++last_id_);
  }

  orgsync::Clock* const clock_;
  orgsync::internal::Mutex mu_;
  std::map<Key, Record> records_ ABSL_GUARDED_BY(mu_);
  uint64_t last_id_ ABSL_GUARDED_BY(mu_) = 0;
};

absl::Status FillSchema(orgsync::Schema* schema) {
  orgsync::ObjectDef account{
      .name = "Account",
      .fields = {Field("Name", orgsync::FieldType::kText),
                 Field("Phone", orgsync::FieldType::kPhone)},
      .publishable = true};
  for (orgsync::FieldDef& audit : AuditFields()) {
    account.fields.push_back(audit);
  }
  return schema->AddObject(account);
}

// Names and phones of the live accounts, and how many are deleted.
std::string Summary(orgsync::RecordStore& store) {
  std::string live;
  int deleted = 0;
  const absl::Status scanned = store.Scan(
      "Account", absl::InfinitePast(), [&](const Record& record) {
        if (record.deleted) {
          ++deleted;
          return true;
        }
        live += fmt::format("{}={};",
                            std::get<std::string>(record.fields.at("Name")),
                            std::get<std::string>(record.fields.at("Phone")));
        return true;
      });
  if (!scanned.ok()) return scanned.ToString();
  return fmt::format("{} deleted; {}", deleted, live);
}

absl::Status Run() {
  orgsync::ManualClock clock(absl::FromUnixSeconds(1'790'000'000));
  orgsync::InProcessTransportPair pair(/*seed=*/3);
  Side primary;
  Side secondary;
  ORGSYNC_RETURN_IF_ERROR(FillSchema(&primary.schema));
  ORGSYNC_RETURN_IF_ERROR(FillSchema(&secondary.schema));
  orgsync::RecordStoreOptions shipped;
  shipped.schema = &primary.schema;
  shipped.clock = &clock;
  shipped.id_prefix = "P-";
  ORGSYNC_ASSIGN_OR_RETURN(primary.store,
                           orgsync::NewInMemoryRecordStore(shipped));
  secondary.store = std::make_unique<MapRecordStore>(&clock);
  ORGSYNC_RETURN_IF_ERROR(OpenOrg(primary, "org-a", &clock));
  ORGSYNC_RETURN_IF_ERROR(OpenOrg(secondary, "org-b", &clock));

  ORGSYNC_RETURN_IF_ERROR(Connect(primary, pair.a(), secondary, pair.b()));
  ORGSYNC_RETURN_IF_ERROR(Settle(primary, secondary, pair, clock, kTick));
  ORGSYNC_RETURN_IF_ERROR(
      primary.connection->publish_set()->PublishObjects({"Account"}));
  ORGSYNC_RETURN_IF_ERROR(Settle(primary, secondary, pair, clock, kTick));
  ORGSYNC_RETURN_IF_ERROR(
      secondary.connection->subscription_map()->Subscribe("Account"));
  ORGSYNC_RETURN_IF_ERROR(Settle(primary, secondary, pair, clock, kTick));

  // Ten accounts; every other one gets a new phone; the first is deleted.
  std::vector<Record> accounts;
  for (int i = 0; i < 10; ++i) {
    Record account;
    account.object = "Account";
    account.fields = {{"Name", fmt::format("Account {}", i)},
                      {"Phone", fmt::format("555-01{:02d}", i)}};
    ORGSYNC_ASSIGN_OR_RETURN(account, primary.store->Insert(account, {}));
    ORGSYNC_RETURN_IF_ERROR(
        Capture(primary, orgsync::ChangeKind::kInsert, account));
    accounts.push_back(account);
  }
  for (size_t i = 0; i < accounts.size(); i += 2) {
    ORGSYNC_ASSIGN_OR_RETURN(
        Record updated,
        primary.store->Update("Account", accounts[i].id,
                              {{"Phone", fmt::format("555-09{:02d}", i)}},
                              {}));
    ORGSYNC_RETURN_IF_ERROR(
        Capture(primary, orgsync::ChangeKind::kUpdate, updated, {"Phone"}));
  }
  ORGSYNC_RETURN_IF_ERROR(
      primary.store->Delete("Account", accounts[0].id, {}).status());
  ORGSYNC_ASSIGN_OR_RETURN(Record gone,
                           primary.store->Get("Account", accounts[0].id));
  ORGSYNC_RETURN_IF_ERROR(Capture(primary, orgsync::ChangeKind::kDelete, gone));
  ORGSYNC_RETURN_IF_ERROR(Settle(primary, secondary, pair, clock, kTick));

  const std::string here = Summary(*primary.store);
  const std::string there = Summary(*secondary.store);
  fmt::print("org-a (shipped store): {}\norg-b (host's own store): {}\n",
             here, there);
  if (here != there) {
    return absl::InternalError("the two stores differ");
  }
  fmt::print("The host's own store holds the same accounts as org-a.\n");
  return absl::OkStatus();
}

}  // namespace

int main() {
  return orgsync_example::Main("custom_record_store", &Run);
}
