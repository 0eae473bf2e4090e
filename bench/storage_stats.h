// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// CountingStorage: a Storage that forwards every call to the one it owns
// and counts the writes and point reads by key family, so that
// live_sync_bench --storage-stats can say what each change costs in
// Storage operations and bytes, family by family (the queue's entries, the
// record links, the field stamps...). LevelDB's cost grows with both:
// every key is a memtable insert (a skip-list search of a dozen or more key
// comparisons), every byte is written again by each compaction that moves
// it, and every Get that reaches LevelDB searches the memtables and then
// the tables -- a miss searches all of them that may hold the key.
//
// A key's family is its text up to and including its third '/' (for
// "k/<connection>/l/Account\0..." that is "k/<connection>/l/"), cut
// before the first byte that is not printable ASCII (so "q/<connection>/e"
// followed by a big-endian sequence is "q/<connection>/e").
//
// Thread-safety: every call is safe from any thread; the counts are kept
// under a mutex of their own.

#ifndef ORGSYNC_BENCH_STORAGE_STATS_H_
#define ORGSYNC_BENCH_STORAGE_STATS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orgsync/storage.h"

namespace orgsync_bench {

// What was written to and read from one key family.
struct FamilyCounts {
  uint64_t puts = 0;
  uint64_t deletes = 0;
  uint64_t bytes = 0;  // keys and values of the puts, keys of the deletes
  // Point reads (Get) of the family's keys, and how many found nothing.
  uint64_t gets = 0;
  uint64_t misses = 0;

  FamilyCounts& operator+=(const FamilyCounts& other) {
    puts += other.puts;
    deletes += other.deletes;
    bytes += other.bytes;
    gets += other.gets;
    misses += other.misses;
    return *this;
  }
};

class CountingStorage : public orgsync::ForwardingStorage {
 public:
  explicit CountingStorage(std::unique_ptr<orgsync::Storage> target);

  absl::Status Write(const orgsync::WriteBatch& batch,
                     const orgsync::WriteOptions& options) override;
  absl::StatusOr<std::string> Get(
      std::string_view key, const orgsync::ReadOptions& options) override;

  // The writes and reads since the last call (or since opening), by
  // family; starts counting over.
  std::map<std::string, FamilyCounts> TakeCounts();

  // The family of `key` (see above).
  static std::string FamilyOf(std::string_view key);

 private:
  const std::unique_ptr<orgsync::Storage> owned_;
  std::mutex mu_;
  std::map<std::string, FamilyCounts> counts_;  // guarded by mu_
};

// Prints `counts` to stderr, one line per family, per change of `changes`,
// under the heading `label`.
void PrintFamilyCounts(std::string_view label,
                       const std::map<std::string, FamilyCounts>& counts,
                       uint64_t changes);

}  // namespace orgsync_bench

#endif  // ORGSYNC_BENCH_STORAGE_STATS_H_
