// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The envelope codec (lib/wire/envelope_codec.h): round trips, tolerance of
// a newer peer's fields, the limits that keep hostile input cheap, and one
// case per rule of lib/proto/wire.proto.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/message_differencer.h"
#include "proto/wire.pb.h"
#include "wire/envelope_codec.h"

namespace orgsync::wire::wire_codec_test {
namespace {

using google::protobuf::util::MessageDifferencer;
using namespace std::string_literals;

// --- Hand-made wire bytes -------------------------------------------------

constexpr int kVarint = 0;
constexpr int kLengthDelimited = 2;
constexpr int kStartGroup = 3;
constexpr int kEndGroup = 4;

void PutVarint(std::string* out, uint64_t value) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

void PutTag(std::string* out, uint32_t field, int wire_type) {
  PutVarint(out, (uint64_t{field} << 3) | static_cast<uint64_t>(wire_type));
}

void PutBytes(std::string* out, uint32_t field, const std::string& bytes) {
  PutTag(out, field, kLengthDelimited);
  PutVarint(out, bytes.size());
  out->append(bytes);
}

// Serializes without the codec, so the version is whatever the test set.
std::string RawBytes(const proto::Envelope& envelope) {
  std::string bytes;
  REQUIRE(envelope.SerializeToString(&bytes));
  return bytes;
}

// --- Valid samples, one per body ------------------------------------------

proto::Envelope Header() {
  proto::Envelope envelope;
  envelope.set_protocol_version(kProtocolVersion);
  envelope.set_connection_id("conn-1");
  envelope.set_sender_org_id("org-primary");
  envelope.set_message_id(7);
  return envelope;
}

proto::ConnectionOptions Options() {
  proto::ConnectionOptions options;
  options.set_sync_feeds_and_audit_fields(true);
  options.set_sync_metadata(true);
  options.set_sync_users(true);
  options.set_owner("005-owner");
  options.set_contact("admin@example.com");
  return options;
}

proto::Envelope AcceptSample() {
  proto::Envelope envelope = Header();
  auto* accept = envelope.mutable_accept();
  accept->set_secret(std::string("s3\0cret", 7));
  accept->set_secondary_org_id("org-secondary");
  accept->set_secondary_org_name("Secondary");
  (*accept->mutable_schema_fingerprints())["Account"] = 11;
  (*accept->mutable_schema_fingerprints())["Contact"] = 12;
  return envelope;
}

proto::Envelope HandshakeSample() {
  proto::Envelope envelope = Header();
  auto* result = envelope.mutable_handshake_result();
  result->set_accepted(true);
  *result->mutable_options() = Options();
  result->set_primary_org_id("org-primary");
  result->set_primary_org_name("Primary");
  (*result->mutable_schema_fingerprints())["Account"] = 11;
  return envelope;
}

proto::Envelope ChangesSample() {
  proto::Envelope envelope = Header();
  auto* batch = envelope.mutable_changes();

  auto* insert = batch->add_changes();
  insert->set_sequence(1);
  insert->set_action(proto::GENERIC_INSERT);
  insert->set_object("Account");
  insert->set_sender_record_id("001A");
  auto& fields = *insert->mutable_fields();
  fields["Name"].set_text("Acme, s.r.o. \xC3\xA9\xE2\x82\xAC");
  fields["Employees"].set_integer(-42);
  fields["Revenue"].set_real(1.5e9);
  fields["Active"].set_boolean(true);
  fields["Logo"].set_binary(std::string("\x00\xFF\x10", 3));
  fields["Founded"].set_time_micros(1'700'000'000'000'000);
  fields["Parent"].set_reference("001P");
  fields["Fax"];  // null: clears the field
  auto* audit = insert->mutable_audit();
  audit->set_created_by("005A");
  audit->set_created_date_micros(1'600'000'000'000'000);
  audit->set_last_modified_by("005B");
  audit->set_last_modified_date_micros(1'650'000'000'000'000);
  insert->set_sender_version(3);
  insert->set_last_modified_micros(1'650'000'000'000'000);
  proto::SentStamp& name_stamp = (*insert->mutable_field_stamps())["Name"];
  name_stamp.set_micros(1'640'000'000'000'000);
  name_stamp.set_from_primary(true);
  name_stamp.set_version(2);
  name_stamp.set_sequence(7);

  auto* update = batch->add_changes();
  update->set_sequence(2);
  update->set_action(proto::GENERIC_UPDATE);
  update->set_object("Account");
  update->set_sender_record_id("001A");
  update->set_receiver_record_id("001Z");
  (*update->mutable_fields())["Name"].set_text("Acme");
  update->add_changed_fields("Name");
  update->set_sender_version(4);
  update->set_last_synced_receiver_version(9);
  update->set_forwarded(true);  // R66: a forward carries it

  auto* remove = batch->add_changes();
  remove->set_sequence(3);
  remove->set_action(proto::REPLICATION_DELETE);
  remove->set_object("Account");
  remove->set_sender_record_id("001A");
  remove->set_cascade(true);
  return envelope;
}

proto::Envelope AckSample() {
  proto::Envelope envelope = Header();
  auto* ack = envelope.mutable_ack();
  auto* applied = ack->add_results();
  applied->set_sequence(1);
  applied->set_outcome(proto::APPLIED);
  applied->set_receiver_record_id("001Z");
  applied->set_receiver_version(1);
  auto* substituted = ack->add_results();
  substituted->set_sequence(2);
  substituted->set_outcome(proto::APPLIED);
  substituted->set_error(proto::ERROR_MISSING_USER);  // a notice (R37)
  auto* retry = ack->add_results();
  retry->set_sequence(3);
  retry->set_outcome(proto::RETRYABLE_FAILURE);
  retry->set_error(proto::ERROR_MISSING_PARENT);
  retry->set_description("parent 001P is not linked yet");
  auto* duplicate = ack->add_results();
  duplicate->set_sequence(4);
  duplicate->set_outcome(proto::DUPLICATE);
  ack->set_acked_message_id(6);
  return envelope;
}

proto::Envelope MapUpdateSample() {
  proto::Envelope envelope = Header();
  auto* update = envelope.mutable_map_update();
  update->set_sequence(5);
  update->set_action(proto::TYPE_MAP_UPDATE);
  update->set_object("Contact");
  auto* schema = update->mutable_object_schema();
  schema->set_name("Contact");
  schema->set_publishable(true);
  auto* name = schema->add_fields();
  name->set_name("LastName");
  name->set_type(proto::TEXT);
  name->set_required(true);
  name->set_length(80);
  auto* account = schema->add_fields();
  account->set_name("AccountId");
  account->set_type(proto::LOOKUP);
  account->set_lookup_target("Account");
  update->add_published_fields("LastName");
  update->add_published_fields("AccountId");
  return envelope;
}

proto::Envelope UserUpsertSample() {
  proto::Envelope envelope = Header();
  auto* upsert = envelope.mutable_user_upsert();
  upsert->set_sequence(6);
  upsert->set_action(proto::USER_UPSERT);
  for (const char* id : {"005A", "005B"}) {
    auto* user = upsert->add_users();
    user->set_id(id);
    user->set_username(std::string(id) + "@example.com.dr");
    user->set_email("someone@example.com");
    user->set_profile("Standard User");
    user->set_role("Sales");
    user->add_permission_sets("Reports");
    user->set_active(true);
    user->set_standard_license(true);
    user->set_full_name("Some One");
  }
  return envelope;
}

proto::Envelope MetadataPushSample() {
  proto::Envelope envelope = Header();
  auto* push = envelope.mutable_metadata_push();
  push->set_sequence(7);
  push->set_full(true);
  push->set_last_batch(true);
  auto* item = push->add_items();
  item->set_type(proto::CUSTOM_OBJECT);
  item->set_name("Invoice__c");
  item->set_body("<CustomObject/>");
  item->set_fingerprint(0xFEEDFACECAFEBEEF);
  auto* layout = push->add_items();
  layout->set_type(proto::LAYOUT);
  layout->set_name("Invoice Layout");
  auto* rename = push->add_renames();
  rename->set_type(proto::ROLE);
  rename->set_old_name("Sales");
  rename->set_new_name("Sales EMEA");
  return envelope;
}

proto::Envelope NoticeSample() {
  proto::Envelope envelope = Header();
  auto* notice = envelope.mutable_notice();
  notice->set_sequence(8);
  notice->set_action(proto::CONNECTION_UPDATE);
  *notice->mutable_options() = Options();
  notice->set_reason("owner changed by admin 005A");
  return envelope;
}

proto::Envelope ProtocolErrorSample() {
  proto::Envelope envelope = Header();
  auto* error = envelope.mutable_protocol_error();
  error->set_supported_version(kProtocolVersion);
  error->set_rejected_message_id(41);
  error->set_detail("envelope protocol_version 9 is newer");
  return envelope;
}

proto::Envelope VerifyRequestSample() {
  proto::Envelope envelope = Header();
  auto* request = envelope.mutable_verify_request();
  request->set_run(1);
  request->set_request(3);
  request->set_kind(proto::VERIFY_DIGESTS);
  auto* object = request->add_objects();
  object->set_object("Account");
  object->set_responder_object("Account");
  auto* pair = object->add_fields();
  pair->set_initiator_field("Name");
  pair->set_responder_field("Name");
  auto* range = request->add_ranges();
  range->set_after_id("P-0001");
  range->set_last_id("P-1000");
  return envelope;
}

proto::Envelope VerifyAnswerSample() {
  proto::Envelope envelope = Header();
  auto* answer = envelope.mutable_verify_answer();
  answer->set_run(1);
  answer->set_request(4);
  auto* record = answer->add_records();
  record->set_initiator_id("P-0002");
  record->set_responder_id("S-0009");
  record->set_digest(std::string(16, 'd'));
  return envelope;
}

const std::vector<std::pair<std::string, proto::Envelope>>& Samples() {
  static const auto* samples =
      new std::vector<std::pair<std::string, proto::Envelope>>{
          {"accept", AcceptSample()},
          {"handshake_result", HandshakeSample()},
          {"changes", ChangesSample()},
          {"ack", AckSample()},
          {"map_update", MapUpdateSample()},
          {"user_upsert", UserUpsertSample()},
          {"metadata_push", MetadataPushSample()},
          {"notice", NoticeSample()},
          {"protocol_error", ProtocolErrorSample()},
          {"verify_request", VerifyRequestSample()},
          {"verify_answer", VerifyAnswerSample()},
      };
  return *samples;
}

proto::Envelope Mutated(proto::Envelope envelope,
                        const std::function<void(proto::Envelope&)>& change) {
  change(envelope);
  return envelope;
}

// Decoding what Encode made must give exactly what Validate says.
void RequireDecodeAgreesWithValidate(const proto::Envelope& envelope) {
  const absl::Status validated = ValidateEnvelope(envelope);
  const auto decoded = DecodeEnvelope(EncodeEnvelope(envelope));
  REQUIRE(decoded.status() == validated);
}

// --- Round trips ----------------------------------------------------------

TEST_CASE("wire: every body type round-trips through Encode and Decode",
          "[wire]") {
  std::set<int> bodies;
  for (const auto& [name, envelope] : Samples()) {
    INFO("body " << name);
    REQUIRE(ValidateEnvelope(envelope).ok());
    const auto decoded = DecodeEnvelope(EncodeEnvelope(envelope));
    REQUIRE(decoded.ok());
    CHECK(MessageDifferencer::Equals(*decoded, envelope));
    bodies.insert(decoded->body_case());
  }
  // Every member of the oneof has a sample.
  CHECK(bodies.size() ==
        static_cast<size_t>(
            proto::Envelope::descriptor()->oneof_decl(0)->field_count()));
}

TEST_CASE("wire: Encode stamps kProtocolVersion", "[wire]") {
  proto::Envelope envelope = AckSample();
  envelope.clear_protocol_version();
  const auto decoded = DecodeEnvelope(EncodeEnvelope(envelope));
  REQUIRE(decoded.ok());
  CHECK(decoded->protocol_version() == kProtocolVersion);
}

TEST_CASE("wire: Encode is deterministic whatever the map insertion order",
          "[wire]") {
  proto::Envelope forward = Header();
  proto::Envelope backward = Header();
  auto* ahead = forward.mutable_accept();
  auto* behind = backward.mutable_accept();
  for (auto* accept : {ahead, behind}) {
    accept->set_secret("s");
    accept->set_secondary_org_id("org-b");
  }
  for (int i = 0; i < 200; ++i) {
    (*ahead->mutable_schema_fingerprints())["Object" + std::to_string(i)] = i;
    (*behind
          ->mutable_schema_fingerprints())["Object" + std::to_string(199 - i)] =
        199 - i;
  }
  CHECK(EncodeEnvelope(forward) == EncodeEnvelope(backward));
  CHECK(EncodeEnvelope(forward) == EncodeEnvelope(forward));
}

// --- A newer peer ---------------------------------------------------------

TEST_CASE("wire: fields added by a newer peer are tolerated and preserved",
          "[wire]") {
  SECTION("at the top level, appended to the bytes") {
    const std::string original = EncodeEnvelope(ChangesSample());
    std::string future = original;
    PutTag(&future, 99, kVarint);
    PutVarint(&future, 123456789);
    PutBytes(&future, 100, "a newer peer's field");
    // A group: never used by orgsync, but legal protobuf.
    PutTag(&future, 101, kStartGroup);
    PutTag(&future, 1, kVarint);
    PutVarint(&future, 5);
    PutTag(&future, 101, kEndGroup);

    const auto decoded = DecodeEnvelope(future);
    REQUIRE(decoded.ok());
    const auto& unknown = decoded->GetReflection()->GetUnknownFields(*decoded);
    REQUIRE(unknown.field_count() == 3);
    CHECK(unknown.field(0).number() == 99);
    CHECK(unknown.field(0).varint() == 123456789);
    CHECK(unknown.field(1).length_delimited() == "a newer peer's field");
    CHECK(unknown.field(2).number() == 101);
    // Known fields first, then the unknown ones as received.
    CHECK(EncodeEnvelope(*decoded) == future);
  }

  SECTION("inside a nested message") {
    proto::Envelope envelope = ChangesSample();
    auto* change = envelope.mutable_changes()->mutable_changes(1);
    change->GetReflection()->MutableUnknownFields(change)->AddLengthDelimited(
        40, "conflict policy v2");
    auto* value = &(*change->mutable_fields())["Name"];
    value->GetReflection()->MutableUnknownFields(value)->AddVarint(20, 7);

    const auto decoded = DecodeEnvelope(EncodeEnvelope(envelope));
    REQUIRE(decoded.ok());
    const auto& got = decoded->changes().changes(1);
    const auto& unknown = got.GetReflection()->GetUnknownFields(got);
    REQUIRE(unknown.field_count() == 1);
    CHECK(unknown.field(0).number() == 40);
    CHECK(unknown.field(0).length_delimited() == "conflict policy v2");
    const auto& name = got.fields().at("Name");
    CHECK(name.GetReflection()->GetUnknownFields(name).field_count() == 1);
    CHECK(MessageDifferencer::Equals(*decoded, envelope));
  }

  SECTION("but a body this version does not know is refused") {
    std::string bytes = RawBytes(Header());
    PutBytes(&bytes, 30, "");
    const auto decoded = DecodeEnvelope(bytes);
    CHECK(decoded.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(decoded.status().message()),
               Catch::Contains("body: no body is set"));
  }
}

// --- Versions -------------------------------------------------------------

TEST_CASE(
    "wire: protocol versions 1..kProtocolVersion are accepted, a newer "
    "one is FailedPrecondition, 0 is InvalidArgument",
    "[wire]") {
  for (uint32_t version = 1; version <= kProtocolVersion; ++version) {
    proto::Envelope envelope = NoticeSample();
    envelope.set_protocol_version(version);
    CHECK(DecodeEnvelope(RawBytes(envelope)).ok());
  }

  for (uint32_t version : {kProtocolVersion + 1, uint32_t{0xFFFFFFFF}}) {
    INFO("version " << version);
    proto::Envelope envelope = NoticeSample();
    envelope.set_protocol_version(version);
    const auto decoded = DecodeEnvelope(RawBytes(envelope));
    CHECK(decoded.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK_THAT(std::string(decoded.status().message()),
               Catch::Contains("newer"));
    // A newer peer may follow rules this version does not know: the version
    // decides before any rule does.
    envelope.clear_body();
    envelope.clear_connection_id();
    CHECK(DecodeEnvelope(RawBytes(envelope)).status().code() ==
          absl::StatusCode::kFailedPrecondition);
  }

  proto::Envelope unversioned = NoticeSample();
  unversioned.clear_protocol_version();
  const auto decoded = DecodeEnvelope(RawBytes(unversioned));
  CHECK(decoded.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(decoded.status().message()),
             Catch::Contains("protocol_version: missing"));
}

// --- Malformed input ------------------------------------------------------

TEST_CASE("wire: malformed bytes are InvalidArgument with the spot named",
          "[wire]") {
  struct Case {
    std::string name;
    std::string bytes;
    std::string expected;
  };
  std::vector<Case> cases;
  cases.push_back({"empty input", "", "empty input"});
  {
    std::string bytes;
    PutTag(&bytes, 5, 6);
    cases.push_back({"wire type 6", bytes, "invalid wire type 6"});
  }
  {
    std::string bytes = RawBytes(Header());
    PutTag(&bytes, 9, kEndGroup);
    cases.push_back({"stray end-group", bytes, "end-group tag outside"});
  }
  {
    std::string bytes;
    PutTag(&bytes, 9, kStartGroup);
    cases.push_back({"unclosed group", bytes, "group 9 is not closed"});
  }
  {
    std::string bytes;
    PutTag(&bytes, 9, kStartGroup);
    PutTag(&bytes, 8, kEndGroup);
    cases.push_back({"mismatched group", bytes, "closed by end-group tag 8"});
  }
  {
    std::string bytes;
    PutTag(&bytes, 0, kVarint);
    PutVarint(&bytes, 1);
    cases.push_back({"field number 0", bytes, "field number 0"});
  }
  {
    std::string bytes;
    PutTag(&bytes, 2, kLengthDelimited);
    PutVarint(&bytes, 1000);
    bytes += "conn";
    cases.push_back({"length past the end", bytes,
                     "in connection_id): length 1000 runs past the end"});
  }
  {
    std::string bytes;
    PutTag(&bytes, 4, kVarint);
    bytes += "\xFF\xFF";
    cases.push_back({"truncated varint", bytes, "truncated varint"});
  }
  {
    std::string bytes = RawBytes(Header());
    bytes.push_back('\x80');
    cases.push_back({"truncated tag", bytes, "truncated field tag"});
  }

  for (const Case& c : cases) {
    INFO(c.name);
    const auto decoded = DecodeEnvelope(c.bytes);
    CHECK(decoded.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(decoded.status().message()),
               Catch::Contains(c.expected));
  }
}

TEST_CASE("wire: string fields must be valid UTF-8, bytes fields need not",
          "[wire]") {
  struct Case {
    std::string text;  // 3 bytes, to replace "ZZZ" in place
    bool valid;
  };
  const std::vector<Case> cases = {
      {"a\xC3\xA9", true},      // é
      {"\xE2\x82\xAC", true},   // €
      {"\xFF\xFE\xFD", false},  // not UTF-8 at all
      {"a\xC0\xAF", false},     // overlong '/'
      {"\xED\xA0\x80", false},  // a UTF-16 surrogate
      {"ab\xC3", false},        // truncated sequence
      {"\xF4\x90\x80", false},  // truncated, and above U+10FFFF
      {"a\x80z", false},        // a stray continuation byte
  };
  proto::Envelope envelope = ChangesSample();
  envelope.mutable_changes()->mutable_changes(2)->set_object("ZZZ");
  const std::string template_bytes = EncodeEnvelope(envelope);
  const size_t at = template_bytes.find("ZZZ");
  REQUIRE(at != std::string::npos);
  for (const Case& c : cases) {
    std::string bytes = template_bytes;
    bytes.replace(at, 3, c.text);
    const auto decoded = DecodeEnvelope(bytes);
    INFO("text " << c.text << ": " << decoded.status());
    if (c.valid) {
      REQUIRE(decoded.ok());
      CHECK(decoded->changes().changes(2).object() == c.text);
    } else {
      CHECK(decoded.status().code() == absl::StatusCode::kInvalidArgument);
      CHECK_THAT(std::string(decoded.status().message()),
                 Catch::Contains("changes.changes.object: not valid UTF-8"));
    }
  }
  // Past eight ASCII bytes (read eight at a time) a bad byte is still
  // found, and good text still passes.
  for (const auto& [text, valid] :
       std::vector<std::pair<std::string, bool>>{
           {std::string(16, 'a') + "\xC0\xAF", false},
           {std::string(64, 'b') + "\xFF" + std::string(9, 'c'), false},
           {std::string(13, 'd') + "\xE2\x82\xAC" + std::string(8, 'e'),
            true}}) {
    proto::Envelope long_text = ChangesSample();
    long_text.mutable_changes()->mutable_changes(1)->set_object(text);
    INFO("text " << text);
    CHECK(ValidateEnvelope(long_text).ok() == valid);
  }
  // A sender learns it before sending.
  proto::Envelope bad = ChangesSample();
  bad.mutable_changes()->mutable_changes(0)->set_object("\xC0\xAF");
  const absl::Status status = ValidateEnvelope(bad);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(status.message()),
             Catch::Contains("changes.changes.object: not valid UTF-8"));
  // Binary field values and the secret are bytes: anything goes.
  const auto accept = DecodeEnvelope(
      EncodeEnvelope(Mutated(AcceptSample(), [](proto::Envelope& e) {
        e.mutable_accept()->set_secret("\xFF\xC0");
      })));
  CHECK(accept.ok());
}

TEST_CASE("wire: every truncation of a valid envelope is refused", "[wire]") {
  for (const auto& [name, envelope] : Samples()) {
    const std::string bytes = EncodeEnvelope(envelope);
    for (size_t size = 0; size < bytes.size(); ++size) {
      const auto decoded = DecodeEnvelope(bytes.substr(0, size));
      INFO("body " << name << ", first " << size << " of " << bytes.size()
                   << " bytes: " << decoded.status());
      REQUIRE(decoded.status().code() == absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST_CASE(
    "wire: random bytes and mutated envelopes never crash, and whatever "
    "decodes is valid and re-encodes to a fixed point",
    "[wire]") {
  constexpr uint64_t kSeed = 20260101;
  constexpr int kInputs = 20000;
  INFO("seed " << kSeed);
  std::mt19937_64 random(kSeed);
  auto below = [&](size_t n) {
    return static_cast<size_t>(random() % std::max<size_t>(n, 1));
  };
  std::vector<std::string> valid;
  for (const auto& [name, envelope] : Samples()) {
    valid.push_back(EncodeEnvelope(envelope));
  }

  int accepted = 0;
  int refused = 0;
  for (int i = 0; i < kInputs; ++i) {
    std::string input;
    const bool garbage = i % 4 == 0;
    if (garbage) {
      input.resize(below(96));
      for (char& c : input) c = static_cast<char>(random());
    } else {
      input = valid[below(valid.size())];
      const size_t edits = 1 + below(4);
      for (size_t e = 0; e < edits && !input.empty(); ++e) {
        switch (below(5)) {
          case 0:  // flip a bit
            input[below(input.size())] ^= static_cast<char>(1 << below(8));
            break;
          case 1:  // overwrite a byte
            input[below(input.size())] = static_cast<char>(random());
            break;
          case 2:  // insert a byte
            input.insert(input.begin() + below(input.size() + 1),
                         static_cast<char>(random()));
            break;
          case 3:  // erase a run
            input.erase(below(input.size()), 1 + below(8));
            break;
          case 4: {  // splice in part of another envelope
            const std::string& other = valid[below(valid.size())];
            const size_t from = below(other.size());
            input.insert(below(input.size() + 1),
                         other.substr(from, below(other.size() - from) + 1));
            break;
          }
        }
      }
    }

    const auto decoded = DecodeEnvelope(input);
    if (!decoded.ok()) {
      ++refused;
      const absl::StatusCode code = decoded.status().code();
      INFO("input " << i << ": " << decoded.status());
      REQUIRE((code == absl::StatusCode::kInvalidArgument ||
               code == absl::StatusCode::kFailedPrecondition ||
               code == absl::StatusCode::kResourceExhausted));
      REQUIRE(!decoded.status().message().empty());
      continue;
    }
    ++accepted;
    INFO("input " << i << " decoded");
    REQUIRE(!garbage);
    REQUIRE(ValidateEnvelope(*decoded).ok());
    const std::string encoded = EncodeEnvelope(*decoded);
    const auto again = DecodeEnvelope(encoded);
    REQUIRE(again.ok());
    REQUIRE(EncodeEnvelope(*again) == encoded);
  }
  // Both paths were exercised.
  CHECK(accepted > 100);
  CHECK(refused > kInputs / 2);
}

// --- Limits ---------------------------------------------------------------

TEST_CASE("wire: size, element and nesting limits are ResourceExhausted",
          "[wire]") {
  SECTION("more bytes than kMaxEnvelopeBytes, refused before parsing") {
    const std::string huge(kMaxEnvelopeBytes + 1, '\0');
    const auto decoded = DecodeEnvelope(huge);
    CHECK(decoded.status().code() == absl::StatusCode::kResourceExhausted);
    CHECK_THAT(std::string(decoded.status().message()),
               Catch::Contains("over the limit"));
  }

  SECTION("ValidateEnvelope refuses to send an envelope over the limit") {
    proto::Envelope envelope = ChangesSample();
    (*envelope.mutable_changes()->mutable_changes(0)->mutable_fields())["Body"]
        .set_binary(std::string(kMaxEnvelopeBytes, 'x'));
    const absl::Status status = ValidateEnvelope(envelope);
    CHECK(status.code() == absl::StatusCode::kResourceExhausted);
    CHECK_THAT(std::string(status.message()),
               Catch::Contains("bytes encoded, over the limit"));
  }

  SECTION("ValidateEnvelope refuses to send too many elements") {
    proto::Envelope envelope = Header();
    auto* batch = envelope.mutable_changes();
    // 5 elements each: the item, sequence, action, object and record id.
    for (size_t i = 1; i <= kMaxEnvelopeElements / 5 + 1; ++i) {
      auto* change = batch->add_changes();
      change->set_sequence(i);
      change->set_action(proto::GENERIC_UPDATE);
      change->set_object("A");
      change->set_sender_record_id("1");
    }
    const absl::Status status = ValidateEnvelope(envelope);
    CHECK(status.code() == absl::StatusCode::kResourceExhausted);
    CHECK_THAT(std::string(status.message()),
               Catch::Contains("wire elements") &&
                   Catch::Contains("split the content over several"));
    // The partner would have refused it too.
    CHECK(DecodeEnvelope(EncodeEnvelope(envelope)).status().code() ==
          absl::StatusCode::kResourceExhausted);
    // Split in two, each half goes.
    proto::Envelope half = Header();
    half.mutable_changes()->mutable_changes()->CopyFrom(
        {batch->changes().begin(),
         batch->changes().begin() + batch->changes_size() / 2});
    CHECK(ValidateEnvelope(half).ok());
  }

  SECTION("R38: a file body of the default 38 MB limit fits") {
    proto::Envelope envelope = ChangesSample();
    (*envelope.mutable_changes()->mutable_changes(0)->mutable_fields())["Body"]
        .set_binary(std::string(size_t{38} << 20, 'x'));
    const auto decoded = DecodeEnvelope(EncodeEnvelope(envelope));
    REQUIRE(decoded.ok());
    CHECK(decoded->changes().changes(0).fields().at("Body").binary().size() ==
          size_t{38} << 20);
  }

  SECTION("a flood of tiny list items, refused before parsing") {
    // Each empty RecordChange is 2 bytes on the wire but a whole message in
    // memory.
    std::string items;
    for (size_t i = 0; i < kMaxEnvelopeElements; ++i) items += "\x0A\x00"s;
    std::string bytes = RawBytes(Header());
    PutBytes(&bytes, 12, items);
    REQUIRE(bytes.size() < kMaxEnvelopeBytes);
    const auto decoded = DecodeEnvelope(bytes);
    CHECK(decoded.status().code() == absl::StatusCode::kResourceExhausted);
    CHECK_THAT(std::string(decoded.status().message()),
               Catch::Contains("wire elements"));
  }

  SECTION("map entries count for their key and value") {
    // A third of the limit in empty map entries: each costs 3.
    std::string entries;
    for (size_t i = 0; i < kMaxEnvelopeElements / 3 + 1; ++i) {
      entries += "\x32\x00"s;  // RecordChange.fields, empty entry
    }
    std::string batch;
    PutBytes(&batch, 1, entries);
    std::string bytes = RawBytes(Header());
    PutBytes(&bytes, 12, batch);
    const auto decoded = DecodeEnvelope(bytes);
    CHECK(decoded.status().code() == absl::StatusCode::kResourceExhausted);
  }

  SECTION("groups nested deeper than kMaxEnvelopeNesting") {
    auto nested = [](int depth) {
      std::string bytes = EncodeEnvelope(NoticeSample());
      for (int i = 0; i < depth; ++i) PutTag(&bytes, 50, kStartGroup);
      for (int i = 0; i < depth; ++i) PutTag(&bytes, 50, kEndGroup);
      return bytes;
    };
    const auto deep = DecodeEnvelope(nested(kMaxEnvelopeNesting + 1));
    CHECK(deep.status().code() == absl::StatusCode::kResourceExhausted);
    CHECK_THAT(std::string(deep.status().message()),
               Catch::Contains("nested deeper than 100"));
    // A newer peer's nested unknown data within the limit is fine.
    const std::string shallow = nested(40);
    const auto decoded = DecodeEnvelope(shallow);
    REQUIRE(decoded.ok());
    CHECK(EncodeEnvelope(*decoded) == shallow);
  }
}

// --- One case per rule ----------------------------------------------------

struct Rule {
  std::string name;
  proto::Envelope envelope;
  std::string expected;  // a part of the error message: path and rule
};

void CheckRules(const std::vector<Rule>& rules) {
  for (const Rule& rule : rules) {
    INFO(rule.name);
    const absl::Status status = ValidateEnvelope(rule.envelope);
    INFO(status);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()),
               Catch::Contains("invalid envelope: " + rule.expected));
    RequireDecodeAgreesWithValidate(rule.envelope);
  }
}

using E = proto::Envelope;

TEST_CASE("wire: envelope header rules", "[wire]") {
  CheckRules({
      {"empty connection id",
       Mutated(AckSample(), [](E& e) { e.clear_connection_id(); }),
       "connection_id: must not be empty"},
      {"a slash could escape the storage key scope",
       Mutated(AckSample(), [](E& e) { e.set_connection_id("c/../q"); }),
       "connection_id: character 1 (byte 0x2f) is not one of"},
      {"connection id too long",
       Mutated(AckSample(),
               [](E& e) { e.set_connection_id(std::string(129, 'c')); }),
       "connection_id: 129 characters, over the limit of 128"},
      {"message id 0", Mutated(AckSample(), [](E& e) { e.clear_message_id(); }),
       "message_id: must be >= 1"},
      {"no body", Mutated(AckSample(), [](E& e) { e.clear_body(); }),
       "body: no body is set"},
  });
  // The limits of the connection id are inclusive.
  CHECK(ValidateEnvelope(Mutated(AckSample(), [](E& e) {
          e.set_connection_id(std::string(127, 'a') + ":");
        })).ok());
  CHECK(ValidateEnvelope(Mutated(AckSample(), [](E& e) {
          e.set_connection_id("Conn_0.1-x:y");
        })).ok());
}

TEST_CASE("R1 on the wire: invitation and handshake rules", "[wire]") {
  CheckRules({
      {"no secret",
       Mutated(AcceptSample(),
               [](E& e) { e.mutable_accept()->clear_secret(); }),
       "accept.secret: must not be empty"},
      {"no secondary org id",
       Mutated(AcceptSample(),
               [](E& e) { e.mutable_accept()->clear_secondary_org_id(); }),
       "accept.secondary_org_id: must not be empty"},
      {"fingerprint of an unnamed object",
       Mutated(AcceptSample(),
               [](E& e) {
                 (*e.mutable_accept()->mutable_schema_fingerprints())[""] = 1;
               }),
       "accept.schema_fingerprints: has an entry with an empty key"},
      {"accepted but with a refusal",
       Mutated(HandshakeSample(),
               [](E& e) {
                 e.mutable_handshake_result()->set_refusal(
                     proto::REFUSAL_BAD_SECRET);
               }),
       "handshake_result.refusal: is REFUSAL_BAD_SECRET on an accepted"},
      {"accepted without options",
       Mutated(HandshakeSample(),
               [](E& e) { e.mutable_handshake_result()->clear_options(); }),
       "handshake_result.options: must be present when accepted"},
      {"accepted without the primary's org id",
       Mutated(
           HandshakeSample(),
           [](E& e) { e.mutable_handshake_result()->clear_primary_org_id(); }),
       "handshake_result.primary_org_id: must not be empty"},
      {"refused without saying why",
       Mutated(HandshakeSample(),
               [](E& e) { e.mutable_handshake_result()->set_accepted(false); }),
       "handshake_result.refusal: must say why"},
      {"unknown refusal",
       Mutated(HandshakeSample(),
               [](E& e) {
                 e.mutable_handshake_result()->set_accepted(false);
                 e.mutable_handshake_result()->set_refusal(
                     static_cast<proto::HandshakeRefusal>(99));
               }),
       "handshake_result.refusal: unknown value 99"},
      {"fingerprint of an unnamed object in the answer",
       Mutated(HandshakeSample(),
               [](E& e) {
                 (*e.mutable_handshake_result()
                       ->mutable_schema_fingerprints())[""] = 1;
               }),
       "handshake_result.schema_fingerprints: has an entry with an empty"},
  });
  // A refusal needs neither options nor the primary's id.
  proto::Envelope refused = Header();
  refused.mutable_handshake_result()->set_refusal(proto::REFUSAL_BAD_SECRET);
  CHECK(ValidateEnvelope(refused).ok());
}

TEST_CASE("R30 on the wire: record change rules", "[wire]") {
  auto change = [](int i) {
    return [i](E& e) { return e.mutable_changes()->mutable_changes(i); };
  };
  CheckRules({
      {"empty batch",
       Mutated(ChangesSample(),
               [](E& e) { e.mutable_changes()->clear_changes(); }),
       "changes.changes: must not be empty"},
      {"sequence 0",
       Mutated(ChangesSample(), [&](E& e) { change(1)(e)->set_sequence(0); }),
       "changes.changes[1].sequence: must be >= 1"},
      {"duplicate sequence",
       Mutated(ChangesSample(), [&](E& e) { change(2)(e)->set_sequence(1); }),
       "changes.changes: sequence 1 appears more than once"},
      {"action unset",
       Mutated(ChangesSample(), [&](E& e) { change(0)(e)->clear_action(); }),
       "changes.changes[0].action: must be set (is QUEUE_ACTION_UNSPECIFIED)"},
      {"action unknown",
       Mutated(ChangesSample(),
               [&](E& e) {
                 change(0)(e)->set_action(static_cast<proto::QueueAction>(99));
               }),
       "changes.changes[0].action: unknown value 99"},
      {"a map action",
       Mutated(
           ChangesSample(),
           [&](E& e) { change(0)(e)->set_action(proto::FIELD_MAP_DELETE); }),
       "changes.changes[0].action: FIELD_MAP_DELETE is not a record action "
       "(GENERIC_INSERT, GENERIC_UPDATE, REPLICATION_DELETE, "
       "REPLICATION_UNDELETE, BULK_SYNC, MISSING_PARTNER_ID)"},
      {"the local email notice",
       Mutated(
           ChangesSample(),
           [&](E& e) { change(0)(e)->set_action(proto::MAP_UPDATE_EMAIL); }),
       "changes.changes[0].action: MAP_UPDATE_EMAIL is not a record action"},
      {"no object",
       Mutated(ChangesSample(), [&](E& e) { change(2)(e)->clear_object(); }),
       "changes.changes[2].object: must not be empty"},
      {"no sender record id",
       Mutated(ChangesSample(),
               [&](E& e) { change(0)(e)->clear_sender_record_id(); }),
       "changes.changes[0].sender_record_id: must not be empty"},
      {"unnamed field",
       Mutated(
           ChangesSample(),
           [&](E& e) { (*change(1)(e)->mutable_fields())[""].set_text("x"); }),
       "changes.changes[1].fields: has an entry with an empty key"},
      {"unnamed changed field",
       Mutated(ChangesSample(),
               [&](E& e) { change(1)(e)->add_changed_fields(""); }),
       "changes.changes[1].changed_fields[1]: must not be empty"},
      {"R35: audit fields on an update",
       Mutated(ChangesSample(),
               [&](E& e) {
                 change(1)(e)->mutable_audit()->set_created_by("005A");
               }),
       "changes.changes[1].audit: must be absent on GENERIC_UPDATE"},
      {"R35: audit fields on a delete",
       Mutated(ChangesSample(), [&](E& e) { change(2)(e)->mutable_audit(); }),
       "changes.changes[2].audit: must be absent on REPLICATION_DELETE"},
      {"R33: cascade on an insert",
       Mutated(ChangesSample(), [&](E& e) { change(0)(e)->set_cascade(true); }),
       "changes.changes[0].cascade: is set on GENERIC_INSERT"},
      {"R33: cascaded records listed without cascade",
       Mutated(ChangesSample(),
               [&](E& e) {
                 change(2)(e)->set_cascade(false);
                 change(2)(e)->set_cascade_listed(true);
               }),
       "changes.changes[2].cascaded: lists cascaded records without cascade"},
      {"R33: a cascaded record without an id",
       Mutated(ChangesSample(),
               [&](E& e) {
                 change(2)(e)->set_cascade_listed(true);
                 change(2)(e)->add_cascaded()->set_object("Contact");
               }),
       "changes.changes[2].cascaded.sender_record_id: must not be empty"},
      {"R55: deleted on an update",
       Mutated(ChangesSample(),
               [&](E& e) { change(1)(e)->set_deleted(true); }),
       "changes.changes[1].deleted: is set on GENERIC_UPDATE"},
      {"R66: forwarded on a delete",
       Mutated(ChangesSample(),
               [&](E& e) { change(2)(e)->set_forwarded(true); }),
       "changes.changes[2].forwarded: is set on REPLICATION_DELETE"},
      {"Rule 8: field stamps on an update",
       Mutated(ChangesSample(),
               [&](E& e) {
                 (*change(1)(e)->mutable_field_stamps())["Phone"];
               }),
       "changes.changes[1].field_stamps: is set on GENERIC_UPDATE"},
      {"Rule 8: a field stamp of a field the change does not carry",
       Mutated(ChangesSample(),
               [&](E& e) {
                 (*change(0)(e)->mutable_field_stamps())["Phone"];
               }),
       "changes.changes[0].field_stamps: stamps field 'Phone', which the "
       "change does not carry"},
      {"Rule 8: a field stamp newer than the record sent",
       Mutated(ChangesSample(),
               [&](E& e) {
                 (*change(0)(e)->mutable_field_stamps())["Name"].set_micros(
                     1'650'000'000'000'001);
               }),
       "changes.changes[0].field_stamps.Name: micros 1650000000000001 is "
       "outside 0..1650000000000000"},
      {"R32: a lookup hint without the receiver's id",
       Mutated(ChangesSample(),
               [&](E& e) {
                 (*change(1)(e)->mutable_lookup_receiver_ids())["ParentId"] =
                     "";
               }),
       "changes.changes[1].lookup_receiver_ids.ParentId: must not be empty"},
  });
  // Audit fields go with every kind of first copy.
  for (auto action :
       {proto::GENERIC_INSERT, proto::BULK_SYNC, proto::MISSING_PARTNER_ID}) {
    CHECK(ValidateEnvelope(Mutated(ChangesSample(), [&](E& e) {
            change(0)(e)->set_action(action);
          })).ok());
  }
  CHECK(ValidateEnvelope(Mutated(ChangesSample(), [&](E& e) {
          change(2)(e)->set_action(proto::REPLICATION_UNDELETE);
        })).ok());
}

TEST_CASE("R51 on the wire: acknowledgement rules", "[wire]") {
  auto result = [](int i) {
    return [i](E& e) { return e.mutable_ack()->mutable_results(i); };
  };
  CheckRules({
      {"acknowledges nothing",
       Mutated(AckSample(), [](E& e) { e.mutable_ack()->Clear(); }),
       "ack: acknowledges nothing"},
      {"sequence 0",
       Mutated(AckSample(), [&](E& e) { result(0)(e)->set_sequence(0); }),
       "ack.results[0].sequence: must be >= 1"},
      {"duplicate sequence",
       Mutated(AckSample(), [&](E& e) { result(3)(e)->set_sequence(2); }),
       "ack.results: sequence 2 appears more than once"},
      {"outcome unset",
       Mutated(AckSample(), [&](E& e) { result(1)(e)->clear_outcome(); }),
       "ack.results[1].outcome: must be set (is OUTCOME_UNSPECIFIED)"},
      {"outcome unknown",
       Mutated(AckSample(),
               [&](E& e) {
                 result(1)(e)->set_outcome(static_cast<proto::Outcome>(42));
               }),
       "ack.results[1].outcome: unknown value 42"},
      {"error unknown",
       Mutated(AckSample(),
               [&](E& e) {
                 result(2)(e)->set_error(static_cast<proto::ErrorCode>(500));
               }),
       "ack.results[2].error: unknown value 500"},
      {"a retryable failure without a reason",
       Mutated(AckSample(), [&](E& e) { result(2)(e)->clear_error(); }),
       "ack.results[2].error: must say why on RETRYABLE_FAILURE"},
      {"a permanent failure without a reason",
       Mutated(AckSample(),
               [&](E& e) {
                 result(2)(e)->clear_error();
                 result(2)(e)->set_outcome(proto::PERMANENT_FAILURE);
               }),
       "ack.results[2].error: must say why on PERMANENT_FAILURE"},
  });
  // Either half alone is an acknowledgement.
  CHECK(ValidateEnvelope(Mutated(AckSample(), [](E& e) {
          e.mutable_ack()->clear_results();
        })).ok());
  CHECK(ValidateEnvelope(Mutated(AckSample(), [](E& e) {
          e.mutable_ack()->clear_acked_message_id();
        })).ok());
}

TEST_CASE("R21 on the wire: map update rules", "[wire]") {
  auto update = [](E& e) { return e.mutable_map_update(); };
  auto field_update = [&](proto::QueueAction action) {
    return Mutated(MapUpdateSample(), [&](E& e) {
      update(e)->set_action(action);
      update(e)->clear_object_schema();
      update(e)->set_field("Phone");
      update(e)->set_new_name("MobilePhone");
      update(e)->set_picklist_value("Hot");
    });
  };
  auto schema_field = [&](E& e, int i) {
    return update(e)->mutable_object_schema()->mutable_fields(i);
  };
  CheckRules({
      {"sequence 0",
       Mutated(MapUpdateSample(), [&](E& e) { update(e)->set_sequence(0); }),
       "map_update.sequence: must be >= 1"},
      {"a record action",
       Mutated(MapUpdateSample(),
               [&](E& e) { update(e)->set_action(proto::GENERIC_INSERT); }),
       "map_update.action: GENERIC_INSERT is not a map action"},
      {"the local email notice",
       Mutated(MapUpdateSample(),
               [&](E& e) { update(e)->set_action(proto::MAP_UPDATE_EMAIL); }),
       "map_update.action: MAP_UPDATE_EMAIL is not a map action"},
      {"action unknown",
       Mutated(MapUpdateSample(),
               [&](E& e) {
                 update(e)->set_action(static_cast<proto::QueueAction>(24));
               }),
       "map_update.action: unknown value 24"},
      {"no object",
       Mutated(MapUpdateSample(), [&](E& e) { update(e)->clear_object(); }),
       "map_update.object: must be set for TYPE_MAP_UPDATE"},
      {"field map delete without field",
       Mutated(field_update(proto::FIELD_MAP_DELETE),
               [&](E& e) { update(e)->clear_field(); }),
       "map_update.field: must be set for FIELD_MAP_DELETE"},
      {"field map update without field",
       Mutated(field_update(proto::FIELD_MAP_UPDATE),
               [&](E& e) { update(e)->clear_field(); }),
       "map_update.field: must be set for FIELD_MAP_UPDATE"},
      {"field rename without new name",
       Mutated(field_update(proto::FIELD_MAP_NAME_UPDATE),
               [&](E& e) { update(e)->clear_new_name(); }),
       "map_update.new_name: must be set for FIELD_MAP_NAME_UPDATE"},
      {"type rename without new name",
       Mutated(field_update(proto::TYPE_MAP_NAME_UPDATE),
               [&](E& e) { update(e)->clear_new_name(); }),
       "map_update.new_name: must be set for TYPE_MAP_NAME_UPDATE"},
      {"value delete without value",
       Mutated(field_update(proto::VALUE_MAP_DELETE),
               [&](E& e) { update(e)->clear_picklist_value(); }),
       "map_update.picklist_value: must be set for VALUE_MAP_DELETE"},
      {"value delete without field",
       Mutated(field_update(proto::VALUE_MAP_DELETE),
               [&](E& e) { update(e)->clear_field(); }),
       "map_update.field: must be set for VALUE_MAP_DELETE"},
      {"schema of another object",
       Mutated(
           MapUpdateSample(),
           [&](E& e) { update(e)->mutable_object_schema()->set_name("Lead"); }),
       "map_update.object_schema.name: 'Lead' differs from the object "
       "'Contact'"},
      {"unnamed schema field",
       Mutated(MapUpdateSample(),
               [&](E& e) { schema_field(e, 1)->clear_name(); }),
       "map_update.object_schema.fields[1].name: must not be empty"},
      {"schema field type unset",
       Mutated(MapUpdateSample(),
               [&](E& e) { schema_field(e, 0)->clear_type(); }),
       "map_update.object_schema.fields[0].type: must be set"},
      {"schema field type unknown",
       Mutated(MapUpdateSample(),
               [&](E& e) {
                 schema_field(e, 0)->set_type(
                     static_cast<proto::FieldType>(77));
               }),
       "map_update.object_schema.fields[0].type: unknown value 77"},
      {"lookup without target",
       Mutated(MapUpdateSample(),
               [&](E& e) { schema_field(e, 1)->clear_lookup_target(); }),
       "map_update.object_schema.fields[1].lookup_target: must name the "
       "target object of LOOKUP field 'AccountId'"},
      {"master-detail without target",
       Mutated(MapUpdateSample(),
               [&](E& e) {
                 schema_field(e, 1)->set_type(proto::MASTER_DETAIL);
                 schema_field(e, 1)->clear_lookup_target();
               }),
       "map_update.object_schema.fields[1].lookup_target: must name the "
       "target object of MASTER_DETAIL field 'AccountId'"},
      {"field defined twice",
       Mutated(MapUpdateSample(),
               [&](E& e) { schema_field(e, 1)->set_name("LastName"); }),
       "map_update.object_schema.fields: field 'LastName' is defined more "
       "than once"},
      {"unnamed published field",
       Mutated(MapUpdateSample(),
               [&](E& e) { update(e)->set_published_fields(0, ""); }),
       "map_update.published_fields[0]: must not be empty"},
  });
}

TEST_CASE("R70 on the wire: user upsert rules", "[wire]") {
  auto upsert = [](E& e) { return e.mutable_user_upsert(); };
  CheckRules({
      {"sequence 0",
       Mutated(UserUpsertSample(), [&](E& e) { upsert(e)->set_sequence(0); }),
       "user_upsert.sequence: must be >= 1"},
      {"not a user action",
       Mutated(UserUpsertSample(),
               [&](E& e) { upsert(e)->set_action(proto::CONNECTION_UPDATE); }),
       "user_upsert.action: CONNECTION_UPDATE is not a user action "
       "(USER_UPSERT, BULK_SYNC_USERS)"},
      {"no users",
       Mutated(UserUpsertSample(), [&](E& e) { upsert(e)->clear_users(); }),
       "user_upsert.users: must not be empty"},
      {"no users in a bulk batch that is not the last",
       Mutated(UserUpsertSample(),
               [&](E& e) {
                 upsert(e)->set_action(proto::BULK_SYNC_USERS);
                 upsert(e)->clear_users();
               }),
       "user_upsert.users: must not be empty"},
      {"last batch of a single upsert",
       Mutated(UserUpsertSample(),
               [&](E& e) { upsert(e)->set_last_batch(true); }),
       "user_upsert.last_batch: is only meaningful for BULK_SYNC_USERS"},
      {"user without id",
       Mutated(UserUpsertSample(),
               [&](E& e) { upsert(e)->mutable_users(1)->clear_id(); }),
       "user_upsert.users[1].id: must not be empty"},
      {"user without username",
       Mutated(UserUpsertSample(),
               [&](E& e) { upsert(e)->mutable_users(0)->clear_username(); }),
       "user_upsert.users[0].username: must not be empty"},
      {"unnamed permission set",
       Mutated(
           UserUpsertSample(),
           [&](E& e) { upsert(e)->mutable_users(0)->add_permission_sets(""); }),
       "user_upsert.users[0].permission_sets[1]: must not be empty"},
  });
  // R73: an org with no user to copy ends its bulk run with an empty batch.
  CHECK(ValidateEnvelope(Mutated(UserUpsertSample(), [&](E& e) {
          upsert(e)->set_action(proto::BULK_SYNC_USERS);
          upsert(e)->set_last_batch(true);
          upsert(e)->clear_users();
        })).ok());
}

TEST_CASE("R74 on the wire: metadata push rules", "[wire]") {
  auto push = [](E& e) { return e.mutable_metadata_push(); };
  CheckRules({
      {"sequence 0",
       Mutated(MetadataPushSample(), [&](E& e) { push(e)->set_sequence(0); }),
       "metadata_push.sequence: must be >= 1"},
      {"item type unset",
       Mutated(MetadataPushSample(),
               [&](E& e) { push(e)->mutable_items(1)->clear_type(); }),
       "metadata_push.items[1].type: must be set (is "
       "METADATA_TYPE_UNSPECIFIED)"},
      {"item type unknown",
       Mutated(MetadataPushSample(),
               [&](E& e) {
                 push(e)->mutable_items(0)->set_type(
                     static_cast<proto::MetadataType>(11));
               }),
       "metadata_push.items[0].type: unknown value 11"},
      {"unnamed item",
       Mutated(MetadataPushSample(),
               [&](E& e) { push(e)->mutable_items(0)->clear_name(); }),
       "metadata_push.items[0].name: must not be empty"},
      {"empty push that is not the end of a full resend",
       Mutated(MetadataPushSample(),
               [&](E& e) {
                 push(e)->clear_items();
                 push(e)->clear_renames();
                 push(e)->set_last_batch(false);
               }),
       "metadata_push.items: must not be empty"},
      {"last batch of an incremental push",
       Mutated(MetadataPushSample(), [&](E& e) { push(e)->set_full(false); }),
       "metadata_push.last_batch: is only meaningful for a full resend"},
      {"rename of an item that is not top-level",
       Mutated(MetadataPushSample(),
               [&](E& e) {
                 push(e)->mutable_renames(0)->set_type(proto::CUSTOM_FIELD);
               }),
       "metadata_push.renames[0].type: must be ROLE, PROFILE or "
       "PERMISSION_SET"},
      {"rename from no name",
       Mutated(MetadataPushSample(),
               [&](E& e) { push(e)->mutable_renames(0)->clear_old_name(); }),
       "metadata_push.renames[0].old_name: must not be empty"},
      {"rename to the same name",
       Mutated(MetadataPushSample(),
               [&](E& e) {
                 push(e)->mutable_renames(0)->set_new_name("Sales");
               }),
       "metadata_push.renames[0].new_name: must differ from old_name"},
  });
  // A batch may carry renames only.
  CHECK(ValidateEnvelope(Mutated(MetadataPushSample(), [&](E& e) {
          push(e)->clear_items();
          push(e)->set_last_batch(false);
        })).ok());
  CHECK(ValidateEnvelope(Mutated(MetadataPushSample(), [&](E& e) {
          push(e)->clear_items();
        })).ok());
}

TEST_CASE("R5 on the wire: connection notice and protocol error rules",
          "[wire]") {
  auto notice = [](E& e) { return e.mutable_notice(); };
  CheckRules({
      {"sequence 0",
       Mutated(NoticeSample(), [&](E& e) { notice(e)->set_sequence(0); }),
       "notice.sequence: must be >= 1"},
      {"a record action",
       Mutated(NoticeSample(),
               [&](E& e) { notice(e)->set_action(proto::GENERIC_INSERT); }),
       "notice.action: GENERIC_INSERT is not a connection action"},
      {"action unset",
       Mutated(NoticeSample(), [&](E& e) { notice(e)->clear_action(); }),
       "notice.action: must be set"},
      {"a connection update without the options",
       Mutated(NoticeSample(), [&](E& e) { notice(e)->clear_options(); }),
       "notice.options: must be present for CONNECTION_UPDATE"},
      {"schema fingerprints of an unnamed object",
       Mutated(NoticeSample(),
               [&](E& e) {
                 (*notice(e)->mutable_schema_fingerprints())[""] = 1;
                 notice(e)->set_has_schema_fingerprints(true);
               }),
       "notice.schema_fingerprints: has an entry with an empty key"},
      {"schema fingerprints on a notice that is no update",
       Mutated(NoticeSample(),
               [&](E& e) {
                 notice(e)->set_action(proto::CONNECTION_RESUMED);
                 notice(e)->set_has_schema_fingerprints(true);
               }),
       "notice.schema_fingerprints: are only meaningful on CONNECTION_UPDATE"},
      {"protocol error without a version",
       Mutated(
           ProtocolErrorSample(),
           [](E& e) { e.mutable_protocol_error()->clear_supported_version(); }),
       "protocol_error.supported_version: must be >= 1"},
  });
  CHECK(ValidateEnvelope(Mutated(NoticeSample(), [&](E& e) {
          notice(e)->set_action(proto::CONNECTION_ADMIN_SUSPENDED);
          notice(e)->clear_options();
        })).ok());
}

TEST_CASE("Verify on the wire: request and answer rules", "[wire]") {
  auto request = [](E& e) { return e.mutable_verify_request(); };
  auto answer = [](E& e) { return e.mutable_verify_answer(); };
  CheckRules({
      {"run 0",
       Mutated(VerifyRequestSample(), [&](E& e) { request(e)->set_run(0); }),
       "verify_request.run: must be >= 1"},
      {"kind unset",
       Mutated(VerifyRequestSample(), [&](E& e) { request(e)->clear_kind(); }),
       "verify_request.kind: must be set (is VERIFY_KIND_UNSPECIFIED)"},
      {"no object",
       Mutated(VerifyRequestSample(),
               [&](E& e) { request(e)->clear_objects(); }),
       "verify_request.objects: must name at least one object"},
      {"a pair without the responder's field outside a plan",
       Mutated(VerifyRequestSample(),
               [&](E& e) {
                 request(e)->mutable_objects(0)->mutable_fields(0)
                     ->clear_responder_field();
               }),
       "verify_request.objects[0].fields[0].responder_field: must not be "
       "empty"},
      {"a range of no object",
       Mutated(VerifyRequestSample(),
               [&](E& e) { request(e)->mutable_ranges(0)->set_object(1); }),
       "verify_request.ranges[0].object: must index `objects`"},
      {"a plan with ranges",
       Mutated(VerifyRequestSample(),
               [&](E& e) { request(e)->set_kind(proto::VERIFY_PLAN); }),
       "verify_request.ranges: must be empty on VERIFY_PLAN"},
      {"digests of no range",
       Mutated(VerifyRequestSample(),
               [&](E& e) { request(e)->clear_ranges(); }),
       "verify_request.ranges: must hold at least one range"},
      {"an answer to request 0",
       Mutated(VerifyAnswerSample(), [&](E& e) { answer(e)->set_request(0); }),
       "verify_answer.request: must be >= 1"},
      {"a listed record without the responder's id",
       Mutated(VerifyAnswerSample(),
               [&](E& e) {
                 answer(e)->mutable_records(0)->clear_responder_id();
               }),
       "verify_answer.records[0].responder_id: must not be empty"},
  });
  // A plan request leaves the responder's fields to the responder.
  CHECK(ValidateEnvelope(Mutated(VerifyRequestSample(), [&](E& e) {
          request(e)->set_kind(proto::VERIFY_PLAN);
          request(e)->clear_ranges();
          request(e)->mutable_objects(0)->mutable_fields(0)
              ->clear_responder_field();
        })).ok());
}

TEST_CASE("R56 on the wire: each body takes exactly its own queue actions",
          "[wire]") {
  // Written out here, not taken from the codec's tables, so that a change
  // to either is noticed.
  const std::set<int> record = {
      proto::GENERIC_INSERT,     proto::GENERIC_UPDATE,
      proto::REPLICATION_DELETE, proto::REPLICATION_UNDELETE,
      proto::BULK_SYNC,          proto::MISSING_PARTNER_ID};
  const std::set<int> map = {
      proto::TYPE_MAP_UPDATE,       proto::TYPE_MAP_DELETE,
      proto::TYPE_MAP_NAME_UPDATE,  proto::TYPE_MAP_SET_PARTNER_SUB,
      proto::FIELD_MAP_UPDATE,      proto::FIELD_MAP_DELETE,
      proto::FIELD_MAP_NAME_UPDATE, proto::VALUE_MAP_DELETE};
  const std::set<int> user = {proto::USER_UPSERT, proto::BULK_SYNC_USERS};
  const std::set<int> connection = {
      proto::CONNECTION_ADMIN_SUSPENDED, proto::CONNECTION_ADMIN_RESUMED,
      proto::CONNECTION_SUSPENDED,       proto::CONNECTION_RESUMED,
      proto::CONNECTION_DEACTIVATE,      proto::CONNECTION_UPDATE};

  for (int number = proto::QueueAction_MIN; number <= proto::QueueAction_MAX;
       ++number) {
    const auto action = static_cast<proto::QueueAction>(number);
    INFO("action " << proto::QueueAction_Name(action));
    // Each sample sets every field an action of its body may need.
    const proto::Envelope as_record = Mutated(ChangesSample(), [&](E& e) {
      auto* change = e.mutable_changes()->mutable_changes(2);
      change->set_action(action);
      change->set_cascade(false);
    });
    const proto::Envelope as_map = Mutated(MapUpdateSample(), [&](E& e) {
      e.mutable_map_update()->set_action(action);
      e.mutable_map_update()->set_field("Phone");
      e.mutable_map_update()->set_new_name("MobilePhone");
      e.mutable_map_update()->set_picklist_value("Hot");
    });
    const proto::Envelope as_user = Mutated(UserUpsertSample(), [&](E& e) {
      e.mutable_user_upsert()->set_action(action);
    });
    const proto::Envelope as_notice = Mutated(
        NoticeSample(), [&](E& e) { e.mutable_notice()->set_action(action); });
    CHECK(ValidateEnvelope(as_record).ok() == (record.count(number) == 1));
    CHECK(ValidateEnvelope(as_map).ok() == (map.count(number) == 1));
    CHECK(ValidateEnvelope(as_user).ok() == (user.count(number) == 1));
    CHECK(ValidateEnvelope(as_notice).ok() == (connection.count(number) == 1));
  }
  // Map Update Email is the sender's local notice: in no body at all.
  CHECK(record.count(proto::MAP_UPDATE_EMAIL) +
            map.count(proto::MAP_UPDATE_EMAIL) +
            user.count(proto::MAP_UPDATE_EMAIL) +
            connection.count(proto::MAP_UPDATE_EMAIL) ==
        0);
  CHECK(record.size() + map.size() + user.size() + connection.size() ==
        static_cast<size_t>(proto::QueueAction_MAX) - 1);
}

}  // namespace
}  // namespace orgsync::wire::wire_codec_test
