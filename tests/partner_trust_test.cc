// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// A partner is trusted only as far as the connection shares (issue 9): the
// test plays the partner (or a stranger) on one endpoint of an in-process
// transport pair, sending envelopes it builds in orgsync's own wire format
// to a real org on the other endpoint, and reads what comes back.

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record_queue.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/sync_log.h"
#include "orgsync/transport.h"
#include "proto/wire.pb.h"
#include "testing/connection_fixture.h"
#include "testing/crm_schema.h"
#include "testing/storage_testing.h"
#include "wire/envelope_codec.h"

namespace orgsync::partner_trust_test {
namespace {

using testing::DefaultInvitation;
using testing::LogOf;
using testing::RequireOk;
using testing::TwoOrgs;
using testing::TwoOrgsConfig;
using E = HistoryEvent;
using S = ConnectionStatus;

// The test's end of the pair: sends crafted envelopes as `org_id` and
// keeps what the org under test sends back.
class Peer final : public TransportHandler {
 public:
  Peer(Transport* end, std::string connection_id, std::string org_id)
      : end_(end),
        connection_id_(std::move(connection_id)),
        org_id_(std::move(org_id)) {
    end_->SetHandler(this);
  }
  ~Peer() override { end_->SetHandler(nullptr); }

  void OnMessage(std::string bytes) override {
    absl::StatusOr<proto::Envelope> envelope = wire::DecodeEnvelope(bytes);
    REQUIRE(envelope.ok());
    received.push_back(std::move(*envelope));
  }
  void OnAvailabilityChanged(bool) override {}

  // Fills in the header fields left empty and sends.
  void Send(proto::Envelope envelope) {
    if (envelope.connection_id().empty()) {
      envelope.set_connection_id(connection_id_);
    }
    if (envelope.sender_org_id().empty()) envelope.set_sender_org_id(org_id_);
    envelope.set_message_id(next_message_id_++);
    SendBytes(wire::EncodeEnvelope(std::move(envelope)));
  }
  void SendBytes(std::string bytes) {
    REQUIRE(end_->Send(std::move(bytes)).ok());
  }

  // The handshake answers received, in order.
  std::vector<proto::HandshakeResult> Answers() const {
    std::vector<proto::HandshakeResult> out;
    for (const proto::Envelope& envelope : received) {
      if (envelope.has_handshake_result()) {
        out.push_back(envelope.handshake_result());
      }
    }
    return out;
  }
  // The item results received, in order.
  std::vector<proto::ItemResult> Results() const {
    std::vector<proto::ItemResult> out;
    for (const proto::Envelope& envelope : received) {
      for (const proto::ItemResult& result : envelope.ack().results()) {
        out.push_back(result);
      }
    }
    return out;
  }

  std::vector<proto::Envelope> received;

 private:
  Transport* const end_;
  const std::string connection_id_;
  const std::string org_id_;
  uint64_t next_message_id_ = 1;
};

// Takes what it is given and delivers nothing: the test reads it.
class CapturingTransport final : public Transport {
 public:
  void SetHandler(TransportHandler*) override {}
  absl::Status Send(std::string bytes) override {
    sent.push_back(std::move(bytes));
    return absl::OkStatus();
  }
  bool PartnerAvailable() const override { return true; }

