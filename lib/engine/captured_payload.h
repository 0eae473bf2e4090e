// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// CapturedPayload: the queue payload of a captured insert or update -- the
// bytes of the proto::RecordChange it stands for -- written straight from
// the host's record, without building the message.
//
// Capture queues one payload per change the host makes, on the host's own
// thread; building a RecordChange copied every value into the message's
// map and then serialized it, some 40% of a capture's own CPU besides the
// disk write. The bytes written here parse into the message that
// RecordSync::PlanCapture built before (tests/captured_payload_test.cc
// checks them against it): the fields in field-number order, a default
// value left out as proto3 leaves it out, the map's entries in the order
// they are added.
//
// Thread-safety: a value type, one thread at a time.

#ifndef ORGSYNC_LIB_ENGINE_CAPTURED_PAYLOAD_H_
#define ORGSYNC_LIB_ENGINE_CAPTURED_PAYLOAD_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "orgsync/record.h"
#include "proto/wire.pb.h"

namespace orgsync::internal {

class CapturedPayload {
 public:
  // The change's action (an insert or an update) and record.
  CapturedPayload(proto::QueueAction action, std::string_view object,
                  std::string_view record_id);

  // A value the change carries (RecordChange::fields).
  void AddValue(std::string_view field, const FieldValue& value);
  // A field the update changed (RecordChange::changed_fields), in order.
  void AddChangedField(std::string_view field);
  // The record's audit fields, set even when all are empty (R35).
  void SetAudit(const AuditFields& audit);

  // The payload, with the rest of the change's fields.
  std::string Finish(uint64_t sender_version, int64_t last_modified_micros,
                     bool forwarded) &&;

 private:
  std::string head_;     // fields 2 to 6: action, ids, values
  std::string changed_;  // field 7
  std::string audit_;    // field 8, whole
  // AddValue's value and its map entry, reused from one value to the next.
  std::string value_scratch_;
  std::string entry_scratch_;
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_ENGINE_CAPTURED_PAYLOAD_H_
