// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// SHA-256 and HMAC-SHA256 against the published test vectors: FIPS 180-4's
// examples (NIST CSRC "SHA256.pdf") and RFC 4231 section 4.

#include "connection/hmac_sha256.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "connection/secret.h"
#include "connection/sha256_blocks.h"

namespace orgsync::internal::hmac_sha256_test {
namespace {

std::string Bytes(std::string_view hex) {
  absl::StatusOr<std::string> bytes = HexDecode(hex);
  REQUIRE(bytes.ok());
  return *bytes;
}

TEST_CASE("R1, partner trust: SHA-256 gives the FIPS 180-4 digests") {
  CHECK(HexEncode(Sha256Digest("")) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(HexEncode(Sha256Digest("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(HexEncode(Sha256Digest(
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // A million 'a', fed in uneven pieces: the block buffering must not
  // change the digest.
  Sha256 hash;
  const std::string piece(997, 'a');
  size_t fed = 0;
  while (fed < 1000000) {
    const size_t take = std::min<size_t>(piece.size(), 1000000 - fed);
    hash.Update(std::string_view(piece).substr(0, take));
    fed += take;
  }
  CHECK(HexEncode(hash.Finish()) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("R1, partner trust: HMAC-SHA256 gives the RFC 4231 tags") {
  // Test case 1.
  CHECK(HexEncode(HmacSha256(std::string(20, '\x0b'), "Hi There")) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: a key shorter than the output.
  CHECK(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 3.
  CHECK(
      HexEncode(HmacSha256(std::string(20, '\xaa'), std::string(50, '\xdd'))) ==
      "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  // Test case 4.
  CHECK(HexEncode(HmacSha256(
            Bytes("0102030405060708090a0b0c0d0e0f10111213141516171819"),
            std::string(50, '\xcd'))) ==
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  // Test cases 6 and 7: a key longer than the block is hashed first.
  const std::string long_key(131, '\xaa');
  CHECK(HexEncode(HmacSha256(
            long_key,
            "Test Using Larger Than Block-Size Key - Hash Key First")) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  CHECK(HexEncode(HmacSha256(
            long_key,
            "This is a test using a larger than block-size key and a larger "
            "than block-size data. The key needs to be hashed before being "
            "used by the HMAC algorithm.")) ==
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST_CASE("R1, partner trust: the CPU's SHA instructions and the portable "
          "rounds compress blocks alike") {
  std::mt19937_64 random(20261203);
  std::vector<uint8_t> blocks(64 * 9);
  for (int trial = 0; trial < 200; ++trial) {
    Sha256State portable;
    for (uint32_t& word : portable) word = static_cast<uint32_t>(random());
    for (uint8_t& byte : blocks) byte = static_cast<uint8_t>(random());
    const size_t count = 1 + static_cast<size_t>(random() % 9);
    Sha256State cpu = portable;
    Sha256CompressPortable(&portable, blocks.data(), count);
    if (!Sha256CompressWithCpu(&cpu, blocks.data(), count)) {
      WARN("this CPU has no SHA extensions: only the portable rounds ran");
      return;
    }
    REQUIRE(cpu == portable);
  }
}

}  // namespace
}  // namespace orgsync::internal::hmac_sha256_test
