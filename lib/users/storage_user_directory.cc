// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The UserDirectory kept in a Storage (OpenStorageUserDirectory,
// orgsync/user_directory.h). Storage keys:
//   u/i/<id>          proto::User, the wire format's (users/user_proto.h)
//   u/n/<username>    the id of the user holding <username>
//   u/next_id         the next id number to try, 8 bytes big-endian
// with <id> and <username> in AppendOrderedString's encoding, so that a NUL
// in them cannot make one key the prefix of another, and the "u/i/" keys
// come out in id order for Scan.
//
// Only the id counter is held in memory; users are read from the Storage at
// each call. Upsert reads, decides, then writes one synced batch, all under
// mu_, so that two writers never take the same username or id. Reads take
// no lock: FindByUsername reads its two keys through one snapshot, and Scan
// reads through one iterator, whose views are fixed.

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
#include "orgsync/internal/mutex.h"
#include "orgsync/metadata_store.h"
#include "orgsync/status.h"
#include "orgsync/storage.h"
#include "orgsync/user_directory.h"
#include "proto/common.pb.h"
#include "users/user_proto.h"

namespace orgsync {
namespace {

constexpr std::string_view kDirectoryCounterKey = "u/next_id";
constexpr std::string_view kDirectoryUserPrefix = "u/i/";
constexpr std::string_view kDirectoryUsernamePrefix = "u/n/";
// As InMemoryUserDirectory's default.
constexpr std::string_view kDirectoryIdPrefix = "U-";

std::string DirectoryUserKey(std::string_view id) {
  std::string key(kDirectoryUserPrefix);
  internal::AppendOrderedString(&key, id);
  return key;
}

std::string DirectoryUsernameKey(std::string_view username) {
  std::string key(kDirectoryUsernamePrefix);
  internal::AppendOrderedString(&key, username);
  return key;
}

// proto::User's fields are proto3 strings, which protobuf refuses to parse
// unless they are valid UTF-8: a user with one that is not could be written
// but never read back (nor sent to the partner), so it is refused up front,
// with the check protobuf itself applies.
absl::Status CheckStorableUserText(const User& user) {
  auto valid = [](std::string_view text) {
    return google::protobuf::internal::IsStructurallyValidUTF8(
        text.data(), static_cast<int>(text.size()));
  };
  const std::pair<std::string_view, const std::string*> fields[] = {
      {"id", &user.id},           {"username", &user.username},
      {"email", &user.email},     {"full name", &user.full_name},
      {"profile", &user.profile}, {"role", &user.role}};
  for (const auto& [what, text] : fields) {
    if (!valid(*text)) {
      return absl::InvalidArgumentError(
          fmt::format("a user's {} must be valid UTF-8 to be stored", what));
    }
  }
  for (const std::string& set : user.permission_sets) {
    if (!valid(set)) {
      return absl::InvalidArgumentError(
          "a user's permission sets must be valid UTF-8 to be stored");
    }
  }
  return absl::OkStatus();
}

// The user under `key`, checked against the key: a value that does not
// parse, or names another user, is DataLoss rather than a wrong answer.
absl::StatusOr<User> DecodeDirectoryUser(std::string_view key,
                                         std::string_view bytes) {
  proto::User stored;
  if (!stored.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      stored.username().empty() || DirectoryUserKey(stored.id()) != key) {
    return absl::DataLossError(
        "user directory: a stored user is corrupt or under the wrong key");
  }
  return internal::UserFromProto(stored);
}

class StorageUserDirectory final : public UserDirectory {
 public:
  StorageUserDirectory(Storage* storage, uint64_t next_id,
                       std::unique_ptr<MetadataStore> metadata)
      : storage_(storage), metadata_(std::move(metadata)), next_id_(next_id) {}

  absl::StatusOr<User> Get(std::string_view id) override {
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<User> user, ReadUser(id, {}));
    if (!user.has_value()) {
      return absl::NotFoundError(fmt::format("no user with id {}", id));
    }
    return *std::move(user);
  }

