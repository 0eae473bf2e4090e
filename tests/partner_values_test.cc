// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// A partner is trusted only as far as the connection shares (issue 9 items
// 1-2) and a schema mismatch is never silent (issue 8 item 6).
//
// Most cases are written as the partner: two real orgs connect and set up
// publish/subscribe, then the primary org lets go of its transport endpoint
// and the test drives it, sending envelopes it builds in orgsync's own wire
// format (lib/proto/wire.proto, wire::EncodeEnvelope) to the real secondary
// and reading the acknowledgement that comes back. The schema-mismatch cases
// run between two real orgs whose schemas differ.

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/subscription_map.h"
#include "orgsync/sync_log.h"
#include "orgsync/transport.h"
#include "proto/wire.pb.h"
#include "testing/connection_fixture.h"
#include "testing/crm_schema.h"
#include "testing/storage_testing.h"
#include "engine/incoming_values.h"
#include "wire/envelope_codec.h"

namespace orgsync::partner_values_test {
namespace {

using testing::Field;
using testing::Lookup;
using testing::LogOf;
using testing::RequireOk;

FieldDef Sized(std::string name, FieldType type, uint32_t precision,
               uint32_t scale) {
  FieldDef f = Field(std::move(name), type);
  f.precision = precision;
  f.scale = scale;
  return f;
}

// Account (one field of each kind a value is checked for) <- Contact
// (master-detail: deleting the account takes its contacts). `with_fax`: Account
// also has Fax, which the other org may lack.
void FillAccountSchema(Schema* schema, bool with_fax) {
  std::vector<FieldDef> fields = {
      Field("Name", FieldType::kText, 80),
      Sized("Employees", FieldType::kNumber, 5, 0),
      Sized("Revenue", FieldType::kCurrency, 8, 2),
      Field("Active", FieldType::kBoolean),
      testing::Picklist("Stage", {"New", "Done"}),
      Field("Notes", FieldType::kLongText),  // no length: orgsync's limit
      Field("Founded", FieldType::kDate),
      Field("Logo", FieldType::kBinary),
      Lookup("ParentId", "Account")};
  if (with_fax) fields.push_back(Field("Fax", FieldType::kText, 40));
  RequireOk(schema->AddObject(testing::Object("Account", std::move(fields))));
  RequireOk(schema->AddObject(testing::Object(
      "Contact", {Field("LastName", FieldType::kText, 80),
                  Lookup("AccountId", "Account", FieldType::kMasterDetail)})));
}

Record AccountWith(FieldMap fields) {
  Record record;
  record.object = "Account";
  record.fields = std::move(fields);
  return record;
}

// The store's lookups are those of `schema` (not owned).
std::unique_ptr<RecordStore> NewStore(const Schema* schema, Clock* clock,
                                      std::string prefix) {
  RecordStoreOptions options;
  options.schema = schema;
  options.clock = clock;
  options.id_prefix = std::move(prefix);
  options.user = "U1";
  absl::StatusOr<std::unique_ptr<RecordStore>> store =
      NewInMemoryRecordStore(std::move(options));
  RequireOk(store.status());
  return *std::move(store);
}

// What arrives at the endpoint the test drives.
class Inbox final : public TransportHandler {
 public:
  void OnMessage(std::string bytes) override {
    messages.push_back(std::move(bytes));
  }
  void OnAvailabilityChanged(bool) override {}
  std::vector<std::string> messages;
};

// Two real orgs (primary "org-a", secondary "org-b") with Account and
// Contact flowing primary -> secondary.
struct World {
  explicit World(bool primary_has_fax = false, bool secondary_has_fax = false,
                 size_t max_file_bytes = size_t{38} << 20) {
    FillAccountSchema(&primary_schema, primary_has_fax);
    FillAccountSchema(&secondary_schema, secondary_has_fax);
    testing::TwoOrgsConfig config;
    config.primary_schema = &primary_schema;
    config.secondary_schema = &secondary_schema;
    config.primary_record_store = primary_store.get();
    config.secondary_record_store = secondary_store.get();
    config.max_file_bytes = max_file_bytes;
    config.queue.retry = {.initial_delay = absl::Seconds(10),
                          .multiplier = 2.0,
                          .max_delay = absl::Minutes(1),
                          .jitter = 0.0,
                          .max_attempts = 3};
    config.delivery.ack_timeout = absl::Seconds(5);
    t = std::make_unique<testing::TwoOrgs>(
        7, testing::NewReopenableMemoryStorage(),
        testing::NewReopenableMemoryStorage(), std::move(config));
    store_clock.target = &t->clock;
    InvitationOptions options = testing::DefaultInvitation();
    options.sync = {};  // Active at once
    std::tie(p, s) = t->Connect(options);
    RequireOk(p->publish_set()->PublishObjects({"Account", "Contact"}));
    REQUIRE(t->Settle());
    RequireOk(s->subscription_map()->Subscribe("Account"));
    RequireOk(s->subscription_map()->Subscribe("Contact"));
    REQUIRE(t->Settle());
    REQUIRE(p->publish_set()->IsPartnerSubscribed("Contact"));
  }

