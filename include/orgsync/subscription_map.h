// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// SubscriptionMap: the receiving side's view of what its partner publishes,
// and how each published object and field maps onto the local schema (the
// seed's "Subscribed Objects" and their "Your Fields" column).
//
// There is one SubscriptionMap per connection per side; its state lives in
// the host's Storage under `s/<connection_id>/` and is reloaded by Open.
//
// What the partner publishes arrives as PartnerMapUpdates (the R21 notices
// of the partner's PublishSet, with the partner's publication of the object
// attached). Nothing flows for an object until this side subscribes to it:
//   R16 Subscribe(object) maps the object to the local object of the same
//       name and each published field to the same-named local field when it
//       is compatible (same type; same lookup target; for text, long text,
//       number, currency and percent, a local length/precision/scale at least
//       the partner's, 0 meaning unlimited). A field with no such local
//       field is Unmapped ("--None--", with the reason). A lookup whose
//       target object is not subscribed here is "None Available" and becomes
//       Subscribed automatically when that object is subscribed (and None
//       Available again if it is unsubscribed). A self-lookup is subscribed
//       with its object. Subscribe emits Type Map Set Partner Sub.
//   R17 When the partner deletes a field, changes its type (or a lookup's
//       target), or changes the size or precision of a text, long text,
//       number, currency or percent field, the field becomes NotSubscribed
//       here (it stays published there); SubscribeField subscribes it again
//       once it is compatible. A deleted field leaves the map. A field the
//       partner publishes after this side subscribed is NotSubscribed until
//       SubscribeField (the seed: "publish and subscribe to the field").
//   R21 Subscribe and Unsubscribe emit Type Map Set Partner Sub through the
//       ChangeSink in the same atomic synced write as the change (protocol in
//       change_sink.h). The notice names the object only; the sender reads
//       IsSubscribed() when it sends to say which way it went. ChangeSink::
//       Stage runs under this map's lock: a sink must not call back into it.
//       Partner updates and field-level changes emit nothing.
// Refused requests change nothing and return a status naming the object,
// field and rule. Requests already satisfied (subscribing a subscribed
// object, unsubscribing an unsubscribed one) return OK and emit nothing.
//
// Objects are named by the partner's name throughout; the local object a
// subscription maps to is LocalObject().
//
// Ownership: Storage, Schema and ChangeSink are the host's and must outlive
// the map; `sink` may be null (notices are then dropped).
//
// Thread-safety: all methods are thread-safe; queries take a shared lock and
// are cheap (MappedField runs for every received field). Changes are
// serialised.

#ifndef ORGSYNC_SUBSCRIPTION_MAP_H_
#define ORGSYNC_SUBSCRIPTION_MAP_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orgsync/change_sink.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/publish_set.h"
#include "orgsync/queue_action.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"

namespace orgsync {

// The state of one field the partner publishes, as the seed's subscribed
// fields page shows it.
enum class FieldStatus : int {
  kSubscribed = 1,     // mapped to `local_field`; values flow
  kNotSubscribed = 2,  // could be mapped; needs SubscribeField (R17)
  kNoneAvailable = 3,  // a lookup to an object not subscribed here (R16)
  kUnmapped = 4,       // "--None--": no compatible local field
};

// "Subscribed", "Not Subscribed", "None Available", "--None--".
const std::string& FieldStatusName(FieldStatus status);

struct FieldMapping {
  std::string partner_field = {};
  FieldStatus status = FieldStatus::kNotSubscribed;
  // kSubscribed: the local field receiving the values; kNoneAvailable: the
  // one that will once the lookup's target is subscribed; else empty.
  std::string local_field = {};
  std::string reason = {};  // why it is not subscribed; empty if it is

  friend bool operator==(const FieldMapping&, const FieldMapping&) = default;
};

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

class SubscriptionMap {
 public:
  // Loads the map of `connection_id` from `storage` (empty if nothing is
  // stored). InvalidArgument for a null storage or schema, an empty
  // connection id or one containing '/'; DataLoss for corrupt state.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SubscriptionMap>> Open(
      Storage* storage, std::string connection_id, const Schema* local_schema,
      ChangeSink* sink);

  SubscriptionMap(const SubscriptionMap&) = delete;
  SubscriptionMap& operator=(const SubscriptionMap&) = delete;
  ~SubscriptionMap();

  // Applies one partner notice. Redelivery is harmless: a rename or delete
  // already applied is OK. InvalidArgument for an action that is not a
  // partner map notice, a missing or malformed publication (including a
  // field R12 says can never be published); NotFound for a rename of an
  // object or field this side never heard of.
  [[nodiscard]] absl::Status ApplyPartnerUpdate(const PartnerMapUpdate& update);

