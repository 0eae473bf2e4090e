// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// BenchLink: how live_sync_bench's two orgs reach each other.
//
//   * in-process (the default): InProcessTransportPair. Nothing moves by
//     itself; each org's driver thread takes the messages addressed to it
//     (DeliverTo), as the bench always did.
//   * gRPC (--transport grpc): GrpcTransport on loopback with TLS, the
//     primary listening and the secondary dialing, with certificates made
//     for the run by the openssl command (a CA, a server certificate for
//     localhost). The transports' own threads deliver; DeliverTo and Step
//     deliver nothing, and the drivers only step their orgs.
//
// Thread-safety: that of the transports (see orgsync/transport.h).

#ifndef ORGSYNC_BENCH_BENCH_LINK_H_
#define ORGSYNC_BENCH_BENCH_LINK_H_

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "orgsync/transport.h"

namespace orgsync_bench {

class BenchLink {
 public:
  virtual ~BenchLink() = default;

  // The primary's endpoint and the secondary's.
  virtual orgsync::Transport* primary() = 0;
  virtual orgsync::Transport* secondary() = 0;

  // Delivers on the calling thread what waits for the primary (`to_primary`)
  // or the secondary; returns how many messages it delivered.
  virtual size_t DeliverTo(bool to_primary) = 0;
  // Delivers one step's messages both ways; returns how many.
  virtual size_t Step() = 0;
  // Messages sent and not delivered yet, where the link can tell (0 when
  // it cannot: the engine's idle() then tells).
  virtual size_t InFlight() const = 0;
  // What the bench prints about the link.
  virtual std::string Describe() const = 0;
};

std::unique_ptr<BenchLink> NewInProcessLink();

// Listens on 127.0.0.1 (a free port) for the primary and dials it for the
// secondary, for connection `connection_id` with its invitation secret;
// the certificates go to `dir`. Errors: openssl failing, the transports'.
absl::StatusOr<std::unique_ptr<BenchLink>> NewGrpcLink(
    const std::filesystem::path& dir, const std::string& connection_id,
    const std::string& secret_hex);

}  // namespace orgsync_bench

#endif  // ORGSYNC_BENCH_BENCH_LINK_H_
