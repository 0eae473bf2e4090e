// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// RunAdminCommand: one orgsync-admin command against an open Org -- what
// the seed's Connection Detail page shows (status, publications,
// subscriptions, record queue, sync log, history) and its Suspend and
// Resume buttons, for an administrator at a terminal or a script.
//
// The same function serves the tool on a stopped node's state folder
// (lib/admin/admin_main.cc opens it and calls this) and a running node
// (its control service's Admin RPC calls this on the node's own Org), so
// both print exactly the same. The command line is documented by the
// tool's --help (admin_help.cc); the --json output by
// proto/admin/admin_output.proto.
//
// Exit codes, for scripts (also in every --help):
//   0 ok; 1 runtime error (the Storage failed); 2 usage error (nothing was
//   done); 3 not found (no such connection, no connection at all, or an
//   object the partner does not publish); 4 refused (the connection's
//   status does not allow the action, e.g. suspend when not Active).
//
// Only the public API (include/orgsync/) is used to read and change the
// org.
//
// Thread-safety: as the Org: any thread, concurrently with the host's own
// use of it (a running node steps it meanwhile). Holds no lock of its own.

#ifndef ORGSYNC_LIB_ADMIN_ADMIN_COMMAND_H_
#define ORGSYNC_LIB_ADMIN_ADMIN_COMMAND_H_

#include <string>
#include <vector>

#include "orgsync/clock.h"
#include "orgsync/org.h"

namespace orgsync::admin {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntimeError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotFound = 3;
inline constexpr int kExitRefused = 4;

// What the tool prints: `out` to standard output, `err` to standard error
// (each empty or ending in '\n'), and its exit status.
struct AdminOutput {
  int exit_code = 0;
  std::string out;
  std::string err;
};

// Runs one orgsync-admin command, `args` without the program name and
// without --state, against an open org. `clock` is the Org's: it ages
// queue entries and resolves relative times ("--since 2h"). Never throws;
// every failure is in the result.
AdminOutput RunAdminCommand(Org& org, Clock& clock,
                            const std::vector<std::string>& args);

}  // namespace orgsync::admin

#endif  // ORGSYNC_LIB_ADMIN_ADMIN_COMMAND_H_
