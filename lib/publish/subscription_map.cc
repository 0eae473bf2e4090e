// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "publish/durable_subscription_map.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "internal/strings.h"
#include "orgsync/status.h"
#include "proto/publish_state.pb.h"
#include "publish/map_store.h"
#include "schema/schema_proto.h"

namespace orgsync::internal {
namespace {

MapNotice PartnerSubNotice(std::string object, bool subscribed) {
  MapNotice notice{QueueAction::kTypeMapSetPartnerSub, std::move(object), {},
                   {}, {}};
  notice.subscribed = subscribed;
  return notice;
}

// Why local field `local` cannot receive the partner's `partner`, or "" if
// it can. `local_target` is the local object the partner's lookup target
// maps to.
std::string Incompatibility(std::string_view local_object,
                            const FieldDef& partner, const FieldDef& local,
                            std::string_view local_target) {
  const std::string where = fmt::format("local field {}.{}", local_object,
                                        local.name);
  if (partner.type != local.type) {
    return fmt::format("{} is a {} field, the partner's {} is a {} field",
                       where, FieldTypeName(local.type), partner.name,
                       FieldTypeName(partner.type));
  }
  if (IsLookupFieldType(partner.type) && local.lookup_target != local_target) {
    return fmt::format("{} looks up {}, but the partner's {} looks up {} ({} "
                       "here)",
                       where, local.lookup_target, partner.name,
                       partner.lookup_target, local_target);
  }
  if (IsSizeSensitiveFieldType(partner.type)) {
    // 0 means unspecified on the partner's side and unlimited on ours.
    auto too_small = [](uint32_t ours, uint32_t theirs) {
      return theirs != 0 && ours != 0 && ours < theirs;
    };
    if (too_small(local.length, partner.length)) {
      return fmt::format("{} holds {} characters, the partner's {} holds {}",
                         where, local.length, partner.name, partner.length);
    }
    if (too_small(local.precision, partner.precision) ||
        too_small(local.scale, partner.scale)) {
      return fmt::format(
          "{} has precision {} and scale {}, the partner's {} has {} and {}",
          where, local.precision, local.scale, partner.name,
          partner.precision, partner.scale);
    }
  }
  return "";
}

proto::FieldMappingStatus ToProtoStatus(FieldStatus status) {
  switch (status) {
    case FieldStatus::kSubscribed: return proto::FIELD_SUBSCRIBED;
    case FieldStatus::kNotSubscribed: return proto::FIELD_NOT_SUBSCRIBED;
    case FieldStatus::kNoneAvailable: return proto::FIELD_NONE_AVAILABLE;
    case FieldStatus::kUnmapped: return proto::FIELD_UNMAPPED;
  }
  return proto::FIELD_MAPPING_STATUS_UNSPECIFIED;
}

std::optional<FieldStatus> FromProtoStatus(proto::FieldMappingStatus status) {
  switch (status) {
    case proto::FIELD_SUBSCRIBED: return FieldStatus::kSubscribed;
    case proto::FIELD_NOT_SUBSCRIBED: return FieldStatus::kNotSubscribed;
    case proto::FIELD_NONE_AVAILABLE: return FieldStatus::kNoneAvailable;
    case proto::FIELD_UNMAPPED: return FieldStatus::kUnmapped;
    default: return std::nullopt;
  }
}

}  // namespace

DurableSubscriptionMap::DurableSubscriptionMap(Storage* storage, std::string connection_id,
                                 const Schema* local_schema, ChangeSink* sink)
    : storage_(storage),
      connection_id_(std::move(connection_id)),
      schema_(local_schema),
      sink_(sink) {}

DurableSubscriptionMap::~DurableSubscriptionMap() = default;

absl::StatusOr<std::unique_ptr<DurableSubscriptionMap>> DurableSubscriptionMap::Open(
    Storage* storage, std::string connection_id, const Schema* local_schema,
    ChangeSink* sink) {
  if (storage == nullptr || local_schema == nullptr) {
    return absl::InvalidArgumentError(
        "DurableSubscriptionMap::Open needs a storage and a local schema");
  }
  ORGSYNC_RETURN_IF_ERROR(ValidateConnectionId(connection_id));
  std::unique_ptr<DurableSubscriptionMap> map(new DurableSubscriptionMap(
      storage, std::move(connection_id), local_schema, sink));
  ORGSYNC_RETURN_IF_ERROR(Annotate(
      map->Load(), fmt::format("opening the subscription map of connection {}",
                               map->connection_id_)));
  return map;
}

std::string DurableSubscriptionMap::KeyFor(std::string_view object) const {
  return fmt::format("s/{}/o/{}", connection_id_, object);
}

absl::Status DurableSubscriptionMap::Load() {
  const std::string prefix = KeyFor("");
  MutexLock lock(&mu_);
  return ScanPrefix(
      storage_, prefix,
      [&](std::string_view key, std::string_view value) -> absl::Status {
        const std::string_view object = key.substr(prefix.size());
        auto corrupt = [key](std::string_view why) {
          return absl::DataLossError(fmt::format(
              "corrupt subscription state under key {}: {}", key, why));
        };
        proto::PartnerObjectState state;
        if (!state.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          return corrupt("unparseable");
        }
        absl::StatusOr<ObjectDef> publication =
            FromObjectDefinition(state.publication());
        if (!publication.ok()) {
          return corrupt(std::string(publication.status().message()));
        }
        if (publication->name != object) {
          return corrupt("object name differs from key");
        }
        Entry entry;
        entry.publication = *std::move(publication);
        entry.subscribed = state.subscribed();
        entry.local_object = state.local_object();
        for (const proto::FieldMapping& m : state.fields()) {
          std::optional<FieldStatus> status = FromProtoStatus(m.status());
          if (!status.has_value() ||
              entry.publication.FindField(m.partner_field()) == nullptr) {
            return corrupt(fmt::format("bad mapping of field '{}'",
                                       m.partner_field()));
          }
          entry.fields.emplace(m.partner_field(),
                               FieldMapping{m.partner_field(), *status,
                                            m.local_field(), m.reason()});
        }
        entries_.emplace(std::string(object), std::move(entry));
        return absl::OkStatus();
      });
}

void DurableSubscriptionMap::PutEntry(std::string_view object, const Entry& entry,
                               WriteBatch* batch) const {
  proto::PartnerObjectState state;
  *state.mutable_publication() = ToObjectDefinition(entry.publication);
  state.set_subscribed(entry.subscribed);
  state.set_local_object(entry.local_object);
  for (const auto& [name, mapping] : entry.fields) {
    proto::FieldMapping* m = state.add_fields();
    m->set_partner_field(mapping.partner_field);
    m->set_status(ToProtoStatus(mapping.status));
    m->set_local_field(mapping.local_field);
    m->set_reason(mapping.reason);
  }
  batch->Put(KeyFor(object), state.SerializeAsString());
}

absl::Status DurableSubscriptionMap::Commit(std::vector<MapNotice> notices,
                                     EntryMap updated,
                                     std::vector<std::string> removed) {
  // An update that leaves an entry exactly as it was is not written.
  for (auto it = updated.begin(); it != updated.end();) {
    auto current = entries_.find(it->first);
    const bool same =
        current != entries_.end() &&
        std::find(removed.begin(), removed.end(), it->first) == removed.end() &&
        current->second.publication == it->second.publication &&
        current->second.subscribed == it->second.subscribed &&
        current->second.local_object == it->second.local_object &&
        current->second.fields == it->second.fields;
    it = same ? updated.erase(it) : std::next(it);
  }
  if (updated.empty() && removed.empty() && notices.empty()) {
    return absl::OkStatus();
  }
  WriteBatch batch;
  for (const std::string& name : removed) batch.Delete(KeyFor(name));
  for (const auto& [name, entry] : updated) PutEntry(name, entry, &batch);
  ORGSYNC_RETURN_IF_ERROR(
      WriteWithNotices(storage_, sink_, notices, std::move(batch)));
  for (const std::string& name : removed) entries_.erase(name);
  for (auto& [name, entry] : updated) {
    entries_.insert_or_assign(name, std::move(entry));
  }
  return absl::OkStatus();
}

const DurableSubscriptionMap::Entry* DurableSubscriptionMap::FindAfter(
    const EntryMap& updated, const std::vector<std::string>& removed,
    std::string_view name) const {
  if (auto it = updated.find(name); it != updated.end()) return &it->second;
  if (std::find(removed.begin(), removed.end(), name) != removed.end()) {
    return nullptr;
  }
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

FieldMapping DurableSubscriptionMap::AutoMap(const EntryMap& updated,
                                      const std::vector<std::string>& removed,
                                      const Entry& entry,
                                      const FieldDef& field,
                                      std::string_view local_field,
                                      bool* missing) const {
  *missing = false;
  FieldMapping mapping;
  mapping.partner_field = field.name;
  const std::string local_name(local_field.empty() ? field.name : local_field);
  std::shared_ptr<const ObjectDef> def = schema_->FindObject(entry.local_object);
  const FieldDef* local = def == nullptr ? nullptr : def->FindField(local_name);
  if (local == nullptr) {
    *missing = true;
    mapping.status = FieldStatus::kUnmapped;
    mapping.reason = fmt::format("local object {} has no field {}",
                                 entry.local_object, local_name);
    return mapping;
  }
  std::string local_target;
  if (IsLookupFieldType(field.type) && local->type == field.type) {
    if (field.lookup_target == entry.publication.name) {
      local_target = entry.local_object;
    } else {
      const Entry* target =
          FindAfter(updated, removed, field.lookup_target);
      if (target == nullptr || !target->subscribed) {
        mapping.status = FieldStatus::kNoneAvailable;
        mapping.local_field = local_name;
        mapping.reason = fmt::format(
            "R16: lookup target {} is not subscribed here; the field is "
            "subscribed once it is",
            field.lookup_target);
        return mapping;
      }
      local_target = target->local_object;
    }
  }
  std::string why =
      Incompatibility(entry.local_object, field, *local, local_target);
  if (!why.empty()) {
    mapping.status = FieldStatus::kUnmapped;
    mapping.reason = std::move(why);
    return mapping;
  }
  mapping.status = FieldStatus::kSubscribed;
  mapping.local_field = local_name;
  return mapping;
}

void DurableSubscriptionMap::RefreshLookupsTo(
    std::string_view target, EntryMap* updated,
    const std::vector<std::string>& removed) const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : entries_) names.push_back(name);
  for (const auto& [name, entry] : *updated) names.push_back(name);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());

  for (const std::string& name : names) {
    if (name == target) continue;
    const Entry* entry = FindAfter(*updated, removed, name);
    if (entry == nullptr || !entry->subscribed) continue;
    Entry copy = *entry;
    bool touched = false;
    for (auto& [partner_field, mapping] : copy.fields) {
      if (mapping.status != FieldStatus::kSubscribed &&
          mapping.status != FieldStatus::kNoneAvailable) {
        continue;
      }
      const FieldDef* field = copy.publication.FindField(partner_field);
      if (field == nullptr || !IsLookupFieldType(field->type) ||
          field->lookup_target != target) {
        continue;
      }
      bool missing = false;
      FieldMapping next = AutoMap(*updated, removed, copy, *field,
                                  mapping.local_field, &missing);
      if (next != mapping) {
        mapping = std::move(next);
        touched = true;
      }
    }
    if (touched) updated->insert_or_assign(name, std::move(copy));
  }
}

