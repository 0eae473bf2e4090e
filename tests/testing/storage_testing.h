// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Storage helpers for tests: storages that can be closed and opened again as
// a process restart would (over every shipped implementation), a dump of a
// storage's whole content, and RequireOk.

#ifndef ORGSYNC_TESTS_TESTING_STORAGE_TESTING_H_
#define ORGSYNC_TESTS_TESTING_STORAGE_TESTING_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "orgsync/storage.h"

namespace orgsync::testing {

// A Storage that a test can close and open again, as a process restart
// would. Reopen() invalidates the previous storage() pointer; components
// using it must be destroyed first.
class ReopenableStorage {
 public:
  virtual ~ReopenableStorage() = default;
  virtual std::string name() const = 0;
  virtual Storage* storage() = 0;
  virtual void Reopen() = 0;
};

// MemoryStorage; Reopen() simulates a crash, so only synced writes survive.
std::unique_ptr<ReopenableStorage> NewReopenableMemoryStorage();

// LevelDB in a fresh temporary folder; Reopen() closes and reopens it.
std::unique_ptr<ReopenableStorage> NewReopenableLevelDbStorage();

// Every kind of storage the persistence tests run over: memory, LevelDB.
std::vector<std::function<std::unique_ptr<ReopenableStorage>()>>
ReopenableStorageFactories();

// The same, by name (for one Catch2 SECTION each).
std::map<std::string, std::function<std::unique_ptr<ReopenableStorage>()>>
ReopenableStorageHarnesses();

// Every key and value in `storage` (Catch2 REQUIREs that reading works).
std::map<std::string, std::string> Dump(Storage* storage);

// Aborts the test (Catch2 REQUIRE) unless `status` is OK, printing it.
void RequireOk(const absl::Status& status);

}  // namespace orgsync::testing

#endif  // ORGSYNC_TESTS_TESTING_STORAGE_TESTING_H_
