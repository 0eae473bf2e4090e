// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// UserDirectory: the host's users, as user sync reads and writes them
// (DESIGN.md R70-R73).
//
// The host implements this interface over its own user table and hands it
// to the Org (OrgOptions::user_directory). With a connection's "sync users"
// option on, orgsync then
//   * copies every user with a standard licence to the partner once the
//     connection is accepted (Bulk Sync Users; the connection shows User
//     Sync in Progress until the copy is answered, R2), and again each time
//     the primary turns the option off and on (R73);
//   * sends each user change the host reports with
//     Connection::CaptureUser (create, update, deactivate, role, profile
//     and permission set assignment) at once, both ways (R70);
//   * writes the partner's users into this directory with Upsert, with an
//     ApplyContext whose from_replication is set, matching users by
//     username: a secondary's usernames are the primary's with ".dr"
//     appended (R71).
// Users without a standard licence are never copied (R70). A user whose
// profile does not exist in the target fails at once, logged in the
// sender's SyncLog with kMissingProfile and never retried (R52, R72); once
// the profile exists, capturing the user again copies it. A role or
// permission set the target does not have is left out of the copy (the
// seed syncs assignments only where both orgs have them), logged (Info) in
// the receiving org's SyncLog.
//
// Reporting a change works as record capture does (orgsync/capture.h): the
// host writes its directory, then calls Connection::CaptureUser with the
// user as stored; the call returns only once the change is durable in the
// connection's RecordQueue (design rule 2), takes no orgsync lock that
// Step() or message handling hold while they call the directory, and so may
// be called while the host holds its own directory lock (rule 9). A write
// orgsync made (context.from_replication) is never captured back (no echo,
// R31).
//
// Contract for implementations:
//  * Upsert inserts a user whose id is empty or unknown (assigning an id
//    when it is empty) and otherwise replaces the stored user with the given
//    one; it returns the user as stored. InvalidArgument for an empty
//    username, AlreadyExists when another user holds the username.
//  * FindByUsername is exact (case-sensitive); nullopt when nobody holds it.
//  * Scan visits every user in id order until `visit` returns false, over a
//    view fixed when it starts (visit may call the directory).
//  * HasProfile / HasRole / HasPermissionSet say whether the org defines
//    that profile, role or permission set (they are the org's metadata).
//  * A failed call changes nothing.
//
// Thread-safety: implementations must allow concurrent calls from several
// threads (orgsync applies on its step thread while host threads write).

#ifndef ORGSYNC_USER_DIRECTORY_H_
#define ORGSYNC_USER_DIRECTORY_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orgsync/record_store.h"

namespace orgsync {

// One user of an org.
struct User {
  // The org's own id of the user; user sync matches users across orgs by
  // username, not by id.
  std::string id = {};
  // Unique in the org. On a secondary it ends in ".dr" (R71).
  std::string username = {};
  std::string email = {};
  std::string full_name = {};
  // Must exist in the org that receives the user (R72).
  std::string profile = {};
  // Empty: no role.
  std::string role = {};
  std::vector<std::string> permission_sets = {};
  // Deactivating a user is an update with active = false.
  bool active = true;
  // Only users with a standard licence are synced (R70).
  bool standard_license = true;

  friend bool operator==(const User&, const User&) = default;
};

// The suffix of every synced username in the secondary org (R71).
inline constexpr std::string_view kSecondaryUsernameSuffix = ".dr";

class UserDirectory {
 public:
  UserDirectory() = default;
  UserDirectory(const UserDirectory&) = delete;
  UserDirectory& operator=(const UserDirectory&) = delete;
  virtual ~UserDirectory() = default;

  // NotFound for an unknown id.
  [[nodiscard]] virtual absl::StatusOr<User> Get(std::string_view id) = 0;

  [[nodiscard]] virtual absl::StatusOr<std::optional<User>> FindByUsername(
      std::string_view username) = 0;

