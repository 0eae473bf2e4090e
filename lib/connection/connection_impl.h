// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// ConnectionImpl: the Connection behind orgsync/connection.h.
//
// The whole persisted state is one ConnectionState proto (its conversions
// and history helpers: connection/stored_state.h), kept in memory as
// `state_` and rewritten (with the history entries an operation adds) in one
// synced WriteBatch per operation. An operation works on a copy and swaps it
// in only after the write succeeded, so a failed call changes nothing.
//
// The connection owns its engine components (PublishSet, SubscriptionMap,
// RecordQueue, SyncLog), opened on the Org's Storage with the connection's
// id, and is the ChangeSink of the first two: their publish/subscribe
// notices become RecordQueue entries in the same write as the change (R21).
// Connection notices (R56 "Connection ..." actions) are queued in the same
// batch as the state change that causes them. The jobs live in files named
// for them: opening, the transport and queries in connection_impl.cc; the
// status machine and settings in status_changes.cc; Step()'s sending window
// in delivery.cc and the partner's answers to it in sent_answers.cc;
// receiving, connection notices and the apply dispatch in receiving.cc; the
// handshake in handshake.cc; the partner's publish/subscribe updates in
// map_updates.cc; refused envelopes, either way, in envelope_refusals.cc; R7
// queue-size reports in queue_reports.cc; connection events in
// connection_events.cc; user sync (R70-R73) in user_sync.cc.
//
// Locking: record_mu_ serializes the record path (Step() and message
// handling take it first) and is the only lock held while the host's code
// runs: a received batch of changes is applied, and Step() reads the
// host's records to send, with mu_ released (DESIGN.md rule 9).
// mu_ guards the state and is held while sending (the Transport
// contract forbids Send from calling back). attach_mu_ serializes
// AttachTransport; it is never taken by transport callbacks, and
// Transport::SetHandler is always called with mu_ released, because
// SetHandler waits for running callbacks, which need mu_.
// Lock order: attach_mu_, record_mu_, mu_, then the components' own locks. The ChangeSink calls
// (made by PublishSet/SubscriptionMap under their locks) therefore never
// take mu_; they only touch the RecordQueue and the sinks' own mutexes.
// SyncLog appends are finished (observers called) after mu_ is released.
// Capture and CaptureBatch take neither record_mu_ nor mu_ (they read
// status_for_capture_): a host may capture while holding its own store
// lock, which apply may be waiting for under record_mu_.

#ifndef ORGSYNC_LIB_CONNECTION_CONNECTION_IMPL_H_
#define ORGSYNC_LIB_CONNECTION_CONNECTION_IMPL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connection/org_env.h"
#include "connection/parked_entries.h"
#include "connection/stored_state.h"
#include "connection/verify_run.h"
#include "connection/verify_sharing.h"
#include "engine/record_sync.h"
#include "log/durable_sync_log.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/conflict.h"
#include "orgsync/connection.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"
#include "orgsync/transport.h"
#include "proto/connection_state.pb.h"
#include "proto/wire.pb.h"
#include "publish/change_sink.h"
#include "publish/durable_publish_set.h"
#include "publish/durable_subscription_map.h"
#include "queue/durable_record_queue.h"
#include "storage/deferred_sync_storage.h"
#include "wire/change_batch_encoder.h"

namespace orgsync::internal {

// The ordering key of a queue entry (see Connection::Step).
std::string OrderingKey(const RecordRef& record, QueueAction action);

// The answer to one received item.
proto::ItemResult ItemResultOf(uint64_t sequence, proto::Outcome outcome,
                               proto::ErrorCode error = proto::ERROR_NONE,
                               std::string description = {});

// True for the six "Connection ..." actions.
bool IsConnectionAction(QueueAction action);

// True for the number of a metadata push (metadata_sync.cc): they are
// numbered apart from the queue's sequences.
bool IsMetadataPushSequence(uint64_t sequence);

// True for User Upsert and Bulk Sync Users (user_sync.cc).
bool IsUserAction(QueueAction action);
// The entry that ends a copy of all users (R2).
bool IsUserCopyEnd(const QueueEntry& entry);

class ConnectionImpl final : public Connection {
 public:
  // Makes the connection for `state` (as stored) and opens its components.
  // `env` outlives the connection. Writes nothing.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ConnectionImpl>> Open(
      const OrgEnv* env, proto::ConnectionState state);
  ~ConnectionImpl() override;