absl::Status DurableSubscriptionMap::Subscribe(std::string_view object) {
  MutexLock lock(&mu_);
  auto it = entries_.find(object);
  if (it == entries_.end()) {
    return absl::NotFoundError(fmt::format(
        "R16: the partner does not publish object {}, so it cannot be "
        "subscribed",
        object));
  }
  if (it->second.subscribed) return absl::OkStatus();
  if (!schema_->HasObject(object)) {
    return absl::FailedPreconditionError(fmt::format(
        "R16: the local schema has no object {} to map the partner's {} to",
        object, object));
  }
  Entry entry = it->second;
  entry.subscribed = true;
  entry.local_object = std::string(object);
  EntryMap updated;
  std::vector<std::string> removed;
  // The entry must be visible as subscribed while its own fields are mapped
  // (self-lookups) and while other objects' lookups are refreshed.
  updated.emplace(std::string(object), entry);
  for (const FieldDef& field : entry.publication.fields) {
    bool missing = false;
    entry.fields.emplace(field.name, AutoMap(updated, removed, entry, field,
                                             {}, &missing));
  }
  updated.insert_or_assign(std::string(object), std::move(entry));
  RefreshLookupsTo(object, &updated, removed);
  return Commit({PartnerSubNotice(std::string(object), true)},
                std::move(updated), std::move(removed));
}

