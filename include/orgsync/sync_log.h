// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// SyncLog: the durable, queryable record of every change that was not
// simply delivered (the seed's Organization Sync Log, DESIGN.md R51-R54).
//
// What a host sees (the engine's writer side is lib/log/, not public):
//   * One log per connection, kept in the Org's Storage under
//     "l/<connection>/".
//   * Each entry has an event number: increasing in append order, never
//     reused, even after a restart or after old entries were pruned.
//   * Each entry has the record (may be empty for connection-level events),
//     the QueueAction, the time (from the Clock; never earlier than the
//     previous entry's, so time order equals event order), a status, an
//     error code, a description and optional key/value details (for a
//     conflict: both values).
//   * Observers (the seed's log triggers, R54) are called exactly once per
//     new entry, after it is durable, in event order, never while an
//     internal lock is held (an observer may query the log).
//   * Queries filter by time range, object, record, status and action, in any
//     combination, newest or oldest first, paged. They use secondary index
//     keys (object, record, status, action) and the fact that time order
//     equals event order, so a narrow query does not read the whole log.
//   * Retention (SyncLogOptions): entries older than max_age and the oldest
//     beyond max_entries are removed, with their index keys, automatically
//     after every `prune_every` appends.
//   * Queries and counts see an entry once its append finished; an entry
//     whose append is still in progress (or failed) is invisible, so a
//     reader paging oldest-first never skips an entry that shows up late.
//
// Thread-safety: every SyncLog method may be called concurrently from any
// thread, while the connection appends.

#ifndef ORGSYNC_SYNC_LOG_H_
#define ORGSYNC_SYNC_LOG_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orgsync/clock.h"
#include "orgsync/options.h"
#include "orgsync/queue_action.h"
#include "orgsync/record.h"

namespace orgsync {

// Why a change was not applied as sent. The numbers are stable (persisted,
// and equal to proto ErrorCode in lib/proto/common.proto).
enum class SyncErrorCode : int {
  kNone = 0,
  kUnknown = 1,
  kMissingParent = 2,
  kRequiredLookupBlank = 3,
  kObjectNotSubscribed = 4,
  kFieldNotSubscribed = 5,
  kRecordNotFound = 6,
  kValidation = 7,
  kSchemaMismatch = 8,
  kMissingUser = 9,
  kFileTooLarge = 10,
  kMissingProfile = 11,
  kUsernameSuffix = 12,
  kConflict = 13,
  kPartnerUnavailable = 14,
  kMetadata = 15,
  kLinkSevered = 16,
  kStorage = 17,
  kRecordChanged = 18,
};

inline constexpr std::array<SyncErrorCode, 19> kAllSyncErrorCodes = {
    SyncErrorCode::kNone,
    SyncErrorCode::kUnknown,
    SyncErrorCode::kMissingParent,
    SyncErrorCode::kRequiredLookupBlank,
    SyncErrorCode::kObjectNotSubscribed,
    SyncErrorCode::kFieldNotSubscribed,
    SyncErrorCode::kRecordNotFound,
    SyncErrorCode::kValidation,
    SyncErrorCode::kSchemaMismatch,
    SyncErrorCode::kMissingUser,
    SyncErrorCode::kFileTooLarge,
    SyncErrorCode::kMissingProfile,
    SyncErrorCode::kUsernameSuffix,
    SyncErrorCode::kConflict,
    SyncErrorCode::kPartnerUnavailable,
    SyncErrorCode::kMetadata,
    SyncErrorCode::kLinkSevered,
    SyncErrorCode::kStorage,
    SyncErrorCode::kRecordChanged,
};

// A stable identifier, e.g. "MISSING_PARENT"; safe to store or match on.
const std::string& SyncErrorCodeName(SyncErrorCode code);
// A one-sentence explanation for people, e.g. for a log detail page.
const std::string& SyncErrorCodeDescription(SyncErrorCode code);
// Inverses of SyncErrorCodeName and of the numbering; InvalidArgument for
// anything that names no code.
[[nodiscard]] absl::StatusOr<SyncErrorCode> ParseSyncErrorCode(
    std::string_view name);
[[nodiscard]] absl::StatusOr<SyncErrorCode> SyncErrorCodeFromNumber(int number);

// The status of a log entry (the seed's Status column, plus Info).
//   Retrying: the first delivery attempt failed; the change is being retried.
//   Failed:   the change was given up (retries exhausted, or not retryable,
//             R52) and left the queue.
//   Resolved: a change logged as Retrying was delivered after all.
//   Info:     a notice about a change that was applied differently than
//             sent or deliberately not applied: a missing user replaced by
//             the owner (R37), a file over the size limit (R38), a user
//             without the .dr suffix (R71), a conflict resolved (both values
//             in the details). Nothing is pending for an Info entry.
enum class LogStatus : int {
  kRetrying = 1,
  kFailed = 2,
  kResolved = 3,
  kInfo = 4,
};

inline constexpr std::array<LogStatus, 4> kAllLogStatuses = {
    LogStatus::kRetrying, LogStatus::kFailed, LogStatus::kResolved,
    LogStatus::kInfo};

// "Retrying", "Failed", "Resolved", "Info".
const std::string& LogStatusName(LogStatus status);
[[nodiscard]] absl::StatusOr<LogStatus> ParseLogStatus(std::string_view name);

struct LogDetail {
  std::string key;
  std::string value;
  friend bool operator==(const LogDetail&, const LogDetail&) = default;
};

// A stored entry.
struct LogEntry {
  uint64_t event = 0;
  absl::Time time;
  RecordRef record;
  QueueAction action = QueueAction::kGenericUpdate;
  LogStatus status = LogStatus::kFailed;
  SyncErrorCode error = SyncErrorCode::kNone;
  std::string description;
  std::vector<LogDetail> details;
  uint64_t queue_sequence = 0;
  uint32_t attempts = 0;
};

// A query; every set field narrows it. `since` is inclusive, `until`
// exclusive. `record_id` requires `object`.
struct LogQuery {
  std::optional<absl::Time> since;
  std::optional<absl::Time> until;
  std::optional<std::string> object;
  std::optional<std::string> record_id;
  std::optional<LogStatus> status;
  std::optional<QueueAction> action;
  bool newest_first = true;
};

struct LogPage {
  std::vector<LogEntry> entries;
  // Pass to the next Query call (with the same query) for the next page;
  // empty when there is none.
  std::string next_page_token;
};

// The read-only view of a connection's log that a host gets from
// Connection::sync_log(): query, count and observe. Entries are written only
// by the connection (in the same atomic write as the queue change they
// explain), so a host cannot append or remove them.
class SyncLog {
 public:
  using Observer = std::function<void(const LogEntry&)>;
  using ObserverId = uint64_t;

