// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "log/durable_sync_log.h"
#include "queue/durable_record_queue.h"
#include "queue/queue_codec.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "orgsync/clock.h"
#include "orgsync/storage.h"
#include "orgsync/sync_log.h"
#include "testing/fault_storage.h"
#include "testing/storage_testing.h"

namespace orgsync::record_queue_test {
namespace {

using internal::DurableRecordQueue;
using internal::FailureOutcome;
using internal::NewQueueEntry;
using testing::FaultInjectingStorage;

// Refuses every write from now until the faults are cleared.
void FailAllWrites(FaultInjectingStorage& storage) {
  storage.FailWritesWithKeyPrefix("");
}

using testing::ReopenableStorage;

// Storages the persistence tests run over, by name; Reopen() stands for a
// process restart (memory: a crash that keeps only synced writes; LevelDB:
// close and open the folder again).
auto Harnesses() { return testing::ReopenableStorageHarnesses(); }

RetryPolicy TestPolicy() {
  RetryPolicy policy;
  policy.initial_delay = absl::Seconds(10);
  policy.multiplier = 2.0;
  policy.max_delay = absl::Seconds(80);
  policy.jitter = 0.25;
  policy.max_attempts = 6;
  policy.jitter_seed = 42;
  return policy;
}

std::unique_ptr<DurableRecordQueue> OpenQueue(Storage* storage, Clock* clock,
                                       RetryPolicy policy = TestPolicy(),
                                       const std::string& id = "c1") {
  RecordQueueOptions options;
  options.retry = policy;
  auto queue = DurableRecordQueue::Open(storage, clock, id, options);
  REQUIRE(queue.ok());
  return *std::move(queue);
}

NewQueueEntry Change(const std::string& object, const std::string& id,
                     QueueAction action = QueueAction::kGenericUpdate,
                     const std::string& payload = "payload") {
  return NewQueueEntry{RecordRef{object, id}, action, payload};
}

uint64_t EnqueueOne(DurableRecordQueue& queue, const NewQueueEntry& entry) {
  auto sequences = queue.Enqueue({entry});
  REQUIRE(sequences.ok());
  REQUIRE(sequences->size() == 1);
  return sequences->front();
}

std::vector<uint64_t> Sequences(const std::vector<QueueEntry>& entries) {
  std::vector<uint64_t> out;
  for (const QueueEntry& entry : entries) out.push_back(entry.sequence);
  return out;
}

std::vector<QueueEntry> ListAll(const RecordQueue& queue,
                                size_t page_size = 1000) {
  std::vector<QueueEntry> all;
  std::string token;
  do {
    auto page = queue.List(token, page_size);
    REQUIRE(page.ok());
    all.insert(all.end(), page->entries.begin(), page->entries.end());
    token = page->next_page_token;
  } while (!token.empty());
  return all;
}

const QueueError kMissingParent{SyncErrorCode::kMissingParent,
                                "parent Account 001 is not synced"};

TEST_CASE("R50: an entry lists record, action, attempts and Next Retry Date") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto queue = OpenQueue(storage.get(), &clock);
  const absl::Time enqueued = clock.Now();
  const uint64_t seq = EnqueueOne(
      *queue, Change("Account", "001", QueueAction::kGenericInsert, "v1"));
  CHECK(seq == 1);
  auto entry = queue->Get(seq);
  REQUIRE(entry.ok());
  CHECK(entry->record == RecordRef{"Account", "001"});
  CHECK(entry->action == QueueAction::kGenericInsert);
  CHECK(entry->payload == "v1");
  CHECK(entry->attempts == 0);
  CHECK(entry->enqueued == enqueued);
  CHECK(entry->next_retry == enqueued);
  CHECK_FALSE(entry->last_attempt.has_value());
  CHECK(entry->last_error.code == SyncErrorCode::kNone);
  CHECK(queue->Count() == 1);
}

TEST_CASE("R50: entries come out FIFO and leave only when acknowledged") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto queue = OpenQueue(storage.get(), &clock);
  std::vector<uint64_t> sequences;
  for (int i = 0; i < 5; ++i) {
    sequences.push_back(
        EnqueueOne(*queue, Change("Account", std::to_string(i))));
  }
  CHECK(std::is_sorted(sequences.begin(), sequences.end()));
  auto ready = queue->Ready(clock.Now(), 3);
  REQUIRE(ready.ok());
  CHECK(Sequences(*ready) ==
        std::vector<uint64_t>(sequences.begin(), sequences.begin() + 3));
  // Reading does not remove anything.
  auto again = queue->Ready(clock.Now(), 10);
  REQUIRE(again.ok());
  CHECK(Sequences(*again) == sequences);
  REQUIRE(queue->Acknowledge(sequences[0]).ok());
  REQUIRE(queue->Acknowledge({sequences[1], sequences[2]}).ok());
  CHECK(queue->Count() == 2);
  auto rest = queue->Ready(clock.Now(), 10);
  REQUIRE(rest.ok());
  CHECK(Sequences(*rest) == std::vector<uint64_t>{sequences[3], sequences[4]});
  CHECK(queue->Get(sequences[0]).status().code() ==
        absl::StatusCode::kNotFound);
}

TEST_CASE("R50: Ready skips entries up to after_sequence (in flight)") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto queue = OpenQueue(storage.get(), &clock);
  for (int i = 0; i < 4; ++i) EnqueueOne(*queue, Change("Account", "r"));
  auto ready = queue->Ready(clock.Now(), 10, /*after_sequence=*/2);
  REQUIRE(ready.ok());
  CHECK(Sequences(*ready) == std::vector<uint64_t>{3, 4});
}

