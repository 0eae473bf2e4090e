// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Transport: how the two orgs of a connection reach each other.
//
// A Transport moves opaque byte strings (serialized envelopes; only the
// engine knows their format) to the partner and tells the engine whether the
// partner can be reached. It promises nothing about delivery: a message may
// be lost, delivered twice or overtaken by a later one. The engine is built
// for that (DESIGN.md rules 2 and 3): everything that matters stays in the
// sender's RecordQueue until the partner acknowledged it, and every change
// is applied at most once.
//
// Contract between a Transport and its TransportHandler:
//   * Send() never calls the handler before it returns (it queues, or hands
//     the bytes to a network stack). The engine may therefore call Send()
//     while holding its own locks, and a handler may call Send() from inside
//     OnMessage() to answer.
//   * A Transport calls its handler's methods one at a time, never
//     concurrently, but possibly on a thread that is not the caller's of
//     Send(). It never holds its own locks while calling the handler.
//   * Send() returning OK means "accepted for delivery", not "delivered".
//     Unavailable means the partner cannot be reached now and the bytes were
//     not taken; the caller keeps them and retries later. ResourceExhausted
//     is flow control: the transport's buffers are full (a slow partner)
//     and the bytes were not taken. The engine treats both alike: it stops
//     sending for that Step, the entries stay queued, and a later Step sends
//     them; Step does not fail for either. Any other error is returned by
//     Step (the entries stay queued as well).
//   * OnAvailabilityChanged(available) is called when PartnerAvailable()
//     changes value, with the new value -- only to an installed handler:
//     changes while none is set are not replayed. Whoever installs a handler
//     reads PartnerAvailable() after SetHandler() returns (the engine does,
//     when a transport is attached), so nothing is missed; a change racing
//     the installation may be both read and reported, which is harmless.
//
// HandlerSlot (below) implements the handler side of this contract -- one
// call at a time, no call after SetHandler(nullptr) returned -- so that a
// transport author does not write it again.
//
// Ownership: the Transport does not own its handler; the handler must stay
// alive until SetHandler(nullptr) (or another handler) has returned.
//
// Thread-safety: Send(), PartnerAvailable() and SetHandler() may be called
// from any thread. SetHandler() waits for a handler call in progress on
// another thread to finish, so it must not be called from inside one of this
// transport's own handler callbacks.
//
// The library ships InProcessTransportPair: two endpoints joined in memory,
// driven step by step by the test or host (no threads), with seeded fault
// injection. A gRPC transport implements the same interface.

#ifndef ORGSYNC_TRANSPORT_H_
#define ORGSYNC_TRANSPORT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "orgsync/internal/mutex.h"

namespace orgsync {

// What a Transport calls when something arrives from the partner.
class TransportHandler {
 public:
  virtual ~TransportHandler() = default;

  // One message from the partner, exactly the bytes it passed to Send().
  virtual void OnMessage(std::string bytes) = 0;

  // The partner became reachable (true) or unreachable (false).
  virtual void OnAvailabilityChanged(bool available) = 0;
};

class Transport {
 public:
  Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  virtual ~Transport() = default;

  // Installs the handler that receives messages and availability changes;
  // nullptr detaches. Messages arriving while no handler is set are lost.
  virtual void SetHandler(TransportHandler* handler) = 0;

  // Hands `bytes` over for delivery to the partner. Unavailable when the
  // partner cannot be reached (nothing was taken); other errors are the
  // transport's own (e.g. ResourceExhausted when its buffers are full).
  [[nodiscard]] virtual absl::Status Send(std::string bytes) = 0;

  // Whether the partner is reachable now, as last reported to the handler.
  virtual bool PartnerAvailable() const = 0;
};

// The installed TransportHandler of a Transport, for transport authors:
// SetHandler() of a Transport can be `slot_.Set(handler)`, and its receive
// and availability paths `slot_.Deliver(bytes)` and
// `slot_.NotifyAvailability(available)`.
//
// Calls reach the handler one at a time (a second caller waits for the
// first), and Set() returns only once no call to the previous handler is in
// progress, so a detached handler may be destroyed right after. Call the
// slot without holding the transport's own locks (the handler may Send()).
// Set() must not be called from inside a handler call (it would wait for
// itself). Thread-safe.
class HandlerSlot {
 public:
  HandlerSlot() = default;
  HandlerSlot(const HandlerSlot&) = delete;
  HandlerSlot& operator=(const HandlerSlot&) = delete;

  // Installs `handler` (nullptr detaches).
  void Set(TransportHandler* handler);
  // Calls OnMessage / OnAvailabilityChanged of the installed handler;
  // false (and `bytes` dropped) when none is installed.
  bool Deliver(std::string bytes);
  bool NotifyAvailability(bool available);

 private:
  // Waits for its turn; the installed handler, or nullptr (no turn taken).
  TransportHandler* Begin();
  void End();

