// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// GrpcTransport (orgsync/grpc_transport.h) on loopback, through the public
// headers only, as a host uses it: two Orgs joined over TLS (mutual), a
// wrong secret refused, the listening side killed and restarted while the
// other keeps capturing, a slow receiver holding the sender to its cap, and
// bad options. Certificates are made for the run with the openssl command
// (a CA, a server certificate for localhost and 127.0.0.1, a client one).

#include "orgsync/grpc_transport.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/publish_set.h"
#include "orgsync/record.h"
#include "orgsync/record_queue.h"
#include "orgsync/record_store.h"
#include "orgsync/runner.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"
#include "orgsync/subscription_map.h"
#include "orgsync/transport.h"
#include "testing/test_certificates.h"

// Not tagged [threads], so the ThreadSanitizer phase of the test command
// leaves these cases out (and builds no gRPC): gRPC, OpenSSL, Abseil and
// Protobuf come from Debian uninstrumented, TSan does not see the locks and
// queues gRPC hands memory over with between its threads, and a run of this
// file under TSan gave some 250 reports per run, all of them on memory
// passed between gRPC's own threads -- through OpenSSL's buffers,
// absl::Status and Cord payloads, Abseil's StrCat, Protobuf's parser.
// Suppressing them would take called_from_lib: entries for libcrypto,
// libabsl_status, libabsl_strings, libabsl_cord and libprotobuf, which
// orgsync's own code uses too, so TSan would stop seeing races there. So
// the transport's threads go without TSan; all their shared state sits
// behind orgsync's internal::Mutex (LinkCore, CancelTimer), with Clang's
// thread-safety annotations.

namespace orgsync::grpc_transport_test {
namespace {

using testing::Certificates;
using testing::TestCertificates;

constexpr char kConnectionId[] = "grpc-test";
constexpr char kSecret[] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
constexpr char kOtherSecret[] =
    "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

// Mutual TLS: the listener requires the dialer's certificate.
GrpcTransportOptions ListenerOptions(std::string secret = kSecret,
                                     int port = 0) {
  const Certificates& certs = TestCertificates();
  GrpcTransportOptions options;
  options.address = absl::StrCat("127.0.0.1:", port);
  options.connection_id = kConnectionId;
  options.secret_hex = std::move(secret);
  options.tls.cert_chain_file = certs.server_cert();
  options.tls.private_key_file = certs.server_key();
  options.tls.root_certs_file = certs.ca();
  options.tls.require_client_certificate = true;
  options.handshake_timeout = absl::Seconds(2);
  return options;
}

GrpcTransportOptions DialerOptions(int port, std::string secret = kSecret) {
  const Certificates& certs = TestCertificates();
  GrpcTransportOptions options;
  options.address = absl::StrCat("127.0.0.1:", port);
  options.connection_id = kConnectionId;
  options.secret_hex = std::move(secret);
  options.tls.cert_chain_file = certs.client_cert();
  options.tls.private_key_file = certs.client_key();
  options.tls.root_certs_file = certs.ca();
  // gRPC does not match IP addresses in certificates: the name checked is
  // the one the certificate carries.
  options.tls.target_name_override = "localhost";
  options.reconnect_initial_backoff = absl::Milliseconds(20);
  options.reconnect_max_backoff = absl::Milliseconds(200);
  options.handshake_timeout = absl::Seconds(2);
  return options;
}

std::unique_ptr<GrpcTransport> MustListen(GrpcTransportOptions options) {
  absl::StatusOr<std::unique_ptr<GrpcTransport>> transport =
      GrpcTransport::Listen(std::move(options));
  INFO(transport.status().ToString());
  REQUIRE(transport.ok());
  REQUIRE((*transport)->port() > 0);
  return *std::move(transport);
}

std::unique_ptr<GrpcTransport> MustDial(GrpcTransportOptions options) {
  absl::StatusOr<std::unique_ptr<GrpcTransport>> transport =
      GrpcTransport::Dial(std::move(options));
  INFO(transport.status().ToString());
  REQUIRE(transport.ok());
  return *std::move(transport);
}

// Polls `done` until it holds or `timeout` passes; returns its last value.
bool WaitFor(const std::function<bool()>& done,
             absl::Duration timeout = absl::Seconds(5)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A handler that records what reaches it, optionally slowly.
class RecordingHandler : public TransportHandler {
 public:
  void OnMessage(std::string bytes) override {
    const int delay_ms = delay_ms_.load();
    if (delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    }
    std::lock_guard<std::mutex> lock(mu_);
    messages_.push_back(std::move(bytes));
  }
  void OnAvailabilityChanged(bool available) override {
    std::lock_guard<std::mutex> lock(mu_);
    availability_.push_back(available);
  }
  std::vector<std::string> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }
  std::vector<bool> availability() {
    std::lock_guard<std::mutex> lock(mu_);
    return availability_;
  }
  void set_delay_ms(int ms) { delay_ms_ = ms; }

 private:
  std::atomic<int> delay_ms_{0};
  std::mutex mu_;
  std::vector<std::string> messages_;
  std::vector<bool> availability_;
};

// --- Two orgs, as a host opens them ----------------------------------------

void FillSchema(Schema* schema) {
  ObjectDef account;
  account.name = "Account";
  account.publishable = true;
  auto field = [](std::string name, FieldType type, uint32_t length = 0) {
    FieldDef def;
    def.name = std::move(name);
    def.type = type;
    def.length = length;
    return def;
  };
  account.fields = {field("Name", FieldType::kText, 80),
                    field("Phone", FieldType::kPhone),
                    field("CreatedBy", FieldType::kUserReference),
                    field("CreatedDate", FieldType::kDateTime),
                    field("LastModifiedBy", FieldType::kUserReference),
                    field("LastModifiedDate", FieldType::kDateTime)};
  REQUIRE(schema->AddObject(std::move(account)).ok());
}

// One org: its Storage and records outlive the Org, as a host's files
// outlive its process, so that Restart() is a process restart.
struct OrgSide {
  std::string org_id;
  Schema schema;
  std::unique_ptr<MemoryStorage> storage = NewMemoryStorage();
  std::unique_ptr<RecordStore> store;
  std::unique_ptr<Org> org;
  std::unique_ptr<Runner> runner;
  Connection* connection = nullptr;