  // The largest page a query returns.
  static constexpr size_t kMaxPageSize = 10000;

  virtual ~SyncLog() = default;
  SyncLog(const SyncLog&) = delete;
  SyncLog& operator=(const SyncLog&) = delete;

  virtual const std::string& connection_id() const = 0;

  // The entry with this event number; NotFound if there is none (never
  // appended, pruned, or not finished yet).
  [[nodiscard]] virtual absl::StatusOr<LogEntry> Get(uint64_t event) const = 0;

  // One page (1..kMaxPageSize entries) of the entries matching `query`.
  // InvalidArgument for a bad query, page size or page token.
  [[nodiscard]] virtual absl::StatusOr<LogPage> Query(
      const LogQuery& query, std::string_view page_token,
      size_t page_size) const = 0;
  // How many entries match `query` (reads index keys; reads entries only
  // when the query combines object/record with status or action, or status
  // with action).
  [[nodiscard]] virtual absl::StatusOr<uint64_t> Count(
      const LogQuery& query) const = 0;

  // The entries of the last 24 hours by the Clock, newest first, paged.
  [[nodiscard]] virtual absl::StatusOr<LogPage> Last24Hours(
      std::string_view page_token, size_t page_size) const = 0;
  [[nodiscard]] virtual absl::StatusOr<uint64_t> CountLast24Hours() const = 0;

  // Counts over the whole retained log, from memory (no storage reads);
  // the maps hold non-zero counts only.
  virtual uint64_t Count() const = 0;
  virtual std::map<QueueAction, uint64_t> CountByAction() const = 0;
  virtual std::map<LogStatus, uint64_t> CountByStatus() const = 0;

  // Registers an observer (the seed's log triggers, R54), called once for
  // every entry whose notification starts after this returns (every entry
  // appended from now on, and possibly one whose append is finishing right
  // now), after the entry is durable, in event order, never while an
  // internal lock is held: it may query the log. Returns a handle for
  // RemoveObserver; InvalidArgument if `observer` is empty.
  [[nodiscard]] virtual absl::StatusOr<ObserverId> AddObserver(
      Observer observer) = 0;
  // After it returns the observer is not called again and no call of it is
  // running on another thread (a call from inside the observer itself
  // returns at once). NotFound for an unknown handle.
  [[nodiscard]] virtual absl::Status RemoveObserver(ObserverId id) = 0;

 protected:
  SyncLog() = default;
};

}  // namespace orgsync

#endif  // ORGSYNC_SYNC_LOG_H_
