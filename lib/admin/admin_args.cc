// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "admin/admin_args.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "admin/admin_time.h"

namespace orgsync::admin {
namespace {

enum class Option {
  kHelp,
  kJson,
  kConnection,
  kActor,
  kSince,
  kUntil,
  kStatus,
  kObject,
  kLimit,
  kMaxRecords,
  kRepair,
};

struct OptionSpec {
  Option option;
  const char* name;
  bool takes_value;
};

constexpr OptionSpec kOptionSpecs[] = {
    {Option::kHelp, "--help", false},
    {Option::kJson, "--json", false},
    {Option::kConnection, "--connection", true},
    {Option::kActor, "--actor", true},
    {Option::kSince, "--since", true},
    {Option::kUntil, "--until", true},
    {Option::kStatus, "--status", true},
    {Option::kObject, "--object", true},
    {Option::kLimit, "--limit", true},
    {Option::kMaxRecords, "--max-records", true},
    {Option::kRepair, "--repair", false},
};

const OptionSpec* FindOption(std::string_view name) {
  if (name == "-h") name = "--help";
  for (const OptionSpec& spec : kOptionSpecs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

// The options each command takes besides --help, --json and --connection,
// which all take.
std::vector<Option> CommandOptions(AdminCommand command) {
  switch (command) {
    case AdminCommand::kStatus:
    case AdminCommand::kPublished:
      return {};
    case AdminCommand::kSubscribed:
      return {Option::kObject};
    case AdminCommand::kQueue:
      return {Option::kLimit};
    case AdminCommand::kLog:
      return {Option::kSince, Option::kUntil, Option::kStatus, Option::kObject,
              Option::kLimit};
    case AdminCommand::kHistory:
      return {Option::kSince, Option::kUntil, Option::kLimit};
    case AdminCommand::kSuspend:
    case AdminCommand::kResume:
      return {Option::kActor};
    case AdminCommand::kBulkSync:
      return {Option::kActor, Option::kSince, Option::kObject,
              Option::kMaxRecords};
    case AdminCommand::kBulkStatus:
    case AdminCommand::kVerifyStatus:
      return {};
    case AdminCommand::kVerify:
      return {Option::kActor, Option::kObject, Option::kRepair};
  }
  return {};
}

bool CommandTakes(AdminCommand command, Option option) {
  if (option == Option::kHelp || option == Option::kJson ||
      option == Option::kConnection) {
    return true;
  }
  const std::vector<Option> options = CommandOptions(command);
  return std::find(options.begin(), options.end(), option) != options.end();
}

std::optional<size_t> ParseLimit(std::string_view text) {
  size_t value = 0;
  const auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 1 ||
      value > kMaxLimit) {
    return std::nullopt;
  }
  return value;
}

std::optional<LogStatus> ParseStatusOption(std::string_view text) {
  for (LogStatus status : kAllLogStatuses) {
    if (absl::EqualsIgnoreCase(LogStatusName(status),
                               absl::string_view(text.data(), text.size()))) {
      return status;
    }
  }
  return std::nullopt;
}

std::string LogStatusChoices() {
  std::vector<std::string> names;
  for (LogStatus status : kAllLogStatuses) {
    names.push_back(LogStatusName(status));
  }
  return absl::StrJoin(names, ", ");
}

struct RawOption {
  const OptionSpec* spec;
  std::string value;
};

// Applies one option's value to `args`; the error, or "".
std::string ApplyOption(const RawOption& raw, absl::Time now, AdminArgs& args) {
  const char* const name = raw.spec->name;
  const std::string& value = raw.value;
  if (raw.spec->takes_value && value.empty()) {
    return absl::StrCat(name, " needs a value");
  }
  switch (raw.spec->option) {
    case Option::kHelp:
      args.help = true;
      return "";
    case Option::kJson:
      args.json = true;
      return "";
    case Option::kConnection:
      args.connection = value;
      return "";
    case Option::kActor:
      args.actor = value;
      return "";
    case Option::kSince:
    case Option::kUntil: {
      absl::StatusOr<absl::Time> time = ParseAdminTime(value, now);
      if (!time.ok()) return absl::StrCat(name, ": ", time.status().message());
      (raw.spec->option == Option::kSince ? args.since : args.until) = *time;
      return "";
    }
    case Option::kStatus: {
      std::optional<LogStatus> status = ParseStatusOption(value);
      if (!status) {
        return absl::StrCat("--status must be one of ", LogStatusChoices(),
                            ", not '", value, "'");
      }
      args.status = *status;
      return "";
    }
    case Option::kObject:
      args.object = value;
      return "";
    case Option::kLimit: {
      std::optional<size_t> limit = ParseLimit(value);
      if (!limit) {
        return absl::StrCat("--limit must be a whole number from 1 to ",
                            kMaxLimit, ", not '", value, "'");
      }
      args.limit = *limit;
      return "";
    }
    case Option::kMaxRecords: {
      uint64_t max_records = 0;
      const auto [end, error] = std::from_chars(
          value.data(), value.data() + value.size(), max_records);
      if (error != std::errc() || end != value.data() + value.size() ||
          max_records == 0) {
        return absl::StrCat("--max-records must be a whole number of at "
                            "least 1, not '",
                            value, "'");
      }
      args.max_records = max_records;
      return "";
    }
    case Option::kRepair:
      args.repair = true;
      return "";
  }
  return "";
}

}  // namespace

const char* AdminCommandName(AdminCommand command) {
  switch (command) {
    case AdminCommand::kStatus:
      return "status";
    case AdminCommand::kPublished:
      return "published";
    case AdminCommand::kSubscribed:
      return "subscribed";
    case AdminCommand::kQueue:
      return "queue";
    case AdminCommand::kLog:
      return "log";
    case AdminCommand::kHistory:
      return "history";
    case AdminCommand::kSuspend:
      return "suspend";
    case AdminCommand::kResume:
      return "resume";
    case AdminCommand::kBulkSync:
      return "bulk-sync";
    case AdminCommand::kBulkStatus:
      return "bulk-status";
    case AdminCommand::kVerify:
      return "verify";
    case AdminCommand::kVerifyStatus:
      return "verify-status";
  }
  return "";
}

std::optional<AdminCommand> ParseAdminCommand(std::string_view name) {
  for (AdminCommand command : kAllAdminCommands) {
    if (name == AdminCommandName(command)) return command;
  }
  return std::nullopt;
}

ParsedAdminArgs ParseAdminArgs(const std::vector<std::string>& args,
                               absl::Time now) {
  ParsedAdminArgs parsed;
  std::vector<std::string> positionals;
  std::vector<RawOption> options;
  std::set<std::string_view> seen;
  std::string first_error;
  const auto fail = [&](std::string message) {
    if (first_error.empty()) first_error = std::move(message);
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') {
      positionals.push_back(arg);
      continue;
    }
    const size_t equals = arg.find('=');
    const std::string name = arg.substr(0, equals);
    const OptionSpec* spec = FindOption(name);
    if (spec == nullptr) {
      fail(absl::StrCat("unknown option ", name));
      continue;
    }
    RawOption raw{.spec = spec, .value = ""};
    if (equals != std::string::npos) {
      if (!spec->takes_value) {
        fail(absl::StrCat(spec->name, " takes no value"));
        continue;
      }
      raw.value = arg.substr(equals + 1);
    } else if (spec->takes_value) {
      if (i + 1 >= args.size()) {
        fail(absl::StrCat(spec->name, " needs a value"));
        continue;
      }
      raw.value = args[++i];
    }
    if (!seen.insert(spec->name).second && spec->option != Option::kHelp) {
      fail(absl::StrCat(spec->name, " given twice"));
      continue;
    }
    options.push_back(std::move(raw));
  }