  explicit OrgSide(std::string id) : org_id(std::move(id)) {
    FillSchema(&schema);
    RecordStoreOptions store_options;
    store_options.schema = &schema;
    store_options.clock = Clock::System();
    store_options.id_prefix = org_id + "-";
    store_options.user = "U1";
    absl::StatusOr<std::unique_ptr<RecordStore>> opened =
        NewInMemoryRecordStore(std::move(store_options));
    REQUIRE(opened.ok());
    store = *std::move(opened);
    Open();
  }
  ~OrgSide() { Stop(); }

  void Open() {
    OrgOptions options;
    options.org_id = org_id;
    options.org_name = org_id;
    options.schema = &schema;
    options.record_store = store.get();
    // Real time: an entry whose envelope or answer died with a stream is
    // sent again after this long.
    options.delivery.ack_timeout = absl::Milliseconds(300);
    absl::StatusOr<std::unique_ptr<Org>> opened =
        Org::Open(options, storage.get(), Clock::System());
    INFO(opened.status().ToString());
    REQUIRE(opened.ok());
    org = *std::move(opened);
  }
  void StartRunner() {
    absl::StatusOr<std::unique_ptr<Runner>> started =
        Runner::Start(org.get(), {.idle_interval = absl::Milliseconds(5)});
    REQUIRE(started.ok());
    runner = *std::move(started);
  }
  // The process dies: its runner and Org go (detaching the transport);
  // the Storage and the records stay.
  void Stop() {
    runner.reset();
    connection = nullptr;
    org.reset();
  }

  Record InsertAccount(const std::string& name) {
    Record record;
    record.object = "Account";
    record.fields = {{"Name", name}, {"Phone", std::string("555-0100")}};
    absl::StatusOr<Record> inserted = store->Insert(record, ApplyContext{});
    REQUIRE(inserted.ok());
    LocalChange change;
    change.kind = ChangeKind::kInsert;
    change.record = *inserted;
    absl::StatusOr<CaptureResult> captured = connection->Capture(change);
    INFO(captured.status().ToString());
    REQUIRE(captured.ok());
    REQUIRE(captured->captured);
    if (runner != nullptr) runner->Wake();
    return *inserted;
  }

