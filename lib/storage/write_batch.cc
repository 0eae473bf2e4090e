// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "orgsync/storage.h"

#include <optional>
#include <string>
#include <utility>

namespace orgsync {

void WriteBatch::Put(std::string_view key, std::string_view value) {
  ops_.push_back(Op{OpType::kPut, std::string(key), std::string(value)});
  byte_size_ += key.size() + value.size();
}

void WriteBatch::Delete(std::string_view key) {
  ops_.push_back(Op{OpType::kDelete, std::string(key), std::string()});
  byte_size_ += key.size();
}

void WriteBatch::Append(const WriteBatch& other) {
  ops_.insert(ops_.end(), other.ops_.begin(), other.ops_.end());
  byte_size_ += other.byte_size_;
}

void WriteBatch::Clear() {
  ops_.clear();
  byte_size_ = 0;
}

absl::StatusOr<std::optional<std::string>> Storage::GetIfPresent(
    std::string_view key, const ReadOptions& options) {
  absl::StatusOr<std::string> value = Get(key, options);
  if (absl::IsNotFound(value.status())) return std::nullopt;
  if (!value.ok()) return value.status();
  return *std::move(value);
}

absl::Status Storage::Put(std::string_view key, std::string_view value,
                          const WriteOptions& options) {
  WriteBatch batch;
  batch.Put(key, value);
  return Write(batch, options);
}

absl::Status Storage::Delete(std::string_view key,
                             const WriteOptions& options) {
  WriteBatch batch;
  batch.Delete(key);
  return Write(batch, options);
}

}  // namespace orgsync
