// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// GrpcTransport: a Transport (orgsync/transport.h) between two processes,
// over one bidirectional gRPC stream (service orgsync.orglink.OrgLink,
// lib/proto/grpc/org_link.proto) with TLS. Part of the separate library
// orgsync::grpc (CMake option ORGSYNC_GRPC), so that the core library does
// not depend on gRPC.
//
// One side listens (GrpcTransport::Listen), the other dials
// (GrpcTransport::Dial); which org does which is the host's choice. Each
// transport carries one connection, named by its connection id, and knows
// the connection's invitation secret (the 64 hex digits both hosts hold).
//
// Authentication, on every stream, before any engine byte is read or
// delivered: the dialer sends the connection id and a fresh random nonce;
// the listener answers with its own fresh nonce and an HMAC-SHA256 proof,
// keyed by the secret, over both nonces and the connection id; the dialer
// checks it and answers with its own proof (under another label). The
// secret never travels, and a proof is worth nothing for another stream
// (fresh nonces) or another connection. A wrong, missing or late proof
// (after handshake_timeout) ends the stream: it is counted
// (GrpcTransportStats::auth_failures) and reported to on_auth_failure.
// Nothing is written to disk; at most max_unauthenticated_streams streams
// may be in the handshake at once (more are refused at once and counted in
// streams_refused_busy), each for at most handshake_timeout, so a flood of
// bad attempts costs bounded memory: at worst, for each of those streams,
// one message of up to max_message_bytes that gRPC buffers before the
// handshake refuses it unread.
//
// Delivery: each Send() is one gRPC message, delivered to the partner's
// handler as exactly those bytes. Send() only queues (a writer thread
// writes); the queue holds at most max_bytes_in_flight bytes: beyond that
// Send() returns ResourceExhausted and takes nothing. Received messages are
// handed to the handler one at a time on the stream's reading thread, and
// the next one is read only once the handler returned, so a slow handler
// holds back gRPC's reads, its HTTP/2 flow-control window fills, the
// sender's writer blocks, its queue fills and its Send() says
// ResourceExhausted: the sender's memory stays bounded. What is queued when
// a stream breaks is dropped (Transport promises no delivery; the engine
// resends what was not acknowledged).
//
// Availability: the partner is available while an authenticated stream is
// up. Changes reach the handler's OnAvailabilityChanged (which makes the
// engine suspend and resume the connection, R6). The dialer redials a
// broken or refused stream after an exponential backoff with jitter
// (reconnect_initial_backoff doubling up to reconnect_max_backoff, each
// wait drawn uniformly from its upper half). The listener keeps one
// authenticated stream: a newly authenticated one replaces the old (the
// dialer reconnected).
//
// TLS: the listener presents tls.cert_chain_file and tls.private_key_file;
// the dialer checks it against tls.root_certs_file (and the name
// tls.target_name_override, else the host of the address). Mutual TLS: the
// dialer presents its own certificate and key, and a listener with
// tls.require_client_certificate checks them against its root_certs_file.
// Plain text only with tls.insecure = true (tests of the authentication
// logic); the connection secret still guards every stream then.
//
// Ownership: the transport does not own its handler (see Transport). The
// destructor stops everything: it cancels the streams, joins its threads
// and makes no handler call after it returns.
//
// Thread-safety: every method may be called from any thread. Handler calls
// come from the transport's threads (never from Send()), one at a time,
// with none of the transport's locks held; on_auth_failure likewise.

#ifndef ORGSYNC_GRPC_TRANSPORT_H_
#define ORGSYNC_GRPC_TRANSPORT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orgsync/transport.h"

