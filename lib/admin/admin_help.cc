// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "admin/admin_help.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace orgsync::admin {
namespace {

constexpr char kCommonOptions[] =
    "  --connection ID  the connection to show (default: the org's only one;\n"
    "                   with several, this option is required)\n"
    "  --json           one JSON object for scripts instead of a table\n"
    "  --help, -h       this help\n";

constexpr char kExitCodes[] =
    "Exit codes:\n"
    "  0  done\n"
    "  1  runtime error (the state could not be read or written)\n"
    "  2  usage error (bad command line; nothing was done)\n"
    "  3  not found (no such connection, no connection at all, or an\n"
    "     object the partner does not publish)\n"
    "  4  refused: the connection's status does not allow the action\n"
    "     (e.g. suspend a connection that is not Active; nothing was done)\n";

constexpr char kTimeValues[] =
    "TIME is an RFC 3339 time (2026-01-01T10:00:00Z) or a span before now:\n"
    "digits with d, h, m, s or ms (90s, 15m, 1h30m, 2d).\n";

std::string Usage(absl::string_view command, absl::string_view options) {
  return absl::StrCat("Usage: orgsync-admin --state DIR ", command,
                      " [options]\n\nOptions:\n", options, kCommonOptions);
}

}  // namespace

std::string ToolHelp() {
  return absl::StrCat(
      "orgsync-admin: what a node's Connection Detail page shows -- status,\n"
      "publications, subscriptions, record queue, sync log, history -- and\n"
      "suspend/resume, for the node whose state folder is DIR.\n"
      "\n"
      "Usage: orgsync-admin --state DIR <command> [options]\n"
      "       orgsync-admin --state DIR <command> --help\n"
      "\n"
      "While the node runs, the tool asks it over DIR/control.sock; when it\n"
      "is stopped, the tool opens DIR itself (only suspend, resume and\n"
      "bulk-sync write).\n"
      "\n"
      "Commands:\n"
      "  status      each connection: role, type, status, options, owner,\n"
      "              contact, partner, queued entries, oldest entry's age\n"
      "  published   the objects and fields this side publishes\n"
      "  subscribed  what the partner publishes and what this side takes\n"
      "  queue       the outgoing record queue, oldest first\n"
      "  log         the sync log, newest first, with filters\n"
      "  history     the connection's history (status changes, admin events)\n"
      "  suspend     suspend the connection (changes queue up meanwhile)\n"
      "  resume      resume an administrator's suspension\n"
      "  bulk-sync   copy the records that exist already (R60)\n"
      "  bulk-status the bulk sync's progress: records remaining\n"
      "  verify      compare both orgs' records by digests (a running node)\n"
      "  verify-status the running or last Verify's report\n"
      "\n"
      "Options of every command:\n",
      kCommonOptions,
      "\n"
      "With --json, standard output is one line of JSON: snake_case names,\n"
      "every field present, times in RFC 3339 (UTC), 64-bit numbers as\n"
      "strings. Errors stay text on standard error, with the exit code.\n"
      "\n",
      kExitCodes);
}

