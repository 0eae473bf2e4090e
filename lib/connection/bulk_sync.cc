// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Bulk sync (R60-R65; orgsync/bulk_sync.h), the connection's half: the run
// a host starts, its scan of the host's RecordStore from Step(), its
// progress, and its end. Which records get a Bulk Sync entry, and what such
// an entry sends, is the record path's (engine/bulk_copy.cc).
//
// One StoredBulkSync (key "c/<id>/bulk") holds the run: its options, the
// scan's position (object, last id read) and per object how many copies
// were queued, copied, failed, skipped and dropped. Every change of it is
// written in the batch of what it counts -- a page's queue entries, the
// answers that retire them -- so after a crash the counts match the queue
// exactly and the scan goes on from the last page written: nothing is
// queued twice, and nothing scanned is lost.
//
// The scan queues pages only while fewer than a window of the run's copies
// wait in the queue, so a bulk sync of millions of records keeps the queue
// short, live changes are not stuck behind it, and memory stays bounded.

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "connection/connection_impl.h"
#include "connection/connection_keys.h"
#include "orgsync/status.h"

namespace orgsync {

namespace {

template <typename Member>
uint64_t Sum(const std::vector<BulkSyncObjectProgress>& objects,
             Member member) {
  uint64_t total = 0;
  for (const BulkSyncObjectProgress& object : objects) total += object.*member;
  return total;
}

}  // namespace

uint64_t BulkSyncProgress::queued() const {
  return Sum(objects, &BulkSyncObjectProgress::queued);
}
uint64_t BulkSyncProgress::copied() const {
  return Sum(objects, &BulkSyncObjectProgress::copied);
}
uint64_t BulkSyncProgress::failed() const {
  return Sum(objects, &BulkSyncObjectProgress::failed);
}
uint64_t BulkSyncProgress::skipped() const {
  return Sum(objects, &BulkSyncObjectProgress::skipped);
}
uint64_t BulkSyncProgress::remaining() const {
  return Sum(objects, &BulkSyncObjectProgress::remaining);
}

namespace internal {
namespace {

// Records read per page of the scan: one envelope's worth of changes.
constexpr size_t kBulkPageRecords = 1000;
// Pages one Step() may queue, so that a Step stays short.
constexpr int kMaxBulkPagesPerStep = 8;

uint64_t RemainingOf(const proto::StoredBulkObject& object) {
  const uint64_t answered = object.copied() + object.failed() + object.dropped();
  return object.queued() > answered ? object.queued() - answered : 0;
}

uint64_t RemainingOf(const proto::StoredBulkSync& run) {
  uint64_t total = 0;
  for (const proto::StoredBulkObject& object : run.objects()) {
    total += RemainingOf(object);
  }
  return total;
}

bool Scanned(const proto::StoredBulkSync& run) {
  return std::all_of(
      run.objects().begin(), run.objects().end(),
      [](const proto::StoredBulkObject& object) { return object.scanned(); });
}

// A stored time where 0 means "not yet".
absl::Time TimeOrPast(int64_t micros) {
  return micros == 0 ? absl::InfinitePast() : absl::FromUnixMicros(micros);
}

BulkSyncProgress ToProgress(std::string_view connection_id,
                            const proto::StoredBulkSync& run) {
  BulkSyncProgress progress;
  progress.connection_id = std::string(connection_id);
  progress.run = run.run();
  progress.state =
      run.running() ? BulkSyncState::kRunning : BulkSyncState::kCompleted;
  progress.actor = run.actor();
  progress.started = absl::FromUnixMicros(run.started_micros());
  progress.finished = TimeOrPast(run.finished_micros());
  progress.cutoff = absl::FromUnixMicros(run.cutoff_micros());
  progress.max_records = run.max_records();
  for (const proto::StoredBulkObject& stored : run.objects()) {
    progress.objects.push_back(BulkSyncObjectProgress{
        .object = stored.object(),
        .queued = stored.queued(),
        .copied = stored.copied(),
        .failed = stored.failed(),
        .skipped = stored.skipped_unqueued() + stored.dropped(),
        .remaining = RemainingOf(stored),
        .scanned = stored.scanned()});
  }
  return progress;
}

// The run's entry for `object`, added (as scanned: it is not read itself)
// when its records are queued only as parents of others.
proto::StoredBulkObject* ObjectOf(proto::StoredBulkSync* run,
                                  std::string_view object) {
  for (proto::StoredBulkObject& stored : *run->mutable_objects()) {
    if (stored.object() == object) return &stored;
  }
  proto::StoredBulkObject* added = run->add_objects();
  added->set_object(std::string(object));
  added->set_scanned(true);
  added->set_parents_only(true);
  return added;
}

std::string AheadKey(std::string_view object, std::string_view id) {
  std::string key(object);
  key.push_back('\0');
  key.append(id);
  return key;
}

// Whether the scan, once past `scanned_to` in `scanning`, will still read
// `record`: its object is one the run reads and the scan has not passed
// it.
bool ScanWillRead(const proto::StoredBulkSync& run, const RecordRef& record,
                  std::string_view scanning, std::string_view scanned_to) {
  if (record.object == scanning) return record.id > scanned_to;
  for (const proto::StoredBulkObject& object : run.objects()) {
    if (object.object() == record.object) return !object.scanned();
  }
  return false;
}

// Moves the scan to the next object still to read ("" after none).
void AdvanceScan(proto::StoredBulkSync* run) {
  run->set_scan_after("");
  int next = static_cast<int>(run->scan_object());
  while (next < run->objects_size() && run->objects(next).scanned()) ++next;
  run->set_scan_object(static_cast<uint32_t>(next));
}

std::string DescribeRun(const proto::StoredBulkSync& run) {
  std::vector<std::string> objects;
  for (const proto::StoredBulkObject& object : run.objects()) {
    objects.push_back(object.object());
  }
  return fmt::format(
      "bulk sync {}: {}; records created or modified since {}{}", run.run(),
      absl::StrJoin(objects, ", "),
      absl::FormatTime(absl::FromUnixMicros(run.cutoff_micros()),
                       absl::UTCTimeZone()),
      run.max_records() == 0
          ? std::string()
          : fmt::format(", up to {} records", run.max_records()));
}

}  // namespace

absl::Status ConnectionImpl::LoadBulkSync() {
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                           storage_->GetIfPresent(BulkSyncKey(id_)));
  if (!bytes.has_value()) return absl::OkStatus();
  proto::StoredBulkSync run;
  if (!run.ParseFromString(*bytes) || run.run() == 0) {
    return absl::DataLossError(fmt::format(
        "connection {}: the stored bulk sync is unreadable", id_));
  }
  internal::MutexLock lock(&bulk_mu_);
  bulk_ = std::move(run);
  return absl::OkStatus();
}

absl::StatusOr<BulkSyncProgress> ConnectionImpl::StartBulkSync(
    const BulkSyncOptions& options) {
  const EventTeller tell(this);
  if (record_sync_ == nullptr) {
    return absl::FailedPreconditionError(fmt::format(
        "StartBulkSync on connection {}: the org has no RecordStore "
        "(OrgOptions.record_store), so it syncs no records",
        id_));
  }
  if (options.actor.empty() || options.actor.size() > kMaxHistoryTextBytes) {
    return absl::InvalidArgumentError(fmt::format(
        "StartBulkSync: the actor must be 1 to {} bytes, got {}",
        kMaxHistoryTextBytes, options.actor.size()));
  }
  const absl::Time now = StoredNow(*env_->clock);
  const absl::Time earliest = now - kMaxBulkSyncAge;
  const absl::Time cutoff =
      absl::FromUnixMicros(absl::ToUnixMicros(options.cutoff.value_or(earliest)));
  if (cutoff < earliest) {
    return absl::InvalidArgumentError(fmt::format(
        "StartBulkSync: the cutoff {} is earlier than one year before now "
        "({}); a bulk sync reaches back one year at most (R61)",
        absl::FormatTime(cutoff, absl::UTCTimeZone()),
        absl::FormatTime(earliest, absl::UTCTimeZone())));
  }
  if (cutoff > now) {
    return absl::InvalidArgumentError(fmt::format(
        "StartBulkSync: the cutoff {} is later than now ({})",
        absl::FormatTime(cutoff, absl::UTCTimeZone()),
        absl::FormatTime(now, absl::UTCTimeZone())));
  }
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<std::string> objects,
                           record_sync_->BulkSyncObjects(options.objects));
  proto::StoredBulkSync run;
  {
    internal::MutexLock lock(&mu_);
    if (!AcceptedLocked() || deactivated_) {
      return absl::FailedPreconditionError(fmt::format(
          "StartBulkSync on connection {}: the connection is {}; a bulk sync "
          "runs only once it is accepted and until it is deactivated",
          id_, ConnectionStatusName(StatusLocked())));
    }
    uint64_t last_run = 0;
    {
      internal::MutexLock bulk_lock(&bulk_mu_);
      if (bulk_.has_value() && bulk_->running()) {
        return absl::FailedPreconditionError(fmt::format(
            "StartBulkSync on connection {}: bulk sync {} (started {} by {}) "
            "is still running, {} of its {} queued copies remain{}; one bulk "
            "sync at a time (R63)",
            id_, bulk_->run(),
            absl::FormatTime(absl::FromUnixMicros(bulk_->started_micros()),
                             absl::UTCTimeZone()),
            bulk_->actor(), RemainingOf(*bulk_), bulk_->total_queued(),
            Scanned(*bulk_) ? "" : " and its scan goes on"));
      }
      if (bulk_.has_value()) last_run = bulk_->run();
    }
    run.set_run(last_run + 1);
    run.set_running(true);
    run.set_actor(options.actor);
    run.set_started_micros(absl::ToUnixMicros(now));
    run.set_cutoff_micros(absl::ToUnixMicros(cutoff));
    run.set_max_records(options.max_records);
    for (std::string& object : objects) {
      run.add_objects()->set_object(std::move(object));
    }
    proto::ConnectionState next = state_;
    WriteBatch batch;
    AddHistory(id_, now, HistoryEvent::kBulkSyncStarted, options.actor,
               DescribeRun(run), &next, &batch);
    batch.Put(BulkSyncKey(id_), run.SerializeAsString());
    ORGSYNC_RETURN_IF_ERROR(Commit(std::move(next), std::move(batch),
                                   std::nullopt));
    InstallBulkSync(run);
  }
  TellBulkProgress();
  return ToProgress(id_, run);
}

