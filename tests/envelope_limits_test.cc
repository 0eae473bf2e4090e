// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// One set of envelope limits (DESIGN.md rule 10): the sender packs record
// changes into envelopes the partner's decoder accepts (bytes and wire
// elements), a change that can never fit fails at once with its reason, and
// an envelope the receiver refuses is answered with a ProtocolError, which
// the sender counts as a failed attempt (R51) and answers by splitting.

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_queue.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/sync_log.h"
#include "orgsync/transport.h"
#include "proto/wire.pb.h"
#include "testing/connection_fixture.h"
#include "testing/crm_schema.h"
#include "testing/storage_testing.h"
#include "wire/change_batch_encoder.h"
#include "wire/envelope_codec.h"
#include "wire/wire_scanner.h"

namespace orgsync::envelope_limits_test {
namespace {

using testing::LogOf;
using testing::RequireOk;
using testing::TwoOrgs;
using testing::TwoOrgsConfig;

constexpr char kWide[] = "Wide";

std::string FieldName(size_t i) { return fmt::format("F{:03}", i); }

// One publishable object of `field_count` text fields.
ObjectDef WideObject(size_t field_count) {
  std::vector<FieldDef> fields;
  for (size_t i = 0; i < field_count; ++i) {
    fields.push_back(testing::Field(FieldName(i), FieldType::kText, 255));
  }
  return testing::Object(kWide, std::move(fields));
}

// Two orgs with the wide object and a RecordStore each, connected (every
// option off, so the connection is Active at once), the primary publishing
// the object and the secondary subscribing it.
struct WideWorld {
  explicit WideWorld(size_t field_count, RetryPolicy retry = {}) {
    RequireOk(primary_schema.AddObject(WideObject(field_count)));
    RequireOk(secondary_schema.AddObject(WideObject(field_count)));
    TwoOrgsConfig config;
    config.primary_schema = &primary_schema;
    config.secondary_schema = &secondary_schema;
    config.queue.retry = retry;
    config.primary_record_store = primary_store.get();
    config.secondary_record_store = secondary_store.get();
    t = std::make_unique<TwoOrgs>(1, testing::NewReopenableMemoryStorage(),
                                  testing::NewReopenableMemoryStorage(),
                                  std::move(config));
    store_clock.target = &t->clock;
    InvitationOptions options = testing::DefaultInvitation();
    options.sync = {};
    std::tie(p, s) = t->Connect(options);
    REQUIRE(p->status() == ConnectionStatus::kActive);
    RequireOk(p->publish_set()->PublishObjects({kWide}));
    REQUIRE(t->Settle());
    RequireOk(s->subscription_map()->Subscribe(kWide));
    REQUIRE(t->Settle());
    REQUIRE(p->publish_set()->IsPartnerSubscribed(kWide));
  }

  // Inserts `count` records of `field_count` filled fields into the
  // primary's store and captures them with one CaptureBatch. Each value is
  // `value` if given, else short.
  void InsertAndCapture(size_t count, size_t field_count,
                        const std::string& value = "") {
    std::vector<LocalChange> changes;
    for (size_t r = 0; r < count; ++r) {
      Record record;
      record.object = kWide;
      for (size_t f = 0; f < field_count; ++f) {
        record.fields[FieldName(f)] =
            value.empty() ? fmt::format("{}", r % 100) : value;
      }
      absl::StatusOr<Record> inserted =
          primary_store->Insert(std::move(record), ApplyContext{});
      RequireOk(inserted.status());
      LocalChange change;
      change.kind = ChangeKind::kInsert;
      change.record = *std::move(inserted);
      changes.push_back(std::move(change));
    }
    absl::StatusOr<std::vector<CaptureResult>> captured =
        p->CaptureBatch(changes);
    RequireOk(captured.status());
    for (const CaptureResult& result : *captured) REQUIRE(result.captured);
  }

  size_t Arrived() {
    size_t count = 0;
    RequireOk(
        secondary_store->Scan(kWide, absl::InfinitePast(), [&](const Record&) {
          ++count;
          return true;
        }));
    return count;
  }

