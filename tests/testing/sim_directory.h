// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The simulation's users and metadata (R70-R74): what the hosts write to
// their UserDirectory and MetadataStore during the faulty phase, and the
// check, once the queues drained and a last metadata run went through,
// that both orgs hold what the rules say they must.
//
// Users are created on either side -- on the secondary usually with ".dr",
// now and then without (R71: logged, never copied) -- and then updated
// (email, name, role) and deactivated on either side, now and then on both
// at once (the later change must win in both).
// Metadata is written on the primary (inserts, updates, renames of
// top-level items reported with CaptureMetadataRename) and edited or added
// on the secondary, where the next run must overwrite the edits (R74).
//
// The check: every standard-licence user a side created with a capture
// that returned OK (and no save cut short by a crash) is in the other
// org under its name there (R71), with the same fields; every item of the
// primary's MetadataStore is in the secondary's with the same body. Items
// only the secondary has may remain (deletes never sync).
//
// Not thread-safe: a simulation runs on one thread.

#ifndef ORGSYNC_TESTS_TESTING_SIM_DIRECTORY_H_
#define ORGSYNC_TESTS_TESTING_SIM_DIRECTORY_H_

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>

#include "orgsync/metadata_store.h"
#include "orgsync/user_directory.h"
#include "testing/sim_side.h"

namespace orgsync::testing::sim {

struct DirectoryCounts {
  uint64_t user_saves = 0;
  uint64_t metadata_writes = 0;
  uint64_t renames = 0;
  uint64_t users_checked = 0;
  uint64_t items_checked = 0;
};

class DirectoryWorkload {
 public:
  DirectoryWorkload(std::mt19937_64* rng, bool sync_users, bool sync_metadata);

  // The profiles and roles both orgs define (their shared metadata).
  static void DefineShared(InMemoryUserDirectory& users);

  // One host write of a user or a metadata item on `side` (nothing while
  // the org is down: the host is down with it). Now and then `partner`'s
  // host changes the same user at once.
  void Write(Side& side, Side& partner, bool primary);

  // Throws SimulationFailure naming what differs.
  void Check(Side& primary, Side& secondary);

  const DirectoryCounts& counts() const { return counts_; }
  bool sync_users() const { return sync_users_; }
  bool sync_metadata() const { return sync_metadata_; }

 private:
  uint64_t Uniform(uint64_t n) { return (*rng_)() % n; }
  bool Chance(double p) {
    return static_cast<double>((*rng_)() >> 11) * 0x1.0p-53 < p;
  }
  void WriteUser(Side& side, Side& partner, bool primary);
  // Changes the user `username` (as its creator named it) where `side`
  // has it, if it does.
  void EditUser(Side& side, bool primary, const std::string& username);
  // The user's name on `primary`'s side, empty if never copied there.
  std::string NameOn(bool primary, const std::string& username) const;
  void WriteMetadata(Side& side, bool primary);
  // Saves `user` in the side's directory and captures it; whether the
  // change is promised.
  bool SaveUser(Side& side, const User& user);

  std::mt19937_64* rng_;
  const bool sync_users_;
  const bool sync_metadata_;
  // Username (as its creator wrote it) -> created on the primary.
  std::map<std::string, bool> homes_;
  // Users whose last save is not promised (cut short, or not copied).
  std::set<std::string> excused_users_;
  uint64_t next_user_ = 0;
  uint64_t next_name_ = 0;
  DirectoryCounts counts_;
};

}  // namespace orgsync::testing::sim

#endif  // ORGSYNC_TESTS_TESTING_SIM_DIRECTORY_H_
