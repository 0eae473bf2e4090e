// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The in-memory RecordTable. Stored records are immutable and shared, so a
// cursor holds the records of its object as they were when it was opened
// (copying pointers, not records) and later writes never disturb it.

#include <algorithm>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "records/record_table.h"

namespace orgsync::internal {
namespace {

using RecordPtr = std::shared_ptr<const StoredRecord>;
using ObjectRecords = std::map<std::string, RecordPtr, std::less<>>;

class MemoryCursor final : public RecordCursor {
 public:
  explicit MemoryCursor(std::vector<RecordPtr> records)
      : records_(std::move(records)) {}

  absl::StatusOr<const Record*> Next() override {
    if (next_ == records_.size()) return nullptr;
    return &records_[next_++]->record;
  }

 private:
  std::vector<RecordPtr> records_;
  size_t next_ = 0;
};

class MemoryRecordTable final : public RecordTable {
 public:
  absl::StatusOr<std::optional<StoredRecord>> Find(
      std::string_view object, std::string_view id) override {
    auto records = records_.find(object);
    if (records == records_.end()) return std::nullopt;
    auto it = records->second.find(id);
    if (it == records->second.end()) return std::nullopt;
    return *it->second;
  }

  absl::StatusOr<std::optional<std::string>> ObjectOfId(
      std::string_view id) override {
    auto it = object_of_id_.find(id);
    if (it == object_of_id_.end()) return std::nullopt;
    return it->second;
  }

  absl::StatusOr<std::vector<Referrer>> Referrers(
      std::string_view target_id) override {
    auto it = referrers_.find(target_id);
    if (it == referrers_.end()) return std::vector<Referrer>();
    return std::vector<Referrer>(it->second.begin(), it->second.end());
  }

  TableCounters counters() const override { return counters_; }

  absl::Status Apply(TableWrite write) override {
    for (TableWrite::Put& put : write.puts) {
      if (put.created) {
        object_of_id_.emplace(put.state.record.id, put.state.record.object);
      }
      ObjectRecords& records = records_[put.state.record.object];
      std::string id = put.state.record.id;
      records.insert_or_assign(
          std::move(id),
          std::make_shared<const StoredRecord>(std::move(put.state)));
    }
    for (const IndexEdge& edge : write.index_removes) {
      auto it = referrers_.find(edge.target_id);
      if (it == referrers_.end()) continue;
      it->second.erase(edge.referrer);
      if (it->second.empty()) referrers_.erase(it);
    }
    for (const IndexEdge& edge : write.index_adds) {
      referrers_[edge.target_id].insert(edge.referrer);
    }
    if (write.counters.has_value()) counters_ = *write.counters;
    return absl::OkStatus();
  }

  absl::Status Sync() override { return absl::OkStatus(); }

  absl::StatusOr<std::unique_ptr<RecordCursor>> OpenCursor(
      std::string_view object, std::string_view after_id,
      size_t max_records) override {
    std::vector<RecordPtr> snapshot;
    auto records = records_.find(object);
    if (records != records_.end()) {
      const ObjectRecords& all = records->second;
      auto it = after_id.empty() ? all.begin() : all.upper_bound(after_id);
      snapshot.reserve(std::min<size_t>(all.size(), max_records));
      for (; it != all.end() && snapshot.size() < max_records; ++it) {
        snapshot.push_back(it->second);
      }
    }
    return std::make_unique<MemoryCursor>(std::move(snapshot));
  }

 private:
  std::map<std::string, ObjectRecords, std::less<>> records_;
  std::map<std::string, std::string, std::less<>> object_of_id_;
  std::map<std::string, std::set<Referrer>, std::less<>> referrers_;
  TableCounters counters_;
};

}  // namespace

std::unique_ptr<RecordTable> NewMemoryRecordTable() {
  return std::make_unique<MemoryRecordTable>();
}

}  // namespace orgsync::internal