std::string CommandHelp(AdminCommand command) {
  switch (command) {
    case AdminCommand::kStatus:
      return absl::StrCat(
          "orgsync-admin status: each connection of the org, one row each\n"
          "(or the one --connection names): connection id, role, type,\n"
          "status, options (audit = sync feeds and audit fields, metadata,\n"
          "users), owner, contact, partner org, queued entries and the age\n"
          "of the oldest; then why a suspended connection is suspended.\n\n",
          Usage("status", ""), "\n", kExitCodes);
    case AdminCommand::kPublished:
      return absl::StrCat(
          "orgsync-admin published: the objects this side publishes on the\n"
          "connection, whether the partner subscribed to each, and their\n"
          "published fields.\n\n",
          Usage("published", ""), "\n", kExitCodes);
    case AdminCommand::kSubscribed:
      return absl::StrCat(
          "orgsync-admin subscribed: the objects the partner publishes,\n"
          "whether this side subscribed to each, the local object it maps\n"
          "to and how many fields are subscribed; with --object, that\n"
          "object's fields one by one (partner field, status, local field,\n"
          "why it is not subscribed).\n\n",
          Usage("subscribed",
                "  --object NAME    the field mappings of one object (the\n"
                "                   partner's name)\n"),
          "\n", kExitCodes);
    case AdminCommand::kQueue:
      return absl::StrCat(
          "orgsync-admin queue: the entries waiting to reach the partner,\n"
          "oldest first: sequence, action, object, record, failed attempts,\n"
          "next retry, last error.\n\n",
          Usage(
              "queue",
              absl::StrCat("  --limit N        at most N entries (default ",
                           kDefaultQueueLimit, ", at most ", kMaxLimit, ")\n")),
          "\n", kExitCodes);
    case AdminCommand::kLog:
      return absl::StrCat(
          "orgsync-admin log: the sync log's entries, newest first: event,\n"
          "time, status, action, object, record, error code, attempts,\n"
          "description. Filters combine.\n\n",
          Usage("log",
                absl::StrCat(
                    "  --since TIME     entries at or after TIME\n"
                    "  --until TIME     entries before TIME\n"
                    "  --status S       Retrying, Failed, Resolved or Info\n"
                    "                   (any case)\n"
                    "  --object NAME    entries of one object\n"
                    "  --limit N        at most N entries (default ",
                    kDefaultLogLimit, ", at most ", kMaxLimit, ")\n")),
          "\n", kTimeValues, "\n", kExitCodes);
    case AdminCommand::kHistory:
      return absl::StrCat(
          "orgsync-admin history: the connection's history, oldest first:\n"
          "sequence, time, event, status after it, actor, detail.\n\n",
          Usage("history",
                absl::StrCat("  --since TIME     entries at or after TIME\n"
                             "  --until TIME     entries before TIME\n"
                             "  --limit N        only the latest N entries "
                             "(at most ",
                             kMaxLimit, ")\n")),
          "\n", kTimeValues, "\n", kExitCodes);
    case AdminCommand::kSuspend:
      return absl::StrCat(
          "orgsync-admin suspend: suspends an Active connection (R5): nothing\n"
          "is sent until it is resumed; changes wait in the queue. Recorded\n"
          "in the history with the actor.\n\n",
          Usage("suspend",
                absl::StrCat("  --actor NAME     who suspends it (default ",
                             kDefaultActor, ")\n")),
          "\n", kExitCodes);
    case AdminCommand::kResume:
      return absl::StrCat(
          "orgsync-admin resume: ends an administrator's suspension (R5).\n"
          "The connection stays Suspended while the partner is unavailable.\n"
          "Recorded in the history with the actor.\n\n",
          Usage("resume",
                absl::StrCat("  --actor NAME     who resumes it (default ",
                             kDefaultActor, ")\n")),
          "\n", kExitCodes);
    case AdminCommand::kBulkSync:
      return absl::StrCat(
          "orgsync-admin bulk-sync: starts a bulk sync (R60-R65): the\n"
          "records this side publishes and the partner subscribes, created\n"
          "or modified since the cutoff, are copied to the partner, parents\n"
          "before children; records synced already are skipped (R62). The\n"
          "running node reads and queues them as it steps; follow it with\n"
          "bulk-status. One at a time per connection (R63). Recorded in the\n"
          "history with the actor.\n\n",
          Usage("bulk-sync",
                absl::StrCat(
                    "  --since TIME     the cutoff: records modified at or\n"
                    "                   after TIME (default and earliest: one\n"
                    "                   year ago, R61)\n"
                    "  --object A,B     only these objects (default: every\n"
                    "                   object published and subscribed)\n"
                    "  --max-records N  copy at most N records\n"
                    "  --actor NAME     who starts it (default ",
                    kDefaultActor, ")\n")),
          "\n", kTimeValues, "\n", kExitCodes);
    case AdminCommand::kBulkStatus:
      return absl::StrCat(
          "orgsync-admin bulk-status: the running bulk sync of the\n"
          "connection, or the last one: per object the records queued,\n"
          "copied, failed, skipped and still remaining (R63).\n\n",
          Usage("bulk-status", ""), "\n", kExitCodes);
    case AdminCommand::kVerify:
      return absl::StrCat(
          "orgsync-admin verify: starts a Verify: this org's linked records\n"
          "are compared with the partner's copies, object by object, by\n"
          "digests over ranges of ids; only ranges that differ are compared\n"
          "record by record. The running node exchanges the digests with\n"
          "its partner as it steps; follow it with verify-status. Needs the\n"
          "running node (a stopped one has no partner to ask). One at a\n"
          "time per connection.\n\n",
          Usage("verify",
                absl::StrCat(
                    "  --object A,B     only these objects (default: every\n"
                    "                   object that flows either way)\n"
                    "  --repair         once compared, forward this org's\n"
                    "                   records that differ, that the partner\n"
                    "                   lacks or that are not linked (R66)\n"
                    "  --actor NAME     who starts it (default ",
                    kDefaultActor, ")\n")),
          "\n", kExitCodes);
    case AdminCommand::kVerifyStatus:
      return absl::StrCat(
          "orgsync-admin verify-status: the running Verify of the\n"
          "connection, or the last one since the node started: per object\n"
          "the records compared, matched, differing, on one side only, not\n"
          "linked and pending, and whether the orgs are identical.\n\n",
          Usage("verify-status", ""), "\n", kExitCodes);
  }
  return ToolHelp();
}

std::string UsageHint(const AdminArgs& args) {
  if (args.command) {
    return absl::StrCat("Run 'orgsync-admin ", AdminCommandName(*args.command),
                        " --help' for its usage.\n");
  }
  return "Run 'orgsync-admin --help' for the commands.\n";
}

}  // namespace orgsync::admin
