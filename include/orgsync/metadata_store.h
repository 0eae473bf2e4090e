// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// MetadataStore: the host's metadata items, as metadata sync (DESIGN.md
// R74) reads them on the primary and writes them on the secondary.
//
// With "sync metadata" on and a store in OrgOptions::metadata_store on both
// sides, the primary pushes every item of the supported types to the
// secondary on acceptance (Metadata Sync in Progress, R2), when the option
// is turned off and on (R73), and then every
// OrgOptions::metadata_sync_interval (daily by default). The secondary
// writes each item that differs from its own: inserts and updates; deletes
// never sync, and a change made on the secondary is overwritten by the next
// run. Top-level renames (roles, profiles, permission sets) sync as renames
// once the primary's host reports them (Connection::CaptureMetadataRename).
// Items the secondary cannot write are logged in both connection histories
// (Metadata Sync Failure) and not retried (R52).
//
// An item is opaque to orgsync: `body` is the host's own serialization of
// it, compared byte for byte to skip unchanged items.
//
// Contract for implementations:
//  * Items are keyed by (type, name); names are non-empty and unique per
//    type. Upsert inserts or replaces; Rename moves an item to a new name
//    (NotFound if it does not exist, AlreadyExists if the new name is
//    taken). InvalidArgument for an unknown type or an empty name.
//  * Scan visits every item, ordered by (type, name), until `visit`
//    returns false, over a view fixed when it starts (visit may call the
//    store).
//  * Writes carry an ApplyContext (orgsync/record_store.h): from_replication
//    marks orgsync's own writes, which the host must not report back.
//  * A failed call changes nothing.
//
// Thread-safety: implementations must allow concurrent calls from several
// threads.

#ifndef ORGSYNC_METADATA_STORE_H_
#define ORGSYNC_METADATA_STORE_H_

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orgsync/record_store.h"

namespace orgsync {

// The supported metadata types (R74). The numbers are stable: they equal
// the wire format's (lib/proto/common.proto MetadataType).
enum class MetadataType : int {
  kApexClass = 1,
  kApexPage = 2,
  kCustomObject = 3,
  kCustomField = 4,
  kExternalObject = 5,
  kLayout = 6,
  kPermissionSet = 7,
  kRecordType = 8,
  kRole = 9,
  kProfile = 10,
};

inline constexpr std::array<MetadataType, 10> kAllMetadataTypes = {
    MetadataType::kApexClass,      MetadataType::kApexPage,
    MetadataType::kCustomObject,   MetadataType::kCustomField,
    MetadataType::kExternalObject, MetadataType::kLayout,
    MetadataType::kPermissionSet,  MetadataType::kRecordType,
    MetadataType::kRole,           MetadataType::kProfile,
};

// "Apex Class", "Custom Field", ...; "Unknown" for a value not listed.
const std::string& MetadataTypeName(MetadataType type);

// True for the types whose renames sync as renames (R74: roles, profiles,
// permission sets).
bool IsTopLevelMetadataType(MetadataType type);

struct MetadataItem {
  MetadataType type = MetadataType::kCustomObject;
  std::string name = {};
  std::string body = {};

  friend bool operator==(const MetadataItem&, const MetadataItem&) = default;
};

class MetadataStore {
 public:
  MetadataStore() = default;
  MetadataStore(const MetadataStore&) = delete;
  MetadataStore& operator=(const MetadataStore&) = delete;
  virtual ~MetadataStore() = default;

  // NotFound for an item that does not exist.
  [[nodiscard]] virtual absl::StatusOr<MetadataItem> Get(
      MetadataType type, std::string_view name) = 0;

  [[nodiscard]] virtual absl::Status Upsert(MetadataItem item,
                                            const ApplyContext& context) = 0;

  [[nodiscard]] virtual absl::Status Rename(MetadataType type,
                                            std::string_view old_name,
                                            std::string_view new_name,
                                            const ApplyContext& context) = 0;

  [[nodiscard]] virtual absl::Status Scan(
      const std::function<bool(const MetadataItem&)>& visit) = 0;
};

// The shipped in-memory store. Thread-safe: one internal lock per call,
// never held while `visit` runs.
class InMemoryMetadataStore final : public MetadataStore {
 public:
  InMemoryMetadataStore();
  ~InMemoryMetadataStore() override;

  absl::StatusOr<MetadataItem> Get(MetadataType type,
                                   std::string_view name) override;
  absl::Status Upsert(MetadataItem item, const ApplyContext& context) override;
  absl::Status Rename(MetadataType type, std::string_view old_name,
                      std::string_view new_name,
                      const ApplyContext& context) override;
  absl::Status Scan(
      const std::function<bool(const MetadataItem&)>& visit) override;

  // How many items the store holds.
  size_t size() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A store kept in `storage` under the key prefix "m/" (the demo uses it so
// that its metadata survives a restart). `storage` must outlive the store.
// Each call that changes something is one atomic, synced write (a Rename
// included): once it returns, the change survives a crash. Items are read
// from `storage` on demand (memory does not grow with the store); Scan reads
// through one Storage iterator, whose view is fixed when the scan starts.
// Only one store may be open on a Storage at a time: a store serializes its
// own writes, not another's. Items take the keys "m/" followed by a 0x00
// byte (the type number is 8 bytes big-endian), so a host's own keys under
// "m/" that start with a printable byte, such as the demo's "m/demo/...",
// are neither read nor changed. Behaves exactly as InMemoryMetadataStore,
// but for one more refusal: items are stored as the wire format's
// MetadataItem, whose names are UTF-8 strings, so Upsert and Rename refuse
// a name that is not valid UTF-8 (InvalidArgument; such an item could not
// be synced either). Thread-safe. Errors: InvalidArgument for a null
// storage; at each call, DataLoss for a stored item that does not decode,
// and the Storage's own errors.
[[nodiscard]] absl::StatusOr<std::unique_ptr<MetadataStore>>
OpenStorageMetadataStore(Storage* storage);

}  // namespace orgsync

#endif  // ORGSYNC_METADATA_STORE_H_
