// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Names and the status transition table of orgsync/connection.h.

#include "orgsync/connection.h"
#include "internal/strings.h"

namespace orgsync {

const std::string& ConnectionStatusName(ConnectionStatus status) {
  switch (status) {
    case ConnectionStatus::kInvited:
      return ORGSYNC_STATIC_STRING("Invited");
    case ConnectionStatus::kMetadataSyncInProgress:
      return ORGSYNC_STATIC_STRING("Metadata Sync in Progress");
    case ConnectionStatus::kUserSyncInProgress:
      return ORGSYNC_STATIC_STRING("User Sync in Progress");
    case ConnectionStatus::kActive:
      return ORGSYNC_STATIC_STRING("Active");
    case ConnectionStatus::kSuspended:
      return ORGSYNC_STATIC_STRING("Suspended");
    case ConnectionStatus::kDeactivated:
      return ORGSYNC_STATIC_STRING("Deactivated");
  }
  return ORGSYNC_STATIC_STRING("Unknown");
}

const std::string& ConnectionTypeName(ConnectionType type) {
  switch (type) {
    case ConnectionType::kStandard:
      return ORGSYNC_STATIC_STRING("Standard");
    case ConnectionType::kReplication:
      return ORGSYNC_STATIC_STRING("Replication");
  }
  return ORGSYNC_STATIC_STRING("Unknown");
}

const std::string& ReplicationRoleName(ReplicationRole role) {
  switch (role) {
    case ReplicationRole::kPrimary:
      return ORGSYNC_STATIC_STRING("Primary");
    case ReplicationRole::kSecondary:
      return ORGSYNC_STATIC_STRING("Secondary");
  }
  return ORGSYNC_STATIC_STRING("Unknown");
}

const std::string& HistoryEventName(HistoryEvent event) {
  switch (event) {
    case HistoryEvent::kInvitationCreated:
      return ORGSYNC_STATIC_STRING("Invitation Created");
    case HistoryEvent::kAcceptanceRequested:
      return ORGSYNC_STATIC_STRING("Acceptance Requested");
    case HistoryEvent::kInvitationAccepted:
      return ORGSYNC_STATIC_STRING("Invitation Accepted");
    case HistoryEvent::kPeerRefused:
      return ORGSYNC_STATIC_STRING("Peer Refused");
    case HistoryEvent::kInvitationRefused:
      return ORGSYNC_STATIC_STRING("Invitation Refused");
    case HistoryEvent::kMetadataSyncCompleted:
      return ORGSYNC_STATIC_STRING("Metadata Sync Completed");
    case HistoryEvent::kUserSyncCompleted:
      return ORGSYNC_STATIC_STRING("User Sync Completed");
    case HistoryEvent::kMetadataSyncFailure:
      return ORGSYNC_STATIC_STRING("Metadata Sync Failure");
    case HistoryEvent::kAdminSuspended:
      return ORGSYNC_STATIC_STRING("Connection Admin Suspended");
    case HistoryEvent::kAdminResumed:
      return ORGSYNC_STATIC_STRING("Connection Admin Resumed");
    case HistoryEvent::kSuspended:
      return ORGSYNC_STATIC_STRING("Connection Suspended");
    case HistoryEvent::kResumed:
      return ORGSYNC_STATIC_STRING("Connection Resumed");
    case HistoryEvent::kDeactivated:
      return ORGSYNC_STATIC_STRING("Connection Deactivated");
    case HistoryEvent::kOwnerUpdated:
      return ORGSYNC_STATIC_STRING("Owner Updated");
    case HistoryEvent::kContactUpdated:
      return ORGSYNC_STATIC_STRING("Contact Updated");
    case HistoryEvent::kSyncOptionsUpdated:
      return ORGSYNC_STATIC_STRING("Sync Options Updated");
    case HistoryEvent::kSchemaMismatch:
      return ORGSYNC_STATIC_STRING("Schema Mismatch");
    case HistoryEvent::kSchemaMatched:
      return ORGSYNC_STATIC_STRING("Schema Matched");
    case HistoryEvent::kBulkSyncStarted:
      return ORGSYNC_STATIC_STRING("Bulk Sync Started");
    case HistoryEvent::kBulkSyncCompleted:
      return ORGSYNC_STATIC_STRING("Bulk Sync Completed");
  }
  return ORGSYNC_STATIC_STRING("Unknown");
}

bool IsLegalStatusTransition(ConnectionStatus from, ConnectionStatus to) {
  using S = ConnectionStatus;
  if (from == to || from == S::kDeactivated) return false;
  if (to == S::kDeactivated) return true;
  switch (from) {
    case S::kInvited:
      return to == S::kMetadataSyncInProgress || to == S::kUserSyncInProgress ||
             to == S::kActive;
    case S::kMetadataSyncInProgress:
      return to == S::kUserSyncInProgress || to == S::kActive;
    case S::kUserSyncInProgress:
      return to == S::kActive;
    case S::kActive:
      return to == S::kSuspended;
    case S::kSuspended:
      return to == S::kActive;
    case S::kDeactivated:
      return false;
  }
  return false;
}

}  // namespace orgsync
