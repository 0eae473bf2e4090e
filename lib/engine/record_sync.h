// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// RecordSync: the record path of live sync for one connection on one side
// (R14, R18, R30-R39, R55, conflicts). The connection owns one and calls it
// from four places:
//
//   * Capture (host threads, many at once): filters a LocalChange by the
//     PublishSet and enqueues the change durably in the RecordQueue, with
//     the field stamps used for conflicts written in the same batch.
//   * PrepareSend (delivery loop): the proto::RecordChange to send for a
//     queued record entry, or "blocked" (a parent still queued before it) or
//     "skip" (nothing to send: acknowledge the entry without sending).
//   * OnResult (delivery loop): for an APPLIED or DUPLICATE result, stages
//     the record link and synced versions in the caller's batch, next to the
//     queue removal; OnFailed, for an entry that leaves the queue failed,
//     stages what makes the record's next update go whole (R55).
//   * Apply (step thread, receiving side): applies one partner change to the
//     RecordStore, idempotently and crash-safely, and says how it went.
//
// The sending half (Capture, PrepareSend, OnResult) is in record_sync.cc,
// the receiving half (Apply, PrepareEnvelope) in record_apply.cc.
//
// Conflicts (two-way objects): every write of a published field, local
// (stamped at Capture) or applied from the partner (stamped at Apply), gets
// a stamp (hybrid clock micros, engine/hybrid_clock.h; primary over
// secondary, version, sequence) stored per linked record and field; an
// incoming value is applied only if its stamp is newer (last writer wins
// per field), so both
// orgs end with the newest write of every field whatever the delivery
// order. An incoming field whose stored stamp is a local write the partner
// has not acknowledged yet is a conflict: it is always logged (Info,
// CONFLICT, both values and the winner) and the ConflictResolver decides;
// when it picks the older write, that value is re-stamped above both and
// sent again so the partner converges too. Deletes and undeletes are
// ordered the same way through a stamp on the pseudo-field "$deleted"; an
// update that races a delete is applied to the deleted record (stores
// accept replicated updates of deleted records), so values still converge
// and an undelete restores the newest values.
//
// Thread-safety: Capture (and OnLocalUndelete, which it calls) may run on
// many threads at once (no lock is held across the storage write).
// PrepareSend, OnResult, OnFailed, Apply and SeverRequestedLinks must be
// called from one thread at a time (the step thread), concurrently with
// Capture: record links change on that thread only.

#ifndef ORGSYNC_LIB_ENGINE_RECORD_SYNC_H_
#define ORGSYNC_LIB_ENGINE_RECORD_SYNC_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/hybrid_clock.h"
#include "engine/record_links.h"
#include "log/durable_sync_log.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/conflict.h"
#include "orgsync/connection.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/publish_set.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"
#include "orgsync/subscription_map.h"
#include "proto/wire.pb.h"
#include "queue/durable_record_queue.h"

namespace orgsync::wire {
struct QueuedChange;
}  // namespace orgsync::wire

