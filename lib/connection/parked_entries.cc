// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "connection/parked_entries.h"

#include <algorithm>
#include <utility>

namespace orgsync::internal {

void ParkedEntries::Park(const QueueEntry& entry, std::string key,
                         std::string awaited) {
  Forget(entry.sequence);
  by_awaited_[awaited].push_back(entry.sequence);
  ++keys_[key];
  by_sequence_.emplace(
      entry.sequence,
      Parked{.key = std::move(key),
             .awaited = std::move(awaited),
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
    if (parked == by_sequence_.end()) continue;
    const auto key = keys_.find(parked->second.key);
    if (key != keys_.end() && --key->second == 0) keys_.erase(key);
    by_sequence_.erase(parked);
  }
  return sequences.size();
}

void ParkedEntries::Clear() {
  by_sequence_.clear();
  by_awaited_.clear();
  keys_.clear();
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
  const auto key = keys_.find(parked->second.key);
  if (key != keys_.end() && --key->second == 0) keys_.erase(key);
  by_sequence_.erase(parked);
}

}  // namespace orgsync::internal
