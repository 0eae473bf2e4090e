// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// PowerLossEnv: a leveldb::Env for crash tests that can make the process
// "lose power": keep on disk only what a real power cut would keep.
//
// SIGKILL leaves the kernel's page cache alone, so it never loses a write
// the process made, synced or not. A power cut does: what was not synced
// is gone. This Env forwards every call to the default Env and remembers,
// per file it writes, how many bytes were synced, and whether the file's
// directory entry is durable (a file created after the last sync of its
// folder is not: the folder entry would vanish with the power). LevelDB
// syncs a folder only when it syncs a MANIFEST file (its Env does so
// itself), so a MANIFEST sync marks every file of that folder durable.
//
// PowerLossAndExit() then does what the cut would leave behind: each file
// written since the Env was made is cut back to its synced length, files
// whose folder entry is not durable are removed, and the process ends at
// once with _exit (no destructor, no flush). Files the process did not
// write are left as they are. It holds the Env's lock from the start, so
// no write of another thread can slip in between.
//
// Renames (LevelDB's CURRENT) are taken as durable: a rename onto a file
// whose entry was durable keeps the entry durable. (Real filesystems with
// ordered metadata behave so; modelling a lost rename would only show
// LevelDB's own behaviour, not orgsync's.)
//
// Thread-safety: as LevelDB requires of an Env, every method may be called
// from any thread.

#ifndef ORGSYNC_LIB_NODE_POWER_LOSS_ENV_H_
#define ORGSYNC_LIB_NODE_POWER_LOSS_ENV_H_

#include <memory>
#include <string>

#include "leveldb/env.h"

namespace orgsync::node {

class PowerLossEnv : public leveldb::EnvWrapper {
 public:
  PowerLossEnv();
  ~PowerLossEnv() override;

  leveldb::Status NewWritableFile(const std::string& fname,
                                  leveldb::WritableFile** result) override;
  leveldb::Status NewAppendableFile(const std::string& fname,
                                    leveldb::WritableFile** result) override;
  leveldb::Status RemoveFile(const std::string& fname) override;
  leveldb::Status RenameFile(const std::string& src,
                             const std::string& target) override;

  // Drops what a power cut would drop, writes one line about it to stderr,
  // and ends the process with `exit_code`. Never returns.
  [[noreturn]] void PowerLossAndExit(int exit_code);

  // The same, at the worst moment: right after the next append to any
  // file (whose bytes are then certainly not synced), or after `max_wait`
  // if no file is appended to by then. Never returns.
  [[noreturn]] void PowerLossAtNextWrite(int exit_code, int max_wait_ms);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace orgsync::node

#endif  // ORGSYNC_LIB_NODE_POWER_LOSS_ENV_H_