namespace orgsync::internal {

struct ValueRefusal;  // engine/incoming_values.h

inline constexpr size_t kDefaultMaxFileBytes = 38u * 1024 * 1024;  // R38

struct RecordSyncDeps {
  Storage* storage = nullptr;
  Clock* clock = nullptr;
  std::string connection_id;
  ReplicationRole role = ReplicationRole::kPrimary;
  // The connection's "sync feeds and audit fields" option (R35).
  bool sync_audit_fields = false;
  // The connection owner in this org: stands in for missing users (R37).
  std::string owner_user_id;
  PublishSet* publish_set = nullptr;
  SubscriptionMap* subscription_map = nullptr;
  DurableRecordQueue* queue = nullptr;
  DurableSyncLog* log = nullptr;
  RecordStore* store = nullptr;
  const Schema* schema = nullptr;
  // Null: last writer wins, ties to the primary (DefaultConflictResolver).
  ConflictResolver* resolver = nullptr;
  // Whether a user id exists in this org (R37); null means every user does.
  std::function<bool(std::string_view user_id)> user_exists;
  // This org's id of the partner's user `partner_user_id`, through the user
  // links user sync keeps (R37, R35); nullopt when not linked. Null: no
  // user links (user ids are taken as they come).
  std::function<absl::StatusOr<std::optional<std::string>>(
      std::string_view partner_user_id)>
      local_user;
  // Binary values larger than this are not synced (R38).
  size_t max_file_bytes = kDefaultMaxFileBytes;
  // Where the writes that must be durable when their call returns go,
  // synced; null: `storage`. The connection applies an envelope with its
  // other sync writes deferred to one flush (storage/deferred_sync_storage.h)
  // and passes the undeferred storage here, for three kinds of write: an
  // insert's id reservation and the hybrid clock's ceiling, both durable
  // before the host's write; and a
  // capture, durable before Capture returns OK (design rule 2) even when
  // the host captures from inside a RecordStore call that apply made on
  // the step thread (a trigger on a replicated write), where `storage`
  // would defer it to the envelope's flush and a crash before that flush
  // would lose a change the host was told is safe.
  Storage* direct_storage = nullptr;
};

// What PrepareSend decided for a queue entry.
struct OutgoingChange {
  enum class Kind {
    kSend,     // put `change` on the wire
    kBlocked,  // hold the entry: `waits_for` has an earlier queued change
    kSkip,     // nothing to send (a change of a record that is not linked
               // and is gone here, or a bulk copy of a record linked or
               // purged meanwhile): remove the entry (Acknowledge)
               // without sending or logging
    kFail,     // never to be sent: the entry fails for good with `error`
               // and `reason` (logged Failed; R64: a bulk copy whose
               // parent was not copied)
  };
  Kind kind = Kind::kSend;
  proto::RecordChange change;
  // When not empty, the change to send, serialized already, and `change`
  // is empty: a plain capture sent as it was queued, with what the send
  // adds appended (wire/queued_change.h).
  std::string serialized;
  // The record version the queued change carried (`change` may be the
  // record's whole current state instead); OnResult's sender_version.
  uint64_t queued_version = 0;
  RecordRef waits_for;
  std::string reason;
  SyncErrorCode error = SyncErrorCode::kNone;  // kFail
};

// Bulk sync (R60-R65): the copies one page of the scan queues.
struct BulkCopies {
  // Parents before the records that look them up (R65).
  std::vector<NewQueueEntry> entries;
  // The LastModifiedDate of each entry's record, in the same order.
  std::vector<absl::Time> modified;
  // Every record with an entry above: a record is planned once per page,
  // before its enqueue makes it pending.
  std::set<RecordRef> planned;
  // Whether the run's scan has read `parent` already: it is not queued
  // again as a parent (copied, skipped, or failed -- and then its children
  // fail, R64). Null: none has been read.
  std::function<bool(const Record& parent)> read_already;
};

class RecordSync {
 public:
  // InvalidArgument if a required dependency is null or the id is empty.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RecordSync>> Create(
      RecordSyncDeps deps);

  RecordSync(const RecordSync&) = delete;
  RecordSync& operator=(const RecordSync&) = delete;
  ~RecordSync();

  [[nodiscard]] absl::StatusOr<CaptureResult> Capture(
      const LocalChange& change);
  // Captures `changes` in order with one durable write; one result per
  // change. InvalidArgument (nothing written) if any change is malformed.
  // `forwarded`: Connection::Forward's changes (R66), marked so on the
  // wire: a partner that severed its link to the record reconnects it
  // (R34).
  [[nodiscard]] absl::StatusOr<std::vector<CaptureResult>> CaptureBatch(
      absl::Span<const LocalChange> changes, bool forwarded = false);

  [[nodiscard]] absl::StatusOr<OutgoingChange> PrepareSend(
      const QueueEntry& entry);

