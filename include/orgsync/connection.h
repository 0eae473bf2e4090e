// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Connection: one replication link between this org and a partner org, as
// seen from this org.
//
// A connection is born on the primary as an invitation
// (Org::CreateInvitation, orgsync/org.h) carrying a random secret of 256
// bits, which the host hands to the secondary's administrator out of band.
// The secondary accepts it (Org::AcceptInvitation) by sending the connection
// id and a proof that it holds the secret (never the secret itself; see
// "Handshake trust" below) over a Transport; the primary checks the proof
// in constant time and answers with its own proof. Until then nothing else
// flows: every other
// message is rejected (DESIGN.md R1). After acceptance the status walks
//   Invited -> Metadata Sync in Progress (if sync metadata)
//           -> User Sync in Progress (if sync users) -> Active       (R2)
// and from Active an administrator may suspend and resume it (R5); losing
// the partner suspends it automatically until the partner is back (R6).
// While Suspended the host hears of the queue's size on a schedule (R7,
// Step()). Deactivated is terminal (R8). Every status change and every
// admin event is written, with its time and actor, to the connection's
// history (R4).
//
// The full transition table is IsLegalStatusTransition(); every operation
// that would take another path fails with FailedPrecondition naming both
// statuses, and changes nothing. Every change is durable (written with
// sync=true to the Storage) before the call returns, and an Org reopened on
// the same Storage restores identical connections and histories.
//
// Each connection owns a PublishSet, a SubscriptionMap, a RecordQueue and a
// SyncLog (accessors below). What must reach the partner -- publish and
// subscribe changes (R21) and the connection's own events (Connection Admin
// Suspended/Resumed, Connection Suspended/Resumed, Connection Deactivate,
// Connection Update; R56) -- is queued in the same atomic write as the
// change that causes it, and Step() delivers the queue: in order per
// ordering key, acknowledged per item, retried on the queue's schedule and
// logged when it fails (R50, R51). The partner applies each item at most
// once (DESIGN.md rule 3). Queued entries wait while the connection is
// Suspended and go out in order once it is Active again (R5, R6).
//
// Handshake trust (R1): the secret never travels. The secondary's
// acceptance carries a fresh random nonce and an HMAC-SHA256 of the
// connection id, its org id and that nonce under the secret; the primary's
// "accepted" answer carries its own nonce and an HMAC of the connection id,
// both org ids and both nonces. Each side refuses the other's message when
// the proof does not verify: the primary answers REFUSAL_BAD_SECRET, the
// secondary stays Invited and records the impostor's answer in its history
// (kPeerRefused). An acceptance replayed by an eavesdropper can only repeat
// the same org's acceptance, which the primary answers idempotently; the
// answer it gets proves nothing to anyone else. Acceptances that cannot be
// taken are answered, never dropped: REFUSAL_UNKNOWN_INVITATION for a
// connection id this side has no invitation for (with no state kept for
// it), REFUSAL_UNSUPPORTED_VERSION for a newer protocol version,
// REFUSAL_INVALID_PEER for a missing org id, REFUSAL_BAD_SECRET for a
// missing proof, and a ProtocolError for any other envelope that does not
// decode.
//
// Acknowledgements retire only entries in flight to the partner (sent since
// this process started, not answered yet; see Step()); any other is
// ignored and counted (ConnectionCounters::results_not_in_flight).
//
// Bounded state: what incoming messages make this side keep is bounded per
// connection, whatever the partner (or anyone who can reach the transport)
// sends.
//   - History rows caused from outside (refused acceptances, refused
//     handshake answers, the partner's Connection notices) are coalesced:
//     per event and reason, at most a few rows per 10 minutes of the Org's
//     Clock (one for refusals, four for the partner's notices); further
//     occurrences in that window update the last row (HistoryEntry::
//     occurrences). Each row's detail is clipped to 256 bytes.
//   - The partner's publish/subscribe updates for objects this org's Schema
//     does not have keep state for at most 256 such objects per connection
//     (OrgOptions' Schema objects are not counted); an update for one more
//     is refused (PERMANENT_FAILURE, schema mismatch; the partner logs it
//     Failed) and stores nothing. Updates that only remove or rename such
//     an object, when this side keeps nothing for it, store nothing.
//   - Answers to acceptances for unknown connection ids keep no state.
//
// Ownership: an Org owns its Connections; a Connection* stays valid as long
// as its Org. Neither owns the Storage, the Clock or the Transports.
//
// Thread-safety: every method of Org and Connection may be called from any
// thread; each Connection serializes its own operations. Transport
// callbacks arrive on whatever thread the transport uses.
//
// Host code and the connection's locks (DESIGN.md rule 9). The connection
// calls the host's code -- the RecordStore, the ConflictResolver, the
// user directory -- only from Step() and from the transport's message
// callback, and then holds one lock of its own: the one that serializes
// those two with each other. No other call takes that lock, so none waits
// behind host code: Capture, CaptureBatch and CaptureUser (which take no
// connection lock at all, and may be called while the host holds a lock its
// RecordStore or UserDirectory also takes), the status and history queries, Suspend,
// Resume and the other administrative calls, and the components' reads.
// What those calls may wait for is the connection's short state lock, held
// by Step() and message handling only while they update the connection's
// own state and send -- including the synced Storage write of a status
// change or an acknowledgement, never the host's code. Do not call Step()
// (or deliver a message) while holding a lock your RecordStore or
// resolver takes.