TEST_CASE("R51: failed entries back off exponentially with bounded jitter") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  const RetryPolicy policy = TestPolicy();
  auto queue = OpenQueue(storage.get(), &clock, policy);
  const uint64_t seq = EnqueueOne(*queue, Change("Account", "001"));
  const std::vector<double> bases = {10, 20, 40, 80, 80};  // capped at 80 s
  absl::Duration previous_base;
  for (size_t i = 0; i < bases.size(); ++i) {
    clock.Advance(absl::Minutes(5));
    const absl::Time now = clock.Now();
    auto outcome = queue->MarkFailed(seq, kMissingParent);
    REQUIRE(outcome.ok());
    CHECK_FALSE(outcome->exhausted);
    CHECK(outcome->entry.attempts == i + 1);
    CHECK(outcome->entry.last_attempt == now);
    CHECK(outcome->entry.last_error == kMissingParent);
    const absl::Duration delay = outcome->entry.next_retry - now;
    const absl::Duration base = absl::Seconds(bases[i]);
    CHECK(delay <= base);
    CHECK(delay >= base * (1 - policy.jitter) - absl::Microseconds(1));
    CHECK(delay == policy.DelayAfter(seq, static_cast<uint32_t>(i + 1)));
    // The stored entry says the same (to the microsecond it is kept at).
    auto stored = queue->Get(seq);
    REQUIRE(stored.ok());
    CHECK(stored->attempts == i + 1);
    CHECK(absl::AbsDuration(stored->next_retry - outcome->entry.next_retry) <
          absl::Microseconds(1));
    if (i > 0 && i < 4) CHECK(base == previous_base * 2);
    previous_base = base;
  }
}

TEST_CASE("R51: jitter is deterministic per seed and spreads entries") {
  RetryPolicy a = TestPolicy();
  RetryPolicy b = TestPolicy();
  std::set<int64_t> distinct;
  for (uint64_t seq = 1; seq <= 50; ++seq) {
    CHECK(a.DelayAfter(seq, 3) == b.DelayAfter(seq, 3));
    distinct.insert(absl::ToInt64Microseconds(a.DelayAfter(seq, 3)));
  }
  CHECK(distinct.size() > 40);
  b.jitter_seed = 43;
  int differ = 0;
  for (uint64_t seq = 1; seq <= 50; ++seq) {
    if (a.DelayAfter(seq, 3) != b.DelayAfter(seq, 3)) ++differ;
  }
  CHECK(differ > 40);
  RetryPolicy none = TestPolicy();
  none.jitter = 0;
  CHECK(none.DelayAfter(9, 1) == absl::Seconds(10));
  CHECK(none.DelayAfter(9, 60) == absl::Seconds(80));
}

TEST_CASE("R51: when attempts are exhausted the entry leaves the queue") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  RetryPolicy policy = TestPolicy();
  policy.max_attempts = 3;
  auto queue = OpenQueue(storage.get(), &clock, policy);
  const uint64_t seq = EnqueueOne(*queue, Change("Contact", "003"));
  for (uint32_t attempt = 1; attempt <= 2; ++attempt) {
    auto outcome = queue->MarkFailed(seq, kMissingParent);
    REQUIRE(outcome.ok());
    CHECK_FALSE(outcome->exhausted);
  }
  auto last = queue->MarkFailed(seq, kMissingParent);
  REQUIRE(last.ok());
  CHECK(last->exhausted);
  CHECK(last->entry.attempts == 3);
  CHECK(last->entry.record == RecordRef{"Contact", "003"});
  CHECK(queue->Count() == 0);
  CHECK(queue->Get(seq).status().code() == absl::StatusCode::kNotFound);
  CHECK(queue->MarkFailed(seq, kMissingParent).status().code() ==
        absl::StatusCode::kNotFound);
}

TEST_CASE("R51: a retrying entry holds back its record, not other records") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto queue = OpenQueue(storage.get(), &clock);
  const uint64_t a1 = EnqueueOne(*queue, Change("Account", "A"));
  const uint64_t b1 = EnqueueOne(*queue, Change("Account", "B"));
  const uint64_t a2 = EnqueueOne(*queue, Change("Account", "A"));
  const uint64_t notice = EnqueueOne(
      *queue, NewQueueEntry{{}, QueueAction::kConnectionUpdate, "owner"});
  const uint64_t b2 = EnqueueOne(*queue, Change("Account", "B"));
  auto outcome = queue->MarkFailed(a1, kMissingParent);
  REQUIRE(outcome.ok());
  auto ready = queue->Ready(clock.Now(), 10);
  REQUIRE(ready.ok());
  // a1 waits for its retry; a2 waits behind it; B and the notice go on.
  CHECK(Sequences(*ready) == std::vector<uint64_t>{b1, notice, b2});
  // An entry of the same object but another record is not held back.
  const uint64_t c1 = EnqueueOne(*queue, Change("Account", "C"));
  ready = queue->Ready(clock.Now(), 10);
  REQUIRE(ready.ok());
  CHECK(Sequences(*ready) == std::vector<uint64_t>{b1, notice, b2, c1});
  // Once its retry date comes, a1 goes first, then a2, in order.
  clock.AdvanceTo(outcome->entry.next_retry);
  ready = queue->Ready(clock.Now(), 10);
  REQUIRE(ready.ok());
  CHECK(Sequences(*ready) == std::vector<uint64_t>{a1, b1, a2, notice, b2, c1});
}

TEST_CASE("R52: a failure that is not retryable leaves the queue at once") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto queue = OpenQueue(storage.get(), &clock);
  const uint64_t seq = EnqueueOne(
      *queue, NewQueueEntry{{"User", "005"}, QueueAction::kUserUpsert, "u"});
  auto outcome = queue->MarkFailed(
      seq, {SyncErrorCode::kMissingProfile, "profile Sales is missing"},
      /*retryable=*/false);
  REQUIRE(outcome.ok());
  CHECK(outcome->exhausted);
  CHECK(outcome->entry.attempts == 1);
  CHECK(queue->Count() == 0);
}

