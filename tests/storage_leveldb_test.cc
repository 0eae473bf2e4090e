// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// What only the LevelDB storage has: a folder on disk, its lock, its files
// that can be damaged, and a process that can die while writing. The shared
// behaviour is in storage_contract_test.cc.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "fmt/core.h"
#include "leveldb/env.h"
#include "leveldb/slice.h"
#include "leveldb/status.h"
#include "orgsync/storage.h"
#include "storage/pread_env.h"
#include "testing/temp_dir.h"

namespace orgsync::storage_leveldb_test {
namespace {

namespace fs = std::filesystem;
using ::orgsync::testing::TempDir;

#define CHECK_OK(expr) CHECK((expr) == ::absl::OkStatus())
#define REQUIRE_OK(expr) REQUIRE((expr) == ::absl::OkStatus())

constexpr WriteOptions kSync{.sync = true};
constexpr WriteOptions kNoSync{.sync = false};

std::unique_ptr<Storage> MustOpen(const std::string& path,
                                  const LevelDbStorageOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<Storage>> opened =
      OpenLevelDbStorage(path, options);
  REQUIRE(opened.status() == absl::OkStatus());
  return std::move(opened).value();
}

// A database in `path` holding keys k0..k<n-1>, closed again.
void MakeDatabase(const std::string& path, int n) {
  std::unique_ptr<Storage> storage = MustOpen(path);
  WriteBatch batch;
  for (int i = 0; i < n; ++i) {
    batch.Put(fmt::format("k{}", i), std::string(100, 'a' + i % 26));
  }
  REQUIRE_OK(storage->Write(batch, kSync));
}

void WriteFile(const fs::path& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  REQUIRE(out.good());
}

std::vector<fs::path> FilesStartingWith(const std::string& folder,
                                        const std::string& start) {
  std::vector<fs::path> found;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    if (entry.path().filename().string().rfind(start, 0) == 0) {
      found.push_back(entry.path());
    }
  }
  return found;
}

// Status codes travel from a child process as its exit code; 100 and up
// mean the child failed before it could report one.
int ExitCodeFor(const absl::Status& status) {
  return static_cast<int>(status.code());
}
constexpr int kChildSetupFailed = 100;

int WaitForExitCode(pid_t child) {
  int wstatus = 0;
  REQUIRE(::waitpid(child, &wstatus, 0) == child);
  REQUIRE(WIFEXITED(wstatus));
  return WEXITSTATUS(wstatus);
}

TEST_CASE("Storage LevelDB: an empty path is InvalidArgument", "[storage]") {
  absl::Status status = OpenLevelDbStorage("").status();
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(status.message()), Catch::Contains("empty"));
}

TEST_CASE("Storage LevelDB: opening creates the folder and its parents",
          "[storage]") {
  TempDir dir;
  const std::string path = dir.Sub("a/b/state");
  {
    std::unique_ptr<Storage> storage = MustOpen(path);
    REQUIRE_OK(storage->Put("k", "v", kSync));
  }
  CHECK(fs::is_directory(path));
  CHECK(fs::exists(fs::path(path) / "CURRENT"));
  CHECK(MustOpen(path)->Get("k").value_or("") == "v");
}

TEST_CASE("Storage LevelDB: a path that is a file is refused", "[storage]") {
  TempDir dir;
  const std::string file = dir.Sub("plain-file");
  WriteFile(file, "not a database");
  absl::Status status = OpenLevelDbStorage(file).status();
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(status.message()), Catch::Contains(file));
  CHECK_THAT(std::string(status.message()), Catch::Contains("not a folder"));

  // A file where a parent folder should be: the folder cannot be created.
  const std::string below_file = file + "/state";
  status = OpenLevelDbStorage(below_file).status();
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(status.message()), Catch::Contains(below_file));
  // Nothing was changed.
  CHECK(fs::is_regular_file(file));
  CHECK(fs::file_size(file) == 14);
}

