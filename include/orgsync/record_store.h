// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// RecordStore: the host's records, as orgsync reads and writes them.
//
// The host implements this interface over its own database; orgsync calls it
// to apply what the partner sent and to read records for bulk sync and
// Verify. Writes carry an ApplyContext saying whether orgsync makes them on
// behalf of the partner (R3): the host uses it to keep its own triggers
// from firing twice, and orgsync uses it never to capture such a write back
// to the partner (R31, no echo).
//
// Two implementations ship: NewInMemoryRecordStore() for tests and examples,
// and OpenStorageRecordStore() (records kept in a Storage, e.g. LevelDB) for
// the demo; ForwardingRecordStore wraps any store to observe its calls.
//
// Contract for implementations:
//  * Insert assigns the id when the record has none, sets version 1, stamps
//    the audit fields (or keeps the given ones when
//    context.keep_audit_fields, R35) and returns the stored record. Update
//    merges the given fields (a field absent from the map is unchanged),
//    bumps the version, stamps LastModifiedBy/Date and returns the stored
//    record. Every change of a record (cascaded ones included) bumps its
//    version by exactly one and stamps LastModifiedBy/Date.
//  * Delete is a soft delete: the record stays readable with deleted=true;
//    Undelete restores it. Deleting a parent soft-deletes the records whose
//    master-detail fields point at it (not those holding a plain lookup to
//    it), and undeleting the parent restores them (R33); the store reports
//    what it cascaded.
//  * Get returns deleted records too (with deleted=true); NotFound only for
//    ids that never existed (or were purged).
//  * Errors: NotFound for a missing record, InvalidArgument for values the
//    host refuses (validation), FailedPrecondition for an operation that
//    does not fit the record's state (deleting a deleted record, undeleting
//    a live one, and a local update of a deleted record). Updates with
//    context.from_replication may change a deleted record: in two-way sync
//    an update can race a delete from the other org, and both orgs must
//    still end with the same values. Aborted when context.expected_version
//    is set and the record's version differs (checked before anything
//    else about the record's state, atomically with the write). A failed
//    call changes nothing. A store that ignores expected_version lets
//    replication overwrite host writes it has not seen.
//
// Thread-safety: implementations must allow concurrent calls from several
// threads (orgsync applies on its step thread while host threads write).

#ifndef ORGSYNC_RECORD_STORE_H_
#define ORGSYNC_RECORD_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orgsync/clock.h"
#include "orgsync/options.h"
#include "orgsync/record.h"
#include "orgsync/storage.h"

namespace orgsync {

// Why a write happens. Host code asks `from_replication` the way the seed's
// triggers test ConnectionType and ReplicationRole (R3, R36).
struct ApplyContext {
  // True when orgsync writes on behalf of the partner; false for the host's
  // own changes.
  bool from_replication = false;
  // The connection that carried the change; empty for local writes.
  std::string connection_id;
  // True when the write copies a record for the first time (insert, bulk
  // sync, forward): the store should then keep the given audit fields
  // instead of stamping its own (R35).
  bool keep_audit_fields = false;
  // A conditional write (design rule 9). When set, Update, Delete and
  // Undelete change the record only if its version is exactly this one, and
  // otherwise return Aborted and change nothing. orgsync sets it to the
  // version it read when it applies a partner's change, so that a host
  // write landing between that read and the write -- one orgsync has not
  // captured yet -- is never overwritten; the change is retried after the
  // host's write is captured, and the stamps decide. Insert ignores it.
  std::optional<uint64_t> expected_version = std::nullopt;
};

// What a Delete or Undelete touched: the record itself first, then the
// children it cascaded to.
struct CascadeResult {
  std::vector<RecordRef> affected;
};

// One page of RecordStore::ScanPage.
struct RecordPage {
  std::vector<Record> records;  // in id order
  std::string resume_after;     // pass as after_id for the next page
  bool end = false;             // nothing after resume_after
};

// One page of RecordStore::ScanIdPage.
struct RecordIdPage {
  std::vector<std::string> ids;  // in id order
  std::string resume_after;      // pass as after_id for the next page
  bool end = false;              // nothing after resume_after
};

class RecordStore {
 public:
  RecordStore() = default;
  RecordStore(const RecordStore&) = delete;
  RecordStore& operator=(const RecordStore&) = delete;
  virtual ~RecordStore() = default;

  [[nodiscard]] virtual absl::StatusOr<Record> Get(std::string_view object,
                                                   std::string_view id) = 0;

  // The records of `object` named by `ids`, in the order of `ids`: nullopt
  // for an id no record of `object` has. For a caller that reads many
  // records at once (Verify reads every linked record), which a store may
  // serve in one pass in id order. Errors as Get's, other than NotFound.
  // The default calls Get for each id; the shipped stores on a Storage
  // read them with one iterator.
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::optional<Record>>>
  GetMany(std::string_view object, const std::vector<std::string>& ids);

