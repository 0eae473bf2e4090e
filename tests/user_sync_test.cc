// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// User sync (DESIGN.md R2, R31, R52, R70-R73) between two orgs joined by an
// in-process transport, each with an InMemoryUserDirectory.

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/sync_log.h"
#include "orgsync/user_directory.h"
#include "testing/connection_fixture.h"
#include "testing/storage_testing.h"

namespace orgsync::user_sync_test {
namespace {

using testing::RequireOk;
using S = ConnectionStatus;

User Person(std::string name, std::string profile = "Standard") {
  return User{.id = {},
              .username = name + "@corp.example",
              .email = name + "@corp.example",
              .full_name = name,
              .profile = std::move(profile),
              .role = {},
              .permission_sets = {},
              .active = true,
              .standard_license = true};
}

// Two orgs with user directories; both define the profile "Standard" and
// the role "Sales".
struct UserWorld {
  explicit UserWorld(SyncOptions sync = {.sync_feeds_and_audit_fields = false,
                                         .sync_metadata = false,
                                         .sync_users = true}) {
    for (InMemoryUserDirectory* users : {&primary_users, &secondary_users}) {
      RequireOk(users->AddProfile("Standard"));
      RequireOk(users->AddRole("Sales"));
    }
    testing::TwoOrgsConfig config;
    config.primary_user_directory = &primary_users;
    config.secondary_user_directory = &secondary_users;
    t = std::make_unique<testing::TwoOrgs>(
        1, testing::NewReopenableMemoryStorage(),
        testing::NewReopenableMemoryStorage(), std::move(config));
    invitation = testing::DefaultInvitation();
    invitation.sync = sync;
  }

  void Connect() { std::tie(p, s) = t->Connect(invitation); }

  // Pumps until both sides are Active (the user copy answered).
  void PumpUntilActive() {
    for (int round = 0; round < 100; ++round) {
      if (p->status() == S::kActive && s->status() == S::kActive) break;
      t->Pump();
    }
    REQUIRE(p->status() == S::kActive);
    REQUIRE(s->status() == S::kActive);
    REQUIRE(t->Settle());
  }

  // The host's save of a user: written to `users`, then captured.
  CaptureResult Save(InMemoryUserDirectory& users, Connection* connection,
                     const User& user) {
    absl::StatusOr<User> stored = users.Upsert(user, ApplyContext{});
    RequireOk(stored.status());
    absl::StatusOr<CaptureResult> captured =
        connection->CaptureUser(UserChange{.user = *stored, .context = {}});
    RequireOk(captured.status());
    return *captured;
  }

  std::optional<User> Find(InMemoryUserDirectory& users,
                           const std::string& username) {
    absl::StatusOr<std::optional<User>> found = users.FindByUsername(username);
    RequireOk(found.status());
    return *found;
  }

