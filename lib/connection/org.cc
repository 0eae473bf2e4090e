// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "orgsync/org.h"

#include <fmt/format.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "connection/connection_impl.h"
#include "connection/connection_keys.h"
#include "connection/secret.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/status.h"
#include "proto/connection_state.pb.h"

namespace orgsync {
namespace internal {
namespace {

constexpr size_t kMaxTextBytes = 256;
// Bytes of a generated connection id (shown as twice as many hex digits).
constexpr size_t kGeneratedIdBytes = 16;

absl::Status CheckOrgText(std::string_view field, std::string_view value) {
  if (value.empty() || value.size() > kMaxTextBytes) {
    return absl::InvalidArgumentError(
        fmt::format("{} must be 1 to {} bytes, got {}", field, kMaxTextBytes,
                    value.size()));
  }
  return absl::OkStatus();
}

// A schedule's period: positive and finite.
absl::Status CheckInterval(std::string_view option, std::string_view rule,
                           absl::Duration interval) {
  if (interval > absl::ZeroDuration() && interval != absl::InfiniteDuration()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      fmt::format("OrgOptions.{} must be positive and finite ({}), got {}",
                  option, rule, absl::FormatDuration(interval)));
}

absl::Status CheckConnectionId(std::string_view id) {
  if (!IsValidConnectionId(id)) {
    return absl::InvalidArgumentError(
        fmt::format("connection id '{}' must match [A-Za-z0-9_-]{{1,64}}", id));
  }
  return absl::OkStatus();
}

class OrgImpl final : public Org {
 public:
  OrgImpl(const OrgOptions& options, Storage* storage, Clock* clock)
      : own_schema_(options.schema == nullptr ? std::make_unique<Schema>()
                                              : nullptr),
        env_{.storage = storage,
             .clock = clock,
             .org_id = options.org_id,
             .org_name = options.org_name,
             .schema = options.schema != nullptr ? options.schema
                                                 : own_schema_.get(),
             .queue = options.queue,
             .log = options.log,
             .delivery = options.delivery,
             .record_store = options.record_store,
             .conflict_resolver = options.conflict_resolver,
             .user_exists = options.user_exists,
             .user_directory = options.user_directory,
             .metadata_store = options.metadata_store,
             .metadata_sync_interval = options.metadata_sync_interval,
             .max_file_bytes = options.max_file_bytes,
             .queue_report_interval = options.queue_report_interval,
             .queue_report = options.queue_report,
             .connection_events = options.connection_events,
             .bulk_sync_progress = options.bulk_sync_progress} {}

  absl::Status Load() {
    ORGSYNC_RETURN_IF_ERROR(CheckOrgRecord());
    std::vector<std::string> ids;
    {
      ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                               env_.storage->NewIterator());
      for (it->Seek(kConnectionIndexPrefix); it->Valid(); it->Next()) {
        const std::string_view key = it->key();
        if (key.substr(0, kConnectionIndexPrefix.size()) !=
            kConnectionIndexPrefix) {
          break;
        }
        ids.emplace_back(key.substr(kConnectionIndexPrefix.size()));
      }
      ORGSYNC_RETURN_IF_ERROR(it->status());
    }
    internal::MutexLock lock(&mu_);
    for (const std::string& id : ids) {
      absl::StatusOr<std::string> bytes =
          env_.storage->Get(ConnectionStateKey(id));
      if (absl::IsNotFound(bytes.status())) {
        return absl::DataLossError(fmt::format(
            "connection {} is listed but its state is missing", id));
      }
      ORGSYNC_RETURN_IF_ERROR(bytes.status());
      proto::ConnectionState state;
      if (!state.ParseFromString(*bytes)) {
        return absl::DataLossError(
            fmt::format("connection {}: unreadable state", id));
      }
      ORGSYNC_RETURN_IF_ERROR(ValidateStoredState(id, state));
      ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<ConnectionImpl> connection,
                               ConnectionImpl::Open(&env_, std::move(state)));
      connections_.emplace(id, std::move(connection));
    }
    return absl::OkStatus();
  }

  const std::string& org_id() const override { return env_.org_id; }
  const std::string& org_name() const override { return env_.org_name; }