#ifndef ORGSYNC_CONNECTION_H_
#define ORGSYNC_CONNECTION_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "orgsync/bulk_sync.h"
#include "orgsync/capture.h"
#include "orgsync/options.h"
#include "orgsync/publish_set.h"
#include "orgsync/queue_action.h"
#include "orgsync/record_queue.h"
#include "orgsync/subscription_map.h"
#include "orgsync/sync_log.h"
#include "orgsync/transport.h"
#include "orgsync/verify.h"
#include "orgsync/metadata_store.h"
#include "orgsync/user_directory.h"

namespace orgsync {

// The seed's Connection Type. orgsync makes only Replication connections;
// kStandard exists so that host code mirroring the seed's triggers can name
// it (R3), and CreateInvitation refuses it.
enum class ConnectionType { kStandard = 1, kReplication = 2 };

// Which side of the connection this org is (R3).
enum class ReplicationRole { kPrimary = 1, kSecondary = 2 };

// The values are persisted; never renumber.
enum class ConnectionStatus {
  kInvited = 1,
  kMetadataSyncInProgress = 2,
  kUserSyncInProgress = 3,
  kActive = 4,
  kSuspended = 5,
  kDeactivated = 6,
};

inline constexpr std::array<ConnectionStatus, 6> kAllConnectionStatuses = {
    ConnectionStatus::kInvited,
    ConnectionStatus::kMetadataSyncInProgress,
    ConnectionStatus::kUserSyncInProgress,
    ConnectionStatus::kActive,
    ConnectionStatus::kSuspended,
    ConnectionStatus::kDeactivated,
};

// Display names as the seed writes them: "Invited", "Metadata Sync in
// Progress", "User Sync in Progress", "Active", "Suspended", "Deactivated".
const std::string& ConnectionStatusName(ConnectionStatus status);
const std::string& ConnectionTypeName(ConnectionType type);    // "Replication"
const std::string& ReplicationRoleName(ReplicationRole role);  // "Primary"

// The status machine. Legal moves:
//   Invited -> Metadata Sync in Progress | User Sync in Progress | Active
//   Metadata Sync in Progress -> User Sync in Progress | Active
//   User Sync in Progress -> Active
//   Active <-> Suspended
//   every status but Deactivated -> Deactivated
// Staying in the same status is not a transition.
bool IsLegalStatusTransition(ConnectionStatus from, ConnectionStatus to);

struct InvitationOptions {
  // The connection's id, [A-Za-z0-9_-]{1,64}. Empty: a random one (128 bits
  // from the operating system's generator, as hex). Give one to make a
  // simulation reproducible.
  std::string connection_id = {};
  ConnectionType type = ConnectionType::kReplication;
  SyncOptions sync = {};
  // The primary's administrator of the connection, and the secondary's
  // contact (seed: "Connection Owner", "Contact"). Both required.
  std::string owner = {};
  std::string contact = {};
};

// What the primary's administrator hands to the secondary's, out of band.
struct Invitation {
  std::string connection_id;
  // 256 random bits from the operating system's CSPRNG, as 64 lowercase hex
  // digits. Treat as a password: whoever holds it can accept.
  std::string secret_hex;
};

// Connection history events (R4). Values are persisted; never renumber.
enum class HistoryEvent {
  kInvitationCreated = 1,      // primary: the invitation exists
  kAcceptanceRequested = 2,    // secondary: acceptance sent with a secret
  kInvitationAccepted = 3,     // both: the handshake succeeded
  kPeerRefused = 4,            // primary: a peer's acceptance was refused;
                               // secondary: an "accepted" answer that did
                               // not prove the secret was refused
  kInvitationRefused = 5,      // secondary: the primary refused us
  kMetadataSyncCompleted = 6,  // R2
  kUserSyncCompleted = 7,      // R2
  kMetadataSyncFailure = 8,    // R4, R52
  kAdminSuspended = 9,         // "Connection Admin Suspended" (R5)
  kAdminResumed = 10,          // "Connection Admin Resumed" (R5)
  kSuspended = 11,             // "Connection Suspended": partner lost (R6)
  kResumed = 12,               // "Connection Resumed": partner back (R6)
  kDeactivated = 13,           // "Connection Deactivate" (R8)
  kOwnerUpdated = 14,
  kContactUpdated = 15,
  kSyncOptionsUpdated = 16,
  // Schema fingerprints (exchanged at the handshake and whenever either
  // schema changes): objects both orgs define, but differently, before any
  // record of them fails; and objects that match again. `detail` names them.
  kSchemaMismatch = 17,
  kSchemaMatched = 18,
  // A bulk sync (R60-R65) was started / every copy it queued was answered;
  // `detail` gives its number, options or counts.
  kBulkSyncStarted = 19,
  kBulkSyncCompleted = 20,
};

const std::string& HistoryEventName(HistoryEvent event);

struct HistoryEntry {
  uint64_t sequence = 0;  // 1, 2, 3... per connection
  absl::Time time;        // from the Org's Clock
  // Who did it: the actor passed by the host, "partner:<org id>" for
  // events the partner caused, or "system" for the engine's own.
  std::string actor;
  HistoryEvent event = HistoryEvent::kInvitationCreated;
  ConnectionStatus status_after = ConnectionStatus::kInvited;
  std::string detail;  // human-readable specifics (old -> new owner, ...)
  // How many events this entry stands for. 1, except for events a message
  // from outside causes, which are coalesced (see "Bounded state" in the
  // file comment): then `time` is the first one's and `detail` the latest
  // one's.
  uint64_t occurrences = 1;