TEST_CASE("R55: a record that failed is queued again on its next change") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  RetryPolicy policy = TestPolicy();
  policy.max_attempts = 1;
  auto queue = OpenQueue(storage.get(), &clock, policy);
  const RecordRef record{"Opportunity", "006"};
  const uint64_t first = EnqueueOne(*queue, Change("Opportunity", "006"));
  EnqueueOne(*queue, Change("Opportunity", "007"));
  auto pending = queue->HasPending(record);
  REQUIRE(pending.ok());
  CHECK(*pending);
  auto outcome = queue->MarkFailed(first, kMissingParent);
  REQUIRE(outcome.ok());
  REQUIRE(outcome->exhausted);
  pending = queue->HasPending(record);
  REQUIRE(pending.ok());
  CHECK_FALSE(*pending);
  const uint64_t again = EnqueueOne(*queue, Change("Opportunity", "006"));
  pending = queue->HasPending(record);
  REQUIRE(pending.ok());
  CHECK(*pending);
  auto sequences = queue->PendingSequences(record);
  REQUIRE(sequences.ok());
  CHECK(*sequences == std::vector<uint64_t>{again});
  auto ready = queue->Ready(clock.Now(), 10);
  REQUIRE(ready.ok());
  const std::vector<uint64_t> ready_sequences = Sequences(*ready);
  CHECK(std::count(ready_sequences.begin(), ready_sequences.end(), again) == 1);
  CHECK(queue->HasPending(RecordRef{}).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("R56: every queue action can be queued and is counted by action") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto queue = OpenQueue(storage.get(), &clock);
  std::vector<NewQueueEntry> entries;
  for (QueueAction action : kAllQueueActions) {
    RecordRef record;
    if (IsRecordAction(action)) record = {"Account", "001"};
    entries.push_back({record, action, ""});
  }
  entries.push_back(Change("Account", "002", QueueAction::kGenericInsert));
  auto sequences = queue->Enqueue(entries);
  REQUIRE(sequences.ok());
  CHECK(sequences->size() == kAllQueueActions.size() + 1);
  const auto counts = queue->CountByAction();
  CHECK(counts.size() == kAllQueueActions.size());
  for (QueueAction action : kAllQueueActions) {
    CHECK(counts.at(action) == (action == QueueAction::kGenericInsert ? 2 : 1));
  }
  const std::vector<QueueEntry> all = ListAll(*queue);
  REQUIRE(all.size() == entries.size());
  for (size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].action == entries[i].action);
  }
}