  // `help [command]` is --help.
  if (!positionals.empty() && positionals[0] == "help") {
    parsed.args.help = true;
    positionals.erase(positionals.begin());
  }
  if (!positionals.empty()) {
    parsed.args.command = ParseAdminCommand(positionals[0]);
    if (!parsed.args.command) {
      parsed.error = absl::StrCat("unknown command '", positionals[0], "'");
      return parsed;
    }
    if (positionals.size() > 1)
      fail(absl::StrCat("unexpected argument '", positionals[1], "'"));
  }
  for (const RawOption& raw : options) {
    if (raw.spec->option == Option::kHelp) parsed.args.help = true;
  }
  // Help wins over anything else wrong on the line: it is what the
  // administrator asked for.
  if (parsed.args.help) return parsed;
  if (!parsed.args.command) {
    parsed.error = first_error.empty() ? "no command given" : first_error;
    return parsed;
  }
  for (const RawOption& raw : options) {
    if (!CommandTakes(*parsed.args.command, raw.spec->option)) {
      fail(absl::StrCat("'", AdminCommandName(*parsed.args.command),
                        "' takes no option ", raw.spec->name));
      continue;
    }
    if (std::string error = ApplyOption(raw, now, parsed.args);
        !error.empty()) {
      fail(std::move(error));
    }
  }
  if (first_error.empty() && parsed.args.since && parsed.args.until &&
      *parsed.args.since >= *parsed.args.until) {
    fail("--since must be earlier than --until");
  }
  parsed.error = std::move(first_error);
  return parsed;
}

}  // namespace orgsync::admin
