// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The demo's chapter on users and metadata (R70-R74, R4), and the host's
// metadata glue it needs (HostMetadata, demo.h): a user arrives in org-b
// with ".dr"; a user whose profile org-b lacks fails at once, and arrives
// once the daily metadata sync brought the profile and the user is saved
// again; a custom field added in org-a shows as a schema mismatch until the
// next metadata sync adds it to org-b's schema.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "demo.h"
#include "demo_table.h"
#include "fmt/core.h"
#include "orgsync/connection.h"
#include "orgsync/metadata_store.h"
#include "orgsync/schema.h"
#include "orgsync/status.h"
#include "orgsync/sync_log.h"
#include "orgsync/user_directory.h"

namespace orgsync_demo {
namespace {

using orgsync::MetadataItem;
using orgsync::MetadataType;
using orgsync::User;

// The metadata sync's schedule (OrgOptions::metadata_sync_interval's
// default): the demo clock jumps a day to reach the next run.
constexpr absl::Duration kDay = absl::Hours(24);

// Saves `user` in the side's directory and reports it, as a host does.
absl::StatusOr<User> SaveUser(OrgSide& side, User user) {
  ORGSYNC_ASSIGN_OR_RETURN(User saved,
                           side.users->Upsert(std::move(user), ApplyContext{}));
  ORGSYNC_ASSIGN_OR_RETURN(
      orgsync::CaptureResult captured,
      side.connection->CaptureUser({.user = saved, .context = {}}));
  if (!captured.captured) {
    return Failed(fmt::format("{} did not capture user {}: {}", side.org_id,
                              saved.username, captured.reason));
  }
  return saved;
}

absl::StatusOr<std::optional<User>> FindUser(const OrgSide& side,
                                             const std::string& username) {
  return side.users->FindByUsername(username);
}

std::string Mismatches(const OrgSide& side) {
  std::string objects;
  for (const orgsync::SchemaMismatch& mismatch :
       side.connection->SchemaMismatches()) {
    objects += (objects.empty() ? "" : ", ") + mismatch.object;
  }
  return objects.empty() ? "none" : objects;
}

}  // namespace

// --- HostMetadata ------------------------------------------------------------

absl::StatusOr<std::unique_ptr<HostMetadata>> HostMetadata::Open(
    orgsync::Storage* storage, orgsync::Schema* schema) {
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<orgsync::MetadataStore> items,
                           orgsync::OpenStorageMetadataStore(storage));
  std::unique_ptr<HostMetadata> host(
      new HostMetadata(std::move(items), schema));
  std::vector<MetadataItem> fields;
  ORGSYNC_RETURN_IF_ERROR(host->items_->Scan([&](const MetadataItem& item) {
    if (item.type == MetadataType::kCustomField) fields.push_back(item);
    return true;
  }));
  for (const MetadataItem& field : fields) {
    ORGSYNC_RETURN_IF_ERROR(host->AddToSchema(field));
  }
  return host;
}

absl::StatusOr<MetadataItem> HostMetadata::Get(MetadataType type,
                                               std::string_view name) {
  return items_->Get(type, name);
}

absl::Status HostMetadata::Upsert(MetadataItem item,
                                  const ApplyContext& context) {
  // The schema first: an item the host cannot use is refused, unwritten.
  ORGSYNC_RETURN_IF_ERROR(AddToSchema(item));
  return items_->Upsert(std::move(item), context);
}

absl::Status HostMetadata::Rename(MetadataType type, std::string_view old_name,
                                  std::string_view new_name,
                                  const ApplyContext& context) {
  return items_->Rename(type, old_name, new_name, context);
}

absl::Status HostMetadata::Scan(
    const std::function<bool(const MetadataItem&)>& visit) {
  return items_->Scan(visit);
}

absl::Status HostMetadata::AddToSchema(const MetadataItem& item) {
  if (item.type != MetadataType::kCustomField) return absl::OkStatus();
  const size_t dot = item.name.find('.');
  constexpr std::string_view kText = "Text(";
  uint32_t length = 0;
  if (dot == std::string::npos || !item.body.starts_with(kText) ||
      !item.body.ends_with(")") ||
      !absl::SimpleAtoi(item.body.substr(kText.size(),
                                         item.body.size() - kText.size() - 1),
                        &length)) {
    return absl::InvalidArgumentError(fmt::format(
        "custom field {}: the demo knows fields \"Object.Field\" with a body "
        "\"Text(N)\", not \"{}\"",
        item.name, item.body));
  }
  const std::string object = item.name.substr(0, dot);
  const std::string field = item.name.substr(dot + 1);
  std::shared_ptr<const ObjectDef> def = schema_->FindObject(object);
  if (def == nullptr) {
    return absl::NotFoundError(
        fmt::format("custom field {}: no object {}", item.name, object));
  }
  if (def->FindField(field) != nullptr) return absl::OkStatus();
  ObjectDef grown = *def;
  grown.fields.push_back(
      orgsync::FieldDef{.name = field, .type = FieldType::kText,
                        .length = length});
  return schema_->ReplaceObject(object, std::move(grown));
}

// --- 7. Users and metadata -------------------------------------------------

