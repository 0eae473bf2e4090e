// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// 64-bit FNV-1a over an explicit byte encoding. Fingerprints are exchanged
// between processes built by different compilers on different machines, so
// they cannot come from std::hash (unspecified, and salted by some
// implementations) nor from an in-memory layout: every integer is written
// little-endian with a fixed width and every string is length-prefixed, which
// also keeps ("ab","c") and ("a","bc") apart.

#ifndef ORGSYNC_LIB_SCHEMA_FNV1A_H_
#define ORGSYNC_LIB_SCHEMA_FNV1A_H_

#include <cstdint>
#include <string_view>

namespace orgsync::internal {

class Fnv1a64 {
 public:
  static constexpr uint64_t kOffsetBasis = 0xcbf29ce484222325ULL;
  static constexpr uint64_t kPrime = 0x100000001b3ULL;

  void AddBytes(std::string_view bytes) {
    for (char c : bytes) {
      hash_ ^= static_cast<uint8_t>(c);
      hash_ *= kPrime;
    }
  }
  void AddU8(uint8_t v) { AddBytes(std::string_view(reinterpret_cast<const char*>(&v), 1)); }
  void AddU32(uint32_t v) {
    for (int i = 0; i < 4; ++i) AddU8(static_cast<uint8_t>(v >> (8 * i)));
  }
  void AddU64(uint64_t v) {
    for (int i = 0; i < 8; ++i) AddU8(static_cast<uint8_t>(v >> (8 * i)));
  }
  void AddString(std::string_view s) {
    AddU64(s.size());
    AddBytes(s);
  }

  uint64_t hash() const { return hash_; }

 private:
  uint64_t hash_ = kOffsetBasis;
};

// FNV-1a of raw bytes, without any framing.
inline uint64_t Fnv1a64Of(std::string_view bytes) {
  Fnv1a64 h;
  h.AddBytes(bytes);
  return h.hash();
}

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_SCHEMA_FNV1A_H_