  InMemoryUserDirectory primary_users{"PU-"};
  InMemoryUserDirectory secondary_users{"SU-"};
  std::unique_ptr<testing::TwoOrgs> t;
  InvitationOptions invitation;
  Connection* p = nullptr;
  Connection* s = nullptr;
};

std::vector<LogEntry> LogWith(const Connection* connection,
                              SyncErrorCode error) {
  std::vector<LogEntry> matching;
  for (const LogEntry& entry : testing::LogOf(connection)) {
    if (entry.error == error) matching.push_back(entry);
  }
  return matching;
}

TEST_CASE(
    "R2, R70, R71: on acceptance the standard-licence users are copied with "
    ".dr while the connection shows User Sync in Progress, then it is Active",
    "[users]") {
  UserWorld w;
  RequireOk(w.primary_users.Upsert(Person("alice"), {}).status());
  User contractor = Person("bob");
  contractor.standard_license = false;
  RequireOk(w.primary_users.Upsert(contractor, {}).status());
  w.Connect();
  CHECK(w.p->status() == S::kUserSyncInProgress);
  CHECK(w.s->status() == S::kUserSyncInProgress);
  // The copy is due but not queued until the next Step: work left.
  CHECK_FALSE(w.p->idle());
  w.PumpUntilActive();
  CHECK(w.p->idle());

  std::optional<User> alice =
      w.Find(w.secondary_users, "alice@corp.example.dr");
  REQUIRE(alice.has_value());
  CHECK(alice->profile == "Standard");
  CHECK(alice->id.rfind("SU-", 0) == 0);  // the secondary's own id
  // R70: users without a standard licence are never copied.
  CHECK_FALSE(w.Find(w.secondary_users, "bob@corp.example.dr").has_value());
  CHECK(w.secondary_users.size() == 1);
  for (Connection* side : {w.p, w.s}) {
    auto history =
        side->History(HistoryQuery{.event = HistoryEvent::kUserSyncCompleted});
    RequireOk(history.status());
    CHECK(history->size() == 1);
  }
}

TEST_CASE(
    "R70, R31: user changes sync at once both ways, a replicated write is "
    "never captured back, and the secondary can switch its direction off",
    "[users]") {
  UserWorld w;
  w.Connect();
  w.PumpUntilActive();

  // Primary -> secondary: create, then role assignment and deactivation.
  User alice = Person("alice");
  CHECK(w.Save(w.primary_users, w.p, alice).captured);
  REQUIRE(w.t->Settle());
  REQUIRE(w.Find(w.secondary_users, "alice@corp.example.dr").has_value());
  alice = *w.Find(w.primary_users, "alice@corp.example");
  alice.role = "Sales";
  alice.active = false;
  CHECK(w.Save(w.primary_users, w.p, alice).captured);
  REQUIRE(w.t->Settle());
  User copy = *w.Find(w.secondary_users, "alice@corp.example.dr");
  CHECK(copy.role == "Sales");
  CHECK_FALSE(copy.active);

  // R31: what replication wrote is not sent back.
  UserChange replicated{.user = copy, .context = {}};
  replicated.context.from_replication = true;
  auto echo = w.s->CaptureUser(replicated);
  RequireOk(echo.status());
  CHECK_FALSE(echo->captured);

  // Secondary -> primary: a user created there with .dr arrives without.
  User dave = Person("dave");
  dave.username = "dave@corp.example.dr";
  CHECK(w.Save(w.secondary_users, w.s, dave).captured);
  REQUIRE(w.t->Settle());
  CHECK(w.Find(w.primary_users, "dave@corp.example").has_value());

  // The secondary switches its direction off: its changes stay local, the
  // primary's still arrive.
  RequireOk(w.s->SetUserSyncToPartner(false, "bob@b"));
  CHECK_FALSE(w.s->Info().user_sync_to_partner);
  User erin = Person("erin");
  erin.username = "erin@corp.example.dr";
  CHECK_FALSE(w.Save(w.secondary_users, w.s, erin).captured);
  CHECK(w.Save(w.primary_users, w.p, Person("frank")).captured);
  REQUIRE(w.t->Settle());
  CHECK_FALSE(w.Find(w.primary_users, "erin@corp.example").has_value());
  CHECK(w.Find(w.secondary_users, "frank@corp.example.dr").has_value());
  CHECK(w.p->SetUserSyncToPartner(false, "alice@a").code() ==
        absl::StatusCode::kFailedPrecondition);
}

TEST_CASE(
    "R71: a user created in the secondary without .dr is not copied and is "
    "logged",
    "[users]") {
  UserWorld w;
  w.Connect();
  w.PumpUntilActive();
  const CaptureResult result =
      w.Save(w.secondary_users, w.s, Person("mallory"));
  CHECK_FALSE(result.captured);
  CHECK(w.s->record_queue()->Count() == 0);
  const std::vector<LogEntry> logged =
      LogWith(w.s, SyncErrorCode::kUsernameSuffix);
  REQUIRE(logged.size() == 1);
  CHECK(logged[0].status == LogStatus::kFailed);
  CHECK(logged[0].action == QueueAction::kUserUpsert);
  REQUIRE(w.t->Settle());
  CHECK(w.primary_users.size() == 0);
}

TEST_CASE(
    "R52, R72: a user whose profile is missing in the target fails at once "
    "(no retry) -- saved again once the profile exists, it is copied",
    "[users]") {
  UserWorld w;
  RequireOk(w.primary_users.AddProfile("Partner Portal"));
  User gina = Person("gina", "Partner Portal");
  RequireOk(w.primary_users.Upsert(gina, {}).status());
  w.Connect();
  w.PumpUntilActive();  // the copy ends although one user failed

  const std::vector<LogEntry> failed =
      LogWith(w.p, SyncErrorCode::kMissingProfile);
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].status == LogStatus::kFailed);
  CHECK(failed[0].action == QueueAction::kBulkSyncUsers);
  CHECK(failed[0].description.find("Partner Portal") != std::string::npos);
  // R52: never Retrying, and nothing left in the queue to retry.
  for (const LogEntry& entry : testing::LogOf(w.p)) {
    CHECK(entry.status != LogStatus::kRetrying);
  }
  CHECK(w.p->record_queue()->Count() == 0);
  CHECK_FALSE(w.Find(w.secondary_users, "gina@corp.example.dr").has_value());

