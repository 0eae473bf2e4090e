// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "admin/admin_time.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace orgsync::admin {
namespace {

// absl::ParseDuration has no day unit, and an administrator asking for the
// last two days should not have to type "48h".
absl::StatusOr<absl::Duration> ParseSpan(std::string_view text) {
  absl::Duration total = absl::ZeroDuration();
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    const size_t digits_start = i;
    while (i < text.size() && absl::ascii_isdigit(text[i])) ++i;
    if (i == digits_start || i - digits_start > 9) {
      return absl::InvalidArgumentError("");
    }
    const int64_t amount =
        std::stoll(std::string(text.substr(digits_start, i - digits_start)));
    const size_t unit_start = i;
    while (i < text.size() && absl::ascii_isalpha(text[i])) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit == "d") {
      total += absl::Hours(24) * amount;
    } else if (unit == "h") {
      total += absl::Hours(amount);
    } else if (unit == "m") {
      total += absl::Minutes(amount);
    } else if (unit == "s") {
      total += absl::Seconds(amount);
    } else if (unit == "ms") {
      total += absl::Milliseconds(amount);
    } else {
      return absl::InvalidArgumentError("");
    }
    any = true;
  }
  if (!any || total <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("");
  }
  return total;
}

}  // namespace

std::string FormatAdminTime(absl::Time time) {
  if (time == absl::InfinitePast() || time == absl::InfiniteFuture()) {
    return "";
  }
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", time, absl::UTCTimeZone());
}

std::string FormatAge(absl::Duration age) {
  if (age <= absl::ZeroDuration()) return "0s";
  if (age < absl::Seconds(1)) return "<1s";
  const int64_t seconds = absl::ToInt64Seconds(age);
  struct Unit {
    const char* name;
    int64_t seconds;
  };
  static constexpr Unit kUnits[] = {
      {"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}};
  std::vector<std::string> parts;
  int64_t rest = seconds;
  for (const Unit& unit : kUnits) {
    if (parts.size() == 2) break;
    const int64_t amount = rest / unit.seconds;
    rest %= unit.seconds;
    // Once the largest unit is written, the next one is written even when
    // zero ("2h 0m"), so that a column of ages reads alike.
    if (amount > 0 || !parts.empty()) {
      parts.push_back(absl::StrCat(amount, unit.name));
    }
  }
  return parts.size() == 1 ? parts[0] : absl::StrCat(parts[0], " ", parts[1]);
}

absl::StatusOr<absl::Time> ParseAdminTime(std::string_view text,
                                          absl::Time now) {
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, std::string(text), &time, &error)) {
    return time;
  }
  if (absl::StatusOr<absl::Duration> span = ParseSpan(text); span.ok()) {
    return now - *span;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "'", std::string(text),
      "' is neither an RFC 3339 time (e.g. 2026-01-01T10:00:00Z) nor a span "
      "before now (e.g. 90s, 15m, 1h30m, 2d)"));
}

}  // namespace orgsync::admin
