// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "engine/captured_payload.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "internal/wire_input.h"
#include "records/record_codec.h"

namespace orgsync::internal {
namespace {

using Change = proto::RecordChange;

// A map entry's key and value fields (every map entry message numbers
// them 1 and 2).
constexpr int kMapEntryKey = 1;
constexpr int kMapEntryValue = 2;

void AppendUnlessZero(int field, uint64_t value, std::string* out) {
  if (value != 0) AppendVarintField(field, value, out);  // as proto3 does
}

}  // namespace

CapturedPayload::CapturedPayload(proto::QueueAction action,
                                 std::string_view object,
                                 std::string_view record_id) {
  head_.reserve(64 + object.size() + record_id.size());
  AppendUnlessZero(Change::kActionFieldNumber,
                   static_cast<uint64_t>(static_cast<int64_t>(action)), &head_);
  if (!object.empty())
    AppendDelimited(Change::kObjectFieldNumber, object, &head_);
  if (!record_id.empty()) {
    AppendDelimited(Change::kSenderRecordIdFieldNumber, record_id, &head_);
  }
}

void CapturedPayload::AddValue(std::string_view field,
                               const FieldValue& value) {
  value_scratch_.clear();
  AppendFieldValueEncoding(value, &value_scratch_);
  entry_scratch_.clear();
  AppendDelimited(kMapEntryKey, field, &entry_scratch_);
  AppendDelimited(kMapEntryValue, value_scratch_, &entry_scratch_);
  AppendDelimited(Change::kFieldsFieldNumber, entry_scratch_, &head_);
}

void CapturedPayload::AddChangedField(std::string_view field) {
  AppendDelimited(Change::kChangedFieldsFieldNumber, field, &changed_);
}

void CapturedPayload::SetAudit(const AuditFields& audit) {
  proto::AuditFields message;
  AuditFieldsToProto(audit, &message);
  audit_.clear();
  AppendDelimited(Change::kAuditFieldNumber, message.SerializeAsString(),
                  &audit_);
}

std::string CapturedPayload::Finish(uint64_t sender_version,
                                    int64_t last_modified_micros,
                                    bool forwarded) && {
  std::string out = std::move(head_);
  out.reserve(out.size() + changed_.size() + audit_.size() + 24);
  out.append(changed_);
  out.append(audit_);
  AppendUnlessZero(Change::kSenderVersionFieldNumber, sender_version, &out);
  // An int64 goes as its two's complement, ten bytes when negative.
  AppendUnlessZero(Change::kLastModifiedMicrosFieldNumber,
                   static_cast<uint64_t>(last_modified_micros), &out);
  AppendUnlessZero(Change::kForwardedFieldNumber, forwarded ? 1 : 0, &out);
  return out;
}

}  // namespace orgsync::internal
