// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Order-preserving key encodings for Storage keys.
//
// Storage orders keys bytewise, so every component that wants "oldest first",
// "all keys of this record" or "everything between two times" builds keys
// whose byte order is the order it needs:
//   * unsigned numbers: fixed-width big-endian (AppendUint64);
//   * signed numbers (times in Unix micros): big-endian with the sign bit
//     flipped, so negatives sort before positives (AppendInt64);
//   * strings inside a composite key: escaped and terminated
//     (AppendOrderedString), so that "ab" + x never collides with "a" + y and
//     the composite sorts by its first string, then its second, and so on.
//     A 0x00 byte is written as 0x00 0xFF and the string ends with 0x00 0x01;
//     every other byte is copied. Comparing two encodings bytewise gives the
//     same answer as comparing the strings bytewise.
// The Consume* functions read a component back from the front of a view and
// advance it; they return false (leaving the view unspecified) on malformed
// input.
//
// Thread-safety: every function here is pure.

#ifndef ORGSYNC_LIB_INTERNAL_KEYS_H_
#define ORGSYNC_LIB_INTERNAL_KEYS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "internal/strings.h"

namespace orgsync::internal {

inline constexpr size_t kUint64KeyBytes = 8;

inline void AppendUint64(std::string* out, uint64_t value) {
  char bytes[kUint64KeyBytes];
  for (int i = 7; i >= 0; --i) {
    bytes[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  out->append(bytes, kUint64KeyBytes);
}

inline std::string EncodeUint64(uint64_t value) {
  std::string out;
  AppendUint64(&out, value);
  return out;
}

inline bool ConsumeUint64(std::string_view* in, uint64_t* value) {
  if (in->size() < kUint64KeyBytes) return false;
  uint64_t result = 0;
  for (size_t i = 0; i < kUint64KeyBytes; ++i) {
    result = (result << 8) | static_cast<uint8_t>((*in)[i]);
  }
  in->remove_prefix(kUint64KeyBytes);
  *value = result;
  return true;
}

// Decodes a view that holds exactly one encoded uint64.
inline bool DecodeUint64(std::string_view in, uint64_t* value) {
  return in.size() == kUint64KeyBytes && ConsumeUint64(&in, value);
}

inline void AppendInt64(std::string* out, int64_t value) {
  AppendUint64(out, static_cast<uint64_t>(value) ^ (uint64_t{1} << 63));
}

inline bool ConsumeInt64(std::string_view* in, int64_t* value) {
  uint64_t raw = 0;
  if (!ConsumeUint64(in, &raw)) return false;
  *value = static_cast<int64_t>(raw ^ (uint64_t{1} << 63));
  return true;
}

inline void AppendOrderedString(std::string* out, std::string_view s) {
  for (char c : s) {
    out->push_back(c);
    if (c == '\0') out->push_back('\xff');
  }
  out->push_back('\0');
  out->push_back('\x01');
}

inline bool ConsumeOrderedString(std::string_view* in, std::string* s) {
  std::string result;
  for (size_t i = 0; i < in->size(); ++i) {
    const char c = (*in)[i];
    if (c != '\0') {
      result.push_back(c);
      continue;
    }
    if (i + 1 >= in->size()) return false;
    const char next = (*in)[i + 1];
    if (next == '\xff') {
      result.push_back('\0');
      ++i;
    } else if (next == '\x01') {
      in->remove_prefix(i + 2);
      *s = std::move(result);
      return true;
    } else {
      return false;
    }
  }
  return false;  // no terminator
}

// The smallest key greater than every key that starts with `prefix`, for use
// as an exclusive upper bound. Empty if there is none (prefix all 0xff).
inline std::string PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    const auto last = static_cast<uint8_t>(out.back());
    if (last != 0xff) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

inline bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// The longest connection (or other scope) id a key prefix accepts.
inline constexpr size_t kMaxScopeIdBytes = 128;

// A scope id goes verbatim into key prefixes such as "q/<id>/": it must not
// be empty, must not contain '/' (which would let one id's keys fall inside
// another's prefix) and must not contain control bytes.
inline absl::Status ValidateScopeId(std::string_view id,
                                    std::string_view what) {
  if (id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(what), " must not be empty"));
  }
  if (id.size() > kMaxScopeIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(what), " is ", id.size(), " bytes; at most ",
                     kMaxScopeIdBytes, " are allowed"));
  }
  for (char c : id) {
    const auto byte = static_cast<uint8_t>(c);
    if (c == '/' || byte < 0x20 || byte == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(ToAbsl(what), " '", ToAbsl(id),
                       "' contains '/' or a control character"));
    }
  }
  return absl::OkStatus();
}

// "<component>/<id>/", e.g. ScopePrefix('q', "c1") == "q/c1/".
inline std::string ScopePrefix(char component, std::string_view id) {
  std::string out;
  out.reserve(id.size() + 3);
  out.push_back(component);
  out.push_back('/');
  out.append(id);
  out.push_back('/');
  return out;
}

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_INTERNAL_KEYS_H_
