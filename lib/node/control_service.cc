// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "node/control_service.h"

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "admin/admin_command.h"
#include "fmt/core.h"
#include "grpcpp/grpcpp.h"
#include "orgsync/metrics.h"
#include "orgsync/status.h"
#include "orgsync/subscription_map.h"
#include "proto/node/node_control.grpc.pb.h"

namespace orgsync::node {
namespace {

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

class ControlService final : public NodeControl::Service {
 public:
  explicit ControlService(NodeRuntime* runtime) : runtime_(runtime) {}

  // orgsync-admin's commands on the node's own Org: the tool cannot open
  // the state folder while the node holds it.
  grpc::Status Admin(grpc::ServerContext*, const AdminRequest* request,
                     AdminReply* reply) override {
    const std::vector<std::string> args(request->args().begin(),
                                        request->args().end());
    admin::AdminOutput output = admin::RunAdminCommand(
        runtime_->org(), *runtime_->state().clock, args);
    reply->set_exit_code(output.exit_code);
    reply->set_out(std::move(output.out));
    reply->set_err(std::move(output.err));
    // A resume lets the queue go: send it now, not at the next idle round.
    runtime_->Wake();
    return grpc::Status::OK;
  }

  grpc::Status CreateInvitation(grpc::ServerContext*,
                                const CreateInvitationRequest* request,
                                InvitationReply* reply) override {
    absl::StatusOr<Invitation> invitation =
        runtime_->CreateInvitation(*request);
    if (!invitation.ok()) return ToGrpc(invitation.status());
    reply->set_connection_id(invitation->connection_id);
    reply->set_secret_hex(invitation->secret_hex);
    return grpc::Status::OK;
  }

  grpc::Status Accept(grpc::ServerContext*, const AcceptRequest* request,
                      AcceptReply*) override {
    return ToGrpc(runtime_->Accept(*request));
  }

  grpc::Status Publish(grpc::ServerContext*, const PublishRequest* request,
                       PublishReply*) override {
    absl::StatusOr<Connection*> connection =
        runtime_->FindConnection(request->connection_id());
    if (!connection.ok()) return ToGrpc(connection.status());
    PublishSet* publish_set = (*connection)->publish_set();
    for (const ObjectFields& object : request->objects()) {
      if (!publish_set->IsObjectPublished(object.object())) {
        absl::Status published = publish_set->PublishObject(object.object());
        if (!published.ok()) return ToGrpc(published);
      }
      for (const std::string& field : object.field()) {
        absl::Status published =
            publish_set->PublishField(object.object(), field);
        if (!published.ok()) return ToGrpc(published);
      }
    }
    runtime_->Wake();
    return grpc::Status::OK;
  }

  grpc::Status Subscribe(grpc::ServerContext*, const SubscribeRequest* request,
                         SubscribeReply*) override {
    absl::StatusOr<Connection*> connection =
        runtime_->FindConnection(request->connection_id());
    if (!connection.ok()) return ToGrpc(connection.status());
    SubscriptionMap* map = (*connection)->subscription_map();
    for (const ObjectFields& object : request->objects()) {
      if (!map->IsSubscribed(object.object())) {
        absl::Status subscribed = map->Subscribe(object.object());
        if (!subscribed.ok()) return ToGrpc(subscribed);
      }
      for (const std::string& field : object.field()) {
        absl::Status subscribed = map->SubscribeField(object.object(), field);
        if (!subscribed.ok()) return ToGrpc(subscribed);
      }
    }
    runtime_->Wake();
    return grpc::Status::OK;
  }

  grpc::Status Directions(grpc::ServerContext*,
                          const DirectionsRequest* request,
                          DirectionsReply* reply) override {
    absl::StatusOr<Connection*> connection =
        runtime_->FindConnection(request->connection_id());
    if (!connection.ok()) return ToGrpc(connection.status());
    const DirectionReport report = ReportSyncDirections(
        *(*connection)->publish_set(), *(*connection)->subscription_map());
    for (const orgsync::ObjectDirection& object : report.objects) {
      node::ObjectDirection* out = reply->add_objects();
      out->set_object(object.object);
      out->set_direction(SyncDirectionName(object.direction));
      out->set_published_here(object.published_here);
      out->set_subscribed_by_partner(object.subscribed_by_partner);
      out->set_published_by_partner(object.published_by_partner);
      out->set_subscribed_here(object.subscribed_here);
    }
    for (const std::string& warning : report.warnings) {
      reply->add_warnings(warning);
    }
    return grpc::Status::OK;
  }