  friend bool operator==(const HistoryEntry&, const HistoryEntry&) = default;
};

// A filter over a connection's history; entries match when all set
// conditions hold. Results come oldest first.
// Something that happened on a connection that a host may act on at once
// rather than poll for: setup driven by events (accept; subscribe once the
// partner published; start capturing once the partner subscribed).
enum class ConnectionEventKind : int {
  kStatusChanged = 1,        // `status` is the new status (R2, R5, R6, R8)
  kPartnerPublished = 2,     // the partner published `object`, or changed
                             // its publication (a field): this side may
                             // subscribe or map the change (R21)
  kPartnerUnpublished = 3,   // the partner unpublished `object`
  kPartnerSubscribed = 4,    // the partner subscribed to `object`, which
                             // this side publishes: its records now flow
  kPartnerUnsubscribed = 5,  // the partner unsubscribed from `object`
  kSchemaMismatch = 6,       // `object` is defined differently in the two
                             // orgs (see Connection::SchemaMismatches)
  kSchemaMatched = 7,        // `object` is defined alike again
};

struct ConnectionEvent {
  std::string connection_id = {};
  ConnectionEventKind kind = ConnectionEventKind::kStatusChanged;
  ConnectionStatus status = ConnectionStatus::kInvited;  // kStatusChanged
  std::string object = {};  // the partner events

