// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "node/power_loss_env.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace orgsync::node {
namespace {

std::string FolderOf(const std::string& fname) {
  return std::filesystem::path(fname).parent_path().string();
}

bool IsManifest(const std::string& fname) {
  return std::filesystem::path(fname).filename().string().rfind("MANIFEST",
                                                                0) == 0;
}

}  // namespace

struct PowerLossEnv::State {
  struct FileState {
    uint64_t written = 0;  // bytes appended through this Env
    uint64_t synced = 0;   // of those, made durable by Sync
    // The folder entry survives a power cut: the folder was synced after
    // the file was made (or the file existed before).
    bool entry_durable = false;
  };

  std::mutex mu;
  std::map<std::string, FileState> files;  // guarded by mu
  // Set by PowerLossAtNextWrite: the next Append cuts the power.
  std::atomic<bool> armed{false};
  int exit_code = 0;  // guarded by mu

  // Does the cut; `mu` must be held (and is never released).
  [[noreturn]] void CutAndExit();
};

namespace {

// Counts what passes through and what was synced; the bytes go to the
// default Env's file underneath.
class TrackedFile final : public leveldb::WritableFile {
 public:
  TrackedFile(PowerLossEnv::State* state, std::string fname,
              leveldb::WritableFile* target)
      : state_(state), fname_(std::move(fname)), target_(target) {}

  leveldb::Status Append(const leveldb::Slice& data) override {
    std::lock_guard<std::mutex> lock(state_->mu);
    leveldb::Status s = target_->Append(data);
    if (s.ok()) state_->files[fname_].written += data.size();
    // LevelDB buffers appends; what it handed over must reach the file
    // for the cut to have something unsynced to drop.
    if (state_->armed.load() && target_->Flush().ok()) state_->CutAndExit();
    return s;
  }
  leveldb::Status Close() override {
    std::lock_guard<std::mutex> lock(state_->mu);
    return target_->Close();
  }
  leveldb::Status Flush() override {
    std::lock_guard<std::mutex> lock(state_->mu);
    return target_->Flush();
  }
  leveldb::Status Sync() override {
    std::lock_guard<std::mutex> lock(state_->mu);
    leveldb::Status s = target_->Sync();
    if (!s.ok()) return s;
    auto& file = state_->files[fname_];
    file.synced = file.written;
    if (IsManifest(fname_)) {
      // The default Env syncs the folder with a MANIFEST: every entry in
      // it is durable from now on.
      const std::string folder = FolderOf(fname_);
      for (auto& [name, other] : state_->files) {
        if (FolderOf(name) == folder) other.entry_durable = true;
      }
    }
    return s;
  }

 private:
  PowerLossEnv::State* const state_;
  const std::string fname_;
  const std::unique_ptr<leveldb::WritableFile> target_;
};

}  // namespace

PowerLossEnv::PowerLossEnv()
    : leveldb::EnvWrapper(leveldb::Env::Default()),
      state_(std::make_unique<State>()) {}

PowerLossEnv::~PowerLossEnv() = default;

leveldb::Status PowerLossEnv::NewWritableFile(const std::string& fname,
                                              leveldb::WritableFile** result) {
  leveldb::WritableFile* file = nullptr;
  std::lock_guard<std::mutex> lock(state_->mu);
  const bool existed = target()->FileExists(fname);
  leveldb::Status s = target()->NewWritableFile(fname, &file);
  if (!s.ok()) return s;
  // A file made anew (or truncated) holds nothing durable; its entry is
  // durable only if it existed before.
  State::FileState& state = state_->files[fname];
  state = State::FileState{.written = 0, .synced = 0, .entry_durable = existed};
  *result = new TrackedFile(state_.get(), fname, file);
  return s;
}

leveldb::Status PowerLossEnv::NewAppendableFile(
    const std::string& fname, leveldb::WritableFile** result) {
  leveldb::WritableFile* file = nullptr;
  std::lock_guard<std::mutex> lock(state_->mu);
  const bool existed = target()->FileExists(fname);
  uint64_t size = 0;
  if (existed && !target()->GetFileSize(fname, &size).ok()) size = 0;
  leveldb::Status s = target()->NewAppendableFile(fname, &file);
  if (!s.ok()) return s;
  // What the file held before this process wrote to it counts as durable.
  auto [it, inserted] = state_->files.try_emplace(
      fname, State::FileState{
                 .written = size, .synced = size, .entry_durable = existed});
  if (!inserted) it->second.written = size;
  *result = new TrackedFile(state_.get(), fname, file);
  return s;
}

leveldb::Status PowerLossEnv::RemoveFile(const std::string& fname) {
  std::lock_guard<std::mutex> lock(state_->mu);
  leveldb::Status s = target()->RemoveFile(fname);
  if (s.ok()) state_->files.erase(fname);
  return s;
}

leveldb::Status PowerLossEnv::RenameFile(const std::string& src,
                                         const std::string& target_name) {
  std::lock_guard<std::mutex> lock(state_->mu);
  const bool target_existed = target()->FileExists(target_name);
  leveldb::Status s = target()->RenameFile(src, target_name);
  if (!s.ok()) return s;
  auto it = state_->files.find(src);
  if (it == state_->files.end()) {
    state_->files.erase(target_name);
    return s;
  }
  State::FileState moved = it->second;
  state_->files.erase(it);
  auto old = state_->files.find(target_name);
  const bool target_durable =
      old == state_->files.end() ? target_existed : old->second.entry_durable;
  moved.entry_durable = moved.entry_durable || target_durable;
  state_->files[target_name] = moved;
  return s;
}

void PowerLossEnv::PowerLossAndExit(int exit_code) {
  // Never unlocked: the process ends holding it, so no other thread
  // writes once the cut began.
  state_->mu.lock();
  state_->exit_code = exit_code;
  state_->CutAndExit();
}

void PowerLossEnv::PowerLossAtNextWrite(int exit_code, int max_wait_ms) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->exit_code = exit_code;
  }
  state_->armed.store(true);
  std::this_thread::sleep_for(std::chrono::milliseconds(max_wait_ms));
  // No write came: cut now.
  state_->mu.lock();
  state_->CutAndExit();
}

void PowerLossEnv::State::CutAndExit() {
  int truncated = 0;
  int removed = 0;
  for (const auto& [name, file] : files) {
    std::error_code error;
    if (!file.entry_durable) {
      if (std::filesystem::remove(name, error)) ++removed;
      continue;
    }
    const uint64_t size = std::filesystem::file_size(name, error);
    if (!error && size > file.synced) {
      std::filesystem::resize_file(name, file.synced, error);
      if (!error) ++truncated;
    }
  }
  std::fprintf(stderr,
               "orgsync-node: power loss: %d file(s) cut back to their synced "
               "length, %d file(s) created since their folder's last sync "
               "removed\n",
               truncated, removed);
  std::fflush(stderr);
  _exit(exit_code);
}

}  // namespace orgsync::node
