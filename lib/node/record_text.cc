// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "node/record_text.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "fmt/core.h"

namespace orgsync::node {
namespace {

absl::Status NotA(const std::string& object, const FieldDef& def,
                  const std::string& text, const char* expected) {
  return absl::InvalidArgumentError(
      fmt::format("{}.{} is a {} field: \"{}\" is not {}", object, def.name,
                  FieldTypeName(def.type), text, expected));
}

}  // namespace

absl::StatusOr<FieldValue> ParseFieldValue(const std::string& object,
                                           const FieldDef& def,
                                           const std::string& text) {
  if (text.empty()) return FieldValue{};
  switch (def.type) {
    case FieldType::kText:
    case FieldType::kLongText:
    case FieldType::kEmail:
    case FieldType::kPhone:
    case FieldType::kPicklist:
    case FieldType::kUrl:
    case FieldType::kAutoNumber:
    case FieldType::kEncrypted:
    case FieldType::kRichTextArea:
      return FieldValue{text};
    case FieldType::kNumber:
    case FieldType::kCurrency:
    case FieldType::kPercent: {
      int64_t integer = 0;
      if (def.scale == 0 && absl::SimpleAtoi(text, &integer)) {
        return FieldValue{integer};
      }
      double number = 0;
      if (absl::SimpleAtod(text, &number)) return FieldValue{number};
      return NotA(object, def, text, "a decimal number");
    }
    case FieldType::kBoolean:
      if (text == "true") return FieldValue{true};
      if (text == "false") return FieldValue{false};
      return NotA(object, def, text, "\"true\" or \"false\"");
    case FieldType::kDate:
    case FieldType::kDateTime: {
      absl::Time time;
      std::string error;
      if (absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
        return FieldValue{time};
      }
      if (absl::ParseTime("%Y-%m-%d", text, &time, &error)) {
        return FieldValue{time};
      }
      return NotA(object, def, text, "an RFC 3339 date or time");
    }
    case FieldType::kLookup:
    case FieldType::kMasterDetail:
    case FieldType::kUserReference:
      return FieldValue{Reference{text}};
    case FieldType::kBinary:
      return FieldValue{Binary{text}};
    case FieldType::kFormula:
    case FieldType::kRollupSummary:
    case FieldType::kGeolocation:
      break;
  }
  return absl::InvalidArgumentError(
      fmt::format("{}.{} is a {} field, which the node cannot write", object,
                  def.name, FieldTypeName(def.type)));
}

}  // namespace orgsync::node
