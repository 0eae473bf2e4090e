// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), for the handshake's
// proofs that each side knows the invitation secret (handshake.cc). Written
// here because neither Abseil nor the standard library has a keyed MAC, and
// OpenSSL is not one of orgsync's dependencies.
//
// Thread-safety: pure functions; the Sha256 object is not shared.

#ifndef ORGSYNC_LIB_CONNECTION_HMAC_SHA256_H_
#define ORGSYNC_LIB_CONNECTION_HMAC_SHA256_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace orgsync::internal {

// Bytes of a SHA-256 digest, and so of an HMAC-SHA256 tag.
inline constexpr size_t kSha256Bytes = 32;

// Incremental SHA-256: Update() any number of times, then Finish() once.
class Sha256 {
 public:
  Sha256();
  void Update(std::string_view bytes);
  // The digest of everything passed to Update(), as 32 raw bytes.
  std::string Finish();
  // The same into `out` (kSha256Bytes bytes), for a caller that hashes
  // many small messages (Verify, a record at a time) and keeps part of
  // each digest.
  void FinishInto(char* out);

 private:
  static constexpr size_t kBlockBytes = 64;
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, kBlockBytes> buffer_;
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// SHA-256 of `bytes`, 32 raw bytes.
std::string Sha256Digest(std::string_view bytes);

// HMAC-SHA256 of `message` under `key` (any length), 32 raw bytes.
std::string HmacSha256(std::string_view key, std::string_view message);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_CONNECTION_HMAC_SHA256_H_
