// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Names and the status transition table of orgsync/connection.h.

#include "orgsync/connection.h"

namespace orgsync {

std::string_view ConnectionStatusName(ConnectionStatus status) {
  switch (status) {
    case ConnectionStatus::kInvited:
      return "Invited";
    case ConnectionStatus::kMetadataSyncInProgress:
      return "Metadata Sync in Progress";
    case ConnectionStatus::kUserSyncInProgress:
      return "User Sync in Progress";
    case ConnectionStatus::kActive:
      return "Active";
    case ConnectionStatus::kSuspended:
      return "Suspended";
    case ConnectionStatus::kDeactivated:
      return "Deactivated";
  }
  return "Unknown";
}

std::string_view ConnectionTypeName(ConnectionType type) {
  switch (type) {
    case ConnectionType::kStandard:
      return "Standard";
    case ConnectionType::kReplication:
      return "Replication";
  }
  return "Unknown";
}

std::string_view ReplicationRoleName(ReplicationRole role) {
  switch (role) {
    case ReplicationRole::kPrimary:
      return "Primary";
    case ReplicationRole::kSecondary:
      return "Secondary";
  }
  return "Unknown";
}

std::string_view HistoryEventName(HistoryEvent event) {
  switch (event) {
    case HistoryEvent::kInvitationCreated:
      return "Invitation Created";
    case HistoryEvent::kAcceptanceRequested:
      return "Acceptance Requested";
    case HistoryEvent::kInvitationAccepted:
      return "Invitation Accepted";
    case HistoryEvent::kPeerRefused:
      return "Peer Refused";
    case HistoryEvent::kInvitationRefused:
      return "Invitation Refused";
    case HistoryEvent::kMetadataSyncCompleted:
      return "Metadata Sync Completed";
    case HistoryEvent::kUserSyncCompleted:
      return "User Sync Completed";
    case HistoryEvent::kMetadataSyncFailure:
      return "Metadata Sync Failure";
    case HistoryEvent::kAdminSuspended:
      return "Connection Admin Suspended";
    case HistoryEvent::kAdminResumed:
      return "Connection Admin Resumed";
    case HistoryEvent::kSuspended:
      return "Connection Suspended";
    case HistoryEvent::kResumed:
      return "Connection Resumed";
    case HistoryEvent::kDeactivated:
      return "Connection Deactivated";
    case HistoryEvent::kOwnerUpdated:
      return "Owner Updated";
    case HistoryEvent::kContactUpdated:
      return "Contact Updated";
    case HistoryEvent::kSyncOptionsUpdated:
      return "Sync Options Updated";
  }
  return "Unknown";
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
