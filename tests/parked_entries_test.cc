// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// A change that waits for another one in flight -- a child whose parent's
// insert the partner has not answered yet (R65) -- waits without being
// prepared again at every Step: the host's store is not read for it again
// until the parent's answer arrives, and then it goes, once, with its
// lookup translated. Observed as a host would: through the reads its
// RecordStore serves.

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "orgsync/bulk_sync.h"
#include "orgsync/connection.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "testing/crm_orgs.h"
#include "testing/storage_testing.h"

namespace orgsync::parked_entries_test {
namespace {

using testing::RequireOk;

// Counts the host store's reads of each object.
class ReadCountingStore final : public ForwardingRecordStore {
 public:
  explicit ReadCountingStore(RecordStore* target)
      : ForwardingRecordStore(target) {}
  absl::StatusOr<Record> Get(std::string_view object,
                             std::string_view id) override {
    ++reads[std::string(object)];
    return ForwardingRecordStore::Get(object, id);
  }
  absl::StatusOr<std::vector<std::optional<Record>>> GetMany(
      std::string_view object, const std::vector<std::string>& ids) override {
    reads[std::string(object)] += ids.size();
    return ForwardingRecordStore::GetMany(object, ids);
  }
  std::map<std::string, size_t> reads;
};

// A parent Account and kChildren Contacts looking it up, written to the
// primary's store before they were published (never captured), and a bulk
// sync started over them. Returns the parent.
constexpr int kChildren = 20;

Record StartFamilyCopy(testing::CrmOrgs& w) {
  w.Flow(w.p, w.s, {"Account", "Contact"});
  auto existing = [&](const std::string& object, FieldMap fields) {
    Record record;
    record.object = object;
    record.fields = std::move(fields);
    absl::StatusOr<Record> inserted =
        w.primary_store->Insert(std::move(record), ApplyContext{});
    RequireOk(inserted.status());
    return *inserted;
  };
  const Record account = existing("Account", {{"Name", "Parent"}});
  for (int i = 0; i < kChildren; ++i) {
    existing("Contact", {{"LastName", fmt::format("Child{}", i)},
                         {"AccountId", Reference{account.id}}});
  }
  BulkSyncOptions options;
  options.actor = "admin@a";
  RequireOk(w.p->StartBulkSync(options).status());
  return account;
}

// The secondary's Contacts: each must look up `parent_there`.
size_t ChildrenThere(testing::CrmOrgs& w, const std::string& parent_there) {
  size_t children = 0;
  RequireOk(w.secondary_store->Scan(
      "Contact", absl::InfinitePast(), [&](const Record& record) {
        ++children;
        auto lookup = record.fields.find("AccountId");
        REQUIRE(lookup != record.fields.end());
        const auto* reference = std::get_if<Reference>(&lookup->second);
        REQUIRE(reference != nullptr);
        CHECK(reference->id == parent_there);
        return true;
      }));
  return children;
}

TEST_CASE(
    "R65: a bulk-copied child whose parent's copy is unanswered is read "
    "from the host's store once while it waits, and goes once the parent "
    "is linked",
    "[bulk_sync]") {
  std::unique_ptr<ReadCountingStore> counting;
  testing::CrmOrgs w([&](testing::TwoOrgsConfig& config) {
    counting = std::make_unique<ReadCountingStore>(config.primary_record_store);
    config.primary_record_store = counting.get();
  });
  const Record account = StartFamilyCopy(w);

  // The primary steps ten times while the partner does not answer: the
  // parent's copy is in flight, the children wait for it.
  for (int step = 0; step < 10; ++step)
    RequireOk(w.t->primary->Step().status());
  CHECK(w.t->pair.InFlight() > 0);
  CHECK(w.s->record_queue()->Count() == 0);
  const size_t waiting_reads = counting->reads["Contact"];
  // Each child was read when it was first prepared (and perhaps by the
  // scan), not at every Step: without parking, ten steps read each child
  // ten times.
  CHECK(waiting_reads >= kChildren);
  CHECK(waiting_reads <= 2 * kChildren);

  REQUIRE(w.FinishBulkSync(w.p));
  // Once the parent was linked, each child was prepared once more, sent
  // and applied once, its lookup pointing at the parent's copy.
  CHECK(counting->reads["Contact"] <= waiting_reads + kChildren);
  const std::optional<std::string> parent_there =
      testing::CrmOrgs::PartnerOf(w.p, "Account", account.id);
  REQUIRE(parent_there.has_value());
  CHECK(ChildrenThere(w, *parent_there) == kChildren);
  absl::StatusOr<std::optional<BulkSyncProgress>> status =
      w.p->BulkSyncStatus();
  RequireOk(status.status());
  REQUIRE(status->has_value());
  CHECK((*status)->copied() == kChildren + 1);
  CHECK((*status)->failed() == 0);
}

// Refuses, as a busy database would (Unavailable: retried later), the
// first `refusals` inserts of `object`.
class BusyStore final : public ForwardingRecordStore {
 public:
  BusyStore(RecordStore* target, std::string object, int refusals)
      : ForwardingRecordStore(target),
        object_(std::move(object)),
        refusals_(refusals) {}
  absl::StatusOr<Record> Insert(Record record,
                                const ApplyContext& context) override {
    if (record.object == object_ && refusals_ > 0) {
      --refusals_;
      return absl::UnavailableError("the database is busy");
    }
    return ForwardingRecordStore::Insert(std::move(record), context);
  }

 private:
  const std::string object_;
  int refusals_;
};

TEST_CASE(
    "R51, R65: the children of a parent whose copy waits for its retry are "
    "not read again at every Step meanwhile, and go after it",
    "[bulk_sync]") {
  std::unique_ptr<ReadCountingStore> counting;
  std::unique_ptr<BusyStore> busy;
  testing::CrmOrgs w([&](testing::TwoOrgsConfig& config) {
    counting = std::make_unique<ReadCountingStore>(config.primary_record_store);
    config.primary_record_store = counting.get();
    busy = std::make_unique<BusyStore>(config.secondary_record_store, "Account",
                                       1);
    config.secondary_record_store = busy.get();
    // Retries a minute apart, and no resend due within the test's steps.
    config.queue.retry = {.initial_delay = absl::Minutes(1),
                          .multiplier = 2.0,
                          .max_delay = absl::Minutes(5),
                          .jitter = 0.0,
                          .max_attempts = 5};
    config.delivery.ack_timeout = absl::Minutes(2);
  });
  const Record parent = StartFamilyCopy(w);

  // The parent's copy is refused once; it waits a minute for its retry,
  // its children behind it, while both orgs step once a second.
  for (int round = 0; round < 40; ++round) w.t->Pump();
  CHECK_FALSE(
      testing::CrmOrgs::PartnerOf(w.p, "Account", parent.id).has_value());
  CHECK(w.p->record_queue()->Count() == kChildren + 1);
  // Each child read once or twice (prepared while the parent was in
  // flight, and again once its failure came back), not forty times.
  CHECK(counting->reads["Contact"] <= 2 * kChildren);

  REQUIRE(w.FinishBulkSync(w.p));
  const std::optional<std::string> parent_there =
      testing::CrmOrgs::PartnerOf(w.p, "Account", parent.id);
  REQUIRE(parent_there.has_value());
  CHECK(ChildrenThere(w, *parent_there) == kChildren);
  CHECK(counting->reads["Contact"] <= 4 * kChildren);
}

}  // namespace
}  // namespace orgsync::parked_entries_test
