// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// User links (issue 13; DESIGN.md R37, R35): once user sync copied a user,
// records that name it -- in user reference fields and, on a first copy,
// in their audit fields -- name the target org's copy; a user that is
// neither linked nor in the target's directory becomes the connection
// owner (R37).

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <utility>

#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/user_directory.h"
#include "testing/connection_fixture.h"
#include "testing/record_sync_pair.h"
#include "testing/storage_testing.h"

namespace orgsync::user_links_test {
namespace {

using testing::RequireOk;

struct LinkedWorld {
  LinkedWorld() {
    testing::FillCrmSchema(&primary_schema);
    testing::FillCrmSchema(&secondary_schema);
    for (InMemoryUserDirectory* users : {&primary_users, &secondary_users}) {
      RequireOk(users->AddProfile("Standard"));
    }
    // "U1" is the user the CRM stores stamp into audit fields.
    RequireOk(primary_users
                  .Upsert(User{.id = "U1",
                               .username = "ursula@corp",
                               .email = "ursula@corp",
                               .full_name = "Ursula",
                               .profile = "Standard",
                               .role = {},
                               .permission_sets = {},
                               .active = true,
                               .standard_license = true},
                          {})
                  .status());
    testing::TwoOrgsConfig config;
    config.primary_schema = &primary_schema;
    config.secondary_schema = &secondary_schema;
    config.primary_record_store = primary_store.get();
    config.secondary_record_store = secondary_store.get();
    config.primary_user_directory = &primary_users;
    config.secondary_user_directory = &secondary_users;
    t = std::make_unique<testing::TwoOrgs>(
        1, testing::NewReopenableMemoryStorage(),
        testing::NewReopenableMemoryStorage(), std::move(config));
    store_clock.target = &t->clock;
    InvitationOptions options = testing::DefaultInvitation();
    options.sync = {.sync_feeds_and_audit_fields = true,
                    .sync_metadata = false,
                    .sync_users = true};
    std::tie(p, s) = t->Connect(options);
    for (int round = 0; round < 50 && p->status() != ConnectionStatus::kActive;
         ++round) {
      t->Pump();
    }
    REQUIRE(p->status() == ConnectionStatus::kActive);
    REQUIRE(t->Settle());
    // Account both ways.
    RequireOk(p->publish_set()->PublishObjects({"Account"}));
    RequireOk(s->publish_set()->PublishObjects({"Account"}));
    REQUIRE(t->Settle());
    RequireOk(s->subscription_map()->Subscribe("Account"));
    RequireOk(p->subscription_map()->Subscribe("Account"));
    REQUIRE(t->Settle());
    auto copy = secondary_users.FindByUsername("ursula@corp.dr");
    RequireOk(copy.status());
    REQUIRE(copy->has_value());
    ursula_here = (*copy)->id;
  }

  Record InsertAccount(RecordStore* store, Connection* connection,
                       std::string owner) {
    Record account;
    account.object = "Account";
    account.fields = {{"Name", std::string("Acme")},
                      {"OwnerId", Reference{std::move(owner)}}};
    absl::StatusOr<Record> inserted =
        store->Insert(std::move(account), ApplyContext{});
    RequireOk(inserted.status());
    testing::CaptureWrite(connection, ChangeKind::kInsert, *inserted);
    REQUIRE(t->Settle());
    return *inserted;
  }

  Record Get(RecordStore* store, const std::string& id) {
    absl::StatusOr<Record> record = store->Get("Account", id);
    RequireOk(record.status());
    return *record;
  }

  Schema primary_schema;
  Schema secondary_schema;
  testing::ForwardingClock store_clock;
  std::unique_ptr<RecordStore> primary_store =
      testing::NewCrmRecordStore(&primary_schema, &store_clock, "P-");
  std::unique_ptr<RecordStore> secondary_store =
      testing::NewCrmRecordStore(&secondary_schema, &store_clock, "S-");
  InMemoryUserDirectory primary_users{"PU-"};
  InMemoryUserDirectory secondary_users{"SU-"};
  std::unique_ptr<testing::TwoOrgs> t;
  Connection* p = nullptr;
  Connection* s = nullptr;
  std::string ursula_here;  // the secondary's id of user U1
};

TEST_CASE(
    "R37, R35: a record names the target's copy of a synced user, in its "
    "user fields and its audit fields -- a user neither linked nor present "
    "becomes the connection owner",
    "[users]") {
  LinkedWorld w;
  REQUIRE(w.ursula_here != "U1");
  const Record owned = w.InsertAccount(w.primary_store.get(), w.p, "U1");
  const Record copy = w.Get(w.secondary_store.get(),
                            testing::LinkedPartnerId(w.p, "Account", owned.id));
  CHECK(copy.fields.at("OwnerId") == FieldValue(Reference{w.ursula_here}));
  // R35: the first copy keeps the audit fields, with the linked user.
  CHECK(copy.audit.created_by == w.ursula_here);
  CHECK(copy.audit.last_modified_by == w.ursula_here);

  // R37: nobody called PU-ghost exists in the secondary.
  const Record orphan = w.InsertAccount(w.primary_store.get(), w.p, "PU-ghost");
  const Record orphan_copy =
      w.Get(w.secondary_store.get(),
            testing::LinkedPartnerId(w.p, "Account", orphan.id));
  CHECK(orphan_copy.fields.at("OwnerId") == FieldValue(Reference{"alice@a"}));
}

TEST_CASE(
    "R37: the other way, the sender learns its user's id in the target from "
    "the answer to the user's copy",
    "[users]") {
  LinkedWorld w;
  const Record owned =
      w.InsertAccount(w.secondary_store.get(), w.s, w.ursula_here);
  const Record copy = w.Get(w.primary_store.get(),
                            testing::LinkedPartnerId(w.s, "Account", owned.id));
  CHECK(copy.fields.at("OwnerId") == FieldValue(Reference{"U1"}));
}

}  // namespace
}  // namespace orgsync::user_links_test