  absl::StatusOr<Invitation> CreateInvitation(const InvitationOptions& options,
                                              std::string_view actor) override {
    ORGSYNC_RETURN_IF_ERROR(CheckOrgText("actor", actor));
    ORGSYNC_RETURN_IF_ERROR(
        CheckOrgText("InvitationOptions.owner", options.owner));
    ORGSYNC_RETURN_IF_ERROR(
        CheckOrgText("InvitationOptions.contact", options.contact));
    if (options.type != ConnectionType::kReplication) {
      return absl::InvalidArgumentError(
          fmt::format("InvitationOptions.type must be Replication, got {}",
                      ConnectionTypeName(options.type)));
    }
    std::string id = options.connection_id;
    if (id.empty()) {
      ORGSYNC_ASSIGN_OR_RETURN(std::string random,
                               CsprngBytes(kGeneratedIdBytes));
      id = HexEncode(random);
    }
    ORGSYNC_RETURN_IF_ERROR(CheckConnectionId(id));
    ORGSYNC_ASSIGN_OR_RETURN(std::string secret, CsprngBytes(kSecretBytes));

    internal::MutexLock lock(&mu_);
    if (connections_.contains(id)) {
      return absl::AlreadyExistsError(
          fmt::format("org {} already has a connection '{}'", env_.org_id, id));
    }
    const absl::Time now = StoredNow(*env_.clock);
    proto::ConnectionState state;
    state.set_connection_id(id);
    state.set_type(static_cast<int32_t>(ConnectionType::kReplication));
    state.set_role(static_cast<int32_t>(ReplicationRole::kPrimary));
    state.set_status(proto::STORED_INVITED);
    state.mutable_sync()->set_sync_feeds_and_audit_fields(
        options.sync.sync_feeds_and_audit_fields);
    state.mutable_sync()->set_sync_metadata(options.sync.sync_metadata);
    state.mutable_sync()->set_sync_users(options.sync.sync_users);
    state.set_owner(options.owner);
    state.set_contact(options.contact);
    state.set_secret(secret);
    state.set_created_micros(absl::ToUnixMicros(now));
    WriteBatch batch;
    batch.Put(ConnectionIndexKey(id), "");
    AddHistory(id, now, HistoryEvent::kInvitationCreated, actor,
               fmt::format("owner {}, contact {}; {}", options.owner,
                           options.contact, DescribeSync(options.sync)),
               &state, &batch);
    // The components are opened (reading any leftovers under the id)
    // before anything is written, so a failure leaves no trace.
    ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<ConnectionImpl> connection,
                             ConnectionImpl::Open(&env_, state));
    ORGSYNC_RETURN_IF_ERROR(Put(state, &batch));
    connections_.emplace(id, std::move(connection));
    return Invitation{.connection_id = id, .secret_hex = HexEncode(secret)};
  }

