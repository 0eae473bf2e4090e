// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "orgsync/schema.h"

#include "absl/container/flat_hash_map.h"
#include "internal/strings.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "proto/common.pb.h"
#include "schema/fnv1a.h"

namespace orgsync {
namespace {

// The public enum mirrors the wire enum; these catch a renumbering.
static_assert(static_cast<int>(FieldType::kText) == proto::TEXT);
static_assert(static_cast<int>(FieldType::kPicklist) == proto::PICKLIST);
static_assert(static_cast<int>(FieldType::kBinary) == proto::BINARY);
static_assert(static_cast<int>(FieldType::kAutoNumber) == proto::AUTO_NUMBER);
static_assert(static_cast<int>(FieldType::kGeolocation) == proto::GEOLOCATION);
static_assert(proto::FieldType_ARRAYSIZE ==
              static_cast<int>(FieldType::kGeolocation) + 1);

// Names end up in storage keys, log lines and messages: keep them printable
// and bounded. Anything else a host uses (spaces, dots, unicode) is fine.
constexpr size_t kMaxNameBytes = 255;

absl::Status CheckName(std::string_view what, std::string_view name,
                       std::string_view context) {
  if (name.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("{}{} name is empty", context, what));
  }
  if (name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(fmt::format(
        "{}{} name '{}...' is longer than {} bytes", context, what,
        name.substr(0, 32), kMaxNameBytes));
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(fmt::format(
          "{}{} name '{}' contains a control character", context, what,
          std::string(name)));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateField(const ObjectDef& object, const FieldDef& field) {
  const std::string context = fmt::format("object {}: ", object.name);
  if (absl::Status s = CheckName("field", field.name, context); !s.ok()) {
    return s;
  }
  const std::string where = fmt::format("field {}.{}", object.name, field.name);
  const int number = static_cast<int>(field.type);
  if (number < static_cast<int>(FieldType::kText) ||
      number > static_cast<int>(FieldType::kGeolocation)) {
    return absl::InvalidArgumentError(
        fmt::format("{} has unknown type number {}", where, number));
  }
  if (IsLookupFieldType(field.type)) {
    if (field.lookup_target.empty()) {
      return absl::InvalidArgumentError(
          fmt::format("{} is a {} field without a lookup target", where,
                      FieldTypeName(field.type)));
    }
    if (absl::Status s =
            CheckName("lookup target", field.lookup_target, where + ": ");
        !s.ok()) {
      return s;
    }
  } else if (!field.lookup_target.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "{} is a {} field but names lookup target '{}'; only lookup and "
        "master-detail fields have one",
        where, FieldTypeName(field.type), field.lookup_target));
  }
  if (field.type == FieldType::kPicklist) {
    std::set<std::string_view> seen;
    for (const std::string& value : field.picklist_values) {
      if (value.empty()) {
        return absl::InvalidArgumentError(
            fmt::format("{} has an empty picklist value", where));
      }
      if (!seen.insert(value).second) {
        return absl::InvalidArgumentError(fmt::format(
            "{} lists picklist value '{}' twice", where, value));
      }
    }
  } else if (!field.picklist_values.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "{} is a {} field but lists picklist values", where,
        FieldTypeName(field.type)));
  }
  if (field.precision != 0 && field.scale > field.precision) {
    return absl::InvalidArgumentError(
        fmt::format("{} has scale {} above its precision {}", where,
                    field.scale, field.precision));
  }
  return absl::OkStatus();
}

}  // namespace

const std::string& FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kText: return ORGSYNC_STATIC_STRING("text");
    case FieldType::kLongText: return ORGSYNC_STATIC_STRING("long text");
    case FieldType::kNumber: return ORGSYNC_STATIC_STRING("number");
    case FieldType::kCurrency: return ORGSYNC_STATIC_STRING("currency");
    case FieldType::kPercent: return ORGSYNC_STATIC_STRING("percent");
    case FieldType::kBoolean: return ORGSYNC_STATIC_STRING("boolean");
    case FieldType::kDate: return ORGSYNC_STATIC_STRING("date");
    case FieldType::kDateTime: return ORGSYNC_STATIC_STRING("date/time");
    case FieldType::kEmail: return ORGSYNC_STATIC_STRING("email");
    case FieldType::kPhone: return ORGSYNC_STATIC_STRING("phone");
    case FieldType::kPicklist: return ORGSYNC_STATIC_STRING("picklist");
    case FieldType::kUrl: return ORGSYNC_STATIC_STRING("URL");
    case FieldType::kLookup: return ORGSYNC_STATIC_STRING("lookup");
    case FieldType::kMasterDetail: return ORGSYNC_STATIC_STRING("master-detail");
    case FieldType::kUserReference: return ORGSYNC_STATIC_STRING("user reference");
    case FieldType::kBinary: return ORGSYNC_STATIC_STRING("binary");
    case FieldType::kAutoNumber: return ORGSYNC_STATIC_STRING("auto-number");
    case FieldType::kEncrypted: return ORGSYNC_STATIC_STRING("encrypted");
    case FieldType::kRichTextArea: return ORGSYNC_STATIC_STRING("rich text area");
    case FieldType::kFormula: return ORGSYNC_STATIC_STRING("formula");
    case FieldType::kRollupSummary: return ORGSYNC_STATIC_STRING("roll-up summary");
    case FieldType::kGeolocation: return ORGSYNC_STATIC_STRING("geolocation");
  }
  return ORGSYNC_STATIC_STRING("unknown");
}

