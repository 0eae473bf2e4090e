// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// In-memory Storage. The visible state is an immutable map shared with the
// iterators and snapshots that read it; a write copies the map only when a
// reader still holds the current version, so readers never block writers and
// always see a consistent view.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/status.h"
#include "orgsync/storage.h"
#include "storage/key_text.h"

namespace orgsync {
namespace {

using Map = std::map<std::string, std::string, std::less<>>;
using MapRef = std::shared_ptr<const Map>;

void Apply(const WriteBatch& batch, Map& map) {
  for (const WriteBatch::Op& op : batch.ops()) {
    if (op.type == WriteBatch::OpType::kPut) {
      map.insert_or_assign(op.key, op.value);
    } else {
      map.erase(op.key);
    }
  }
}

std::optional<std::string> FindIfPresent(const Map& map,
                                         std::string_view key) {
  auto it = map.find(key);
  if (it == map.end()) return std::nullopt;
  return it->second;
}

class MemorySnapshot final : public Snapshot {
 public:
  MemorySnapshot(const void* owner, MapRef map)
      : owner_(owner), map_(std::move(map)) {}
  const void* owner() const { return owner_; }
  const MapRef& map() const { return map_; }

 private:
  const void* owner_;
  MapRef map_;
};

class MemoryIterator final : public StorageIterator {
 public:
  explicit MemoryIterator(MapRef map)
      : map_(std::move(map)), it_(map_->end()) {}

  bool Valid() const override { return it_ != map_->end(); }
  void SeekToFirst() override { it_ = map_->begin(); }
  void SeekToLast() override {
    it_ = map_->empty() ? map_->end() : std::prev(map_->end());
  }
  void Seek(std::string_view target) override {
    it_ = map_->lower_bound(target);
  }
  void Next() override { ++it_; }
  void Prev() override {
    it_ = (it_ == map_->begin()) ? map_->end() : std::prev(it_);
  }
  std::string_view key() const override { return it_->first; }
  std::string_view value() const override { return it_->second; }
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  MapRef map_;
  Map::const_iterator it_;
};

class MemoryStorageImpl final : public MemoryStorage {
 public:
  MemoryStorageImpl()
      : live_(std::make_shared<Map>()), durable_(std::make_shared<Map>()) {}

  absl::StatusOr<std::string> Get(std::string_view key,
                                  const ReadOptions& options) override {
    return internal::ValueOrNotFound(key, GetIfPresent(key, options));
  }

  absl::StatusOr<std::optional<std::string>> GetIfPresent(
      std::string_view key, const ReadOptions& options) override {
    if (options.snapshot != nullptr) {
      ORGSYNC_ASSIGN_OR_RETURN(MapRef map, MapFor(options));
      return FindIfPresent(*map, key);
    }
    // The live map is read under the lock, not shared: a reference held by
    // a reader makes every concurrent write copy the whole map.
    internal::ReaderMutexLock lock(&mu_);
    return FindIfPresent(*live_, key);
  }

  absl::Status Write(const WriteBatch& batch,
                     const WriteOptions& options) override {
    internal::MutexLock lock(&mu_);
    Apply(batch, Mutable(live_));
    if (options.sync) {
      Map& durable = Mutable(durable_);
      for (const WriteBatch& pending : unsynced_) Apply(pending, durable);
      Apply(batch, durable);
      unsynced_.clear();
    } else if (!batch.empty()) {
      unsynced_.push_back(batch);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<StorageIterator>> NewIterator(
      const ReadOptions& options) override {
    ORGSYNC_ASSIGN_OR_RETURN(MapRef map, MapFor(options));
    return std::unique_ptr<StorageIterator>(new MemoryIterator(std::move(map)));
  }

  absl::StatusOr<std::unique_ptr<const Snapshot>> GetSnapshot() override {
    internal::MutexLock lock(&mu_);
    return std::unique_ptr<const Snapshot>(new MemorySnapshot(this, live_));
  }

  void SimulateCrash() override { SimulateCrashKeeping(0); }

  void SimulateCrashKeeping(size_t keep) override {
    internal::MutexLock lock(&mu_);
    Map& durable = Mutable(durable_);
    for (size_t i = 0; i < keep && i < unsynced_.size(); ++i) {
      Apply(unsynced_[i], durable);
    }
    live_ = std::make_shared<Map>(durable);
    unsynced_.clear();
  }

  size_t UnsyncedBatchCount() const override {
    internal::MutexLock lock(&mu_);
    return unsynced_.size();
  }

  size_t KeyCount() const override {
    internal::MutexLock lock(&mu_);
    return live_->size();
  }

 private:
  // The map a read should use: the snapshot's, or the live one.
  absl::StatusOr<MapRef> MapFor(const ReadOptions& options) {
    if (options.snapshot != nullptr) {
      const auto* snapshot =
          dynamic_cast<const MemorySnapshot*>(options.snapshot);
      if (snapshot == nullptr || snapshot->owner() != this) {
        return absl::InvalidArgumentError(
            "snapshot does not belong to this storage");
      }
      return snapshot->map();
    }
    internal::MutexLock lock(&mu_);
    return live_;
  }

  // The map behind `ref`, safe to modify: copied first if a reader (an
  // iterator or snapshot) still holds it. Readers take their reference
  // under mu_, so with mu_ held a use count of one means nobody else can
  // see the map.
  static Map& Mutable(std::shared_ptr<Map>& ref) {
    if (ref.use_count() != 1) ref = std::make_shared<Map>(*ref);
    return *ref;
  }

  mutable internal::Mutex mu_;
  std::shared_ptr<Map> live_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<Map> durable_ ABSL_GUARDED_BY(mu_);
  std::vector<WriteBatch> unsynced_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<MemoryStorage> NewMemoryStorage() {
  return std::make_unique<MemoryStorageImpl>();
}

}  // namespace orgsync
