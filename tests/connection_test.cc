// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Connections: invitation and handshake (R1), the status machine (R2),
// role and type queries (R3), history (R4), admin suspend/resume (R5),
// automatic suspension (R6), deactivation and several connections per org
// (R8), persistence across reopen, and failed writes changing nothing.

#include "orgsync/connection.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "orgsync/org.h"
#include "orgsync/transport.h"
#include "proto/wire.pb.h"
#include "testing/connection_fixture.h"

namespace orgsync::connection_test {
namespace {

using testing::DefaultInvitation;
using testing::RequireOk;
using testing::TwoOrgs;
using Side = InProcessTransportPair::Side;
using S = ConnectionStatus;
using E = HistoryEvent;

std::vector<HistoryEntry> HistoryOf(const Connection* c,
                                    const HistoryQuery& query = {}) {
  auto history = c->History(query);
  RequireOk(history.status());
  return *history;
}

std::vector<HistoryEvent> EventsOf(const Connection* c) {
  std::vector<HistoryEvent> events;
  for (const HistoryEntry& entry : HistoryOf(c)) events.push_back(entry.event);
  return events;
}

// The Connection notices waiting in the connection's RecordQueue (R56),
// oldest first.
std::vector<QueueEntry> QueuedNotices(const Connection* c) {
  auto page = c->record_queue()->List("", RecordQueue::kMaxPageSize);
  RequireOk(page.status());
  std::vector<QueueEntry> notices;
  for (QueueEntry& entry : page->entries) {
    if (entry.record.empty()) notices.push_back(std::move(entry));
  }
  return notices;
}

std::vector<QueueAction> NoticeActions(const Connection* c) {
  std::vector<QueueAction> actions;
  for (const QueueEntry& n : QueuedNotices(c)) actions.push_back(n.action);
  return actions;
}

// What a queued Connection notice will tell the partner.
proto::ConnectionNotice NoticeBody(const QueueEntry& entry) {
  proto::ConnectionNotice notice;
  REQUIRE(notice.ParseFromString(entry.payload));
  return notice;
}

// The same secret with its last hex digit changed.
std::string WrongSecret(std::string hex) {
  hex.back() = hex.back() == '0' ? '1' : '0';
  return hex;
}

// Serialized envelope as a (possibly hostile) peer would send it.
std::string RawEnvelope(const std::string& connection_id,
                        const std::string& sender,
                        const std::function<void(proto::Envelope&)>& fill) {
  proto::Envelope envelope;
  envelope.set_protocol_version(1);
  envelope.set_connection_id(connection_id);
  envelope.set_sender_org_id(sender);
  envelope.set_message_id(99);
  fill(envelope);
  return envelope.SerializeAsString();
}

std::string ChangeEnvelope(const std::string& connection_id,
                           const std::string& sender) {
  return RawEnvelope(connection_id, sender, [](proto::Envelope& e) {
    proto::RecordChange* change = e.mutable_changes()->add_changes();
    change->set_sequence(1);
    change->set_action(proto::GENERIC_INSERT);
    change->set_object("Account");
    change->set_sender_record_id("r1");
  });
}

std::string AcceptEnvelope(const std::string& connection_id,
                           const std::string& sender,
                           const std::string& secret) {
  return RawEnvelope(connection_id, sender, [&](proto::Envelope& e) {
    e.mutable_accept()->set_secret(secret);
    e.mutable_accept()->set_secondary_org_id(sender);
  });
}

// Captures what a side sends, forwarding it.
class RecordingTransport final : public Transport {
 public:
  explicit RecordingTransport(Transport* inner) : inner_(inner) {}
  void SetHandler(TransportHandler* handler) override {
    inner_->SetHandler(handler);
  }
  absl::Status Send(std::string bytes) override {
    proto::Envelope envelope;
    REQUIRE(envelope.ParseFromString(bytes));
    sent.push_back(envelope);
    return inner_->Send(std::move(bytes));
  }
  bool PartnerAvailable() const override { return inner_->PartnerAvailable(); }

  std::vector<proto::Envelope> sent;

 private:
  Transport* inner_;
};

// Fails every write while `fail` is set.
class FlakyStorage final : public ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;
  absl::Status Write(const WriteBatch& batch,
                     const WriteOptions& options) override {
    if (fail) return absl::UnavailableError("disk on fire");
    return ForwardingStorage::Write(batch, options);
  }
  bool fail = false;
};

// ---------------------------------------------------------------------------
// R1: invitation and handshake

TEST_CASE(
    "R1: an invitation is a Replication connection on the primary with "
    "options, owner, contact and a 256-bit secret",
    "[connection]") {
  TwoOrgs t;
  const Invitation invitation = t.Invite();
  CHECK(invitation.connection_id == "conn-1");
  REQUIRE(invitation.secret_hex.size() == 64);
  CHECK(invitation.secret_hex.find_first_not_of("0123456789abcdef") ==
        std::string::npos);

  Connection* c = *t.primary->GetConnection("conn-1");
  const ConnectionInfo info = c->Info();
  CHECK(info.role == ReplicationRole::kPrimary);
  CHECK(info.type == ConnectionType::kReplication);
  CHECK(info.status == S::kInvited);
  CHECK(info.sync == SyncOptions{true, true, true});
  CHECK(info.owner == "alice@a");
  CHECK(info.contact == "bob@b");
  CHECK(info.created == t.clock.Now());
  CHECK(info.accepted == absl::InfinitePast());
  CHECK_FALSE(c->accepted());
  CHECK(c->acceptance_status().code() == absl::StatusCode::kFailedPrecondition);

  const std::vector<HistoryEntry> history = HistoryOf(c);
  REQUIRE(history.size() == 1);
  CHECK(history[0].event == E::kInvitationCreated);
  CHECK(history[0].actor == "alice@a");
  CHECK(history[0].status_after == S::kInvited);

  // Secrets and generated ids are fresh every time.
  InvitationOptions no_id = DefaultInvitation("");
  auto second = t.primary->CreateInvitation(no_id, "alice@a");
  auto third = t.primary->CreateInvitation(no_id, "alice@a");
  RequireOk(second.status());
  RequireOk(third.status());
  CHECK(second->connection_id.size() == 32);
  CHECK(second->connection_id != third->connection_id);
  CHECK(second->secret_hex != third->secret_hex);
  CHECK(second->secret_hex != invitation.secret_hex);
  CHECK(t.primary->Connections().size() == 3);
}

TEST_CASE("R1: bad invitation input is refused precisely and changes nothing",
          "[connection]") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  auto org = Org::Open({.org_id = "org-a"}, storage.get(), &clock);
  RequireOk(org.status());
  RequireOk(
      (*org)->CreateInvitation(DefaultInvitation("taken"), "alice@a").status());
  const size_t keys = storage->KeyCount();