  std::vector<std::string> sent;
};

proto::Envelope Accept(std::string org_id) {
  proto::Envelope envelope;
  envelope.mutable_accept()->set_secondary_org_id(std::move(org_id));
  return envelope;
}

proto::Envelope Ack(uint64_t sequence, proto::Outcome outcome) {
  proto::Envelope envelope;
  proto::ItemResult* result = envelope.mutable_ack()->add_results();
  result->set_sequence(sequence);
  result->set_outcome(outcome);
  return envelope;
}

proto::Envelope AcceptedAnswer() {
  proto::Envelope envelope;
  proto::HandshakeResult* result = envelope.mutable_handshake_result();
  result->set_accepted(true);
  result->set_primary_org_id("org-a");
  result->set_primary_org_name("not really org-a");
  result->mutable_options()->set_owner("mallory@x");
  return envelope;
}

size_t KeysUnder(Storage* storage, std::string_view prefix) {
  auto it = storage->NewIterator();
  RequireOk(it.status());
  size_t count = 0;
  for ((*it)->Seek(prefix); (*it)->Valid(); (*it)->Next()) {
    if ((*it)->key().substr(0, prefix.size()) != prefix) break;
    ++count;
  }
  return count;
}

std::vector<HistoryEntry> HistoryOf(const Connection* connection) {
  auto history = connection->History();
  RequireOk(history.status());
  return *history;
}

// Two orgs with the CRM schema, connected with no initial syncs (so the
// connection is Active at once); the secondary's connection is detached
// from endpoint B, where the test plays the partner.
struct Partnered {
  Partnered()
      : t(5, testing::NewReopenableMemoryStorage(),
          testing::NewReopenableMemoryStorage(), Config(this)) {
    InvitationOptions options = DefaultInvitation();
    options.sync = {};
    std::tie(p, s) = t.Connect(options);
    REQUIRE(p->status() == S::kActive);
    RequireOk(s->AttachTransport(nullptr));
    partner = std::make_unique<Peer>(t.pair.b(), p->id(), "org-b");
  }
  static TwoOrgsConfig Config(Partnered* self) {
    testing::FillSchema(&self->primary_schema);
    testing::FillSchema(&self->secondary_schema);
    TwoOrgsConfig config;
    config.primary_schema = &self->primary_schema;
    config.secondary_schema = &self->secondary_schema;
    config.delivery.ack_timeout = absl::Seconds(5);
    return config;
  }
  void Deliver() { REQUIRE(t.pair.RunUntilIdle()); }
  // Closes and reopens both orgs; the test plays the partner again.
  void Restart() {
    const std::string id = p->id();
    partner.reset();
    t.Reopen(id);
    p = *t.primary->GetConnection(id);
    s = *t.secondary->GetConnection(id);
    RequireOk(s->AttachTransport(nullptr));
    partner = std::make_unique<Peer>(t.pair.b(), id, "org-b");
  }
  // The sequence of the only queued entry of `action`.
  uint64_t Queued(QueueAction action) {
    auto page = p->record_queue()->ListAfter(0, RecordQueue::kMaxPageSize);
    RequireOk(page.status());
    uint64_t found = 0;
    for (const QueueEntry& entry : page->entries) {
      if (entry.action == action) {
        REQUIRE(found == 0);
        found = entry.sequence;
      }
    }
    REQUIRE(found != 0);
    return found;
  }
  size_t SentMapUpdates(uint64_t sequence) const {
    size_t count = 0;
    for (const proto::Envelope& envelope : partner->received) {
      if (envelope.has_map_update() &&
          envelope.map_update().sequence() == sequence) {
        ++count;
      }
    }
    return count;
  }

