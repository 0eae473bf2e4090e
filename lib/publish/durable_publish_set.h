// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// DurablePublishSet: the PublishSet a connection owns (orgsync/publish_set.h
// states the rules). What is not public: opening it on a Storage with the
// ChangeSink that turns its notices into queue entries (change_sink.h), the
// partner's Type Map Set Partner Sub, and the notices a schema change
// emitted (for the connection and the tests).
//
// Notices carry names only. A sender needing the published definition reads
// Publication() when it sends (after ChangeSink::Finish), not in Stage:
// ChangeSink::Stage runs while this PublishSet holds its lock, so a sink must
// never call back into the PublishSet.
//
// Ownership: the Storage, Schema and ChangeSink must outlive the PublishSet.
// `sink` may be null: the notices are then dropped (standalone use).
//
// Thread-safety: as PublishSet; each change holds the lock across validate,
// Stage, write and Finish.

#ifndef ORGSYNC_LIB_PUBLISH_DURABLE_PUBLISH_SET_H_
#define ORGSYNC_LIB_PUBLISH_DURABLE_PUBLISH_SET_H_

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
#include "orgsync/internal/mutex.h"
#include "orgsync/publish_set.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"
#include "publish/change_sink.h"

namespace orgsync::internal {

class DurablePublishSet final : public PublishSet {
 public:
  // Loads the publish set of `connection_id` from `storage`; an empty one if
  // nothing is stored. InvalidArgument for a null storage or schema, an
  // empty connection id or one containing '/'; DataLoss if the stored state
  // is corrupt; the Storage's error if it cannot be read.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DurablePublishSet>> Open(
      Storage* storage, std::string connection_id, const Schema* local_schema,
      ChangeSink* sink);

  ~DurablePublishSet() override;

  [[nodiscard]] absl::Status PublishObject(std::string_view object) override;
  [[nodiscard]] absl::Status PublishObjects(
      absl::Span<const std::string> objects) override;
  [[nodiscard]] absl::Status UnpublishObject(std::string_view object) override;
  [[nodiscard]] absl::Status PublishField(std::string_view object,
                                          std::string_view field) override;
  [[nodiscard]] absl::Status UnpublishField(std::string_view object,
                                            std::string_view field) override;
  [[nodiscard]] absl::Status OnLocalSchemaChanged(
      const SchemaChange& change) override;

  // OnLocalSchemaChanged, returning the notices it emitted.
  [[nodiscard]] absl::StatusOr<std::vector<MapNotice>> FollowSchemaChange(
      const SchemaChange& change);

  // Records the partner's Type Map Set Partner Sub for one of our published
  // objects. NotFound if `object` is not published (e.g. unpublished while
  // the partner's message was in flight). Emits nothing.
  [[nodiscard]] absl::Status SetPartnerSubscribed(std::string_view object,
                                                  bool subscribed);

  bool IsObjectPublished(std::string_view object) const override;
  bool IsFieldPublished(std::string_view object,
                        std::string_view field) const override;
  std::vector<std::string> PublishedFields(
      std::string_view object) const override;
  std::vector<std::string> PublishedLookups(
      std::string_view object) const override;
  std::vector<std::string> PublishedObjects() const override;
  bool IsPartnerSubscribed(std::string_view object) const override;
  std::optional<ObjectDef> Publication(std::string_view object) const override;

  const std::string& connection_id() const override { return connection_id_; }

 private:
  struct Entry {
    ObjectDef publication;                        // published fields only
    std::set<std::string, std::less<>> fields;    // their names, for lookups
    bool partner_subscribed = false;
  };
  using EntryMap = std::map<std::string, Entry, std::less<>>;

  DurablePublishSet(Storage* storage, std::string connection_id,
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

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_PUBLISH_DURABLE_PUBLISH_SET_H_