TEST_CASE(
    "Storage LevelDB: create_if_missing false on a missing database is "
    "NotFound",
    "[storage]") {
  TempDir dir;
  const LevelDbStorageOptions no_create{.create_if_missing = false};

  SECTION("empty folder") {
    absl::Status status =
        OpenLevelDbStorage(dir.path().string(), no_create).status();
    CHECK(status.code() == absl::StatusCode::kNotFound);
    CHECK_THAT(std::string(status.message()),
               Catch::Contains(dir.path().string()));
    CHECK(fs::is_empty(dir.path()));
  }
  SECTION("missing folder") {
    const std::string path = dir.Sub("missing");
    absl::Status status = OpenLevelDbStorage(path, no_create).status();
    CHECK(status.code() == absl::StatusCode::kNotFound);
    CHECK_THAT(std::string(status.message()), Catch::Contains(path));
    CHECK_FALSE(fs::exists(path));
  }
  SECTION("an existing database opens") {
    MakeDatabase(dir.Sub("db"), 3);
    std::unique_ptr<Storage> storage = MustOpen(dir.Sub("db"), no_create);
    CHECK(storage->Get("k2").ok());
  }
}

TEST_CASE("Storage LevelDB: a second open in this process is refused",
          "[storage]") {
  TempDir dir;
  const std::string path = dir.Sub("state");
  std::unique_ptr<Storage> first = MustOpen(path);
  REQUIRE_OK(first->Put("k", "v", kNoSync));

  absl::Status second = OpenLevelDbStorage(path).status();
  INFO(second.ToString());
  CHECK(second.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(second.message()), Catch::Contains(path));
  CHECK_THAT(std::string(second.message()),
             Catch::Contains("in use by another open Storage in this process"));
  // The refused open disturbed nothing.
  CHECK(first->Get("k").value_or("") == "v");
  REQUIRE_OK(first->Put("k2", "v2", kNoSync));

  first.reset();
  std::unique_ptr<Storage> again = MustOpen(path);
  CHECK(again->Get("k2").value_or("") == "v2");
}

TEST_CASE("Storage LevelDB: a folder held by another process is refused",
          "[storage]") {
  TempDir dir;
  const std::string path = dir.Sub("state");
  int ready[2];
  int release[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(release) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child holds the folder until the parent closes `release`.
    ::close(ready[0]);
    ::close(release[1]);
    absl::StatusOr<std::unique_ptr<Storage>> held = OpenLevelDbStorage(path);
    const char code = static_cast<char>(ExitCodeFor(held.status()));
    if (::write(ready[1], &code, 1) != 1) ::_exit(kChildSetupFailed);
    char ignored;
    while (::read(release[0], &ignored, 1) > 0) {
    }
    held = absl::CancelledError("closing");  // closes the database
    ::_exit(0);
  }
  ::close(ready[1]);
  ::close(release[0]);
  char child_open = -1;
  const bool got_report = ::read(ready[0], &child_open, 1) == 1;
  ::close(ready[0]);

  const absl::Status while_held = OpenLevelDbStorage(path).status();
  ::close(release[1]);
  const int child_exit = WaitForExitCode(child);

  REQUIRE(got_report);
  REQUIRE(child_open == 0);
  CHECK(child_exit == 0);
  INFO(while_held.ToString());
  CHECK(while_held.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(while_held.message()), Catch::Contains(path));
  CHECK_THAT(std::string(while_held.message()),
             Catch::Contains("in use by another process"));
  // Once the child is gone the folder is free.
  CHECK(OpenLevelDbStorage(path).ok());
}