absl::StatusOr<FieldType> FieldTypeFromNumber(int number) {
  if (number < static_cast<int>(FieldType::kText) ||
      number > static_cast<int>(FieldType::kGeolocation)) {
    return absl::InvalidArgumentError(
        fmt::format("no field type has number {}", number));
  }
  return static_cast<FieldType>(number);
}

bool IsPublishableFieldType(FieldType type) {
  switch (type) {
    case FieldType::kAutoNumber:
    case FieldType::kEncrypted:
    case FieldType::kRichTextArea:
    case FieldType::kFormula:
    case FieldType::kRollupSummary:
    case FieldType::kGeolocation:
      return false;
    default:
      return static_cast<int>(type) >= static_cast<int>(FieldType::kText) &&
             static_cast<int>(type) <= static_cast<int>(FieldType::kBinary);
  }
}

bool IsLookupFieldType(FieldType type) {
  return type == FieldType::kLookup || type == FieldType::kMasterDetail;
}

bool IsCascadingLookupFieldType(FieldType type) {
  return type == FieldType::kMasterDetail;
}

bool IsSizeSensitiveFieldType(FieldType type) {
  switch (type) {
    case FieldType::kText:
    case FieldType::kLongText:
    case FieldType::kNumber:
    case FieldType::kCurrency:
    case FieldType::kPercent:
      return true;
    default:
      return false;
  }
}

bool IsAuditFieldName(std::string_view field) {
  return std::find(kAuditFieldNames.begin(), kAuditFieldNames.end(), field) !=
         kAuditFieldNames.end();
}

const FieldDef* ObjectDef::FindField(std::string_view field_name) const {
  return field_index.Find(fields, field_name);
}

