// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "storage/deferred_sync_storage.h"

namespace orgsync::internal {

void DeferredSyncStorage::Begin() {
  owed_ = false;
  owner_.store(std::this_thread::get_id(), std::memory_order_release);
}

bool DeferredSyncStorage::InGroup() const {
  return owner_.load(std::memory_order_acquire) == std::this_thread::get_id();
}

absl::Status DeferredSyncStorage::Flush() {
  if (!InGroup() || !owed_) return absl::OkStatus();
  // An empty synced batch makes every earlier write durable (the Storage
  // contract).
  absl::Status status = target()->Write(WriteBatch(), WriteOptions{.sync = true});
  if (status.ok()) owed_ = false;
  return status;
}

absl::Status DeferredSyncStorage::End() {
  absl::Status status = Flush();
  if (InGroup()) {
    owner_.store(std::thread::id(), std::memory_order_release);
    owed_ = false;
  }
  return status;
}

absl::Status DeferredSyncStorage::Write(const WriteBatch& batch,
                                        const WriteOptions& options) {
  if (!options.sync || !InGroup()) return target()->Write(batch, options);
  absl::Status status = target()->Write(batch, WriteOptions{.sync = false});
  if (status.ok()) owed_ = true;
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