absl::Status Demo::UsersAndMetadata() {
  Heading("7. Users and metadata");
  // R70, R71: a user of org-a arrives in org-b with ".dr".
  clock_->Advance(kThinkTime);
  ORGSYNC_ASSIGN_OR_RETURN(
      User carol, SaveUser(primary_, {.username = Email("carol", "org-a"),
                                      .email = Email("carol", "org-a"),
                                      .full_name = "Carol Diaz",
                                      .profile = "Standard",
                                      .active = true,
                                      .standard_license = true}));
  ORGSYNC_RETURN_IF_ERROR(Settle().status());
  const std::string carol_there = carol.username + ".dr";
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<User> carol_copy,
                           FindUser(secondary_, carol_there));
  if (!carol_copy.has_value()) {
    return Failed(fmt::format("org-b has no user {}", carol_there));
  }
  fmt::print(
      "{} added user {} (profile Standard) on org-a.\n"
      "  org-b has her as {} (its own id {}).\n",
      primary_.admin, carol.username, carol_copy->username, carol_copy->id);

  // R72, R52: a profile org-b does not have yet fails the user at once.
  const std::string profile = Named("Field Service");
  ORGSYNC_RETURN_IF_ERROR(primary_.metadata->Upsert(
      {.type = MetadataType::kProfile,
       .name = profile,
       .body = "<Profile license=\"Standard\"/>"},
      {}));
  clock_->Advance(kThinkTime);
  User dave_draft{.username = Email("dave", "org-a"),
                  .email = Email("dave", "org-a"),
                  .full_name = "Dave Okafor",
                  .profile = profile,
                  .active = true,
                  .standard_license = true};
  ORGSYNC_ASSIGN_OR_RETURN(User dave, SaveUser(primary_, dave_draft));
  ORGSYNC_RETURN_IF_ERROR(Settle().status());
  fmt::print(
      "\n{} created the profile \"{}\" on org-a and then user {} with it.\n"
      "User changes sync at once, metadata once a day: org-b lacks the "
      "profile, so the\nuser fails at once and is not retried (R72, R52):\n",
      primary_.admin, profile, dave.username);
  ORGSYNC_ASSIGN_OR_RETURN(const std::vector<LogEntry> dave_log,
                           RecordLog(primary_, "User", dave.id));
  PrintLog(primary_, dave_log);
  if (dave_log.size() != 1 ||
      dave_log[0].error != SyncErrorCode::kMissingProfile ||
      dave_log[0].status != LogStatus::kFailed) {
    return Failed("the missing profile was not logged Failed once");
  }

  // R74: the next day's metadata sync brings the profile; saving the user
  // again then replicates it (R72).
  clock_->Advance(kDay);
  ORGSYNC_RETURN_IF_ERROR(Settle().status());
  ORGSYNC_ASSIGN_OR_RETURN(
      bool has_profile,
      secondary_.users->HasProfile(profile));
  if (!has_profile) {
    return Failed(fmt::format("the metadata sync did not bring profile {}",
                              profile));
  }
  fmt::print(
      "\nA day later the metadata sync ran: org-b has the profile \"{}\" "
      "now.\n",
      profile);
  clock_->Advance(kThinkTime);
  ORGSYNC_RETURN_IF_ERROR(SaveUser(primary_, dave).status());
  ORGSYNC_RETURN_IF_ERROR(Settle().status());
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<User> dave_copy,
                           FindUser(secondary_, dave.username + ".dr"));
  if (!dave_copy.has_value() || dave_copy->profile != profile) {
    return Failed(fmt::format("user {} did not reach org-b once saved again",
                              dave.username));
  }
  fmt::print("{} saved {} again: org-b has {} with that profile.\n",
             primary_.admin, dave.username, dave_copy->username);

  // R74, R4: a custom field added on org-a differs from org-b's schema
  // until the metadata sync adds it there.
  const std::string field = fmt::format("Region_run{}__c", run_);
  ORGSYNC_RETURN_IF_ERROR(primary_.metadata->Upsert(
      {.type = MetadataType::kCustomField,
       .name = "Account." + field,
       .body = "Text(40)"},
      {}));
  // A few rounds: org-a compares its changed schema and tells org-b.
  for (int i = 0; i < 3; ++i) ORGSYNC_RETURN_IF_ERROR(Round());
  fmt::print(
      "\n{} added the custom field Account.{} on org-a. Objects whose "
      "definitions differ,\nas org-b sees them: {}.\n",
      primary_.admin, field, Mismatches(secondary_));
  if (Mismatches(secondary_) != "Account") {
    return Failed("org-b did not see Account differ");
  }
  clock_->Advance(kDay);
  ORGSYNC_RETURN_IF_ERROR(Settle().status());
  std::shared_ptr<const ObjectDef> account =
      secondary_.schema.FindObject("Account");
  if (account == nullptr || account->FindField(field) == nullptr) {
    return Failed(fmt::format("Account.{} did not reach org-b", field));
  }
  fmt::print(
      "A day later the metadata sync added Account.{} to org-b's schema. "
      "Objects that\ndiffer: {}.\n",
      field, Mismatches(secondary_));
  if (Mismatches(secondary_) != "none" || Mismatches(primary_) != "none") {
    return Failed("the schemas still differ after the metadata sync");
  }
  return SaveClock();
}

}  // namespace orgsync_demo
