// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// HandlerSlot (orgsync/transport.h): the handler side of the Transport
// contract that every transport shares.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "orgsync/transport.h"

namespace orgsync::handler_slot_test {
namespace {

class CountingHandler final : public TransportHandler {
 public:
  void OnMessage(std::string bytes) override {
    if (++inside > 1) overlapped = true;
    if (bytes == "block") release_future.wait();
    last = std::move(bytes);
    ++messages;
    --inside;
  }
  void OnAvailabilityChanged(bool available) override {
    if (++inside > 1) overlapped = true;
    availability = available;
    ++changes;
    --inside;
  }

  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  std::atomic<int> messages{0};
  std::atomic<int> changes{0};
  std::atomic<bool> availability{false};
  std::string last;
  std::promise<void> release;
  std::shared_future<void> release_future = release.get_future().share();
};

TEST_CASE("A HandlerSlot calls the installed handler, and nothing without one",
          "[transport]") {
  HandlerSlot slot;
  CountingHandler handler;
  CHECK_FALSE(slot.Deliver("lost"));
  CHECK_FALSE(slot.NotifyAvailability(true));
  slot.Set(&handler);
  CHECK(slot.Deliver("hello"));
  CHECK(slot.NotifyAvailability(true));
  CHECK(handler.last == "hello");
  CHECK(handler.availability);
  slot.Set(nullptr);
  CHECK_FALSE(slot.Deliver("after"));
  CHECK(handler.messages == 1);
  CHECK(handler.changes == 1);
}

TEST_CASE(
    "A HandlerSlot's Set waits for a call in progress, and calls never "
    "overlap",
    "[transport][threads]") {
  HandlerSlot slot;
  CountingHandler handler;
  slot.Set(&handler);

  // A call in progress on another thread holds Set back until it ends.
  std::future<bool> blocked =
      std::async(std::launch::async, [&] { return slot.Deliver("block"); });
  while (handler.inside.load() == 0) std::this_thread::yield();
  std::future<void> detach =
      std::async(std::launch::async, [&] { slot.Set(nullptr); });
  const bool waited = detach.wait_for(std::chrono::milliseconds(200)) ==
                      std::future_status::timeout;
  handler.release.set_value();
  CHECK(blocked.get());
  detach.get();
  CHECK(waited);
  CHECK_FALSE(slot.Deliver("after detach"));

  // Four threads at once: one call at a time reaches the handler.
  slot.Set(&handler);
  std::vector<std::future<void>> senders;
  for (int t = 0; t < 4; ++t) {
    senders.push_back(std::async(std::launch::async, [&slot, t] {
      for (int i = 0; i < 500; ++i) {
        if (i % 2 == 0) {
          (void)slot.Deliver("m");
        } else {
          (void)slot.NotifyAvailability(t % 2 == 0);
        }
      }
    }));
  }
  for (std::future<void>& sender : senders) sender.get();
  CHECK_FALSE(handler.overlapped.load());
  CHECK(handler.messages == 1 + 4 * 250);
  CHECK(handler.changes == 4 * 250);
}

}  // namespace
}  // namespace orgsync::handler_slot_test
