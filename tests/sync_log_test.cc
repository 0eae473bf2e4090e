// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "log/durable_sync_log.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fmt/format.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/schema.h"
#include "orgsync/subscription_map.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/storage.h"
#include "testing/fault_storage.h"
#include "testing/storage_testing.h"
#include "proto/common.pb.h"

namespace orgsync::sync_log_test {
namespace {

using internal::NewLogEntry;
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

std::unique_ptr<internal::DurableSyncLog> OpenLog(Storage* storage, Clock* clock,
                                 SyncLogOptions options = {}) {
  auto log = internal::DurableSyncLog::Open(storage, clock, "c1", options);
  REQUIRE(log.ok());
  return *std::move(log);
}

NewLogEntry Entry(const std::string& object, const std::string& id,
                  LogStatus status = LogStatus::kFailed,
                  QueueAction action = QueueAction::kGenericUpdate,
                  SyncErrorCode error = SyncErrorCode::kMissingParent) {
  NewLogEntry entry;
  entry.record = {object, id};
  entry.action = action;
  entry.status = status;
  entry.error = error;
  entry.description = "could not sync " + object + " " + id;
  return entry;
}

uint64_t AppendOne(internal::DurableSyncLog& log, const NewLogEntry& entry) {
  auto event = log.Append(entry);
  REQUIRE(event.ok());
  return *event;
}

std::vector<uint64_t> Events(const std::vector<LogEntry>& entries) {
  std::vector<uint64_t> events;
  for (const LogEntry& entry : entries) events.push_back(entry.event);
  return events;
}

std::vector<LogEntry> QueryAll(const SyncLog& log, const LogQuery& query,
                               size_t page_size = 1000) {
  std::vector<LogEntry> all;
  std::string token;
  do {
    auto page = log.Query(query, token, page_size);
    REQUIRE(page.ok());
    all.insert(all.end(), page->entries.begin(), page->entries.end());
    token = page->next_page_token;
  } while (!token.empty());
  return all;
}

TEST_CASE(
    "R53: an entry has event, record, action, time, status, error, text") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto log = OpenLog(storage.get(), &clock);
  NewLogEntry in = Entry("Account", "001", LogStatus::kInfo,
                         QueueAction::kGenericUpdate, SyncErrorCode::kConflict);
  in.details = {{"Phone (ours)", "555-0100"}, {"Phone (theirs)", "555-0199"}};
  in.queue_sequence = 17;
  in.attempts = 2;
  const uint64_t event = AppendOne(*log, in);
  CHECK(event == 1);
  auto entry = log->Get(event);
  REQUIRE(entry.ok());
  CHECK(entry->event == event);
  CHECK(entry->time == clock.Now());
  CHECK(entry->record == in.record);
  CHECK(entry->action == in.action);
  CHECK(entry->status == LogStatus::kInfo);
  CHECK(entry->error == SyncErrorCode::kConflict);
  CHECK(entry->description == in.description);
  CHECK(entry->details == in.details);
  CHECK(entry->queue_sequence == 17);
  CHECK(entry->attempts == 2);
  CHECK(log->Get(2).status().code() == absl::StatusCode::kNotFound);
  CHECK(log->Get(0).status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("The public names compose with absl::StrCat, fmt and literals") {
  // Debian's absl::string_view is not std::string_view: names returned as
  // std::string_view did not compile in absl::StrCat.
  CHECK(absl::StrCat(SyncErrorCodeName(SyncErrorCode::kConflict), " ",
                     LogStatusName(LogStatus::kRetrying), " ",
                     QueueActionName(QueueAction::kGenericUpdate), " ",
                     ConnectionStatusName(ConnectionStatus::kActive), " ",
                     HistoryEventName(HistoryEvent::kAdminSuspended), " ",
                     FieldTypeName(FieldType::kText), " ",
                     SyncDirectionName(SyncDirection::kTwoWay)) ==
        fmt::format("{} {} {} {} {} {} {}", "CONFLICT", "Retrying",
                    QueueActionName(QueueAction::kGenericUpdate), "Active",
                    "Connection Admin Suspended",
                    FieldTypeName(FieldType::kText),
                    SyncDirectionName(SyncDirection::kTwoWay)));
  CHECK(SyncErrorCodeName(SyncErrorCode::kStorage) == "STORAGE");
  // One object per name: a reference stays valid and equal.
  CHECK(&ConnectionTypeName(ConnectionType::kReplication) ==
        &ConnectionTypeName(ConnectionType::kReplication));
}

TEST_CASE("R53: error codes mirror the proto, with stable names and text") {
  std::set<std::string> names;
  for (SyncErrorCode code : kAllSyncErrorCodes) {
    const int number = static_cast<int>(code);
    CHECK(proto::ErrorCode_IsValid(number));
    // The public name is the proto name without its ERROR_ prefix.
    CHECK("ERROR_" + std::string(SyncErrorCodeName(code)) ==
          proto::ErrorCode_Name(static_cast<proto::ErrorCode>(number)));
    CHECK_FALSE(SyncErrorCodeDescription(code).empty());
    names.insert(std::string(SyncErrorCodeName(code)));
    auto parsed = ParseSyncErrorCode(SyncErrorCodeName(code));
    REQUIRE(parsed.ok());
    CHECK(*parsed == code);
    auto by_number = SyncErrorCodeFromNumber(number);
    REQUIRE(by_number.ok());
    CHECK(*by_number == code);
  }
  CHECK(names.size() == kAllSyncErrorCodes.size());
  CHECK(ParseSyncErrorCode("missing_parent").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(SyncErrorCodeFromNumber(static_cast<int>(kAllSyncErrorCodes.size()))
            .status()
            .code() ==
        absl::StatusCode::kInvalidArgument);
  for (LogStatus status : kAllLogStatuses) {
    auto parsed = ParseLogStatus(LogStatusName(status));
    REQUIRE(parsed.ok());
    CHECK(*parsed == status);
  }
  CHECK(LogStatusName(LogStatus::kRetrying) == "Retrying");
  CHECK(LogStatusName(LogStatus::kResolved) == "Resolved");
}

TEST_CASE("R53: event numbers grow and are never reused, even after pruning") {
  for (const auto& [name, make] : Harnesses()) {
    DYNAMIC_SECTION("storage: " << name) {
      auto harness = make();
      ManualClock clock;
      SyncLogOptions options;
      options.max_entries = 1;
      options.prune_every = 0;
      uint64_t last = 0;
      {
        auto log = OpenLog(harness->storage(), &clock, options);
        std::vector<NewLogEntry> entries(5, Entry("Account", "1"));
        auto events = log->Append(entries);
        REQUIRE(events.ok());
        CHECK(*events == std::vector<uint64_t>{1, 2, 3, 4, 5});
        last = events->back();
        auto removed = log->Prune();
        REQUIRE(removed.ok());
        CHECK(*removed == 4);
      }
      harness->Reopen();
      {
        SyncLogOptions age_only;
        age_only.max_age = absl::Hours(1);
        auto log = OpenLog(harness->storage(), &clock, age_only);
        CHECK(log->Count() == 1);
        // Prune the last entry too, so no entry key holds the number.
        clock.Advance(absl::Hours(2));
        auto removed = log->Prune();
        REQUIRE(removed.ok());
        CHECK(*removed == 1);
        CHECK(log->Count() == 0);
      }
      harness->Reopen();
      auto log = OpenLog(harness->storage(), &clock);
      CHECK(AppendOne(*log, Entry("Account", "1")) == last + 1);
    }
  }
}

TEST_CASE("R54: queries by time range, object, record, status and action") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto log = OpenLog(storage.get(), &clock);
  const absl::Time t0 = clock.Now();
  // Ten minutes, one entry a minute, varied.
  struct Spec {
    std::string object, id;
    LogStatus status;
    QueueAction action;
  };
  const std::vector<Spec> specs = {
      {"Account", "A1", LogStatus::kRetrying, QueueAction::kGenericUpdate},
      {"Account", "A1", LogStatus::kResolved, QueueAction::kGenericUpdate},
      {"Contact", "C1", LogStatus::kRetrying, QueueAction::kGenericInsert},
      {"Account", "A2", LogStatus::kFailed, QueueAction::kReplicationDelete},
      {"Contact", "C1", LogStatus::kFailed, QueueAction::kGenericInsert},
      {"", "", LogStatus::kFailed, QueueAction::kTypeMapUpdate},
      {"Account", "A1", LogStatus::kRetrying, QueueAction::kGenericUpdate},
      {"Account", "A10", LogStatus::kInfo, QueueAction::kGenericUpdate},
      {"Acc", "ount", LogStatus::kFailed, QueueAction::kGenericUpdate},
      {"Contact", "C2", LogStatus::kResolved, QueueAction::kGenericUpdate},
  };
  std::vector<LogEntry> expected_all;
  for (const Spec& spec : specs) {
    const SyncErrorCode error =
        spec.status == LogStatus::kResolved || spec.status == LogStatus::kInfo
            ? SyncErrorCode::kNone
            : SyncErrorCode::kValidation;
    const uint64_t event = AppendOne(
        *log, Entry(spec.object, spec.id, spec.status, spec.action, error));
    auto stored = log->Get(event);
    REQUIRE(stored.ok());
    expected_all.push_back(*stored);
    clock.Advance(absl::Minutes(1));
  }
  // The reference answer: filter all entries in memory.
  auto expect = [&](const LogQuery& query) {
    std::vector<uint64_t> events;
    for (const LogEntry& e : expected_all) {
      if (query.since && e.time < *query.since) continue;
      if (query.until && e.time >= *query.until) continue;
      if (query.object && e.record.object != *query.object) continue;
      if (query.record_id && e.record.id != *query.record_id) continue;
      if (query.status && e.status != *query.status) continue;
      if (query.action && e.action != *query.action) continue;
      events.push_back(e.event);
    }
    if (query.newest_first) std::reverse(events.begin(), events.end());
    return events;
  };
  std::vector<LogQuery> queries;
  for (bool newest_first : {true, false}) {
    LogQuery q;
    q.newest_first = newest_first;
    queries.push_back(q);
    LogQuery by_time = q;
    by_time.since = t0 + absl::Minutes(2);
    by_time.until = t0 + absl::Minutes(7);
    queries.push_back(by_time);
    LogQuery by_object = q;
    by_object.object = "Account";
    queries.push_back(by_object);
    LogQuery by_record = by_object;
    by_record.record_id = "A1";
    queries.push_back(by_record);
    LogQuery by_status = q;
    by_status.status = LogStatus::kFailed;
    queries.push_back(by_status);
    LogQuery by_action = q;
    by_action.action = QueueAction::kGenericInsert;
    queries.push_back(by_action);
    LogQuery status_and_action = by_status;
    status_and_action.action = QueueAction::kGenericUpdate;
    queries.push_back(status_and_action);
    LogQuery record_and_status = by_record;
    record_and_status.status = LogStatus::kRetrying;
    queries.push_back(record_and_status);
    LogQuery object_time_action = by_object;
    object_time_action.since = t0 + absl::Seconds(90);
    object_time_action.action = QueueAction::kGenericUpdate;
    queries.push_back(object_time_action);
    LogQuery empty_range = q;
    empty_range.since = t0 + absl::Hours(1);
    queries.push_back(empty_range);
  }
  for (size_t i = 0; i < queries.size(); ++i) {
    INFO("query " << i);
    const std::vector<uint64_t> want = expect(queries[i]);
    CHECK(Events(QueryAll(*log, queries[i])) == want);
    CHECK(Events(QueryAll(*log, queries[i], 2)) == want);
    auto count = log->Count(queries[i]);
    REQUIRE(count.ok());
    CHECK(*count == want.size());
  }
  // Spot checks that the reference itself is right.
  LogQuery by_record;
  by_record.object = "Account";
  by_record.record_id = "A1";
  by_record.newest_first = false;
  CHECK(Events(QueryAll(*log, by_record)) == std::vector<uint64_t>{1, 2, 7});

  LogQuery bad;
  bad.record_id = "A1";
  CHECK(log->Query(bad, "", 10).status().code() ==
        absl::StatusCode::kInvalidArgument);
  bad = {};
  bad.since = t0 + absl::Minutes(5);
  bad.until = t0;
  CHECK(log->Count(bad).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(log->Query({}, "x12", 10).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(log->Query({}, "", 0).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("R54: paging visits every entry exactly once in either order") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto log = OpenLog(storage.get(), &clock);
  std::vector<NewLogEntry> entries;
  for (int i = 0; i < 23; ++i) {
    entries.push_back(Entry("Case", std::to_string(i % 5)));
  }
  auto events = log->Append(entries);
  REQUIRE(events.ok());
  for (bool newest_first : {true, false}) {
    LogQuery query;
    query.newest_first = newest_first;
    std::vector<uint64_t> seen;
    std::string token;
    int pages = 0;
    do {
      auto page = log->Query(query, token, 5);
      REQUIRE(page.ok());
      CHECK(page->entries.size() <= 5);
      for (const LogEntry& e : page->entries) seen.push_back(e.event);
      token = page->next_page_token;
      ++pages;
    } while (!token.empty());
    CHECK(pages == 5);
    std::vector<uint64_t> want = *events;
    if (newest_first) std::reverse(want.begin(), want.end());
    CHECK(seen == want);
  }
  // Entries appended while paging oldest-first show up on a later page.
  LogQuery oldest_first;
  oldest_first.newest_first = false;
  auto first = log->Query(oldest_first, "", 20);
  REQUIRE(first.ok());
  const uint64_t late = AppendOne(*log, Entry("Case", "late"));
  std::vector<uint64_t> rest;
  std::string token = first->next_page_token;
  while (!token.empty()) {
    auto page = log->Query(oldest_first, token, 20);
    REQUIRE(page.ok());
    for (const LogEntry& e : page->entries) rest.push_back(e.event);
    token = page->next_page_token;
  }
  CHECK(rest == std::vector<uint64_t>{21, 22, 23, late});
}

TEST_CASE("R54: counts by action and status, and the last 24 hours") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto log = OpenLog(storage.get(), &clock);
  AppendOne(*log, Entry("Account", "old", LogStatus::kFailed));
  clock.Advance(absl::Hours(30));
  AppendOne(*log, Entry("Account", "1", LogStatus::kRetrying));
  clock.Advance(absl::Hours(1));
  AppendOne(*log, Entry("Account", "1", LogStatus::kResolved,
                        QueueAction::kGenericUpdate, SyncErrorCode::kNone));
  AppendOne(*log, Entry("Contact", "2", LogStatus::kFailed,
                        QueueAction::kReplicationDelete));
  CHECK(log->Count() == 4);
  CHECK(log->CountByStatus() ==
        std::map<LogStatus, uint64_t>{{LogStatus::kFailed, 2},
                                      {LogStatus::kRetrying, 1},
                                      {LogStatus::kResolved, 1}});
  CHECK(log->CountByAction() ==
        std::map<QueueAction, uint64_t>{{QueueAction::kGenericUpdate, 3},
                                        {QueueAction::kReplicationDelete, 1}});
  auto last_day = log->CountLast24Hours();
  REQUIRE(last_day.ok());
  CHECK(*last_day == 3);
  auto page = log->Last24Hours("", 2);
  REQUIRE(page.ok());
  CHECK(Events(page->entries) == std::vector<uint64_t>{4, 3});
  auto next = log->Last24Hours(page->next_page_token, 2);
  REQUIRE(next.ok());
  CHECK(Events(next->entries) == std::vector<uint64_t>{2});
  CHECK(next->next_page_token.empty());
}

TEST_CASE("R54: observers see each new entry once, after it is durable") {
  auto memory = NewMemoryStorage();
  FaultInjectingStorage storage(memory.get());
  ManualClock clock;
  auto log = OpenLog(&storage, &clock);
  std::vector<uint64_t> seen;
  std::vector<size_t> unsynced_when_called;
  std::vector<bool> readable_when_called;
  auto id = log->AddObserver([&](const LogEntry& entry) {
    seen.push_back(entry.event);
    unsynced_when_called.push_back(memory->UnsyncedBatchCount());
    // Observers run outside the log's locks: they may read it.
    readable_when_called.push_back(log->Get(entry.event).ok());
  });
  REQUIRE(id.ok());
  AppendOne(*log, Entry("Account", "1"));
  auto two = log->Append({Entry("Account", "2"), Entry("Account", "3")});
  REQUIRE(two.ok());
  FailAllWrites(storage);
  CHECK_FALSE(log->Append(Entry("Account", "4")).ok());
  storage.ClearFaults();
  CHECK(seen == std::vector<uint64_t>{1, 2, 3});
  CHECK(unsynced_when_called == std::vector<size_t>{0, 0, 0});
  CHECK(readable_when_called == std::vector<bool>{true, true, true});
  REQUIRE(log->RemoveObserver(*id).ok());
  AppendOne(*log, Entry("Account", "5"));
  CHECK(seen.size() == 3);
  CHECK(log->RemoveObserver(*id).code() == absl::StatusCode::kNotFound);
  CHECK(log->AddObserver(nullptr).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("R54: an observer may append, and its entry is delivered after") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto log = OpenLog(storage.get(), &clock);
  std::vector<std::string> seen;
  auto id = log->AddObserver([&](const LogEntry& entry) {
    seen.push_back(entry.record.id);
    if (entry.record.id == "trigger") {
      // Like the seed's trigger example: react to an entry with another one.
      REQUIRE(
          log->Append(Entry("Account", "reaction", LogStatus::kInfo,
                            QueueAction::kGenericUpdate, SyncErrorCode::kNone))
              .ok());
    }
  });
  REQUIRE(id.ok());
  AppendOne(*log, Entry("Account", "trigger"));
  CHECK(seen == std::vector<std::string>{"trigger", "reaction"});
}

TEST_CASE("R54: a staged entry is observed only when its write finishes") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto log = OpenLog(storage.get(), &clock);
  std::vector<uint64_t> seen;
  REQUIRE(log->AddObserver([&](const LogEntry& e) { seen.push_back(e.event); })
              .ok());
  WriteBatch first_batch, second_batch;
  auto first = log->PrepareAppend({Entry("A", "1")}, &first_batch);
  REQUIRE(first.ok());
  auto second = log->PrepareAppend({Entry("A", "2")}, &second_batch);
  REQUIRE(second.ok());
  REQUIRE(storage->Write(second_batch, {.sync = true}).ok());
  log->FinishAppend(*std::move(second), absl::OkStatus());
  // Event 2 waits for event 1, so observers see event order.
  CHECK(seen.empty());
  CHECK(log->Get(2).status().code() == absl::StatusCode::kNotFound);
  REQUIRE(storage->Write(first_batch, {.sync = true}).ok());
  log->FinishAppend(*std::move(first), absl::OkStatus());
  CHECK(seen == std::vector<uint64_t>{1, 2});
  // A failed write is never observed and does not hold back later ones.
  WriteBatch lost_batch;
  auto lost = log->PrepareAppend({Entry("A", "3")}, &lost_batch);
  REQUIRE(lost.ok());
  AppendOne(*log, Entry("A", "4"));
  CHECK(seen == std::vector<uint64_t>{1, 2});
  log->FinishAppend(*std::move(lost), absl::UnavailableError("disk full"));
  CHECK(seen == std::vector<uint64_t>{1, 2, 4});
  CHECK(log->Count() == 3);
}

TEST_CASE("R54: 8 concurrent appenders, each entry observed once in order", "[threads]") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto log = OpenLog(storage.get(), &clock);
  internal::Mutex mu;
  std::vector<uint64_t> seen;
  REQUIRE(log->AddObserver([&](const LogEntry& entry) {
               internal::MutexLock lock(&mu);
               seen.push_back(entry.event);
             })
              .ok());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!log->Append(Entry("T", std::to_string(t))).ok()) ++failures;
        if (i % 10 == 0) clock.Advance(absl::Seconds(1));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(failures == 0);
  internal::MutexLock lock(&mu);
  REQUIRE(seen.size() == kThreads * kPerThread);
  for (size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == i + 1);
  // Time never goes backwards along event numbers.
  LogQuery oldest_first;
  oldest_first.newest_first = false;
  const std::vector<LogEntry> all = QueryAll(*log, oldest_first);
  REQUIRE(all.size() == seen.size());
  for (size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].time <= all[i].time);
}

TEST_CASE("R54: retention prunes the oldest entries and their index keys") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  const size_t empty_keys = storage->KeyCount();
  SyncLogOptions options;
  options.max_entries = 3;
  options.max_age = absl::Hours(2);
  options.prune_every = 0;
  auto log = OpenLog(storage.get(), &clock, options);
  for (int i = 0; i < 6; ++i) {
    AppendOne(*log, Entry("Account", std::to_string(i)));
    clock.Advance(absl::Minutes(30));
  }
  auto removed = log->Prune();
  REQUIRE(removed.ok());
  CHECK(*removed == 3);
  LogQuery oldest_first;
  oldest_first.newest_first = false;
  CHECK(Events(QueryAll(*log, oldest_first)) == std::vector<uint64_t>{4, 5, 6});
  LogQuery by_record;
  by_record.object = "Account";
  by_record.record_id = "0";
  CHECK(QueryAll(*log, by_record).empty());
  CHECK(log->CountByStatus().at(LogStatus::kFailed) == 3);
  // Entry 4 was appended at 1h30; at 4h it is older than two hours, entry
  // 5 (2h) is not.
  clock.Advance(absl::Hours(1));
  removed = log->Prune();
  REQUIRE(removed.ok());
  CHECK(*removed == 1);
  CHECK(log->Count() == 2);
  clock.Advance(absl::Hours(3));
  removed = log->Prune();
  REQUIRE(removed.ok());
  CHECK(*removed == 2);
  CHECK(log->Count() == 0);
  CHECK(log->CountByStatus().empty());
  // Nothing is left but the high-water mark.
  CHECK(storage->KeyCount() == empty_keys + 1);
}

TEST_CASE("R54: retention runs automatically every N appends") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  SyncLogOptions options;
  options.max_entries = 10;
  options.prune_every = 5;
  auto log = OpenLog(storage.get(), &clock, options);
  for (int i = 0; i < 24; ++i) AppendOne(*log, Entry("Account", "x"));
  // Pruned after appends 15 and 20, not yet after 24.
  CHECK(log->Count() == 14);
  AppendOne(*log, Entry("Account", "x"));
  CHECK(log->Count() == 10);
  LogQuery oldest_first;
  oldest_first.newest_first = false;
  auto oldest = log->Query(oldest_first, "", 1);
  REQUIRE(oldest.ok());
  CHECK(oldest->entries.front().event == 16);
}