  // The primary org lets go of endpoint A; the test speaks for it.
  void TakeOverPrimary() {
    RequireOk(p->AttachTransport(nullptr));
    t->pair.a()->SetHandler(&inbox);
  }

  // Sends `change` (its sequence set if 0) as the partner and returns the
  // secondary's answer for it.
  proto::ItemResult Send(proto::RecordChange change) {
    if (change.sequence() == 0) change.set_sequence(next_sequence++);
    if (change.last_modified_micros() == 0) {
      change.set_last_modified_micros(absl::ToUnixMicros(t->clock.Now()));
    }
    t->clock.Advance(absl::Milliseconds(1));
    proto::Envelope envelope;
    envelope.set_connection_id(s->id());
    envelope.set_sender_org_id("org-a");
    envelope.set_message_id(next_message_id++);
    *envelope.mutable_changes()->add_changes() = change;
    RequireOk(t->pair.a()->Send(wire::EncodeEnvelope(std::move(envelope))));
    REQUIRE(t->pair.RunUntilIdle());
    for (const std::string& bytes : inbox.messages) {
      absl::StatusOr<proto::Envelope> answer = wire::DecodeEnvelope(bytes);
      RequireOk(answer.status());
      for (const proto::ItemResult& result : answer->ack().results()) {
        if (result.sequence() == change.sequence()) return result;
      }
    }
    FAIL("no answer for sequence " << change.sequence());
    return {};
  }

  // A partner Account insert; returns the secondary's id of it.
  std::string InsertAccount(const std::string& partner_id,
                            const std::string& name) {
    proto::RecordChange change = Change(proto::GENERIC_INSERT, "Account",
                                        partner_id);
    (*change.mutable_fields())["Name"].set_text(name);
    const proto::ItemResult result = Send(change);
    INFO(result.description());
    REQUIRE(result.outcome() == proto::APPLIED);
    return result.receiver_record_id();
  }

  static proto::RecordChange Change(proto::QueueAction action,
                                    const std::string& object,
                                    const std::string& partner_id) {
    proto::RecordChange change;
    change.set_action(action);
    change.set_object(object);
    change.set_sender_record_id(partner_id);
    change.set_sender_version(1);
    return change;
  }

  // A record the secondary's host wrote and never captured: the
  // connection never shared it.
  Record LocalOnly(const std::string& object, FieldMap fields) {
    Record record;
    record.object = object;
    record.fields = std::move(fields);
    absl::StatusOr<Record> inserted =
        secondary_store->Insert(std::move(record), ApplyContext{});
    RequireOk(inserted.status());
    return *inserted;
  }

  Record Here(RecordStore* store, const std::string& object,
              const std::string& id) {
    absl::StatusOr<Record> record = store->Get(object, id);
    RequireOk(record.status());
    return *record;
  }

  size_t CountOf(RecordStore* store, const std::string& object) {
    size_t count = 0;
    RequireOk(store->Scan(object, absl::InfinitePast(), [&](const Record&) {
      ++count;
      return true;
    }));
    return count;
  }

