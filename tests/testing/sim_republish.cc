// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/sim_republish.h"

#include <vector>

#include "absl/status/status.h"
#include "orgsync/connection.h"
#include "orgsync/publish_set.h"
#include "orgsync/subscription_map.h"

namespace orgsync::testing::sim {
Republisher::Republisher(const SimModel* model, HostLedger* ledger,
                         uint64_t seed, bool two_way)
    : model_(model), ledger_(ledger), rng_(seed), two_way_(two_way) {}

void Republisher::Round(Side& primary, Side& secondary) {
  switch (phase_) {
    case Phase::kNone:
      // About three episodes in a run of 300 rounds.
      if (rng_() % 100 == 0) Start(primary, secondary);
      return;
    case Phase::kUnpublished:
      // Unpublished for about 25 rounds.
      if (rng_() % 25 == 0) PublishAgain(Publisher(primary, secondary));
      return;
    case Phase::kPublishedAgain:
      Resubscribe(Publisher(primary, secondary),
                  Subscriber(primary, secondary));
      return;
  }
}

void Republisher::Start(Side& primary, Side& secondary) {
  std::vector<const SimObject*> wide;
  for (const SimObject& object : model_->objects()) {
    if (object.wide()) wide.push_back(&object);
  }
  if (wide.empty()) return;
  const bool on_primary = !two_way_ || rng_() % 2 == 0;
  const std::string object = wide[rng_() % wide.size()]->name;
  Side& publisher = on_primary ? primary : secondary;
  if (publisher.down()) return;
  publisher_is_primary_ = on_primary;
  object_ = object;
  // Noted before the call: a crash may cut it short after its write.
  ledger_->NoteDisconnected(object_);
  Trace("{} unpublishes {}", publisher.org_id(), object_);
  // Cut short or not, the object is published again later (which is
  // idempotent), so the episode goes on either way.
  Survived(publisher.connection()->publish_set()->UnpublishObject(object_),
           publisher, "unpublishing " + object_);
  phase_ = Phase::kUnpublished;
  ++episodes_;
}

bool Republisher::PublishAgain(Side& publisher) {
  if (publisher.down()) return false;
  Trace("{} publishes {} again", publisher.org_id(), object_);
  const std::vector<std::string> objects = {object_};
  if (!Survived(publisher.connection()->publish_set()->PublishObjects(objects),
                publisher, "publishing " + object_ + " again")) {
    return false;
  }
  phase_ = Phase::kPublishedAgain;
  return true;
}

bool Republisher::Resubscribe(Side& publisher, Side& subscriber) {
  if (publisher.down() || subscriber.down()) return false;
  SubscriptionMap* map = subscriber.connection()->subscription_map();
  // Until the unpublish notice arrives the subscriber still subscribes
  // the old publication, which the notice then takes away.
  if (!map->IsSubscribed(object_) && map->IsPartnerPublished(object_)) {
    Trace("{} subscribes {} again", subscriber.org_id(), object_);
    Survived(map->Subscribe(object_), subscriber,
             "subscribing " + object_ + " again");
    return false;
  }
  if (map->IsSubscribed(object_) &&
      publisher.connection()->publish_set()->IsPartnerSubscribed(object_)) {
    Trace("{} knows {} subscribes {} again", publisher.org_id(),
          subscriber.org_id(), object_);
    phase_ = Phase::kNone;
    return true;
  }
  return false;
}

void Republisher::Finish(Side& primary, Side& secondary,
                         const std::function<bool(size_t)>& settle) {
  if (phase_ == Phase::kNone) return;
  Side& publisher = Publisher(primary, secondary);
  Side& subscriber = Subscriber(primary, secondary);
  if (phase_ == Phase::kUnpublished && !PublishAgain(publisher)) {
    throw SimulationFailure{"publishing " + object_ + " again failed"};
  }
  // Each wait as long as the run's own settling (the queues may hold
  // changes retried for minutes ahead of the notices).
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (!settle(20000)) break;
    if (Resubscribe(publisher, subscriber)) return;
  }
  throw SimulationFailure{subscriber.org_id() + " did not subscribe " +
                          object_ + " again"};
}

}  // namespace orgsync::testing::sim