  [[nodiscard]] virtual absl::StatusOr<User> Upsert(
      User user, const ApplyContext& context) = 0;

  [[nodiscard]] virtual absl::Status Scan(
      const std::function<bool(const User&)>& visit) = 0;

  [[nodiscard]] virtual absl::StatusOr<bool> HasProfile(
      std::string_view profile) = 0;
  [[nodiscard]] virtual absl::StatusOr<bool> HasRole(std::string_view role) = 0;
  [[nodiscard]] virtual absl::StatusOr<bool> HasPermissionSet(
      std::string_view permission_set) = 0;
};

// A user change the host reports to a connection (Connection::CaptureUser).
struct UserChange {
  // The user as the directory stored it (id and username set).
  User user = {};
  // The context of the host's write; from_replication means "do not
  // capture".
  ApplyContext context = {};
};

// The shipped in-memory directory, for tests and examples. Profiles, roles
// and permission sets are plain names the host (or a test) defines. Ids are
// id_prefix + a 12-digit counter. Thread-safe: every call takes one
// internal lock, never held while calling out (it calls nothing).
class InMemoryUserDirectory final : public UserDirectory {
 public:
  explicit InMemoryUserDirectory(std::string id_prefix = "U-");
  ~InMemoryUserDirectory() override;

  absl::StatusOr<User> Get(std::string_view id) override;
  absl::StatusOr<std::optional<User>> FindByUsername(
      std::string_view username) override;
  absl::StatusOr<User> Upsert(User user, const ApplyContext& context) override;
  absl::Status Scan(const std::function<bool(const User&)>& visit) override;
  absl::StatusOr<bool> HasProfile(std::string_view profile) override;
  absl::StatusOr<bool> HasRole(std::string_view role) override;
  absl::StatusOr<bool> HasPermissionSet(
      std::string_view permission_set) override;

  // Defines a profile, role or permission set. InvalidArgument for an empty
  // name; defining one twice is a no-op.
  [[nodiscard]] absl::Status AddProfile(std::string_view name);
  [[nodiscard]] absl::Status AddRole(std::string_view name);
  [[nodiscard]] absl::Status AddPermissionSet(std::string_view name);

  // How many users the directory holds.
  size_t size() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A directory kept in `storage` under the key prefix "u/" (the demo uses it
// so that its users survive a restart). `storage` must outlive the
// directory. Each Upsert is one atomic, synced write (the user, its
// username index entry and the id counter together): once it returns, the
// change survives a crash. Users are read from `storage` on demand (memory
// does not grow with the directory); Scan reads through one Storage
// iterator, whose view is fixed when the scan starts. Only one directory
// may be open on a Storage at a time: it serializes its own writes and
// keeps the id counter in memory between them.
//
// It behaves as InMemoryUserDirectory("U-") does: ids are "U-" + a 12-digit
// counter (kept in `storage`, so a reopened directory never hands a number
// out again), with the same errors and one more: users are stored as the
// wire format's User, whose texts are UTF-8 strings, so Upsert refuses a
// user with a text field or permission set that is not valid UTF-8
// (InvalidArgument; such a user could not be synced either).
//
// Profiles, roles and permission sets are the org's metadata: HasProfile,
// HasRole and HasPermissionSet are true when the MetadataStore kept in the
// same `storage` (OpenStorageMetadataStore) holds an item of type kProfile,
// kRole or kPermissionSet with that name (never for an empty name). A host
// defines them there, where metadata sync (R74) is to write the partner's
// before user sync needs them (R72); the directory only reads those items.
//
// Thread-safe. Errors: InvalidArgument for a null storage; DataLoss if the
// stored counter is corrupt; at each call, DataLoss for a stored user or
// index entry that does not decode or does not match its key, and the
// Storage's own errors.
[[nodiscard]] absl::StatusOr<std::unique_ptr<UserDirectory>>
OpenStorageUserDirectory(Storage* storage);

}  // namespace orgsync

#endif  // ORGSYNC_USER_DIRECTORY_H_