  // Steps both orgs up to `rounds` rounds, the clock moving 31 s a round
  // (past the default ack timeout), until nothing is queued or in flight.
  void Run(size_t rounds) {
    for (size_t round = 0; round < rounds; ++round) {
      if (p->record_queue()->Count() == 0 && s->record_queue()->Count() == 0 &&
          t->pair.InFlight() == 0) {
        return;
      }
      t->Pump(absl::Seconds(31));
    }
  }

  std::unique_ptr<RecordStore> NewStore(const Schema* schema,
                                        std::string id_prefix) {
    RecordStoreOptions options;
    options.schema = schema;
    options.clock = &store_clock;
    options.id_prefix = std::move(id_prefix);
    absl::StatusOr<std::unique_ptr<RecordStore>> store =
        NewInMemoryRecordStore(std::move(options));
    testing::RequireOk(store.status());
    return *std::move(store);
  }

  Schema primary_schema;
  Schema secondary_schema;
  testing::ForwardingClock store_clock;
  std::unique_ptr<RecordStore> primary_store = NewStore(&primary_schema, "P-");
  std::unique_ptr<RecordStore> secondary_store =
      NewStore(&secondary_schema, "S-");
  std::unique_ptr<TwoOrgs> t;
  Connection* p = nullptr;
  Connection* s = nullptr;
};

size_t CountStatus(const std::vector<LogEntry>& log, LogStatus status) {
  size_t count = 0;
  for (const LogEntry& entry : log) count += entry.status == status;
  return count;
}

// Steps the wide world until all `records` arrived, as issue 8 found them
// stalled: 100 rounds of 31 s at most.
void CheckAllArrive(size_t fields, size_t records) {
  WideWorld w(fields);
  w.InsertAndCapture(records, fields);
  w.Run(100);
  CHECK(w.Arrived() == records);
  CHECK(w.p->record_queue()->Count() == 0);
  // Packed right the first time: nothing refused, nothing split.
  CHECK(w.s->counters().rejected_malformed == 0);
  CHECK(w.p->counters().protocol_errors == 0);
  CHECK(CountStatus(LogOf(w.p), LogStatus::kRetrying) == 0);
  CHECK(CountStatus(LogOf(w.p), LogStatus::kFailed) == 0);
  CHECK(CountStatus(LogOf(w.s), LogStatus::kFailed) == 0);
}

TEST_CASE(
    "Rule 10, issue 8 finding 1: 1000 records of 120 fields all arrive, "
    "packed within the partner's element limit",
    "[envelope_limits]") {
  CheckAllArrive(120, 1000);
}

TEST_CASE(
    "Rule 10, issue 8 finding 1: 300 records of 800 fields all arrive, "
    "packed within the partner's element limit",
    "[envelope_limits]") {
  CheckAllArrive(800, 300);
}

// --- A change that can never fit ------------------------------------------

TEST_CASE(
    "Rule 10, R51, issue 8 finding 1: a change over the envelope element "
    "limit on its own fails at once, its size and the limit logged, and "
    "leaves the queue",
    "[envelope_limits]") {
  WideWorld w(1);
  w.InsertAndCapture(1, 1);
  w.Run(5);
  REQUIRE(w.Arrived() == 1);
  // A delete whose store took along more children than one envelope can
  // list (three wire elements each). Capture takes it: the queue's limit
  // is on bytes, and this is some 2 MB.
  std::vector<Record> records;
  RequireOk(
      w.primary_store->Scan(kWide, absl::InfinitePast(), [&](const Record& r) {
        records.push_back(r);
        return true;
      }));
  REQUIRE(records.size() == 1);
  LocalChange change;
  change.kind = ChangeKind::kDelete;
  change.record = records[0];
  change.cascaded_known = true;
  for (size_t i = 0; i < wire::kMaxEnvelopeElements / 3 + 1000; ++i) {
    change.cascaded.push_back(
        RecordRef{.object = kWide, .id = fmt::format("C-{}", i)});
  }
  absl::StatusOr<CaptureResult> captured = w.p->Capture(change);
  RequireOk(captured.status());
  REQUIRE(captured->captured);
  const uint64_t sent = w.p->counters().envelopes_sent;
  w.Run(5);
  CHECK(w.p->record_queue()->Count() == 0);
  CHECK(w.p->counters().envelopes_sent == sent);  // never sent
  CHECK(w.s->counters().rejected_malformed == 0);
  const std::vector<LogEntry> log = LogOf(w.p);
  REQUIRE(CountStatus(log, LogStatus::kFailed) == 1);
  const LogEntry& failed = log.back();
  CHECK(failed.status == LogStatus::kFailed);
  CHECK(failed.action == QueueAction::kReplicationDelete);
  CHECK(failed.error == SyncErrorCode::kValidation);
  INFO(failed.description);
  CHECK_THAT(
      failed.description,
      Catch::Contains("can never be sent") &&
          Catch::Contains("wire elements") &&
          Catch::Contains(std::to_string(wire::kSendLimits.max_elements)));
}

TEST_CASE(
    "Rule 10: the encoder measures a change as the decoder counts it, "
    "refuses one over the element limit on its own with its size and the "
    "limit, and assembles what EncodeEnvelope would",
    "[envelope_limits]") {
  wire::ChangeBatchEncoder encoder("conn-1", "org-a");
  proto::Envelope expected;
  expected.set_connection_id("conn-1");
  expected.set_sender_org_id("org-a");
  expected.set_message_id(77);
  for (uint64_t sequence = 1; sequence <= 3; ++sequence) {
    proto::RecordChange change;
    change.set_sequence(sequence);
    change.set_action(proto::GENERIC_UPDATE);
    change.set_object("Account");
    change.set_sender_record_id(fmt::format("r{}", sequence));
    (*change.mutable_fields())["Name"].set_text("Acme");
    (*change.mutable_fields())["Phone"];  // null: no kind
    change.add_changed_fields("Name");
    (*change.mutable_lookup_receiver_ids())["ParentId"] = "S-1";
    absl::StatusOr<wire::EncodedChange> encoded = encoder.Encode(change);
    RequireOk(encoded.status());
    REQUIRE(encoder.Fits(*encoded));
    encoder.Add(*std::move(encoded));
    *expected.mutable_changes()->add_changes() = change;
  }
  const size_t counted_bytes = encoder.bytes();
  const size_t counted_elements = encoder.elements();
  const std::string bytes = encoder.Finish(77);
  CHECK(bytes == wire::EncodeEnvelope(expected));
  CHECK(encoder.empty());
  CHECK(bytes.size() <= counted_bytes);
  absl::StatusOr<size_t> scanned = wire::internal::ScanEnvelopeWire(bytes);
  RequireOk(scanned.status());
  CHECK(*scanned == counted_elements);
  RequireOk(wire::DecodeEnvelope(bytes).status());

  // One change with more list items than an envelope may hold.
  proto::RecordChange wide;
  wide.set_sequence(9);
  wide.set_action(proto::GENERIC_UPDATE);
  wide.set_object("Account");
  wide.set_sender_record_id("r9");
  for (size_t i = 0; i < wire::kMaxEnvelopeElements; ++i) {
    wide.add_changed_fields("a");
  }
  absl::StatusOr<wire::EncodedChange> refused = encoder.Encode(wide);
  REQUIRE(absl::IsResourceExhausted(refused.status()));
  CHECK_THAT(
      std::string(refused.status().message()),
      Catch::Contains("wire elements") &&
          Catch::Contains(std::to_string(wire::kSendLimits.max_elements)) &&
          Catch::Contains(std::to_string(wire::kMaxEnvelopeElements + 5)));
}

// --- Refused envelopes are answered -----------------------------------------

// The partner, played by the test: two real orgs connect, then the
// secondary org goes away and the test drives its endpoint of the pair,
// recording what the primary sends.
class RawPartner final : public TransportHandler {
 public:
  explicit RawPartner(TwoOrgs* t) : t_(t) {
    t_->secondary.reset();  // detaches from endpoint B
    t_->pair.b()->SetHandler(this);
  }
  ~RawPartner() override { t_->pair.b()->SetHandler(nullptr); }

