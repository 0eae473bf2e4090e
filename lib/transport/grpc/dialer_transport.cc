// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// GrpcTransport::Dial: the side that opens the OrgLink stream. One thread
// dials, does the handshake, carries the session (session.h) until the
// stream breaks, waits a backoff and dials again, until Shutdown.
//
// Each attempt makes a new channel with a subchannel of its own (options.cc),
// so the wait between attempts is this transport's backoff alone: gRPC's
// own reconnect backoff would otherwise fail new calls at once for up to
// its own delay after a failure, however short ours is.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <thread>
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

using grpc_internal::kKeepaliveMs;
using grpc_internal::kKeepaliveTimeoutMs;

class DialerTransport final : public GrpcTransport {
 public:
  explicit DialerTransport(CheckedOptions checked)
      : checked_(std::move(checked)),
        core_(checked_.options),
        credentials_(grpc_internal::ChannelCredentials(checked_)),
        arguments_(grpc_internal::DialerChannelArguments(checked_)),
        random_(std::random_device{}()) {
    arguments_.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveMs);
    arguments_.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
    thread_ = std::thread([this]() { Loop(); });
  }
  ~DialerTransport() override { Shutdown(); }

  void SetHandler(TransportHandler* handler) override {
    core_.SetHandler(handler);
  }
  absl::Status Send(std::string bytes) override {
    return core_.Send(std::move(bytes));
  }
  bool PartnerAvailable() const override { return core_.PartnerAvailable(); }
  int port() const override { return 0; }
  GrpcTransportStats stats() const override { return core_.stats(); }

  void Shutdown() override {
    internal::MutexLock shutdown_lock(&shutdown_mu_);
    if (!thread_.joinable()) return;
    core_.Stop();
    {
      internal::MutexLock lock(&mu_);
      stopping_ = true;
      if (context_ != nullptr) context_->TryCancel();
    }
    thread_.join();
  }

 private:
  void Loop() {
    int failures = 0;
    for (;;) {
      if (DialOnce()) {
        failures = 0;
      } else {
        ++failures;
      }
      internal::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(
          [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; },
          Backoff(failures));
      if (stopping_) return;
    }
  }

  // The wait before the next attempt: the initial backoff doubled per
  // failure in a row, at most the maximum, and drawn uniformly from the
  // upper half of that, so that dialers that lost the same listener do not
  // all come back at the same moment.
  absl::Duration Backoff(int failures) {
    const GrpcTransportOptions& options = checked_.options;
    const double factor = std::ldexp(1.0, std::min(failures, 40));
    const absl::Duration ceiling =
        std::min(options.reconnect_max_backoff,
                 options.reconnect_initial_backoff * factor);
    std::uniform_real_distribution<double> half(0.5, 1.0);
    return ceiling * half(random_);
  }

  // One stream, from dialing to its end. True if it authenticated.
  bool DialOnce() {
    const GrpcTransportOptions& options = checked_.options;
    std::unique_ptr<orglink::OrgLink::Stub> stub = orglink::OrgLink::NewStub(
        grpc::CreateCustomChannel(options.address, credentials_, arguments_));
    grpc::ClientContext context;
    {
      internal::MutexLock lock(&mu_);
      if (stopping_) return false;
      context_ = &context;
    }
    core_.CountDialAttempt();
    auto cancel = [&context]() { context.TryCancel(); };
    std::unique_ptr<grpc::ClientReaderWriter<orglink::Frame, orglink::Frame>>
        stream = stub->Stream(&context);
    const uint64_t token = timer_.Arm(options.handshake_timeout, cancel);
    absl::Status auth = grpc_internal::DialerHandshake(
        stream.get(), checked_.secret, options.connection_id);
    const bool late = timer_.Disarm(token);
    bool authenticated = false;
    if (auth.ok()) {
      if (std::optional<uint64_t> session = core_.BeginSession(cancel)) {
        authenticated = true;
        grpc_internal::RunSession(&core_, stream.get(), *session, cancel);
      }
    }
    // Ends the call whatever state the handshake left it in, so that
    // Finish() does not wait for the listener.
    context.TryCancel();
    const grpc::Status finish = stream->Finish();
    {
      internal::MutexLock lock(&mu_);
      context_ = nullptr;
    }
    if (auth.ok() || core_.stopping()) return authenticated;
    if (late) {
      core_.AuthFailed(absl::DeadlineExceededError(
          "the listener did not finish the handshake within "
          "handshake_timeout"));
    } else if (auth.code() == absl::StatusCode::kPermissionDenied ||
               auth.code() == absl::StatusCode::kInvalidArgument) {
      core_.AuthFailed(auth);
    } else if (finish.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      core_.AuthFailed(absl::PermissionDeniedError(absl::StrCat(
          "the listener refused the stream: ", finish.error_message())));
    }
    return false;
  }

  const CheckedOptions checked_;
  grpc_internal::LinkCore core_;
  grpc_internal::CancelTimer timer_;
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  grpc::ChannelArguments arguments_;
  std::minstd_rand random_;  // the dial thread's only

  internal::Mutex shutdown_mu_;
  internal::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The call being dialed or carried, for Shutdown to cancel.
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcTransport>> GrpcTransport::Dial(
    GrpcTransportOptions options) {
  absl::StatusOr<CheckedOptions> checked = grpc_internal::CheckOptions(
      std::move(options), grpc_internal::Side::kDialer);
  if (!checked.ok()) return checked.status();
  return std::make_unique<DialerTransport>(*std::move(checked));
}

}  // namespace orgsync