  // Stages into `batch` what an APPLIED/DUPLICATE result teaches (the link
  // and synced versions); other outcomes stage nothing. Results of one
  // acknowledgement must be passed in sequence order.
  // `sender_version` is the record version the queued change carried
  // (OutgoingChange::queued_version, or QueuedVersionOf(entry)).
  [[nodiscard]] absl::Status OnResult(const QueueEntry& entry,
                                      uint64_t sender_version,
                                      const proto::ItemResult& result,
                                      WriteBatch* batch);
  // The record version carried by a queued record change's payload; 0 if
  // it is unreadable.
  static uint64_t QueuedVersionOf(const QueueEntry& entry);

  // R55: the partner refused the record change `entry` for good (e.g. a
  // value for a field it lacked, SCHEMA_MISMATCH, or one its schema
  // forbids). For a linked record, stages into `batch` (next to the entry's
  // removal) that its updates are sent whole until one queued after now is
  // applied, so the partner gets what the refused change carried once it
  // can take it. An unlinked record needs nothing: its next change goes
  // whole anyway. (Exhausted retries are not marked: a whole send stamps
  // every field with the record's time, which in two-way sync can undo a
  // partner's write this side has not seen yet, so it is kept to the case
  // where values were refused.)
  [[nodiscard]] absl::Status OnFailed(const QueueEntry& entry,
                                      WriteBatch* batch);

  // SyncLog appends staged by Apply and written with its change, to be
  // finished (FinishAppend, which runs the observers) by the caller once the
  // write is durable and no lock is held.
  using PendingLogs =
      std::vector<std::pair<DurableSyncLog::PendingAppend, absl::Status>>;

  // Never fails as a call: storage or store errors become a
  // RETRYABLE_FAILURE result (ERROR_STORAGE). The log entries it writes are
  // added to `logs` unfinished.
  proto::ItemResult Apply(const proto::RecordChange& change,
                          PendingLogs* logs);
  // Apply, finishing its log appends at once.
  proto::ItemResult Apply(const proto::RecordChange& change);

  // Before an envelope is applied, in one synced write: reserves the local
  // ids of the inserts among `changes` that have no link yet, so that Apply
  // of each finds its reserved link and writes no reservation of its own
  // (one disk sync for the envelope instead of one per insert); and marks
  // its cascading deletes as begun (StepStamps::deleting), so that a crash
  // after the host's store took one cannot lose what its cascade took. Same
  // thread as Apply. An insert it leaves out reserves its id when applied,
  // and a reservation for an insert that then fails is used by its retry;
  // a delete it leaves out is applied unmarked.
  [[nodiscard]] absl::Status PrepareEnvelope(
      const proto::ChangeBatch& changes);

  // --- Bulk sync (bulk_copy.cc; R60-R65) ---
  // The objects a bulk sync copies, parents before children (R65; ties by
  // name): `requested`, or every object this side publishes and the
  // partner subscribes when it is empty. InvalidArgument for an empty or
  // repeated name; FailedPrecondition for an object not published here or
  // not subscribed by the partner, or when there is none at all.
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> BulkSyncObjects(
      const std::vector<std::string>& requested) const;
  // Plans the copy of `record`, as the bulk scan read it from the store:
  // nothing (returns 0) when it is deleted, linked to the partner already
  // or has a change queued (R62); otherwise the unlinked parents it looks
  // up, level after level (R65), then the record itself, appended to
  // `copies` (returns how many entries were appended). Step thread.
  [[nodiscard]] absl::StatusOr<size_t> PlanBulkCopy(const Record& record,
                                                    BulkCopies* copies);

