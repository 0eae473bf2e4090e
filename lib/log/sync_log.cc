// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// DurableSyncLog over a Storage. Key layout: lib/proto/log_state.proto.
//
// Event numbers are reserved under mu_ together with the entry time, which
// is clamped to be no earlier than the previous entry's: time order then
// equals event order, so a time range becomes an event range found by
// bisection over the entry keys, with no time index to maintain.
//
// Appends reserve numbers under mu_ and write outside it. Until an append
// finishes, its numbers are "in flight": readers only look below the lowest
// in-flight number (the visible bound), and observers are notified in event
// order as that bound moves, by whichever finishing thread finds nobody else
// delivering.

#include "log/durable_sync_log.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "internal/keys.h"
#include "internal/numbered_keys.h"
#include "internal/strings.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/status.h"
#include "proto/log_state.pb.h"

namespace orgsync::internal {
namespace {

constexpr size_t kPruneChunk = 1000;
constexpr size_t kActionSlots = kAllQueueActions.size() + 1;
constexpr size_t kStatusSlots = kAllLogStatuses.size() + 1;

bool ValidStatus(LogStatus status) {
  const int n = static_cast<int>(status);
  return n >= static_cast<int>(LogStatus::kRetrying) &&
         n <= static_cast<int>(LogStatus::kInfo);
}

bool ValidAction(QueueAction action) {
  return QueueActionFromNumber(static_cast<int>(action)).ok();
}

bool ValidError(SyncErrorCode code) {
  return SyncErrorCodeFromNumber(static_cast<int>(code)).ok();
}

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

std::string WithEvent(std::string prefix, uint64_t event) {
  AppendUint64(&prefix, event);
  return prefix;
}

proto::LogEntryState ToState(const LogEntry& entry) {
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

absl::StatusOr<LogEntry> DecodeEntry(uint64_t event, std::string_view value) {
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
  if (!action.ok() || !error.ok() || !ValidStatus(entry.status)) {
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

// Positions `it` on the last key before `target`, or invalid if none.
void SeekBefore(StorageIterator* it, std::string_view target) {
  it->Seek(target);
  if (it->Valid()) {
    it->Prev();
  } else {
    it->SeekToLast();
  }
}

bool Matches(const LogEntry& entry, const LogQuery& query) {
  if (query.object && entry.record.object != *query.object) return false;
  if (query.record_id && entry.record.id != *query.record_id) return false;
  if (query.status && entry.status != *query.status) return false;
  if (query.action && entry.action != *query.action) return false;
  return true;
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

absl::Status ValidateNewEntry(const NewLogEntry& entry, size_t index,
                              const SyncLogOptions& options) {
  if (!ValidAction(entry.action)) {
    return absl::InvalidArgumentError(
        absl::StrCat("sync log entry ", index, ": action ",
                     static_cast<int>(entry.action), " is not a queue action"));
  }
  if (!ValidStatus(entry.status)) {
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

}  // namespace

class DurableSyncLog::Impl {
 public:
  Impl(Storage* storage, Clock* clock, std::string connection_id,
       SyncLogOptions options)
      : storage_(storage),
        clock_(clock),
        connection_id_(std::move(connection_id)),
        options_(options),
        keys_(connection_id_) {}

  absl::Status Load();

  absl::StatusOr<std::vector<LogEntry>> Prepare(
      absl::Span<const NewLogEntry> entries, WriteBatch* batch);
  void Finish(std::vector<LogEntry> entries, const absl::Status& status);

  absl::StatusOr<LogEntry> Get(uint64_t event) const;
  absl::StatusOr<LogPage> Query(const LogQuery& query,
                                std::string_view page_token,
                                size_t page_size) const;
  absl::StatusOr<uint64_t> Count(const LogQuery& query) const;

  uint64_t size() const {
    MutexLock lock(&mu_);
    return total_;
  }
  std::map<QueueAction, uint64_t> CountByAction() const;
  std::map<LogStatus, uint64_t> CountByStatus() const;

  absl::StatusOr<ObserverId> AddObserver(Observer observer);
  absl::Status RemoveObserver(ObserverId id);

  absl::StatusOr<uint64_t> Prune() {
    MutexLock lock(&prune_mu_);
    return PruneLocked();
  }

  Storage* storage() const { return storage_; }
  Clock* clock() const { return clock_; }
  const std::string& connection_id() const { return connection_id_; }

 private:
  // How a query walks the storage: the keys starting with `prefix`, each
  // ending in an event number in [lo, hi).
  struct Plan {
    std::string prefix;
    bool primary = false;      // the keys are the entries themselves
    bool needs_entry = false;  // filters the index cannot answer
    uint64_t lo = 0;
    uint64_t hi = 0;
  };

  uint64_t VisibleBound() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return in_flight_.empty() ? next_event_ : in_flight_.begin()->first;
  }

  absl::StatusOr<Plan> MakePlan(const LogQuery& query,
                                const ReadOptions& read) const;
  absl::StatusOr<uint64_t> FirstEventAtOrAfter(absl::Time time, uint64_t lo,
                                               uint64_t hi,
                                               const ReadOptions& read) const;
  // Calls `visit(event, entry-or-null)` for matching events of `plan` in the
  // requested order, starting after `after` (exclusive), until it returns
  // false. The entry is null only when `want_entries` is false and the plan
  // needs no entry to decide.
  template <typename Visit>
  absl::Status Walk(const Plan& plan, const LogQuery& query,
                    std::optional<uint64_t> after, bool want_entries,
                    const ReadOptions& read, Visit visit) const;

  struct ObserverWait {
    const Impl* impl;
    ObserverId id;
    // Evaluated by Await with mu_ held.
    static bool Done(ObserverWait* wait) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return wait->impl->running_observer_ != wait->id;
    }
  };

  void Deliver();
  absl::StatusOr<uint64_t> PruneLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(prune_mu_);

  Storage* const storage_;
  Clock* const clock_;
  const std::string connection_id_;
  const SyncLogOptions options_;
  const LogKeys keys_;

  // Serializes prunes, so the high-water key is written in order. Taken
  // before mu_, never while holding it.
  Mutex prune_mu_;

  mutable Mutex mu_;
  uint64_t next_event_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t last_time_micros_ ABSL_GUARDED_BY(mu_) =
      std::numeric_limits<int64_t>::min();
  std::map<uint64_t, uint64_t> in_flight_ ABSL_GUARDED_BY(mu_);  // first->n
  // Every event below this is gone (pruned or never written): scans start
  // here instead of stepping over LevelDB tombstones of pruned keys.
  uint64_t first_event_hint_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t total_ ABSL_GUARDED_BY(mu_) = 0;
  std::array<uint64_t, kActionSlots> by_action_ ABSL_GUARDED_BY(mu_) = {};
  std::array<uint64_t, kStatusSlots> by_status_ ABSL_GUARDED_BY(mu_) = {};
  uint64_t appended_since_prune_ ABSL_GUARDED_BY(mu_) = 0;

  std::map<ObserverId, std::shared_ptr<const Observer>> observers_
      ABSL_GUARDED_BY(mu_);
  ObserverId next_observer_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, LogEntry> undelivered_ ABSL_GUARDED_BY(mu_);
  bool delivering_ ABSL_GUARDED_BY(mu_) = false;
  std::thread::id delivering_thread_ ABSL_GUARDED_BY(mu_);
  ObserverId running_observer_ ABSL_GUARDED_BY(mu_) = 0;
};

absl::Status DurableSyncLog::Impl::Load() {
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator({}));
  uint64_t total = 0;
  std::array<uint64_t, kStatusSlots> by_status = {};
  std::array<uint64_t, kActionSlots> by_action = {};
  // The status and action indexes are small keys: counting them is much
  // cheaper than reading every entry.
  const std::string status_root = keys_.StatusRoot();
  for (it->Seek(status_root); it->Valid() && StartsWith(it->key(), status_root);
       it->Next()) {
    const std::string_view rest = it->key().substr(status_root.size());
    const auto status = static_cast<LogStatus>(rest.empty() ? 0 : rest[0]);
    if (rest.size() != 1 + kUint64KeyBytes || !ValidStatus(status)) {
      return absl::DataLossError("malformed sync log status index key");
    }
    ++by_status[static_cast<size_t>(status)];
    ++total;
  }
  const std::string action_root = keys_.ActionRoot();
  for (it->Seek(action_root); it->Valid() && StartsWith(it->key(), action_root);
       it->Next()) {
    const std::string_view rest = it->key().substr(action_root.size());
    const auto action = static_cast<QueueAction>(rest.empty() ? 0 : rest[0]);
    if (rest.size() != 1 + kUint64KeyBytes || !ValidAction(action)) {
      return absl::DataLossError("malformed sync log action index key");
    }
    ++by_action[static_cast<size_t>(action)];
  }

  const std::string entry_prefix = keys_.EntryPrefix();
  uint64_t first = 0;
  uint64_t last = 0;
  int64_t last_time = std::numeric_limits<int64_t>::min();
  it->Seek(entry_prefix);
  if (it->Valid() && StartsWith(it->key(), entry_prefix)) {
    ORGSYNC_ASSIGN_OR_RETURN(first,
                             EventFromKey(it->key(), entry_prefix.size()));
    SeekBefore(it.get(), PrefixSuccessor(entry_prefix));
    ORGSYNC_ASSIGN_OR_RETURN(last,
                             EventFromKey(it->key(), entry_prefix.size()));
    ORGSYNC_ASSIGN_OR_RETURN(LogEntry entry, DecodeEntry(last, it->value()));
    last_time = absl::ToUnixMicros(entry.time);
  }
  ORGSYNC_RETURN_IF_ERROR(it->status());
  it.reset();

  uint64_t high_water = 0;
  absl::StatusOr<std::string> stored = storage_->Get(keys_.HighWater());
  if (stored.ok()) {
    if (!DecodeUint64(*stored, &high_water)) {
      return absl::DataLossError("malformed sync log high-water mark");
    }
  } else if (!absl::IsNotFound(stored.status())) {
    return stored.status();
  }

  MutexLock lock(&mu_);
  next_event_ = std::max(last, high_water) + 1;
  first_event_hint_ = first != 0 ? first : next_event_;
  last_time_micros_ = last_time;
  total_ = total;
  by_status_ = by_status;
  by_action_ = by_action;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LogEntry>> DurableSyncLog::Impl::Prepare(
    absl::Span<const NewLogEntry> entries, WriteBatch* batch) {
  if (batch == nullptr) {
    return absl::InvalidArgumentError("PrepareAppend needs a batch");
  }
  if (entries.empty()) {
    return absl::InvalidArgumentError("no sync log entries to append");
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    ORGSYNC_RETURN_IF_ERROR(ValidateNewEntry(entries[i], i, options_));
  }
  const int64_t now = absl::ToUnixMicros(clock_->Now());
  uint64_t first = 0;
  int64_t time = 0;
  {
    MutexLock lock(&mu_);
    first = next_event_;
    next_event_ += entries.size();
    time = std::max(now, last_time_micros_);
    last_time_micros_ = time;
    in_flight_.emplace(first, entries.size());
  }
  std::vector<LogEntry> staged;
  staged.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const NewLogEntry& in = entries[i];
    LogEntry entry;
    entry.event = first + i;
    entry.time = absl::FromUnixMicros(time);
    entry.record = in.record;
    entry.action = in.action;
    entry.status = in.status;
    entry.error = in.error;
    entry.description = in.description;
    entry.details = in.details;
    entry.queue_sequence = in.queue_sequence;
    entry.attempts = in.attempts;
    batch->Put(keys_.Entry(entry.event), ToState(entry).SerializeAsString());
    for (std::string& prefix : keys_.IndexPrefixes(entry)) {
      batch->Put(WithEvent(std::move(prefix), entry.event), "");
    }
    staged.push_back(std::move(entry));
  }
  return staged;
}

void DurableSyncLog::Impl::Finish(std::vector<LogEntry> entries,
                           const absl::Status& status) {
  if (entries.empty()) return;
  bool prune_due = false;
  {
    MutexLock lock(&mu_);
    in_flight_.erase(entries.front().event);
    if (status.ok()) {
      total_ += entries.size();
      for (LogEntry& entry : entries) {
        ++by_action_[static_cast<size_t>(entry.action)];
        ++by_status_[static_cast<size_t>(entry.status)];
        const uint64_t event = entry.event;
        undelivered_.emplace(event, std::move(entry));
      }
      appended_since_prune_ += entries.size();
      prune_due =
          options_.prune_every > 0 &&
          appended_since_prune_ >= options_.prune_every &&
          (options_.max_entries > 0 || options_.max_age > absl::ZeroDuration());
    }
  }
  // Even a failed write can unblock later entries waiting behind its numbers.
  Deliver();
  if (prune_due && prune_mu_.TryLock()) {
    // A failed automatic prune is retried at the next trigger.
    if (PruneLocked().ok()) {
      MutexLock lock(&mu_);
      appended_since_prune_ = 0;
    }
    prune_mu_.Unlock();
  }
}

void DurableSyncLog::Impl::Deliver() {
  MutexLock lock(&mu_);
  if (delivering_) return;  // that thread will deliver ours too
  delivering_ = true;
  delivering_thread_ = std::this_thread::get_id();
  while (!undelivered_.empty() &&
         undelivered_.begin()->first < VisibleBound()) {
    const LogEntry entry = std::move(undelivered_.begin()->second);
    undelivered_.erase(undelivered_.begin());
    // Walk the observers by id so that one added or removed while we are
    // unlocked is handled without invalidating anything.
    ObserverId last = 0;
    for (auto it = observers_.upper_bound(last); it != observers_.end();
         it = observers_.upper_bound(last)) {
      last = it->first;
      const std::shared_ptr<const Observer> observer = it->second;
      running_observer_ = last;
      mu_.Unlock();
      (*observer)(entry);
      mu_.Lock();
      running_observer_ = 0;
    }
  }
  delivering_ = false;
  delivering_thread_ = std::thread::id();
}

absl::StatusOr<SyncLog::ObserverId> DurableSyncLog::Impl::AddObserver(
    Observer observer) {
  if (!observer) {
    return absl::InvalidArgumentError("a sync log observer must not be empty");
  }
  MutexLock lock(&mu_);
  const ObserverId id = next_observer_id_++;
  observers_.emplace(id, std::make_shared<const Observer>(std::move(observer)));
  return id;
}

absl::Status DurableSyncLog::Impl::RemoveObserver(ObserverId id) {
  MutexLock lock(&mu_);
  if (observers_.erase(id) == 0) {
    return absl::NotFoundError(absl::StrCat("no sync log observer ", id));
  }
  if (delivering_ && delivering_thread_ != std::this_thread::get_id()) {
    // Wait until the delivering thread is no longer inside this observer.
    ObserverWait wait{this, id};
    mu_.Await([&wait] { return ObserverWait::Done(&wait); });
  }
  return absl::OkStatus();
}

std::map<QueueAction, uint64_t> DurableSyncLog::Impl::CountByAction() const {
  MutexLock lock(&mu_);
  std::map<QueueAction, uint64_t> counts;
  for (QueueAction action : kAllQueueActions) {
    const uint64_t n = by_action_[static_cast<size_t>(action)];
    if (n > 0) counts[action] = n;
  }
  return counts;
}

std::map<LogStatus, uint64_t> DurableSyncLog::Impl::CountByStatus() const {
  MutexLock lock(&mu_);
  std::map<LogStatus, uint64_t> counts;
  for (LogStatus status : kAllLogStatuses) {
    const uint64_t n = by_status_[static_cast<size_t>(status)];
    if (n > 0) counts[status] = n;
  }
  return counts;
}

absl::StatusOr<LogEntry> DurableSyncLog::Impl::Get(uint64_t event) const {
  {
    MutexLock lock(&mu_);
    if (event == 0 || event >= VisibleBound()) {
      return absl::NotFoundError(absl::StrCat("no sync log entry ", event));
    }
  }
  absl::StatusOr<std::string> value = storage_->Get(keys_.Entry(event));
  if (absl::IsNotFound(value.status())) {
    return absl::NotFoundError(absl::StrCat("no sync log entry ", event));
  }
  ORGSYNC_RETURN_IF_ERROR(value.status());
  return DecodeEntry(event, *value);
}

absl::StatusOr<uint64_t> DurableSyncLog::Impl::FirstEventAtOrAfter(
    absl::Time time, uint64_t lo, uint64_t hi, const ReadOptions& read) const {
  // Invariant: existing events below lo are earlier than `time`; existing
  // events at or above hi are not (or are out of range). Times grow with
  // event numbers, so bisection over the entry keys finds the boundary.
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator(read));
  const std::string prefix = keys_.EntryPrefix();
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    it->Seek(keys_.Entry(mid));
    if (!it->Valid() || !StartsWith(it->key(), prefix)) {
      hi = mid;
      continue;
    }
    ORGSYNC_ASSIGN_OR_RETURN(uint64_t found,
                             EventFromKey(it->key(), prefix.size()));
    if (found >= hi) {
      hi = mid;
      continue;
    }
    ORGSYNC_ASSIGN_OR_RETURN(LogEntry entry, DecodeEntry(found, it->value()));
    if (entry.time >= time) {
      hi = mid;  // nothing exists in [mid, found)
    } else {
      lo = found + 1;
    }
  }
  ORGSYNC_RETURN_IF_ERROR(it->status());
  return lo;
}

absl::StatusOr<DurableSyncLog::Impl::Plan> DurableSyncLog::Impl::MakePlan(
    const LogQuery& query, const ReadOptions& read) const {
  if (query.record_id && !query.object) {
    return absl::InvalidArgumentError(
        "a sync log query by record id needs the record's object");
  }
  if (query.status && !ValidStatus(*query.status)) {
    return absl::InvalidArgumentError(
        absl::StrCat("query status ", static_cast<int>(*query.status),
                     " is not a log status"));
  }
  if (query.action && !ValidAction(*query.action)) {
    return absl::InvalidArgumentError(
        absl::StrCat("query action ", static_cast<int>(*query.action),
                     " is not a queue action"));
  }
  if (query.since && query.until && *query.since > *query.until) {
    return absl::InvalidArgumentError(
        "sync log query: 'since' is later than 'until'");
  }
  Plan plan;
  uint64_t status_count = 0;
  uint64_t action_count = 0;
  {
    MutexLock lock(&mu_);
    plan.lo = first_event_hint_;
    plan.hi = VisibleBound();
    if (query.status)
      status_count = by_status_[static_cast<size_t>(*query.status)];
    if (query.action)
      action_count = by_action_[static_cast<size_t>(*query.action)];
  }
  if (query.since) {
    ORGSYNC_ASSIGN_OR_RETURN(
        plan.lo, FirstEventAtOrAfter(*query.since, plan.lo, plan.hi, read));
  }
  if (query.until) {
    ORGSYNC_ASSIGN_OR_RETURN(
        plan.hi, FirstEventAtOrAfter(*query.until, plan.lo, plan.hi, read));
  }
  // The most selective index that the query pins down; the rest of the
  // query is checked on the entry.
  if (query.record_id) {
    plan.prefix = keys_.RecordPrefix(*query.object, *query.record_id);
    plan.needs_entry = query.status || query.action;
  } else if (query.object) {
    plan.prefix = keys_.ObjectPrefix(*query.object);
    plan.needs_entry = query.status || query.action;
  } else if (query.status && (!query.action || status_count <= action_count)) {
    plan.prefix = keys_.StatusPrefix(*query.status);
    plan.needs_entry = query.action.has_value();
  } else if (query.action) {
    plan.prefix = keys_.ActionPrefix(*query.action);
    plan.needs_entry = query.status.has_value();
  } else {
    plan.prefix = keys_.EntryPrefix();
    plan.primary = true;
  }
  return plan;
}

template <typename Visit>
absl::Status DurableSyncLog::Impl::Walk(const Plan& plan, const LogQuery& query,
                                 std::optional<uint64_t> after,
                                 bool want_entries, const ReadOptions& read,
                                 Visit visit) const {
  uint64_t lo = plan.lo;
  uint64_t hi = plan.hi;
  if (after) {
    if (query.newest_first) {
      hi = std::min(hi, *after);
    } else if (*after >= hi) {
      return absl::OkStatus();
    } else {
      lo = std::max(lo, *after + 1);
    }
  }
  if (lo >= hi) return absl::OkStatus();
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator(read));
  if (query.newest_first) {
    SeekBefore(it.get(), WithEvent(plan.prefix, hi));
  } else {
    it->Seek(WithEvent(plan.prefix, lo));
  }
  for (; it->Valid() && StartsWith(it->key(), plan.prefix);
       query.newest_first ? it->Prev() : it->Next()) {
    ORGSYNC_ASSIGN_OR_RETURN(uint64_t event,
                             EventFromKey(it->key(), plan.prefix.size()));
    if (event < lo || event >= hi) break;
    std::optional<LogEntry> entry;
    if (plan.primary && (want_entries || plan.needs_entry)) {
      ORGSYNC_ASSIGN_OR_RETURN(entry, DecodeEntry(event, it->value()));
    } else if (want_entries || plan.needs_entry) {
      absl::StatusOr<std::string> value =
          storage_->Get(keys_.Entry(event), read);
      if (absl::IsNotFound(value.status())) {
        return absl::DataLossError(absl::StrCat("sync log index names entry ",
                                                event, ", which is missing"));
      }
      ORGSYNC_RETURN_IF_ERROR(value.status());
      ORGSYNC_ASSIGN_OR_RETURN(entry, DecodeEntry(event, *value));
    }
    if (entry && !Matches(*entry, query)) continue;
    if (!visit(event, entry ? &*entry : nullptr)) break;
  }
  return it->status();
}

absl::StatusOr<LogPage> DurableSyncLog::Impl::Query(const LogQuery& query,
                                             std::string_view page_token,
                                             size_t page_size) const {
  if (page_size == 0 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sync log page size ", page_size, " is not in 1..", kMaxPageSize));
  }
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<uint64_t> after,
                           ParseEventToken(page_token));
  // One snapshot for the bisection, the index and the entries, so a
  // concurrent prune cannot leave an index key without its entry.
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<const Snapshot> snapshot,
                           storage_->GetSnapshot());
  const ReadOptions read{.snapshot = snapshot.get()};
  ORGSYNC_ASSIGN_OR_RETURN(Plan plan, MakePlan(query, read));
  LogPage page;
  bool more = false;
  ORGSYNC_RETURN_IF_ERROR(Walk(plan, query, after, /*want_entries=*/true, read,
                               [&](uint64_t, const LogEntry* entry) {
                                 if (page.entries.size() == page_size) {
                                   more = true;
                                   return false;
                                 }
                                 page.entries.push_back(*entry);
                                 return true;
                               }));
  if (more) page.next_page_token = EventToken(page.entries.back().event);
  return page;
}

