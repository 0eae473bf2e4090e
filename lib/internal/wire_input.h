// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// WireInput: reads protobuf's wire format from the front of a byte range,
// for the few values read so often that parsing the whole message shows in
// a profile (records/stored_record_reader.cc, the ids of record links, a
// queued change sent as it is: wire/queued_change.cc), and the Append*
// functions below for what is written as often (a value's encoding, a
// captured change's payload, what a send appends). Each method returns
// false, having read nothing useful, when the bytes do not hold what it
// reads; the caller then leaves the value to the protobuf parser, which has
// the last word on what is well formed.
//
// Thread-safety: a value; one thread at a time.

#ifndef ORGSYNC_LIB_INTERNAL_WIRE_INPUT_H_
#define ORGSYNC_LIB_INTERNAL_WIRE_INPUT_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "google/protobuf/stubs/common.h"
#include "google/protobuf/wire_format_lite.h"

namespace orgsync::internal {

class WireInput {
 public:
  using WireType = ::google::protobuf::internal::WireFormatLite::WireType;
  static constexpr WireType kVarint =
      ::google::protobuf::internal::WireFormatLite::WIRETYPE_VARINT;
  static constexpr WireType kFixed64 =
      ::google::protobuf::internal::WireFormatLite::WIRETYPE_FIXED64;
  static constexpr WireType kDelimited =
      ::google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
  static constexpr WireType kFixed32 =
      ::google::protobuf::internal::WireFormatLite::WIRETYPE_FIXED32;

  explicit WireInput(std::string_view bytes) : in_(bytes) {}

  bool empty() const { return in_.empty(); }

  bool Varint(uint64_t* value) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64 && !in_.empty(); shift += 7) {
      const auto byte = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *value = result;
        return true;
      }
    }
    return false;
  }

  // A tag of field number 1..31 (all the messages read this way have no
  // higher one), with its wire type.
  bool Tag(int* field, WireType* type) {
    uint64_t tag = 0;
    if (!Varint(&tag) || tag > 0xff) return false;
    *field = static_cast<int>(tag >> 3);
    *type = static_cast<WireType>(tag & 7);
    return true;
  }

  bool Delimited(std::string_view* value) {
    uint64_t length = 0;
    if (!Varint(&length) || length > in_.size()) return false;
    *value = in_.substr(0, length);
    in_.remove_prefix(length);
    return true;
  }

  bool Fixed64(uint64_t* value) {
    if (in_.size() < 8) return false;
    uint64_t result = 0;
    for (int i = 7; i >= 0; --i) {  // little-endian on the wire
      result = (result << 8) | static_cast<uint8_t>(in_[i]);
    }
    *value = result;
    in_.remove_prefix(8);
    return true;
  }

  // A string field's value: valid UTF-8, as the parser requires.
  bool Text(std::string_view* value) {
    if (!Delimited(value)) return false;
    if (IsAscii(*value)) return true;
    return ::google::protobuf::internal::IsStructurallyValidUTF8(
        value->data(), static_cast<int>(value->size()));
  }

  // Whether no byte of `bytes` has its high bit set (ASCII is UTF-8).
  // Eight bytes per step: every text value of every record Verify or a
  // bulk sync reads passes here.
  static bool IsAscii(std::string_view bytes) {
    constexpr uint64_t kHighBits = 0x8080808080808080;
    const char* p = bytes.data();
    size_t left = bytes.size();
    uint64_t any = 0;
    for (; left >= sizeof any; p += sizeof any, left -= sizeof any) {
      uint64_t word = 0;
      std::memcpy(&word, p, sizeof word);
      any |= word;
    }
    for (; left > 0; ++p, --left) any |= static_cast<uint8_t>(*p);
    return (any & kHighBits) == 0;
  }

  // Passes over a value of `type` (groups are not skipped: false).
  bool Skip(WireType type) {
    uint64_t ignored = 0;
    std::string_view bytes;
    switch (type) {
      case kVarint:
        return Varint(&ignored);
      case kFixed64:
        return Fixed64(&ignored);
      case kDelimited:
        return Delimited(&bytes);
      case kFixed32:
        if (in_.size() < 4) return false;
        in_.remove_prefix(4);
        return true;
      default:
        return false;
    }
  }

 private:
  std::string_view in_;
};

// Appends `value` as a base-128 varint, as protobuf writes integers and
// lengths.
inline void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// Appends the tag of field number `field` with wire type `type`.
inline void AppendTag(int field, WireInput::WireType type, std::string* out) {
  AppendVarint(static_cast<uint64_t>(field) << 3 | type, out);
}

// Appends field `field` holding `value` (an integer, enum or bool), zero
// included: leaving out a default is the caller's choice.
inline void AppendVarintField(int field, uint64_t value, std::string* out) {
  AppendTag(field, WireInput::kVarint, out);
  AppendVarint(value, out);
}

// Appends field `field` holding the 64 bits `value` (a double's bits).
inline void AppendFixed64Field(int field, uint64_t value, std::string* out) {
  AppendTag(field, WireInput::kFixed64, out);
  for (int i = 0; i < 8; ++i) {  // little-endian on the wire
    out->push_back(static_cast<char>(value >> (8 * i)));
  }
}

// Appends field `field` holding `bytes` (a string, bytes or an encoded
// message).
inline void AppendDelimited(int field, std::string_view bytes,
                            std::string* out) {
  AppendTag(field, WireInput::kDelimited, out);
  AppendVarint(bytes.size(), out);
  out->append(bytes);
}

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_INTERNAL_WIRE_INPUT_H_