  Schema primary_schema;
  Schema secondary_schema;
  testing::ForwardingClock store_clock;
  std::unique_ptr<RecordStore> primary_store =
      NewStore(&primary_schema, &store_clock, "P-");
  std::unique_ptr<RecordStore> secondary_store =
      NewStore(&secondary_schema, &store_clock, "S-");
  std::unique_ptr<testing::TwoOrgs> t;
  Connection* p = nullptr;
  Connection* s = nullptr;
  Inbox inbox;
  uint64_t next_message_id = 1'000'000;
  uint64_t next_sequence = 1'000'000;
};

std::vector<LogEntry> Entries(const Connection* connection, LogStatus status,
                              SyncErrorCode error) {
  std::vector<LogEntry> out;
  for (LogEntry& entry : LogOf(connection)) {
    if (entry.status == status && entry.error == error) {
      out.push_back(std::move(entry));
    }
  }
  return out;
}

std::string Detail(const LogEntry& entry, const std::string& key) {
  for (const LogDetail& detail : entry.details) {
    if (detail.key == key) return detail.value;
  }
  return "";
}

std::optional<FieldValue> ValueOf(const Record& record,
                                  const std::string& field) {
  auto it = record.fields.find(field);
  if (it == record.fields.end()) return std::nullopt;
  return it->second;
}

// --- Times the partner sends ----------------------------------------------

TEST_CASE(
    "Design rule 8, issue 8 finding 7: a change whose time is outside "
    "0..year 9999 (INT64_MAX, negative) is refused and logged, and the org "
    "goes on",
    "[records]") {
  World w;
  w.TakeOverPrimary();
  for (const int64_t micros : {std::numeric_limits<int64_t>::max(),
                               int64_t{-1},
                               std::numeric_limits<int64_t>::min()}) {
    CAPTURE(micros);
    proto::RecordChange change =
        World::Change(proto::GENERIC_INSERT, "Account", "P-time");
    (*change.mutable_fields())["Name"].set_text("Timeless");
    change.set_last_modified_micros(micros);
    const proto::ItemResult result = w.Send(change);
    CHECK(result.outcome() == proto::PERMANENT_FAILURE);
    CHECK(result.error() == proto::ERROR_VALIDATION);
  }
  const std::vector<LogEntry> refused =
      Entries(w.s, LogStatus::kFailed, SyncErrorCode::kValidation);
  REQUIRE(refused.size() == 3);
  CHECK(Detail(refused.front(), "rule") == "time");
  // The org still works, and a later insert is stamped in the present.
  const std::string id = w.InsertAccount("P-later", "Later");
  absl::StatusOr<Record> later = w.secondary_store->Get("Account", id);
  RequireOk(later.status());
  CHECK(later->fields.at("Name") == FieldValue(std::string("Later")));
}

// --- Records the partner never had -----------------------------------------

TEST_CASE(
    "Issue 9, R33, partner trust: a cascade list never deletes or restores "
    "a record the connection does not share",
    "[partner]") {
  World w;
  w.TakeOverPrimary();
  const std::string account = w.InsertAccount("A-1", "Shared");
  // The host's own contact, never captured: its id is easy to guess.
  const Record bystander = w.LocalOnly("Contact", {{"LastName", "Bystander"}});

  proto::RecordChange deletion =
      World::Change(proto::REPLICATION_DELETE, "Account", "A-1");
  deletion.set_cascade(true);
  deletion.set_cascade_listed(true);
  proto::CascadedRecord* listed = deletion.add_cascaded();
  listed->set_object("Contact");
  listed->set_sender_record_id("C-guessed");
  listed->set_receiver_record_id(bystander.id);
  const proto::ItemResult deleted = w.Send(deletion);
  INFO(deleted.description());
  // The partner's own record is its to delete; the bystander is not.
  CHECK(deleted.outcome() == proto::APPLIED);
  CHECK(w.Here(w.secondary_store.get(), "Account", account).deleted);
  CHECK_FALSE(w.Here(w.secondary_store.get(), "Contact", bystander.id).deleted);

  std::vector<LogEntry> refused =
      Entries(w.s, LogStatus::kFailed, SyncErrorCode::kRecordNotFound);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].record == RecordRef{"Contact", bystander.id});
  CHECK(refused[0].action == QueueAction::kReplicationDelete);
  CHECK_THAT(refused[0].description,
             Catch::Contains("not shared on this connection"));

  // The same for an undelete: the host deletes its contact; the partner's
  // undelete of its account lists it, and it stays deleted.
  RequireOk(w.secondary_store
                ->Delete("Contact", bystander.id, ApplyContext{})
                .status());
  proto::RecordChange undeletion =
      World::Change(proto::REPLICATION_UNDELETE, "Account", "A-1");
  undeletion.set_sender_version(3);
  undeletion.set_cascade(true);
  undeletion.set_cascade_listed(true);
  *undeletion.add_cascaded() = *listed;
  const proto::ItemResult undeleted = w.Send(undeletion);
  INFO(undeleted.description());
  CHECK(undeleted.outcome() == proto::APPLIED);
  CHECK_FALSE(w.Here(w.secondary_store.get(), "Account", account).deleted);
  CHECK(w.Here(w.secondary_store.get(), "Contact", bystander.id).deleted);
  refused = Entries(w.s, LogStatus::kFailed, SyncErrorCode::kRecordNotFound);
  REQUIRE(refused.size() == 2);
  CHECK(refused[1].record == RecordRef{"Contact", bystander.id});
  CHECK(refused[1].action == QueueAction::kReplicationUndelete);
}

