// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "engine/apply_results.h"

#include <utility>

#include "fmt/format.h"

namespace orgsync::internal {

proto::ItemResult ApplyFailure(const proto::RecordChange& change,
                               proto::Outcome outcome, SyncErrorCode code,
                               std::string description) {
  proto::ItemResult result;
  result.set_sequence(change.sequence());
  result.set_outcome(outcome);
  // SyncErrorCode and proto::ErrorCode share their numbers
  // (log/sync_error_code.cc checks it).
  result.set_error(static_cast<proto::ErrorCode>(static_cast<int>(code)));
  result.set_description(std::move(description));
  return result;
}

proto::ItemResult RecordChangedFailure(const proto::RecordChange& change,
                                       std::string_view local_object,
                                       std::string_view local_id,
                                       const absl::Status& status) {
  return ApplyFailure(change, proto::RETRYABLE_FAILURE,
                      SyncErrorCode::kRecordChanged,
                      fmt::format("{} record {} changed in this org while "
                                  "the change was applied; retried once "
                                  "that write is captured ({})",
                                  local_object, local_id,
                                  std::string(status.message())));
}

proto::ItemResult ApplySuccess(const proto::RecordChange& change,
                               proto::Outcome outcome, std::string local_id,
                               uint64_t version) {
  proto::ItemResult result;
  result.set_sequence(change.sequence());
  result.set_outcome(outcome);
  result.set_receiver_record_id(std::move(local_id));
  result.set_receiver_version(version);
  return result;
}

}  // namespace orgsync::internal