  absl::StatusOr<std::optional<User>> FindByUsername(
      std::string_view username) override {
    // One snapshot for both reads: a rename between them must not hand back
    // a user under a username it no longer has.
    ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<const Snapshot> snapshot,
                             storage_->GetSnapshot());
    const ReadOptions at_snapshot{.snapshot = snapshot.get()};
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> id,
                             ReadUsernameHolder(username, at_snapshot));
    if (!id.has_value()) return std::nullopt;
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<User> user,
                             ReadUser(*id, at_snapshot));
    if (!user.has_value() || user->username != username) {
      return absl::DataLossError(fmt::format(
          "user directory: the index names user {} for username {}, who "
          "does not hold it",
          *id, username));
    }
    return user;
  }

  absl::StatusOr<User> Upsert(User user,
                              const ApplyContext& /*context*/) override {
    if (user.username.empty()) {
      return absl::InvalidArgumentError("a user needs a username");
    }
    ORGSYNC_RETURN_IF_ERROR(CheckStorableUserText(user));
    internal::MutexLock lock(&mu_);
    WriteBatch batch;
    uint64_t next_id = next_id_;
    std::optional<User> old;
    if (user.id.empty()) {
      // Numbers taken by explicit ids are skipped, so an id is never reused.
      for (bool taken = true; taken;) {
        user.id = fmt::format("{}{:012}", kDirectoryIdPrefix, next_id++);
        ORGSYNC_ASSIGN_OR_RETURN(taken, HasKey(DirectoryUserKey(user.id)));
      }
      batch.Put(kDirectoryCounterKey, internal::EncodeUint64(next_id));
    } else {
      ORGSYNC_ASSIGN_OR_RETURN(old, ReadUser(user.id, {}));
    }
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> holder,
                             ReadUsernameHolder(user.username, {}));
    if (holder.has_value() && *holder != user.id) {
      return absl::AlreadyExistsError(fmt::format(
          "username {} belongs to user {}", user.username, *holder));
    }
    if (old.has_value() && old->username != user.username) {
      batch.Delete(DirectoryUsernameKey(old->username));
    }
    batch.Put(DirectoryUsernameKey(user.username), user.id);
    batch.Put(DirectoryUserKey(user.id),
              internal::UserToProto(user).SerializeAsString());
    ORGSYNC_RETURN_IF_ERROR(storage_->Write(batch, WriteOptions{.sync = true}));
    // Only now: a refused insert leaves the counter as stored.
    next_id_ = next_id;
    return user;
  }

  absl::Status Scan(const std::function<bool(const User&)>& visit) override {
    // No lock: the iterator's view is fixed now, and `visit` may call the
    // directory.
    ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                             storage_->NewIterator());
    for (it->Seek(kDirectoryUserPrefix);
         it->Valid() && it->key().starts_with(kDirectoryUserPrefix);
         it->Next()) {
      ORGSYNC_ASSIGN_OR_RETURN(User user,
                               DecodeDirectoryUser(it->key(), it->value()));
      if (!visit(user)) return absl::OkStatus();
    }
    return it->status();
  }

  absl::StatusOr<bool> HasProfile(std::string_view profile) override {
    return HasMetadataItem(MetadataType::kProfile, profile);
  }

  absl::StatusOr<bool> HasRole(std::string_view role) override {
    return HasMetadataItem(MetadataType::kRole, role);
  }

  absl::StatusOr<bool> HasPermissionSet(
      std::string_view permission_set) override {
    return HasMetadataItem(MetadataType::kPermissionSet, permission_set);
  }

 private:
  absl::StatusOr<bool> HasKey(const std::string& key) {
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> value,
                             storage_->GetIfPresent(key));
    return value.has_value();
  }

  absl::StatusOr<std::optional<User>> ReadUser(std::string_view id,
                                               const ReadOptions& options) {
    const std::string key = DirectoryUserKey(id);
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                             storage_->GetIfPresent(key, options));
    if (!bytes.has_value()) return std::nullopt;
    ORGSYNC_ASSIGN_OR_RETURN(User user, DecodeDirectoryUser(key, *bytes));
    return user;
  }

  absl::StatusOr<std::optional<std::string>> ReadUsernameHolder(
      std::string_view username, const ReadOptions& options) {
    return storage_->GetIfPresent(DirectoryUsernameKey(username), options);
  }

  // Whether the metadata store in the same Storage holds (type, name). An
  // empty name is never defined (as InMemoryUserDirectory's Add* refuse it);
  // the store would call it InvalidArgument.
  absl::StatusOr<bool> HasMetadataItem(MetadataType type,
                                       std::string_view name) {
    if (name.empty()) return false;
    absl::StatusOr<MetadataItem> item = metadata_->Get(type, name);
    if (absl::IsNotFound(item.status())) return false;
    if (!item.ok()) return item.status();
    return true;
  }

  Storage* const storage_;
  // Read only: the host's own OpenStorageMetadataStore writes the items.
  const std::unique_ptr<MetadataStore> metadata_;
  // Serializes Upsert and guards the counter (see the top of this file).
  internal::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<UserDirectory>> OpenStorageUserDirectory(
    Storage* storage) {
  if (storage == nullptr) {
    return absl::InvalidArgumentError(
        "OpenStorageUserDirectory: storage is null");
  }
  uint64_t next_id = 1;
  absl::StatusOr<std::string> counter = storage->Get(kDirectoryCounterKey);
  if (counter.ok()) {
    if (!internal::DecodeUint64(*counter, &next_id) || next_id == 0) {
      return absl::DataLossError(
          "user directory: the id counter under u/next_id is corrupt");
    }
  } else if (!absl::IsNotFound(counter.status())) {
    return Annotate(counter.status(), "user directory: reading u/next_id");
  }
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<MetadataStore> metadata,
                           OpenStorageMetadataStore(storage));
  return std::make_unique<StorageUserDirectory>(storage, next_id,
                                                std::move(metadata));
}

}  // namespace orgsync