absl::StatusOr<uint64_t> DurableSyncLog::Impl::Count(const LogQuery& query) const {
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<const Snapshot> snapshot,
                           storage_->GetSnapshot());
  const ReadOptions read{.snapshot = snapshot.get()};
  ORGSYNC_ASSIGN_OR_RETURN(Plan plan, MakePlan(query, read));
  uint64_t count = 0;
  ORGSYNC_RETURN_IF_ERROR(Walk(plan, query, std::nullopt,
                               /*want_entries=*/false, read,
                               [&](uint64_t, const LogEntry*) {
                                 ++count;
                                 return true;
                               }));
  return count;
}

absl::StatusOr<uint64_t> DurableSyncLog::Impl::PruneLocked() {
  const bool by_age = options_.max_age > absl::ZeroDuration();
  if (!by_age && options_.max_entries == 0) return 0;
  const absl::Time cutoff =
      by_age ? clock_->Now() - options_.max_age : absl::InfinitePast();
  const std::string entry_prefix = keys_.EntryPrefix();
  uint64_t removed = 0;
  while (true) {
    uint64_t start = 0;
    uint64_t bound = 0;
    uint64_t excess = 0;
    {
      MutexLock lock(&mu_);
      start = first_event_hint_;
      bound = VisibleBound();
      if (options_.max_entries > 0 && total_ > options_.max_entries) {
        excess = total_ - options_.max_entries;
      }
    }
    // Collect one chunk with a short-lived iterator (an open iterator would
    // make the memory storage copy its map on our write).
    WriteBatch batch;
    std::vector<LogEntry> doomed;
    {
      ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                               storage_->NewIterator({}));
      for (it->Seek(keys_.Entry(start));
           it->Valid() && StartsWith(it->key(), entry_prefix) &&
           doomed.size() < kPruneChunk;
           it->Next()) {
        ORGSYNC_ASSIGN_OR_RETURN(uint64_t event,
                                 EventFromKey(it->key(), entry_prefix.size()));
        if (event >= bound) break;
        ORGSYNC_ASSIGN_OR_RETURN(LogEntry entry,
                                 DecodeEntry(event, it->value()));
        // Entries are in time order, so the first one kept ends the prune.
        if (doomed.size() >= excess && entry.time >= cutoff) break;
        batch.Delete(it->key());
        for (std::string& prefix : keys_.IndexPrefixes(entry)) {
          batch.Delete(WithEvent(std::move(prefix), event));
        }
        doomed.push_back(std::move(entry));
      }
      ORGSYNC_RETURN_IF_ERROR(it->status());
    }
    if (doomed.empty()) break;
    const uint64_t last = doomed.back().event;
    batch.Put(keys_.HighWater(), EncodeUint64(last));
    ORGSYNC_RETURN_IF_ERROR(storage_->Write(batch, {.sync = true}));
    {
      MutexLock lock(&mu_);
      total_ -= doomed.size();
      for (const LogEntry& entry : doomed) {
        --by_action_[static_cast<size_t>(entry.action)];
        --by_status_[static_cast<size_t>(entry.status)];
      }
      first_event_hint_ = std::max(first_event_hint_, last + 1);
    }
    removed += doomed.size();
    if (doomed.size() < kPruneChunk) break;
  }
  return removed;
}

