// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The MetadataStore kept in a Storage (OpenStorageMetadataStore,
// orgsync/metadata_store.h). Storage keys:
//   m/<type: 8 bytes big-endian><name: AppendOrderedString>   MetadataItem
// The value is the wire format's proto::MetadataItem (fingerprint unset).
// The big-endian type, then the ordered name, make the Storage's bytewise
// order the (type, name) order that Scan promises. Every type number is
// below 2^56, so every item key starts "m/\0": the range Scan reads, which
// no printable host key under "m/" (the demo's "m/demo/...") falls into.
//
// Nothing is cached: each call reads the Storage, so several threads and a
// reopen see the same items. Writes take mu_ because Rename and Upsert must
// not interleave (a Rename checks both names, then writes), while reads take
// no lock: a point read is atomic, and Scan reads through one iterator whose
// view is fixed when it is created.

#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/stubs/common.h"
#include "internal/keys.h"
#include "metadata/metadata_checks.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/metadata_store.h"
#include "orgsync/status.h"
#include "orgsync/storage.h"
#include "proto/common.pb.h"

namespace orgsync {
namespace {

// The range of every item key: "m/" and the first byte of an 8-byte
// big-endian type number, always 0.
constexpr std::string_view kMetadataItemKeyRange("m/\0", 3);

std::string MetadataItemStorageKey(MetadataType type, std::string_view name) {
  std::string key = "m/";
  internal::AppendUint64(&key, static_cast<uint64_t>(type));
  internal::AppendOrderedString(&key, name);
  return key;
}

// proto::MetadataItem's name is a proto3 string, which protobuf refuses to
// parse unless it is valid UTF-8: a name that is not could be written but
// never read back (nor sent to the partner), so it is refused up front, with
// the check protobuf itself applies.
absl::Status CheckStorableMetadataName(MetadataType type,
                                       std::string_view name) {
  if (!google::protobuf::internal::IsStructurallyValidUTF8(
          name.data(), static_cast<int>(name.size()))) {
    return absl::InvalidArgumentError(fmt::format(
        "the name of a {} must be valid UTF-8 to be stored",
        MetadataTypeName(type)));
  }
  return absl::OkStatus();
}

std::string EncodeStoredMetadataItem(const MetadataItem& item) {
  proto::MetadataItem stored;
  stored.set_type(static_cast<proto::MetadataType>(item.type));
  stored.set_name(item.name);
  stored.set_body(item.body);
  return stored.SerializeAsString();
}

// The item under `key`, checked against the key: a value that does not
// parse, or names another item, is DataLoss rather than a wrong answer.
absl::StatusOr<MetadataItem> DecodeStoredMetadataItem(std::string_view key,
                                                      std::string_view bytes) {
  proto::MetadataItem stored;
  if (!stored.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      !internal::IsSupportedMetadataType(static_cast<MetadataType>(stored.type())) ||
      stored.name().empty() ||
      MetadataItemStorageKey(static_cast<MetadataType>(stored.type()),
                             stored.name()) != key) {
    return absl::DataLossError(
        "metadata store: a stored item is corrupt or under the wrong key");
  }
  return MetadataItem{.type = static_cast<MetadataType>(stored.type()),
                      .name = stored.name(),
                      .body = stored.body()};
}

class StorageMetadataStore final : public MetadataStore {
 public:
  explicit StorageMetadataStore(Storage* storage) : storage_(storage) {}

  absl::StatusOr<MetadataItem> Get(MetadataType type,
                                   std::string_view name) override {
    ORGSYNC_RETURN_IF_ERROR(internal::CheckMetadataKey(type, name));
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<MetadataItem> item,
                             Read(type, name));
    if (!item.has_value()) {
      return absl::NotFoundError(
          fmt::format("no {} named {}", MetadataTypeName(type), name));
    }
    return *std::move(item);
  }

  absl::Status Upsert(MetadataItem item,
                      const ApplyContext& /*context*/) override {
    ORGSYNC_RETURN_IF_ERROR(internal::CheckMetadataKey(item.type, item.name));
    ORGSYNC_RETURN_IF_ERROR(CheckStorableMetadataName(item.type, item.name));
    WriteBatch batch;
    batch.Put(MetadataItemStorageKey(item.type, item.name),
              EncodeStoredMetadataItem(item));
    internal::MutexLock lock(&mu_);
    return storage_->Write(batch, WriteOptions{.sync = true});
  }

  absl::Status Rename(MetadataType type, std::string_view old_name,
                      std::string_view new_name,
                      const ApplyContext& /*context*/) override {
    ORGSYNC_RETURN_IF_ERROR(internal::CheckMetadataKey(type, old_name));
    ORGSYNC_RETURN_IF_ERROR(internal::CheckMetadataKey(type, new_name));
    ORGSYNC_RETURN_IF_ERROR(CheckStorableMetadataName(type, new_name));
    // Held from the checks to the write, so that no Upsert or Rename lands
    // between them.
    internal::MutexLock lock(&mu_);
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<MetadataItem> item,
                             Read(type, old_name));
    if (!item.has_value()) {
      return absl::NotFoundError(fmt::format(
          "no {} named {} to rename", MetadataTypeName(type), old_name));
    }
    if (old_name == new_name) return absl::OkStatus();
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<MetadataItem> taken,
                             Read(type, new_name));
    if (taken.has_value()) {
      return absl::AlreadyExistsError(
          fmt::format("cannot rename {} {} to {}: the name is taken",
                      MetadataTypeName(type), old_name, new_name));
    }
    item->name = std::string(new_name);
    // One batch: a crash or a failed write never leaves the item under both
    // names or under neither.
    WriteBatch batch;
    batch.Delete(MetadataItemStorageKey(type, old_name));
    batch.Put(MetadataItemStorageKey(type, new_name),
              EncodeStoredMetadataItem(*item));
    return storage_->Write(batch, WriteOptions{.sync = true});
  }

  absl::Status Scan(
      const std::function<bool(const MetadataItem&)>& visit) override {
    // No lock: the iterator's view is fixed now, and `visit` may call the
    // store.
    ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                             storage_->NewIterator());
    for (it->Seek(kMetadataItemKeyRange);
         it->Valid() && it->key().starts_with(kMetadataItemKeyRange);
         it->Next()) {
      ORGSYNC_ASSIGN_OR_RETURN(MetadataItem item,
                               DecodeStoredMetadataItem(it->key(), it->value()));
      if (!visit(item)) return absl::OkStatus();
    }
    return it->status();
  }

 private:
  // The stored item, or nullopt when there is none.
  absl::StatusOr<std::optional<MetadataItem>> Read(MetadataType type,
                                                   std::string_view name) {
    const std::string key = MetadataItemStorageKey(type, name);
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                             storage_->GetIfPresent(key));
    if (!bytes.has_value()) return std::nullopt;
    ORGSYNC_ASSIGN_OR_RETURN(MetadataItem item,
                             DecodeStoredMetadataItem(key, *bytes));
    return item;
  }

  Storage* const storage_;
  // Serializes writes (see the top of this file).
  internal::Mutex mu_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<MetadataStore>> OpenStorageMetadataStore(
    Storage* storage) {
  if (storage == nullptr) {
    return absl::InvalidArgumentError(
        "OpenStorageMetadataStore: storage is null");
  }
  return std::make_unique<StorageMetadataStore>(storage);
}

}  // namespace orgsync
