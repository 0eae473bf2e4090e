// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Schema: the host's description of its objects and fields.
//
// orgsync never owns the host's data model; the host describes it with plain
// structs (ObjectDef, FieldDef) and keeps them in a Schema that the publish
// and subscribe components read. The description says what each field is
// (its FieldType, sizes, lookup target, picklist values) and what the host
// allows: only objects it marks `publishable` -- its standard business objects
// and deployed custom objects -- may be published (R10).
//
// Validation: Schema refuses an ObjectDef that is malformed (empty or
// duplicate names, a lookup without a target, a target on a non-lookup, a
// picklist value list on a non-picklist, scale above precision, ...) with
// InvalidArgument naming the object and field, and then changes nothing.
// Objects may reference objects that are not (yet) in the Schema: the host
// adds objects in any order.
//
// Fingerprint: ObjectFingerprint() is a 64-bit digest of an object
// definition, exchanged with the partner to report schema differences before
// records fail one by one. It is computed with FNV-1a over a canonical byte
// encoding written here (never std::hash), so it is the same on every run,
// platform and compiler. It does not depend on the order of the fields nor of
// the picklist values, and it ignores `publishable`, which is a local policy
// rather than a shape.
//
// Audit fields (CreatedBy, CreatedDate, LastModifiedBy, LastModifiedDate) may
// appear in an ObjectDef, but are never publishable fields: they travel with
// a record's first copy when the connection syncs feeds and audit fields
// (R12, R35).
//
// Thread-safety: the free functions are pure and thread-safe. All methods of
// Schema are thread-safe; readers get immutable snapshots of a definition
// (shared_ptr<const ObjectDef>) that stay valid after the Schema changes.

#ifndef ORGSYNC_SCHEMA_H_
#define ORGSYNC_SCHEMA_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orgsync/internal/mutex.h"

namespace orgsync {

// The kind of a field. The numbers are stable (persisted, sent on the wire)
// and equal those of proto FieldType in lib/proto/common.proto.
enum class FieldType : int {
  kText = 1,
  kLongText = 2,
  kNumber = 3,
  kCurrency = 4,
  kPercent = 5,
  kBoolean = 6,
  kDate = 7,
  kDateTime = 8,
  kEmail = 9,
  kPhone = 10,
  kPicklist = 11,
  kUrl = 12,
  kLookup = 13,
  kMasterDetail = 14,
  kUserReference = 15,
  kBinary = 16,  // attachment and file bodies
  // Never publishable (R12).
  kAutoNumber = 17,
  kEncrypted = 18,
  kRichTextArea = 19,
  kFormula = 20,
  kRollupSummary = 21,
  kGeolocation = 22,
};

// A readable name such as "auto-number" or "master-detail", for messages.
const std::string& FieldTypeName(FieldType type);

// The type for a stored or received number; InvalidArgument otherwise.
[[nodiscard]] absl::StatusOr<FieldType> FieldTypeFromNumber(int number);

// False for the types R12 says can never be published.
bool IsPublishableFieldType(FieldType type);

// True for lookup and master-detail: fields whose value is a record id of
// another object of the schema (their `lookup_target`). User references point
// at users, which travel by user sync, and are not lookups in this sense.
bool IsLookupFieldType(FieldType type);

// True for master-detail, the lookups along which a delete cascades (R33):
// deleting the master soft-deletes its details and undeleting it restores
// them. A record holding a plain lookup outlives the record it points at.
bool IsCascadingLookupFieldType(FieldType type);

// True for the types whose size or precision change unsubscribes the field
// in the linked org (R17): text, long text, number, currency, percent.
bool IsSizeSensitiveFieldType(FieldType type);

// The audit fields (R12, R35).
inline constexpr std::string_view kCreatedByField = "CreatedBy";
inline constexpr std::string_view kCreatedDateField = "CreatedDate";
inline constexpr std::string_view kLastModifiedByField = "LastModifiedBy";
inline constexpr std::string_view kLastModifiedDateField = "LastModifiedDate";
inline constexpr std::array<std::string_view, 4> kAuditFieldNames = {
    kCreatedByField, kCreatedDateField, kLastModifiedByField,
    kLastModifiedDateField};

// True if `field` is one of kAuditFieldNames (exact, case-sensitive match).
bool IsAuditFieldName(std::string_view field);

struct FieldDef {
  // Every member has a default, so designated initializers may skip any.
  std::string name = {};
  FieldType type = FieldType::kText;
  bool required = false;
  // Maximum length of text and long text fields; 0 = unspecified.
  uint32_t length = 0;
  // Digits of number, currency and percent fields; 0 = unspecified.
  uint32_t precision = 0;
  uint32_t scale = 0;
  // The referenced object for kLookup and kMasterDetail; empty otherwise.
  std::string lookup_target = {};
  // The allowed values of a kPicklist field; empty otherwise.
  std::vector<std::string> picklist_values = {};

