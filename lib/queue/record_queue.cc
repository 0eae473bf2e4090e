// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// DurableRecordQueue over a Storage. Key layout: lib/proto/queue_state.proto.
//
// Concurrency. Producers reserve a range of sequence numbers under mu_ and
// write outside it; until FinishEnqueue the range is "in flight". Readers
// look only below the lowest in-flight number (the visible bound), which is
// what keeps FIFO order when writes complete out of order. Consumers claim
// the entries they change (busy_) under mu_, read and write outside it, and
// release them in Finish*: two changes of one entry cannot interleave, and
// no lock is held across a storage write.
//
// Sequence numbers survive restarts through the entry keys themselves (the
// newest key), plus a high-water key "h<seq>" written when a removal takes
// the newest committed entry away. Because several removals may be written
// in any order, each writes its own key and deletes only older ones it knows
// to be durable; Load takes the largest.

#include "queue/durable_record_queue.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "internal/keys.h"
#include "internal/numbered_keys.h"
#include "internal/strings.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/status.h"
#include "proto/queue_state.pb.h"

namespace orgsync::internal {
namespace {


constexpr size_t kQueueActionSlots = kAllQueueActions.size() + 1;

class QueueKeys {
 public:
  explicit QueueKeys(std::string_view connection_id)
      : prefix_(ScopePrefix('q', connection_id)) {}

  std::string EntryPrefix() const { return Tag('e'); }
  std::string Entry(uint64_t sequence) const {
    std::string key = EntryPrefix();
    AppendUint64(&key, sequence);
    return key;
  }
  std::string RecordPrefix(const RecordRef& record) const {
    std::string key = Tag('r');
    AppendOrderedString(&key, record.object);
    AppendOrderedString(&key, record.id);
    return key;
  }
  std::string RecordIndex(const RecordRef& record, uint64_t sequence) const {
    std::string key = RecordPrefix(record);
    AppendUint64(&key, sequence);
    return key;
  }
  std::string HighWaterPrefix() const { return Tag('h'); }
  std::string HighWater(uint64_t sequence) const {
    std::string key = HighWaterPrefix();
    AppendUint64(&key, sequence);
    return key;
  }

 private:
  std::string Tag(char tag) const {
    std::string key = prefix_;
    key.push_back(tag);
    return key;
  }

  std::string prefix_;
};

// The key that groups entries for per-record ordering.
std::string OrderKey(const RecordRef& record) {
  std::string key;
  AppendOrderedString(&key, record.object);
  AppendOrderedString(&key, record.id);
  return key;
}

proto::QueueEntryState ToState(const QueueEntry& entry) {
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

absl::Status ValidateRecord(const RecordRef& record, size_t max_bytes,
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

absl::Status ValidateNewEntry(const NewQueueEntry& entry, size_t index,
                              const RecordQueueOptions& options) {
  const std::string where = absl::StrCat("record queue entry ", index);
  if (!QueueActionFromNumber(static_cast<int>(entry.action)).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": action ", static_cast<int>(entry.action),
                     " is not a queue action"));
  }
  ORGSYNC_RETURN_IF_ERROR(
      ValidateRecord(entry.record, options.max_name_bytes, where));
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

}  // namespace

class DurableRecordQueue::Impl {
 public:
  // What a removal (acknowledge, or a failure that exhausts the entry)
  // stages beyond the deletes themselves.
  struct HighWaterChange {
    std::optional<uint64_t> added;
    std::vector<uint64_t> dropped;
  };

  Impl(Storage* storage, Clock* clock, std::string connection_id,
       RecordQueueOptions options)
      : storage_(storage),
        clock_(clock),
        connection_id_(std::move(connection_id)),
        options_(std::move(options)),
        keys_(connection_id_) {}

  absl::Status Load();

  absl::StatusOr<uint64_t> PrepareEnqueue(absl::Span<const NewQueueEntry> in,
                                          WriteBatch* batch);
  void FinishEnqueue(uint64_t first, absl::Span<const QueueAction> actions,
                     const absl::Status& status);

  // Marks `sequences` busy after checking they are queued, and reads them.
  absl::StatusOr<std::vector<QueueEntry>> Claim(
      absl::Span<const uint64_t> sequences);
  void Unclaim(absl::Span<const QueueEntry> entries);
  // Stages the removal of claimed `entries`.
  HighWaterChange StageRemoval(absl::Span<const QueueEntry> entries,
                               WriteBatch* batch);
  void FinishRemoval(absl::Span<const QueueEntry> entries,
                     const HighWaterChange& high_water,
                     const absl::Status& status);
  void StageUpdate(const QueueEntry& entry, WriteBatch* batch) {
    batch->Put(keys_.Entry(entry.sequence), ToState(entry).SerializeAsString());
  }

