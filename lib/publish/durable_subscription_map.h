// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// DurableSubscriptionMap: the SubscriptionMap a connection owns
// (orgsync/subscription_map.h states the rules). What is not public: opening
// it on a Storage with the ChangeSink that turns its Type Map Set Partner
// Sub notices into queue entries (change_sink.h), and applying the
// partner's map notices (ApplyPartnerUpdate), which only the connection
// receives.
//
// The notice names the object only; the sender reads IsSubscribed() when it
// sends to say which way it went. ChangeSink::Stage runs under this map's
// lock: a sink must not call back into it.
//
// Ownership: Storage, Schema and ChangeSink must outlive the map; `sink` may
// be null (notices are then dropped).
//
// Thread-safety: as SubscriptionMap.

#ifndef ORGSYNC_LIB_PUBLISH_DURABLE_SUBSCRIPTION_MAP_H_
#define ORGSYNC_LIB_PUBLISH_DURABLE_SUBSCRIPTION_MAP_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/queue_action.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"
#include "orgsync/subscription_map.h"
#include "publish/change_sink.h"

namespace orgsync::internal {

// One received publish/subscribe notice of the partner (R21).
struct PartnerMapUpdate {
  // kTypeMapUpdate, kFieldMapUpdate, kFieldMapDelete: `publication` is
  //   required and is the partner's whole publication of `object` now;
  //   `field` is informational.
  // kTypeMapDelete: the partner unpublished `object`.
  // kTypeMapNameUpdate: `object` is now called `new_name`.
  // kFieldMapNameUpdate: `object`.`field` is now called `new_name`.
  // kValueMapDelete: picklist value `value` of `object`.`field` is gone.
  QueueAction action = QueueAction::kTypeMapUpdate;
  std::string object = {};
  std::string field = {};
  std::string new_name = {};
  std::string value = {};
  // The partner's definition of `object` restricted to its published fields
  // (PublishSet::Publication on the partner's side).
  std::optional<ObjectDef> publication = {};
};

class DurableSubscriptionMap final : public SubscriptionMap {
 public:
  // Loads the map of `connection_id` from `storage` (empty if nothing is
  // stored). InvalidArgument for a null storage or schema, an empty
  // connection id or one containing '/'; DataLoss for corrupt state.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DurableSubscriptionMap>>
  Open(Storage* storage, std::string connection_id, const Schema* local_schema,
       ChangeSink* sink);

  ~DurableSubscriptionMap() override;

  // Applies one partner notice. Redelivery is harmless: a rename or delete
  // already applied is OK. InvalidArgument for an action that is not a
  // partner map notice, a missing or malformed publication (including a
  // field R12 says can never be published); NotFound for a rename of an
  // object or field this side never heard of.
  [[nodiscard]] absl::Status ApplyPartnerUpdate(const PartnerMapUpdate& update);

  [[nodiscard]] absl::Status Subscribe(std::string_view object) override;
  [[nodiscard]] absl::Status Unsubscribe(std::string_view object) override;
  [[nodiscard]] absl::Status SubscribeField(
      std::string_view object, std::string_view partner_field,
      std::string_view local_field = {}) override;
  [[nodiscard]] absl::Status UnsubscribeField(
      std::string_view object, std::string_view partner_field) override;
  [[nodiscard]] absl::Status OnLocalSchemaChanged(
      const SchemaChange& change) override;

  bool IsPartnerPublished(std::string_view object) const override;
  std::optional<ObjectDef> PartnerPublication(
      std::string_view object) const override;
  std::vector<std::string> PartnerPublishedObjects() const override;
  bool IsSubscribed(std::string_view object) const override;
  std::vector<std::string> SubscribedObjects() const override;
  std::optional<std::string> LocalObject(
      std::string_view object) const override;
  std::optional<std::string> MappedField(
      std::string_view object, std::string_view partner_field) const override;
  [[nodiscard]] absl::StatusOr<FieldMapping> GetFieldMapping(
      std::string_view object, std::string_view partner_field) const override;
  std::vector<FieldMapping> FieldMappings(
      std::string_view object) const override;

  const std::string& connection_id() const override { return connection_id_; }

 private:
  struct Entry {
    ObjectDef publication;  // the partner's, published fields only
    bool subscribed = false;
    std::string local_object;
    std::map<std::string, FieldMapping, std::less<>> fields;  // if subscribed
  };
  using EntryMap = std::map<std::string, Entry, std::less<>>;

  DurableSubscriptionMap(Storage* storage, std::string connection_id,
                  const Schema* local_schema, ChangeSink* sink);

  absl::Status Load();
  std::string KeyFor(std::string_view object) const;
  void PutEntry(std::string_view object, const Entry& entry,
                WriteBatch* batch) const;
  absl::Status Commit(std::vector<MapNotice> notices, EntryMap updated,
                      std::vector<std::string> removed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The entry `name` has once `updated` is laid over the current state and
  // `removed` taken out, or nullptr.
  const Entry* FindAfter(const EntryMap& updated,
                         const std::vector<std::string>& removed,
                         std::string_view name) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The mapping R16 gives partner `field` of `entry` onto local field
  // `local_field` (empty: the same name), in the state after the change.
  // `*missing` tells whether it is Unmapped for lack of the local field
  // rather than for an incompatible one.
  FieldMapping AutoMap(const EntryMap& updated,
                       const std::vector<std::string>& removed,
                       const Entry& entry, const FieldDef& field,
                       std::string_view local_field, bool* missing) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Re-evaluates, after `target` was (un)subscribed or unpublished, the
  // lookups of every other subscribed object that target it (R16); changed
  // entries are added to `updated`.
  void RefreshLookupsTo(std::string_view target, EntryMap* updated,
                        const std::vector<std::string>& removed) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  Storage* const storage_;
  const std::string connection_id_;
  const Schema* const schema_;
  ChangeSink* const sink_;

  mutable internal::Mutex mu_;
  EntryMap entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_PUBLISH_DURABLE_SUBSCRIPTION_MAP_H_
