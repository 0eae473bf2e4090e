// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// SubscriptionMap: the receiving side's view of what its partner publishes,
// and how each published object and field maps onto the local schema (the
// seed's "Subscribed Objects" and their "Your Fields" column).
//
// There is one SubscriptionMap per connection per side; its state lives in
// the Org's Storage under `s/<connection_id>/` and survives restarts.
//
// What the partner publishes arrives as the R21 notices of the partner's
// PublishSet, with the partner's publication of the object attached; the
// connection applies them. Nothing flows for an object until this side
// subscribes to it:
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
//   R21 Subscribe and Unsubscribe queue Type Map Set Partner Sub for the
//       partner in the same atomic synced write as the change. Partner
//       updates and field-level changes send nothing.
// Refused requests change nothing and return a status naming the object,
// field and rule. Requests already satisfied (subscribing a subscribed
// object, unsubscribing an unsubscribed one) return OK and emit nothing.
//
// Objects are named by the partner's name throughout; the local object a
// subscription maps to is LocalObject().
//
// Thread-safety: all methods are thread-safe; queries take a shared lock and
// are cheap (MappedField runs for every received field). Changes are
// serialised.

#ifndef ORGSYNC_SUBSCRIPTION_MAP_H_
#define ORGSYNC_SUBSCRIPTION_MAP_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orgsync/publish_set.h"
#include "orgsync/queue_action.h"
#include "orgsync/schema.h"

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

// The host's handle on what one side of a connection receives
// (Connection::subscription_map()). The connection owns the implementation,
// feeds it the partner's notices and tells the partner what this side
// subscribes (R21).
class SubscriptionMap {
 public:
  virtual ~SubscriptionMap() = default;
  SubscriptionMap(const SubscriptionMap&) = delete;
  SubscriptionMap& operator=(const SubscriptionMap&) = delete;

  // R16. NotFound if the partner does not publish `object`;
  // FailedPrecondition if the local schema has no object of that name.
  [[nodiscard]] virtual absl::Status Subscribe(std::string_view object) = 0;

  // Stops receiving `object`; its mappings are forgotten, and lookups of
  // other subscribed objects to it become None Available. NotFound if the
  // partner does not publish it.
  [[nodiscard]] virtual absl::Status Unsubscribe(std::string_view object) = 0;

  // Subscribes one published field of a subscribed object (R17), mapping it
  // to `local_field` (empty: the same name). FailedPrecondition if the
  // object is not subscribed or the local field is missing or incompatible
  // (the status says why); NotFound if the partner does not publish the
  // field. A lookup whose target is not subscribed becomes None Available.
  [[nodiscard]] virtual absl::Status SubscribeField(
      std::string_view object, std::string_view partner_field,
      std::string_view local_field = {}) = 0;

  // Stops receiving one field (it becomes NotSubscribed).
  [[nodiscard]] virtual absl::Status UnsubscribeField(
      std::string_view object, std::string_view partner_field) = 0;

  // Follows a change of the local schema (the Schema must already hold the
  // new definition): mappings follow renamed local objects and fields; a
  // subscribed field whose local field disappeared becomes Unmapped, one
  // whose local field became incompatible becomes NotSubscribed. Unmapped
  // fields stay Unmapped (map them with SubscribeField). A deleted local
  // object ends its subscriptions (Type Map Set Partner Sub).
  // FailedPrecondition if `renamed_to` is missing from the Schema;
  // InvalidArgument for a field renamed twice.
  [[nodiscard]] virtual absl::Status OnLocalSchemaChanged(
      const SchemaChange& change) = 0;

  virtual bool IsPartnerPublished(std::string_view object) const = 0;
  // The partner's publication of `object`, or nullopt.
  virtual std::optional<ObjectDef> PartnerPublication(
      std::string_view object) const = 0;
  // Sorted partner object names.
  virtual std::vector<std::string> PartnerPublishedObjects() const = 0;

  virtual bool IsSubscribed(std::string_view object) const = 0;
  // Sorted partner object names.
  virtual std::vector<std::string> SubscribedObjects() const = 0;
  // The local object `object` maps to, when subscribed.
  virtual std::optional<std::string> LocalObject(
      std::string_view object) const = 0;

  // The local field receiving `partner_field`, only when it is kSubscribed.
  virtual std::optional<std::string> MappedField(
      std::string_view object, std::string_view partner_field) const = 0;
  // The status of one published field. For an object not subscribed, every
  // field is kNotSubscribed. NotFound if the partner does not publish it.
  [[nodiscard]] virtual absl::StatusOr<FieldMapping> GetFieldMapping(
      std::string_view object, std::string_view partner_field) const = 0;
  // Every published field of `object`, sorted by partner field.
  virtual std::vector<FieldMapping> FieldMappings(
      std::string_view object) const = 0;

  virtual const std::string& connection_id() const = 0;

 protected:
  SubscriptionMap() = default;
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
