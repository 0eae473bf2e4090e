// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "connection/parked_entries.h"

#include <algorithm>
#include <utility>

namespace orgsync::internal {

void ParkedEntries::Park(const QueueEntry& entry, std::string key,
                         std::string awaited, absl::Time deadline) {
  Forget(entry.sequence);
  by_awaited_[awaited].push_back(entry.sequence);
  ++keys_[key];
  by_deadline_.emplace(deadline, entry.sequence);
  by_sequence_.emplace(entry.sequence,
                       Parked{.key = std::move(key),
                              .awaited = std::move(awaited),
                              .deadline = deadline,
                              .shape = HeldEntry{.action = entry.action,
                                                 .barrier = entry.barrier}});
}

size_t ParkedEntries::Release(const std::string& awaited) {
  const auto waiting = by_awaited_.find(awaited);
  if (waiting == by_awaited_.end()) return 0;
  const std::vector<uint64_t> sequences = std::move(waiting->second);
  by_awaited_.erase(waiting);
  for (const uint64_t sequence : sequences) {
    const auto parked = by_sequence_.find(sequence);
    if (parked != by_sequence_.end()) Drop(parked);
  }
  return sequences.size();
}

size_t ParkedEntries::ReleaseDue(absl::Time now) {
  size_t released = 0;
  while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
    Forget(by_deadline_.begin()->second);
    ++released;
  }
  return released;
}

void ParkedEntries::Clear() {
  by_sequence_.clear();
  by_awaited_.clear();
  keys_.clear();
  by_deadline_.clear();
}

std::optional<HeldEntry> ParkedEntries::Held(uint64_t sequence) const {
  const auto parked = by_sequence_.find(sequence);
  if (parked == by_sequence_.end()) return std::nullopt;
  return parked->second.shape;
}

bool ParkedEntries::HoldsKey(const std::string& key) const {
  return keys_.contains(key);
}

void ParkedEntries::Forget(uint64_t sequence) {
  const auto parked = by_sequence_.find(sequence);
  if (parked == by_sequence_.end()) return;
  const auto waiting = by_awaited_.find(parked->second.awaited);
  if (waiting != by_awaited_.end()) {
    std::vector<uint64_t>& sequences = waiting->second;
    sequences.erase(std::remove(sequences.begin(), sequences.end(), sequence),
                    sequences.end());
    if (sequences.empty()) by_awaited_.erase(waiting);
  }
  Drop(parked);
}

void ParkedEntries::Drop(
    absl::flat_hash_map<uint64_t, Parked>::iterator parked) {
  const auto key = keys_.find(parked->second.key);
  if (key != keys_.end() && --key->second == 0) keys_.erase(key);
  by_deadline_.erase({parked->second.deadline, parked->first});
  by_sequence_.erase(parked);
}

}  // namespace orgsync::internal
