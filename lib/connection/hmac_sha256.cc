// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "connection/hmac_sha256.h"

#include <algorithm>
#include <cstring>

#include "connection/sha256_blocks.h"

namespace orgsync::internal {
namespace {

// Section 5.3.3: the first 32 bits of the fractional parts of the square
// roots of the first 8 primes.
constexpr std::array<uint32_t, 8> kInitial = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

}  // namespace

Sha256::Sha256() : state_(kInitial), buffer_{} {}

void Sha256::Update(std::string_view bytes) {
  const auto* in = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t left = bytes.size();
  total_bytes_ += left;
  if (buffered_ > 0) {
    const size_t take = std::min(left, kBlockBytes - buffered_);
    if (take > 0) std::memcpy(buffer_.data() + buffered_, in, take);
    buffered_ += take;
    in += take;
    left -= take;
    if (buffered_ < kBlockBytes) return;
    Sha256CompressBlocks(&state_, buffer_.data(), 1);
    buffered_ = 0;
  }
  // Whole blocks straight from the input.
  const size_t blocks = left / kBlockBytes;
  if (blocks > 0) Sha256CompressBlocks(&state_, in, blocks);
  in += blocks * kBlockBytes;
  left -= blocks * kBlockBytes;
  if (left > 0) std::memcpy(buffer_.data(), in, left);
  buffered_ = left;
}

std::string Sha256::Finish() {
  std::string digest(kSha256Bytes, '\0');
  FinishInto(digest.data());
  return digest;
}

void Sha256::FinishInto(char* out) {
  // Section 5.1.1: a 1 bit, zeros up to 56 bytes mod 64, then the message
  // length in bits as a big-endian 64-bit number.
  const uint64_t bits = total_bytes_ * 8;
  static constexpr uint8_t kPadding[kBlockBytes] = {0x80};
  const size_t pad =
      buffered_ < 56 ? 56 - buffered_ : kBlockBytes + 56 - buffered_;
  Update(std::string_view(reinterpret_cast<const char*>(kPadding), pad));
  char length[8];
  for (int i = 0; i < 8; ++i) {
    length[i] = static_cast<char>(bits >> (56 - 8 * i));
  }
  Update(std::string_view(length, sizeof(length)));
  for (size_t i = 0; i < state_.size(); ++i) {
    out[4 * i] = static_cast<char>(state_[i] >> 24);
    out[4 * i + 1] = static_cast<char>(state_[i] >> 16);
    out[4 * i + 2] = static_cast<char>(state_[i] >> 8);
    out[4 * i + 3] = static_cast<char>(state_[i]);
  }
}

std::string Sha256Digest(std::string_view bytes) {
  Sha256 hash;
  hash.Update(bytes);
  return hash.Finish();
}

std::string HmacSha256(std::string_view key, std::string_view message) {
  // RFC 2104: a key longer than the block is hashed first; then
  // H((K ^ opad) || H((K ^ ipad) || message)).
  constexpr size_t kBlock = 64;
  std::string block_key =
      key.size() > kBlock ? Sha256Digest(key) : std::string(key);
  block_key.resize(kBlock, '\0');
  std::string inner_pad(kBlock, '\0');
  std::string outer_pad(kBlock, '\0');
  for (size_t i = 0; i < kBlock; ++i) {
    inner_pad[i] = static_cast<char>(block_key[i] ^ 0x36);
    outer_pad[i] = static_cast<char>(block_key[i] ^ 0x5c);
  }
  Sha256 inner;
  inner.Update(inner_pad);
  inner.Update(message);
  Sha256 outer;
  outer.Update(outer_pad);
  outer.Update(inner.Finish());
  return outer.Finish();
}

}  // namespace orgsync::internal