absl::Status DurableSubscriptionMap::Unsubscribe(std::string_view object) {
  MutexLock lock(&mu_);
  auto it = entries_.find(object);
  if (it == entries_.end()) {
    return absl::NotFoundError(fmt::format(
        "the partner does not publish object {}, so there is no "
        "subscription to end",
        object));
  }
  if (!it->second.subscribed) return absl::OkStatus();
  Entry entry = it->second;
  entry.subscribed = false;
  entry.local_object.clear();
  entry.fields.clear();
  EntryMap updated;
  std::vector<std::string> removed;
  updated.emplace(std::string(object), std::move(entry));
  RefreshLookupsTo(object, &updated, removed);
  return Commit({PartnerSubNotice(std::string(object), false)},
                std::move(updated), std::move(removed));
}

absl::Status DurableSubscriptionMap::SubscribeField(std::string_view object,
                                             std::string_view partner_field,
                                             std::string_view local_field) {
  MutexLock lock(&mu_);
  auto it = entries_.find(object);
  if (it == entries_.end()) {
    return absl::NotFoundError(fmt::format(
        "the partner does not publish object {}", object));
  }
  const FieldDef* field = it->second.publication.FindField(partner_field);
  if (field == nullptr) {
    return absl::NotFoundError(fmt::format(
        "the partner does not publish field {}.{}", object, partner_field));
  }
  if (!it->second.subscribed) {
    return absl::FailedPreconditionError(fmt::format(
        "R16: object {} is not subscribed; subscribe it before its field {}",
        object, partner_field));
  }
  bool missing = false;
  FieldMapping mapping =
      AutoMap({}, {}, it->second, *field, local_field, &missing);
  if (mapping.status == FieldStatus::kUnmapped) {
    return absl::FailedPreconditionError(
        fmt::format("R17: cannot subscribe field {}.{}: {}", object,
                    partner_field, mapping.reason));
  }
  for (const auto& [name, other] : it->second.fields) {
    if (name != partner_field && other.local_field == mapping.local_field &&
        (other.status == FieldStatus::kSubscribed ||
         other.status == FieldStatus::kNoneAvailable)) {
      return absl::FailedPreconditionError(fmt::format(
          "cannot subscribe field {}.{}: local field {}.{} already receives "
          "the partner's {}",
          object, partner_field, it->second.local_object, mapping.local_field,
          name));
    }
  }
  Entry entry = it->second;
  entry.fields.insert_or_assign(std::string(partner_field), std::move(mapping));
  EntryMap updated;
  updated.emplace(std::string(object), std::move(entry));
  return Commit({}, std::move(updated), {});
}

