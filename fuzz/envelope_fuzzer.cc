// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// libFuzzer target for the envelope codec, the code that reads whatever a
// partner (or an attacker on the network) sends.
//
// Properties checked, beyond "no crash, no sanitizer report":
//   - every refusal has a message;
//   - whatever DecodeEnvelope accepts passes ValidateEnvelope;
//   - encoding is a fixed point: encode(decode(x)) decodes again, to an
//     envelope equal to the first one, and encodes to the same bytes.
// Any violation abort()s, which libFuzzer reports as a crash with the input.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "google/protobuf/util/field_comparator.h"
#include "google/protobuf/util/message_differencer.h"
#include "proto/wire.pb.h"
#include "wire/envelope_codec.h"

namespace {

[[noreturn]] void Fail(const char* property, const absl::Status& status) {
  std::fprintf(stderr, "envelope_fuzzer: %s (%s)\n", property,
               status.ToString().c_str());
  std::abort();
}

bool SameEnvelope(const orgsync::proto::Envelope& a,
                  const orgsync::proto::Envelope& b) {
  // NaN is a legal double on the wire; it must survive, and equal itself.
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  return differencer.Compare(a, b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using orgsync::wire::DecodeEnvelope;
  using orgsync::wire::EncodeEnvelope;

  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto first = DecodeEnvelope(input);
  if (!first.ok()) {
    if (first.status().message().empty())
      Fail("refusal without a message", first.status());
    return 0;
  }
  const absl::Status valid = orgsync::wire::ValidateEnvelope(*first);
  if (!valid.ok()) Fail("decoded envelope does not validate", valid);

  const std::string encoded = EncodeEnvelope(*first);
  auto second = DecodeEnvelope(encoded);
  if (!second.ok())
    Fail("re-encoded envelope does not decode", second.status());

  // Encode stamps the current version; the first decode kept the sender's.
  first->set_protocol_version(orgsync::wire::kProtocolVersion);
  if (!SameEnvelope(*first, *second)) {
    Fail("re-decoded envelope differs", absl::OkStatus());
  }
  if (EncodeEnvelope(*second) != encoded) {
    Fail("encoding is not a fixed point", absl::OkStatus());
  }
  return 0;
}
