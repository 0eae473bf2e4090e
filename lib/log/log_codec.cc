// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The sync log's encoding, matching and validation (log_codec.h).

#include "log/log_codec.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "internal/numbered_keys.h"
#include "internal/strings.h"
#include "orgsync/status.h"

namespace orgsync::internal {
namespace {

bool ValidError(SyncErrorCode code) {
  return SyncErrorCodeFromNumber(static_cast<int>(code)).ok();
}

absl::Status ValidateText(std::string_view text, size_t limit, size_t index,
                          std::string_view field) {
  if (text.size() > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("sync log entry ", index, ": ", ToAbsl(field), " is ",
                     text.size(), " bytes; at most ", limit, " are allowed"));
  }
  return absl::OkStatus();
}

}  // namespace

bool ValidLogStatus(LogStatus status) {
  const int n = static_cast<int>(status);
  return n >= static_cast<int>(LogStatus::kRetrying) &&
         n <= static_cast<int>(LogStatus::kInfo);
}

bool ValidLogAction(QueueAction action) {
  return QueueActionFromNumber(static_cast<int>(action)).ok();
}

std::string WithEvent(std::string prefix, uint64_t event) {
  AppendUint64(&prefix, event);
  return prefix;
}

proto::LogEntryState LogEntryToState(const LogEntry& entry) {
  proto::LogEntryState state;
  state.set_object(entry.record.object);
  state.set_record_id(entry.record.id);
  state.set_action(static_cast<proto::QueueAction>(entry.action));
  state.set_time_micros(absl::ToUnixMicros(entry.time));
  state.set_status(static_cast<proto::LogStatus>(entry.status));
  state.set_error(static_cast<proto::ErrorCode>(entry.error));
  state.set_description(entry.description);
  for (const LogDetail& detail : entry.details) {
    proto::LogDetailState* out = state.add_details();
    out->set_key(detail.key);
    out->set_value(detail.value);
  }
  state.set_queue_sequence(entry.queue_sequence);
  state.set_attempts(entry.attempts);
  return state;
}

absl::StatusOr<LogEntry> DecodeLogEntry(uint64_t event, std::string_view value) {
  proto::LogEntryState state;
  if (!state.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(
        absl::StrCat("sync log entry ", event, " cannot be decoded"));
  }
  LogEntry entry;
  entry.event = event;
  entry.time = absl::FromUnixMicros(state.time_micros());
  entry.record.object = state.object();
  entry.record.id = state.record_id();
  auto action = QueueActionFromNumber(state.action());
  auto error = SyncErrorCodeFromNumber(state.error());
  entry.status = static_cast<LogStatus>(state.status());
  if (!action.ok() || !error.ok() || !ValidLogStatus(entry.status)) {
    return absl::DataLossError(absl::StrCat(
        "sync log entry ", event, " has an invalid action, status or error"));
  }
  entry.action = *action;
  entry.error = *error;
  entry.description = state.description();
  for (const proto::LogDetailState& detail : state.details()) {
    entry.details.push_back({detail.key(), detail.value()});
  }
  entry.queue_sequence = state.queue_sequence();
  entry.attempts = state.attempts();
  return entry;
}

// Decodes the event number that ends an index or entry key.
absl::StatusOr<uint64_t> EventFromKey(std::string_view key,
                                      size_t prefix_size) {
  return NumberFromKey(key, prefix_size, "sync log");
}

std::string EventToken(uint64_t event) {
  return NumberPageToken('e', event);
}

absl::StatusOr<std::optional<uint64_t>> ParseEventToken(
    std::string_view token) {
  return ParseNumberPageToken(token, 'e', "sync log");
}

void SeekBefore(StorageIterator* it, std::string_view target) {
  it->Seek(target);
  if (it->Valid()) {
    it->Prev();
  } else {
    it->SeekToLast();
  }
}

bool MatchesLogQuery(const LogEntry& entry, const LogQuery& query) {
  if (query.object && entry.record.object != *query.object) return false;
  if (query.record_id && entry.record.id != *query.record_id) return false;
  if (query.status && entry.status != *query.status) return false;
  if (query.action && entry.action != *query.action) return false;
  return true;
}

absl::Status ValidateNewLogEntry(const NewLogEntry& entry, size_t index,
                              const SyncLogOptions& options) {
  if (!ValidLogAction(entry.action)) {
    return absl::InvalidArgumentError(
        absl::StrCat("sync log entry ", index, ": action ",
                     static_cast<int>(entry.action), " is not a queue action"));
  }
  if (!ValidLogStatus(entry.status)) {
    return absl::InvalidArgumentError(
        absl::StrCat("sync log entry ", index, ": status ",
                     static_cast<int>(entry.status), " is not a log status"));
  }
  if (!ValidError(entry.error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("sync log entry ", index, ": error code ",
                     static_cast<int>(entry.error), " is not a sync error"));
  }
  if ((entry.status == LogStatus::kRetrying ||
       entry.status == LogStatus::kFailed) &&
      entry.error == SyncErrorCode::kNone) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sync log entry ", index, ": a ", ToAbsl(LogStatusName(entry.status)),
        " entry needs an error code"));
  }
  if (!entry.record.id.empty() && entry.record.object.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("sync log entry ", index, ": record id '", entry.record.id,
                     "' has no object"));
  }
  ORGSYNC_RETURN_IF_ERROR(ValidateText(
      entry.record.object, options.max_text_bytes, index, "record object"));
  ORGSYNC_RETURN_IF_ERROR(ValidateText(entry.record.id, options.max_text_bytes,
                                       index, "record id"));
  ORGSYNC_RETURN_IF_ERROR(ValidateText(
      entry.description, options.max_text_bytes, index, "description"));
  if (entry.details.size() > options.max_details) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sync log entry ", index, ": ", entry.details.size(),
        " details; at most ", options.max_details, " are allowed"));
  }
  for (const LogDetail& detail : entry.details) {
    if (detail.key.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sync log entry ", index, ": a detail has an empty key"));
    }
    ORGSYNC_RETURN_IF_ERROR(
        ValidateText(detail.key, options.max_text_bytes, index, "detail key"));
    ORGSYNC_RETURN_IF_ERROR(ValidateText(detail.value, options.max_text_bytes,
                                         index, "detail value"));
  }
  return absl::OkStatus();
}

}  // namespace orgsync::internal