absl::Status DurableSubscriptionMap::UnsubscribeField(std::string_view object,
                                               std::string_view partner_field) {
  MutexLock lock(&mu_);
  auto it = entries_.find(object);
  if (it == entries_.end() ||
      it->second.publication.FindField(partner_field) == nullptr) {
    return absl::NotFoundError(fmt::format(
        "the partner does not publish field {}.{}", object, partner_field));
  }
  auto mapping = it->second.fields.find(partner_field);
  if (!it->second.subscribed || mapping == it->second.fields.end() ||
      mapping->second.status == FieldStatus::kNotSubscribed ||
      mapping->second.status == FieldStatus::kUnmapped) {
    return absl::OkStatus();
  }
  Entry entry = it->second;
  FieldMapping& changed = entry.fields.at(std::string(partner_field));
  changed.status = FieldStatus::kNotSubscribed;
  changed.local_field.clear();
  changed.reason = "unsubscribed here";
  EntryMap updated;
  updated.emplace(std::string(object), std::move(entry));
  return Commit({}, std::move(updated), {});
}

absl::Status DurableSubscriptionMap::OnLocalSchemaChanged(const SchemaChange& change) {
  ORGSYNC_ASSIGN_OR_RETURN(ParsedSchemaChange parsed,
                           ParseSchemaChange(change));
  const std::string& new_name = parsed.new_name;
  const auto& field_renames = parsed.field_renames;

  MutexLock lock(&mu_);
  ORGSYNC_ASSIGN_OR_RETURN(
      std::shared_ptr<const ObjectDef> def,
      FindChangedObject(*schema_, change, parsed));

  EntryMap updated;
  std::vector<std::string> removed;
  std::vector<MapNotice> notices;
  std::vector<std::string> unsubscribed;
  for (const auto& [name, current] : entries_) {
    if (!current.subscribed || current.local_object != change.object) continue;
    Entry entry = current;
    if (def == nullptr) {
      entry.subscribed = false;
      entry.local_object.clear();
      entry.fields.clear();
      notices.push_back(PartnerSubNotice(name, false));
      unsubscribed.push_back(name);
      updated.insert_or_assign(name, std::move(entry));
      continue;
    }
    entry.local_object = new_name;
    for (auto& [partner_field, mapping] : entry.fields) {
      if (auto r = field_renames.find(mapping.local_field);
          !mapping.local_field.empty() && r != field_renames.end()) {
        mapping.local_field = r->second;
      }
    }
    updated.insert_or_assign(name, std::move(entry));
  }
  // Re-check the mappings against the new definitions once every renamed
  // entry is in place, so that lookups between them see the new names.
  for (auto& [name, entry] : updated) {
    if (!entry.subscribed) continue;
    for (auto& [partner_field, mapping] : entry.fields) {
      if (mapping.status != FieldStatus::kSubscribed &&
          mapping.status != FieldStatus::kNoneAvailable) {
        continue;
      }
      const FieldDef* field = entry.publication.FindField(partner_field);
      bool missing = false;
      FieldMapping next = AutoMap(updated, removed, entry, *field,
                                  mapping.local_field, &missing);
      if (next.status == FieldStatus::kUnmapped && !missing) {
        next.status = FieldStatus::kNotSubscribed;
        next.reason = fmt::format("the local field changed: {}", next.reason);
      }
      mapping = std::move(next);
    }
  }
  for (const std::string& name : unsubscribed) {
    RefreshLookupsTo(name, &updated, removed);
  }
  return Commit(std::move(notices), std::move(updated), std::move(removed));
}

