// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Every semantic rule of lib/proto/wire.proto, in one place. A check returns
// the first violation found, as a path relative to the message it checked;
// callers prefix their own field name on the way up, so a message like
// "changes.changes[2].action: ..." costs string work only when something is
// wrong.

#include "wire/envelope_rules.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "proto/common.pb.h"
#include "proto/wire.pb.h"

namespace orgsync::wire::internal {
namespace {

using proto::QueueAction;

struct Violation {
  std::string path;  // e.g. "changes[2].sequence"; empty for the message
  std::string rule;  // what is wrong, for the admin reading a log
};
using Check = std::optional<Violation>;

Check Broken(std::string path, std::string rule) {
  return Violation{std::move(path), std::move(rule)};
}

// Puts `outer` in front of the violation's path.
Check Within(std::string_view outer, Check inner) {
  if (inner && !outer.empty()) {
    inner->path = inner->path.empty()
                      ? std::string(outer)
                      : fmt::format("{}.{}", outer, inner->path);
  }
  return inner;
}

// Within(), for item `index` of `list`: the path "list[index]" is only
// formatted for a violation (every item of every envelope passes here).
Check WithinItem(std::string_view list, size_t index, Check inner) {
  if (!inner) return inner;
  return Within(fmt::format("{}[{}]", list, index), std::move(inner));
}

// --- The tables -----------------------------------------------------------

// Which QueueActions each body may carry. MAP_UPDATE_EMAIL is in none: it is
// the sender's local notice to its admin and never crosses.
constexpr std::array kRecordActions = {
    proto::GENERIC_INSERT,     proto::GENERIC_UPDATE,
    proto::REPLICATION_DELETE, proto::REPLICATION_UNDELETE,
    proto::BULK_SYNC,          proto::MISSING_PARTNER_ID,
};
constexpr std::array kUserActions = {proto::USER_UPSERT,
                                     proto::BULK_SYNC_USERS};
constexpr std::array kConnectionActions = {
    proto::CONNECTION_ADMIN_SUSPENDED, proto::CONNECTION_ADMIN_RESUMED,
    proto::CONNECTION_SUSPENDED,       proto::CONNECTION_RESUMED,
    proto::CONNECTION_DEACTIVATE,      proto::CONNECTION_UPDATE,
};

// What each map action needs besides `object` (wire.proto, MapUpdate).
struct MapActionRule {
  QueueAction action;
  bool needs_field;
  bool needs_new_name;
  bool needs_picklist_value;
};
constexpr std::array kMapActionRules = {
    MapActionRule{proto::TYPE_MAP_UPDATE, false, false, false},
    MapActionRule{proto::TYPE_MAP_DELETE, false, false, false},
    MapActionRule{proto::TYPE_MAP_SET_PARTNER_SUB, false, false, false},
    MapActionRule{proto::TYPE_MAP_NAME_UPDATE, false, true, false},
    MapActionRule{proto::FIELD_MAP_UPDATE, true, false, false},
    MapActionRule{proto::FIELD_MAP_DELETE, true, false, false},
    MapActionRule{proto::FIELD_MAP_NAME_UPDATE, true, true, false},
    MapActionRule{proto::VALUE_MAP_DELETE, true, false, true},
};

// Record actions that are not a first copy: no audit fields (R35).
constexpr std::array kActionsWithoutAudit = {proto::GENERIC_UPDATE,
                                             proto::REPLICATION_DELETE,
                                             proto::REPLICATION_UNDELETE};
// The only record actions that may cascade to children (R33).
constexpr std::array kCascadingActions = {proto::REPLICATION_DELETE,
                                          proto::REPLICATION_UNDELETE};

constexpr size_t kMaxConnectionIdLength = 128;

template <size_t N>
bool Contains(const std::array<QueueAction, N>& actions, int action) {
  return std::find(actions.begin(), actions.end(), action) != actions.end();
}

// --- Field-level checks ---------------------------------------------------

Check NonEmpty(std::string_view path, const std::string& value) {
  if (value.empty()) return Broken(std::string(path), "must not be empty");
  return std::nullopt;
}

Check Sequence(uint64_t sequence) {
  if (sequence == 0) return Broken("sequence", "must be >= 1");
  return std::nullopt;
}

// `value` names a value of a protobuf enum, given its generated IsValid and
// Name functions; `unset_ok` allows the zero value.
template <typename IsValid, typename Name>
Check KnownEnum(std::string_view path, int value, IsValid is_valid, Name name,
                bool unset_ok) {
  if (!is_valid(value)) {
    return Broken(std::string(path),
                  fmt::format("unknown value {} (a newer peer's value must "
                              "not be sent to this version)",
                              value));
  }
  if (value == 0 && !unset_ok) {
    return Broken(std::string(path),
                  fmt::format("must be set (is {})", std::string(name(value))));
  }
  return std::nullopt;
}

// `action` is a known QueueAction and one of `allowed`.
template <size_t N>
Check ActionAmong(int action, const std::array<QueueAction, N>& allowed,
                  std::string_view what) {
  if (Check c = KnownEnum("action", action, proto::QueueAction_IsValid,
                          proto::QueueAction_Name<int>, false)) {
    return c;
  }
  if (Contains(allowed, action)) return std::nullopt;
  std::string names;
  for (QueueAction a : allowed) {
    if (!names.empty()) names += ", ";
    names += proto::QueueAction_Name(a);
  }
  return Broken("action",
                fmt::format("{} is not {} ({})",
                            proto::QueueAction_Name(action), what, names));
}

Check NonEmptyEntries(
    std::string_view list,
    const google::protobuf::RepeatedPtrField<std::string>& entries) {
  for (int i = 0; i < entries.size(); ++i) {
    if (entries[i].empty()) {
      return Broken(fmt::format("{}[{}]", list, i), "must not be empty");
    }
  }
  return std::nullopt;
}

template <typename Map>
Check NonEmptyKeys(std::string_view map, const Map& entries) {
  // A map holds at most one empty key, so which violation is reported does
  // not depend on the map's iteration order.
  if (entries.contains("")) {
    return Broken(std::string(map), "has an entry with an empty key");
  }
  return std::nullopt;
}

// Sequences in one list must be distinct: a receiver answers per sequence.
template <typename Items>
Check DistinctSequences(std::string_view list, const Items& items) {
  std::vector<uint64_t> sequences;
  sequences.reserve(items.size());
  for (const auto& item : items) sequences.push_back(item.sequence());
  std::sort(sequences.begin(), sequences.end());
  const auto duplicate = std::adjacent_find(sequences.begin(), sequences.end());
  if (duplicate != sequences.end()) {
    return Broken(
        std::string(list),
        fmt::format("sequence {} appears more than once", *duplicate));
  }
  return std::nullopt;
}

Check ConnectionId(const std::string& id) {
  if (id.empty()) return Broken("connection_id", "must not be empty");
  if (id.size() > kMaxConnectionIdLength) {
    return Broken("connection_id",
                  fmt::format("{} characters, over the limit of {}", id.size(),
                              kMaxConnectionIdLength));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == '-' || c == ':';
    if (!ok) {
      return Broken("connection_id",
                    fmt::format("character {} (byte 0x{:02x}) is not one of "
                                "[A-Za-z0-9._:-]",
                                i, static_cast<unsigned char>(c)));
    }
  }
  return std::nullopt;
}

// --- Shared messages ------------------------------------------------------

Check ValidateUser(const proto::User& user) {
  if (Check c = NonEmpty("id", user.id())) return c;
  if (Check c = NonEmpty("username", user.username())) return c;
  return NonEmptyEntries("permission_sets", user.permission_sets());
}

Check ValidateMetadataItem(const proto::MetadataItem& item) {
  if (Check c = KnownEnum("type", item.type(), proto::MetadataType_IsValid,
                          proto::MetadataType_Name<int>, false)) {
    return c;
  }
  return NonEmpty("name", item.name());
}

Check ValidateMetadataRename(const proto::MetadataRename& rename) {
  if (Check c = KnownEnum("type", rename.type(), proto::MetadataType_IsValid,
                          proto::MetadataType_Name<int>, false)) {
    return c;
  }
  // R74: only top-level items rename; any other is a new item.
  if (rename.type() != proto::ROLE && rename.type() != proto::PROFILE &&
      rename.type() != proto::PERMISSION_SET) {
    return Broken("type",
                  "must be ROLE, PROFILE or PERMISSION_SET: only top-level "
                  "metadata renames sync");
  }
  if (Check c = NonEmpty("old_name", rename.old_name())) return c;
  if (Check c = NonEmpty("new_name", rename.new_name())) return c;
  if (rename.old_name() == rename.new_name()) {
    return Broken("new_name", "must differ from old_name");
  }
  return std::nullopt;
}

Check ValidateFieldSchema(const proto::FieldSchema& field) {
  if (Check c = NonEmpty("name", field.name())) return c;
  if (Check c = KnownEnum("type", field.type(), proto::FieldType_IsValid,
                          proto::FieldType_Name<int>, false)) {
    return c;
  }
  const bool lookup =
      field.type() == proto::LOOKUP || field.type() == proto::MASTER_DETAIL;
  if (lookup && field.lookup_target().empty()) {
    return Broken(
        "lookup_target",
        fmt::format("must name the target object "
                    "of {} field '{}'",
                    proto::FieldType_Name(field.type()), field.name()));
  }
  return std::nullopt;
}

Check ValidateObjectSchema(const proto::ObjectSchema& schema,
                           const std::string& object) {
  if (schema.name() != object) {
    return Broken("name", fmt::format("'{}' differs from the object '{}'",
                                      schema.name(), object));
  }
  std::vector<std::string_view> names;
  names.reserve(schema.fields_size());
  for (int i = 0; i < schema.fields_size(); ++i) {
    if (Check c =
            WithinItem("fields", i, ValidateFieldSchema(schema.fields(i)))) {
      return c;
    }
    names.push_back(schema.fields(i).name());
  }
  std::sort(names.begin(), names.end());
  const auto duplicate = std::adjacent_find(names.begin(), names.end());
  if (duplicate != names.end()) {
    return Broken("fields", fmt::format("field '{}' is defined more than once",
                                        *duplicate));
  }
  return std::nullopt;
}

// --- Bodies ---------------------------------------------------------------

Check ValidateAccept(const proto::AcceptInvitation& accept) {
  if (accept.secret().empty() && accept.secret_proof().empty()) {
    return Broken("secret", "must not be empty when secret_proof is");
  }
  if (Check c = NonEmpty("secondary_org_id", accept.secondary_org_id())) {
    return c;
  }
  return NonEmptyKeys("schema_fingerprints", accept.schema_fingerprints());
}

Check ValidateHandshakeResult(const proto::HandshakeResult& result) {
  if (Check c = KnownEnum("refusal", result.refusal(),
                          proto::HandshakeRefusal_IsValid,
                          proto::HandshakeRefusal_Name<int>, true)) {
    return c;
  }
  if (result.accepted()) {
    if (result.refusal() != proto::REFUSAL_UNSPECIFIED) {
      return Broken(
          "refusal",
          fmt::format("is {} on an accepted handshake",
                      proto::HandshakeRefusal_Name(result.refusal())));
    }
    if (!result.has_options()) {
      return Broken("options", "must be present when accepted");
    }
    if (Check c = NonEmpty("primary_org_id", result.primary_org_id())) {
      return c;
    }
  } else if (result.refusal() == proto::REFUSAL_UNSPECIFIED) {
    return Broken("refusal", "must say why the handshake was refused");
  }
  return NonEmptyKeys("schema_fingerprints", result.schema_fingerprints());
}

Check ValidateRecordChange(const proto::RecordChange& change) {
  if (Check c = Sequence(change.sequence())) return c;
  if (Check c =
          ActionAmong(change.action(), kRecordActions, "a record action")) {
    return c;
  }
  if (Check c = NonEmpty("object", change.object())) return c;
  if (Check c = NonEmpty("sender_record_id", change.sender_record_id())) {
    return c;
  }
  if (Check c = NonEmptyKeys("fields", change.fields())) return c;
  if (Check c = NonEmptyEntries("changed_fields", change.changed_fields())) {
    return c;
  }
  if (change.has_audit() && Contains(kActionsWithoutAudit, change.action())) {
    return Broken("audit",
                  fmt::format("must be absent on {}: audit fields travel only "
                              "with a first copy (R35)",
                              proto::QueueAction_Name(change.action())));
  }
  if (change.cascade() && !Contains(kCascadingActions, change.action())) {
    return Broken("cascade",
                  fmt::format("is set on {}: only deletes and undeletes "
                              "cascade (R33)",
                              proto::QueueAction_Name(change.action())));
  }
  if (change.deleted() && change.action() != proto::GENERIC_INSERT &&
      change.action() != proto::BULK_SYNC) {
    return Broken("deleted",
                  fmt::format("is set on {}: only a record sent whole "
                              "(GENERIC_INSERT, BULK_SYNC) carries it",
                              proto::QueueAction_Name(change.action())));
  }
  if (change.forwarded() && change.action() != proto::GENERIC_INSERT &&
      change.action() != proto::GENERIC_UPDATE) {
    return Broken("forwarded",
                  fmt::format("is set on {}: only a forward (GENERIC_INSERT, "
                              "GENERIC_UPDATE) carries it (R66)",
                              proto::QueueAction_Name(change.action())));
  }
  if (!change.field_stamps().empty() &&
      Contains(kActionsWithoutAudit, change.action())) {
    return Broken("field_stamps",
                  fmt::format("is set on {}: only a record sent whole "
                              "(GENERIC_INSERT, BULK_SYNC, "
                              "MISSING_PARTNER_ID) carries it",
                              proto::QueueAction_Name(change.action())));
  }
  for (const auto& [field, stamp] : change.field_stamps()) {
    if (!change.fields().contains(field)) {
      return Broken("field_stamps",
                    fmt::format("stamps field '{}', which the change does "
                                "not carry",
                                field));
    }
    if (stamp.micros() < 0 || stamp.micros() > change.last_modified_micros()) {
      return Broken("field_stamps." + field,
                    fmt::format("micros {} is outside 0..{} "
                                "(last_modified_micros)",
                                stamp.micros(), change.last_modified_micros()));
    }
  }
  if ((change.cascade_listed() || !change.cascaded().empty()) &&
      !change.cascade()) {
    return Broken("cascaded", "lists cascaded records without cascade");
  }
  if (Check c =
          NonEmptyKeys("lookup_receiver_ids", change.lookup_receiver_ids())) {
    return c;
  }
  for (const auto& [field, id] : change.lookup_receiver_ids()) {
    if (Check c = NonEmpty("lookup_receiver_ids." + field, id)) return c;
  }
  for (const proto::CascadedRecord& cascaded : change.cascaded()) {
    if (Check c = NonEmpty("cascaded.object", cascaded.object())) return c;
    if (Check c = NonEmpty("cascaded.sender_record_id",
                           cascaded.sender_record_id())) {
      return c;
    }
  }
  return std::nullopt;
}

Check ValidateChangeBatch(const proto::ChangeBatch& batch) {
  if (batch.changes().empty()) return Broken("changes", "must not be empty");
  for (int i = 0; i < batch.changes_size(); ++i) {
    if (Check c =
            WithinItem("changes", i, ValidateRecordChange(batch.changes(i)))) {
      return c;
    }
  }
  return DistinctSequences("changes", batch.changes());
}

Check ValidateItemResult(const proto::ItemResult& result) {
  if (Check c = Sequence(result.sequence())) return c;
  if (Check c = KnownEnum("outcome", result.outcome(), proto::Outcome_IsValid,
                          proto::Outcome_Name<int>, false)) {
    return c;
  }
  if (Check c = KnownEnum("error", result.error(), proto::ErrorCode_IsValid,
                          proto::ErrorCode_Name<int>, true)) {
    return c;
  }
  const bool failed = result.outcome() == proto::RETRYABLE_FAILURE ||
                      result.outcome() == proto::PERMANENT_FAILURE;
  if (failed && result.error() == proto::ERROR_NONE) {
    return Broken("error", fmt::format("must say why on {}",
                                       proto::Outcome_Name(result.outcome())));
  }
  return std::nullopt;
}

Check ValidateAck(const proto::Acknowledgement& ack) {
  if (ack.results().empty() && ack.acked_message_id() == 0) {
    return Broken("",
                  "acknowledges nothing: needs results or "
                  "acked_message_id");
  }
  for (int i = 0; i < ack.results_size(); ++i) {
    if (Check c =
            WithinItem("results", i, ValidateItemResult(ack.results(i)))) {
      return c;
    }
  }
  return DistinctSequences("results", ack.results());
}

Check ValidateMapUpdate(const proto::MapUpdate& update) {
  if (Check c = Sequence(update.sequence())) return c;
  const auto rule = std::find_if(
      kMapActionRules.begin(), kMapActionRules.end(),
      [&](const MapActionRule& r) { return r.action == update.action(); });
  if (rule == kMapActionRules.end()) {
    std::array<QueueAction, kMapActionRules.size()> map_actions;
    std::transform(kMapActionRules.begin(), kMapActionRules.end(),
                   map_actions.begin(),
                   [](const MapActionRule& r) { return r.action; });
    return ActionAmong(update.action(), map_actions, "a map action");
  }
  const std::string action = proto::QueueAction_Name(update.action());
  const auto needed = [&](std::string_view field,
                          const std::string& value) -> Check {
    if (!value.empty()) return std::nullopt;
    return Broken(std::string(field),
                  fmt::format("must be set for {}", action));
  };
  if (Check c = needed("object", update.object())) return c;
  if (rule->needs_field) {
    if (Check c = needed("field", update.field())) return c;
  }
  if (rule->needs_new_name) {
    if (Check c = needed("new_name", update.new_name())) return c;
  }
  if (rule->needs_picklist_value) {
    if (Check c = needed("picklist_value", update.picklist_value())) return c;
  }
  if (update.has_object_schema()) {
    if (Check c = Within(
            "object_schema",
            ValidateObjectSchema(update.object_schema(), update.object()))) {
      return c;
    }
  }
  return NonEmptyEntries("published_fields", update.published_fields());
}

Check ValidateUserUpsert(const proto::UserUpsert& upsert) {
  if (Check c = Sequence(upsert.sequence())) return c;
  if (Check c = ActionAmong(upsert.action(), kUserActions, "a user action")) {
    return c;
  }
  if (upsert.stamp_micros() < 0) {
    return Broken("stamp_micros", "must be >= 0");
  }
  const bool may_be_empty =
      upsert.action() == proto::BULK_SYNC_USERS && upsert.last_batch();
  if (upsert.users().empty() && !may_be_empty) {
    return Broken("users",
                  "must not be empty (except in the last batch of "
                  "BULK_SYNC_USERS)");
  }
  if (upsert.last_batch() && upsert.action() != proto::BULK_SYNC_USERS) {
    return Broken("last_batch", "is only meaningful for BULK_SYNC_USERS");
  }
  for (int i = 0; i < upsert.users_size(); ++i) {
    if (Check c = WithinItem("users", i, ValidateUser(upsert.users(i)))) {
      return c;
    }
  }
  return std::nullopt;
}

Check ValidateMetadataPush(const proto::MetadataPush& push) {
  if (Check c = Sequence(push.sequence())) return c;
  if (push.last_batch() && !push.full()) {
    return Broken("last_batch", "is only meaningful for a full resend");
  }
  if (push.items().empty() && push.renames().empty() && !push.last_batch()) {
    return Broken("items",
                  "must not be empty without renames (except in the last "
                  "batch of a full resend)");
  }
  for (int i = 0; i < push.renames_size(); ++i) {
    if (Check c =
            WithinItem("renames", i, ValidateMetadataRename(push.renames(i)))) {
      return c;
    }
  }
  for (int i = 0; i < push.items_size(); ++i) {
    if (Check c = WithinItem("items", i, ValidateMetadataItem(push.items(i)))) {
      return c;
    }
  }
  return std::nullopt;
}

Check ValidateNotice(const proto::ConnectionNotice& notice) {
  if (Check c = Sequence(notice.sequence())) return c;
  if (Check c = ActionAmong(notice.action(), kConnectionActions,
                            "a connection action")) {
    return c;
  }
  if (notice.action() == proto::CONNECTION_UPDATE && !notice.has_options()) {
    return Broken("options", "must be present for CONNECTION_UPDATE");
  }
  if ((notice.has_schema_fingerprints() ||
       !notice.schema_fingerprints().empty()) &&
      notice.action() != proto::CONNECTION_UPDATE) {
    return Broken("schema_fingerprints",
                  "are only meaningful on CONNECTION_UPDATE");
  }
  return NonEmptyKeys("schema_fingerprints", notice.schema_fingerprints());
}

Check ValidateProtocolError(const proto::ProtocolError& error) {
  if (error.supported_version() == 0) {
    return Broken("supported_version", "must be >= 1");
  }
  return std::nullopt;
}

Check ValidateVerifyObject(const proto::VerifyObject& object,
                           bool plan_request) {
  if (Check c = NonEmpty("object", object.object())) return c;
  for (int i = 0; i < object.fields_size(); ++i) {
    const proto::VerifyFieldPair& pair = object.fields(i);
    Check c = NonEmpty("initiator_field", pair.initiator_field());
    if (!c && !plan_request) {
      c = NonEmpty("responder_field", pair.responder_field());
    }
    if (c) return WithinItem("fields", static_cast<size_t>(i), std::move(c));
  }
  return std::nullopt;
}

Check ValidateVerifyRequest(const proto::VerifyRequest& request) {
  if (request.run() == 0) return Broken("run", "must be >= 1");
  if (request.request() == 0) return Broken("request", "must be >= 1");
  if (Check c = KnownEnum("kind", request.kind(),
                          proto::VerifyRequestKind_IsValid,
                          proto::VerifyRequestKind_Name<int>, false)) {
    return c;
  }
  if (request.objects_size() == 0) {
    return Broken("objects", "must name at least one object");
  }
  const bool plan = request.kind() == proto::VERIFY_PLAN;
  for (int i = 0; i < request.objects_size(); ++i) {
    if (Check c = ValidateVerifyObject(request.objects(i), plan)) {
      return WithinItem("objects", static_cast<size_t>(i), std::move(c));
    }
  }
  if (plan && request.ranges_size() != 0) {
    return Broken("ranges", "must be empty on VERIFY_PLAN");
  }
  if (request.kind() == proto::VERIFY_UNLINKED && request.ranges_size() != 1) {
    return Broken("ranges", "must hold exactly one range on VERIFY_UNLINKED");
  }
  if (!plan && request.ranges_size() == 0) {
    return Broken("ranges", "must hold at least one range");
  }
  for (int i = 0; i < request.ranges_size(); ++i) {
    if (request.ranges(i).object() >=
        static_cast<uint32_t>(request.objects_size())) {
      return WithinItem("ranges", static_cast<size_t>(i),
                        Broken("object", "must index `objects`"));
    }
  }
  return std::nullopt;
}

Check ValidateVerifyAnswer(const proto::VerifyAnswer& answer) {
  if (answer.run() == 0) return Broken("run", "must be >= 1");
  if (answer.request() == 0) return Broken("request", "must be >= 1");
  for (int i = 0; i < answer.objects_size(); ++i) {
    if (Check c = ValidateVerifyObject(answer.objects(i),
                                       /*plan_request=*/false)) {
      return WithinItem("objects", static_cast<size_t>(i), std::move(c));
    }
  }
  for (int i = 0; i < answer.records_size(); ++i) {
    const proto::VerifyListedRecord& record = answer.records(i);
    Check c = NonEmpty("initiator_id", record.initiator_id());
    if (!c) c = NonEmpty("responder_id", record.responder_id());
    if (c) return WithinItem("records", static_cast<size_t>(i), std::move(c));
  }
  return NonEmptyEntries("unlinked_ids", answer.unlinked_ids());
}

Check ValidateBody(const proto::Envelope& envelope) {
  using E = proto::Envelope;
  switch (envelope.body_case()) {
    case E::kAccept:
      return Within("accept", ValidateAccept(envelope.accept()));
    case E::kHandshakeResult:
      return Within("handshake_result",
                    ValidateHandshakeResult(envelope.handshake_result()));
    case E::kChanges:
      return Within("changes", ValidateChangeBatch(envelope.changes()));
    case E::kAck:
      return Within("ack", ValidateAck(envelope.ack()));
    case E::kMapUpdate:
      return Within("map_update", ValidateMapUpdate(envelope.map_update()));
    case E::kUserUpsert:
      return Within("user_upsert", ValidateUserUpsert(envelope.user_upsert()));
    case E::kMetadataPush:
      return Within("metadata_push",
                    ValidateMetadataPush(envelope.metadata_push()));
    case E::kNotice:
      return Within("notice", ValidateNotice(envelope.notice()));
    case E::kProtocolError:
      return Within("protocol_error",
                    ValidateProtocolError(envelope.protocol_error()));
    case E::kVerifyRequest:
      return Within("verify_request",
                    ValidateVerifyRequest(envelope.verify_request()));
    case E::kVerifyAnswer:
      return Within("verify_answer",
                    ValidateVerifyAnswer(envelope.verify_answer()));
    case E::BODY_NOT_SET:
      break;
  }
  return Broken("body",
                "no body is set (or only one this version does not "
                "know)");
}

Check ValidateHeader(const proto::Envelope& envelope) {
  if (Check c = ConnectionId(envelope.connection_id())) return c;
  if (envelope.message_id() == 0) return Broken("message_id", "must be >= 1");
  return std::nullopt;
}

}  // namespace

absl::Status CheckRecordChangeRules(const proto::RecordChange& change) {
  Check violation = ValidateRecordChange(change);
  if (!violation) return absl::OkStatus();
  const std::string where =
      violation->path.empty() ? std::string("<change>") : violation->path;
  return absl::InvalidArgumentError(
      fmt::format("invalid record change: {}: {}", where, violation->rule));
}

absl::Status CheckEnvelopeRules(const proto::Envelope& envelope) {
  Check violation = ValidateHeader(envelope);
  if (!violation) violation = ValidateBody(envelope);
  if (!violation) return absl::OkStatus();
  const std::string where =
      violation->path.empty() ? std::string("<envelope>") : violation->path;
  return absl::InvalidArgumentError(
      fmt::format("invalid envelope: {}: {}", where, violation->rule));
}

}  // namespace orgsync::wire::internal