  Schema primary_schema;
  Schema secondary_schema;
  TwoOrgs t;
  Connection* p = nullptr;
  Connection* s = nullptr;
  std::unique_ptr<Peer> partner;
};

size_t InfoLogsFor(const Connection* connection, uint64_t sequence) {
  size_t count = 0;
  for (const LogEntry& entry : LogOf(connection)) {
    if (entry.queue_sequence == sequence && entry.status == LogStatus::kInfo) {
      ++count;
    }
  }
  return count;
}

TEST_CASE(
    "R50, partner trust: a forged APPLIED or DUPLICATE for an entry never "
    "sent leaves it queued, counted and logged -- a late genuine answer still "
    "retires it",
    "[partner-trust]") {
  Partnered w;
  RequireOk(w.p->publish_set()->PublishObject("Account"));
  const uint64_t sequence = w.Queued(QueueAction::kTypeMapUpdate);

  // Not stepped: the entry was never sent.
  w.partner->Send(Ack(sequence, proto::APPLIED));
  w.partner->Send(Ack(sequence, proto::DUPLICATE));
  w.Deliver();
  CHECK(w.p->record_queue()->Get(sequence).ok());
  CHECK(w.p->counters().entries_acknowledged == 0);
  CHECK(w.p->counters().results_not_in_flight == 2);
  // Logged once for the entry, however often the partner repeats itself.
  CHECK(InfoLogsFor(w.p, sequence) == 1);

  // Sent, unanswered past the ack timeout and sent again: the answer to
  // the first attempt arrives late, and is a real answer.
  RequireOk(w.p->Step().status());
  w.Deliver();
  REQUIRE(w.SentMapUpdates(sequence) == 1);
  w.t.clock.Advance(absl::Seconds(6));
  RequireOk(w.p->Step().status());
  w.Deliver();
  REQUIRE(w.SentMapUpdates(sequence) == 2);
  w.partner->Send(Ack(sequence, proto::APPLIED));
  w.Deliver();
  CHECK_FALSE(w.p->record_queue()->Get(sequence).ok());
  CHECK(w.p->counters().entries_acknowledged == 1);
  // The answer to the second attempt finds nothing left to retire.
  w.partner->Send(Ack(sequence, proto::DUPLICATE));
  w.Deliver();
  CHECK(w.p->counters().entries_acknowledged == 1);
  CHECK(w.p->counters().stale_results == 1);
}

TEST_CASE(
    "R50, partner trust: after a restart an entry counts as sent only once "
    "it is sent again -- the partner's answer to the earlier attempt does not "
    "retire it",
    "[partner-trust]") {
  Partnered w;
  RequireOk(w.p->publish_set()->PublishObject("Account"));
  const uint64_t sequence = w.Queued(QueueAction::kTypeMapUpdate);
  RequireOk(w.p->Step().status());
  w.Deliver();
  REQUIRE(w.SentMapUpdates(sequence) == 1);

  w.Restart();
  w.partner->Send(Ack(sequence, proto::APPLIED));
  w.Deliver();
  CHECK(w.p->record_queue()->Get(sequence).ok());
  CHECK(w.p->counters().results_not_in_flight == 1);
  CHECK(InfoLogsFor(w.p, sequence) == 1);

  // Sent again and answered (DUPLICATE: the partner had it), it leaves the
  // queue once, with nothing lost.
  RequireOk(w.p->Step().status());
  w.Deliver();
  REQUIRE(w.SentMapUpdates(sequence) == 1);
  w.partner->Send(Ack(sequence, proto::DUPLICATE));
  w.Deliver();
  CHECK_FALSE(w.p->record_queue()->Get(sequence).ok());
  CHECK(w.p->counters().entries_acknowledged == 1);
}

TEST_CASE(
    "R5, partner trust: a forged acknowledgement for an entry held while "
    "Suspended leaves it queued and logged -- it goes out on resume",
    "[partner-trust]") {
  Partnered w;
  RequireOk(w.p->Suspend("alice"));
  RequireOk(w.p->publish_set()->PublishObject("Account"));
  const uint64_t sequence = w.Queued(QueueAction::kTypeMapUpdate);
  RequireOk(w.p->Step().status());
  w.Deliver();
  REQUIRE(w.SentMapUpdates(sequence) == 0);

  w.partner->Send(Ack(sequence, proto::DUPLICATE));
  w.Deliver();
  CHECK(w.p->record_queue()->Get(sequence).ok());
  CHECK(w.p->counters().entries_acknowledged == 0);
  CHECK(w.p->counters().results_not_in_flight == 1);
  CHECK(InfoLogsFor(w.p, sequence) == 1);
  bool says_held = false;
  for (const LogEntry& entry : LogOf(w.p)) {
    if (entry.queue_sequence == sequence &&
        entry.description.find("Suspended") != std::string::npos) {
      says_held = true;
    }
  }
  CHECK(says_held);

  // Resumed, the entry is sent and the partner's real answer retires it.
  RequireOk(w.p->Resume("alice"));
  for (int round = 0; round < 5 && w.SentMapUpdates(sequence) == 0; ++round) {
    RequireOk(w.p->Step().status());
    w.Deliver();
    for (const proto::Envelope& envelope : w.partner->received) {
      if (envelope.has_notice()) {
        w.partner->Send(Ack(envelope.notice().sequence(), proto::APPLIED));
      }
    }
    w.Deliver();
  }
  REQUIRE(w.SentMapUpdates(sequence) == 1);
  w.partner->Send(Ack(sequence, proto::APPLIED));
  w.Deliver();
  CHECK_FALSE(w.p->record_queue()->Get(sequence).ok());
}

TEST_CASE(
    "R21, partner trust: map updates for objects this org does not have "
    "keep state for a bounded number of objects, and every one is answered",
    "[partner-trust]") {
  Partnered w;
  Storage* storage = w.t.primary_storage->storage();
  const std::string marks = "k/" + w.p->id() + "/a/map:";
  const size_t published_before =
      w.p->subscription_map()->PartnerPublishedObjects().size();
  const size_t marks_before = KeysUnder(storage, marks);
  constexpr int kUpdates = 1500;
  for (int i = 0; i < kUpdates; ++i) {
    proto::Envelope envelope;
    proto::MapUpdate* update = envelope.mutable_map_update();
    const std::string object = "Ghost" + std::to_string(i);
    update->set_sequence(1);
    update->set_action(proto::TYPE_MAP_UPDATE);
    update->set_object(object);
    update->mutable_object_schema()->set_name(object);
    update->mutable_object_schema()->set_publishable(true);
    proto::FieldSchema* field = update->mutable_object_schema()->add_fields();
    field->set_name("Name");
    field->set_type(proto::TEXT);
    field->set_length(80);
    update->add_published_fields("Name");
    w.partner->Send(std::move(envelope));
    if (i % 100 == 99) w.Deliver();
  }
  // Deleting objects never published stores nothing either.
  for (int i = 0; i < 300; ++i) {
    proto::Envelope envelope;
    envelope.mutable_map_update()->set_sequence(1);
    envelope.mutable_map_update()->set_action(proto::TYPE_MAP_DELETE);
    envelope.mutable_map_update()->set_object("Phantom" + std::to_string(i));
    w.partner->Send(std::move(envelope));
  }
  w.Deliver();

  constexpr size_t kBound = 256;  // "Bounded state" in orgsync/connection.h
  CHECK(w.p->subscription_map()->PartnerPublishedObjects().size() ==
        published_before + kBound);
  CHECK(KeysUnder(storage, marks) == marks_before + kBound);
  CHECK(w.p->counters().map_updates_over_bound == kUpdates - kBound);
  // Every update got its answer: the ones over the bound a permanent
  // failure (the partner logs it Failed), the deletes a no-op.
  size_t applied = 0, refused = 0;
  for (const proto::ItemResult& result : w.partner->Results()) {
    if (result.outcome() == proto::APPLIED) ++applied;
    if (result.outcome() == proto::PERMANENT_FAILURE) ++refused;
  }
  CHECK(applied == kBound + 300);
  CHECK(refused == kUpdates - kBound);

  // The partner's objects that this org has are still taken.
  proto::Envelope known;
  known.mutable_map_update()->set_sequence(1);
  known.mutable_map_update()->set_action(proto::TYPE_MAP_UPDATE);
  known.mutable_map_update()->set_object("Account");
  proto::ObjectSchema* account =
      known.mutable_map_update()->mutable_object_schema();
  account->set_name("Account");
  account->set_publishable(true);
  proto::FieldSchema* name = account->add_fields();
  name->set_name("Name");
  name->set_type(proto::TEXT);
  name->set_length(80);
  w.partner->Send(std::move(known));
  w.Deliver();
  CHECK(w.p->subscription_map()->IsPartnerPublished("Account"));
}

TEST_CASE(
    "R1, partner trust: thousands of wrong secrets leave one history entry "
    "per reason per window, each refusal answered",
    "[partner-trust]") {
  TwoOrgs t(6);
  const Invitation invitation = t.Invite();
  Connection* p = *t.primary->GetConnection(invitation.connection_id);
  Peer stranger(t.pair.b(), invitation.connection_id, "org-x");
  constexpr int kTries = 3000;
  for (int i = 0; i < kTries; ++i) {
    proto::Envelope envelope = Accept("org-x");
    envelope.mutable_accept()->set_secret(std::string(32, 'a' + i % 26));
    stranger.Send(std::move(envelope));
    if (i % 500 == 499) REQUIRE(t.pair.RunUntilIdle());
  }
  REQUIRE(t.pair.RunUntilIdle());

  const std::vector<HistoryEntry> history = HistoryOf(p);
  REQUIRE(history.size() == 2);
  CHECK(history[1].event == E::kPeerRefused);
  CHECK(history[1].occurrences == kTries);
  CHECK(KeysUnder(t.primary_storage->storage(),
                  "c/" + invitation.connection_id + "/h/") == 2);
  CHECK(p->counters().handshakes_refused == kTries);
  const std::vector<proto::HandshakeResult> answers = stranger.Answers();
  REQUIRE(answers.size() == static_cast<size_t>(kTries));
  CHECK(answers.back().refusal() == proto::REFUSAL_BAD_SECRET);

  // A new window, a new entry.
  t.clock.Advance(absl::Minutes(11));
  proto::Envelope later = Accept("org-x");
  later.mutable_accept()->set_secret("wrong");
  stranger.Send(std::move(later));
  REQUIRE(t.pair.RunUntilIdle());
  CHECK(HistoryOf(p).size() == 3);
  CHECK(p->status() == S::kInvited);
}

TEST_CASE(
    "R4, partner trust: a flood of the partner's connection notices leaves "
    "a bounded number of history entries, each notice applied",
    "[partner-trust]") {
  Partnered w;
  const size_t before = HistoryOf(w.s).size();
  const uint64_t applied_before = w.s->counters().items_applied;
  // The test plays the primary; the secondary hears from it.
  w.partner.reset();
  RequireOk(w.s->AttachTransport(w.t.pair.b()));
  RequireOk(w.p->AttachTransport(nullptr));
  Peer primary(w.t.pair.a(), w.p->id(), "org-a");
  constexpr int kNotices = 1000;
  for (int i = 0; i < kNotices; ++i) {
    proto::Envelope envelope;
    proto::ConnectionNotice* notice = envelope.mutable_notice();
    notice->set_sequence(static_cast<uint64_t>(i) + 1000000);
    notice->set_action(i % 2 == 0 ? proto::CONNECTION_ADMIN_SUSPENDED
                                  : proto::CONNECTION_ADMIN_RESUMED);
    notice->set_reason("alice");
    primary.Send(std::move(envelope));
    if (i % 100 == 99) w.Deliver();
  }
  w.Deliver();
  CHECK(w.s->counters().items_applied == applied_before + kNotices);
  const std::vector<HistoryEntry> history = HistoryOf(w.s);
  CHECK(history.size() <= before + 8);
  uint64_t occurrences = 0;
  for (size_t i = before; i < history.size(); ++i) {
    occurrences += history[i].occurrences;
  }
  CHECK(occurrences == kNotices);
}

TEST_CASE(
    "R1, partner trust: an acceptance for an unknown connection id is "
    "answered REFUSAL_UNKNOWN_INVITATION and leaves no trace",
    "[partner-trust]") {
  TwoOrgs t(7);
  const Invitation invitation = t.Invite();
  Connection* p = *t.primary->GetConnection(invitation.connection_id);
  Peer stranger(t.pair.b(), "no-such-invitation", "org-x");
  for (int i = 0; i < 100; ++i) stranger.Send(Accept("org-x"));
  REQUIRE(t.pair.RunUntilIdle());
  REQUIRE(stranger.received.size() == 100);
  const proto::Envelope& answer = stranger.received.front();
  CHECK(answer.connection_id() == "no-such-invitation");
  REQUIRE(answer.has_handshake_result());
  CHECK_FALSE(answer.handshake_result().accepted());
  CHECK(answer.handshake_result().refusal() ==
        proto::REFUSAL_UNKNOWN_INVITATION);
  CHECK(p->counters().unknown_invitations == 100);
  CHECK(HistoryOf(p).size() == 1);
  CHECK(t.primary->Connections().size() == 1);
}

TEST_CASE(
    "R1, partner trust: an acceptance in a newer protocol version is "
    "answered REFUSAL_UNSUPPORTED_VERSION",
    "[partner-trust]") {
  TwoOrgs t(8);
  const Invitation invitation = t.Invite();
  Peer stranger(t.pair.b(), invitation.connection_id, "org-b");
  proto::Envelope envelope = Accept("org-b");
  envelope.set_protocol_version(wire::kProtocolVersion + 1);
  envelope.set_connection_id(invitation.connection_id);
  envelope.set_sender_org_id("org-b");
  envelope.set_message_id(1);
  envelope.mutable_accept()->set_secret("from the future");
  stranger.SendBytes(envelope.SerializeAsString());
  REQUIRE(t.pair.RunUntilIdle());
  const std::vector<proto::HandshakeResult> answers = stranger.Answers();
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].refusal() == proto::REFUSAL_UNSUPPORTED_VERSION);
  CHECK(answers[0].reason().find("version") != std::string::npos);
}

