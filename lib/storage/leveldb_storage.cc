// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The default Storage: a LevelDB database in one folder.
//
// LevelDB reports every failure as a leveldb::Status with a handful of codes
// and a free-form message. orgsync promises hosts precise absl codes (a
// locked folder is not the same problem as a corrupt one), so the mapping
// below looks at both the code and, where LevelDB gives nothing better, the
// message. The folder itself is checked before LevelDB sees it: LevelDB
// creates the folder even when create_if_missing is false and reports a
// path that is a file only as an obscure I/O error on its LOCK file.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "fmt/core.h"
#include "leveldb/cache.h"
#include "leveldb/db.h"
#include "leveldb/filter_policy.h"
#include "leveldb/iterator.h"
#include "leveldb/options.h"
#include "leveldb/status.h"
#include "leveldb/write_batch.h"
#include "orgsync/status.h"
#include "orgsync/storage.h"
#include "storage/key_text.h"
#include "storage/leveldb_storage_internal.h"
#include "storage/pread_env.h"
#include "storage/scoped_bloom_filter.h"

namespace orgsync {
namespace {

// Past some 20 bits per key a Bloom filter's false positives are already
// rare; 40 bounds what a mistyped option can cost in table size.
constexpr int kMaxBloomFilterBitsPerKey = 40;
// LevelDB accepts any block size; below 1 KiB the per-block index entry
// and checksum outweigh the data, and above 4 MiB a point read costs as
// much as a scan.
constexpr size_t kMinBlockBytes = size_t{1} << 10;
constexpr size_t kMaxBlockBytes = size_t{4} << 20;

leveldb::Slice ToSlice(std::string_view s) {
  return leveldb::Slice(s.data(), s.size());
}

std::string_view FromSlice(const leveldb::Slice& s) {
  return std::string_view(s.data(), s.size());
}

// Maps a status from a read, write or iteration (not from Open, see
// OpenError). `what` says what was being done, for the message.
absl::Status FromLevelDb(const leveldb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string message = fmt::format("{}: {}", what, s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(message);
  if (s.IsCorruption()) return absl::DataLossError(message);
  // LevelDB's I/O errors (disk full, a failed fsync, a vanished file) leave
  // the database refusing writes until it is reopened; the host cannot fix
  // that by changing its request, so it is reported as unavailable.
  if (s.IsIOError()) return absl::UnavailableError(message);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  return absl::InternalError(message);
}

absl::Status OpenError(const std::string& path, const leveldb::Status& s) {
  const std::string detail = s.ToString();
  if (s.IsInvalidArgument() &&
      absl::StrContains(detail,
                        "does not exist (create_if_missing is false)")) {
    return absl::NotFoundError(fmt::format(
        "no orgsync state in folder '{}' and create_if_missing is false ({})",
        path, detail));
  }
  if (s.IsIOError() && absl::StrContains(detail, "lock ")) {
    // LevelDB guards a folder twice: an in-process table of locked files
    // ("already held by process") and an fcntl lock held by some other
    // process (EAGAIN, "Resource temporarily unavailable").
    const char* holder = absl::StrContains(detail, "already held by process")
                             ? "another open Storage in this process"
                             : "another process";
    return absl::FailedPreconditionError(
        fmt::format("state folder '{}' is in use by {}; only one Storage "
                    "at a time may open it ({})",
                    path, holder, detail));
  }
  if (s.IsCorruption()) {
    return absl::DataLossError(fmt::format(
        "the orgsync state in folder '{}' is corrupt and was not opened ({})",
        path, detail));
  }
  if (s.IsIOError() && absl::StrContains(detail, "Permission denied")) {
    return absl::PermissionDeniedError(fmt::format(
        "no permission to open the orgsync state in folder '{}' ({})", path,
        detail));
  }
  if (s.IsInvalidArgument()) {
    // The request was well formed; the folder holds a database that does not
    // fit the options (e.g. another comparator).
    return absl::FailedPreconditionError(fmt::format(
        "the database in folder '{}' cannot be opened with these options ({})",
        path, detail));
  }
  if (s.IsNotFound()) {
    return absl::NotFoundError(fmt::format(
        "a file of the orgsync state in folder '{}' is missing ({})", path,
        detail));
  }
  if (s.IsIOError()) {
    return absl::UnavailableError(
        fmt::format("I/O error opening the orgsync state in folder '{}' ({})",
                    path, detail));
  }
  return absl::InternalError(fmt::format(
      "cannot open the orgsync state in folder '{}' ({})", path, detail));
}

// Makes sure `path` is a folder LevelDB can use, creating it if allowed.
absl::Status PrepareFolder(const std::string& path, bool create_if_missing) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec && status.type() != fs::file_type::not_found) {
    return absl::FailedPreconditionError(fmt::format(
        "cannot inspect state folder '{}': {}", path, ec.message()));
  }
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) {
      return absl::FailedPreconditionError(
          fmt::format("state folder '{}' exists but is not a folder", path));
    }
    // LevelDB would answer this too, but only after writing its LOCK and
    // LOG files into the folder; a refused open should leave it as it was.
    if (!create_if_missing && !fs::exists(fs::path(path) / "CURRENT", ec)) {
      return absl::NotFoundError(fmt::format(
          "no orgsync state in folder '{}' and create_if_missing is false",
          path));
    }
    return absl::OkStatus();
  }
  if (!create_if_missing) {
    return absl::NotFoundError(fmt::format(
        "state folder '{}' does not exist and create_if_missing is false",
        path));
  }
  fs::create_directories(path, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        fmt::format("cannot create state folder '{}': {}", path, ec.message()));
  }
  return absl::OkStatus();
}