bool DurableSubscriptionMap::IsPartnerPublished(std::string_view object) const {
  ReaderMutexLock lock(&mu_);
  return entries_.find(object) != entries_.end();
}

std::optional<ObjectDef> DurableSubscriptionMap::PartnerPublication(
    std::string_view object) const {
  ReaderMutexLock lock(&mu_);
  auto it = entries_.find(object);
  if (it == entries_.end()) return std::nullopt;
  return it->second.publication;
}

std::vector<std::string> DurableSubscriptionMap::PartnerPublishedObjects() const {
  ReaderMutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [name, entry] : entries_) names.push_back(name);
  return names;
}

bool DurableSubscriptionMap::IsSubscribed(std::string_view object) const {
  ReaderMutexLock lock(&mu_);
  auto it = entries_.find(object);
  return it != entries_.end() && it->second.subscribed;
}

std::vector<std::string> DurableSubscriptionMap::SubscribedObjects() const {
  ReaderMutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [name, entry] : entries_) {
    if (entry.subscribed) names.push_back(name);
  }
  return names;
}

std::optional<std::string> DurableSubscriptionMap::LocalObject(
    std::string_view object) const {
  ReaderMutexLock lock(&mu_);
  auto it = entries_.find(object);
  if (it == entries_.end() || !it->second.subscribed) return std::nullopt;
  return it->second.local_object;
}

std::optional<std::string> DurableSubscriptionMap::MappedField(
    std::string_view object, std::string_view partner_field) const {
  ReaderMutexLock lock(&mu_);
  auto it = entries_.find(object);
  if (it == entries_.end() || !it->second.subscribed) return std::nullopt;
  auto mapping = it->second.fields.find(partner_field);
  if (mapping == it->second.fields.end() ||
      mapping->second.status != FieldStatus::kSubscribed) {
    return std::nullopt;
  }
  return mapping->second.local_field;
}

absl::StatusOr<FieldMapping> DurableSubscriptionMap::GetFieldMapping(
    std::string_view object, std::string_view partner_field) const {
  ReaderMutexLock lock(&mu_);
  auto it = entries_.find(object);
  if (it == entries_.end() ||
      it->second.publication.FindField(partner_field) == nullptr) {
    return absl::NotFoundError(fmt::format(
        "the partner does not publish field {}.{}", object, partner_field));
  }
  auto mapping = it->second.fields.find(partner_field);
  if (!it->second.subscribed || mapping == it->second.fields.end()) {
    return FieldMapping{std::string(partner_field), FieldStatus::kNotSubscribed,
                        "", fmt::format("object {} is not subscribed", object)};
  }
  return mapping->second;
}

std::vector<FieldMapping> DurableSubscriptionMap::FieldMappings(
    std::string_view object) const {
  ReaderMutexLock lock(&mu_);
  auto it = entries_.find(object);
  if (it == entries_.end()) return {};
  std::vector<std::string> names;
  for (const FieldDef& field : it->second.publication.fields) {
    names.push_back(field.name);
  }
  std::sort(names.begin(), names.end());
  std::vector<FieldMapping> result;
  for (const std::string& name : names) {
    auto mapping = it->second.fields.find(name);
    if (it->second.subscribed && mapping != it->second.fields.end()) {
      result.push_back(mapping->second);
    } else {
      result.push_back(FieldMapping{name, FieldStatus::kNotSubscribed, "",
                                    fmt::format("object {} is not subscribed",
                                                object)});
    }
  }
  return result;
}

}  // namespace orgsync::internal