  friend bool operator==(const ConnectionEvent&,
                         const ConnectionEvent&) = default;
};

// The largest page of history one call returns.
inline constexpr size_t kMaxHistoryPageSize = 1000;

// The most top-level metadata renames a primary keeps waiting for the next
// metadata sync run (Connection::CaptureMetadataRename).
inline constexpr size_t kMaxPendingMetadataRenames = 10000;

// Which history entries to read, one page at a time (oldest first): the
// next page starts after the last entry's sequence.
struct HistoryQuery {
  absl::Time since = absl::InfinitePast();    // inclusive
  absl::Time until = absl::InfiniteFuture();  // exclusive
  std::optional<HistoryEvent> event = std::nullopt;
  // Only entries with a larger sequence (0: from the first).
  uint64_t after_sequence = 0;
  // At most this many (the oldest that match), 1..kMaxHistoryPageSize.
  size_t limit = kMaxHistoryPageSize;
};

// An object both orgs define, but differently: its schema fingerprints
// (ObjectFingerprint, orgsync/schema.h) differ. Records of it may fail
// (SCHEMA_MISMATCH) until the definitions agree.
struct SchemaMismatch {
  std::string object = {};
  uint64_t local_fingerprint = 0;
  uint64_t partner_fingerprint = 0;

  friend bool operator==(const SchemaMismatch&,
                         const SchemaMismatch&) = default;
};

// A consistent copy of a connection's settings and status.
struct ConnectionInfo {
  std::string connection_id = {};
  ConnectionType type = ConnectionType::kReplication;
  ReplicationRole role = ReplicationRole::kPrimary;
  ConnectionStatus status = ConnectionStatus::kInvited;
  SyncOptions sync;
  std::string owner;
  std::string contact;
  // The partner, once the handshake told us; empty before.
  std::string partner_org_id;
  std::string partner_org_name;
  absl::Time created;
  absl::Time accepted = absl::InfinitePast();  // InfinitePast until accepted
  // Why a Suspended connection is suspended; both may hold at once, and it
  // becomes Active again only when neither does.
  bool admin_suspended = false;      // R5
  bool partner_unavailable = false;  // R6
  // While Suspended (R7): since when (the status's change, not the latest
  // reason's), the administrator who suspended it (empty while only the
  // partner's unavailability holds it), and when the next queue-size report
  // is due. Otherwise InfinitePast, empty and InfiniteFuture.
  absl::Time suspended_since = absl::InfinitePast();
  std::string suspended_by;
  absl::Time next_queue_report = absl::InfiniteFuture();
  // Secondary: whether its user changes go to the primary (R70; see
  // Connection::SetUserSyncToPartner). Always true on a primary.
  bool user_sync_to_partner = true;

  friend bool operator==(const ConnectionInfo&,
                         const ConnectionInfo&) = default;
};

// What the host is told about a Suspended connection's backlog, on a
// schedule (R7; the seed's email, twice a day, to the connection owner and
// to the user who suspended the connection). See OrgOptions::queue_report.
struct QueueSizeReport {
  std::string connection_id;
  absl::Time time;  // when the report was made, by the Org's Clock
  ConnectionStatus status = ConnectionStatus::kSuspended;
  // Entries waiting in the connection's RecordQueue (RecordQueue::Count()):
  // record changes, publish/subscribe notices and connection notices.
  uint64_t queued_entries = 0;
  std::string owner;  // the connection owner, to notify
  // The administrator who suspended the connection, to notify; empty when
  // it is suspended only because the partner is unavailable.
  std::string suspended_by;
  bool admin_suspended = false;      // R5
  bool partner_unavailable = false;  // R6
  absl::Time suspended_since;
  // The reports of one suspension are numbered 1, 2, 3... (restarts
  // included); a resumed and again suspended connection starts at 1.
  uint64_t report_number = 0;

  friend bool operator==(const QueueSizeReport&,
                         const QueueSizeReport&) = default;
};

// Messages the connection received and sent, and what became of them.
struct ConnectionCounters {
  uint64_t received = 0;
  // Bytes that are no valid envelope (malformed, over the envelope limits,
  // or of a newer protocol version); answered with a protocol error when
  // they may be the partner's (see protocol_errors_sent).
  uint64_t rejected_malformed = 0;
  // For another connection, from another org than the partner, or a
  // handshake message this side never takes.
  uint64_t rejected_wrong_connection = 0;
  uint64_t rejected_not_accepted = 0;  // non-handshake before acceptance (R1)
  uint64_t rejected_deactivated = 0;   // anything after Deactivated
  uint64_t handshakes_accepted = 0;    // primary: acceptances granted
  // Acceptances refused (any side), answered: bad proof, invalid peer,
  // unknown connection id, newer protocol version, undecodable.
  uint64_t handshakes_refused = 0;
  // Of those, for a connection id this side has no invitation for.
  uint64_t unknown_invitations = 0;
  // Secondary: "accepted" answers refused because they did not prove the
  // secret (an impostor primary), or answered no acceptance of this run.
  uint64_t handshake_answers_refused = 0;
  // The partner's publish/subscribe updates refused because they would
  // keep state for more objects this org does not have than the bound.
  uint64_t map_updates_over_bound = 0;

