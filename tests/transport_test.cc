// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The in-process transport pair: delivery, each injected fault, availability
// notifications, and seeded determinism (DESIGN.md design rules 1 and 3).

#include "orgsync/transport.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace orgsync::transport_test {
namespace {

using Side = InProcessTransportPair::Side;

// Records what arrives; optionally answers each message.
class Recorder final : public TransportHandler {
 public:
  explicit Recorder(std::string name) : name_(std::move(name)) {}

  void OnMessage(std::string bytes) override {
    messages.push_back(bytes);
    if (log != nullptr) log->push_back(name_ + "<-" + bytes);
    if (answer_on != nullptr && bytes.rfind("ping", 0) == 0) {
      answer_status = answer_on->Send("pong" + bytes.substr(4));
    }
  }
  void OnAvailabilityChanged(bool available) override {
    availability.push_back(available);
  }

  std::vector<std::string> messages;
  std::vector<bool> availability;
  std::vector<std::string>* log = nullptr;
  Transport* answer_on = nullptr;
  absl::Status answer_status;

 private:
  std::string name_;
};

void CheckBalanced(const InProcessTransportPair& pair) {
  const TransportCounters c = pair.counters();
  CHECK(c.sent + c.duplicated == c.delivered + c.dropped + pair.InFlight());
}

TEST_CASE(
    "Rule 1: without faults messages arrive once, in order, only when pumped",
    "[transport]") {
  InProcessTransportPair pair(7);
  Recorder a("a"), b("b");
  pair.a()->SetHandler(&a);
  pair.b()->SetHandler(&b);
  CHECK(pair.a()->PartnerAvailable());
  CHECK(pair.b()->PartnerAvailable());

  for (int i = 0; i < 5; ++i) {
    REQUIRE(pair.a()->Send("m" + std::to_string(i)).ok());
  }
  REQUIRE(pair.b()->Send("back").ok());
  // Nothing moves by itself.
  CHECK(b.messages.empty());
  CHECK(pair.InFlight() == 6);

  CHECK(pair.DeliverNext());
  CHECK(b.messages == std::vector<std::string>{"m0"});
  CHECK(pair.Step() == 5);
  CHECK(b.messages == std::vector<std::string>{"m0", "m1", "m2", "m3", "m4"});
  CHECK(a.messages == std::vector<std::string>{"back"});
  CHECK_FALSE(pair.DeliverNext());

  const TransportCounters c = pair.counters();
  CHECK(c.sent == 6);
  CHECK(c.delivered == 6);
  CHECK(c.dropped == 0);
  CHECK(c.duplicated == 0);
  CHECK(c.reordered == 0);
  CheckBalanced(pair);
  pair.a()->SetHandler(nullptr);
  pair.b()->SetHandler(nullptr);
}

TEST_CASE("Rule 1: a handler may answer, answers wait for the next step",
          "[transport]") {
  InProcessTransportPair pair(1);
  Recorder a("a"), b("b");
  b.answer_on = pair.b();
  pair.a()->SetHandler(&a);
  pair.b()->SetHandler(&b);

  REQUIRE(pair.a()->Send("ping1").ok());
  CHECK(pair.Step() == 1);  // the ping only
  REQUIRE(b.answer_status.ok());
  CHECK(a.messages.empty());
  CHECK(pair.InFlight() == 1);
  CHECK(pair.current_step() == 1);
  CHECK(pair.Step() == 1);  // the pong
  CHECK(a.messages == std::vector<std::string>{"pong1"});
  CHECK(pair.RunUntilIdle());
  pair.a()->SetHandler(nullptr);
  pair.b()->SetHandler(nullptr);
}

TEST_CASE("Rule 3: the drop fault loses messages silently", "[transport]") {
  InProcessTransportPair pair(11);
  Recorder b("b");
  pair.b()->SetHandler(&b);

  REQUIRE(pair.SetFaults({.drop_probability = 1.0}).ok());
  for (int i = 0; i < 10; ++i) REQUIRE(pair.a()->Send("x").ok());
  CHECK(pair.InFlight() == 0);
  CHECK(pair.counters().dropped == 10);

  REQUIRE(pair.SetFaults({.drop_probability = 0.5}).ok());
  for (int i = 0; i < 400; ++i) REQUIRE(pair.a()->Send("y").ok());
  REQUIRE(pair.RunUntilIdle());
  const TransportCounters c = pair.counters();
  // With seed 11 about half go; both outcomes must occur.
  CHECK(c.delivered > 100);
  CHECK(c.delivered < 300);
  CHECK(c.delivered + c.dropped == 410);
  CHECK(b.messages.size() == c.delivered);
  CheckBalanced(pair);
  pair.b()->SetHandler(nullptr);
}

TEST_CASE("Rule 3: the duplicate fault delivers copies", "[transport]") {
  InProcessTransportPair pair(3);
  Recorder b("b");
  pair.b()->SetHandler(&b);
  REQUIRE(pair.SetFaults({.duplicate_probability = 1.0}).ok());
  REQUIRE(pair.a()->Send("one").ok());
  REQUIRE(pair.a()->Send("two").ok());
  REQUIRE(pair.RunUntilIdle());
  CHECK(b.messages == std::vector<std::string>{"one", "one", "two", "two"});
  CHECK(pair.counters().duplicated == 2);
  CHECK(pair.counters().sent == 2);
  CheckBalanced(pair);
  pair.b()->SetHandler(nullptr);
}

TEST_CASE("Rule 3: the reorder fault delivers out of order, each exactly once",
          "[transport]") {
  InProcessTransportPair pair(5);
  Recorder b("b");
  pair.b()->SetHandler(&b);
  REQUIRE(pair.SetFaults({.reorder_probability = 1.0}).ok());
  std::vector<std::string> sent;
  for (int i = 0; i < 20; ++i) {
    sent.push_back(std::to_string(i));
    REQUIRE(pair.a()->Send(sent.back()).ok());
  }
  REQUIRE(pair.RunUntilIdle());
  CHECK(b.messages != sent);
  std::vector<std::string> sorted = b.messages;
  std::sort(sorted.begin(), sorted.end(),
            [](const std::string& x, const std::string& y) {
              return std::stoi(x) < std::stoi(y);
            });
  CHECK(sorted == sent);
  CHECK(pair.counters().reordered > 0);
  CheckBalanced(pair);
  pair.b()->SetHandler(nullptr);
}

TEST_CASE("Rule 3: the delay fault holds messages for steps", "[transport]") {
  InProcessTransportPair pair(9);
  Recorder b("b");
  pair.b()->SetHandler(&b);
  REQUIRE(pair.SetFaults({.max_delay_steps = 4}).ok());
  for (int i = 0; i < 50; ++i) REQUIRE(pair.a()->Send("d").ok());
  std::vector<size_t> per_step;
  while (pair.InFlight() > 0) per_step.push_back(pair.Step());
  // Delays are within [0, 4] steps: done after step 4, and spread out.
  CHECK(per_step.size() == 5);
  size_t total = 0;
  int steps_with_delivery = 0;
  for (size_t n : per_step) {
    total += n;
    if (n > 0) ++steps_with_delivery;
  }
  CHECK(total == 50);
  CHECK(steps_with_delivery >= 3);
  CHECK(per_step[0] < 50);
  pair.b()->SetHandler(nullptr);
}

TEST_CASE("Rule 3: a partition silently loses both directions, then heals",
          "[transport]") {
  InProcessTransportPair pair(2);
  Recorder a("a"), b("b");
  pair.a()->SetHandler(&a);
  pair.b()->SetHandler(&b);

  REQUIRE(pair.a()->Send("in-flight").ok());
  pair.SetPartitioned(true);
  CHECK(pair.partitioned());
  // The sender is not told: OK, and the partner still looks available.
  CHECK(pair.a()->Send("lost-a").ok());
  CHECK(pair.b()->Send("lost-b").ok());
  CHECK(pair.a()->PartnerAvailable());
  REQUIRE(pair.RunUntilIdle());
  CHECK(a.messages.empty());
  CHECK(b.messages.empty());
  CHECK(pair.counters().dropped == 3);
  CHECK(a.availability.empty());

  pair.SetPartitioned(false);
  REQUIRE(pair.b()->Send("after").ok());
  REQUIRE(pair.RunUntilIdle());
  CHECK(a.messages == std::vector<std::string>{"after"});
  CheckBalanced(pair);
  pair.a()->SetHandler(nullptr);
  pair.b()->SetHandler(nullptr);
}

TEST_CASE("R6: an org going offline is reported to both sides and back",
          "[transport]") {
  InProcessTransportPair pair(4);
  Recorder a("a"), b("b");
  pair.a()->SetHandler(&a);
  pair.b()->SetHandler(&b);

  REQUIRE(pair.a()->Send("in-flight").ok());
  pair.SetOnline(Side::kB, false);
  CHECK_FALSE(pair.online(Side::kB));
  CHECK(a.availability == std::vector<bool>{false});
  CHECK(b.availability == std::vector<bool>{false});
  CHECK_FALSE(pair.a()->PartnerAvailable());
  CHECK_FALSE(pair.b()->PartnerAvailable());
  CHECK(absl::IsUnavailable(pair.a()->Send("refused")));
  CHECK(absl::IsUnavailable(pair.b()->Send("refused")));
  CHECK(pair.counters().refused == 2);
  REQUIRE(pair.RunUntilIdle());
  CHECK(b.messages.empty());  // the in-flight copy was lost
  CHECK(pair.counters().dropped == 1);

  // A second org going down changes nothing visible; the link is back only
  // when both are up.
  pair.SetOnline(Side::kA, false);
  pair.SetOnline(Side::kB, true);
  CHECK(a.availability == std::vector<bool>{false});
  pair.SetOnline(Side::kA, true);
  CHECK(a.availability == std::vector<bool>{false, true});
  CHECK(b.availability == std::vector<bool>{false, true});
  CHECK(pair.a()->PartnerAvailable());
  REQUIRE(pair.a()->Send("again").ok());
  REQUIRE(pair.RunUntilIdle());
  CHECK(b.messages == std::vector<std::string>{"again"});
  CheckBalanced(pair);
  pair.a()->SetHandler(nullptr);
  pair.b()->SetHandler(nullptr);
}

TEST_CASE("Rule 3: without a handler a message is lost, SetHandler detaches",
          "[transport]") {
  InProcessTransportPair pair(6);
  Recorder b("b");
  REQUIRE(pair.a()->Send("nobody").ok());
  REQUIRE(pair.RunUntilIdle());
  CHECK(pair.counters().dropped == 1);
  pair.b()->SetHandler(&b);
  REQUIRE(pair.a()->Send("somebody").ok());
  pair.b()->SetHandler(nullptr);
  REQUIRE(pair.RunUntilIdle());
  CHECK(b.messages.empty());
  CHECK(pair.counters().dropped == 2);
}

TEST_CASE("Rule 1: invalid faults are refused and change nothing",
          "[transport]") {
  InProcessTransportPair pair(8);
  REQUIRE(pair.SetFaults({.drop_probability = 0.25}).ok());
  CHECK(pair.SetFaults({.drop_probability = 1.5}).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(pair.SetFaults({.duplicate_probability = -0.1}).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(pair.SetFaults({.reorder_probability = std::nan("")}).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(pair.faults().drop_probability == 0.25);
  CHECK(pair.faults().duplicate_probability == 0.0);
}

// Runs a fixed exchange under every fault at once and returns what each
// side received, in order, interleaved.
std::vector<std::string> RunScenario(uint64_t seed) {
  InProcessTransportPair pair(seed);
  std::vector<std::string> log;
  Recorder a("a"), b("b");
  a.log = &log;
  b.log = &log;
  b.answer_on = pair.b();
  pair.a()->SetHandler(&a);
  pair.b()->SetHandler(&b);
  REQUIRE(pair.SetFaults({.drop_probability = 0.1,
                          .duplicate_probability = 0.2,
                          .reorder_probability = 0.3,
                          .max_delay_steps = 3})
              .ok());
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 5; ++i) {
      REQUIRE(pair.a()->Send("ping" + std::to_string(round * 5 + i)).ok());
    }
    if (round == 7) pair.SetPartitioned(true);
    if (round == 9) pair.SetPartitioned(false);
    pair.Step();
    pair.DeliverNext();
  }
  REQUIRE(pair.RunUntilIdle());
  CheckBalanced(pair);
  const TransportCounters c = pair.counters();
  log.push_back("delivered=" + std::to_string(c.delivered) +
                " dropped=" + std::to_string(c.dropped) +
                " duplicated=" + std::to_string(c.duplicated) +
                " reordered=" + std::to_string(c.reordered));
  pair.a()->SetHandler(nullptr);
  pair.b()->SetHandler(nullptr);
  return log;
}

TEST_CASE("Rule 1: the same seed replays the same deliveries", "[transport]") {
  for (uint64_t seed : {1u, 42u, 1234567u}) {
    INFO("seed " << seed);
    const std::vector<std::string> first = RunScenario(seed);
    const std::vector<std::string> second = RunScenario(seed);
    CHECK(first == second);
    CHECK(first.size() > 50);
  }
  // Another seed takes another path.
  CHECK(RunScenario(1) != RunScenario(2));
}

}  // namespace
}  // namespace orgsync::transport_test

