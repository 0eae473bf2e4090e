// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Storage: orgsync's own durable state.
//
// Everything orgsync must not forget -- connections, the publish and
// subscribe maps, the record queue, the sync log, record links -- is kept as
// ordered key/value pairs in a Storage. The engine needs only four things
// from it: point reads, atomic batches of puts and deletes (optionally made
// durable before the call returns), ordered iteration, and a consistent view
// across several reads (a snapshot).
//
// Two implementations ship with the library:
//   * OpenLevelDbStorage(path): the default, durable on disk;
//   * NewMemoryStorage(): in memory, for tests; it can simulate a crash that
//     loses every write not made durable (see MemoryStorage::SimulateCrash).
// ForwardingStorage forwards every call to another Storage so that a test
// can override just the call it wants to break.
//
// Ownership: orgsync components take a `Storage*` and never own it; the
// host keeps the Storage alive for as long as any component uses it.
//
// Thread-safety: every method of Storage may be called concurrently from
// several threads. A StorageIterator is used by one thread at a time.
// Snapshots may be shared between threads.

#ifndef ORGSYNC_STORAGE_H_
#define ORGSYNC_STORAGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orgsync/options.h"

namespace orgsync {

// An ordered list of puts and deletes applied atomically by Storage::Write:
// after a crash either all of them are visible or none is. Later operations
// on the same key win. Not thread-safe.
class WriteBatch {
 public:
  enum class OpType { kPut, kDelete };
  struct Op {
    OpType type;
    std::string key;
    std::string value;  // empty for kDelete
  };

  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  // Appends all operations of `other`, after the ones already here.
  void Append(const WriteBatch& other);
  void Clear();

  bool empty() const { return ops_.empty(); }
  size_t Count() const { return ops_.size(); }
  // Total bytes of keys and values, a cheap estimate of the batch's size.
  size_t ByteSize() const { return byte_size_; }
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
  size_t byte_size_ = 0;
};

struct WriteOptions {
  // When true, Write returns only after the batch is durable: a crash or
  // power loss after the return cannot lose it, nor any write acknowledged
  // before it. When false a crash may lose the batch (never half of it).
  bool sync = false;
};

// A consistent point-in-time view of a Storage. Reads through it see exactly
// the writes that were complete when it was taken. Releasing it (destroying
// the object) is cheap; it must be destroyed before its Storage.
class Snapshot {
 public:
  Snapshot() = default;
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;
  virtual ~Snapshot() = default;
};

struct ReadOptions {
  // Read as of this snapshot; nullptr reads the latest state. A snapshot
  // taken from another Storage makes the read fail with InvalidArgument.
  const Snapshot* snapshot = nullptr;
};

// Iterates keys in ascending bytewise order (memcmp, shorter first on a
// common prefix). A new iterator is not positioned: call a Seek first.
// An iterator sees a consistent view fixed when it was created (or the view
// of the snapshot it was created with, which it keeps even if that snapshot
// is released first).
class StorageIterator {
 public:
  StorageIterator() = default;
  StorageIterator(const StorageIterator&) = delete;
  StorageIterator& operator=(const StorageIterator&) = delete;
  virtual ~StorageIterator() = default;

  // True while positioned on an entry. key()/value()/Next()/Prev() need it.
  virtual bool Valid() const = 0;
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  // Positions at the first key >= target.
  virtual void Seek(std::string_view target) = 0;
  virtual void Next() = 0;
  virtual void Prev() = 0;
  // Valid until the iterator moves or is destroyed.
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  // Not OK if iteration stopped because of an error (e.g. corruption)
  // rather than because it reached the end. An error makes the iterator
  // invalid at once, so a loop that ends at !Valid() never skips entries
  // silently; check status() after it.
  [[nodiscard]] virtual absl::Status status() const = 0;
};

class Storage {
 public:
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  virtual ~Storage() = default;

  // The value stored under `key`; NotFound if there is none.
  [[nodiscard]] virtual absl::StatusOr<std::string> Get(
      std::string_view key, const ReadOptions& options = {}) = 0;

  // The value stored under `key`, nullopt if there is none: Get for a
  // caller to whom a missing key is an answer rather than an error (most
  // of orgsync's reads: a link not made yet, a stamp never written). Other
  // errors as Get's. The default calls Get; an implementation overrides it
  // when it can answer a miss without building Get's NotFound message,
  // which names the key and costs more than the read on a hot path.
  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>>
  GetIfPresent(std::string_view key, const ReadOptions& options = {});

