// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// InMemoryUserDirectory (orgsync/user_directory.h): users in maps under
// one lock. It calls no code of anyone else, so holding its lock for a
// whole call cannot wait behind the host or the engine.

#include <fmt/format.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/user_directory.h"

namespace orgsync {

struct InMemoryUserDirectory::State {
  std::string id_prefix;
  mutable internal::Mutex mu;
  std::map<std::string, User, std::less<>> users ABSL_GUARDED_BY(mu);
  std::map<std::string, std::string, std::less<>> id_by_username
      ABSL_GUARDED_BY(mu);
  std::set<std::string, std::less<>> profiles ABSL_GUARDED_BY(mu);
  std::set<std::string, std::less<>> roles ABSL_GUARDED_BY(mu);
  std::set<std::string, std::less<>> permission_sets ABSL_GUARDED_BY(mu);
  uint64_t next_id ABSL_GUARDED_BY(mu) = 1;

  using Names = std::set<std::string, std::less<>> State::*;

  absl::Status Define(Names names, std::string_view what,
                      std::string_view name) {
    if (name.empty()) {
      return absl::InvalidArgumentError(
          fmt::format("InMemoryUserDirectory: a {} needs a name", what));
    }
    internal::MutexLock lock(&mu);
    (this->*names).emplace(name);
    return absl::OkStatus();
  }

  bool Defined(Names names, std::string_view name) const {
    internal::MutexLock lock(&mu);
    return (this->*names).contains(name);
  }
};

InMemoryUserDirectory::InMemoryUserDirectory(std::string id_prefix)
    : state_(std::make_unique<State>()) {
  state_->id_prefix = std::move(id_prefix);
}

InMemoryUserDirectory::~InMemoryUserDirectory() = default;

absl::StatusOr<User> InMemoryUserDirectory::Get(std::string_view id) {
  internal::MutexLock lock(&state_->mu);
  auto found = state_->users.find(id);
  if (found == state_->users.end()) {
    return absl::NotFoundError(fmt::format("no user with id {}", id));
  }
  return found->second;
}

absl::StatusOr<std::optional<User>> InMemoryUserDirectory::FindByUsername(
    std::string_view username) {
  internal::MutexLock lock(&state_->mu);
  auto found = state_->id_by_username.find(username);
  if (found == state_->id_by_username.end()) return std::nullopt;
  return state_->users.at(found->second);
}

absl::StatusOr<User> InMemoryUserDirectory::Upsert(
    User user, const ApplyContext& /*context*/) {
  if (user.username.empty()) {
    return absl::InvalidArgumentError("a user needs a username");
  }
  internal::MutexLock lock(&state_->mu);
  // Advanced only once the user is stored: a refused call changes nothing,
  // not even which number the next insert gets.
  uint64_t next_id = state_->next_id;
  if (user.id.empty()) {
    // Numbers taken by explicit ids are skipped, so an id is never reused.
    do {
      user.id = fmt::format("{}{:012}", state_->id_prefix, next_id++);
    } while (state_->users.contains(user.id));
  }
  auto holder = state_->id_by_username.find(user.username);
  if (holder != state_->id_by_username.end() && holder->second != user.id) {
    return absl::AlreadyExistsError(fmt::format(
        "username {} belongs to user {}", user.username, holder->second));
  }
  auto old = state_->users.find(user.id);
  if (old != state_->users.end() && old->second.username != user.username) {
    state_->id_by_username.erase(old->second.username);
  }
  state_->id_by_username[user.username] = user.id;
  state_->users[user.id] = user;
  state_->next_id = next_id;
  return user;
}

absl::Status InMemoryUserDirectory::Scan(
    const std::function<bool(const User&)>& visit) {
  std::vector<User> view;
  {
    internal::MutexLock lock(&state_->mu);
    view.reserve(state_->users.size());
    for (const auto& [id, user] : state_->users) view.push_back(user);
  }
  // Visited without the lock: `visit` may call the directory.
  for (const User& user : view) {
    if (!visit(user)) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> InMemoryUserDirectory::HasProfile(
    std::string_view profile) {
  return state_->Defined(&State::profiles, profile);
}

absl::StatusOr<bool> InMemoryUserDirectory::HasRole(std::string_view role) {
  return state_->Defined(&State::roles, role);
}

absl::StatusOr<bool> InMemoryUserDirectory::HasPermissionSet(
    std::string_view permission_set) {
  return state_->Defined(&State::permission_sets, permission_set);
}

absl::Status InMemoryUserDirectory::AddProfile(std::string_view name) {
  return state_->Define(&State::profiles, "profile", name);
}

absl::Status InMemoryUserDirectory::AddRole(std::string_view name) {
  return state_->Define(&State::roles, "role", name);
}

absl::Status InMemoryUserDirectory::AddPermissionSet(std::string_view name) {
  return state_->Define(&State::permission_sets, "permission set", name);
}

size_t InMemoryUserDirectory::size() const {
  internal::MutexLock lock(&state_->mu);
  return state_->users.size();
}

}  // namespace orgsync
