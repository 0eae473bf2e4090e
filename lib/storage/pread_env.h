// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// A LevelDB Env that reads table files with pread() instead of mmap().
//
// LevelDB's default Env maps up to 1000 table files into the process for
// random reads. Every page a scan touches then counts in the process's
// resident set, so a full scan of a large queue backlog makes the RSS grow
// with the size of the database although the backlog is meant to live on
// disk. Reading with pread() leaves those pages in the kernel's page cache,
// outside the process; LevelDB's own block cache still bounds what it keeps.
//
// Thread-safety: the Env and the files it returns are safe for concurrent
// use, as LevelDB requires.

#ifndef ORGSYNC_LIB_STORAGE_PREAD_ENV_H_
#define ORGSYNC_LIB_STORAGE_PREAD_ENV_H_

#include <memory>

#include "leveldb/env.h"

namespace orgsync::internal {

// The process-wide Env: leveldb::Env::Default() for everything except
// NewRandomAccessFile. Never destroyed, so it outlives every database that
// uses it, including ones closed during static destruction.
leveldb::Env* PreadEnv();

// A separate pread Env for tests, in which at most `descriptor_budget`
// table files at a time keep their descriptor open; the others open their
// file for each read (as all do once a process nears its descriptor limit).
// PreadEnv() budgets a fifth of RLIMIT_NOFILE, at most 1000. The Env must
// outlive every file it returns.
std::unique_ptr<leveldb::Env> NewPreadEnv(int descriptor_budget);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_STORAGE_PREAD_ENV_H_
