// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The shipped RecordStores: one RecordStoreCore holds the whole contract of
// orgsync/record_store.h (validation, ids, versions, audit stamps, cascading
// soft delete and undelete) over a RecordTable, which only keeps data. Each
// call reads what it needs, builds one TableWrite and applies it whole, so a
// call that fails anywhere changes nothing.

#include "orgsync/record_store.h"

#include <fmt/format.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/record.h"
#include "orgsync/schema.h"
#include "orgsync/status.h"
#include "records/lending_record_store.h"
#include "records/record_codec.h"
#include "records/record_table.h"

namespace orgsync {
namespace internal {
namespace {

// Digits of the generated ids' counter: wide enough that ids sort in
// creation order for any store a host will ever fill.
constexpr int kIdDigits = 12;

// Names end up inside Storage keys, where NUL separates their parts.
// `describe` names what is checked; it is called only to word a refusal,
// so a valid name costs no formatting (every field of every write is
// checked).
template <typename Describe>
absl::Status CheckName(std::string_view name, Describe describe) {
  if (name.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("record store: {} is empty", describe()));
  }
  if (name.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        fmt::format("record store: {} contains a NUL byte", describe()));
  }
  return absl::OkStatus();
}

absl::Status CheckPageLimit(size_t limit) {
  if (limit == 0) {
    return absl::InvalidArgumentError(
        "RecordStore::ScanPage: the limit must be at least 1");
  }
  return absl::OkStatus();
}

absl::Status CheckObjectName(std::string_view object) {
  return CheckName(object, [] { return std::string("the object name"); });
}

absl::Status CheckRecordName(std::string_view object, std::string_view id) {
  ORGSYNC_RETURN_IF_ERROR(CheckObjectName(object));
  return CheckName(
      id, [object] { return fmt::format("the id of a {} record", object); });
}

RecordRef RefOf(const Record& record) { return {record.object, record.id}; }

class RecordStoreCore final : public RecordStore, public LendingRecordStore {
 public:
  RecordStoreCore(std::unique_ptr<RecordTable> table,
                  RecordStoreOptions options)
      : table_(std::move(table)), options_(std::move(options)) {
    if (options_.clock == nullptr) options_.clock = Clock::System();
  }

  absl::StatusOr<Record> Get(std::string_view object,
                             std::string_view id) override {
    ORGSYNC_RETURN_IF_ERROR(CheckRecordName(object, id));
    internal::ReaderMutexLock lock(&mu_);
    ORGSYNC_ASSIGN_OR_RETURN(StoredRecord stored, FindExisting(object, id));
    return std::move(stored.record);
  }

  absl::StatusOr<std::vector<std::optional<Record>>> GetMany(
      std::string_view object, const std::vector<std::string>& ids) override {
    // LendMany, each record kept.
    std::vector<std::optional<Record>> records(ids.size());
    ORGSYNC_RETURN_IF_ERROR(
        LendMany(object, ids, [&records](size_t index, const Record* record) {
          if (record != nullptr) records[index] = *record;
          return absl::OkStatus();
        }));
    return records;
  }