TEST_CASE(
    "Storage LevelDB: a child process cannot open a folder its parent "
    "holds",
    "[storage]") {
  TempDir dir;
  const std::string path = dir.Sub("state");
  std::unique_ptr<Storage> held = MustOpen(path);
  REQUIRE_OK(held->Put("k", "v", kSync));
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The exit code tells the parent which status the open returned; the
    // child must not close the parent's database, so it leaves with _exit.
    absl::StatusOr<std::unique_ptr<Storage>> second = OpenLevelDbStorage(path);
    ::_exit(ExitCodeFor(second.status()));
  }
  CHECK(WaitForExitCode(child) ==
        static_cast<int>(absl::StatusCode::kFailedPrecondition));
  CHECK(held->Get("k").value_or("") == "v");
}

TEST_CASE("Storage LevelDB: a corrupt database is DataLoss", "[storage]") {
  TempDir dir;
  const std::string path = dir.Sub("state");
  MakeDatabase(path, 50);
  const fs::path folder(path);

  SECTION("garbage CURRENT") {
    WriteFile(folder / "CURRENT", "\x01\x02garbage without newline");
  }
  SECTION("CURRENT names a missing MANIFEST") {
    WriteFile(folder / "CURRENT", "MANIFEST-999999\n");
  }
  SECTION("garbage MANIFEST") {
    const std::vector<fs::path> manifests =
        FilesStartingWith(path, "MANIFEST-");
    REQUIRE(manifests.size() == 1);
    WriteFile(manifests[0], std::string(4096, '\x5a'));
  }
  SECTION("damaged write-ahead log") {
    // The records written above are still only in the log: overwrite its
    // middle so the checksums no longer match.
    std::vector<fs::path> logs;
    for (const fs::directory_entry& entry : fs::directory_iterator(path)) {
      if (entry.path().extension() == ".log" && fs::file_size(entry) > 0) {
        logs.push_back(entry.path());
      }
    }
    REQUIRE(logs.size() == 1);
    std::fstream log(logs[0], std::ios::binary | std::ios::in | std::ios::out);
    log.seekp(100);
    log << std::string(200, '\x33');
    REQUIRE(log.good());
  }

  const absl::Status status = OpenLevelDbStorage(path).status();
  INFO(status.ToString());
  CHECK(status.code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(status.message()), Catch::Contains(path));
  CHECK_THAT(std::string(status.message()), Catch::Contains("corrupt"));
}

