// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// DeferredSyncStorage: one sync for a group of writes that each asked for
// one.
//
// Applying an envelope of the partner's changes writes every change with
// sync=true, so each costs a disk flush, although nothing needs them durable
// one by one: the partner learns that they were applied only from the
// acknowledgement sent after the whole envelope. Between Begin() and End()
// on one thread, that thread's sync writes go to the target without sync,
// and End() (or Flush()) makes them all durable with one synced empty batch.
// The Storage contract makes that sound: a synced write is durable together
// with every write before it, and an unsynced batch is lost whole or not at
// all, in order. Writes from other threads (host threads capturing while the
// group is open) pass through untouched and keep their own sync. A write on
// the group's thread that must be durable when it returns -- a capture by
// a host trigger running inside apply -- goes to the target directly
// (RecordSyncDeps::direct_storage).
//
// Whoever opens a group must flush it before anything that depends on its
// writes leaves the process or reaches another store (the acknowledgement,
// a host record written after an id reservation), and must treat a failed
// flush as a failure of every write of the group.
//
// Thread-safety: Write, Get and the iterators may be called from any
// thread. Begin, Flush and End belong to the thread that owns the group; one
// group at a time (the connection opens it under its lock).

#ifndef ORGSYNC_LIB_STORAGE_DEFERRED_SYNC_STORAGE_H_
#define ORGSYNC_LIB_STORAGE_DEFERRED_SYNC_STORAGE_H_

#include <atomic>
#include <thread>

#include "absl/status/status.h"
#include "orgsync/storage.h"

namespace orgsync::internal {

class DeferredSyncStorage final : public ForwardingStorage {
 public:
  // `target` is not owned and must outlive this object.
  explicit DeferredSyncStorage(Storage* target) : ForwardingStorage(target) {}

  // Opens a group on the calling thread. No group may be open.
  void Begin();
  // Makes the group's writes so far durable (one synced write to the
  // target, only if a sync is owed). The group stays open.
  [[nodiscard]] absl::Status Flush();
  // Flush, then close the group.
  [[nodiscard]] absl::Status End();

  // Whether the calling thread owns an open group.
  bool InGroup() const;

  absl::Status Write(const WriteBatch& batch,
                     const WriteOptions& options) override;

 private:
  // The group's thread; a default id (no thread) when no group is open.
  std::atomic<std::thread::id> owner_{};
  // A sync write was made unsynced since the last flush. Only the owner
  // thread touches it.
  bool owed_ = false;
};

// Opens a group for the life of the scope. The owner calls End() and looks
// at its status; a scope left early (an error path) ends the group in the
// destructor, which still flushes but drops the status.
class DeferredSyncGroup {
 public:
  // `storage` may be null: then nothing is deferred.
  explicit DeferredSyncGroup(DeferredSyncStorage* storage);
  ~DeferredSyncGroup();
  DeferredSyncGroup(const DeferredSyncGroup&) = delete;
  DeferredSyncGroup& operator=(const DeferredSyncGroup&) = delete;

  [[nodiscard]] absl::Status End();

 private:
  DeferredSyncStorage* storage_;
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_STORAGE_DEFERRED_SYNC_STORAGE_H_
