// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// A LevelDB filter policy that puts only some keys in its Bloom filters:
// those under one prefix. Keys outside it are never filtered (every table
// may hold them), so a lookup of such a key reads what it would read with
// no filter at all.
//
// Why: a filter saves a lookup of a key a table lacks from reading that
// table's blocks, and LevelDB keeps the filter of every open table in
// memory. orgsync's record links and field stamps ("k/...") are looked up
// by key and often missed -- the link of a record sent or received for
// the first time, the stamp of a field never captured -- while its queue
// entries, the bulk of the keys while a backlog waits, are read in order
// and never missed. Filtering only the first spends the memory where the
// lookups are (LevelDbStorageOptions::sync_state_filter_bits_per_key
// gives the measured cost).
//
// The policy's name says its prefix: tables written under another policy
// (or another prefix) keep their filters unused, and are read as if they
// had none.
//
// Thread-safety: immutable after construction; safe from any thread, as
// LevelDB requires.

#ifndef ORGSYNC_LIB_STORAGE_SCOPED_BLOOM_FILTER_H_
#define ORGSYNC_LIB_STORAGE_SCOPED_BLOOM_FILTER_H_

#include <memory>
#include <string>

#include "leveldb/filter_policy.h"

namespace orgsync::internal {

// A Bloom filter over the keys starting with `prefix` (non-empty), at
// `bits_per_key` (> 0).
std::unique_ptr<const leveldb::FilterPolicy> NewScopedBloomFilterPolicy(
    std::string prefix, int bits_per_key);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_STORAGE_SCOPED_BLOOM_FILTER_H_
