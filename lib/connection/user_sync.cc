// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// User sync (DESIGN.md R70-R73, R52, R2): the host's UserDirectory kept
// alike in both orgs.
//
// Sending. A user change the host reports (CaptureUser) becomes one User
// Upsert queue entry, durable before the call returns, like a record
// capture. On the primary, the User Sync in Progress phase (and sync users
// turned off and on, R73) queues one Bulk Sync Users entry per
// standard-licence user and a last, empty one that ends the copy; Step()
// does it, because it reads the host's directory, which must not run under
// mu_ (rule 9). Every user entry shares one ordering key, so the partner
// applies them in queue order: a copy queued before a user's later change
// cannot overwrite that change. The end of the copy, once the partner
// answered it, moves the connection to Active (R2); the partner does the
// same when it applies it.
//
// Receiving. Each user is matched by username: the secondary's is the
// primary's plus ".dr" (R71). A missing profile fails the entry for good
// (PERMANENT_FAILURE, logged Failed by the sender at once and never
// retried, R52/R72); a role or permission set this org does not define is
// left out and logged here (Info). The applied mark of the user key makes
// a resent entry a no-op (rule 3); it is written after the directory, so a
// crash in between applies the same upsert again, which changes nothing.

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_join.h"
#include "connection/connection_impl.h"
#include "connection/connection_keys.h"
#include "internal/keys.h"
#include "orgsync/status.h"
#include "orgsync/user_directory.h"
#include "proto/wire.pb.h"
#include "users/user_proto.h"

