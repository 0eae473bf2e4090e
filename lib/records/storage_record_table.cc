// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The RecordTable kept in a Storage (key layout in records/record_keys.h).
// Only the counters are held in memory; records and the reverse index are
// read from the Storage when needed, so the table's memory does not grow
// with the number of records. Each Apply is one synced WriteBatch: a call
// that returned survives a crash, and a crash never keeps half of one.

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "orgsync/status.h"
#include "proto/record_state.pb.h"
#include "records/record_codec.h"
#include "records/record_keys.h"
#include "records/record_table.h"
#include "records/stored_record_reader.h"

namespace orgsync::internal {
namespace {

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

class StorageCursor final : public RecordCursor {
 public:
  StorageCursor(std::unique_ptr<StorageIterator> it, std::string prefix,
                std::string after_id, size_t max_records)
      : it_(std::move(it)),
        prefix_(std::move(prefix)),
        after_id_(std::move(after_id)),
        left_(max_records) {}

  // Each record is read into the last one's buffers.
  absl::StatusOr<const Record*> Next() override {
    ORGSYNC_ASSIGN_OR_RETURN(const bool found, Advance());
    if (!found) return nullptr;
    ORGSYNC_RETURN_IF_ERROR(
        ReadStoredRecordInto(it_->key(), it_->value(), &current_));
    return &current_.record;
  }

  // The id is the key's last part: the record itself is not read.
  absl::StatusOr<const std::string*> NextId() override {
    ORGSYNC_ASSIGN_OR_RETURN(const bool found, Advance());
    if (!found) return nullptr;
    current_id_.assign(it_->key().substr(prefix_.size()));
    return &current_id_;
  }

 private:
  // Moves to the next record of the page; false at its end.
  absl::StatusOr<bool> Advance() {
    if (left_ == 0) return false;
    --left_;
    if (started_) {
      it_->Next();
    } else {
      it_->Seek(prefix_ + after_id_);
      started_ = true;
      // The record named by after_id itself is not part of the page.
      if (!after_id_.empty() && it_->Valid() &&
          it_->key() == std::string_view(prefix_ + after_id_)) {
        it_->Next();
      }
    }
    if (!it_->Valid() || !StartsWith(it_->key(), prefix_)) {
      ORGSYNC_RETURN_IF_ERROR(it_->status());
      return false;
    }
    return true;
  }

  std::unique_ptr<StorageIterator> it_;
  const std::string prefix_;
  const std::string after_id_;
  size_t left_;
  bool started_ = false;
  StoredRecord current_;
  std::string current_id_;
};

// DataLoss unless `stored`, read under the key of (object, id), is that
// record.
absl::Status CheckNames(std::string_view object, std::string_view id,
                        const StoredRecord& stored) {
  if (stored.record.object == object && stored.record.id == id) {
    return absl::OkStatus();
  }
  return absl::DataLossError(
      fmt::format("record store: key for {}/{} holds record {}/{}", object, id,
                  stored.record.object, stored.record.id));
}

// One iterator walks the keys in id order: from one id to the next close
// after it, a few steps forward cost less than a lookup each.
class StorageLookupCursor final : public RecordLookupCursor {
 public:
  StorageLookupCursor(std::unique_ptr<StorageIterator> it,
                      std::string_view object,
                      const std::vector<std::string>& ids)
      : it_(std::move(it)),
        object_(object),
        prefix_(RecordKeyPrefix(object)),
        ids_(ids),
        order_(ids.size()) {
    for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
    std::sort(order_.begin(), order_.end(),
              [&ids](size_t a, size_t b) { return ids[a] < ids[b]; });
  }

  absl::StatusOr<bool> Next(size_t* index,
                            const StoredRecord** record) override {
    constexpr int kMaxSteps = 8;  // then a seek
    if (next_ == order_.size()) {
      ORGSYNC_RETURN_IF_ERROR(it_->status());
      return false;
    }
    const size_t i = order_[next_++];
    *index = i;
    *record = nullptr;
    key_.assign(prefix_);  // RecordKey, in the last key's buffer
    key_.append(ids_[i]);
    bool at_key_or_past = false;
    if (positioned_) {
      for (int step = 0; step < kMaxSteps && it_->Valid() && it_->key() < key_;
           ++step) {
        it_->Next();
      }
      // Past the last key: no record after it either.
      at_key_or_past = !it_->Valid() || it_->key() >= key_;
    }
    if (!at_key_or_past) {
      it_->Seek(key_);
      positioned_ = true;
    }
    if (!it_->Valid()) {
      ORGSYNC_RETURN_IF_ERROR(it_->status());
      return true;
    }
    if (it_->key() != key_) return true;
    // Into the last record's buffers.
    ORGSYNC_RETURN_IF_ERROR(
        ReadStoredRecordInto(key_, it_->value(), &current_));
    ORGSYNC_RETURN_IF_ERROR(CheckNames(object_, ids_[i], current_));
    *record = &current_;
    return true;
  }

