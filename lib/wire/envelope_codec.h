// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The envelope codec: the only place where orgsync turns proto::Envelope into
// bytes for a Transport and back. Everything a partner sends goes through
// DecodeEnvelope before the engine looks at it, so the engine may rely on the
// rules written in lib/proto/wire.proto ("must ...") holding for every
// envelope it handles.
//
// Record changes are the one body a sender packs many of: they are encoded
// by ChangeBatchEncoder (change_batch_encoder.h), which gives the same
// bytes EncodeEnvelope would, within the same limits.
//
// DecodeEnvelope treats its input as hostile: whatever the bytes, it returns
// a status and never crashes, and its memory use is bounded (the wire shape
// is scanned against kReceiveLimits (kMaxEnvelopeBytes, kMaxEnvelopeElements
// and kMaxEnvelopeNesting) before the parser materializes anything). Every
// refusal names the limit or the rule broken; a receiver answers a refused
// envelope of an accepted connection with a ProtocolError carrying that
// message (ReadRefusedHeader recovers which message it was). Codes:
//   InvalidArgument     not an envelope: empty input, malformed protobuf,
//                       invalid UTF-8 in a string field, protocol_version 0,
//                       or a rule of wire.proto broken (the message names
//                       the field path and the rule, e.g.
//                       "changes.changes[2].sequence: must be >= 1").
//   ResourceExhausted   over kMaxEnvelopeBytes or kMaxEnvelopeElements, or
//                       nested deeper than kMaxEnvelopeNesting.
//   FailedPrecondition  a well-formed envelope from a peer that speaks a
//                       newer protocol version than kProtocolVersion; the
//                       receiver's ProtocolError names the version it
//                       supports (supported_version).
// Versions 1..kProtocolVersion are accepted: a newer release keeps reading
// every older version, and adds fields rather than changing old ones.
//
// Thread-safety: all functions are pure and may be called concurrently.

#ifndef ORGSYNC_LIB_WIRE_ENVELOPE_CODEC_H_
#define ORGSYNC_LIB_WIRE_ENVELOPE_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/wire.pb.h"

namespace orgsync::wire {

// The protocol version this build speaks and stamps on what it sends.
inline constexpr uint32_t kProtocolVersion = 1;

// The largest envelope accepted, in bytes. It must hold one file body of the
// default attachment limit (38 MB, R38) with room to spare; senders keep
// record batches far smaller.
inline constexpr size_t kMaxEnvelopeBytes = size_t{64} << 20;

// The most wire elements (field occurrences and list items; a map entry
// counts 3) one envelope may hold. Small elements cost far more memory
// decoded than encoded (an empty list item is 2 bytes on the wire and a
// 240-byte message in memory); this bounds that amplification, to roughly
// 70 MB for the worst envelope. Room for about 600 records of 100 fields.
inline constexpr size_t kMaxEnvelopeElements = size_t{1} << 18;

// The deepest nesting of messages and groups accepted; the same as
// protobuf's own default recursion limit.
inline constexpr int kMaxEnvelopeNesting = 100;

// One set of limits (DESIGN.md rule 10). DecodeEnvelope refuses an
// envelope over kReceiveLimits. A sender packs within kSendLimits, counted
// on the envelope as it is encoded, protocol_version included: the same
// limits less room for the protocol_version field that EncodeEnvelope sets,
// so that whatever a sender packed its partner accepts. ValidateEnvelope
// and ChangeBatchEncoder (change_batch_encoder.h) both check kSendLimits.
struct EnvelopeLimits {
  size_t max_bytes;
  size_t max_elements;  // wire elements, as wire_scanner.h counts them
  int max_nesting;
};
inline constexpr EnvelopeLimits kReceiveLimits = {
    kMaxEnvelopeBytes, kMaxEnvelopeElements, kMaxEnvelopeNesting};
inline constexpr EnvelopeLimits kSendLimits = {
    kMaxEnvelopeBytes - 6,  // a protocol_version field: tag and varint
    kMaxEnvelopeElements - 1, kMaxEnvelopeNesting};

// Serializes `envelope` with protocol_version set to kProtocolVersion.
// Deterministic: equal envelopes give equal bytes (map entries are sorted),
// within one protobuf version. Does not validate: call ValidateEnvelope
// before sending, since the partner's DecodeEnvelope rejects what it
// rejects. Returns an empty string (which no decoder accepts) if the
// envelope exceeds protobuf's 2 GiB limit.
std::string EncodeEnvelope(proto::Envelope envelope);

// Parses and validates bytes received from a partner; see the file comment
// for the status codes. Unknown fields (from a newer peer) are kept, so
// re-encoding the result preserves them.
[[nodiscard]] absl::StatusOr<proto::Envelope> DecodeEnvelope(
    std::string_view bytes);

// DecodeEnvelope into `*envelope`, which must be empty: the receiving path
// decodes into a message on a protobuf Arena, so that the thousands of
// small allocations of a large envelope, and its destruction, cost a few
// block allocations instead. On error `*envelope` holds whatever was
// parsed and must not be used.
[[nodiscard]] absl::Status DecodeEnvelopeInto(std::string_view bytes,
                                              proto::Envelope* envelope);

// What can be read of an envelope that DecodeEnvelope refused, for the
// answer (a ProtocolError naming the message). Read leniently from the
// top-level fields, in order, up to the first malformed spot; a field not
// reached stays empty (0). Strings are kept only up to 128 bytes, the
// longest valid connection id.
struct RefusedHeader {
  uint64_t message_id = 0;
  std::string connection_id;
  std::string sender_org_id;
  // The body is a ProtocolError (field seen): it is never answered.
  bool protocol_error = false;
};
RefusedHeader ReadRefusedHeader(std::string_view bytes);

// Checks an envelope before it is sent, exactly as the partner's
// DecodeEnvelope will check it after EncodeEnvelope: kSendLimits
// (ResourceExhausted: split the content), UTF-8 in string fields and
// every rule of wire.proto (InvalidArgument). The protocol version is not
// checked: EncodeEnvelope sets it. Costs one serialization.
[[nodiscard]] absl::Status ValidateEnvelope(const proto::Envelope& envelope);

}  // namespace orgsync::wire

#endif  // ORGSYNC_LIB_WIRE_ENVELOPE_CODEC_H_
