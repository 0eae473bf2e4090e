// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The handshake (R1): the secondary's acceptance and the primary's answer,
// the part of ConnectionImpl that talks to a peer nobody has authenticated
// yet.
//
// Mutual authentication. The secret never travels: whoever receives it
// could accept in the secondary's place. Instead each side proves that it
// holds it with an HMAC-SHA256 under the secret:
//   secondary: SecondaryProof = HMAC(secret, "orgsync accept v1",
//                                    connection id, secondary org id, Ns)
//   primary:   PrimaryProof   = HMAC(secret, "orgsync accepted v1",
//                                    connection id, primary org id,
//                                    secondary org id, Ns, Np)
// Ns and Np are 32 bytes from each side's CSPRNG (CsprngBytes, as the
// secrets are: random values never drive the engine's decisions, so
// simulations stay deterministic). Each part is length-prefixed, and the
// labels differ, so no proof can be read as another. The primary's proof
// covers Ns, so an answer recorded earlier does not verify for a new
// acceptance; the secondary's covers no primary nonce (that would cost a
// third message), so an eavesdropper may replay an acceptance, which only
// repeats that org's acceptance and gets an answer proving nothing to
// anyone else. Proofs are compared in constant time.
//
// Every acceptance gets an answer, and no acceptance from outside makes the
// connection keep more than a bounded amount (incoming_history.cc): an
// unknown connection id, a newer protocol version or an undecodable
// acceptance are answered without touching any state.

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "connection/connection_impl.h"
#include "connection/connection_keys.h"
#include "connection/hmac_sha256.h"
#include "connection/secret.h"
#include "internal/strings.h"
#include "orgsync/status.h"
#include "wire/envelope_codec.h"

namespace orgsync::internal {
namespace {

// Bytes of each side's handshake nonce.
constexpr size_t kNonceBytes = 32;

// Refusals a stranger can cause at will: one history row per reason per
// window (AddIncomingHistory).
constexpr size_t kRefusalRowsPerWindow = 1;

// The proofs' input: each part as a 4-byte big-endian length and its bytes.
std::string ProofMessage(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) {
    const auto size = static_cast<uint32_t>(part.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>(size >> shift));
    }
    out.append(part);
  }
  return out;
}

std::string SecondaryProof(std::string_view secret,
                           std::string_view connection_id,
                           std::string_view secondary_org_id,
                           std::string_view secondary_nonce) {
  return HmacSha256(secret, ProofMessage({"orgsync accept v1", connection_id,
                                          secondary_org_id, secondary_nonce}));
}

std::string PrimaryProof(std::string_view secret,
                         std::string_view connection_id,
                         std::string_view primary_org_id,
                         std::string_view secondary_org_id,
                         std::string_view secondary_nonce,
                         std::string_view primary_nonce) {
  return HmacSha256(secret, ProofMessage({"orgsync accepted v1", connection_id,
                                          primary_org_id, secondary_org_id,
                                          secondary_nonce, primary_nonce}));
}

std::string RefusalKey(std::string_view side, proto::HandshakeRefusal refusal) {
  return fmt::format("{}:{}", side, proto::HandshakeRefusal_Name(refusal));
}

}  // namespace

// --- Primary ---------------------------------------------------------------