namespace orgsync::internal {
namespace {

// The object name user entries and log entries carry (R50, R53).
constexpr std::string_view kUserObjectName = "User";

NewQueueEntry UserQueueEntry(const User* user, QueueAction action,
                             int64_t stamp) {
  proto::UserUpsert upsert;
  upsert.set_action(static_cast<proto::QueueAction>(action));
  upsert.set_stamp_micros(stamp);
  NewQueueEntry entry;
  entry.record.object = std::string(kUserObjectName);
  entry.action = action;
  if (user != nullptr) {
    entry.record.id = user->id;
    *upsert.add_users() = UserToProto(*user);
  } else {
    // The end of a copy: no user, no id.
    upsert.set_last_batch(true);
  }
  entry.payload = upsert.SerializeAsString();
  return entry;
}

// What became of one of the partner's users.
struct UserOutcome {
  // This org's id of the user written.
  std::string local_id = {};
  proto::Outcome outcome = proto::APPLIED;
  proto::ErrorCode error = proto::ERROR_NONE;
  std::string description;
  // What was left out (roles, permission sets this org lacks).
  std::vector<std::string> left_out;
  // Not written: this org's own change of the user is later (last writer
  // wins); local_id names the user kept.
  bool kept_local = false;
};

UserOutcome UserFailure(proto::ErrorCode error, std::string description) {
  UserOutcome failure;
  failure.outcome = proto::PERMANENT_FAILURE;
  failure.error = error;
  failure.description = std::move(description);
  return failure;
}

CaptureResult UserNotCaptured(std::string reason) {
  CaptureResult result;
  result.reason = std::move(reason);
  return result;
}

// Writes one of the partner's users into `directory`. Every failure is
// permanent: user sync is never retried (R52).
UserOutcome WriteUserFromPartner(
    UserDirectory& directory, const proto::User& incoming,
    bool local_is_secondary, const std::string& connection_id,
    const std::string& org_id,
    const std::function<absl::StatusOr<bool>(const std::string&)>&
        later_here) {
  if (!incoming.standard_license()) {
    return UserFailure(
        proto::ERROR_VALIDATION,
        fmt::format("user {} has no standard licence: never synced (R70)",
                    ClipPeerText(incoming.username())));
  }
  const std::optional<std::string> username =
      LocalUsername(incoming.username(), local_is_secondary);
  if (!username.has_value()) {
    return UserFailure(proto::ERROR_USERNAME_SUFFIX,
                       fmt::format("username {} does not end in {} (R71)",
                                   ClipPeerText(incoming.username()),
                                   kSecondaryUsernameSuffix));
  }
  absl::StatusOr<bool> has_profile = directory.HasProfile(incoming.profile());
  if (!has_profile.ok()) {
    return UserFailure(
        proto::ERROR_UNKNOWN,
        fmt::format("reading profile {}: {}", ClipPeerText(incoming.profile()),
                    std::string(has_profile.status().message())));
  }
  if (!*has_profile) {
    return UserFailure(
        proto::ERROR_MISSING_PROFILE,
        fmt::format("user {}: profile \"{}\" does not exist in org {} (R72); "
                    "create it there and save the user again",
                    ClipPeerText(incoming.username()),
                    ClipPeerText(incoming.profile()), org_id));
  }
  User user = UserFromProto(incoming);
  user.username = *username;
  UserOutcome outcome;
  // Assignments sync only where both orgs define them (seed, R70).
  if (!user.role.empty()) {
    absl::StatusOr<bool> has_role = directory.HasRole(user.role);
    if (!has_role.ok() || !*has_role) {
      outcome.left_out.push_back("role " + ClipPeerText(user.role));
      user.role.clear();
    }
  }
  std::vector<std::string> sets;
  for (std::string& set : user.permission_sets) {
    absl::StatusOr<bool> has_set = directory.HasPermissionSet(set);
    if (has_set.ok() && *has_set) {
      sets.push_back(std::move(set));
    } else {
      outcome.left_out.push_back("permission set " + ClipPeerText(set));
    }
  }
  user.permission_sets = std::move(sets);
  absl::StatusOr<std::optional<User>> existing =
      directory.FindByUsername(user.username);
  if (!existing.ok()) {
    return UserFailure(proto::ERROR_UNKNOWN,
                       fmt::format("looking up user {}: {}", user.username,
                                   std::string(existing.status().message())));
  }
  if (existing->has_value()) {
    absl::StatusOr<bool> kept = later_here((*existing)->id);
    if (!kept.ok()) {
      return UserFailure(proto::ERROR_STORAGE,
                         std::string(kept.status().message()));
    }
    if (*kept) {
      outcome.kept_local = true;
      outcome.local_id = (*existing)->id;
      return outcome;
    }
  }
  // This org's id of the user, never the partner's.
  user.id = existing->has_value() ? (*existing)->id : std::string();
  absl::StatusOr<User> written = directory.Upsert(
      std::move(user),
      ApplyContext{.from_replication = true, .connection_id = connection_id});
  if (!written.ok()) {
    const bool refused = absl::IsInvalidArgument(written.status()) ||
                         absl::IsAlreadyExists(written.status());
    return UserFailure(refused ? proto::ERROR_VALIDATION : proto::ERROR_UNKNOWN,
                       fmt::format("the user directory refused user {}: {}",
                                   ClipPeerText(incoming.username()),
                                   std::string(written.status().message())));
  }
  outcome.local_id = written->id;
  return outcome;
}

}  // namespace

bool IsUserAction(QueueAction action) {
  return action == QueueAction::kUserUpsert ||
         action == QueueAction::kBulkSyncUsers;
}

bool IsUserCopyEnd(const QueueEntry& entry) {
  return entry.action == QueueAction::kBulkSyncUsers && entry.record.id.empty();
}

void ConnectionImpl::NoteUserCaptureLocked() {
  capture_users_ =
      state_.sync().sync_users() &&
      !(role_ == ReplicationRole::kSecondary && state_.users_to_partner_off());
}

absl::StatusOr<CaptureResult> ConnectionImpl::RefuseUserCapture(
    const User& user, LogStatus status, SyncErrorCode error,
    std::string reason) {
  NewLogEntry log;
  log.record = RecordRef{std::string(kUserObjectName), user.id};
  log.action = QueueAction::kUserUpsert;
  log.status = status;
  log.error = error;
  log.description = reason;
  ORGSYNC_RETURN_IF_ERROR(sync_log_->Append(log).status());
  return UserNotCaptured(std::move(reason));
}

absl::StatusOr<CaptureResult> ConnectionImpl::CaptureUser(
    const UserChange& change) {
  const User& user = change.user;
  if (env_->user_directory == nullptr) {
    return absl::FailedPreconditionError(fmt::format(
        "CaptureUser on connection {}: the org has no UserDirectory "
        "(OrgOptions.user_directory), so it syncs no users",
        id_));
  }
  if (user.id.empty() || user.username.empty()) {
    return absl::InvalidArgumentError(
        "CaptureUser: the user needs an id and a username");
  }
  // Never mu_ (as Capture): the host may hold its directory lock, which
  // applying the partner's users waits for under record_mu_.
  const ConnectionStatus status = status_for_capture_.load();
  if (!IsAcceptedStatus(status)) {
    return absl::FailedPreconditionError(fmt::format(
        "CaptureUser on connection {}: the connection is {}; user changes "
        "are captured only once it is accepted and until it is deactivated",
        id_, ConnectionStatusName(status)));
  }
  if (change.context.from_replication) {
    return UserNotCaptured("written by replication: never sent back (R31)");
  }
  if (!capture_users_.load()) {
    return UserNotCaptured(role_ == ReplicationRole::kSecondary
                               ? "sync users is off, or this secondary's user "
                                 "direction is switched off"
                               : "sync users is off");
  }
  if (!user.standard_license) {
    return RefuseUserCapture(
        user, LogStatus::kInfo, SyncErrorCode::kNone,
        fmt::format("user {} has no standard licence: not synced (R70)",
                    user.username));
  }
  if (role_ == ReplicationRole::kSecondary &&
      !HasSecondarySuffix(user.username)) {
    return RefuseUserCapture(
        user, LogStatus::kFailed, SyncErrorCode::kUsernameSuffix,
        fmt::format("user {} was created in the secondary without the {} "
                    "suffix: not copied to the primary (R71)",
                    user.username, kSecondaryUsernameSuffix));
  }
  // The change is stamped after every change of this user this org sent
  // or applied, and the stamp is kept with the entry (last writer wins).
  internal::MutexLock stamps(&user_stamp_mu_);
  WriteBatch batch;
  ORGSYNC_ASSIGN_OR_RETURN(const int64_t stamp,
                           StageNextUserStamp(user.id, &batch));
  const NewQueueEntry entry =
      UserQueueEntry(&user, QueueAction::kUserUpsert, stamp);
  ORGSYNC_ASSIGN_OR_RETURN(
      DurableRecordQueue::PendingEnqueue pending,
      record_queue_->PrepareEnqueue(absl::MakeConstSpan(&entry, 1), &batch));
  const std::vector<uint64_t> sequences = pending.sequences();
  const absl::Status written =
      storage_->Write(batch, WriteOptions{.sync = true});
  record_queue_->FinishEnqueue(std::move(pending), written);
  ORGSYNC_RETURN_IF_ERROR(written);
  CaptureResult captured;
  captured.captured = true;
  captured.sequence = sequences.front();
  return captured;
}

absl::Status ConnectionImpl::SetUserSyncToPartner(bool enabled,
                                                  std::string_view actor) {
  const EventTeller tell(this);
  if (actor.empty() || actor.size() > kMaxHistoryTextBytes) {
    return absl::InvalidArgumentError(
        fmt::format("actor must be 1 to {} bytes", kMaxHistoryTextBytes));
  }
  internal::MutexLock lock(&mu_);
  if (role_ != ReplicationRole::kSecondary) {
    return absl::FailedPreconditionError(fmt::format(
        "connection {}: only the secondary switches its user direction (R70)",
        id_));
  }
  ORGSYNC_RETURN_IF_ERROR(CheckSettingsEditable("user sync direction"));
  if (state_.users_to_partner_off() == !enabled) return absl::OkStatus();
  proto::ConnectionState next = state_;
  next.set_users_to_partner_off(!enabled);
  WriteBatch batch;
  AddHistory(id_, StoredNow(*env_->clock), HistoryEvent::kSyncOptionsUpdated,
             actor,
             enabled ? "user changes of the secondary sync to the primary"
                     : "user changes of the secondary no longer sync to the "
                       "primary",
             &next, &batch);
  return Commit(std::move(next), std::move(batch));
}

absl::Status ConnectionImpl::QueueUserCopyIfDue() {
  UserDirectory* directory = env_->user_directory;
  if (directory == nullptr) return absl::OkStatus();
  // A copy is due on the primary; asked again after the directory was read
  // without mu_.
  auto due = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return UserCopyDueLocked();
  };
  {
    internal::MutexLock lock(&mu_);
    // Either side: the end of a copy whose write failed is written again.
    if (user_copy_end_unwritten_) {
      user_copy_end_unwritten_ = false;
      FinishUserCopyLocked();
    }
    if (!due()) return absl::OkStatus();
  }
  // The host's directory, read without mu_. Users held in memory: a
  // directory is the org's staff, thousands, not a record backlog.
  std::vector<User> users;
  ORGSYNC_RETURN_IF_ERROR(directory->Scan([&](const User& user) {
    if (user.standard_license && !user.id.empty()) users.push_back(user);
    return true;
  }));
  // Each copy is stamped as a change of its user (last writer wins).
  internal::MutexLock stamps(&user_stamp_mu_);
  WriteBatch batch;
  std::vector<NewQueueEntry> entries;
  for (const User& user : users) {
    ORGSYNC_ASSIGN_OR_RETURN(const int64_t stamp,
                             StageNextUserStamp(user.id, &batch));
    entries.push_back(
        UserQueueEntry(&user, QueueAction::kBulkSyncUsers, stamp));
  }
  entries.push_back(UserQueueEntry(nullptr, QueueAction::kBulkSyncUsers, 0));
  internal::MutexLock lock(&mu_);
  if (!due()) return absl::OkStatus();
  proto::ConnectionState next = state_;
  next.set_users_bulk_queued(true);
  next.set_users_bulk_requested(false);
  ORGSYNC_ASSIGN_OR_RETURN(DurableRecordQueue::PendingEnqueue pending,
                           record_queue_->PrepareEnqueue(entries, &batch));
  // Not through Commit's `pending`: Commit takes the entries it finishes
  // for connection notices.
  const absl::Status written = Commit(std::move(next), std::move(batch));
  record_queue_->FinishEnqueue(std::move(pending), written);
  return written;
}