  // Receiving side: items (map updates, connection notices, record
  // changes...) the partner sent, by the result this side answered.
  uint64_t items_applied = 0;
  uint64_t items_duplicate = 0;  // already applied: acknowledged, no effect
  uint64_t items_failed = 0;     // answered with a retryable or permanent
                                 // failure
  uint64_t protocol_errors = 0;  // ProtocolError bodies received
  // ProtocolError answers sent for envelopes this side refused (they did
  // not decode, were over the envelope limits or of a newer version).
  uint64_t protocol_errors_sent = 0;

  // Sending side.
  uint64_t envelopes_sent = 0;  // envelopes carrying queue entries
  uint64_t entries_sent = 0;    // queue entries sent, resends included
  uint64_t entries_resent = 0;  // of those, resent after the ack timeout
  uint64_t entries_acknowledged = 0;  // left the queue: applied/duplicate
  uint64_t entries_failed = 0;  // failure results recorded on the queue
  // Results for entries that were not in flight and are no longer queued
  // (late copies of an answer already processed); ignored.
  uint64_t stale_results = 0;
  // APPLIED or DUPLICATE results for entries still queued but not in flight
  // to the partner (never sent, held while Suspended, or sent only before a
  // restart); ignored: the entry stays queued and is sent (again). The
  // first such result for an entry is logged (SyncLog, Info), for at most
  // 1024 entries per connection and process.
  uint64_t results_not_in_flight = 0;
  // Metadata sync (R74): batches pushed to the secondary, resends included.
  uint64_t metadata_pushes_sent = 0;

  // Two-way: fields of records, and users, changed in both orgs since they
  // last synced, settled and logged CONFLICT (a change applied again after
  // a failure may count twice).
  uint64_t conflicts = 0;
  // The last record change applied: how long after the partner's write
  // (its LastModifiedDate) this org applied it, by this org's clock -- so
  // a difference between the two orgs' clocks shows in it. Zero until a
  // change was applied; never negative.
  absl::Duration last_apply_lag = absl::ZeroDuration();
};

class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  virtual ~Connection() = default;

  // Immutable for the connection's life.
  virtual const std::string& id() const = 0;
  virtual ConnectionType type() const = 0;
  virtual ReplicationRole role() const = 0;

  virtual ConnectionStatus status() const = 0;
  // True in every status after a successful handshake except Deactivated:
  // the seed's ConnectionStatus = 'Accepted' that host triggers test (R3).
  virtual bool accepted() const = 0;
  virtual ConnectionInfo Info() const = 0;

  // Where the handshake stands: OK once accepted; on a secondary,
  // PermissionDenied with the primary's reason after a refusal, Unavailable
  // if the last acceptance could not be sent; FailedPrecondition while the
  // answer is awaited, and for a Deactivated connection.
  virtual absl::Status acceptance_status() const = 0;

  // Connects the connection to the transport leading to its partner;
  // nullptr detaches. A transport carries one connection: attaching it
  // takes it from whatever it served before. The transport must outlive the
  // attachment (detach, or destroy the Org, before destroying it). Takes the
  // transport's current availability into account at once (R6), which may write
  // history.
  [[nodiscard]] virtual absl::Status AttachTransport(Transport* transport) = 0;

  // Secondary only, while Invited: (re)sends the acceptance with the secret.
  // The primary answers duplicates idempotently, so this is safe to repeat
  // when an answer is slow or was lost. FailedPrecondition on a primary,
  // after acceptance, or without a transport; Unavailable from the transport.
  [[nodiscard]] virtual absl::Status SendAcceptance() = 0;

