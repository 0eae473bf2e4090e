// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "publish/map_store.h"

#include <cstddef>
#include <memory>

#include "fmt/format.h"
#include "orgsync/status.h"

namespace orgsync::internal {

absl::Status ValidateConnectionId(std::string_view id) {
  if (id.empty()) {
    return absl::InvalidArgumentError("connection id is empty");
  }
  if (id.find('/') != std::string_view::npos) {
    return absl::InvalidArgumentError(fmt::format(
        "connection id '{}' contains '/', which separates storage keys", id));
  }
  return absl::OkStatus();
}

absl::Status ScanPrefix(
    Storage* storage, std::string_view prefix,
    const std::function<absl::Status(std::string_view key,
                                     std::string_view value)>& visit) {
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage->NewIterator(ReadOptions{}));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    const std::string_view key = it->key();
    if (key.substr(0, prefix.size()) != prefix) break;
    ORGSYNC_RETURN_IF_ERROR(visit(key, it->value()));
  }
  return it->status();
}

absl::Status WriteWithNotices(Storage* storage, ChangeSink* sink,
                              absl::Span<const MapNotice> notices,
                              WriteBatch batch) {
  const bool staged = sink != nullptr && !notices.empty();
  if (staged) ORGSYNC_RETURN_IF_ERROR(sink->Stage(notices, &batch));
  absl::Status written = storage->Write(batch, WriteOptions{.sync = true});
  if (staged) sink->Finish(written);
  return written;
}

namespace {

enum class Mark { kUnvisited, kOnPath, kDone };

struct CycleSearch {
  const std::map<std::string, const ObjectDef*, std::less<>>& objects;
  std::map<std::string_view, Mark> marks;
  std::vector<LookupEdge> path;

  // Depth-first from `name`; true once a back edge closed a cycle, which is
  // then the tail of `path`.
  bool Visit(const std::string& name) {
    marks[name] = Mark::kOnPath;
    const ObjectDef* def = objects.find(name)->second;
    for (const FieldDef& field : def->fields) {
      if (!IsLookupFieldType(field.type) || field.lookup_target == name) {
        continue;
      }
      auto target = objects.find(field.lookup_target);
      if (target == objects.end()) continue;
      path.push_back({name, field.name});
      const Mark mark = marks[target->first];
      if (mark == Mark::kOnPath) {
        // Keep only the edges from the target's own edge onwards.
        size_t start = 0;
        while (path[start].object != target->first) ++start;
        path.erase(path.begin(), path.begin() + static_cast<std::ptrdiff_t>(start));
        return true;
      }
      if (mark == Mark::kUnvisited && Visit(target->first)) return true;
      path.pop_back();
    }
    marks[name] = Mark::kDone;
    return false;
  }
};

}  // namespace

std::optional<std::vector<LookupEdge>> FindLookupCycle(
    const std::map<std::string, const ObjectDef*, std::less<>>& objects) {
  CycleSearch search{objects, {}, {}};
  for (const auto& [name, def] : objects) {
    if (search.marks[name] == Mark::kUnvisited && search.Visit(name)) {
      return std::move(search.path);
    }
  }
  return std::nullopt;
}

std::string DescribeCycle(const std::vector<LookupEdge>& cycle) {
  std::string text;
  for (const LookupEdge& edge : cycle) {
    text += fmt::format("{}.{} -> ", edge.object, edge.field);
  }
  if (!cycle.empty()) text += cycle.front().object;
  return text;
}

absl::StatusOr<ParsedSchemaChange> ParseSchemaChange(
    const SchemaChange& change) {
  if (change.object.empty()) {
    return absl::InvalidArgumentError("a schema change must name its object");
  }
  ParsedSchemaChange parsed;
  parsed.renamed =
      !change.renamed_to.empty() && change.renamed_to != change.object;
  parsed.new_name = parsed.renamed ? change.renamed_to : change.object;
  for (const auto& [from, to] : change.renamed_fields) {
    if (from.empty() || to.empty() ||
        !parsed.field_renames.emplace(from, to).second) {
      return absl::InvalidArgumentError(fmt::format(
          "schema change of {} renames field '{}' twice or to/from an empty "
          "name",
          change.object, from));
    }
  }
  return parsed;
}

absl::StatusOr<std::shared_ptr<const ObjectDef>> FindChangedObject(
    const Schema& schema, const SchemaChange& change,
    const ParsedSchemaChange& parsed) {
  std::shared_ptr<const ObjectDef> def = schema.FindObject(parsed.new_name);
  if (parsed.renamed && def == nullptr) {
    return absl::FailedPreconditionError(fmt::format(
        "object {} was renamed to {}, but the local schema has no object {}; "
        "update the Schema first",
        change.object, parsed.new_name, parsed.new_name));
  }
  return def;
}

}  // namespace orgsync::internal
