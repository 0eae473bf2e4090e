// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// DurableRecordQueue over a Storage: opening, enqueueing, removing
// (acknowledge, final failure) and the tokens that stage them into a
// caller's batch. Key layout: lib/proto/queue_state.proto; readers are in
// queue_reading.cc, encoding in queue_codec.cc.
//
// How concurrent producers, consumers and readers stay out of each
// other's way: record_queue_impl.h.

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

#include "absl/strings/str_cat.h"
#include "internal/keys.h"
#include "internal/numbered_keys.h"
#include "internal/strings.h"
#include "orgsync/status.h"
#include "queue/queue_codec.h"
#include "queue/record_queue_impl.h"

namespace orgsync::internal {

absl::Status DurableRecordQueue::Impl::Load() {
  uint64_t count = 0;
  std::array<uint64_t, kQueueActionSlots> by_action = {};
  uint64_t first = 0;
  uint64_t last = 0;
  std::vector<uint32_t> by_bucket(kRecordBuckets, 0);
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
      if (!state.object().empty()) {
        ++by_bucket[Bucket(RecordRef{state.object(), state.record_id()})];
      }
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
  sequences_.set_next(std::max(last, newest_high_water) + 1);
  scan_start_ = first != 0 ? first : sequences_.next();
  max_committed_ = last;
  count_ = count;
  by_action_ = by_action;
  pending_by_bucket_ = std::move(by_bucket);
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
    ORGSYNC_RETURN_IF_ERROR(ValidateNewQueueEntry(in[i], i, options_));
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
    first = sequences_.Reserve(in.size());
  }
  for (size_t i = 0; i < in.size(); ++i) {
    batch->Put(keys_.Entry(first + i), values[i]);
    if (!in[i].record.empty()) {
      batch->Put(keys_.RecordIndex(in[i].record, first + i), "");
    }
  }
  return first;
}

void DurableRecordQueue::Impl::FinishEnqueue(
    uint64_t first, absl::Span<const QueueAction> actions,
    absl::Span<const RecordRef> records, const absl::Status& status) {
  MutexLock lock(&mu_);
  sequences_.Finish(first);
  if (!status.ok()) return;
  count_ += actions.size();
  for (const RecordRef& record : records) ++pending_by_bucket_[Bucket(record)];
  for (QueueAction action : actions) ++by_action_[static_cast<size_t>(action)];
  max_committed_ = std::max(max_committed_, first + actions.size() - 1);
}

absl::Status DurableRecordQueue::Impl::ClaimHeld(
    absl::Span<const QueueEntry> entries) {
  std::vector<uint64_t> sequences;
  sequences.reserve(entries.size());
  for (const QueueEntry& entry : entries) sequences.push_back(entry.sequence);
  return MarkBusy(sequences);
}

