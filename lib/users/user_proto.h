// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Users as they cross the wire (proto::User), and the username rule of
// user sync (R71): a secondary's username is the primary's plus ".dr".

#ifndef ORGSYNC_LIB_USERS_USER_PROTO_H_
#define ORGSYNC_LIB_USERS_USER_PROTO_H_

#include <optional>
#include <string>
#include <string_view>

#include "orgsync/user_directory.h"
#include "proto/common.pb.h"

namespace orgsync::internal {

proto::User UserToProto(const User& user);
User UserFromProto(const proto::User& user);

// Whether `username` carries the secondary's suffix (and something before
// it).
bool HasSecondarySuffix(std::string_view username);

// The username a user of the partner gets in this org: on a secondary the
// primary's username plus ".dr"; on a primary the secondary's without it,
// nullopt when the secondary's has no suffix (such users are never copied,
// R71).
std::optional<std::string> LocalUsername(std::string_view partner_username,
                                         bool local_is_secondary);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_USERS_USER_PROTO_H_
