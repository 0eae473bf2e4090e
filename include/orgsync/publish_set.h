// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// PublishSet: which local objects and fields one side of a connection sends
// to its partner (the seed's "Published Objects").
//
// There is one PublishSet per connection per side. Its state lives in the
// Org's Storage under `p/<connection_id>/` and survives restarts. Every
// change is checked against the seed's rules and a refused change returns a
// status naming the object, the field and the rule, and changes nothing
// (memory and Storage are untouched, nothing is sent):
//   R10 only objects the Schema marks `publishable` can be published
//       (FailedPrecondition; NotFound if the Schema has no such object);
//   R11 PublishObject publishes every supported field by default; fields can
//       then be unpublished (and published) one by one;
//   R12 auto-number, encrypted, rich text area, formula, roll-up summary and
//       geolocation fields, and the audit fields, are never published
//       (InvalidArgument: no state of the connection could allow them);
//   R13 a lookup whose target object is not published (nor being published
//       in the same call) is left out by default but may be published
//       explicitly with PublishField. Publishing the target later does NOT
//       publish such lookups: they keep the state they had, so publishing
//       an object never changes what another object sends. Publish the
//       parent first, or both together with PublishObjects, to keep lookups
//       (R14: a child whose lookup is unpublished replicates it blank);
//   R15 no change may create a circular lookup dependency among published
//       objects (FailedPrecondition naming the cycle). Only published lookup
//       and master-detail fields between two different published objects
//       count: a self-lookup (Account.ParentId, a hierarchy) is allowed, as
//       it orders records of one object, not objects;
//   R18 publishing copies no records: it emits map notices only;
//   R20 UnpublishObject emits Type Map Delete, on which the Connection drops
//       the object's record links; UnpublishField stops that field only;
//   R21 every change queues its notices for the partner, in the same
//       atomic synced write as the change itself:
//         PublishObject(s)  -> Type Map Update per newly published object
//         UnpublishObject   -> Type Map Delete
//         PublishField      -> Field Map Update
//         UnpublishField    -> Field Map Delete
//         OnLocalSchemaChanged -> Type Map Name Update, Field Map Name Update,
//           Field Map Update (definition changed), Field Map Delete (field
//           deleted, or no longer publishable), Value Map Delete (picklist
//           value removed), Type Map Delete (object deleted or no longer
//           publishable), Type Map Update (object attributes changed).
// Requests that are already satisfied (publishing a published object or
// field, unpublishing an unpublished one) return OK and emit nothing; they
// are NotFound only when the object or field is unknown to both the Schema
// and the PublishSet.
//
// Thread-safety: all methods are thread-safe. Queries take a shared lock and
// are cheap (IsFieldPublished filters every captured change). Changes are
// serialised, each one durable write.

#ifndef ORGSYNC_PUBLISH_SET_H_
#define ORGSYNC_PUBLISH_SET_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "orgsync/schema.h"

namespace orgsync {

// The host's handle on what one side of a connection publishes
// (Connection::publish_set()). The connection owns the implementation and
// sends every change's notices to the partner (R21).
class PublishSet {
 public:
  virtual ~PublishSet() = default;
  PublishSet(const PublishSet&) = delete;
  PublishSet& operator=(const PublishSet&) = delete;

  // Publishes `object` with its default fields (R10-R13, R15).
  [[nodiscard]] virtual absl::Status PublishObject(std::string_view object) = 0;

  // Publishes several objects at once, in one atomic write. Lookups between
  // them are published by default, as if their targets were already
  // published (the seed's "publish all objects together"). All or nothing.
  [[nodiscard]] virtual absl::Status PublishObjects(
      absl::Span<const std::string> objects) = 0;

  // Unpublishes `object` and all its fields (R20).
  [[nodiscard]] virtual absl::Status UnpublishObject(
      std::string_view object) = 0;

  // Publishes one field of a published object, with its current definition
  // in the Schema (R11-R13, R15). FailedPrecondition if the object is not
  // published; NotFound if the Schema has no such field.
  [[nodiscard]] virtual absl::Status PublishField(std::string_view object,
                                                  std::string_view field) = 0;

  // Stops sending one field (R20).
  [[nodiscard]] virtual absl::Status UnpublishField(
      std::string_view object, std::string_view field) = 0;

  // Brings the publish set up to date after the host changed `change.object`
  // in the Schema (the Schema must already hold the new definition); the
  // notices it implies are queued for the partner. Published fields follow
  // renames; deleted fields, and fields whose new type can never be
  // published, are unpublished; a published lookup retargeted so that it
  // would close a lookup cycle (R15) is unpublished, as a schema change
  // cannot be refused. Fields added to the object are not published
  // (publish them explicitly). A deleted or no longer publishable object is
  // unpublished. Lookups of other published objects that target a renamed
  // object follow the rename silently (the Type Map Name Update implies
  // it). Changes to unpublished objects emit nothing. FailedPrecondition if
  // the change contradicts the Schema (renamed_to or a renamed field missing
  // from it) or renames onto another published object.
  [[nodiscard]] virtual absl::Status OnLocalSchemaChanged(
      const SchemaChange& change) = 0;

  virtual bool IsObjectPublished(std::string_view object) const = 0;
  virtual bool IsFieldPublished(std::string_view object,
                                std::string_view field) const = 0;
  // Sorted names; empty if the object is not published.
  virtual std::vector<std::string> PublishedFields(
      std::string_view object) const = 0;
  // The published lookup and master-detail fields of `object`, sorted (R14:
  // the record flow blanks the unpublished ones).
  virtual std::vector<std::string> PublishedLookups(
      std::string_view object) const = 0;
  // Sorted names.
  virtual std::vector<std::string> PublishedObjects() const = 0;
  // Whether the partner said it subscribes to `object` (Type Map Set Partner
  // Sub).
  virtual bool IsPartnerSubscribed(std::string_view object) const = 0;

  // What the partner sees of `object`: its definition as last announced,
  // restricted to the published fields (in the Schema's field order). This
  // is what a Type Map Update sends. nullopt if not published.
  virtual std::optional<ObjectDef> Publication(
      std::string_view object) const = 0;

  virtual const std::string& connection_id() const = 0;

 protected:
  PublishSet() = default;
};

}  // namespace orgsync

#endif  // ORGSYNC_PUBLISH_SET_H_
