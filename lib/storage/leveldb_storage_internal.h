// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// OpenLevelDbStorage (orgsync/storage.h) on a leveldb::Env of the caller's
// choice: for orgsync's own crash tests, which open the database on an Env
// that forgets unsynced writes. Not a public header: the public API keeps
// LevelDB's types out of include/orgsync/.

#ifndef ORGSYNC_LIB_STORAGE_LEVELDB_STORAGE_INTERNAL_H_
#define ORGSYNC_LIB_STORAGE_LEVELDB_STORAGE_INTERNAL_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "orgsync/options.h"
#include "orgsync/storage.h"

namespace leveldb {
class Env;
}  // namespace leveldb

namespace orgsync::internal {

// The prefix of the keys LevelDbStorageOptions::sync_state_filter_bits_per_key
// filters: a connection's record links, field stamps and applied marks
// (engine/record_links.h, connection/connection_keys.h).
inline constexpr std::string_view kSyncStateKeyPrefix = "k/";

// As OpenLevelDbStorage, with every file of the database made through
// `env` (not owned; must outlive the Storage). A null `env` is
// OpenLevelDbStorage itself. options.mmap_reads is ignored when `env` is
// given: the Env decides how files are read.
[[nodiscard]] absl::StatusOr<std::unique_ptr<Storage>>
OpenLevelDbStorageWithEnv(const std::string& path,
                          const LevelDbStorageOptions& options,
                          leveldb::Env* env);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_STORAGE_LEVELDB_STORAGE_INTERNAL_H_
