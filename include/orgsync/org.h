// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Org: the connections of one org (one instance of the host application).
//
// An Org keeps all its connections in one Storage, under the "c/" key
// prefix: "c/.org" names the org the Storage belongs to, "c/.index/<id>"
// lists the connections, and "c/<id>/..." holds each connection's state and
// history. An org may hold several connections (R8), as the primary of some
// and the secondary of others; two orgs is the designed case. Opening an Org
// on a Storage restores every connection exactly as it was last written.
//
// See orgsync/connection.h for the connection's life cycle.
//
// Ownership: the Org owns its Connections (a Connection* is valid as long as
// the Org); it owns neither the Storage, nor the Clock, nor any Transport.
// Destroying the Org detaches its connections from their transports.
//
// Thread-safety: every method may be called from any thread.

#ifndef ORGSYNC_ORG_H_
#define ORGSYNC_ORG_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orgsync/clock.h"
#include "orgsync/conflict.h"
#include "orgsync/connection.h"
#include "orgsync/options.h"
#include "orgsync/record_queue.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"
#include "orgsync/sync_log.h"
#include "orgsync/transport.h"

namespace orgsync {

class Org {
 public:
  Org() = default;
  Org(const Org&) = delete;
  Org& operator=(const Org&) = delete;
  virtual ~Org() = default;

  // Opens the org's connections stored in `storage` (none the first time),
  // each with its PublishSet, SubscriptionMap, RecordQueue and SyncLog.
  // `storage` and `clock` (and options.schema) must outlive the Org.
  // InvalidArgument for a bad org id or options (e.g. a queue report
  // interval that is not positive and finite); FailedPrecondition if
  // `storage` belongs to another org; DataLoss if stored state cannot be
  // parsed.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Org>> Open(
      const OrgOptions& options, Storage* storage, Clock* clock);

  virtual const std::string& org_id() const = 0;
  virtual const std::string& org_name() const = 0;

  // Primary: creates a connection in status Invited (R1) and returns its
  // id and secret. InvalidArgument for a bad id, a missing owner/contact,
  // an empty actor, or a type other than Replication; AlreadyExists if the
  // id is taken.
  [[nodiscard]] virtual absl::StatusOr<Invitation> CreateInvitation(
      const InvitationOptions& options, std::string_view actor) = 0;

  // Primary: the invitation of connection `connection_id` again, while it
  // is still Invited -- for a host that crashed (or failed) after
  // CreateInvitation made it durable but before the host stored or handed
  // on its answer. NotFound if there is no such connection;
  // FailedPrecondition if this org is not its primary or the connection is
  // no longer Invited (the invitation was used, or withdrawn).
  [[nodiscard]] virtual absl::StatusOr<Invitation> PendingInvitation(
      std::string_view connection_id) const = 0;

  // Secondary: records the acceptance of invitation `connection_id` with
  // `secret_hex`, attaches `transport` and sends the acceptance to the
  // primary: a proof that this org holds the secret, not the secret (see
  // "Handshake trust" in orgsync/connection.h). The result arrives later
  // through the transport: watch status() / acceptance_status(); an
  // "accepted" counts only with the primary's own proof of the secret, over
  // this process's acceptance (after a restart while Invited, call
  // SendAcceptance() again). Calling it again for a connection still
  // Invited (e.g. after a refusal) replaces the secret and resends.
  //
  // The acceptance is recorded before it is sent, so a transport that
  // cannot reach the primary does not fail this call: acceptance_status()
  // reports Unavailable and SendAcceptance() sends again.
  //
  // InvalidArgument for a bad id, a secret that is not 64 hex digits, a
  // null transport or an empty actor; AlreadyExists if this org is the
  // connection's primary or already accepted it; FailedPrecondition if it
  // was deactivated.
  [[nodiscard]] virtual absl::StatusOr<Connection*> AcceptInvitation(
      std::string_view connection_id, std::string_view secret_hex,
      Transport* transport, std::string_view actor) = 0;

  // NotFound if there is no such connection.
  [[nodiscard]] virtual absl::StatusOr<Connection*> GetConnection(
      std::string_view connection_id) const = 0;

  // Every connection, Deactivated ones included, ordered by id.
  virtual std::vector<Connection*> Connections() const = 0;

  // Connection::Step() on every connection, in id order. Returns the
  // entries sent in total, or the first error (the remaining connections
  // are still stepped). The host calls it in its own loop, or starts a
  // Runner (orgsync/runner.h) that calls it on a thread of its own.
  [[nodiscard]] virtual absl::StatusOr<size_t> Step() = 0;
};

}  // namespace orgsync

#endif  // ORGSYNC_ORG_H_
