// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// DurableSyncLog over a Storage: opening, appending (alone or staged into a
// caller's batch), notifying observers in event order, the in-memory
// counts, and the tokens. Key layout: lib/proto/log_state.proto; queries
// are in log_queries.cc, retention in log_retention.cc, encoding in
// log_codec.cc, and how appends and readers stay out of each other's way
// in sync_log_impl.h.

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

#include "absl/strings/str_cat.h"
#include "internal/strings.h"
#include "log/log_codec.h"
#include "log/sync_log_impl.h"
#include "orgsync/status.h"

namespace orgsync::internal {

absl::Status DurableSyncLog::Impl::Load() {
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator({}));
  uint64_t total = 0;
  std::array<uint64_t, kLogStatusSlots> by_status = {};
  std::array<uint64_t, kLogActionSlots> by_action = {};
  // The status and action indexes are small keys: counting them is much
  // cheaper than reading every entry.
  const std::string status_root = keys_.StatusRoot();
  for (it->Seek(status_root); it->Valid() && StartsWith(it->key(), status_root);
       it->Next()) {
    const std::string_view rest = it->key().substr(status_root.size());
    const auto status = static_cast<LogStatus>(rest.empty() ? 0 : rest[0]);
    if (rest.size() != 1 + kUint64KeyBytes || !ValidLogStatus(status)) {
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
    if (rest.size() != 1 + kUint64KeyBytes || !ValidLogAction(action)) {
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
    ORGSYNC_ASSIGN_OR_RETURN(LogEntry entry, DecodeLogEntry(last, it->value()));
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
  events_.set_next(std::max(last, high_water) + 1);
  first_event_hint_ = first != 0 ? first : events_.next();
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
    ORGSYNC_RETURN_IF_ERROR(ValidateNewLogEntry(entries[i], i, options_));
  }
  const int64_t now = absl::ToUnixMicros(clock_->Now());
  uint64_t first = 0;
  int64_t time = 0;
  {
    MutexLock lock(&mu_);
    first = events_.Reserve(entries.size());
    time = std::max(now, last_time_micros_);
    last_time_micros_ = time;
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
    batch->Put(keys_.Entry(entry.event), LogEntryToState(entry).SerializeAsString());
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
    events_.Finish(entries.front().event);
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

// ---- SyncLog ----

std::vector<uint64_t> DurableSyncLog::PendingAppend::events() const {
  std::vector<uint64_t> events;
  events.reserve(state().entries.size());
  for (const LogEntry& entry : state().entries) events.push_back(entry.event);
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
  return PendingAppend(this, AppendState{.entries = std::move(staged)});
}

void DurableSyncLog::FinishAppend(PendingAppend pending,
                           const absl::Status& write_status) {
  DurableSyncLog* owner = pending.Take();
  if (owner == nullptr) return;  // already finished (moved from)
  owner->impl_->Finish(std::move(pending.mutable_state().entries),
                       write_status);
}

void DurableSyncLog::Abandon(AppendState& state) {
  impl_->Finish(std::move(state.entries),
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
