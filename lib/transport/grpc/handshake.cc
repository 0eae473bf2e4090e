// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "transport/grpc/handshake.h"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "connection/hmac_sha256.h"
#include "connection/secret.h"

namespace orgsync::grpc_internal {
namespace {

// Each part as a 4-byte big-endian length and its bytes, so that no two
// different lists of parts make the same input.
std::string LengthPrefixed(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) {
    const auto size = static_cast<uint32_t>(part.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((size >> shift) & 0xff));
    }
    out.append(part);
  }
  return out;
}

}  // namespace

std::string HandshakeProof(std::string_view secret, ProofRole role,
                           std::string_view connection_id,
                           std::string_view dialer_nonce,
                           std::string_view listener_nonce) {
  const std::string_view label = role == ProofRole::kListener
                                     ? "orgsync grpc listener v1"
                                     : "orgsync grpc dialer v1";
  return internal::HmacSha256(
      secret,
      LengthPrefixed({label, connection_id, dialer_nonce, listener_nonce}));
}

bool ProofMatches(std::string_view proof, std::string_view secret,
                  ProofRole role, std::string_view connection_id,
                  std::string_view dialer_nonce,
                  std::string_view listener_nonce) {
  return internal::ConstantTimeEquals(
      proof, HandshakeProof(secret, role, connection_id, dialer_nonce,
                            listener_nonce));
}

}  // namespace orgsync::grpc_internal
