// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Helpers for stores whose entries are numbered (the RecordQueue's
// sequences, the SyncLog's event numbers): reading the number that ends a
// key, and the page tokens their List/Query calls hand out -- a tag letter
// and the decimal number of the last entry returned ("s42", "e7").
//
// Thread-safety: every function here is pure.

#ifndef ORGSYNC_LIB_INTERNAL_NUMBERED_KEYS_H_
#define ORGSYNC_LIB_INTERNAL_NUMBERED_KEYS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "internal/keys.h"
#include "internal/strings.h"

namespace orgsync::internal {

// The number encoded (EncodeUint64) after the first `prefix_size` bytes of
// `key`; DataLoss naming `what` (e.g. "record queue") if it is not one.
inline absl::StatusOr<uint64_t> NumberFromKey(std::string_view key,
                                              size_t prefix_size,
                                              std::string_view what) {
  uint64_t number = 0;
  if (!DecodeUint64(key.substr(prefix_size), &number)) {
    return absl::DataLossError(absl::StrCat("malformed ", ToAbsl(what), " key"));
  }
  return number;
}

inline std::string NumberPageToken(char tag, uint64_t number) {
  return absl::StrCat(absl::string_view(&tag, 1), number);
}

// The number in `token`; nullopt for an empty token (the first page);
// InvalidArgument naming `what` for anything but `tag` and digits.
inline absl::StatusOr<std::optional<uint64_t>> ParseNumberPageToken(
    std::string_view token, char tag, std::string_view what) {
  if (token.empty()) return std::optional<uint64_t>();
  uint64_t number = 0;
  if (token.size() < 2 || token[0] != tag ||
      !std::all_of(token.begin() + 1, token.end(),
                   [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(ToAbsl(token.substr(1)), &number)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "malformed ", ToAbsl(what), " page token '", ToAbsl(token), "'"));
  }
  return std::optional<uint64_t>(number);
}

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_INTERNAL_NUMBERED_KEYS_H_
