// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// PublishSet: which local objects and fields one side of a connection sends
// to its partner (the seed's "Published Objects").
//
// There is one PublishSet per connection per side. Its state lives in the
// host's Storage under `p/<connection_id>/` and is reloaded by Open. Every
// change is checked against the seed's rules and a refused change returns a
// status naming the object, the field and the rule, and changes nothing
// (memory, Storage and the ChangeSink are untouched):
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
//   R21 every change emits its MapNotices through the ChangeSink, in the same
//       atomic synced write as the change itself (see change_sink.h):
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
// Notices carry names only. A sender needing the published definition reads
// Publication() when it sends (after ChangeSink::Finish), not in Stage:
// ChangeSink::Stage runs while this PublishSet holds its lock, so a sink must
// never call back into the PublishSet.
//
// Ownership: the Storage, Schema and ChangeSink are the host's and must
// outlive the PublishSet. `sink` may be null: the notices are then dropped
// (standalone use).
//
// Thread-safety: all methods are thread-safe. Queries take a shared lock and
// are cheap (IsFieldPublished filters every captured change). Changes are
// serialised; each holds the lock across validate, Stage, write and Finish.

#ifndef ORGSYNC_PUBLISH_SET_H_
#define ORGSYNC_PUBLISH_SET_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "orgsync/change_sink.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"

namespace orgsync {

class PublishSet {
 public:
  // Loads the publish set of `connection_id` from `storage`; an empty one if
  // nothing is stored. InvalidArgument for a null storage or schema, an
  // empty connection id or one containing '/'; DataLoss if the stored state
  // is corrupt; the Storage's error if it cannot be read.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PublishSet>> Open(
      Storage* storage, std::string connection_id, const Schema* local_schema,
      ChangeSink* sink);

  PublishSet(const PublishSet&) = delete;
  PublishSet& operator=(const PublishSet&) = delete;
  ~PublishSet();

  // Publishes `object` with its default fields (R10-R13, R15).
  [[nodiscard]] absl::Status PublishObject(std::string_view object);

  // Publishes several objects at once, in one atomic write. Lookups between
  // them are published by default, as if their targets were already
  // published (the seed's "publish all objects together"). All or nothing.
  [[nodiscard]] absl::Status PublishObjects(
      absl::Span<const std::string> objects);

  // Unpublishes `object` and all its fields (R20).
  [[nodiscard]] absl::Status UnpublishObject(std::string_view object);

  // Publishes one field of a published object, with its current definition
  // in the Schema (R11-R13, R15). FailedPrecondition if the object is not
  // published; NotFound if the Schema has no such field.
  [[nodiscard]] absl::Status PublishField(std::string_view object,
                                          std::string_view field);

  // Stops sending one field (R20).
  [[nodiscard]] absl::Status UnpublishField(std::string_view object,
                                            std::string_view field);

  // Brings the publish set up to date after the host changed `change.object`
  // in the Schema (the Schema must already hold the new definition), and
  // returns the notices emitted. Published fields follow renames; deleted
  // fields, and fields whose new type can never be published, are
  // unpublished; a published lookup retargeted so that it would close a
  // lookup cycle (R15) is unpublished, as a schema change cannot be refused.
  // Fields added to the object are not published (publish them explicitly).
  // A deleted or no longer publishable object is unpublished. Lookups of
  // other published objects that target a renamed object follow the rename
  // silently (the Type Map Name Update implies it). Changes to unpublished
  // objects emit nothing. FailedPrecondition if the change contradicts the
  // Schema (renamed_to or a renamed field missing from it) or renames onto
  // another published object.
  [[nodiscard]] absl::StatusOr<std::vector<MapNotice>> OnLocalSchemaChanged(
      const SchemaChange& change);

  // Records the partner's Type Map Set Partner Sub for one of our published
  // objects. NotFound if `object` is not published (e.g. unpublished while
  // the partner's message was in flight). Emits nothing.
  [[nodiscard]] absl::Status SetPartnerSubscribed(std::string_view object,
                                                  bool subscribed);

  bool IsObjectPublished(std::string_view object) const;
  bool IsFieldPublished(std::string_view object, std::string_view field) const;
  // Sorted names; empty if the object is not published.
  std::vector<std::string> PublishedFields(std::string_view object) const;
  // The published lookup and master-detail fields of `object`, sorted (R14:
  // the record flow blanks the unpublished ones).
  std::vector<std::string> PublishedLookups(std::string_view object) const;
  // Sorted names.
  std::vector<std::string> PublishedObjects() const;
  bool IsPartnerSubscribed(std::string_view object) const;

  // What the partner sees of `object`: its definition as last announced,
  // restricted to the published fields (in the Schema's field order). This
  // is what a Type Map Update sends. nullopt if not published.
  std::optional<ObjectDef> Publication(std::string_view object) const;

  const std::string& connection_id() const { return connection_id_; }

 private:
  struct Entry {
    ObjectDef publication;                        // published fields only
    std::set<std::string, std::less<>> fields;    // their names, for lookups
    bool partner_subscribed = false;
  };
  using EntryMap = std::map<std::string, Entry, std::less<>>;

  PublishSet(Storage* storage, std::string connection_id,
             const Schema* local_schema, ChangeSink* sink);

  absl::Status Load();
  std::string KeyFor(std::string_view object) const;
  void PutEntry(std::string_view object, const Entry& entry,
                WriteBatch* batch) const;
  // Writes `batch` with `notices` staged into it, then installs `updated`
  // entries and drops `removed` ones in memory if the write succeeded.
  absl::Status Commit(std::vector<MapNotice> notices, WriteBatch batch,
                      EntryMap updated, std::vector<std::string> removed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Storage* const storage_;
  const std::string connection_id_;
  const Schema* const schema_;
  ChangeSink* const sink_;

  mutable internal::Mutex mu_;
  EntryMap entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace orgsync

#endif  // ORGSYNC_PUBLISH_SET_H_