  void OnMessage(std::string bytes) override {
    absl::StatusOr<proto::Envelope> envelope = wire::DecodeEnvelope(bytes);
    RequireOk(envelope.status());
    received.push_back(*std::move(envelope));
  }
  void OnAvailabilityChanged(bool) override {}

  // Sends `bytes` to the primary and delivers until nothing is in flight.
  void SendAndSettle(std::string bytes) {
    RequireOk(t_->pair.b()->Send(std::move(bytes)));
    REQUIRE(t_->pair.RunUntilIdle());
  }

  std::vector<proto::ProtocolError> ProtocolErrors() const {
    std::vector<proto::ProtocolError> errors;
    for (const proto::Envelope& envelope : received) {
      if (envelope.has_protocol_error()) {
        errors.push_back(envelope.protocol_error());
      }
    }
    return errors;
  }

  std::vector<proto::Envelope> received;

 private:
  TwoOrgs* const t_;
};

// An envelope from the partner ("org-b") on conn-1, as the test fills it.
proto::Envelope FromPartner(uint64_t message_id) {
  proto::Envelope envelope;
  envelope.set_protocol_version(wire::kProtocolVersion);
  envelope.set_connection_id("conn-1");
  envelope.set_sender_org_id("org-b");
  envelope.set_message_id(message_id);
  return envelope;
}

proto::RecordChange SmallChange(uint64_t sequence) {
  proto::RecordChange change;
  change.set_sequence(sequence);
  change.set_action(proto::GENERIC_UPDATE);
  change.set_object(kWide);
  change.set_sender_record_id(fmt::format("B-{}", sequence));
  return change;
}

// Two connected orgs, the secondary's side then played by the test.
struct RawWorld {
  RawWorld() {
    InvitationOptions options = testing::DefaultInvitation();
    options.sync = {};
    p = t.Connect(options).first;
    REQUIRE(p->status() == ConnectionStatus::kActive);
    partner = std::make_unique<RawPartner>(&t);
  }
  // The ProtocolError answering the one envelope sent, checked for the
  // version and message id.
  proto::ProtocolError OnlyAnswer(uint64_t message_id) {
    const std::vector<proto::ProtocolError> errors = partner->ProtocolErrors();
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].supported_version() == wire::kProtocolVersion);
    CHECK(errors[0].rejected_message_id() == message_id);
    CHECK(p->counters().protocol_errors_sent == 1);
    INFO(errors[0].detail());
    return errors[0];
  }

