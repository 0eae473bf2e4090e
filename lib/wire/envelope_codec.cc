// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "wire/envelope_codec.h"

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "fmt/format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"
#include "orgsync/status.h"
#include "wire/envelope_rules.h"
#include "wire/wire_scanner.h"

namespace orgsync::wire {
namespace {

// EncodeEnvelope sets protocol_version, which may make the envelope a
// field (and up to 6 bytes) bigger than the one validated: kSendLimits
// keeps that much room, so that what a sender validated, its partner
// accepts.
absl::Status CheckEncodedSize(size_t size) {
  if (size > kSendLimits.max_bytes) {
    return absl::ResourceExhaustedError(fmt::format(
        "invalid envelope: {} bytes encoded, over the limit of {}; split the "
        "content over several envelopes",
        size, kSendLimits.max_bytes));
  }
  return absl::OkStatus();
}

std::string Serialize(const proto::Envelope& envelope) {
  std::string bytes;
  bool ok;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    // Map fields serialize in hash order otherwise.
    coded.SetSerializationDeterministic(true);
    ok = envelope.SerializeToCodedStream(&coded);
  }  // the CodedOutputStream trims `bytes` when it goes away
  if (!ok) bytes.clear();
  return bytes;
}

}  // namespace

std::string EncodeEnvelope(proto::Envelope envelope) {
  envelope.set_protocol_version(kProtocolVersion);
  return Serialize(envelope);
}

absl::StatusOr<proto::Envelope> DecodeEnvelope(std::string_view bytes) {
  proto::Envelope envelope;
  ORGSYNC_RETURN_IF_ERROR(DecodeEnvelopeInto(bytes, &envelope));
  return envelope;
}

absl::Status DecodeEnvelopeInto(std::string_view bytes,
                                proto::Envelope* envelope) {
  if (bytes.empty()) {
    return absl::InvalidArgumentError("invalid envelope: empty input");
  }
  // Refuses what is malformed or too big before the parser allocates.
  ORGSYNC_RETURN_IF_ERROR(internal::ScanEnvelopeWire(bytes).status());

  if (!envelope->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    // The scanner accepted it, so this is something subtler that protobuf
    // refuses (e.g. an overlong encoding).
    return absl::InvalidArgumentError(
        "invalid envelope: protobuf refused to parse it");
  }

  // The version first: a newer peer may break rules this version has.
  const uint32_t version = envelope->protocol_version();
  if (version == 0) {
    return absl::InvalidArgumentError(
        "invalid envelope: protocol_version: missing (0)");
  }
  if (version > kProtocolVersion) {
    return absl::FailedPreconditionError(fmt::format(
        "envelope protocol_version {} is newer than the {} this build "
        "supports (1..{}); upgrade orgsync on this side",
        version, kProtocolVersion, kProtocolVersion));
  }
  // The element count was checked on the input, and the canonical encoding
  // never counts more (wire_scanner.h). The size may grow, though (a map
  // entry's key and value are always written), so check it as it would be
  // re-encoded.
  ORGSYNC_RETURN_IF_ERROR(CheckEncodedSize(envelope->ByteSizeLong()));
  return internal::CheckEnvelopeRules(*envelope);
}

absl::Status ValidateEnvelope(const proto::Envelope& envelope) {
  // Cheap first: no copy of an envelope that is too big anyway.
  ORGSYNC_RETURN_IF_ERROR(CheckEncodedSize(envelope.ByteSizeLong()));
  // Then look at the bytes exactly as the partner's DecodeEnvelope will:
  // the element count and the UTF-8 of string fields are properties of the
  // encoding.
  ORGSYNC_ASSIGN_OR_RETURN(const size_t elements,
                           internal::ScanEnvelopeWire(Serialize(envelope)));
  if (elements > kSendLimits.max_elements) {
    return absl::ResourceExhaustedError(fmt::format(
        "invalid envelope: {} wire elements (fields, list items, map "
        "entries), over the limit of {}; split the content over several "
        "envelopes",
        elements, kSendLimits.max_elements));
  }
  return internal::CheckEnvelopeRules(envelope);
}


RefusedHeader ReadRefusedHeader(std::string_view bytes) {
  using ::google::protobuf::internal::WireFormatLite;
  constexpr uint32_t kBodyProtocolError =
      proto::Envelope::kProtocolErrorFieldNumber;
  constexpr size_t kMaxKept = 128;
  RefusedHeader header;
  // Whatever the size: only tags and lengths are read, and strings of at
  // most kMaxKept bytes are copied.
  google::protobuf::io::CodedInputStream input(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(std::min<size_t>(bytes.size(), INT32_MAX)));
  for (;;) {
    const uint32_t tag = input.ReadTag();
    if (tag == 0) break;  // the end, or a malformed tag
    const uint32_t number = WireFormatLite::GetTagFieldNumber(tag);
    switch (WireFormatLite::GetTagWireType(tag)) {
      case WireFormatLite::WIRETYPE_VARINT: {
        uint64_t value;
        if (!input.ReadVarint64(&value)) return header;
        if (number == proto::Envelope::kMessageIdFieldNumber) {
          header.message_id = value;
        }
        break;
      }
      case WireFormatLite::WIRETYPE_FIXED64:
        if (!input.Skip(8)) return header;
        break;
      case WireFormatLite::WIRETYPE_FIXED32:
        if (!input.Skip(4)) return header;
        break;
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
        uint32_t length;
        if (!input.ReadVarint32(&length)) return header;
        if (number == kBodyProtocolError) header.protocol_error = true;
        std::string* kept = nullptr;
        if (number == proto::Envelope::kConnectionIdFieldNumber) {
          kept = &header.connection_id;
        } else if (number == proto::Envelope::kSenderOrgIdFieldNumber) {
          kept = &header.sender_org_id;
        }
        if (kept != nullptr && length <= kMaxKept) {
          if (!input.ReadString(kept, static_cast<int>(length))) {
            kept->clear();
            return header;
          }
        } else if (!input.Skip(static_cast<int>(length))) {
          return header;
        }
        break;
      }
      default:
        // Groups (never part of an envelope) and invalid wire types: stop.
        return header;
    }
  }
  return header;
}

}  // namespace orgsync::wire
