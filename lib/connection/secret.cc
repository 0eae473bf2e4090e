// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "connection/secret.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace orgsync::internal {
namespace {

absl::StatusOr<std::string> FromDevUrandom(size_t count) {
  std::FILE* f = std::fopen("/dev/urandom", "rb");
  if (f == nullptr) {
    return absl::UnavailableError("cannot open /dev/urandom for a secret");
  }
  std::string out(count, '\0');
  const size_t got = std::fread(out.data(), 1, count, f);
  std::fclose(f);
  if (got != count) {
    return absl::UnavailableError("short read from /dev/urandom");
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<std::string> CsprngBytes(size_t count) {
  std::string out(count, '\0');
  size_t filled = 0;
  while (filled < count) {
    const ssize_t n = getrandom(out.data() + filled, count - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Kernels before 3.17 lack the system call.
      if (errno == ENOSYS) return FromDevUrandom(count);
      return absl::InternalError(
          absl::StrCat("getrandom failed with errno ", errno));
    }
    filled += static_cast<size_t>(n);
  }
  return out;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

absl::StatusOr<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return absl::InvalidArgumentError("hex string has an odd length");
  }
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexValue(hex[i]);
    const int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("not a hex digit at position ", hi < 0 ? i : i + 1));
    }
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Lengths are not secret (every secret is kSecretBytes long); contents
  // are, so every byte is looked at whatever the earlier ones were. The
  // volatile accumulator keeps the compiler from turning the loop into an
  // early exit.
  if (a.size() != b.size()) return false;
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = diff | (static_cast<uint8_t>(a[i]) ^ static_cast<uint8_t>(b[i]));
  }
  return diff == 0;
}

}  // namespace orgsync::internal