  TwoOrgs t;
  Connection* p = nullptr;
  std::unique_ptr<RawPartner> partner;
};

TEST_CASE(
    "Rule 10, issue 9: an envelope over the limits is answered with a "
    "ProtocolError naming the reason and the limit",
    "[envelope_limits]") {
  RawWorld w;
  SECTION("over the element limit") {
    proto::Envelope envelope = FromPartner(41);
    proto::RecordChange change = SmallChange(1);
    for (size_t i = 0; i < wire::kMaxEnvelopeElements; ++i) {
      change.add_changed_fields("a");
    }
    *envelope.mutable_changes()->add_changes() = std::move(change);
    w.partner->SendAndSettle(envelope.SerializeAsString());
    const proto::ProtocolError error = w.OnlyAnswer(41);
    CHECK_THAT(error.detail(),
               Catch::Contains("wire elements") &&
                   Catch::Contains(std::to_string(wire::kMaxEnvelopeElements)));
  }
  SECTION("over the byte limit") {
    // An unknown field (100, length-delimited) filling the envelope.
    std::string bytes = FromPartner(40).SerializeAsString();
    bytes += "\xa2\x06";
    const size_t length = wire::kMaxEnvelopeBytes;
    size_t rest = length;  // the length, as a varint
    for (; rest >= 0x80; rest >>= 7) {
      bytes += static_cast<char>((rest & 0x7f) | 0x80);
    }
    bytes += static_cast<char>(rest);
    bytes.resize(bytes.size() + length, 'x');
    w.partner->SendAndSettle(std::move(bytes));
    const proto::ProtocolError error = w.OnlyAnswer(40);
    CHECK_THAT(error.detail(),
               Catch::Contains("bytes, over the limit of") &&
                   Catch::Contains(std::to_string(wire::kMaxEnvelopeBytes)));
  }
  SECTION("nested too deep") {
    // Unknown groups nested one level deeper than allowed.
    std::string bytes = FromPartner(42).SerializeAsString();
    const int depth = wire::kMaxEnvelopeNesting + 1;
    for (int i = 0; i < depth; ++i) bytes += "\xa3\x06";  // start group 100
    for (int i = 0; i < depth; ++i) bytes += "\xa4\x06";  // end group 100
    w.partner->SendAndSettle(bytes);
    const proto::ProtocolError error = w.OnlyAnswer(42);
    CHECK_THAT(error.detail(),
               Catch::Contains("nested deeper than") &&
                   Catch::Contains(std::to_string(wire::kMaxEnvelopeNesting)));
  }
  CHECK(w.p->counters().rejected_malformed == 1);
}

