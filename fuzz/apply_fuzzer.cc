// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Structure-aware libFuzzer target for the partner-facing apply path: a
// real org ("org-b", fuzz_org.h: memory storage, in-memory record store,
// an accepted connection subscribed to everything the partner publishes)
// receives envelopes of record changes that the fuzzer's bytes decide, as
// if its partner sent them, and answers them.
//
// The bytes are read as choices (FuzzedDataProvider), not parsed as a
// protobuf, so that nearly every input reaches the engine: how many
// envelopes, and for each its header (the right connection and partner, or
// not; message ids increasing, repeated or 0) and its ChangeBatch -- every
// record action and some that are not, known objects and unknown ones,
// sender ids from a small set, sequences increasing, repeated or 0, values
// of every kind for every field (wrong types, text over the field's length
// and over orgsync's own limit, NaN and infinities, numbers over the
// precision, binaries over the file limit, references, times at the
// extremes), lookup hints and cascade lists that name this org's ids --
// the bystanders' among them -- and last_modified_micros at the extremes.
// Some envelopes are sent with bytes changed, dropped or added after
// encoding.
//
// Properties checked after every envelope, beyond "no crash, no sanitizer
// report, no hang":
//   - org-b's answers decode;
//   - an envelope of changes that decodes is answered by exactly one
//     ItemResult per change, with its sequence, and by no other result;
//     one that does not decode (and may be the partner's) is answered by a
//     ProtocolError naming its message id, and by no result;
//   - every failure (RETRYABLE or PERMANENT) carries an error code and a
//     description, and every ProtocolError a detail;
//   - no APPLIED or DUPLICATE result names a bystander as the record.
// And after the whole input:
//   - the bystanders, records the connection never shared, are exactly as
//     they were written (fields, version, deleted or not);
//   - every stored record conforms to the local schema: fields the object
//     has, values of the field's kind, text within the field's length
//     (code points; orgsync's limit when none is set), picklist values
//     from the list, finite numbers within the precision, binaries within
//     the file limit;
//   - every change refused for a value (VALIDATION, FILE_TOO_LARGE,
//     SCHEMA_MISMATCH; not one refused for its time, which the answer
//     alone reports) has a Failed SyncLog entry with that code.
// A violation abort()s with a line on stderr; libFuzzer saves the input.
//
// Run (fuzz build, see fuzz/CMakeLists.txt):
//   build-fuzz/fuzz/apply_fuzzer fuzz/corpus/apply -max_total_time=600
// (use a copy of the corpus directory to keep the repository's unchanged).
// ctest runs it for ORGSYNC_FUZZ_SECONDS (test apply_fuzzer_run). To read
// what an input does, run it alone with APPLY_FUZZER_TRACE=1: every
// envelope sent and every answer is printed.
//
// Not sent: envelopes without sender_org_id. wire.proto calls the field
// optional, but org-b drops changes whose sender is not its partner's id
// without an answer, an empty one included (reported with issue 9).

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "engine/hybrid_clock.h"
#include "engine/incoming_values.h"
#include "fuzz_org.h"
#include "orgsync/sync_log.h"
#include "proto/wire.pb.h"
#include "wire/envelope_codec.h"

