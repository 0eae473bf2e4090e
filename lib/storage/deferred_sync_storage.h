// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// DeferredSyncStorage: a group of writes held in memory and written to the
// target as one batch, with one sync.
//
// Applying an envelope of the partner's changes writes every change with
// sync=true, although nothing needs them durable one by one: the partner
// learns that they were applied only from the acknowledgement sent after the
// whole envelope. Between Begin() and End() on one thread, that thread's
// writes are appended to a pending batch in memory, and End() (or Flush())
// writes the pending batch to the target at once -- one write, synced if
// any of them asked for it. A thousand changes then cost one write to the
// target instead of a thousand.
//
// Every reader sees the pending writes as if they had been made (a
// read-your-writes overlay): Get looks in the pending batch first, and an
// iterator or snapshot is only taken after the pending batch has been
// written to the target (unsynced). A write from any other thread, and a
// write through direct(), first writes the pending batch to the target, so
// the target sees every write in the order it was made. The Storage
// contract then holds as before: a synced write is durable together with
// every write before it, and an unsynced batch is lost whole, in order.
//
// A read cache, when asked for (ReadCacheOptions), keeps the values Get
// read from the target for keys under one prefix -- a connection's record
// links, read when a change is sent and again when its acknowledgement
// comes -- and answers repeated reads from memory, absent keys included.
// Any write of a cached key through this storage forgets it (after the
// target took the write, or failed to); a read that raced with a write is
// not kept. So the cache never answers what the target would not, provided
// every write of those keys goes through this storage, which is what the
// prefix must guarantee. Reads through a snapshot bypass it. It holds at
// most max_entries keys and starts empty again when full.
//
// direct() is for a write on the group's thread that must be durable when
// it returns -- an insert's id reservation before the host's write, a
// capture by a host trigger running inside apply
// (RecordSyncDeps::direct_storage).
//
// Whoever opens a group must flush it before anything that depends on its
// writes leaves the process or reaches another store (the acknowledgement,
// a host record written after an id reservation), and must treat a failed
// flush as a failure of every write of the group.
//
// Thread-safety: Write, Get, the iterators and direct() may be used from
// any thread. Begin, Flush and End belong to the thread that owns the
// group; one group at a time (the connection opens it under its lock).

#ifndef ORGSYNC_LIB_STORAGE_DEFERRED_SYNC_STORAGE_H_
#define ORGSYNC_LIB_STORAGE_DEFERRED_SYNC_STORAGE_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/storage.h"

namespace orgsync::internal {

struct ReadCacheOptions {
  // Keys starting with this are cached; empty: no cache.
  std::string key_prefix = {};
  size_t max_entries = 0;
};

class DeferredSyncStorage final : public ForwardingStorage {
 public:
  // A pending batch larger than this is written to the target early
  // (unsynced), so a huge group does not hold its bytes twice in memory.
  static constexpr size_t kMaxPendingBytes = size_t{8} << 20;

  // `target` is not owned and must outlive this object.
  explicit DeferredSyncStorage(Storage* target, ReadCacheOptions cache = {});
  ~DeferredSyncStorage() override;

  // Opens a group on the calling thread. No group may be open.
  void Begin();
  // Writes the pending batch to the target, synced if any write of the
  // group asked for a sync since the last flush. The group stays open.
  [[nodiscard]] absl::Status Flush();
  // Flush, then close the group.
  [[nodiscard]] absl::Status End();

  // Whether the calling thread owns an open group.
  bool InGroup() const;

  // Writes that bypass the group: each is written to the target as it
  // comes, after the pending batch, with its own options.
  Storage* direct();

  absl::StatusOr<std::string> Get(std::string_view key,
                                  const ReadOptions& options = {}) override;
  absl::StatusOr<std::optional<std::string>> GetIfPresent(
      std::string_view key, const ReadOptions& options = {}) override;
  absl::Status Write(const WriteBatch& batch,
                     const WriteOptions& options) override;
  absl::StatusOr<std::unique_ptr<StorageIterator>> NewIterator(
      const ReadOptions& options = {}) override;
  absl::StatusOr<std::unique_ptr<const Snapshot>> GetSnapshot() override;

 private:
  class Direct;

  // Writes the pending batch to the target, synced or not. A failure is
  // kept for the group (its End reports it) and returned.
  absl::Status WritePendingLocked(bool sync = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // WritePendingLocked if anything is pending; cheap when nothing is.
  absl::Status WritePending() ABSL_LOCKS_EXCLUDED(mu_);
  // Writes `batch` to the target after whatever is pending.
  absl::Status WriteThrough(const WriteBatch& batch,
                            const WriteOptions& options) ABSL_LOCKS_EXCLUDED(mu_);

  // The read cache (see the file comment).
  bool Cached(std::string_view key) const {
    return cache_options_.max_entries != 0 &&
           key.starts_with(cache_options_.key_prefix);
  }
  // Forgets the cached keys `batch` writes; called once the target took
  // it (or refused it).
  void ForgetWritten(const WriteBatch& batch) ABSL_LOCKS_EXCLUDED(cache_mu_);

  std::unique_ptr<Direct> direct_;
  // The group's thread; a default id (no thread) when no group is open.
  std::atomic<std::thread::id> owner_{};
  // How many keys are pending, readable without mu_: readers and writers
  // skip the lock when nothing is pending.
  std::atomic<size_t> pending_count_{0};

  // A key's latest pending write.
  struct PendingValue {
    bool deleted = false;
    std::string value;  // empty when deleted
  };

  mutable internal::Mutex mu_;
  // The group's writes not yet written to the target: the latest of each
  // key only, since they reach the target as one atomic batch, where only
  // the last write of a key counts (a key written by every change, like
  // the hybrid clock's, is written once per envelope).
  absl::flat_hash_map<std::string, PendingValue> pending_
      ABSL_GUARDED_BY(mu_);
  // Bytes of the keys and values in pending_.
  size_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // A write of the group asked for a sync since the last flush.
  bool owed_ ABSL_GUARDED_BY(mu_) = false;
  // The first failure to write the pending batch early, reported by End.
  absl::Status early_failure_ ABSL_GUARDED_BY(mu_);

  const ReadCacheOptions cache_options_;
  mutable internal::Mutex cache_mu_ ABSL_ACQUIRED_AFTER(mu_);
  // Value read from the target, or nullopt: the target had none.
  absl::flat_hash_map<std::string, std::optional<std::string>> cache_
      ABSL_GUARDED_BY(cache_mu_);
  // Bumped by every write of a cached key: a read that began before keeps
  // nothing.
  uint64_t cache_generation_ ABSL_GUARDED_BY(cache_mu_) = 0;
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