TEST_CASE(
    "Rule 10, issue 9: malformed bytes are answered with a ProtocolError "
    "naming the message as far as it can be read -- a refused ProtocolError "
    "and bytes for another connection are not answered",
    "[envelope_limits]") {
  RawWorld w;
  SECTION("a readable header, then a truncated body") {
    // changes (field 12): 5 bytes announced, 2 there.
    w.partner->SendAndSettle(FromPartner(43).SerializeAsString() +
                             std::string("\x62\x05"
                                         "ab"));
    const proto::ProtocolError error = w.OnlyAnswer(43);
    CHECK_THAT(error.detail(), Catch::Contains("malformed"));
  }
  SECTION("nothing readable") {
    w.partner->SendAndSettle(std::string("\xff\xff\xff"));
    const proto::ProtocolError error = w.OnlyAnswer(0);
    CHECK_THAT(error.detail(), Catch::Contains("malformed"));
  }
  SECTION("a refused ProtocolError is never answered") {
    proto::Envelope envelope = FromPartner(44);
    envelope.set_protocol_version(0);  // refused: no version
    envelope.mutable_protocol_error()->set_supported_version(1);
    envelope.mutable_protocol_error()->set_rejected_message_id(3);
    w.partner->SendAndSettle(envelope.SerializeAsString());
    CHECK(w.partner->ProtocolErrors().empty());
    CHECK(w.p->counters().protocol_errors_sent == 0);
  }
  SECTION("bytes that name another connection are not answered") {
    proto::Envelope envelope = FromPartner(45);
    envelope.set_connection_id("conn-9");
    w.partner->SendAndSettle(envelope.SerializeAsString() +
                             std::string("\x62\x05"
                                         "ab"));
    CHECK(w.partner->ProtocolErrors().empty());
  }
  CHECK(w.p->counters().rejected_malformed == 1);
}

TEST_CASE(
    "Rule 10, issue 9: an envelope of a newer protocol version is answered "
    "with a ProtocolError carrying the supported version",
    "[envelope_limits]") {
  RawWorld w;
  proto::Envelope envelope = FromPartner(46);
  envelope.set_protocol_version(wire::kProtocolVersion + 1);
  *envelope.mutable_changes()->add_changes() = SmallChange(1);
  w.partner->SendAndSettle(envelope.SerializeAsString());
  const proto::ProtocolError error = w.OnlyAnswer(46);
  CHECK_THAT(error.detail(),
             Catch::Contains("newer") &&
                 Catch::Contains(std::to_string(wire::kProtocolVersion + 1)));
}

// --- The sender of a refused envelope ------------------------------------

// The wide world with its secondary played by the test, which answers
// every ChangeBatch envelope with a ProtocolError.
struct RefusingWorld {
  explicit RefusingWorld(RetryPolicy retry) : w(2, retry), partner(w.t.get()) {}

