// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The shipped InMemoryMetadataStore against the MetadataStore contract
// (orgsync/metadata_store.h) that metadata sync (R74) is to rely on.

#include "orgsync/metadata_store.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "testing/storage_testing.h"

namespace orgsync {
namespace {

using testing::RequireOk;

TEST_CASE(
    "R74: the in-memory metadata store keeps items by type and name, renames "
    "them, and refuses bad input without changing anything",
    "[metadata]") {
  InMemoryMetadataStore store;
  RequireOk(store.Upsert(
      {.type = MetadataType::kProfile, .name = "Sales", .body = "v1"}, {}));
  RequireOk(store.Upsert(
      {.type = MetadataType::kRole, .name = "Sales", .body = "role"}, {}));
  RequireOk(store.Upsert(
      {.type = MetadataType::kProfile, .name = "Sales", .body = "v2"}, {}));
  CHECK(store.size() == 2);
  auto profile = store.Get(MetadataType::kProfile, "Sales");
  RequireOk(profile.status());
  CHECK(profile->body == "v2");

  // R74: top-level items (roles, profiles, permission sets) rename.
  CHECK(IsTopLevelMetadataType(MetadataType::kProfile));
  CHECK_FALSE(IsTopLevelMetadataType(MetadataType::kCustomField));
  RequireOk(store.Rename(MetadataType::kProfile, "Sales", "Sales EMEA", {}));
  CHECK(store.Get(MetadataType::kProfile, "Sales").status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(store.Get(MetadataType::kProfile, "Sales EMEA")->body == "v2");
  CHECK(store.Rename(MetadataType::kProfile, "Nobody", "X", {}).code() ==
        absl::StatusCode::kNotFound);
  RequireOk(store.Upsert(
      {.type = MetadataType::kProfile, .name = "Support", .body = ""}, {}));
  CHECK(store.Rename(MetadataType::kProfile, "Support", "Sales EMEA", {})
            .code() == absl::StatusCode::kAlreadyExists);

  CHECK(
      store.Upsert({.type = MetadataType::kLayout, .name = "", .body = ""}, {})
          .code() == absl::StatusCode::kInvalidArgument);
  CHECK(
      store
          .Upsert(
              {.type = static_cast<MetadataType>(99), .name = "x", .body = ""},
              {})
          .code() == absl::StatusCode::kInvalidArgument);
  CHECK(store.size() == 3);

  std::vector<std::string> seen;
  RequireOk(store.Scan([&](const MetadataItem& item) {
    seen.push_back(MetadataTypeName(item.type) + ":" + item.name);
    return true;
  }));
  CHECK(seen == std::vector<std::string>{"Role:Sales", "Profile:Sales EMEA",
                                         "Profile:Support"});
}

}  // namespace
}  // namespace orgsync