namespace orgsync::fuzz {
namespace {

// APPLY_FUZZER_TRACE=1 prints every envelope and answer (to read a crash).
bool Tracing() {
  static const bool tracing = std::getenv("APPLY_FUZZER_TRACE") != nullptr;
  return tracing;
}

void Trace(const char* what, const google::protobuf::Message& message) {
  if (!Tracing()) return;
  std::string text = message.ShortDebugString();
  if (text.size() > 2000) text = text.substr(0, 2000) + "...";
  std::fprintf(stderr, "%s: %s\n", what, text.c_str());
}

[[noreturn]] void Fail(const std::string& property) {
  std::fprintf(stderr, "apply_fuzzer: %s\n", property.c_str());
  std::abort();
}

// Names the fuzzer picks from. Unknown objects and fields are on purpose.
constexpr std::string_view kObjects[] = {"Account",    "Contact", "Invoice",
                                         "Attachment", "Lead",    "Nope"};
constexpr std::string_view kFields[] = {
    "Name",      "Notes",     "Employees", "Revenue", "Share", "Active",
    "Founded",   "Seen",      "Email",     "Phone",   "Stage", "Site",
    "ParentId",  "OwnerId",   "Logo",      "Code",    "Score", "Where",
    "LastName",  "AccountId", "Amount",    "Title",   "Body",  "Company",
    "CreatedBy", "Missing"};
constexpr std::string_view kPartnerIds[] = {"a1", "a2", "a3", "a4", "a5"};
constexpr proto::QueueAction kActions[] = {
    proto::GENERIC_INSERT,     proto::GENERIC_INSERT,
    proto::GENERIC_UPDATE,     proto::GENERIC_UPDATE,
    proto::REPLICATION_DELETE, proto::REPLICATION_UNDELETE,
    proto::BULK_SYNC,          proto::MISSING_PARTNER_ID,
    proto::CONNECTION_UPDATE,  proto::QUEUE_ACTION_UNSPECIFIED};

// True with probability `p`. An exhausted input reads as zeros: every
// choice then takes its first, ordinary option, and this is false.
bool Rarely(FuzzedDataProvider& in, float p) {
  return in.ConsumeProbability<float>() > 1.0f - p;
}

template <typename T, size_t N>
const T& Pick(FuzzedDataProvider& in, const T (&options)[N]) {
  return options[in.ConsumeIntegralInRange<size_t>(0, N - 1)];
}

// What the fuzzer knows across the envelopes of one input.
struct Session {
  uint64_t next_sequence = 1;
  uint64_t next_message_id = 1;
  std::vector<uint64_t> sent_sequences;
  // Local ids: the bystanders', and those org-b answered with.
  std::vector<std::string> local_ids;
  std::set<std::string> bystander_ids;
  // PERMANENT_FAILUREs refused for a value, by error code.
  std::map<int, size_t> value_refusals;
};

std::string LocalId(FuzzedDataProvider& in, const Session& session) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      // Ids are a prefix and a counter: easy to guess.
      return "S-" + std::string(11, '0') +
             std::to_string(in.ConsumeIntegralInRange<int>(0, 9));
    case 1:
      return std::string(kPartnerIds[0]);  // a partner id where ours belongs
    default:
      return session.local_ids[in.ConsumeIntegralInRange<size_t>(
          0, session.local_ids.size() - 1)];
  }
}

std::string PartnerId(FuzzedDataProvider& in) {
  return std::string(Pick(in, kPartnerIds));
}

std::string Text(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 7)) {
    case 0:
      return "New";
    case 1:
      return "Done";
    case 2:
      // Two bytes a character: long in bytes, shorter in characters.
      return [&] {
        std::string text;
        const int chars = in.ConsumeIntegralInRange<int>(0, 400);
        for (int i = 0; i < chars; ++i) text += "\xC3\xA9";
        return text;
      }();
    case 3:
      return std::string(in.ConsumeIntegralInRange<size_t>(0, 400), 'x');
    case 4:
      // Over orgsync's limit for a field with no length.
      return std::string(internal::kMaxUnsizedTextChars + 1, 'y');
    default: {
      // Printable ASCII keeps the string valid UTF-8 (the codec refuses
      // the rest; the raw mutations reach that).
      std::string text = in.ConsumeRandomLengthString(64);
      for (char& c : text) c = static_cast<char>(' ' + (c & 0x3F));
      return text;
    }
  }
}

proto::FieldValue Value(FuzzedDataProvider& in, const Session& session) {
  proto::FieldValue value;
  switch (in.ConsumeIntegralInRange<int>(0, 7)) {
    case 0:
      break;  // null
    case 1:
      value.set_text(Text(in));
      break;
    case 2: {
      constexpr int64_t kIntegers[] = {0,
                                       1,
                                       -1,
                                       99999,
                                       100000,
                                       std::numeric_limits<int64_t>::max(),
                                       std::numeric_limits<int64_t>::min()};
      value.set_integer(in.ConsumeBool() ? Pick(in, kIntegers)
                                         : in.ConsumeIntegral<int64_t>());
      break;
    }
    case 3: {
      constexpr double kReals[] = {std::numeric_limits<double>::quiet_NaN(),
                                   std::numeric_limits<double>::infinity(),
                                   -std::numeric_limits<double>::infinity(),
                                   1e300,
                                   -0.0,
                                   0.1,
                                   12.345,
                                   999.99};
      value.set_real(in.ConsumeBool() ? Pick(in, kReals)
                                      : in.ConsumeFloatingPoint<double>());
      break;
    }
    case 4:
      value.set_boolean(in.ConsumeBool());
      break;
    case 5:
      value.set_binary(std::string(
          in.ConsumeBool() ? kFuzzMaxFileBytes + 1
                           : in.ConsumeIntegralInRange<size_t>(0, 8),
          '\0'));
      break;
    case 6: {
      constexpr int64_t kTimes[] = {0, -1, 1767225600000000,
                                    std::numeric_limits<int64_t>::max(),
                                    std::numeric_limits<int64_t>::min()};
      value.set_time_micros(in.ConsumeBool() ? Pick(in, kTimes)
                                             : in.ConsumeIntegral<int64_t>());
      break;
    }
    default:
      value.set_reference(in.ConsumeBool() ? PartnerId(in)
                                           : LocalId(in, session));
      break;
  }
  return value;
}