// ---- SyncLog ----

DurableSyncLog::PendingAppend::PendingAppend(PendingAppend&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      entries_(std::move(other.entries_)) {}

DurableSyncLog::PendingAppend& DurableSyncLog::PendingAppend::operator=(
    PendingAppend&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
    entries_ = std::move(other.entries_);
  }
  return *this;
}

DurableSyncLog::PendingAppend::~PendingAppend() { Release(); }

void DurableSyncLog::PendingAppend::Release() {
  if (owner_ != nullptr) {
    std::exchange(owner_, nullptr)->Abandon(entries_);
  }
}

std::vector<uint64_t> DurableSyncLog::PendingAppend::events() const {
  std::vector<uint64_t> events;
  events.reserve(entries_.size());
  for (const LogEntry& entry : entries_) events.push_back(entry.event);
  return events;
}

DurableSyncLog::DurableSyncLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DurableSyncLog::~DurableSyncLog() = default;

absl::StatusOr<std::unique_ptr<DurableSyncLog>> DurableSyncLog::Open(
    Storage* storage, Clock* clock, std::string connection_id,
    SyncLogOptions options) {
  if (storage == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError(
        "DurableSyncLog::Open needs a storage and a clock");
  }
  ORGSYNC_RETURN_IF_ERROR(
      ValidateScopeId(connection_id, "sync log connection id"));
  if (options.max_text_bytes == 0) {
    return absl::InvalidArgumentError(
        "SyncLogOptions.max_text_bytes must be positive");
  }
  auto impl =
      std::make_unique<Impl>(storage, clock, std::move(connection_id), options);
  ORGSYNC_RETURN_IF_ERROR(Annotate(
      impl->Load(),
      absl::StrCat("opening the sync log of '", impl->connection_id(), "'")));
  return std::unique_ptr<DurableSyncLog>(new DurableSyncLog(std::move(impl)));
}

