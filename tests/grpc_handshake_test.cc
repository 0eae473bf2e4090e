// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The listening GrpcTransport against peers that do not play by the rules,
// spoken to with a raw OrgLink stub (so this file, unlike
// grpc_transport_test.cc, uses the transport's private headers): a wrong
// dialer proof, a message before the handshake, streams that never say
// anything (cut after handshake_timeout), and more of them than
// max_unauthenticated_streams (refused at once). Each is counted and none
// reaches the handler. Plain text: TLS is not what is tested here.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "orgsync/grpc_transport.h"
#include "orgsync/transport.h"
#include "proto/grpc/org_link.grpc.pb.h"
#include "transport/grpc/handshake.h"

namespace orgsync::grpc_handshake_test {
namespace {

using orglink::Frame;
using Stream = grpc::ClientReaderWriter<Frame, Frame>;

constexpr char kConnectionId[] = "handshake-test";
constexpr char kSecretHex[] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

class CountingHandler : public TransportHandler {
 public:
  void OnMessage(std::string bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    messages_.push_back(std::move(bytes));
  }
  void OnAvailabilityChanged(bool) override { ++availability_changes_; }
  std::vector<std::string> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }
  std::atomic<int> availability_changes_{0};

 private:
  std::mutex mu_;
  std::vector<std::string> messages_;
};

bool WaitFor(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!done()) {
    if (absl::Now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A plain-text listener and a raw stub that reaches it.
struct Rig {
  std::vector<std::string> reasons;
  std::mutex reasons_mu;
  CountingHandler handler;
  std::unique_ptr<GrpcTransport> listener;
  std::unique_ptr<orglink::OrgLink::Stub> stub;

  explicit Rig(int max_unauthenticated_streams = 8,
               absl::Duration handshake_timeout = absl::Seconds(5)) {
    GrpcTransportOptions options;
    options.address = "127.0.0.1:0";
    options.connection_id = kConnectionId;
    options.secret_hex = kSecretHex;
    options.tls.insecure = true;
    options.max_unauthenticated_streams = max_unauthenticated_streams;
    options.handshake_timeout = handshake_timeout;
    options.on_auth_failure = [this](const absl::Status& status) {
      std::lock_guard<std::mutex> lock(reasons_mu);
      reasons.push_back(status.ToString());
    };
    absl::StatusOr<std::unique_ptr<GrpcTransport>> listening =
        GrpcTransport::Listen(options);
    REQUIRE(listening.ok());
    listener = *std::move(listening);
    listener->SetHandler(&handler);
    stub = orglink::OrgLink::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", listener->port()),
                            grpc::InsecureChannelCredentials()));
  }
  ~Rig() { listener->SetHandler(nullptr); }

  std::vector<std::string> Reasons() {
    std::lock_guard<std::mutex> lock(reasons_mu);
    return reasons;
  }
};

Frame Hello(const std::string& nonce) {
  Frame frame;
  frame.mutable_hello()->set_connection_id(kConnectionId);
  frame.mutable_hello()->set_nonce(nonce);
  return frame;
}

std::string Secret() {
  std::string secret;
  for (size_t i = 0; i < 64; i += 2) {
    secret.push_back(static_cast<char>(
        std::stoi(std::string(kSecretHex + i, 2), nullptr, 16)));
  }
  return secret;
}

}  // namespace

