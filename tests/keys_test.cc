// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "internal/keys.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace orgsync::internal::keys_test {
namespace {

TEST_CASE("Keys: uint64 encoding round-trips and sorts like the numbers") {
  std::mt19937_64 rng(7);
  std::vector<uint64_t> values = {
      0, 1, 255, 256, 65535, std::numeric_limits<uint64_t>::max()};
  for (int i = 0; i < 500; ++i) values.push_back(rng() >> (rng() % 64));
  for (uint64_t a : values) {
    const std::string ea = EncodeUint64(a);
    REQUIRE(ea.size() == kUint64KeyBytes);
    uint64_t back = 0;
    REQUIRE(DecodeUint64(ea, &back));
    CHECK(back == a);
    for (uint64_t b : {values[0], values[3], values[10], values[100]}) {
      CHECK((ea < EncodeUint64(b)) == (a < b));
    }
  }
  uint64_t ignored = 0;
  CHECK_FALSE(DecodeUint64("short", &ignored));
  CHECK_FALSE(DecodeUint64(EncodeUint64(1) + "x", &ignored));
}

TEST_CASE("Keys: int64 encoding sorts negatives before positives") {
  const std::vector<int64_t> values = {
      std::numeric_limits<int64_t>::min(), -1000000, -1, 0, 1, 1767225600000000,
      std::numeric_limits<int64_t>::max()};
  for (size_t i = 0; i < values.size(); ++i) {
    std::string ei;
    AppendInt64(&ei, values[i]);
    std::string_view view = ei;
    int64_t back = 0;
    REQUIRE(ConsumeInt64(&view, &back));
    CHECK(back == values[i]);
    CHECK(view.empty());
    for (size_t j = 0; j < values.size(); ++j) {
      std::string ej;
      AppendInt64(&ej, values[j]);
      CHECK((ei < ej) == (i < j));
    }
  }
}

TEST_CASE("Keys: ordered strings keep tuple order and never collide") {
  const std::vector<std::string> parts = {"",
                                          "a",
                                          "ab",
                                          std::string("a\0", 2),
                                          std::string("a\0b", 3),
                                          std::string("\0", 1),
                                          "\xff",
                                          "a\xff",
                                          "b",
                                          std::string("\0\xff", 2)};
  for (const std::string& a1 : parts) {
    for (const std::string& a2 : parts) {
      std::string ea;
      AppendOrderedString(&ea, a1);
      AppendOrderedString(&ea, a2);
      std::string_view view = ea;
      std::string back1, back2;
      REQUIRE(ConsumeOrderedString(&view, &back1));
      REQUIRE(ConsumeOrderedString(&view, &back2));
      CHECK(view.empty());
      CHECK(back1 == a1);
      CHECK(back2 == a2);
      for (const std::string& b1 : parts) {
        for (const std::string& b2 : parts) {
          std::string eb;
          AppendOrderedString(&eb, b1);
          AppendOrderedString(&eb, b2);
          CHECK((ea < eb) == (std::tie(a1, a2) < std::tie(b1, b2)));
          CHECK((ea == eb) == (std::tie(a1, a2) == std::tie(b1, b2)));
        }
      }
    }
  }
}

TEST_CASE("Keys: one ordered string is never a prefix of another") {
  // Index scans rely on this: the keys of object "a" must not include those
  // of object "ab" or "a\0".
  std::string a, ab, a_nul;
  AppendOrderedString(&a, "a");
  AppendOrderedString(&ab, "ab");
  AppendOrderedString(&a_nul, std::string("a\0", 2));
  CHECK_FALSE(StartsWith(ab, a));
  CHECK_FALSE(StartsWith(a_nul, a));
  CHECK_FALSE(StartsWith(a, ab));
}

TEST_CASE("Keys: malformed ordered strings are rejected") {
  std::string out;
  for (std::string bad : {std::string("abc"), std::string("ab\0", 3),
                          std::string("a\0\x02", 3)}) {
    std::string_view view = bad;
    CHECK_FALSE(ConsumeOrderedString(&view, &out));
  }
}

TEST_CASE("Keys: PrefixSuccessor bounds exactly the keys with the prefix") {
  CHECK(PrefixSuccessor("q/c1/e") == "q/c1/f");
  CHECK(PrefixSuccessor(std::string("a\xff\xff", 3)) == "b");
  CHECK(PrefixSuccessor(std::string("\xff\xff", 2)).empty());
  const std::string prefix = "l/c/e";
  const std::string bound = PrefixSuccessor(prefix);
  CHECK(prefix + std::string(8, '\xff') < bound);
  CHECK(prefix < bound);
  CHECK_FALSE(std::string("l/c/f") < bound);
}

TEST_CASE("Keys: scope ids must be non-empty, short and free of '/'") {
  CHECK(ValidateScopeId("conn-1", "connection id").ok());
  CHECK(ValidateScopeId("", "connection id").code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(ValidateScopeId("a/b", "connection id").code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(ValidateScopeId(std::string("a\0b", 3), "connection id").code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(ValidateScopeId(std::string(kMaxScopeIdBytes + 1, 'x'), "id").code() ==
        absl::StatusCode::kInvalidArgument);
  const absl::Status status = ValidateScopeId("a/b", "connection id");
  CHECK(std::string(status.message()).find("connection id") !=
        std::string::npos);
  CHECK(ScopePrefix('q', "c1") == "q/c1/");
}

}  // namespace
}  // namespace orgsync::internal::keys_test