bool ConnectionImpl::UserCopyDueLocked() const {
  const ConnectionStatus status = StatusLocked();
  if (env_->user_directory == nullptr || role_ != ReplicationRole::kPrimary ||
      !state_.sync().sync_users() || !IsAcceptedStatus(status)) {
    return false;
  }
  return (status == ConnectionStatus::kUserSyncInProgress &&
          !state_.users_bulk_queued()) ||
         state_.users_bulk_requested();
}

void ConnectionImpl::FinishUserCopyLocked() {
  if (StatusLocked() == ConnectionStatus::kMetadataSyncInProgress &&
      !state_.users_copy_received()) {
    // The primary went ahead (its metadata phase ended first): the users
    // are here already, so this side's user phase is over before it began.
    proto::ConnectionState next = state_;
    next.set_users_copy_received(true);
    user_copy_end_unwritten_ = !Commit(std::move(next), WriteBatch()).ok();
    return;
  }
  if (StatusLocked() != ConnectionStatus::kUserSyncInProgress) return;
  proto::ConnectionState next = state_;
  next.set_status(ToStoredStatus(ConnectionStatus::kActive));
  WriteBatch batch;
  AddHistory(id_, StoredNow(*env_->clock), HistoryEvent::kUserSyncCompleted,
             kSystemActor, "all standard-licence users copied", &next, &batch);
  // A failed write leaves the phase open; the next Step tries again
  // (QueueUserCopyIfDue). After a restart in between, the host ends it
  // with CompleteUserSync.
  user_copy_end_unwritten_ = !Commit(std::move(next), std::move(batch)).ok();
}