uint64_t Sequence(FuzzedDataProvider& in, Session& session) {
  switch (in.ConsumeIntegralInRange<int>(0, 7)) {
    case 7:
      return 0;  // the codec refuses it
    case 1:
      if (!session.sent_sequences.empty()) {
        return session.sent_sequences[in.ConsumeIntegralInRange<size_t>(
            0, session.sent_sequences.size() - 1)];
      }
      [[fallthrough]];
    case 2:
      // A jump ahead: later sequences below it are then old.
      session.next_sequence += in.ConsumeIntegralInRange<uint64_t>(0, 1000);
      [[fallthrough]];
    default:
      return session.next_sequence++;
  }
}

int64_t LastModified(FuzzedDataProvider& in, const FuzzOrgs& orgs) {
  const int64_t now = absl::ToUnixMicros(orgs.Now());
  switch (in.ConsumeIntegralInRange<int>(0, 7)) {
    case 1:
      return std::numeric_limits<int64_t>::max();
    case 2:
      return std::numeric_limits<int64_t>::min();
    case 3:
      return -in.ConsumeIntegralInRange<int64_t>(0, 1000);
    case 4:
      return in.ConsumeIntegral<int64_t>();
    case 5:
      return now + in.ConsumeIntegralInRange<int64_t>(-1000000000, 1000000000);
    default:
      return now;
  }
}

// A value meant for `field`: of its kind, and mostly within its limits.
proto::FieldValue FittingValue(FuzzedDataProvider& in, const FieldDef& field,
                               const Session& session, int64_t now) {
  proto::FieldValue value;
  switch (field.type) {
    case FieldType::kPicklist:
      value.set_text(in.ConsumeBool() ? "New" : "Other");
      break;
    case FieldType::kNumber:
    case FieldType::kCurrency:
    case FieldType::kPercent:
      if (in.ConsumeBool()) {
        value.set_integer(in.ConsumeIntegralInRange<int64_t>(-999, 999));
      } else {
        value.set_real(in.ConsumeIntegralInRange<int>(-99999, 99999) / 100.0);
      }
      break;
    case FieldType::kBoolean:
      value.set_boolean(in.ConsumeBool());
      break;
    case FieldType::kDate:
    case FieldType::kDateTime:
      value.set_time_micros(now);
      break;
    case FieldType::kLookup:
    case FieldType::kMasterDetail:
      // The partner's ids: linked here once the partner inserted them.
      value.set_reference(!Rarely(in, 0.2f) ? PartnerId(in)
                                            : LocalId(in, session));
      break;
    case FieldType::kUserReference:
      value.set_reference(in.ConsumeBool() ? "U1" : "U-missing");
      break;
    case FieldType::kBinary:
      value.set_binary(std::string(
          in.ConsumeIntegralInRange<size_t>(0, kFuzzMaxFileBytes + 1), 'b'));
      break;
    default:
      // Text of every kind, up to one character over the field's length.
      value.set_text(
          std::string(in.ConsumeIntegralInRange<size_t>(
                          0, field.length != 0 ? field.length + 1 : 64),
                      't'));
      break;
  }
  return value;
}

