// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The state behind a DurableSyncLog, shared by the files that do its jobs:
// durable_sync_log.cc (open, append, observers, counts), log_queries.cc
// (reading entries by query and page) and log_retention.cc (pruning).
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

#ifndef ORGSYNC_LIB_LOG_SYNC_LOG_IMPL_H_
#define ORGSYNC_LIB_LOG_SYNC_LOG_IMPL_H_

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
#include "internal/pending_writes.h"
#include "log/durable_sync_log.h"
#include "log/log_codec.h"
#include "orgsync/internal/mutex.h"

namespace orgsync::internal {

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
    return events_.VisibleBound();
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
  // Event numbers handed out, and those whose append is being written.
  ReservedNumbers events_ ABSL_GUARDED_BY(mu_);
  int64_t last_time_micros_ ABSL_GUARDED_BY(mu_) =
      std::numeric_limits<int64_t>::min();
  // Every event below this is gone (pruned or never written): scans start
  // here instead of stepping over LevelDB tombstones of pruned keys.
  uint64_t first_event_hint_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t total_ ABSL_GUARDED_BY(mu_) = 0;
  std::array<uint64_t, kLogActionSlots> by_action_ ABSL_GUARDED_BY(mu_) = {};
  std::array<uint64_t, kLogStatusSlots> by_status_ ABSL_GUARDED_BY(mu_) = {};
  uint64_t appended_since_prune_ ABSL_GUARDED_BY(mu_) = 0;

  std::map<ObserverId, std::shared_ptr<const Observer>> observers_
      ABSL_GUARDED_BY(mu_);
  ObserverId next_observer_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, LogEntry> undelivered_ ABSL_GUARDED_BY(mu_);
  bool delivering_ ABSL_GUARDED_BY(mu_) = false;
  std::thread::id delivering_thread_ ABSL_GUARDED_BY(mu_);
  ObserverId running_observer_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_LOG_SYNC_LOG_IMPL_H_