  std::vector<std::string> AccountNames() {
    std::vector<std::string> names;
    REQUIRE(store
                ->Scan("Account", absl::InfinitePast(),
                       [&names](const Record& record) {
                         names.push_back(
                             std::get<std::string>(record.fields.at("Name")));
                         return true;
                       })
                .ok());
    std::sort(names.begin(), names.end());
    return names;
  }
};

// The primary invites; returns the invitation's secret, which the host
// hands to its transport and, out of band, to the secondary's admin.
std::string Invite(OrgSide& primary) {
  InvitationOptions invitation_options;
  invitation_options.connection_id = kConnectionId;
  invitation_options.owner = "alice@a";
  invitation_options.contact = "bob@b";
  absl::StatusOr<Invitation> invitation =
      primary.org->CreateInvitation(invitation_options, "alice@a");
  REQUIRE(invitation.ok());
  absl::StatusOr<Connection*> connection =
      primary.org->GetConnection(kConnectionId);
  REQUIRE(connection.ok());
  primary.connection = *connection;
  return invitation->secret_hex;
}

// The primary attaches its transport, the secondary accepts over its own;
// then the primary publishes Account and the secondary subscribes to it.
void Join(OrgSide& primary, Transport* primary_transport, OrgSide& secondary,
          Transport* secondary_transport, const std::string& secret_hex) {
  REQUIRE(primary.connection->AttachTransport(primary_transport).ok());
  primary.StartRunner();
  // Accepting while the stream is still being set up would only make the
  // acceptance wait for a resend (SendAcceptance).
  REQUIRE(WaitFor([&] { return secondary_transport->PartnerAvailable(); }));
  absl::StatusOr<Connection*> connection = secondary.org->AcceptInvitation(
      kConnectionId, secret_hex, secondary_transport, "bob@b");
  REQUIRE(connection.ok());
  secondary.connection = *connection;
  secondary.StartRunner();
  REQUIRE(WaitFor([&] {
    return primary.connection->status() == ConnectionStatus::kActive &&
           secondary.connection->status() == ConnectionStatus::kActive;
  }));

  REQUIRE(primary.connection->publish_set()->PublishObject("Account").ok());
  primary.runner->Wake();
  // The secondary subscribes to what its partner published: once the
  // primary's notice arrived.
  absl::Status subscribed;
  REQUIRE(WaitFor([&] {
    subscribed = secondary.connection->subscription_map()->Subscribe("Account");
    return subscribed.ok();
  }));
  INFO(subscribed.ToString());
  secondary.runner->Wake();
  REQUIRE(WaitFor([&] {
    return primary.connection->publish_set()->IsPartnerSubscribed("Account");
  }));
}

// Every name captured on the primary is on the secondary, and the
// primary's queue is empty (everything acknowledged).
bool Converged(OrgSide& primary, OrgSide& secondary,
               const std::vector<std::string>& names) {
  return primary.connection->record_queue()->Count() == 0 &&
         secondary.AccountNames() == names;
}

std::string NameOf(int i) { return absl::StrCat("Account ", 1000 + i); }

}  // namespace

TEST_CASE(
    "R30: records captured on the primary reach the secondary over "
    "gRPC with mutual TLS",
    "[grpc]") {
  // The primary listens, the secondary dials. The transports are declared
  // first so that they outlive the orgs attached to them.
  std::unique_ptr<GrpcTransport> listener;
  std::unique_ptr<GrpcTransport> dialer;
  OrgSide primary("org-a");
  OrgSide secondary("org-b");
  const std::string secret = Invite(primary);
  listener = MustListen(ListenerOptions(secret));
  dialer = MustDial(DialerOptions(listener->port(), secret));
  Join(primary, listener.get(), secondary, dialer.get(), secret);

  std::vector<std::string> names;
  for (int i = 0; i < 50; ++i) {
    names.push_back(NameOf(i));
    primary.InsertAccount(names.back());
  }
  CHECK(WaitFor([&] { return Converged(primary, secondary, names); }));
  CHECK(secondary.AccountNames() == names);
  CHECK(listener->stats().auth_failures == 0);
  CHECK(listener->stats().streams_authenticated == 1);
  CHECK(dialer->stats().messages_sent > 0);
  // Every message written reached the other side (once any resend the
  // engine made in the meantime is through).
  CHECK(WaitFor([&] {
    return listener->stats().messages_received == dialer->stats().messages_sent;
  }));

  primary.Stop();
  secondary.Stop();
}

TEST_CASE(
    "R1: a dialer with the wrong secret is refused before any message, "
    "counted and reported",
    "[grpc]") {
  std::atomic<int> listener_reports{0};
  std::mutex reasons_mu;
  std::vector<std::string> reasons;
  GrpcTransportOptions listen = ListenerOptions();
  listen.on_auth_failure = [&](const absl::Status& status) {
    std::lock_guard<std::mutex> lock(reasons_mu);
    reasons.push_back(status.ToString());
    ++listener_reports;
  };
  std::unique_ptr<GrpcTransport> listener = MustListen(std::move(listen));
  RecordingHandler listener_handler;
  listener->SetHandler(&listener_handler);

  std::atomic<int> dialer_reports{0};
  std::string dialer_reason;
  GrpcTransportOptions dial = DialerOptions(listener->port(), kOtherSecret);
  dial.on_auth_failure = [&](const absl::Status& status) {
    std::lock_guard<std::mutex> lock(reasons_mu);
    dialer_reason = status.ToString();
    ++dialer_reports;
  };
  std::unique_ptr<GrpcTransport> dialer = MustDial(std::move(dial));
  RecordingHandler dialer_handler;
  dialer->SetHandler(&dialer_handler);

  // A few attempts, each refused.
  REQUIRE(WaitFor([&] {
    return listener->stats().auth_failures >= 3 &&
           dialer->stats().auth_failures >= 3;
  }));
  CHECK(listener_reports >= 3);
  CHECK(dialer_reports >= 3);
  {
    std::lock_guard<std::mutex> lock(reasons_mu);
    REQUIRE(!reasons.empty());
    INFO(reasons.front());
    // The dialer checks the listener's proof first, finds it wrong and
    // hangs up: to the listener, the dialer's proof never came.
    CHECK(absl::StartsWith(reasons.front(),
                           "UNAUTHENTICATED: refused a stream from "));
    CHECK(absl::StrContains(reasons.front(),
                            "the stream ended before the dialer's proof"));
  }
  {
    std::lock_guard<std::mutex> lock(reasons_mu);
    CHECK(dialer_reason ==
          "PERMISSION_DENIED: the listener's proof is wrong: it does not hold "
          "the connection's secret");
  }
  CHECK_FALSE(listener->PartnerAvailable());
  CHECK_FALSE(dialer->PartnerAvailable());
  CHECK(listener->stats().streams_authenticated == 0);
  CHECK(dialer->stats().streams_authenticated == 0);
  // Nothing can be sent either way, and nothing arrived.
  CHECK(absl::IsUnavailable(dialer->Send("hello")));
  CHECK(absl::IsUnavailable(listener->Send("hello")));
  CHECK(listener_handler.messages().empty());
  CHECK(dialer_handler.messages().empty());
  CHECK(listener_handler.availability().empty());
  CHECK(dialer_handler.availability().empty());

  // A dialer for another connection id is refused too, even with the
  // right secret.
  GrpcTransportOptions stranger_options = DialerOptions(listener->port());
  stranger_options.connection_id = "another-connection";
  std::unique_ptr<GrpcTransport> stranger = MustDial(stranger_options);
  const uint64_t failures = listener->stats().auth_failures;
  REQUIRE(
      WaitFor([&] { return listener->stats().auth_failures > failures + 1; }));
  CHECK_FALSE(stranger->PartnerAvailable());

  // The right secret still gets through, and only then do messages flow.
  dialer->SetHandler(nullptr);
  dialer.reset();
  stranger.reset();
  std::unique_ptr<GrpcTransport> friendly =
      MustDial(DialerOptions(listener->port()));
  friendly->SetHandler(&dialer_handler);
  REQUIRE(WaitFor([&] { return friendly->PartnerAvailable(); }));
  REQUIRE(WaitFor([&] { return listener->PartnerAvailable(); }));
  REQUIRE(friendly->Send("first message").ok());
  REQUIRE(WaitFor([&] { return listener_handler.messages().size() == 1; }));
  CHECK(listener_handler.messages().front() == "first message");
  CHECK(listener_handler.availability() == std::vector<bool>{true});
  friendly->SetHandler(nullptr);
  listener->SetHandler(nullptr);
}

TEST_CASE(
    "R6: the listening org is killed and restarted while the other "
    "captures: the link comes back and nothing is lost",
    "[grpc]") {
  // The secondary listens and is the side that dies; the primary dials and
  // keeps capturing throughout.
  std::unique_ptr<GrpcTransport> listener;
  std::unique_ptr<GrpcTransport> dialer;
  OrgSide primary("org-a");
  OrgSide secondary("org-b");
  const std::string secret = Invite(primary);
  listener = MustListen(ListenerOptions(secret));
  const int port = listener->port();
  dialer = MustDial(DialerOptions(port, secret));
  Join(primary, dialer.get(), secondary, listener.get(), secret);

  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) {
    names.push_back(NameOf(i));
    primary.InsertAccount(names.back());
  }
  // Kill the secondary mid-stream: some of these may be in flight.
  secondary.Stop();
  listener.reset();
  for (int i = 10; i < 30; ++i) {
    names.push_back(NameOf(i));
    primary.InsertAccount(names.back());
  }
  // The primary saw its partner go (R6: suspended automatically).
  REQUIRE(WaitFor([&] {
    return primary.connection->status() == ConnectionStatus::kSuspended;
  }));
  CHECK_FALSE(dialer->PartnerAvailable());