  // Applies `batch` atomically. An empty batch is a no-op (with sync, it
  // still makes every earlier write durable).
  [[nodiscard]] virtual absl::Status Write(const WriteBatch& batch,
                                           const WriteOptions& options) = 0;

  // A new iterator over the whole key space, as of `options.snapshot` or
  // now. The iterator must be destroyed before this Storage.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<StorageIterator>>
  NewIterator(const ReadOptions& options = {}) = 0;

  // A snapshot of the current state.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<const Snapshot>>
  GetSnapshot() = 0;

  // Conveniences built on Write.
  [[nodiscard]] absl::Status Put(std::string_view key, std::string_view value,
                                 const WriteOptions& options);
  [[nodiscard]] absl::Status Delete(std::string_view key,
                                    const WriteOptions& options);
};

// Opens (or creates, with its missing parent folders) the LevelDB database
// in folder `path`. Only one Storage at a time, in any process, may hold a
// folder. LevelDB runs with paranoid checks and every read verifies its
// checksums, so damage surfaces as DataLoss instead of being skipped.
// Errors, each naming the folder:
//   InvalidArgument     `path` is empty;
//   FailedPrecondition  the folder is in use by another process or by
//                       another open Storage in this process; `path` is a
//                       file; the folder cannot be created;
//   NotFound            no database (or no folder) and create_if_missing is
//                       false;
//   DataLoss            the database is corrupt (e.g. a damaged CURRENT or
//                       MANIFEST file);
//   PermissionDenied    the process may not open the folder's files;
//   Unavailable         other I/O errors; Internal for anything else.
// After an open, reads and writes report corruption as DataLoss and I/O
// errors as Unavailable (LevelDB then refuses writes until reopened).
[[nodiscard]] absl::StatusOr<std::unique_ptr<Storage>> OpenLevelDbStorage(
    const std::string& path, const LevelDbStorageOptions& options = {});

// An in-memory Storage that models what a crash does to unsynced writes.
//
// Writes with sync=false are visible at once but are not durable; a write
// with sync=true makes itself and every earlier write durable (as a
// write-ahead log does). SimulateCrash() throws away everything not durable,
// as a power loss would. Open iterators and snapshots keep their view.
class MemoryStorage : public Storage {
 public:
  // Restores the state as of the last durable write, dropping all later
  // unsynced writes. Thread-safe; concurrent writers see a crash between
  // two of their writes.
  virtual void SimulateCrash() = 0;

  // Like SimulateCrash, but keeps the first `keep` unsynced batches (in the
  // order they were written), as a log that reached disk partially would.
  // `keep` larger than the number of unsynced batches keeps them all.
  virtual void SimulateCrashKeeping(size_t keep) = 0;

  // How many batches are written but not durable yet.
  virtual size_t UnsyncedBatchCount() const = 0;

  // The number of key/value pairs currently visible.
  virtual size_t KeyCount() const = 0;
};

[[nodiscard]] std::unique_ptr<MemoryStorage> NewMemoryStorage();

// Forwards every call to `target`, which it does not own. Derive from it and
// override the calls a test wants to fail or observe.
class ForwardingStorage : public Storage {
 public:
  explicit ForwardingStorage(Storage* target) : target_(target) {}

  // The defaults repeat Storage's: C++ takes default arguments from the
  // static type, so without them a call through a ForwardingStorage (or a
  // class derived from it) would have to spell the options out.
  absl::StatusOr<std::string> Get(std::string_view key,
                                  const ReadOptions& options = {}) override {
    return target_->Get(key, options);
  }
  absl::Status Write(const WriteBatch& batch,
                     const WriteOptions& options) override {
    return target_->Write(batch, options);
  }
  absl::StatusOr<std::unique_ptr<StorageIterator>> NewIterator(
      const ReadOptions& options = {}) override {
    return target_->NewIterator(options);
  }
  absl::StatusOr<std::unique_ptr<const Snapshot>> GetSnapshot() override {
    return target_->GetSnapshot();
  }

  Storage* target() const { return target_; }

 private:
  Storage* const target_;
};

}  // namespace orgsync

#endif  // ORGSYNC_STORAGE_H_