TEST_CASE(
    "R1, partner trust: an acceptance with an empty secret, org id or "
    "connection id is answered",
    "[partner-trust]") {
  TwoOrgs t(9);
  const Invitation invitation = t.Invite();
  Peer stranger(t.pair.b(), invitation.connection_id, "org-b");
  stranger.Send(Accept("org-b"));  // no secret, no proof
  REQUIRE(t.pair.RunUntilIdle());
  REQUIRE(stranger.Answers().size() == 1);
  CHECK(stranger.Answers()[0].refusal() == proto::REFUSAL_BAD_SECRET);

  proto::Envelope no_org = Accept("");
  no_org.mutable_accept()->set_secret("s");
  stranger.Send(std::move(no_org));
  REQUIRE(t.pair.RunUntilIdle());
  REQUIRE(stranger.Answers().size() == 2);
  CHECK(stranger.Answers()[1].refusal() == proto::REFUSAL_INVALID_PEER);

  proto::Envelope no_id = Accept("org-b");
  no_id.mutable_accept()->set_secret("s");
  no_id.set_protocol_version(wire::kProtocolVersion);
  no_id.set_sender_org_id("org-b");
  no_id.set_message_id(77);
  stranger.SendBytes(no_id.SerializeAsString());
  REQUIRE(t.pair.RunUntilIdle());
  REQUIRE(stranger.received.size() == 3);
  REQUIRE(stranger.received[2].has_protocol_error());
  CHECK(stranger.received[2].protocol_error().rejected_message_id() == 77);
  CHECK(stranger.received[2].protocol_error().supported_version() ==
        wire::kProtocolVersion);
}

