// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// DurableSubscriptionMap's side of the partner's publish/subscribe notices
// (R21): ApplyPartnerUpdate lays what the partner now publishes, unpublishes
// or renames over the map, and a notice delivered again changes nothing. A
// field the partner changes under a subscription here is unsubscribed (R17)
// rather than left to pour values of another shape into its local field,
// and a field published later waits for SubscribeField. The host's
// subscribe calls and queries, and the R16 mapping both share (AutoMap,
// RefreshLookupsTo), are in subscription_map.cc.

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "orgsync/status.h"
#include "publish/durable_subscription_map.h"

namespace orgsync::internal {
namespace {

constexpr std::string_view kPublishedLater =
    "published by the partner after the object was subscribed; subscribe it "
    "with SubscribeField";

// R17: the partner changes that unsubscribe a field here, or "".
std::string R17Change(std::string_view object, const FieldDef& before,
                      const FieldDef& after) {
  const std::string where = fmt::format("field {}.{}", object, after.name);
  if (before.type != after.type) {
    return fmt::format("R17: the partner changed {} from {} to {}; subscribe "
                       "it again",
                       where, FieldTypeName(before.type),
                       FieldTypeName(after.type));
  }
  if (IsLookupFieldType(after.type) &&
      before.lookup_target != after.lookup_target) {
    return fmt::format("R17: the partner changed the target of {} from {} to "
                       "{}; subscribe it again",
                       where, before.lookup_target, after.lookup_target);
  }
  if (IsSizeSensitiveFieldType(after.type) &&
      (before.length != after.length || before.precision != after.precision ||
       before.scale != after.scale)) {
    return fmt::format("R17: the partner changed the size or precision of {}; "
                       "subscribe it again",
                       where);
  }
  return "";
}

absl::Status ValidatePublication(const PartnerMapUpdate& update) {
  if (!update.publication.has_value()) {
    return absl::InvalidArgumentError(fmt::format(
        "partner {} of object {} carries no publication",
        QueueActionName(update.action), update.object));
  }
  const ObjectDef& publication = *update.publication;
  if (publication.name != update.object) {
    return absl::InvalidArgumentError(fmt::format(
        "partner {} names object {} but carries the publication of {}",
        QueueActionName(update.action), update.object, publication.name));
  }
  ORGSYNC_RETURN_IF_ERROR(ValidateObjectDef(publication));
  for (const FieldDef& field : publication.fields) {
    if (IsAuditFieldName(field.name) || !IsPublishableFieldType(field.type)) {
      return absl::InvalidArgumentError(fmt::format(
          "R12: the partner's publication of {} lists field {} ({}), which "
          "can never be published",
          publication.name, field.name, FieldTypeName(field.type)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DurableSubscriptionMap::ApplyPartnerUpdate(
    const PartnerMapUpdate& update) {
  MutexLock lock(&mu_);
  EntryMap updated;
  std::vector<std::string> removed;
  auto it = entries_.find(update.object);

  switch (update.action) {
    case QueueAction::kTypeMapUpdate:
    case QueueAction::kFieldMapUpdate:
    case QueueAction::kFieldMapDelete: {
      ORGSYNC_RETURN_IF_ERROR(ValidatePublication(update));
      const ObjectDef& publication = *update.publication;
      Entry entry;
      if (it != entries_.end()) entry = it->second;
      const ObjectDef before = entry.publication;
      entry.publication = publication;
      if (entry.subscribed) {
        std::map<std::string, FieldMapping, std::less<>> fields;
        for (const FieldDef& field : publication.fields) {
          const FieldDef* old_def = before.FindField(field.name);
          auto old_mapping = entry.fields.find(field.name);
          FieldMapping mapping;
          mapping.partner_field = field.name;
          if (old_def == nullptr || old_mapping == entry.fields.end()) {
            mapping.status = FieldStatus::kNotSubscribed;
            mapping.reason = std::string(kPublishedLater);
          } else if (std::string why =
                         R17Change(publication.name, *old_def, field);
                     !why.empty() &&
                     (old_mapping->second.status == FieldStatus::kSubscribed ||
                      old_mapping->second.status ==
                          FieldStatus::kNoneAvailable)) {
            mapping.status = FieldStatus::kNotSubscribed;
            mapping.reason = std::move(why);
          } else if (old_mapping->second.status == FieldStatus::kUnmapped) {
            // What the partner changed may make a local field fit now.
            bool missing = false;
            mapping = AutoMap(updated, removed, entry, field, {}, &missing);
          } else {
            mapping = old_mapping->second;
          }
          fields.emplace(field.name, std::move(mapping));
        }
        entry.fields = std::move(fields);
      }
      updated.emplace(update.object, std::move(entry));
      break;
    }
    case QueueAction::kTypeMapDelete: {
      if (it == entries_.end()) return absl::OkStatus();  // redelivered
      removed.push_back(update.object);
      RefreshLookupsTo(update.object, &updated, removed);
      break;
    }
    case QueueAction::kTypeMapNameUpdate: {
      const std::string& to = update.new_name;
      if (to.empty()) {
        return absl::InvalidArgumentError(fmt::format(
            "partner Type Map Name Update of {} has no new name",
            update.object));
      }
      if (it == entries_.end()) {
        if (entries_.count(to) != 0) return absl::OkStatus();  // redelivered
        return absl::NotFoundError(fmt::format(
            "the partner renamed object {} to {}, but it never published {}",
            update.object, to, update.object));
      }
      if (to == update.object) return absl::OkStatus();
      if (entries_.count(to) != 0) {
        return absl::FailedPreconditionError(fmt::format(
            "the partner renamed object {} to {}, which it already publishes",
            update.object, to));
      }
      // Lookups everywhere follow the rename; their mappings do not change.
      for (const auto& [name, entry] : entries_) {
        Entry copy = entry;
        bool touched = name == update.object;
        if (touched) copy.publication.name = to;
        for (FieldDef& field : copy.publication.fields) {
          if (IsLookupFieldType(field.type) &&
              field.lookup_target == update.object) {
            field.lookup_target = to;
            touched = true;
          }
        }
        if (touched) {
          updated.insert_or_assign(name == update.object ? to : name,
                                   std::move(copy));
        }
      }
      removed.push_back(update.object);
      break;
    }
    case QueueAction::kFieldMapNameUpdate: {
      const std::string& to = update.new_name;
      if (it == entries_.end()) {
        return absl::NotFoundError(fmt::format(
            "the partner renamed field {}.{}, but it does not publish {}",
            update.object, update.field, update.object));
      }
      if (to.empty()) {
        return absl::InvalidArgumentError(fmt::format(
            "partner Field Map Name Update of {}.{} has no new name",
            update.object, update.field));
      }
      const ObjectDef& publication = it->second.publication;
      if (publication.FindField(update.field) == nullptr) {
        if (publication.FindField(to) != nullptr) return absl::OkStatus();
        return absl::NotFoundError(fmt::format(
            "the partner renamed field {}.{} to {}, but never published {}",
            update.object, update.field, to, update.field));
      }
      if (to == update.field) return absl::OkStatus();
      if (publication.FindField(to) != nullptr) {
        return absl::FailedPreconditionError(fmt::format(
            "the partner renamed field {}.{} to {}, which it already "
            "publishes",
            update.object, update.field, to));
      }
      Entry entry = it->second;
      for (FieldDef& field : entry.publication.fields) {
        if (field.name == update.field) field.name = to;
      }
      if (auto node = entry.fields.extract(update.field); !node.empty()) {
        node.key() = to;
        node.mapped().partner_field = to;
        entry.fields.insert(std::move(node));
      }
      updated.emplace(update.object, std::move(entry));
      break;
    }
    case QueueAction::kValueMapDelete: {
      if (it == entries_.end() ||
          it->second.publication.FindField(update.field) == nullptr) {
        return absl::NotFoundError(fmt::format(
            "the partner deleted picklist value '{}' of {}.{}, which it does "
            "not publish",
            update.value, update.object, update.field));
      }
      Entry entry = it->second;
      for (FieldDef& field : entry.publication.fields) {
        if (field.name != update.field) continue;
        auto& values = field.picklist_values;
        values.erase(std::remove(values.begin(), values.end(), update.value),
                     values.end());
      }
      updated.emplace(update.object, std::move(entry));
      break;
    }
    case QueueAction::kTypeMapSetPartnerSub:
      return absl::InvalidArgumentError(
          "R21: Type Map Set Partner Sub reports the partner's subscription "
          "to one of our published objects: give it to "
          "PublishSet::SetPartnerSubscribed");
    default:
      return absl::InvalidArgumentError(fmt::format(
          "R21: {} is not a publish/subscribe notice",
          QueueActionName(update.action)));
  }
  return Commit({}, std::move(updated), std::move(removed));
}

}  // namespace orgsync::internal