namespace internal {
namespace {

// Below this many fields a scan is as quick as a hash lookup.
constexpr size_t kIndexedFieldCount = 12;

const FieldDef* ScanFields(const std::vector<FieldDef>& fields,
                           std::string_view name) {
  for (const FieldDef& field : fields) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

}  // namespace

struct FieldNameIndex::Table {
  // The vector indexed: a different one (or one resized) makes the table
  // stale.
  const FieldDef* data = nullptr;
  size_t size = 0;
  absl::flat_hash_map<std::string, size_t> positions;
};

FieldNameIndex& FieldNameIndex::operator=(const FieldNameIndex&) {
  // The definition this index belongs to is being assigned: the table, if
  // any, indexed what it held before.
  delete table_.exchange(nullptr, std::memory_order_acq_rel);
  return *this;
}

FieldNameIndex::~FieldNameIndex() {
  delete table_.load(std::memory_order_acquire);
}

const FieldDef* FieldNameIndex::Find(const std::vector<FieldDef>& fields,
                                     std::string_view name) const {
  if (fields.size() < kIndexedFieldCount) return ScanFields(fields, name);
  const Table* table = table_.load(std::memory_order_acquire);
  if (table == nullptr || table->data != fields.data() ||
      table->size != fields.size()) {
    auto built = std::make_unique<Table>();
    built->data = fields.data();
    built->size = fields.size();
    built->positions.reserve(fields.size());
    for (size_t i = 0; i < fields.size(); ++i) {
      built->positions.try_emplace(fields[i].name, i);  // the first wins
    }
    const Table* expected = table;
    if (table_.compare_exchange_strong(expected, built.get(),
                                       std::memory_order_acq_rel)) {
      // A stale table is replaced only while its definition is being
      // changed, which no reader may overlap (see the class comment).
      delete table;
      table = built.release();
    } else {
      table = expected;  // another reader built it first
    }
  }
  const auto found = table->positions.find(absl::string_view(name.data(), name.size()));
  if (found != table->positions.end()) {
    const size_t i = found->second;
    if (i < fields.size() && fields[i].name == name) return &fields[i];
  }
  // Not indexed, or the host renamed a field of its copy in place: the
  // fields themselves decide.
  return ScanFields(fields, name);
}

}  // namespace internal

absl::Status ValidateObjectDef(const ObjectDef& def) {
  if (absl::Status s = CheckName("object", def.name, ""); !s.ok()) return s;
  std::set<std::string_view> names;
  for (const FieldDef& field : def.fields) {
    if (absl::Status s = ValidateField(def, field); !s.ok()) return s;
    if (!names.insert(field.name).second) {
      return absl::InvalidArgumentError(fmt::format(
          "object {} defines field {} twice", def.name, field.name));
    }
  }
  return absl::OkStatus();
}

uint64_t ObjectFingerprint(const ObjectDef& def) {
  // Sorting makes the digest independent of the order the host listed its
  // fields and picklist values in: that order carries no meaning for sync.
  std::vector<const FieldDef*> fields;
  fields.reserve(def.fields.size());
  for (const FieldDef& field : def.fields) fields.push_back(&field);
  std::sort(fields.begin(), fields.end(),
            [](const FieldDef* a, const FieldDef* b) { return a->name < b->name; });

  internal::Fnv1a64 h;
  h.AddString("orgsync.object.v1");
  h.AddString(def.name);
  h.AddU8(def.child_only ? 1 : 0);
  h.AddU8(def.is_file ? 1 : 0);
  h.AddU64(fields.size());
  for (const FieldDef* field : fields) {
    h.AddString(field->name);
    h.AddU32(static_cast<uint32_t>(field->type));
    h.AddU8(field->required ? 1 : 0);
    h.AddU32(field->length);
    h.AddU32(field->precision);
    h.AddU32(field->scale);
    h.AddString(field->lookup_target);
    std::vector<std::string_view> values(field->picklist_values.begin(),
                                         field->picklist_values.end());
    std::sort(values.begin(), values.end());
    h.AddU64(values.size());
    for (std::string_view value : values) h.AddString(value);
  }
  return h.hash();
}

absl::Status Schema::AddObject(ObjectDef def) {
  if (absl::Status s = ValidateObjectDef(def); !s.ok()) return s;
  internal::MutexLock lock(&mu_);
  if (objects_.count(def.name) != 0) {
    return absl::AlreadyExistsError(
        fmt::format("schema already has an object {}", def.name));
  }
  std::string name = def.name;
  objects_.emplace(std::move(name),
                   std::make_shared<const ObjectDef>(std::move(def)));
  ++generation_;
  return absl::OkStatus();
}

absl::Status Schema::ReplaceObject(std::string_view name, ObjectDef def) {
  if (absl::Status s = ValidateObjectDef(def); !s.ok()) return s;
  internal::MutexLock lock(&mu_);
  auto it = objects_.find(name);
  if (it == objects_.end()) {
    return absl::NotFoundError(
        fmt::format("schema has no object {} to replace", std::string(name)));
  }
  if (def.name != name && objects_.count(def.name) != 0) {
    return absl::AlreadyExistsError(fmt::format(
        "cannot rename object {} to {}: the schema already has an object {}",
        std::string(name), def.name, def.name));
  }
  if (def.name == name) {
    it->second = std::make_shared<const ObjectDef>(std::move(def));
  } else {
    objects_.erase(it);
    std::string new_name = def.name;
    objects_.emplace(std::move(new_name),
                     std::make_shared<const ObjectDef>(std::move(def)));
  }
  ++generation_;
  return absl::OkStatus();
}

absl::Status Schema::RemoveObject(std::string_view name) {
  internal::MutexLock lock(&mu_);
  auto it = objects_.find(name);
  if (it == objects_.end()) {
    return absl::NotFoundError(
        fmt::format("schema has no object {} to remove", std::string(name)));
  }
  objects_.erase(it);
  ++generation_;
  return absl::OkStatus();
}

uint64_t Schema::generation() const {
  internal::ReaderMutexLock lock(&mu_);
  return generation_;
}

std::shared_ptr<const ObjectDef> Schema::FindObject(
    std::string_view name) const {
  internal::ReaderMutexLock lock(&mu_);
  auto it = objects_.find(name);
  return it == objects_.end() ? nullptr : it->second;
}

bool Schema::HasObject(std::string_view name) const {
  internal::ReaderMutexLock lock(&mu_);
  return objects_.find(name) != objects_.end();
}

std::vector<std::string> Schema::ObjectNames() const {
  internal::ReaderMutexLock lock(&mu_);
  std::vector<std::string> names;
  names.reserve(objects_.size());
  for (const auto& [name, def] : objects_) names.push_back(name);
  return names;
}

std::map<std::string, uint64_t> Schema::Fingerprints() const {
  internal::ReaderMutexLock lock(&mu_);
  std::map<std::string, uint64_t> result;
  for (const auto& [name, def] : objects_) {
    result.emplace(name, ObjectFingerprint(*def));
  }
  return result;
}

}  // namespace orgsync