  absl::StatusOr<std::vector<QueueEntry>> Ready(absl::Time now, size_t limit,
                                                uint64_t after) const;
  absl::StatusOr<QueueEntry> Get(uint64_t sequence) const;
  absl::StatusOr<QueuePage> ListAfter(uint64_t after, size_t page_size) const;
  absl::StatusOr<std::optional<QueueEntry>> Oldest() const;
  absl::StatusOr<std::vector<uint64_t>> PendingSequences(
      const RecordRef& record, size_t limit) const;

  uint64_t Count() const {
    MutexLock lock(&mu_);
    return count_;
  }
  std::map<QueueAction, uint64_t> CountByAction() const;

  Storage* storage() const { return storage_; }
  Clock* clock() const { return clock_; }
  const std::string& connection_id() const { return connection_id_; }
  const RecordQueueOptions& options() const { return options_; }

 private:
  uint64_t VisibleBound() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return in_flight_.empty() ? next_sequence_ : in_flight_.begin()->first;
  }
  bool InFlight(uint64_t sequence) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = in_flight_.upper_bound(sequence);
    if (it == in_flight_.begin()) return false;
    --it;
    return sequence < it->first + it->second;
  }
  // Where scans start and where they must stop, read under mu_ BEFORE the
  // caller opens its iterator: every entry below `bound` was written (or
  // failed) before that, so the iterator sees it.
  std::pair<uint64_t, uint64_t> ScanWindow() const {
    MutexLock lock(&mu_);
    return {scan_start_, VisibleBound()};
  }
  // Records that no entry below `first_present` exists any more.
  void AdvanceScanStart(uint64_t first_present) const {
    MutexLock lock(&mu_);
    scan_start_ = std::max(scan_start_, first_present);
  }

  Storage* const storage_;
  Clock* const clock_;
  const std::string connection_id_;
  const RecordQueueOptions options_;
  const QueueKeys keys_;

  mutable Mutex mu_;
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, uint64_t> in_flight_ ABSL_GUARDED_BY(mu_);  // first->n
  absl::flat_hash_set<uint64_t> busy_ ABSL_GUARDED_BY(mu_);
  uint64_t count_ ABSL_GUARDED_BY(mu_) = 0;
  std::array<uint64_t, kQueueActionSlots> by_action_ ABSL_GUARDED_BY(mu_) = {};
  // The newest sequence of a finished enqueue (or restored at Load).
  uint64_t max_committed_ ABSL_GUARDED_BY(mu_) = 0;
  // High-water keys known durable; normally one.
  std::set<uint64_t> high_water_keys_ ABSL_GUARDED_BY(mu_);
  // Every entry below this is gone: scans seek here rather than to the start
  // of the prefix, stepping over no LevelDB tombstones of acknowledged
  // entries. Only a hint, hence mutable in const readers.
  mutable uint64_t scan_start_ ABSL_GUARDED_BY(mu_) = 1;
};

