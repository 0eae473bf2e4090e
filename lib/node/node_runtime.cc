// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "node/node_runtime.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fmt/core.h"
#include "node/link_store.h"
#include "node/record_text.h"
#include "orgsync/capture.h"
#include "orgsync/record_queue.h"
#include "orgsync/status.h"
#include "orgsync/sync_log.h"

namespace orgsync::node {
namespace {

constexpr char kDefaultActor[] = "orgsync-node";

std::string ActorOr(const std::string& actor) {
  return actor.empty() ? kDefaultActor : actor;
}

std::string Rfc3339(absl::Time time) {
  return absl::FormatTime(absl::RFC3339_full, time, absl::UTCTimeZone());
}

// Entries that failed an attempt but whose record has no SyncLog entry: a
// change stuck without a word to the host (design rule 5).
absl::StatusOr<uint64_t> QueuedWithoutLog(Connection& connection) {
  uint64_t count = 0;
  uint64_t after = 0;
  for (;;) {
    ORGSYNC_ASSIGN_OR_RETURN(QueuePage page,
                             connection.record_queue()->ListAfter(after, 1000));
    for (const QueueEntry& entry : page.entries) {
      after = entry.sequence;
      if (entry.attempts == 0 || entry.record.empty()) continue;
      LogQuery query;
      query.object = entry.record.object;
      query.record_id = entry.record.id;
      ORGSYNC_ASSIGN_OR_RETURN(uint64_t logged,
                               connection.sync_log()->Count(query));
      if (logged == 0) ++count;
    }
    if (page.entries.size() < 1000) return count;
  }
}

}  // namespace

NodeRuntime::NodeRuntime(std::unique_ptr<NodeState> state,
                         NodeRunOptions options)
    : state_(std::move(state)), options_(std::move(options)) {}

NodeRuntime::~NodeRuntime() { Stop(); }

absl::StatusOr<std::unique_ptr<NodeRuntime>> NodeRuntime::Start(
    std::unique_ptr<NodeState> state, NodeRunOptions options) {
  std::unique_ptr<NodeRuntime> runtime(
      new NodeRuntime(std::move(state), std::move(options)));
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<NodeLink> links,
                           LoadLinks(runtime->state_->storage.get()));
  {
    internal::MutexLock lock(&runtime->mu_);
    for (NodeLink& link : links) {
      if (link.dial() && !runtime->options_.dial_address.empty()) {
        link.set_address(runtime->options_.dial_address);
      }
      ORGSYNC_RETURN_IF_ERROR(runtime->StartTransport(link));
    }
  }
  NodeRuntime* self = runtime.get();
  ORGSYNC_ASSIGN_OR_RETURN(
      runtime->runner_,
      Runner::Start(runtime->state_->org.get(),
                    {.idle_interval = absl::Milliseconds(20),
                     .extra_step = [self] { return self->ResendAcceptances(); }}));
  return runtime;
}

void NodeRuntime::Stop() {
  if (runner_ != nullptr) runner_->Stop();
  std::map<std::string, std::unique_ptr<GrpcTransport>> transports;
  {
    internal::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    transports.swap(transports_);
  }
  // The Org detaches its connections as it closes; the transports may go
  // after that.
  runner_.reset();
  state_->org.reset();
  for (auto& [id, transport] : transports) transport->Shutdown();
}

void NodeRuntime::Wake() {
  if (runner_ != nullptr) runner_->Wake();
}