  // R34: a local undelete on the secondary of an object this side does not
  // publish (one-way) severs the record's link and logs LINK_SEVERED.
  // Capture calls it for undeletes, on host threads: it files the request
  // durably and returns whether the record was linked; the step thread
  // severs the link (SeverRequestedLinks), so that links change on one
  // thread only.
  [[nodiscard]] absl::StatusOr<bool> OnLocalUndelete(std::string_view object,
                                                     std::string_view id);
  // R20: `object` was unpublished (by this side, or by the partner for
  // the object it maps to here): stages into `batch`, next to what records
  // it, a request to drop every record link of the object, done by the
  // step thread (SeverRequestedLinks). Any thread.
  void RequestObjectUnlink(std::string_view object, WriteBatch* batch);
  // R20, on the side that unpublished `object`: stages its unlink fence,
  // `fence` being the queue sequence of the Type Map Delete notice; the
  // caller calls FinishUnlinkFences with the batch's write status once the
  // notice is visible in the queue. Once written,
  //   * a change of `object` queued before the notice is not sent (logged
  //     OBJECT_NOT_SUBSCRIBED) and its acknowledgement links nothing, even
  //     once the object is published again: it belongs to the dropped
  //     links;
  //   * from the staging on, until the partner has the notice (it leaves
  //     the queue), the partner's changes of `object` are refused,
  //     retryably: sent before the partner dropped its links, the links
  //     they would make here would be dropped there.
  // Any thread; a Stage and its Finish are not interleaved with another
  // pair (the publish set serializes its writes).
  void StageUnlinkFence(std::string_view object, uint64_t fence,
                        WriteBatch* batch);
  void FinishUnlinkFences(bool written);
  // Step side, before anything else of a step or a received envelope:
  // severs the links OnLocalUndelete asked for (also those filed before a
  // restart), logging LINK_SEVERED for each, and drops the links of the
  // objects RequestObjectUnlink named, logging one LINK_SEVERED per
  // object; the log appends go to `logs`. Cheap when nothing was asked.
  [[nodiscard]] absl::Status SeverRequestedLinks(PendingLogs* logs);

  // The connection's settings changed: audit fields travel with first
  // copies (R35) and missing users become `owner_user_id` (R37) from the
  // next change on. Safe to call concurrently with everything else.
  void UpdateSettings(bool sync_audit_fields, std::string owner_user_id);

  const RecordLinks& links() const { return links_; }
  // Whether severings may be waiting for SeverRequestedLinks (work left
  // for the step thread). Any thread.
  bool sever_requested() const { return sever_requests_.load(); }

  // Fields found changed in both orgs since they last synced them, each
  // settled by the ConflictResolver and logged CONFLICT; since this object
  // was made. Any thread.
  uint64_t conflicts() const {
    return conflicts_.load(std::memory_order_relaxed);
  }

 private:
  struct MappedChange;
  struct PlannedCapture;

  static absl::Status ValidateLocalChange(const LocalChange& change,
                                          size_t index);
  absl::StatusOr<std::optional<PlannedCapture>> PlanCapture(
      const LocalChange& change, bool forwarded, CaptureResult* result);

  explicit RecordSync(RecordSyncDeps deps);

  // PrepareSend of a Bulk Sync entry: the record as it is now (live, even
  // if deleted since: the delete follows), unless it is linked or gone by
  // now (skip) or its parent was not copied (fail, R64).
  absl::StatusOr<OutgoingChange> PrepareBulkSend(const QueueEntry& entry);
  absl::Status PlanWithParents(const Record& record, int depth,
                               std::set<RecordRef>* visiting,
                               BulkCopies* copies);
  // R34: stages the removal of the record's link, if any, with its log
  // note (link_severing.cc).
  absl::Status StageRecordSever(const RecordRef& record, WriteBatch* batch,
                                std::vector<NewLogEntry>* notes);
  // R34, receiving side: `change` names a partner record this org has no
  // link for. If its link was severed here, a forwarded change links it
  // again to the same record (durably, logged) and `*link` becomes that
  // link; any other change of it but a new copy is refused (the result).
  // Otherwise nothing happens.
  absl::StatusOr<std::optional<proto::ItemResult>> ReconnectSevered(
      const proto::RecordChange& change, const std::string& local_object,
      std::optional<proto::RecordLink>* link);
  // R20: stages the removal of every link of `object`, with its log note.
  absl::Status StageObjectUnlink(const std::string& object, WriteBatch* batch,
                                 std::vector<NewLogEntry>* notes);
  // Whether `record` is linked to the partner or has a change queued.
  absl::StatusOr<bool> LinkedOrQueued(const RecordRef& record) const;
  // The published lookups of `object` whose target this side publishes and
  // the partner subscribes: the parents a bulk copy needs first.
  std::vector<std::pair<std::string, std::string>> CopiedLookups(
      std::string_view object) const;

