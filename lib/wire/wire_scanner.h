// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// A guard in front of the protobuf parser: walks the wire format of an
// Envelope, guided by its descriptors, without materializing anything, and
// refuses what would be unsafe or pointless to parse. Internal to the codec.
//
// Elements are what the limit kMaxEnvelopeElements counts: each field
// occurrence (including each list item and each tag of an unknown group)
// costs 1, except that a map entry costs 3 flat (entry, key, value), whether
// or not its key and value were on the wire, because the encoder always
// writes both. So re-encoding a decoded envelope never counts more than the
// input did, and an envelope that decoded once always decodes again.
//
// Thread-safety: pure; may be called concurrently.

#ifndef ORGSYNC_LIB_WIRE_WIRE_SCANNER_H_
#define ORGSYNC_LIB_WIRE_WIRE_SCANNER_H_

#include <cstddef>
#include <string_view>

#include "absl/status/statusor.h"

namespace orgsync::wire::internal {

// The number of elements in `bytes`, or:
//   InvalidArgument    malformed wire data (truncated, bad wire type or
//                      field number, unbalanced groups; the message names
//                      the byte offset and field path) or invalid UTF-8 in a
//                      known string field;
//   ResourceExhausted  over kMaxEnvelopeBytes, kMaxEnvelopeElements or
//                      kMaxEnvelopeNesting.
// What passes may still fail to parse in corner cases the scanner does not
// mirror (e.g. an overlong tag encoding); the parser has the last word.
[[nodiscard]] absl::StatusOr<size_t> ScanEnvelopeWire(std::string_view bytes);

// How deep a RecordChange sits in an envelope: Envelope > ChangeBatch >
// RecordChange.
inline constexpr int kRecordChangeDepth = 2;

// The same scan over one serialized RecordChange, as it is scanned inside a
// ChangeBatch envelope: the count of its own elements (not its occurrence
// in the batch), nesting counted from kRecordChangeDepth. No element or
// byte limit applies (the caller compares the count with the envelope's);
// the nesting limit and UTF-8 do. The sender uses it to measure a change
// exactly as its partner's decoder will count it.
[[nodiscard]] absl::StatusOr<size_t> ScanRecordChangeWire(
    std::string_view bytes);

}  // namespace orgsync::wire::internal

#endif  // ORGSYNC_LIB_WIRE_WIRE_SCANNER_H_
