// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "users/user_proto.h"

#include <string>

namespace orgsync::internal {

proto::User UserToProto(const User& user) {
  proto::User out;
  out.set_id(user.id);
  out.set_username(user.username);
  out.set_email(user.email);
  out.set_full_name(user.full_name);
  out.set_profile(user.profile);
  out.set_role(user.role);
  for (const std::string& set : user.permission_sets) {
    out.add_permission_sets(set);
  }
  out.set_active(user.active);
  out.set_standard_license(user.standard_license);
  return out;
}

User UserFromProto(const proto::User& user) {
  return User{.id = user.id(),
              .username = user.username(),
              .email = user.email(),
              .full_name = user.full_name(),
              .profile = user.profile(),
              .role = user.role(),
              .permission_sets = {user.permission_sets().begin(),
                                  user.permission_sets().end()},
              .active = user.active(),
              .standard_license = user.standard_license()};
}

bool HasSecondarySuffix(std::string_view username) {
  return username.size() > kSecondaryUsernameSuffix.size() &&
         username.ends_with(kSecondaryUsernameSuffix);
}

std::optional<std::string> LocalUsername(std::string_view partner_username,
                                         bool local_is_secondary) {
  if (local_is_secondary) {
    return std::string(partner_username) +
           std::string(kSecondaryUsernameSuffix);
  }
  if (!HasSecondarySuffix(partner_username)) return std::nullopt;
  partner_username.remove_suffix(kSecondaryUsernameSuffix.size());
  return std::string(partner_username);
}

}  // namespace orgsync::internal