absl::StatusOr<std::optional<BulkSyncProgress>>
ConnectionImpl::BulkSyncStatus() const {
  internal::MutexLock lock(&bulk_mu_);
  if (!bulk_.has_value()) return std::nullopt;
  return ToProgress(id_, *bulk_);
}

void ConnectionImpl::InstallBulkSync(proto::StoredBulkSync run) {
  internal::MutexLock lock(&bulk_mu_);
  bulk_ = std::move(run);
}

absl::Status ConnectionImpl::QueueBulkCopiesIfDue() {
  if (record_sync_ == nullptr) return absl::OkStatus();
  std::optional<proto::StoredBulkSync> run;
  {
    internal::MutexLock lock(&bulk_mu_);
    run = bulk_;
  }
  if (!run.has_value() || !run->running()) return absl::OkStatus();
  {
    internal::MutexLock lock(&mu_);
    if (deactivated_) return absl::OkStatus();  // nothing goes any more
  }
  const size_t window =
      std::max(env_->delivery.max_in_flight * 2, kBulkPageRecords);
  const absl::Time cutoff = absl::FromUnixMicros(run->cutoff_micros());
  for (int pages = 0; pages < kMaxBulkPagesPerStep; ++pages) {
    if (Scanned(*run) || RemainingOf(*run) >= window) break;
    proto::StoredBulkSync next = *run;
    if (next.scan_object() >= static_cast<uint32_t>(next.objects_size()) ||
        next.objects(static_cast<int>(next.scan_object())).scanned()) {
      AdvanceScan(&next);
    }
    if (next.scan_object() >= static_cast<uint32_t>(next.objects_size())) {
      break;  // every object is marked scanned: nothing to read
    }
    const std::string object =
        next.objects(static_cast<int>(next.scan_object())).object();
    BulkCopies copies;
    // A parent the scan has read already (its own page came before) is
    // not queued again for its children: were its copy to fail, every
    // child would queue it once more.
    const std::string scan_after = next.scan_after();
    copies.read_already = [&next, &object, &scan_after,
                           cutoff](const Record& parent) {
      if (parent.audit.last_modified_date < cutoff) return false;
      if (parent.object == object) return parent.id <= scan_after;
      for (const proto::StoredBulkObject& each : next.objects()) {
        if (each.object() == parent.object) {
          return each.scanned() && !each.parents_only();
        }
      }
      return false;
    };
    bool stop = false;  // max_records reached
    RecordPage page;
    if (publish_set_->IsObjectPublished(object) &&
        publish_set_->IsPartnerSubscribed(object)) {
      ORGSYNC_ASSIGN_OR_RETURN(
          page, env_->record_store->ScanPage(object, cutoff, next.scan_after(),
                                             kBulkPageRecords));
    } else {
      // Unpublished (or unsubscribed) since the start: nothing more of it
      // is copied.
      page.end = true;
    }
    uint64_t skipped = 0;
    std::string last_read = next.scan_after();
    std::set<std::string> ahead(next.ahead().begin(), next.ahead().end());
    for (const Record& record : page.records) {
      // Queued already by this run, as the parent of a record read before
      // (in this page or an earlier one).
      if (copies.planned.contains(RecordRef{record.object, record.id}) ||
          ahead.erase(AheadKey(record.object, record.id)) > 0) {
        last_read = record.id;
        continue;
      }
      const size_t before = copies.entries.size();
      ORGSYNC_ASSIGN_OR_RETURN(const size_t planned,
                               record_sync_->PlanBulkCopy(record, &copies));
      if (run->max_records() != 0 &&
          next.total_queued() + copies.entries.size() > run->max_records()) {
        // R60, "up to N records": this record (with its parents) would
        // pass the limit; the run queues nothing more.
        for (size_t i = before; i < copies.entries.size(); ++i) {
          copies.planned.erase(copies.entries[i].record);
        }
        copies.entries.resize(before);
        copies.modified.resize(before);
        stop = true;
        break;
      }
      if (planned == 0) ++skipped;
      last_read = record.id;
    }
    proto::StoredBulkObject* scanned = ObjectOf(&next, object);
    scanned->set_skipped_unqueued(scanned->skipped_unqueued() + skipped);
    for (size_t i = 0; i < copies.entries.size(); ++i) {
      const RecordRef& queued = copies.entries[i].record;
      proto::StoredBulkObject* counted = ObjectOf(&next, queued.object);
      counted->set_queued(counted->queued() + 1);
      // A parent the scan will still meet in its own object.
      if (copies.modified[i] >= cutoff &&
          ScanWillRead(next, queued, object, page.resume_after)) {
        ahead.insert(AheadKey(queued.object, queued.id));
      }
    }
    next.clear_ahead();
    for (const std::string& key : ahead) next.add_ahead(key);
    next.set_total_queued(next.total_queued() + copies.entries.size());
    if (stop || (run->max_records() != 0 &&
                 next.total_queued() >= run->max_records())) {
      for (proto::StoredBulkObject& each : *next.mutable_objects()) {
        each.set_scanned(true);
      }
      next.set_scan_after(last_read);
    } else if (page.end) {
      ObjectOf(&next, object)->set_scanned(true);
      AdvanceScan(&next);
    } else {
      next.set_scan_after(page.resume_after);
    }
    WriteBatch batch;
    std::optional<DurableRecordQueue::PendingEnqueue> pending;
    if (!copies.entries.empty()) {
      ORGSYNC_ASSIGN_OR_RETURN(
          pending, record_queue_->PrepareEnqueue(copies.entries, &batch));
    }
    batch.Put(BulkSyncKey(id_), next.SerializeAsString());
    const absl::Status written =
        storage_->Write(batch, WriteOptions{.sync = true});
    if (pending.has_value()) {
      record_queue_->FinishEnqueue(std::move(*pending), written);
    }
    ORGSYNC_RETURN_IF_ERROR(Annotate(
        written, fmt::format("connection {}: queuing bulk sync copies", id_)));
    InstallBulkSync(next);
    run = std::move(next);
  }
  return CompleteBulkSyncIfDone();
}

