// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// One set of envelope limits (DESIGN.md rule 10): the sender packs record
// changes into envelopes the partner's decoder accepts (bytes and wire
// elements), a change that can never fit fails at once with its reason, and
// an envelope the receiver refuses is answered with a ProtocolError, which
// the sender counts as a failed attempt (R51) and answers by splitting.

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_queue.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/sync_log.h"
#include "testing/connection_fixture.h"
#include "testing/crm_schema.h"
#include "testing/storage_testing.h"

namespace orgsync {
namespace {

using testing::LogOf;
using testing::RequireOk;
using testing::TwoOrgs;
using testing::TwoOrgsConfig;

constexpr char kWide[] = "Wide";

std::string FieldName(size_t i) { return fmt::format("F{:03}", i); }

// One publishable object of `field_count` text fields.
ObjectDef WideObject(size_t field_count) {
  std::vector<FieldDef> fields;
  for (size_t i = 0; i < field_count; ++i) {
    fields.push_back(testing::Field(FieldName(i), FieldType::kText, 255));
  }
  return testing::Object(kWide, std::move(fields));
}

// Two orgs with the wide object and a RecordStore each, connected (every
// option off, so the connection is Active at once), the primary publishing
// the object and the secondary subscribing it.
struct WideWorld {
  WideWorld(size_t field_count, DeliveryOptions delivery = {}) {
    RequireOk(primary_schema.AddObject(WideObject(field_count)));
    RequireOk(secondary_schema.AddObject(WideObject(field_count)));
    TwoOrgsConfig config;
    config.primary_schema = &primary_schema;
    config.secondary_schema = &secondary_schema;
    config.delivery = delivery;
    config.primary_record_store = primary_store.get();
    config.secondary_record_store = secondary_store.get();
    t = std::make_unique<TwoOrgs>(1, testing::NewReopenableMemoryStorage(),
                                  testing::NewReopenableMemoryStorage(),
                                  std::move(config));
    store_clock.target = &t->clock;
    InvitationOptions options = testing::DefaultInvitation();
    options.sync = {};
    std::tie(p, s) = t->Connect(options);
    REQUIRE(p->status() == ConnectionStatus::kActive);
    RequireOk(p->publish_set()->PublishObjects({kWide}));
    REQUIRE(t->Settle());
    RequireOk(s->subscription_map()->Subscribe(kWide));
    REQUIRE(t->Settle());
    REQUIRE(p->publish_set()->IsPartnerSubscribed(kWide));
  }

  // Inserts `count` records of `field_count` filled fields into the
  // primary's store and captures them with one CaptureBatch.
  void InsertAndCapture(size_t count, size_t field_count) {
    std::vector<LocalChange> changes;
    for (size_t r = 0; r < count; ++r) {
      Record record;
      record.object = kWide;
      for (size_t f = 0; f < field_count; ++f) {
        record.fields[FieldName(f)] = fmt::format("{}", r % 100);
      }
      absl::StatusOr<Record> inserted =
          primary_store->Insert(std::move(record), ApplyContext{});
      RequireOk(inserted.status());
      LocalChange change;
      change.kind = ChangeKind::kInsert;
      change.record = *std::move(inserted);
      changes.push_back(std::move(change));
    }
    absl::StatusOr<std::vector<CaptureResult>> captured =
        p->CaptureBatch(changes);
    RequireOk(captured.status());
    for (const CaptureResult& result : *captured) REQUIRE(result.captured);
  }

  size_t Arrived() {
    size_t count = 0;
    RequireOk(secondary_store->Scan(kWide, absl::InfinitePast(),
                                    [&](const Record&) {
                                      ++count;
                                      return true;
                                    }));
    return count;
  }

  // Steps both orgs up to `rounds` rounds, the clock moving 31 s a round
  // (past the default ack timeout), until nothing is queued or in flight.
  void Run(size_t rounds) {
    for (size_t round = 0; round < rounds; ++round) {
      if (p->record_queue()->Count() == 0 && s->record_queue()->Count() == 0 &&
          t->pair.InFlight() == 0) {
        return;
      }
      t->Pump(absl::Seconds(31));
    }
  }

  std::unique_ptr<RecordStore> NewStore(std::string id_prefix) {
    RecordStoreOptions options;
    options.clock = &store_clock;
    options.id_prefix = std::move(id_prefix);
    return NewInMemoryRecordStore(std::move(options));
  }

  Schema primary_schema;
  Schema secondary_schema;
  testing::ForwardingClock store_clock;
  std::unique_ptr<RecordStore> primary_store = NewStore("P-");
  std::unique_ptr<RecordStore> secondary_store = NewStore("S-");
  std::unique_ptr<TwoOrgs> t;
  Connection* p = nullptr;
  Connection* s = nullptr;
};

size_t CountStatus(const std::vector<LogEntry>& log, LogStatus status) {
  size_t count = 0;
  for (const LogEntry& entry : log) count += entry.status == status;
  return count;
}

// Steps the wide world until all `records` arrived, as issue 8 found them
// stalled: 100 rounds of 31 s at most.
void CheckAllArrive(size_t fields, size_t records) {
  WideWorld w(fields);
  w.InsertAndCapture(records, fields);
  w.Run(100);
  CHECK(w.Arrived() == records);
  CHECK(w.p->record_queue()->Count() == 0);
  CHECK(w.s->counters().rejected_malformed == 0);
  CHECK(CountStatus(LogOf(w.p), LogStatus::kFailed) == 0);
  CHECK(CountStatus(LogOf(w.s), LogStatus::kFailed) == 0);
}

TEST_CASE(
    "Rule 10, issue 8 finding 1: 1000 records of 120 fields all arrive, "
    "packed within the partner's element limit",
    "[envelope_limits]") {
  CheckAllArrive(120, 1000);
}

TEST_CASE(
    "Rule 10, issue 8 finding 1: 300 records of 800 fields all arrive, "
    "packed within the partner's element limit",
    "[envelope_limits]") {
  CheckAllArrive(800, 300);
}

}  // namespace
}  // namespace orgsync