TEST_CASE(
    "R1, partner trust: the secondary refuses an \"accepted\" from an "
    "impostor primary that cannot prove the secret, and records it",
    "[partner-trust]") {
  TwoOrgs t(10);
  // The secondary holds a real invitation's secret; the test answers in the
  // primary's place without knowing it.
  const Invitation invitation = t.Invite();
  RequireOk((*t.primary->GetConnection(invitation.connection_id))
                ->AttachTransport(nullptr));
  Peer impostor(t.pair.a(), invitation.connection_id, "org-a");
  auto accepted = t.secondary->AcceptInvitation(
      invitation.connection_id, invitation.secret_hex, t.pair.b(), "bob@b");
  RequireOk(accepted.status());
  Connection* s = *accepted;
  REQUIRE(t.pair.RunUntilIdle());
  REQUIRE(impostor.received.size() == 1);
  REQUIRE(impostor.received[0].has_accept());
  // What an impostor primary learns from the acceptance: not the secret.
  CHECK(impostor.received[0].accept().secret().empty());

  impostor.Send(AcceptedAnswer());
  proto::Envelope forged = AcceptedAnswer();
  forged.mutable_handshake_result()->set_nonce(std::string(32, 'n'));
  forged.mutable_handshake_result()->set_secret_proof(std::string(32, 'p'));
  impostor.Send(std::move(forged));
  REQUIRE(t.pair.RunUntilIdle());
  CHECK(s->status() == S::kInvited);
  CHECK_FALSE(s->accepted());
  CHECK(s->Info().owner.empty());
  CHECK(s->counters().handshake_answers_refused == 2);
  const std::vector<HistoryEntry> history = HistoryOf(s);
  REQUIRE(history.size() == 2);
  CHECK(history[1].event == E::kPeerRefused);
  CHECK(history[1].actor == "partner:org-a");
  CHECK(history[1].occurrences == 2);

  // The real primary's answer is still taken.
  Connection* p = *t.primary->GetConnection(invitation.connection_id);
  RequireOk(p->AttachTransport(t.pair.a()));
  RequireOk(s->SendAcceptance());
  REQUIRE(t.pair.RunUntilIdle());
  CHECK(s->accepted());
  CHECK(p->accepted());
}