absl::Status NodeRuntime::StartTransport(const NodeLink& link) {
  if (transports_.contains(link.connection_id())) return absl::OkStatus();
  ORGSYNC_ASSIGN_OR_RETURN(Connection * connection,
                           state_->org->GetConnection(link.connection_id()));
  GrpcTransportOptions transport_options;
  transport_options.connection_id = link.connection_id();
  transport_options.secret_hex = link.secret_hex();
  transport_options.tls = options_.tls;
  // A restarted partner is back within a second or so; do not wait long.
  transport_options.reconnect_max_backoff = absl::Seconds(2);
  std::unique_ptr<GrpcTransport> transport;
  if (link.dial()) {
    if (link.address().empty()) {
      return absl::FailedPreconditionError(fmt::format(
          "connection {}: no partner address to dial (give --dial)",
          link.connection_id()));
    }
    transport_options.address = link.address();
    ORGSYNC_ASSIGN_OR_RETURN(transport, GrpcTransport::Dial(transport_options));
  } else {
    if (options_.listen_address.empty()) {
      return absl::FailedPreconditionError(fmt::format(
          "connection {} waits for its partner to dial in: give --listen",
          link.connection_id()));
    }
    if (listen_port_ != 0) {
      return absl::FailedPreconditionError(fmt::format(
          "this node listens for another connection already; connection {} "
          "needs a node of its own",
          link.connection_id()));
    }
    transport_options.address = options_.listen_address;
    ORGSYNC_ASSIGN_OR_RETURN(transport,
                             GrpcTransport::Listen(transport_options));
    listen_port_ = transport->port();
  }
  ORGSYNC_RETURN_IF_ERROR(connection->AttachTransport(transport.get()));
  transports_[link.connection_id()] = std::move(transport);
  return absl::OkStatus();
}

absl::StatusOr<size_t> NodeRuntime::ResendAcceptances() {
  const absl::Time now = absl::Now();
  if (now < next_acceptance_resend_) return 0;
  next_acceptance_resend_ = now + options_.acceptance_resend;
  size_t sent = 0;
  for (Connection* connection : state_->org->Connections()) {
    if (connection->role() != ReplicationRole::kSecondary ||
        connection->status() != ConnectionStatus::kInvited ||
        !connection->partner_available()) {
      continue;
    }
    // An acceptance made before the stream was up (or before a restart)
    // waits for this resend; the primary answers duplicates idempotently.
    if (connection->SendAcceptance().ok()) ++sent;
  }
  return sent;
}

absl::StatusOr<Invitation> NodeRuntime::CreateInvitation(
    const CreateInvitationRequest& request) {
  InvitationOptions invitation_options;
  invitation_options.connection_id = request.connection_id();
  invitation_options.owner = request.owner().empty() ? kDefaultActor
                                                     : request.owner();
  invitation_options.contact = request.contact().empty() ? kDefaultActor
                                                         : request.contact();
  internal::MutexLock lock(&mu_);
  if (stopped_) return absl::UnavailableError("the node is stopping");
  if (!options_.listen_address.empty() && listen_port_ != 0) {
    return absl::FailedPreconditionError(
        "this node listens for a connection already: one connection per "
        "listening node");
  }
  ORGSYNC_ASSIGN_OR_RETURN(
      Invitation invitation,
      state_->org->CreateInvitation(invitation_options,
                                    ActorOr(request.actor())));
  NodeLink link;
  link.set_connection_id(invitation.connection_id);
  link.set_secret_hex(invitation.secret_hex);
  link.set_dial(false);
  ORGSYNC_RETURN_IF_ERROR(SaveLink(state_->storage.get(), link));
  if (!options_.listen_address.empty()) {
    ORGSYNC_RETURN_IF_ERROR(StartTransport(link));
  }
  return invitation;
}

