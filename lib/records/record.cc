// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "orgsync/record.h"

#include <fmt/format.h>

#include <string>
#include <type_traits>
#include <variant>

#include "absl/time/time.h"

namespace orgsync {

std::string FormatFieldValue(const FieldValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return "(null)";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, int64_t> ||
                             std::is_same_v<T, double>) {
          // fmt prints the shortest text that reads back as the same double.
          return fmt::format("{}", v);
        } else if constexpr (std::is_same_v<T, Binary>) {
          return fmt::format("<{} bytes>", v.bytes.size());
        } else if constexpr (std::is_same_v<T, absl::Time>) {
          // Fractional seconds only when there are any, and "Z" rather than
          // "+00:00": the shortest RFC 3339 form of a UTC time.
          return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", v,
                                  absl::UTCTimeZone());
        } else {
          static_assert(std::is_same_v<T, Reference>);
          return "->" + v.id;
        }
      },
      value);
}

}  // namespace orgsync
