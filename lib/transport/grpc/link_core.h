// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// LinkCore: what the listening and the dialing GrpcTransport share -- the
// Transport side (handler slot, send queue with its byte cap, availability)
// and the bookkeeping of the one authenticated stream ("session") that
// carries messages at a time.
//
// A session is begun once a stream passed the handshake and ended when the
// stream broke. Sessions never overlap: BeginSession first cancels the
// running one and waits for it to end, so the availability reported to the
// handler goes true, false, true... in the order of the streams. Messages
// queued by Send() belong to the running session and are dropped with it.
//
// Thread-safety: every method may be called from any thread. Methods that
// call the handler (Deliver, ReportAvailability, and the auth-failure
// callback of AuthFailed) do so with no lock held.

#ifndef ORGSYNC_LIB_TRANSPORT_GRPC_LINK_CORE_H_
#define ORGSYNC_LIB_TRANSPORT_GRPC_LINK_CORE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "orgsync/grpc_transport.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/transport.h"

namespace orgsync::grpc_internal {

// Keepalive pings, both ways, while a stream is up: a partner that vanished
// without closing its socket (a host powered off) is noticed within about
// kKeepaliveMs + kKeepaliveTimeoutMs, not at TCP's own timeout.
inline constexpr int kKeepaliveMs = 20000;
inline constexpr int kKeepaliveTimeoutMs = 10000;

class LinkCore {
 public:
  // Its limits and failure callback from the transport's options.
  explicit LinkCore(const GrpcTransportOptions& options);
  LinkCore(const LinkCore&) = delete;
  LinkCore& operator=(const LinkCore&) = delete;

  // --- The Transport side.
  void SetHandler(TransportHandler* handler);
  [[nodiscard]] absl::Status Send(std::string bytes);
  bool PartnerAvailable() const;
  GrpcTransportStats stats() const;

  // --- The streams' side.

  // No new session may begin; wakes every waiter. The running session is
  // cancelled through its `cancel`. Idempotent.
  void Stop();
  bool stopping() const;

  // Admits one more stream into the handshake, or counts it as refused
  // (streams_refused_busy) when max_unauthenticated_streams are there.
  bool EnterHandshake();
  void LeaveHandshake();
  void CountDialAttempt();
  // Counts a refused stream and tells the host's callback why.
  void AuthFailed(const absl::Status& reason);

  // Makes the authenticated stream whose `cancel` ends it the running
  // session (`cancel` runs under the core's lock: it must only ask gRPC to
  // end the stream), after cancelling and awaiting the previous one. Its id, or
  // nullopt once stopping.
  std::optional<uint64_t> BeginSession(std::function<void()> cancel);
  // Ends session `id`: drops what is queued, wakes its writer.
  void EndSession(uint64_t id);
  // Marks session `id` as fully over (its threads done, its end
  // reported), letting the next one begin.
  void SessionFinished(uint64_t id);

  // The writer of session `id`: blocks for the next queued message; nullopt
  // once the session ended. Its bytes stay counted as queued until
  // Written() (they are still in this process).
  std::optional<std::string> NextToWrite(uint64_t id);
  void Written(size_t bytes, bool ok);

  // One received message to the handler (one at a time: HandlerSlot).
  void Deliver(std::string bytes);
  // The availability the handler should see now. Concurrent reports are
  // serialized and coalesced: the last value always reaches the handler.
  void ReportAvailability(bool available);

 private:
  HandlerSlot slot_;
  const size_t max_bytes_in_flight_;
  const int max_unauthenticated_streams_;
  const std::function<void(const absl::Status&)> on_auth_failure_;

  mutable internal::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int handshaking_ ABSL_GUARDED_BY(mu_) = 0;
  // The running session (0: none) and whether it still takes messages.
  uint64_t session_ ABSL_GUARDED_BY(mu_) = 0;
  bool session_open_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_session_ ABSL_GUARDED_BY(mu_) = 1;
  std::function<void()> cancel_session_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  GrpcTransportStats stats_ ABSL_GUARDED_BY(mu_);
  // Availability: what the streams say now, what the handler was last told,
  // and whether a thread is telling it.
  bool available_ ABSL_GUARDED_BY(mu_) = false;
  bool reported_ ABSL_GUARDED_BY(mu_) = false;
  bool reporting_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace orgsync::grpc_internal

#endif  // ORGSYNC_LIB_TRANSPORT_GRPC_LINK_CORE_H_