  proto::FieldStamp StampOf(int64_t micros, bool from_primary,
                            uint64_t version, uint64_t sequence) const;
  // The record as it is now, every published field with its own stamp
  // (proto::RecordChange::field_stamps): R55 resends and bulk copies.
  absl::StatusOr<proto::RecordChange> FullStateInsert(
      const Record& record, const std::optional<proto::RecordLink>& link);
  // Whether a plain queued insert or update (wire/queued_change.h) of a
  // record linked as `link` goes to the partner as it was queued: no R55
  // whole-record resend, no lookup to translate.
  bool SendsAsQueued(const wire::QueuedChange& plain,
                     const std::optional<proto::RecordLink>& link) const;
  static absl::Status PayloadMismatch(const QueueEntry& entry);
  // PrepareSend's answer for an entry that waits for `waits_for`.
  static OutgoingChange Blocked(const RecordRef& waits_for,
                                std::string_view reason);
  // ... for a change whose parent has an earlier change queued (R65).
  static OutgoingChange BlockedByParent(const RecordRef& parent);
  static constexpr std::string_view kPartnerInsertUnfinished =
      "the partner's insert of this record is not fully applied here yet";
  static constexpr std::string_view kEarlierChangeQueued =
      "an earlier change of the same record is still queued";
  // Whether the entry's record has a change queued before it.
  absl::StatusOr<bool> HasEarlierChange(const QueueEntry& entry) const;
  absl::StatusOr<std::optional<RecordRef>> ResolveReferences(
      proto::RecordChange* change, const QueueEntry& entry);

  // MappedChange::stamps' stamp of `field`, else `whole` (the change's).
  static const proto::FieldStamp& StampFor(const MappedChange& mapped,
                                           const std::string& field,
                                           const proto::FieldStamp& whole);
  // Whether this org has met the write of a whole record's value already
  // (record_apply.cc).
  bool SeenHere(const proto::FieldStamp& incoming,
                const std::optional<proto::FieldStamp>& stored,
                const proto::StepStamps& stamps,
                const std::string& field) const;
  absl::StatusOr<proto::ItemResult> ApplyOrError(
      const proto::RecordChange& change);
  // `fresh`: the link's id was reserved by this envelope's PrepareEnvelope,
  // so no record can have it yet and it has no stamps.
  absl::StatusOr<proto::ItemResult> ApplyInsert(
      const proto::RecordChange& change, const std::string& local_object,
      std::optional<proto::RecordLink> link, MappedChange mapped,
      bool fresh);
  absl::StatusOr<proto::ItemResult> ApplyUpdate(
      const proto::RecordChange& change, const std::string& local_object,
      proto::RecordLink link, MappedChange mapped);
  absl::StatusOr<proto::ItemResult> DeleteAfterInsert(
      const proto::RecordChange& change, const std::string& local_object);
  absl::StatusOr<proto::ItemResult> ApplyDeletion(
      const proto::RecordChange& change, const std::string& local_object,
      proto::RecordLink link);
  absl::StatusOr<std::optional<std::string>> HintedParent(
      const proto::RecordChange& change, const std::string& field,
      const std::string& target, const std::string& partner_id,
      std::vector<NewLogEntry>* refused);
  absl::StatusOr<std::optional<std::string>> KnownToPartnerAs(
      const proto::RecordChange& change, const std::string& object,
      const std::string& local_id, const std::string& partner_id,
      std::string_view named_as, std::vector<NewLogEntry>* refused);
  absl::StatusOr<absl::StatusOr<CascadeResult>> RedoCrashedDelete(
      const std::string& local_object,
      const std::string& local_id, const proto::FieldStamp& incoming,
      const proto::StepStamps& stamps, absl::StatusOr<CascadeResult> refused);
  absl::Status MatchCascade(const proto::RecordChange& change,
                            const proto::FieldStamp& incoming, bool deleting,
                            const std::vector<RecordRef>& took,
                            WriteBatch* batch,
                            std::vector<NewLogEntry>* refused);
  // The fields of `change` as this org stores them, every value checked
  // against the local schema first (engine/incoming_values.h); or the
  // result that fails the change.
  absl::StatusOr<std::optional<proto::ItemResult>> MapFields(
      const proto::RecordChange& change, const std::string& local_object,
      const std::optional<proto::RecordLink>& link, MappedChange* out);
  absl::StatusOr<proto::ItemResult> RefuseChange(
      const proto::RecordChange& change, const std::string& local_object,
      const std::optional<proto::RecordLink>& link,
      const std::string& partner_field, const ValueRefusal& refusal);
  absl::Status LogNow(const std::vector<NewLogEntry>& entries);
  // Writes `batch` with `log_entries` durably, to `storage` (null:
  // deps_.storage); the appends are finished at once, or handed to
  // `deferred_logs` (the apply path's, finished by the caller once no lock
  // is held).
  absl::Status Commit(WriteBatch& batch,
                      const std::vector<NewLogEntry>& log_entries,
                      PendingLogs* deferred_logs = nullptr,
                      Storage* storage = nullptr);

