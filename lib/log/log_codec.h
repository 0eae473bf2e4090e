// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// How the sync log is laid out in a Storage (key layout:
// lib/proto/log_state.proto) and how an entry is encoded, decoded, matched
// and validated: what the log's appending (durable_sync_log.cc), querying
// (log_queries.cc) and retention (log_retention.cc) share.

#ifndef ORGSYNC_LIB_LOG_LOG_CODEC_H_
#define ORGSYNC_LIB_LOG_LOG_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "internal/keys.h"
#include "log/durable_sync_log.h"
#include "orgsync/queue_action.h"
#include "orgsync/storage.h"
#include "orgsync/sync_log.h"
#include "proto/log_state.pb.h"

namespace orgsync::internal {

// One counter slot per action and status number (0 unused).
inline constexpr size_t kLogActionSlots = kAllQueueActions.size() + 1;
inline constexpr size_t kLogStatusSlots = kAllLogStatuses.size() + 1;

bool ValidLogStatus(LogStatus status);
bool ValidLogAction(QueueAction action);

class LogKeys {
 public:
  explicit LogKeys(std::string_view connection_id)
      : prefix_(ScopePrefix('l', connection_id)) {}

  std::string EntryPrefix() const { return Tag('e'); }
  std::string Entry(uint64_t event) const {
    std::string key = EntryPrefix();
    AppendUint64(&key, event);
    return key;
  }
  std::string ObjectPrefix(std::string_view object) const {
    std::string key = Tag('o');
    AppendOrderedString(&key, object);
    return key;
  }
  std::string RecordPrefix(std::string_view object, std::string_view id) const {
    std::string key = Tag('r');
    AppendOrderedString(&key, object);
    AppendOrderedString(&key, id);
    return key;
  }
  std::string StatusRoot() const { return Tag('s'); }
  std::string StatusPrefix(LogStatus status) const {
    std::string key = StatusRoot();
    key.push_back(static_cast<char>(status));
    return key;
  }
  std::string ActionRoot() const { return Tag('a'); }
  std::string ActionPrefix(QueueAction action) const {
    std::string key = ActionRoot();
    key.push_back(static_cast<char>(action));
    return key;
  }
  std::string HighWater() const { return Tag('h'); }

  // Every index key of an entry, each a prefix that the event completes.
  std::vector<std::string> IndexPrefixes(const LogEntry& entry) const {
    std::vector<std::string> prefixes;
    if (!entry.record.object.empty()) {
      prefixes.push_back(ObjectPrefix(entry.record.object));
    }
    if (!entry.record.id.empty()) {
      prefixes.push_back(RecordPrefix(entry.record.object, entry.record.id));
    }
    prefixes.push_back(StatusPrefix(entry.status));
    prefixes.push_back(ActionPrefix(entry.action));
    return prefixes;
  }

 private:
  std::string Tag(char tag) const {
    std::string key = prefix_;
    key.push_back(tag);
    return key;
  }

  std::string prefix_;
};

// `prefix` (an index prefix or the entry prefix) completed by `event`.
std::string WithEvent(std::string prefix, uint64_t event);

proto::LogEntryState LogEntryToState(const LogEntry& entry);
// DataLoss for a value that is not a stored entry.
absl::StatusOr<LogEntry> DecodeLogEntry(uint64_t event, std::string_view value);

// The event that ends an entry or index key.
absl::StatusOr<uint64_t> EventFromKey(std::string_view key,
                                      size_t prefix_size);
// Query's page tokens: the last event returned.
std::string EventToken(uint64_t event);
absl::StatusOr<std::optional<uint64_t>> ParseEventToken(
    std::string_view token);

// Positions `it` on the last key before `target`, or invalid if none.
void SeekBefore(StorageIterator* it, std::string_view target);

// Whether `entry` passes the query's object, record, status and action.
bool MatchesLogQuery(const LogEntry& entry, const LogQuery& query);

// InvalidArgument naming entry `index` and the bad field.
absl::Status ValidateNewLogEntry(const NewLogEntry& entry, size_t index,
                                 const SyncLogOptions& options);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_LOG_LOG_CODEC_H_
