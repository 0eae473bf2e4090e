// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "storage/deferred_sync_storage.h"

#include <optional>
#include <string>
#include <utility>

#include "orgsync/status.h"
#include "storage/key_text.h"

namespace orgsync::internal {

// The view direct() returns: reads see the overlay, writes go through.
class DeferredSyncStorage::Direct final : public ForwardingStorage {
 public:
  explicit Direct(DeferredSyncStorage* owner)
      : ForwardingStorage(owner), owner_(owner) {}

  absl::Status Write(const WriteBatch& batch,
                     const WriteOptions& options) override {
    return owner_->WriteThrough(batch, options);
  }

 private:
  DeferredSyncStorage* const owner_;
};

DeferredSyncStorage::DeferredSyncStorage(Storage* target,
                                         ReadCacheOptions cache)
    : ForwardingStorage(target),
      direct_(std::make_unique<Direct>(this)),
      cache_options_(std::move(cache)) {}

// A group still open here was abandoned by its owner, who reported nothing
// of it durable; written unsynced, it is at worst lost as a crash would
// lose it.
DeferredSyncStorage::~DeferredSyncStorage() { WritePending().IgnoreError(); }

void DeferredSyncStorage::Begin() {
  {
    internal::MutexLock lock(&mu_);
    owed_ = false;
    early_failure_ = absl::OkStatus();
  }
  owner_.store(std::this_thread::get_id(), std::memory_order_release);
}

Storage* DeferredSyncStorage::direct() { return direct_.get(); }

bool DeferredSyncStorage::InGroup() const {
  return owner_.load(std::memory_order_acquire) == std::this_thread::get_id();
}

absl::Status DeferredSyncStorage::Flush() {
  if (!InGroup()) return absl::OkStatus();
  internal::MutexLock lock(&mu_);
  if (!early_failure_.ok()) return early_failure_;
  // One synced write of everything pending; with nothing pending, an empty
  // synced batch still makes the earlier early writes durable (the Storage
  // contract).
  ORGSYNC_RETURN_IF_ERROR(WritePendingLocked(/*sync=*/owed_));
  owed_ = false;
  return absl::OkStatus();
}

absl::Status DeferredSyncStorage::End() {
  absl::Status status = Flush();
  if (InGroup()) {
    owner_.store(std::thread::id(), std::memory_order_release);
    internal::MutexLock lock(&mu_);
    // A failed flush leaves its writes pending: they were never reported
    // durable, and the next writer puts them through in order (or they are
    // lost as a crash would lose them). Nothing is owed any more.
    owed_ = false;
    early_failure_ = absl::OkStatus();
  }
  return status;
}

absl::StatusOr<std::string> DeferredSyncStorage::Get(
    std::string_view key, const ReadOptions& options) {
  return ValueOrNotFound(key, GetIfPresent(key, options));
}

absl::StatusOr<std::optional<std::string>> DeferredSyncStorage::GetIfPresent(
    std::string_view key, const ReadOptions& options) {
  // A snapshot was taken after the pending batch was written (GetSnapshot),
  // so reads through it never look at the overlay.
  if (options.snapshot == nullptr &&
      pending_count_.load(std::memory_order_acquire) != 0) {
    internal::MutexLock lock(&mu_);
    const auto found = pending_.find(absl::string_view(key.data(), key.size()));
    if (found != pending_.end()) {
      if (found->second.deleted) return std::nullopt;
      return found->second.value;
    }
  }
  if (options.snapshot != nullptr || !Cached(key)) {
    return target()->GetIfPresent(key, options);
  }
  uint64_t generation = 0;
  {
    internal::MutexLock lock(&cache_mu_);
    const auto found = cache_.find(absl::string_view(key.data(), key.size()));
    if (found != cache_.end()) return found->second;
    generation = cache_generation_;
  }
  absl::StatusOr<std::optional<std::string>> value =
      target()->GetIfPresent(key, options);
  if (value.ok()) {
    internal::MutexLock lock(&cache_mu_);
    if (generation == cache_generation_) {
      if (cache_.size() >= cache_options_.max_entries) cache_.clear();
      cache_.try_emplace(std::string(key), *value);
    }
  }
  return value;
}

void DeferredSyncStorage::ForgetWritten(const WriteBatch& batch) {
  if (cache_options_.max_entries == 0) return;
  internal::MutexLock lock(&cache_mu_);
  for (const WriteBatch::Op& op : batch.ops()) {
    if (!Cached(op.key)) continue;
    ++cache_generation_;
    cache_.erase(absl::string_view(op.key.data(), op.key.size()));
  }
}

absl::Status DeferredSyncStorage::Write(const WriteBatch& batch,
                                        const WriteOptions& options) {
  if (!InGroup()) return WriteThrough(batch, options);
  internal::MutexLock lock(&mu_);
  for (const WriteBatch::Op& op : batch.ops()) {
    const bool deleted = op.type == WriteBatch::OpType::kDelete;
    auto [slot, added] = pending_.try_emplace(op.key);
    if (added) {
      pending_bytes_ += op.key.size();
    } else {
      pending_bytes_ -= slot->second.value.size();
    }
    slot->second.deleted = deleted;
    slot->second.value = deleted ? std::string() : op.value;
    pending_bytes_ += slot->second.value.size();
  }
  pending_count_.store(pending_.size(), std::memory_order_release);
  if (options.sync) owed_ = true;
  if (pending_bytes_ > kMaxPendingBytes) {
    // Written now, unsynced; the sync it may owe comes with the flush.
    return WritePendingLocked();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<StorageIterator>>
DeferredSyncStorage::NewIterator(const ReadOptions& options) {
  if (options.snapshot == nullptr) {
    ORGSYNC_RETURN_IF_ERROR(WritePending());
  }
  return target()->NewIterator(options);
}

absl::StatusOr<std::unique_ptr<const Snapshot>>
DeferredSyncStorage::GetSnapshot() {
  ORGSYNC_RETURN_IF_ERROR(WritePending());
  return target()->GetSnapshot();
}

absl::Status DeferredSyncStorage::WritePendingLocked(bool sync) {
  if (pending_.empty() && !sync) return absl::OkStatus();
  WriteBatch batch;
  for (const auto& [key, pending] : pending_) {
    if (pending.deleted) {
      batch.Delete(key);
    } else {
      batch.Put(key, pending.value);
    }
  }
  const absl::Status status =
      target()->Write(batch, WriteOptions{.sync = sync});
  ForgetWritten(batch);
  if (!status.ok()) {
    if (early_failure_.ok()) early_failure_ = status;
    return status;
  }
  pending_.clear();
  pending_bytes_ = 0;
  pending_count_.store(0, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status DeferredSyncStorage::WritePending() {
  if (pending_count_.load(std::memory_order_acquire) == 0) {
    return absl::OkStatus();
  }
  internal::MutexLock lock(&mu_);
  return WritePendingLocked();
}

absl::Status DeferredSyncStorage::WriteThrough(const WriteBatch& batch,
                                               const WriteOptions& options) {
  // The pending batch first, so the target sees the writes in order; not
  // under mu_ for the write itself, so that concurrent writers still
  // commit together in the target.
  ORGSYNC_RETURN_IF_ERROR(WritePending());
  const absl::Status status = target()->Write(batch, options);
  ForgetWritten(batch);
  return status;
}

DeferredSyncGroup::DeferredSyncGroup(DeferredSyncStorage* storage)
    : storage_(storage) {
  if (storage_ != nullptr) storage_->Begin();
}

DeferredSyncGroup::~DeferredSyncGroup() {
  // Reached only when the owner left without End(): whatever it wrote was
  // never reported durable to anyone, so a failed flush here loses nothing
  // a caller relied on (a partner resends what it got no answer for).
  if (storage_ != nullptr) storage_->End().IgnoreError();
}

absl::Status DeferredSyncGroup::End() {
  if (storage_ == nullptr) return absl::OkStatus();
  DeferredSyncStorage* storage = storage_;
  storage_ = nullptr;
  return storage->End();
}

}  // namespace orgsync::internal