void ConnectionImpl::HandleAccept(const proto::Envelope& envelope) {
  const proto::AcceptInvitation& accept = envelope.accept();
  const std::string& peer = accept.secondary_org_id();
  const ConnectionStatus status = StatusLocked();
  if (status == ConnectionStatus::kDeactivated) {
    RefusePeer(envelope, proto::REFUSAL_DEACTIVATED,
               "the connection is deactivated");
    return;
  }
  // The proof is checked before anything that would tell an outsider about
  // the connection. It covers the peer's org id: a proof taken from
  // another org's acceptance does not verify.
  if (state_.secret().size() != kSecretBytes ||
      accept.nonce().size() != kNonceBytes ||
      !ConstantTimeEquals(
          accept.secret_proof(),
          SecondaryProof(state_.secret(), id_, peer, accept.nonce()))) {
    RefusePeer(envelope, proto::REFUSAL_BAD_SECRET,
               accept.secret_proof().empty()
                   ? "the acceptance carries no proof of the invitation "
                     "secret"
                   : "the acceptance does not prove the invitation secret");
    return;
  }
  if (peer.empty() || peer != envelope.sender_org_id() || !IsValidOrgId(peer)) {
    RefusePeer(envelope, proto::REFUSAL_INVALID_PEER,
               "the secondary org id is missing or invalid");
    return;
  }
  if (peer == env_->org_id) {
    RefusePeer(envelope, proto::REFUSAL_INVALID_PEER,
               "an org cannot accept its own invitation");
    return;
  }
  if (IsAcceptedStatus(status)) {
    if (peer != state_.partner_org_id()) {
      RefusePeer(envelope, proto::REFUSAL_ALREADY_ACCEPTED,
                 "the invitation was accepted by another org");
      return;
    }
    // A repeated acceptance (the answer was lost or is slow): answer again,
    // nothing changes.
    ++counters_.handshakes_accepted;
    ReplyAccepted(accept.nonce());
    return;
  }
  proto::ConnectionState next = state_;
  WriteBatch batch;
  const absl::Time now = StoredNow(*env_->clock);
  next.set_status(
      ToStoredStatus(FirstPhaseAfterAcceptance(FromStoredSync(next.sync()))));
  next.set_partner_org_id(peer);
  next.set_partner_org_name(ClipPeerText(accept.secondary_org_name()));
  next.set_accepted_micros(absl::ToUnixMicros(now));
  AddHistory(
      id_, now, HistoryEvent::kInvitationAccepted, PartnerActorName(peer),
      fmt::format("accepted by org {} ({})", peer, next.partner_org_name()),
      &next, &batch);
  // Schema differences are reported now, before any record fails.
  FillLocalFingerprints(&next);
  TakePartnerFingerprints(accept.schema_fingerprints(), &next);
  SchemaEvents schema_events =
      StageSchemaComparison(/*partner_caused=*/false, &next, &batch);
  // If the write fails the secondary gets no answer and retries.
  if (!Commit(std::move(next), std::move(batch)).ok()) return;
  NoteSchemaEvents(std::move(schema_events));
  ++counters_.handshakes_accepted;
  ReplyAccepted(accept.nonce());
}

void ConnectionImpl::RefusePeer(const proto::Envelope& envelope,
                                proto::HandshakeRefusal refusal,
                                std::string_view reason) {
  ++counters_.handshakes_refused;
  const std::string& claimed = envelope.accept().secondary_org_id();
  proto::ConnectionState next = state_;
  WriteBatch batch;
  AddIncomingHistory(RefusalKey("refused", refusal), kRefusalRowsPerWindow,
                     HistoryEvent::kPeerRefused,
                     PartnerActorName(claimed.empty() ? "unknown" : claimed),
                     fmt::format("refused acceptance from org '{}': {}",
                                 ClipPeerText(claimed), reason),
                     &next, &batch);
  // Refusing does not depend on the log write succeeding.
  Commit(std::move(next), std::move(batch)).IgnoreError();
  SendRefusal(id_, refusal, reason);
}

void ConnectionImpl::SendRefusal(std::string_view connection_id,
                                 proto::HandshakeRefusal refusal,
                                 std::string_view reason) {
  proto::Envelope answer;
  answer.set_connection_id(std::string(connection_id));
  proto::HandshakeResult* result = answer.mutable_handshake_result();
  result->set_accepted(false);
  result->set_refusal(refusal);
  result->set_reason(std::string(reason));
  result->set_primary_org_id(env_->org_id);
  // A lost refusal is answered again when the secondary asks again.
  SendEnvelope(std::move(answer)).IgnoreError();
}

void ConnectionImpl::ReplyAccepted(std::string_view secondary_nonce) {
  absl::StatusOr<std::string> nonce = CsprngBytes(kNonceBytes);
  // No answer without a proof; the secondary asks again.
  if (!nonce.ok()) return;
  proto::Envelope answer;
  proto::HandshakeResult* result = answer.mutable_handshake_result();
  result->set_accepted(true);
  proto::ConnectionOptions* options = result->mutable_options();
  options->set_sync_feeds_and_audit_fields(
      state_.sync().sync_feeds_and_audit_fields());
  options->set_sync_metadata(state_.sync().sync_metadata());
  options->set_sync_users(state_.sync().sync_users());
  options->set_owner(state_.owner());
  options->set_contact(state_.contact());
  result->set_primary_org_id(env_->org_id);
  result->set_primary_org_name(env_->org_name);
  // The fingerprints compared at acceptance: the secondary compares the
  // same ones, and a later change goes in a Connection Update.
  *result->mutable_schema_fingerprints() = state_.local_schema_fingerprints();
  result->set_secret_proof(PrimaryProof(state_.secret(), id_, env_->org_id,
                                        state_.partner_org_id(),
                                        secondary_nonce, *nonce));
  result->set_nonce(std::move(*nonce));
  // A lost answer is recovered by the secondary resending its acceptance.
  SendEnvelope(std::move(answer)).IgnoreError();
}

void ConnectionImpl::AnswerUnknownInvitation(const proto::Envelope& envelope) {
  ++counters_.handshakes_refused;
  ++counters_.unknown_invitations;
  // Nothing is recorded: anyone may ask for any id, as often as they like.
  SendRefusal(envelope.connection_id(), proto::REFUSAL_UNKNOWN_INVITATION,
              fmt::format("org {} has no invitation '{}'", env_->org_id,
                          envelope.connection_id()));
}

