// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "transport/grpc/cancel_timer.h"

#include <utility>

namespace orgsync::grpc_internal {

CancelTimer::CancelTimer() : thread_([this]() { Loop(); }) {}

CancelTimer::~CancelTimer() {
  {
    internal::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

uint64_t CancelTimer::Arm(absl::Duration timeout,
                          std::function<void()> cancel) {
  internal::MutexLock lock(&mu_);
  const uint64_t token = next_token_++;
  const absl::Time deadline = absl::Now() + timeout;
  armed_.emplace(std::make_pair(deadline, token), std::move(cancel));
  deadlines_.emplace(token, deadline);
  ++arms_;  // the unlock wakes Loop, which looks at the new deadline
  return token;
}

bool CancelTimer::Disarm(uint64_t token) {
  internal::MutexLock lock(&mu_);
  auto found = deadlines_.find(token);
  if (found == deadlines_.end()) return false;
  // Absent from armed_: it ran (Loop keeps the deadline to tell us so).
  const bool ran = armed_.erase({found->second, token}) == 0;
  deadlines_.erase(found);
  return ran;
}

void CancelTimer::Loop() {
  internal::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Time now = absl::Now();
    while (!armed_.empty() && armed_.begin()->first.first <= now) {
      armed_.begin()->second();
      armed_.erase(armed_.begin());
    }
    // Until the next deadline, or until Arm adds one.
    const absl::Duration wait = armed_.empty()
                                    ? absl::InfiniteDuration()
                                    : armed_.begin()->first.first - now;
    const uint64_t arms = arms_;
    mu_.AwaitWithTimeout([this, arms]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                             mu_) { return stopping_ || arms_ != arms; },
                         wait);
  }
}

}  // namespace orgsync::grpc_internal
