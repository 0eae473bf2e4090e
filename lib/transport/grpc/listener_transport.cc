// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// GrpcTransport::Listen: the side that serves the OrgLink stream. gRPC's
// synchronous server runs each stream's handler on a thread of its pool;
// the handler does the handshake, then carries the session (session.h) on
// that thread until the stream breaks.
//
// Bounds on what strangers cost: streams in the handshake are counted
// (LinkCore::EnterHandshake refuses the ones over the cap at once), each is
// cancelled after handshake_timeout, the pool's threads are capped through
// gRPC's resource quota, and a message before the handshake is done is
// read (gRPC bounds it by max_message_bytes) but never delivered.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "orgsync/grpc_transport.h"
#include "orgsync/internal/mutex.h"
#include "proto/grpc/org_link.grpc.pb.h"
#include "transport/grpc/cancel_timer.h"
#include "transport/grpc/handshake.h"
#include "transport/grpc/link_core.h"
#include "transport/grpc/options.h"
#include "transport/grpc/session.h"

namespace orgsync {
namespace {

using grpc_internal::CheckedOptions;
using FrameStream = grpc::ServerReaderWriter<orglink::Frame, orglink::Frame>;

// Threads the listener's pool may hold beyond one per stream in the
// handshake: the authenticated stream, a replacing one, and gRPC's pollers.
constexpr int kSpareServerThreads = 4;
// How often gRPC may see a keepalive ping from the dialer (which pings
// every 20 s): below gRPC's default minimum of 5 minutes, which would make
// it close the connection as abusive.
constexpr int kMinPingIntervalMs = 10000;

class ListenerTransport final : public GrpcTransport {
 public:
  explicit ListenerTransport(CheckedOptions checked)
      : checked_(std::move(checked)),
        core_(checked_.options),
        service_(this) {}
  ~ListenerTransport() override { Shutdown(); }

  absl::Status Start() {
    const GrpcTransportOptions& options = checked_.options;
    grpc::ServerBuilder builder;
    builder.AddListeningPort(
        options.address, grpc_internal::ServerCredentials(checked_), &port_);
    builder.RegisterService(&service_);
    builder.SetMaxReceiveMessageSize(
        static_cast<int>(options.max_message_bytes));
    builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    // A connection that never finishes its TLS (or HTTP/2) handshake is
    // dropped as soon as a stream that never finishes ours would be, not
    // after gRPC's default of two minutes.
    builder.AddChannelArgument(
        GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
        static_cast<int>(std::min<int64_t>(
            absl::ToInt64Milliseconds(options.handshake_timeout), INT_MAX)));
    builder.AddChannelArgument(
        GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
        kMinPingIntervalMs);
    // Pings of its own, so that a dialer that vanished without closing its
    // socket (a host powered off) ends the session -- and the engine
    // suspends (R6) -- within about a keepalive period, not never.
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                               grpc_internal::kKeepaliveMs);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                               grpc_internal::kKeepaliveTimeoutMs);
    grpc::ResourceQuota quota("orgsync grpc listener");
    quota.SetMaxThreads(options.max_unauthenticated_streams +
                        kSpareServerThreads);
    builder.SetResourceQuota(quota);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (server == nullptr || port_ == 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on '", options.address, "'"));
    }
    internal::MutexLock lock(&mu_);
    server_ = std::move(server);
    return absl::OkStatus();
  }

  void SetHandler(TransportHandler* handler) override {
    core_.SetHandler(handler);
  }
  absl::Status Send(std::string bytes) override {
    return core_.Send(std::move(bytes));
  }
  bool PartnerAvailable() const override { return core_.PartnerAvailable(); }
  int port() const override { return port_; }
  GrpcTransportStats stats() const override { return core_.stats(); }

  void Shutdown() override {
    // Held throughout, so that a second caller returns only once the first
    // is done.
    internal::MutexLock lock(&mu_);
    if (server_ == nullptr) return;
    core_.Stop();
    // A deadline of now cancels every stream at once; Shutdown returns once
    // every handler returned, so no handler call follows.
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    server_.reset();
  }

 private:
  class Service final : public orglink::OrgLink::Service {
   public:
    explicit Service(ListenerTransport* transport) : transport_(transport) {}
    grpc::Status Stream(grpc::ServerContext* context,
                        FrameStream* stream) override {
      return transport_->Serve(context, stream);
    }

   private:
    ListenerTransport* const transport_;
  };

  grpc::Status Serve(grpc::ServerContext* context, FrameStream* stream) {
    if (!core_.EnterHandshake()) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "too many streams in the handshake");
    }
    auto cancel = [context]() { context->TryCancel(); };
    const uint64_t token =
        timer_.Arm(checked_.options.handshake_timeout, cancel);
    absl::Status auth = grpc_internal::ListenerHandshake(
        stream, checked_.secret, checked_.options.connection_id);
    const bool late = timer_.Disarm(token);
    core_.LeaveHandshake();
    if (!auth.ok()) {
      if (late) {
        auth = absl::DeadlineExceededError(
            "the dialer did not finish the handshake within "
            "handshake_timeout");
      }
      // A stream cut by our own shutdown proved nothing wrong.
      if (!core_.stopping()) {
        const std::string reason = absl::StrCat(
            "refused a stream from ", context->peer(), ": ", auth.message());
        core_.AuthFailed(late ? absl::DeadlineExceededError(reason)
                              : absl::UnauthenticatedError(reason));
      }
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          std::string(auth.message()));
    }
    std::optional<uint64_t> session = core_.BeginSession(cancel);
    if (!session.has_value()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "the listener is shutting down");
    }
    grpc_internal::RunSession(&core_, stream, *session, cancel);
    return grpc::Status::OK;
  }

  const CheckedOptions checked_;
  grpc_internal::LinkCore core_;
  grpc_internal::CancelTimer timer_;
  Service service_;
  int port_ = 0;
  internal::Mutex mu_;
  std::unique_ptr<grpc::Server> server_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcTransport>> GrpcTransport::Listen(
    GrpcTransportOptions options) {
  absl::StatusOr<CheckedOptions> checked = grpc_internal::CheckOptions(
      std::move(options), grpc_internal::Side::kListener);
  if (!checked.ok()) return checked.status();
  auto transport = std::make_unique<ListenerTransport>(*std::move(checked));
  if (absl::Status started = transport->Start(); !started.ok()) {
    return started;
  }
  return transport;
}

}  // namespace orgsync