// Mostly a well-formed change of a published object, of fields it has, so
// that inputs reach the apply path and build up linked records; a "wild"
// one (one in five) breaks any rule: unknown objects and fields, actions
// that are not record actions, sequence 0, wire rules (audit fields on an
// update, `deleted` on a delete).
proto::RecordChange Change(FuzzedDataProvider& in, Session& session,
                           const FuzzOrgs& orgs) {
  const bool wild = Rarely(in, 0.2f);
  const int64_t now = absl::ToUnixMicros(orgs.Now());
  proto::RecordChange change;
  if (wild) {
    change.set_sequence(Sequence(in, session));
    change.set_action(Pick(in, kActions));
    change.set_object(std::string(Pick(in, kObjects)));
  } else {
    constexpr proto::QueueAction kRecordActions[] = {
        proto::GENERIC_INSERT,     proto::GENERIC_INSERT,
        proto::GENERIC_UPDATE,     proto::GENERIC_UPDATE,
        proto::REPLICATION_DELETE, proto::REPLICATION_UNDELETE,
        proto::BULK_SYNC};
    change.set_sequence(Rarely(in, 0.1f) && !session.sent_sequences.empty()
                            ? session.sent_sequences.back()
                            : session.next_sequence++);
    change.set_action(Pick(in, kRecordActions));
    const std::vector<std::string>& objects = PublishedObjects();
    change.set_object(
        objects[in.ConsumeIntegralInRange<size_t>(0, objects.size() - 1)]);
  }
  const bool whole = change.action() == proto::GENERIC_INSERT ||
                     change.action() == proto::BULK_SYNC;
  const bool deletion = change.action() == proto::REPLICATION_DELETE ||
                        change.action() == proto::REPLICATION_UNDELETE;
  change.set_sender_record_id(PartnerId(in));
  if (Rarely(in, 0.1f)) {
    change.set_receiver_record_id(LocalId(in, session));
  }
  const auto def = FuzzSchema().FindObject(change.object());
  const int fields = in.ConsumeIntegralInRange<int>(0, 5);
  for (int i = 0; i < fields && !(deletion && !wild); ++i) {
    std::string name;
    proto::FieldValue value;
    if (wild || def == nullptr) {
      name = std::string(Pick(in, kFields));
      value = Value(in, session);
    } else {
      const FieldDef& field = def->fields[in.ConsumeIntegralInRange<size_t>(
          0, def->fields.size() - 1)];
      name = field.name;
      value = !Rarely(in, 0.2f) ? FittingValue(in, field, session, now)
                                : Value(in, session);
    }
    (*change.mutable_fields())[name] = std::move(value);
    if (in.ConsumeBool()) change.add_changed_fields(name);
  }
  if ((wild || whole) && Rarely(in, 0.2f)) {
    proto::AuditFields* audit = change.mutable_audit();
    audit->set_created_by(in.ConsumeBool() ? "U1" : "U-missing");
    audit->set_created_date_micros(wild ? LastModified(in, orgs) : now);
  }
  change.set_sender_version(in.ConsumeIntegralInRange<uint64_t>(0, 5));
  change.set_last_synced_receiver_version(
      in.ConsumeIntegralInRange<uint64_t>(0, 5));
  change.set_last_modified_micros(wild ? LastModified(in, orgs) : now);
  if ((wild || deletion) && Rarely(in, 0.5f)) {
    change.set_cascade(true);
    change.set_cascade_listed(in.ConsumeBool());
    const int cascaded = in.ConsumeIntegralInRange<int>(0, 3);
    for (int i = 0; i < cascaded; ++i) {
      proto::CascadedRecord* record = change.add_cascaded();
      record->set_object(std::string(Pick(in, kObjects)));
      record->set_sender_record_id(PartnerId(in));
      if (in.ConsumeBool()) {
        record->set_receiver_record_id(LocalId(in, session));
      }
    }
  }
  if (Rarely(in, 0.3f)) {
    constexpr std::string_view kHinted[] = {"ParentId", "AccountId", "Name"};
    const int hints = in.ConsumeIntegralInRange<int>(1, 2);
    for (int i = 0; i < hints; ++i) {
      (*change.mutable_lookup_receiver_ids())[std::string(
          wild ? Pick(in, kFields) : Pick(in, kHinted))] = LocalId(in, session);
    }
  }
  if ((wild || whole) && Rarely(in, 0.1f)) {
    change.set_deleted(true);
  }
  return change;
}

