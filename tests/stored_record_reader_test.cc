// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// ReadStoredRecord decodes what the encoder writes in one pass, and leaves
// every other input to the protobuf parser: for each input here its result
// must be the parser's, value for value and error for error.

#include "records/stored_record_reader.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "proto/record_state.pb.h"
#include "records/record_codec.h"

namespace orgsync::internal {
namespace {

// What the parser makes of `bytes`, as the store read records before.
absl::StatusOr<StoredRecord> ParserResult(const std::string& bytes) {
  proto::StoredRecord stored;
  if (!stored.ParseFromString(bytes)) {
    return absl::DataLossError("not a StoredRecord");
  }
  return StoredRecordFromProto(stored);
}

void RequireSameAsParser(const std::string& bytes) {
  const absl::StatusOr<StoredRecord> expected = ParserResult(bytes);
  const absl::StatusOr<StoredRecord> read =
      ReadStoredRecord(std::string("r\0d\0Account\0a-1", 15), bytes);
  REQUIRE(read.status().code() == expected.status().code());
  if (expected.ok()) REQUIRE(*read == *expected);
}

StoredRecord EveryKind() {
  StoredRecord stored;
  Record& record = stored.record;
  record.object = "Account";
  record.id = "a-000042";
  record.fields = {
      {"Active", true},
      {"Blank", FieldValue{}},
      {"Body", Binary{std::string("\xff\x00\xfe", 3)}},
      {"Closed", false},
      {"Count", int64_t{-7}},
      {"Empty", std::string()},
      {"Max", std::numeric_limits<int64_t>::max()},
      {"Min", std::numeric_limits<int64_t>::min()},
      {"Name", std::string("Zoë Ωmega")},
      {"Negative zero", -0.0},
      {"Parent", Reference{"a-000001"}},
      {"Rate", 1.25},
      {"Seen", absl::FromUnixMicros(-1'234'567)},
      {"When", absl::FromUnixMicros(1'700'000'000'123'456)},
  };
  record.audit = AuditFields{
      .created_by = "u-1",
      .created_date = absl::FromUnixMicros(1'600'000'000'000'000),
      .last_modified_by = "u-ü",
      .last_modified_date = absl::FromUnixMicros(1'700'000'000'000'001)};
  record.version = 300;
  record.deleted = true;
  stored.deletion = 9;
  return stored;
}

TEST_CASE("A stored record the encoder wrote reads back whole, every value "
          "kind, without the parser",
          "[records]") {
  const StoredRecord stored = EveryKind();
  const std::string bytes = StoredRecordToProto(stored).SerializeAsString();
  const absl::StatusOr<StoredRecord> read = ReadStoredRecord("k", bytes);
  REQUIRE(read.ok());
  REQUIRE(*read == stored);
  REQUIRE(std::signbit(std::get<double>(read->record.fields.at("Negative zero"))));
  RequireSameAsParser(bytes);

  StoredRecord bare;  // every field at its default: nothing on the wire
  REQUIRE(*ReadStoredRecord("k", StoredRecordToProto(bare).SerializeAsString()) ==
          bare);
  REQUIRE(*ReadStoredRecord("k", "") == bare);
}

TEST_CASE("A stored record written otherwise than the encoder does reads as "
          "the parser reads it",
          "[records]") {
  const StoredRecord stored = EveryKind();
  const proto::StoredRecord message = StoredRecordToProto(stored);
  const std::string bytes = message.SerializeAsString();

  // The parser merges a message field met twice and keeps the last of a
  // singular value; fields out of name order are still one record.
  proto::StoredRecord audit_again;
  audit_again.mutable_audit()->set_last_modified_by("u-2");
  audit_again.set_version(301);
  audit_again.set_object("Contact");
  RequireSameAsParser(bytes + audit_again.SerializeAsString());
  const StoredRecord merged =
      *ReadStoredRecord("k", bytes + audit_again.SerializeAsString());
  REQUIRE(merged.record.audit.created_by == "u-1");
  REQUIRE(merged.record.audit.last_modified_by == "u-2");
  REQUIRE(merged.record.version == 301);
  REQUIRE(merged.record.object == "Contact");

  proto::StoredRecord reversed = message;
  std::reverse(reversed.mutable_fields()->begin(),
               reversed.mutable_fields()->end());
  RequireSameAsParser(reversed.SerializeAsString());
  REQUIRE(*ReadStoredRecord("k", reversed.SerializeAsString()) == stored);

  // A value carrying two kinds: the parser keeps the last.
  proto::StoredRecord two_kinds;
  proto::StoredField* field = two_kinds.add_fields();
  field->set_name("Name");
  field->mutable_value()->set_text("first");
  std::string value_bytes = field->value().SerializeAsString();
  proto::FieldValue second;
  second.set_integer(5);
  value_bytes += second.SerializeAsString();
  std::string field_bytes;
  field_bytes += '\x0a';  // name, length-delimited
  field_bytes += static_cast<char>(4);
  field_bytes += "Name";
  field_bytes += '\x12';  // value, length-delimited
  field_bytes += static_cast<char>(value_bytes.size());
  field_bytes += value_bytes;
  std::string record_bytes = "\x1a";  // fields
  record_bytes += static_cast<char>(field_bytes.size());
  record_bytes += field_bytes;
  RequireSameAsParser(record_bytes);
  REQUIRE(ReadStoredRecord("k", record_bytes)->record.fields.at("Name") ==
          FieldValue{int64_t{5}});

  // A field this version does not know (number 15) is skipped.
  RequireSameAsParser(bytes + std::string("\x78\x01", 2));
  REQUIRE(*ReadStoredRecord("k", bytes + std::string("\x78\x01", 2)) == stored);
}

TEST_CASE("Bytes that are no stored record are DataLoss naming their key, "
          "as the parser finds them",
          "[records]") {
  const std::string bytes =
      StoredRecordToProto(EveryKind()).SerializeAsString();
  for (const size_t cut : std::vector<size_t>{1, 5, bytes.size() / 2,
                                              bytes.size() - 1}) {
    const std::string truncated = bytes.substr(0, cut);
    RequireSameAsParser(truncated);
    const absl::StatusOr<StoredRecord> read = ReadStoredRecord(
        std::string("r\0d\0Account\0a-1", 15), truncated);
    REQUIRE(absl::IsDataLoss(read.status()));
    REQUIRE(read.status().message().find("r|d|Account|a-1") !=
            std::string::npos);
  }

  // Invalid UTF-8 in a text value: the parser refuses the whole record.
  StoredRecord bad_text;
  bad_text.record.fields = {{"Name", std::string("\xc3\x28", 2)}};
  const std::string bad = StoredRecordToProto(bad_text).SerializeAsString();
  RequireSameAsParser(bad);
  REQUIRE(absl::IsDataLoss(ReadStoredRecord("k", bad).status()));

  // A field named twice.
  proto::StoredRecord twice;
  twice.add_fields()->set_name("Name");
  twice.add_fields()->set_name("Name");
  RequireSameAsParser(twice.SerializeAsString());
  REQUIRE(absl::IsDataLoss(
      ReadStoredRecord("k", twice.SerializeAsString()).status()));
}

TEST_CASE(
    "Records read one after another into one StoredRecord each read "
    "as on their own, whatever the one before held",
    "[records]") {
  const StoredRecord every = EveryKind();
  StoredRecord changed = every;  // kinds swapped, fields gone and new
  Record& record = changed.record;
  record.id = "a-000043";
  record.fields.erase("Active");
  record.fields.erase("When");
  record.fields["Name"] = Reference{"a-000002"};
  record.fields["Parent"] = std::string("text now");
  record.fields["Body"] = FieldValue{};
  record.fields["Aardvark"] = int64_t{1};
  record.fields["Zebra"] = Binary{"z"};
  record.audit = AuditFields{};
  record.version = 1;
  record.deleted = false;
  changed.deletion = 0;
  // A field this version does not know: the parser's to read.
  const std::string parsed_bytes =
      StoredRecordToProto(every).SerializeAsString() +
      std::string("\x78\x01", 2);

  StoredRecord into;
  for (const std::string& bytes : std::vector<std::string>{
           StoredRecordToProto(every).SerializeAsString(),
           StoredRecordToProto(changed).SerializeAsString(),
           StoredRecordToProto(every).SerializeAsString(), "",
           StoredRecordToProto(changed).SerializeAsString(), parsed_bytes,
           StoredRecordToProto(changed).SerializeAsString()}) {
    REQUIRE(ReadStoredRecordInto("k", bytes, &into).ok());
    REQUIRE(into == *ReadStoredRecord("k", bytes));
  }
  REQUIRE(into == changed);
  REQUIRE(absl::IsDataLoss(ReadStoredRecordInto("k", "\x0a", &into)));
}

}  // namespace
}  // namespace orgsync::internal
