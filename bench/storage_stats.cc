// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "storage_stats.h"

#include <fmt/core.h>

#include <utility>

namespace orgsync_bench {

CountingStorage::CountingStorage(std::unique_ptr<orgsync::Storage> target)
    : orgsync::ForwardingStorage(target.get()), owned_(std::move(target)) {}

std::string CountingStorage::FamilyOf(std::string_view key) {
  std::string family;
  int slashes = 0;
  for (const char c : key) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e) break;
    family.push_back(c);
    if (c == '/' && ++slashes == 3) break;
  }
  return family;
}

absl::Status CountingStorage::Write(const orgsync::WriteBatch& batch,
                                    const orgsync::WriteOptions& options) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const orgsync::WriteBatch::Op& op : batch.ops()) {
      FamilyCounts& family = counts_[FamilyOf(op.key)];
      if (op.type == orgsync::WriteBatch::OpType::kPut) {
        ++family.puts;
        family.bytes += op.key.size() + op.value.size();
      } else {
        ++family.deletes;
        family.bytes += op.key.size();
      }
    }
  }
  return orgsync::ForwardingStorage::Write(batch, options);
}

absl::StatusOr<std::string> CountingStorage::Get(
    std::string_view key, const orgsync::ReadOptions& options) {
  absl::StatusOr<std::string> value =
      orgsync::ForwardingStorage::Get(key, options);
  std::lock_guard<std::mutex> lock(mu_);
  FamilyCounts& family = counts_[FamilyOf(key)];
  ++family.gets;
  if (absl::IsNotFound(value.status())) ++family.misses;
  return value;
}

std::map<std::string, FamilyCounts> CountingStorage::TakeCounts() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(counts_, {});
}

void PrintFamilyCounts(std::string_view label,
                       const std::map<std::string, FamilyCounts>& counts,
                       uint64_t changes) {
  const double per = changes == 0 ? 0.0 : 1.0 / static_cast<double>(changes);
  FamilyCounts total;
  for (const auto& [family, writes] : counts) total += writes;
  fmt::print(stderr,
             "{}: Storage writes and reads per change ({} changes)\n", label,
             changes);
  fmt::print(stderr, "  {:<28} {:>8} {:>8} {:>10} {:>8} {:>8}\n",
             "key family", "puts", "deletes", "bytes", "gets", "misses");
  // Families written or read less than once per hundred changes (the
  // connection's state, the clock's...) are summed on one line.
  FamilyCounts rare;
  auto print = [per](std::string_view name, const FamilyCounts& writes) {
    fmt::print(stderr,
               "  {:<28} {:>8.2f} {:>8.2f} {:>10.1f} {:>8.2f} {:>8.2f}\n", name,
               writes.puts * per, writes.deletes * per, writes.bytes * per,
               writes.gets * per, writes.misses * per);
  };
  for (const auto& [family, writes] : counts) {
    if ((writes.puts + writes.deletes + writes.gets) * per < 0.01) {
      rare += writes;
      continue;
    }
    print(family, writes);
  }
  if (rare.puts + rare.deletes + rare.gets > 0) print("(others)", rare);
  print("total", total);
}

}  // namespace orgsync_bench
