// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "bench_link.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orgsync/status.h"
#include "orgsync/transport.h"

#ifdef ORGSYNC_BENCH_GRPC
#include "node/throwaway_certificates.h"
#include "orgsync/grpc_transport.h"
#endif

namespace orgsync_bench {
namespace {

class InProcessLink final : public BenchLink {
 public:
  orgsync::Transport* primary() override { return pair_.a(); }
  orgsync::Transport* secondary() override { return pair_.b(); }
  size_t DeliverTo(bool to_primary) override {
    size_t delivered = 0;
    while (pair_.DeliverNextTo(
        to_primary ? orgsync::InProcessTransportPair::Side::kA
                   : orgsync::InProcessTransportPair::Side::kB)) {
      ++delivered;
    }
    return delivered;
  }
  size_t Step() override { return pair_.Step(); }
  size_t InFlight() const override { return pair_.InFlight(); }
  std::string Describe() const override { return "in-process transport"; }

 private:
  orgsync::InProcessTransportPair pair_{1};
};

#ifdef ORGSYNC_BENCH_GRPC
class GrpcLink final : public BenchLink {
 public:
  GrpcLink(std::unique_ptr<orgsync::GrpcTransport> listener,
           std::unique_ptr<orgsync::GrpcTransport> dialer)
      : listener_(std::move(listener)), dialer_(std::move(dialer)) {}

  orgsync::Transport* primary() override { return listener_.get(); }
  orgsync::Transport* secondary() override { return dialer_.get(); }
  // The transports' threads deliver.
  size_t DeliverTo(bool) override { return 0; }
  size_t Step() override { return 0; }
  size_t InFlight() const override { return 0; }
  std::string Describe() const override {
    return fmt::format("gRPC on loopback with TLS (port {})",
                       listener_->port());
  }

 private:
  std::unique_ptr<orgsync::GrpcTransport> listener_;
  std::unique_ptr<orgsync::GrpcTransport> dialer_;
};

#endif

}  // namespace

std::unique_ptr<BenchLink> NewInProcessLink() {
  return std::make_unique<InProcessLink>();
}

absl::StatusOr<std::unique_ptr<BenchLink>> NewGrpcLink(
    const std::filesystem::path& dir, const std::string& connection_id,
    const std::string& secret_hex) {
#ifdef ORGSYNC_BENCH_GRPC
  ORGSYNC_RETURN_IF_ERROR(
      orgsync::node::MakeThrowawayCertificates(dir.string()));
  const std::string d = dir.string();
  orgsync::GrpcTransportOptions listen;
  listen.address = "127.0.0.1:0";
  listen.connection_id = connection_id;
  listen.secret_hex = secret_hex;
  listen.tls.cert_chain_file = d + "/server.pem";
  listen.tls.private_key_file = d + "/server.key";
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<orgsync::GrpcTransport> listener,
                           orgsync::GrpcTransport::Listen(listen));
  orgsync::GrpcTransportOptions dial;
  dial.address = fmt::format("127.0.0.1:{}", listener->port());
  dial.connection_id = connection_id;
  dial.secret_hex = secret_hex;
  dial.tls.root_certs_file = d + "/ca.pem";
  // gRPC does not match IP addresses: the name the certificate carries.
  dial.tls.target_name_override = "localhost";
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<orgsync::GrpcTransport> dialer,
                           orgsync::GrpcTransport::Dial(dial));
  return std::make_unique<GrpcLink>(std::move(listener), std::move(dialer));
#else
  (void)dir;
  (void)connection_id;
  (void)secret_hex;
  return absl::UnimplementedError(
      "this live_sync_bench was built without gRPC (ORGSYNC_GRPC=OFF)");
#endif
}

}  // namespace orgsync_bench