  // The engine (or host) reports the end of the initial metadata sync /
  // user sync, moving the status on (R2). FailedPrecondition unless the
  // connection is in that phase.
  [[nodiscard]] virtual absl::Status CompleteMetadataSync(
      std::string_view actor) = 0;
  [[nodiscard]] virtual absl::Status CompleteUserSync(
      std::string_view actor) = 0;

  // Logs a metadata sync failure in the history (R4; never retried, R52).
  // `item` names the metadata item. FailedPrecondition unless accepted.
  [[nodiscard]] virtual absl::Status RecordMetadataSyncFailure(
      std::string_view item, std::string_view description) = 0;

  // Admin suspend/resume on this side (R5). Suspend needs Active, or a
  // connection already suspended only because the partner is unavailable;
  // Resume needs an admin suspension, and leaves the connection Suspended
  // while the partner stays unavailable.
  [[nodiscard]] virtual absl::Status Suspend(std::string_view actor) = 0;
  [[nodiscard]] virtual absl::Status Resume(std::string_view actor) = 0;

  // Ends the connection for good (R8). FailedPrecondition if already
  // Deactivated.
  [[nodiscard]] virtual absl::Status Deactivate(std::string_view actor) = 0;

  // Settings changes. Allowed on the primary from Invited on (the
  // handshake carries the current values) and on the secondary once
  // accepted; never once Deactivated. Once accepted, each change makes a
  // Connection Update notice, held while Suspended (R5). Setting the current
  // value again changes nothing and records nothing. Sync options are the
  // primary's to edit (R74): FailedPrecondition on a secondary.
  [[nodiscard]] virtual absl::Status UpdateOwner(std::string_view owner,
                                                 std::string_view actor) = 0;
  [[nodiscard]] virtual absl::Status UpdateContact(std::string_view contact,
                                                   std::string_view actor) = 0;
  [[nodiscard]] virtual absl::Status UpdateSyncOptions(
      const SyncOptions& sync, std::string_view actor) = 0;

  // One page of the history, oldest first, read from the Storage (memory
  // is bounded by query.limit however long the history grows); fewer than
  // query.limit entries means the end. InvalidArgument for a limit outside
  // 1..kMaxHistoryPageSize.
  [[nodiscard]] virtual absl::StatusOr<std::vector<HistoryEntry>> History(
      const HistoryQuery& query = {}) const = 0;

  // The connection's engine components, opened on the Org's Storage under
  // this connection's id. Owned by the connection: valid as long as the
  // Org. Hosts publish and subscribe through them, list the queue (R50) and
  // query the log (R51-R54). Never null.
  //
  // Publish/subscribe changes reach the partner through the RecordQueue
  // (R21): each change queues its notices in the same atomic write.
  // SyncLog observers run on the thread that calls Step() or delivers
  // messages, after the connection released its lock.
  virtual PublishSet* publish_set() const = 0;
  virtual SubscriptionMap* subscription_map() const = 0;
  virtual RecordQueue* record_queue() const = 0;
  virtual SyncLog* sync_log() const = 0;

  // One deterministic round of delivery (DESIGN.md rule 1: no thread, time
  // only from the Clock). While the connection is Active and the partner
  // available, sends the RecordQueue's entries that are due: per ordering
  // key (the record; "map:" + object for publish/subscribe notices;
  // "connection" for connection notices) at most one entry is in flight and
  // the next is sent only once the previous was acknowledged or finally
  // failed (R50); different keys go in parallel. An entry not answered
  // within DeliveryOptions::ack_timeout is sent again. Answers and partner
  // messages are processed as the transport delivers them (OnMessage).
  // While Suspended nothing is sent (R5, R6); once Deactivated, only the
  // Connection Deactivate notice itself.
  //
  // While Suspended, Step() also makes the queue-size reports (R7): the
  // first one OrgOptions::queue_report_interval after the suspension
  // began, then one every interval, each at the first Step() at or after
  // its time. Slots missed because nothing stepped the connection (or the
  // process was down) give one report, not one per slot. The next report's
  // time is written to the Storage before the host is called (so a failing
  // Storage cannot cause a report at every step; a crash in between loses
  // that one report), and the host's callback runs on the calling thread
  // without the connection's lock held: it may call the connection.
  //
  // Returns how many entries were sent (resends included); the Storage's
  // error if reading the queue or writing the report's schedule failed.
  [[nodiscard]] virtual absl::StatusOr<size_t> Step() = 0;