absl::Status DurableRecordQueue::Impl::Load() {
  uint64_t count = 0;
  std::array<uint64_t, kQueueActionSlots> by_action = {};
  uint64_t first = 0;
  uint64_t last = 0;
  std::set<uint64_t> high_water;
  {
    ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                             storage_->NewIterator({}));
    // The one full scan of the queue: counters are not persisted (see
    // record_queue.h), so they are rebuilt here.
    const std::string prefix = keys_.EntryPrefix();
    for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix);
         it->Next()) {
      ORGSYNC_ASSIGN_OR_RETURN(uint64_t sequence,
                               SequenceFromKey(it->key(), prefix.size()));
      proto::QueueEntryState state;
      const std::string_view value = it->value();
      if (!state.ParseFromArray(value.data(), static_cast<int>(value.size())) ||
          !QueueActionFromNumber(state.action()).ok()) {
        return absl::DataLossError(absl::StrCat("record queue entry ", sequence,
                                                " cannot be decoded"));
      }
      ++count;
      ++by_action[static_cast<size_t>(state.action())];
      if (first == 0) first = sequence;
      last = sequence;
    }
    const std::string hw_prefix = keys_.HighWaterPrefix();
    for (it->Seek(hw_prefix); it->Valid() && StartsWith(it->key(), hw_prefix);
         it->Next()) {
      ORGSYNC_ASSIGN_OR_RETURN(uint64_t sequence,
                               SequenceFromKey(it->key(), hw_prefix.size()));
      high_water.insert(sequence);
    }
    ORGSYNC_RETURN_IF_ERROR(it->status());
  }
  MutexLock lock(&mu_);
  const uint64_t newest_high_water =
      high_water.empty() ? 0 : *high_water.rbegin();
  next_sequence_ = std::max(last, newest_high_water) + 1;
  scan_start_ = first != 0 ? first : next_sequence_;
  max_committed_ = last;
  count_ = count;
  by_action_ = by_action;
  high_water_keys_ = std::move(high_water);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> DurableRecordQueue::Impl::PrepareEnqueue(
    absl::Span<const NewQueueEntry> in, WriteBatch* batch) {
  if (batch == nullptr) {
    return absl::InvalidArgumentError("PrepareEnqueue needs a batch");
  }
  if (in.empty()) {
    return absl::InvalidArgumentError("no record queue entries to enqueue");
  }
  for (size_t i = 0; i < in.size(); ++i) {
    ORGSYNC_RETURN_IF_ERROR(ValidateNewEntry(in[i], i, options_));
  }
  // Everything that can be done without a sequence number happens before
  // the lock, so the lock covers only the reservation.
  const absl::Time now = clock_->Now();
  std::vector<std::string> values;
  values.reserve(in.size());
  for (const NewQueueEntry& entry : in) {
    proto::QueueEntryState state;
    state.set_object(entry.record.object);
    state.set_record_id(entry.record.id);
    state.set_action(static_cast<proto::QueueAction>(entry.action));
    state.set_payload(entry.payload);
    state.set_barrier(entry.barrier);
    state.set_enqueued_micros(absl::ToUnixMicros(now));
    state.set_next_retry_micros(absl::ToUnixMicros(now));
    values.push_back(state.SerializeAsString());
  }
  uint64_t first = 0;
  {
    MutexLock lock(&mu_);
    first = next_sequence_;
    next_sequence_ += in.size();
    in_flight_.emplace(first, in.size());
  }
  for (size_t i = 0; i < in.size(); ++i) {
    batch->Put(keys_.Entry(first + i), values[i]);
    if (!in[i].record.empty()) {
      batch->Put(keys_.RecordIndex(in[i].record, first + i), "");
    }
  }
  return first;
}

void DurableRecordQueue::Impl::FinishEnqueue(uint64_t first,
                                      absl::Span<const QueueAction> actions,
                                      const absl::Status& status) {
  MutexLock lock(&mu_);
  in_flight_.erase(first);
  if (!status.ok()) return;
  count_ += actions.size();
  for (QueueAction action : actions) ++by_action_[static_cast<size_t>(action)];
  max_committed_ = std::max(max_committed_, first + actions.size() - 1);
}

absl::StatusOr<std::vector<QueueEntry>> DurableRecordQueue::Impl::Claim(
    absl::Span<const uint64_t> sequences) {
  if (sequences.empty()) {
    return absl::InvalidArgumentError("no record queue sequences given");
  }
  std::vector<uint64_t> sorted(sequences.begin(), sequences.end());
  std::sort(sorted.begin(), sorted.end());
  if (auto dup = std::adjacent_find(sorted.begin(), sorted.end());
      dup != sorted.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("record queue sequence ", *dup, " is given twice"));
  }
  {
    MutexLock lock(&mu_);
    for (uint64_t sequence : sequences) {
      if (sequence == 0 || sequence >= next_sequence_ || InFlight(sequence)) {
        return absl::NotFoundError(absl::StrCat(
            "no record queue entry ", sequence, " in '", connection_id_, "'"));
      }
      if (busy_.contains(sequence)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "record queue entry ", sequence,
            " already has an acknowledgement or failure in progress"));
      }
    }
    busy_.insert(sequences.begin(), sequences.end());
  }
  std::vector<QueueEntry> entries;
  entries.reserve(sequences.size());
  absl::Status status;
  for (uint64_t sequence : sequences) {
    absl::StatusOr<std::string> value = storage_->Get(keys_.Entry(sequence));
    if (absl::IsNotFound(value.status())) {
      status = absl::NotFoundError(absl::StrCat(
          "no record queue entry ", sequence, " in '", connection_id_, "'"));
      break;
    }
    if (!value.ok()) {
      status = value.status();
      break;
    }
    absl::StatusOr<QueueEntry> entry = DecodeQueueEntry(sequence, *value);
    if (!entry.ok()) {
      status = entry.status();
      break;
    }
    entries.push_back(*std::move(entry));
  }
  if (!status.ok()) {
    MutexLock lock(&mu_);
    for (uint64_t sequence : sequences) busy_.erase(sequence);
    return status;
  }
  return entries;
}

