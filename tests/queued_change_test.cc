// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// A queued capture sent as it was stored (wire/queued_change.h): what the
// partner parses is the change completed for the send, and anything a
// send would have to rewrite is left for the long way.

#include "wire/queued_change.h"

#include <catch2/catch.hpp>
#include <string>

#include "proto/wire.pb.h"
#include "wire/envelope_rules.h"

namespace orgsync::wire::queued_change_test {
namespace {

proto::RecordChange Captured(proto::QueueAction action) {
  proto::RecordChange change;
  change.set_action(action);
  change.set_object("Account");
  change.set_sender_record_id("A-1");
  change.set_sender_version(7);
  change.set_last_modified_micros(1'700'000'000'000'000);
  (*change.mutable_fields())["Name"].set_text("Acme");
  (*change.mutable_fields())["Phone"].set_text("555");
  if (action == proto::GENERIC_UPDATE) {
    change.add_changed_fields("Name");
    change.add_changed_fields("Phone");
  } else {
    change.mutable_audit()->set_created_by("U-1");
  }
  return change;
}

TEST_CASE(
    "Wire: a plain queued insert or update goes as queued, with the send's "
    "fields appended, and parses as the completed change",
    "[wire]") {
  for (const proto::QueueAction action :
       {proto::GENERIC_INSERT, proto::GENERIC_UPDATE}) {
    CAPTURE(proto::QueueAction_Name(action));
    const proto::RecordChange captured = Captured(action);
    std::string bytes = captured.SerializeAsString();
    const std::optional<QueuedChange> read = ReadQueuedChange(bytes);
    REQUIRE(read.has_value());
    CHECK(read->action == action);
    CHECK(read->object == "Account");
    CHECK(read->sender_record_id == "A-1");
    CHECK(read->sender_version == 7);

    AppendSendFields(42, "S-9", 3, &bytes);
    proto::RecordChange sent;
    REQUIRE(sent.ParseFromString(bytes));
    proto::RecordChange expected = captured;
    expected.set_sequence(42);
    expected.set_receiver_record_id("S-9");
    expected.set_last_synced_receiver_version(3);
    CHECK(sent.DebugString() == expected.DebugString());
    CHECK(internal::CheckRecordChangeRules(sent).ok());

    // Not linked yet: only the sequence is added.
    std::string unlinked = captured.SerializeAsString();
    AppendSendFields(43, "", 0, &unlinked);
    REQUIRE(sent.ParseFromString(unlinked));
    CHECK(sent.sequence() == 43);
    CHECK(sent.receiver_record_id().empty());
    CHECK(sent.last_synced_receiver_version() == 0);
  }
}

TEST_CASE(
    "Wire: a queued change a send must rewrite, or a malformed one, is not "
    "sent as queued",
    "[wire]") {
  auto plain = [](const proto::RecordChange& change) {
    return ReadQueuedChange(change.SerializeAsString()).has_value();
  };
  CHECK(plain(Captured(proto::GENERIC_UPDATE)));
  proto::RecordChange lookups = Captured(proto::GENERIC_INSERT);
  (*lookups.mutable_lookup_receiver_ids())["AccountId"] = "S-1";
  CHECK_FALSE(plain(lookups));
  proto::RecordChange numbered = Captured(proto::GENERIC_UPDATE);
  numbered.set_sequence(5);
  CHECK_FALSE(plain(numbered));
  proto::RecordChange audited = Captured(proto::GENERIC_UPDATE);
  audited.mutable_audit()->set_created_by("U-1");
  CHECK_FALSE(plain(audited));
  proto::RecordChange deleted = Captured(proto::GENERIC_INSERT);
  deleted.set_deleted(true);
  CHECK_FALSE(plain(deleted));
  proto::RecordChange deletion;
  deletion.set_action(proto::REPLICATION_DELETE);
  deletion.set_object("Account");
  deletion.set_sender_record_id("A-1");
  deletion.set_cascade(true);
  CHECK_FALSE(plain(deletion));
  proto::RecordChange nameless = Captured(proto::GENERIC_UPDATE);
  nameless.clear_sender_record_id();
  CHECK_FALSE(plain(nameless));
  const std::string whole = Captured(proto::GENERIC_UPDATE).SerializeAsString();
  CHECK_FALSE(ReadQueuedChange(whole.substr(0, whole.size() - 3)).has_value());
  CHECK_FALSE(ReadQueuedChange(std::string("\xff\xff\xff", 3)).has_value());
}

}  // namespace
}  // namespace orgsync::wire::queued_change_test