  absl::StatusOr<Record> Insert(Record record,
                                const ApplyContext& context) override {
    ORGSYNC_RETURN_IF_ERROR(CheckObjectName(record.object));
    if (!record.id.empty()) {
      ORGSYNC_RETURN_IF_ERROR(CheckRecordName(record.object, record.id));
    }
    if (record.deleted) {
      return absl::InvalidArgumentError(fmt::format(
          "record store: cannot insert {} record '{}' as deleted; insert it "
          "live, then delete it",
          record.object, record.id));
    }
    ORGSYNC_RETURN_IF_ERROR(CheckFields(record.object, record.fields));

    internal::MutexLock lock(&mu_);
    TableWrite write;
    write.sync = MustSync(context);
    if (record.id.empty()) {
      TableCounters counters = CountersLocked();
      ORGSYNC_ASSIGN_OR_RETURN(record.id, NextFreeId(counters));
      write.counters = counters;
    } else {
      ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> owner,
                               table_->ObjectOfId(record.id));
      if (owner.has_value()) {
        // A Reference names its target by id alone, so ids must be unique
        // across objects, not only within one.
        return absl::AlreadyExistsError(fmt::format(
            "record store: cannot insert {}/{}: the id is taken by a {} "
            "record",
            record.object, record.id, *owner));
      }
    }
    if (context.keep_audit_fields) {
      // R35: a first copy keeps the origin's audit fields as they are.
      record.audit.created_date = TruncateToMicros(record.audit.created_date);
      record.audit.last_modified_date =
          TruncateToMicros(record.audit.last_modified_date);
    } else {
      const absl::Time now = Now();
      record.audit = {.created_by = options_.user,
                      .created_date = now,
                      .last_modified_by = options_.user,
                      .last_modified_date = now};
    }
    record.version = 1;
    for (const auto& [name, value] : record.fields) {
      if (const auto* target = std::get_if<Reference>(&value)) {
        write.index_adds.push_back(
            {target->id, Referrer{record.object, record.id, name}});
      }
    }
    write.puts.push_back({StoredRecord{record, 0}, /*created=*/true});
    ORGSYNC_RETURN_IF_ERROR(ApplyLocked(std::move(write)));
    return record;
  }

  absl::StatusOr<std::string> ReserveId(std::string_view object) override {
    ORGSYNC_RETURN_IF_ERROR(CheckObjectName(object));
    internal::MutexLock lock(&mu_);
    TableCounters counters = CountersLocked();
    ORGSYNC_ASSIGN_OR_RETURN(std::string id, NextFreeId(counters));
    // Only the counter moves: the id is spent whether or not a record is
    // ever inserted with it. Only live sync reserves ids, and it makes
    // them durable together (SyncReservedIds) before its links name them,
    // so the counter is written then, once for an envelope's inserts, not
    // once per id: an id no link names yet may be handed out again after
    // a crash.
    reserved_counters_ = counters;
    return id;
  }

  absl::StatusOr<Record> Update(std::string_view object, std::string_view id,
                                const FieldMap& changes,
                                const ApplyContext& context) override {
    ORGSYNC_RETURN_IF_ERROR(CheckRecordName(object, id));
    FieldMap checked = changes;
    ORGSYNC_RETURN_IF_ERROR(CheckFields(object, checked));

    internal::MutexLock lock(&mu_);
    ORGSYNC_ASSIGN_OR_RETURN(StoredRecord stored, FindExisting(object, id));
    Record& record = stored.record;
    ORGSYNC_RETURN_IF_ERROR(CheckExpectedVersion(record, context));
    if (record.deleted && !context.from_replication) {
      return absl::FailedPreconditionError(fmt::format(
          "record store: cannot update {}/{}: it is deleted (only a "
          "replicated update may change a deleted record)",
          object, id));
    }
    TableWrite write;
    write.sync = MustSync(context);
    for (auto& [name, value] : checked) {
      auto old = record.fields.find(name);
      const Reference* old_target = old == record.fields.end()
                                        ? nullptr
                                        : std::get_if<Reference>(&old->second);
      const Reference* new_target = std::get_if<Reference>(&value);
      const bool same = old_target != nullptr && new_target != nullptr &&
                        *old_target == *new_target;
      if (!same && old_target != nullptr) {
        write.index_removes.push_back(
            {old_target->id, Referrer{record.object, record.id, name}});
      }
      if (!same && new_target != nullptr) {
        write.index_adds.push_back(
            {new_target->id, Referrer{record.object, record.id, name}});
      }
      record.fields.insert_or_assign(name, std::move(value));
    }
    Touch(record, Now());
    write.puts.push_back({stored, /*created=*/false});
    ORGSYNC_RETURN_IF_ERROR(ApplyLocked(std::move(write)));
    return std::move(stored.record);
  }