absl::Status DurableRecordQueue::Impl::MarkBusy(
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
      if (sequence == 0 || sequence >= sequences_.next() ||
          sequences_.InFlight(sequence)) {
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
  return absl::OkStatus();
}

absl::StatusOr<std::vector<QueueEntry>> DurableRecordQueue::Impl::Claim(
    absl::Span<const uint64_t> sequences) {
  ORGSYNC_RETURN_IF_ERROR(MarkBusy(sequences));
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
    if (entry.record.empty()) continue;
    uint32_t& pending = pending_by_bucket_[Bucket(entry.record)];
    if (pending > 0) --pending;
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

// ---- Tokens ----

std::vector<uint64_t> DurableRecordQueue::PendingEnqueue::sequences() const {
  std::vector<uint64_t> sequences;
  sequences.reserve(state().count);
  for (uint64_t i = 0; i < state().count; ++i) {
    sequences.push_back(state().first + i);
  }
  return sequences;
}

void DurableRecordQueue::Abandon(EnqueueState& state) {
  impl_->FinishEnqueue(state.first, state.actions, state.records,
                       absl::AbortedError("enqueue abandoned"));
}

void DurableRecordQueue::Abandon(RemovalState& state) {
  impl_->Unclaim(state.entries);
}

void DurableRecordQueue::Abandon(FailureState& state) {
  impl_->Unclaim(absl::MakeConstSpan(&state.outcome.entry, 1));
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
  EnqueueState state;
  state.first = first;
  state.count = entries.size();
  state.actions.reserve(entries.size());
  for (const NewQueueEntry& entry : entries) {
    state.actions.push_back(entry.action);
    if (!entry.record.empty()) state.records.push_back(entry.record);
  }
  return PendingEnqueue(this, std::move(state));
}

void DurableRecordQueue::FinishEnqueue(PendingEnqueue pending,
                                const absl::Status& write_status) {
  DurableRecordQueue* owner = pending.Take();
  if (owner == nullptr) return;  // already finished (moved from)
  owner->impl_->FinishEnqueue(pending.state().first, pending.state().actions,
                              pending.state().records, write_status);
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
  // Everything up to after_sequence is read (it may hold its record back)
  // but not returned.
  class After final : public ReadyFilter {
   public:
    explicit After(uint64_t after) : after_(after) {}
    std::optional<HeldEntry> Held(uint64_t) const override {
      return std::nullopt;
    }
    Verdict Take(const QueueEntry& entry) override {
      return entry.sequence > after_ ? Verdict::kTake : Verdict::kPass;
    }

   private:
    const uint64_t after_;
  };
  After filter(after_sequence);
  return impl_->Ready(now, limit, &filter);
}

absl::StatusOr<std::vector<QueueEntry>> DurableRecordQueue::Ready(
    absl::Time now, size_t limit, ReadyFilter* filter) const {
  if (filter == nullptr) {
    return absl::InvalidArgumentError("Ready needs a filter");
  }
  return impl_->Ready(now, limit, filter);
}

absl::StatusOr<DurableRecordQueue::PendingRemoval> DurableRecordQueue::PrepareAcknowledge(
    absl::Span<const uint64_t> sequences, WriteBatch* batch) {
  if (batch == nullptr) {
    return absl::InvalidArgumentError("PrepareAcknowledge needs a batch");
  }
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<QueueEntry> entries,
                           impl_->Claim(sequences));
  const Impl::HighWaterChange change = impl_->StageRemoval(entries, batch);
  return PendingRemoval(this, RemovalState{.entries = std::move(entries),
                                           .new_high_water = change.added,
                                           .dropped_high_water = change.dropped});
}

absl::StatusOr<DurableRecordQueue::PendingRemoval>
DurableRecordQueue::PrepareAcknowledgeSent(std::vector<QueueEntry> sent,
                                           WriteBatch* batch) {
  if (batch == nullptr) {
    return absl::InvalidArgumentError("PrepareAcknowledgeSent needs a batch");
  }
  ORGSYNC_RETURN_IF_ERROR(impl_->ClaimHeld(sent));
  for (QueueEntry& entry : sent) entry.payload.clear();
  const Impl::HighWaterChange change = impl_->StageRemoval(sent, batch);
  return PendingRemoval(this, RemovalState{.entries = std::move(sent),
                                           .new_high_water = change.added,
                                           .dropped_high_water = change.dropped});
}

void DurableRecordQueue::FinishAcknowledge(PendingRemoval pending,
                                    const absl::Status& write_status) {
  DurableRecordQueue* owner = pending.Take();
  if (owner == nullptr) return;
  const RemovalState& state = pending.state();
  owner->impl_->FinishRemoval(
      state.entries,
      Impl::HighWaterChange{state.new_high_water, state.dropped_high_water},
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
  FailureState state;
  FailureOutcome& outcome = state.outcome;
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
    state.new_high_water = change.added;
    state.dropped_high_water = change.dropped;
  } else {
    entry.next_retry = now + retry.DelayAfter(sequence, entry.attempts);
    impl_->StageUpdate(entry, batch);
  }
  return PendingFailure(this, std::move(state));
}

void DurableRecordQueue::FinishMarkFailed(PendingFailure pending,
                                   const absl::Status& write_status) {
  DurableRecordQueue* owner = pending.Take();
  if (owner == nullptr) return;
  const FailureState& state = pending.state();
  const QueueEntry& entry = state.outcome.entry;
  if (state.outcome.exhausted) {
    owner->impl_->FinishRemoval(
        absl::MakeConstSpan(&entry, 1),
        Impl::HighWaterChange{state.new_high_water, state.dropped_high_water},
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

absl::StatusOr<bool> DurableRecordQueue::HasEarlierPending(
    const RecordRef& record, uint64_t sequence) const {
  if (!impl_->MayHaveOthersPending(record)) return false;
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<uint64_t> oldest,
                           impl_->PendingSequences(record, 1));
  return !oldest.empty() && oldest.front() < sequence;
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