  friend bool operator==(const FieldDef&, const FieldDef&) = default;
};

struct FieldDef;

namespace internal {

// ObjectDef::FindField's index of the fields by name, built on first use,
// so that a record of a hundred fields is not a hundred linear scans. It is
// no part of a definition: a copy starts empty and any two compare equal,
// so ObjectDef stays a plain value. A lookup checks what the index gives
// against `fields` and scans them when it does not match (the host changed
// its own copy of a definition), so the index is never wrong, only slower.
// Thread-safety: Find may be called concurrently on a definition no thread
// changes, like the shared_ptr<const ObjectDef> snapshots of a Schema.
class FieldNameIndex {
 public:
  FieldNameIndex() = default;
  FieldNameIndex(const FieldNameIndex&) {}
  FieldNameIndex& operator=(const FieldNameIndex&);
  ~FieldNameIndex();
  friend bool operator==(const FieldNameIndex&, const FieldNameIndex&) {
    return true;
  }

  const FieldDef* Find(const std::vector<FieldDef>& fields,
                       std::string_view name) const;

 private:
  struct Table;
  mutable std::atomic<const Table*> table_{nullptr};
};

}  // namespace internal

struct ObjectDef {
  std::string name = {};
  std::vector<FieldDef> fields = {};
  // Set by the host: its standard business objects and deployed custom
  // objects (R10). Only these can be published.
  bool publishable = false;
  // Records that only exist under a parent (comments, feed items, team
  // members); they go with their parent when it is forwarded (R66).
  bool child_only = false;
  // Attachment-like objects, subject to the file size limit (R38).
  bool is_file = false;

  // The field named `name`, or nullptr.
  const FieldDef* FindField(std::string_view name) const;

  // FindField's index (see internal::FieldNameIndex); not part of the
  // definition.
  internal::FieldNameIndex field_index = {};

  friend bool operator==(const ObjectDef&, const ObjectDef&) = default;
};

// OK if `def` is well formed (see the file comment); InvalidArgument naming
// the object and field otherwise.
[[nodiscard]] absl::Status ValidateObjectDef(const ObjectDef& def);

// The stable fingerprint of `def` (see the file comment).
uint64_t ObjectFingerprint(const ObjectDef& def);

// How the host changed one object of its schema, told to the components
// that keep maps of it (PublishSet, SubscriptionMap) after the Schema holds
// the new definition. A rename cannot be told apart from a delete plus an add
// by comparing two definitions, so the host names its renames.
struct SchemaChange {
  // The object's name before the change.
  std::string object = {};
  // The object's new name when it was renamed; empty otherwise. The new
  // definition is looked up in the Schema under this name (or `object`);
  // if the Schema has none, the object was deleted.
  // (Default member initializers let hosts write designated initializers
  // such as {.object = "Account"} under -Wextra.)
  std::string renamed_to = {};
  // Fields renamed by this change: {old name, new name}.
  std::vector<std::pair<std::string, std::string>> renamed_fields = {};
};

// A set of object definitions keyed by object name.
class Schema {
 public:
  Schema() = default;
  Schema(const Schema&) = delete;
  Schema& operator=(const Schema&) = delete;

  // Adds a new object. InvalidArgument if `def` is malformed, AlreadyExists
  // if an object of that name exists.
  [[nodiscard]] absl::Status AddObject(ObjectDef def);

  // Replaces the object called `name` by `def`. `def.name` may differ from
  // `name`: that renames the object. NotFound if there is no object `name`,
  // AlreadyExists if `def.name` names another existing object,
  // InvalidArgument if `def` is malformed.
  [[nodiscard]] absl::Status ReplaceObject(std::string_view name,
                                           ObjectDef def);

  // Removes the object called `name`; NotFound if there is none.
  [[nodiscard]] absl::Status RemoveObject(std::string_view name);

  // The current definition of `name`, or nullptr. The returned definition
  // never changes; a later Replace installs a new one.
  std::shared_ptr<const ObjectDef> FindObject(std::string_view name) const;

  bool HasObject(std::string_view name) const;

  // All object names, sorted.
  std::vector<std::string> ObjectNames() const;

  // ObjectFingerprint of every object, by name.
  std::map<std::string, uint64_t> Fingerprints() const;

  // A number that grows with every successful Add/Replace/RemoveObject (and
  // never otherwise): a reader compares it with the one it last saw to skip
  // recomputing what depends on the schema (connections do, for their
  // schema fingerprints).
  uint64_t generation() const;

 private:
  mutable internal::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, std::shared_ptr<const ObjectDef>, std::less<>>
      objects_ ABSL_GUARDED_BY(mu_);
};

}  // namespace orgsync

#endif  // ORGSYNC_SCHEMA_H_