TEST_CASE(
    "R1: the gRPC listener refuses a wrong dialer proof and accepts "
    "the right one",
    "[grpc]") {
  Rig rig;
  const std::string nonce(grpc_internal::kNonceBytes, 'n');
  {
    grpc::ClientContext context;
    std::unique_ptr<Stream> stream = rig.stub->Stream(&context);
    REQUIRE(stream->Write(Hello(nonce)));
    Frame challenge;
    REQUIRE(stream->Read(&challenge));
    REQUIRE(challenge.has_challenge());
    Frame proof;
    proof.mutable_proof()->set_proof(std::string(32, '\0'));
    REQUIRE(stream->Write(proof));
    Frame ignored;
    CHECK_FALSE(stream->Read(&ignored));
    const grpc::Status status = stream->Finish();
    CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(status.error_message() ==
          "the dialer's proof is wrong: it does not hold the connection's "
          "secret");
  }
  CHECK(rig.listener->stats().auth_failures == 1);
  REQUIRE(rig.Reasons().size() == 1);
  CHECK(absl::StrContains(rig.Reasons()[0], "the dialer's proof is wrong"));

  // The proof made with the secret passes, and then messages flow.
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = rig.stub->Stream(&context);
  REQUIRE(stream->Write(Hello(nonce)));
  Frame challenge;
  REQUIRE(stream->Read(&challenge));
  REQUIRE(challenge.has_challenge());
  // The listener proved itself, over this stream's nonces.
  CHECK(grpc_internal::ProofMatches(challenge.challenge().proof(), Secret(),
                                    grpc_internal::ProofRole::kListener,
                                    kConnectionId, nonce,
                                    challenge.challenge().nonce()));
  Frame proof;
  proof.mutable_proof()->set_proof(grpc_internal::HandshakeProof(
      Secret(), grpc_internal::ProofRole::kDialer, kConnectionId, nonce,
      challenge.challenge().nonce()));
  REQUIRE(stream->Write(proof));
  Frame ready;
  REQUIRE(stream->Read(&ready));
  CHECK(ready.has_ready());
  Frame message;
  message.set_message("engine bytes");
  REQUIRE(stream->Write(message));
  REQUIRE(WaitFor([&] { return rig.handler.messages().size() == 1; }));
  CHECK(rig.handler.messages()[0] == "engine bytes");
  CHECK(rig.listener->stats().streams_authenticated == 1);
  context.TryCancel();
  stream->Finish();
}

TEST_CASE("R1: a message before the handshake is refused, never delivered",
          "[grpc]") {
  Rig rig;
  grpc::ClientContext context;
  std::unique_ptr<Stream> stream = rig.stub->Stream(&context);
  Frame message;
  message.set_message("engine bytes from a stranger");
  REQUIRE(stream->Write(message));
  Frame ignored;
  CHECK_FALSE(stream->Read(&ignored));
  const grpc::Status status = stream->Finish();
  CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(status.error_message() == "the dialer's first frame is not a hello");
  CHECK(rig.listener->stats().auth_failures == 1);
  CHECK(rig.handler.messages().empty());
  CHECK(rig.handler.availability_changes_ == 0);
  CHECK_FALSE(rig.listener->PartnerAvailable());
}

TEST_CASE(
    "R1: silent streams are cut after handshake_timeout, and those "
    "over max_unauthenticated_streams are refused at once",
    "[grpc]") {
  Rig rig(/*max_unauthenticated_streams=*/2,
          /*handshake_timeout=*/absl::Milliseconds(600));
  // Two streams that never say hello hold both handshake places.
  grpc::ClientContext first_context;
  grpc::ClientContext second_context;
  std::unique_ptr<Stream> first = rig.stub->Stream(&first_context);
  std::unique_ptr<Stream> second = rig.stub->Stream(&second_context);
  // Their headers reach the listener before the third stream's.
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  grpc::ClientContext third_context;
  std::unique_ptr<Stream> third = rig.stub->Stream(&third_context);
  Frame ignored;
  CHECK_FALSE(third->Read(&ignored));
  const grpc::Status refused = third->Finish();
  CHECK(refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(rig.listener->stats().streams_refused_busy == 1);
  // A refusal for lack of room is not an authentication failure.
  CHECK(rig.listener->stats().auth_failures == 0);

  // The silent ones are ended by the listener, counted and reported.
  CHECK_FALSE(first->Read(&ignored));
  CHECK_FALSE(second->Read(&ignored));
  // (Cut, not answered: the listener cancels the call.)
  CHECK(first->Finish().error_code() == grpc::StatusCode::CANCELLED);
  CHECK(second->Finish().error_code() == grpc::StatusCode::CANCELLED);
  REQUIRE(WaitFor([&] { return rig.listener->stats().auth_failures == 2; }));
  for (const std::string& reason : rig.Reasons()) {
    CHECK(absl::StartsWith(reason, "DEADLINE_EXCEEDED: refused a stream"));
    CHECK(absl::StrContains(reason, "within handshake_timeout"));
  }
  CHECK(rig.handler.messages().empty());
}

}  // namespace orgsync::grpc_handshake_test