  [[nodiscard]] virtual absl::StatusOr<Record> Insert(
      Record record, const ApplyContext& context) = 0;

  [[nodiscard]] virtual absl::StatusOr<Record> Update(
      std::string_view object, std::string_view id, const FieldMap& changes,
      const ApplyContext& context) = 0;

  [[nodiscard]] virtual absl::StatusOr<CascadeResult> Delete(
      std::string_view object, std::string_view id,
      const ApplyContext& context) = 0;

  [[nodiscard]] virtual absl::StatusOr<CascadeResult> Undelete(
      std::string_view object, std::string_view id,
      const ApplyContext& context) = 0;

  // Allocates a new id for a record of `object` that Insert will accept
  // (with context.from_replication) and that no other call ever hands out
  // again, even after a restart (once SyncReservedIds returned, below),
  // whether or not a record is inserted with it. Live sync reserves the id
  // and records it in its links before it inserts, so that a crash between
  // the two never creates the record twice.
  // The default returns Unimplemented: a host store used as the target of
  // live sync must override it.
  [[nodiscard]] virtual absl::StatusOr<std::string> ReserveId(
      std::string_view object);

  // The records whose lookup or master-detail fields point at (object, id),
  // deleted ones included, ordered by (object, id), each once. NotFound if
  // (object, id) does not exist.
  [[nodiscard]] virtual absl::StatusOr<std::vector<RecordRef>> Children(
      std::string_view object, std::string_view id) = 0;

  // Calls `visit` for each record of `object` (deleted ones included) whose
  // LastModifiedDate is at or after `modified_since`, in id order, until
  // `visit` returns false. Reads a consistent view.
  [[nodiscard]] virtual absl::Status Scan(
      std::string_view object, absl::Time modified_since,
      const std::function<bool(const Record&)>& visit) = 0;

  // One page of Scan, for callers that read an object in pieces between
  // other work (bulk sync, R60): up to `limit` (>= 1) records of `object`
  // (deleted ones included) whose id comes after `after_id` in byte order
  // ("" = from the first) and whose LastModifiedDate is at or after
  // `modified_since`, in id order. `resume_after` is the id to pass as
  // `after_id` for the next page: the last id examined, which may lie past
  // the last record returned when later ones were older than
  // `modified_since`; `end` is true when no record lies after it. A page
  // may hold fewer than `limit` records without being the end (a store may
  // bound the records it examines per call). InvalidArgument for a zero
  // limit.
  // The default reads Scan from the start and skips to `after_id`: correct
  // for any store whose Scan goes in byte order of ids, but a full pass per
  // page. A store that holds many records should override it.
  [[nodiscard]] virtual absl::StatusOr<RecordPage> ScanPage(
      std::string_view object, absl::Time modified_since,
      std::string_view after_id, size_t limit);

  // The ids of a page of ScanPage without a cutoff (modified_since =
  // InfinitePast), for a pass that needs only the ids -- Verify's search
  // for records that have no partner -- so that a store need not read
  // whole records: the same `ids`, `resume_after` and `end` as that page's
  // records would give. InvalidArgument for a zero limit.
  // The default calls ScanPage. The shipped stores read only their keys.
  [[nodiscard]] virtual absl::StatusOr<RecordIdPage> ScanIdPage(
      std::string_view object, std::string_view after_id, size_t limit);

  // Makes durable, at once, every id ReserveId handed out since the last
  // call. ReserveId may return before its reservation is durable (every
  // other write must be durable when its call returns, as above): orgsync
  // calls this on its step thread before it records any of those ids in
  // its links, so the inserts of one envelope of the partner's changes
  // cost the store one disk sync for all their ids instead of one each. On
  // an error orgsync records none of them, and reserves new ids for those
  // inserts when they are applied. The default does nothing: a store
  // whose ReserveId is durable when it returns.
  [[nodiscard]] virtual absl::Status SyncReservedIds() {
    return absl::OkStatus();
  }
};

// Forwards every call to another RecordStore, so that a host (or a test)
// can watch or change just the calls it cares about -- e.g. time the writes
// replication makes -- by overriding them. Thread-safety: that of `target`.
class ForwardingRecordStore : public RecordStore {
 public:
  // `target` is not owned and must outlive this store.
  explicit ForwardingRecordStore(RecordStore* target) : target_(target) {}

