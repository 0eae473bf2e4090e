// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Reads what orgsync-admin shows of one connection into the messages of
// proto/admin/admin_output.proto, through the public API only
// (orgsync/connection.h and the components it hands out). The human
// tables (admin_render.h) and --json are both made from these messages, so
// the two always show the same thing.
//
// Thread-safety: as the Connection's own reads (any thread). Each function
// reads a consistent view of each component, not of all of them at once.

#ifndef ORGSYNC_LIB_ADMIN_ADMIN_COLLECT_H_
#define ORGSYNC_LIB_ADMIN_ADMIN_COLLECT_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orgsync/bulk_sync.h"
#include "orgsync/verify.h"
#include "orgsync/connection.h"
#include "orgsync/sync_log.h"
#include "proto/admin/admin_output.pb.h"

namespace orgsync::admin {

// `now` (the Org's Clock) ages the oldest queued entry.
[[nodiscard]] absl::StatusOr<proto::ConnectionStatus> CollectStatus(
    const Connection& connection, absl::Time now);

proto::PublishedOutput CollectPublished(const Connection& connection);

// Every object the partner publishes, or only `object` (NotFound if the
// partner does not publish it).
[[nodiscard]] absl::StatusOr<proto::SubscribedOutput> CollectSubscribed(
    const Connection& connection, std::optional<std::string_view> object);

// The oldest `limit` entries (1..RecordQueue::kMaxPageSize).
[[nodiscard]] absl::StatusOr<proto::QueueOutput> CollectQueue(
    const Connection& connection, size_t limit);

// The newest `limit` entries matching `query` (1..SyncLog::kMaxPageSize).
[[nodiscard]] absl::StatusOr<proto::LogOutput> CollectLog(
    const Connection& connection, const LogQuery& query, size_t limit);

// The history entries between since and until, oldest first; with a
// limit, only the latest `limit` of them. Reads the history a page at a
// time, so memory stays bounded by the limit (or by what is printed).
[[nodiscard]] absl::StatusOr<proto::HistoryOutput> CollectHistory(
    const Connection& connection, absl::Time since, absl::Time until,
    std::optional<size_t> limit);

// A bulk sync's progress as printed (state "None" when there is none).
// A Verify's report as printed (state "None" when there is none).
proto::VerifyOutput CollectVerify(const std::string& connection_id,
                                  const std::optional<VerifyReport>& report);

proto::BulkSyncOutput CollectBulkSync(
    const std::string& connection_id,
    const std::optional<BulkSyncProgress>& progress);

}  // namespace orgsync::admin

#endif  // ORGSYNC_LIB_ADMIN_ADMIN_COLLECT_H_
