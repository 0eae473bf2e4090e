// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// SHA-256's compression function (FIPS 180-4 section 6.2.2) over whole
// 64-byte blocks: written out portably, and with the x86 SHA extensions
// where the CPU has them. Verify hashes every record of both orgs
// (engine/verify_digests.cc), and the portable rounds were a sixth of its
// time; the CPU's instructions do a block several times faster.
//
// Thread-safety: pure functions.

#ifndef ORGSYNC_LIB_CONNECTION_SHA256_BLOCKS_H_
#define ORGSYNC_LIB_CONNECTION_SHA256_BLOCKS_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace orgsync::internal {

using Sha256State = std::array<uint32_t, 8>;

// Compresses `count` blocks of 64 bytes into `state`, the fastest way this
// CPU has.
void Sha256CompressBlocks(Sha256State* state, const uint8_t* blocks,
                          size_t count);

// The two ways, for tests that compare them. The CPU's way returns false,
// having done nothing, on a CPU (or a build) without the SHA extensions.
void Sha256CompressPortable(Sha256State* state, const uint8_t* blocks,
                            size_t count);
bool Sha256CompressWithCpu(Sha256State* state, const uint8_t* blocks,
                           size_t count);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_CONNECTION_SHA256_BLOCKS_H_
