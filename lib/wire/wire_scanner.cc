// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "wire/wire_scanner.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "fmt/format.h"
#include "google/protobuf/descriptor.h"
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
    // Eight ASCII bytes at a time: most text is ASCII.
    uint64_t word;
    if (size - i >= sizeof(word)) {
      std::memcpy(&word, text + i, sizeof(word));
      if ((word & 0x8080808080808080ULL) == 0) {
        i += sizeof(word);
        continue;
      }
    }
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

// What the scan needs to know of one message type's fields, looked up by
// field number without the descriptor's hash tables: a field is unknown,
// a string (UTF-8 checked), a nested message (a map entry or not), or any
// other known field (skipped by its wire type).
struct MessageTable;

struct FieldEntry {
  enum Kind : uint8_t { kUnknown, kString, kMessage, kMap, kOther };
  Kind kind = kUnknown;
  const FieldDescriptor* field = nullptr;
  const MessageTable* message = nullptr;  // kMessage and kMap
};

struct MessageTable {
  bool is_map_entry = false;
  // Indexed by field number; numbers past the end are unknown.
  std::vector<FieldEntry> fields;

  const FieldEntry* Find(uint32_t number) const {
    return number < fields.size() && fields[number].kind != FieldEntry::kUnknown
               ? &fields[number]
               : nullptr;
  }
};

// The tables of every message type reachable from Envelope (RecordChange
// among them), built once. Field numbers in orgsync's protos are small, so
// a table indexed by number stays a few dozen entries long.
class MessageTables {
 public:
  static const MessageTables& Get() {
    static const MessageTables* const tables = new MessageTables();
    return *tables;
  }

  const MessageTable* For(const Descriptor* descriptor) const {
    const auto found = tables_.find(descriptor);
    return found == tables_.end() ? nullptr : found->second.get();
  }

 private:
  MessageTables() {
    Add(proto::Envelope::descriptor());
    Add(proto::RecordChange::descriptor());
  }

  const MessageTable* Add(const Descriptor* descriptor) {
    auto [slot, added] = tables_.try_emplace(descriptor);
    if (!added) return slot->second.get();
    slot->second = std::make_unique<MessageTable>();
    MessageTable* table = slot->second.get();
    table->is_map_entry = descriptor->map_key() != nullptr;
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const FieldDescriptor* field = descriptor->field(i);
      const auto number = static_cast<size_t>(field->number());
      if (table->fields.size() <= number) table->fields.resize(number + 1);
      FieldEntry& entry = table->fields[number];
      entry.field = field;
      if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
        entry.kind = field->is_map() ? FieldEntry::kMap : FieldEntry::kMessage;
        // Recursion ends at types already added (the slot exists before
        // its fields are filled).
        entry.message = Add(field->message_type());
      } else if (field->type() == FieldDescriptor::TYPE_STRING) {
        entry.kind = FieldEntry::kString;
      } else {
        entry.kind = FieldEntry::kOther;
      }
    }
    return table;
  }

  absl::flat_hash_map<const Descriptor*, std::unique_ptr<MessageTable>>
      tables_;
};

// One pass over the bytes (see wire_scanner.h), reading the wire format
// directly. It also names the first malformed spot, where the parser would
// only say "false".
class WireScanner {
 public:
  WireScanner(const char* data, size_t size, size_t max_elements)
      : begin_(reinterpret_cast<const uint8_t*>(data)),
        at_(begin_),
        size_(size),
        max_elements_(max_elements) {
    path_.reserve(16);
  }

  absl::StatusOr<size_t> Scan(const Descriptor* descriptor, int depth) {
    ORGSYNC_RETURN_IF_ERROR(ScanMessage(MessageTables::Get().For(descriptor),
                                        depth, begin_ + size_));
    return elements_;
  }

 private:
  // One level of the path to the spot being read, for error messages.
  struct Frame {
    const FieldDescriptor* field;  // null for an unknown field
    uint32_t number;
  };