 private:
  std::unique_ptr<StorageIterator> it_;
  const std::string object_;
  const std::string prefix_;
  const std::vector<std::string>& ids_;
  std::vector<size_t> order_;  // indexes into ids_, by id
  size_t next_ = 0;            // in order_
  bool positioned_ = false;
  std::string key_;
  StoredRecord current_;
};

class StorageRecordTable final : public RecordTable {
 public:
  StorageRecordTable(Storage* storage, TableCounters counters)
      : storage_(storage), counters_(counters) {}

  absl::StatusOr<std::optional<StoredRecord>> Find(
      std::string_view object, std::string_view id) override {
    const std::string key = RecordKey(object, id);
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                             storage_->GetIfPresent(key));
    if (!bytes.has_value()) return std::nullopt;
    ORGSYNC_ASSIGN_OR_RETURN(StoredRecord stored, ReadStoredRecord(key, *bytes));
    ORGSYNC_RETURN_IF_ERROR(CheckNames(object, id, stored));
    return stored;
  }

  absl::StatusOr<std::unique_ptr<RecordLookupCursor>> OpenLookupCursor(
      std::string_view object, const std::vector<std::string>& ids) override {
    ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                             storage_->NewIterator());
    return std::make_unique<StorageLookupCursor>(std::move(it), object, ids);
  }

  absl::StatusOr<std::optional<std::string>> ObjectOfId(
      std::string_view id) override {
    return storage_->GetIfPresent(IdIndexKey(id));
  }

  absl::StatusOr<std::vector<Referrer>> Referrers(
      std::string_view target_id) override {
    const std::string prefix = ReferrerKeyPrefix(target_id);
    ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                             storage_->NewIterator());
    std::vector<Referrer> referrers;
    for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix);
         it->Next()) {
      std::optional<Referrer> referrer =
          ParseReferrer(it->key().substr(prefix.size()));
      if (!referrer.has_value()) {
        return absl::DataLossError(
            fmt::format("record store: malformed reverse-index key under "
                        "target '{}'",
                        target_id));
      }
      referrers.push_back(*std::move(referrer));
    }
    ORGSYNC_RETURN_IF_ERROR(it->status());
    return referrers;
  }

  TableCounters counters() const override { return counters_; }

  absl::Status Apply(TableWrite write) override {
    WriteBatch batch;
    for (const TableWrite::Put& put : write.puts) {
      const Record& record = put.state.record;
      batch.Put(RecordKey(record.object, record.id),
                StoredRecordToProto(put.state).SerializeAsString());
      if (put.created) batch.Put(IdIndexKey(record.id), record.object);
    }
    for (const IndexEdge& edge : write.index_removes) {
      batch.Delete(ReferrerKey(edge.target_id, edge.referrer));
    }
    for (const IndexEdge& edge : write.index_adds) {
      batch.Put(ReferrerKey(edge.target_id, edge.referrer), "");
    }
    if (write.counters.has_value()) {
      proto::RecordStoreMeta meta;
      meta.set_next_id(write.counters->next_id);
      meta.set_next_deletion(write.counters->next_deletion);
      batch.Put(kRecordMetaKey, meta.SerializeAsString());
    }
    ORGSYNC_RETURN_IF_ERROR(
        storage_->Write(batch, WriteOptions{.sync = write.sync}));
    // Only now: a failed write leaves the cached counters as on disk.
    if (write.counters.has_value()) counters_ = *write.counters;
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    // An empty synced batch: durable together with every write before it
    // (the Storage contract).
    return storage_->Write(WriteBatch(), WriteOptions{.sync = true});
  }

  absl::StatusOr<std::unique_ptr<RecordCursor>> OpenCursor(
      std::string_view object, std::string_view after_id,
      size_t max_records) override {
    ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                             storage_->NewIterator());
    return std::make_unique<StorageCursor>(std::move(it),
                                           RecordKeyPrefix(object),
                                           std::string(after_id), max_records);
  }

 private:
  Storage* const storage_;
  TableCounters counters_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RecordTable>> OpenStorageRecordTable(
    Storage* storage) {
  TableCounters counters;
  absl::StatusOr<std::string> bytes = storage->Get(kRecordMetaKey);
  if (bytes.ok()) {
    proto::RecordStoreMeta meta;
    if (!meta.ParseFromString(*bytes) || meta.next_id() == 0 ||
        meta.next_deletion() == 0) {
      return absl::DataLossError(
          "record store: the counters under r/meta are corrupt");
    }
    counters = {.next_id = meta.next_id(),
                .next_deletion = meta.next_deletion()};
  } else if (!absl::IsNotFound(bytes.status())) {
    return Annotate(bytes.status(), "record store: reading r/meta");
  }
  return std::make_unique<StorageRecordTable>(storage, counters);
}

}  // namespace orgsync::internal
