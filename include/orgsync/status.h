// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Status propagation helpers.
//
// Every public orgsync call reports failure as an absl::Status or
// absl::StatusOr<T>. Debian 12's Abseil (20220623) ships neither
// RETURN_IF_ERROR nor ASSIGN_OR_RETURN, so orgsync defines its own, prefixed
// so that they never collide with a host's macros of the same purpose.
//
//   ORGSYNC_RETURN_IF_ERROR(storage.Write(batch, {.sync = true}));
//   ORGSYNC_ASSIGN_OR_RETURN(std::string value, storage.Get("key"));
//
// Both evaluate their argument exactly once. They are usable in any function
// whose return type is constructible from absl::Status.

#ifndef ORGSYNC_STATUS_H_
#define ORGSYNC_STATUS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ORGSYNC_STATUS_CONCAT_INNER_(a, b) a##b
#define ORGSYNC_STATUS_CONCAT_(a, b) ORGSYNC_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define ORGSYNC_RETURN_IF_ERROR(expr)                              \
  do {                                                             \
    if (::absl::Status orgsync_status_ = (expr); !orgsync_status_.ok()) \
      return orgsync_status_;                                      \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from
// the enclosing function, otherwise moves the value into `lhs`, which may be a
// declaration ("auto x") or an existing variable.
#define ORGSYNC_ASSIGN_OR_RETURN(lhs, rexpr)                                  \
  ORGSYNC_ASSIGN_OR_RETURN_IMPL_(                                             \
      ORGSYNC_STATUS_CONCAT_(orgsync_statusor_, __LINE__), lhs, rexpr)

#define ORGSYNC_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = std::move(statusor).value()

namespace orgsync {

// Adds context in front of a status message, keeping its code:
// Annotate(NotFound("x"), "opening queue") -> NotFound("opening queue: x").
// An OK status is returned unchanged.
[[nodiscard]] absl::Status Annotate(const absl::Status& status,
                                    std::string_view context);

}  // namespace orgsync

#endif  // ORGSYNC_STATUS_H_