TEST_CASE(
    "R1, partner trust: the primary refuses an impostor secondary that "
    "replays a genuine acceptance under its own org id",
    "[partner-trust]") {
  // The genuine secondary's acceptance, captured on its way (declared
  // first: it outlives the org it is attached to).
  CapturingTransport wire_tap;
  TwoOrgs t(11);
  const Invitation invitation = t.Invite();
  Connection* p = *t.primary->GetConnection(invitation.connection_id);
  RequireOk(t.secondary
                ->AcceptInvitation(invitation.connection_id,
                                   invitation.secret_hex, &wire_tap, "bob@b")
                .status());
  REQUIRE(wire_tap.sent.size() == 1);
  absl::StatusOr<proto::Envelope> captured =
      wire::DecodeEnvelope(wire_tap.sent[0]);
  RequireOk(captured.status());

  Peer impostor(t.pair.b(), invitation.connection_id, "org-x");
  proto::Envelope replay = *captured;
  replay.set_sender_org_id("org-x");
  replay.mutable_accept()->set_secondary_org_id("org-x");
  impostor.Send(std::move(replay));
  REQUIRE(t.pair.RunUntilIdle());
  CHECK(p->status() == S::kInvited);
  CHECK(p->Info().partner_org_id.empty());
  REQUIRE(impostor.Answers().size() == 1);
  CHECK_FALSE(impostor.Answers()[0].accepted());
  CHECK(impostor.Answers()[0].refusal() == proto::REFUSAL_BAD_SECRET);
  CHECK(HistoryOf(p).back().event == E::kPeerRefused);
  CHECK(HistoryOf(p).back().actor == "partner:org-x");
}