absl::Status ConnectionImpl::CompleteBulkSyncIfDone() {
  std::optional<proto::StoredBulkSync> run;
  {
    internal::MutexLock lock(&bulk_mu_);
    run = bulk_;
  }
  if (!run.has_value() || !run->running() || !Scanned(*run) ||
      RemainingOf(*run) != 0) {
    return absl::OkStatus();
  }
  internal::MutexLock lock(&mu_);
  const absl::Time now = StoredNow(*env_->clock);
  run->set_running(false);
  run->clear_ahead();
  run->set_finished_micros(absl::ToUnixMicros(now));
  const BulkSyncProgress done = ToProgress(id_, *run);
  proto::ConnectionState next = state_;
  WriteBatch batch;
  AddHistory(id_, now, HistoryEvent::kBulkSyncCompleted, kSystemActor,
             fmt::format("bulk sync {}: {} copied, {} failed, {} skipped",
                         run->run(), done.copied(), done.failed(),
                         done.skipped()),
             &next, &batch);
  batch.Put(BulkSyncKey(id_), run->SerializeAsString());
  ORGSYNC_RETURN_IF_ERROR(Commit(std::move(next), std::move(batch),
                                 std::nullopt));
  InstallBulkSync(*std::move(run));
  return absl::OkStatus();
}

