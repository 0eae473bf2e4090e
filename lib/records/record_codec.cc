// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "records/record_codec.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "internal/wire_input.h"

namespace orgsync::internal {

absl::Time TruncateToMicros(absl::Time t) {
  return absl::FromUnixMicros(absl::ToUnixMicros(t));
}

void FieldValueToProto(const FieldValue& value, proto::FieldValue* out) {
  out->Clear();
  std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          // Null is a FieldValue with no kind set.
        } else if constexpr (std::is_same_v<T, std::string>) {
          out->set_text(v);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          out->set_integer(v);
        } else if constexpr (std::is_same_v<T, double>) {
          out->set_real(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          out->set_boolean(v);
        } else if constexpr (std::is_same_v<T, Binary>) {
          out->set_binary(v.bytes);
        } else if constexpr (std::is_same_v<T, absl::Time>) {
          out->set_time_micros(absl::ToUnixMicros(v));
        } else {
          static_assert(std::is_same_v<T, Reference>);
          out->set_reference(v.id);
        }
      },
      value);
}

void AppendFieldValueEncoding(const FieldValue& value, std::string* out) {
  using Proto = proto::FieldValue;
  std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          // No kind: no bytes.
        } else if constexpr (std::is_same_v<T, std::string>) {
          AppendDelimited(Proto::kTextFieldNumber, v, out);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          AppendVarintField(Proto::kIntegerFieldNumber,
                            static_cast<uint64_t>(v), out);
        } else if constexpr (std::is_same_v<T, double>) {
          uint64_t bits = 0;
          std::memcpy(&bits, &v, sizeof bits);
          AppendFixed64Field(Proto::kRealFieldNumber, bits, out);
        } else if constexpr (std::is_same_v<T, bool>) {
          AppendVarintField(Proto::kBooleanFieldNumber, v ? 1 : 0, out);
        } else if constexpr (std::is_same_v<T, Binary>) {
          AppendDelimited(Proto::kBinaryFieldNumber, v.bytes, out);
        } else if constexpr (std::is_same_v<T, absl::Time>) {
          AppendVarintField(Proto::kTimeMicrosFieldNumber,
                            static_cast<uint64_t>(absl::ToUnixMicros(v)), out);
        } else {
          static_assert(std::is_same_v<T, Reference>);
          AppendDelimited(Proto::kReferenceFieldNumber, v.id, out);
        }
      },
      value);
}

FieldValue FieldValueFromProto(const proto::FieldValue& value) {
  switch (value.kind_case()) {
    case proto::FieldValue::kText:
      return value.text();
    case proto::FieldValue::kInteger:
      return static_cast<int64_t>(value.integer());
    case proto::FieldValue::kReal:
      return value.real();
    case proto::FieldValue::kBoolean:
      return value.boolean();
    case proto::FieldValue::kBinary:
      return Binary{value.binary()};
    case proto::FieldValue::kTimeMicros:
      return absl::FromUnixMicros(value.time_micros());
    case proto::FieldValue::kReference:
      return Reference{value.reference()};
    case proto::FieldValue::KIND_NOT_SET:
      break;
  }
  return std::monostate{};
}

void AuditFieldsToProto(const AuditFields& audit, proto::AuditFields* out) {
  out->set_created_by(audit.created_by);
  out->set_created_date_micros(absl::ToUnixMicros(audit.created_date));
  out->set_last_modified_by(audit.last_modified_by);
  out->set_last_modified_date_micros(
      absl::ToUnixMicros(audit.last_modified_date));
}

AuditFields AuditFieldsFromProto(const proto::AuditFields& audit) {
  return AuditFields{
      .created_by = audit.created_by(),
      .created_date = absl::FromUnixMicros(audit.created_date_micros()),
      .last_modified_by = audit.last_modified_by(),
      .last_modified_date =
          absl::FromUnixMicros(audit.last_modified_date_micros()),
  };
}

proto::StoredRecord StoredRecordToProto(const StoredRecord& stored) {
  const Record& record = stored.record;
  proto::StoredRecord out;
  out.set_object(record.object);
  out.set_id(record.id);
  for (const auto& [name, value] : record.fields) {
    proto::StoredField* field = out.add_fields();
    field->set_name(name);
    FieldValueToProto(value, field->mutable_value());
  }
  AuditFieldsToProto(record.audit, out.mutable_audit());
  out.set_version(record.version);
  out.set_deleted(record.deleted);
  out.set_deletion(stored.deletion);
  return out;
}

absl::StatusOr<StoredRecord> StoredRecordFromProto(
    const proto::StoredRecord& stored) {
  StoredRecord out;
  Record& record = out.record;
  record.object = stored.object();
  record.id = stored.id();
  for (const proto::StoredField& field : stored.fields()) {
    if (!record.fields.emplace(field.name(), FieldValueFromProto(field.value()))
             .second) {
      return absl::DataLossError(
          fmt::format("stored record {}/{} names field '{}' twice",
                      stored.object(), stored.id(), field.name()));
    }
  }
  record.audit = AuditFieldsFromProto(stored.audit());
  record.version = stored.version();
  record.deleted = stored.deleted();
  out.deletion = stored.deletion();
  return out;
}

}  // namespace orgsync::internal