TEST_CASE("R53: reopening restores the same log, counts and indexes") {
  for (const auto& [name, make] : Harnesses()) {
    DYNAMIC_SECTION("storage: " << name) {
      auto harness = make();
      ManualClock clock;
      std::vector<LogEntry> before;
      std::map<LogStatus, uint64_t> statuses;
      std::map<QueueAction, uint64_t> actions;
      {
        auto log = OpenLog(harness->storage(), &clock);
        for (int i = 0; i < 9; ++i) {
          AppendOne(*log,
                    Entry(i % 2 ? "Account" : "Contact", std::to_string(i % 3),
                          i % 3 ? LogStatus::kFailed : LogStatus::kRetrying,
                          i % 4 ? QueueAction::kGenericUpdate
                                : QueueAction::kGenericInsert));
          clock.Advance(absl::Seconds(7));
        }
        before = QueryAll(*log, {});
        statuses = log->CountByStatus();
        actions = log->CountByAction();
      }
      harness->Reopen();
      auto log = OpenLog(harness->storage(), &clock);
      const std::vector<LogEntry> after = QueryAll(*log, {});
      REQUIRE(after.size() == before.size());
      for (size_t i = 0; i < after.size(); ++i) {
        CHECK(after[i].event == before[i].event);
        CHECK(after[i].time == before[i].time);
        CHECK(after[i].record == before[i].record);
        CHECK(after[i].status == before[i].status);
        CHECK(after[i].action == before[i].action);
        CHECK(after[i].description == before[i].description);
      }
      CHECK(log->CountByStatus() == statuses);
      CHECK(log->CountByAction() == actions);
      LogQuery by_object;
      by_object.object = "Account";
      auto count = log->Count(by_object);
      REQUIRE(count.ok());
      CHECK(*count == 4);
      CHECK(AppendOne(*log, Entry("Account", "n")) == before.front().event + 1);
    }
  }
}