namespace orgsync {

// Certificates and keys, each a PEM file read when the transport is made.
struct GrpcTlsOptions {
  // Plain text, no TLS. Must be asked for explicitly; the file fields must
  // then be empty.
  bool insecure = false;
  // This side's certificate chain and private key. Required to listen;
  // optional to dial (mutual TLS), both or neither.
  std::string cert_chain_file;
  std::string private_key_file;
  // The roots that sign the partner's certificate. Required to dial; to
  // listen, required with require_client_certificate and unused otherwise.
  std::string root_certs_file;
  // Listener: refuse a dialer that presents no certificate signed by
  // root_certs_file.
  bool require_client_certificate = false;
  // Dialer: the name the listener's certificate must carry, when it is not
  // the host of `address`. gRPC does not match IP addresses against a
  // certificate's names, so a dialer that dials an IP address sets this to
  // a DNS name of the certificate (e.g. "localhost" for 127.0.0.1).
  std::string target_name_override;
};

struct GrpcTransportOptions {
  // Listen: the address to bind, "host:port" (port 0 picks a free port; see
  // GrpcTransport::port()). Dial: the listener's "host:port".
  std::string address;
  // The connection this transport carries, and its invitation secret as
  // 64 hex digits (Invitation::secret_hex).
  std::string connection_id;
  std::string secret_hex;
  GrpcTlsOptions tls;

  // Most bytes Send() may hold queued, not yet handed to gRPC; a message
  // larger than this can never be sent (InvalidArgument).
  size_t max_bytes_in_flight = size_t{64} << 20;
  // Largest message accepted from the partner (the engine's envelopes are
  // at most 64 MiB; the frame around one adds a few bytes).
  size_t max_message_bytes = (size_t{64} << 20) + 1024;

  // Dialer: the first wait before redialing, and the longest.
  absl::Duration reconnect_initial_backoff = absl::Milliseconds(100);
  absl::Duration reconnect_max_backoff = absl::Seconds(30);
  // A stream whose handshake is not done after this long is ended (and
  // counted as an authentication failure).
  absl::Duration handshake_timeout = absl::Seconds(10);
  // Listener: most streams in the handshake at once.
  int max_unauthenticated_streams = 8;

  // Called, on a transport thread and with no transport lock held, for
  // each stream refused for its authentication (the status says why), so
  // the host can log it. May be empty.
  std::function<void(const absl::Status&)> on_auth_failure;
};

// What a GrpcTransport did so far.
struct GrpcTransportStats {
  uint64_t streams_authenticated = 0;  // streams that passed the handshake
  uint64_t auth_failures = 0;  // streams refused: wrong, missing or late proof
  uint64_t streams_refused_busy = 0;      // over max_unauthenticated_streams
  uint64_t dial_attempts = 0;             // dialer: streams opened
  uint64_t messages_sent = 0;             // written to gRPC
  uint64_t messages_received = 0;         // delivered to the handler (or lost
                                          // because none was installed)
  uint64_t send_refused_full = 0;         // Send() said ResourceExhausted
  uint64_t send_refused_unavailable = 0;  // Send() said Unavailable
  uint64_t messages_dropped = 0;   // queued but never written: stream broke
  uint64_t queued_bytes = 0;       // bytes queued by Send() now
  uint64_t peak_queued_bytes = 0;  // most ever queued at once
};

class GrpcTransport : public Transport {
 public:
  // Starts listening on options.address. InvalidArgument (with the field
  // named) for bad options: empty address or connection id, a secret that
  // is not 64 hex digits, a certificate or key file that cannot be read or
  // holds no PEM block, TLS files missing or given with insecure, limits
  // that are not positive. Unavailable if the address cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<GrpcTransport>> Listen(
      GrpcTransportOptions options);

  // Starts dialing options.address, at once and then after each broken or
  // refused stream. InvalidArgument for bad options, as Listen.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<GrpcTransport>> Dial(
      GrpcTransportOptions options);

  // Listener: the port bound (the one picked, when asked for port 0).
  // Dialer: 0.
  virtual int port() const = 0;

  virtual GrpcTransportStats stats() const = 0;

  // Ends every stream, stops listening or dialing and joins the
  // transport's threads; the handler gets no call once it returned (an
  // available partner is first reported unavailable). Send() then says
  // Unavailable. Idempotent; the destructor calls it. Must not be called
  // from inside one of this transport's handler calls.
  virtual void Shutdown() = 0;
};

}  // namespace orgsync

#endif  // ORGSYNC_GRPC_TRANSPORT_H_