proto::Envelope Envelope(FuzzedDataProvider& in, Session& session,
                         const FuzzOrgs& orgs) {
  proto::Envelope envelope;
  switch (in.ConsumeIntegralInRange<int>(0, 15)) {
    case 1:
      envelope.set_connection_id("conn-other");
      break;
    case 2:
      envelope.set_connection_id("");  // the codec refuses it
      break;
    default:
      envelope.set_connection_id(kConnectionId);
  }
  switch (in.ConsumeIntegralInRange<int>(0, 15)) {
    case 1:
      envelope.set_sender_org_id("org-x");
      break;
    default:
      envelope.set_sender_org_id(kPartnerOrgId);
  }
  switch (in.ConsumeIntegralInRange<int>(0, 15)) {
    case 1:
      envelope.set_message_id(0);
      break;
    case 2:
      envelope.set_message_id(session.next_message_id - 1);  // repeated
      break;
    default:
      envelope.set_message_id(session.next_message_id++);
  }
  proto::ChangeBatch* batch = envelope.mutable_changes();
  // Rarely no change at all: the codec refuses an empty batch.
  const int changes = in.ConsumeIntegralInRange<int>(0, 40) == 40
                          ? 0
                          : in.ConsumeIntegralInRange<int>(1, 6);
  for (int i = 0; i < changes; ++i) {
    *batch->add_changes() = Change(in, session, orgs);
  }
  return envelope;
}

// Changes a few bytes of an encoded envelope: flips, cuts and insertions.
void Mutate(FuzzedDataProvider& in, std::string* bytes) {
  const int edits = in.ConsumeIntegralInRange<int>(1, 4);
  for (int i = 0; i < edits && !bytes->empty(); ++i) {
    const size_t at = in.ConsumeIntegralInRange<size_t>(0, bytes->size() - 1);
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 1:
        bytes->resize(at);
        break;
      case 2:
        bytes->insert(at, in.ConsumeBytesAsString(
                              in.ConsumeIntegralInRange<size_t>(1, 8)));
        break;
      default:
        (*bytes)[at] = static_cast<char>(
            (*bytes)[at] ^ in.ConsumeIntegralInRange<int>(1, 255));
    }
  }
}

// What org-b must answer to the bytes it is given.
enum class Expect { kResults, kProtocolError, kUnchecked };

// Whether the change of `sent` with `sequence` carries a time org-b
// accepts (else it is refused for that before its values are looked at).
bool StampAcceptable(const proto::Envelope& sent, uint64_t sequence) {
  for (const proto::RecordChange& change : sent.changes().changes()) {
    if (change.sequence() == sequence) {
      return internal::HybridClock::IsAcceptableStamp(
          change.last_modified_micros());
    }
  }
  return false;
}

void CheckAnswers(const std::vector<std::string>& answers, Expect expect,
                  const proto::Envelope* sent, uint64_t refused_message_id,
                  Session& session) {
  std::vector<proto::ItemResult> results;
  std::vector<proto::ProtocolError> errors;
  for (const std::string& bytes : answers) {
    absl::StatusOr<proto::Envelope> answer = wire::DecodeEnvelope(bytes);
    if (!answer.ok()) {
      Fail("org-b sent an envelope that does not decode: " +
           answer.status().ToString());
    }
    Trace("answer", *answer);
    if (answer->has_ack()) {
      for (const proto::ItemResult& result : answer->ack().results()) {
        results.push_back(result);
      }
    } else if (answer->has_protocol_error()) {
      errors.push_back(answer->protocol_error());
    }
  }
  for (const proto::ProtocolError& error : errors) {
    if (error.detail().empty()) Fail("a ProtocolError without a detail");
  }
  for (const proto::ItemResult& result : results) {
    const std::string seq = std::to_string(result.sequence());
    if (result.outcome() == proto::RETRYABLE_FAILURE ||
        result.outcome() == proto::PERMANENT_FAILURE) {
      if (result.error() == proto::ERROR_NONE || result.description().empty()) {
        Fail("failure without an error code or a description, sequence " + seq);
      }
    }
    if (result.outcome() == proto::PERMANENT_FAILURE &&
        (result.error() == proto::ERROR_VALIDATION ||
         result.error() == proto::ERROR_FILE_TOO_LARGE ||
         result.error() == proto::ERROR_SCHEMA_MISMATCH) &&
        sent != nullptr && StampAcceptable(*sent, result.sequence())) {
      // A change refused for its time (not a value) is answered, not
      // logged: only value refusals are counted.
      ++session.value_refusals[result.error()];
    }
    if (result.outcome() == proto::APPLIED ||
        result.outcome() == proto::DUPLICATE) {
      const std::string& id = result.receiver_record_id();
      if (session.bystander_ids.count(id) != 0) {
        Fail("sequence " + seq + " was answered with bystander " + id);
      }
      if (!id.empty()) session.local_ids.push_back(id);
    }
  }
  switch (expect) {
    case Expect::kUnchecked:
      return;
    case Expect::kProtocolError:
      if (!results.empty()) Fail("a refused envelope got item results");
      if (errors.size() != 1 ||
          errors[0].rejected_message_id() != refused_message_id) {
        Fail("a refused envelope (message " +
             std::to_string(refused_message_id) + ") got " +
             std::to_string(errors.size()) + " ProtocolErrors");
      }
      return;
    case Expect::kResults: {
      if (!errors.empty()) Fail("a valid envelope got a ProtocolError");
      std::multiset<uint64_t> answered;
      for (const proto::ItemResult& result : results) {
        answered.insert(result.sequence());
      }
      std::multiset<uint64_t> asked;
      for (const proto::RecordChange& change : sent->changes().changes()) {
        asked.insert(change.sequence());
      }
      if (answered != asked) {
        Fail("the changes of message " + std::to_string(sent->message_id()) +
             " (" + std::to_string(asked.size()) + ") got " +
             std::to_string(answered.size()) +
             " results, not one per sequence");
      }
      return;
    }
  }
}

