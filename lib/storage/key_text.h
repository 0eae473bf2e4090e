// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Storage keys are arbitrary bytes (fixed-width big-endian numbers, \0
// separators); error messages show them escaped and bounded so that a status
// message stays printable and short whatever the key holds.

#ifndef ORGSYNC_LIB_STORAGE_KEY_TEXT_H_
#define ORGSYNC_LIB_STORAGE_KEY_TEXT_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace orgsync::internal {

// `key` C-escaped (\x00, \xff, \", ...), cut after a fixed number of bytes
// with a "..." marker.
std::string KeyForMessage(std::string_view key);

// Storage::Get built on GetIfPresent: the value `read` found under `key`,
// the NotFound naming the key when it found none, its error otherwise.
// The key is formatted only for a miss.
absl::StatusOr<std::string> ValueOrNotFound(
    std::string_view key, absl::StatusOr<std::optional<std::string>> read);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_STORAGE_KEY_TEXT_H_