void DurableRecordQueue::Impl::Unclaim(absl::Span<const QueueEntry> entries) {
  MutexLock lock(&mu_);
  for (const QueueEntry& entry : entries) busy_.erase(entry.sequence);
}

DurableRecordQueue::Impl::HighWaterChange DurableRecordQueue::Impl::StageRemoval(
    absl::Span<const QueueEntry> entries, WriteBatch* batch) {
  uint64_t newest = 0;
  for (const QueueEntry& entry : entries) {
    batch->Delete(keys_.Entry(entry.sequence));
    if (!entry.record.empty()) {
      batch->Delete(keys_.RecordIndex(entry.record, entry.sequence));
    }
    newest = std::max(newest, entry.sequence);
  }
  HighWaterChange change;
  {
    MutexLock lock(&mu_);
    // Only removing the newest committed entry can lose the newest number;
    // any newer entry still holds it in its own key.
    if (newest < max_committed_) return change;
    change.added = newest;
    for (uint64_t old : high_water_keys_) {
      if (old < newest) change.dropped.push_back(old);
    }
  }
  batch->Put(keys_.HighWater(newest), "");
  for (uint64_t old : change.dropped) batch->Delete(keys_.HighWater(old));
  return change;
}

void DurableRecordQueue::Impl::FinishRemoval(absl::Span<const QueueEntry> entries,
                                      const HighWaterChange& high_water,
                                      const absl::Status& status) {
  MutexLock lock(&mu_);
  for (const QueueEntry& entry : entries) busy_.erase(entry.sequence);
  if (!status.ok()) return;
  count_ -= entries.size();
  for (const QueueEntry& entry : entries) {
    --by_action_[static_cast<size_t>(entry.action)];
  }
  if (high_water.added) {
    high_water_keys_.insert(*high_water.added);
    for (uint64_t old : high_water.dropped) high_water_keys_.erase(old);
  }
  // A consumer draining in order removes the head: move the scan start past
  // it now, so the next scan does not step over the fresh tombstones.
  std::vector<uint64_t> removed;
  removed.reserve(entries.size());
  for (const QueueEntry& entry : entries) removed.push_back(entry.sequence);
  std::sort(removed.begin(), removed.end());
  for (auto it = std::lower_bound(removed.begin(), removed.end(), scan_start_);
       it != removed.end() && *it == scan_start_; ++it) {
    ++scan_start_;
  }
}

absl::StatusOr<std::vector<QueueEntry>> DurableRecordQueue::Impl::Ready(
    absl::Time now, size_t limit, uint64_t after) const {
  if (limit == 0) {
    return absl::InvalidArgumentError("Ready needs a limit of at least 1");
  }
  const auto [start, bound] = ScanWindow();
  std::vector<QueueEntry> ready;
  std::optional<uint64_t> first_present;
  {
    ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                             storage_->NewIterator({}));
    const std::string prefix = keys_.EntryPrefix();
    // Records with an entry waiting for its retry: their later entries wait
    // too. Bounded by the scan limit.
    absl::flat_hash_set<std::string> held;
    // Barriers: whether a record entry was examined (queued before what
    // comes next), and whether a barrier was met (nothing after it goes).
    bool record_before = false;
    bool fenced = false;
    size_t examined = 0;
    for (it->Seek(keys_.Entry(start));
         it->Valid() && StartsWith(it->key(), prefix); it->Next()) {
      ORGSYNC_ASSIGN_OR_RETURN(uint64_t sequence,
                               SequenceFromKey(it->key(), prefix.size()));
      if (sequence >= bound) break;
      if (!first_present) first_present = sequence;
      if (++examined > options_.ready_scan_limit) break;
      ORGSYNC_ASSIGN_OR_RETURN(QueueEntry entry,
                               DecodeQueueEntry(sequence, it->value()));
      const std::string order_key =
          entry.record.empty() ? std::string() : OrderKey(entry.record);
      if (IsRecordAction(entry.action)) {
        if (fenced) continue;
        const bool blocked_barrier = entry.barrier && record_before;
        record_before = true;
        if (entry.barrier) fenced = true;
        if (blocked_barrier) continue;
      }
      if (!order_key.empty() && held.contains(order_key)) continue;
      if (entry.next_retry > now) {
        if (!order_key.empty()) held.insert(order_key);
        continue;
      }
      if (sequence <= after) continue;
      ready.push_back(std::move(entry));
      if (ready.size() == limit) break;
    }
    ORGSYNC_RETURN_IF_ERROR(it->status());
  }
  AdvanceScanStart(first_present.value_or(bound));
  return ready;
}