TEST_CASE("R50: paging lists every entry once, oldest first") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto queue = OpenQueue(storage.get(), &clock);
  std::vector<NewQueueEntry> entries;
  for (int i = 0; i < 25; ++i)
    entries.push_back(Change("Case", std::to_string(i)));
  auto sequences = queue->Enqueue(entries);
  REQUIRE(sequences.ok());
  std::vector<uint64_t> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = queue->List(token, 7);
    REQUIRE(page.ok());
    CHECK(page->entries.size() <= 7);
    for (const QueueEntry& entry : page->entries)
      seen.push_back(entry.sequence);
    token = page->next_page_token;
    ++pages;
  } while (!token.empty());
  CHECK(pages == 4);
  CHECK(seen == *sequences);
  // A page ending exactly at the last entry has no next token.
  auto exact = queue->ListAfter((*sequences)[19], 5);
  REQUIRE(exact.ok());
  CHECK(exact->entries.size() == 5);
  CHECK(exact->next_page_token.empty());
  // Acknowledging between pages neither repeats nor skips entries.
  auto first = queue->List("", 10);
  REQUIRE(first.ok());
  REQUIRE(queue->Acknowledge({(*sequences)[0], (*sequences)[12]}).ok());
  auto second = queue->List(first->next_page_token, 10);
  REQUIRE(second.ok());
  CHECK(second->entries.front().sequence == (*sequences)[10]);
  CHECK(second->entries.size() == 10);
  CHECK(queue->List("bogus", 10).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(queue->List("s12x", 10).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(queue->List("", 0).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(queue->List("", RecordQueue::kMaxPageSize + 1).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("R50: counts and the age of the oldest entry") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto queue = OpenQueue(storage.get(), &clock);
  auto age = queue->OldestEntryAge();
  REQUIRE(age.ok());
  CHECK(*age == absl::ZeroDuration());
  const uint64_t first = EnqueueOne(*queue, Change("Lead", "1"));
  clock.Advance(absl::Minutes(3));
  EnqueueOne(*queue, Change("Lead", "2", QueueAction::kReplicationDelete));
  clock.Advance(absl::Minutes(2));
  age = queue->OldestEntryAge();
  REQUIRE(age.ok());
  CHECK(*age == absl::Minutes(5));
  REQUIRE(queue->Acknowledge(first).ok());
  age = queue->OldestEntryAge();
  REQUIRE(age.ok());
  CHECK(*age == absl::Minutes(2));
  CHECK(queue->Count() == 1);
  CHECK(queue->CountByAction() ==
        std::map<QueueAction, uint64_t>{{QueueAction::kReplicationDelete, 1}});
}

TEST_CASE("R50: reopening restores the same queue and never reuses numbers") {
  for (const auto& [name, make] : Harnesses()) {
    DYNAMIC_SECTION("storage: " << name) {
      auto harness = make();
      ManualClock clock;
      std::vector<QueueEntry> before;
      std::map<QueueAction, uint64_t> counts_before;
      uint64_t newest = 0;
      {
        auto queue = OpenQueue(harness->storage(), &clock);
        std::vector<NewQueueEntry> entries;
        for (int i = 0; i < 12; ++i) {
          entries.push_back(Change(
              "Account", std::to_string(i % 4),
              i % 3 ? QueueAction::kGenericUpdate : QueueAction::kGenericInsert,
              "p" + std::to_string(i)));
        }
        auto sequences = queue->Enqueue(entries);
        REQUIRE(sequences.ok());
        newest = sequences->back();
        REQUIRE(queue->MarkFailed((*sequences)[2], kMissingParent).ok());
        REQUIRE(queue->MarkFailed((*sequences)[2], kMissingParent).ok());
        REQUIRE(queue->Acknowledge({(*sequences)[0], (*sequences)[5]}).ok());
        before = ListAll(*queue);
        counts_before = queue->CountByAction();
        // Removing the newest entry must not let its number come back.
        REQUIRE(queue->Acknowledge(newest).ok());
        before.pop_back();
        counts_before[QueueAction::kGenericUpdate] -= 1;
      }
      harness->Reopen();
      auto queue = OpenQueue(harness->storage(), &clock);
      const std::vector<QueueEntry> after = ListAll(*queue);
      REQUIRE(after.size() == before.size());
      for (size_t i = 0; i < after.size(); ++i) {
        CHECK(after[i].sequence == before[i].sequence);
        CHECK(after[i].record == before[i].record);
        CHECK(after[i].action == before[i].action);
        CHECK(after[i].payload == before[i].payload);
        CHECK(after[i].attempts == before[i].attempts);
        CHECK(after[i].next_retry == before[i].next_retry);
        CHECK(after[i].last_error == before[i].last_error);
      }
      CHECK(queue->Count() == before.size());
      CHECK(queue->CountByAction() == counts_before);
      const uint64_t next = EnqueueOne(*queue, Change("Account", "new"));
      CHECK(next == newest + 1);
      // Drain everything, reopen again: still no reuse.
      std::vector<uint64_t> all = Sequences(ListAll(*queue));
      REQUIRE(queue->Acknowledge(all).ok());
      CHECK(queue->Count() == 0);
      queue.reset();
      harness->Reopen();
      queue = OpenQueue(harness->storage(), &clock);
      CHECK(queue->Count() == 0);
      CHECK(EnqueueOne(*queue, Change("Account", "x")) == next + 1);
    }
  }
}

TEST_CASE("Design rule 2: an entry survives a crash once Enqueue returned") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto queue = OpenQueue(storage.get(), &clock);
  const uint64_t seq = EnqueueOne(*queue, Change("Account", "001"));
  const uint64_t acked = EnqueueOne(*queue, Change("Account", "002"));
  REQUIRE(queue->Acknowledge(acked).ok());
  REQUIRE(queue->MarkFailed(seq, kMissingParent).ok());
  CHECK(storage->UnsyncedBatchCount() == 0);
  queue.reset();
  storage->SimulateCrash();
  queue = OpenQueue(storage.get(), &clock);
  auto entry = queue->Get(seq);
  REQUIRE(entry.ok());
  CHECK(entry->attempts == 1);
  CHECK(queue->Get(acked).status().code() == absl::StatusCode::kNotFound);
  CHECK(queue->Count() == 1);
}

TEST_CASE("Design rule 7: a failed write leaves queue and counters unchanged") {
  auto memory = NewMemoryStorage();
  FaultInjectingStorage storage(memory.get());
  ManualClock clock;
  auto queue = OpenQueue(&storage, &clock);
  const uint64_t kept = EnqueueOne(*queue, Change("Account", "001"));
  const size_t keys_before = memory->KeyCount();
  FailAllWrites(storage);

  CHECK(queue->Enqueue({Change("Account", "002")}).status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK(queue->Acknowledge(kept).code() == absl::StatusCode::kUnavailable);
  CHECK(queue->MarkFailed(kept, kMissingParent).status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK(queue->MarkFailed(kept, kMissingParent, false).status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK(memory->KeyCount() == keys_before);
  CHECK(queue->Count() == 1);
  CHECK(queue->CountByAction().at(QueueAction::kGenericUpdate) == 1);
  auto entry = queue->Get(kept);
  REQUIRE(entry.ok());
  CHECK(entry->attempts == 0);
  auto ready = queue->Ready(clock.Now(), 10);
  REQUIRE(ready.ok());
  CHECK(Sequences(*ready) == std::vector<uint64_t>{kept});

  // The failed enqueue's number is not handed out again in this process and
  // does not block the queue; the entry can still be changed.
  storage.ClearFaults();
  const uint64_t next = EnqueueOne(*queue, Change("Account", "003"));
  CHECK(next == kept + 2);
  REQUIRE(queue->Acknowledge(kept).ok());
  ready = queue->Ready(clock.Now(), 10);
  REQUIRE(ready.ok());
  CHECK(Sequences(*ready) == std::vector<uint64_t>{next});
}

TEST_CASE(
    "R50: whether a record has a pending (or an earlier pending) entry "
    "follows enqueues, removals, failed writes and a reopen across many "
    "records") {
  auto memory = NewMemoryStorage();
  FaultInjectingStorage storage(memory.get());
  ManualClock clock;
  auto queue = OpenQueue(&storage, &clock);
  // More records than the queue's in-memory filter has buckets, so that
  // records share buckets with others pending and with others gone.
  constexpr int kRecords = 70000;
  auto id = [](int i) { return std::to_string(i); };
  std::vector<NewQueueEntry> entries;
  for (int i = 0; i < kRecords; ++i) entries.push_back(Change("Account", id(i)));
  absl::StatusOr<std::vector<uint64_t>> sequences = queue->Enqueue(entries);
  REQUIRE(sequences.ok());
  // Every third entry leaves (acknowledged), and one more does not arrive.
  std::vector<uint64_t> acknowledged;
  for (int i = 0; i < kRecords; i += 3) acknowledged.push_back((*sequences)[i]);
  REQUIRE(queue->Acknowledge(acknowledged).ok());
  FailAllWrites(storage);
  CHECK_FALSE(queue->Enqueue({Change("Contact", "lost")}).ok());
  storage.ClearFaults();

  auto check = [&](DurableRecordQueue& q) {
    int wrong = 0;
    for (int i = 0; i < kRecords; ++i) {
      absl::StatusOr<bool> pending = q.HasPending({"Account", id(i)});
      REQUIRE(pending.ok());
      if (*pending != (i % 3 != 0)) ++wrong;
    }
    CHECK(wrong == 0);
    absl::StatusOr<bool> lost = q.HasPending({"Contact", "lost"});
    REQUIRE(lost.ok());
    CHECK_FALSE(*lost);
  };
  check(*queue);
  queue.reset();
  auto reopened = OpenQueue(&storage, &clock);
  check(*reopened);

  // An earlier entry of the same record, among records that share its
  // bucket or have it to themselves.
  int wrong = 0;
  for (int i = 1; i < kRecords; i += 3) {
    absl::StatusOr<bool> earlier =
        reopened->HasEarlierPending({"Account", id(i)}, (*sequences)[i]);
    REQUIRE(earlier.ok());
    if (*earlier) ++wrong;
  }
  CHECK(wrong == 0);
  const uint64_t again = EnqueueOne(*reopened, Change("Account", id(1)));
  absl::StatusOr<bool> earlier =
      reopened->HasEarlierPending({"Account", id(1)}, again);
  REQUIRE(earlier.ok());
  CHECK(*earlier);
  earlier = reopened->HasEarlierPending({"Account", id(1)}, (*sequences)[1]);
  REQUIRE(earlier.ok());
  CHECK_FALSE(*earlier);
}

TEST_CASE("Design rule 7: invalid input is refused and changes nothing") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto queue = OpenQueue(storage.get(), &clock);
  const uint64_t seq = EnqueueOne(*queue, Change("Account", "001"));
  const size_t keys_before = storage->KeyCount();
  auto code = [](const auto& result) {
    if constexpr (std::is_same_v<std::decay_t<decltype(result)>,
                                 absl::Status>) {
      return result.code();
    } else {
      return result.status().code();
    }
  };
  using absl::StatusCode;
  CHECK(code(queue->Enqueue({})) == StatusCode::kInvalidArgument);
  CHECK(code(queue->Enqueue({NewQueueEntry{
            {"Account", "1"}, static_cast<QueueAction>(99), ""}})) ==
        StatusCode::kInvalidArgument);
  CHECK(code(queue->Enqueue(
            {NewQueueEntry{{}, QueueAction::kGenericInsert, ""}})) ==
        StatusCode::kInvalidArgument);
  CHECK(code(queue->Enqueue(
            {NewQueueEntry{{"", "001"}, QueueAction::kTypeMapUpdate, ""}})) ==
        StatusCode::kInvalidArgument);
  // A bad entry anywhere in a batch refuses the whole batch.
  auto mixed = queue->Enqueue(
      {Change("Account", "2"),
       Change("Account", "3", QueueAction::kGenericUpdate,
              std::string(queue->options().max_payload_bytes + 1, 'x'))});
  CHECK(code(mixed) == StatusCode::kInvalidArgument);
  CHECK(std::string(mixed.status().message()).find("entry 1") !=
        std::string::npos);
  CHECK(code(queue->Acknowledge(seq + 100)) == StatusCode::kNotFound);
  CHECK(code(queue->Acknowledge(uint64_t{0})) == StatusCode::kNotFound);
  CHECK(code(queue->Acknowledge({seq, seq})) == StatusCode::kInvalidArgument);
  CHECK(code(queue->Acknowledge(absl::Span<const uint64_t>())) ==
        StatusCode::kInvalidArgument);
  CHECK(code(queue->Acknowledge({seq, seq + 1})) == StatusCode::kNotFound);
  CHECK(code(queue->MarkFailed(seq, {SyncErrorCode::kNone, "x"})) ==
        StatusCode::kInvalidArgument);
  CHECK(code(queue->MarkFailed(seq, {static_cast<SyncErrorCode>(77), ""})) ==
        StatusCode::kInvalidArgument);
  CHECK(code(queue->Ready(clock.Now(), 0)) == StatusCode::kInvalidArgument);
  CHECK(code(queue->PrepareEnqueue({Change("A", "1")}, nullptr)) ==
        StatusCode::kInvalidArgument);
  CHECK(storage->KeyCount() == keys_before);
  CHECK(queue->Count() == 1);
  auto entry = queue->Get(seq);
  REQUIRE(entry.ok());
  CHECK(entry->attempts == 0);

  // Two changes of one entry cannot overlap.
  WriteBatch batch;
  auto pending = queue->PrepareAcknowledge({seq}, &batch);
  REQUIRE(pending.ok());
  WriteBatch other;
  CHECK(code(queue->PrepareMarkFailed(seq, kMissingParent, true, &other)) ==
        StatusCode::kFailedPrecondition);
  CHECK(other.empty());
  queue->FinishAcknowledge(*std::move(pending),
                           absl::AbortedError("not written"));
  REQUIRE(queue->MarkFailed(seq, kMissingParent).ok());

  // Open refuses bad arguments.
  CHECK(code(DurableRecordQueue::Open(nullptr, &clock, "c1")) ==
        StatusCode::kInvalidArgument);
  CHECK(code(DurableRecordQueue::Open(storage.get(), &clock, "a/b")) ==
        StatusCode::kInvalidArgument);
  CHECK(code(DurableRecordQueue::Open(storage.get(), &clock, "")) ==
        StatusCode::kInvalidArgument);
  RecordQueueOptions bad;
  bad.retry.jitter = 1.0;
  CHECK(code(DurableRecordQueue::Open(storage.get(), &clock, "c2", bad)) ==
        StatusCode::kInvalidArgument);
  bad = {};
  bad.retry.max_delay = absl::Seconds(1);
  CHECK(code(DurableRecordQueue::Open(storage.get(), &clock, "c2", bad)) ==
        StatusCode::kInvalidArgument);
  bad = {};
  bad.retry.max_attempts = 0;
  CHECK(code(DurableRecordQueue::Open(storage.get(), &clock, "c2", bad)) ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("R50: staged entries stay invisible until finished, in FIFO order") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto queue = OpenQueue(storage.get(), &clock);
  WriteBatch batch_a, batch_b;
  auto a = queue->PrepareEnqueue({Change("Account", "A")}, &batch_a);
  REQUIRE(a.ok());
  auto b = queue->PrepareEnqueue({Change("Account", "B")}, &batch_b);
  REQUIRE(b.ok());
  CHECK(a->sequences() == std::vector<uint64_t>{1});
  CHECK(b->sequences() == std::vector<uint64_t>{2});
  // B reaches storage first; it must not be handed out before A.
  REQUIRE(storage->Write(batch_b, {.sync = true}).ok());
  queue->FinishEnqueue(*std::move(b), absl::OkStatus());
  CHECK(queue->Count() == 1);
  auto ready = queue->Ready(clock.Now(), 10);
  REQUIRE(ready.ok());
  CHECK(ready->empty());
  auto listed = queue->List("", 10);
  REQUIRE(listed.ok());
  CHECK(listed->entries.empty());
  CHECK(queue->Get(2).status().code() == absl::StatusCode::kNotFound);
  REQUIRE(storage->Write(batch_a, {.sync = true}).ok());
  queue->FinishEnqueue(*std::move(a), absl::OkStatus());
  ready = queue->Ready(clock.Now(), 10);
  REQUIRE(ready.ok());
  CHECK(Sequences(*ready) == std::vector<uint64_t>{1, 2});

  // A token dropped without Finish counts as a failed write: nothing is
  // counted and later entries are not held back.
  {
    WriteBatch dropped;
    auto lost = queue->PrepareEnqueue({Change("Account", "C")}, &dropped);
    REQUIRE(lost.ok());
  }
  const uint64_t d = EnqueueOne(*queue, Change("Account", "D"));
  CHECK(d == 4);
  ready = queue->Ready(clock.Now(), 10);
  REQUIRE(ready.ok());
  CHECK(Sequences(*ready) == std::vector<uint64_t>{1, 2, 4});
  CHECK(queue->Count() == 3);
}

TEST_CASE("R50: 8 concurrent enqueuers get unique increasing numbers", "[threads]") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto queue = OpenQueue(storage.get(), &clock);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 150;
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<NewQueueEntry> entries(
            1 + i % 3, Change("T" + std::to_string(t), std::to_string(i)));
        auto sequences = queue->Enqueue(entries);
        if (!sequences.ok()) {
          ++failures;
          return;
        }
        got[t].insert(got[t].end(), sequences->begin(), sequences->end());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  REQUIRE(failures == 0);
  std::set<uint64_t> all;
  size_t total = 0;
  for (const auto& mine : got) {
    CHECK(std::is_sorted(mine.begin(), mine.end()));
    CHECK(std::adjacent_find(mine.begin(), mine.end()) == mine.end());
    all.insert(mine.begin(), mine.end());
    total += mine.size();
  }
  CHECK(all.size() == total);
  CHECK(queue->Count() == total);
  const std::vector<QueueEntry> listed = ListAll(*queue);
  CHECK(Sequences(listed) == std::vector<uint64_t>(all.begin(), all.end()));
}

TEST_CASE("R51: queue and log change in one atomic write") {
  auto memory = NewMemoryStorage();
  FaultInjectingStorage storage(memory.get());
  ManualClock clock;
  RetryPolicy policy = TestPolicy();
  policy.max_attempts = 1;
  auto queue = OpenQueue(&storage, &clock, policy);
  auto log = internal::DurableSyncLog::Open(&storage, &clock, "c1");
  REQUIRE(log.ok());
  const uint64_t seq = EnqueueOne(*queue, Change("Account", "001"));

  auto fail_and_log = [&](bool write_fails) {
    if (write_fails) {
      FailAllWrites(storage);
    } else {
      storage.ClearFaults();
    }
    WriteBatch batch;
    auto failure = queue->PrepareMarkFailed(seq, kMissingParent, true, &batch);
    REQUIRE(failure.ok());
    REQUIRE(failure->outcome().exhausted);
    const QueueEntry& entry = failure->outcome().entry;
    internal::NewLogEntry failed{entry.record,           entry.action,
                       LogStatus::kFailed,     kMissingParent.code,
                       kMissingParent.message, {},
                       entry.sequence,         entry.attempts};
    auto appended = (*log)->PrepareAppend({failed}, &batch);
    REQUIRE(appended.ok());
    const absl::Status written = storage.Write(batch, {.sync = true});
    queue->FinishMarkFailed(*std::move(failure), written);
    (*log)->FinishAppend(*std::move(appended), written);
    return written;
  };

  CHECK_FALSE(fail_and_log(true).ok());
  CHECK(queue->Count() == 1);
  CHECK((*log)->Count() == 0);
  REQUIRE(fail_and_log(false).ok());
  CHECK(queue->Count() == 0);
  CHECK((*log)->Count() == 1);
  log->reset();
  queue.reset();
  memory->SimulateCrash();
  queue = OpenQueue(memory.get(), &clock, policy);
  auto reopened = internal::DurableSyncLog::Open(memory.get(), &clock, "c1");
  REQUIRE(reopened.ok());
  CHECK(queue->Count() == 0);
  auto page = (*reopened)->Query({}, "", 10);
  REQUIRE(page.ok());
  REQUIRE(page->entries.size() == 1);
  CHECK(page->entries[0].queue_sequence == seq);
  CHECK(page->entries[0].status == LogStatus::kFailed);
}

TEST_CASE("R50: queues of different connections do not see each other") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto one = OpenQueue(storage.get(), &clock, TestPolicy(), "c1");
  auto two = OpenQueue(storage.get(), &clock, TestPolicy(), "c10");
  EnqueueOne(*one, Change("Account", "1"));
  EnqueueOne(*two, Change("Account", "2"));
  EnqueueOne(*two, Change("Account", "3"));
  CHECK(ListAll(*one).size() == 1);
  CHECK(ListAll(*two).size() == 2);
  auto pending = one->HasPending({"Account", "2"});
  REQUIRE(pending.ok());
  CHECK_FALSE(*pending);
}

}  // namespace
}  // namespace orgsync::record_queue_test

namespace orgsync::record_queue_test {
namespace {

NewQueueEntry Barrier(const std::string& object, const std::string& id) {
  NewQueueEntry entry = Change(object, id, QueueAction::kReplicationDelete);
  entry.barrier = true;
  return entry;
}

TEST_CASE(
    "R33, R50: a barrier waits for every earlier record entry and holds back "
    "every later one, not connection notices") {
  for (const auto& [name, make] : Harnesses()) {
    SECTION(name) {
      std::unique_ptr<ReopenableStorage> harness = make();
      ManualClock clock;
      auto queue = OpenQueue(harness->storage(), &clock);
      const uint64_t before = EnqueueOne(*queue, Change("Contact", "C1"));
      const uint64_t barrier = EnqueueOne(*queue, Barrier("Account", "A"));
      const uint64_t after = EnqueueOne(*queue, Change("Contact", "C2"));
      const uint64_t notice = EnqueueOne(
          *queue, NewQueueEntry{{}, QueueAction::kConnectionUpdate, "owner"});
      auto ready = queue->Ready(clock.Now(), 10);
      REQUIRE(ready.ok());
      CHECK(Sequences(*ready) == std::vector<uint64_t>{before, notice});

      // The earlier entry failing and waiting for its retry still holds the
      // barrier back: it is queued before it.
      auto failed = queue->MarkFailed(before, kMissingParent);
      REQUIRE(failed.ok());
      ready = queue->Ready(clock.Now(), 10);
      REQUIRE(ready.ok());
      CHECK(Sequences(*ready) == std::vector<uint64_t>{notice});

      // The flag survives a restart.
      queue.reset();
      harness->Reopen();
      queue = OpenQueue(harness->storage(), &clock);
      auto stored = queue->Get(barrier);
      REQUIRE(stored.ok());
      CHECK(stored->barrier);
      CHECK_FALSE(queue->Get(after)->barrier);

      REQUIRE(queue->Acknowledge(before).ok());
      ready = queue->Ready(clock.Now(), 10);
      REQUIRE(ready.ok());
      CHECK(Sequences(*ready) == std::vector<uint64_t>{barrier, notice});
      REQUIRE(queue->Acknowledge(barrier).ok());
      ready = queue->Ready(clock.Now(), 10);
      REQUIRE(ready.ok());
      CHECK(Sequences(*ready) == std::vector<uint64_t>{after, notice});
    }
  }
}

// Overwrites the stored values of `sequences` (queue "c1") with bytes no
// read can decode: a test of what is not read again.
void Garble(Storage& storage, const std::vector<uint64_t>& sequences) {
  WriteBatch garble;
  for (const uint64_t sequence : sequences) {
    garble.Put(internal::QueueKeys("c1").Entry(sequence), "unreadable");
  }
  REQUIRE(storage.Write(garble, WriteOptions{.sync = true}).ok());
}

// The sending window's walk (issue 10, "Fast core"): entries in flight are
// stepped over without being read, yet still order barriers (R33, R50).
class HoldingFilter final : public internal::ReadyFilter {
 public:
  HoldingFilter(std::set<uint64_t> held, size_t take_before_stop)
      : held_(std::move(held)), take_before_stop_(take_before_stop) {}
  std::optional<internal::HeldEntry> Held(uint64_t sequence) const override {
    if (!held_.contains(sequence)) return std::nullopt;
    return internal::HeldEntry{.action = QueueAction::kGenericUpdate,
                               .barrier = false};
  }
  Verdict Take(const QueueEntry&) override {
    if (taken_ == take_before_stop_) return Verdict::kStop;
    ++taken_;
    return Verdict::kTake;
  }

 private:
  const std::set<uint64_t> held_;
  const size_t take_before_stop_;
  size_t taken_ = 0;
};

TEST_CASE(
    "R50, R33: Ready steps over the entries its filter holds without reading "
    "them -- they still hold a barrier back, and kStop ends the walk") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto queue = OpenQueue(storage.get(), &clock);
  const uint64_t flying = EnqueueOne(*queue, Change("Contact", "C1"));
  const uint64_t second = EnqueueOne(*queue, Change("Contact", "C2"));
  const uint64_t barrier = EnqueueOne(*queue, Barrier("Account", "A"));
  // What is in flight is not read again: an unreadable value there would
  // fail any walk that reads it.
  Garble(*storage, {flying});
  CHECK(queue->Ready(clock.Now(), 10).status().code() ==
        absl::StatusCode::kDataLoss);

  HoldingFilter holding({flying}, /*take_before_stop=*/10);
  auto ready = queue->Ready(clock.Now(), 10, &holding);
  REQUIRE(ready.ok());
  // The barrier waits for the entry in flight ahead of it.
  CHECK(Sequences(*ready) == std::vector<uint64_t>{second});

  // kStop ends the walk with what was taken: here, before the first take.
  const uint64_t after = EnqueueOne(*queue, Change("Contact", "C3"));
  HoldingFilter stopping({flying}, /*take_before_stop=*/0);
  ready = queue->Ready(clock.Now(), 10, &stopping);
  REQUIRE(ready.ok());
  CHECK(ready->empty());
  CHECK(after > barrier);
}

// Counts the steps of the iterators it hands out.
class StepCountingStorage final : public ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;
  absl::StatusOr<std::unique_ptr<StorageIterator>> NewIterator(
      const ReadOptions& options = {}) override {
    absl::StatusOr<std::unique_ptr<StorageIterator>> inner =
        ForwardingStorage::NewIterator(options);
    if (!inner.ok()) return inner.status();
    return std::make_unique<Counting>(*std::move(inner), &nexts);
  }
  size_t nexts = 0;

 private:
  class Counting final : public StorageIterator {
   public:
    Counting(std::unique_ptr<StorageIterator> inner, size_t* nexts)
        : inner_(std::move(inner)), nexts_(nexts) {}
    bool Valid() const override { return inner_->Valid(); }
    void SeekToFirst() override { inner_->SeekToFirst(); }
    void SeekToLast() override { inner_->SeekToLast(); }
    void Seek(std::string_view target) override { inner_->Seek(target); }
    void Next() override {
      ++*nexts_;
      inner_->Next();
    }
    void Prev() override { inner_->Prev(); }
    std::string_view key() const override { return inner_->key(); }
    std::string_view value() const override { return inner_->value(); }
    absl::Status status() const override { return inner_->status(); }

   private:
    std::unique_ptr<StorageIterator> inner_;
    size_t* nexts_;
  };
};

// Holds the sequences it is given, with their shapes.
class ShapedFilter final : public internal::ReadyFilter {
 public:
  explicit ShapedFilter(std::map<uint64_t, internal::HeldEntry> held)
      : held_(std::move(held)) {}
  std::optional<internal::HeldEntry> Held(uint64_t sequence) const override {
    auto it = held_.find(sequence);
    if (it == held_.end()) return std::nullopt;
    return it->second;
  }
  Verdict Take(const QueueEntry&) override { return Verdict::kTake; }

 private:
  const std::map<uint64_t, internal::HeldEntry> held_;
};

TEST_CASE(
    "R50, R33: Ready skips a run of entries its filter holds with one seek, "
    "and a barrier among them still holds back what follows") {
  auto memory = NewMemoryStorage();
  StepCountingStorage storage(memory.get());
  ManualClock clock;
  auto queue = OpenQueue(&storage, &clock);
  std::map<uint64_t, internal::HeldEntry> window;
  for (int i = 0; i < 40; ++i) {
    const uint64_t sequence =
        EnqueueOne(*queue, Change("Contact", "C" + std::to_string(i)));
    window[sequence] = {.action = QueueAction::kGenericUpdate,
                        .barrier = false};
  }
  const uint64_t due = EnqueueOne(*queue, Change("Contact", "D"));
  Garble(*memory, {window.begin()->first, std::prev(window.end())->first});

  ShapedFilter holding(window);
  storage.nexts = 0;
  auto ready = queue->Ready(clock.Now(), 10, &holding);
  REQUIRE(ready.ok());
  CHECK(Sequences(*ready) == std::vector<uint64_t>{due});
  // One step off the held entry the walk met first, not forty.
  CHECK(storage.nexts <= 2);

  // The same window with a barrier in the middle of it.
  window[window.begin()->first + 20].barrier = true;
  ShapedFilter fenced(window);
  ready = queue->Ready(clock.Now(), 10, &fenced);
  REQUIRE(ready.ok());
  CHECK(ready->empty());
}

TEST_CASE(
    "R50: an acknowledgement of entries the sender holds removes them "
    "without reading them back, once") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto queue = OpenQueue(storage.get(), &clock);
  EnqueueOne(*queue, Change("Contact", "C1"));
  EnqueueOne(*queue, Change("Contact", "C2"));
  auto ready = queue->Ready(clock.Now(), 10);
  REQUIRE(ready.ok());
  REQUIRE(ready->size() == 2);
  Garble(*storage, Sequences(*ready));

  WriteBatch batch;
  auto removal = queue->PrepareAcknowledgeSent(*ready, &batch);
  REQUIRE(removal.ok());
  // While one removal is between Prepare and Finish, a second is refused.
  WriteBatch other;
  CHECK(queue->PrepareAcknowledgeSent(*ready, &other).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  const absl::Status written = storage->Write(batch, WriteOptions{.sync = true});
  REQUIRE(written.ok());
  queue->FinishAcknowledge(*std::move(removal), written);
  CHECK(queue->Count() == 0);
  CHECK(queue->Get(ready->front().sequence).status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(queue->Ready(clock.Now(), 10)->empty());
}

TEST_CASE("Design rule 7: only record changes can be barriers") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto queue = OpenQueue(storage.get(), &clock);
  NewQueueEntry notice{{}, QueueAction::kConnectionUpdate, "owner"};
  notice.barrier = true;
  const absl::StatusOr<std::vector<uint64_t>> refused =
      queue->Enqueue({notice});
  CHECK(absl::IsInvalidArgument(refused.status()));
  CHECK(std::string(refused.status().message()).find("barrier") !=
        std::string::npos);
  CHECK(queue->Count() == 0);
}

}  // namespace
}  // namespace orgsync::record_queue_test