absl::Status NodeRuntime::Accept(const AcceptRequest& request) {
  NodeLink link;
  link.set_connection_id(request.connection_id());
  link.set_secret_hex(request.secret_hex());
  link.set_dial(true);
  link.set_address(request.partner_address().empty()
                       ? options_.dial_address
                       : request.partner_address());
  if (link.address().empty()) {
    return absl::InvalidArgumentError(
        "Accept: no partner_address, and the node runs without --dial");
  }
  GrpcTransportOptions transport_options;
  transport_options.connection_id = link.connection_id();
  transport_options.secret_hex = link.secret_hex();
  transport_options.tls = options_.tls;
  transport_options.address = link.address();
  transport_options.reconnect_max_backoff = absl::Seconds(2);
  internal::MutexLock lock(&mu_);
  if (stopped_) return absl::UnavailableError("the node is stopping");
  if (transports_.contains(link.connection_id())) {
    return absl::AlreadyExistsError(fmt::format(
        "connection {} is accepted on this node already",
        link.connection_id()));
  }
  // Checks id, secret and TLS files before anything is written.
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<GrpcTransport> transport,
                           GrpcTransport::Dial(transport_options));
  ORGSYNC_RETURN_IF_ERROR(
      state_->org
          ->AcceptInvitation(link.connection_id(), link.secret_hex(),
                             transport.get(), ActorOr(request.actor()))
          .status());
  ORGSYNC_RETURN_IF_ERROR(SaveLink(state_->storage.get(), link));
  transports_[link.connection_id()] = std::move(transport);
  Wake();
  return absl::OkStatus();
}

absl::StatusOr<Connection*> NodeRuntime::FindConnection(
    const std::string& connection_id) const {
  if (!connection_id.empty()) return state_->org->GetConnection(connection_id);
  std::vector<Connection*> connections = state_->org->Connections();
  if (connections.size() != 1) {
    return absl::InvalidArgumentError(fmt::format(
        "the node has {} connections: name one", connections.size()));
  }
  return connections.front();
}

absl::StatusOr<CaptureReply> NodeRuntime::Capture(
    const CaptureRequest& request) {
  RecordStore& store = *state_->record_store;
  std::shared_ptr<const ObjectDef> def =
      state_->schema->FindObject(request.object());
  if (def == nullptr) {
    return absl::NotFoundError(fmt::format(
        "Capture: the schema has no object \"{}\"", request.object()));
  }
  LocalChange change;
  switch (request.kind()) {
    case CaptureRequest::UPSERT: {
      FieldMap fields;
      for (const auto& [name, text] : request.fields()) {
        const FieldDef* field = def->FindField(name);
        if (field == nullptr) {
          return absl::NotFoundError(fmt::format(
              "Capture: {} has no field \"{}\"", request.object(), name));
        }
        ORGSYNC_ASSIGN_OR_RETURN(fields[name],
                                 ParseFieldValue(request.object(), *field,
                                                 text));
      }
      absl::StatusOr<Record> existing =
          request.id().empty()
              ? absl::NotFoundError("new record")
              : store.Get(request.object(), request.id());
      if (existing.ok()) {
        if (existing->deleted) {
          return absl::FailedPreconditionError(fmt::format(
              "Capture: {}/{} is deleted", request.object(), request.id()));
        }
        ORGSYNC_ASSIGN_OR_RETURN(
            change.record,
            store.Update(request.object(), request.id(), fields, {}));
        change.kind = ChangeKind::kUpdate;
        for (const auto& [name, value] : fields) {
          change.changed_fields.push_back(name);
        }
      } else if (absl::IsNotFound(existing.status())) {
        Record record;
        record.object = request.object();
        record.id = request.id();
        record.fields = std::move(fields);
        ORGSYNC_ASSIGN_OR_RETURN(change.record,
                                 store.Insert(std::move(record), {}));
        change.kind = ChangeKind::kInsert;
      } else {
        return existing.status();
      }
      break;
    }
    case CaptureRequest::DELETE: {
      ORGSYNC_ASSIGN_OR_RETURN(Record before,
                               store.Get(request.object(), request.id()));
      if (!before.deleted) {
        ORGSYNC_ASSIGN_OR_RETURN(
            CascadeResult cascade,
            store.Delete(request.object(), request.id(), {}));
        // The first one is the record itself.
        change.cascaded.assign(
            cascade.affected.begin() +
                (cascade.affected.empty() ? 0 : 1),
            cascade.affected.end());
        change.cascaded_known = true;
      }
      // A delete repeated after a failure is captured again.
      ORGSYNC_ASSIGN_OR_RETURN(change.record,
                               store.Get(request.object(), request.id()));
      change.kind = ChangeKind::kDelete;
      change.cascade = true;
      break;
    }
    default:
      return absl::InvalidArgumentError("Capture: kind must be UPSERT or DELETE");
  }

  CaptureReply reply;
  reply.set_id(change.record.id);
  reply.set_version(change.record.version);
  for (Connection* connection : state_->org->Connections()) {
    if (!connection->accepted()) continue;
    ORGSYNC_ASSIGN_OR_RETURN(CaptureResult result, connection->Capture(change));
    ConnectionCapture* captured = reply.add_connections();
    captured->set_connection_id(connection->id());
    captured->set_captured(result.captured);
    captured->set_sequence(result.sequence);
    captured->set_reason(result.reason);
  }
  Wake();
  return reply;
}