TEST_CASE("Storage LevelDB: a damaged table file reads as DataLoss",
          "[storage]") {
  TempDir dir;
  const std::string path = dir.Sub("state");
  MakeDatabase(path, 200);
  // Reopening moves the log's records into a table file.
  MustOpen(path).reset();
  const std::vector<fs::path> tables = [&] {
    std::vector<fs::path> found;
    for (const fs::directory_entry& entry : fs::directory_iterator(path)) {
      if (entry.path().extension() == ".ldb") found.push_back(entry.path());
    }
    return found;
  }();
  REQUIRE(tables.size() == 1);
  {
    std::fstream table(tables[0],
                       std::ios::binary | std::ios::in | std::ios::out);
    table.seekp(10);  // inside the first data block
    table << std::string(16, '\x77');
    REQUIRE(table.good());
  }
  std::unique_ptr<Storage> storage = MustOpen(path);
  CHECK(storage->Get("k0").status().code() == absl::StatusCode::kDataLoss);
  auto it = storage->NewIterator();
  REQUIRE_OK(it.status());
  (*it)->SeekToFirst();
  CHECK_FALSE((*it)->Valid());
  CHECK((*it)->status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("Storage LevelDB: unsynced writes survive a clean close",
          "[storage]") {
  TempDir dir;
  const std::string path = dir.Sub("state");
  {
    std::unique_ptr<Storage> storage = MustOpen(path);
    REQUIRE_OK(storage->Put("a", "1", kNoSync));
    WriteBatch batch;
    batch.Put("b", "2");
    batch.Delete("a");
    batch.Put("c", "3");
    REQUIRE_OK(storage->Write(batch, kNoSync));
  }
  std::unique_ptr<Storage> storage = MustOpen(path);
  CHECK(storage->Get("a").status().code() == absl::StatusCode::kNotFound);
  CHECK(storage->Get("b").value_or("") == "2");
  CHECK(storage->Get("c").value_or("") == "3");
}

TEST_CASE("Storage LevelDB: a killed writer leaves whole batches in order",
          "[storage]") {
  TempDir dir;
  const std::string path = dir.Sub("state");
  constexpr int kBatches = 300;
  constexpr int kKeysPerBatch = 10;
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    absl::StatusOr<std::unique_ptr<Storage>> storage = OpenLevelDbStorage(path);
    if (!storage.ok()) ::_exit(kChildSetupFailed);
    for (int b = 0; b < kBatches; ++b) {
      WriteBatch batch;
      for (int k = 0; k < kKeysPerBatch; ++k) {
        batch.Put(fmt::format("b/{:04d}/{}", b, k), "x");
      }
      batch.Put("last", fmt::format("{:04d}", b));
      if (!(*storage)->Write(batch, WriteOptions{.sync = b % 50 == 49}).ok()) {
        ::_exit(kChildSetupFailed + 1);
      }
    }
    // Dies without closing anything, as kill -9 would.
    ::raise(SIGKILL);
    ::_exit(kChildSetupFailed + 2);
  }
  int wstatus = 0;
  REQUIRE(::waitpid(child, &wstatus, 0) == child);
  REQUIRE(WIFSIGNALED(wstatus));
  REQUIRE(WTERMSIG(wstatus) == SIGKILL);

  std::unique_ptr<Storage> storage = MustOpen(path);
  absl::StatusOr<std::string> last = storage->Get("last");
  REQUIRE_OK(last.status());
  const int last_batch = std::stoi(*last);
  // Synced batches are surely there; a process crash (unlike a power loss)
  // also keeps every batch the OS already took.
  CHECK(last_batch == kBatches - 1);
  for (int b = 0; b < kBatches; ++b) {
    auto it = storage->NewIterator();
    REQUIRE_OK(it.status());
    const std::string prefix = fmt::format("b/{:04d}/", b);
    int found = 0;
    for ((*it)->Seek(prefix);
         (*it)->Valid() && (*it)->key().substr(0, prefix.size()) == prefix;
         (*it)->Next()) {
      ++found;
    }
    const int expected = b <= last_batch ? kKeysPerBatch : 0;
    if (found != expected) {
      FAIL("batch " << b << " has " << found << " of its keys, expected "
                    << expected);
    }
  }
}

TEST_CASE("Storage LevelDB: small cache and write buffer options work",
          "[storage]") {
  TempDir dir;
  const std::string path = dir.Sub("state");
  const LevelDbStorageOptions small{.block_cache_bytes = 64 * 1024,
                                    .write_buffer_bytes = 64 * 1024};
  constexpr int kKeys = 3000;
  {
    std::unique_ptr<Storage> storage = MustOpen(path, small);
    // About 600 KB through a 64 KB write buffer: several table files.
    for (int i = 0; i < kKeys; ++i) {
      REQUIRE_OK(storage->Put(fmt::format("k{:05d}", i),
                              std::string(200, 'a' + i % 26), kNoSync));
    }
  }
  std::unique_ptr<Storage> storage = MustOpen(path, small);
  auto it = storage->NewIterator();
  REQUIRE_OK(it.status());
  int count = 0;
  for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next()) ++count;
  CHECK_OK((*it)->status());
  CHECK(count == kKeys);
  CHECK(storage->Get("k02999").value_or("") ==
        std::string(200, 'a' + 2999 % 26));
}

std::string ValueFor(int i) {
  // Differs per key and is not compressible to nothing, so that the tables
  // hold many blocks and a misplaced read shows as a wrong value.
  return fmt::format("{:08d}", i * 7919) + std::string(150, 'a' + i % 26);
}

