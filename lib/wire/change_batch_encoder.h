// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// ChangeBatchEncoder: builds ChangeBatch envelopes change by change, within
// the limits the partner's DecodeEnvelope enforces (kSendLimits,
// envelope_codec.h). It is the sending half of DESIGN.md rule 10: the
// sender packs with the same definition of bytes, wire elements and nesting
// as the receiver decodes with.
//
// Each record change is serialized once (deterministically) and measured
// on those bytes by the decoder's own scanner (wire_scanner.h), so the
// count is exactly the partner's. The envelope is then assembled from the
// stored bytes: what Finish returns is byte for byte what EncodeEnvelope
// gives for the same envelope, and no change is serialized twice.
//
// Thread-safety: a ChangeBatchEncoder is a plain value; one thread at a
// time.

#ifndef ORGSYNC_LIB_WIRE_CHANGE_BATCH_ENCODER_H_
#define ORGSYNC_LIB_WIRE_CHANGE_BATCH_ENCODER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "proto/wire.pb.h"

namespace orgsync::wire {

// One record change, serialized for a ChangeBatch, with what it costs there.
struct EncodedChange {
  uint64_t sequence = 0;
  std::string bytes;    // the RecordChange, deterministic serialization
  size_t elements = 0;  // its wire elements, its occurrence in the batch
                        // included
  // What it adds to an envelope's encoded size: tag, length and bytes.
  size_t EnvelopeBytes() const;
};

class ChangeBatchEncoder {
 public:
  // Envelopes of `connection_id`, sent by `sender_org_id`; the message id
  // is given at Finish and counted at its largest (10 bytes) meanwhile.
  ChangeBatchEncoder(std::string_view connection_id,
                     std::string_view sender_org_id);

  // Serializes `change` and measures it as the partner's decoder will.
  //   InvalidArgument    the decoder refuses it in any envelope: a rule of
  //                      wire.proto broken, invalid UTF-8 (the message
  //                      names the field path);
  //   ResourceExhausted  it can never be sent: alone in an envelope it is
  //                      over kSendLimits in bytes or wire elements, or
  //                      nested too deep (the message gives its size and
  //                      the limit).
  [[nodiscard]] absl::StatusOr<EncodedChange> Encode(
      const proto::RecordChange& change) const;

  // As Encode, for a change already serialized: `bytes` is a RecordChange
  // whose sequence is `sequence` (wire/queued_change.h: a queued capture
  // sent as it was stored). It is measured and scanned by the partner's
  // scanner the same way, and fails the same way, but it is not parsed:
  // the rules of wire.proto that need the parsed change
  // (CheckRecordChangeRules) are the caller's to guarantee.
  [[nodiscard]] absl::StatusOr<EncodedChange> EncodeSerialized(
      std::string bytes, uint64_t sequence) const;

  // Whether `change` (from Encode) can join the envelope being built
  // without taking it over kSendLimits. Always true when it is empty.
  bool Fits(const EncodedChange& change) const;
  // Adds `change`; the caller checked Fits.
  void Add(EncodedChange change);

  bool empty() const { return changes_ == 0; }
  size_t changes() const { return changes_; }
  // The envelope's encoded size and wire elements so far, header included
  // (an upper bound: the message id is counted at its largest).
  size_t bytes() const;
  size_t elements() const;

  // The envelope's bytes, with `message_id` (>= 1); the encoder is empty
  // again afterwards. Must not be called while empty.
  std::string Finish(uint64_t message_id);
  // Drops the changes added so far.
  void Clear();

 private:
  size_t BytesWith(size_t batch_bytes) const;
  // The partner's scanner over `encoded.bytes`, and the limits for one
  // change alone in an envelope.
  absl::StatusOr<EncodedChange> Measure(EncodedChange encoded) const;

  const std::string connection_id_;
  const std::string sender_org_id_;
  // The header's size and elements with the largest message id.
  size_t header_bytes_ = 0;
  size_t header_elements_ = 0;
  // The ChangeBatch body so far: its fields, encoded.
  std::string batch_;
  size_t batch_elements_ = 0;
  size_t changes_ = 0;
};

}  // namespace orgsync::wire

#endif  // ORGSYNC_LIB_WIRE_CHANGE_BATCH_ENCODER_H_