class LevelDbSnapshot final : public Snapshot {
 public:
  LevelDbSnapshot(leveldb::DB* db, const leveldb::Snapshot* snapshot)
      : db_(db), snapshot_(snapshot) {}
  ~LevelDbSnapshot() override { db_->ReleaseSnapshot(snapshot_); }

  const leveldb::DB* db() const { return db_; }
  const leveldb::Snapshot* get() const { return snapshot_; }

 private:
  leveldb::DB* const db_;
  const leveldb::Snapshot* const snapshot_;
};

class LevelDbIterator final : public StorageIterator {
 public:
  explicit LevelDbIterator(std::unique_ptr<leveldb::Iterator> it)
      : it_(std::move(it)) {}

  // LevelDB skips a block it cannot read and moves on, remembering the error
  // in status(); a caller that stops at !Valid() would then take a partial
  // scan for a complete one. Stopping at the first error makes it explicit.
  bool Valid() const override { return it_->Valid() && it_->status().ok(); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(std::string_view target) override { it_->Seek(ToSlice(target)); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  std::string_view key() const override { return FromSlice(it_->key()); }
  std::string_view value() const override { return FromSlice(it_->value()); }
  absl::Status status() const override {
    return FromLevelDb(it_->status(), "iterating over LevelDB storage");
  }

 private:
  std::unique_ptr<leveldb::Iterator> it_;
};

class LevelDbStorage final : public Storage {
 public:
  LevelDbStorage(std::string path, std::unique_ptr<leveldb::Cache> cache,
                 std::unique_ptr<const leveldb::FilterPolicy> filter,
                 std::unique_ptr<leveldb::DB> db)
      : path_(std::move(path)),
        cache_(std::move(cache)),
        filter_(std::move(filter)),
        db_(std::move(db)) {}

  absl::StatusOr<std::string> Get(std::string_view key,
                                  const ReadOptions& options) override {
    return internal::ValueOrNotFound(key, GetIfPresent(key, options));
  }

  absl::StatusOr<std::optional<std::string>> GetIfPresent(
      std::string_view key, const ReadOptions& options) override {
    ORGSYNC_ASSIGN_OR_RETURN(leveldb::ReadOptions read, ToLevelDb(options));
    std::string value;
    const leveldb::Status s = db_->Get(read, ToSlice(key), &value);
    if (s.IsNotFound()) return std::nullopt;
    // The message is formatted only on failure: a read is on every hot
    // path, and formatting the key costs more than a memtable hit.
    if (!s.ok()) {
      return FromLevelDb(s, fmt::format("reading key \"{}\" from '{}'",
                                        internal::KeyForMessage(key), path_));
    }
    return value;
  }

  absl::Status Write(const WriteBatch& batch,
                     const WriteOptions& options) override {
    leveldb::WriteBatch updates;
    for (const WriteBatch::Op& op : batch.ops()) {
      if (op.type == WriteBatch::OpType::kPut) {
        updates.Put(op.key, op.value);
      } else {
        updates.Delete(op.key);
      }
    }
    leveldb::WriteOptions write;
    write.sync = options.sync;
    const leveldb::Status s = db_->Write(write, &updates);
    if (s.ok()) return absl::OkStatus();
    return FromLevelDb(s,
                       fmt::format("writing a batch of {} operations to '{}'",
                                   batch.Count(), path_));
  }

  absl::StatusOr<std::unique_ptr<StorageIterator>> NewIterator(
      const ReadOptions& options) override {
    ORGSYNC_ASSIGN_OR_RETURN(leveldb::ReadOptions read, ToLevelDb(options));
    return std::unique_ptr<StorageIterator>(new LevelDbIterator(
        std::unique_ptr<leveldb::Iterator>(db_->NewIterator(read))));
  }

  absl::StatusOr<std::unique_ptr<const Snapshot>> GetSnapshot() override {
    return std::unique_ptr<const Snapshot>(
        new LevelDbSnapshot(db_.get(), db_->GetSnapshot()));
  }

 private:
  absl::StatusOr<leveldb::ReadOptions> ToLevelDb(
      const ReadOptions& options) const {
    leveldb::ReadOptions read;
    // orgsync's state is small next to what LevelDB is built for; checking
    // every block read turns silent bit rot into a DataLoss status.
    read.verify_checksums = true;
    if (options.snapshot != nullptr) {
      const auto* snapshot =
          dynamic_cast<const LevelDbSnapshot*>(options.snapshot);
      if (snapshot == nullptr || snapshot->db() != db_.get()) {
        return absl::InvalidArgumentError(fmt::format(
            "the snapshot does not belong to the LevelDB storage in '{}'",
            path_));
      }
      read.snapshot = snapshot->get();
    }
    return read;
  }

  const std::string path_;
  // Declared before db_ so that the database, which uses them, goes first.
  const std::unique_ptr<leveldb::Cache> cache_;
  const std::unique_ptr<const leveldb::FilterPolicy> filter_;
  const std::unique_ptr<leveldb::DB> db_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Storage>> OpenLevelDbStorage(
    const std::string& path, const LevelDbStorageOptions& options) {
  return internal::OpenLevelDbStorageWithEnv(path, options, nullptr);
}

absl::StatusOr<std::unique_ptr<Storage>> internal::OpenLevelDbStorageWithEnv(
    const std::string& path, const LevelDbStorageOptions& options,
    leveldb::Env* env) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        "OpenLevelDbStorage: the state folder path is empty");
  }
  for (const auto& [name, bits] :
       {std::pair<const char*, int>{"bloom_filter_bits_per_key",
                                    options.bloom_filter_bits_per_key},
        {"sync_state_filter_bits_per_key",
         options.sync_state_filter_bits_per_key}}) {
    if (bits < 0 || bits > kMaxBloomFilterBitsPerKey) {
      return absl::InvalidArgumentError(
          fmt::format("OpenLevelDbStorage: {} is {}, not in 0..{}", name,
                      bits, kMaxBloomFilterBitsPerKey));
    }
  }
  if (options.block_bytes < kMinBlockBytes ||
      options.block_bytes > kMaxBlockBytes) {
    return absl::InvalidArgumentError(fmt::format(
        "OpenLevelDbStorage: block_bytes is {}, not in {}..{}",
        options.block_bytes, kMinBlockBytes, kMaxBlockBytes));
  }
  ORGSYNC_RETURN_IF_ERROR(PrepareFolder(path, options.create_if_missing));