  auto expect = [&](InvitationOptions options, std::string_view actor,
                    absl::StatusCode code, std::string_view mentions) {
    auto result = (*org)->CreateInvitation(options, actor);
    INFO(result.status().ToString());
    CHECK(result.status().code() == code);
    CHECK(result.status().message().find(std::string(mentions)) !=
          std::string::npos);
  };
  InvitationOptions o = DefaultInvitation("bad id!");
  expect(o, "alice@a", absl::StatusCode::kInvalidArgument, "connection id");
  o = DefaultInvitation(std::string(65, 'x'));
  expect(o, "alice@a", absl::StatusCode::kInvalidArgument, "connection id");
  o = DefaultInvitation("c.dot");
  expect(o, "alice@a", absl::StatusCode::kInvalidArgument, "connection id");
  o = DefaultInvitation("ok");
  o.owner = "";
  expect(o, "alice@a", absl::StatusCode::kInvalidArgument, "owner");
  o = DefaultInvitation("ok");
  o.contact = "";
  expect(o, "alice@a", absl::StatusCode::kInvalidArgument, "contact");
  o = DefaultInvitation("ok");
  o.type = ConnectionType::kStandard;
  expect(o, "alice@a", absl::StatusCode::kInvalidArgument, "type");
  expect(DefaultInvitation("ok"), "", absl::StatusCode::kInvalidArgument,
         "actor");
  expect(DefaultInvitation("taken"), "alice@a",
         absl::StatusCode::kAlreadyExists, "taken");

  CHECK(storage->KeyCount() == keys);
  CHECK((*org)->Connections().size() == 1);
  CHECK((*org)->GetConnection("ok").status().code() ==
        absl::StatusCode::kNotFound);
}

