// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "wire/change_batch_encoder.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "fmt/format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"
#include "orgsync/status.h"
#include "wire/envelope_codec.h"
#include "wire/envelope_rules.h"
#include "wire/wire_scanner.h"

namespace orgsync::wire {
namespace {

using ::google::protobuf::internal::WireFormatLite;
using ::google::protobuf::io::CodedOutputStream;

// The tags of Envelope.changes and ChangeBatch.changes: one byte each.
constexpr uint32_t kEnvelopeChangesTag =
    WireFormatLite::MakeTag(proto::Envelope::kChangesFieldNumber,
                            WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
constexpr uint32_t kBatchChangeTag =
    WireFormatLite::MakeTag(proto::ChangeBatch::kChangesFieldNumber,
                            WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
static_assert(kEnvelopeChangesTag < 128 && kBatchChangeTag < 128);
constexpr size_t kTagBytes = 1;
constexpr size_t kMaxVarint32Bytes = 5;

size_t VarintBytes(size_t value) {
  return CodedOutputStream::VarintSize64(static_cast<uint64_t>(value));
}

// A length-delimited field of `length` bytes: tag, length, bytes.
size_t FieldBytes(size_t length) {
  return kTagBytes + VarintBytes(length) + length;
}

// A change of `size` bytes, `alone` in an envelope of its own, is over
// kSendLimits.
absl::Status TooManyBytes(size_t size, size_t alone) {
  return absl::ResourceExhaustedError(fmt::format(
      "the change is {} bytes encoded ({} in an envelope of its own), over "
      "the limit of {} bytes an envelope may hold",
      size, alone, kSendLimits.max_bytes));
}

proto::Envelope Header(std::string_view connection_id,
                       std::string_view sender_org_id, uint64_t message_id) {
  proto::Envelope header;
  header.set_connection_id(std::string(connection_id));
  header.set_sender_org_id(std::string(sender_org_id));
  header.set_message_id(message_id);
  return header;
}

}  // namespace

size_t EncodedChange::EnvelopeBytes() const { return FieldBytes(bytes.size()); }

ChangeBatchEncoder::ChangeBatchEncoder(std::string_view connection_id,
                                       std::string_view sender_org_id)
    : connection_id_(connection_id), sender_org_id_(sender_org_id) {
  const std::string header = EncodeEnvelope(Header(
      connection_id_, sender_org_id_, std::numeric_limits<uint64_t>::max()));
  header_bytes_ = header.size();
  // The header's fields, one element each (none of them is empty here but
  // perhaps the ids; the count is what the scanner sees).
  absl::StatusOr<size_t> elements = internal::ScanEnvelopeWire(header);
  header_elements_ = elements.ok() ? *elements : 4;
}

absl::StatusOr<EncodedChange> ChangeBatchEncoder::Encode(
    const proto::RecordChange& change) const {
  ORGSYNC_RETURN_IF_ERROR(internal::CheckRecordChangeRules(change));
  // The size first: no copy of a change that is too big anyway. It is
  // cached in the message, so the serialization below does not recompute it.
  const size_t size = change.ByteSizeLong();
  const size_t alone = BytesWith(FieldBytes(size));
  if (alone > kSendLimits.max_bytes) {
    return TooManyBytes(size, alone);
  }
  EncodedChange encoded;
  encoded.sequence = change.sequence();
  {
    google::protobuf::io::StringOutputStream stream(&encoded.bytes);
    CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);  // as EncodeEnvelope
    change.SerializeWithCachedSizes(&coded);
  }  // the CodedOutputStream trims the string when it goes away
  return Measure(std::move(encoded));
}

absl::StatusOr<EncodedChange> ChangeBatchEncoder::EncodeSerialized(
    std::string bytes, uint64_t sequence) const {
  const size_t alone = BytesWith(FieldBytes(bytes.size()));
  if (alone > kSendLimits.max_bytes) {
    return TooManyBytes(bytes.size(), alone);
  }
  EncodedChange encoded;
  encoded.sequence = sequence;
  encoded.bytes = std::move(bytes);
  return Measure(std::move(encoded));
}

absl::StatusOr<EncodedChange> ChangeBatchEncoder::Measure(
    EncodedChange encoded) const {
  // The partner's scanner counts, checks UTF-8 and the nesting.
  absl::StatusOr<size_t> elements =
      internal::ScanRecordChangeWire(encoded.bytes);
  if (!elements.ok()) {
    return absl::Status(elements.status().code(),
                        fmt::format("the partner's decoder would refuse it: {}",
                                    std::string(elements.status().message())));
  }
  encoded.elements = *elements + 1;  // its occurrence in the batch
  // Alone: the header, the body field, the change.
  const size_t alone_elements = header_elements_ + 1 + encoded.elements;
  if (alone_elements > kSendLimits.max_elements) {
    return absl::ResourceExhaustedError(fmt::format(
        "the change is {} wire elements (fields, list items, map entries; "
        "{} in an envelope of its own), over the limit of {} an envelope "
        "may hold",
        encoded.elements, alone_elements, kSendLimits.max_elements));
  }
  return encoded;
}

size_t ChangeBatchEncoder::BytesWith(size_t batch_bytes) const {
  return header_bytes_ + FieldBytes(batch_bytes);
}

size_t ChangeBatchEncoder::bytes() const {
  return empty() ? header_bytes_ : BytesWith(batch_.size());
}

size_t ChangeBatchEncoder::elements() const {
  return empty() ? header_elements_ : header_elements_ + 1 + batch_elements_;
}

bool ChangeBatchEncoder::Fits(const EncodedChange& change) const {
  if (empty()) return true;
  return BytesWith(batch_.size() + change.EnvelopeBytes()) <=
             kSendLimits.max_bytes &&
         elements() + change.elements <= kSendLimits.max_elements;
}

void ChangeBatchEncoder::Add(EncodedChange change) {
  char prefix[kTagBytes + kMaxVarint32Bytes];
  uint8_t* end = CodedOutputStream::WriteTagToArray(
      kBatchChangeTag, reinterpret_cast<uint8_t*>(prefix));
  end = CodedOutputStream::WriteVarint32ToArray(
      static_cast<uint32_t>(change.bytes.size()), end);
  batch_.append(prefix, reinterpret_cast<char*>(end));
  batch_.append(change.bytes);
  batch_elements_ += change.elements;
  ++changes_;
}

std::string ChangeBatchEncoder::Finish(uint64_t message_id) {
  // Fields in number order, as protobuf writes them: the header's, then
  // the body (changes = 12).
  std::string bytes =
      EncodeEnvelope(Header(connection_id_, sender_org_id_, message_id));
  char prefix[kTagBytes + kMaxVarint32Bytes];
  uint8_t* end = CodedOutputStream::WriteTagToArray(
      kEnvelopeChangesTag, reinterpret_cast<uint8_t*>(prefix));
  end = CodedOutputStream::WriteVarint32ToArray(
      static_cast<uint32_t>(batch_.size()), end);
  bytes.reserve(bytes.size() + (end - reinterpret_cast<uint8_t*>(prefix)) +
                batch_.size());
  bytes.append(prefix, reinterpret_cast<char*>(end));
  bytes.append(batch_);
  Clear();
  return bytes;
}

void ChangeBatchEncoder::Clear() {
  batch_.clear();
  batch_elements_ = 0;
  changes_ = 0;
}

}  // namespace orgsync::wire
