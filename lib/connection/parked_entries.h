// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// ParkedEntries: queue entries the sender prepared and found waiting for
// another record's change that is in flight -- a child whose parent's
// insert has not been answered yet (R65), so the child's lookup cannot be
// translated to the partner's id. Without it every Step picks such an entry
// again, reads its record from the host's store and prepares it again, only
// to hold it back again: a bulk sync of parents and children prepared each
// child about thirty times before it went.
//
// A parked entry is not picked (the queue steps over it as over the
// entries in flight, ReadyFilter::Held), and neither is any later entry of
// its record (R50 per-record order) until the change it waits for leaves
// the window: answered, failed, or forgotten. Then it is picked and
// prepared again as usual. Only an entry whose awaited change is in flight
// may be parked (the caller checks), so every parked entry has an event
// that releases it; dropping the window (Clear) releases everything.
//
// Memory only: after a restart the queue is walked afresh.
//
// Thread-safety: none of its own; the owner guards it (ConnectionImpl's
// mu_).

#ifndef ORGSYNC_LIB_CONNECTION_PARKED_ENTRIES_H_
#define ORGSYNC_LIB_CONNECTION_PARKED_ENTRIES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "orgsync/record_queue.h"
#include "queue/durable_record_queue.h"

namespace orgsync::internal {

class ParkedEntries {
 public:
  // Parks `entry`, whose ordering key is `key`, until the change in flight
  // under the ordering key `awaited` leaves the window (Release). Parking
  // an entry parked already moves it to the new `awaited`.
  void Park(const QueueEntry& entry, std::string key, std::string awaited);

  // The change under `awaited` left the window: the entries parked on it
  // may go again. Returns how many were released.
  size_t Release(const std::string& awaited);

  // Releases everything (the window was dropped).
  void Clear();

  // The shape of parked entry `sequence` (for ReadyFilter::Held), nullopt
  // if it is not parked.
  std::optional<HeldEntry> Held(uint64_t sequence) const;

  // Whether an entry of ordering key `key` is parked: the record's later
  // entries wait behind it.
  bool HoldsKey(const std::string& key) const;

  size_t size() const { return by_sequence_.size(); }

 private:
  struct Parked {
    std::string key;
    std::string awaited;
    HeldEntry shape;
  };
  void Forget(uint64_t sequence);

  absl::flat_hash_map<uint64_t, Parked> by_sequence_;
  absl::flat_hash_map<std::string, std::vector<uint64_t>> by_awaited_;
  // Ordering key -> how many parked entries have it (one in practice: only
  // the oldest entry of a key is ever offered).
  absl::flat_hash_map<std::string, size_t> keys_;
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_CONNECTION_PARKED_ENTRIES_H_