std::vector<fs::path> TableFiles(const std::string& folder) {
  std::vector<fs::path> found;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() == ".ldb") found.push_back(entry.path());
  }
  return found;
}

TEST_CASE(
    "Storage LevelDB: data compacted into table files reads back with "
    "pread and with mmap",
    "[storage]") {
  TempDir dir;
  const std::string path = dir.Sub("state");
  // A 64 KB write buffer turns about 1.6 MB into many tables, and overwrites
  // and deletes give the background compaction work to do.
  const LevelDbStorageOptions small_buffer{.write_buffer_bytes = 64 * 1024};
  constexpr int kKeys = 10000;
  {
    std::unique_ptr<Storage> storage = MustOpen(path, small_buffer);
    for (int i = 0; i < kKeys; i += 100) {
      WriteBatch batch;
      for (int k = i; k < i + 100; ++k) {
        batch.Put(fmt::format("k{:05d}", k), "old");
      }
      REQUIRE_OK(storage->Write(batch, kNoSync));
    }
    for (int i = 0; i < kKeys; i += 100) {
      WriteBatch batch;
      for (int k = i; k < i + 100; ++k) {
        if (k % 10 == 3) {
          batch.Delete(fmt::format("k{:05d}", k));
        } else {
          batch.Put(fmt::format("k{:05d}", k), ValueFor(k));
        }
      }
      REQUIRE_OK(storage->Write(batch, kNoSync));
    }
  }
  REQUIRE(TableFiles(path).size() > 3);

  const bool mmap_reads = GENERATE(false, true);
  INFO("mmap_reads " << mmap_reads);
  LevelDbStorageOptions options = small_buffer;
  options.mmap_reads = mmap_reads;
  // A small block cache makes reads go to the files again and again.
  options.block_cache_bytes = 16 * 1024;
  std::unique_ptr<Storage> storage = MustOpen(path, options);
  auto it = storage->NewIterator();
  REQUIRE_OK(it.status());
  int next = 0;
  int count = 0;
  for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next(), ++next, ++count) {
    if (next % 10 == 3) ++next;
    const std::string key = fmt::format("k{:05d}", next);
    if ((*it)->key() != key || (*it)->value() != ValueFor(next)) {
      FAIL("entry " << count << " is " << std::string((*it)->key())
                    << ", expected " << key << " with its value");
    }
  }
  CHECK_OK((*it)->status());
  CHECK(count == kKeys - kKeys / 10);
  // Point reads, backwards, each a fresh lookup through the table files.
  for (int i = kKeys - 1; i >= 0; i -= 37) {
    absl::StatusOr<std::string> value = storage->Get(fmt::format("k{:05d}", i));
    if (i % 10 == 3) {
      CHECK(value.status().code() == absl::StatusCode::kNotFound);
    } else if (value.value_or("") != ValueFor(i)) {
      FAIL("k" << i << ": " << value.status() << " " << value.value_or(""));
    }
  }
}

// Keys "k00000", "k00001", ... up to `keys`, written in batches of 100,
// each holding value_for(its number).
void WriteNumberedKeys(Storage& storage, int keys,
                       const std::function<std::string(int)>& value_for) {
  for (int i = 0; i < keys; i += 100) {
    WriteBatch batch;
    for (int k = i; k < i + 100 && k < keys; ++k) {
      batch.Put(fmt::format("k{:05d}", k), value_for(k));
    }
    REQUIRE_OK(storage.Write(batch, kNoSync));
  }
}

// Every `step`-th key of WriteNumberedKeys reads back its value.
void CheckNumberedKeys(Storage& storage, int keys, int step,
                       const std::function<std::string(int)>& value_for,
                       const std::string& where) {
  for (int k = 0; k < keys; k += step) {
    absl::StatusOr<std::string> value = storage.Get(fmt::format("k{:05d}", k));
    if (value.value_or("") != value_for(k)) {
      FAIL(where << " k" << k << ": " << value.status());
    }
  }
}