  internal::Mutex mu_;
  TransportHandler* handler_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool calling_ ABSL_GUARDED_BY(mu_) = false;
};

// The faults an InProcessTransportPair injects. Every random choice is drawn
// from the pair's one seeded generator, so the same seed, the same faults
// and the same sequence of calls give the same deliveries.
struct TransportFaults {
  // Chance that a sent message is silently lost.
  double drop_probability = 0.0;
  // Chance that a sent message is delivered twice (each copy has its own
  // delay, so the copies may be apart).
  double duplicate_probability = 0.0;
  // Chance that a delivery picks a random ready message instead of the
  // oldest one.
  double reorder_probability = 0.0;
  // Each copy of a message waits a uniform number of steps in
  // [0, max_delay_steps] before it can be delivered.
  uint32_t max_delay_steps = 0;
};

// What an InProcessTransportPair did so far, both directions together.
// Always: sent + duplicated == delivered + dropped + in flight.
struct TransportCounters {
  uint64_t sent = 0;        // Send() calls that returned OK
  uint64_t refused = 0;     // Send() calls that returned Unavailable
  uint64_t delivered = 0;   // OnMessage() calls
  uint64_t dropped = 0;     // copies lost: drop fault, partition, link down
                            // at delivery time, or no handler installed
  uint64_t duplicated = 0;  // extra copies made by the duplicate fault
  uint64_t reordered = 0;   // deliveries that overtook an older ready copy
};

// Two Transport endpoints, A and B, joined in memory.
//
// Nothing moves by itself: a sent message waits in the pair until the owner
// calls DeliverNext(), Step() or RunUntilIdle(), which call the receiving
// endpoint's handler on the calling thread. Time is counted in steps; a
// message sent during step s with delay d is ready from step s + d.
//
// Faults, switchable at any time:
//   * TransportFaults: drop, duplicate, reorder, delay (see above).
//   * Partition: the link silently loses everything in both directions.
//     Send() still returns OK (a real partition gives the sender no error)
//     and the message is counted as dropped; copies already in flight are
//     dropped when their delivery comes. PartnerAvailable() stays true: a
//     partition is the fault nobody reports.
//   * Offline: SetOnline(side, false) takes one org down. The link is then
//     unavailable for both endpoints: Send() on either returns Unavailable,
//     both handlers get OnAvailabilityChanged(false) (one linked org being
//     unavailable concerns both), and copies in flight are dropped when their
//     delivery comes. When both sides are online again both handlers get
//     OnAvailabilityChanged(true).
//
// Thread-safety: every method may be called from any thread. Handlers are
// called on the thread that calls DeliverNext(), Step(), RunUntilIdle() or
// SetOnline(), without the pair's lock held. A handler may Send() on either
// endpoint and switch faults, but must not call SetHandler(), SetOnline(),
// DeliverNext(), Step() or RunUntilIdle(): those wait for running handlers.
// Drive delivery from one thread at a time: concurrent drivers would
// interleave handler calls in an order the seed does not fix.
class InProcessTransportPair {
 public:
  enum class Side { kA = 0, kB = 1 };

  explicit InProcessTransportPair(uint64_t seed);
  ~InProcessTransportPair();
  InProcessTransportPair(const InProcessTransportPair&) = delete;
  InProcessTransportPair& operator=(const InProcessTransportPair&) = delete;

  // The endpoints, owned by the pair and valid as long as it lives.
  Transport* endpoint(Side side);
  Transport* a() { return endpoint(Side::kA); }
  Transport* b() { return endpoint(Side::kB); }

  // Replaces the injected faults; affects later sends and deliveries.
  // InvalidArgument (changing nothing) if a probability is outside [0, 1].
  [[nodiscard]] absl::Status SetFaults(const TransportFaults& faults);
  TransportFaults faults() const;

  void SetPartitioned(bool partitioned);
  bool partitioned() const;

  // Takes one side's org down (false) or brings it back (true); notifies
  // both handlers if the link's availability changes.
  void SetOnline(Side side, bool online);
  bool online(Side side) const;

  // Delivers one ready message, if there is one (the oldest, or a random
  // one under the reorder fault). Does not advance the step. Returns whether
  // a message left the pair (delivered or dropped).
  bool DeliverNext();

  // Delivers one ready message addressed to `to` (the oldest, or a random
  // one under the reorder fault), as DeliverNext does. The two sides may be
  // driven concurrently, one thread each -- e.g. a benchmark running each
  // org on its own thread, as two processes would -- but not together with
  // DeliverNext/Step/RunUntilIdle (those wait), and the order of deliveries
  // then depends on the threads, not only on the seed.
  bool DeliverNextTo(Side to);

  // Delivers every message that is ready at the current step and was in
  // flight when the call began (answers sent by handlers wait for the next
  // step), then advances the step by one. Returns how many were delivered.
  size_t Step();

  // Steps until nothing is in flight or `max_steps` steps were taken.
  // Returns true if nothing is left in flight.
  bool RunUntilIdle(size_t max_steps = 10000);

  // Messages (copies) sent but neither delivered nor dropped yet.
  size_t InFlight() const;
  uint64_t current_step() const;
  uint64_t seed() const;
  TransportCounters counters() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orgsync

#endif  // ORGSYNC_TRANSPORT_H_