// How org-b must answer `bytes`, given what it was meant to be (`decoded`
// when DecodeEnvelope takes it).
Expect Expected(std::string_view bytes,
                const absl::StatusOr<proto::Envelope>& decoded,
                uint64_t* refused_message_id) {
  if (decoded.ok()) {
    const bool ours = decoded->connection_id() == kConnectionId &&
                      decoded->sender_org_id() == kPartnerOrgId;
    return ours && decoded->has_changes() ? Expect::kResults
                                          : Expect::kUnchecked;
  }
  // Refused bytes are answered when they may be the partner's
  // (connection/envelope_refusals.cc): what can be read of the header
  // names this connection and partner, or nothing.
  const wire::RefusedHeader header = wire::ReadRefusedHeader(bytes);
  if (header.protocol_error) return Expect::kUnchecked;
  if (!header.connection_id.empty() && header.connection_id != kConnectionId) {
    return Expect::kUnchecked;
  }
  if (!header.sender_org_id.empty() && header.sender_org_id != kPartnerOrgId) {
    return Expect::kUnchecked;
  }
  *refused_message_id = header.message_id;
  return Expect::kProtocolError;
}

// Whether `value` is one a field of `def` may hold (see the file comment).
bool Conforms(const FieldDef& def, const FieldValue& value) {
  if (std::holds_alternative<std::monostate>(value)) return true;
  switch (def.type) {
    case FieldType::kText:
    case FieldType::kLongText:
    case FieldType::kEmail:
    case FieldType::kPhone:
    case FieldType::kPicklist:
    case FieldType::kUrl: {
      const auto* text = std::get_if<std::string>(&value);
      if (text == nullptr) return false;
      const size_t chars = static_cast<size_t>(
          std::count_if(text->begin(), text->end(), [](char c) {
            return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
          }));
      const size_t limit =
          def.length != 0 ? def.length : internal::kMaxUnsizedTextChars;
      if (chars > limit) return false;
      return def.type != FieldType::kPicklist ||
             std::find(def.picklist_values.begin(), def.picklist_values.end(),
                       *text) != def.picklist_values.end();
    }
    case FieldType::kNumber:
    case FieldType::kCurrency:
    case FieldType::kPercent: {
      double number;
      if (const auto* integer = std::get_if<int64_t>(&value)) {
        number = static_cast<double>(*integer);
      } else if (const auto* real = std::get_if<double>(&value)) {
        number = *real;
      } else {
        return false;
      }
      if (!std::isfinite(number)) return false;
      // Within the digits before the decimal point (a margin for the
      // rounding of a conversion to double).
      return def.precision == 0 ||
             std::fabs(number) <
                 std::pow(10.0, static_cast<int>(def.precision) -
                                    static_cast<int>(def.scale)) *
                     (1 + 1e-12);
    }
    case FieldType::kBoolean:
      return std::holds_alternative<bool>(value);
    case FieldType::kDate:
    case FieldType::kDateTime:
      return std::holds_alternative<absl::Time>(value);
    case FieldType::kLookup:
    case FieldType::kMasterDetail:
    case FieldType::kUserReference:
      return std::holds_alternative<Reference>(value);
    case FieldType::kBinary: {
      const auto* binary = std::get_if<Binary>(&value);
      return binary != nullptr && binary->bytes.size() <= kFuzzMaxFileBytes;
    }
    default:
      return false;  // R12: never received, so never stored
  }
}

