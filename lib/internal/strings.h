// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Debian 12 builds Abseil with ABSL_OPTION_USE_STD_STRING_VIEW=0, so
// absl::string_view is its own type and absl::StrCat or absl::Status do not
// take a std::string_view. orgsync's API uses std::string_view; this is the
// one bridge between the two.

#ifndef ORGSYNC_LIB_INTERNAL_STRINGS_H_
#define ORGSYNC_LIB_INTERNAL_STRINGS_H_

#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace orgsync::internal {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

inline std::string_view FromAbsl(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

}  // namespace orgsync::internal

// A string literal as a `const std::string&` with static storage, made once
// on first use (thread-safe). The public *Name() functions return names
// this way: a std::string composes with fmt, with absl::StrCat (which takes
// no std::string_view on Debian) and with `== "literal"` alike.
#define ORGSYNC_STATIC_STRING(literal)                          \
  ([]() -> const std::string& {                                 \
    static const std::string* const kStatic = new std::string(literal); \
    return *kStatic;                                            \
  }())

#endif  // ORGSYNC_LIB_INTERNAL_STRINGS_H_