TEST_CASE(
    "R74, partner trust: metadata syncs from the primary only -- a push the "
    "secondary sends is refused, and an answer to a push never sent changes "
    "nothing",
    "[partner-trust][metadata]") {
  Partnered w;
  proto::Envelope push;
  proto::MetadataPush* body = push.mutable_metadata_push();
  body->set_sequence((uint64_t{1} << 63) + 1);
  body->set_full(true);
  body->set_last_batch(true);
  proto::MetadataItem* item = body->add_items();
  item->set_type(proto::PROFILE);
  item->set_name("System Administrator");
  item->set_body("everything");
  w.partner->Send(push);
  // A forged answer to a push number the primary never used.
  w.partner->Send(Ack((uint64_t{1} << 63) + 7, proto::APPLIED));
  w.Deliver();
  const std::vector<proto::ItemResult> results = w.partner->Results();
  REQUIRE(results.size() == 1);
  CHECK(results[0].outcome() == proto::PERMANENT_FAILURE);
  CHECK(results[0].error() == proto::ERROR_METADATA);
  CHECK_THAT(results[0].description(), Catch::Contains("primary"));
  CHECK(w.p->counters().stale_results == 1);
  CHECK(w.p->counters().entries_acknowledged == 0);
  CHECK(w.p->status() == S::kActive);
}

