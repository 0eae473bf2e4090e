// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// CapturedPayload writes a captured insert's or update's queue payload
// without building a RecordChange: the bytes must parse into the message
// RecordSync::PlanCapture built and serialized before, field for field,
// and the send path's reader must take them as a plain change.

#include "engine/captured_payload.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/util/message_differencer.h"
#include "proto/wire.pb.h"
#include "records/record_codec.h"
#include "wire/queued_change.h"

namespace orgsync::internal::captured_payload_test {
namespace {

using google::protobuf::util::MessageDifferencer;

struct Capture {
  proto::QueueAction action = proto::GENERIC_UPDATE;
  std::string object = "Account";
  std::string id = "P-000000000001";
  std::vector<std::pair<std::string, FieldValue>> values;
  std::vector<std::string> changed;
  std::optional<AuditFields> audit;
  uint64_t version = 2;
  int64_t micros = 1'700'000'000'000'000;
  bool forwarded = false;
};

// The message as PlanCapture filled it before CapturedPayload.
proto::RecordChange AsMessage(const Capture& c) {
  proto::RecordChange message;
  message.set_action(c.action);
  message.set_object(c.object);
  message.set_sender_record_id(c.id);
  message.set_sender_version(c.version);
  message.set_last_modified_micros(c.micros);
  for (const auto& [field, value] : c.values) {
    FieldValueToProto(value, &(*message.mutable_fields())[field]);
  }
  for (const std::string& field : c.changed) message.add_changed_fields(field);
  if (c.audit.has_value()) {
    AuditFieldsToProto(*c.audit, message.mutable_audit());
  }
  message.set_forwarded(c.forwarded);
  return message;
}

std::string Encode(const Capture& c) {
  CapturedPayload payload(c.action, c.object, c.id);
  for (const auto& [field, value] : c.values) payload.AddValue(field, value);
  for (const std::string& field : c.changed) payload.AddChangedField(field);
  if (c.audit.has_value()) payload.SetAudit(*c.audit);
  return std::move(payload).Finish(c.version, c.micros, c.forwarded);
}

void RequireSameAsMessage(const Capture& c) {
  const std::string encoded = Encode(c);
  proto::RecordChange parsed;
  REQUIRE(parsed.ParseFromString(encoded));
  const proto::RecordChange expected = AsMessage(c);
  INFO(parsed.DebugString() << "\nexpected:\n" << expected.DebugString());
  REQUIRE(MessageDifferencer::Equals(parsed, expected));
  // The sender puts it on the wire as it is queued (wire/queued_change.h),
  // but for a forward, which goes the long way as before.
  const std::optional<wire::QueuedChange> plain =
      wire::ReadQueuedChange(encoded);
  REQUIRE(plain.has_value() == !c.forwarded);
  if (!plain.has_value()) return;
  CHECK(plain->object == c.object);
  CHECK(plain->sender_record_id == c.id);
  CHECK(plain->sender_version == c.version);
}

std::vector<std::pair<std::string, FieldValue>> EveryKind() {
  return {{"Blob", Binary{std::string("a\0b", 3)}},
          {"EmptyBlob", Binary{}},
          {"Flag", true},
          {"FlagOff", false},
          {"Count", int64_t{-1}},
          {"Zero", int64_t{0}},
          {"Max", std::numeric_limits<int64_t>::max()},
          {"Min", std::numeric_limits<int64_t>::min()},
          {"Amount", 2.5},
          {"NegativeZero", -0.0},
          {"At", absl::FromUnixMicros(1'700'000'000'123'456)},
          {"Before1970", absl::FromUnixMicros(-5)},
          {"Name", std::string("Acme \xc3\xa9")},
          {"EmptyText", std::string()},
          {"Parent", Reference{"P-000000000009"}},
          {"Nothing", std::monostate{}}};
}

TEST_CASE("A captured update's payload parses into the message Capture "
          "built before, for every kind of value, and is sent as queued",
          "[engine]") {
  Capture c;
  c.values = EveryKind();
  for (const auto& [field, value] : c.values) c.changed.push_back(field);
  RequireSameAsMessage(c);

  c.forwarded = true;
  RequireSameAsMessage(c);
}

TEST_CASE("A captured insert's payload parses into the message Capture built "
          "before, with audit fields set or empty, and versions and times at "
          "their edges",
          "[engine]") {
  Capture c;
  c.action = proto::GENERIC_INSERT;
  c.version = 1;
  c.values = EveryKind();
  RequireSameAsMessage(c);

  c.audit = AuditFields{.created_by = "005-owner",
                        .created_date = absl::FromUnixMicros(17),
                        .last_modified_by = "005-other",
                        .last_modified_date = absl::FromUnixMicros(-3)};
  RequireSameAsMessage(c);
  // An audit message with nothing in it is still present (R35).
  c.audit = AuditFields{};
  RequireSameAsMessage(c);

  for (const int64_t micros :
       {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::min(),
        std::numeric_limits<int64_t>::max()}) {
    c.micros = micros;
    RequireSameAsMessage(c);
  }
  c.version = std::numeric_limits<uint64_t>::max();
  RequireSameAsMessage(c);
  c.values.clear();
  RequireSameAsMessage(c);
}

}  // namespace
}  // namespace orgsync::internal::captured_payload_test