  std::string LocalObjectOf(const std::string& partner_object) const;
  static std::string ReservationKey(std::string_view local_object,
                                    std::string_view partner_id);
  bool sync_audit_fields() const;
  std::string owner_user_id() const;

  // Set when a sever request may be pending (OnLocalUndelete, or Create:
  // requests filed before a restart).
  std::atomic<bool> sever_requests_{true};
  // Whether `entry` (a record change) was queued before its object's
  // links were dropped (NoteUnlinkFence).
  bool QueuedBeforeUnlink(const QueueEntry& entry) const;
  uint64_t UnlinkFenceOf(std::string_view object) const;
  // Whether `local_object` was unpublished here and the partner does not
  // have the notice yet (StageUnlinkFence).
  absl::StatusOr<bool> AwaitsUnpublishNotice(std::string_view local_object);
  void NoteUnlinkFence(std::string_view object, uint64_t fence);
  // The unlink fences by object (read at Create, then NoteUnlinkFence);
  // has_unlink_fences_ spares the send path the lock while there are none.
  struct UnlinkFence {
    uint64_t sequence = 0;
    bool delivered = false;  // the notice left the queue
  };
  mutable internal::Mutex fences_mu_;
  std::map<std::string, UnlinkFence, std::less<>> unlink_fences_
      ABSL_GUARDED_BY(fences_mu_);
  // (object, fence) of the unpublish being written (StageUnlinkFence).
  std::vector<std::pair<std::string, uint64_t>> staged_fences_
      ABSL_GUARDED_BY(fences_mu_);
  std::atomic<bool> has_unlink_fences_{false};
  // Where the apply path puts its log appends; set only during Apply, on
  // the step thread (Capture never reads it).
  PendingLogs* apply_logs_ = nullptr;
  // The links the last PrepareEnvelope reserved (durably), by local object
  // and partner id, each taken by the apply of its insert: found without a
  // read, for a record that cannot exist yet. Step thread only.
  absl::flat_hash_map<std::string, proto::RecordLink> envelope_reservations_;
  RecordSyncDeps deps_;
  // deps_.sync_audit_fields and deps_.owner_user_id change under this.
  mutable internal::Mutex settings_mu_;
  RecordLinks links_;
  // Orders this side's writes after every partner write it has seen.
  HybridClock hlc_;
  DefaultConflictResolver default_resolver_;
  std::atomic<uint64_t> conflicts_{0};
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_ENGINE_RECORD_SYNC_H_
