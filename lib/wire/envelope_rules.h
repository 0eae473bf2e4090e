// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The semantic rules of lib/proto/wire.proto ("must ..." in its comments),
// checked on a parsed envelope. Internal to the codec: callers use
// ValidateEnvelope or DecodeEnvelope (envelope_codec.h), which add the
// limits and the version check.
//
// Thread-safety: pure; may be called concurrently.

#ifndef ORGSYNC_LIB_WIRE_ENVELOPE_RULES_H_
#define ORGSYNC_LIB_WIRE_ENVELOPE_RULES_H_

#include "absl/status/status.h"
#include "proto/wire.pb.h"

namespace orgsync::wire::internal {

// OK, or InvalidArgument naming the field path and the rule broken, e.g.
// "invalid envelope: changes.changes[2].sequence: must be >= 1". Checks
// neither protocol_version nor the size limits.
[[nodiscard]] absl::Status CheckEnvelopeRules(const proto::Envelope& envelope);

// The rules of one RecordChange, as CheckEnvelopeRules checks each change
// of a ChangeBatch; the path is relative to the change, e.g. "invalid
// record change: sequence: must be >= 1".
[[nodiscard]] absl::Status CheckRecordChangeRules(
    const proto::RecordChange& change);

}  // namespace orgsync::wire::internal

#endif  // ORGSYNC_LIB_WIRE_ENVELOPE_RULES_H_
