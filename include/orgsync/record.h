// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Records as orgsync sees them: an object name, an id, typed field values,
// the four audit fields and a version.
//
// The host owns its records (RecordStore, orgsync/record_store.h); orgsync
// copies them between orgs. A record's id is the host's own and means
// nothing in the partner org: orgsync keeps record links (local id <->
// partner id) and translates lookups through them (R32).
//
// Thread-safety: these are plain values; the usual rules for std types
// apply.

#ifndef ORGSYNC_RECORD_H_
#define ORGSYNC_RECORD_H_

#include <cstdint>
#include <map>
#include <string>
#include <variant>

#include "absl/time/time.h"

namespace orgsync {

// The id of another record (a lookup or master-detail field) or of a user
// (a user-reference field). Kept apart from text so that orgsync knows which
// values to translate between orgs.
struct Reference {
  std::string id;
  friend bool operator==(const Reference&, const Reference&) = default;
  friend auto operator<=>(const Reference&, const Reference&) = default;
};

// Raw bytes (attachment and file bodies).
struct Binary {
  std::string bytes;
  friend bool operator==(const Binary&, const Binary&) = default;
  friend auto operator<=>(const Binary&, const Binary&) = default;
};

// A field's value; std::monostate is null (a blank field).
using FieldValue = std::variant<std::monostate, std::string, int64_t, double,
                                bool, Binary, absl::Time, Reference>;

// Field name -> value. Ordered, so that records compare and print the same
// way everywhere. A field missing from the map and a field set to null
// (monostate) are different only in an update: missing means unchanged.
using FieldMap = std::map<std::string, FieldValue, std::less<>>;

// The seed's audit fields (CreatedBy, CreatedDate, LastModifiedBy,
// LastModifiedDate). They are never published as fields (R12); orgsync
// copies them when a record is first copied and the connection syncs audit
// fields, and never on later updates (R35).
struct AuditFields {
  std::string created_by;
  absl::Time created_date = absl::UnixEpoch();
  std::string last_modified_by;
  absl::Time last_modified_date = absl::UnixEpoch();
  friend bool operator==(const AuditFields&, const AuditFields&) = default;
};

struct Record {
  std::string object;  // e.g. "Account"
  std::string id;      // the host's id, unique within the object
  FieldMap fields;
  AuditFields audit;
  // Bumped by the store on every change of this record (insert = 1).
  uint64_t version = 0;
  // Soft-deleted (in the recycle bin); undelete restores it (R33).
  bool deleted = false;
  friend bool operator==(const Record&, const Record&) = default;
};

// Names a record without its contents.
struct RecordRef {
  std::string object;
  std::string id;
  // No record: connection-level queue entries and log entries have none.
  bool empty() const { return object.empty() && id.empty(); }
  friend bool operator==(const RecordRef&, const RecordRef&) = default;
  friend auto operator<=>(const RecordRef&, const RecordRef&) = default;
};

// A human-readable rendering of a value, for logs and tables: text as is,
// null as "(null)", references as "->id", binaries as "<N bytes>", times in
// RFC 3339 UTC.
std::string FormatFieldValue(const FieldValue& value);

}  // namespace orgsync

#endif  // ORGSYNC_RECORD_H_
