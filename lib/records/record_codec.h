// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Conversions between orgsync's record types (orgsync/record.h) and their
// protobuf forms (proto/common.proto, proto/record_state.proto). Times travel
// as Unix microseconds, so a time finer than that is rounded down.

#ifndef ORGSYNC_LIB_RECORDS_RECORD_CODEC_H_
#define ORGSYNC_LIB_RECORDS_RECORD_CODEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orgsync/record.h"
#include "proto/common.pb.h"
#include "proto/record_state.pb.h"
#include "records/record_table.h"

namespace orgsync::internal {

// `t` rounded down to the microsecond: the precision orgsync keeps.
absl::Time TruncateToMicros(absl::Time t);

void FieldValueToProto(const FieldValue& value, proto::FieldValue* out);
// Appends the bytes FieldValueToProto's message serializes to, without
// building the message (Verify encodes every value of both orgs).
void AppendFieldValueEncoding(const FieldValue& value, std::string* out);
FieldValue FieldValueFromProto(const proto::FieldValue& value);

void AuditFieldsToProto(const AuditFields& audit, proto::AuditFields* out);
AuditFields AuditFieldsFromProto(const proto::AuditFields& audit);

proto::StoredRecord StoredRecordToProto(const StoredRecord& stored);
// DataLoss for a field named twice.
absl::StatusOr<StoredRecord> StoredRecordFromProto(
    const proto::StoredRecord& stored);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_RECORDS_RECORD_CODEC_H_