  absl::StatusOr<CascadeResult> Delete(std::string_view object,
                                       std::string_view id,
                                       const ApplyContext& context) override {
    ORGSYNC_RETURN_IF_ERROR(CheckRecordName(object, id));
    internal::MutexLock lock(&mu_);
    ORGSYNC_ASSIGN_OR_RETURN(StoredRecord root, FindExisting(object, id));
    ORGSYNC_RETURN_IF_ERROR(CheckExpectedVersion(root.record, context));
    if (root.record.deleted) {
      return absl::FailedPreconditionError(fmt::format(
          "record store: cannot delete {}/{}: it is already deleted", object,
          id));
    }
    TableWrite write;
    write.sync = MustSync(context);
    TableCounters counters = CountersLocked();
    const uint64_t deletion = counters.next_deletion++;
    write.counters = counters;
    const absl::Time now = Now();
    CascadeResult result;
    auto remove = [&](StoredRecord stored) {
      stored.record.deleted = true;
      stored.deletion = deletion;
      Touch(stored.record, now);
      result.affected.push_back(RefOf(stored.record));
      write.puts.push_back({std::move(stored), /*created=*/false});
    };
    const RecordRef root_ref = RefOf(root.record);
    remove(std::move(root));
    // R33. A descendant already deleted keeps its own deletion (and so is
    // not restored with this one), but the walk goes on below it: its live
    // descendants still go with this deletion.
    ORGSYNC_RETURN_IF_ERROR(
        ForEachDescendant(root_ref, [&](StoredRecord descendant) {
          if (!descendant.record.deleted) remove(std::move(descendant));
        }));
    ORGSYNC_RETURN_IF_ERROR(ApplyLocked(std::move(write)));
    return result;
  }

  absl::StatusOr<CascadeResult> Undelete(std::string_view object,
                                         std::string_view id,
                                         const ApplyContext& context) override {
    ORGSYNC_RETURN_IF_ERROR(CheckRecordName(object, id));
    internal::MutexLock lock(&mu_);
    ORGSYNC_ASSIGN_OR_RETURN(StoredRecord root, FindExisting(object, id));
    ORGSYNC_RETURN_IF_ERROR(CheckExpectedVersion(root.record, context));
    if (!root.record.deleted) {
      return absl::FailedPreconditionError(
          fmt::format("record store: cannot undelete {}/{}: it is not deleted",
                      object, id));
    }
    const uint64_t deletion = root.deletion;
    const absl::Time now = Now();
    TableWrite write;
    write.sync = MustSync(context);
    CascadeResult result;
    auto restore = [&](StoredRecord stored) {
      stored.record.deleted = false;
      stored.deletion = 0;
      Touch(stored.record, now);
      result.affected.push_back(RefOf(stored.record));
      write.puts.push_back({std::move(stored), /*created=*/false});
    };
    const RecordRef root_ref = RefOf(root.record);
    restore(std::move(root));
    // R33: exactly the descendants that the same Delete call removed come
    // back; those deleted on their own stay in the recycle bin.
    if (deletion != 0) {
      ORGSYNC_RETURN_IF_ERROR(
          ForEachDescendant(root_ref, [&](StoredRecord descendant) {
            if (descendant.record.deleted && descendant.deletion == deletion) {
              restore(std::move(descendant));
            }
          }));
    }
    ORGSYNC_RETURN_IF_ERROR(ApplyLocked(std::move(write)));
    return result;
  }