TEST_CASE(
    "Issue 9, R32, partner trust: a lookup hint never points a lookup at a "
    "record the connection does not share",
    "[partner]") {
  World w;
  // The secondary publishes Account too, so that one of its own accounts
  // can be on its way to the partner (the race hints exist for).
  RequireOk(w.s->publish_set()->PublishObjects({"Account"}));
  REQUIRE(w.t->Settle());
  RequireOk(w.p->subscription_map()->Subscribe("Account"));
  REQUIRE(w.t->Settle());
  REQUIRE(w.s->publish_set()->IsPartnerSubscribed("Account"));
  w.TakeOverPrimary();

  const Record bystander = w.LocalOnly("Account", {{"Name", "Bystander"}});
  proto::RecordChange contact =
      World::Change(proto::GENERIC_INSERT, "Contact", "C-1");
  (*contact.mutable_fields())["LastName"].set_text("Pointed");
  (*contact.mutable_fields())["AccountId"].set_reference("A-unknown");
  (*contact.mutable_lookup_receiver_ids())["AccountId"] = bystander.id;
  const proto::ItemResult inserted = w.Send(contact);
  INFO(inserted.description());
  REQUIRE(inserted.outcome() == proto::APPLIED);
  const Record here = w.Here(w.secondary_store.get(), "Contact",
                             inserted.receiver_record_id());
  // Left blank, as for any parent not in this org (R14).
  CHECK(ValueOf(here, "AccountId") == FieldValue{});
  std::vector<LogEntry> refused =
      Entries(w.s, LogStatus::kFailed, SyncErrorCode::kRecordNotFound);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].record == RecordRef{"Account", bystander.id});
  CHECK_THAT(refused[0].description, Catch::Contains("lookup AccountId"));

  // A record the connection is sharing right now (captured, its insert on
  // its way to the partner, so not linked here yet) may be named.
  const Record shared = w.LocalOnly("Account", {{"Name", "On its way"}});
  LocalChange captured;
  captured.kind = ChangeKind::kInsert;
  captured.record = shared;
  absl::StatusOr<CaptureResult> queued = w.s->Capture(captured);
  RequireOk(queued.status());
  REQUIRE(queued->captured);
  proto::RecordChange child =
      World::Change(proto::GENERIC_INSERT, "Contact", "C-2");
  (*child.mutable_fields())["LastName"].set_text("Child");
  (*child.mutable_fields())["AccountId"].set_reference("A-copy-of-shared");
  (*child.mutable_lookup_receiver_ids())["AccountId"] = shared.id;
  const proto::ItemResult child_result = w.Send(child);
  INFO(child_result.description());
  REQUIRE(child_result.outcome() == proto::APPLIED);
  CHECK(ValueOf(w.Here(w.secondary_store.get(), "Contact",
                       child_result.receiver_record_id()),
                "AccountId") == FieldValue{Reference{shared.id}});
  CHECK(Entries(w.s, LogStatus::kFailed, SyncErrorCode::kRecordNotFound)
            .size() == 1);
}

// --- Values the schema forbids ---------------------------------------------

struct BadValue {
  std::string what;
  std::string field;
  proto::FieldValue value;
  std::string rule;
};