  // R16. NotFound if the partner does not publish `object`;
  // FailedPrecondition if the local schema has no object of that name.
  [[nodiscard]] absl::Status Subscribe(std::string_view object);

  // Stops receiving `object`; its mappings are forgotten, and lookups of
  // other subscribed objects to it become None Available. NotFound if the
  // partner does not publish it.
  [[nodiscard]] absl::Status Unsubscribe(std::string_view object);

  // Subscribes one published field of a subscribed object (R17), mapping it
  // to `local_field` (empty: the same name). FailedPrecondition if the
  // object is not subscribed or the local field is missing or incompatible
  // (the status says why); NotFound if the partner does not publish the
  // field. A lookup whose target is not subscribed becomes None Available.
  [[nodiscard]] absl::Status SubscribeField(std::string_view object,
                                            std::string_view partner_field,
                                            std::string_view local_field = {});

  // Stops receiving one field (it becomes NotSubscribed).
  [[nodiscard]] absl::Status UnsubscribeField(std::string_view object,
                                              std::string_view partner_field);

  // Follows a change of the local schema (the Schema must already hold the
  // new definition): mappings follow renamed local objects and fields; a
  // subscribed field whose local field disappeared becomes Unmapped, one
  // whose local field became incompatible becomes NotSubscribed. Unmapped
  // fields stay Unmapped (map them with SubscribeField). A deleted local
  // object ends its subscriptions (Type Map Set Partner Sub).
  // FailedPrecondition if `renamed_to` is missing from the Schema;
  // InvalidArgument for a field renamed twice.
  [[nodiscard]] absl::Status OnLocalSchemaChanged(const SchemaChange& change);

  bool IsPartnerPublished(std::string_view object) const;
  // The partner's publication of `object`, or nullopt.
  std::optional<ObjectDef> PartnerPublication(std::string_view object) const;
  // Sorted partner object names.
  std::vector<std::string> PartnerPublishedObjects() const;

  bool IsSubscribed(std::string_view object) const;
  // Sorted partner object names.
  std::vector<std::string> SubscribedObjects() const;
  // The local object `object` maps to, when subscribed.
  std::optional<std::string> LocalObject(std::string_view object) const;

  // The local field receiving `partner_field`, only when it is kSubscribed.
  std::optional<std::string> MappedField(std::string_view object,
                                         std::string_view partner_field) const;
  // The status of one published field. For an object not subscribed, every
  // field is kNotSubscribed. NotFound if the partner does not publish it.
  [[nodiscard]] absl::StatusOr<FieldMapping> GetFieldMapping(
      std::string_view object, std::string_view partner_field) const;
  // Every published field of `object`, sorted by partner field.
  std::vector<FieldMapping> FieldMappings(std::string_view object) const;

  const std::string& connection_id() const { return connection_id_; }

 private:
  struct Entry {
    ObjectDef publication;  // the partner's, published fields only
    bool subscribed = false;
    std::string local_object;
    std::map<std::string, FieldMapping, std::less<>> fields;  // if subscribed
  };
  using EntryMap = std::map<std::string, Entry, std::less<>>;

  SubscriptionMap(Storage* storage, std::string connection_id,
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

// R19: how records of each object flow on a connection, seen from this side.
enum class SyncDirection : int {
  kTwoWay = 1,       // published+subscribed both ways
  kSendOnly = 2,     // published here and subscribed by the partner only
  kReceiveOnly = 3,  // published by the partner and subscribed here only
  kNone = 4,         // published somewhere but subscribed nowhere yet
};

const std::string& SyncDirectionName(SyncDirection direction);

struct ObjectDirection {
  std::string object = {};
  SyncDirection direction = SyncDirection::kNone;
  bool published_here = false;
  bool subscribed_by_partner = false;
  bool published_by_partner = false;
  bool subscribed_here = false;
};

struct DirectionReport {
  std::vector<ObjectDirection> objects = {};  // sorted by object
  // True when some objects sync two-way and others one-way (R19).
  bool mixed = false;
  // Human-readable warnings: the R19 mix, and objects published on one side
  // that the other has not subscribed (nothing flows for them).
  std::vector<std::string> warnings = {};
};

// Builds the R19 report from this side's PublishSet (with what the partner
// said it subscribed) and SubscriptionMap. Thread-safe; a consistent view
// of each component, not of both together.
DirectionReport ReportSyncDirections(const PublishSet& publish_set,
                                     const SubscriptionMap& subscriptions);

}  // namespace orgsync

#endif  // ORGSYNC_SUBSCRIPTION_MAP_H_
