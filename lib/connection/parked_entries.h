// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// ParkedEntries: queue entries the sender prepared and found waiting for
// another record's change -- a child whose parent's insert has not been
// answered yet, or waits for its retry (R65), so the child's lookup cannot
// be translated to the partner's id. Without it every Step picks such an
// entry again, reads its record from the host's store and prepares it
// again, only to hold it back again: a bulk sync of parents and children
// prepared each child about thirty times before it went, and the children
// of a parent waiting a minute for its retry were prepared at every Step
// of that minute.
//
// A parked entry is not picked (the queue steps over it as over the
// entries in flight, ReadyFilter::Held), and neither is any later entry of
// its record (R50 per-record order), until the record it waits for moves:
// its change is sent, answered, failed or forgotten (Release), the window
// is dropped (Clear), or, should none of that happen, its deadline passes
// (ReleaseDue). Then it is picked and prepared again as usual.
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
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "orgsync/record_queue.h"
#include "queue/durable_record_queue.h"

namespace orgsync::internal {

class ParkedEntries {
 public:
  // Parks `entry`, whose ordering key is `key`, until the record of
  // ordering key `awaited` moves (Release) or `deadline` passes. Parking an
  // entry parked already parks it anew.
  void Park(const QueueEntry& entry, std::string key, std::string awaited,
            absl::Time deadline);

  // An entry of ordering key `awaited` was sent or left the window or the
  // queue: the entries parked on it may go again. Returns how many were
  // released.
  size_t Release(const std::string& awaited);

  // Releases the entries whose deadline is at or before `now`.
  size_t ReleaseDue(absl::Time now);

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
    absl::Time deadline;
    HeldEntry shape;
  };
  // Removes `sequence` wherever it is listed.
  void Forget(uint64_t sequence);
  // Removes `parked` from every index but by_awaited_.
  void Drop(absl::flat_hash_map<uint64_t, Parked>::iterator parked);

  absl::flat_hash_map<uint64_t, Parked> by_sequence_;
  absl::flat_hash_map<std::string, std::vector<uint64_t>> by_awaited_;
  // Ordering key -> how many parked entries have it (one in practice: only
  // the oldest entry of a key is ever offered).
  absl::flat_hash_map<std::string, size_t> keys_;
  // (deadline, sequence) of every parked entry, soonest first.
  std::set<std::pair<absl::Time, uint64_t>> by_deadline_;
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_CONNECTION_PARKED_ENTRIES_H_