uintmax_t TableBytes(const std::string& folder) {
  uintmax_t bytes = 0;
  for (const fs::path& table : TableFiles(folder)) {
    bytes += fs::file_size(table);
  }
  return bytes;
}

TEST_CASE(
    "Storage LevelDB: tables are compressed only when asked, and read back "
    "under either setting",
    "[storage]") {
  TempDir dir;
  constexpr int kKeys = 2000;
  // Compressible values: what snappy shrinks, if it runs.
  auto value_for = [](int k) { return std::string(200, 'a' + k % 3); };
  auto write = [&](const std::string& path, bool compress) {
    std::unique_ptr<Storage> storage = MustOpen(
        path, {.write_buffer_bytes = 64 * 1024, .compress_tables = compress});
    WriteNumberedKeys(*storage, kKeys, value_for);
  };
  const std::string plain = dir.Sub("plain");
  const std::string packed = dir.Sub("packed");
  write(plain, false);
  write(packed, true);
  REQUIRE_FALSE(TableFiles(plain).empty());
  REQUIRE_FALSE(TableFiles(packed).empty());
  CHECK(TableBytes(packed) * 2 < TableBytes(plain));
  for (const auto& [path, read_compressed] :
       {std::pair{plain, true}, std::pair{packed, false}}) {
    std::unique_ptr<Storage> storage =
        MustOpen(path, {.compress_tables = read_compressed});
    CheckNumberedKeys(*storage, kKeys, 13, value_for, path);
  }
}

TEST_CASE(
    "Storage LevelDB: block_bytes sizes the table blocks, tables of one "
    "block size read back under another, and a size out of range is "
    "InvalidArgument before anything is created",
    "[storage]") {
  TempDir dir;
  constexpr int kKeys = 3000;
  auto value_for = [](int k) { return fmt::format("{:0200d}", k * 7919); };
  auto write = [&](const std::string& path, size_t block_bytes) {
    std::unique_ptr<Storage> storage = MustOpen(
        path, {.write_buffer_bytes = 64 * 1024, .block_bytes = block_bytes});
    WriteNumberedKeys(*storage, kKeys, value_for);
    // What a close left in the log (how much depends on when the last
    // memtable flush ran) goes into a table when the database opens again.
    storage.reset();
    MustOpen(path, {.block_bytes = block_bytes}).reset();
  };
  const std::string small = dir.Sub("small");
  const std::string large = dir.Sub("large");
  write(small, 1024);
  write(large, 64 * 1024);
  REQUIRE_FALSE(TableFiles(small).empty());
  REQUIRE_FALSE(TableFiles(large).empty());
  // The same data in some 600 blocks instead of about ten: an index entry
  // and a checksum trailer more per block, some 10 KiB in all -- far more
  // than the fixed cost of a table, should the two folders' data be split
  // into different numbers of tables.
  CHECK(TableBytes(small) > TableBytes(large) + 4096);
  for (const auto& [path, read_block_bytes] :
       {std::pair{small, size_t{64} * 1024}, std::pair{large, size_t{1024}},
        std::pair{small, LevelDbStorageOptions().block_bytes}}) {
    std::unique_ptr<Storage> storage =
        MustOpen(path, {.block_bytes = read_block_bytes});
    CheckNumberedKeys(*storage, kKeys, 7, value_for, path);
  }

  for (size_t bad : {size_t{0}, size_t{1023}, (size_t{4} << 20) + 1}) {
    const std::string path = dir.Sub(fmt::format("bad{}", bad));
    absl::StatusOr<std::unique_ptr<Storage>> refused =
        OpenLevelDbStorage(path, {.block_bytes = bad});
    CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(refused.status().message(), "block_bytes"));
    CHECK_FALSE(fs::exists(path));
  }
}