absl::StatusOr<GetRecordsReply> NodeRuntime::GetRecords(
    const GetRecordsRequest& request) {
  if (!state_->schema->HasObject(request.object())) {
    return absl::NotFoundError(fmt::format(
        "GetRecords: the schema has no object \"{}\"", request.object()));
  }
  GetRecordsReply reply;
  ORGSYNC_RETURN_IF_ERROR(state_->record_store->Scan(
      request.object(), absl::InfinitePast(), [&reply](const Record& record) {
        RecordText* text = reply.add_records();
        text->set_id(record.id);
        for (const auto& [name, value] : record.fields) {
          // Null is left out, as Capture reads "" (an absent field) as null.
          if (std::holds_alternative<std::monostate>(value)) continue;
          (*text->mutable_fields())[name] = FormatFieldValue(value);
        }
        text->set_deleted(record.deleted);
        text->set_version(record.version);
        text->set_last_modified(Rfc3339(record.audit.last_modified_date));
        return true;
      }));
  return reply;
}

absl::StatusOr<StatusReply> NodeRuntime::Status() {
  StatusReply reply;
  reply.set_org_id(state_->org->org_id());
  reply.set_org_name(state_->org->org_name());
  {
    internal::MutexLock lock(&mu_);
    reply.set_listen_port(listen_port_);
  }
  if (runner_ != nullptr) {
    reply.set_step_errors(runner_->stats().errors);
    const absl::Status last = runner_->last_error();
    if (!last.ok()) reply.set_last_step_error(last.ToString());
  }
  for (Connection* connection : state_->org->Connections()) {
    const ConnectionInfo info = connection->Info();
    const ConnectionCounters counters = connection->counters();
    ConnectionStatusText* text = reply.add_connections();
    text->set_connection_id(info.connection_id);
    text->set_role(ReplicationRoleName(info.role));
    text->set_status(ConnectionStatusName(info.status));
    text->set_partner_org_id(info.partner_org_id);
    text->set_queue_count(connection->record_queue()->Count());
    text->set_idle(connection->idle());
    text->set_partner_available(connection->partner_available());
    text->set_admin_suspended(info.admin_suspended);
    text->set_items_applied(counters.items_applied);
    text->set_items_duplicate(counters.items_duplicate);
    text->set_items_failed(counters.items_failed);
    text->set_entries_acknowledged(counters.entries_acknowledged);
    text->set_conflicts(counters.conflicts);
    LogQuery failed;
    failed.status = LogStatus::kFailed;
    ORGSYNC_ASSIGN_OR_RETURN(uint64_t failed_count,
                             connection->sync_log()->Count(failed));
    text->set_failed_log_entries(failed_count);
    ORGSYNC_ASSIGN_OR_RETURN(uint64_t unlogged, QueuedWithoutLog(*connection));
    text->set_queued_without_log(unlogged);
  }
  return reply;
}

}  // namespace orgsync::node