std::vector<BadValue> BadValues() {
  auto text = [](std::string s) {
    proto::FieldValue v;
    v.set_text(std::move(s));
    return v;
  };
  auto integer = [](int64_t i) {
    proto::FieldValue v;
    v.set_integer(i);
    return v;
  };
  auto real = [](double d) {
    proto::FieldValue v;
    v.set_real(d);
    return v;
  };
  proto::FieldValue binary;
  binary.set_binary("\x01\x02");
  proto::FieldValue reference;
  reference.set_reference("A-1");
  proto::FieldValue time;
  time.set_time_micros(1);
  return {
      {"text into a number", "Employees", text("many"), "type"},
      {"an integer into a boolean", "Active", integer(1), "type"},
      {"a binary into text", "Name", binary, "type"},
      {"a reference into text", "Name", reference, "type"},
      {"text into a date", "Founded", text("yesterday"), "type"},
      {"a time into a picklist", "Stage", time, "type"},
      {"NaN", "Revenue", real(std::nan("")), "finite"},
      {"infinity", "Revenue", real(std::numeric_limits<double>::infinity()),
       "finite"},
      {"100,000 characters into a field of length 80", "Name",
       text(std::string(100'000, 'x')), "length"},
      {"200,000 characters into a long text without a length", "Notes",
       text(std::string(200'000, 'x')), "length"},
      {"81 two-byte characters into a field of length 80", "Name",
       text([] {
         std::string s;
         for (int i = 0; i < 81; ++i) s += "\xc3\xa9";  // e acute
         return s;
       }()),
       "length"},
      {"six digits into Number(5, 0)", "Employees", integer(123456),
       "precision"},
      {"a million into Currency(8, 2)", "Revenue", real(1e6), "precision"},
      {"three decimals into Currency(8, 2)", "Revenue", real(1.234), "scale"},
      {"a value not in the picklist", "Stage", text("Maybe"), "picklist"},
  };
}

TEST_CASE(
    "Issue 9, partner trust: every value the local schema forbids is "
    "refused for good, with the field and the rule in the SyncLog entry and "
    "the acknowledgement",
    "[partner]") {
  World w;
  w.TakeOverPrimary();
  const std::string linked = w.InsertAccount("A-linked", "Linked");
  const Record before = w.Here(w.secondary_store.get(), "Account", linked);
  size_t expected_entries = 0;
  uint64_t record_number = 0;
  for (const BadValue& bad : BadValues()) {
    for (proto::QueueAction action :
         {proto::GENERIC_INSERT, proto::GENERIC_UPDATE}) {
      INFO(bad.what << " (" << proto::QueueAction_Name(action) << ")");
      const size_t accounts = w.CountOf(w.secondary_store.get(), "Account");
      proto::RecordChange change = World::Change(
          action, "Account",
          action == proto::GENERIC_INSERT
              ? "A-new-" + std::to_string(++record_number)
              : "A-linked");
      // Valid values travel with the bad one: none of them is stored.
      (*change.mutable_fields())["Name"].set_text("Fine");
      (*change.mutable_fields())["Active"].set_boolean(true);
      (*change.mutable_fields())[bad.field] = bad.value;
      if (action == proto::GENERIC_UPDATE) {
        change.add_changed_fields(bad.field);
        change.set_sender_version(1 + record_number);
      }
      const proto::ItemResult result = w.Send(change);
      INFO(result.description());
      CHECK(result.outcome() == proto::PERMANENT_FAILURE);
      CHECK(result.error() == proto::ERROR_VALIDATION);
      CHECK_THAT(result.description(),
                 Catch::Contains("Account." + bad.field));
      CHECK_THAT(result.description(),
                 Catch::Contains("(rule: " + bad.rule + ")"));
      CHECK(w.CountOf(w.secondary_store.get(), "Account") == accounts);

      const std::vector<LogEntry> failed =
          Entries(w.s, LogStatus::kFailed, SyncErrorCode::kValidation);
      REQUIRE(failed.size() == ++expected_entries);
      const LogEntry& entry = failed.back();
      CHECK(Detail(entry, "field") == bad.field);
      CHECK(Detail(entry, "rule") == bad.rule);
      CHECK(entry.description == result.description());
      CHECK(entry.record.object == "Account");
      CHECK(entry.record.id ==
            (action == proto::GENERIC_UPDATE ? linked : std::string()));
    }
  }
  // The linked record kept every value it had.
  const Record after = w.Here(w.secondary_store.get(), "Account", linked);
  CHECK(after.fields == before.fields);
  CHECK(after.version == before.version);
}

TEST_CASE(
    "Issue 9, partner trust: the checks refuse nothing a field can hold "
    "(decimals a double holds inexactly, the length in characters, nulls)",
    "[partner]") {
  Schema schema;
  FillAccountSchema(&schema, false);
  const std::shared_ptr<const ObjectDef> account =
      schema.FindObject("Account");
  auto check = [&](const std::string& field, const proto::FieldValue& value) {
    return internal::CheckIncomingValue("Account", *account->FindField(field),
                                        value, 4096);
  };
  proto::FieldValue v;
  v.set_real(0.1 + 0.2);  // 0.30000000000000004
  CHECK_FALSE(check("Revenue", v).has_value());
  v.set_real(-999999.99);  // Currency(8, 2) at its widest
  CHECK_FALSE(check("Revenue", v).has_value());
  v.set_integer(-99999);  // Number(5, 0)
  CHECK_FALSE(check("Employees", v).has_value());
  v.set_integer(std::numeric_limits<int64_t>::min());
  CHECK(check("Employees", v)->rule == "precision");
  std::string eighty;
  for (int i = 0; i < 80; ++i) eighty += "\xc3\xa9";  // 160 bytes
  v.set_text(eighty);
  CHECK_FALSE(check("Name", v).has_value());
  v.set_text("Done");
  CHECK_FALSE(check("Stage", v).has_value());
  v.set_binary(std::string(4096, 'b'));
  CHECK_FALSE(check("Logo", v).has_value());
  v.set_reference("A-1");
  CHECK_FALSE(check("ParentId", v).has_value());
  v.set_time_micros(-1);
  CHECK_FALSE(check("Founded", v).has_value());
  v.Clear();  // null fits every field
  for (const FieldDef& field : account->fields) {
    INFO(field.name);
    CHECK_FALSE(check(field.name, v).has_value());
  }
}

TEST_CASE(
    "Issue 9, partner trust: a value refused by the receiver is logged as "
    "Failed by the sender too, naming the field and the rule",
    "[partner]") {
  World w;
  // The primary's host stores what its own schema forbids (its store does
  // not check); the secondary refuses it when it arrives.
  absl::StatusOr<Record> written = w.primary_store->Insert(
      AccountWith({{"Name", std::string(81, 'n')}}),
      ApplyContext{});
  RequireOk(written.status());
  LocalChange change;
  change.kind = ChangeKind::kInsert;
  change.record = *written;
  absl::StatusOr<CaptureResult> captured = w.p->Capture(change);
  RequireOk(captured.status());
  REQUIRE(captured->captured);
  REQUIRE(w.t->Settle());

  CHECK(w.CountOf(w.secondary_store.get(), "Account") == 0);
  const std::vector<LogEntry> sender =
      Entries(w.p, LogStatus::kFailed, SyncErrorCode::kValidation);
  REQUIRE(sender.size() == 1);
  CHECK(sender[0].record == RecordRef{"Account", written->id});
  CHECK_THAT(sender[0].description, Catch::Contains("Account.Name"));
  CHECK_THAT(sender[0].description, Catch::Contains("(rule: length)"));
  const std::vector<LogEntry> receiver =
      Entries(w.s, LogStatus::kFailed, SyncErrorCode::kValidation);
  REQUIRE(receiver.size() == 1);
  CHECK(Detail(receiver[0], "field") == "Name");
  CHECK(Detail(receiver[0], "rule") == "length");
  // Refused for good: not retried.
  CHECK(w.p->record_queue()->Count() == 0);
  CHECK(Entries(w.p, LogStatus::kRetrying, SyncErrorCode::kValidation)
            .empty());
}

TEST_CASE(
    "R38, partner trust: a file above max_file_bytes is refused on "
    "receive, not only at capture",
    "[partner]") {
  World w(false, false, /*max_file_bytes=*/4096);
  w.TakeOverPrimary();
  proto::RecordChange change =
      World::Change(proto::GENERIC_INSERT, "Account", "A-logo");
  (*change.mutable_fields())["Name"].set_text("With a logo");
  (*change.mutable_fields())["Logo"].set_binary(std::string(64 * 1024, 'L'));
  const proto::ItemResult result = w.Send(change);
  INFO(result.description());
  CHECK(result.outcome() == proto::PERMANENT_FAILURE);
  CHECK(result.error() == proto::ERROR_FILE_TOO_LARGE);
  CHECK_THAT(result.description(), Catch::Contains("Account.Logo"));
  CHECK_THAT(result.description(), Catch::Contains("4096"));
  CHECK(w.CountOf(w.secondary_store.get(), "Account") == 0);
  const std::vector<LogEntry> failed =
      Entries(w.s, LogStatus::kFailed, SyncErrorCode::kFileTooLarge);
  REQUIRE(failed.size() == 1);
  CHECK(Detail(failed[0], "field") == "Logo");
  CHECK(Detail(failed[0], "rule") == "file size");

  // At the limit it fits.
  change.set_sender_record_id("A-small-logo");
  (*change.mutable_fields())["Logo"].set_binary(std::string(4096, 'L'));
  CHECK(w.Send(change).outcome() == proto::APPLIED);
}

// --- Fields this org does not subscribe or does not have -------------------

TEST_CASE(
    "Issue 8 item 6: a value for a field this org does not have fails with "
    "SCHEMA_MISMATCH, logged here -- a field the partner does not publish is "
    "skipped with an Info entry",
    "[partner]") {
  World w;
  w.TakeOverPrimary();
  proto::RecordChange change =
      World::Change(proto::GENERIC_INSERT, "Account", "A-odd");
  (*change.mutable_fields())["Name"].set_text("Odd");
  (*change.mutable_fields())["NoSuchField"].set_text("value");
  const proto::ItemResult result = w.Send(change);
  INFO(result.description());
  CHECK(result.outcome() == proto::PERMANENT_FAILURE);
  CHECK(result.error() == proto::ERROR_SCHEMA_MISMATCH);
  CHECK_THAT(result.description(), Catch::Contains("NoSuchField"));
  CHECK(w.CountOf(w.secondary_store.get(), "Account") == 0);
  const std::vector<LogEntry> mismatch =
      Entries(w.s, LogStatus::kFailed, SyncErrorCode::kSchemaMismatch);
  REQUIRE(mismatch.size() == 1);
  CHECK(Detail(mismatch[0], "field") == "NoSuchField");
  CHECK(Detail(mismatch[0], "rule") == "missing field");

  // The secondary's schema has CreatedBy, which is never published (R12):
  // a value for it is not applied, and that is said.
  (*change.mutable_fields()).erase("NoSuchField");
  (*change.mutable_fields())["CreatedBy"].set_reference("U1");
  const proto::ItemResult skipped = w.Send(change);
  INFO(skipped.description());
  REQUIRE(skipped.outcome() == proto::APPLIED);
  const std::vector<LogEntry> info =
      Entries(w.s, LogStatus::kInfo, SyncErrorCode::kFieldNotSubscribed);
  REQUIRE(info.size() == 1);
  CHECK_THAT(info[0].description, Catch::Contains("Account.CreatedBy"));
  CHECK(info[0].record.id == skipped.receiver_record_id());
}

TEST_CASE(
    "Issue 8 item 6, R17: a field this org has but chose not to subscribe is "
    "skipped silently",
    "[partner]") {
  World w;
  RequireOk(w.s->subscription_map()->UnsubscribeField("Account", "Stage"));
  absl::StatusOr<Record> written = w.primary_store->Insert(
      AccountWith({{"Name", std::string("Kept")},
                   {"Stage", std::string("Done")}}),
      ApplyContext{});
  RequireOk(written.status());
  LocalChange captured;
  captured.kind = ChangeKind::kInsert;
  captured.record = *written;
  RequireOk(w.p->Capture(captured).status());
  REQUIRE(w.t->Settle());
  REQUIRE(w.CountOf(w.secondary_store.get(), "Account") == 1);
  RequireOk(w.secondary_store->Scan(
      "Account", absl::InfinitePast(), [&](const Record& record) {
        CHECK(ValueOf(record, "Name") == FieldValue{std::string("Kept")});
        CHECK_FALSE(ValueOf(record, "Stage").has_value());
        return true;
      }));
  CHECK(LogOf(w.p).empty());
  CHECK(LogOf(w.s).empty());
}

// The primary's Account has Fax; the secondary's does not, until its host
// adds it and subscribes it.
struct FaxWorld : World {
  FaxWorld() : World(/*primary_has_fax=*/true, /*secondary_has_fax=*/false) {
    primary.store = primary_store.get();
    primary.connection = p;
  }

  struct Host {
    RecordStore* store = nullptr;
    Connection* connection = nullptr;
    Record Write(ChangeKind kind, const std::string& id, FieldMap fields) {
      absl::StatusOr<Record> written =
          kind == ChangeKind::kInsert
              ? store->Insert(AccountWith(fields), ApplyContext{})
              : store->Update("Account", id, fields, ApplyContext{});
      RequireOk(written.status());
      LocalChange change;
      change.kind = kind;
      change.record = *written;
      for (const auto& [name, value] : fields) {
        change.changed_fields.push_back(name);
      }
      absl::StatusOr<CaptureResult> captured = connection->Capture(change);
      RequireOk(captured.status());
      REQUIRE(captured->captured);
      return *written;
    }
  } primary;

  // The secondary's host adds Fax to its Account and subscribes it.
  void AddFaxHere() {
    std::shared_ptr<const ObjectDef> account =
        secondary_schema.FindObject("Account");
    ObjectDef with_fax = *account;
    with_fax.fields.push_back(Field("Fax", FieldType::kText, 40));
    RequireOk(secondary_schema.ReplaceObject("Account", std::move(with_fax)));
    RequireOk(
        s->subscription_map()->OnLocalSchemaChanged({.object = "Account"}));
    RequireOk(s->subscription_map()->SubscribeField("Account", "Fax"));
  }

  std::optional<Record> Copy(const std::string& name) {
    std::optional<Record> found;
    RequireOk(secondary_store->Scan(
        "Account", absl::InfinitePast(), [&](const Record& record) {
          if (ValueOf(record, "Name") == FieldValue{name}) found = record;
          return true;
        }));
    return found;
  }
};

TEST_CASE(
    "Issue 8 item 6, R55: a field the partner publishes and this org lacks "
    "fails the change with SCHEMA_MISMATCH on both sides -- once the field is "
    "added and subscribed, the record's next change brings its whole state",
    "[partner]") {
  FaxWorld w;
  {
    const std::optional<FieldMapping> fax = [&] {
      absl::StatusOr<FieldMapping> m =
          w.s->subscription_map()->GetFieldMapping("Account", "Fax");
      RequireOk(m.status());
      return std::optional<FieldMapping>(*m);
    }();
    REQUIRE(fax->status == FieldStatus::kUnmapped);
  }
  // Linked first with Fax empty (a null for a missing field loses nothing),
  // then an update of Fax that this org cannot hold.
  const Record linked = w.primary.Write(ChangeKind::kInsert, "",
                                        {{"Name", std::string("Linked")}});
  REQUIRE(w.t->Settle());
  REQUIRE(w.Copy("Linked").has_value());
  CHECK(
      Entries(w.s, LogStatus::kFailed, SyncErrorCode::kSchemaMismatch).empty());
  w.primary.Write(ChangeKind::kUpdate, linked.id,
                  {{"Fax", std::string("555-0100")}});
  // A new record carrying Fax fails whole.
  w.primary.Write(
      ChangeKind::kInsert, "",
      {{"Name", std::string("New")}, {"Fax", std::string("555-0199")}});
  REQUIRE(w.t->Settle());

  CHECK_FALSE(w.Copy("New").has_value());
  const std::vector<LogEntry> sender =
      Entries(w.p, LogStatus::kFailed, SyncErrorCode::kSchemaMismatch);
  const std::vector<LogEntry> receiver =
      Entries(w.s, LogStatus::kFailed, SyncErrorCode::kSchemaMismatch);
  REQUIRE(sender.size() == 2);
  REQUIRE(receiver.size() == 2);
  for (const LogEntry& entry : sender) {
    CHECK_THAT(entry.description, Catch::Contains("Account.Fax"));
  }
  for (const LogEntry& entry : receiver) {
    CHECK(Detail(entry, "field") == "Fax");
  }
  CHECK(receiver[0].record == RecordRef{"Account", w.Copy("Linked")->id});

  // The metadata is fixed; the next change of each record brings it whole.
  w.AddFaxHere();
  w.primary.Write(ChangeKind::kUpdate, linked.id,
                  {{"Employees", int64_t{12}}});
  std::string new_id;
  RequireOk(w.primary_store->Scan(
      "Account", absl::InfinitePast(), [&](const Record& record) {
        if (ValueOf(record, "Name") == FieldValue{std::string("New")}) {
          new_id = record.id;
        }
        return true;
      }));
  w.primary.Write(ChangeKind::kUpdate, new_id, {{"Employees", int64_t{7}}});
  REQUIRE(w.t->Settle());

  const std::optional<Record> linked_copy = w.Copy("Linked");
  REQUIRE(linked_copy.has_value());
  CHECK(ValueOf(*linked_copy, "Fax") ==
        FieldValue{std::string("555-0100")});
  CHECK(ValueOf(*linked_copy, "Employees") == FieldValue{int64_t{12}});
  const std::optional<Record> new_copy = w.Copy("New");
  REQUIRE(new_copy.has_value());
  CHECK(ValueOf(*new_copy, "Fax") == FieldValue{std::string("555-0199")});
  CHECK(ValueOf(*new_copy, "Employees") == FieldValue{int64_t{7}});
  // Nothing failed after the fix.
  CHECK(Entries(w.p, LogStatus::kFailed, SyncErrorCode::kSchemaMismatch)
            .size() == 2);

  // Whole once is enough: a later update travels as an update again, and
  // still arrives.
  w.primary.Write(ChangeKind::kUpdate, linked.id,
                  {{"Fax", std::string("555-0111")}});
  REQUIRE(w.t->Settle());
  CHECK(ValueOf(*w.Copy("Linked"), "Fax") ==
        FieldValue{std::string("555-0111")});
}

}  // namespace
}  // namespace orgsync::partner_values_test