bool ConnectionImpl::AnswerUndecodedAcceptance(std::string_view bytes,
                                               const absl::Status& why) {
  // Over the size or element limits: not parsed again here.
  if (absl::IsResourceExhausted(why)) return false;
  proto::Envelope raw;
  if (!raw.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      raw.body_case() != proto::Envelope::kAccept) {
    return false;
  }
  if (absl::IsFailedPrecondition(why)) {
    ++counters_.handshakes_refused;
    SendRefusal(
        IsValidConnectionId(raw.connection_id()) ? raw.connection_id() : id_,
        proto::REFUSAL_UNSUPPORTED_VERSION,
        fmt::format("the acceptance speaks protocol version {}; org "
                    "{} speaks versions 1 to {}",
                    raw.protocol_version(), env_->org_id,
                    wire::kProtocolVersion));
    return true;
  }
  if (!IsValidConnectionId(raw.connection_id())) {
    // The asker's connection cannot be named: the decoder's complaint is
    // the answer, under this connection's id.
    SendProtocolError(raw.message_id(), why);
    return true;
  }
  if (raw.connection_id() != id_ || role_ != ReplicationRole::kPrimary) {
    AnswerUnknownInvitation(raw);
    return true;
  }
  if (!IsValidOrgId(raw.accept().secondary_org_id())) {
    ++counters_.handshakes_refused;
    SendRefusal(id_, proto::REFUSAL_INVALID_PEER,
                "the secondary org id is missing or invalid");
    return true;
  }
  if (raw.accept().secret_proof().empty()) {
    ++counters_.handshakes_refused;
    SendRefusal(id_, proto::REFUSAL_BAD_SECRET,
                "the acceptance carries no proof of the invitation secret");
    return true;
  }
  SendProtocolError(raw.message_id(), why);
  return true;
}

void ConnectionImpl::SendProtocolError(uint64_t rejected_message_id,
                                       const absl::Status& why) {
  ++counters_.handshakes_refused;
  proto::Envelope answer;
  proto::ProtocolError* error = answer.mutable_protocol_error();
  error->set_supported_version(wire::kProtocolVersion);
  error->set_rejected_message_id(rejected_message_id);
  error->set_detail(ClipPeerText(FromAbsl(why.message())));
  // An answer to a stranger: a lost one is given again when it asks again.
  SendEnvelope(std::move(answer)).IgnoreError();
}

// --- Secondary -------------------------------------------------------------

void ConnectionImpl::HandleHandshakeResult(const proto::Envelope& envelope) {
  // Only an open acceptance expects an answer; a late or repeated one after
  // acceptance (or after deactivation) changes nothing.
  if (StatusLocked() != ConnectionStatus::kInvited) return;
  const proto::HandshakeResult& result = envelope.handshake_result();
  const std::string& primary = result.primary_org_id();
  if (primary.empty() || primary != envelope.sender_org_id() ||
      !IsValidOrgId(primary) || primary == env_->org_id) {
    ++counters_.rejected_wrong_connection;
    return;
  }
  proto::ConnectionState next = state_;
  WriteBatch batch;
  const absl::Time now = StoredNow(*env_->clock);
  if (!result.accepted()) {
    // Unauthenticated (a primary that does not share our secret cannot
    // prove anything), so coalesced; it leaves the connection Invited.
    const std::string reason = result.reason().empty()
                                   ? "no reason given"
                                   : ClipPeerText(result.reason());
    next.set_refusal_reason(reason);
    AddIncomingHistory(
        RefusalKey("refusal received", result.refusal()), kRefusalRowsPerWindow,
        HistoryEvent::kInvitationRefused, PartnerActorName(primary),
        fmt::format("org {} refused the acceptance: {}", primary, reason),
        &next, &batch);
    // History only: the refusal stands whether or not the row is written.
    Commit(std::move(next), std::move(batch)).IgnoreError();
    return;
  }
  // An "accepted" must come from the holder of the secret, answering this
  // process's acceptance.
  if (acceptance_nonce_.empty() || result.nonce().size() != kNonceBytes ||
      !ConstantTimeEquals(
          result.secret_proof(),
          PrimaryProof(state_.secret(), id_, primary, env_->org_id,
                       acceptance_nonce_, result.nonce()))) {
    ++counters_.handshake_answers_refused;
    AddIncomingHistory(
        "answer refused", kRefusalRowsPerWindow, HistoryEvent::kPeerRefused,
        PartnerActorName(primary),
        fmt::format("refused org {}'s \"accepted\": {}", primary,
                    acceptance_nonce_.empty()
                        ? "it answers no acceptance sent since this process "
                          "started"
                        : "it does not prove the invitation secret"),
        &next, &batch);
    // History only: the refusal stands whether or not the row is written.
    Commit(std::move(next), std::move(batch)).IgnoreError();
    return;
  }
  const proto::ConnectionOptions& options = result.options();
  SyncOptions sync{
      .sync_feeds_and_audit_fields = options.sync_feeds_and_audit_fields(),
      .sync_metadata = options.sync_metadata(),
      .sync_users = options.sync_users()};
  *next.mutable_sync() = ToStoredSync(sync);
  next.set_owner(ClipPeerText(options.owner()));
  next.set_contact(ClipPeerText(options.contact()));
  next.set_partner_org_id(primary);
  next.set_partner_org_name(ClipPeerText(result.primary_org_name()));
  next.set_accepted_micros(absl::ToUnixMicros(now));
  next.clear_refusal_reason();
  // Accepted: the secret has done its job and need not be kept here.
  next.clear_secret();
  next.set_status(ToStoredStatus(FirstPhaseAfterAcceptance(sync)));
  AddHistory(id_, now, HistoryEvent::kInvitationAccepted,
             PartnerActorName(primary),
             fmt::format("accepted by org {} ({}); {}", primary,
                         next.partner_org_name(), DescribeSync(sync)),
             &next, &batch);
  FillLocalFingerprints(&next);
  TakePartnerFingerprints(result.schema_fingerprints(), &next);
  SchemaEvents schema_events =
      StageSchemaComparison(/*partner_caused=*/false, &next, &batch);
  // If the write fails the connection stays Invited; resending the
  // acceptance gets the (idempotent) answer again.
  if (Commit(std::move(next), std::move(batch)).ok()) {
    NoteSchemaEvents(std::move(schema_events));
    last_send_status_ = absl::OkStatus();
    acceptance_nonce_.clear();
  }
}

