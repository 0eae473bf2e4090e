// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "wire/queued_change.h"

#include "internal/wire_input.h"

namespace orgsync::wire {
namespace {

using Change = proto::RecordChange;

}  // namespace

std::optional<QueuedChange> ReadQueuedChange(std::string_view payload) {
  QueuedChange read;
  bool has_audit = false;
  orgsync::internal::WireInput in(payload);
  while (!in.empty()) {
    // Every field this reader takes is numbered below 32 (Tag's range);
    // a higher one is for the long way anyway.
    int field = 0;
    orgsync::internal::WireInput::WireType type;
    if (!in.Tag(&field, &type)) return std::nullopt;
    uint64_t number = 0;
    std::string_view bytes;
    switch (field) {
      case Change::kActionFieldNumber:
      case Change::kSenderVersionFieldNumber:
      case Change::kLastModifiedMicrosFieldNumber:
        if (type != orgsync::internal::WireInput::kVarint ||
            !in.Varint(&number)) {
          return std::nullopt;
        }
        if (field == Change::kActionFieldNumber) {
          read.action = static_cast<proto::QueueAction>(number);
        } else if (field == Change::kSenderVersionFieldNumber) {
          read.sender_version = number;
        }
        break;
      case Change::kObjectFieldNumber:
      case Change::kSenderRecordIdFieldNumber:
      case Change::kFieldsFieldNumber:
      case Change::kChangedFieldsFieldNumber:
      case Change::kAuditFieldNumber:
        if (type != orgsync::internal::WireInput::kDelimited ||
            !in.Delimited(&bytes)) {
          return std::nullopt;
        }
        if (field == Change::kObjectFieldNumber) read.object = bytes;
        if (field == Change::kSenderRecordIdFieldNumber) {
          read.sender_record_id = bytes;
        }
        if (field == Change::kAuditFieldNumber) has_audit = true;
        break;
      default:
        // The sequence, the partner's ids and version, lookups, cascades,
        // a whole deleted record, or a field this reader does not know:
        // for the long way.
        return std::nullopt;
    }
  }
  const bool insert = read.action == proto::GENERIC_INSERT;
  if (!insert && read.action != proto::GENERIC_UPDATE) return std::nullopt;
  if (has_audit && !insert) return std::nullopt;
  if (read.object.empty() || read.sender_record_id.empty()) {
    return std::nullopt;
  }
  return read;
}

void AppendSendFields(uint64_t sequence, std::string_view receiver_record_id,
                      uint64_t last_synced_receiver_version,
                      std::string* payload) {
  orgsync::internal::AppendVarintField(Change::kSequenceFieldNumber, sequence,
                                       payload);
  if (!receiver_record_id.empty()) {
    orgsync::internal::AppendDelimited(Change::kReceiverRecordIdFieldNumber,
                                       receiver_record_id, payload);
  }
  if (last_synced_receiver_version != 0) {
    orgsync::internal::AppendVarintField(
        Change::kLastSyncedReceiverVersionFieldNumber,
        last_synced_receiver_version, payload);
  }
}

}  // namespace orgsync::wire