void CheckStore(FuzzOrgs& orgs, const Session& session) {
  for (const Record& before : orgs.bystanders()) {
    absl::StatusOr<Record> now = orgs.store()->Get(before.object, before.id);
    if (!now.ok() || !(*now == before)) {
      Fail("bystander " + before.object + "/" + before.id + " was changed" +
           (now.ok() ? "" : ": " + now.status().ToString()));
    }
  }
  for (const std::string& object : PublishedObjects()) {
    const auto def = FuzzSchema().FindObject(object);
    const absl::Status scanned = orgs.store()->Scan(
        object, absl::InfinitePast(), [&](const Record& record) {
          for (const auto& [name, value] : record.fields) {
            const FieldDef* field = def->FindField(name);
            if (field == nullptr || !Conforms(*field, value)) {
              Fail("stored " + object + "/" + record.id + " field " + name +
                   " = " + FormatFieldValue(value).substr(0, 80) +
                   " does not conform to the schema");
            }
          }
          return true;
        });
    if (!scanned.ok()) Fail("Scan failed: " + scanned.ToString());
  }
  // Every value refusal is in the SyncLog, with its code.
  std::map<int, size_t> logged;
  LogQuery query;
  query.status = LogStatus::kFailed;
  std::string token;
  do {
    absl::StatusOr<LogPage> page = orgs.connection()->sync_log()->Query(
        query, token, SyncLog::kMaxPageSize);
    if (!page.ok()) Fail("SyncLog query failed: " + page.status().ToString());
    for (const LogEntry& entry : page->entries) {
      ++logged[static_cast<int>(entry.error)];
    }
    token = page->next_page_token;
  } while (!token.empty());
  for (const auto& [code, count] : session.value_refusals) {
    if (logged[code] < count) {
      Fail(std::to_string(count) + " changes refused with error " +
           std::to_string(code) + " but " + std::to_string(logged[code]) +
           " Failed SyncLog entries");
    }
  }
}

}  // namespace
}  // namespace orgsync::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace orgsync;        // NOLINT: a fuzz entry point
  using namespace orgsync::fuzz;  // NOLINT

  FuzzedDataProvider in(data, size);
  std::unique_ptr<FuzzOrgs> orgs = FuzzOrgs::Create();
  Session session;
  for (const Record& record : orgs->bystanders()) {
    session.local_ids.push_back(record.id);
    session.bystander_ids.insert(record.id);
  }

  const int envelopes = in.ConsumeIntegralInRange<int>(1, 8);
  for (int i = 0; i < envelopes && in.remaining_bytes() > 0; ++i) {
    const bool mutate = Rarely(in, 0.1f);
    const proto::Envelope envelope = Envelope(in, session, *orgs);
    for (const proto::RecordChange& change : envelope.changes().changes()) {
      session.sent_sequences.push_back(change.sequence());
    }
    Trace(mutate ? "sent (then mutated)" : "sent", envelope);
    std::string bytes = wire::EncodeEnvelope(envelope);
    if (mutate) Mutate(in, &bytes);
    const absl::StatusOr<proto::Envelope> decoded = wire::DecodeEnvelope(bytes);
    // Only record changes are fuzzed here: a mutation that turned the body
    // into another one (a notice could deactivate the connection) is not
    // sent.
    if (decoded.ok() && !decoded->has_changes()) continue;
    uint64_t refused_message_id = 0;
    const Expect expect = Expected(bytes, decoded, &refused_message_id);
    const std::vector<std::string> answers = orgs->Exchange(std::move(bytes));
    CheckAnswers(answers, expect, decoded.ok() ? &*decoded : nullptr,
                 refused_message_id, session);
    orgs->clock().Advance(
        absl::Milliseconds(in.ConsumeIntegralInRange<int>(0, 5000)));
  }
  CheckStore(*orgs, session);
  return 0;
}