  const std::string& id() const override { return id_; }
  ConnectionType type() const override { return type_; }
  ReplicationRole role() const override { return role_; }
  ConnectionStatus status() const override;
  bool accepted() const override;
  ConnectionInfo Info() const override;
  absl::Status acceptance_status() const override;

  absl::StatusOr<BulkSyncProgress> StartBulkSync(
      const BulkSyncOptions& options) override;
  absl::StatusOr<std::optional<BulkSyncProgress>> BulkSyncStatus()
      const override;
  absl::StatusOr<VerifyReport> StartVerify(
      const VerifyOptions& options) override;
  absl::StatusOr<std::optional<VerifyReport>> VerifyStatus() const override;
  absl::StatusOr<ForwardResult> Forward(const ForwardOptions& options) override;

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
  ConnectionCounters counters() const override;
  bool partner_available() const override;
  bool idle() const override;
  PublishSet* publish_set() const override { return publish_set_.get(); }
  SubscriptionMap* subscription_map() const override {
    return subscription_map_.get();
  }
  RecordQueue* record_queue() const override { return record_queue_.get(); }
  SyncLog* sync_log() const override { return sync_log_.get(); }
  absl::StatusOr<size_t> Step() override;
  absl::StatusOr<CaptureResult> Capture(const LocalChange& change) override;
  absl::StatusOr<std::vector<CaptureResult>> CaptureBatch(
      absl::Span<const LocalChange> changes) override;
  absl::StatusOr<std::optional<std::string>> PartnerRecordId(
      std::string_view object, std::string_view local_id) const override;
  absl::StatusOr<CaptureResult> CaptureUser(const UserChange& change) override;
  absl::StatusOr<CaptureResult> CaptureMetadataRename(
      MetadataType type, std::string_view old_name,
      std::string_view new_name) override;
  absl::Status SetUserSyncToPartner(bool enabled,
                                    std::string_view actor) override;
  std::vector<SchemaMismatch> SchemaMismatches() const override;

  // Primary, still Invited: the invitation's secret (raw bytes), for
  // Org::PendingInvitation; FailedPrecondition otherwise.
  [[nodiscard]] absl::StatusOr<std::string> PendingInvitationSecret() const;

  // Secondary, still Invited: replaces the secret for a new attempt.
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

  // The ChangeSink of one component (one per component, because each
  // serializes its own Stage/Finish pairs but the two may interleave).
  class MapSink final : public ChangeSink {
   public:
    explicit MapSink(ConnectionImpl* connection) : connection_(connection) {}
    absl::Status Stage(absl::Span<const MapNotice> notices,
                       WriteBatch* batch) override;
    void Finish(const absl::Status& write_status) override;

   private:
    ConnectionImpl* const connection_;
    internal::Mutex mu_;
    std::optional<DurableRecordQueue::PendingEnqueue> pending_ ABSL_GUARDED_BY(mu_);
  };

  // Capture and CaptureBatch; Forward's changes are `forwarded` (R66, R34).
  absl::StatusOr<std::vector<CaptureResult>> CaptureRecords(
      absl::Span<const LocalChange> changes, bool forwarded);
  // An entry sent and not answered yet.
  struct InFlight {
    uint64_t sequence = 0;
    std::string key;  // its ordering key
    absl::Time sent;
    // The envelope that carried it: a ProtocolError naming it finds them.
    uint64_t message_id = 0;
    // The entry as it was sent, without its payload: its answer removes it
    // from the queue without reading it back.
    QueueEntry entry;
    // Record changes: the record version the queued change carried
    // (RecordSync::OnResult).
    uint64_t sender_version = 0;
  };
  // An entry leaving the queue because the partner has it (`result`), or
  // because it has nothing to send (no result).
  struct Answered {
    QueueEntry entry = {};
    uint64_t sender_version = 0;
    std::optional<proto::ItemResult> result = std::nullopt;
  };

  // SyncLog appends whose batch was written, finished once mu_ is
  // released (observers may call back into the connection).
  using DeferredLogs =
      std::vector<std::pair<DurableSyncLog::PendingAppend, absl::Status>>;

  ConnectionImpl(const OrgEnv* env, proto::ConnectionState state);
  absl::Status OpenComponents();
  void FinishLogs(DeferredLogs logs);