  grpc::Status Capture(grpc::ServerContext*, const CaptureRequest* request,
                       CaptureReply* reply) override {
    absl::StatusOr<CaptureReply> captured = runtime_->Capture(*request);
    if (!captured.ok()) return ToGrpc(captured.status());
    *reply = *std::move(captured);
    return grpc::Status::OK;
  }

  grpc::Status GetRecords(grpc::ServerContext*,
                          const GetRecordsRequest* request,
                          GetRecordsReply* reply) override {
    absl::StatusOr<GetRecordsReply> records = runtime_->GetRecords(*request);
    if (!records.ok()) return ToGrpc(records.status());
    *reply = *std::move(records);
    return grpc::Status::OK;
  }

  grpc::Status Status(grpc::ServerContext*, const StatusRequest*,
                      StatusReply* reply) override {
    absl::StatusOr<StatusReply> status = runtime_->Status();
    if (!status.ok()) return ToGrpc(status.status());
    *reply = *std::move(status);
    return grpc::Status::OK;
  }

  grpc::Status Metrics(grpc::ServerContext*, const MetricsRequest*,
                       MetricsReply* reply) override {
    absl::StatusOr<std::string> text = PrometheusMetrics(runtime_->org());
    if (!text.ok()) return ToGrpc(text.status());
    reply->set_text(*std::move(text));
    return grpc::Status::OK;
  }

  grpc::Status Suspend(grpc::ServerContext*, const SuspendRequest* request,
                       SuspendReply*) override {
    absl::StatusOr<Connection*> connection =
        runtime_->FindConnection(request->connection_id());
    if (!connection.ok()) return ToGrpc(connection.status());
    return ToGrpc((*connection)->Suspend(
        request->actor().empty() ? "orgsync-node" : request->actor()));
  }

  grpc::Status Resume(grpc::ServerContext*, const ResumeRequest* request,
                      ResumeReply*) override {
    absl::StatusOr<Connection*> connection =
        runtime_->FindConnection(request->connection_id());
    if (!connection.ok()) return ToGrpc(connection.status());
    absl::Status resumed = (*connection)->Resume(
        request->actor().empty() ? "orgsync-node" : request->actor());
    runtime_->Wake();
    return ToGrpc(resumed);
  }

 private:
  NodeRuntime* const runtime_;
};

class ControlServerImpl final : public ControlServer {
 public:
  ControlServerImpl(NodeRuntime* runtime, std::string socket_path)
      : service_(runtime), socket_path_(std::move(socket_path)) {}
  ~ControlServerImpl() override { Shutdown(); }

  absl::Status Serve() {
    std::error_code ignored;
    // A socket file left by a killed node; a live node would hold the
    // state's database lock, which the caller took before.
    std::filesystem::remove(socket_path_, ignored);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket_path_,
                             grpc::InsecureServerCredentials());
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr) {
      return absl::UnavailableError(fmt::format(
          "cannot serve the control socket '{}'", socket_path_));
    }
    return absl::OkStatus();
  }

  void Shutdown() override {
    if (server_ == nullptr) return;
    // Calls still running after a moment are cancelled: a caller sees
    // them fail and repeats them against the next run.
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(200));
    server_->Wait();
    server_.reset();
    std::error_code ignored;
    std::filesystem::remove(socket_path_, ignored);
  }

 private:
  ControlService service_;
  const std::string socket_path_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Start(
    NodeRuntime* runtime, const std::string& socket_path) {
  auto server = std::make_unique<ControlServerImpl>(runtime, socket_path);
  ORGSYNC_RETURN_IF_ERROR(server->Serve());
  return server;
}

}  // namespace orgsync::node