  RequireOk(w.secondary_users.AddProfile("Partner Portal"));
  gina = *w.Find(w.primary_users, "gina@corp.example");
  CHECK(w.Save(w.primary_users, w.p, gina).captured);
  REQUIRE(w.t->Settle());
  CHECK(w.Find(w.secondary_users, "gina@corp.example.dr").has_value());
}

TEST_CASE(
    "R73: turning sync users off and on on the primary copies all users "
    "again",
    "[users]") {
  UserWorld w;
  RequireOk(w.primary_users.Upsert(Person("alice"), {}).status());
  w.Connect();
  w.PumpUntilActive();
  // The secondary's copy drifts (a local edit nobody captured), and a user
  // saved while sync users is off is not sent.
  User drifted = *w.Find(w.secondary_users, "alice@corp.example.dr");
  drifted.email = "stale@elsewhere";
  RequireOk(w.secondary_users.Upsert(drifted, {}).status());
  SyncOptions off = w.invitation.sync;
  off.sync_users = false;
  RequireOk(w.p->UpdateSyncOptions(off, "alice@a"));
  CHECK_FALSE(w.Save(w.primary_users, w.p, Person("henry")).captured);
  REQUIRE(w.t->Settle());
  CHECK_FALSE(w.Find(w.secondary_users, "henry@corp.example.dr").has_value());

  RequireOk(w.p->UpdateSyncOptions(w.invitation.sync, "alice@a"));
  w.t->Pump();  // the primary's Step queues the copy
  REQUIRE(w.t->Settle());
  CHECK(w.Find(w.secondary_users, "alice@corp.example.dr")->email ==
        "alice@corp.example");
  CHECK(w.Find(w.secondary_users, "henry@corp.example.dr").has_value());
  CHECK(w.p->status() == S::kActive);
}

TEST_CASE(
    "R2, R70: a restart in the middle of the user copy loses nothing and "
    "copies no user twice",
    "[users]") {
  UserWorld w;
  for (const char* name : {"kim", "lou", "max"}) {
    RequireOk(w.primary_users.Upsert(Person(name), {}).status());
  }
  w.Connect();
  w.t->Pump();  // the copy is queued and its first entry sent
  REQUIRE(w.p->record_queue()->Count() == 4);  // three users and the end
  w.t->Reopen("conn-1");
  w.p = *w.t->primary->GetConnection("conn-1");
  w.s = *w.t->secondary->GetConnection("conn-1");
  CHECK(w.p->status() == S::kUserSyncInProgress);
  w.PumpUntilActive();
  CHECK(w.secondary_users.size() == 3);
  for (const char* name : {"kim", "lou", "max"}) {
    CHECK(w.Find(w.secondary_users, std::string(name) + "@corp.example.dr")
              .has_value());
  }
  // The copy was queued once: nothing is queued again after the restart.
  w.t->Pump();
  CHECK(w.p->record_queue()->Count() == 0);
}

