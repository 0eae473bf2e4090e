// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// QueueAction: what a RecordQueue entry asks the partner to do.
//
// The list is exactly the seed's (DESIGN.md R56), in its order. The numeric
// values are stable: they are persisted and sent on the wire, and equal the
// numbers of proto QueueAction in lib/proto/common.proto.
//
// Thread-safety: the functions here are pure and may be called from any
// thread.

#ifndef ORGSYNC_QUEUE_ACTION_H_
#define ORGSYNC_QUEUE_ACTION_H_

#include <array>
#include <string_view>

#include "absl/status/statusor.h"

namespace orgsync {

enum class QueueAction : int {
  kBulkSync = 1,
  kBulkSyncUsers = 2,
  kConnectionAdminResumed = 3,
  kConnectionAdminSuspended = 4,
  kConnectionDeactivate = 5,
  kConnectionResumed = 6,
  kConnectionSuspended = 7,
  kConnectionUpdate = 8,
  kFieldMapDelete = 9,
  kFieldMapNameUpdate = 10,
  kFieldMapUpdate = 11,
  kGenericInsert = 12,
  kGenericUpdate = 13,
  kMapUpdateEmail = 14,
  kMissingPartnerId = 15,
  kReplicationDelete = 16,
  kReplicationUndelete = 17,
  kTypeMapDelete = 18,
  kTypeMapNameUpdate = 19,
  kTypeMapSetPartnerSub = 20,
  kTypeMapUpdate = 21,
  kUserUpsert = 22,
  kValueMapDelete = 23,
};

// Every action, in the seed's order.
inline constexpr std::array<QueueAction, 23> kAllQueueActions = {
    QueueAction::kBulkSync,
    QueueAction::kBulkSyncUsers,
    QueueAction::kConnectionAdminResumed,
    QueueAction::kConnectionAdminSuspended,
    QueueAction::kConnectionDeactivate,
    QueueAction::kConnectionResumed,
    QueueAction::kConnectionSuspended,
    QueueAction::kConnectionUpdate,
    QueueAction::kFieldMapDelete,
    QueueAction::kFieldMapNameUpdate,
    QueueAction::kFieldMapUpdate,
    QueueAction::kGenericInsert,
    QueueAction::kGenericUpdate,
    QueueAction::kMapUpdateEmail,
    QueueAction::kMissingPartnerId,
    QueueAction::kReplicationDelete,
    QueueAction::kReplicationUndelete,
    QueueAction::kTypeMapDelete,
    QueueAction::kTypeMapNameUpdate,
    QueueAction::kTypeMapSetPartnerSub,
    QueueAction::kTypeMapUpdate,
    QueueAction::kUserUpsert,
    QueueAction::kValueMapDelete,
};

// The seed's display name, e.g. "Type Map Set Partner Sub".
const std::string& QueueActionName(QueueAction action);

// The inverse of QueueActionName (exact match); InvalidArgument otherwise.
[[nodiscard]] absl::StatusOr<QueueAction> ParseQueueAction(
    std::string_view name);

// The action for a stored or received number; InvalidArgument if the number
// names no action.
[[nodiscard]] absl::StatusOr<QueueAction> QueueActionFromNumber(int number);

// True for actions that carry a record change (inserts, updates, deletes,
// undeletes, bulk copies), as opposed to configuration or connection events.
bool IsRecordAction(QueueAction action);

}  // namespace orgsync

#endif  // ORGSYNC_QUEUE_ACTION_H_