absl::StatusOr<QueueEntry> DurableRecordQueue::Impl::Get(uint64_t sequence) const {
  const auto [start, bound] = ScanWindow();
  if (sequence < start || sequence >= bound) {
    return absl::NotFoundError(absl::StrCat("no record queue entry ", sequence,
                                            " in '", connection_id_, "'"));
  }
  absl::StatusOr<std::string> value = storage_->Get(keys_.Entry(sequence));
  if (absl::IsNotFound(value.status())) {
    return absl::NotFoundError(absl::StrCat("no record queue entry ", sequence,
                                            " in '", connection_id_, "'"));
  }
  ORGSYNC_RETURN_IF_ERROR(value.status());
  return DecodeQueueEntry(sequence, *value);
}

absl::StatusOr<QueuePage> DurableRecordQueue::Impl::ListAfter(uint64_t after,
                                                       size_t page_size) const {
  if (page_size == 0 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "record queue page size ", page_size, " is not in 1..", kMaxPageSize));
  }
  QueuePage page;
  if (after == std::numeric_limits<uint64_t>::max()) return page;
  const auto [start, bound] = ScanWindow();
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator({}));
  const std::string prefix = keys_.EntryPrefix();
  for (it->Seek(keys_.Entry(std::max(start, after + 1)));
       it->Valid() && StartsWith(it->key(), prefix); it->Next()) {
    ORGSYNC_ASSIGN_OR_RETURN(uint64_t sequence,
                             SequenceFromKey(it->key(), prefix.size()));
    if (sequence >= bound) break;
    if (page.entries.size() == page_size) {
      page.next_page_token = SequenceToken(page.entries.back().sequence);
      break;
    }
    ORGSYNC_ASSIGN_OR_RETURN(QueueEntry entry,
                             DecodeQueueEntry(sequence, it->value()));
    page.entries.push_back(std::move(entry));
  }
  ORGSYNC_RETURN_IF_ERROR(it->status());
  return page;
}

absl::StatusOr<std::optional<QueueEntry>> DurableRecordQueue::Impl::Oldest() const {
  const auto [start, bound] = ScanWindow();
  std::optional<QueueEntry> oldest;
  {
    ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                             storage_->NewIterator({}));
    const std::string prefix = keys_.EntryPrefix();
    it->Seek(keys_.Entry(start));
    if (it->Valid() && StartsWith(it->key(), prefix)) {
      ORGSYNC_ASSIGN_OR_RETURN(uint64_t sequence,
                               SequenceFromKey(it->key(), prefix.size()));
      if (sequence < bound) {
        ORGSYNC_ASSIGN_OR_RETURN(oldest, DecodeQueueEntry(sequence, it->value()));
      }
    }
    ORGSYNC_RETURN_IF_ERROR(it->status());
  }
  AdvanceScanStart(oldest ? oldest->sequence : bound);
  return oldest;
}

absl::StatusOr<std::vector<uint64_t>> DurableRecordQueue::Impl::PendingSequences(
    const RecordRef& record, size_t limit) const {
  if (record.empty()) {
    return absl::InvalidArgumentError(
        "a record queue lookup needs a record object");
  }
  ORGSYNC_RETURN_IF_ERROR(
      ValidateRecord(record, options_.max_name_bytes, "record queue lookup"));
  const uint64_t bound = ScanWindow().second;
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator({}));
  const std::string prefix = keys_.RecordPrefix(record);
  std::vector<uint64_t> sequences;
  for (it->Seek(prefix);
       it->Valid() && StartsWith(it->key(), prefix) && sequences.size() < limit;
       it->Next()) {
    ORGSYNC_ASSIGN_OR_RETURN(uint64_t sequence,
                             SequenceFromKey(it->key(), prefix.size()));
    if (sequence >= bound) break;
    sequences.push_back(sequence);
  }
  ORGSYNC_RETURN_IF_ERROR(it->status());
  return sequences;
}

