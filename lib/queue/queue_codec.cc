// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The record queue's encoding and validation (queue_codec.h).

#include "queue/queue_codec.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "internal/numbered_keys.h"
#include "internal/strings.h"
#include "orgsync/status.h"
#include "orgsync/sync_log.h"

namespace orgsync::internal {
absl::Status ValidateQueueRecord(const RecordRef& record, size_t max_bytes,
                                 std::string_view where) {
  if (!record.id.empty() && record.object.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        ToAbsl(where), ": record id '", record.id, "' has no object"));
  }
  if (record.object.size() > max_bytes || record.id.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(where), ": record object or id longer than ",
                     max_bytes, " bytes"));
  }
  return absl::OkStatus();
}


std::string OrderKey(const RecordRef& record) {
  std::string key;
  AppendOrderedString(&key, record.object);
  AppendOrderedString(&key, record.id);
  return key;
}

proto::QueueEntryState QueueEntryToState(const QueueEntry& entry) {
  proto::QueueEntryState state;
  state.set_object(entry.record.object);
  state.set_record_id(entry.record.id);
  state.set_action(static_cast<proto::QueueAction>(entry.action));
  state.set_payload(entry.payload);
  state.set_attempts(entry.attempts);
  state.set_enqueued_micros(absl::ToUnixMicros(entry.enqueued));
  state.set_next_retry_micros(absl::ToUnixMicros(entry.next_retry));
  if (entry.last_attempt) {
    state.set_has_last_attempt(true);
    state.set_last_attempt_micros(absl::ToUnixMicros(*entry.last_attempt));
  }
  state.set_last_error_code(
      static_cast<proto::ErrorCode>(entry.last_error.code));
  state.set_last_error_message(entry.last_error.message);
  state.set_barrier(entry.barrier);
  return state;
}

absl::StatusOr<QueueEntry> DecodeQueueEntry(uint64_t sequence,
                                       std::string_view value) {
  proto::QueueEntryState state;
  if (!state.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(
        absl::StrCat("record queue entry ", sequence, " cannot be decoded"));
  }
  auto action = QueueActionFromNumber(state.action());
  auto error = SyncErrorCodeFromNumber(state.last_error_code());
  if (!action.ok() || !error.ok()) {
    return absl::DataLossError(absl::StrCat("record queue entry ", sequence,
                                            " has an invalid action or error"));
  }
  QueueEntry entry;
  entry.sequence = sequence;
  entry.record.object = std::move(*state.mutable_object());
  entry.record.id = std::move(*state.mutable_record_id());
  entry.action = *action;
  entry.payload = std::move(*state.mutable_payload());
  entry.attempts = state.attempts();
  entry.enqueued = absl::FromUnixMicros(state.enqueued_micros());
  entry.next_retry = absl::FromUnixMicros(state.next_retry_micros());
  if (state.has_last_attempt()) {
    entry.last_attempt = absl::FromUnixMicros(state.last_attempt_micros());
  }
  entry.last_error.code = *error;
  entry.last_error.message = std::move(*state.mutable_last_error_message());
  entry.barrier = state.barrier();
  return entry;
}

absl::StatusOr<uint64_t> SequenceFromKey(std::string_view key,
                                         size_t prefix_size) {
  return NumberFromKey(key, prefix_size, "record queue");
}

std::string SequenceToken(uint64_t sequence) {
  return NumberPageToken('s', sequence);
}

// 0 (before every sequence) for the first page.
absl::StatusOr<uint64_t> ParseSequenceToken(std::string_view token) {
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<uint64_t> after,
      ParseNumberPageToken(token, 's', "record queue"));
  return after.value_or(0);
}

absl::Status ValidateNewQueueEntry(const NewQueueEntry& entry, size_t index,
                                   const RecordQueueOptions& options) {
  const std::string where = absl::StrCat("record queue entry ", index);
  if (!QueueActionFromNumber(static_cast<int>(entry.action)).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": action ", static_cast<int>(entry.action),
                     " is not a queue action"));
  }
  ORGSYNC_RETURN_IF_ERROR(
      ValidateQueueRecord(entry.record, options.max_name_bytes, where));
  if (IsRecordAction(entry.action) &&
      (entry.record.object.empty() || entry.record.id.empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": a ", ToAbsl(QueueActionName(entry.action)),
                     " entry needs a record object and id"));
  }
  if (entry.barrier && !IsRecordAction(entry.action)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": only record changes can be barriers, not ",
                     ToAbsl(QueueActionName(entry.action))));
  }
  if (entry.payload.size() > options.max_payload_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": payload is ", entry.payload.size(), " bytes; at most ",
        options.max_payload_bytes, " are allowed"));
  }
  return absl::OkStatus();
}

}  // namespace orgsync::internal
