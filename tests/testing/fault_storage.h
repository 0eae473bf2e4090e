// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// FaultInjectingStorage: a Storage that forwards to another one and fails the
// calls a test chooses, so that a test can prove that a component changes
// nothing when the Storage refuses a write, and that it acknowledges nothing
// before the Storage made it durable.
//
// A refused write never reaches the target: the target is exactly as it was
// before the call (unless a sync failure is set to apply the batch unsynced,
// see FailSyncs). Faults are checked in this order, and the first that fires
// decides: the write hook, FailNextWrites, FailWritesWithKeyPrefix,
// FailSyncs. Reads (Get, NewIterator, GetSnapshot) are checked the same way
// against the read hook, then FailNextReads.
//
// Every call is counted, refused or not (see Counts).
//
// Thread-safe: any method may be called from several threads at once. Hooks
// run without the wrapper's lock held, so they may call the wrapper (e.g. to
// clear themselves); two hooks may run at the same time.

#ifndef ORGSYNC_TESTS_TESTING_FAULT_STORAGE_H_
#define ORGSYNC_TESTS_TESTING_FAULT_STORAGE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/storage.h"

namespace orgsync::testing {

class FaultInjectingStorage : public ForwardingStorage {
 public:
  // Decides a write: a non-OK status refuses it with that status.
  using WriteHook =
      std::function<absl::Status(const WriteBatch&, const WriteOptions&)>;

  enum class ReadKind { kGet, kNewIterator, kGetSnapshot };
  // Decides a read: `key` is the key of a Get, empty for the other kinds.
  using ReadHook = std::function<absl::Status(ReadKind, std::string_view key)>;

  // What a failed sync does to its batch.
  enum class SyncFailure {
    // The batch is refused whole: nothing visible, nothing durable.
    kNothingApplied,
    // The batch is written without sync, then the call fails: it is visible
    // but not durable, as after a failed fsync. A MemoryStorage target drops
    // it at the next SimulateCrash.
    kAppliedNotDurable,
  };

  struct Counts {
    int64_t writes = 0;         // Write calls, refused or not
    int64_t failed_writes = 0;  // of those, the ones that returned an error
    int64_t syncs = 0;          // Write calls with sync = true
    int64_t failed_syncs = 0;   // of those, the ones that returned an error
    int64_t ops_written = 0;    // puts and deletes of the successful writes
    int64_t gets = 0;           // Get calls
    int64_t iterators = 0;      // NewIterator calls
    int64_t snapshots = 0;      // GetSnapshot calls
    int64_t failed_reads = 0;   // Get/NewIterator/GetSnapshot that failed

    int64_t reads() const { return gets + iterators; }
  };

  // `target` must outlive the wrapper.
  explicit FaultInjectingStorage(Storage* target);

  // The general hooks; an empty function removes the hook.
  void SetWriteHook(WriteHook hook);
  void SetReadHook(ReadHook hook);

  // Refuses the next `count` writes with `status`.
  void FailNextWrites(int count, absl::Status status = DefaultError("write"));
  // Refuses, until ClearFaults, every write whose batch puts or deletes a key
  // starting with `prefix`. Several prefixes may be set.
  void FailWritesWithKeyPrefix(std::string prefix,
                               absl::Status status = DefaultError("write"));
  // Fails, until ClearFaults, every write with sync = true; writes without
  // sync go through.
  void FailSyncs(absl::Status status = DefaultError("sync"),
                 SyncFailure mode = SyncFailure::kNothingApplied);
  // Fails the next `count` reads (Get, NewIterator or GetSnapshot).
  void FailNextReads(int count, absl::Status status = DefaultError("read"));

  // Removes every fault and hook; counts are kept.
  void ClearFaults();

  Counts counts() const;
  void ResetCounts();

  // Defaults as in Storage (see ForwardingStorage).
  absl::StatusOr<std::string> Get(std::string_view key,
                                  const ReadOptions& options = {}) override;
  absl::Status Write(const WriteBatch& batch,
                     const WriteOptions& options) override;
  absl::StatusOr<std::unique_ptr<StorageIterator>> NewIterator(
      const ReadOptions& options = {}) override;
  absl::StatusOr<std::unique_ptr<const Snapshot>> GetSnapshot() override;

  // Unavailable("injected <what> failure").
  static absl::Status DefaultError(std::string_view what);

 private:
  struct PrefixFault {
    std::string prefix;
    absl::Status status;
  };

  // The status a read is refused with, or OK.
  absl::Status CheckRead(ReadKind kind, std::string_view key);
  void CountRead(ReadKind kind, bool failed);

  mutable internal::Mutex mu_;
  WriteHook write_hook_ ABSL_GUARDED_BY(mu_);
  ReadHook read_hook_ ABSL_GUARDED_BY(mu_);
  int fail_next_writes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status next_write_status_ ABSL_GUARDED_BY(mu_);
  std::vector<PrefixFault> prefix_faults_ ABSL_GUARDED_BY(mu_);
  bool fail_syncs_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status sync_status_ ABSL_GUARDED_BY(mu_);
  SyncFailure sync_mode_ ABSL_GUARDED_BY(mu_) = SyncFailure::kNothingApplied;
  int fail_next_reads_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status next_read_status_ ABSL_GUARDED_BY(mu_);
  Counts counts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace orgsync::testing

#endif  // ORGSYNC_TESTS_TESTING_FAULT_STORAGE_H_
