// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// How the record queue is laid out in a Storage (key layout:
// lib/proto/queue_state.proto) and how an entry is encoded, decoded and
// validated: what the queue's writers (durable_record_queue.cc) and
// readers (queue_reading.cc) share.

#ifndef ORGSYNC_LIB_QUEUE_QUEUE_CODEC_H_
#define ORGSYNC_LIB_QUEUE_QUEUE_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "internal/keys.h"
#include "orgsync/queue_action.h"
#include "orgsync/record.h"
#include "orgsync/record_queue.h"
#include "proto/queue_state.pb.h"
#include "queue/durable_record_queue.h"

namespace orgsync::internal {

// One counter slot per action number (0 unused).
inline constexpr size_t kQueueActionSlots = kAllQueueActions.size() + 1;

class QueueKeys {
 public:
  explicit QueueKeys(std::string_view connection_id)
      : prefix_(ScopePrefix('q', connection_id)) {}

  std::string EntryPrefix() const { return Tag('e'); }
  std::string Entry(uint64_t sequence) const {
    std::string key = EntryPrefix();
    AppendUint64(&key, sequence);
    return key;
  }
  std::string RecordPrefix(const RecordRef& record) const {
    std::string key = Tag('r');
    AppendOrderedString(&key, record.object);
    AppendOrderedString(&key, record.id);
    return key;
  }
  std::string RecordIndex(const RecordRef& record, uint64_t sequence) const {
    std::string key = RecordPrefix(record);
    AppendUint64(&key, sequence);
    return key;
  }
  std::string HighWaterPrefix() const { return Tag('h'); }
  std::string HighWater(uint64_t sequence) const {
    std::string key = HighWaterPrefix();
    AppendUint64(&key, sequence);
    return key;
  }

 private:
  std::string Tag(char tag) const {
    std::string key = prefix_;
    key.push_back(tag);
    return key;
  }

  std::string prefix_;
};

// The key that groups entries for per-record ordering.
std::string OrderKey(const RecordRef& record);

proto::QueueEntryState QueueEntryToState(const QueueEntry& entry);
// DataLoss for a value that is not a stored entry.
absl::StatusOr<QueueEntry> DecodeQueueEntry(uint64_t sequence,
                                            std::string_view value);

// The sequence that ends an entry or index key.
absl::StatusOr<uint64_t> SequenceFromKey(std::string_view key,
                                         size_t prefix_size);
// List's page tokens: the last sequence returned.
std::string SequenceToken(uint64_t sequence);
absl::StatusOr<uint64_t> ParseSequenceToken(std::string_view token);

// InvalidArgument (prefixed with `where`) for an id without an object, or
// an object or id over `max_bytes`.
absl::Status ValidateQueueRecord(const RecordRef& record, size_t max_bytes,
                                 std::string_view where);

// InvalidArgument naming entry `index` and the bad field.
absl::Status ValidateNewQueueEntry(const NewQueueEntry& entry, size_t index,
                                   const RecordQueueOptions& options);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_QUEUE_QUEUE_CODEC_H_
