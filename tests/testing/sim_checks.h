// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The simulation's final check, once faults stopped and the queues
// drained: both orgs must hold the same published data, field by field
// (lookups named by their target's key, the deleted state as a field of
// its own), every insert whose Capture returned OK must exist in both, and
// every value a host wrote while racing an apply must have survived unless
// a later write or a CONFLICT entry says why it did not.
//
// What may differ (design rule 5: nothing silently lost): records whose
// change a SyncLog entry says was not applied (Failed, or a lookup left
// blank: Info MISSING_PARENT -- the only cause the workload creates is a
// parent the host never captured, so any other failure fails the run), and
// what the HostLedger excuses: changes orgsync was never promised (not
// captured, or a Capture a crash cut short).

#ifndef ORGSYNC_TESTS_TESTING_SIM_CHECKS_H_
#define ORGSYNC_TESTS_TESTING_SIM_CHECKS_H_

#include <cstdint>
#include <set>
#include <string>

#include "testing/sim_ledger.h"
#include "testing/sim_model.h"
#include "testing/sim_side.h"

namespace orgsync::testing::sim {

struct CheckResult {
  uint64_t conflicts_logged = 0;
  // Records that differ between the orgs, each explained by a SyncLog
  // entry or a change never promised.
  uint64_t not_applied_logged = 0;
  uint64_t records = 0;  // in each org
  // The "object key"s of those records.
  std::set<std::string> differing_keys;
};

// Throws SimulationFailure naming what differs (at most eight records),
// with the Failed entries of both logs.
CheckResult CheckConverged(Side& primary, Side& secondary,
                           const SimModel& model, const HostLedger& ledger);

}  // namespace orgsync::testing::sim

#endif  // ORGSYNC_TESTS_TESTING_SIM_CHECKS_H_
