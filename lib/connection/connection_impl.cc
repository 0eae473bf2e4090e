// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "connection/connection_impl.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "connection/connection_keys.h"
#include "connection/secret.h"
#include "internal/strings.h"
#include "orgsync/status.h"
#include "wire/envelope_codec.h"

namespace orgsync::internal {
namespace {

// Message ids are reserved on disk this many at a time (see
// ConnectionState.message_id_limit).
constexpr uint64_t kMessageIdBlock = 1024;

absl::Time FromMicros(int64_t micros) { return absl::FromUnixMicros(micros); }

}  // namespace

proto::StoredConnectionStatus ToStoredStatus(ConnectionStatus status) {
  return static_cast<proto::StoredConnectionStatus>(static_cast<int>(status));
}

ConnectionStatus FromStoredStatus(proto::StoredConnectionStatus status) {
  return static_cast<ConnectionStatus>(static_cast<int>(status));
}

static_assert(static_cast<int>(ConnectionStatus::kInvited) ==
              proto::STORED_INVITED);
static_assert(static_cast<int>(ConnectionStatus::kDeactivated) ==
              proto::STORED_DEACTIVATED);

SyncOptions FromStoredSync(const proto::StoredSyncOptions& sync) {
  return SyncOptions{
      .sync_feeds_and_audit_fields = sync.sync_feeds_and_audit_fields(),
      .sync_metadata = sync.sync_metadata(),
      .sync_users = sync.sync_users()};
}

proto::StoredSyncOptions ToStoredSync(const SyncOptions& sync) {
  proto::StoredSyncOptions out;
  out.set_sync_feeds_and_audit_fields(sync.sync_feeds_and_audit_fields);
  out.set_sync_metadata(sync.sync_metadata);
  out.set_sync_users(sync.sync_users);
  return out;
}

std::string ClipPeerText(std::string_view text) {
  return std::string(text.substr(0, kMaxHistoryTextBytes));
}

std::string PartnerActorName(std::string_view org_id) {
  return absl::StrCat("partner:", ToAbsl(ClipPeerText(org_id)));
}

ConnectionStatus FirstPhaseAfterAcceptance(const SyncOptions& sync) {
  if (sync.sync_metadata) return ConnectionStatus::kMetadataSyncInProgress;
  if (sync.sync_users) return ConnectionStatus::kUserSyncInProgress;
  return ConnectionStatus::kActive;
}

bool IsAcceptedStatus(ConnectionStatus status) {
  return status != ConnectionStatus::kInvited &&
         status != ConnectionStatus::kDeactivated;
}

std::string DescribeSync(const SyncOptions& sync) {
  auto on = [](bool b) { return b ? "on" : "off"; };
  return fmt::format(
      "sync feeds and audit fields {}, sync metadata {}, "
      "sync users {}",
      on(sync.sync_feeds_and_audit_fields), on(sync.sync_metadata),
      on(sync.sync_users));
}

absl::Time StoredNow(const Clock& clock) {
  return FromMicros(absl::ToUnixMicros(clock.Now()));
}

proto::StoredHistoryEntry AddHistory(std::string_view connection_id,
                                     absl::Time time, HistoryEvent event,
                                     std::string_view actor,
                                     std::string_view detail,
                                     proto::ConnectionState* state,
                                     WriteBatch* batch) {
  const uint64_t sequence = state->next_history_sequence() + 1;
  state->set_next_history_sequence(sequence);
  proto::StoredHistoryEntry entry;
  entry.set_sequence(sequence);
  entry.set_time_micros(absl::ToUnixMicros(time));
  entry.set_actor(std::string(actor));
  entry.set_event(static_cast<int32_t>(event));
  entry.set_status_after(state->status());
  entry.set_detail(std::string(detail));
  batch->Put(HistoryKey(connection_id, sequence), entry.SerializeAsString());
  return entry;
}

absl::Status ValidateStoredState(std::string_view connection_id,
                                 const proto::ConnectionState& state) {
  auto bad = [&](std::string_view what) {
    return absl::DataLossError(
        fmt::format("connection {}: stored state has {}", connection_id, what));
  };
  if (state.connection_id() != connection_id) return bad("another id");
  if (state.type() != static_cast<int>(ConnectionType::kReplication)) {
    return bad("an unknown type");
  }
  if (state.role() != static_cast<int>(ReplicationRole::kPrimary) &&
      state.role() != static_cast<int>(ReplicationRole::kSecondary)) {
    return bad("an unknown role");
  }
  if (state.status() < proto::STORED_INVITED ||
      state.status() > proto::STORED_DEACTIVATED) {
    return bad("an unknown status");
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------

ConnectionImpl::ConnectionImpl(const OrgEnv* env, proto::ConnectionState state)
    : env_(env),
      id_(state.connection_id()),
      type_(static_cast<ConnectionType>(state.type())),
      role_(static_cast<ReplicationRole>(state.role())),
      handler_(this),
      state_(std::move(state)) {
  // Ids below the stored limit may have been used before a restart.
  next_message_id_ = std::max<uint64_t>(state_.message_id_limit(), 1);
  deactivated_ = state_.status() == proto::STORED_DEACTIVATED;
  status_for_capture_ = StatusLocked();
  NoteUserCaptureLocked();
}

absl::StatusOr<std::unique_ptr<ConnectionImpl>> ConnectionImpl::Open(
    const OrgEnv* env, proto::ConnectionState state) {
  std::unique_ptr<ConnectionImpl> connection(
      new ConnectionImpl(env, std::move(state)));
  ORGSYNC_RETURN_IF_ERROR(connection->OpenComponents());
  return connection;
}

absl::Status ConnectionImpl::OpenComponents() {
  const std::string where = fmt::format("opening connection {}", id_);
  // The record links are read when a change is sent and again when its
  // acknowledgement comes; RecordLinks writes them through storage_ only.
  storage_ = std::make_unique<DeferredSyncStorage>(
      env_->storage,
      ReadCacheOptions{.key_prefix = LocalLinkKeyPrefix(id_),
                       .max_entries = kLinkReadCacheEntries});
  auto queue = DurableRecordQueue::Open(storage_.get(), env_->clock, id_, env_->queue);
  if (!queue.ok()) return Annotate(queue.status(), where);
  record_queue_ = std::move(*queue);
  auto log = DurableSyncLog::Open(storage_.get(), env_->clock, id_, env_->log);
  if (!log.ok()) return Annotate(log.status(), where);
  sync_log_ = std::move(*log);
  auto publish =
      DurablePublishSet::Open(storage_.get(), id_, env_->schema, &publish_sink_);
  if (!publish.ok()) return Annotate(publish.status(), where);
  publish_set_ = std::move(*publish);
  auto subscriptions = DurableSubscriptionMap::Open(storage_.get(), id_, env_->schema,
                                             &subscription_sink_);
  if (!subscriptions.ok()) return Annotate(subscriptions.status(), where);
  subscription_map_ = std::move(*subscriptions);
  if (env_->record_store != nullptr) {
    RecordSyncDeps deps;
    deps.storage = storage_.get();
    deps.direct_storage = storage_->direct();
    deps.clock = env_->clock;
    deps.connection_id = id_;
    deps.role = role_;
    deps.publish_set = publish_set_.get();
    deps.subscription_map = subscription_map_.get();
    deps.queue = record_queue_.get();
    deps.log = sync_log_.get();
    deps.store = env_->record_store;
    deps.schema = env_->schema;
    deps.resolver = env_->conflict_resolver;
    deps.user_exists = env_->user_exists;
    if (UserDirectory* directory = env_->user_directory; directory != nullptr) {
      // With user sync, records name users through its links (R37, R35),
      // and a user missing here is one the directory does not hold.
      deps.local_user = [this](std::string_view partner_user_id) {
        return LocalUserOf(partner_user_id);
      };
      if (!deps.user_exists) {
        deps.user_exists = [directory](std::string_view user_id) {
          return directory->Get(user_id).ok();
        };
      }
    }
    deps.max_file_bytes = env_->max_file_bytes;
    {
      internal::MutexLock lock(&mu_);
      deps.sync_audit_fields = state_.sync().sync_feeds_and_audit_fields();
      deps.owner_user_id = state_.owner();
    }
    auto record_sync = RecordSync::Create(std::move(deps));
    if (!record_sync.ok()) return Annotate(record_sync.status(), where);
    record_sync_ = std::move(*record_sync);
  }
  ORGSYNC_RETURN_IF_ERROR(Annotate(LoadBulkSync(), where));
  // Connection notices are few; find the queued ones once.
  internal::MutexLock lock(&mu_);
  ORGSYNC_RETURN_IF_ERROR(Annotate(LoadUnknownMapObjects(), where));
  uint64_t after = 0;
  while (true) {
    ORGSYNC_ASSIGN_OR_RETURN(
        QueuePage page,
        record_queue_->ListAfter(after, RecordQueue::kMaxPageSize));
    for (const QueueEntry& entry : page.entries) {
      if (IsConnectionAction(entry.action)) {
        queued_notices_.insert(entry.sequence);
      }
      after = entry.sequence;
    }
    if (page.next_page_token.empty()) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<CaptureResult> ConnectionImpl::Capture(
    const LocalChange& change) {
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<CaptureResult> results,
                           CaptureBatch(absl::MakeConstSpan(&change, 1)));
  return std::move(results.front());
}

absl::StatusOr<std::vector<CaptureResult>> ConnectionImpl::CaptureBatch(
    absl::Span<const LocalChange> changes) {
  return CaptureRecords(changes, /*forwarded=*/false);
}

absl::StatusOr<std::vector<CaptureResult>> ConnectionImpl::CaptureRecords(
    absl::Span<const LocalChange> changes, bool forwarded) {
  if (record_sync_ == nullptr) {
    return absl::FailedPreconditionError(fmt::format(
        "Capture on connection {}: the org has no RecordStore "
        "(OrgOptions.record_store), so it syncs no records",
        id_));
  }
  // Never mu_: message handling holds it while it writes the host's store,
  // and a host that captures inside its own store lock would deadlock
  // against it (DESIGN.md rule 9). The status is read from its copy, and
  // RecordSync::CaptureBatch is safe concurrently with delivery.
  const ConnectionStatus status = status_for_capture_.load();
  if (status == ConnectionStatus::kDeactivated || !IsAcceptedStatus(status)) {
    return absl::FailedPreconditionError(fmt::format(
        "Capture on connection {}: the connection is {}; changes are "
        "captured only once it is accepted and until it is deactivated",
        id_, ConnectionStatusName(status)));
  }
  return record_sync_->CaptureBatch(changes, forwarded);
}

absl::StatusOr<std::optional<std::string>> ConnectionImpl::PartnerRecordId(
    std::string_view object, std::string_view local_id) const {
  if (record_sync_ == nullptr) {
    return absl::FailedPreconditionError(fmt::format(
        "PartnerRecordId on connection {}: the org has no RecordStore", id_));
  }
  if (object.empty() || local_id.empty()) {
    return absl::InvalidArgumentError(
        "PartnerRecordId: the object and the record id must not be empty");
  }
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> link,
                           record_sync_->links().FindByLocal(object, local_id));
  // A reserved link is an insert being applied: not linked yet.
  if (!link.has_value() || link->reserved()) return std::nullopt;
  return link->partner_id();
}

ConnectionImpl::~ConnectionImpl() {
  Transport* transport;
  {
    internal::MutexLock lock(&mu_);
    transport = transport_;
    transport_ = nullptr;
  }
  if (transport != nullptr) transport->SetHandler(nullptr);
}

ConnectionStatus ConnectionImpl::StatusLocked() const {
  return FromStoredStatus(state_.status());
}

bool ConnectionImpl::AcceptedLocked() const {
  return IsAcceptedStatus(StatusLocked());
}

ConnectionStatus ConnectionImpl::status() const {
  internal::MutexLock lock(&mu_);
  return StatusLocked();
}

bool ConnectionImpl::accepted() const {
  internal::MutexLock lock(&mu_);
  return AcceptedLocked();
}

ConnectionInfo ConnectionImpl::Info() const {
  internal::MutexLock lock(&mu_);
  ConnectionInfo info;
  info.connection_id = id_;
  info.type = type_;
  info.role = role_;
  info.status = StatusLocked();
  info.sync = FromStoredSync(state_.sync());
  info.owner = state_.owner();
  info.contact = state_.contact();
  info.partner_org_id = state_.partner_org_id();
  info.partner_org_name = state_.partner_org_name();
  info.created = FromMicros(state_.created_micros());
  if (state_.accepted_micros() != 0) {
    info.accepted = FromMicros(state_.accepted_micros());
  }
  info.admin_suspended = state_.admin_suspended();
  info.partner_unavailable = state_.partner_unavailable();
  info.user_sync_to_partner = !state_.users_to_partner_off();
  if (state_.status() == proto::STORED_SUSPENDED) {
    info.suspended_by = state_.suspended_by();
    // A state written before R7 has no schedule until its next write.
    if (state_.suspended_micros() != 0) {
      info.suspended_since = FromMicros(state_.suspended_micros());
      info.next_queue_report = FromMicros(state_.queue_report_due_micros());
    }
  }
  return info;
}

absl::Status ConnectionImpl::acceptance_status() const {
  internal::MutexLock lock(&mu_);
  const ConnectionStatus status = StatusLocked();
  if (IsAcceptedStatus(status)) return absl::OkStatus();
  if (status == ConnectionStatus::kDeactivated) {
    return absl::FailedPreconditionError(
        fmt::format("connection {} is deactivated", id_));
  }
  if (role_ == ReplicationRole::kPrimary) {
    return absl::FailedPreconditionError(
        fmt::format("connection {}: waiting for the secondary to accept", id_));
  }
  if (!last_send_status_.ok()) return last_send_status_;
  if (!state_.refusal_reason().empty()) {
    return absl::PermissionDeniedError(
        fmt::format("connection {}: the primary refused the acceptance: {}",
                    id_, state_.refusal_reason()));
  }
  return absl::FailedPreconditionError(
      fmt::format("connection {}: waiting for the primary's answer", id_));
}

// --- Transport ---------------------------------------------------------------

void ConnectionImpl::Handler::OnMessage(std::string bytes) {
  connection_->HandleMessage(std::move(bytes));
}

void ConnectionImpl::Handler::OnAvailabilityChanged(bool available) {
  connection_->HandleAvailability(available);
}

absl::Status ConnectionImpl::AttachTransport(Transport* transport) {
  const EventTeller tell(this);
  internal::MutexLock attaching(&attach_mu_);
  Transport* old;
  {
    internal::MutexLock lock(&mu_);
    old = transport_;
    if (old == transport) return absl::OkStatus();
    transport_ = transport;
    partner_available_ = false;
  }
  if (old != nullptr) old->SetHandler(nullptr);
  if (transport == nullptr) return absl::OkStatus();
  transport->SetHandler(&handler_);
  internal::MutexLock lock(&mu_);
  partner_available_ = transport->PartnerAvailable();
  return ApplyAvailabilityLocked();
}

void ConnectionImpl::HandleAvailability(bool available) {
  const EventTeller tell(this);
  internal::MutexLock lock(&mu_);
  if (partner_available_ != available) {
    // What was in flight may be lost with the link: send it again as soon
    // as the partner is back rather than after the ack timeout. It stays in
    // flight meanwhile, so that a late answer to it still retires it.
    for (auto& [key, flying] : in_flight_) flying.sent = absl::InfinitePast();
    if (!in_flight_.empty()) in_flight_sent_floor_ = absl::InfinitePast();
  }
  partner_available_ = available;
  // A failed write leaves the status as it was; the next availability
  // change or AttachTransport applies the then-current availability.
  ApplyAvailabilityLocked().IgnoreError();
}

absl::Status ConnectionImpl::ApplyAvailabilityLocked() {
  const ConnectionStatus status = StatusLocked();
  // R6 concerns a flowing connection: before acceptance nothing flows, and
  // during the initial metadata/user sync the engine owns the retries.
  if (status != ConnectionStatus::kActive &&
      status != ConnectionStatus::kSuspended) {
    return absl::OkStatus();
  }
  const bool unavailable = !partner_available_;
  if (unavailable == state_.partner_unavailable()) return absl::OkStatus();
  proto::ConnectionState next = state_;
  WriteBatch batch;
  std::optional<DurableRecordQueue::PendingEnqueue> pending;
  const absl::Time now = StoredNow(*env_->clock);
  next.set_partner_unavailable(unavailable);
  if (unavailable) {
    next.set_status(ToStoredStatus(ConnectionStatus::kSuspended));
    AddHistory(id_, now, HistoryEvent::kSuspended, kSystemActor,
               "the partner org is unavailable", &next, &batch);
    ORGSYNC_RETURN_IF_ERROR(StageNotice(QueueAction::kConnectionSuspended,
                                        kSystemActor, next, &batch, &pending));
  } else {
    if (!next.admin_suspended()) {
      next.set_status(ToStoredStatus(ConnectionStatus::kActive));
    }
    AddHistory(id_, now, HistoryEvent::kResumed, kSystemActor,
               next.admin_suspended()
                   ? "the partner org is available again; still suspended "
                     "by an administrator"
                   : "the partner org is available again",
               &next, &batch);
    ORGSYNC_RETURN_IF_ERROR(StageNotice(QueueAction::kConnectionResumed,
                                        kSystemActor, next, &batch, &pending));
  }
  return Commit(std::move(next), std::move(batch), std::move(pending));
}

absl::StatusOr<std::string> ConnectionImpl::PendingInvitationSecret() const {
  internal::MutexLock lock(&mu_);
  if (role_ != ReplicationRole::kPrimary) {
    return absl::FailedPreconditionError(fmt::format(
        "connection {}: this org accepted the invitation; it is the "
        "primary's to give",
        id_));
  }
  if (StatusLocked() != ConnectionStatus::kInvited) {
    return absl::FailedPreconditionError(fmt::format(
        "connection {} is {}, no longer Invited: its secret is not kept", id_,
        ConnectionStatusName(StatusLocked())));
  }
  return state_.secret();
}

bool ConnectionImpl::idle() const {
  internal::MutexLock lock(&mu_);
  // A metadata run under way or due, and a user copy not queued yet, are
  // work left too (metadata_sync.cc, user_sync.cc).
  if (!deactivated_) {
    // A bulk sync still reading or answering (bulk_sync.cc).
    internal::MutexLock bulk_lock(&bulk_mu_);
    if (bulk_.has_value() && bulk_->running()) return false;
  }
  if (VerifyRunning()) return false;
  // Links a host's undelete or an unpublish asked to drop (R34, R20).
  if (record_sync_ != nullptr && record_sync_->sever_requested()) return false;
  return in_flight_.empty() && record_queue_->Count() == 0 &&
         !metadata_in_flight_.has_value() &&
         !MetadataRunDueLocked(env_->clock->Now()) && !UserCopyDueLocked();
}

bool ConnectionImpl::partner_available() const {
  internal::MutexLock lock(&mu_);
  return partner_available_;
}

absl::StatusOr<uint64_t> ConnectionImpl::TakeMessageId() {
  if (transport_ == nullptr) {
    return absl::FailedPreconditionError(
        fmt::format("connection {} has no transport attached", id_));
  }
  if (next_message_id_ >= state_.message_id_limit()) {
    proto::ConnectionState next = state_;
    next.set_message_id_limit(next_message_id_ + kMessageIdBlock);
    ORGSYNC_RETURN_IF_ERROR(Commit(std::move(next), WriteBatch()));
  }
  return next_message_id_++;
}

absl::Status ConnectionImpl::SendEnvelope(proto::Envelope envelope,
                                          uint64_t* message_id) {
  ORGSYNC_ASSIGN_OR_RETURN(const uint64_t id, TakeMessageId());
  if (message_id != nullptr) *message_id = id;
  // Refusals of unknown invitations are addressed to the asker's id.
  if (envelope.connection_id().empty()) envelope.set_connection_id(id_);
  envelope.set_sender_org_id(env_->org_id);
  envelope.set_message_id(id);
  return transport_->Send(wire::EncodeEnvelope(std::move(envelope)));
}

absl::Status ConnectionImpl::SendChangeBatch(wire::ChangeBatchEncoder* batch,
                                             uint64_t* message_id) {
  absl::StatusOr<uint64_t> id = TakeMessageId();
  if (!id.ok()) {
    batch->Clear();  // its entries stay queued and are packed again
    return id.status();
  }
  *message_id = *id;
  return transport_->Send(batch->Finish(*id));
}

// --- Queries
// -------------------------------------------------------------------

absl::StatusOr<std::vector<HistoryEntry>> ConnectionImpl::History(
    const HistoryQuery& query) const {
  // History keys are written once and only ever rewritten in place (a
  // coalesced entry's count), so reading them needs no lock; the iterator
  // sees one consistent view.
  if (query.limit == 0 || query.limit > kMaxHistoryPageSize) {
    return absl::InvalidArgumentError(fmt::format(
        "History: limit {} is outside 1..{}", query.limit,
        kMaxHistoryPageSize));
  }
  if (query.after_sequence == std::numeric_limits<uint64_t>::max()) {
    return std::vector<HistoryEntry>{};
  }
  const std::string prefix = HistoryPrefix(id_);
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator());
  std::vector<HistoryEntry> out;
  for (it->Seek(HistoryKey(id_, query.after_sequence + 1)); it->Valid();
       it->Next()) {
    const std::string_view key = it->key();
    if (key.substr(0, prefix.size()) != prefix) break;
    proto::StoredHistoryEntry stored;
    const std::string_view value = it->value();
    if (!stored.ParseFromArray(value.data(), static_cast<int>(value.size())) ||
        stored.event() < static_cast<int>(HistoryEvent::kInvitationCreated) ||
        stored.event() > static_cast<int>(HistoryEvent::kBulkSyncCompleted)) {
      return absl::DataLossError(
          fmt::format("connection {}: unreadable history entry", id_));
    }
    HistoryEntry entry;
    entry.sequence = stored.sequence();
    entry.time = FromMicros(stored.time_micros());
    entry.actor = stored.actor();
    entry.event = static_cast<HistoryEvent>(stored.event());
    entry.status_after = FromStoredStatus(stored.status_after());
    entry.detail = stored.detail();
    entry.occurrences = std::max<uint64_t>(stored.occurrences(), 1);
    if (entry.time < query.since || entry.time >= query.until) continue;
    if (query.event.has_value() && entry.event != *query.event) continue;
    out.push_back(std::move(entry));
    if (out.size() == query.limit) break;
  }
  ORGSYNC_RETURN_IF_ERROR(it->status());
  return out;
}

ConnectionCounters ConnectionImpl::counters() const {
  ConnectionCounters counters;
  {
    internal::MutexLock lock(&mu_);
    counters = counters_;
  }
  counters.conflicts = user_conflicts_.load(std::memory_order_relaxed);
  if (record_sync_ != nullptr) counters.conflicts += record_sync_->conflicts();
  return counters;
}

}  // namespace orgsync::internal