// A Verify request from the partner (orgsync/verify.h) for one object and
// its field pairs, asking for the digests of every id.
proto::Envelope VerifyDigests(std::string object,
                              std::vector<std::string> fields) {
  proto::Envelope envelope;
  proto::VerifyRequest* request = envelope.mutable_verify_request();
  request->set_run(1);
  request->set_request(1);
  request->set_kind(proto::VERIFY_DIGESTS);
  proto::VerifyObject* wanted = request->add_objects();
  wanted->set_object(object);
  wanted->set_responder_object(object);
  for (std::string& field : fields) {
    proto::VerifyFieldPair* pair = wanted->add_fields();
    pair->set_initiator_field(field);
    pair->set_responder_field(std::move(field));
  }
  request->add_ranges();
  return envelope;
}

TEST_CASE(
    "Partner trust, Verify: digests are answered only for the objects and "
    "fields the connection shares",
    "[partner-trust][verify]") {
  Schema primary_schema;
  Schema secondary_schema;
  testing::FillSchema(&primary_schema);
  testing::FillSchema(&secondary_schema);
  testing::ForwardingClock store_clock;
  std::unique_ptr<RecordStore> primary_store =
      testing::NewCrmRecordStore(&primary_schema, &store_clock, "P-");
  std::unique_ptr<RecordStore> secondary_store =
      testing::NewCrmRecordStore(&secondary_schema, &store_clock, "S-");
  TwoOrgsConfig config;
  config.primary_schema = &primary_schema;
  config.secondary_schema = &secondary_schema;
  config.primary_record_store = primary_store.get();
  config.secondary_record_store = secondary_store.get();
  TwoOrgs t(12, testing::NewReopenableMemoryStorage(),
            testing::NewReopenableMemoryStorage(), std::move(config));
  store_clock.target = &t.clock;
  InvitationOptions options = DefaultInvitation();
  options.sync = {};
  auto [p, s] = t.Connect(options);
  RequireOk(p->publish_set()->PublishObject("Account"));
  REQUIRE(t.Settle());
  RequireOk(s->subscription_map()->Subscribe("Account"));
  REQUIRE(t.Settle());
  RequireOk(p->publish_set()->UnpublishField("Account", "Phone"));
  REQUIRE(t.Settle());
  RequireOk(s->AttachTransport(nullptr));
  Peer partner(t.pair.b(), p->id(), "org-b");

  auto answer = [&](proto::Envelope request) {
    partner.received.clear();
    partner.Send(std::move(request));
    REQUIRE(t.pair.RunUntilIdle());
    REQUIRE(partner.received.size() == 1);
    REQUIRE(partner.received[0].has_verify_answer());
    return partner.received[0].verify_answer();
  };
  // Shared: answered with a digest of no records.
  const proto::VerifyAnswer shared = answer(VerifyDigests("Account", {"Name"}));
  CHECK(shared.error().empty());
  REQUIRE(shared.summaries_size() == 1);
  CHECK(shared.summaries(0).count() == 0);
  // A field no longer published, and an object never published: refused,
  // with no digest.
  const proto::VerifyAnswer field =
      answer(VerifyDigests("Account", {"Name", "Phone"}));
  CHECK_THAT(field.error(), Catch::Contains("Account.Phone"));
  CHECK(field.summaries_size() == 0);
  const proto::VerifyAnswer object = answer(VerifyDigests("Contact", {}));
  CHECK_THAT(object.error(), Catch::Contains("Contact"));
  CHECK(object.summaries_size() == 0);
  // Nothing of the org changed, and the connection goes on.
  CHECK(p->status() == S::kActive);
  CHECK(p->record_queue()->Count() == 0);
}

}  // namespace
}  // namespace orgsync::partner_trust_test
