// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "orgsync/queue_action.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "internal/strings.h"
#include "proto/common.pb.h"

namespace orgsync {
namespace {

// Keeps the public enum and the wire enum from drifting apart.
static_assert(static_cast<int>(QueueAction::kBulkSync) == proto::BULK_SYNC);
static_assert(static_cast<int>(QueueAction::kGenericInsert) ==
              proto::GENERIC_INSERT);
static_assert(static_cast<int>(QueueAction::kValueMapDelete) ==
              proto::VALUE_MAP_DELETE);
static_assert(kAllQueueActions.size() == proto::QueueAction_ARRAYSIZE - 1);

}  // namespace

std::string_view QueueActionName(QueueAction action) {
  switch (action) {
    case QueueAction::kBulkSync: return "Bulk Sync";
    case QueueAction::kBulkSyncUsers: return "Bulk Sync Users";
    case QueueAction::kConnectionAdminResumed: return "Connection Admin Resumed";
    case QueueAction::kConnectionAdminSuspended: return "Connection Admin Suspended";
    case QueueAction::kConnectionDeactivate: return "Connection Deactivate";
    case QueueAction::kConnectionResumed: return "Connection Resumed";
    case QueueAction::kConnectionSuspended: return "Connection Suspended";
    case QueueAction::kConnectionUpdate: return "Connection Update";
    case QueueAction::kFieldMapDelete: return "Field Map Delete";
    case QueueAction::kFieldMapNameUpdate: return "Field Map Name Update";
    case QueueAction::kFieldMapUpdate: return "Field Map Update";
    case QueueAction::kGenericInsert: return "Generic Insert";
    case QueueAction::kGenericUpdate: return "Generic Update";
    case QueueAction::kMapUpdateEmail: return "Map Update Email";
    case QueueAction::kMissingPartnerId: return "Missing Partner ID";
    case QueueAction::kReplicationDelete: return "Replication Delete";
    case QueueAction::kReplicationUndelete: return "Replication Undelete";
    case QueueAction::kTypeMapDelete: return "Type Map Delete";
    case QueueAction::kTypeMapNameUpdate: return "Type Map Name Update";
    case QueueAction::kTypeMapSetPartnerSub: return "Type Map Set Partner Sub";
    case QueueAction::kTypeMapUpdate: return "Type Map Update";
    case QueueAction::kUserUpsert: return "User Upsert";
    case QueueAction::kValueMapDelete: return "Value Map Delete";
  }
  return "Unknown";
}

absl::StatusOr<QueueAction> ParseQueueAction(std::string_view name) {
  for (QueueAction action : kAllQueueActions) {
    if (QueueActionName(action) == name) return action;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown queue action '", internal::ToAbsl(name), "'"));
}

absl::StatusOr<QueueAction> QueueActionFromNumber(int number) {
  if (number < static_cast<int>(QueueAction::kBulkSync) ||
      number > static_cast<int>(QueueAction::kValueMapDelete)) {
    return absl::InvalidArgumentError(
        absl::StrCat("no queue action has number ", number));
  }
  return static_cast<QueueAction>(number);
}

bool IsRecordAction(QueueAction action) {
  switch (action) {
    case QueueAction::kBulkSync:
    case QueueAction::kGenericInsert:
    case QueueAction::kGenericUpdate:
    case QueueAction::kReplicationDelete:
    case QueueAction::kReplicationUndelete:
    case QueueAction::kMissingPartnerId:
      return true;
    default:
      return false;
  }
}

}  // namespace orgsync
