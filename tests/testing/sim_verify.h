// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The simulation's last word: Verify (orgsync/verify.h), run from an org
// once the queues drained, must agree with the simulation's own record by
// record comparison (sim_checks.h) -- nothing pending, every record it
// reports differing or on one side only is one the comparison found
// differing (and the SyncLog or the HostLedger explained), and every
// linked record the comparison found differing is reported. So the orgs
// the simulation calls converged are the orgs Verify calls identical, up
// to what the log says was not applied.

#ifndef ORGSYNC_TESTS_TESTING_SIM_VERIFY_H_
#define ORGSYNC_TESTS_TESTING_SIM_VERIFY_H_

#include "orgsync/verify.h"
#include "testing/sim_checks.h"
#include "testing/sim_side.h"

namespace orgsync::testing::sim {

// Throws SimulationFailure naming the disagreement. `report` is the
// Verify that `from` (the primary or not) ran to its end against its
// partner; `checked` the comparison's result.
void CheckVerify(const VerifyReport& report, Side& from, bool from_primary,
                 const CheckResult& checked);

}  // namespace orgsync::testing::sim

#endif  // ORGSYNC_TESTS_TESTING_SIM_VERIFY_H_
