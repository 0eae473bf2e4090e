// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "records/stored_record_reader.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "internal/wire_input.h"
#include "orgsync/status.h"
#include "proto/record_state.pb.h"
#include "records/record_codec.h"
#include "records/record_keys.h"

namespace orgsync::internal {
namespace {

// A key with its NUL separators shown as '|', for error messages.
std::string PrintableKey(std::string_view key) {
  std::string printable(key);
  for (char& c : printable) {
    if (c == kKeySeparator) c = '|';
  }
  return printable;
}

// The protobuf parser's way: parse the message, then convert it.
absl::StatusOr<StoredRecord> ParseStoredRecord(std::string_view key,
                                               std::string_view bytes) {
  proto::StoredRecord stored;
  if (!stored.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(
        fmt::format("record store: the value under key '{}' is not a "
                    "StoredRecord",
                    PrintableKey(key)));
  }
  return StoredRecordFromProto(stored);
}

constexpr auto kVarint = WireInput::kVarint;
constexpr auto kDelimited = WireInput::kDelimited;
constexpr auto kFixed64 = WireInput::kFixed64;

// Marks `field` (1..15) seen in `seen`; false when it was already.
bool FirstTime(int field, uint32_t* seen) {
  const uint32_t bit = uint32_t{1} << field;
  if ((*seen & bit) != 0) return false;
  *seen |= bit;
  return true;
}

// The `T` that `value` holds, emplaced when it holds another kind: a
// value read into the same field of the record before keeps its buffer.
template <typename T>
T& Holding(FieldValue* value) {
  if (!std::holds_alternative<T>(*value)) value->emplace<T>();
  return std::get<T>(*value);
}

// proto::FieldValue: one kind at most; none is null.
bool ReadValue(std::string_view bytes, FieldValue* out) {
  WireInput in(bytes);
  if (in.empty()) {
    *out = std::monostate{};
    return true;
  }
  int field = 0;
  WireInput::WireType type;
  if (!in.Tag(&field, &type)) return false;
  uint64_t number = 0;
  std::string_view text;
  using Value = proto::FieldValue;
  switch (field) {
    case Value::kTextFieldNumber:
    case Value::kBinaryFieldNumber:
    case Value::kReferenceFieldNumber:
      if (type != kDelimited) return false;
      if (field == Value::kBinaryFieldNumber) {
        if (!in.Delimited(&text)) return false;
        Holding<Binary>(out).bytes.assign(text);
      } else {
        if (!in.Text(&text)) return false;
        if (field == Value::kTextFieldNumber) {
          Holding<std::string>(out).assign(text);
        } else {
          Holding<Reference>(out).id.assign(text);
        }
      }
      break;
    case Value::kIntegerFieldNumber:
    case Value::kBooleanFieldNumber:
    case Value::kTimeMicrosFieldNumber:
      if (type != kVarint || !in.Varint(&number)) return false;
      if (field == Value::kIntegerFieldNumber) {
        *out = static_cast<int64_t>(number);
      } else if (field == Value::kBooleanFieldNumber) {
        *out = number != 0;
      } else {
        *out = absl::FromUnixMicros(static_cast<int64_t>(number));
      }
      break;
    case Value::kRealFieldNumber: {
      if (type != kFixed64 || !in.Fixed64(&number)) return false;
      double real = 0;
      std::memcpy(&real, &number, sizeof real);
      *out = real;
      break;
    }
    default:
      return false;
  }
  return in.empty();  // a second kind: the parser's to merge
}

// proto::StoredField: its name, and its value's bytes (empty when it has
// none: null).
bool ReadField(std::string_view bytes, std::string_view* name,
               std::string_view* value) {
  WireInput in(bytes);
  uint32_t seen = 0;
  *value = {};
  while (!in.empty()) {
    int field = 0;
    WireInput::WireType type;
    if (!in.Tag(&field, &type) || type != kDelimited ||
        !FirstTime(field, &seen)) {
      return false;
    }
    if (field == proto::StoredField::kNameFieldNumber) {
      if (!in.Text(name)) return false;
    } else if (field == proto::StoredField::kValueFieldNumber) {
      if (!in.Delimited(value)) return false;
    } else {
      return false;
    }
  }
  return true;
}

// proto::AuditFields.
bool ReadAudit(std::string_view bytes, AuditFields* audit) {
  WireInput in(bytes);
  uint32_t seen = 0;
  while (!in.empty()) {
    int field = 0;
    WireInput::WireType type;
    if (!in.Tag(&field, &type) || !FirstTime(field, &seen)) return false;
    std::string_view text;
    uint64_t micros = 0;
    using Audit = proto::AuditFields;
    switch (field) {
      case Audit::kCreatedByFieldNumber:
      case Audit::kLastModifiedByFieldNumber:
        if (type != kDelimited || !in.Text(&text)) return false;
        (field == Audit::kCreatedByFieldNumber ? audit->created_by
                                               : audit->last_modified_by) =
            std::string(text);
        break;
      case Audit::kCreatedDateMicrosFieldNumber:
      case Audit::kLastModifiedDateMicrosFieldNumber:
        if (type != kVarint || !in.Varint(&micros)) return false;
        (field == Audit::kCreatedDateMicrosFieldNumber
             ? audit->created_date
             : audit->last_modified_date) =
            absl::FromUnixMicros(static_cast<int64_t>(micros));
        break;
      default:
        return false;
    }
  }
  return true;
}

// `stored` as a default StoredRecord would be, keeping its buffers (the
// fields are matched by name as they are read).
void ResetScalars(StoredRecord* stored) {
  Record& record = stored->record;
  record.object.clear();
  record.id.clear();
  record.audit.created_by.clear();
  record.audit.created_date = absl::UnixEpoch();
  record.audit.last_modified_by.clear();
  record.audit.last_modified_date = absl::UnixEpoch();
  record.version = 0;
  record.deleted = false;
  stored->deletion = 0;
}

// The one-pass read into `out`, whatever it held before; false for
// anything it leaves to the parser (`out` is then half read).
bool ReadWritten(std::string_view bytes, StoredRecord* out) {
  ResetScalars(out);
  Record& record = out->record;
  FieldMap& fields = record.fields;
  // The first field of `out` not yet matched by one read: fields come in
  // name order, so a record read after another of its object finds each
  // node in place and reuses it.
  auto next = fields.begin();
  std::string_view last_name;
  bool any_field = false;
  WireInput in(bytes);
  uint32_t seen = 0;
  while (!in.empty()) {
    int field = 0;
    WireInput::WireType type;
    if (!in.Tag(&field, &type)) return false;
    // Fields repeat; nothing else may.
    if (field != proto::StoredRecord::kFieldsFieldNumber &&
        !FirstTime(field, &seen)) {
      return false;
    }
    std::string_view piece;
    uint64_t number = 0;
    using Stored = proto::StoredRecord;
    switch (field) {
      case Stored::kObjectFieldNumber:
      case Stored::kIdFieldNumber:
        if (type != kDelimited || !in.Text(&piece)) return false;
        (field == Stored::kObjectFieldNumber ? record.object : record.id)
            .assign(piece);
        break;
      case Stored::kFieldsFieldNumber: {
        std::string_view name;
        std::string_view value;
        if (type != kDelimited || !in.Delimited(&piece) ||
            !ReadField(piece, &name, &value)) {
          return false;
        }
        // In name order, each once, as the encoder writes them.
        if (any_field && !(last_name < name)) return false;
        any_field = true;
        last_name = name;
        while (next != fields.end() && next->first < name) {
          next = fields.erase(next);
        }
        if (next == fields.end() || next->first != name) {
          next = fields.emplace_hint(next, std::string(name), std::monostate{});
        }
        if (!ReadValue(value, &next->second)) return false;
        ++next;
        break;
      }
      case Stored::kAuditFieldNumber:
        if (type != kDelimited || !in.Delimited(&piece) ||
            !ReadAudit(piece, &record.audit)) {
          return false;
        }
        break;
      case Stored::kVersionFieldNumber:
      case Stored::kDeletedFieldNumber:
      case Stored::kDeletionFieldNumber:
        if (type != kVarint || !in.Varint(&number)) return false;
        if (field == Stored::kVersionFieldNumber) {
          record.version = number;
        } else if (field == Stored::kDeletedFieldNumber) {
          record.deleted = number != 0;
        } else {
          out->deletion = number;
        }
        break;
      default:
        return false;
    }
  }
  fields.erase(next, fields.end());  // fields the earlier record had
  return true;
}

}  // namespace

absl::StatusOr<StoredRecord> ReadStoredRecord(std::string_view key,
                                              std::string_view bytes) {
  StoredRecord stored;
  ORGSYNC_RETURN_IF_ERROR(ReadStoredRecordInto(key, bytes, &stored));
  return stored;
}

absl::Status ReadStoredRecordInto(std::string_view key, std::string_view bytes,
                                  StoredRecord* out) {
  if (ReadWritten(bytes, out)) return absl::OkStatus();
  ORGSYNC_ASSIGN_OR_RETURN(*out, ParseStoredRecord(key, bytes));
  return absl::OkStatus();
}

}  // namespace orgsync::internal
