// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Invitation secrets: random bytes from the operating system's CSPRNG, hex
// encoding for handing them over out of band, and a comparison whose time
// does not depend on where two secrets differ (so a peer cannot guess a
// secret byte by byte from response times).

#ifndef ORGSYNC_LIB_CONNECTION_SECRET_H_
#define ORGSYNC_LIB_CONNECTION_SECRET_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace orgsync::internal {

// Bytes of an invitation secret: 256 bits.
inline constexpr size_t kSecretBytes = 32;

// `count` bytes from getrandom(2) (falling back to /dev/urandom). Internal
// or Unavailable if the system cannot provide them.
[[nodiscard]] absl::StatusOr<std::string> CsprngBytes(size_t count);

// Lowercase hex.
std::string HexEncode(std::string_view bytes);

// Accepts upper and lower case; InvalidArgument for odd lengths or non-hex
// characters.
[[nodiscard]] absl::StatusOr<std::string> HexDecode(std::string_view hex);

// True iff equal. Runs in time that depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_CONNECTION_SECRET_H_