  absl::StatusOr<Record> Get(std::string_view object,
                             std::string_view id) override {
    return target_->Get(object, id);
  }
  absl::StatusOr<Record> Insert(Record record,
                                const ApplyContext& context) override {
    return target_->Insert(std::move(record), context);
  }
  absl::StatusOr<Record> Update(std::string_view object, std::string_view id,
                                const FieldMap& changes,
                                const ApplyContext& context) override {
    return target_->Update(object, id, changes, context);
  }
  absl::StatusOr<CascadeResult> Delete(std::string_view object,
                                       std::string_view id,
                                       const ApplyContext& context) override {
    return target_->Delete(object, id, context);
  }
  absl::StatusOr<CascadeResult> Undelete(std::string_view object,
                                         std::string_view id,
                                         const ApplyContext& context) override {
    return target_->Undelete(object, id, context);
  }
  absl::StatusOr<std::string> ReserveId(std::string_view object) override {
    return target_->ReserveId(object);
  }
  absl::StatusOr<std::vector<RecordRef>> Children(
      std::string_view object, std::string_view id) override {
    return target_->Children(object, id);
  }
  absl::Status Scan(std::string_view object, absl::Time modified_since,
                    const std::function<bool(const Record&)>& visit) override {
    return target_->Scan(object, modified_since, visit);
  }
  absl::StatusOr<RecordPage> ScanPage(std::string_view object,
                                      absl::Time modified_since,
                                      std::string_view after_id,
                                      size_t limit) override {
    return target_->ScanPage(object, modified_since, after_id, limit);
  }
  absl::StatusOr<RecordIdPage> ScanIdPage(std::string_view object,
                                          std::string_view after_id,
                                          size_t limit) override {
    return target_->ScanIdPage(object, after_id, limit);
  }
  absl::StatusOr<std::vector<std::optional<Record>>> GetMany(
      std::string_view object, const std::vector<std::string>& ids) override {
    return target_->GetMany(object, ids);
  }
  absl::Status SyncReservedIds() override {
    return target_->SyncReservedIds();
  }

  RecordStore* target() const { return target_; }

 private:
  RecordStore* target_;
};

// What the two shipped stores do where the contract above leaves room (both
// behave exactly alike):
//  * Ids are unique across all objects, not only within one, because a
//    Reference names its target by id alone: inserting an id that any record
//    holds is AlreadyExists. Generated ids are id_prefix + a 12-digit
//    counter, so id order is creation order; a number is never handed out
//    twice (numbers taken by explicit ids are skipped).
//  * Lookups are what RecordStoreOptions::schema declares (see there):
//    fields whose type IsLookupFieldType, read from the schema at each call.
//  * Object names, ids, field names and Reference ids must be non-empty and
//    free of NUL bytes (InvalidArgument). A lookup field holds a Reference
//    or null (InvalidArgument otherwise); a Reference in a field that is no
//    lookup is kept but makes no child. Inserting a record marked deleted
//    is InvalidArgument.
//  * A Reference to a record that does not exist (yet) is accepted: the
//    engine checks parents itself (R14, R64). The referencing record becomes
//    a child of whatever record is later inserted with that id.
//  * Delete cascades along master-detail fields, recursively and breadth
//    first (CascadeResult lists the record, then the descendants level by
//    level in (object, id) order). A descendant that was already deleted is
//    not touched, but its own live descendants still go. Records holding a
//    plain lookup to a deleted record are left as they are.
//  * Undelete restores the record and exactly the descendants that the same
//    Delete call deleted; a child deleted on its own before its parent stays
//    deleted (R33). Undeleting a record that went with its parent's delete
//    restores it and what that delete took below it, not the parent.
//  * Times (audit fields and time values) are kept to the microsecond, the
//    precision of the wire format.
//  * Scan's view is fixed when it starts, so `visit` may call the store.
//  * The Clock is read inside the store's lock, so with a Clock that never
//    goes backwards, later changes carry later (or equal) stamps.

// An in-memory store. Thread-safe. Errors: InvalidArgument if
// options.schema is null.
[[nodiscard]] absl::StatusOr<std::unique_ptr<RecordStore>>
NewInMemoryRecordStore(RecordStoreOptions options);

// A store kept in `storage` under the key prefix "r/" (the demo uses it so
// that its records survive a restart). `storage` must outlive the store.
// Each call that changes something is one atomic, synced write: once it
// returns, the change survives a crash (live sync's writes into a store
// that shares its org's Storage excepted: RecordStoreOptions::
// shares_org_storage). Records are read from `storage` on
// demand (memory does not grow with the store). Only one store may be open
// on a Storage at a time. Errors: InvalidArgument for a null storage or a
// null options.schema; DataLoss if the stored counters are corrupt; the
// Storage's own errors.
[[nodiscard]] absl::StatusOr<std::unique_ptr<RecordStore>>
OpenStorageRecordStore(Storage* storage, RecordStoreOptions options);

}  // namespace orgsync

#endif  // ORGSYNC_RECORD_STORE_H_