  // Live sync (R30): queues a change the host made to its RecordStore for
  // the partner; see orgsync/capture.h. OK once the change is durable in
  // the RecordQueue. Allowed in every accepted status, Suspended included
  // (the changes wait in the queue and go out in order on resume, R5).
  // FailedPrecondition before the connection is accepted, once it is
  // Deactivated, or when the Org has no RecordStore; InvalidArgument for a
  // change that names no record. May be called from many threads at once;
  // it does not wait for Step() or message handling.
  [[nodiscard]] virtual absl::StatusOr<CaptureResult> Capture(
      const LocalChange& change) = 0;

  // Capture of many changes with ONE durable write: all are queued, in the
  // order given, or none is. Use it when the host changes records in bulk
  // (an import, a transaction touching many records): one disk sync instead
  // of one per change. Returns one CaptureResult per change, in order.
  // InvalidArgument (nothing queued) for an empty span or any change that
  // names no record; otherwise as Capture.
  [[nodiscard]] virtual absl::StatusOr<std::vector<CaptureResult>>
  CaptureBatch(absl::Span<const LocalChange> changes) = 0;

  // The id in the partner org of this org's record `local_id` of `object`,
  // once the two are linked (the partner applied the record, or sent it);
  // nullopt while they are not. FailedPrecondition if the org has no
  // RecordStore; InvalidArgument for an empty object or id. Safe from any
  // thread.
  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>>
  PartnerRecordId(std::string_view object, std::string_view local_id) const = 0;

  // Bulk sync (R60-R65; see orgsync/bulk_sync.h): starts copying the
  // records of `options.objects` (default: every object this org publishes
  // and the partner subscribes) created or modified at or after the cutoff
  // to the partner, in this org's direction. Durable when OK returns (with
  // a kBulkSyncStarted history entry); Step() then reads the RecordStore
  // and queues the copies, and the run completes (kBulkSyncCompleted) once
  // every copy was answered. Returns the new run's progress.
  // FailedPrecondition (and nothing changes) while another bulk sync of
  // this connection runs (R63; the message names it and what remains),
  // before acceptance, once Deactivated, without a RecordStore, or for an
  // object not published here or not subscribed by the partner;
  // InvalidArgument for a cutoff earlier than kMaxBulkSyncAge before now
  // (R61) or later than now, and for an empty or repeated object name.
  // Takes no lock that Step() holds while it calls the host: safe from any
  // thread.
  [[nodiscard]] virtual absl::StatusOr<BulkSyncProgress> StartBulkSync(
      const BulkSyncOptions& options) = 0;
  // The running bulk sync's progress, or the last one's; nullopt if this
  // connection never ran one. Also told to OrgOptions::bulk_sync_progress
  // as it moves. Safe from any thread; does not wait behind host code.
  [[nodiscard]] virtual absl::StatusOr<std::optional<BulkSyncProgress>>
  BulkSyncStatus() const = 0;

  // Forwarding (R66; see orgsync/bulk_sync.h): queues `options.records`
  // for the partner now, with their child-only records and the related
  // records of `options.related_objects`, in one durable write (all or
  // none), like CaptureBatch. Reads the records from the org's
  // RecordStore. InvalidArgument for no records, a record named twice or
  // without object or id; NotFound for a record the store does not have;
  // FailedPrecondition for a deleted record, an object not published here
  // or not subscribed by the partner, and as Capture (not accepted,
  // deactivated, no RecordStore). Nothing is queued on an error. Safe from
  // any thread; call it without holding a lock your RecordStore takes.
  [[nodiscard]] virtual absl::StatusOr<ForwardResult> Forward(
      const ForwardOptions& options) = 0;

