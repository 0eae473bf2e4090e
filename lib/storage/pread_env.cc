// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "storage/pread_env.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "fmt/core.h"
#include "leveldb/slice.h"
#include "leveldb/status.h"

namespace orgsync::internal {
namespace {

// Every error is an IOError, even a missing file: DB::Get reports a
// NotFound from a table read as "no such key", which would hide a lost
// table file behind a missing value.
leveldb::Status ReadError(const std::string& name, std::string_view what,
                          int error) {
  return leveldb::Status::IOError(
      name, fmt::format("{}: {}", what, std::strerror(error)));
}

int OpenForReading(const std::string& name) {
  int fd;
  do {
    fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

void CloseFd(int fd) {
  // A close interrupted by a signal has still released the descriptor on
  // Linux; retrying could close one another thread just opened.
  ::close(fd);
}

// How many table files may keep a descriptor open for their whole life.
// LevelDB's table cache keeps up to max_open_files tables open; the host
// needs descriptors too, so past this share a file is opened per read.
class DescriptorBudget {
 public:
  explicit DescriptorBudget(int size) : left_(size) {}

  bool TryTake() {
    int left = left_.load(std::memory_order_relaxed);
    while (left > 0) {
      if (left_.compare_exchange_weak(left, left - 1,
                                      std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }
  void Give() { left_.fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<int> left_;
};

int DefaultDescriptorBudget() {
  constexpr int kWithoutLimit = 1000;
  rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 50;
  if (limit.rlim_cur == RLIM_INFINITY) return kWithoutLimit;
  // A fifth leaves most descriptors to the host and the rest of LevelDB.
  const rlim_t share = limit.rlim_cur / 5;
  return share > static_cast<rlim_t>(kWithoutLimit) ? kWithoutLimit
                                                    : static_cast<int>(share);
}

class PreadFile final : public leveldb::RandomAccessFile {
 public:
  // `fd` is the file's open descriptor, taken from `budget`, or -1 to open
  // the file for each read.
  PreadFile(std::string name, int fd, DescriptorBudget* budget)
      : name_(std::move(name)), fd_(fd), budget_(budget) {}

  ~PreadFile() override {
    if (fd_ >= 0) {
      CloseFd(fd_);
      budget_->Give();
    }
  }

  leveldb::Status Read(uint64_t offset, size_t n, leveldb::Slice* result,
                       char* scratch) const override {
    *result = leveldb::Slice(scratch, 0);
    int fd = fd_;
    if (fd < 0) {
      fd = OpenForReading(name_);
      if (fd < 0) return ReadError(name_, "open for reading", errno);
    }
    // pread may return fewer bytes than asked for before the end of the
    // file; only a 0 means the end.
    size_t done = 0;
    int error = 0;
    while (done < n) {
      const ssize_t got = ::pread(fd, scratch + done, n - done,
                                  static_cast<off_t>(offset + done));
      if (got < 0) {
        if (errno == EINTR) continue;
        error = errno;
        break;
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    if (fd != fd_) CloseFd(fd);
    if (error != 0) {
      return ReadError(name_,
                       fmt::format("reading {} bytes at offset {}", n, offset),
                       error);
    }
    // A short result at the end of the file is not an error here; the
    // table reader checks block sizes and reports truncation as corruption.
    *result = leveldb::Slice(scratch, done);
    return leveldb::Status::OK();
  }

 private:
  const std::string name_;
  const int fd_;
  DescriptorBudget* const budget_;
};

class PreadEnvImpl final : public leveldb::EnvWrapper {
 public:
  explicit PreadEnvImpl(int descriptor_budget)
      : EnvWrapper(leveldb::Env::Default()), budget_(descriptor_budget) {}

  leveldb::Status NewRandomAccessFile(
      const std::string& name, leveldb::RandomAccessFile** result) override {
    *result = nullptr;
    const int fd = OpenForReading(name);
    if (fd < 0) return ReadError(name, "open for reading", errno);
    if (budget_.TryTake()) {
      *result = new PreadFile(name, fd, &budget_);
    } else {
      // The open above still proved the file is there and readable, so a
      // missing table file is reported now rather than at its first read.
      CloseFd(fd);
      *result = new PreadFile(name, -1, &budget_);
    }
    return leveldb::Status::OK();
  }

 private:
  DescriptorBudget budget_;
};

}  // namespace

leveldb::Env* PreadEnv() {
  // Leaked on purpose: LevelDB calls its Env until the last database is
  // closed, which may happen during static destruction.
  static leveldb::Env* const env = new PreadEnvImpl(DefaultDescriptorBudget());
  return env;
}

std::unique_ptr<leveldb::Env> NewPreadEnv(int descriptor_budget) {
  return std::make_unique<PreadEnvImpl>(descriptor_budget);
}

}  // namespace orgsync::internal
