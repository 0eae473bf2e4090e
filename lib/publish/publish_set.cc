// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "publish/durable_publish_set.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "orgsync/status.h"
#include "proto/publish_state.pb.h"
#include "publish/map_store.h"
#include "schema/schema_proto.h"

namespace orgsync::internal {
namespace {

MapNotice Notice(QueueAction action, std::string object,
                 std::string field = {}, std::string new_name = {},
                 std::string value = {}) {
  return MapNotice{action, std::move(object), std::move(field),
                   std::move(new_name), std::move(value)};
}

// "an auto-number", "a formula": R12 messages read as sentences.
std::string WithArticle(std::string_view type_name) {
  const bool vowel = !type_name.empty() &&
                     std::string_view("aeiou").find(type_name[0]) !=
                         std::string_view::npos;
  return fmt::format("{} {}", vowel ? "an" : "a", type_name);
}

// R12: refused whatever the state of the connection, hence InvalidArgument.
absl::Status CheckFieldPublishable(std::string_view object,
                                   const FieldDef& field) {
  if (IsAuditFieldName(field.name)) {
    return absl::InvalidArgumentError(fmt::format(
        "R12: field {}.{} is an audit field; audit fields are never listed "
        "as publishable and travel with a record's first copy (R35)",
        object, field.name));
  }
  if (!IsPublishableFieldType(field.type)) {
    return absl::InvalidArgumentError(fmt::format(
        "R12: field {}.{} is {} field and can never be published", object,
        field.name, WithArticle(FieldTypeName(field.type))));
  }
  return absl::OkStatus();
}

bool IsChangedLookup(const FieldDef* before, const FieldDef& after) {
  if (!IsLookupFieldType(after.type)) return false;
  return before == nullptr || !IsLookupFieldType(before->type) ||
         before->lookup_target != after.lookup_target;
}

// Puts `publication`'s fields in the order `order` lists them, keeping
// fields `order` does not know at the end: the partner sees the host's
// field order, whatever order the fields were published in.
void SortLikeSchema(const ObjectDef& order, ObjectDef* publication) {
  auto rank = [&order](const FieldDef& field) {
    for (size_t i = 0; i < order.fields.size(); ++i) {
      if (order.fields[i].name == field.name) return i;
    }
    return order.fields.size();
  };
  std::stable_sort(publication->fields.begin(), publication->fields.end(),
                   [&rank](const FieldDef& a, const FieldDef& b) {
                     return rank(a) < rank(b);
                   });
}

// The notices for one published field whose definition went from `before`
// to `after` (same or renamed field): R17 lets the partner decide from the
// new definition whether its subscription survives.
void DiffField(std::string_view object, const FieldDef& before,
               const FieldDef& after, std::vector<MapNotice>* notices) {
  if (before.type != after.type) {
    notices->push_back(Notice(QueueAction::kFieldMapUpdate,
                              std::string(object), after.name));
    return;
  }
  std::vector<std::string> removed;
  bool added = false;
  for (const std::string& value : before.picklist_values) {
    if (std::find(after.picklist_values.begin(), after.picklist_values.end(),
                  value) == after.picklist_values.end()) {
      removed.push_back(value);
    }
  }
  for (const std::string& value : after.picklist_values) {
    if (std::find(before.picklist_values.begin(),
                  before.picklist_values.end(),
                  value) == before.picklist_values.end()) {
      added = true;
    }
  }
  FieldDef same_values = before;
  same_values.name = after.name;
  same_values.picklist_values = after.picklist_values;
  if (added || same_values != after) {
    notices->push_back(Notice(QueueAction::kFieldMapUpdate,
                              std::string(object), after.name));
  }
  for (std::string& value : removed) {
    notices->push_back(Notice(QueueAction::kValueMapDelete,
                              std::string(object), after.name, {},
                              std::move(value)));
  }
}

}  // namespace

DurablePublishSet::DurablePublishSet(Storage* storage, std::string connection_id,
                       const Schema* local_schema, ChangeSink* sink)
    : storage_(storage),
      connection_id_(std::move(connection_id)),
      schema_(local_schema),
      sink_(sink) {}

DurablePublishSet::~DurablePublishSet() = default;

absl::StatusOr<std::unique_ptr<DurablePublishSet>> DurablePublishSet::Open(
    Storage* storage, std::string connection_id, const Schema* local_schema,
    ChangeSink* sink) {
  if (storage == nullptr || local_schema == nullptr) {
    return absl::InvalidArgumentError(
        "DurablePublishSet::Open needs a storage and a local schema");
  }
  ORGSYNC_RETURN_IF_ERROR(ValidateConnectionId(connection_id));
  std::unique_ptr<DurablePublishSet> set(
      new DurablePublishSet(storage, std::move(connection_id), local_schema, sink));
  ORGSYNC_RETURN_IF_ERROR(
      Annotate(set->Load(), fmt::format("opening the publish set of connection {}",
                                        set->connection_id_)));
  return set;
}

std::string DurablePublishSet::KeyFor(std::string_view object) const {
  return fmt::format("p/{}/o/{}", connection_id_, object);
}

absl::Status DurablePublishSet::Load() {
  const std::string prefix = KeyFor("");
  MutexLock lock(&mu_);
  return ScanPrefix(
      storage_, prefix,
      [&](std::string_view key, std::string_view value) -> absl::Status {
        const std::string_view object = key.substr(prefix.size());
        proto::PublishedObjectState state;
        if (!state.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          return absl::DataLossError(
              fmt::format("unreadable publish state under key {}", key));
        }
        absl::StatusOr<ObjectDef> publication =
            FromObjectDefinition(state.publication());
        if (!publication.ok() || publication->name != object) {
          return absl::DataLossError(fmt::format(
              "corrupt publish state under key {}: {}", key,
              publication.ok() ? "object name differs from key"
                               : std::string(publication.status().message())));
        }
        Entry entry;
        for (const FieldDef& field : publication->fields) {
          entry.fields.insert(field.name);
        }
        entry.publication = *std::move(publication);
        entry.partner_subscribed = state.partner_subscribed();
        entries_.emplace(std::string(object), std::move(entry));
        return absl::OkStatus();
      });
}

void DurablePublishSet::PutEntry(std::string_view object, const Entry& entry,
                          WriteBatch* batch) const {
  proto::PublishedObjectState state;
  *state.mutable_publication() = ToObjectDefinition(entry.publication);
  state.set_partner_subscribed(entry.partner_subscribed);
  batch->Put(KeyFor(object), state.SerializeAsString());
}

absl::Status DurablePublishSet::Commit(std::vector<MapNotice> notices,
                                WriteBatch batch, EntryMap updated,
                                std::vector<std::string> removed) {
  // Each notice carries the publication it leads to, so that the sink can
  // send it without calling back into this (locked) PublishSet.
  for (MapNotice& notice : notices) {
    if (auto it = updated.find(notice.object); it != updated.end()) {
      notice.publication = it->second.publication;
      continue;
    }
    if (std::find(removed.begin(), removed.end(), notice.object) !=
        removed.end()) {
      continue;
    }
    if (auto it = entries_.find(notice.object); it != entries_.end()) {
      notice.publication = it->second.publication;
    }
  }
  ORGSYNC_RETURN_IF_ERROR(
      WriteWithNotices(storage_, sink_, notices, std::move(batch)));
  for (const std::string& name : removed) entries_.erase(name);
  for (auto& [name, entry] : updated) {
    entries_.insert_or_assign(name, std::move(entry));
  }
  return absl::OkStatus();
}

namespace {

// The published objects after a change: `current` with `updated` laid over
// it and `removed` taken out, as R15 must judge the state the change leads
// to.
template <typename EntryMap>
std::map<std::string, const ObjectDef*, std::less<>> Overlay(
    const EntryMap& current, const EntryMap& updated,
    const std::vector<std::string>& removed) {
  std::map<std::string, const ObjectDef*, std::less<>> result;
  for (const auto& [name, entry] : current) result[name] = &entry.publication;
  for (const std::string& name : removed) result.erase(name);
  for (const auto& [name, entry] : updated) result[name] = &entry.publication;
  return result;
}

}  // namespace

absl::Status DurablePublishSet::PublishObject(std::string_view object) {
  const std::string name(object);
  return PublishObjects(absl::MakeConstSpan(&name, 1));
}

absl::Status DurablePublishSet::PublishObjects(absl::Span<const std::string> objects) {
  MutexLock lock(&mu_);
  std::vector<std::shared_ptr<const ObjectDef>> defs;
  std::set<std::string, std::less<>> newly;
  for (const std::string& name : objects) {
    if (entries_.count(name) != 0 || newly.count(name) != 0) continue;
    std::shared_ptr<const ObjectDef> def = schema_->FindObject(name);
    if (def == nullptr) {
      return absl::NotFoundError(fmt::format(
          "R10: object {} is not in the local schema, so it cannot be "
          "published",
          name));
    }
    if (!def->publishable) {
      return absl::FailedPreconditionError(fmt::format(
          "R10: object {} is not publishable: only objects the host marks "
          "publishable (standard business objects and deployed custom "
          "objects) can be published",
          name));
    }
    newly.insert(name);
    defs.push_back(std::move(def));
  }
  if (defs.empty()) return absl::OkStatus();

  EntryMap updated;
  for (const std::shared_ptr<const ObjectDef>& def : defs) {
    Entry entry;
    entry.publication.name = def->name;
    entry.publication.publishable = def->publishable;
    entry.publication.child_only = def->child_only;
    entry.publication.is_file = def->is_file;
    for (const FieldDef& field : def->fields) {
      if (!CheckFieldPublishable(def->name, field).ok()) continue;  // R12
      if (IsLookupFieldType(field.type) && field.lookup_target != def->name &&
          entries_.count(field.lookup_target) == 0 &&
          newly.count(field.lookup_target) == 0) {
        continue;  // R13: its target is not published
      }
      entry.publication.fields.push_back(field);
      entry.fields.insert(field.name);
    }
    updated.emplace(def->name, std::move(entry));
  }

  if (auto cycle = FindLookupCycle(Overlay(entries_, updated, {}))) {
    std::string names;
    for (const auto& def : defs) {
      names += names.empty() ? def->name : ", " + def->name;
    }
    return absl::FailedPreconditionError(fmt::format(
        "R15: publishing {} would create a circular lookup dependency among "
        "published objects: {}",
        names, DescribeCycle(*cycle)));
  }

  WriteBatch batch;
  std::vector<MapNotice> notices;
  for (const auto& def : defs) {
    PutEntry(def->name, updated.at(def->name), &batch);
    notices.push_back(Notice(QueueAction::kTypeMapUpdate, def->name));
  }
  return Commit(std::move(notices), std::move(batch), std::move(updated), {});
}

absl::Status DurablePublishSet::UnpublishObject(std::string_view object) {
  MutexLock lock(&mu_);
  if (entries_.find(object) == entries_.end()) {
    if (schema_->HasObject(object)) return absl::OkStatus();
    return absl::NotFoundError(fmt::format(
        "object {} is neither published nor in the local schema", object));
  }
  WriteBatch batch;
  batch.Delete(KeyFor(object));
  std::vector<MapNotice> notices = {
      Notice(QueueAction::kTypeMapDelete, std::string(object))};
  return Commit(std::move(notices), std::move(batch), {},
                {std::string(object)});
}

absl::Status DurablePublishSet::PublishField(std::string_view object,
                                      std::string_view field) {
  MutexLock lock(&mu_);
  auto it = entries_.find(object);
  std::shared_ptr<const ObjectDef> def = schema_->FindObject(object);
  if (it == entries_.end()) {
    if (def == nullptr) {
      return absl::NotFoundError(fmt::format(
          "object {} is neither published nor in the local schema", object));
    }
    return absl::FailedPreconditionError(fmt::format(
        "R11: object {} is not published; publish it before its field {}",
        object, field));
  }
  if (it->second.fields.count(field) != 0) return absl::OkStatus();
  if (def == nullptr) {
    return absl::FailedPreconditionError(fmt::format(
        "object {} is published but no longer in the local schema; report "
        "the schema change (OnLocalSchemaChanged) first",
        object));
  }
  const FieldDef* field_def = def->FindField(field);
  if (field_def == nullptr) {
    return absl::NotFoundError(fmt::format(
        "object {} has no field {} in the local schema", object, field));
  }
  ORGSYNC_RETURN_IF_ERROR(CheckFieldPublishable(object, *field_def));
  if (IsLookupFieldType(field_def->type) &&
      !schema_->HasObject(field_def->lookup_target)) {
    return absl::FailedPreconditionError(fmt::format(
        "R13: {} field {}.{} targets object {}, which is not in the local "
        "schema",
        FieldTypeName(field_def->type), object, field,
        field_def->lookup_target));
  }

  Entry entry = it->second;
  entry.publication.fields.push_back(*field_def);
  entry.fields.insert(field_def->name);
  SortLikeSchema(*def, &entry.publication);
  EntryMap updated;
  updated.emplace(std::string(object), std::move(entry));
  if (auto cycle = FindLookupCycle(Overlay(entries_, updated, {}))) {
    return absl::FailedPreconditionError(fmt::format(
        "R15: publishing field {}.{} would create a circular lookup "
        "dependency among published objects: {}",
        object, field, DescribeCycle(*cycle)));
  }

  WriteBatch batch;
  PutEntry(object, updated.begin()->second, &batch);
  std::vector<MapNotice> notices = {Notice(
      QueueAction::kFieldMapUpdate, std::string(object), std::string(field))};
  return Commit(std::move(notices), std::move(batch), std::move(updated), {});
}

absl::Status DurablePublishSet::UnpublishField(std::string_view object,
                                        std::string_view field) {
  MutexLock lock(&mu_);
  auto it = entries_.find(object);
  if (it == entries_.end() || it->second.fields.count(field) == 0) {
    std::shared_ptr<const ObjectDef> def = schema_->FindObject(object);
    if (def != nullptr && def->FindField(field) != nullptr) {
      return absl::OkStatus();
    }
    return absl::NotFoundError(fmt::format(
        "field {}.{} is neither published nor in the local schema", object,
        field));
  }
  Entry entry = it->second;
  entry.fields.erase(entry.fields.find(field));
  auto& fields = entry.publication.fields;
  fields.erase(std::remove_if(fields.begin(), fields.end(),
                              [field](const FieldDef& f) {
                                return f.name == field;
                              }),
               fields.end());
  EntryMap updated;
  updated.emplace(std::string(object), std::move(entry));
  WriteBatch batch;
  PutEntry(object, updated.begin()->second, &batch);
  std::vector<MapNotice> notices = {Notice(
      QueueAction::kFieldMapDelete, std::string(object), std::string(field))};
  return Commit(std::move(notices), std::move(batch), std::move(updated), {});
}

absl::Status DurablePublishSet::SetPartnerSubscribed(std::string_view object,
                                              bool subscribed) {
  MutexLock lock(&mu_);
  auto it = entries_.find(object);
  if (it == entries_.end()) {
    return absl::NotFoundError(fmt::format(
        "the partner's subscription names object {}, which is not published "
        "here",
        object));
  }
  if (it->second.partner_subscribed == subscribed) return absl::OkStatus();
  Entry entry = it->second;
  entry.partner_subscribed = subscribed;
  EntryMap updated;
  updated.emplace(std::string(object), std::move(entry));
  WriteBatch batch;
  PutEntry(object, updated.begin()->second, &batch);
  return Commit({}, std::move(batch), std::move(updated), {});
}

absl::Status DurablePublishSet::OnLocalSchemaChanged(
    const SchemaChange& change) {
  return FollowSchemaChange(change).status();
}

absl::StatusOr<std::vector<MapNotice>> DurablePublishSet::FollowSchemaChange(
    const SchemaChange& change) {
  ORGSYNC_ASSIGN_OR_RETURN(ParsedSchemaChange parsed,
                           ParseSchemaChange(change));
  const bool renamed = parsed.renamed;
  const std::string& new_name = parsed.new_name;
  const auto& field_renames = parsed.field_renames;

  MutexLock lock(&mu_);
  ORGSYNC_ASSIGN_OR_RETURN(
      std::shared_ptr<const ObjectDef> def,
      FindChangedObject(*schema_, change, parsed));
  if (renamed && entries_.count(new_name) != 0) {
    return absl::FailedPreconditionError(fmt::format(
        "cannot rename published object {} to {}: {} is published too",
        change.object, new_name, new_name));
  }

  EntryMap updated;
  std::vector<std::string> removed;
  std::vector<MapNotice> notices;

  // Lookups elsewhere follow a renamed target without notices: the Type Map
  // Name Update tells the partner, and a Field Map Update would make it
  // unsubscribe every lookup to the object (R17).
  if (renamed) {
    for (const auto& [name, entry] : entries_) {
      if (name == change.object) continue;
      Entry copy = entry;
      bool touched = false;
      for (FieldDef& field : copy.publication.fields) {
        if (IsLookupFieldType(field.type) &&
            field.lookup_target == change.object) {
          field.lookup_target = new_name;
          touched = true;
        }
      }
      if (touched) updated.emplace(name, std::move(copy));
    }
  }

  auto it = entries_.find(change.object);
  if (it != entries_.end()) {
    const Entry& old = it->second;
    if (def == nullptr || !def->publishable) {
      notices.push_back(Notice(QueueAction::kTypeMapDelete, change.object));
      removed.push_back(change.object);
    } else {
      for (const auto& [from, to] : field_renames) {
        if (old.fields.count(from) != 0 && def->FindField(to) == nullptr) {
          return absl::FailedPreconditionError(fmt::format(
              "field {}.{} was renamed to {}, but the local schema's {} has "
              "no field {}; update the Schema first",
              change.object, from, to, new_name, to));
        }
      }
      if (renamed) {
        notices.push_back(Notice(QueueAction::kTypeMapNameUpdate,
                                 change.object, {}, new_name));
        removed.push_back(change.object);
      }
      if (old.publication.child_only != def->child_only ||
          old.publication.is_file != def->is_file) {
        notices.push_back(Notice(QueueAction::kTypeMapUpdate, new_name));
      }
      Entry entry;
      entry.partner_subscribed = old.partner_subscribed;
      entry.publication.name = new_name;
      entry.publication.publishable = def->publishable;
      entry.publication.child_only = def->child_only;
      entry.publication.is_file = def->is_file;
      std::vector<std::string> retargeted;
      for (FieldDef before : old.publication.fields) {
        // A self-lookup follows its object's rename; that is no retarget.
        if (renamed && IsLookupFieldType(before.type) &&
            before.lookup_target == change.object) {
          before.lookup_target = new_name;
        }
        auto rename = field_renames.find(before.name);
        const std::string& to =
            rename == field_renames.end() ? before.name : rename->second;
        const FieldDef* after = def->FindField(to);
        if (after == nullptr) {
          notices.push_back(
              Notice(QueueAction::kFieldMapDelete, new_name, before.name));
          continue;
        }
        if (to != before.name) {
          notices.push_back(Notice(QueueAction::kFieldMapNameUpdate, new_name,
                                   before.name, to));
        }
        if (!CheckFieldPublishable(new_name, *after).ok()) {
          notices.push_back(Notice(QueueAction::kFieldMapDelete, new_name, to));
          continue;
        }
        DiffField(new_name, before, *after, &notices);
        if (IsChangedLookup(&before, *after)) retargeted.push_back(to);
        entry.publication.fields.push_back(*after);
        entry.fields.insert(to);
      }
      SortLikeSchema(*def, &entry.publication);
      updated.insert_or_assign(new_name, std::move(entry));

      // R15 cannot refuse what the host already did: a retargeted lookup
      // that closes a cycle stops being published instead.
      while (auto cycle = FindLookupCycle(
                 Overlay(entries_, updated, removed))) {
        auto culprit = std::find_if(
            cycle->begin(), cycle->end(), [&](const LookupEdge& e) {
              return e.object == new_name &&
                     std::find(retargeted.begin(), retargeted.end(),
                               e.field) != retargeted.end();
            });
        if (culprit == cycle->end()) break;  // not this change's doing
        Entry& changed = updated.at(new_name);
        changed.fields.erase(culprit->field);
        auto& fields = changed.publication.fields;
        fields.erase(std::remove_if(fields.begin(), fields.end(),
                                    [&](const FieldDef& f) {
                                      return f.name == culprit->field;
                                    }),
                     fields.end());
        // The partner needs only the delete, not the updates before it.
        notices.erase(
            std::remove_if(notices.begin(), notices.end(),
                           [&](const MapNotice& n) {
                             return n.object == new_name &&
                                    n.field == culprit->field &&
                                    (n.action == QueueAction::kFieldMapUpdate ||
                                     n.action == QueueAction::kValueMapDelete);
                           }),
            notices.end());
        notices.push_back(
            Notice(QueueAction::kFieldMapDelete, new_name, culprit->field));
      }
    }
  }

  // Drop rewrites that change nothing, so an unrelated schema change writes
  // nothing at all.
  for (auto u = updated.begin(); u != updated.end();) {
    auto current = entries_.find(u->first);
    const bool same =
        current != entries_.end() &&
        std::find(removed.begin(), removed.end(), u->first) == removed.end() &&
        current->second.publication == u->second.publication &&
        current->second.partner_subscribed == u->second.partner_subscribed;
    u = same ? updated.erase(u) : std::next(u);
  }
  if (updated.empty() && removed.empty() && notices.empty()) return notices;

  WriteBatch batch;
  for (const std::string& name : removed) batch.Delete(KeyFor(name));
  for (const auto& [name, entry] : updated) PutEntry(name, entry, &batch);
  std::vector<MapNotice> emitted = notices;
  ORGSYNC_RETURN_IF_ERROR(Commit(std::move(notices), std::move(batch),
                                 std::move(updated), std::move(removed)));
  return emitted;
}

bool DurablePublishSet::IsObjectPublished(std::string_view object) const {
  ReaderMutexLock lock(&mu_);
  return entries_.find(object) != entries_.end();
}

bool DurablePublishSet::IsFieldPublished(std::string_view object,
                                  std::string_view field) const {
  ReaderMutexLock lock(&mu_);
  auto it = entries_.find(object);
  return it != entries_.end() && it->second.fields.count(field) != 0;
}

std::vector<std::string> DurablePublishSet::PublishedFields(
    std::string_view object) const {
  ReaderMutexLock lock(&mu_);
  auto it = entries_.find(object);
  if (it == entries_.end()) return {};
  return {it->second.fields.begin(), it->second.fields.end()};
}

std::vector<std::string> DurablePublishSet::PublishedLookups(
    std::string_view object) const {
  ReaderMutexLock lock(&mu_);
  auto it = entries_.find(object);
  if (it == entries_.end()) return {};
  std::vector<std::string> lookups;
  for (const FieldDef& field : it->second.publication.fields) {
    if (IsLookupFieldType(field.type)) lookups.push_back(field.name);
  }
  std::sort(lookups.begin(), lookups.end());
  return lookups;
}

std::vector<std::string> DurablePublishSet::PublishedObjects() const {
  ReaderMutexLock lock(&mu_);
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) names.push_back(name);
  return names;
}

bool DurablePublishSet::IsPartnerSubscribed(std::string_view object) const {
  ReaderMutexLock lock(&mu_);
  auto it = entries_.find(object);
  return it != entries_.end() && it->second.partner_subscribed;
}

std::optional<ObjectDef> DurablePublishSet::Publication(std::string_view object) const {
  ReaderMutexLock lock(&mu_);
  auto it = entries_.find(object);
  if (it == entries_.end()) return std::nullopt;
  return it->second.publication;
}

}  // namespace orgsync::internal