const std::string& DurableSyncLog::connection_id() const {
  return impl_->connection_id();
}

absl::StatusOr<std::vector<uint64_t>> DurableSyncLog::Append(
    absl::Span<const NewLogEntry> entries) {
  WriteBatch batch;
  ORGSYNC_ASSIGN_OR_RETURN(PendingAppend pending,
                           PrepareAppend(entries, &batch));
  std::vector<uint64_t> events = pending.events();
  const absl::Status written = impl_->storage()->Write(batch, {.sync = true});
  FinishAppend(std::move(pending), written);
  ORGSYNC_RETURN_IF_ERROR(written);
  return events;
}

absl::StatusOr<uint64_t> DurableSyncLog::Append(const NewLogEntry& entry) {
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<uint64_t> events,
                           Append(absl::MakeConstSpan(&entry, 1)));
  return events.front();
}

absl::StatusOr<DurableSyncLog::PendingAppend> DurableSyncLog::PrepareAppend(
    absl::Span<const NewLogEntry> entries, WriteBatch* batch) {
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<LogEntry> staged,
                           impl_->Prepare(entries, batch));
  PendingAppend pending;
  pending.owner_ = this;
  pending.entries_ = std::move(staged);
  return pending;
}

void DurableSyncLog::FinishAppend(PendingAppend pending,
                           const absl::Status& write_status) {
  DurableSyncLog* owner = std::exchange(pending.owner_, nullptr);
  if (owner == nullptr) return;  // already finished (moved from)
  owner->impl_->Finish(std::move(pending.entries_), write_status);
}

