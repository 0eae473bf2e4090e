// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/sim_directory.h"

#include <fmt/format.h>

#include <array>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "testing/sim_model.h"

namespace orgsync::testing::sim {
namespace {

constexpr std::array<const char*, 2> kProfiles = {"Standard", "Support"};
constexpr std::array<const char*, 3> kRoles = {"", "Sales", "Service"};
// Names per metadata type the primary writes: a small pool, so that most
// writes update an item the secondary holds already.
constexpr uint64_t kNamesPerType = 12;

std::string WithoutSuffix(const std::string& username) {
  return username.substr(0, username.size() - kSecondaryUsernameSuffix.size());
}

bool HasSuffix(const std::string& username) {
  return username.size() > kSecondaryUsernameSuffix.size() &&
         username.ends_with(kSecondaryUsernameSuffix);
}

std::optional<User> FindUser(Side& side, const std::string& username) {
  absl::StatusOr<std::optional<User>> found =
      side.users().FindByUsername(username);
  sim::Check(found.status(), "finding user " + username);
  return *found;
}

std::string DescribeUser(const User& user) {
  return fmt::format("{} <{}> {} profile {} role '{}' {}", user.username,
                     user.email, user.full_name, user.profile, user.role,
                     user.active ? "active" : "inactive");
}

}  // namespace

DirectoryWorkload::DirectoryWorkload(std::mt19937_64* rng, bool sync_users,
                                     bool sync_metadata)
    : rng_(rng), sync_users_(sync_users), sync_metadata_(sync_metadata) {}

void DirectoryWorkload::DefineShared(InMemoryUserDirectory& users) {
  for (const char* profile : kProfiles) {
    sim::Check(users.AddProfile(profile), "defining a profile");
  }
  for (const char* role : kRoles) {
    if (*role != '\0') sim::Check(users.AddRole(role), "defining a role");
  }
}

void DirectoryWorkload::Write(Side& side, Side& partner, bool primary) {
  if (side.down()) return;
  if (sync_users_ && (!sync_metadata_ || Chance(0.5))) {
    WriteUser(side, partner, primary);
  } else if (sync_metadata_) {
    WriteMetadata(side, primary);
  }
}

bool DirectoryWorkload::SaveUser(Side& side, const User& user) {
  absl::StatusOr<User> stored = side.users().Upsert(user, ApplyContext{});
  sim::Check(stored.status(), "saving user " + user.username);
  ++counts_.user_saves;
  absl::StatusOr<CaptureResult> captured = side.connection()->CaptureUser(
      UserChange{.user = *stored, .context = {}});
  if (!captured.ok() && side.down()) {
    Trace("{} user {}: capture lost in the crash", side.org_id(),
          user.username);
    return false;
  }
  sim::Check(captured.status(), "capturing user " + user.username);
  Trace("{} user {}: {}", side.org_id(), DescribeUser(*stored),
        captured->captured ? "captured" : captured->reason);
  return captured->captured;
}

std::string DirectoryWorkload::NameOn(bool primary,
                                      const std::string& username) const {
  const bool home_primary = homes_.at(username);
  if (home_primary == primary) return username;
  if (home_primary) return username + std::string(kSecondaryUsernameSuffix);
  return HasSuffix(username) ? WithoutSuffix(username) : std::string();
}

void DirectoryWorkload::WriteUser(Side& side, Side& partner, bool primary) {
  if (homes_.empty() || Chance(0.3)) {
    // A new user. On the secondary usually with ".dr"; without it the
    // user stays there (R71).
    const uint64_t n = next_user_++;
    User user{.id = {},
              .username = fmt::format("u{}@sim", n),
              .email = fmt::format("u{}@mail.sim", n),
              .full_name = fmt::format("User {}", n),
              .profile = kProfiles[Uniform(kProfiles.size())],
              .role = kRoles[Uniform(kRoles.size())],
              .permission_sets = {},
              .active = true,
              .standard_license = !Chance(0.1)};
    const bool suffixed = !primary && !Chance(0.15);
    if (suffixed) user.username += kSecondaryUsernameSuffix;
    homes_[user.username] = primary;
    const bool promised = SaveUser(side, user);
    const bool copied = user.standard_license && (primary || suffixed);
    if (!promised || !copied) excused_users_.insert(user.username);
    return;
  }
  // Either org may change any user it has.
  auto picked = homes_.begin();
  std::advance(picked, static_cast<long>(Uniform(homes_.size())));
  const std::string username = picked->first;
  EditUser(side, primary, username);
  // Both admins at once: the later change must win in both orgs.
  if (Chance(0.3) && !partner.down()) EditUser(partner, !primary, username);
}

void DirectoryWorkload::EditUser(Side& side, bool primary,
                                 const std::string& username) {
  const std::string name_here = NameOn(primary, username);
  if (name_here.empty()) return;
  std::optional<User> user = FindUser(side, name_here);
  if (!user.has_value()) return;  // not here (yet), or lost in a crash
  switch (Uniform(3)) {
    case 0:
      user->email = fmt::format("{}-{}@mail.sim", name_here, Uniform(1000));
      break;
    case 1:
      user->role = kRoles[Uniform(kRoles.size())];
      user->full_name = fmt::format("Renamed {}", Uniform(1000));
      break;
    default:
      user->active = !user->active;  // deactivate (or reactivate)
      break;
  }
  // A save a crash cut short leaves the two orgs apart for good unless a
  // later save wins: the user is excused from the check.
  if (!SaveUser(side, *user)) excused_users_.insert(username);
}

void DirectoryWorkload::WriteMetadata(Side& side, bool primary) {
  MetadataStore& store = side.metadata();
  const auto type = kAllMetadataTypes[Uniform(kAllMetadataTypes.size())];
  ++counts_.metadata_writes;
  if (!primary) {
    // The secondary's own edit (overwritten by the next run when the
    // primary has the item) or an item of its own.
    const std::string name = Chance(0.7)
                                 ? fmt::format("M{}", Uniform(kNamesPerType))
                                 : fmt::format("L{}", next_name_++);
    sim::Check(store.Upsert({.type = type, .name = name, .body = "local edit"},
                            {}),
               "a secondary metadata write");
    Trace("{} metadata {} {}: local edit", side.org_id(),
          MetadataTypeName(type), name);
    return;
  }
  if (Chance(0.25)) {
    // A top-level item renamed by the host, and reported (R74).
    constexpr std::array<MetadataType, 3> kTopLevel = {
        MetadataType::kRole, MetadataType::kProfile,
        MetadataType::kPermissionSet};
    const MetadataType top = kTopLevel[Uniform(kTopLevel.size())];
    std::vector<std::string> names;
    sim::Check(store.Scan([&](const MetadataItem& item) {
                 if (item.type == top) names.push_back(item.name);
                 return true;
               }),
               "listing metadata");
    if (!names.empty()) {
      const std::string old_name = names[Uniform(names.size())];
      const std::string new_name = fmt::format("R{}", next_name_++);
      sim::Check(store.Rename(top, old_name, new_name, {}),
                 "renaming metadata");
      ++counts_.renames;
      absl::StatusOr<CaptureResult> captured =
          side.connection()->CaptureMetadataRename(top, old_name, new_name);
      if (!captured.ok() && side.down()) return;  // arrives as a new item
      sim::Check(captured.status(), "capturing a metadata rename");
      Trace("{} metadata {} {} renamed {}", side.org_id(),
            MetadataTypeName(top), old_name, new_name);
      return;
    }
  }
  const std::string name = fmt::format("M{}", Uniform(kNamesPerType));
  const std::string body = fmt::format("body {}", (*rng_)() % 1000000);
  sim::Check(store.Upsert({.type = type, .name = name, .body = body}, {}),
             "a primary metadata write");
  Trace("{} metadata {} {} = {}", side.org_id(), MetadataTypeName(type), name,
        body);
}

void DirectoryWorkload::Check(Side& primary, Side& secondary) {
  std::vector<std::string> differences;
  if (sync_users_) {
    for (const auto& [username, home_primary] : homes_) {
      Side& home = home_primary ? primary : secondary;
      Side& other = home_primary ? secondary : primary;
      std::optional<User> mine = FindUser(home, username);
      if (!mine.has_value()) continue;  // lost with its capture
      const std::string there = home_primary
                                    ? username + std::string(
                                                     kSecondaryUsernameSuffix)
                                    : WithoutSuffix(username);
      if (!mine->standard_license) {
        // R70: never copied.
        if (FindUser(other, there).has_value()) {
          differences.push_back(
              fmt::format("user {} has no standard licence but was copied",
                          username));
        }
        continue;
      }
      if (excused_users_.contains(username)) continue;
      ++counts_.users_checked;
      std::optional<User> copy = FindUser(other, there);
      if (!copy.has_value()) {
        differences.push_back(fmt::format("user {} is missing in {} as {}",
                                          username, other.org_id(), there));
        continue;
      }
      User expected = *mine;
      expected.id = copy->id;
      expected.username = there;
      if (*copy != expected) {
        differences.push_back(fmt::format("user {}: {} has {}, {} has {}",
                                          username, home.org_id(),
                                          DescribeUser(*mine), other.org_id(),
                                          DescribeUser(*copy)));
      }
    }
  }
  if (sync_metadata_) {
    sim::Check(primary.metadata().Scan([&](const MetadataItem& item) {
                 ++counts_.items_checked;
                 absl::StatusOr<MetadataItem> copy =
                     secondary.metadata().Get(item.type, item.name);
                 if (!copy.ok() || copy->body != item.body) {
                   differences.push_back(fmt::format(
                       "metadata {} {}: primary has '{}', secondary {}",
                       MetadataTypeName(item.type), item.name, item.body,
                       copy.ok() ? "has '" + copy->body + "'"
                                 : copy.status().ToString()));
                 }
                 return differences.size() < 8;
               }),
               "scanning the primary's metadata");
  }
  if (!differences.empty()) {
    std::string what = "users or metadata differ:";
    for (const std::string& difference : differences) {
      what += "\n  " + difference;
    }
    throw SimulationFailure{std::move(what)};
  }
}

}  // namespace orgsync::testing::sim