std::optional<proto::StoredBulkSync> ConnectionImpl::StageBulkAnswers(
    const BulkAnswers& answers, WriteBatch* batch) const {
  if (answers.empty()) return std::nullopt;
  std::optional<proto::StoredBulkSync> run;
  {
    internal::MutexLock lock(&bulk_mu_);
    run = bulk_;
  }
  if (!run.has_value() || !run->running()) return std::nullopt;
  auto count = [&](const std::map<std::string, uint64_t, std::less<>>& by,
                   auto getter, auto setter) {
    for (const auto& [object, n] : by) {
      proto::StoredBulkObject* stored = ObjectOf(&*run, object);
      (stored->*setter)((stored->*getter)() + n);
    }
  };
  count(answers.copied, &proto::StoredBulkObject::copied,
        &proto::StoredBulkObject::set_copied);
  count(answers.failed, &proto::StoredBulkObject::failed,
        &proto::StoredBulkObject::set_failed);
  count(answers.dropped, &proto::StoredBulkObject::dropped,
        &proto::StoredBulkObject::set_dropped);
  batch->Put(BulkSyncKey(id_), run->SerializeAsString());
  return run;
}

void ConnectionImpl::TellBulkProgress() {
  if (!env_->bulk_sync_progress) return;
  BulkSyncProgress progress;
  {
    internal::MutexLock lock(&bulk_mu_);
    if (!bulk_.has_value()) return;
    progress = ToProgress(id_, *bulk_);
    if (bulk_told_.has_value() && *bulk_told_ == progress) return;
    bulk_told_ = progress;
  }
  env_->bulk_sync_progress(progress);
}

}  // namespace internal
}  // namespace orgsync
