// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// RecordTable: where the shipped RecordStores keep their data.
//
// The RecordStore semantics (ids, versions, audit stamps, cascading soft
// delete and undelete, validation) are implemented once, in RecordStoreCore
// (record_store_core.h). The core reads a table and hands it, per call, one
// TableWrite holding every change of that call; the table applies it all or
// nothing. Two tables exist: one in memory and one in a Storage.
//
// Thread-safety: none of its own. The core calls the read methods under its
// reader lock and Apply/counters under its writer lock; a RecordCursor, once
// opened, reads a fixed view and needs no lock.

#ifndef ORGSYNC_LIB_RECORDS_RECORD_TABLE_H_
#define ORGSYNC_LIB_RECORDS_RECORD_TABLE_H_

#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orgsync/record.h"
#include "orgsync/storage.h"

namespace orgsync::internal {

// A record with what only the store needs to know about it.
struct StoredRecord {
  Record record;
  // The Delete call that deleted the record (its own or an ancestor's
  // cascade); 0 while it is live.
  uint64_t deletion = 0;
  friend bool operator==(const StoredRecord&, const StoredRecord&) = default;
};

// One entry of the reverse index: field `field` of record (object, id) holds
// a Reference to some target id. Every Reference is indexed, whatever the
// options say is a lookup, so that the persisted index never depends on the
// options a store was opened with; the core filters by the options.
struct Referrer {
  std::string object;
  std::string id;
  std::string field;
  friend bool operator==(const Referrer&, const Referrer&) = default;
  friend auto operator<=>(const Referrer&, const Referrer&) = default;
};

struct TableCounters {
  uint64_t next_id = 1;
  uint64_t next_deletion = 1;
  friend bool operator==(const TableCounters&, const TableCounters&) = default;
};

struct IndexEdge {
  std::string target_id;
  Referrer referrer;
};

// Everything one RecordStore call changes.
struct TableWrite {
  struct Put {
    StoredRecord state;
    // True for a new record: its id enters the id index.
    bool created = false;
  };
  std::vector<Put> puts;
  std::vector<IndexEdge> index_adds;
  std::vector<IndexEdge> index_removes;
  std::optional<TableCounters> counters;
  // Whether the write must be durable when Apply returns (a table kept in
  // memory has nothing to sync).
  bool sync = true;
};

// Reads one object's records in id order from a view fixed at opening.
class RecordCursor {
 public:
  virtual ~RecordCursor() = default;
  // The next record, or nullptr at the end. The pointer stays valid until
  // the next call.
  [[nodiscard]] virtual absl::StatusOr<const Record*> Next() = 0;
  // The next record's id, or nullptr at the end: for a pass that needs no
  // more, which a table may answer without reading the record. The pointer
  // stays valid until the next call.
  [[nodiscard]] virtual absl::StatusOr<const std::string*> NextId() {
    absl::StatusOr<const Record*> record = Next();
    if (!record.ok()) return record.status();
    return *record == nullptr ? nullptr : &(*record)->id;
  }
};

// Reads the records of one object that a list of ids names, from a view
// fixed at opening, in an order of the table's choosing (a table on disk:
// byte order of the ids, one pass of an iterator).
class RecordLookupCursor {
 public:
  virtual ~RecordLookupCursor() = default;
  // The next id's index in the list and its record (nullptr: not stored);
  // false at the end. The record stays valid until the next call.
  [[nodiscard]] virtual absl::StatusOr<bool> Next(
      size_t* index, const StoredRecord** record) = 0;
};

class RecordTable {
 private:
  // The default lookup cursor: records found at once, in the list's order.
  class FoundRecords final : public RecordLookupCursor {
   public:
    explicit FoundRecords(std::vector<std::optional<StoredRecord>> found)
        : found_(std::move(found)) {}
    absl::StatusOr<bool> Next(size_t* index,
                              const StoredRecord** record) override {
      if (next_ == found_.size()) return false;
      *index = next_;
      *record = found_[next_].has_value() ? &*found_[next_] : nullptr;
      ++next_;
      return true;
    }

   private:
    std::vector<std::optional<StoredRecord>> found_;
    size_t next_ = 0;
  };

 public:
  RecordTable() = default;
  RecordTable(const RecordTable&) = delete;
  RecordTable& operator=(const RecordTable&) = delete;
  virtual ~RecordTable() = default;

  // nullopt when (object, id) is not stored.
  [[nodiscard]] virtual absl::StatusOr<std::optional<StoredRecord>> Find(
      std::string_view object, std::string_view id) = 0;

  // A cursor over the records of `object` named by `ids` (which must
  // outlive it), for a caller that reads each once and keeps none. The
  // default finds them all at once, in the list's order; a table on disk
  // reads them one by one, in id order, into one record.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<RecordLookupCursor>>
  OpenLookupCursor(std::string_view object,
                   const std::vector<std::string>& ids) {
    std::vector<std::optional<StoredRecord>> found;
    found.reserve(ids.size());
    for (const std::string& id : ids) {
      absl::StatusOr<std::optional<StoredRecord>> one = Find(object, id);
      if (!one.ok()) return one.status();
      found.push_back(*std::move(one));
    }
    return std::make_unique<FoundRecords>(std::move(found));
  }

  // The object holding `id`, nullopt if no record has it. Ids are unique
  // across objects, because a Reference names its target by id alone.
  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>> ObjectOfId(
      std::string_view id) = 0;

  // Every field holding a Reference to `target_id`, ordered by (object, id,
  // field).
  [[nodiscard]] virtual absl::StatusOr<std::vector<Referrer>> Referrers(
      std::string_view target_id) = 0;

  virtual TableCounters counters() const = 0;

  // Applies every part of `write`, or nothing. By value: a table that
  // keeps the records as objects moves them in instead of copying them.
  [[nodiscard]] virtual absl::Status Apply(TableWrite write) = 0;

  // Makes every write applied so far durable (one synced write, however
  // many were applied unsynced before); a table in memory has nothing to
  // do.
  [[nodiscard]] virtual absl::Status Sync() = 0;

  // A cursor over `object`'s records as they are now, starting after id
  // `after_id` in byte order ("" = from the first) and reading at most
  // `max_records` of them.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<RecordCursor>>
  OpenCursor(std::string_view object, std::string_view after_id = {},
             size_t max_records = SIZE_MAX) = 0;
};

std::unique_ptr<RecordTable> NewMemoryRecordTable();

// Loads the counters from `storage` (not owned); the rest is read on demand.
absl::StatusOr<std::unique_ptr<RecordTable>> OpenStorageRecordTable(
    Storage* storage);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_RECORDS_RECORD_TABLE_H_