proto::ItemResult ConnectionImpl::ApplyUserUpsert(
    const proto::UserUpsert& upsert, DeferredLogs* logs) {
  const uint64_t sequence = upsert.sequence();
  UserDirectory* directory = env_->user_directory;
  if (directory == nullptr) {
    return ItemResultOf(sequence, proto::PERMANENT_FAILURE,
                        proto::ERROR_UNKNOWN,
                        fmt::format("org {} has no user directory, so it syncs "
                                    "no users",
                                    env_->org_id));
  }
  absl::StatusOr<uint64_t> mark = AppliedMark(kUserOrderingKey);
  if (!mark.ok()) {
    return ItemResultOf(sequence, proto::RETRYABLE_FAILURE,
                        proto::ERROR_STORAGE,
                        std::string(mark.status().message()));
  }
  if (sequence <= *mark) return ItemResultOf(sequence, proto::DUPLICATE);
  std::vector<NewLogEntry> notes;
  // The users written, as (local id, partner id): linked in the write of
  // the applied mark.
  std::vector<std::pair<std::string, std::string>> links;
  // What was left out also travels in the answer, so that it is on record
  // even if the note cannot be logged here.
  std::vector<std::string> left_out;
  // Last writer wins: this org keeps its own change of a user when it is
  // later than the partner's (ties go to the primary).
  const int64_t stamp = upsert.stamp_micros();
  const bool primary = role_ == ReplicationRole::kPrimary;
  auto later_here = [&](const std::string& local_id) -> absl::StatusOr<bool> {
    internal::MutexLock stamps(&user_stamp_mu_);
    ORGSYNC_ASSIGN_OR_RETURN(const int64_t mine, StoredUserStamp(local_id));
    return mine > stamp || (mine == stamp && primary);
  };
  // The users written: their stamp is this org's last for them.
  std::vector<std::string> written_ids;
  for (const proto::User& incoming : upsert.users()) {
    UserOutcome outcome = WriteUserFromPartner(
        *directory, incoming, role_ == ReplicationRole::kSecondary, id_,
        env_->org_id, later_here);
    if (outcome.outcome != proto::APPLIED) {
      return ItemResultOf(sequence, outcome.outcome, outcome.error,
                          std::move(outcome.description));
    }
    if (!incoming.id().empty()) {
      links.emplace_back(outcome.local_id, ClipPeerText(incoming.id()));
    }
    if (outcome.kept_local) {
      NewLogEntry note;
      note.record =
          RecordRef{std::string(kUserObjectName), outcome.local_id};
      note.action = static_cast<QueueAction>(upsert.action());
      note.status = LogStatus::kInfo;
      note.error = SyncErrorCode::kConflict;
      user_conflicts_.fetch_add(1, std::memory_order_relaxed);
      note.description = fmt::format(
          "user {}: org {}'s own change is later than the partner's: kept "
          "(last writer wins)",
          ClipPeerText(incoming.username()), env_->org_id);
      note.queue_sequence = sequence;
      notes.push_back(std::move(note));
      continue;
    }
    written_ids.push_back(outcome.local_id);
    if (!outcome.left_out.empty()) {
      NewLogEntry note;
      note.record =
          RecordRef{std::string(kUserObjectName), ClipPeerText(incoming.id())};
      note.action = static_cast<QueueAction>(upsert.action());
      note.status = LogStatus::kInfo;
      note.description =
          fmt::format("user {} copied without what org {} does not define: {}",
                      ClipPeerText(incoming.username()), env_->org_id,
                      absl::StrJoin(outcome.left_out, ", "));
      note.queue_sequence = sequence;
      left_out.push_back(note.description);
      notes.push_back(std::move(note));
    }
  }
  WriteBatch batch;
  std::optional<DurableSyncLog::PendingAppend> pending;
  if (!notes.empty()) {
    absl::StatusOr<DurableSyncLog::PendingAppend> prepared =
        sync_log_->PrepareAppend(notes, &batch);
    if (prepared.ok()) {
      pending = *std::move(prepared);
    } else {
      left_out.push_back(fmt::format("(not logged in org {}: {})", env_->org_id,
                                     std::string(prepared.status().message())));
    }
  }
  for (const auto& [local_id, partner_id] : links) {
    StageUserLink(local_id, partner_id, &batch);
  }
  PutAppliedMark(kUserOrderingKey, sequence, &batch);
  // A capture of the same user meanwhile has a later stamp: keep it.
  internal::MutexLock stamps(&user_stamp_mu_);
  for (const std::string& local_id : written_ids) {
    absl::StatusOr<int64_t> mine = StoredUserStamp(local_id);
    if (!mine.ok()) {
      return ItemResultOf(sequence, proto::RETRYABLE_FAILURE,
                          proto::ERROR_STORAGE,
                          std::string(mine.status().message()));
    }
    StageUserStamp(local_id, std::max(*mine, stamp), &batch);
  }
  const absl::Status written =
      storage_->Write(batch, WriteOptions{.sync = true});
  if (pending.has_value()) logs->emplace_back(*std::move(pending), written);
  if (!written.ok()) {
    return ItemResultOf(sequence, proto::RETRYABLE_FAILURE,
                        proto::ERROR_STORAGE, std::string(written.message()));
  }
  if (upsert.action() == proto::BULK_SYNC_USERS && upsert.last_batch()) {
    internal::MutexLock lock(&mu_);
    FinishUserCopyLocked();
  }
  proto::ItemResult applied =
      ItemResultOf(sequence, proto::APPLIED, proto::ERROR_NONE,
                   absl::StrJoin(left_out, "; "));
  // The sender links its user to ours (one user per entry).
  if (links.size() == 1) applied.set_receiver_record_id(links.front().first);
  return applied;
}

