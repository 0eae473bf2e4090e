// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Writes the envelope_fuzzer's seed corpus: one valid envelope per body type
// and variant worth starting from, plus a few edge cases (a newer peer's
// fields and version, near-misses that must be refused). The corpus is
// committed in fuzz/corpus/envelope/; remake it after changing the wire
// format with
//   cmake --build <fuzz build> --target make_envelope_corpus
//   <fuzz build>/fuzz/make_envelope_corpus <source>/fuzz/corpus/envelope
// Each file is checked against the codec before it is written, so a seed
// never silently stops meaning what its name says.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "google/protobuf/unknown_field_set.h"
#include "proto/wire.pb.h"
#include "wire/envelope_codec.h"

namespace orgsync::wire {
namespace {

struct Seed {
  std::string name;
  std::string bytes;
  absl::StatusCode expected;  // what DecodeEnvelope must return
};

proto::Envelope Header(uint64_t message_id) {
  proto::Envelope envelope;
  envelope.set_connection_id("conn-7f3a");
  envelope.set_sender_org_id("org-primary");
  envelope.set_message_id(message_id);
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

proto::RecordChange Change(uint64_t sequence, proto::QueueAction action,
                           const std::string& object, const std::string& id) {
  proto::RecordChange change;
  change.set_sequence(sequence);
  change.set_action(action);
  change.set_object(object);
  change.set_sender_record_id(id);
  return change;
}

std::vector<Seed> MakeSeeds() {
  std::vector<Seed> seeds;
  const auto valid = [&](std::string name, const proto::Envelope& envelope) {
    seeds.push_back(
        {std::move(name), EncodeEnvelope(envelope), absl::StatusCode::kOk});
  };

  {
    proto::Envelope e = Header(1);
    auto* accept = e.mutable_accept();
    accept->set_secret("a0b1c2d3e4f5");
    accept->set_secondary_org_id("org-secondary");
    accept->set_secondary_org_name("Secondary Org");
    (*accept->mutable_schema_fingerprints())["Account"] = 0x1234;
    (*accept->mutable_schema_fingerprints())["Contact"] = 0x5678;
    valid("accept_invitation", e);
  }
  {
    proto::Envelope e = Header(2);
    auto* result = e.mutable_handshake_result();
    result->set_accepted(true);
    *result->mutable_options() = Options();
    result->set_primary_org_id("org-primary");
    result->set_primary_org_name("Primary Org");
    (*result->mutable_schema_fingerprints())["Account"] = 0x1234;
    valid("handshake_accepted", e);
  }
  {
    proto::Envelope e = Header(3);
    auto* result = e.mutable_handshake_result();
    result->set_refusal(proto::REFUSAL_BAD_SECRET);
    result->set_reason("the secret does not match the invitation");
    valid("handshake_refused", e);
  }
  {
    proto::Envelope e = Header(4);
    auto* insert = e.mutable_changes()->add_changes();
    *insert = Change(1, proto::GENERIC_INSERT, "Account", "001A");
    auto& fields = *insert->mutable_fields();
    fields["Name"].set_text("Acme \xC3\xA9\xE2\x82\xAC");
    fields["Employees"].set_integer(-42);
    fields["Revenue"].set_real(1.5e9);
    fields["Active"].set_boolean(true);
    fields["Logo"].set_binary(std::string("\x00\xFF\x10", 3));
    fields["Founded"].set_time_micros(1'700'000'000'000'000);
    fields["ParentId"].set_reference("001P");
    fields["Fax"];  // null
    auto* audit = insert->mutable_audit();
    audit->set_created_by("005A");
    audit->set_created_date_micros(1'600'000'000'000'000);
    audit->set_last_modified_by("005B");
    audit->set_last_modified_date_micros(1'650'000'000'000'000);
    insert->set_sender_version(1);
    insert->set_last_modified_micros(1'650'000'000'000'000);

    auto* update = e.mutable_changes()->add_changes();
    *update = Change(2, proto::GENERIC_UPDATE, "Account", "001A");
    update->set_receiver_record_id("001Z");
    (*update->mutable_fields())["Name"].set_text("Acme");
    update->add_changed_fields("Name");
    update->set_sender_version(2);
    update->set_last_synced_receiver_version(1);

    auto* remove = e.mutable_changes()->add_changes();
    *remove = Change(3, proto::REPLICATION_DELETE, "Account", "001A");
    remove->set_cascade(true);
    valid("changes_insert_update_delete", e);
  }
  {
    proto::Envelope e = Header(5);
    auto* batch = e.mutable_changes();
    *batch->add_changes() = Change(10, proto::BULK_SYNC, "Contact", "003A");
    (*batch->mutable_changes(0)->mutable_fields())["AccountId"].set_reference(
        "001A");
    *batch->add_changes() =
        Change(11, proto::MISSING_PARTNER_ID, "Contact", "003B");
    *batch->add_changes() =
        Change(12, proto::REPLICATION_UNDELETE, "Contact", "003C");
    valid("changes_bulk_missing_undelete", e);
  }
  {
    // Extreme numbers: sequences at the top of their range, non-finite
    // reals (they must survive a round trip bit for bit).
    proto::Envelope e = Header(std::numeric_limits<uint64_t>::max());
    auto* change = e.mutable_changes()->add_changes();
    *change = Change(std::numeric_limits<uint64_t>::max(),
                     proto::GENERIC_INSERT, "Opportunity", "006A");
    auto& fields = *change->mutable_fields();
    fields["NaN"].set_real(std::nan(""));
    fields["Inf"].set_real(std::numeric_limits<double>::infinity());
    fields["Min"].set_integer(std::numeric_limits<int64_t>::min());
    fields["Epoch"].set_time_micros(-1);
    valid("changes_extreme_values", e);
  }
  {
    proto::Envelope e = Header(6);
    auto* ack = e.mutable_ack();
    auto* applied = ack->add_results();
    applied->set_sequence(1);
    applied->set_outcome(proto::APPLIED);
    applied->set_receiver_record_id("001Z");
    applied->set_receiver_version(1);
    auto* retry = ack->add_results();
    retry->set_sequence(2);
    retry->set_outcome(proto::RETRYABLE_FAILURE);
    retry->set_error(proto::ERROR_MISSING_PARENT);
    retry->set_description("parent 001P is not linked yet");
    auto* failed = ack->add_results();
    failed->set_sequence(3);
    failed->set_outcome(proto::PERMANENT_FAILURE);
    failed->set_error(proto::ERROR_REQUIRED_LOOKUP_BLANK);
    auto* duplicate = ack->add_results();
    duplicate->set_sequence(4);
    duplicate->set_outcome(proto::DUPLICATE);
    valid("ack_results", e);
  }
  {
    proto::Envelope e = Header(7);
    e.mutable_ack()->set_acked_message_id(3);
    valid("ack_control_message", e);
  }
  {
    proto::Envelope e = Header(8);
    auto* update = e.mutable_map_update();
    update->set_sequence(20);
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
    valid("map_type_update", e);
  }
  {
    proto::Envelope e = Header(9);
    auto* update = e.mutable_map_update();
    update->set_sequence(21);
    update->set_action(proto::FIELD_MAP_NAME_UPDATE);
    update->set_object("Contact");
    update->set_field("Phone");
    update->set_new_name("MobilePhone");
    valid("map_field_rename", e);
  }
  {
    proto::Envelope e = Header(10);
    auto* update = e.mutable_map_update();
    update->set_sequence(22);
    update->set_action(proto::VALUE_MAP_DELETE);
    update->set_object("Lead");
    update->set_field("Rating");
    update->set_picklist_value("Hot");
    valid("map_value_delete", e);
  }
  {
    proto::Envelope e = Header(11);
    auto* upsert = e.mutable_user_upsert();
    upsert->set_sequence(30);
    upsert->set_action(proto::USER_UPSERT);
    auto* user = upsert->add_users();
    user->set_id("005A");
    user->set_username("ann@example.com.dr");
    user->set_email("ann@example.com");
    user->set_profile("Standard User");
    user->set_role("Sales");
    user->add_permission_sets("Reports");
    user->set_active(true);
    user->set_standard_license(true);
    user->set_full_name("Ann Example");
    valid("user_upsert", e);
  }
  {
    proto::Envelope e = Header(12);
    auto* upsert = e.mutable_user_upsert();
    upsert->set_sequence(31);
    upsert->set_action(proto::BULK_SYNC_USERS);
    upsert->set_last_batch(true);
    valid("user_bulk_last_empty", e);
  }
  {
    proto::Envelope e = Header(13);
    auto* push = e.mutable_metadata_push();
    push->set_sequence(40);
    push->set_full(true);
    auto* item = push->add_items();
    item->set_type(proto::CUSTOM_OBJECT);
    item->set_name("Invoice__c");
    item->set_body("<CustomObject/>");
    item->set_fingerprint(0xFEEDFACECAFEBEEF);
    auto* layout = push->add_items();
    layout->set_type(proto::LAYOUT);
    layout->set_name("Invoice Layout");
    valid("metadata_push", e);
  }
  {
    proto::Envelope e = Header(14);
    auto* notice = e.mutable_notice();
    notice->set_sequence(50);
    notice->set_action(proto::CONNECTION_UPDATE);
    *notice->mutable_options() = Options();
    notice->set_reason("owner changed by 005A");
    valid("notice_connection_update", e);
  }
  {
    proto::Envelope e = Header(15);
    e.mutable_notice()->set_sequence(51);
    e.mutable_notice()->set_action(proto::CONNECTION_ADMIN_SUSPENDED);
    valid("notice_admin_suspended", e);
  }
  {
    proto::Envelope e = Header(16);
    auto* error = e.mutable_protocol_error();
    error->set_supported_version(kProtocolVersion);
    error->set_rejected_message_id(99);
    error->set_detail("envelope protocol_version 2 is newer");
    valid("protocol_error", e);
  }
  {
    // A newer peer's fields, at the top and nested, including a group.
    proto::Envelope e = Header(17);
    e.mutable_notice()->set_sequence(52);
    e.mutable_notice()->set_action(proto::CONNECTION_RESUMED);
    auto* nested = e.mutable_notice()->GetReflection()->MutableUnknownFields(
        e.mutable_notice());
    nested->AddLengthDelimited(30, "future detail");
    auto* top = e.GetReflection()->MutableUnknownFields(&e);
    top->AddVarint(99, 12345);
    top->AddGroup(100)->AddFixed64(1, 0x0102030405060708);
    valid("newer_peer_unknown_fields", e);
  }
  {
    proto::Envelope e = Header(18);
    e.set_protocol_version(kProtocolVersion + 1);
    e.mutable_notice()->set_sequence(53);
    e.mutable_notice()->set_action(proto::CONNECTION_DEACTIVATE);
    std::string bytes;
    e.SerializeToString(&bytes);
    seeds.push_back(
        {"newer_version", bytes, absl::StatusCode::kFailedPrecondition});
  }
  {
    proto::Envelope e = Header(19);
    e.mutable_notice()->set_sequence(54);
    e.mutable_notice()->set_action(proto::CONNECTION_DEACTIVATE);
    std::string bytes;
    e.SerializeToString(&bytes);  // no version
    seeds.push_back(
        {"missing_version", bytes, absl::StatusCode::kInvalidArgument});
  }
  {
    // A near miss: a record action in a map update.
    proto::Envelope e = Header(20);
    e.mutable_map_update()->set_sequence(23);
    e.mutable_map_update()->set_action(proto::GENERIC_UPDATE);
    e.mutable_map_update()->set_object("Account");
    seeds.push_back({"map_update_wrong_action", EncodeEnvelope(e),
                     absl::StatusCode::kInvalidArgument});
  }
  {
    // Invalid UTF-8 where a string is expected (bytes patched in place).
    proto::Envelope e = Header(21);
    *e.mutable_changes()->add_changes() =
        Change(60, proto::GENERIC_UPDATE, "ZZZ", "001A");
    std::string bytes = EncodeEnvelope(e);
    bytes.replace(bytes.find("ZZZ"), 3, "\xC0\xAF!");
    seeds.push_back(
        {"invalid_utf8", bytes, absl::StatusCode::kInvalidArgument});
  }
  {
    std::string bytes = seeds.front().bytes;
    bytes.resize(bytes.size() / 2);
    seeds.push_back({"truncated", bytes, absl::StatusCode::kInvalidArgument});
  }
  return seeds;
}

}  // namespace
}  // namespace orgsync::wire

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output directory>\n", argv[0]);
    return 2;
  }
  const std::string directory = argv[1];
  int failures = 0;
  for (const auto& seed : orgsync::wire::MakeSeeds()) {
    const absl::Status status =
        orgsync::wire::DecodeEnvelope(seed.bytes).status();
    if (status.code() != seed.expected) {
      std::fprintf(stderr, "seed %s: expected %s, got %s\n", seed.name.c_str(),
                   absl::StatusCodeToString(seed.expected).c_str(),
                   status.ToString().c_str());
      ++failures;
      continue;
    }
    const std::string path = directory + "/" + seed.name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(seed.bytes.data(),
              static_cast<std::streamsize>(seed.bytes.size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      ++failures;
      continue;
    }
    std::printf("%-32s %5zu bytes  %s\n", seed.name.c_str(), seed.bytes.size(),
                status.ok() ? "valid" : status.ToString().c_str());
  }
  return failures == 0 ? 0 : 1;
}