absl::Status ConnectionImpl::SendAcceptance() {
  internal::MutexLock lock(&mu_);
  return SendAcceptanceLocked();
}

absl::Status ConnectionImpl::SendAcceptanceLocked() {
  if (role_ != ReplicationRole::kSecondary) {
    return absl::FailedPreconditionError(fmt::format(
        "connection {}: only the secondary sends an acceptance", id_));
  }
  if (StatusLocked() != ConnectionStatus::kInvited) {
    return absl::FailedPreconditionError(
        fmt::format("connection {}: nothing to accept in status {}", id_,
                    ConnectionStatusName(StatusLocked())));
  }
  if (acceptance_nonce_.empty()) {
    absl::StatusOr<std::string> nonce = CsprngBytes(kNonceBytes);
    if (!nonce.ok()) {
      last_send_status_ =
          Annotate(nonce.status(), "drawing the handshake nonce");
      return last_send_status_;
    }
    acceptance_nonce_ = std::move(*nonce);
  }
  proto::Envelope envelope;
  proto::AcceptInvitation* accept = envelope.mutable_accept();
  accept->set_secondary_org_id(env_->org_id);
  accept->set_secondary_org_name(env_->org_name);
  for (const auto& [name, fingerprint] : env_->schema->Fingerprints()) {
    (*accept->mutable_schema_fingerprints())[name] = fingerprint;
  }
  accept->set_nonce(acceptance_nonce_);
  accept->set_secret_proof(
      SecondaryProof(state_.secret(), id_, env_->org_id, acceptance_nonce_));
  last_send_status_ = SendEnvelope(std::move(envelope));
  return last_send_status_;
}

absl::Status ConnectionImpl::RestartAcceptance(std::string secret,
                                               std::string_view actor) {
  internal::MutexLock lock(&mu_);
  if (role_ != ReplicationRole::kSecondary ||
      StatusLocked() != ConnectionStatus::kInvited) {
    return absl::FailedPreconditionError(fmt::format(
        "connection {}: a new acceptance needs a secondary in status "
        "Invited, not a {} in status {}",
        id_, ReplicationRoleName(role_), ConnectionStatusName(StatusLocked())));
  }
  proto::ConnectionState next = state_;
  WriteBatch batch;
  next.set_secret(std::move(secret));
  next.clear_refusal_reason();
  AddHistory(id_, StoredNow(*env_->clock), HistoryEvent::kAcceptanceRequested,
             actor, fmt::format("accepting again as org {}", env_->org_id),
             &next, &batch);
  ORGSYNC_RETURN_IF_ERROR(Commit(std::move(next), std::move(batch)));
  last_send_status_ = absl::OkStatus();
  // A new secret, a new attempt: answers to the old one no longer count.
  acceptance_nonce_.clear();
  return absl::OkStatus();
}

}  // namespace orgsync::internal
