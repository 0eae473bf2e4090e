// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Plumbing shared by PublishSet and SubscriptionMap: connection id checks,
// reading one key prefix, the ChangeSink protocol (change_sink.h) around one
// atomic write, and the lookup-cycle search of R15.

#ifndef ORGSYNC_LIB_PUBLISH_MAP_STORE_H_
#define ORGSYNC_LIB_PUBLISH_MAP_STORE_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "publish/change_sink.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"

namespace orgsync::internal {

// Connection ids are one component of a storage key: a '/' in one would let
// connection "a" read the keys of connection "a/o".
[[nodiscard]] absl::Status ValidateConnectionId(std::string_view id);

// Calls `visit(key, value)` for every key starting with `prefix`, in order.
[[nodiscard]] absl::Status ScanPrefix(
    Storage* storage, std::string_view prefix,
    const std::function<absl::Status(std::string_view key,
                                     std::string_view value)>& visit);

// Stages `notices` into `batch` (when there are any and a sink), writes the
// batch durably and reports the outcome to the sink. Nothing is written when
// Stage fails.
[[nodiscard]] absl::Status WriteWithNotices(Storage* storage, ChangeSink* sink,
                                            absl::Span<const MapNotice> notices,
                                            WriteBatch batch);

// One step of a lookup cycle: `object`.`field` looks up the next object.
struct LookupEdge {
  std::string object;
  std::string field;
};

// A cycle of lookups among `objects` (name -> published definition), or
// nullopt. Only lookups between two different objects of the map count.
// Deterministic: the same input gives the same cycle.
std::optional<std::vector<LookupEdge>> FindLookupCycle(
    const std::map<std::string, const ObjectDef*, std::less<>>& objects);

// "A.f -> B.g -> A", for messages.
std::string DescribeCycle(const std::vector<LookupEdge>& cycle);

// A SchemaChange checked and unpacked: the object's name after the change
// and the field renames as a map. InvalidArgument for a change without an
// object or with a field renamed twice or to/from an empty name.
struct ParsedSchemaChange {
  bool renamed = false;
  std::string new_name;
  std::map<std::string, std::string, std::less<>> field_renames;
};
absl::StatusOr<ParsedSchemaChange> ParseSchemaChange(
    const SchemaChange& change);

// The local definition of the changed object (null if the schema no longer
// has it); FailedPrecondition if the object was renamed but the Schema does
// not know the new name yet.
absl::StatusOr<std::shared_ptr<const ObjectDef>> FindChangedObject(
    const Schema& schema, const SchemaChange& change,
    const ParsedSchemaChange& parsed);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_PUBLISH_MAP_STORE_H_
