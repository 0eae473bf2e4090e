// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "wire/wire_scanner.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "orgsync/status.h"
#include "proto/wire.pb.h"
#include "wire/envelope_codec.h"

namespace orgsync::wire::internal {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::internal::WireFormatLite;

bool IsValidUtf8(const unsigned char* text, size_t size) {
  size_t i = 0;
  while (i < size) {
    const unsigned char lead = text[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t code_point;
    uint32_t smallest;  // below it the sequence is overlong
    if ((lead & 0xE0) == 0xC0) {
      length = 2, code_point = lead & 0x1F, smallest = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, code_point = lead & 0x0F, smallest = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, code_point = lead & 0x07, smallest = 0x10000;
    } else {
      return false;
    }
    if (size - i < length) return false;
    for (size_t k = 1; k < length; ++k) {
      const unsigned char next = text[i + k];
      if ((next & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3F);
    }
    if (code_point < smallest || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

// One pass over the bytes (see wire_scanner.h). It also names the first
// malformed spot, where the parser would only say "false".
class WireScanner {
 public:
  WireScanner(const char* data, int size, size_t max_elements)
      : data_(data),
        input_(reinterpret_cast<const uint8_t*>(data), size),
        size_(size),
        max_elements_(max_elements) {}

  absl::StatusOr<size_t> Scan(const Descriptor* descriptor, int depth) {
    input_.PushLimit(size_);
    ORGSYNC_RETURN_IF_ERROR(ScanMessage(descriptor, depth));
    return elements_;
  }

 private:
  // One level of the path to the spot being read, for error messages.
  struct Frame {
    const FieldDescriptor* field;  // null for an unknown field
    uint32_t number;
  };

  // Reads fields up to the current limit (a length-delimited message).
  absl::Status ScanMessage(const Descriptor* descriptor, int depth) {
    while (input_.BytesUntilLimit() > 0) {
      bool end_group = false;
      ORGSYNC_RETURN_IF_ERROR(ScanField(descriptor, depth, &end_group));
      if (end_group) return Malformed("end-group tag outside a group");
    }
    return absl::OkStatus();
  }

  // Reads fields up to the end-group tag closing group `number`. Groups
  // are never part of orgsync's schema: their content is unknown fields.
  absl::Status ScanGroup(uint32_t number, int depth) {
    while (input_.BytesUntilLimit() > 0) {
      bool end_group = false;
      ORGSYNC_RETURN_IF_ERROR(ScanField(nullptr, depth, &end_group));
      if (end_group) {
        if (last_number_ != number) {
          return Malformed(fmt::format("group {} closed by end-group tag {}",
                                       number, last_number_));
        }
        return absl::OkStatus();
      }
    }
    return Malformed(fmt::format("group {} is not closed", number));
  }

  absl::Status ScanField(const Descriptor* descriptor, int depth,
                         bool* end_group) {
    uint32_t tag = 0;
    if (!input_.ReadVarint32(&tag)) return Malformed("truncated field tag");
    const uint32_t number = WireFormatLite::GetTagFieldNumber(tag);
    last_number_ = number;
    if (number == 0) return Malformed("field number 0");
    const FieldDescriptor* field =
        descriptor == nullptr
            ? nullptr
            : descriptor->FindFieldByNumber(static_cast<int>(number));
    // A map entry's own fields were paid for with the entry.
    const bool in_map_entry =
        descriptor != nullptr && descriptor->map_key() != nullptr;
    if (!in_map_entry) ORGSYNC_RETURN_IF_ERROR(CountElements(1));

    path_.push_back(Frame{field, number});
    switch (WireFormatLite::GetTagWireType(tag)) {
      case WireFormatLite::WIRETYPE_VARINT: {
        uint64_t value;
        if (!input_.ReadVarint64(&value)) return Malformed("truncated varint");
        break;
      }
      case WireFormatLite::WIRETYPE_FIXED64: {
        uint64_t value;
        if (!input_.ReadLittleEndian64(&value)) {
          return Malformed("truncated fixed64");
        }
        break;
      }
      case WireFormatLite::WIRETYPE_FIXED32: {
        uint32_t value;
        if (!input_.ReadLittleEndian32(&value)) {
          return Malformed("truncated fixed32");
        }
        break;
      }
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED:
        ORGSYNC_RETURN_IF_ERROR(ScanLengthDelimited(field, depth));
        break;
      case WireFormatLite::WIRETYPE_START_GROUP:
        if (depth + 1 > kMaxEnvelopeNesting) return TooDeep();
        ORGSYNC_RETURN_IF_ERROR(ScanGroup(number, depth + 1));
        break;
      case WireFormatLite::WIRETYPE_END_GROUP:
        path_.pop_back();
        *end_group = true;
        return absl::OkStatus();
      default:
        return Malformed(fmt::format("invalid wire type {}",
                                     WireFormatLite::GetTagWireType(tag)));
    }
    path_.pop_back();
    return absl::OkStatus();
  }

  absl::Status ScanLengthDelimited(const FieldDescriptor* field, int depth) {
    uint32_t length = 0;
    if (!input_.ReadVarint32(&length)) return Malformed("truncated length");
    if (static_cast<int64_t>(length) > input_.BytesUntilLimit()) {
      return Malformed(fmt::format("length {} runs past the end ({} left)",
                                   length, input_.BytesUntilLimit()));
    }
    if (field != nullptr && field->type() == FieldDescriptor::TYPE_MESSAGE) {
      if (depth + 1 > kMaxEnvelopeNesting) return TooDeep();
      if (field->is_map()) {
        ORGSYNC_RETURN_IF_ERROR(CountElements(2));
      }
      const auto limit = input_.PushLimit(static_cast<int>(length));
      ORGSYNC_RETURN_IF_ERROR(ScanMessage(field->message_type(), depth + 1));
      input_.PopLimit(limit);
      return absl::OkStatus();
    }
    const int offset = input_.CurrentPosition();
    if (!input_.Skip(static_cast<int>(length))) {
      return Malformed("truncated length-delimited field");
    }
    if (field != nullptr && field->type() == FieldDescriptor::TYPE_STRING &&
        !IsValidUtf8(reinterpret_cast<const unsigned char*>(data_ + offset),
                     length)) {
      return absl::InvalidArgumentError(
          fmt::format("invalid envelope: {}: not valid UTF-8", Path()));
    }
    return absl::OkStatus();
  }

  absl::Status CountElements(size_t count) {
    elements_ += count;
    if (elements_ > max_elements_) {
      return absl::ResourceExhaustedError(fmt::format(
          "invalid envelope: over the limit of {} wire elements (fields, "
          "list items, map entries); split the content over several "
          "envelopes",
          max_elements_));
    }
    return absl::OkStatus();
  }

  std::string Path() const {
    std::string path;
    for (const Frame& frame : path_) {
      if (!path.empty()) path += '.';
      if (frame.field != nullptr) {
        path += frame.field->name();
      } else {
        path += fmt::format("<field {}>", frame.number);
      }
    }
    return path.empty() ? std::string("<envelope>") : path;
  }

  absl::Status Malformed(std::string_view what) const {
    return absl::InvalidArgumentError(
        fmt::format("invalid envelope: malformed protobuf at byte {} of {} "
                    "(in {}): {}",
                    input_.CurrentPosition(), size_, Path(), what));
  }

  absl::Status TooDeep() const {
    return absl::ResourceExhaustedError(
        fmt::format("invalid envelope: nested deeper than {} levels (in {})",
                    kMaxEnvelopeNesting, Path()));
  }

  const char* data_;
  google::protobuf::io::CodedInputStream input_;
  const int size_;
  const size_t max_elements_;
  size_t elements_ = 0;
  uint32_t last_number_ = 0;
  std::vector<Frame> path_;
};

}  // namespace

absl::StatusOr<size_t> ScanEnvelopeWire(std::string_view bytes) {
  if (bytes.size() > kMaxEnvelopeBytes) {
    return absl::ResourceExhaustedError(
        fmt::format("invalid envelope: {} bytes, over the limit of {}",
                    bytes.size(), kMaxEnvelopeBytes));
  }
  return WireScanner(bytes.data(), static_cast<int>(bytes.size()),
                     kMaxEnvelopeElements)
      .Scan(proto::Envelope::descriptor(), 0);
}

absl::StatusOr<size_t> ScanRecordChangeWire(std::string_view bytes) {
  // Never over 2 GiB: it was serialized by protobuf.
  return WireScanner(bytes.data(), static_cast<int>(bytes.size()),
                     std::numeric_limits<size_t>::max())
      .Scan(proto::RecordChange::descriptor(), kRecordChangeDepth);
}

}  // namespace orgsync::wire::internal