  void HandleMessage(std::string bytes);
  void HandleAvailability(bool available);

  // --- Handshake (handshake.cc) ---
  void HandleAccept(const proto::Envelope& envelope)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleHandshakeResult(const proto::Envelope& envelope)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Refuses a peer's acceptance of this connection: records it in the
  // history (R1, coalesced) and answers.
  void RefusePeer(const proto::Envelope& envelope,
                  proto::HandshakeRefusal refusal, std::string_view reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Answers an acceptance with "accepted" and the primary's proof over
  // `secondary_nonce`. Sends nothing if no nonce can be drawn (the
  // secondary asks again).
  void ReplyAccepted(std::string_view secondary_nonce)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends a refusal addressed to `connection_id` (which may be another
  // connection's, or one that does not exist here).
  void SendRefusal(std::string_view connection_id,
                   proto::HandshakeRefusal refusal, std::string_view reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // An acceptance of a connection id this side holds no invitation for:
  // answered REFUSAL_UNKNOWN_INVITATION, with no state kept.
  void AnswerUnknownInvitation(const proto::Envelope& envelope)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Bytes that DecodeEnvelope refused with `why`: if they still read as an
  // acceptance, answers it (a newer version, a missing org id or proof,
  // or a ProtocolError for other faults), keeping no state. Anything else
  // gets no answer here. Returns whether the bytes were an acceptance
  // (answered here, or not at all).
  bool AnswerUndecodedAcceptance(std::string_view bytes,
                                 const absl::Status& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Answers an undecodable acceptance with a ProtocolError naming `why`.
  void SendProtocolError(uint64_t rejected_message_id, const absl::Status& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- History of events caused from outside (incoming_history.cc) ---
  // Adds a history entry for an event an incoming message caused, bounded:
  // per `window_key`, at most `rows_per_window` entries per
  // kIncomingHistoryWindow; later ones within the window update the last
  // entry's occurrences and detail instead of adding one.
  void AddIncomingHistory(std::string_view window_key, size_t rows_per_window,
                          HistoryEvent event, std::string_view actor,
                          std::string_view detail, proto::ConnectionState* next,
                          WriteBatch* batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The window of one AddIncomingHistory key.
  struct HistoryWindow {
    absl::Time start;
    size_t rows = 0;
    proto::StoredHistoryEntry last_row;
  };
  // Traffic of an accepted connection: the engine's dispatch by body.
  void RouteToEngine(const proto::Envelope& envelope, DeferredLogs* logs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_, mu_);

  // --- Receiving side (delivery.cc) ---
  // The applied mark of `key`: 0 if none.
  absl::StatusOr<uint64_t> AppliedMark(std::string_view key) const;
  void PutAppliedMark(std::string_view key, uint64_t sequence,
                      WriteBatch* batch) const;
  // The partner's publish/subscribe updates (map_updates.cc).
  proto::ItemResult ApplyMapUpdate(const proto::MapUpdate& update)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fills unknown_map_objects_ from the stored state (Open).
  [[nodiscard]] absl::Status LoadUnknownMapObjects()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether this side keeps (or may keep) state for the partner's object:
  // it is in the local Schema, or in unknown_map_objects_.
  bool KeepsMapState(std::string_view object) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NoteMapState(std::string_view object) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  proto::ItemResult ApplyNotice(const proto::ConnectionNotice& notice)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies one envelope of the partner's record changes, with one disk
  // sync, and returns one result per change. Runs without mu_: applying
  // calls the host's RecordStore, ConflictResolver and user directory.
  std::vector<proto::ItemResult> ApplyChangeBatch(
      const proto::ChangeBatch& batch, DeferredLogs* logs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // The dispatch point of the record flow: every record action lands here.
  proto::ItemResult ApplyRecordChange(const proto::RecordChange& change,
                                      DeferredLogs* logs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  void SendResults(std::vector<proto::ItemResult> results)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // counters_.last_apply_lag from an applied envelope and its results.
  void NoteApplyLag(const proto::ChangeBatch& batch,
                    const std::vector<proto::ItemResult>& results)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CountResult(const proto::ItemResult& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- Sending side (delivery.cc) ---
  // Step()'s delivery: picks the entries due (under mu_), prepares the
  // record changes among them from the host's records (without mu_), then
  // sends (under mu_ again, if the connection may still send).
  absl::StatusOr<size_t> Deliver(DeferredLogs* logs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // Whether the status, the transport and the partner allow sending.
  bool CanSendLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The queue entries to send now: due, first of their ordering key, within
  // the in-flight window (resends of timed-out entries included).
  absl::StatusOr<std::vector<QueueEntry>> PickEntries(absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Builds and sends the envelopes for `entries`; `prepared[i]` is
  // RecordSync::PrepareSend's answer for a record entry (nullopt for the
  // others). Returns how many entries went out.
  absl::StatusOr<size_t> SendEntries(
      std::vector<QueueEntry> entries,
      std::vector<std::optional<absl::StatusOr<OutgoingChange>>> prepared,
      absl::Time now, DeferredLogs* logs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_, mu_);
  void HandleAck(const proto::Acknowledgement& ack, DeferredLogs* logs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_, mu_);
  // Records failures of in-flight (or unsendable) entries: MarkFailed and
  // the R51 log entries, in one batch.
  struct Failure {
    uint64_t sequence = 0;
    SyncErrorCode code = SyncErrorCode::kUnknown;
    std::string description;
    bool retryable = true;
  };
  void RecordFailures(const std::vector<Failure>& failures, DeferredLogs* logs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_, mu_);
  // Removes answered entries (logging Resolved for retried ones) without
  // reading them back. For record entries with a result, the record path
  // stages what the result teaches (links, synced versions) in the same
  // batch.
  void RecordAcknowledged(std::vector<Answered> answered, DeferredLogs* logs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_, mu_);
  // An APPLIED/DUPLICATE result for an entry that is not in flight: counts
  // it and, for an entry still queued, logs it (once per entry, for at most
  // kMaxLoggedResultsNotInFlight entries). The entry is not touched.
  void IgnoreResultNotInFlight(const proto::ItemResult& result,
                               DeferredLogs* logs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetInFlight(uint64_t sequence) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes `sequence` out of the window, returning what the window knew of
  // it (nullopt if it was not in flight).
  std::optional<InFlight> TakeInFlight(uint64_t sequence)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- Refused envelopes, both sides (envelope_refusals.cc) ---
  // Receiving: answers bytes that DecodeEnvelope refused with `refusal`
  // with a ProtocolError, when they may come from this connection's
  // partner and are not a ProtocolError themselves.
  void AnswerRefusedEnvelope(std::string_view bytes,
                             const absl::Status& refusal)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sending: the partner refused one of this side's envelopes. Its entries
  // fail an attempt (R51) and go again in envelopes of half as many
  // changes; an entry refused alone fails for good.
  void HandleProtocolError(const proto::ProtocolError& error,
                           DeferredLogs* logs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_, mu_);
  // The most changes an envelope carrying `sequence` may hold.
  size_t EnvelopeCapOf(uint64_t sequence) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Entries that left the queue need no cap any more.
  void ForgetEnvelopeCaps(const std::vector<uint64_t>& sequences)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetConnectionNotices(const std::vector<uint64_t>& sequences)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- Verify (verify.cc; orgsync/verify.h) ---
  bool VerifyRunning() const ABSL_LOCKS_EXCLUDED(verify_mu_);
  // What the connection shares, for Verify's plan, reads and answers.
  VerifySharing VerifySharingNow() const;
  // Step(), with no lock held: reads this org's side of its running
  // Verify, repairs, sends requests; lets idle responder state go.
  [[nodiscard]] absl::Status StepVerify()
      ABSL_LOCKS_EXCLUDED(mu_, record_mu_, verify_mu_);
  [[nodiscard]] absl::Status RepairIfCompared()
      ABSL_LOCKS_EXCLUDED(mu_, record_mu_, verify_mu_);
  void SendVerifyRequestsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_)
      ABSL_LOCKS_EXCLUDED(verify_mu_);
  void HandleVerifyAnswer(const proto::VerifyAnswer& answer, size_t bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) ABSL_LOCKS_EXCLUDED(verify_mu_);
  // A ProtocolError for `message_id`: fails the Verify that sent it.
  bool FailVerifyIfCarried(uint64_t message_id, const std::string& reason)
      ABSL_LOCKS_EXCLUDED(verify_mu_);
  // The responder, on the receiving thread (reads the host's store).
  void AnswerVerifyRequest(const proto::VerifyRequest& request)
      ABSL_LOCKS_EXCLUDED(mu_);

  // --- Bulk sync (bulk_sync.cc; R60-R65) ---
  // Reads the stored bulk sync (Open).
  [[nodiscard]] absl::Status LoadBulkSync();
  // Step(): queues further pages of the running bulk sync's scan while
  // fewer of its copies than the window wait in the queue, and completes
  // the run once everything was scanned and answered. Reads the host's
  // RecordStore without mu_.
  [[nodiscard]] absl::Status QueueBulkCopiesIfDue()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  [[nodiscard]] absl::Status CompleteBulkSyncIfDone()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // The running bulk sync with `answers` counted, staged into `batch`
  // (installed with InstallBulkSync once the batch is written); nullopt
  // when no bulk sync runs or `answers` is empty.
  std::optional<proto::StoredBulkSync> StageBulkAnswers(
      const BulkAnswers& answers, WriteBatch* batch) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_);
  void InstallBulkSync(proto::StoredBulkSync run) ABSL_LOCKS_EXCLUDED(bulk_mu_);
  // Calls OrgOptions::bulk_sync_progress if the progress moved since it was
  // last told.
  void TellBulkProgress() ABSL_LOCKS_EXCLUDED(mu_, record_mu_, bulk_mu_);

  // --- User sync (user_sync.cc) ---
  // Step(): queues the copy of all standard-licence users when one is due
  // (the primary's User Sync in Progress phase, or sync users turned off
  // and on, R73). Reads the host's directory without mu_.
  [[nodiscard]] absl::Status QueueUserCopyIfDue()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // Applies the partner's UserUpsert to the host's directory (without mu_:
  // it calls host code) and returns the answer.
  proto::ItemResult ApplyUserUpsert(const proto::UserUpsert& upsert,
                                    DeferredLogs* logs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // The end of a user copy was answered (sending side) or applied
  // (receiving side): a connection in User Sync in Progress becomes Active
  // (R2).
  void FinishUserCopyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Primary with a UserDirectory: a copy of all users is due (User Sync in
  // Progress, or sync users turned off and on, R73) and not queued yet.
  bool UserCopyDueLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // User links (R37, R35): this org's id of the partner's user, nullopt
  // when not linked; and the staging of a link into `batch`.
  absl::StatusOr<std::optional<std::string>> LocalUserOf(
      std::string_view partner_user_id) const;
  void StageUserLink(std::string_view local_id, std::string_view partner_id,
                     WriteBatch* batch) const;
  // Last writer wins between the two orgs' changes of one user: the stamp
  // of the last change of `local_id` this org sent or applied (0: none);
  // the staging of a stamp; and the staging (and value) of the stamp of a
  // new change of this org, after the last one. Callers hold
  // user_stamp_mu_ from the read to the write of the batch.
  absl::StatusOr<int64_t> StoredUserStamp(std::string_view local_id) const;
  void StageUserStamp(std::string_view local_id, int64_t stamp,
                      WriteBatch* batch) const;
  absl::StatusOr<int64_t> StageNextUserStamp(std::string_view local_id,
                                             WriteBatch* batch) const;
  // Keeps capture_users_ in step with the state.
  void NoteUserCaptureLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- Metadata sync (metadata_sync.cc) ---
  // Step(), primary: starts a run when one is due and sends its next batch
  // when none awaits an answer (or the one sent timed out). Reads the
  // host's MetadataStore without mu_.
  [[nodiscard]] absl::Status PushMetadataIfDue()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // The secondary's answer to a push (HandleAck routes it here by number).
  void HandleMetadataAnswer(const proto::ItemResult& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Secondary: writes the primary's push into the host's MetadataStore
  // (without mu_: it calls host code) and returns the answer.
  proto::ItemResult ApplyMetadataPush(const proto::MetadataPush& push)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(record_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // The status the Metadata Sync in Progress phase ends in (R2).
  ConnectionStatus StatusAfterMetadataSyncLocked() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stages the end of the Metadata Sync in Progress phase into `next` and
  // `batch` (R2): the status after it and its history entry.
  void StageMetadataSyncEndLocked(std::string_view actor,
                                  std::string_view detail,
                                  proto::ConnectionState* next,
                                  WriteBatch* batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether a push may go out now: a transport to an available partner and
  // an accepted connection, neither Suspended nor Deactivated.
  bool CanPushMetadataLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Primary with a MetadataStore and sync metadata on: a run is under way,
  // or one is due at `now` (Metadata Sync in Progress, the option turned
  // off and on, or the interval passed).
  bool MetadataRunDueLocked(absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Logs (Info or Failed) a user change that is not sent, and says why.
  absl::StatusOr<CaptureResult> RefuseUserCapture(const User& user,
                                                  LogStatus status,
                                                  SyncErrorCode error,
                                                  std::string reason);

  // --- Schema fingerprints (schema_fingerprints.cc) ---
  // Events to note once the write that staged them succeeded.
  using SchemaEvents = std::vector<std::pair<ConnectionEventKind, std::string>>;
  // Sets next's local fingerprints to this org's Schema's.
  void FillLocalFingerprints(proto::ConnectionState* next) const;
  // Sets next's partner fingerprints to `partner` (bounded).
  void TakePartnerFingerprints(
      const google::protobuf::Map<std::string, uint64_t>& partner,
      proto::ConnectionState* next) const;
  // Compares next's two maps, updates its mismatch list and stages history
  // rows for what changed (coalesced when the partner caused it).
  SchemaEvents StageSchemaComparison(bool partner_caused,
                                     proto::ConnectionState* next,
                                     WriteBatch* batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NoteSchemaEvents(SchemaEvents events) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Step(): after this org's Schema changed, compares again and tells the
  // partner (a Connection Update with the fingerprints).
  [[nodiscard]] absl::Status CompareLocalSchemaIfChanged()
      ABSL_LOCKS_EXCLUDED(mu_);

  // R6: applies the partner's availability to the status.
  absl::Status ApplyAvailabilityLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Status SendAcceptanceLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fills the envelope's header and sends it through the transport; sets
  // `*message_id` (if given) to the id it got. The connection id is this
  // connection's unless the envelope names one.
  absl::Status SendEnvelope(proto::Envelope envelope,
                            uint64_t* message_id = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends the envelope built in `batch` (which is empty afterwards) with
  // the next message id, set in `*message_id`.
  absl::Status SendChangeBatch(wire::ChangeBatchEncoder* batch,
                               uint64_t* message_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The next message id; durably reserves a new block when needed.
  absl::StatusOr<uint64_t> TakeMessageId() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // FailedPrecondition naming both statuses, unless `to` is reachable
  // from the current status and `allowed` holds.
  absl::Status CheckMove(ConnectionStatus to, bool allowed,
                         std::string_view why) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Queues a Connection notice for the partner into `batch` (to be
  // committed with the state change), if the connection is accepted.
  absl::Status StageNotice(QueueAction action, std::string_view actor,
                           const proto::ConnectionState& next,
                           WriteBatch* batch,
                           std::optional<DurableRecordQueue::PendingEnqueue>* pending)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Writes `next` with `batch` (sync) and makes it the state; finishes the
  // queue entries staged into the batch, if any. Keeps the R7 suspension
  // fields of `next` in step with its status (TrackSuspension).
  absl::Status Commit(
      proto::ConnectionState next, WriteBatch batch,
      std::optional<DurableRecordQueue::PendingEnqueue> pending = std::nullopt)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Shared by the three Update* calls.
  absl::Status UpdateSettings(HistoryEvent event, std::string_view actor,
                              std::string_view detail,
                              const proto::ConnectionState& changed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckSettingsEditable(std::string_view what) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // R7: starts the report schedule when `next` enters Suspended (or is
  // Suspended without one, as a state written before R7 was), clears it
  // and the suspension's fields when `next` is not Suspended.
  void TrackSuspension(proto::ConnectionState* next) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // R7: when the connection is Suspended and its report is due, moves the
  // schedule on (durably) and calls OrgEnv::queue_report, without mu_.
  // Called by Step().
  [[nodiscard]] absl::Status ReportQueueSizeIfDue() ABSL_LOCKS_EXCLUDED(mu_);

  // Connection events (OrgEnv::connection_events): noted under mu_ once
  // durable, told by TellEvents once no lock is held. Every entry point
  // that can change the status or apply a map update calls TellEvents on
  // its way out; Step() does too, so a note is never left behind.
  void NoteEvent(ConnectionEventKind kind, std::string object = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TellEvents() ABSL_LOCKS_EXCLUDED(mu_, record_mu_);
  // Declared before an entry point's locks, tells the events noted under
  // them once they are released (destructors run in reverse order).
  class EventTeller {
   public:
    explicit EventTeller(ConnectionImpl* connection)
        : connection_(connection) {}
    EventTeller(const EventTeller&) = delete;
    EventTeller& operator=(const EventTeller&) = delete;
    ~EventTeller() { connection_->TellEvents(); }

   private:
    ConnectionImpl* const connection_;
  };

  ConnectionStatus StatusLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool AcceptedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const OrgEnv* const env_;
  const std::string id_;
  const ConnectionType type_;
  const ReplicationRole role_;
  Handler handler_;
  // Declared before the components, which point at them.
  MapSink publish_sink_{this};
  MapSink subscription_sink_{this};
  // Set once Deactivated: the sinks (which may not take mu_) stop queueing.
  std::atomic<bool> deactivated_{false};
  // The status as of the last state change, for Capture, which must not
  // take mu_ (message handling holds it while calling the host's store).
  std::atomic<ConnectionStatus> status_for_capture_{ConnectionStatus::kInvited};
  // Whether CaptureUser sends: sync users on and, on a secondary, its user
  // direction not switched off. Read without mu_, as status_for_capture_.
  std::atomic<bool> capture_users_{false};
  // Serializes the read and write of user stamps (CaptureUser on host
  // threads, the user copy and apply on the stepping thread); never held
  // while host code runs.
  mutable internal::Mutex user_stamp_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // FinishUserCopyLocked could not write Active; the next Step retries.
  bool user_copy_end_unwritten_ ABSL_GUARDED_BY(mu_) = false;
  // The metadata push awaiting the secondary's answer (metadata_sync.cc):
  // its number, when it went, and what its answer settles.
  struct MetadataPushInFlight {
    uint64_t sequence = 0;
    absl::Time sent;
    // Renames it carried (the first ones of the stored list).
    int renames = 0;
    uint64_t items = 0;
    // The last item it carried: the run's cursor once answered.
    int cursor_type = 0;
    std::string cursor_name;
    bool last_batch = false;
  };
  std::optional<MetadataPushInFlight> metadata_in_flight_ ABSL_GUARDED_BY(mu_);
  // The Schema::generation the local fingerprints were last compared at
  // (none yet in this process).
  std::optional<uint64_t> schema_generation_seen_ ABSL_GUARDED_BY(mu_);

  // The connection's view of the org's Storage, through which every
  // component below reads and writes: applying one envelope of the
  // partner's changes is one write and one sync (ApplyChangeBatch), and
  // every reader sees that envelope's writes before they are written.
  // Declared first: it outlives the components. It caches the links of
  // records whose changes are in flight (a window holds at most a few
  // thousand), each read at send and again at acknowledgement.
  static constexpr size_t kLinkReadCacheEntries = 8192;
  std::unique_ptr<DeferredSyncStorage> storage_;
  // Opened by Open() and never replaced.
  std::unique_ptr<DurableRecordQueue> record_queue_;
  std::unique_ptr<DurableSyncLog> sync_log_;
  std::unique_ptr<DurablePublishSet> publish_set_;
  std::unique_ptr<DurableSubscriptionMap> subscription_map_;
  // The record path (R30); null when the Org has no RecordStore. Created
  // after the components it uses. Its Capture runs without mu_ (it is safe
  // concurrently with the rest); everything else runs under mu_.
  std::unique_ptr<RecordSync> record_sync_;

  internal::Mutex attach_mu_ ABSL_ACQUIRED_BEFORE(record_mu_);
  // The record path's lock: serializes what RecordSync does on the step
  // side (PrepareSend, OnResult, OnFailed, Apply) -- Step() and message
  // handling take it first, for their whole run. It is held while the
  // host's RecordStore, ConflictResolver and user directory run; mu_ is
  // not, so the host's other calls (status, Suspend, History, queue
  // reads, Capture) never wait behind host code.
  internal::Mutex record_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // The first block of the arena each received envelope is decoded on
  // (receiving.cc), kept from one message to the next: allocated fresh,
  // the megabyte a large envelope takes was mapped, faulted in page by page
  // and returned to the system again for every envelope. Grows to the
  // largest envelope's arena, up to kMaxReceiveBlockBytes.
  std::unique_ptr<char[]> receive_block_ ABSL_GUARDED_BY(record_mu_);
  size_t receive_block_bytes_ ABSL_GUARDED_BY(record_mu_) = 0;
  mutable internal::Mutex mu_;
  proto::ConnectionState state_ ABSL_GUARDED_BY(mu_);
  // The bulk sync, running or last (nullopt: never ran one), as stored,
  // and the progress last told to the host. Changed only under record_mu_
  // (the scan, answers and completion) or under mu_ while none runs (a
  // start), so a change computed from the current value is never
  // overtaken; the lock only keeps readers consistent.
  mutable internal::Mutex bulk_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::optional<proto::StoredBulkSync> bulk_ ABSL_GUARDED_BY(bulk_mu_);
  std::optional<BulkSyncProgress> bulk_told_ ABSL_GUARDED_BY(bulk_mu_);
  // This org's running or last Verify, and its side of the partner's.
  mutable internal::Mutex verify_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::unique_ptr<VerifyRun> verify_ ABSL_GUARDED_BY(verify_mu_);
  VerifyResponder verify_responder_;
  Transport* transport_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool partner_available_ ABSL_GUARDED_BY(mu_) = false;
  // Secondary: how the last attempt to send the acceptance ended.
  absl::Status last_send_status_ ABSL_GUARDED_BY(mu_);
  // Secondary, while Invited: the nonce of this process's acceptances
  // (drawn at the first one, kept for resends: the primary's proof must
  // cover it). Memory only: after a restart, a new acceptance is needed.
  std::string acceptance_nonce_ ABSL_GUARDED_BY(mu_);
  // AddIncomingHistory's windows, by key (a handful of fixed keys; cleared
  // when a Commit fails, since their rows may not have been written).
  std::map<std::string, HistoryWindow, std::less<>> history_windows_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_message_id_ ABSL_GUARDED_BY(mu_);
  ConnectionCounters counters_ ABSL_GUARDED_BY(mu_);
  // User changes kept over the partner's (last writer wins), counted
  // where they are applied, without mu_.
  std::atomic<uint64_t> user_conflicts_{0};
  // Sending side: entries awaiting an answer, by sequence, and the
  // sequence in flight of each ordering key (memory only: after a restart everything is sent again and the
  // partner answers duplicates as such).
  absl::flat_hash_map<uint64_t, InFlight> in_flight_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> in_flight_keys_
      ABSL_GUARDED_BY(mu_);
  // Entries held back until the record they wait for moves (a child
  // waiting for its parent's insert): not prepared again meanwhile.
  ParkedEntries parked_ ABSL_GUARDED_BY(mu_);
  // No entry of in_flight_ was sent before this (answered entries leave
  // without raising it): while it is younger than the ack timeout nothing
  // is due for a resend, and a Step need not look at the window at all.
  absl::Time in_flight_sent_floor_ ABSL_GUARDED_BY(mu_) =
      absl::InfiniteFuture();
  // Queue entries for which an answer that was not in flight was logged
  // (IgnoreResultNotInFlight); memory only, at most this many.
  static constexpr size_t kMaxLoggedResultsNotInFlight = 1024;
  std::set<uint64_t> logged_results_not_in_flight_ ABSL_GUARDED_BY(mu_);
  // The queued connection notices (they have no record, so the queue
  // cannot hold later ones back while one waits for a retry): only the
  // oldest may be sent. Rebuilt at Open by one scan of the queue.
  std::set<uint64_t> queued_notices_ ABSL_GUARDED_BY(mu_);
  // Entries whose envelope the partner refused (ProtocolError): sequence ->
  // the most changes an envelope carrying it may hold. Memory only: after
  // a restart they are packed as usual, refused again and split again, their
  // attempts (R51) being counted durably all along.
  std::map<uint64_t, size_t> envelope_caps_ ABSL_GUARDED_BY(mu_);
  // The partner's objects that this org's Schema does not have and for
  // which the connection stores something (a publication or an applied
  // mark); at most this many (see "Bounded state" in orgsync/connection.h).
  static constexpr size_t kMaxUnknownMapObjects = 256;
  std::set<std::string, std::less<>> unknown_map_objects_ ABSL_GUARDED_BY(mu_);
  // Noted events not told yet, and whether a thread is telling them (one at
  // a time, so that they arrive in order; a callback's own events join the
  // queue its caller is telling).
  std::vector<ConnectionEvent> pending_events_ ABSL_GUARDED_BY(mu_);
  bool telling_events_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_CONNECTION_CONNECTION_IMPL_H_
