// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "records/stored_record_reader.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "internal/wire_input.h"
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

// proto::FieldValue: one kind at most; none is null.
bool ReadValue(std::string_view bytes, FieldValue* out) {
  WireInput in(bytes);
  *out = std::monostate{};
  bool read = false;
  while (!in.empty()) {
    int field = 0;
    WireInput::WireType type;
    if (read || !in.Tag(&field, &type)) return false;
    read = true;
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
          *out = Binary{std::string(text)};
        } else {
          if (!in.Text(&text)) return false;
          if (field == Value::kTextFieldNumber) {
            *out = std::string(text);
          } else {
            *out = Reference{std::string(text)};
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
  }
  return true;
}

// proto::StoredField.
bool ReadField(std::string_view bytes, std::string_view* name,
               FieldValue* value) {
  WireInput in(bytes);
  uint32_t seen = 0;
  *value = std::monostate{};
  while (!in.empty()) {
    int field = 0;
    WireInput::WireType type;
    std::string_view piece;
    if (!in.Tag(&field, &type) || type != kDelimited ||
        !FirstTime(field, &seen)) {
      return false;
    }
    if (field == proto::StoredField::kNameFieldNumber) {
      if (!in.Text(name)) return false;
    } else if (field == proto::StoredField::kValueFieldNumber) {
      if (!in.Delimited(&piece) || !ReadValue(piece, value)) return false;
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

// The one-pass read; false for anything it leaves to the parser.
bool ReadWritten(std::string_view bytes, StoredRecord* out) {
  Record& record = out->record;
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
        (field == Stored::kObjectFieldNumber ? record.object : record.id) =
            std::string(piece);
        break;
      case Stored::kFieldsFieldNumber: {
        std::string_view name;
        FieldValue value;
        if (type != kDelimited || !in.Delimited(&piece) ||
            !ReadField(piece, &name, &value)) {
          return false;
        }
        // In name order, each once, as the encoder writes them.
        if (!record.fields.empty() &&
            !(record.fields.rbegin()->first < name)) {
          return false;
        }
        record.fields.emplace_hint(record.fields.end(), std::string(name),
                                   std::move(value));
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
  return true;
}

}  // namespace

absl::StatusOr<StoredRecord> ReadStoredRecord(std::string_view key,
                                              std::string_view bytes) {
  StoredRecord stored;
  if (ReadWritten(bytes, &stored)) return stored;
  return ParseStoredRecord(key, bytes);
}

}  // namespace orgsync::internal
