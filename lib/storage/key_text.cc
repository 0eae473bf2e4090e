// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "storage/key_text.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "internal/strings.h"

namespace orgsync::internal {
namespace {

// Long enough for every key orgsync builds itself (prefix, connection id,
// a 16-digit sequence), short enough for a log line.
constexpr size_t kMaxKeyBytesInMessage = 120;

}  // namespace

std::string KeyForMessage(std::string_view key) {
  if (key.size() <= kMaxKeyBytesInMessage) return absl::CHexEscape(ToAbsl(key));
  return absl::StrCat(
      absl::CHexEscape(ToAbsl(key.substr(0, kMaxKeyBytesInMessage))), "...");
}

absl::StatusOr<std::string> ValueOrNotFound(
    std::string_view key, absl::StatusOr<std::optional<std::string>> read) {
  if (!read.ok()) return read.status();
  if (!read->has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no value for key \"", KeyForMessage(key), "\""));
  }
  return **std::move(read);
}

}  // namespace orgsync::internal