std::map<QueueAction, uint64_t> DurableRecordQueue::Impl::CountByAction() const {
  MutexLock lock(&mu_);
  std::map<QueueAction, uint64_t> counts;
  for (QueueAction action : kAllQueueActions) {
    const uint64_t n = by_action_[static_cast<size_t>(action)];
    if (n > 0) counts[action] = n;
  }
  return counts;
}

// ---- Tokens ----

DurableRecordQueue::PendingEnqueue::PendingEnqueue(PendingEnqueue&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      first_(other.first_),
      count_(other.count_),
      actions_(std::move(other.actions_)) {}

DurableRecordQueue::PendingEnqueue& DurableRecordQueue::PendingEnqueue::operator=(
    PendingEnqueue&& other) noexcept {
  if (this != &other) {
    if (owner_ != nullptr) {
      owner_->impl_->FinishEnqueue(first_, actions_,
                                   absl::AbortedError("enqueue abandoned"));
    }
    owner_ = std::exchange(other.owner_, nullptr);
    first_ = other.first_;
    count_ = other.count_;
    actions_ = std::move(other.actions_);
  }
  return *this;
}

DurableRecordQueue::PendingEnqueue::~PendingEnqueue() {
  if (owner_ != nullptr) {
    owner_->impl_->FinishEnqueue(first_, actions_,
                                 absl::AbortedError("enqueue abandoned"));
  }
}

std::vector<uint64_t> DurableRecordQueue::PendingEnqueue::sequences() const {
  std::vector<uint64_t> sequences;
  sequences.reserve(count_);
  for (uint64_t i = 0; i < count_; ++i) sequences.push_back(first_ + i);
  return sequences;
}

DurableRecordQueue::PendingRemoval::PendingRemoval(PendingRemoval&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      entries_(std::move(other.entries_)),
      new_high_water_(other.new_high_water_),
      dropped_high_water_(std::move(other.dropped_high_water_)) {}

DurableRecordQueue::PendingRemoval& DurableRecordQueue::PendingRemoval::operator=(
    PendingRemoval&& other) noexcept {
  if (this != &other) {
    if (owner_ != nullptr) owner_->impl_->Unclaim(entries_);
    owner_ = std::exchange(other.owner_, nullptr);
    entries_ = std::move(other.entries_);
    new_high_water_ = other.new_high_water_;
    dropped_high_water_ = std::move(other.dropped_high_water_);
  }
  return *this;
}

DurableRecordQueue::PendingRemoval::~PendingRemoval() {
  if (owner_ != nullptr) owner_->impl_->Unclaim(entries_);
}

DurableRecordQueue::PendingFailure::PendingFailure(PendingFailure&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      outcome_(std::move(other.outcome_)),
      new_high_water_(other.new_high_water_),
      dropped_high_water_(std::move(other.dropped_high_water_)) {}

DurableRecordQueue::PendingFailure& DurableRecordQueue::PendingFailure::operator=(
    PendingFailure&& other) noexcept {
  if (this != &other) {
    if (owner_ != nullptr) {
      owner_->impl_->Unclaim(absl::MakeConstSpan(&outcome_.entry, 1));
    }
    owner_ = std::exchange(other.owner_, nullptr);
    outcome_ = std::move(other.outcome_);
    new_high_water_ = other.new_high_water_;
    dropped_high_water_ = std::move(other.dropped_high_water_);
  }
  return *this;
}

DurableRecordQueue::PendingFailure::~PendingFailure() {
  if (owner_ != nullptr) {
    owner_->impl_->Unclaim(absl::MakeConstSpan(&outcome_.entry, 1));
  }
}

// ---- RecordQueue ----

DurableRecordQueue::DurableRecordQueue(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DurableRecordQueue::~DurableRecordQueue() = default;

absl::StatusOr<std::unique_ptr<DurableRecordQueue>> DurableRecordQueue::Open(
    Storage* storage, Clock* clock, std::string connection_id,
    RecordQueueOptions options) {
  if (storage == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError(
        "DurableRecordQueue::Open needs a storage and a clock");
  }
  ORGSYNC_RETURN_IF_ERROR(
      ValidateScopeId(connection_id, "record queue connection id"));
  ORGSYNC_RETURN_IF_ERROR(options.retry.Validate());
  if (options.ready_scan_limit == 0) {
    return absl::InvalidArgumentError(
        "RecordQueueOptions.ready_scan_limit must be positive");
  }
  auto impl = std::make_unique<Impl>(storage, clock, std::move(connection_id),
                                     std::move(options));
  ORGSYNC_RETURN_IF_ERROR(
      Annotate(impl->Load(), absl::StrCat("opening the record queue of '",
                                          impl->connection_id(), "'")));
  return std::unique_ptr<DurableRecordQueue>(
      new DurableRecordQueue(std::move(impl)));
}

const std::string& DurableRecordQueue::connection_id() const {
  return impl_->connection_id();
}

const RecordQueueOptions& DurableRecordQueue::options() const {
  return impl_->options();
}

absl::StatusOr<DurableRecordQueue::PendingEnqueue> DurableRecordQueue::PrepareEnqueue(
    absl::Span<const NewQueueEntry> entries, WriteBatch* batch) {
  ORGSYNC_ASSIGN_OR_RETURN(uint64_t first,
                           impl_->PrepareEnqueue(entries, batch));
  PendingEnqueue pending;
  pending.owner_ = this;
  pending.first_ = first;
  pending.count_ = entries.size();
  pending.actions_.reserve(entries.size());
  for (const NewQueueEntry& entry : entries) {
    pending.actions_.push_back(entry.action);
  }
  return pending;
}

void DurableRecordQueue::FinishEnqueue(PendingEnqueue pending,
                                const absl::Status& write_status) {
  DurableRecordQueue* owner = std::exchange(pending.owner_, nullptr);
  if (owner == nullptr) return;  // already finished (moved from)
  owner->impl_->FinishEnqueue(pending.first_, pending.actions_, write_status);
}

absl::StatusOr<std::vector<uint64_t>> DurableRecordQueue::Enqueue(
    absl::Span<const NewQueueEntry> entries) {
  WriteBatch batch;
  ORGSYNC_ASSIGN_OR_RETURN(PendingEnqueue pending,
                           PrepareEnqueue(entries, &batch));
  std::vector<uint64_t> sequences = pending.sequences();
  const absl::Status written = impl_->storage()->Write(batch, {.sync = true});
  FinishEnqueue(std::move(pending), written);
  ORGSYNC_RETURN_IF_ERROR(written);
  return sequences;
}

absl::StatusOr<std::vector<QueueEntry>> DurableRecordQueue::Ready(
    absl::Time now, size_t limit, uint64_t after_sequence) const {
  return impl_->Ready(now, limit, after_sequence);
}

absl::StatusOr<DurableRecordQueue::PendingRemoval> DurableRecordQueue::PrepareAcknowledge(
    absl::Span<const uint64_t> sequences, WriteBatch* batch) {
  if (batch == nullptr) {
    return absl::InvalidArgumentError("PrepareAcknowledge needs a batch");
  }
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<QueueEntry> entries,
                           impl_->Claim(sequences));
  const Impl::HighWaterChange change = impl_->StageRemoval(entries, batch);
  PendingRemoval pending;
  pending.owner_ = this;
  pending.entries_ = std::move(entries);
  pending.new_high_water_ = change.added;
  pending.dropped_high_water_ = change.dropped;
  return pending;
}

void DurableRecordQueue::FinishAcknowledge(PendingRemoval pending,
                                    const absl::Status& write_status) {
  DurableRecordQueue* owner = std::exchange(pending.owner_, nullptr);
  if (owner == nullptr) return;
  owner->impl_->FinishRemoval(
      pending.entries_,
      Impl::HighWaterChange{pending.new_high_water_,
                            pending.dropped_high_water_},
      write_status);
}

absl::Status DurableRecordQueue::Acknowledge(absl::Span<const uint64_t> sequences) {
  WriteBatch batch;
  ORGSYNC_ASSIGN_OR_RETURN(PendingRemoval pending,
                           PrepareAcknowledge(sequences, &batch));
  const absl::Status written = impl_->storage()->Write(batch, {.sync = true});
  FinishAcknowledge(std::move(pending), written);
  return written;
}

absl::Status DurableRecordQueue::Acknowledge(uint64_t sequence) {
  return Acknowledge(absl::MakeConstSpan(&sequence, 1));
}

absl::StatusOr<DurableRecordQueue::PendingFailure> DurableRecordQueue::PrepareMarkFailed(
    uint64_t sequence, const QueueError& error, bool retryable,
    WriteBatch* batch) {
  if (batch == nullptr) {
    return absl::InvalidArgumentError("PrepareMarkFailed needs a batch");
  }
  if (!SyncErrorCodeFromNumber(static_cast<int>(error.code)).ok() ||
      error.code == SyncErrorCode::kNone) {
    return absl::InvalidArgumentError(
        absl::StrCat("MarkFailed of record queue entry ", sequence,
                     " needs an error code other than NONE, not ",
                     static_cast<int>(error.code)));
  }
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<QueueEntry> claimed,
                           impl_->Claim(absl::MakeConstSpan(&sequence, 1)));
  PendingFailure pending;
  pending.owner_ = this;
  FailureOutcome& outcome = pending.outcome_;
  outcome.entry = std::move(claimed.front());
  QueueEntry& entry = outcome.entry;
  const absl::Time now = impl_->clock()->Now();
  const RetryPolicy& retry = impl_->options().retry;
  entry.attempts = entry.attempts < std::numeric_limits<uint32_t>::max()
                       ? entry.attempts + 1
                       : entry.attempts;
  entry.last_attempt = now;
  entry.last_error.code = error.code;
  // The message is diagnostic text from the partner; keep a bounded prefix.
  entry.last_error.message =
      error.message.substr(0, impl_->options().max_error_message_bytes);
  outcome.exhausted = !retryable || entry.attempts >= retry.max_attempts;
  if (outcome.exhausted) {
    const Impl::HighWaterChange change =
        impl_->StageRemoval(absl::MakeConstSpan(&entry, 1), batch);
    pending.new_high_water_ = change.added;
    pending.dropped_high_water_ = change.dropped;
  } else {
    entry.next_retry = now + retry.DelayAfter(sequence, entry.attempts);
    impl_->StageUpdate(entry, batch);
  }
  return pending;
}

void DurableRecordQueue::FinishMarkFailed(PendingFailure pending,
                                   const absl::Status& write_status) {
  DurableRecordQueue* owner = std::exchange(pending.owner_, nullptr);
  if (owner == nullptr) return;
  const QueueEntry& entry = pending.outcome_.entry;
  if (pending.outcome_.exhausted) {
    owner->impl_->FinishRemoval(
        absl::MakeConstSpan(&entry, 1),
        Impl::HighWaterChange{pending.new_high_water_,
                              pending.dropped_high_water_},
        write_status);
  } else {
    owner->impl_->Unclaim(absl::MakeConstSpan(&entry, 1));
  }
}

absl::StatusOr<FailureOutcome> DurableRecordQueue::MarkFailed(uint64_t sequence,
                                                       const QueueError& error,
                                                       bool retryable) {
  WriteBatch batch;
  ORGSYNC_ASSIGN_OR_RETURN(
      PendingFailure pending,
      PrepareMarkFailed(sequence, error, retryable, &batch));
  FailureOutcome outcome = pending.outcome();
  const absl::Status written = impl_->storage()->Write(batch, {.sync = true});
  FinishMarkFailed(std::move(pending), written);
  ORGSYNC_RETURN_IF_ERROR(written);
  return outcome;
}

absl::StatusOr<QueueEntry> DurableRecordQueue::Get(uint64_t sequence) const {
  return impl_->Get(sequence);
}

absl::StatusOr<QueuePage> DurableRecordQueue::List(std::string_view page_token,
                                            size_t page_size) const {
  ORGSYNC_ASSIGN_OR_RETURN(uint64_t after, ParseSequenceToken(page_token));
  return impl_->ListAfter(after, page_size);
}

absl::StatusOr<QueuePage> DurableRecordQueue::ListAfter(uint64_t after_sequence,
                                                 size_t page_size) const {
  return impl_->ListAfter(after_sequence, page_size);
}

uint64_t DurableRecordQueue::Count() const { return impl_->Count(); }

std::map<QueueAction, uint64_t> DurableRecordQueue::CountByAction() const {
  return impl_->CountByAction();
}

absl::StatusOr<std::optional<QueueEntry>> DurableRecordQueue::Oldest() const {
  return impl_->Oldest();
}

absl::StatusOr<absl::Duration> DurableRecordQueue::OldestEntryAge() const {
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<QueueEntry> oldest, impl_->Oldest());
  if (!oldest) return absl::ZeroDuration();
  return std::max(absl::ZeroDuration(),
                  impl_->clock()->Now() - oldest->enqueued);
}

absl::StatusOr<bool> DurableRecordQueue::HasPending(const RecordRef& record) const {
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<uint64_t> sequences,
                           impl_->PendingSequences(record, 1));
  return !sequences.empty();
}

absl::StatusOr<std::vector<uint64_t>> DurableRecordQueue::PendingSequences(
    const RecordRef& record) const {
  return impl_->PendingSequences(record, std::numeric_limits<size_t>::max());
}

}  // namespace orgsync::internal