  absl::StatusOr<std::vector<RecordRef>> Children(
      std::string_view object, std::string_view id) override {
    ORGSYNC_RETURN_IF_ERROR(CheckRecordName(object, id));
    internal::ReaderMutexLock lock(&mu_);
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> owner,
                             table_->ObjectOfId(id));
    if (!owner.has_value() || *owner != object) {
      return absl::NotFoundError(
          fmt::format("record store: record {}/{} does not exist", object, id));
    }
    return ChildrenOf(id, /*cascade_only=*/false);
  }

  absl::Status Scan(std::string_view object, absl::Time modified_since,
                    const std::function<bool(const Record&)>& visit) override {
    ORGSYNC_RETURN_IF_ERROR(CheckObjectName(object));
    std::unique_ptr<RecordCursor> cursor;
    {
      internal::ReaderMutexLock lock(&mu_);
      ORGSYNC_ASSIGN_OR_RETURN(cursor, table_->OpenCursor(object));
    }
    // The cursor's view is fixed, so `visit` runs without the lock and may
    // call back into the store.
    for (;;) {
      ORGSYNC_ASSIGN_OR_RETURN(const Record* record, cursor->Next());
      if (record == nullptr) return absl::OkStatus();
      if (record->audit.last_modified_date < modified_since) continue;
      if (!visit(*record)) return absl::OkStatus();
    }
  }

  absl::StatusOr<RecordPage> ScanPage(std::string_view object,
                                      absl::Time modified_since,
                                      std::string_view after_id,
                                      size_t limit) override {
    RecordPage page;
    ORGSYNC_RETURN_IF_ERROR(ReadPage(
        object, modified_since, after_id, limit,
        [&page](const Record& record) {
          page.records.push_back(record);
          return absl::OkStatus();
        },
        &page));
    return page;
  }

  absl::StatusOr<RecordPage> LendPage(
      std::string_view object, std::string_view after_id, size_t limit,
      const std::function<absl::Status(const Record&)>& visit) override {
    RecordPage page;
    ORGSYNC_RETURN_IF_ERROR(
        ReadPage(object, absl::InfinitePast(), after_id, limit, visit, &page));
    return page;
  }

  absl::Status LendMany(
      std::string_view object, const std::vector<std::string>& ids,
      const std::function<absl::Status(size_t index, const Record* record)>&
          visit) override {
    for (const std::string& id : ids) {
      ORGSYNC_RETURN_IF_ERROR(CheckRecordName(object, id));
    }
    std::unique_ptr<RecordLookupCursor> cursor;
    {
      internal::ReaderMutexLock lock(&mu_);
      ORGSYNC_ASSIGN_OR_RETURN(cursor, table_->OpenLookupCursor(object, ids));
    }
    // The cursor's view is fixed: `visit` runs without the lock.
    for (;;) {
      size_t index = 0;
      const StoredRecord* stored = nullptr;
      ORGSYNC_ASSIGN_OR_RETURN(const bool more, cursor->Next(&index, &stored));
      if (!more) return absl::OkStatus();
      ORGSYNC_RETURN_IF_ERROR(
          visit(index, stored != nullptr ? &stored->record : nullptr));
    }
  }

  absl::StatusOr<RecordIdPage> ScanIdPage(std::string_view object,
                                          std::string_view after_id,
                                          size_t limit) override {
    ORGSYNC_RETURN_IF_ERROR(CheckObjectName(object));
    ORGSYNC_RETURN_IF_ERROR(CheckPageLimit(limit));
    std::unique_ptr<RecordCursor> cursor;
    {
      internal::ReaderMutexLock lock(&mu_);
      ORGSYNC_ASSIGN_OR_RETURN(cursor,
                               table_->OpenCursor(object, after_id, limit + 1));
    }
    RecordIdPage page;
    page.resume_after = std::string(after_id);
    for (;;) {
      ORGSYNC_ASSIGN_OR_RETURN(const std::string* id, cursor->NextId());
      if (id == nullptr) {
        page.end = true;
        return page;
      }
      if (page.ids.size() == limit) return page;  // one more exists
      page.resume_after = *id;
      page.ids.push_back(*id);
    }
  }

  absl::Status SyncReservedIds() override {
    internal::MutexLock lock(&mu_);
    if (reserved_counters_.has_value()) {
      TableWrite write;
      write.counters = reserved_counters_;
      // In the org's Storage, the org's synced write of the links follows.
      write.sync = !options_.shares_org_storage;
      ORGSYNC_RETURN_IF_ERROR(ApplyLocked(std::move(write)));
    }
    return absl::OkStatus();
  }

 private:
  // A page of ScanPage, each record it returns passed to `take` (which
  // keeps it or visits it) and the rest of the page put in `page`.
  template <typename Take>
  absl::Status ReadPage(std::string_view object, absl::Time modified_since,
                        std::string_view after_id, size_t limit,
                        const Take& take, RecordPage* page) {
    ORGSYNC_RETURN_IF_ERROR(CheckObjectName(object));
    ORGSYNC_RETURN_IF_ERROR(CheckPageLimit(limit));
    // Records older than modified_since are skipped, but a page examines
    // at most this many, so that one call stays short however many old
    // records lie in a row.
    const size_t examine = limit > SIZE_MAX / 4 ? SIZE_MAX : limit * 4;
    std::unique_ptr<RecordCursor> cursor;
    {
      internal::ReaderMutexLock lock(&mu_);
      ORGSYNC_ASSIGN_OR_RETURN(
          cursor, table_->OpenCursor(object, after_id, examine + 1));
    }
    page->resume_after = std::string(after_id);
    size_t taken = 0;
    for (size_t examined = 0;; ++examined) {
      ORGSYNC_ASSIGN_OR_RETURN(const Record* record, cursor->Next());
      if (record == nullptr) {
        page->end = true;
        return absl::OkStatus();
      }
      if (examined == examine || taken == limit) {
        return absl::OkStatus();  // one more exists: not the end
      }
      page->resume_after = record->id;
      if (record->audit.last_modified_date < modified_since) continue;
      ORGSYNC_RETURN_IF_ERROR(take(*record));
      ++taken;
    }
  }

  absl::Time Now() const { return TruncateToMicros(options_.clock->Now()); }

  // Whether a call's write must be synced before it returns: always, but
  // for live sync's writes into a store that shares its org's Storage
  // (RecordStoreOptions::shares_org_storage).
  bool MustSync(const ApplyContext& context) const {
    return !(options_.shares_org_storage && context.from_replication);
  }

  // The conditional write of ApplyContext::expected_version.
  static absl::Status CheckExpectedVersion(const Record& record,
                                           const ApplyContext& context) {
    if (!context.expected_version.has_value() ||
        *context.expected_version == record.version) {
      return absl::OkStatus();
    }
    return absl::AbortedError(fmt::format(
        "record store: {}/{} is at version {}, not the expected {}: it "
        "changed since it was read",
        record.object, record.id, record.version, *context.expected_version));
  }

  void Touch(Record& record, absl::Time now) const {
    ++record.version;
    record.audit.last_modified_by = options_.user;
    record.audit.last_modified_date = now;
  }

  // The lookup fields of one object: name -> whether a delete of the
  // referenced record cascades to this one (master-detail, R33). Usually a
  // handful, so looking a field up here is cheaper than scanning the
  // object's definition (which may have hundreds of fields) each time.
  using LookupFields = std::map<std::string, bool, std::less<>>;

  // What the schema declares now for `object`; none for an object it does
  // not define. Read per call, so that a schema change counts at once.
  LookupFields LookupsOf(std::string_view object) const {
    LookupFields lookups;
    const std::shared_ptr<const ObjectDef> def =
        options_.schema->FindObject(object);
    if (def == nullptr) return lookups;
    for (const FieldDef& field : def->fields) {
      if (IsLookupFieldType(field.type)) {
        lookups.emplace(field.name, IsCascadingLookupFieldType(field.type));
      }
    }
    return lookups;
  }

  // Validates field names and values, and rounds times to the microsecond
  // (orgsync's precision) so that both stores keep the same values.
  absl::Status CheckFields(std::string_view object, FieldMap& fields) const {
    const LookupFields lookups = LookupsOf(object);
    for (auto& [name, value] : fields) {
      ORGSYNC_RETURN_IF_ERROR(CheckName(
          name, [object] { return fmt::format("a field name of {}", object); }));
      if (const auto* target = std::get_if<Reference>(&value)) {
        // A named reference: clang 14 cannot capture a structured binding.
        const std::string& field = name;
        ORGSYNC_RETURN_IF_ERROR(CheckName(target->id, [object, &field] {
          return fmt::format("the Reference in {}.{} (a blank lookup is null)",
                             object, field);
        }));
      } else if (lookups.contains(name) &&
                 !std::holds_alternative<std::monostate>(value)) {
        return absl::InvalidArgumentError(fmt::format(
            "record store: {}.{} is a lookup field and holds a Reference or "
            "null, not '{}'",
            object, name, FormatFieldValue(value)));
      } else if (auto* time = std::get_if<absl::Time>(&value)) {
        *time = TruncateToMicros(*time);
      }
    }
    return absl::OkStatus();
  }

  std::string MakeId(uint64_t number) const {
    return fmt::format("{}{:0{}}", options_.id_prefix, number, kIdDigits);
  }

  // The counters a write starts from: the table's, or ahead of them the
  // ids reserved since they were written.
  TableCounters CountersLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return reserved_counters_.has_value() ? *reserved_counters_
                                          : table_->counters();
  }

  // Applies `write`. One that carries counters (from CountersLocked) also
  // writes every reservation made before it.
  absl::Status ApplyLocked(TableWrite write)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const bool moves_counters = write.counters.has_value();
    ORGSYNC_RETURN_IF_ERROR(table_->Apply(std::move(write)));
    if (moves_counters) reserved_counters_.reset();
    return absl::OkStatus();
  }

  // The next generated id no record holds yet, advancing `counters`.
  absl::StatusOr<std::string> NextFreeId(TableCounters& counters)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (;;) {
      std::string candidate = MakeId(counters.next_id++);
      ORGSYNC_RETURN_IF_ERROR(CheckName(
          candidate, [] { return std::string("id_prefix + counter"); }));
      ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> owner,
                               table_->ObjectOfId(candidate));
      // A host may have inserted this very id explicitly; skip past it.
      if (!owner.has_value()) return candidate;
    }
  }

  absl::StatusOr<StoredRecord> FindExisting(std::string_view object,
                                            std::string_view id)
      ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<StoredRecord> stored,
                             table_->Find(object, id));
    if (!stored.has_value()) {
      return absl::NotFoundError(
          fmt::format("record store: record {}/{} does not exist", object, id));
    }
    return *std::move(stored);
  }

  // The records that reference `target_id` through a lookup (or, with
  // `cascade_only`, a cascading lookup), ordered by (object, id).
  absl::StatusOr<std::vector<RecordRef>> ChildrenOf(std::string_view target_id,
                                                    bool cascade_only)
      ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    ORGSYNC_ASSIGN_OR_RETURN(std::vector<Referrer> referrers,
                             table_->Referrers(target_id));
    std::vector<RecordRef> children;
    // Referrers come grouped by object: read each object's lookups once.
    std::optional<std::string> lookups_object;
    LookupFields lookups;
    for (const Referrer& referrer : referrers) {
      if (lookups_object != referrer.object) {
        lookups = LookupsOf(referrer.object);
        lookups_object = referrer.object;
      }
      const auto lookup = lookups.find(referrer.field);
      // A Reference in a field that is no lookup makes no child.
      if (lookup == lookups.end() || (cascade_only && !lookup->second)) {
        continue;
      }
      RecordRef child{referrer.object, referrer.id};
      // Referrers come ordered by (object, id, field): a record pointing
      // here through two fields shows up twice in a row.
      if (!children.empty() && children.back() == child) continue;
      children.push_back(std::move(child));
    }
    return children;
  }

  // Calls `visit` on every record below `root` along master-detail fields,
  // breadth first, each level in (object, id) order, each record once even
  // if lookups form a cycle.
  absl::Status ForEachDescendant(const RecordRef& root,
                                 const std::function<void(StoredRecord)>& visit)
      ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    std::set<RecordRef> seen = {root};
    std::deque<RecordRef> pending = {root};
    while (!pending.empty()) {
      const RecordRef parent = std::move(pending.front());
      pending.pop_front();
      ORGSYNC_ASSIGN_OR_RETURN(std::vector<RecordRef> children,
                               ChildrenOf(parent.id, /*cascade_only=*/true));
      for (RecordRef& child : children) {
        if (!seen.insert(child).second) continue;
        ORGSYNC_ASSIGN_OR_RETURN(std::optional<StoredRecord> stored,
                                 table_->Find(child.object, child.id));
        if (!stored.has_value()) {
          return absl::DataLossError(fmt::format(
              "record store: the reverse index names {}/{}, which does not "
              "exist",
              child.object, child.id));
        }
        visit(*std::move(stored));
        pending.push_back(std::move(child));
      }
    }
    return absl::OkStatus();
  }

  internal::Mutex mu_;
  const std::unique_ptr<RecordTable> table_ ABSL_PT_GUARDED_BY(mu_);
  // The counters after the ids ReserveId handed out since they were last
  // written: SyncReservedIds writes them, and so does any write that
  // carries counters (CountersLocked), which then clears this.
  std::optional<TableCounters> reserved_counters_ ABSL_GUARDED_BY(mu_);
  // Not changed after construction; options_.schema is not null.
  RecordStoreOptions options_;
};

}  // namespace
}  // namespace internal

