// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Times as orgsync-admin reads and writes them: RFC 3339 in UTC for
// points in time, short spans ("2h 5m") for ages, and the --since/--until
// values an administrator types (an RFC 3339 time, or a span before now
// such as "90s", "15m", "1h30m", "2d").
//
// Thread-safety: pure functions.

#ifndef ORGSYNC_LIB_ADMIN_ADMIN_TIME_H_
#define ORGSYNC_LIB_ADMIN_ADMIN_TIME_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace orgsync::admin {

// "2026-01-01T00:00:00Z", with a fraction of a second only when there is
// one; "" for InfinitePast and InfiniteFuture (no such time).
std::string FormatAdminTime(absl::Time time);

// A span for people, largest units first, at most two of them: "45s",
// "3m 20s", "2h 5m", "4d 1h"; "0s" for zero or less.
std::string FormatAge(absl::Duration age);

// An RFC 3339 time ("2026-01-01T10:00:00Z", "2026-01-01T12:00:00+02:00"),
// or a positive span before `now`: digits and units d, h, m, s, ms
// combined ("90s", "1h30m", "2d"). InvalidArgument naming the value
// otherwise.
[[nodiscard]] absl::StatusOr<absl::Time> ParseAdminTime(std::string_view text,
                                                        absl::Time now);

}  // namespace orgsync::admin

#endif  // ORGSYNC_LIB_ADMIN_ADMIN_TIME_H_
