// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The sync log's queries: one entry, pages of entries matching a query and
// their counts. A query walks the narrowest index its filters allow and
// turns a time range into an event range by bisection (time order equals
// event order), so a narrow query does not read the whole log.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "internal/strings.h"
#include "log/sync_log_impl.h"
#include "orgsync/status.h"

namespace orgsync::internal {

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
  return DecodeLogEntry(event, *value);
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
    ORGSYNC_ASSIGN_OR_RETURN(LogEntry entry, DecodeLogEntry(found, it->value()));
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
  if (query.status && !ValidLogStatus(*query.status)) {
    return absl::InvalidArgumentError(
        absl::StrCat("query status ", static_cast<int>(*query.status),
                     " is not a log status"));
  }
  if (query.action && !ValidLogAction(*query.action)) {
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
      ORGSYNC_ASSIGN_OR_RETURN(entry, DecodeLogEntry(event, it->value()));
    } else if (want_entries || plan.needs_entry) {
      absl::StatusOr<std::string> value =
          storage_->Get(keys_.Entry(event), read);
      if (absl::IsNotFound(value.status())) {
        return absl::DataLossError(absl::StrCat("sync log index names entry ",
                                                event, ", which is missing"));
      }
      ORGSYNC_RETURN_IF_ERROR(value.status());
      ORGSYNC_ASSIGN_OR_RETURN(entry, DecodeLogEntry(event, *value));
    }
    if (entry && !MatchesLogQuery(*entry, query)) continue;
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

}  // namespace orgsync::internal
