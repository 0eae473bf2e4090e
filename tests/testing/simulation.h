// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The seeded simulation of live record sync: two orgs (a primary and a
// secondary), each with its own clock (skewed up to +-10 minutes from the
// simulated time and drifting up to +-1%), its replication state on a
// Storage and its records in the host's RecordStore, joined by an
// InProcessTransportPair. The schema is a small CRM (lookups, cascades)
// plus one or two wide objects of 1 to 300 text and number fields. One seed
// drives everything: a random workload on one side (one-way) or both
// (two-way) -- inserts, updates, deletes and undeletes of parents and
// children, now and then an insert the host never captures --, transport
// faults (drop, duplicate, reorder, delay, partition, an org going
// offline), admin suspend/resume, crashes of either org right after its
// k-th storage write of any kind (capture, apply, the host store's own
// write, acknowledgement, cascade, flush) that drop what was not synced,
// and host writes racing apply (the host writes a record just before
// replication's update, delete or undelete of it lands, and captures it).
//
// When the faults stop and the queues drain, the run checks that both orgs
// hold the same published data field by field, that every record whose
// insert was captured exists in both, that every racing host write
// survived or lost for a reason the log shows, and that nothing is left
// queued -- except what a SyncLog entry says was not applied (design rule
// 5: nothing silently lost), or what orgsync was never promised (a change
// the host did not capture, or whose Capture a crash cut short). The same
// seed and options replay the same run exactly (one generator for the
// workload and the faults, the pair's own seeded faults, and no threads).
//
// The parts: sim_model (objects, schema), sim_faults (clocks, crashes,
// racing writes), sim_side (an org and its host), sim_workload (the host
// writes), sim_ledger (what the hosts did), sim_checks (the final check),
// simulation.cc (the run).

#ifndef ORGSYNC_TESTS_TESTING_SIMULATION_H_
#define ORGSYNC_TESTS_TESTING_SIMULATION_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace orgsync::testing {

struct SimulationOptions {
  uint64_t seed = 1;
  // Two-way: both orgs publish and subscribe every object and both write.
  // One-way: the primary publishes, the secondary subscribes, only the
  // primary writes.
  bool two_way = false;
  // Rounds of the faulty phase; each is a workload write, a delivery step
  // or a fault/admin event.
  size_t rounds = 300;
  // Keep each org in LevelDB (a restart closes and reopens the folder)
  // instead of a MemoryStorage (a restart is a crash that keeps only what
  // was synced).
  bool leveldb = false;
  // Two-way conflicts are settled by a resolver under which the primary's
  // write always wins, instead of the default last writer: the org that
  // applies a decision against the newer write must send the winner again.
  bool primary_wins_conflicts = false;
  // Unpublish/re-publish episodes (sim_republish.h). Off only for seeds
  // pinned before episodes existed: their storage writes, and so their
  // crashes, would move, and the run they were pinned for would be lost.
  bool republish = true;
};

struct SimulationResult {
  bool ok = false;
  // Why the run failed: what differs, with the SyncLog entries that
  // concern it. Empty when ok.
  std::string failure;
  // What happened, for the record.
  uint64_t captures = 0;
  // Delivery steps (each a simulated second), and how many of them the
  // queues took to drain once the faults stopped.
  uint64_t steps = 0;
  uint64_t settle_steps = 0;
  uint64_t restarts = 0;        // at a quiet moment, between two rounds
  uint64_t crashes = 0;         // right after a storage write
  uint64_t storage_writes = 0;  // of both orgs
  uint64_t lost_captures = 0;   // Capture calls a crash cut short
  uint64_t races = 0;           // host writes racing apply
  uint64_t bulk_syncs = 0;      // started (R60), the last ones included
  uint64_t forwards = 0;        // records the hosts forwarded (R66)
  uint64_t verifies = 0;        // Verify runs that agreed at the end
  uint64_t republishes = 0;  // objects unpublished, then published again (R20)
  // The orgs' clocks: skew (seconds) and drift (fraction) of each.
  double primary_skew_seconds = 0;
  double secondary_skew_seconds = 0;
  double primary_drift = 0;
  double secondary_drift = 0;
  bool host_storage_apart = false;
  size_t wide_fields = 0;  // of the wide objects, summed
  uint64_t suspensions = 0;
  uint64_t offline_periods = 0;
  uint64_t partitions = 0;
  uint64_t messages_dropped = 0;
  uint64_t messages_duplicated = 0;
  uint64_t conflicts_logged = 0;
  // Records that differ between the orgs because a change of theirs was
  // not applied -- each named by a SyncLog entry (or never captured).
  uint64_t not_applied_logged = 0;
  uint64_t records = 0;  // records in each org at the end
  // Users and metadata (sim_directory.h): the hosts' saves, and what the
  // final check compared.
  uint64_t user_saves = 0;
  uint64_t metadata_writes = 0;
  uint64_t metadata_renames = 0;
  uint64_t users_checked = 0;
  uint64_t metadata_items_checked = 0;
};

SimulationResult RunSimulation(const SimulationOptions& options);

// "seed 17 two-way: 412 captures, 3 restarts, ..." for reports.
std::string DescribeSimulation(const SimulationOptions& options,
                               const SimulationResult& result);

}  // namespace orgsync::testing

#endif  // ORGSYNC_TESTS_TESTING_SIMULATION_H_
