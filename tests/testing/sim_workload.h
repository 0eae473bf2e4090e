// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Workload: what the simulated hosts write, drawn from the run's generator
// -- inserts, updates, deletes and undeletes of parents and children of the
// CRM objects and of the seed's wide objects, now and then an insert the
// host never captures -- and the host writes that race apply (Race): just
// before replication's update of a record lands, the host writes the same
// record (half the time a field the update carries) and captures it.
//
// Not thread-safe: a simulation runs on one thread.

#ifndef ORGSYNC_TESTS_TESTING_SIM_WORKLOAD_H_
#define ORGSYNC_TESTS_TESTING_SIM_WORKLOAD_H_

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "orgsync/record.h"
#include "testing/sim_ledger.h"
#include "testing/sim_model.h"
#include "testing/sim_side.h"

namespace orgsync::testing::sim {

class Workload {
 public:
  // `race_rate`: the share of replicated updates the host races.
  Workload(const SimModel* model, HostLedger* ledger, std::mt19937_64* rng,
           double race_rate);

  // One host write on `side`.
  void Write(Side& side);

  // The host's write racing replication's write of (object, id): an
  // update carrying `changes`, or a delete or undelete (no changes); a
  // RacingStore hook, at the seed's rate.
  void Race(Side& side, std::string_view object, std::string_view id,
            const FieldMap& changes);

  uint64_t races() const { return races_; }
  double race_rate() const { return race_rate_; }

 private:
  uint64_t Uniform(uint64_t n) { return (*rng_)() % n; }
  bool Chance(double p) {
    return static_cast<double>((*rng_)() >> 11) * 0x1.0p-53 < p;
  }

  std::optional<Record> PickOne(Side& side, const std::string& object,
                                bool deleted = false);
  FieldValue RandomValue(Side& side, const SimObject& object,
                         const std::string& field);
  // Changes of 1 to 3 (wide: 1 to 5) updatable fields; empty if none fits.
  FieldMap RandomChanges(Side& side, const SimObject& object);
  void InsertWide(Side& side, const SimObject& object);

  const SimModel* model_;
  HostLedger* ledger_;
  std::mt19937_64* rng_;
  const double race_rate_;
  uint64_t races_ = 0;
};

}  // namespace orgsync::testing::sim

#endif  // ORGSYNC_TESTS_TESTING_SIM_WORKLOAD_H_
