// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "orgsync/queue_action.h"

namespace orgsync::queue_action_test {
namespace {

TEST_CASE("R56: queue actions are exactly the seed's list, names round-trip") {
  const std::set<std::string> seed = {
      "Bulk Sync", "Bulk Sync Users", "Connection Admin Resumed",
      "Connection Admin Suspended", "Connection Deactivate",
      "Connection Resumed", "Connection Suspended", "Connection Update",
      "Field Map Delete", "Field Map Name Update", "Field Map Update",
      "Generic Insert", "Generic Update", "Map Update Email",
      "Missing Partner ID", "Replication Delete", "Replication Undelete",
      "Type Map Delete", "Type Map Name Update", "Type Map Set Partner Sub",
      "Type Map Update", "User Upsert", "Value Map Delete"};
  std::set<std::string> ours;
  for (QueueAction action : kAllQueueActions) {
    const std::string name(QueueActionName(action));
    ours.insert(name);
    auto parsed = ParseQueueAction(name);
    REQUIRE(parsed.ok());
    CHECK(*parsed == action);
    auto by_number = QueueActionFromNumber(static_cast<int>(action));
    REQUIRE(by_number.ok());
    CHECK(*by_number == action);
  }
  CHECK(ours == seed);
}

TEST_CASE("R56: unknown action names and numbers are refused") {
  CHECK(ParseQueueAction("Generic Upsert").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(ParseQueueAction("generic insert").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(QueueActionFromNumber(0).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(QueueActionFromNumber(24).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(IsRecordAction(QueueAction::kGenericUpdate));
  CHECK_FALSE(IsRecordAction(QueueAction::kTypeMapUpdate));
}

}  // namespace
}  // namespace orgsync::queue_action_test
