// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The command line of orgsync-admin, after the program name and --state:
//
//   <command> [options]      e.g.  log --status failed --since 2h --json
//
// Options may come before or after the command, as "--name value" or
// "--name=value". Each command accepts only the options its help lists;
// anything else is a usage error with a message that names it. `help` and
// `help <command>` are the same as --help and <command> --help.
//
// Thread-safety: pure functions.

#ifndef ORGSYNC_LIB_ADMIN_ADMIN_ARGS_H_
#define ORGSYNC_LIB_ADMIN_ADMIN_ARGS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "orgsync/sync_log.h"

namespace orgsync::admin {

enum class AdminCommand {
  kStatus,
  kPublished,
  kSubscribed,
  kQueue,
  kLog,
  kHistory,
  kSuspend,
  kResume,
  kBulkSync,
  kBulkStatus,
  kVerify,
  kVerifyStatus,
};

inline constexpr std::array<AdminCommand, 12> kAllAdminCommands = {
    AdminCommand::kStatus,     AdminCommand::kPublished,
    AdminCommand::kSubscribed, AdminCommand::kQueue,
    AdminCommand::kLog,        AdminCommand::kHistory,
    AdminCommand::kSuspend,    AdminCommand::kResume,
    AdminCommand::kBulkSync,   AdminCommand::kBulkStatus,
    AdminCommand::kVerify,     AdminCommand::kVerifyStatus};

// "status", "published", ...
const char* AdminCommandName(AdminCommand command);
std::optional<AdminCommand> ParseAdminCommand(std::string_view name);

// The actor written to the history by suspend and resume without --actor.
inline constexpr char kDefaultActor[] = "orgsync-admin";
// The largest --limit (the SyncLog's and RecordQueue's largest page).
inline constexpr size_t kMaxLimit = 10000;
// Rows shown without --limit.
inline constexpr size_t kDefaultQueueLimit = 100;
inline constexpr size_t kDefaultLogLimit = 50;

struct AdminArgs {
  // nullopt only with `help`: the tool's own help.
  std::optional<AdminCommand> command;
  bool help = false;
  bool json = false;
  std::optional<std::string> connection;
  std::string actor = std::string(kDefaultActor);
  std::optional<absl::Time> since;  // inclusive
  std::optional<absl::Time> until;  // exclusive
  std::optional<LogStatus> status;
  std::optional<std::string> object;
  // Rows to show; nullopt: the command's default (history: all).
  std::optional<size_t> limit;
  // bulk-sync: the most records to copy (R60); nullopt: no limit.
  std::optional<uint64_t> max_records;
  // verify: forward this org's records that differ (--repair).
  bool repair = false;
};

struct ParsedAdminArgs {
  AdminArgs args;
  // Empty when the command line is good; otherwise what is wrong with it,
  // one sentence for the administrator.
  std::string error;
};

// Parses `args`; relative --since/--until ("2h") count back from `now`.
ParsedAdminArgs ParseAdminArgs(const std::vector<std::string>& args,
                               absl::Time now);

}  // namespace orgsync::admin

#endif  // ORGSYNC_LIB_ADMIN_ADMIN_ARGS_H_