  // A varint of at most 10 bytes before `end`, as the protobuf reader
  // takes it; false if truncated or longer.
  bool ReadVarint(const uint8_t* end, uint64_t* value) {
    uint64_t result = 0;
    for (int shift = 0; shift < 70 && at_ < end; shift += 7) {
      const uint8_t byte = *at_++;
      result |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) {
        *value = result;
        return true;
      }
    }
    return false;
  }

  // Reads fields up to `end` (a length-delimited message).
  absl::Status ScanMessage(const MessageTable* table, int depth,
                           const uint8_t* end) {
    while (at_ < end) {
      bool end_group = false;
      ORGSYNC_RETURN_IF_ERROR(ScanField(table, depth, end, &end_group));
      if (end_group) return Malformed("end-group tag outside a group");
    }
    return absl::OkStatus();
  }

  // Reads fields up to the end-group tag closing group `number`. Groups
  // are never part of orgsync's schema: their content is unknown fields.
  absl::Status ScanGroup(uint32_t number, int depth, const uint8_t* end) {
    while (at_ < end) {
      bool end_group = false;
      ORGSYNC_RETURN_IF_ERROR(ScanField(nullptr, depth, end, &end_group));
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

  absl::Status ScanField(const MessageTable* table, int depth,
                         const uint8_t* end, bool* end_group) {
    uint64_t tag64 = 0;
    if (!ReadVarint(end, &tag64)) return Malformed("truncated field tag");
    const auto tag = static_cast<uint32_t>(tag64);
    const uint32_t number = WireFormatLite::GetTagFieldNumber(tag);
    last_number_ = number;
    if (number == 0) return Malformed("field number 0");
    const FieldEntry* entry = table == nullptr ? nullptr : table->Find(number);
    // A map entry's own fields were paid for with the entry.
    if (table == nullptr || !table->is_map_entry) {
      ORGSYNC_RETURN_IF_ERROR(CountElements(1));
    }

    path_.push_back(Frame{entry == nullptr ? nullptr : entry->field, number});
    switch (WireFormatLite::GetTagWireType(tag)) {
      case WireFormatLite::WIRETYPE_VARINT: {
        uint64_t value;
        if (!ReadVarint(end, &value)) return Malformed("truncated varint");
        break;
      }
      case WireFormatLite::WIRETYPE_FIXED64:
        if (end - at_ < 8) {
          at_ = end;
          return Malformed("truncated fixed64");
        }
        at_ += 8;
        break;
      case WireFormatLite::WIRETYPE_FIXED32:
        if (end - at_ < 4) {
          at_ = end;
          return Malformed("truncated fixed32");
        }
        at_ += 4;
        break;
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED:
        ORGSYNC_RETURN_IF_ERROR(ScanLengthDelimited(entry, depth, end));
        break;
      case WireFormatLite::WIRETYPE_START_GROUP:
        if (depth + 1 > kMaxEnvelopeNesting) return TooDeep();
        ORGSYNC_RETURN_IF_ERROR(ScanGroup(number, depth + 1, end));
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

  absl::Status ScanLengthDelimited(const FieldEntry* entry, int depth,
                                   const uint8_t* end) {
    uint64_t length64 = 0;
    if (!ReadVarint(end, &length64)) return Malformed("truncated length");
    // The protobuf reader keeps a length's low 32 bits.
    const auto length = static_cast<uint32_t>(length64);
    const auto left = static_cast<size_t>(end - at_);
    if (length > left) {
      return Malformed(fmt::format("length {} runs past the end ({} left)",
                                   length, left));
    }
    const uint8_t* field_end = at_ + length;
    if (entry != nullptr && (entry->kind == FieldEntry::kMessage ||
                             entry->kind == FieldEntry::kMap)) {
      if (depth + 1 > kMaxEnvelopeNesting) return TooDeep();
      if (entry->kind == FieldEntry::kMap) {
        ORGSYNC_RETURN_IF_ERROR(CountElements(2));
      }
      return ScanMessage(entry->message, depth + 1, field_end);
    }
    const uint8_t* text = at_;
    at_ = field_end;
    if (entry != nullptr && entry->kind == FieldEntry::kString &&
        !IsValidUtf8(text, length)) {
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
                    at_ - begin_, size_, Path(), what));
  }

  absl::Status TooDeep() const {
    return absl::ResourceExhaustedError(
        fmt::format("invalid envelope: nested deeper than {} levels (in {})",
                    kMaxEnvelopeNesting, Path()));
  }

  const uint8_t* const begin_;
  const uint8_t* at_;
  const size_t size_;
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
  return WireScanner(bytes.data(), bytes.size(), kMaxEnvelopeElements)
      .Scan(proto::Envelope::descriptor(), 0);
}

absl::StatusOr<size_t> ScanRecordChangeWire(std::string_view bytes) {
  return WireScanner(bytes.data(), bytes.size(),
                     std::numeric_limits<size_t>::max())
      .Scan(proto::RecordChange::descriptor(), kRecordChangeDepth);
}

}  // namespace orgsync::wire::internal
