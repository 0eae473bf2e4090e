// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Envelopes one side refuses, and what both sides do about it (DESIGN.md
// rule 10: a refused envelope is answered, never dropped without a word).
//
// Receiving: bytes that DecodeEnvelope refuses (malformed, over the limits,
// nested too deep, a newer protocol version) are answered with a
// ProtocolError naming the decoder's reason and limit, the version this
// side speaks, and the refused message's id as far as it can be read
// (wire::ReadRefusedHeader). Only an accepted connection answers, and only
// bytes that may be its partner's: a connection id or sender org that can
// be read and names another connection or org is not answered, nor is a
// refused ProtocolError: two sides must never bounce errors forever. (A
// ProtocolError body behind a malformed spot cannot be seen, but the
// ProtocolErrors orgsync sends always decode, so two orgsync sides cannot
// bounce them.) When nothing of the header can be read the answer carries
// message id 0 and the sender cannot tell which envelope it was; it sends
// it again after its ack timeout. That only happens to orgsync's own
// envelopes when their first bytes were damaged in transit, which a resend
// repairs: the header fields (message_id included) are encoded before the
// body, so a refusal of the body always names the message.
//
// Sending: a ProtocolError names the refused envelope by message id; the
// entries it carried (InFlight::message_id) each fail an attempt (R51:
// Retrying first, Failed when the attempts are used up) and are packed
// again in envelopes of at most half as many changes. An entry refused
// alone can never be delivered and fails at once. So nothing refused is
// resent unchanged, and nothing without a SyncLog entry.

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "connection/connection_impl.h"
#include "wire/envelope_codec.h"

namespace orgsync::internal {
namespace {

// How much of a decoder's or partner's message travels and is logged.
constexpr size_t kMaxDetailBytes = 512;

std::string Clipped(std::string_view text) {
  if (text.size() <= kMaxDetailBytes) return std::string(text);
  return fmt::format("{}...", text.substr(0, kMaxDetailBytes));
}

}  // namespace

void ConnectionImpl::AnswerRefusedEnvelope(std::string_view bytes,
                                           const absl::Status& refusal) {
  const wire::RefusedHeader header = wire::ReadRefusedHeader(bytes);
  if (header.protocol_error) return;
  // Before acceptance the peer is nobody yet; after deactivation the
  // connection talks no more (R8).
  if (!AcceptedLocked()) return;
  if (!header.connection_id.empty() && header.connection_id != id_) return;
  if (!header.sender_org_id.empty() &&
      header.sender_org_id != state_.partner_org_id()) {
    return;
  }
  proto::Envelope answer;
  proto::ProtocolError* error = answer.mutable_protocol_error();
  error->set_supported_version(wire::kProtocolVersion);
  error->set_rejected_message_id(header.message_id);
  error->set_detail(Clipped(std::string(refusal.message())));
  // A lost answer leaves the sender its ack timeout: it sends the envelope
  // again and this side answers again.
  if (SendEnvelope(std::move(answer)).ok()) ++counters_.protocol_errors_sent;
}

void ConnectionImpl::HandleProtocolError(const proto::ProtocolError& error,
                                         DeferredLogs* logs) {
  ++counters_.protocol_errors;
  const uint64_t message_id = error.rejected_message_id();
  // 0: the partner could not read which envelope it was; the entries in
  // flight are sent again after the ack timeout.
  if (message_id == 0) return;
  // A partner of an older build does not know Verify's requests.
  if (FailVerifyIfCarried(message_id, Clipped(error.detail()))) return;
  std::vector<uint64_t> carried;
  for (const auto& [key, flying] : in_flight_) {
    if (flying.message_id == message_id) carried.push_back(flying.sequence);
  }
  // A late answer, for entries answered or sent again meanwhile.
  if (carried.empty()) return;
  std::sort(carried.begin(), carried.end());

  std::string reason = Clipped(error.detail());
  if (error.supported_version() < wire::kProtocolVersion) {
    reason +=
        fmt::format(" (the partner speaks protocol version {}, this side {})",
                    error.supported_version(), wire::kProtocolVersion);
  }
  const size_t cap = carried.size() / 2;
  std::vector<Failure> failures;
  for (const uint64_t sequence : carried) {
    ForgetInFlight(sequence);
    Failure failure;
    failure.sequence = sequence;
    failure.code = SyncErrorCode::kValidation;
    if (carried.size() == 1) {
      failure.description = fmt::format(
          "the partner refused the envelope carrying this change alone, so "
          "it can never be delivered: {}",
          reason);
      failure.retryable = false;
    } else {
      envelope_caps_[sequence] = cap;
      failure.description = fmt::format(
          "the partner refused the envelope carrying this change and {} "
          "others: {}; sent again in envelopes of at most {} changes",
          carried.size() - 1, reason, cap);
    }
    failures.push_back(std::move(failure));
  }
  RecordFailures(failures, logs);
}

size_t ConnectionImpl::EnvelopeCapOf(uint64_t sequence) const {
  const size_t configured = env_->delivery.max_changes_per_envelope;
  auto it = envelope_caps_.find(sequence);
  return it == envelope_caps_.end() ? configured
                                    : std::min(configured, it->second);
}

void ConnectionImpl::ForgetEnvelopeCaps(
    const std::vector<uint64_t>& sequences) {
  if (envelope_caps_.empty()) return;
  for (const uint64_t sequence : sequences) envelope_caps_.erase(sequence);
}

}  // namespace orgsync::internal