  absl::StatusOr<Connection*> AcceptInvitation(
      std::string_view connection_id, std::string_view secret_hex,
      Transport* transport, std::string_view actor) override {
    ORGSYNC_RETURN_IF_ERROR(CheckConnectionId(connection_id));
    if (secret_hex.size() != 2 * kSecretBytes) {
      return absl::InvalidArgumentError(fmt::format(
          "the invitation secret must be {} hex digits, got {} characters",
          2 * kSecretBytes, secret_hex.size()));
    }
    absl::StatusOr<std::string> secret = HexDecode(secret_hex);
    if (!secret.ok()) {
      return Annotate(secret.status(), "the invitation secret");
    }
    if (transport == nullptr) {
      return absl::InvalidArgumentError(
          "accepting an invitation needs a transport to the primary");
    }
    ORGSYNC_RETURN_IF_ERROR(CheckOrgText("actor", actor));

    ConnectionImpl* connection;
    {
      internal::MutexLock lock(&mu_);
      auto it = connections_.find(connection_id);
      if (it != connections_.end()) {
        connection = it->second.get();
        if (connection->role() == ReplicationRole::kPrimary) {
          return absl::AlreadyExistsError(
              fmt::format("connection {} is org {}'s own invitation",
                          connection_id, env_.org_id));
        }
        const ConnectionStatus status = connection->status();
        if (status == ConnectionStatus::kDeactivated) {
          return absl::FailedPreconditionError(
              fmt::format("connection {} was deactivated", connection_id));
        }
        if (status != ConnectionStatus::kInvited) {
          return absl::AlreadyExistsError(
              fmt::format("connection {} is already accepted", connection_id));
        }
        ORGSYNC_RETURN_IF_ERROR(
            connection->RestartAcceptance(std::move(*secret), actor));
      } else {
        const absl::Time now = StoredNow(*env_.clock);
        proto::ConnectionState state;
        state.set_connection_id(std::string(connection_id));
        state.set_type(static_cast<int32_t>(ConnectionType::kReplication));
        state.set_role(static_cast<int32_t>(ReplicationRole::kSecondary));
        state.set_status(proto::STORED_INVITED);
        state.set_secret(std::move(*secret));
        state.set_created_micros(absl::ToUnixMicros(now));
        WriteBatch batch;
        batch.Put(ConnectionIndexKey(connection_id), "");
        AddHistory(connection_id, now, HistoryEvent::kAcceptanceRequested,
                   actor, fmt::format("accepting as org {}", env_.org_id),
                   &state, &batch);
        ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<ConnectionImpl> owned,
                                 ConnectionImpl::Open(&env_, state));
        ORGSYNC_RETURN_IF_ERROR(Put(state, &batch));
        connection = owned.get();
        connections_.emplace(std::string(connection_id), std::move(owned));
      }
    }
    // Attaching cannot change an Invited connection's state (R6 applies
    // only once accepted), so it cannot fail half-way here.
    ORGSYNC_RETURN_IF_ERROR(connection->AttachTransport(transport));
    // The outcome is kept for acceptance_status(); the acceptance itself is
    // already durable and may be resent.
    connection->SendAcceptance().IgnoreError();
    return connection;
  }

  absl::StatusOr<Invitation> PendingInvitation(
      std::string_view connection_id) const override {
    ConnectionImpl* connection = nullptr;
    {
      internal::MutexLock lock(&mu_);
      auto it = connections_.find(connection_id);
      if (it == connections_.end()) {
        return absl::NotFoundError(fmt::format(
            "org {} has no connection '{}'", env_.org_id, connection_id));
      }
      connection = it->second.get();
    }
    ORGSYNC_ASSIGN_OR_RETURN(std::string secret,
                             connection->PendingInvitationSecret());
    return Invitation{.connection_id = std::string(connection_id),
                      .secret_hex = HexEncode(secret)};
  }

  absl::StatusOr<Connection*> GetConnection(
      std::string_view connection_id) const override {
    internal::MutexLock lock(&mu_);
    auto it = connections_.find(connection_id);
    if (it == connections_.end()) {
      return absl::NotFoundError(fmt::format("org {} has no connection '{}'",
                                             env_.org_id, connection_id));
    }
    return it->second.get();
  }

  std::vector<Connection*> Connections() const override {
    internal::MutexLock lock(&mu_);
    std::vector<Connection*> out;
    out.reserve(connections_.size());
    for (const auto& [id, connection] : connections_) {
      out.push_back(connection.get());
    }
    return out;
  }

  absl::StatusOr<size_t> Step() override {
    size_t sent = 0;
    absl::Status first_error;
    // Connections are never removed, so the pointers stay valid unlocked
    // (stepping a connection must not hold the org's lock).
    for (Connection* connection : Connections()) {
      absl::StatusOr<size_t> stepped = connection->Step();
      if (stepped.ok()) {
        sent += *stepped;
      } else if (first_error.ok()) {
        first_error = Annotate(
            stepped.status(),
            fmt::format("stepping connection {}", connection->id()));
      }
    }
    if (!first_error.ok()) return first_error;
    return sent;
  }

 private:
  absl::Status CheckOrgRecord() {
    absl::StatusOr<std::string> bytes = env_.storage->Get(kOrgRecordKey);
    if (absl::IsNotFound(bytes.status())) {
      proto::OrgRecord record;
      record.set_org_id(env_.org_id);
      record.set_org_name(env_.org_name);
      return env_.storage->Put(kOrgRecordKey, record.SerializeAsString(),
                               WriteOptions{.sync = true});
    }
    ORGSYNC_RETURN_IF_ERROR(bytes.status());
    proto::OrgRecord record;
    if (!record.ParseFromString(*bytes)) {
      return absl::DataLossError("unreadable org record (c/.org)");
    }
    if (record.org_id() != env_.org_id) {
      return absl::FailedPreconditionError(
          fmt::format("the storage belongs to org {}, not {}", record.org_id(),
                      env_.org_id));
    }
    return absl::OkStatus();
  }

  absl::Status Put(const proto::ConnectionState& state, WriteBatch* batch) {
    batch->Put(ConnectionStateKey(state.connection_id()),
               state.SerializeAsString());
    return Annotate(
        env_.storage->Write(*batch, WriteOptions{.sync = true}),
        fmt::format("writing connection {}", state.connection_id()));
  }

  // Declared before connections_, which point at them, so they outlive them.
  const std::unique_ptr<Schema> own_schema_;
  const OrgEnv env_;
  mutable internal::Mutex mu_;
  std::map<std::string, std::unique_ptr<ConnectionImpl>, std::less<>>
      connections_ ABSL_GUARDED_BY(mu_);
};

}  // namespace
}  // namespace internal

absl::StatusOr<std::unique_ptr<Org>> Org::Open(const OrgOptions& options,
                                               Storage* storage, Clock* clock) {
  if (storage == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("Org::Open needs a storage and a clock");
  }
  if (!internal::IsValidOrgId(options.org_id)) {
    return absl::InvalidArgumentError(
        fmt::format("OrgOptions.org_id '{}' must match [A-Za-z0-9_.-]{{1,64}}",
                    options.org_id));
  }
  if (options.org_name.size() > internal::kMaxTextBytes) {
    return absl::InvalidArgumentError(
        fmt::format("OrgOptions.org_name must be at most {} bytes",
                    internal::kMaxTextBytes));
  }
  ORGSYNC_RETURN_IF_ERROR(Annotate(options.queue.retry.Validate(),
                                   "OrgOptions.queue.retry"));
  ORGSYNC_RETURN_IF_ERROR(options.delivery.Validate());
  ORGSYNC_RETURN_IF_ERROR(internal::CheckInterval(
      "queue_report_interval", "R7", options.queue_report_interval));
  ORGSYNC_RETURN_IF_ERROR(internal::CheckInterval(
      "metadata_sync_interval", "R74", options.metadata_sync_interval));
  auto org = std::make_unique<internal::OrgImpl>(options, storage, clock);
  ORGSYNC_RETURN_IF_ERROR(org->Load());
  return std::unique_ptr<Org>(std::move(org));
}

}  // namespace orgsync
