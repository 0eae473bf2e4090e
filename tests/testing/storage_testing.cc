// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/storage_testing.h"

#include <catch2/catch.hpp>
#include <utility>

#include "testing/temp_dir.h"

namespace orgsync::testing {
namespace {

class MemoryReopenable final : public ReopenableStorage {
 public:
  std::string name() const override { return "memory"; }
  Storage* storage() override { return storage_.get(); }
  void Reopen() override { storage_->SimulateCrash(); }

 private:
  std::unique_ptr<MemoryStorage> storage_ = NewMemoryStorage();
};

class LevelDbReopenable final : public ReopenableStorage {
 public:
  LevelDbReopenable() { Open(); }
  std::string name() const override { return "leveldb"; }
  Storage* storage() override { return storage_.get(); }
  void Reopen() override {
    storage_.reset();  // releases the folder's lock before reopening
    Open();
  }

 private:
  void Open() {
    auto storage = OpenLevelDbStorage(dir_.Sub("state"));
    RequireOk(storage.status());
    storage_ = std::move(*storage);
  }

  TempDir dir_;
  std::unique_ptr<Storage> storage_;
};

}  // namespace

std::unique_ptr<ReopenableStorage> NewReopenableMemoryStorage() {
  return std::make_unique<MemoryReopenable>();
}

std::unique_ptr<ReopenableStorage> NewReopenableLevelDbStorage() {
  return std::make_unique<LevelDbReopenable>();
}

std::vector<std::function<std::unique_ptr<ReopenableStorage>()>>
ReopenableStorageFactories() {
  return {NewReopenableMemoryStorage, NewReopenableLevelDbStorage};
}

std::map<std::string, std::function<std::unique_ptr<ReopenableStorage>()>>
ReopenableStorageHarnesses() {
  std::map<std::string, std::function<std::unique_ptr<ReopenableStorage>()>>
      all;
  for (const auto& make : ReopenableStorageFactories()) {
    all.emplace(make()->name(), make);
  }
  return all;
}

std::map<std::string, std::string> Dump(Storage* storage) {
  std::map<std::string, std::string> all;
  auto it = storage->NewIterator(ReadOptions{});
  REQUIRE(it.ok());
  for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next()) {
    all.emplace(std::string((*it)->key()), std::string((*it)->value()));
  }
  REQUIRE((*it)->status().ok());
  return all;
}

void RequireOk(const absl::Status& status) {
  INFO(status.ToString());
  REQUIRE(status.ok());
}

}  // namespace orgsync::testing
