// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// ConnectionImpl's status machine and settings: the host's calls that move
// a connection between statuses (the end of R2's sync phases, Suspend,
// Resume, Deactivate) or edit its owner, contact and sync options. They,
// like the partner-availability changes in connection_impl.cc, take the
// same three steps: CheckMove against the transition table, StageNotice to
// tell an accepted partner, and Commit, which writes the new state, its
// history entry and the notice in one synced batch -- so a failed call
// changes nothing, and the partner hears of exactly what was stored.

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "connection/connection_impl.h"
#include "connection/connection_keys.h"
#include "orgsync/status.h"

namespace orgsync::internal {
namespace {

absl::Status CheckText(std::string_view field, std::string_view value) {
  if (value.empty() || value.size() > kMaxHistoryTextBytes) {
    return absl::InvalidArgumentError(
        fmt::format("{} must be 1 to {} bytes, got {}", field,
                    kMaxHistoryTextBytes, value.size()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ConnectionImpl::CheckMove(ConnectionStatus to, bool allowed,
                                       std::string_view why) const {
  const ConnectionStatus from = StatusLocked();
  if (allowed && IsLegalStatusTransition(from, to)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      fmt::format("connection {}: cannot go from {} to {}: {}", id_,
                  ConnectionStatusName(from), ConnectionStatusName(to), why));
}

absl::Status ConnectionImpl::StageNotice(
    QueueAction action, std::string_view actor,
    const proto::ConnectionState& next, WriteBatch* batch,
    std::optional<DurableRecordQueue::PendingEnqueue>* pending) {
  // The partner hears only about an accepted connection: before acceptance
  // the handshake carries the current settings.
  if (!AcceptedLocked()) return absl::OkStatus();
  proto::ConnectionNotice notice;
  notice.set_action(static_cast<proto::QueueAction>(action));
  proto::ConnectionOptions* options = notice.mutable_options();
  options->set_sync_feeds_and_audit_fields(
      next.sync().sync_feeds_and_audit_fields());
  options->set_sync_metadata(next.sync().sync_metadata());
  options->set_sync_users(next.sync().sync_users());
  options->set_owner(next.owner());
  options->set_contact(next.contact());
  // A Connection Update names only the owner or contact it changes (empty:
  // unchanged), so that both sides may edit different settings at once
  // without one overwriting the other's with a stale value.
  if (action == QueueAction::kConnectionUpdate) {
    if (next.owner() == state_.owner()) options->clear_owner();
    if (next.contact() == state_.contact()) options->clear_contact();
    // Every update carries this org's schema fingerprints as last compared
    // (schema_fingerprints.cc), so the partner's view never lags.
    *notice.mutable_schema_fingerprints() = next.local_schema_fingerprints();
    notice.set_has_schema_fingerprints(true);
  }
  notice.set_reason(std::string(actor));
  // The sequence is the queue's, set when the entry is sent.
  NewQueueEntry entry;
  entry.action = action;
  entry.payload = notice.SerializeAsString();
  ORGSYNC_ASSIGN_OR_RETURN(
      DurableRecordQueue::PendingEnqueue staged,
      record_queue_->PrepareEnqueue(absl::MakeConstSpan(&entry, 1), batch));
  *pending = std::move(staged);
  return absl::OkStatus();
}

absl::Status ConnectionImpl::Commit(
    proto::ConnectionState next, WriteBatch batch,
    std::optional<DurableRecordQueue::PendingEnqueue> pending) {
  TrackSuspension(&next);
  batch.Put(ConnectionStateKey(id_), next.SerializeAsString());
  const absl::Status written =
      storage_->Write(batch, WriteOptions{.sync = true});
  if (pending.has_value()) {
    const std::vector<uint64_t> sequences = pending->sequences();
    record_queue_->FinishEnqueue(std::move(*pending), written);
    if (written.ok()) {
      queued_notices_.insert(sequences.begin(), sequences.end());
    }
  }
  if (!written.ok()) {
    // The rows the incoming-history windows point at may not exist.
    history_windows_.clear();
  }
  ORGSYNC_RETURN_IF_ERROR(
      Annotate(written, fmt::format("writing connection {}", id_)));
  state_ = std::move(next);
  deactivated_ = state_.status() == proto::STORED_DEACTIVATED;
  if (StatusLocked() != status_for_capture_.load()) {
    NoteEvent(ConnectionEventKind::kStatusChanged);
  }
  status_for_capture_ = StatusLocked();
  NoteUserCaptureLocked();
  // Owner and audit-field changes (by either side) apply to the next
  // captured and applied change, not only after a reopen.
  if (record_sync_ != nullptr) {
    record_sync_->UpdateSettings(state_.sync().sync_feeds_and_audit_fields(),
                                 state_.owner());
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------

absl::Status ConnectionImpl::CompleteMetadataSync(std::string_view actor) {
  const EventTeller tell(this);
  ORGSYNC_RETURN_IF_ERROR(CheckText("actor", actor));
  internal::MutexLock lock(&mu_);
  ORGSYNC_RETURN_IF_ERROR(CheckMove(
      StatusAfterMetadataSyncLocked(),
      StatusLocked() == ConnectionStatus::kMetadataSyncInProgress,
      "the metadata sync completes only in status Metadata Sync in Progress"));
  proto::ConnectionState next = state_;
  WriteBatch batch;
  StageMetadataSyncEndLocked(actor, "", &next, &batch);
  return Commit(std::move(next), std::move(batch));
}

ConnectionStatus ConnectionImpl::StatusAfterMetadataSyncLocked() const {
  // With a user directory, the users may have arrived already (the
  // primary's phase ended first; user_sync.cc): no user phase then.
  const bool users_pending =
      state_.sync().sync_users() &&
      !(env_->user_directory != nullptr && state_.users_copy_received());
  return users_pending ? ConnectionStatus::kUserSyncInProgress
                       : ConnectionStatus::kActive;
}

void ConnectionImpl::StageMetadataSyncEndLocked(std::string_view actor,
                                                std::string_view detail,
                                                proto::ConnectionState* next,
                                                WriteBatch* batch) {
  const ConnectionStatus to = StatusAfterMetadataSyncLocked();
  next->set_status(ToStoredStatus(to));
  AddHistory(id_, StoredNow(*env_->clock), HistoryEvent::kMetadataSyncCompleted,
             actor,
             detail.empty()
                 ? fmt::format("next: {}", ConnectionStatusName(to))
                 : fmt::format("{}; next: {}", detail, ConnectionStatusName(to)),
             next, batch);
}

absl::Status ConnectionImpl::CompleteUserSync(std::string_view actor) {
  const EventTeller tell(this);
  ORGSYNC_RETURN_IF_ERROR(CheckText("actor", actor));
  internal::MutexLock lock(&mu_);
  ORGSYNC_RETURN_IF_ERROR(CheckMove(
      ConnectionStatus::kActive,
      StatusLocked() == ConnectionStatus::kUserSyncInProgress,
      "the user sync completes only in status User Sync in Progress"));
  proto::ConnectionState next = state_;
  WriteBatch batch;
  next.set_status(ToStoredStatus(ConnectionStatus::kActive));
  AddHistory(id_, StoredNow(*env_->clock), HistoryEvent::kUserSyncCompleted,
             actor, "", &next, &batch);
  return Commit(std::move(next), std::move(batch));
}

absl::Status ConnectionImpl::RecordMetadataSyncFailure(
    std::string_view item, std::string_view description) {
  const EventTeller tell(this);
  ORGSYNC_RETURN_IF_ERROR(CheckText("metadata item", item));
  internal::MutexLock lock(&mu_);
  if (!AcceptedLocked()) {
    return absl::FailedPreconditionError(
        fmt::format("connection {}: no metadata sync in status {}", id_,
                    ConnectionStatusName(StatusLocked())));
  }
  proto::ConnectionState next = state_;
  WriteBatch batch;
  AddHistory(id_, StoredNow(*env_->clock), HistoryEvent::kMetadataSyncFailure,
             kSystemActor,
             fmt::format("{}: {}", item, ClipPeerText(description)), &next,
             &batch);
  return Commit(std::move(next), std::move(batch));
}

absl::Status ConnectionImpl::Suspend(std::string_view actor) {
  const EventTeller tell(this);
  ORGSYNC_RETURN_IF_ERROR(CheckText("actor", actor));
  internal::MutexLock lock(&mu_);
  const ConnectionStatus from = StatusLocked();
  // A connection suspended only because the partner is away may still be
  // suspended by an administrator, so that it stays suspended once the
  // partner is back. That is no status change.
  const bool auto_suspended_only =
      from == ConnectionStatus::kSuspended && !state_.admin_suspended();
  if (!auto_suspended_only) {
    ORGSYNC_RETURN_IF_ERROR(CheckMove(
        ConnectionStatus::kSuspended, from == ConnectionStatus::kActive,
        from == ConnectionStatus::kSuspended
            ? "already suspended by an administrator"
            : "only an Active connection can be suspended"));
  }
  proto::ConnectionState next = state_;
  WriteBatch batch;
  const absl::Time now = StoredNow(*env_->clock);
  next.set_status(ToStoredStatus(ConnectionStatus::kSuspended));
  next.set_admin_suspended(true);
  // R7: this administrator hears of the queue from now on.
  next.set_suspended_by(std::string(actor));
  AddHistory(id_, now, HistoryEvent::kAdminSuspended, actor, "", &next, &batch);
  std::optional<DurableRecordQueue::PendingEnqueue> pending;
  ORGSYNC_RETURN_IF_ERROR(StageNotice(QueueAction::kConnectionAdminSuspended,
                                      actor, next, &batch, &pending));
  return Commit(std::move(next), std::move(batch), std::move(pending));
}

absl::Status ConnectionImpl::Resume(std::string_view actor) {
  const EventTeller tell(this);
  ORGSYNC_RETURN_IF_ERROR(CheckText("actor", actor));
  internal::MutexLock lock(&mu_);
  if (!state_.admin_suspended()) {
    return CheckMove(ConnectionStatus::kActive, false,
                     "not suspended by an administrator");
  }
  proto::ConnectionState next = state_;
  WriteBatch batch;
  const absl::Time now = StoredNow(*env_->clock);
  next.set_admin_suspended(false);
  // Still Suspended while the partner is away: no administrator to tell.
  next.clear_suspended_by();
  if (!next.partner_unavailable()) {
    next.set_status(ToStoredStatus(ConnectionStatus::kActive));
  }
  AddHistory(id_, now, HistoryEvent::kAdminResumed, actor,
             next.partner_unavailable()
                 ? "still suspended: the partner org is unavailable"
                 : "",
             &next, &batch);
  std::optional<DurableRecordQueue::PendingEnqueue> pending;
  ORGSYNC_RETURN_IF_ERROR(StageNotice(QueueAction::kConnectionAdminResumed,
                                      actor, next, &batch, &pending));
  return Commit(std::move(next), std::move(batch), std::move(pending));
}

absl::Status ConnectionImpl::Deactivate(std::string_view actor) {
  const EventTeller tell(this);
  ORGSYNC_RETURN_IF_ERROR(CheckText("actor", actor));
  internal::MutexLock lock(&mu_);
  ORGSYNC_RETURN_IF_ERROR(
      CheckMove(ConnectionStatus::kDeactivated, true,
                "a deactivated connection stays deactivated"));
  proto::ConnectionState next = state_;
  WriteBatch batch;
  const absl::Time now = StoredNow(*env_->clock);
  next.set_status(ToStoredStatus(ConnectionStatus::kDeactivated));
  next.set_admin_suspended(false);
  next.set_partner_unavailable(false);
  // Nobody may accept a deactivated invitation; forget the secret.
  next.clear_secret();
  AddHistory(id_, now, HistoryEvent::kDeactivated, actor,
             fmt::format("was {}", ConnectionStatusName(StatusLocked())), &next,
             &batch);
  std::optional<DurableRecordQueue::PendingEnqueue> pending;
  ORGSYNC_RETURN_IF_ERROR(StageNotice(QueueAction::kConnectionDeactivate,
                                      actor, next, &batch, &pending));
  ORGSYNC_RETURN_IF_ERROR(
      Commit(std::move(next), std::move(batch), std::move(pending)));
  // Nothing but the Deactivate notice goes out from now on.
  in_flight_.clear();
  in_flight_keys_.clear();
  return absl::OkStatus();
}

// --- Settings ----------------------------------------------------------------

absl::Status ConnectionImpl::CheckSettingsEditable(
    std::string_view what) const {
  const ConnectionStatus status = StatusLocked();
  if (status == ConnectionStatus::kDeactivated) {
    return absl::FailedPreconditionError(fmt::format(
        "connection {}: cannot change the {} of a deactivated connection", id_,
        what));
  }
  if (role_ == ReplicationRole::kSecondary &&
      status == ConnectionStatus::kInvited) {
    return absl::FailedPreconditionError(fmt::format(
        "connection {}: the secondary can change the {} only once accepted "
        "(the primary's answer sets it)",
        id_, what));
  }
  return absl::OkStatus();
}

absl::Status ConnectionImpl::UpdateSettings(
    HistoryEvent event, std::string_view actor, std::string_view detail,
    const proto::ConnectionState& changed) {
  proto::ConnectionState next = changed;
  WriteBatch batch;
  const absl::Time now = StoredNow(*env_->clock);
  AddHistory(id_, now, event, actor, detail, &next, &batch);
  std::optional<DurableRecordQueue::PendingEnqueue> pending;
  ORGSYNC_RETURN_IF_ERROR(StageNotice(QueueAction::kConnectionUpdate, actor,
                                      next, &batch, &pending));
  return Commit(std::move(next), std::move(batch), std::move(pending));
}

absl::Status ConnectionImpl::UpdateOwner(std::string_view owner,
                                         std::string_view actor) {
  const EventTeller tell(this);
  ORGSYNC_RETURN_IF_ERROR(CheckText("owner", owner));
  ORGSYNC_RETURN_IF_ERROR(CheckText("actor", actor));
  internal::MutexLock lock(&mu_);
  ORGSYNC_RETURN_IF_ERROR(CheckSettingsEditable("owner"));
  if (state_.owner() == owner) return absl::OkStatus();
  proto::ConnectionState next = state_;
  next.set_owner(std::string(owner));
  return UpdateSettings(HistoryEvent::kOwnerUpdated, actor,
                        fmt::format("{} -> {}", state_.owner(), owner), next);
}

absl::Status ConnectionImpl::UpdateContact(std::string_view contact,
                                           std::string_view actor) {
  const EventTeller tell(this);
  ORGSYNC_RETURN_IF_ERROR(CheckText("contact", contact));
  ORGSYNC_RETURN_IF_ERROR(CheckText("actor", actor));
  internal::MutexLock lock(&mu_);
  ORGSYNC_RETURN_IF_ERROR(CheckSettingsEditable("contact"));
  if (state_.contact() == contact) return absl::OkStatus();
  proto::ConnectionState next = state_;
  next.set_contact(std::string(contact));
  return UpdateSettings(HistoryEvent::kContactUpdated, actor,
                        fmt::format("{} -> {}", state_.contact(), contact),
                        next);
}

absl::Status ConnectionImpl::UpdateSyncOptions(const SyncOptions& sync,
                                               std::string_view actor) {
  const EventTeller tell(this);
  ORGSYNC_RETURN_IF_ERROR(CheckText("actor", actor));
  internal::MutexLock lock(&mu_);
  if (role_ == ReplicationRole::kSecondary) {
    return absl::FailedPreconditionError(fmt::format(
        "connection {}: sync options are editable only on the primary (R74)",
        id_));
  }
  ORGSYNC_RETURN_IF_ERROR(CheckSettingsEditable("sync options"));
  const SyncOptions old = FromStoredSync(state_.sync());
  if (old == sync) return absl::OkStatus();
  proto::ConnectionState next = state_;
  *next.mutable_sync() = ToStoredSync(sync);
  // R73: sync users turned back on copies all users again (Step queues
  // the copy; user_sync.cc). Turned off, a copy not queued yet is dropped.
  next.set_users_bulk_requested(
      sync.sync_users &&
      (state_.users_bulk_requested() || (!old.sync_users && AcceptedLocked())));
  // R73 for metadata likewise: turned back on, a run starts at once (Step,
  // metadata_sync.cc). Turned off, the run under way stops, and renames
  // wait no longer: the next full sync sends the items by their new names.
  proto::StoredMetadataSync* metadata = next.mutable_metadata();
  if (!sync.sync_metadata) {
    metadata->set_running(false);
    metadata->set_requested(false);
    metadata->clear_renames();
    metadata_in_flight_.reset();
  } else if (!old.sync_metadata && AcceptedLocked()) {
    metadata->set_requested(true);
  }
  return UpdateSettings(
      HistoryEvent::kSyncOptionsUpdated, actor,
      fmt::format("{} -> {}", DescribeSync(old), DescribeSync(sync)), next);
}

}  // namespace orgsync::internal
