// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Republisher: now and then the host of a publishing org unpublishes one of
// the seed's wide objects (R20) while the workload goes on writing it,
// publishes it again some rounds later, and the partner's host subscribes
// it again once the new publication has arrived there -- an episode, one
// at a time, under the run's faults and crashes.
//
// Unpublishing drops the object's record links on both sides, so each org
// keeps its records and the two copies of a record are no longer one: later
// edits of either do not travel as edits of the other. What the orgs hold
// at the end follows from that (the check in sim_checks.h pairs such an
// object's records by their links, not by their keys): an org's live
// disconnected records are copied again by the last bulk syncs, each as a
// new record the partner links to it, and a copy the partner still holds
// stays there unlinked. The object is noted in the HostLedger when its
// first episode starts.
//
// Draws from a generator of its own, so the rest of a run draws what it
// drew before episodes existed. Not thread-safe: a simulation runs on one
// thread.

#ifndef ORGSYNC_TESTS_TESTING_SIM_REPUBLISH_H_
#define ORGSYNC_TESTS_TESTING_SIM_REPUBLISH_H_

#include <cstdint>
#include <functional>
#include <random>
#include <string>

#include "testing/sim_ledger.h"
#include "testing/sim_model.h"
#include "testing/sim_side.h"

namespace orgsync::testing::sim {

class Republisher {
 public:
  // `two_way`: either org may publish (and unpublish); otherwise only the
  // primary does.
  Republisher(const SimModel* model, HostLedger* ledger, uint64_t seed,
              bool two_way);

  // One round of the faulty phase: perhaps the next step of an episode
  // (start, publish again, subscribe again once the publication arrived,
  // end once the publisher knows of the subscription).
  void Round(Side& primary, Side& secondary);

  // After the faults: brings an open episode to its end -- the object
  // published again and subscribed by the partner -- pumping with `settle`
  // (which returns false when the orgs did not settle in the rounds it was
  // given). Throws SimulationFailure if the subscription does not arrive.
  void Finish(Side& primary, Side& secondary,
              const std::function<bool(size_t)>& settle);

  uint64_t episodes() const { return episodes_; }

 private:
  enum class Phase { kNone, kUnpublished, kPublishedAgain };

  Side& Publisher(Side& primary, Side& secondary) const {
    return publisher_is_primary_ ? primary : secondary;
  }
  Side& Subscriber(Side& primary, Side& secondary) const {
    return publisher_is_primary_ ? secondary : primary;
  }
  void Start(Side& primary, Side& secondary);
  // Whether the object is published again (false: a crash cut it short).
  bool PublishAgain(Side& publisher);
  // Subscribes the object again where the new publication has arrived;
  // whether the publisher now knows the partner subscribes it.
  bool Resubscribe(Side& publisher, Side& subscriber);

  const SimModel* model_;
  HostLedger* ledger_;
  std::mt19937_64 rng_;
  const bool two_way_;
  Phase phase_ = Phase::kNone;
  std::string object_;
  bool publisher_is_primary_ = true;
  uint64_t episodes_ = 0;
};

}  // namespace orgsync::testing::sim

#endif  // ORGSYNC_TESTS_TESTING_SIM_REPUBLISH_H_
