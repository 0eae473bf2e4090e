// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// InMemoryMetadataStore (orgsync/metadata_store.h) and the names of the
// metadata types: items in one ordered map under one lock, which is never
// held while calling out.

#include <fmt/format.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "internal/strings.h"
#include "metadata/metadata_checks.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/metadata_store.h"
#include "orgsync/status.h"
#include "proto/common.pb.h"

namespace orgsync {
namespace {

// The public numbers are the wire's (metadata_store.h).
static_assert(static_cast<int>(MetadataType::kApexClass) == proto::APEX_CLASS);
static_assert(static_cast<int>(MetadataType::kPermissionSet) ==
              proto::PERMISSION_SET);
static_assert(static_cast<int>(MetadataType::kProfile) == proto::PROFILE);

}  // namespace

namespace internal {

bool IsSupportedMetadataType(MetadataType type) {
  for (MetadataType known : kAllMetadataTypes) {
    if (known == type) return true;
  }
  return false;
}

absl::Status CheckMetadataKey(MetadataType type, std::string_view name) {
  if (!IsSupportedMetadataType(type)) {
    return absl::InvalidArgumentError(fmt::format(
        "metadata type {} is not a supported type", static_cast<int>(type)));
  }
  if (name.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("a {} needs a name", MetadataTypeName(type)));
  }
  return absl::OkStatus();
}

}  // namespace internal

const std::string& MetadataTypeName(MetadataType type) {
  switch (type) {
    case MetadataType::kApexClass:
      return ORGSYNC_STATIC_STRING("Apex Class");
    case MetadataType::kApexPage:
      return ORGSYNC_STATIC_STRING("Apex Page");
    case MetadataType::kCustomObject:
      return ORGSYNC_STATIC_STRING("Custom Object");
    case MetadataType::kCustomField:
      return ORGSYNC_STATIC_STRING("Custom Field");
    case MetadataType::kExternalObject:
      return ORGSYNC_STATIC_STRING("External Object");
    case MetadataType::kLayout:
      return ORGSYNC_STATIC_STRING("Layout");
    case MetadataType::kPermissionSet:
      return ORGSYNC_STATIC_STRING("Permission Set");
    case MetadataType::kRecordType:
      return ORGSYNC_STATIC_STRING("Record Type");
    case MetadataType::kRole:
      return ORGSYNC_STATIC_STRING("Role");
    case MetadataType::kProfile:
      return ORGSYNC_STATIC_STRING("Profile");
  }
  return ORGSYNC_STATIC_STRING("Unknown");
}

bool IsTopLevelMetadataType(MetadataType type) {
  return type == MetadataType::kRole || type == MetadataType::kProfile ||
         type == MetadataType::kPermissionSet;
}

struct InMemoryMetadataStore::State {
  using Key = std::pair<int, std::string>;
  mutable internal::Mutex mu;
  std::map<Key, MetadataItem> items ABSL_GUARDED_BY(mu);
};

InMemoryMetadataStore::InMemoryMetadataStore()
    : state_(std::make_unique<State>()) {}

InMemoryMetadataStore::~InMemoryMetadataStore() = default;

absl::StatusOr<MetadataItem> InMemoryMetadataStore::Get(MetadataType type,
                                                        std::string_view name) {
  ORGSYNC_RETURN_IF_ERROR(internal::CheckMetadataKey(type, name));
  internal::MutexLock lock(&state_->mu);
  auto found = state_->items.find({static_cast<int>(type), std::string(name)});
  if (found == state_->items.end()) {
    return absl::NotFoundError(
        fmt::format("no {} named {}", MetadataTypeName(type), name));
  }
  return found->second;
}

absl::Status InMemoryMetadataStore::Upsert(MetadataItem item,
                                           const ApplyContext& /*context*/) {
  ORGSYNC_RETURN_IF_ERROR(internal::CheckMetadataKey(item.type, item.name));
  internal::MutexLock lock(&state_->mu);
  State::Key key{static_cast<int>(item.type), item.name};
  state_->items[std::move(key)] = std::move(item);
  return absl::OkStatus();
}

absl::Status InMemoryMetadataStore::Rename(MetadataType type,
                                           std::string_view old_name,
                                           std::string_view new_name,
                                           const ApplyContext& /*context*/) {
  ORGSYNC_RETURN_IF_ERROR(internal::CheckMetadataKey(type, old_name));
  ORGSYNC_RETURN_IF_ERROR(internal::CheckMetadataKey(type, new_name));
  internal::MutexLock lock(&state_->mu);
  auto old_item =
      state_->items.find({static_cast<int>(type), std::string(old_name)});
  if (old_item == state_->items.end()) {
    return absl::NotFoundError(fmt::format("no {} named {} to rename",
                                           MetadataTypeName(type), old_name));
  }
  if (old_name == new_name) return absl::OkStatus();
  State::Key new_key{static_cast<int>(type), std::string(new_name)};
  if (state_->items.contains(new_key)) {
    return absl::AlreadyExistsError(
        fmt::format("cannot rename {} {} to {}: the name is taken",
                    MetadataTypeName(type), old_name, new_name));
  }
  MetadataItem item = std::move(old_item->second);
  state_->items.erase(old_item);
  item.name = std::string(new_name);
  state_->items.emplace(std::move(new_key), std::move(item));
  return absl::OkStatus();
}

absl::Status InMemoryMetadataStore::Scan(
    const std::function<bool(const MetadataItem&)>& visit) {
  std::vector<MetadataItem> view;
  {
    internal::MutexLock lock(&state_->mu);
    view.reserve(state_->items.size());
    for (const auto& [key, item] : state_->items) view.push_back(item);
  }
  for (const MetadataItem& item : view) {
    if (!visit(item)) break;
  }
  return absl::OkStatus();
}

size_t InMemoryMetadataStore::size() const {
  internal::MutexLock lock(&state_->mu);
  return state_->items.size();
}

}  // namespace orgsync
