// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// CancelTimer: ends streams whose handshake takes too long. gRPC's blocking
// Read has no timeout of its own, and a listener cannot set a deadline on a
// call the dialer opened, so one thread per transport cancels, at their
// deadline, the streams still armed.
//
// Thread-safety: every method may be called from any thread. A `cancel`
// runs on the timer's thread with the timer's lock held (so Disarm can
// promise it is not running), and must only ask gRPC to end a call.

#ifndef ORGSYNC_LIB_TRANSPORT_GRPC_CANCEL_TIMER_H_
#define ORGSYNC_LIB_TRANSPORT_GRPC_CANCEL_TIMER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "orgsync/internal/mutex.h"

namespace orgsync::grpc_internal {

class CancelTimer {
 public:
  CancelTimer();
  ~CancelTimer();  // stops the thread; armed cancels never run
  CancelTimer(const CancelTimer&) = delete;
  CancelTimer& operator=(const CancelTimer&) = delete;

  // Calls `cancel` after `timeout` unless disarmed first. Returns a token.
  uint64_t Arm(absl::Duration timeout, std::function<void()> cancel);
  // Disarms `token`; once it returns its cancel will not run (nor is it
  // running). True if the cancel had already run.
  bool Disarm(uint64_t token);

 private:
  void Loop();

  internal::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_token_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t arms_ ABSL_GUARDED_BY(mu_) = 0;  // Arm calls, to wake Loop
  // Armed cancels by (deadline, token), and the tokens whose cancel ran.
  std::map<std::pair<absl::Time, uint64_t>, std::function<void()>> armed_
      ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, absl::Time> deadlines_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace orgsync::grpc_internal

#endif  // ORGSYNC_LIB_TRANSPORT_GRPC_CANCEL_TIMER_H_