  // Rounds of: the primary steps, its envelopes reach the partner, which
  // refuses each ChangeBatch, and the refusals reach the primary; the clock
  // moves past the retry delay. Returns the sizes of the refused batches.
  std::vector<size_t> RefuseAll(size_t rounds) {
    std::vector<size_t> sizes;
    for (size_t round = 0; round < rounds; ++round) {
      RequireOk(w.t->primary->Step().status());
      w.t->pair.Step();
      std::vector<proto::Envelope> received;
      received.swap(partner.received);
      for (const proto::Envelope& envelope : received) {
        if (!envelope.has_changes()) continue;
        sizes.push_back(static_cast<size_t>(envelope.changes().changes_size()));
        proto::Envelope answer = FromPartner(1000 + round);
        proto::ProtocolError* error = answer.mutable_protocol_error();
        error->set_supported_version(wire::kProtocolVersion);
        error->set_rejected_message_id(envelope.message_id());
        error->set_detail(
            "invalid envelope: over the limit of 9 wire "
            "elements");
        RequireOk(w.t->pair.b()->Send(wire::EncodeEnvelope(answer)));
      }
      w.t->pair.Step();
      w.t->clock.Advance(absl::Seconds(11));
    }
    return sizes;
  }

  WideWorld w;
  RawPartner partner;
};

TEST_CASE(
    "Rule 10, R51, issue 9: a refused envelope counts a failed attempt for "
    "each change it carried (Retrying), which go again split in halves, "
    "and are Failed after the last attempt, not resent for ever",
    "[envelope_limits]") {
  RefusingWorld r({.initial_delay = absl::Seconds(10),
                   .multiplier = 1.0,
                   .max_delay = absl::Seconds(10),
                   .jitter = 0.0,
                   .max_attempts = 3});
  r.w.InsertAndCapture(8, 2);
  const std::vector<size_t> sizes = r.RefuseAll(12);
  // 8 together, then 4 and 4, then four envelopes of 2; the third refusal
  // is the last attempt.
  CHECK(sizes == std::vector<size_t>{8, 4, 4, 2, 2, 2, 2});
  CHECK(r.w.p->record_queue()->Count() == 0);
  CHECK(r.w.p->counters().protocol_errors == 7);
  const std::vector<LogEntry> log = LogOf(r.w.p);
  CHECK(CountStatus(log, LogStatus::kRetrying) == 8);
  CHECK(CountStatus(log, LogStatus::kFailed) == 8);
  for (const LogEntry& entry : log) {
    INFO(entry.description);
    if (entry.status == LogStatus::kRetrying) {
      CHECK_THAT(entry.description,
                 Catch::Contains("the partner refused the envelope") &&
                     Catch::Contains("over the limit of 9 wire elements") &&
                     Catch::Contains("at most 4 changes"));
    }
    if (entry.status == LogStatus::kFailed) {
      CHECK(entry.attempts == 3);
      CHECK_THAT(entry.description, Catch::Contains("gave up after 3"));
    }
  }
}

TEST_CASE(
    "Rule 10, issue 9: a change whose envelope is refused with it alone "
    "fails at once, with the partner's reason",
    "[envelope_limits]") {
  RefusingWorld r({});
  r.w.InsertAndCapture(1, 2);
  const std::vector<size_t> sizes = r.RefuseAll(4);
  CHECK(sizes == std::vector<size_t>{1});
  CHECK(r.w.p->record_queue()->Count() == 0);
  const std::vector<LogEntry> log = LogOf(r.w.p);
  REQUIRE(CountStatus(log, LogStatus::kFailed) == 1);
  CHECK(log.back().status == LogStatus::kFailed);
  CHECK(log.back().attempts == 1);
  CHECK_THAT(log.back().description,
             Catch::Contains("alone") &&
                 Catch::Contains("over the limit of 9 wire elements"));
}

}  // namespace
}  // namespace orgsync::envelope_limits_test