TEST_CASE("R54: after Append returns, the entry survives a crash") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto log = OpenLog(storage.get(), &clock);
  const uint64_t event = AppendOne(*log, Entry("Account", "1"));
  log.reset();
  storage->SimulateCrash();
  log = OpenLog(storage.get(), &clock);
  CHECK(log->Get(event).ok());
  CHECK(log->Count() == 1);
}

TEST_CASE("Design rule 7: bad log entries are refused and change nothing") {
  auto memory = NewMemoryStorage();
  FaultInjectingStorage storage(memory.get());
  ManualClock clock;
  auto log = OpenLog(&storage, &clock);
  int observed = 0;
  REQUIRE(log->AddObserver([&](const LogEntry&) { ++observed; }).ok());
  const size_t keys_before = memory->KeyCount();
  using absl::StatusCode;
  auto refused = [&](NewLogEntry entry) {
    return log->Append(entry).status().code() == StatusCode::kInvalidArgument;
  };
  CHECK(refused(Entry("Account", "1", LogStatus::kFailed,
                      QueueAction::kGenericUpdate, SyncErrorCode::kNone)));
  CHECK(refused(Entry("Account", "1", LogStatus::kRetrying,
                      QueueAction::kGenericUpdate, SyncErrorCode::kNone)));
  CHECK(refused(Entry("", "1")));
  CHECK(refused(Entry("Account", "1", static_cast<LogStatus>(0))));
  CHECK(refused(
      Entry("Account", "1", LogStatus::kFailed, static_cast<QueueAction>(0))));
  CHECK(refused(Entry("Account", "1", LogStatus::kFailed,
                      QueueAction::kGenericUpdate,
                      static_cast<SyncErrorCode>(40))));
  NewLogEntry long_text = Entry("Account", "1");
  long_text.description.assign(SyncLogOptions{}.max_text_bytes + 1, 'x');
  CHECK(refused(long_text));
  NewLogEntry empty_key = Entry("Account", "1");
  empty_key.details = {{"", "v"}};
  CHECK(refused(empty_key));
  auto mixed = log->Append({Entry("Account", "ok"), Entry("", "bad")});
  CHECK(mixed.status().code() == StatusCode::kInvalidArgument);
  CHECK(std::string(mixed.status().message()).find("entry 1") !=
        std::string::npos);
  CHECK(log->Append(absl::Span<const NewLogEntry>()).status().code() ==
        StatusCode::kInvalidArgument);
  FailAllWrites(storage);
  CHECK(log->Append(Entry("Account", "1")).status().code() ==
        StatusCode::kUnavailable);
  CHECK(memory->KeyCount() == keys_before);
  CHECK(log->Count() == 0);
  CHECK(log->CountByStatus().empty());
  CHECK(observed == 0);
  CHECK(internal::DurableSyncLog::Open(&storage, nullptr, "c1").status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(internal::DurableSyncLog::Open(&storage, &clock, "c/1").status().code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("Issue 8 finding 7: a log opened with the default options is "
          "bounded: entries older than 90 days are pruned") {
  auto harness = Harnesses().begin()->second();
  ManualClock clock;
  auto log = OpenLog(harness->storage(), &clock, SyncLogOptions{});
  REQUIRE(log->Append({Entry("Account", "1")}).ok());
  clock.Advance(absl::Hours(24 * 89));
  REQUIRE(log->Append({Entry("Account", "2")}).ok());
  auto removed = log->Prune();
  REQUIRE(removed.ok());
  CHECK(*removed == 0);
  clock.Advance(absl::Hours(24 * 2));
  removed = log->Prune();
  REQUIRE(removed.ok());
  CHECK(*removed == 1);
  CHECK(log->Count() == 1);
  CHECK(SyncLogOptions{}.max_entries > 0);
}

}  // namespace
}  // namespace orgsync::sync_log_test
