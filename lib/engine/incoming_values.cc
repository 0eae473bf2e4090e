// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "engine/incoming_values.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/status/statusor.h"
#include "fmt/format.h"

namespace orgsync::internal {
namespace {

// What kind of value a field of each type holds.
enum class Holds {
  kText,
  kNumber,
  kBoolean,
  kTime,
  kReference,
  kBinary,
  kNothing
};

Holds WhatFieldHolds(FieldType type) {
  switch (type) {
    case FieldType::kText:
    case FieldType::kLongText:
    case FieldType::kEmail:
    case FieldType::kPhone:
    case FieldType::kPicklist:
    case FieldType::kUrl:
      return Holds::kText;
    case FieldType::kNumber:
    case FieldType::kCurrency:
    case FieldType::kPercent:
      return Holds::kNumber;
    case FieldType::kBoolean:
      return Holds::kBoolean;
    case FieldType::kDate:
    case FieldType::kDateTime:
      return Holds::kTime;
    case FieldType::kLookup:
    case FieldType::kMasterDetail:
    case FieldType::kUserReference:
      return Holds::kReference;
    case FieldType::kBinary:
      return Holds::kBinary;
    default:
      // R12: never published, so never received.
      return Holds::kNothing;
  }
}

bool Fits(Holds holds, proto::FieldValue::KindCase kind) {
  switch (holds) {
    case Holds::kText:
      return kind == proto::FieldValue::kText;
    case Holds::kNumber:
      return kind == proto::FieldValue::kInteger ||
             kind == proto::FieldValue::kReal;
    case Holds::kBoolean:
      return kind == proto::FieldValue::kBoolean;
    case Holds::kTime:
      return kind == proto::FieldValue::kTimeMicros;
    case Holds::kReference:
      return kind == proto::FieldValue::kReference;
    case Holds::kBinary:
      return kind == proto::FieldValue::kBinary;
    case Holds::kNothing:
      return false;
  }
  return false;
}

std::string_view KindName(proto::FieldValue::KindCase kind) {
  switch (kind) {
    case proto::FieldValue::kText:
      return "text";
    case proto::FieldValue::kInteger:
      return "integer";
    case proto::FieldValue::kReal:
      return "real number";
    case proto::FieldValue::kBoolean:
      return "boolean";
    case proto::FieldValue::kBinary:
      return "binary";
    case proto::FieldValue::kTimeMicros:
      return "time";
    case proto::FieldValue::kReference:
      return "reference";
    case proto::FieldValue::KIND_NOT_SET:
      return "null";
  }
  return "unknown";
}

// Unicode code points of valid UTF-8: every byte that does not continue a
// character starts one.
size_t CodePoints(std::string_view text) {
  return static_cast<size_t>(std::count_if(
      text.begin(), text.end(),
      [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Decimal digits of |value| before the decimal point (0 has none).
int IntegerDigits(int64_t value) {
  // Negating INT64_MIN overflows; its magnitude has 19 digits like INT64_MAX.
  uint64_t magnitude = value < 0 ? uint64_t{0} - static_cast<uint64_t>(value)
                                 : static_cast<uint64_t>(value);
  int digits = 0;
  while (magnitude != 0) {
    magnitude /= 10;
    ++digits;
  }
  return digits;
}

std::optional<ValueRefusal> CheckText(std::string_view object,
                                      const FieldDef& field,
                                      std::string_view text) {
  const size_t limit = field.length != 0 ? field.length : kMaxUnsizedTextChars;
  // A code point takes at least one byte: most values are judged by size.
  if (text.size() > limit) {
    const size_t chars = CodePoints(text);
    if (chars > limit) {
      return ValueRefusal{
          .code = SyncErrorCode::kValidation,
          .rule = "length",
          .description = fmt::format(
              "{}.{} holds at most {} characters{}; the value has {}", object,
              field.name, limit,
              field.length != 0 ? "" : " (no length is set: orgsync's limit)",
              chars)};
    }
  }
  if (field.type == FieldType::kPicklist && !field.picklist_values.empty() &&
      std::find(field.picklist_values.begin(), field.picklist_values.end(),
                text) == field.picklist_values.end()) {
    return ValueRefusal{
        .code = SyncErrorCode::kValidation,
        .rule = "picklist",
        .description = fmt::format("'{}' is not a value of picklist {}.{}",
                                   ClipForLog(text), object, field.name)};
  }
  return std::nullopt;
}

std::optional<ValueRefusal> CheckNumber(std::string_view object,
                                        const FieldDef& field,
                                        const proto::FieldValue& value) {
  const std::string shape =
      fmt::format("{}.{} (precision {}, scale {})", object, field.name,
                  field.precision, field.scale);
  const int whole_digits =
      static_cast<int>(field.precision) - static_cast<int>(field.scale);
  if (value.kind_case() == proto::FieldValue::kInteger) {
    if (field.precision != 0 && IntegerDigits(value.integer()) > whole_digits) {
      return ValueRefusal{
          .code = SyncErrorCode::kValidation,
          .rule = "precision",
          .description = fmt::format(
              "{} holds at most {} digits before the decimal point; {} has {}",
              shape, whole_digits, value.integer(),
              IntegerDigits(value.integer()))};
    }
    return std::nullopt;
  }
  const double real = value.real();
  if (!std::isfinite(real)) {
    return ValueRefusal{
        .code = SyncErrorCode::kValidation,
        .rule = "finite",
        .description = fmt::format("{}.{} holds numbers; {} is not one", object,
                                   field.name, real)};
  }
  if (field.precision != 0 && std::fabs(real) >= std::pow(10.0, whole_digits)) {
    return ValueRefusal{
        .code = SyncErrorCode::kValidation,
        .rule = "precision",
        .description = fmt::format(
            "{} holds at most {} digits before the decimal point; {} has more",
            shape, whole_digits, real)};
  }
  if (field.precision != 0 || field.scale != 0) {
    // A double rarely holds a decimal fraction exactly (0.1 + 0.2): what
    // differs from a whole number of the smallest unit by less than a
    // rounding error of that size fits.
    const double scaled = real * std::pow(10.0, field.scale);
    const double off = std::fabs(scaled - std::nearbyint(scaled));
    if (off > 1e-9 * std::max(1.0, std::fabs(scaled))) {
      return ValueRefusal{.code = SyncErrorCode::kValidation,
                          .rule = "scale",
                          .description = fmt::format(
                              "{} holds at most {} decimal places; {} has more",
                              shape, field.scale, real)};
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<ValueRefusal> CheckIncomingValue(std::string_view object,
                                               const FieldDef& field,
                                               const proto::FieldValue& value,
                                               size_t max_file_bytes) {
  const proto::FieldValue::KindCase kind = value.kind_case();
  if (kind == proto::FieldValue::KIND_NOT_SET) return std::nullopt;
  const Holds holds = WhatFieldHolds(field.type);
  if (holds == Holds::kNothing) {
    return ValueRefusal{
        .code = SyncErrorCode::kValidation,
        .rule = "never received",
        .description = fmt::format(
            "{}.{} is a {} field, which never receives values (R12)", object,
            field.name, FieldTypeName(field.type))};
  }
  if (!Fits(holds, kind)) {
    return ValueRefusal{
        .code = SyncErrorCode::kValidation,
        .rule = "type",
        .description = fmt::format("{}.{} is a {} field and cannot hold a {} "
                                   "value",
                                   object, field.name,
                                   FieldTypeName(field.type), KindName(kind))};
  }
  switch (holds) {
    case Holds::kText:
      return CheckText(object, field, value.text());
    case Holds::kNumber:
      return CheckNumber(object, field, value);
    case Holds::kReference:
      if (value.reference().empty() ||
          value.reference().size() > kMaxUnsizedTextChars) {
        return ValueRefusal{
            .code = SyncErrorCode::kValidation,
            .rule = "reference",
            .description = fmt::format(
                "{}.{} must name a record id of 1 to {} bytes; the value has "
                "{}",
                object, field.name, kMaxUnsizedTextChars,
                value.reference().size())};
      }
      return std::nullopt;
    case Holds::kBinary:
      if (value.binary().size() > max_file_bytes) {
        return ValueRefusal{
            .code = SyncErrorCode::kFileTooLarge,
            .rule = "file size",
            .description = fmt::format(
                "{}.{} holds {} bytes, above the {}-byte limit (R38)", object,
                field.name, value.binary().size(), max_file_bytes)};
      }
      return std::nullopt;
    default:
      return std::nullopt;  // booleans and times: the type is the rule
  }
}

IncomingField ClassifyIncomingField(const SubscriptionMap& subscriptions,
                                    std::string_view partner_object,
                                    const ObjectDef* local_def,
                                    std::string_view partner_field) {
  auto local = [&](std::string_view name) {
    return local_def != nullptr ? local_def->FindField(name) : nullptr;
  };
  if (std::optional<std::string> mapped =
          subscriptions.MappedField(partner_object, partner_field)) {
    // Subscribed, but the local field may have gone since (a schema change
    // the host did not tell the SubscriptionMap).
    const FieldDef* def = local(*mapped);
    return IncomingField{.kind = def != nullptr
                                     ? IncomingFieldCase::kReceive
                                     : IncomingFieldCase::kSchemaMismatch,
                         .local_field = *std::move(mapped),
                         .def = def};
  }
  const absl::StatusOr<FieldMapping> mapping =
      subscriptions.GetFieldMapping(partner_object, partner_field);
  std::string local_name(partner_field);
  if (mapping.ok() && !mapping->local_field.empty()) {
    local_name = mapping->local_field;
  }
  if (local(local_name) == nullptr) {
    return IncomingField{.kind = IncomingFieldCase::kSchemaMismatch,
                         .local_field = std::move(local_name)};
  }
  return IncomingField{.kind = mapping.ok() ? IncomingFieldCase::kSkip
                                            : IncomingFieldCase::kNotPublished,
                       .local_field = std::move(local_name)};
}

std::string ClipForLog(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return std::string(text.substr(0, end)) + "...";
}

}  // namespace orgsync::internal
