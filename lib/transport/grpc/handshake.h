// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The gRPC transport's stream handshake (lib/proto/grpc/org_link.proto):
// each side proves that it holds the connection's secret without sending
// it, before either reads or delivers an engine message.
//
//   listener proof = HMAC(secret, "orgsync grpc listener v1",
//                         connection id, dialer nonce, listener nonce)
//   dialer proof   = HMAC(secret, "orgsync grpc dialer v1",
//                         connection id, dialer nonce, listener nonce)
//
// Both nonces are fresh from each side's CSPRNG, so a proof recorded on one
// stream does not verify on another; the labels differ, so the listener's
// proof (sent first, to anyone who says hello) cannot be replayed as a
// dialer's. Each part is length-prefixed, so no two inputs read alike.
// The handshake functions run over any stream with gRPC's Read/Write
// (server or client side) and never touch the transport's state.
//
// Thread-safety: pure functions; a stream is used by one thread here.

#ifndef ORGSYNC_LIB_TRANSPORT_GRPC_HANDSHAKE_H_
#define ORGSYNC_LIB_TRANSPORT_GRPC_HANDSHAKE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "connection/secret.h"
#include "proto/grpc/org_link.pb.h"

namespace orgsync::grpc_internal {

// Bytes of each side's nonce.
inline constexpr size_t kNonceBytes = 32;

enum class ProofRole { kListener, kDialer };

// The proof `role` sends, 32 raw bytes.
std::string HandshakeProof(std::string_view secret, ProofRole role,
                           std::string_view connection_id,
                           std::string_view dialer_nonce,
                           std::string_view listener_nonce);

// Whether `proof` is the one `role` should have sent; constant time.
bool ProofMatches(std::string_view proof, std::string_view secret,
                  ProofRole role, std::string_view connection_id,
                  std::string_view dialer_nonce,
                  std::string_view listener_nonce);

// The listener's side, from the dialer's hello to the ready it sends.
// PermissionDenied for a wrong connection id or proof; InvalidArgument for
// a frame out of order; Unavailable if the stream ended first.
template <typename Stream>
absl::Status ListenerHandshake(Stream* stream, std::string_view secret,
                               std::string_view connection_id) {
  orglink::Frame frame;
  if (!stream->Read(&frame)) {
    return absl::UnavailableError("the stream ended before the dialer's hello");
  }
  if (!frame.has_hello()) {
    return absl::InvalidArgumentError(
        "the dialer's first frame is not a hello");
  }
  if (frame.hello().connection_id() != connection_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("the dialer asked for connection '",
                     frame.hello().connection_id().substr(0, 128),
                     "', which this listener does not carry"));
  }
  const std::string dialer_nonce = frame.hello().nonce();
  if (dialer_nonce.size() != kNonceBytes) {
    return absl::InvalidArgumentError("the dialer's nonce has a wrong length");
  }
  absl::StatusOr<std::string> listener_nonce =
      internal::CsprngBytes(kNonceBytes);
  if (!listener_nonce.ok()) return listener_nonce.status();

  orglink::Frame challenge;
  challenge.mutable_challenge()->set_nonce(*listener_nonce);
  challenge.mutable_challenge()->set_proof(
      HandshakeProof(secret, ProofRole::kListener, connection_id, dialer_nonce,
                     *listener_nonce));
  if (!stream->Write(challenge)) {
    return absl::UnavailableError("the stream ended before the challenge");
  }
  if (!stream->Read(&frame)) {
    return absl::UnavailableError("the stream ended before the dialer's proof");
  }
  if (!frame.has_proof()) {
    return absl::InvalidArgumentError(
        "the dialer's second frame is not a proof");
  }
  if (!ProofMatches(frame.proof().proof(), secret, ProofRole::kDialer,
                    connection_id, dialer_nonce, *listener_nonce)) {
    return absl::PermissionDeniedError(
        "the dialer's proof is wrong: it does not hold the connection's "
        "secret");
  }
  orglink::Frame ready;
  ready.mutable_ready();
  if (!stream->Write(ready)) {
    return absl::UnavailableError("the stream ended before the ready");
  }
  return absl::OkStatus();
}

// The dialer's side, from its hello to the listener's ready. As
// ListenerHandshake; Unavailable also when the listener refused (its
// status then comes from the stream's Finish()).
template <typename Stream>
absl::Status DialerHandshake(Stream* stream, std::string_view secret,
                             std::string_view connection_id) {
  absl::StatusOr<std::string> dialer_nonce = internal::CsprngBytes(kNonceBytes);
  if (!dialer_nonce.ok()) return dialer_nonce.status();
  orglink::Frame hello;
  hello.mutable_hello()->set_connection_id(std::string(connection_id));
  hello.mutable_hello()->set_nonce(*dialer_nonce);
  if (!stream->Write(hello)) {
    return absl::UnavailableError("the listener cannot be reached");
  }
  orglink::Frame frame;
  if (!stream->Read(&frame)) {
    return absl::UnavailableError(
        "the stream ended before the listener's challenge");
  }
  if (!frame.has_challenge() ||
      frame.challenge().nonce().size() != kNonceBytes) {
    return absl::InvalidArgumentError(
        "the listener's first frame is not a valid challenge");
  }
  const std::string listener_nonce = frame.challenge().nonce();
  if (!ProofMatches(frame.challenge().proof(), secret, ProofRole::kListener,
                    connection_id, *dialer_nonce, listener_nonce)) {
    return absl::PermissionDeniedError(
        "the listener's proof is wrong: it does not hold the connection's "
        "secret");
  }
  orglink::Frame proof;
  proof.mutable_proof()->set_proof(HandshakeProof(secret, ProofRole::kDialer,
                                                  connection_id, *dialer_nonce,
                                                  listener_nonce));
  if (!stream->Write(proof)) {
    return absl::UnavailableError("the stream ended before the proof");
  }
  if (!stream->Read(&frame)) {
    return absl::UnavailableError(
        "the stream ended before the listener's ready");
  }
  if (!frame.has_ready()) {
    return absl::InvalidArgumentError(
        "the listener's second frame is not a ready");
  }
  return absl::OkStatus();
}

}  // namespace orgsync::grpc_internal

#endif  // ORGSYNC_LIB_TRANSPORT_GRPC_HANDSHAKE_H_
