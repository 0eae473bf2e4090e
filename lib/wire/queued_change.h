// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// A queued capture sent as it was stored: the payload Capture wrote (a
// serialized RecordChange) is put on the wire as it is, with what the send
// adds -- the sequence, the partner's record id and version -- appended as
// fields of their own. A parser takes the last occurrence of a singular
// field, and the payload carries none of them, so the partner reads the
// same change as if it had been parsed, completed and serialized again, at
// none of that cost.
//
// ReadQueuedChange reads only the payload's top-level tags and the few
// values the sender checks, and says whether the payload is plain enough
// for that: an insert or update of one record carrying values, changed
// fields and (inserts only) audit fields, and nothing a send would have
// to rewrite. Anything else is sent the long way (parsed and encoded).
//
// Thread-safety: pure functions.

#ifndef ORGSYNC_LIB_WIRE_QUEUED_CHANGE_H_
#define ORGSYNC_LIB_WIRE_QUEUED_CHANGE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/wire.pb.h"

namespace orgsync::wire {

struct QueuedChange {
  proto::QueueAction action = proto::QUEUE_ACTION_UNSPECIFIED;
  std::string_view object;            // into the payload
  std::string_view sender_record_id;  // into the payload
  uint64_t sender_version = 0;
};

// What the payload says, when it is a plain insert or update (see above)
// and well formed; nullopt otherwise.
std::optional<QueuedChange> ReadQueuedChange(std::string_view payload);

// The most AppendSendFields adds besides the partner's id itself: three
// tags, two varints of 64 bits and the id's length.
inline constexpr size_t kMaxSendFieldsBytes = 3 + 10 + 10 + 10;

// Appends, as RecordChange fields, what a send adds: the sequence, and
// for a linked record the partner's id and the version last synced there
// (0: none).
void AppendSendFields(uint64_t sequence, std::string_view receiver_record_id,
                      uint64_t last_synced_receiver_version,
                      std::string* payload);

}  // namespace orgsync::wire

#endif  // ORGSYNC_LIB_WIRE_QUEUED_CHANGE_H_
