// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "admin/admin_command.h"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "admin/admin_args.h"
#include "admin/admin_collect.h"
#include "admin/admin_help.h"
#include "admin/admin_render.h"
#include "orgsync/bulk_sync.h"
#include "orgsync/connection.h"

namespace orgsync::admin {
namespace {

constexpr char kProgram[] = "orgsync-admin: ";

AdminOutput Usage(const AdminArgs& args, const std::string& message) {
  return {.exit_code = kExitUsage,
          .out = "",
          .err = absl::StrCat(kProgram, message, "\n", UsageHint(args))};
}

// A failure of the org's own calls: the exit code its status stands for.
AdminOutput Failure(const absl::Status& status, const std::string& context) {
  int code = kExitRuntimeError;
  if (absl::IsNotFound(status)) code = kExitNotFound;
  if (absl::IsFailedPrecondition(status)) code = kExitRefused;
  return {.exit_code = code,
          .out = "",
          .err = absl::StrCat(kProgram, context, status.message(), "\n")};
}

// The connection a command runs on: --connection's, or the org's only
// one; or what to print instead.
struct Selection {
  Connection* connection = nullptr;
  std::optional<AdminOutput> failure;
};

Selection SelectConnection(Org& org, const AdminArgs& args) {
  const std::vector<Connection*> connections = org.Connections();
  std::vector<std::string> ids;
  for (const Connection* connection : connections) {
    ids.push_back(connection->id());
  }
  if (args.connection) {
    absl::StatusOr<Connection*> connection =
        org.GetConnection(*args.connection);
    if (connection.ok()) return {.connection = *connection, .failure = {}};
    if (!absl::IsNotFound(connection.status())) {
      return {.connection = nullptr,
              .failure = Failure(connection.status(), "")};
    }
    return {.connection = nullptr,
            .failure = AdminOutput{
                .exit_code = kExitNotFound,
                .out = "",
                .err = absl::StrCat(
                    kProgram, "no connection '", *args.connection, "' (",
                    ids.empty() ? std::string("the org has none")
                                : absl::StrCat("connections: ",
                                               absl::StrJoin(ids, ", ")),
                    ")\n")}};
  }
  if (connections.empty()) {
    return {.connection = nullptr,
            .failure = AdminOutput{
                .exit_code = kExitNotFound,
                .out = "",
                .err = absl::StrCat(kProgram, "the org has no connections\n")}};
  }
  if (connections.size() > 1) {
    return {.connection = nullptr,
            .failure = Usage(
                args, absl::StrCat("the org has ", connections.size(),
                                   " connections (", absl::StrJoin(ids, ", "),
                                   "): choose one with --connection ID"))};
  }
  return {.connection = connections[0], .failure = {}};
}

// The message as --json or as a table.
template <typename Message, typename Render>
AdminOutput Print(const AdminArgs& args, const Message& message,
                  Render render) {
  if (!args.json)
    return {.exit_code = kExitOk, .out = render(message), .err = ""};
  absl::StatusOr<std::string> json = RenderJson(message);
  if (!json.ok()) return Failure(json.status(), "");
  return {.exit_code = kExitOk, .out = *std::move(json), .err = ""};
}

AdminOutput RunStatus(Org& org, Clock& clock, const AdminArgs& args) {
  std::vector<Connection*> connections;
  if (args.connection) {
    Selection selection = SelectConnection(org, args);
    if (selection.failure) return *std::move(selection.failure);
    connections.push_back(selection.connection);
  } else {
    connections = org.Connections();
  }
  proto::StatusOutput output;
  const absl::Time now = clock.Now();
  for (const Connection* connection : connections) {
    absl::StatusOr<proto::ConnectionStatus> status =
        CollectStatus(*connection, now);
    if (!status.ok()) {
      return Failure(status.status(), absl::StrCat("reading connection ",
                                                   connection->id(), ": "));
    }
    *output.add_connections() = *std::move(status);
  }
  return Print(args, output, RenderStatus);
}

AdminOutput RunSuspendOrResume(Connection& connection, const AdminArgs& args) {
  const bool suspend = *args.command == AdminCommand::kSuspend;
  proto::ActionOutput output;
  output.set_connection_id(connection.id());
  output.set_action(suspend ? "suspend" : "resume");
  output.set_actor(args.actor);
  output.set_status_before(ConnectionStatusName(connection.status()));
  const absl::Status status =
      suspend ? connection.Suspend(args.actor) : connection.Resume(args.actor);
  if (!status.ok()) {
    return Failure(status, absl::StrCat("cannot ", output.action(),
                                        " connection ", connection.id(), ": "));
  }
  output.set_status_after(ConnectionStatusName(connection.status()));
  return Print(args, output, RenderAction);
}

AdminOutput RunBulkSync(Connection& connection, Clock& clock,
                        const AdminArgs& args) {
  BulkSyncOptions options;
  options.actor = args.actor;
  if (args.object.has_value()) {
    options.objects = absl::StrSplit(*args.object, ',', absl::SkipEmpty());
  }
  // A --since older than one year is refused by the connection (R61), with
  // a message saying so. One within a second of exactly a year ("365d") is
  // the earliest allowed, which the connection measures a moment later.
  if (args.since.has_value()) {
    const absl::Time earliest = clock.Now() - kMaxBulkSyncAge;
    if (absl::AbsDuration(*args.since - earliest) > absl::Seconds(1)) {
      options.cutoff = *args.since;
    }
  }
  options.max_records = args.max_records.value_or(0);
  absl::StatusOr<BulkSyncProgress> started = connection.StartBulkSync(options);
  if (!started.ok()) {
    if (absl::IsInvalidArgument(started.status())) {
      return Usage(args, std::string(started.status().message()));
    }
    return Failure(started.status(),
                   absl::StrCat("cannot start a bulk sync on connection ",
                                connection.id(), ": "));
  }
  return Print(args, CollectBulkSync(connection.id(), *started),
               [](const proto::BulkSyncOutput& output) {
                 return RenderBulkSync(output, /*started=*/true);
               });
}

AdminOutput RunOnConnection(Connection& connection, Clock& clock,
                            const AdminArgs& args) {
  const std::string context =
      absl::StrCat("reading connection ", connection.id(), ": ");
  switch (*args.command) {
    case AdminCommand::kStatus:
      break;  // RunStatus
    case AdminCommand::kPublished:
      return Print(args, CollectPublished(connection), RenderPublished);
    case AdminCommand::kSubscribed: {
      absl::StatusOr<proto::SubscribedOutput> output =
          CollectSubscribed(connection, args.object);
      if (!output.ok()) return Failure(output.status(), "");
      const bool field_mappings = args.object.has_value();
      return Print(args, *output,
                   [field_mappings](const proto::SubscribedOutput& message) {
                     return RenderSubscribed(message, field_mappings);
                   });
    }
    case AdminCommand::kQueue: {
      absl::StatusOr<proto::QueueOutput> output =
          CollectQueue(connection, args.limit.value_or(kDefaultQueueLimit));
      if (!output.ok()) return Failure(output.status(), context);
      return Print(args, *output, RenderQueue);
    }
    case AdminCommand::kLog: {
      LogQuery query;
      query.since = args.since;
      query.until = args.until;
      query.status = args.status;
      query.object = args.object;
      query.newest_first = true;
      absl::StatusOr<proto::LogOutput> output =
          CollectLog(connection, query, args.limit.value_or(kDefaultLogLimit));
      if (!output.ok()) return Failure(output.status(), context);
      return Print(args, *output, RenderLog);
    }
    case AdminCommand::kHistory: {
      absl::StatusOr<proto::HistoryOutput> output = CollectHistory(
          connection, args.since.value_or(absl::InfinitePast()),
          args.until.value_or(absl::InfiniteFuture()), args.limit);
      if (!output.ok()) return Failure(output.status(), context);
      return Print(args, *output, RenderHistory);
    }
    case AdminCommand::kSuspend:
    case AdminCommand::kResume:
      return RunSuspendOrResume(connection, args);
    case AdminCommand::kBulkSync:
      return RunBulkSync(connection, clock, args);
    case AdminCommand::kVerify: {
      VerifyOptions options;
      options.actor = args.actor;
      options.repair = args.repair;
      if (args.object.has_value()) {
        options.objects = absl::StrSplit(*args.object, ',', absl::SkipEmpty());
      }
      absl::StatusOr<VerifyReport> started = connection.StartVerify(options);
      if (!started.ok()) {
        if (absl::IsInvalidArgument(started.status())) {
          return Usage(args, std::string(started.status().message()));
        }
        return Failure(started.status(),
                       absl::StrCat("cannot start a Verify on connection ",
                                    connection.id(), ": "));
      }
      return Print(args, CollectVerify(connection.id(), *started),
                   [](const proto::VerifyOutput& output) {
                     return RenderVerify(output, /*started=*/true);
                   });
    }
    case AdminCommand::kVerifyStatus: {
      absl::StatusOr<std::optional<VerifyReport>> report =
          connection.VerifyStatus();
      if (!report.ok()) return Failure(report.status(), context);
      return Print(args, CollectVerify(connection.id(), *report),
                   [](const proto::VerifyOutput& output) {
                     return RenderVerify(output, /*started=*/false);
                   });
    }
    case AdminCommand::kBulkStatus: {
      absl::StatusOr<std::optional<BulkSyncProgress>> progress =
          connection.BulkSyncStatus();
      if (!progress.ok()) return Failure(progress.status(), context);
      return Print(args, CollectBulkSync(connection.id(), *progress),
                   [](const proto::BulkSyncOutput& output) {
                     return RenderBulkSync(output, /*started=*/false);
                   });
    }
  }
  return {.exit_code = kExitRuntimeError,
          .out = "",
          .err = absl::StrCat(kProgram, "unhandled command\n")};
}

}  // namespace

AdminOutput RunAdminCommand(Org& org, Clock& clock,
                            const std::vector<std::string>& args) {
  const ParsedAdminArgs parsed = ParseAdminArgs(args, clock.Now());
  if (parsed.args.help) {
    return {.exit_code = kExitOk,
            .out = parsed.args.command ? CommandHelp(*parsed.args.command)
                                       : ToolHelp(),
            .err = ""};
  }
  if (!parsed.error.empty()) return Usage(parsed.args, parsed.error);
  if (*parsed.args.command == AdminCommand::kStatus) {
    return RunStatus(org, clock, parsed.args);
  }
  Selection selection = SelectConnection(org, parsed.args);
  if (selection.failure) return *std::move(selection.failure);
  return RunOnConnection(*selection.connection, clock, parsed.args);
}

}  // namespace orgsync::admin
