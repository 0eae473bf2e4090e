// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The --help texts of orgsync-admin: the tool's (commands, common options,
// exit codes) and each command's (what it shows, its options).
//
// Thread-safety: pure functions.

#ifndef ORGSYNC_LIB_ADMIN_ADMIN_HELP_H_
#define ORGSYNC_LIB_ADMIN_ADMIN_HELP_H_

#include <string>

#include "admin/admin_args.h"

namespace orgsync::admin {

std::string ToolHelp();
std::string CommandHelp(AdminCommand command);

// The line that follows a usage error: where to read the usage.
std::string UsageHint(const AdminArgs& args);

}  // namespace orgsync::admin

#endif  // ORGSYNC_LIB_ADMIN_ADMIN_HELP_H_
