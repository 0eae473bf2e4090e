// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "transport/grpc/link_core.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace orgsync::grpc_internal {

LinkCore::LinkCore(const GrpcTransportOptions& options)
    : max_bytes_in_flight_(options.max_bytes_in_flight),
      max_unauthenticated_streams_(options.max_unauthenticated_streams),
      on_auth_failure_(options.on_auth_failure) {}

void LinkCore::SetHandler(TransportHandler* handler) { slot_.Set(handler); }

absl::Status LinkCore::Send(std::string bytes) {
  internal::MutexLock lock(&mu_);
  if (bytes.size() > max_bytes_in_flight_) {
    // Waiting would not help: it would never fit.
    return absl::InvalidArgumentError(absl::StrCat(
        "a message of ", bytes.size(), " bytes is over max_bytes_in_flight (",
        max_bytes_in_flight_, ")"));
  }
  if (!session_open_) {
    ++stats_.send_refused_unavailable;
    return absl::UnavailableError("the partner is not connected");
  }
  if (stats_.queued_bytes + bytes.size() > max_bytes_in_flight_) {
    ++stats_.send_refused_full;
    return absl::ResourceExhaustedError(absl::StrCat(
        "the send queue is full: ", stats_.queued_bytes,
        " bytes queued, max_bytes_in_flight ", max_bytes_in_flight_));
  }
  stats_.queued_bytes += bytes.size();
  stats_.peak_queued_bytes =
      std::max(stats_.peak_queued_bytes, stats_.queued_bytes);
  queue_.push_back(std::move(bytes));
  return absl::OkStatus();
}

bool LinkCore::PartnerAvailable() const {
  internal::MutexLock lock(&mu_);
  return reported_;
}

GrpcTransportStats LinkCore::stats() const {
  internal::MutexLock lock(&mu_);
  return stats_;
}

void LinkCore::Stop() {
  internal::MutexLock lock(&mu_);
  stopping_ = true;
  // Under the lock: the stream's context lives until SessionFinished, which
  // takes it. A cancel only asks gRPC to end the call (it neither blocks
  // nor calls back into the transport).
  if (cancel_session_) cancel_session_();
}

bool LinkCore::stopping() const {
  internal::MutexLock lock(&mu_);
  return stopping_;
}

bool LinkCore::EnterHandshake() {
  internal::MutexLock lock(&mu_);
  if (stopping_ || handshaking_ >= max_unauthenticated_streams_) {
    ++stats_.streams_refused_busy;
    return false;
  }
  ++handshaking_;
  return true;
}

void LinkCore::LeaveHandshake() {
  internal::MutexLock lock(&mu_);
  --handshaking_;
}

void LinkCore::CountDialAttempt() {
  internal::MutexLock lock(&mu_);
  ++stats_.dial_attempts;
}

void LinkCore::AuthFailed(const absl::Status& reason) {
  {
    internal::MutexLock lock(&mu_);
    ++stats_.auth_failures;
  }
  if (on_auth_failure_) on_auth_failure_(reason);
}

std::optional<uint64_t> LinkCore::BeginSession(std::function<void()> cancel) {
  internal::MutexLock lock(&mu_);
  // A newer authenticated stream means the partner reconnected: the old
  // one is dead or dying. (Cancelled under the lock, as in Stop.)
  if (cancel_session_) cancel_session_();
  mu_.Await([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || session_ == 0;
  });
  if (stopping_) return std::nullopt;
  session_ = next_session_++;
  session_open_ = true;
  cancel_session_ = std::move(cancel);
  ++stats_.streams_authenticated;
  return session_;
}

void LinkCore::EndSession(uint64_t id) {
  internal::MutexLock lock(&mu_);
  if (session_ != id || !session_open_) return;
  session_open_ = false;
  for (const std::string& bytes : queue_) stats_.queued_bytes -= bytes.size();
  stats_.messages_dropped += queue_.size();
  queue_.clear();
}

void LinkCore::SessionFinished(uint64_t id) {
  internal::MutexLock lock(&mu_);
  if (session_ != id) return;
  session_ = 0;
  session_open_ = false;
  cancel_session_ = nullptr;
}

std::optional<std::string> LinkCore::NextToWrite(uint64_t id) {
  internal::MutexLock lock(&mu_);
  mu_.Await([this, id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return session_ != id || !session_open_ || !queue_.empty();
  });
  if (session_ != id || !session_open_) return std::nullopt;
  std::string bytes = std::move(queue_.front());
  queue_.pop_front();
  return bytes;
}

void LinkCore::Written(size_t bytes, bool ok) {
  internal::MutexLock lock(&mu_);
  stats_.queued_bytes -= bytes;
  if (ok) {
    ++stats_.messages_sent;
  } else {
    ++stats_.messages_dropped;
  }
}

void LinkCore::Deliver(std::string bytes) {
  {
    internal::MutexLock lock(&mu_);
    ++stats_.messages_received;
  }
  slot_.Deliver(std::move(bytes));
}

void LinkCore::ReportAvailability(bool available) {
  {
    internal::MutexLock lock(&mu_);
    available_ = available;
    // The thread already reporting picks the new value up.
    if (reporting_) return;
    reporting_ = true;
  }
  for (;;) {
    bool value;
    {
      internal::MutexLock lock(&mu_);
      if (reported_ == available_) {
        reporting_ = false;
        return;
      }
      value = reported_ = available_;
    }
    slot_.NotifyAvailability(value);
  }
}

}  // namespace orgsync::grpc_internal
