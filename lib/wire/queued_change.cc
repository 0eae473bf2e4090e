// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "wire/queued_change.h"

#include "google/protobuf/wire_format_lite.h"

namespace orgsync::wire {
namespace {

using ::google::protobuf::internal::WireFormatLite;
using Change = proto::RecordChange;

// Reads a base-128 varint from the front of `in`.
bool ReadVarint(std::string_view* in, uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

bool ReadLengthDelimited(std::string_view* in, std::string_view* value) {
  uint64_t length = 0;
  if (!ReadVarint(in, &length) || length > in->size()) return false;
  *value = in->substr(0, length);
  in->remove_prefix(length);
  return true;
}

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

void AppendTag(int field, WireFormatLite::WireType type, std::string* out) {
  AppendVarint(WireFormatLite::MakeTag(field, type), out);
}

}  // namespace

std::optional<QueuedChange> ReadQueuedChange(std::string_view payload) {
  QueuedChange read;
  bool has_audit = false;
  while (!payload.empty()) {
    uint64_t tag = 0;
    if (!ReadVarint(&payload, &tag)) return std::nullopt;
    const auto field = static_cast<int>(WireFormatLite::GetTagFieldNumber(
        static_cast<uint32_t>(tag)));
    const WireFormatLite::WireType type =
        WireFormatLite::GetTagWireType(static_cast<uint32_t>(tag));
    uint64_t number = 0;
    std::string_view bytes;
    switch (field) {
      case Change::kActionFieldNumber:
      case Change::kSenderVersionFieldNumber:
      case Change::kLastModifiedMicrosFieldNumber:
        if (type != WireFormatLite::WIRETYPE_VARINT ||
            !ReadVarint(&payload, &number)) {
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
        if (type != WireFormatLite::WIRETYPE_LENGTH_DELIMITED ||
            !ReadLengthDelimited(&payload, &bytes)) {
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
  AppendTag(Change::kSequenceFieldNumber, WireFormatLite::WIRETYPE_VARINT,
            payload);
  AppendVarint(sequence, payload);
  if (!receiver_record_id.empty()) {
    AppendTag(Change::kReceiverRecordIdFieldNumber,
              WireFormatLite::WIRETYPE_LENGTH_DELIMITED, payload);
    AppendVarint(receiver_record_id.size(), payload);
    payload->append(receiver_record_id);
  }
  if (last_synced_receiver_version != 0) {
    AppendTag(Change::kLastSyncedReceiverVersionFieldNumber,
              WireFormatLite::WIRETYPE_VARINT, payload);
    AppendVarint(last_synced_receiver_version, payload);
  }
}

}  // namespace orgsync::wire
