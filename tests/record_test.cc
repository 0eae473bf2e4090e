// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Record values: FormatFieldValue for every alternative, and the protobuf
// form of values and stored records (lib/records/record_codec.h) that the
// Storage-backed store and the wire rely on.

#include "orgsync/record.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/time/time.h"
#include "proto/record_state.pb.h"
#include "records/record_codec.h"
#include "records/record_table.h"

namespace orgsync::record_test {
namespace {

const absl::Time kNewYear = absl::FromUnixSeconds(1767225600);

TEST_CASE("FormatFieldValue renders every alternative", "[records]") {
  CHECK(FormatFieldValue(std::monostate{}) == "(null)");
  CHECK(FormatFieldValue(std::string("Acme, Inc.")) == "Acme, Inc.");
  CHECK(FormatFieldValue(std::string()).empty());
  CHECK(FormatFieldValue(int64_t{-42}) == "-42");
  CHECK(FormatFieldValue(std::numeric_limits<int64_t>::max()) ==
        "9223372036854775807");
  CHECK(FormatFieldValue(1.5) == "1.5");
  CHECK(FormatFieldValue(0.1) == "0.1");
  CHECK(FormatFieldValue(true) == "true");
  CHECK(FormatFieldValue(false) == "false");
  CHECK(FormatFieldValue(Binary{"abc"}) == "<3 bytes>");
  CHECK(FormatFieldValue(Binary{}) == "<0 bytes>");
  CHECK(FormatFieldValue(kNewYear) == "2026-01-01T00:00:00Z");
  CHECK(FormatFieldValue(kNewYear + absl::Milliseconds(250)) ==
        "2026-01-01T00:00:00.25Z");
  CHECK(FormatFieldValue(Reference{"P-000000000001"}) == "->P-000000000001");
}

TEST_CASE("FieldValue survives its protobuf form, every alternative",
          "[records]") {
  const FieldValue values[] = {
      std::monostate{},
      std::string("text"),
      int64_t{-7},
      2.25,
      true,
      false,
      Binary{std::string("\0\1\2", 3)},
      kNewYear + absl::Microseconds(3),
      Reference{"P-1"},
  };
  for (const FieldValue& value : values) {
    INFO(FormatFieldValue(value));
    proto::FieldValue encoded;
    internal::FieldValueToProto(value, &encoded);
    CHECK(internal::FieldValueFromProto(encoded) == value);
  }
  // Null is the unset oneof; text "" is not null.
  proto::FieldValue encoded;
  internal::FieldValueToProto(std::monostate{}, &encoded);
  CHECK(encoded.kind_case() == proto::FieldValue::KIND_NOT_SET);
  internal::FieldValueToProto(std::string(), &encoded);
  CHECK(encoded.kind_case() == proto::FieldValue::kText);
}

TEST_CASE("A FieldValue's encoding, appended without a message, is the "
          "bytes its protobuf message serializes to",
          "[records]") {
  const FieldValue values[] = {
      std::monostate{},
      std::string(),
      std::string("text"),
      std::string(300, 'x'),  // a two-byte length
      int64_t{0},
      int64_t{-7},
      std::numeric_limits<int64_t>::min(),
      std::numeric_limits<int64_t>::max(),
      0.0,
      -0.0,
      2.25,
      true,
      false,
      Binary{},
      Binary{std::string("\0\1\2", 3)},
      absl::UnixEpoch(),
      kNewYear + absl::Microseconds(3),
      absl::UnixEpoch() - absl::Microseconds(1),
      Reference{""},
      Reference{"P-1"},
  };
  for (const FieldValue& value : values) {
    INFO(FormatFieldValue(value));
    proto::FieldValue message;
    internal::FieldValueToProto(value, &message);
    std::string appended = "prefix";
    internal::AppendFieldValueEncoding(value, &appended);
    CHECK(appended == "prefix" + message.SerializeAsString());
  }
}

TEST_CASE("Times are kept to the microsecond", "[records]") {
  const absl::Time fine = kNewYear + absl::Nanoseconds(1500);
  CHECK(internal::TruncateToMicros(fine) == kNewYear + absl::Microseconds(1));
  proto::FieldValue encoded;
  internal::FieldValueToProto(fine, &encoded);
  CHECK(encoded.time_micros() == absl::ToUnixMicros(kNewYear) + 1);
}

TEST_CASE("A stored record survives its protobuf form", "[records]") {
  internal::StoredRecord stored;
  stored.record = Record{
      .object = "Contact",
      .id = "P-000000000002",
      .fields = {{"AccountId", Reference{"P-000000000001"}},
                 {"Email", std::string("ada@example.com")},
                 {"Fax", std::monostate{}}},
      .audit = {.created_by = "alice",
                .created_date = kNewYear,
                .last_modified_by = "bob",
                .last_modified_date = kNewYear + absl::Hours(1)},
      .version = 7,
      .deleted = true,
  };
  stored.deletion = 3;
  const proto::StoredRecord encoded = internal::StoredRecordToProto(stored);
  auto decoded = internal::StoredRecordFromProto(encoded);
  REQUIRE(decoded.ok());
  CHECK(*decoded == stored);
}

TEST_CASE("A stored record naming a field twice is DataLoss", "[records]") {
  proto::StoredRecord encoded;
  encoded.set_object("Account");
  encoded.set_id("a");
  encoded.add_fields()->set_name("Name");
  encoded.add_fields()->set_name("Name");
  auto decoded = internal::StoredRecordFromProto(encoded);
  CHECK(absl::IsDataLoss(decoded.status()));
}

}  // namespace
}  // namespace orgsync::record_test