absl::StatusOr<RecordPage> RecordStore::ScanPage(std::string_view object,
                                                 absl::Time modified_since,
                                                 std::string_view after_id,
                                                 size_t limit) {
  ORGSYNC_RETURN_IF_ERROR(internal::CheckPageLimit(limit));
  RecordPage page;
  page.resume_after = std::string(after_id);
  bool more = false;
  ORGSYNC_RETURN_IF_ERROR(
      Scan(object, modified_since, [&](const Record& record) {
        if (!after_id.empty() && record.id <= after_id) return true;
        if (page.records.size() == limit) {
          more = true;
          return false;
        }
        page.resume_after = record.id;
        page.records.push_back(record);
        return true;
      }));
  page.end = !more;
  return page;
}

absl::StatusOr<std::vector<std::optional<Record>>> RecordStore::GetMany(
    std::string_view object, const std::vector<std::string>& ids) {
  std::vector<std::optional<Record>> records;
  records.reserve(ids.size());
  for (const std::string& id : ids) {
    absl::StatusOr<Record> record = Get(object, id);
    if (absl::IsNotFound(record.status())) {
      records.emplace_back();
      continue;
    }
    if (!record.ok()) return record.status();
    records.push_back(*std::move(record));
  }
  return records;
}

absl::StatusOr<RecordIdPage> RecordStore::ScanIdPage(std::string_view object,
                                                     std::string_view after_id,
                                                     size_t limit) {
  ORGSYNC_ASSIGN_OR_RETURN(
      RecordPage records,
      ScanPage(object, absl::InfinitePast(), after_id, limit));
  RecordIdPage page;
  page.ids.reserve(records.records.size());
  for (Record& record : records.records) {
    page.ids.push_back(std::move(record.id));
  }
  page.resume_after = std::move(records.resume_after);
  page.end = records.end;
  return page;
}

