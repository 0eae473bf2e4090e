// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Reads a serialized proto::StoredRecord (proto/record_state.proto) straight
// into a StoredRecord, without the protobuf message in between.
//
// Every record a Storage-backed RecordStore hands out -- a bulk sync's and
// Verify's scans, each Get of a live change -- was decoded by parsing the
// message and then copying each string and value out of it; that was a
// third of a Verify's time. The reader decodes in one pass what this
// library's encoder writes: known fields, each singular one once, fields in
// name order, a value of one kind, valid UTF-8 in strings. Anything else
// (an unknown field, a repeated singular field, which the protobuf parser
// merges, bytes that do not decode) is read by the parser as before, so the
// result is the parser's for every input.
//
// Thread-safety: pure functions.

#ifndef ORGSYNC_LIB_RECORDS_STORED_RECORD_READER_H_
#define ORGSYNC_LIB_RECORDS_STORED_RECORD_READER_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "records/record_table.h"

namespace orgsync::internal {

// The record `bytes` holds. DataLoss when they are not a StoredRecord or
// name a field twice (`key`, the storage key, names the value in the
// message).
[[nodiscard]] absl::StatusOr<StoredRecord> ReadStoredRecord(
    std::string_view key, std::string_view bytes);

// The same record read into `out`, reusing its field nodes and string
// buffers: a cursor that reads record after record of one object into one
// StoredRecord allocates next to nothing per record (`out` is unspecified
// after an error).
[[nodiscard]] absl::Status ReadStoredRecordInto(std::string_view key,
                                                std::string_view bytes,
                                                StoredRecord* out);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_RECORDS_STORED_RECORD_READER_H_