TEST_CASE(
    "R1: a primary that lost CreateInvitation's answer gets the invitation "
    "again while it is pending, also after a restart",
    "[connection]") {
  TwoOrgs t(19);
  const Invitation invitation = t.Invite();
  // The host "crashed" before storing the answer: the org is reopened.
  t.Reopen(invitation.connection_id);
  auto again = t.primary->PendingInvitation(invitation.connection_id);
  RequireOk(again.status());
  CHECK(again->connection_id == invitation.connection_id);
  CHECK(again->secret_hex == invitation.secret_hex);
  CHECK(t.primary->PendingInvitation("nope").status().code() ==
        absl::StatusCode::kNotFound);

  // The recovered secret is the one that works.
  auto accepted = t.secondary->AcceptInvitation(
      again->connection_id, again->secret_hex, t.pair.b(), "bob@b");
  RequireOk(accepted.status());
  // The secondary holds no invitation to give.
  CHECK(t.secondary->PendingInvitation(invitation.connection_id)
            .status()
            .code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(t.pair.RunUntilIdle());
  REQUIRE((*accepted)->accepted());
  // Used: not given out any more.
  CHECK(t.primary->PendingInvitation(invitation.connection_id)
            .status()
            .code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("R1: the secondary accepts with the secret over the transport",
          "[connection]") {
  TwoOrgs t(17);
  const Invitation invitation = t.Invite();
  t.clock.Advance(absl::Minutes(5));
  auto accepted = t.secondary->AcceptInvitation(
      invitation.connection_id, invitation.secret_hex, t.pair.b(), "bob@b");
  RequireOk(accepted.status());
  Connection* s = *accepted;
  Connection* p = *t.primary->GetConnection(invitation.connection_id);
  // Nothing has moved yet: the answer comes through the transport.
  CHECK(s->status() == S::kInvited);
  CHECK(s->acceptance_status().code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(t.pair.RunUntilIdle());

  for (Connection* c : {p, s}) {
    CHECK(c->status() == S::kMetadataSyncInProgress);
    CHECK(c->accepted());
    RequireOk(c->acceptance_status());
    CHECK(c->Info().accepted == t.clock.Now());
  }
  const ConnectionInfo si = s->Info();
  CHECK(si.role == ReplicationRole::kSecondary);
  CHECK(si.type == ConnectionType::kReplication);
  // The secondary learns the settings from the primary's answer.
  CHECK(si.sync == SyncOptions{true, true, true});
  CHECK(si.owner == "alice@a");
  CHECK(si.contact == "bob@b");
  CHECK(si.partner_org_id == "org-a");
  CHECK(si.partner_org_name == "org-a name");
  CHECK(p->Info().partner_org_id == "org-b");
  CHECK(p->Info().partner_org_name == "org-b name");
  CHECK(p->counters().handshakes_accepted == 1);
  CHECK(p->counters().handshakes_refused == 0);

  CHECK(EventsOf(p) ==
        std::vector<E>{E::kInvitationCreated, E::kInvitationAccepted});
  CHECK(EventsOf(s) ==
        std::vector<E>{E::kAcceptanceRequested, E::kInvitationAccepted});
  CHECK(HistoryOf(p)[1].actor == "partner:org-b");
  CHECK(HistoryOf(s)[0].actor == "bob@b");
  CHECK(HistoryOf(s)[1].actor == "partner:org-a");
}

TEST_CASE(
    "R1: a wrong secret is refused, logged on the primary, and the "
    "connection stays unaccepted",
    "[connection]") {
  TwoOrgs t(3);
  const Invitation invitation = t.Invite();
  auto accepted = t.secondary->AcceptInvitation(
      invitation.connection_id, WrongSecret(invitation.secret_hex), t.pair.b(),
      "bob@b");
  RequireOk(accepted.status());
  REQUIRE(t.pair.RunUntilIdle());
  Connection* s = *accepted;
  Connection* p = *t.primary->GetConnection(invitation.connection_id);

  CHECK(p->status() == S::kInvited);
  CHECK(s->status() == S::kInvited);
  CHECK_FALSE(p->accepted());
  CHECK_FALSE(s->accepted());
  CHECK(s->acceptance_status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(p->counters().handshakes_refused == 1);
  const std::vector<HistoryEntry> ph = HistoryOf(p);
  REQUIRE(ph.size() == 2);
  CHECK(ph[1].event == E::kPeerRefused);
  CHECK(ph[1].actor == "partner:org-b");
  CHECK(ph[1].detail.find("secret") != std::string::npos);
  CHECK(EventsOf(s).back() == E::kInvitationRefused);

  // A secret of another length is refused the same way.
  REQUIRE(t.pair.b()
              ->Send(AcceptEnvelope(invitation.connection_id, "org-b", "short"))
              .ok());
  REQUIRE(t.pair.RunUntilIdle());
  CHECK(p->status() == S::kInvited);
  CHECK(p->counters().handshakes_refused == 2);

  // The right secret still works afterwards.
  auto again = t.secondary->AcceptInvitation(
      invitation.connection_id, invitation.secret_hex, t.pair.b(), "bob@b");
  RequireOk(again.status());
  CHECK(*again == s);
  REQUIRE(t.pair.RunUntilIdle());
  CHECK(p->accepted());
  CHECK(s->accepted());
  RequireOk(s->acceptance_status());
}

TEST_CASE("R1: nothing flows before acceptance", "[connection]") {
  TwoOrgs t(5);
  const Invitation invitation = t.Invite();
  Connection* p = *t.primary->GetConnection(invitation.connection_id);
  const std::string id = invitation.connection_id;

  // A peer that has not accepted sends record changes, notices, garbage.
  REQUIRE(t.pair.b()->Send(ChangeEnvelope(id, "org-b")).ok());
  REQUIRE(t.pair.b()
              ->Send(RawEnvelope(id, "org-b",
                                 [](proto::Envelope& e) {
                                   e.mutable_notice()->set_sequence(1);
                                   e.mutable_notice()->set_action(
                                       proto::CONNECTION_UPDATE);
                                   e.mutable_notice()->mutable_options();
                                 }))
              .ok());
  REQUIRE(t.pair.b()->Send("not an envelope \xff\xfe").ok());
  REQUIRE(t.pair.b()->Send(ChangeEnvelope("other-connection", "org-b")).ok());
  REQUIRE(t.pair.b()
              ->Send(RawEnvelope(
                  id, "org-b",
                  [](proto::Envelope& e) {
                    e.mutable_handshake_result()->set_accepted(true);
                    e.mutable_handshake_result()->set_primary_org_id("org-b");
                    e.mutable_handshake_result()->mutable_options();
                  }))
              .ok());
  REQUIRE(t.pair.RunUntilIdle());
  ConnectionCounters c = p->counters();
  CHECK(c.received == 5);
  CHECK(c.rejected_not_accepted == 2);
  CHECK(c.rejected_malformed == 1);
  CHECK(c.rejected_wrong_connection == 2);
  CHECK(c.items_failed == 0);
  CHECK(p->status() == S::kInvited);
  CHECK(EventsOf(p) == std::vector<E>{E::kInvitationCreated});

  // Once accepted, the same kind of message from the partner gets through
  // to the engine (which refuses record changes until the record flow
  // exists); from another org it is still rejected.
  auto accepted = t.secondary->AcceptInvitation(id, invitation.secret_hex,
                                                t.pair.b(), "bob@b");
  RequireOk(accepted.status());
  REQUIRE(t.pair.RunUntilIdle());
  REQUIRE(p->accepted());
  RequireOk((*accepted)->AttachTransport(nullptr));
  REQUIRE(t.pair.b()->Send(ChangeEnvelope(id, "org-b")).ok());
  REQUIRE(t.pair.b()->Send(ChangeEnvelope(id, "org-x")).ok());
  REQUIRE(t.pair.RunUntilIdle());
  c = p->counters();
  CHECK(c.items_failed == 1);
  CHECK(c.rejected_wrong_connection == 3);
}

TEST_CASE(
    "R1: the primary answers a repeated acceptance idempotently and "
    "refuses another org",
    "[connection]") {
  TwoOrgs t(8);
  auto [p, s] = t.Connect();
  const size_t history_size = HistoryOf(p).size();
  // Once accepted the secondary has nothing more to send.
  REQUIRE(s->status() == S::kMetadataSyncInProgress);
  CHECK(s->SendAcceptance().code() == absl::StatusCode::kFailedPrecondition);

  // A second invitation, whose acceptance envelope (carrying the proof of
  // the secret) the test records so as to replay it.
  RecordingTransport recorder(t.pair.b());
  InvitationOptions options = DefaultInvitation("conn-2");
  const Invitation second = t.Invite(options);
  // conn-2 takes endpoint A from conn-1, which is fine for this test.
  auto accepted = t.secondary->AcceptInvitation("conn-2", second.secret_hex,
                                                &recorder, "bob@b");
  RequireOk(accepted.status());
  REQUIRE(t.pair.RunUntilIdle());
  Connection* p2 = *t.primary->GetConnection("conn-2");
  REQUIRE(p2->accepted());
  REQUIRE(recorder.sent.size() == 1);
  // The secret itself never travels (R1, partner trust).
  CHECK(recorder.sent[0].accept().secret().empty());
  const size_t p2_history = HistoryOf(p2).size();

  // Replaying the acceptance is answered again without a new entry.
  REQUIRE(t.pair.b()->Send(recorder.sent[0].SerializeAsString()).ok());
  REQUIRE(t.pair.RunUntilIdle());
  CHECK(p2->counters().handshakes_accepted == 2);
  CHECK(HistoryOf(p2).size() == p2_history);

  // Someone else replaying the recorded proof is refused and logged: the
  // proof covers the accepting org's id.
  proto::Envelope stolen = recorder.sent[0];
  stolen.set_sender_org_id("org-x");
  stolen.mutable_accept()->set_secondary_org_id("org-x");
  REQUIRE(t.pair.b()->Send(stolen.SerializeAsString()).ok());
  REQUIRE(t.pair.RunUntilIdle());
  CHECK(p2->counters().handshakes_refused == 1);
  CHECK(EventsOf(p2).back() == E::kPeerRefused);
  CHECK(HistoryOf(p2).back().actor == "partner:org-x");
  CHECK(p2->Info().partner_org_id == "org-b");
  CHECK(HistoryOf(p).size() == history_size);
  RequireOk((*accepted)->AttachTransport(nullptr));
}

TEST_CASE(
    "R1: the handshake completes over a lossy, duplicating, reordering "
    "transport",
    "[connection]") {
  for (uint64_t seed : {1u, 2u, 3u, 4u, 5u}) {
    INFO("seed " << seed);
    TwoOrgs t(seed);
    REQUIRE(t.pair
                .SetFaults({.drop_probability = 0.5,
                            .duplicate_probability = 0.5,
                            .reorder_probability = 0.5,
                            .max_delay_steps = 2})
                .ok());
    const Invitation invitation = t.Invite();
    auto accepted = t.secondary->AcceptInvitation(
        invitation.connection_id, invitation.secret_hex, t.pair.b(), "bob@b");
    RequireOk(accepted.status());
    Connection* s = *accepted;
    Connection* p = *t.primary->GetConnection(invitation.connection_id);
    int attempts = 1;
    while (!s->accepted() && attempts < 50) {
      REQUIRE(t.pair.RunUntilIdle());
      if (!s->accepted()) {
        RequireOk(s->SendAcceptance());
        ++attempts;
      }
    }
    REQUIRE(t.pair.RunUntilIdle());
    CHECK(s->accepted());
    CHECK(p->accepted());
    // However many copies arrived, acceptance is recorded once per side.
    CHECK(EventsOf(p) ==
          std::vector<E>{E::kInvitationCreated, E::kInvitationAccepted});
    CHECK(EventsOf(s) ==
          std::vector<E>{E::kAcceptanceRequested, E::kInvitationAccepted});
  }
}

TEST_CASE(
    "R1: an unreachable primary leaves the acceptance recorded, "
    "SendAcceptance sends it again",
    "[connection]") {
  TwoOrgs t;
  const Invitation invitation = t.Invite();
  t.pair.SetOnline(Side::kA, false);
  auto accepted = t.secondary->AcceptInvitation(
      invitation.connection_id, invitation.secret_hex, t.pair.b(), "bob@b");
  RequireOk(accepted.status());
  Connection* s = *accepted;
  CHECK(s->acceptance_status().code() == absl::StatusCode::kUnavailable);
  CHECK(s->SendAcceptance().code() == absl::StatusCode::kUnavailable);
  t.pair.SetOnline(Side::kA, true);
  RequireOk(s->SendAcceptance());
  REQUIRE(t.pair.RunUntilIdle());
  CHECK(s->accepted());
  RequireOk(s->acceptance_status());
}

TEST_CASE("R1: bad acceptances are refused locally and change nothing",
          "[connection]") {
  TwoOrgs t;
  auto [p, s] = t.Connect();
  const std::vector<HistoryEntry> history = HistoryOf(s);
  const std::string secret(64, 'a');
  auto code = [&](std::string_view id, std::string_view hex, Transport* tr,
                  std::string_view actor) {
    return t.secondary->AcceptInvitation(id, hex, tr, actor).status().code();
  };
  CHECK(code("bad id", secret, t.pair.b(), "bob") ==
        absl::StatusCode::kInvalidArgument);
  CHECK(code("c2", std::string(63, 'a'), t.pair.b(), "bob") ==
        absl::StatusCode::kInvalidArgument);
  CHECK(code("c2", std::string(64, 'g'), t.pair.b(), "bob") ==
        absl::StatusCode::kInvalidArgument);
  CHECK(code("c2", secret, nullptr, "bob") ==
        absl::StatusCode::kInvalidArgument);
  CHECK(code("c2", secret, t.pair.b(), "") ==
        absl::StatusCode::kInvalidArgument);
  // Already accepted here.
  CHECK(code(s->id(), secret, t.pair.b(), "bob") ==
        absl::StatusCode::kAlreadyExists);
  // The primary cannot accept its own invitation.
  CHECK(t.primary->AcceptInvitation(p->id(), secret, t.pair.a(), "alice")
            .status()
            .code() == absl::StatusCode::kAlreadyExists);
  CHECK(t.secondary->Connections().size() == 1);
  CHECK(s->status() == S::kMetadataSyncInProgress);
  CHECK(HistoryOf(s) == history);
}

// ---------------------------------------------------------------------------
// R2: the status machine

TEST_CASE(
    "R2: after acceptance the status walks Metadata Sync, User Sync, "
    "Active as the options say",
    "[connection]") {
  struct Case {
    bool metadata, users;
    std::vector<S> walk;
  };
  const Case cases[] = {
      {true,
       true,
       {S::kMetadataSyncInProgress, S::kUserSyncInProgress, S::kActive}},
      {true, false, {S::kMetadataSyncInProgress, S::kActive}},
      {false, true, {S::kUserSyncInProgress, S::kActive}},
      {false, false, {S::kActive}},
  };
  for (const Case& c : cases) {
    INFO("sync metadata " << c.metadata << ", sync users " << c.users);
    TwoOrgs t;
    InvitationOptions options = DefaultInvitation();
    options.sync.sync_metadata = c.metadata;
    options.sync.sync_users = c.users;
    auto [p, s] = t.Connect(options);
    for (Connection* side : {p, s}) {
      std::vector<S> walk = {side->status()};
      while (side->status() != S::kActive) {
        if (side->status() == S::kMetadataSyncInProgress) {
          CHECK(side->CompleteUserSync("engine").code() ==
                absl::StatusCode::kFailedPrecondition);
          RequireOk(side->CompleteMetadataSync("engine"));
        } else {
          CHECK(side->CompleteMetadataSync("engine").code() ==
                absl::StatusCode::kFailedPrecondition);
          RequireOk(side->CompleteUserSync("engine"));
        }
        walk.push_back(side->status());
      }
      CHECK(walk == c.walk);
      // Every step is in the history, with the status it led to.
      const std::vector<HistoryEntry> history = HistoryOf(side);
      REQUIRE(history.size() == 1 + c.walk.size());
      for (size_t i = 0; i < c.walk.size(); ++i) {
        CHECK(history[i + 1].status_after == c.walk[i]);
      }
    }
  }
}

TEST_CASE("R2: the transition table is exactly the designed one",
          "[connection]") {
  const std::vector<std::pair<S, S>> legal = {
      {S::kInvited, S::kMetadataSyncInProgress},
      {S::kInvited, S::kUserSyncInProgress},
      {S::kInvited, S::kActive},
      {S::kInvited, S::kDeactivated},
      {S::kMetadataSyncInProgress, S::kUserSyncInProgress},
      {S::kMetadataSyncInProgress, S::kActive},
      {S::kMetadataSyncInProgress, S::kDeactivated},
      {S::kUserSyncInProgress, S::kActive},
      {S::kUserSyncInProgress, S::kDeactivated},
      {S::kActive, S::kSuspended},
      {S::kActive, S::kDeactivated},
      {S::kSuspended, S::kActive},
      {S::kSuspended, S::kDeactivated},
  };
  int legal_count = 0;
  for (S from : kAllConnectionStatuses) {
    for (S to : kAllConnectionStatuses) {
      const bool expected = std::find(legal.begin(), legal.end(),
                                      std::pair{from, to}) != legal.end();
      INFO(ConnectionStatusName(from) << " -> " << ConnectionStatusName(to));
      CHECK(IsLegalStatusTransition(from, to) == expected);
      legal_count += expected;
    }
  }
  CHECK(legal_count == 13);
  CHECK(ConnectionStatusName(S::kMetadataSyncInProgress) ==
        "Metadata Sync in Progress");
  CHECK(ConnectionStatusName(S::kUserSyncInProgress) ==
        "User Sync in Progress");
}

// Brings the primary's side of a fresh connection (every option on) to
// `status`.
Connection* Reach(TwoOrgs& t, S status) {
  if (status == S::kInvited) {
    t.Invite();
    return *t.primary->GetConnection("conn-1");
  }
  Connection* p = t.Connect().first;
  if (status == S::kDeactivated) {
    RequireOk(p->Deactivate("alice"));
    return p;
  }
  if (status == S::kMetadataSyncInProgress) return p;
  RequireOk(p->CompleteMetadataSync("engine"));
  if (status == S::kUserSyncInProgress) return p;
  RequireOk(p->CompleteUserSync("engine"));
  if (status == S::kActive) return p;
  RequireOk(p->Suspend("alice"));
  REQUIRE(p->status() == S::kSuspended);
  return p;
}

TEST_CASE(
    "R2, R5, R8: every operation in every status: legal moves happen, "
    "illegal ones are refused naming both statuses and change nothing",
    "[connection]") {
  struct Op {
    const char* name;
    S target;
    std::function<absl::Status(Connection*)> run;
    std::vector<S> legal_from;
  };
  const std::vector<Op> ops = {
      {"CompleteMetadataSync",
       S::kUserSyncInProgress,
       [](Connection* c) { return c->CompleteMetadataSync("engine"); },
       {S::kMetadataSyncInProgress}},
      {"CompleteUserSync",
       S::kActive,
       [](Connection* c) { return c->CompleteUserSync("engine"); },
       {S::kUserSyncInProgress}},
      {"Suspend",
       S::kSuspended,
       [](Connection* c) { return c->Suspend("alice"); },
       {S::kActive}},
      {"Resume",
       S::kActive,
       [](Connection* c) { return c->Resume("alice"); },
       {S::kSuspended}},
      {"Deactivate",
       S::kDeactivated,
       [](Connection* c) { return c->Deactivate("alice"); },
       {S::kInvited, S::kMetadataSyncInProgress, S::kUserSyncInProgress,
        S::kActive, S::kSuspended}},
  };
  for (S from : kAllConnectionStatuses) {
    for (const Op& op : ops) {
      INFO(op.name << " from " << ConnectionStatusName(from));
      TwoOrgs t;
      Connection* p = Reach(t, from);
      REQUIRE(p->status() == from);
      const ConnectionInfo info_before = p->Info();
      const std::vector<HistoryEntry> history_before = HistoryOf(p);
      const absl::Status status = op.run(p);
      const bool legal = std::find(op.legal_from.begin(), op.legal_from.end(),
                                   from) != op.legal_from.end();
      if (legal) {
        RequireOk(status);
        CHECK(p->status() == op.target);
        CHECK(HistoryOf(p).size() == history_before.size() + 1);
      } else {
        INFO(status.ToString());
        CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
        const std::string message(status.message());
        CHECK(message.find("from " + std::string(ConnectionStatusName(from))) !=
              std::string::npos);
        CHECK(message.find("to " + std::string(ConnectionStatusName(
                                       op.target))) != std::string::npos);
        CHECK(p->Info() == info_before);
        CHECK(HistoryOf(p) == history_before);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// R3: role and type

TEST_CASE(
    "R3: host code can ask a connection's type, role and whether it is "
    "accepted",
    "[connection]") {
  TwoOrgs t;
  t.Invite();
  Connection* invited = *t.primary->GetConnection("conn-1");
  CHECK(invited->type() == ConnectionType::kReplication);
  CHECK(invited->role() == ReplicationRole::kPrimary);
  CHECK_FALSE(invited->accepted());

  TwoOrgs u;
  auto [p, s] = u.Connect();
  CHECK(p->role() == ReplicationRole::kPrimary);
  CHECK(s->role() == ReplicationRole::kSecondary);
  CHECK(s->type() == ConnectionType::kReplication);
  CHECK(ConnectionTypeName(s->type()) == "Replication");
  CHECK(ReplicationRoleName(s->role()) == "Secondary");
  CHECK(ReplicationRoleName(p->role()) == "Primary");

  // The seed's trigger: "am I the secondary of an accepted replication
  // connection?"
  auto is_secondary = [](const Org& org) {
    for (const Connection* c : org.Connections()) {
      if (c->type() == ConnectionType::kReplication && c->accepted() &&
          c->role() == ReplicationRole::kSecondary) {
        return true;
      }
    }
    return false;
  };
  CHECK(is_secondary(*u.secondary));
  CHECK_FALSE(is_secondary(*u.primary));
  RequireOk(s->Deactivate("bob"));
  CHECK_FALSE(s->accepted());
  CHECK_FALSE(is_secondary(*u.secondary));
}

// ---------------------------------------------------------------------------
// R4: history

TEST_CASE(
    "R4: the history records admin and metadata events with time and "
    "actor, and can be queried",
    "[connection]") {
  TwoOrgs t;
  auto [p, s] = t.Connect();
  const absl::Time t0 = t.clock.Now();
  t.clock.Advance(absl::Hours(1));
  RequireOk(p->RecordMetadataSyncFailure("Layout:Account", "field missing"));
  RequireOk(p->CompleteMetadataSync("engine"));
  t.clock.Advance(absl::Hours(1));
  RequireOk(p->CompleteUserSync("engine"));
  RequireOk(p->UpdateOwner("carol@a", "alice@a"));
  RequireOk(p->UpdateContact("dave@b", "alice@a"));
  RequireOk(p->UpdateSyncOptions({.sync_feeds_and_audit_fields = false,
                                  .sync_metadata = true,
                                  .sync_users = true},
                                 "alice@a"));
  t.clock.Advance(absl::Hours(1));
  const absl::Time t3 = t.clock.Now();
  RequireOk(p->Suspend("carol@a"));
  RequireOk(p->Resume("carol@a"));
  RequireOk(p->Deactivate("carol@a"));

  const std::vector<HistoryEntry> h = HistoryOf(p);
  const std::vector<E> expected = {
      E::kInvitationCreated,   E::kInvitationAccepted,
      E::kMetadataSyncFailure, E::kMetadataSyncCompleted,
      E::kUserSyncCompleted,   E::kOwnerUpdated,
      E::kContactUpdated,      E::kSyncOptionsUpdated,
      E::kAdminSuspended,      E::kAdminResumed,
      E::kDeactivated};
  REQUIRE(h.size() == expected.size());
  for (size_t i = 0; i < h.size(); ++i) {
    INFO(i);
    CHECK(h[i].event == expected[i]);
    CHECK(h[i].sequence == i + 1);
  }
  CHECK(h[2].detail == "Layout:Account: field missing");
  CHECK(h[2].actor == "system");
  CHECK(h[2].time == t0 + absl::Hours(1));
  CHECK(h[5].detail == "alice@a -> carol@a");
  CHECK(h[5].actor == "alice@a");
  CHECK(h[8].actor == "carol@a");
  CHECK(h[8].time == t3);
  CHECK(h[8].status_after == S::kSuspended);
  CHECK(h[9].status_after == S::kActive);
  CHECK(h[10].status_after == S::kDeactivated);
  CHECK(HistoryEventName(h[8].event) == "Connection Admin Suspended");
  CHECK(HistoryEventName(h[9].event) == "Connection Admin Resumed");

  // Queries: by event, by time range, with a limit.
  auto by_event = HistoryOf(p, {.event = E::kOwnerUpdated});
  REQUIRE(by_event.size() == 1);
  CHECK(by_event[0].sequence == 6);
  auto late = HistoryOf(p, {.since = t3});
  CHECK(late.size() == 3);
  auto early = HistoryOf(p, {.until = t0 + absl::Hours(1)});
  CHECK(early.size() == 2);
  auto first_two = HistoryOf(p, {.limit = 2});
  REQUIRE(first_two.size() == 2);
  CHECK(first_two[1].event == E::kInvitationAccepted);
  // Issue 8.7: paged. Pages of 3 after the last sequence read walk the
  // whole history once, in order; a bad page size is refused.
  std::vector<HistoryEntry> paged;
  for (;;) {
    auto page = HistoryOf(
        p, {.after_sequence = paged.empty() ? 0 : paged.back().sequence,
            .limit = 3});
    REQUIRE(page.size() <= 3);
    paged.insert(paged.end(), page.begin(), page.end());
    if (page.size() < 3) break;
  }
  CHECK(paged == h);
  auto after_late = HistoryOf(p, {.since = t3, .after_sequence = 9});
  REQUIRE(after_late.size() == 2);
  CHECK(after_late[0].sequence == 10);
  CHECK(p->History({.limit = 0}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(p->History({.limit = kMaxHistoryPageSize + 1}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(HistoryOf(p, {.after_sequence = UINT64_MAX}).empty());

  // The metadata failure hook needs an accepted connection.
  CHECK(p->RecordMetadataSyncFailure("x", "y").code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(s->RecordMetadataSyncFailure("", "y").code() ==
        absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// R5: admin suspend and resume

TEST_CASE("R5: admin suspend and resume act on one side only", "[connection]") {
  TwoOrgs t;
  InvitationOptions options = DefaultInvitation();
  options.sync = {};
  auto [p, s] = t.Connect(options);
  REQUIRE(p->status() == S::kActive);
  REQUIRE(s->status() == S::kActive);

  RequireOk(p->Suspend("alice"));
  CHECK(p->status() == S::kSuspended);
  CHECK(p->Info().admin_suspended);
  CHECK(s->status() == S::kActive);
  CHECK(HistoryOf(p).back().event == E::kAdminSuspended);
  CHECK(HistoryOf(p).back().actor == "alice");
  CHECK(p->Suspend("alice").code() == absl::StatusCode::kFailedPrecondition);

  RequireOk(s->Suspend("bob"));
  CHECK(s->status() == S::kSuspended);
  RequireOk(p->Resume("alice"));
  CHECK(p->status() == S::kActive);
  CHECK_FALSE(p->Info().admin_suspended);
  CHECK(s->status() == S::kSuspended);
  CHECK(HistoryOf(p).back().event == E::kAdminResumed);
  CHECK(p->Resume("alice").code() == absl::StatusCode::kFailedPrecondition);
  RequireOk(s->Resume("bob"));
  CHECK(s->status() == S::kActive);

  CHECK(NoticeActions(p) ==
        std::vector<QueueAction>{QueueAction::kConnectionAdminSuspended,
                                 QueueAction::kConnectionAdminResumed});
}

TEST_CASE(
    "R5: config changes while suspended are queued as Connection "
    "Update entries in the RecordQueue",
    "[connection]") {
  TwoOrgs t;
  InvitationOptions options = DefaultInvitation();
  options.sync = {};
  auto [p, s] = t.Connect(options);
  // While Active a change is queued too, but not held.
  RequireOk(p->UpdateContact("erin@b", "alice"));
  RequireOk(p->Suspend("alice"));
  t.clock.Advance(absl::Minutes(1));
  RequireOk(p->UpdateOwner("carol@a", "alice"));
  const SyncOptions sync{.sync_feeds_and_audit_fields = true,
                         .sync_metadata = false,
                         .sync_users = true};
  RequireOk(p->UpdateSyncOptions(sync, "alice"));
  // Setting the same value again is no change.
  RequireOk(p->UpdateOwner("carol@a", "alice"));
  RequireOk(p->Resume("alice"));

  // Nothing was stepped: every notice is still queued, in order, each
  // carrying the settings after its change.
  const std::vector<QueueEntry> notices = QueuedNotices(p);
  REQUIRE(notices.size() == 5);
  CHECK(notices[0].action == QueueAction::kConnectionUpdate);
  CHECK(NoticeBody(notices[0]).options().contact() == "erin@b");
  CHECK(notices[1].action == QueueAction::kConnectionAdminSuspended);
  CHECK(notices[2].action == QueueAction::kConnectionUpdate);
  CHECK(NoticeBody(notices[2]).options().owner() == "carol@a");
  CHECK(NoticeBody(notices[2]).reason() == "alice");
  CHECK(notices[2].enqueued == t.clock.Now());
  CHECK(notices[3].action == QueueAction::kConnectionUpdate);
  CHECK(NoticeBody(notices[3]).options().sync_users());
  CHECK_FALSE(NoticeBody(notices[3]).options().sync_metadata());
  CHECK(notices[4].action == QueueAction::kConnectionAdminResumed);
  for (size_t i = 1; i < notices.size(); ++i) {
    CHECK(notices[i].sequence > notices[i - 1].sequence);
  }
  CHECK(p->Info().owner == "carol@a");
  CHECK(p->Info().sync == sync);

  // Sync options are the primary's (R74); the secondary may still change
  // owner and contact.
  CHECK(s->UpdateSyncOptions(sync, "bob").code() ==
        absl::StatusCode::kFailedPrecondition);
  RequireOk(s->UpdateOwner("frank@a", "bob"));
  CHECK(NoticeActions(s) ==
        std::vector<QueueAction>{QueueAction::kConnectionUpdate});
  CHECK(s->UpdateOwner("", "bob").code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE(
    "R5: settings changes before acceptance need no notice, a secondary "
    "must wait for acceptance",
    "[connection]") {
  TwoOrgs t;
  const Invitation invitation = t.Invite();
  Connection* p = *t.primary->GetConnection(invitation.connection_id);
  RequireOk(p->UpdateOwner("carol@a", "alice"));
  RequireOk(p->UpdateSyncOptions({}, "alice"));
  CHECK(p->record_queue()->Count() == 0);
  // A secondary cannot change settings before the primary's answer.
  TwoOrgs u;
  const Invitation other = u.Invite();
  u.pair.SetOnline(Side::kA, false);
  auto s = u.secondary->AcceptInvitation(other.connection_id, other.secret_hex,
                                         u.pair.b(), "bob");
  RequireOk(s.status());
  CHECK((*s)->UpdateContact("x", "bob").code() ==
        absl::StatusCode::kFailedPrecondition);

  // The handshake carries the changed settings to the secondary.
  auto accepted = t.secondary->AcceptInvitation(
      invitation.connection_id, invitation.secret_hex, t.pair.b(), "bob");
  RequireOk(accepted.status());
  REQUIRE(t.pair.RunUntilIdle());
  CHECK((*accepted)->Info().owner == "carol@a");
  CHECK((*accepted)->Info().sync == SyncOptions{});
  CHECK((*accepted)->status() == S::kActive);
}

// ---------------------------------------------------------------------------
// R6: automatic suspension

TEST_CASE(
    "R6: losing the partner suspends both sides, its return resumes "
    "them",
    "[connection]") {
  TwoOrgs t;
  InvitationOptions options = DefaultInvitation();
  options.sync = {};
  auto [p, s] = t.Connect(options);
  CHECK(p->partner_available());
  t.pair.SetOnline(Side::kB, false);
  for (Connection* c : {p, s}) {
    CHECK(c->status() == S::kSuspended);
    CHECK(c->Info().partner_unavailable);
    CHECK_FALSE(c->Info().admin_suspended);
    CHECK_FALSE(c->partner_available());
    CHECK(HistoryOf(c).back().event == E::kSuspended);
    CHECK(HistoryOf(c).back().actor == "system");
  }
  // Admin resume has nothing to resume.
  CHECK(p->Resume("alice").code() == absl::StatusCode::kFailedPrecondition);
  t.pair.SetOnline(Side::kB, true);
  for (Connection* c : {p, s}) {
    CHECK(c->status() == S::kActive);
    CHECK_FALSE(c->Info().partner_unavailable);
    CHECK(HistoryOf(c).back().event == E::kResumed);
    CHECK(NoticeActions(c) ==
          std::vector<QueueAction>{QueueAction::kConnectionSuspended,
                                   QueueAction::kConnectionResumed});
  }
}

TEST_CASE(
    "R6: an admin suspension outlasts the partner's return and the "
    "partner's absence outlasts an admin resume",
    "[connection]") {
  TwoOrgs t;
  InvitationOptions options = DefaultInvitation();
  options.sync = {};
  auto [p, s] = t.Connect(options);

  // Admin first, then the partner goes and comes back: still suspended.
  RequireOk(p->Suspend("alice"));
  t.pair.SetOnline(Side::kB, false);
  t.pair.SetOnline(Side::kB, true);
  CHECK(p->status() == S::kSuspended);
  CHECK(p->Info().admin_suspended);
  RequireOk(p->Resume("alice"));
  CHECK(p->status() == S::kActive);

  // Partner first; an admin may suspend on top; the partner's return
  // leaves it suspended by the admin.
  t.pair.SetOnline(Side::kB, false);
  RequireOk(p->Suspend("alice"));
  CHECK(p->Info().admin_suspended);
  CHECK(p->Info().partner_unavailable);
  // Resuming while the partner is away keeps it Suspended.
  RequireOk(p->Resume("alice"));
  CHECK(p->status() == S::kSuspended);
  RequireOk(p->Suspend("alice"));
  t.pair.SetOnline(Side::kB, true);
  CHECK(p->status() == S::kSuspended);
  RequireOk(p->Resume("alice"));
  CHECK(p->status() == S::kActive);
}

TEST_CASE("R6: attaching a transport applies its current availability",
          "[connection]") {
  TwoOrgs t;
  InvitationOptions options = DefaultInvitation();
  options.sync = {};
  auto [p, s] = t.Connect(options);
  RequireOk(p->AttachTransport(nullptr));
  CHECK_FALSE(p->partner_available());
  t.pair.SetOnline(Side::kB, false);
  CHECK(p->status() == S::kActive);  // not attached: not told
  RequireOk(p->AttachTransport(t.pair.a()));
  CHECK(p->status() == S::kSuspended);
  RequireOk(p->AttachTransport(nullptr));
  t.pair.SetOnline(Side::kB, true);
  RequireOk(p->AttachTransport(t.pair.a()));
  CHECK(p->status() == S::kActive);
  CHECK(s->status() == S::kActive);
}

// ---------------------------------------------------------------------------
// R8: deactivation and several connections

TEST_CASE(
    "R8: deactivation is terminal on both the invitation and the "
    "accepted connection",
    "[connection]") {
  TwoOrgs t;
  auto [p, s] = t.Connect();
  RequireOk(s->Deactivate("bob"));
  CHECK(s->status() == S::kDeactivated);
  CHECK(s->acceptance_status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(NoticeActions(s) ==
        std::vector<QueueAction>{QueueAction::kConnectionDeactivate});
  CHECK(s->Deactivate("bob").code() == absl::StatusCode::kFailedPrecondition);
  CHECK(s->UpdateOwner("x", "bob").code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(s->CompleteMetadataSync("e").code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(s->RecordMetadataSyncFailure("x", "y").code() ==
        absl::StatusCode::kFailedPrecondition);
  // The secondary accepts nothing more under that id.
  CHECK(t.secondary
            ->AcceptInvitation(s->id(), std::string(64, 'a'), t.pair.b(), "bob")
            .status()
            .code() == absl::StatusCode::kFailedPrecondition);
  // Traffic for a deactivated connection is rejected.
  REQUIRE(t.pair.a()->Send(ChangeEnvelope(s->id(), "org-a")).ok());
  REQUIRE(t.pair.RunUntilIdle());
  CHECK(s->counters().rejected_deactivated == 1);

  // A deactivated invitation cannot be accepted, even with the secret.
  TwoOrgs u;
  const Invitation invitation = u.Invite();
  Connection* up = *u.primary->GetConnection(invitation.connection_id);
  RequireOk(up->Deactivate("alice"));
  // The partner never heard of it.
  CHECK(up->record_queue()->Count() == 0);
  auto late = u.secondary->AcceptInvitation(
      invitation.connection_id, invitation.secret_hex, u.pair.b(), "bob");
  RequireOk(late.status());
  REQUIRE(u.pair.RunUntilIdle());
  CHECK(up->status() == S::kDeactivated);
  CHECK(EventsOf(up).back() == E::kPeerRefused);
  CHECK((*late)->acceptance_status().code() ==
        absl::StatusCode::kPermissionDenied);
  // The secondary gives up too; afterwards the id is closed for good.
  RequireOk((*late)->Deactivate("bob"));
  CHECK(u.secondary
            ->AcceptInvitation(invitation.connection_id, invitation.secret_hex,
                               u.pair.b(), "bob")
            .status()
            .code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("R8: an org holds several connections, each independent",
          "[connection]") {
  ManualClock clock;
  auto storage_a = NewMemoryStorage();
  auto storage_b = NewMemoryStorage();
  auto storage_c = NewMemoryStorage();
  InProcessTransportPair ab(1), ca(2);
  auto open = [&](const std::string& id, Storage* storage) {
    auto org = Org::Open({.org_id = id, .org_name = id}, storage, &clock);
    RequireOk(org.status());
    return std::move(*org);
  };
  std::unique_ptr<Org> a = open("org-a", storage_a.get());
  std::unique_ptr<Org> b = open("org-b", storage_b.get());
  std::unique_ptr<Org> c = open("org-c", storage_c.get());

  // A is primary towards B and secondary towards C.
  auto to_b = a->CreateInvitation(DefaultInvitation("a-to-b"), "alice");
  RequireOk(to_b.status());
  RequireOk((*a->GetConnection("a-to-b"))->AttachTransport(ab.a()));
  RequireOk(
      b->AcceptInvitation("a-to-b", to_b->secret_hex, ab.b(), "bob").status());
  auto to_a = c->CreateInvitation(DefaultInvitation("c-to-a"), "carol");
  RequireOk(to_a.status());
  RequireOk((*c->GetConnection("c-to-a"))->AttachTransport(ca.a()));
  RequireOk(a->AcceptInvitation("c-to-a", to_a->secret_hex, ca.b(), "alice")
                .status());
  REQUIRE(ab.RunUntilIdle());
  REQUIRE(ca.RunUntilIdle());

  const std::vector<Connection*> mine = a->Connections();
  REQUIRE(mine.size() == 2);
  CHECK(mine[0]->id() == "a-to-b");
  CHECK(mine[0]->role() == ReplicationRole::kPrimary);
  CHECK(mine[0]->Info().partner_org_id == "org-b");
  CHECK(mine[1]->id() == "c-to-a");
  CHECK(mine[1]->role() == ReplicationRole::kSecondary);
  CHECK(mine[1]->Info().partner_org_id == "org-c");
  CHECK(mine[0]->accepted());
  CHECK(mine[1]->accepted());

  // Changing one leaves the other alone.
  RequireOk(mine[0]->Deactivate("alice"));
  CHECK(mine[1]->status() == S::kMetadataSyncInProgress);
  ab.SetOnline(InProcessTransportPair::Side::kB, false);
  CHECK(mine[1]->partner_available());

  // Reopening A restores both.
  const ConnectionInfo first = mine[0]->Info();
  const ConnectionInfo second = mine[1]->Info();
  a.reset();
  storage_a->SimulateCrash();
  a = open("org-a", storage_a.get());
  const std::vector<Connection*> reopened = a->Connections();
  REQUIRE(reopened.size() == 2);
  CHECK(reopened[0]->Info() == first);
  CHECK(reopened[1]->Info() == second);
  b.reset();
  c.reset();
}

// ---------------------------------------------------------------------------
// Persistence

struct ConnectionSnapshot {
  ConnectionInfo info;
  std::vector<HistoryEntry> history;
  // Queued notices: sequence, action, payload.
  std::vector<std::tuple<uint64_t, QueueAction, std::string>> notices;
  bool operator==(const ConnectionSnapshot&) const = default;
};

std::vector<ConnectionSnapshot> SnapshotOf(const Org& org) {
  std::vector<ConnectionSnapshot> out;
  for (const Connection* c : org.Connections()) {
    ConnectionSnapshot snapshot{c->Info(), HistoryOf(c), {}};
    for (const QueueEntry& entry : QueuedNotices(c)) {
      snapshot.notices.emplace_back(entry.sequence, entry.action,
                                    entry.payload);
    }
    out.push_back(std::move(snapshot));
  }
  return out;
}

TEST_CASE(
    "R4, R5, R8: reopening restores identical connections, history and "
    "queued notices",
    "[connection]") {
  for (const auto& factory : testing::ReopenableStorageFactories()) {
    TwoOrgs t(21, factory(), factory());
    INFO("storage " << t.primary_storage->name());
    auto [p, s] = t.Connect();
    const std::string id = p->id();
    t.clock.Advance(absl::Seconds(30));
    RequireOk(p->RecordMetadataSyncFailure("ApexClass:Foo", "compile error"));
    RequireOk(p->CompleteMetadataSync("engine"));
    RequireOk(p->CompleteUserSync("engine"));
    RequireOk(s->CompleteMetadataSync("engine"));
    RequireOk(p->Suspend("alice"));
    RequireOk(p->UpdateOwner("carol@a", "alice"));
    // A second connection still waiting, and a deactivated one.
    auto pending =
        t.primary->CreateInvitation(DefaultInvitation("pending"), "alice");
    RequireOk(pending.status());
    auto gone = t.primary->CreateInvitation(DefaultInvitation("gone"), "alice");
    RequireOk(gone.status());
    RequireOk((*t.primary->GetConnection("gone"))->Deactivate("alice"));

    const std::vector<ConnectionSnapshot> primary_before =
        SnapshotOf(*t.primary);
    const std::vector<ConnectionSnapshot> secondary_before =
        SnapshotOf(*t.secondary);
    REQUIRE(primary_before.size() == 3);
    t.Reopen(id);
    CHECK(SnapshotOf(*t.primary) == primary_before);
    CHECK(SnapshotOf(*t.secondary) == secondary_before);

    // And the reopened connections keep working.
    p = *t.primary->GetConnection(id);
    s = *t.secondary->GetConnection(id);
    RequireOk(p->Resume("alice"));
    CHECK(p->status() == S::kActive);
    CHECK(QueuedNotices(p).size() == primary_before[0].notices.size() + 1);
    RequireOk(s->CompleteUserSync("engine"));
    CHECK(s->status() == S::kActive);
    // The reopened primary still checks the secret of the pending invitation.
    Connection* waiting = *t.primary->GetConnection("pending");
    RequireOk(waiting->AttachTransport(t.pair.a()));
    auto accepted = t.secondary->AcceptInvitation(
        "pending", pending->secret_hex, t.pair.b(), "bob");
    RequireOk(accepted.status());
    REQUIRE(t.pair.RunUntilIdle());
    CHECK(waiting->accepted());
  }
}

TEST_CASE("R1: a secondary's pending acceptance survives a restart",
          "[connection]") {
  for (const auto& factory : testing::ReopenableStorageFactories()) {
    TwoOrgs t(2, factory(), factory());
    INFO("storage " << t.primary_storage->name());
    const Invitation invitation = t.Invite();
    t.pair.SetOnline(Side::kA, false);
    RequireOk(t.secondary
                  ->AcceptInvitation(invitation.connection_id,
                                     invitation.secret_hex, t.pair.b(), "bob")
                  .status());
    t.Reopen(invitation.connection_id);
    t.pair.SetOnline(Side::kA, true);
    Connection* s = *t.secondary->GetConnection(invitation.connection_id);
    CHECK(s->status() == S::kInvited);
    RequireOk(s->SendAcceptance());
    REQUIRE(t.pair.RunUntilIdle());
    CHECK(s->accepted());
  }
}

TEST_CASE("R1: envelope message ids are never reused across restarts",
          "[connection]") {
  TwoOrgs t;
  const Invitation invitation = t.Invite();
  t.pair.SetPartitioned(true);  // let nothing through; only watch ids
  RecordingTransport recorder(t.pair.b());
  auto accepted = t.secondary->AcceptInvitation(
      invitation.connection_id, invitation.secret_hex, &recorder, "bob");
  RequireOk(accepted.status());
  RequireOk((*accepted)->SendAcceptance());
  RequireOk((*accepted)->AttachTransport(nullptr));
  t.Reopen(invitation.connection_id);
  Connection* s = *t.secondary->GetConnection(invitation.connection_id);
  RequireOk(s->AttachTransport(&recorder));
  RequireOk(s->SendAcceptance());
  RequireOk(s->AttachTransport(nullptr));
  REQUIRE(recorder.sent.size() == 3);
  CHECK(recorder.sent[0].message_id() < recorder.sent[1].message_id());
  CHECK(recorder.sent[1].message_id() < recorder.sent[2].message_id());
  for (const proto::Envelope& e : recorder.sent) {
    CHECK(e.connection_id() == invitation.connection_id);
    CHECK(e.sender_org_id() == "org-b");
    CHECK(e.protocol_version() == 1);
  }
}

TEST_CASE(
    "R8: an org's storage is its own, bad org ids and damaged state are "
    "refused",
    "[connection]") {
  auto storage = NewMemoryStorage();
  ManualClock clock;
  {
    auto org = Org::Open({.org_id = "org-a"}, storage.get(), &clock);
    RequireOk(org.status());
    RequireOk(
        (*org)->CreateInvitation(DefaultInvitation("c1"), "alice").status());
  }
  CHECK(Org::Open({.org_id = "org-b"}, storage.get(), &clock).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(
      Org::Open({.org_id = "bad id"}, storage.get(), &clock).status().code() ==
      absl::StatusCode::kInvalidArgument);
  CHECK(Org::Open({.org_id = "org-a"}, nullptr, &clock).status().code() ==
        absl::StatusCode::kInvalidArgument);
  RequireOk(storage->Put("c/c1/state", "\xff\xff garbage", {.sync = true}));
  CHECK(Org::Open({.org_id = "org-a"}, storage.get(), &clock).status().code() ==
        absl::StatusCode::kDataLoss);
  RequireOk(storage->Delete("c/c1/state", {.sync = true}));
  CHECK(Org::Open({.org_id = "org-a"}, storage.get(), &clock).status().code() ==
        absl::StatusCode::kDataLoss);
}

// ---------------------------------------------------------------------------
// Failed writes change nothing (design rule 7)

TEST_CASE("R5, R8: a failed write changes nothing, in memory or on disk",
          "[connection]") {
  auto memory = NewMemoryStorage();
  FlakyStorage flaky(memory.get());
  ManualClock clock;
  InProcessTransportPair pair(1);
  auto primary = Org::Open({.org_id = "org-a"}, &flaky, &clock);
  RequireOk(primary.status());
  auto secondary_storage = NewMemoryStorage();
  auto secondary =
      Org::Open({.org_id = "org-b"}, secondary_storage.get(), &clock);
  RequireOk(secondary.status());

  InvitationOptions options = DefaultInvitation();
  options.sync = {};
  flaky.fail = true;
  CHECK((*primary)->CreateInvitation(options, "alice").status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK((*primary)->Connections().empty());
  flaky.fail = false;
  auto invitation = (*primary)->CreateInvitation(options, "alice");
  RequireOk(invitation.status());
  Connection* p = *(*primary)->GetConnection("conn-1");
  RequireOk(p->AttachTransport(pair.a()));

  // The acceptance arrives while the primary cannot write: not accepted,
  // no answer, and a retry later succeeds.
  flaky.fail = true;
  auto accepted =
      (*secondary)
          ->AcceptInvitation("conn-1", invitation->secret_hex, pair.b(), "bob");
  RequireOk(accepted.status());
  REQUIRE(pair.RunUntilIdle());
  CHECK(p->status() == S::kInvited);
  CHECK_FALSE((*accepted)->accepted());
  flaky.fail = false;
  RequireOk((*accepted)->SendAcceptance());
  REQUIRE(pair.RunUntilIdle());
  REQUIRE(p->status() == S::kActive);

  const size_t keys = memory->KeyCount();
  const ConnectionInfo info = p->Info();
  const std::vector<HistoryEntry> history = HistoryOf(p);
  flaky.fail = true;
  CHECK(p->Suspend("alice").code() == absl::StatusCode::kUnavailable);
  CHECK(p->UpdateOwner("carol", "alice").code() ==
        absl::StatusCode::kUnavailable);
  CHECK(p->Deactivate("alice").code() == absl::StatusCode::kUnavailable);
  CHECK(p->Info() == info);
  CHECK(p->record_queue()->Count() == 0);
  CHECK(HistoryOf(p) == history);
  CHECK(memory->KeyCount() == keys);
  flaky.fail = false;
  RequireOk(p->Suspend("alice"));
  CHECK(p->status() == S::kSuspended);
  primary->reset();
  secondary->reset();
}

}  // namespace
}  // namespace orgsync::connection_test
