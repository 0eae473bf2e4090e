// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "storage/scoped_bloom_filter.h"

#include <utility>
#include <vector>

#include "leveldb/slice.h"

namespace orgsync::internal {
namespace {

class ScopedBloomFilterPolicy final : public leveldb::FilterPolicy {
 public:
  ScopedBloomFilterPolicy(std::string prefix, int bits_per_key)
      : prefix_(std::move(prefix)),
        name_("orgsync.ScopedBloomFilter:" + prefix_),
        bloom_(leveldb::NewBloomFilterPolicy(bits_per_key)) {}

  const char* Name() const override { return name_.c_str(); }

  void CreateFilter(const leveldb::Slice* keys, int n,
                    std::string* dst) const override {
    std::vector<leveldb::Slice> scoped;
    scoped.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      if (InScope(keys[i])) scoped.push_back(keys[i]);
    }
    // A table with none of them still gets a filter: it answers "absent"
    // for every key in scope.
    bloom_->CreateFilter(scoped.data(), static_cast<int>(scoped.size()), dst);
  }

  bool KeyMayMatch(const leveldb::Slice& key,
                   const leveldb::Slice& filter) const override {
    if (!InScope(key)) return true;
    return bloom_->KeyMayMatch(key, filter);
  }

 private:
  bool InScope(const leveldb::Slice& key) const {
    return key.starts_with(leveldb::Slice(prefix_));
  }

  const std::string prefix_;
  const std::string name_;
  const std::unique_ptr<const leveldb::FilterPolicy> bloom_;
};

}  // namespace

std::unique_ptr<const leveldb::FilterPolicy> NewScopedBloomFilterPolicy(
    std::string prefix, int bits_per_key) {
  return std::make_unique<ScopedBloomFilterPolicy>(std::move(prefix),
                                                   bits_per_key);
}

}  // namespace orgsync::internal
