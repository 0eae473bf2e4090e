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

const std::string& QueueActionName(QueueAction action) {
  switch (action) {
    case QueueAction::kBulkSync: return ORGSYNC_STATIC_STRING("Bulk Sync");
    case QueueAction::kBulkSyncUsers: return ORGSYNC_STATIC_STRING("Bulk Sync Users");
    case QueueAction::kConnectionAdminResumed: return ORGSYNC_STATIC_STRING("Connection Admin Resumed");
    case QueueAction::kConnectionAdminSuspended: return ORGSYNC_STATIC_STRING("Connection Admin Suspended");
    case QueueAction::kConnectionDeactivate: return ORGSYNC_STATIC_STRING("Connection Deactivate");
    case QueueAction::kConnectionResumed: return ORGSYNC_STATIC_STRING("Connection Resumed");
    case QueueAction::kConnectionSuspended: return ORGSYNC_STATIC_STRING("Connection Suspended");
    case QueueAction::kConnectionUpdate: return ORGSYNC_STATIC_STRING("Connection Update");
    case QueueAction::kFieldMapDelete: return ORGSYNC_STATIC_STRING("Field Map Delete");
    case QueueAction::kFieldMapNameUpdate: return ORGSYNC_STATIC_STRING("Field Map Name Update");
    case QueueAction::kFieldMapUpdate: return ORGSYNC_STATIC_STRING("Field Map Update");
    case QueueAction::kGenericInsert: return ORGSYNC_STATIC_STRING("Generic Insert");
    case QueueAction::kGenericUpdate: return ORGSYNC_STATIC_STRING("Generic Update");
    case QueueAction::kMapUpdateEmail: return ORGSYNC_STATIC_STRING("Map Update Email");
    case QueueAction::kMissingPartnerId: return ORGSYNC_STATIC_STRING("Missing Partner ID");
    case QueueAction::kReplicationDelete: return ORGSYNC_STATIC_STRING("Replication Delete");
    case QueueAction::kReplicationUndelete: return ORGSYNC_STATIC_STRING("Replication Undelete");
    case QueueAction::kTypeMapDelete: return ORGSYNC_STATIC_STRING("Type Map Delete");
    case QueueAction::kTypeMapNameUpdate: return ORGSYNC_STATIC_STRING("Type Map Name Update");
    case QueueAction::kTypeMapSetPartnerSub: return ORGSYNC_STATIC_STRING("Type Map Set Partner Sub");
    case QueueAction::kTypeMapUpdate: return ORGSYNC_STATIC_STRING("Type Map Update");
    case QueueAction::kUserUpsert: return ORGSYNC_STATIC_STRING("User Upsert");
    case QueueAction::kValueMapDelete: return ORGSYNC_STATIC_STRING("Value Map Delete");
  }
  return ORGSYNC_STATIC_STRING("Unknown");
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