absl::StatusOr<std::optional<std::string>> ConnectionImpl::LocalUserOf(
    std::string_view partner_user_id) const {
  return storage_->GetIfPresent(
      UserLinkKey(id_, /*by_partner_id=*/true, partner_user_id));
}

absl::StatusOr<int64_t> ConnectionImpl::StoredUserStamp(
    std::string_view local_id) const {
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                           storage_->GetIfPresent(UserStampKey(id_, local_id)));
  if (!stored.has_value()) return 0;
  std::string_view bytes = *stored;
  uint64_t stamp = 0;
  if (!ConsumeUint64(&bytes, &stamp) || !bytes.empty()) {
    return absl::DataLossError(fmt::format(
        "connection {}: the stamp of user {} is damaged", id_, local_id));
  }
  return static_cast<int64_t>(stamp);
}

absl::StatusOr<int64_t> ConnectionImpl::StageNextUserStamp(
    std::string_view local_id, WriteBatch* batch) const {
  ORGSYNC_ASSIGN_OR_RETURN(const int64_t last, StoredUserStamp(local_id));
  const int64_t stamp =
      std::max(absl::ToUnixMicros(env_->clock->Now()), last + 1);
  StageUserStamp(local_id, stamp, batch);
  return stamp;
}

void ConnectionImpl::StageUserStamp(std::string_view local_id, int64_t stamp,
                                    WriteBatch* batch) const {
  batch->Put(UserStampKey(id_, local_id),
             EncodeUint64(static_cast<uint64_t>(stamp)));
}

void ConnectionImpl::StageUserLink(std::string_view local_id,
                                   std::string_view partner_id,
                                   WriteBatch* batch) const {
  batch->Put(UserLinkKey(id_, /*by_partner_id=*/true, partner_id),
             std::string(local_id));
  batch->Put(UserLinkKey(id_, /*by_partner_id=*/false, local_id),
             std::string(partner_id));
}

}  // namespace orgsync::internal
