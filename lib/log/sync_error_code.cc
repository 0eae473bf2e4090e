// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Names and descriptions of SyncErrorCode and LogStatus.

#include <string>

#include "absl/strings/str_cat.h"
#include "internal/strings.h"
#include "orgsync/sync_log.h"
#include "proto/common.pb.h"
#include "proto/log_state.pb.h"

namespace orgsync {
namespace {

// The public enums are persisted through the proto ones; keep them equal.
static_assert(static_cast<int>(SyncErrorCode::kNone) == proto::ERROR_NONE);
static_assert(static_cast<int>(SyncErrorCode::kMissingParent) ==
              proto::ERROR_MISSING_PARENT);
static_assert(static_cast<int>(SyncErrorCode::kConflict) ==
              proto::ERROR_CONFLICT);
static_assert(static_cast<int>(SyncErrorCode::kStorage) ==
              proto::ERROR_STORAGE);
static_assert(static_cast<int>(SyncErrorCode::kRecordChanged) ==
              proto::ERROR_RECORD_CHANGED);
static_assert(kAllSyncErrorCodes.size() == proto::ErrorCode_ARRAYSIZE);
static_assert(static_cast<int>(LogStatus::kRetrying) ==
              proto::LOG_STATUS_RETRYING);
static_assert(static_cast<int>(LogStatus::kInfo) == proto::LOG_STATUS_INFO);
static_assert(kAllLogStatuses.size() == proto::LogStatus_ARRAYSIZE - 1);

}  // namespace

std::string_view SyncErrorCodeName(SyncErrorCode code) {
  switch (code) {
    case SyncErrorCode::kNone:
      return "NONE";
    case SyncErrorCode::kUnknown:
      return "UNKNOWN";
    case SyncErrorCode::kMissingParent:
      return "MISSING_PARENT";
    case SyncErrorCode::kRequiredLookupBlank:
      return "REQUIRED_LOOKUP_BLANK";
    case SyncErrorCode::kObjectNotSubscribed:
      return "OBJECT_NOT_SUBSCRIBED";
    case SyncErrorCode::kFieldNotSubscribed:
      return "FIELD_NOT_SUBSCRIBED";
    case SyncErrorCode::kRecordNotFound:
      return "RECORD_NOT_FOUND";
    case SyncErrorCode::kValidation:
      return "VALIDATION";
    case SyncErrorCode::kSchemaMismatch:
      return "SCHEMA_MISMATCH";
    case SyncErrorCode::kMissingUser:
      return "MISSING_USER";
    case SyncErrorCode::kFileTooLarge:
      return "FILE_TOO_LARGE";
    case SyncErrorCode::kMissingProfile:
      return "MISSING_PROFILE";
    case SyncErrorCode::kUsernameSuffix:
      return "USERNAME_SUFFIX";
    case SyncErrorCode::kConflict:
      return "CONFLICT";
    case SyncErrorCode::kPartnerUnavailable:
      return "PARTNER_UNAVAILABLE";
    case SyncErrorCode::kMetadata:
      return "METADATA";
    case SyncErrorCode::kLinkSevered:
      return "LINK_SEVERED";
    case SyncErrorCode::kStorage:
      return "STORAGE";
    case SyncErrorCode::kRecordChanged:
      return "RECORD_CHANGED";
  }
  return "INVALID";
}

std::string_view SyncErrorCodeDescription(SyncErrorCode code) {
  switch (code) {
    case SyncErrorCode::kNone:
      return "No error.";
    case SyncErrorCode::kUnknown:
      return "The change failed for a reason the partner did not classify.";
    case SyncErrorCode::kMissingParent:
      return "A lookup points to a record that is not in the target "
             "organization.";
    case SyncErrorCode::kRequiredLookupBlank:
      return "A required lookup is blank because its parent object is not "
             "published or its parent record is not synced.";
    case SyncErrorCode::kObjectNotSubscribed:
      return "The object is not subscribed in the target organization.";
    case SyncErrorCode::kFieldNotSubscribed:
      return "A field of the change is not subscribed in the target "
             "organization.";
    case SyncErrorCode::kRecordNotFound:
      return "The record to update, delete or undelete has no linked record "
             "in the target organization.";
    case SyncErrorCode::kValidation:
      return "The target organization refused the record.";
    case SyncErrorCode::kSchemaMismatch:
      return "The object's definition differs between the two "
             "organizations.";
    case SyncErrorCode::kMissingUser:
      return "A referenced user is missing in the target organization; the "
             "connection owner was used instead.";
    case SyncErrorCode::kFileTooLarge:
      return "The attachment or file is larger than the size limit and was "
             "not synced.";
    case SyncErrorCode::kMissingProfile:
      return "The user's profile does not exist in the target organization.";
    case SyncErrorCode::kUsernameSuffix:
      return "The username does not end in .dr, so the user is not copied.";
    case SyncErrorCode::kConflict:
      return "The record changed in both organizations; the conflict was "
             "resolved and both values were kept in the log.";
    case SyncErrorCode::kPartnerUnavailable:
      return "The linked organization could not be reached.";
    case SyncErrorCode::kMetadata:
      return "A metadata item could not be synced.";
    case SyncErrorCode::kLinkSevered:
      return "The link between the two records was severed.";
    case SyncErrorCode::kStorage:
      return "orgsync could not read or write its own state.";
    case SyncErrorCode::kRecordChanged:
      return "The record changed in the target organization while the change "
             "was applied; it is retried once that write is captured.";
  }
  return "Not a valid error code.";
}

absl::StatusOr<SyncErrorCode> ParseSyncErrorCode(std::string_view name) {
  for (SyncErrorCode code : kAllSyncErrorCodes) {
    if (SyncErrorCodeName(code) == name) return code;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown sync error code '", internal::ToAbsl(name), "'"));
}

absl::StatusOr<SyncErrorCode> SyncErrorCodeFromNumber(int number) {
  if (number < 0 || number >= static_cast<int>(kAllSyncErrorCodes.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("no sync error code has number ", number));
  }
  return static_cast<SyncErrorCode>(number);
}

std::string_view LogStatusName(LogStatus status) {
  switch (status) {
    case LogStatus::kRetrying:
      return "Retrying";
    case LogStatus::kFailed:
      return "Failed";
    case LogStatus::kResolved:
      return "Resolved";
    case LogStatus::kInfo:
      return "Info";
  }
  return "Invalid";
}

absl::StatusOr<LogStatus> ParseLogStatus(std::string_view name) {
  for (LogStatus status : kAllLogStatuses) {
    if (LogStatusName(status) == name) return status;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log status '", internal::ToAbsl(name), "'"));
}

}  // namespace orgsync