  leveldb::Options open;
  open.create_if_missing = options.create_if_missing;
  // Fail on the first sign of damage instead of silently skipping it:
  // orgsync would rather stop than replicate from a state it cannot trust.
  open.paranoid_checks = true;
  std::unique_ptr<leveldb::Cache> cache;
  if (options.block_cache_bytes > 0) {
    cache.reset(leveldb::NewLRUCache(options.block_cache_bytes));
    open.block_cache = cache.get();
  }
  if (options.write_buffer_bytes > 0) {
    open.write_buffer_size = options.write_buffer_bytes;
  }
  open.block_size = options.block_bytes;
  std::unique_ptr<const leveldb::FilterPolicy> filter;
  if (options.bloom_filter_bits_per_key > 0) {
    filter.reset(
        leveldb::NewBloomFilterPolicy(options.bloom_filter_bits_per_key));
  } else if (options.sync_state_filter_bits_per_key > 0) {
    filter = internal::NewScopedBloomFilterPolicy(
        std::string(internal::kSyncStateKeyPrefix),
        options.sync_state_filter_bits_per_key);
  }
  open.filter_policy = filter.get();
  open.compression = options.compress_tables ? leveldb::kSnappyCompression
                                             : leveldb::kNoCompression;
  if (env != nullptr) {
    open.env = env;
  } else if (!options.mmap_reads) {
    open.env = internal::PreadEnv();
  }

  leveldb::DB* db = nullptr;
  const leveldb::Status s = leveldb::DB::Open(open, path, &db);
  if (!s.ok()) return OpenError(path, s);
  return std::unique_ptr<Storage>(
      new LevelDbStorage(path, std::move(cache), std::move(filter),
                         std::unique_ptr<leveldb::DB>(db)));
}

}  // namespace orgsync
