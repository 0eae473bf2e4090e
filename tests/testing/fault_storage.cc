// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/fault_storage.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "internal/strings.h"

namespace orgsync::testing {
namespace {

bool TouchesPrefix(const WriteBatch& batch, std::string_view prefix) {
  for (const WriteBatch::Op& op : batch.ops()) {
    if (std::string_view(op.key).substr(0, prefix.size()) == prefix) {
      return true;
    }
  }
  return false;
}

}  // namespace

FaultInjectingStorage::FaultInjectingStorage(Storage* target)
    : ForwardingStorage(target) {}

absl::Status FaultInjectingStorage::DefaultError(std::string_view what) {
  return absl::UnavailableError(
      absl::StrCat("injected ", internal::ToAbsl(what), " failure"));
}

void FaultInjectingStorage::SetWriteHook(WriteHook hook) {
  internal::MutexLock lock(&mu_);
  write_hook_ = std::move(hook);
}

void FaultInjectingStorage::SetReadHook(ReadHook hook) {
  internal::MutexLock lock(&mu_);
  read_hook_ = std::move(hook);
}

void FaultInjectingStorage::FailNextWrites(int count, absl::Status status) {
  internal::MutexLock lock(&mu_);
  fail_next_writes_ = count;
  next_write_status_ = std::move(status);
}

void FaultInjectingStorage::FailWritesWithKeyPrefix(std::string prefix,
                                                    absl::Status status) {
  internal::MutexLock lock(&mu_);
  prefix_faults_.push_back(PrefixFault{std::move(prefix), std::move(status)});
}

void FaultInjectingStorage::FailSyncs(absl::Status status, SyncFailure mode) {
  internal::MutexLock lock(&mu_);
  fail_syncs_ = true;
  sync_status_ = std::move(status);
  sync_mode_ = mode;
}

void FaultInjectingStorage::FailNextReads(int count, absl::Status status) {
  internal::MutexLock lock(&mu_);
  fail_next_reads_ = count;
  next_read_status_ = std::move(status);
}

void FaultInjectingStorage::ClearFaults() {
  internal::MutexLock lock(&mu_);
  write_hook_ = nullptr;
  read_hook_ = nullptr;
  fail_next_writes_ = 0;
  prefix_faults_.clear();
  fail_syncs_ = false;
  fail_next_reads_ = 0;
}

FaultInjectingStorage::Counts FaultInjectingStorage::counts() const {
  internal::MutexLock lock(&mu_);
  return counts_;
}

void FaultInjectingStorage::ResetCounts() {
  internal::MutexLock lock(&mu_);
  counts_ = Counts();
}

absl::Status FaultInjectingStorage::Write(const WriteBatch& batch,
                                          const WriteOptions& options) {
  WriteHook hook;
  {
    internal::MutexLock lock(&mu_);
    hook = write_hook_;
  }
  absl::Status refused = hook ? hook(batch, options) : absl::OkStatus();
  bool apply_unsynced = false;
  if (refused.ok()) {
    internal::MutexLock lock(&mu_);
    if (fail_next_writes_ > 0) {
      --fail_next_writes_;
      refused = next_write_status_;
    }
    for (const PrefixFault& fault : prefix_faults_) {
      if (!refused.ok()) break;
      if (TouchesPrefix(batch, fault.prefix)) refused = fault.status;
    }
    if (refused.ok() && options.sync && fail_syncs_) {
      refused = sync_status_;
      apply_unsynced = sync_mode_ == SyncFailure::kAppliedNotDurable;
    }
  }

  absl::Status result = refused;
  if (refused.ok()) {
    result = ForwardingStorage::Write(batch, options);
  } else if (apply_unsynced) {
    // Whether the unsynced write itself worked does not change the answer:
    // the caller asked for durability and did not get it.
    ForwardingStorage::Write(batch, WriteOptions{.sync = false}).IgnoreError();
  }

  internal::MutexLock lock(&mu_);
  ++counts_.writes;
  if (options.sync) ++counts_.syncs;
  if (result.ok()) {
    counts_.ops_written += static_cast<int64_t>(batch.Count());
  } else {
    ++counts_.failed_writes;
    if (options.sync) ++counts_.failed_syncs;
  }
  return result;
}

absl::Status FaultInjectingStorage::CheckRead(ReadKind kind,
                                              std::string_view key) {
  ReadHook hook;
  {
    internal::MutexLock lock(&mu_);
    hook = read_hook_;
  }
  if (hook) {
    absl::Status status = hook(kind, key);
    if (!status.ok()) return status;
  }
  internal::MutexLock lock(&mu_);
  if (fail_next_reads_ > 0) {
    --fail_next_reads_;
    return next_read_status_;
  }
  return absl::OkStatus();
}

void FaultInjectingStorage::CountRead(ReadKind kind, bool failed) {
  internal::MutexLock lock(&mu_);
  switch (kind) {
    case ReadKind::kGet:
      ++counts_.gets;
      break;
    case ReadKind::kNewIterator:
      ++counts_.iterators;
      break;
    case ReadKind::kGetSnapshot:
      ++counts_.snapshots;
      break;
  }
  if (failed) ++counts_.failed_reads;
}

absl::StatusOr<std::string> FaultInjectingStorage::Get(
    std::string_view key, const ReadOptions& options) {
  absl::Status refused = CheckRead(ReadKind::kGet, key);
  absl::StatusOr<std::string> result =
      refused.ok() ? ForwardingStorage::Get(key, options)
                   : absl::StatusOr<std::string>(refused);
  // A missing key is an answer, not a failed read.
  CountRead(ReadKind::kGet, !result.ok() && !absl::IsNotFound(result.status()));
  return result;
}

absl::StatusOr<std::unique_ptr<StorageIterator>>
FaultInjectingStorage::NewIterator(const ReadOptions& options) {
  absl::Status refused = CheckRead(ReadKind::kNewIterator, {});
  absl::StatusOr<std::unique_ptr<StorageIterator>> result =
      refused.ok() ? ForwardingStorage::NewIterator(options)
                   : absl::StatusOr<std::unique_ptr<StorageIterator>>(refused);
  CountRead(ReadKind::kNewIterator, !result.ok());
  return result;
}

absl::StatusOr<std::unique_ptr<const Snapshot>>
FaultInjectingStorage::GetSnapshot() {
  absl::Status refused = CheckRead(ReadKind::kGetSnapshot, {});
  absl::StatusOr<std::unique_ptr<const Snapshot>> result =
      refused.ok() ? ForwardingStorage::GetSnapshot()
                   : absl::StatusOr<std::unique_ptr<const Snapshot>>(refused);
  CountRead(ReadKind::kGetSnapshot, !result.ok());
  return result;
}

}  // namespace orgsync::testing