  // Verify (see orgsync/verify.h): starts comparing this org's linked
  // records with the partner's copies, object by object, by digests over
  // ranges; Step() reads this org's side and the partner answers through
  // the transport. Returns the new run's report (state kRunning).
  // FailedPrecondition (nothing starts) unless the connection is Active,
  // while another Verify of this connection runs, without a RecordStore,
  // or for an object that does not flow over the connection;
  // InvalidArgument for an empty or repeated object name or max_listed 0.
  // The run lives in memory (a restart ends it). Safe from any thread.
  [[nodiscard]] virtual absl::StatusOr<VerifyReport> StartVerify(
      const VerifyOptions& options) = 0;
  // The running Verify's report, or the last one's; nullopt if none ran
  // since the org opened. Safe from any thread; does not wait behind host
  // code.
  [[nodiscard]] virtual absl::StatusOr<std::optional<VerifyReport>>
  VerifyStatus() const = 0;

  // User sync (R70-R73; see orgsync/user_directory.h): queues a change the
  // host made to its UserDirectory for the partner. OK once the change is
  // durable in the RecordQueue. Not captured (captured false, `reason`
  // says why): a write from replication (R31); sync users off, or on a
  // secondary whose user direction is switched off
  // (SetUserSyncToPartner); a user without a standard licence (R70, logged
  // Info); on a secondary, a username without ".dr" (R71, logged Failed,
  // kUsernameSuffix). FailedPrecondition before acceptance, once
  // Deactivated, or when the Org has no UserDirectory; InvalidArgument for
  // a user without id or username. Takes no lock that Step() or message
  // handling hold while they call the host, so it may be called from any
  // thread, also while the host holds its own directory lock.
  [[nodiscard]] virtual absl::StatusOr<CaptureResult> CaptureUser(
      const UserChange& change) = 0;

  // Metadata sync (R74; see OrgOptions::metadata_store), primary only: the
  // host renamed a top-level item (role, profile or permission set) in its
  // MetadataStore. The rename is durable once OK returns; the next metadata
  // sync run sends it ahead of every item, and the secondary renames its
  // own item, so that what refers to it keeps working. Other items do not
  // rename: a renamed custom field arrives as a new one (the seed's
  // advice: clone, do not rename). Not captured (captured false, `reason`
  // says why) while sync metadata is off: the next full sync then sends
  // the item under its new name. InvalidArgument for a type that is not
  // top-level, an empty name, or equal names; FailedPrecondition on a
  // secondary, before acceptance, once Deactivated, or when the Org has no
  // MetadataStore; ResourceExhausted when kMaxPendingMetadataRenames wait
  // already. Safe from any thread.
  [[nodiscard]] virtual absl::StatusOr<CaptureResult> CaptureMetadataRename(
      MetadataType type, std::string_view old_name,
      std::string_view new_name) = 0;

  // The objects whose definitions differ between this org and the partner,
  // by name, as of the last fingerprints exchanged: the partner's come with
  // the handshake and with every change of its schema; this org's schema is
  // compared again at each Step() after it changed (Schema::generation),
  // and sent to the partner then. Objects only one org defines are not
  // listed. Each change of the list is also written to the history
  // (kSchemaMismatch, kSchemaMatched) and told as ConnectionEvents. Empty
  // before acceptance. Safe from any thread.
  virtual std::vector<SchemaMismatch> SchemaMismatches() const = 0;

  // Secondary only: switches the secondary -> primary direction of user
  // sync on or off (R70: the secondary may keep users flowing one way).
  // Recorded in the history (kSyncOptionsUpdated); setting the current
  // value again records nothing. FailedPrecondition on a primary or once
  // Deactivated.
  [[nodiscard]] virtual absl::Status SetUserSyncToPartner(
      bool enabled, std::string_view actor) = 0;

  virtual ConnectionCounters counters() const = 0;

  // Whether the attached transport last reported the partner reachable;
  // false without a transport.
  virtual bool partner_available() const = 0;

  // True when this side has nothing left to deliver: its RecordQueue is
  // empty, no entry awaits the partner's answer and, on a primary, no
  // metadata sync run is under way or due (R74), no copy of all users
  // waits to be queued (R70, R73), no bulk sync runs (R60) and no Verify
  // runs. (What the partner still has to send is the partner's idle().)
  // A host waiting for a sync to
  // finish -- before a maintenance window, in a test -- polls it between
  // Step() calls. Safe from any thread; does not wait behind host code.
  virtual bool idle() const = 0;
};

}  // namespace orgsync

#endif  // ORGSYNC_CONNECTION_H_
