// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// ParkedEntries (lib/connection/parked_entries.h) on its own: what parks
// an entry, what releases it, and what the queue walk sees meanwhile. The
// host-level behaviour is in parked_entries_test.cc.

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "connection/parked_entries.h"

namespace orgsync::parked_entries_unit_test {
namespace {

using internal::ParkedEntries;

QueueEntry Entry(uint64_t sequence, std::string id) {
  QueueEntry entry;
  entry.sequence = sequence;
  entry.action = QueueAction::kGenericInsert;
  entry.record = RecordRef{"Contact", std::move(id)};
  return entry;
}

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

// Parks the insert of Contact `id` (queue entry `sequence`) on Account
// `parent`, until `seconds` after kNow.
void ParkChild(ParkedEntries& parked, uint64_t sequence, const std::string& id,
               const std::string& parent, int seconds) {
  parked.Park(Entry(sequence, id), "record:Contact/" + id,
              "record:Account/" + parent, kNow + absl::Seconds(seconds));
}

TEST_CASE(
    "ParkedEntries: a parked entry is held, with its record, until "
    "the record it waits for moves") {
  ParkedEntries parked;
  ParkChild(parked, 7, "c1", "a", 30);
  ParkChild(parked, 8, "c2", "a", 30);
  ParkChild(parked, 9, "c3", "b", 30);
  CHECK(parked.size() == 3);
  REQUIRE(parked.Held(7).has_value());
  CHECK(parked.Held(7)->action == QueueAction::kGenericInsert);
  CHECK_FALSE(parked.Held(6).has_value());
  CHECK(parked.HoldsKey("record:Contact/c1"));
  CHECK_FALSE(parked.HoldsKey("record:Account/a"));

  // Another record moving releases nothing; the awaited one releases both
  // of its children, and only them.
  CHECK(parked.Release("record:Account/z") == 0);
  CHECK(parked.Release("record:Account/a") == 2);
  CHECK_FALSE(parked.Held(7).has_value());
  CHECK_FALSE(parked.Held(8).has_value());
  CHECK_FALSE(parked.HoldsKey("record:Contact/c1"));
  CHECK(parked.Held(9).has_value());
  CHECK(parked.size() == 1);
  CHECK(parked.Release("record:Account/a") == 0);
}

TEST_CASE(
    "ParkedEntries: a deadline releases what no move did, and "
    "parking again replaces the earlier parking") {
  ParkedEntries parked;
  ParkChild(parked, 1, "c1", "a", 10);
  ParkChild(parked, 2, "c2", "a", 20);
  CHECK(parked.ReleaseDue(kNow + absl::Seconds(9)) == 0);
  CHECK(parked.ReleaseDue(kNow + absl::Seconds(10)) == 1);
  CHECK_FALSE(parked.Held(1).has_value());
  CHECK(parked.Held(2).has_value());

  // Parked anew on another record, with another deadline: the old awaited
  // record and deadline no longer release it.
  ParkChild(parked, 2, "c2", "b", 60);
  CHECK(parked.size() == 1);
  CHECK(parked.Release("record:Account/a") == 0);
  CHECK(parked.ReleaseDue(kNow + absl::Seconds(30)) == 0);
  CHECK(parked.Held(2).has_value());
  CHECK(parked.Release("record:Account/b") == 1);
  CHECK(parked.size() == 0);

  ParkChild(parked, 3, "c3", "a", 10);
  parked.Clear();
  CHECK(parked.size() == 0);
  CHECK_FALSE(parked.HoldsKey("record:Contact/c3"));
  CHECK(parked.ReleaseDue(kNow + absl::Hours(1)) == 0);
}

}  // namespace
}  // namespace orgsync::parked_entries_unit_test
