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

const std::string& SyncErrorCodeName(SyncErrorCode code) {
  switch (code) {
    case SyncErrorCode::kNone:
      return ORGSYNC_STATIC_STRING("NONE");
    case SyncErrorCode::kUnknown:
      return ORGSYNC_STATIC_STRING("UNKNOWN");
    case SyncErrorCode::kMissingParent:
      return ORGSYNC_STATIC_STRING("MISSING_PARENT");
    case SyncErrorCode::kRequiredLookupBlank:
      return ORGSYNC_STATIC_STRING("REQUIRED_LOOKUP_BLANK");
    case SyncErrorCode::kObjectNotSubscribed:
      return ORGSYNC_STATIC_STRING("OBJECT_NOT_SUBSCRIBED");
    case SyncErrorCode::kFieldNotSubscribed:
      return ORGSYNC_STATIC_STRING("FIELD_NOT_SUBSCRIBED");
    case SyncErrorCode::kRecordNotFound:
      return ORGSYNC_STATIC_STRING("RECORD_NOT_FOUND");
    case SyncErrorCode::kValidation:
      return ORGSYNC_STATIC_STRING("VALIDATION");
    case SyncErrorCode::kSchemaMismatch:
      return ORGSYNC_STATIC_STRING("SCHEMA_MISMATCH");
    case SyncErrorCode::kMissingUser:
      return ORGSYNC_STATIC_STRING("MISSING_USER");
    case SyncErrorCode::kFileTooLarge:
      return ORGSYNC_STATIC_STRING("FILE_TOO_LARGE");
    case SyncErrorCode::kMissingProfile:
      return ORGSYNC_STATIC_STRING("MISSING_PROFILE");
    case SyncErrorCode::kUsernameSuffix:
      return ORGSYNC_STATIC_STRING("USERNAME_SUFFIX");
    case SyncErrorCode::kConflict:
      return ORGSYNC_STATIC_STRING("CONFLICT");
    case SyncErrorCode::kPartnerUnavailable:
      return ORGSYNC_STATIC_STRING("PARTNER_UNAVAILABLE");
    case SyncErrorCode::kMetadata:
      return ORGSYNC_STATIC_STRING("METADATA");
    case SyncErrorCode::kLinkSevered:
      return ORGSYNC_STATIC_STRING("LINK_SEVERED");
    case SyncErrorCode::kStorage:
      return ORGSYNC_STATIC_STRING("STORAGE");
    case SyncErrorCode::kRecordChanged:
      return ORGSYNC_STATIC_STRING("RECORD_CHANGED");
  }
  return ORGSYNC_STATIC_STRING("INVALID");
}

const std::string& SyncErrorCodeDescription(SyncErrorCode code) {
  switch (code) {
    case SyncErrorCode::kNone:
      return ORGSYNC_STATIC_STRING("No error.");
    case SyncErrorCode::kUnknown:
      return ORGSYNC_STATIC_STRING("The change failed for a reason the partner did not classify.");
    case SyncErrorCode::kMissingParent:
      return ORGSYNC_STATIC_STRING("A lookup points to a record that is not in the target "
             "organization.");
    case SyncErrorCode::kRequiredLookupBlank:
      return ORGSYNC_STATIC_STRING("A required lookup is blank because its parent object is not "
             "published or its parent record is not synced.");
    case SyncErrorCode::kObjectNotSubscribed:
      return ORGSYNC_STATIC_STRING("The object is not subscribed in the target organization.");
    case SyncErrorCode::kFieldNotSubscribed:
      return ORGSYNC_STATIC_STRING("A field of the change is not subscribed in the target "
             "organization.");
    case SyncErrorCode::kRecordNotFound:
      return ORGSYNC_STATIC_STRING("The record to update, delete or undelete has no linked record "
             "in the target organization.");
    case SyncErrorCode::kValidation:
      return ORGSYNC_STATIC_STRING("The target organization refused the record.");
    case SyncErrorCode::kSchemaMismatch:
      return ORGSYNC_STATIC_STRING("The object's definition differs between the two "
             "organizations.");
    case SyncErrorCode::kMissingUser:
      return ORGSYNC_STATIC_STRING("A referenced user is missing in the target organization; the "
             "connection owner was used instead.");
    case SyncErrorCode::kFileTooLarge:
      return ORGSYNC_STATIC_STRING("The attachment or file is larger than the size limit and was "
             "not synced.");
    case SyncErrorCode::kMissingProfile:
      return ORGSYNC_STATIC_STRING("The user's profile does not exist in the target organization.");
    case SyncErrorCode::kUsernameSuffix:
      return ORGSYNC_STATIC_STRING("The username does not end in .dr, so the user is not copied.");
    case SyncErrorCode::kConflict:
      return ORGSYNC_STATIC_STRING("The record changed in both organizations; the conflict was "
             "resolved and both values were kept in the log.");
    case SyncErrorCode::kPartnerUnavailable:
      return ORGSYNC_STATIC_STRING("The linked organization could not be reached.");
    case SyncErrorCode::kMetadata:
      return ORGSYNC_STATIC_STRING("A metadata item could not be synced.");
    case SyncErrorCode::kLinkSevered:
      return ORGSYNC_STATIC_STRING("The link between the two records was severed.");
    case SyncErrorCode::kStorage:
      return ORGSYNC_STATIC_STRING("orgsync could not read or write its own state.");
    case SyncErrorCode::kRecordChanged:
      return ORGSYNC_STATIC_STRING("The record changed in the target organization while the change "
             "was applied; it is retried once that write is captured.");
  }
  return ORGSYNC_STATIC_STRING("Not a valid error code.");
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

const std::string& LogStatusName(LogStatus status) {
  switch (status) {
    case LogStatus::kRetrying:
      return ORGSYNC_STATIC_STRING("Retrying");
    case LogStatus::kFailed:
      return ORGSYNC_STATIC_STRING("Failed");
    case LogStatus::kResolved:
      return ORGSYNC_STATIC_STRING("Resolved");
    case LogStatus::kInfo:
      return ORGSYNC_STATIC_STRING("Info");
  }
  return ORGSYNC_STATIC_STRING("Invalid");
}

absl::StatusOr<LogStatus> ParseLogStatus(std::string_view name) {
  for (LogStatus status : kAllLogStatuses) {
    if (LogStatusName(status) == name) return status;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log status '", internal::ToAbsl(name), "'"));
}

}  // namespace orgsync