TEST_CASE(
    "R2: with sync metadata on too, each side leaves Metadata Sync in "
    "Progress for User Sync in Progress -- users the primary copied while the "
    "secondary was still in its metadata phase let it go straight to Active",
    "[users]") {
  UserWorld w({.sync_feeds_and_audit_fields = false,
               .sync_metadata = true,
               .sync_users = true});
  RequireOk(w.primary_users.Upsert(Person("nia"), {}).status());
  w.Connect();
  CHECK(w.p->status() == S::kMetadataSyncInProgress);
  CHECK(w.s->status() == S::kMetadataSyncInProgress);
  RequireOk(w.p->CompleteMetadataSync("engine"));
  CHECK(w.p->status() == S::kUserSyncInProgress);
  for (int round = 0; round < 20 && w.p->status() != S::kActive; ++round) {
    w.t->Pump();
  }
  CHECK(w.p->status() == S::kActive);
  CHECK(w.s->status() == S::kMetadataSyncInProgress);
  CHECK(w.Find(w.secondary_users, "nia@corp.example.dr").has_value());
  RequireOk(w.s->CompleteMetadataSync("engine"));
  CHECK(w.s->status() == S::kActive);
}

TEST_CASE(
    "R70: when both orgs change one user at once the later change wins in "
    "both, and the org that kept its own logs the CONFLICT",
    "[users]") {
  UserWorld w;
  RequireOk(w.primary_users.Upsert(Person("alice"), {}).status());
  w.Connect();
  w.PumpUntilActive();
  const std::string there = "alice@corp.example.dr";

  // For each order: the first writer, then a second later, the other one;
  // nothing is delivered in between.
  for (const bool primary_last : {true, false}) {
    const std::string first = primary_last ? "first@s" : "first@p";
    const std::string last = primary_last ? "last@p" : "last@s";
    InMemoryUserDirectory& first_users =
        primary_last ? w.secondary_users : w.primary_users;
    InMemoryUserDirectory& last_users =
        primary_last ? w.primary_users : w.secondary_users;
    Connection* first_side = primary_last ? w.s : w.p;
    Connection* last_side = primary_last ? w.p : w.s;
    User early =
        *w.Find(first_users, primary_last ? there : "alice@corp.example");
    early.email = first;
    CHECK(w.Save(first_users, first_side, early).captured);
    w.t->clock.Advance(absl::Seconds(1));
    User late =
        *w.Find(last_users, primary_last ? "alice@corp.example" : there);
    late.email = last;
    CHECK(w.Save(last_users, last_side, late).captured);
    REQUIRE(w.t->Settle());
    CHECK(w.Find(w.primary_users, "alice@corp.example")->email == last);
    CHECK(w.Find(w.secondary_users, there)->email == last);
    CHECK(LogWith(last_side, SyncErrorCode::kConflict).size() == 1);
    w.t->clock.Advance(absl::Seconds(1));
  }
}

TEST_CASE("R70: CaptureUser refuses bad input and changes nothing", "[users]") {
  User nobody = Person("ivy");
  // Before acceptance.
  UserWorld pending;
  pending.t->Invite(pending.invitation);
  Connection* invited = *pending.t->primary->GetConnection("conn-1");
  nobody.id = "PU-x";
  CHECK(invited->CaptureUser(UserChange{.user = nobody, .context = {}})
            .status()
            .code() == absl::StatusCode::kFailedPrecondition);
  CHECK(invited->record_queue()->Count() == 0);
  // A user without an id.
  User no_id = Person("ivy");
  CHECK(invited->CaptureUser(UserChange{.user = no_id, .context = {}})
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
  // An org without a directory syncs no users.
  testing::TwoOrgs bare;
  auto [p, s] = bare.Connect(pending.invitation);
  CHECK(p->CaptureUser(UserChange{.user = nobody, .context = {}})
            .status()
            .code() == absl::StatusCode::kFailedPrecondition);
  // R70: a user without a standard licence is not captured, and logged.
  UserWorld w;
  w.Connect();
  w.PumpUntilActive();
  User temp = Person("jack");
  temp.standard_license = false;
  CHECK_FALSE(w.Save(w.primary_users, w.p, temp).captured);
  CHECK(w.p->record_queue()->Count() == 0);
  bool logged = false;
  for (const LogEntry& entry : testing::LogOf(w.p)) {
    logged = logged ||
             (entry.status == LogStatus::kInfo &&
              entry.description.find("standard licence") != std::string::npos);
  }
  CHECK(logged);
}

}  // namespace
}  // namespace orgsync::user_sync_test
