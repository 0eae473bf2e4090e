// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// GetIfPresent: a Storage read where a missing key is an answer, not an
// error -- a link not made yet, a stamp never written, an applied mark of
// a key nothing was applied for.

#ifndef ORGSYNC_LIB_INTERNAL_OPTIONAL_GET_H_
#define ORGSYNC_LIB_INTERNAL_OPTIONAL_GET_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orgsync/storage.h"

namespace orgsync::internal {

// The value under `key`, nullopt when there is none; the Storage's other
// errors as they are.
inline absl::StatusOr<std::optional<std::string>> GetIfPresent(
    Storage& storage, std::string_view key, const ReadOptions& options = {}) {
  return storage.GetIfPresent(key, options);
}

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_INTERNAL_OPTIONAL_GET_H_
