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
// captured, or a Capture a crash cut short), and the unlinked copies of an
// unpublished object's records that no bulk sync copies again (deleted, or
// in an org that does not publish the object; sim_republish.h).

#ifndef ORGSYNC_TESTS_TESTING_SIM_CHECKS_H_
#define ORGSYNC_TESTS_TESTING_SIM_CHECKS_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "testing/sim_ledger.h"
#include "testing/sim_model.h"
#include "testing/sim_side.h"

namespace orgsync::testing::sim {

// How the check names the records `side` holds, by id (ids are unique
// across an org's objects): a record's "object key" (SimModel::KeyOf),
// followed, for an object the HostLedger notes as disconnected (R20), by
// the pair its link makes -- "#<the primary's id>" when linked, a mark and
// "<org>:<its id>" when not -- since such an object's records may be held
// twice in an org: its disconnected copy, and the copy a bulk sync made
// again. `primary`: whether `side` is the primary.
std::map<std::string, std::string> CheckKeysById(const Side& side,
                                                 const SimModel& model,
                                                 const HostLedger& ledger,
                                                 bool primary);

// The "object key" a check key starts with.
std::string BaseKey(const std::string& check_key);

struct CheckResult {
  uint64_t conflicts_logged = 0;
  // Records that differ between the orgs, each explained by a SyncLog
  // entry or a change never promised.
  uint64_t not_applied_logged = 0;
  uint64_t records = 0;  // in each org
  // The check keys (CheckKeysById) of those records.
  std::set<std::string> differing_keys;
  // Each org's check keys, by id.
  std::map<std::string, std::string> primary_keys;
  std::map<std::string, std::string> secondary_keys;
};

// Throws SimulationFailure naming what differs (at most eight records),
// with the Failed entries of both logs.
CheckResult CheckConverged(Side& primary, Side& secondary,
                           const SimModel& model, const HostLedger& ledger);

}  // namespace orgsync::testing::sim

#endif  // ORGSYNC_TESTS_TESTING_SIM_CHECKS_H_