  // Restart: same port, same state.
  secondary.Open();
  listener = MustListen(ListenerOptions(secret, port));
  absl::StatusOr<Connection*> connection =
      secondary.org->GetConnection(kConnectionId);
  REQUIRE(connection.ok());
  secondary.connection = *connection;
  REQUIRE(secondary.connection->AttachTransport(listener.get()).ok());
  secondary.StartRunner();
  for (int i = 30; i < 40; ++i) {
    names.push_back(NameOf(i));
    primary.InsertAccount(names.back());
  }
  std::sort(names.begin(), names.end());
  CHECK(WaitFor([&] { return Converged(primary, secondary, names); },
                absl::Seconds(8)));
  CHECK(secondary.AccountNames() == names);
  CHECK(primary.connection->status() == ConnectionStatus::kActive);
  CHECK(dialer->stats().streams_authenticated == 2);
  CHECK(dialer->stats().auth_failures == 0);

  primary.Stop();
  secondary.Stop();
}

TEST_CASE("a slow receiver holds the sender to max_bytes_in_flight", "[grpc]") {
  GrpcTransportOptions listen = ListenerOptions();
  std::unique_ptr<GrpcTransport> listener = MustListen(listen);
  RecordingHandler receiver;
  receiver.set_delay_ms(20);
  listener->SetHandler(&receiver);
  constexpr size_t kCap = 256 * 1024;
  constexpr size_t kMessageBytes = 16 * 1024;
  // What gRPC may hold between the sender's queue and the receiver's
  // handler: HTTP/2's 64 KiB windows (BDP probing is off), a message in
  // each side's hands, and some slack.
  constexpr size_t kGrpcBuffersBytes = 256 * 1024;
  GrpcTransportOptions dial = DialerOptions(listener->port());
  dial.max_bytes_in_flight = kCap;
  std::unique_ptr<GrpcTransport> sender = MustDial(dial);
  REQUIRE(WaitFor([&] { return sender->PartnerAvailable(); }));

  // Send as fast as the sender takes messages, until it is full.
  std::vector<std::string> accepted;
  auto message = [&](size_t i) {
    std::string bytes(kMessageBytes, static_cast<char>('a' + i % 26));
    bytes.replace(0, 8, absl::StrCat(10000000 + i));
    return bytes;
  };
  absl::Status refused;
  while (refused.ok() && accepted.size() < 10000) {
    std::string bytes = message(accepted.size());
    refused = sender->Send(bytes);
    if (refused.ok()) accepted.push_back(std::move(bytes));
    CHECK(sender->stats().queued_bytes <= kCap);
  }
  INFO(refused.ToString());
  REQUIRE(absl::IsResourceExhausted(refused));
  CHECK(sender->stats().send_refused_full >= 1);
  // Refused while full, with nothing taken; never takes what cannot fit.
  const uint64_t queued = sender->stats().queued_bytes;
  CHECK(absl::IsResourceExhausted(sender->Send(std::string(kCap, 'x'))));
  CHECK(sender->stats().queued_bytes <= queued);
  CHECK(absl::IsInvalidArgument(sender->Send(std::string(kCap + 1, 'x'))));

  // Keep offering for a while: the sender takes only as fast as the
  // receiver's handler, so what it took and the receiver has not yet
  // handled -- its queue plus what sits in gRPC's buffers and the HTTP/2
  // windows between them -- stays bounded, however long this lasts.
  const absl::Time end = absl::Now() + absl::Milliseconds(400);
  size_t most_ahead = 0;
  while (absl::Now() < end) {
    std::string bytes = message(accepted.size());
    if (sender->Send(bytes).ok()) {
      accepted.push_back(std::move(bytes));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    CHECK(sender->stats().queued_bytes <= kCap);
    most_ahead =
        std::max(most_ahead, accepted.size() - receiver.messages().size());
  }
  CHECK(most_ahead * kMessageBytes <= kCap + kGrpcBuffersBytes);
  CHECK(sender->stats().peak_queued_bytes <= kCap);

  // Once the receiver keeps up, everything taken arrives, in order, as sent.
  receiver.set_delay_ms(0);
  REQUIRE(
      WaitFor([&] { return receiver.messages().size() == accepted.size(); }));
  CHECK(receiver.messages() == accepted);
  // (The writer counts a message out once gRPC's Write returned, which may
  // come just after the receiver had it.)
  CHECK(WaitFor([&] { return sender->stats().queued_bytes == 0; }));
  CHECK(sender->stats().peak_queued_bytes <= kCap);
  listener->SetHandler(nullptr);
}

TEST_CASE(
    "GrpcTransport options: bad ones are InvalidArgument naming the "
    "field",
    "[grpc]") {
  auto listen_error = [](GrpcTransportOptions options) {
    absl::StatusOr<std::unique_ptr<GrpcTransport>> transport =
        GrpcTransport::Listen(std::move(options));
    REQUIRE_FALSE(transport.ok());
    CHECK(absl::IsInvalidArgument(transport.status()));
    return std::string(transport.status().message());
  };
  auto dial_error = [](GrpcTransportOptions options) {
    absl::StatusOr<std::unique_ptr<GrpcTransport>> transport =
        GrpcTransport::Dial(std::move(options));
    REQUIRE_FALSE(transport.ok());
    CHECK(absl::IsInvalidArgument(transport.status()));
    return std::string(transport.status().message());
  };

  GrpcTransportOptions options = ListenerOptions();
  options.tls.cert_chain_file = "/nonexistent/server.pem";
  CHECK(listen_error(options) ==
        "tls.cert_chain_file: cannot read '/nonexistent/server.pem': No such "
        "file or directory");

  options = ListenerOptions();
  options.tls.root_certs_file = TestCertificates().server_key();
  options.tls.private_key_file = TestCertificates().dir.string() + "/ca.srl";
  CHECK(listen_error(options) == absl::StrCat("tls.private_key_file: '",
                                              TestCertificates().dir.string(),
                                              "/ca.srl' holds no PEM block"));

  options = ListenerOptions();
  options.secret_hex = std::string(64, 'g');
  CHECK(absl::StartsWith(listen_error(options), "secret_hex: "));
  options.secret_hex = "abcd";
  CHECK(listen_error(options) == "secret_hex must be 64 hex digits, not 4");

  options = ListenerOptions();
  options.address = "";
  CHECK(listen_error(options) == "address is empty");
  options = DialerOptions(1234);
  options.address = "";
  CHECK(dial_error(options) == "address is empty");

  options = DialerOptions(1234);
  options.connection_id = "";
  CHECK(dial_error(options) == "connection_id is empty");

  options = DialerOptions(1234);
  options.tls.root_certs_file = "";
  CHECK(dial_error(options) ==
        "tls.root_certs_file is required to dial with TLS (or set "
        "tls.insecure)");

  options = DialerOptions(1234);
  options.tls.insecure = true;
  CHECK(dial_error(options) ==
        "tls.insecure is set together with certificates: choose one");

  options = DialerOptions(1234);
  options.tls.private_key_file = "";
  CHECK(dial_error(options) ==
        "tls.cert_chain_file and tls.private_key_file go together");

  options = DialerOptions(1234);
  options.max_bytes_in_flight = 0;
  CHECK(dial_error(options) == "max_bytes_in_flight must be positive");

  options = DialerOptions(1234);
  options.reconnect_max_backoff = absl::Milliseconds(1);
  CHECK(dial_error(options) ==
        "reconnect_initial_backoff must be positive and at most "
        "reconnect_max_backoff");

  // Plain text when asked for explicitly: accepted.
  GrpcTransportOptions plain;
  plain.address = "127.0.0.1:0";
  plain.connection_id = kConnectionId;
  plain.secret_hex = kSecret;
  plain.tls.insecure = true;
  absl::StatusOr<std::unique_ptr<GrpcTransport>> listener =
      GrpcTransport::Listen(plain);
  REQUIRE(listener.ok());
  CHECK((*listener)->port() > 0);
}

}  // namespace orgsync::grpc_transport_test