namespace orgsync::transport_test {
namespace {

TEST_CASE(
    "Rule 1: DeliverNextTo delivers only to its side, and the two sides can "
    "be driven by a thread each",
    "[transport][threads]") {
  InProcessTransportPair pair(11);
  Recorder a("a"), b("b");
  pair.a()->SetHandler(&a);
  pair.b()->SetHandler(&b);
  REQUIRE(pair.a()->Send("to-b").ok());
  REQUIRE(pair.b()->Send("to-a").ok());
  CHECK(pair.DeliverNextTo(Side::kB));
  CHECK(b.messages == std::vector<std::string>{"to-b"});
  CHECK(a.messages.empty());
  CHECK_FALSE(pair.DeliverNextTo(Side::kB));
  CHECK(pair.DeliverNextTo(Side::kA));
  CHECK(a.messages == std::vector<std::string>{"to-a"});

  // Ping-pong between two threads: b answers every ping on a's link; each
  // thread delivers only to its own side.
  a.messages.clear();
  b.messages.clear();
  b.answer_on = pair.b();
  constexpr int kPings = 200;
  for (int i = 0; i < kPings; ++i) {
    REQUIRE(pair.a()->Send("ping" + std::to_string(i)).ok());
  }
  std::atomic<bool> done{false};
  std::thread to_b([&] {
    while (!done.load()) pair.DeliverNextTo(Side::kB);
  });
  std::thread to_a([&] {
    while (!done.load()) {
      pair.DeliverNextTo(Side::kA);
      if (a.messages.size() == kPings) done.store(true);
    }
  });
  to_a.join();
  to_b.join();
  CHECK(b.messages.size() == kPings);
  CHECK(a.messages.size() == kPings);
  CHECK(b.answer_status.ok());
  CHECK(pair.InFlight() == 0);
  CheckBalanced(pair);
}

}  // namespace
}  // namespace orgsync::transport_test
