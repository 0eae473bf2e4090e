// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// ConnectionImpl: the Connection behind orgsync/connection.h.
//
// The whole persisted state is one ConnectionState proto, kept in memory as
// `state_` and rewritten (with the history entries an operation adds) in one
// synced WriteBatch per operation. An operation works on a copy and swaps it
// in only after the write succeeded, so a failed call changes nothing.
//
// Locking: mu_ guards the state and is held while sending (the Transport
// contract forbids Send from calling back). attach_mu_ serializes
// AttachTransport; it is never taken by transport callbacks, and
// Transport::SetHandler is always called with mu_ released, because
// SetHandler waits for running callbacks, which need mu_.

#ifndef ORGSYNC_LIB_CONNECTION_CONNECTION_IMPL_H_
#define ORGSYNC_LIB_CONNECTION_CONNECTION_IMPL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "connection/connection_components.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/storage.h"
#include "orgsync/transport.h"
#include "proto/connection_state.pb.h"
#include "proto/wire.pb.h"

namespace orgsync::internal {

// What every connection of an org shares. Owned by the Org.
struct OrgEnv {
  Storage* storage;
  Clock* clock;
  std::string org_id;
  std::string org_name;
};

// Clock time truncated to what the Storage keeps, so that the in-memory
// state always equals the reopened one.
absl::Time StoredNow(const Clock& clock);

// "sync feeds and audit fields on, sync metadata off, ...", for history.
std::string DescribeSync(const SyncOptions& sync);

// Appends a history entry to `batch`, numbering it from `state` (whose
// status is recorded as the status after the event).
void AddHistory(std::string_view connection_id, absl::Time time,
                HistoryEvent event, std::string_view actor,
                std::string_view detail, proto::ConnectionState* state,
                WriteBatch* batch);

// Checks a loaded state: DataLoss if an enum is out of range or the id is
// not `connection_id`.
[[nodiscard]] absl::Status ValidateStoredState(
    std::string_view connection_id, const proto::ConnectionState& state);

class ConnectionImpl final : public Connection {
 public:
  // `state` is as stored; `env` outlives the connection.
  ConnectionImpl(const OrgEnv* env, proto::ConnectionState state);
  ~ConnectionImpl() override;

  const std::string& id() const override { return id_; }
  ConnectionType type() const override { return type_; }
  ReplicationRole role() const override { return role_; }
  ConnectionStatus status() const override;
  bool accepted() const override;
  ConnectionInfo Info() const override;
  absl::Status acceptance_status() const override;

  absl::Status AttachTransport(Transport* transport) override;
  absl::Status SendAcceptance() override;
  absl::Status CompleteMetadataSync(std::string_view actor) override;
  absl::Status CompleteUserSync(std::string_view actor) override;
  absl::Status RecordMetadataSyncFailure(std::string_view item,
                                         std::string_view description) override;
  absl::Status Suspend(std::string_view actor) override;
  absl::Status Resume(std::string_view actor) override;
  absl::Status Deactivate(std::string_view actor) override;
  absl::Status UpdateOwner(std::string_view owner,
                           std::string_view actor) override;
  absl::Status UpdateContact(std::string_view contact,
                             std::string_view actor) override;
  absl::Status UpdateSyncOptions(const SyncOptions& sync,
                                 std::string_view actor) override;
  absl::StatusOr<std::vector<HistoryEntry>> History(
      const HistoryQuery& query) const override;
  std::vector<PendingNotice> PendingNotices() const override;
  ConnectionCounters counters() const override;
  bool partner_available() const override;

  // Secondary, still Invited: replaces the secret for a new attempt
  // (Org::AcceptInvitation on an existing connection).
  [[nodiscard]] absl::Status RestartAcceptance(std::string secret,
                                               std::string_view actor);

 private:
  class Handler final : public TransportHandler {
   public:
    explicit Handler(ConnectionImpl* connection) : connection_(connection) {}
    void OnMessage(std::string bytes) override;
    void OnAvailabilityChanged(bool available) override;

   private:
    ConnectionImpl* const connection_;
  };

  void HandleMessage(std::string bytes);
  void HandleAvailability(bool available);

  // Incoming handshake messages.
  void HandleAccept(const proto::Envelope& envelope)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleHandshakeResult(const proto::Envelope& envelope)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Refuses a peer's acceptance: logs it (R1) and answers.
  void RefusePeer(const proto::Envelope& envelope, std::string_view reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReplyAccepted() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // SEAM: traffic of an accepted connection, for the engine components.
  void RouteToEngine(const proto::Envelope& envelope)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // R6: applies the partner's availability to the status.
  absl::Status ApplyAvailabilityLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Status SendAcceptanceLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fills the envelope's header and sends it through the transport.
  absl::Status SendEnvelope(proto::Envelope envelope)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // FailedPrecondition naming both statuses, unless `to` is reachable
  // from the current status and `allowed` holds.
  absl::Status CheckMove(ConnectionStatus to, bool allowed,
                         std::string_view why) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // SEAM: records a Connection notice for the partner (see
  // connection_components.h).
  void StageNotice(QueueAction action, absl::Time time, std::string_view actor,
                   proto::ConnectionState* next) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Writes `next` with `batch` (sync) and makes it the state.
  absl::Status Commit(proto::ConnectionState next, WriteBatch batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Shared by the three Update* calls.
  absl::Status UpdateSettings(HistoryEvent event, std::string_view actor,
                              std::string_view detail,
                              const proto::ConnectionState& changed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckSettingsEditable(std::string_view what) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  ConnectionStatus StatusLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool AcceptedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const OrgEnv* const env_;
  const std::string id_;
  const ConnectionType type_;
  const ReplicationRole role_;
  Handler handler_;

  absl::Mutex attach_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  proto::ConnectionState state_ ABSL_GUARDED_BY(mu_);
  Transport* transport_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool partner_available_ ABSL_GUARDED_BY(mu_) = false;
  // Secondary: how the last attempt to send the acceptance ended.
  absl::Status last_send_status_ ABSL_GUARDED_BY(mu_);
  uint64_t next_message_id_ ABSL_GUARDED_BY(mu_);
  ConnectionCounters counters_ ABSL_GUARDED_BY(mu_);
  // SEAM: null until the engine components exist.
  ConnectionComponents components_ ABSL_GUARDED_BY(mu_);
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_CONNECTION_CONNECTION_IMPL_H_