void DurableSyncLog::Abandon(std::vector<LogEntry>& entries) {
  impl_->Finish(std::move(entries),
                absl::AbortedError("sync log append abandoned"));
}

absl::StatusOr<LogEntry> DurableSyncLog::Get(uint64_t event) const {
  return impl_->Get(event);
}

absl::StatusOr<LogPage> DurableSyncLog::Query(const LogQuery& query,
                                       std::string_view page_token,
                                       size_t page_size) const {
  return impl_->Query(query, page_token, page_size);
}

absl::StatusOr<uint64_t> DurableSyncLog::Count(const LogQuery& query) const {
  return impl_->Count(query);
}

namespace {
LogQuery LastDay(Clock* clock) {
  LogQuery query;
  query.since = clock->Now() - absl::Hours(24);
  query.newest_first = true;
  return query;
}
}  // namespace

absl::StatusOr<LogPage> DurableSyncLog::Last24Hours(std::string_view page_token,
                                             size_t page_size) const {
  return impl_->Query(LastDay(impl_->clock()), page_token, page_size);
}

absl::StatusOr<uint64_t> DurableSyncLog::CountLast24Hours() const {
  return impl_->Count(LastDay(impl_->clock()));
}

uint64_t DurableSyncLog::Count() const { return impl_->size(); }

std::map<QueueAction, uint64_t> DurableSyncLog::CountByAction() const {
  return impl_->CountByAction();
}

std::map<LogStatus, uint64_t> DurableSyncLog::CountByStatus() const {
  return impl_->CountByStatus();
}

absl::StatusOr<SyncLog::ObserverId> DurableSyncLog::AddObserver(Observer observer) {
  return impl_->AddObserver(std::move(observer));
}

absl::Status DurableSyncLog::RemoveObserver(ObserverId id) {
  return impl_->RemoveObserver(id);
}

absl::StatusOr<uint64_t> DurableSyncLog::Prune() { return impl_->Prune(); }

}  // namespace orgsync::internal