TEST_CASE(
    "Storage LevelDB: a table file lost while open is an I/O error, not a "
    "missing key",
    "[storage]") {
  TempDir dir;
  const std::string path = dir.Sub("state");
  MakeDatabase(path, 200);
  MustOpen(path).reset();  // moves the log's records into a table file
  std::unique_ptr<Storage> storage = MustOpen(path);
  const std::vector<fs::path> tables = TableFiles(path);
  REQUIRE(tables.size() == 1);
  // No read has opened the table yet, so its removal is seen.
  fs::remove(tables[0]);
  const absl::Status status = storage->Get("k0").status();
  INFO(status.ToString());
  CHECK(status.code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(status.message()),
             Catch::Contains(tables[0].filename().string()));
}

// The pread Env on its own, for what a database hardly ever hits: reads at
// the end of a file, files opened per read, concurrent readers.
TEST_CASE("Storage LevelDB: the pread Env reads files exactly", "[storage][threads]") {
  TempDir dir;
  const std::string name = dir.Sub("table");
  std::string contents;
  for (int i = 0; contents.size() < 300000; ++i) {
    contents += fmt::format("{:07d}|", i);
  }
  WriteFile(name, contents);

  const int budget = GENERATE(1, 0);
  INFO("descriptor budget " << budget);
  std::unique_ptr<leveldb::Env> env = internal::NewPreadEnv(budget);
  leveldb::RandomAccessFile* raw = nullptr;
  REQUIRE(env->NewRandomAccessFile(name, &raw).ok());
  std::unique_ptr<leveldb::RandomAccessFile> file(raw);

  auto read = [&](uint64_t offset, size_t n) {
    std::string scratch(n, '\0');
    leveldb::Slice result;
    const leveldb::Status s = file->Read(offset, n, &result, scratch.data());
    REQUIRE(s.ok());
    return result.ToString();
  };
  CHECK(read(0, 16) == contents.substr(0, 16));
  CHECK(read(123457, 70000) == contents.substr(123457, 70000));
  CHECK(read(0, contents.size()) == contents);
  // At the end a read returns what there is, and past it nothing.
  CHECK(read(contents.size() - 5, 100) == contents.substr(contents.size() - 5));
  CHECK(read(contents.size() + 10, 100).empty());

  // LevelDB reads one table from several threads at once.
  std::vector<std::thread> readers;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      std::string scratch(4096, '\0');
      for (int i = 0; i < 500; ++i) {
        const uint64_t offset = (t * 7919 + i * 104729) % contents.size();
        leveldb::Slice result;
        if (!file->Read(offset, scratch.size(), &result, scratch.data()).ok() ||
            result.ToString() != contents.substr(offset, scratch.size())) {
          ++wrong[t];
        }
      }
    });
  }
  for (std::thread& reader : readers) reader.join();
  CHECK(wrong == std::vector<int>(4, 0));

  if (budget == 0) {
    // Without a descriptor of its own the file is opened per read, so its
    // removal shows on the next read, naming the file.
    fs::remove(name);
    std::string scratch(10, '\0');
    leveldb::Slice result;
    const leveldb::Status s = file->Read(0, 10, &result, scratch.data());
    CHECK(s.IsIOError());
    CHECK_THAT(s.ToString(), Catch::Contains(name));
  }
}

TEST_CASE("Storage LevelDB: the pread Env reports a missing file by name",
          "[storage]") {
  TempDir dir;
  const std::string name = dir.Sub("missing.ldb");
  leveldb::RandomAccessFile* file = nullptr;
  const leveldb::Status s =
      internal::PreadEnv()->NewRandomAccessFile(name, &file);
  CHECK(file == nullptr);
  CHECK(s.IsIOError());
  CHECK_THAT(s.ToString(), Catch::Contains(name));
  CHECK_THAT(s.ToString(), Catch::Contains("No such file"));
}

}  // namespace
}  // namespace orgsync::storage_leveldb_test
