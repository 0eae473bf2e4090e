// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The answers RecordSync's receiving half gives for one partner change
// (proto::ItemResult), shared by record_apply.cc and apply_deletion.cc.

#ifndef ORGSYNC_LIB_ENGINE_APPLY_RESULTS_H_
#define ORGSYNC_LIB_ENGINE_APPLY_RESULTS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "orgsync/storage.h"
#include "orgsync/sync_log.h"
#include "proto/wire.pb.h"

namespace orgsync::internal {

// Apply's own writes (links, stamps, marks) are durable before it answers.
inline constexpr WriteOptions kApplyWrite{.sync = true};

// The change was not applied: `outcome` says whether the sender retries.
proto::ItemResult ApplyFailure(const proto::RecordChange& change,
                               proto::Outcome outcome, SyncErrorCode code,
                               std::string description);

// A conditional write found the record at another version than the one
// apply read: a host write landed in between, and the host captures it
// next. Retryable: by the retry the capture has stamped the host's fields,
// and the stamps decide (the sender logs Retrying, then Failed if the
// record keeps changing under every attempt).
proto::ItemResult RecordChangedFailure(const proto::RecordChange& change,
                                       std::string_view local_object,
                                       std::string_view local_id,
                                       const absl::Status& status);

// The change was applied (or found applied before, DUPLICATE) to local
// record `local_id`, now at `version`.
proto::ItemResult ApplySuccess(const proto::RecordChange& change,
                               proto::Outcome outcome, std::string local_id,
                               uint64_t version);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_ENGINE_APPLY_RESULTS_H_
