// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The human form of orgsync-admin's output: each command's message (see
// admin_collect.h) as an aligned table (text_table.h), with a line under
// it when rows were left out, or one sentence when there is nothing to
// show. The --json form is the same message through protobuf's JSON
// printer (RenderJson).
//
// Thread-safety: pure functions.

#ifndef ORGSYNC_LIB_ADMIN_ADMIN_RENDER_H_
#define ORGSYNC_LIB_ADMIN_ADMIN_RENDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "proto/admin/admin_output.pb.h"

namespace orgsync::admin {

std::string RenderStatus(const proto::StatusOutput& output);
std::string RenderPublished(const proto::PublishedOutput& output);
// One row per object; with exactly one object asked for (--object), its
// field mappings instead.
std::string RenderSubscribed(const proto::SubscribedOutput& output,
                             bool field_mappings);
std::string RenderQueue(const proto::QueueOutput& output);
std::string RenderLog(const proto::LogOutput& output);
std::string RenderHistory(const proto::HistoryOutput& output);
std::string RenderAction(const proto::ActionOutput& output);
// `bulk-sync` (started: a line saying so first) and `bulk-status`.
std::string RenderBulkSync(const proto::BulkSyncOutput& output, bool started);
// `verify` (started: a line saying so first) and `verify-status`.
std::string RenderVerify(const proto::VerifyOutput& output, bool started);

// One line of JSON (snake_case names, every field present), ending in '\n'.
[[nodiscard]] absl::StatusOr<std::string> RenderJson(
    const google::protobuf::Message& message);

}  // namespace orgsync::admin

#endif  // ORGSYNC_LIB_ADMIN_ADMIN_RENDER_H_
