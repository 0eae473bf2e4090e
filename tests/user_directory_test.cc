// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The shipped InMemoryUserDirectory against the UserDirectory contract
// (orgsync/user_directory.h) that user sync (R70-R72) relies on.

#include "orgsync/user_directory.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "testing/storage_testing.h"

namespace orgsync {
namespace {

using testing::RequireOk;

TEST_CASE(
    "R70: the in-memory user directory assigns ids, keeps usernames unique "
    "and refuses bad users without changing anything",
    "[users]") {
  InMemoryUserDirectory users("U-");
  User ann{.id = {},
           .username = "ann@corp",
           .email = "ann@corp",
           .full_name = "Ann",
           .profile = "Standard",
           .role = {},
           .permission_sets = {"Reports"},
           .active = true,
           .standard_license = true};
  auto stored = users.Upsert(ann, {});
  RequireOk(stored.status());
  CHECK(stored->id == "U-000000000001");
  auto got = users.Get(stored->id);
  RequireOk(got.status());
  CHECK(*got == *stored);

  // R71 relies on usernames being unique: another user cannot take one.
  User other = ann;
  other.id.clear();
  CHECK(users.Upsert(other, {}).status().code() ==
        absl::StatusCode::kAlreadyExists);
  other.username.clear();
  CHECK(users.Upsert(other, {}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(users.size() == 1);

  // Renaming frees the old username.
  User renamed = *stored;
  renamed.username = "ann.b@corp";
  RequireOk(users.Upsert(renamed, {}).status());
  auto old_name = users.FindByUsername("ann@corp");
  RequireOk(old_name.status());
  CHECK_FALSE(old_name->has_value());
  auto new_name = users.FindByUsername("ann.b@corp");
  RequireOk(new_name.status());
  REQUIRE(new_name->has_value());
  CHECK((*new_name)->id == stored->id);

  CHECK(users.Get("U-404").status().code() == absl::StatusCode::kNotFound);

  // R72 asks the directory which profiles exist.
  CHECK_FALSE(*users.HasProfile("Standard"));
  RequireOk(users.AddProfile("Standard"));
  CHECK(*users.HasProfile("Standard"));
  CHECK(users.AddRole("").code() == absl::StatusCode::kInvalidArgument);
  RequireOk(users.AddPermissionSet("Reports"));
  CHECK(*users.HasPermissionSet("Reports"));
  CHECK_FALSE(*users.HasRole("Reports"));

  std::vector<std::string> seen;
  RequireOk(users.Scan([&](const User& user) {
    seen.push_back(user.username);
    return true;
  }));
  CHECK(seen == std::vector<std::string>{"ann.b@corp"});
}

}  // namespace
}  // namespace orgsync