absl::StatusOr<std::string> RecordStore::ReserveId(std::string_view object) {
  return absl::UnimplementedError(
      fmt::format("RecordStore::ReserveId: this store cannot reserve ids for "
                  "{} records, so live sync cannot insert into it",
                  object));
}

absl::StatusOr<std::unique_ptr<RecordStore>> NewInMemoryRecordStore(
    RecordStoreOptions options) {
  if (options.schema == nullptr) {
    return absl::InvalidArgumentError(
        "NewInMemoryRecordStore: options.schema is null; the store takes its "
        "lookups and cascading deletes from the schema");
  }
  return std::make_unique<internal::RecordStoreCore>(
      internal::NewMemoryRecordTable(), std::move(options));
}

absl::StatusOr<std::unique_ptr<RecordStore>> OpenStorageRecordStore(
    Storage* storage, RecordStoreOptions options) {
  if (storage == nullptr) {
    return absl::InvalidArgumentError(
        "OpenStorageRecordStore: storage is null");
  }
  if (options.schema == nullptr) {
    return absl::InvalidArgumentError(
        "OpenStorageRecordStore: options.schema is null; the store takes its "
        "lookups and cascading deletes from the schema");
  }
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<internal::RecordTable> table,
                           internal::OpenStorageRecordTable(storage));
  return std::make_unique<internal::RecordStoreCore>(std::move(table),
                                                     std::move(options));
}

}  // namespace orgsync
