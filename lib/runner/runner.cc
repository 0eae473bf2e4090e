// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "orgsync/runner.h"

#include <fmt/format.h>

#include <system_error>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/status.h"

namespace orgsync {
namespace {

class RunnerImpl final : public Runner {
 public:
  RunnerImpl(Org* org, RunnerOptions options)
      : org_(org), options_(std::move(options)) {}

  ~RunnerImpl() override { Stop(); }

  // Separate from the constructor so that the thread never sees a
  // half-built object.
  absl::Status Launch() {
    internal::MutexLock joining(&join_mu_);
    try {
      thread_ = std::thread([this] { Loop(); });
    } catch (const std::system_error& e) {
      return absl::ResourceExhaustedError(
          fmt::format("cannot start the runner's thread: {}", e.what()));
    }
    return absl::OkStatus();
  }

  void Wake() override {
    internal::MutexLock lock(&mu_);
    wake_ = true;
    ++stats_.wakes;
  }

  void Stop() override {
    {
      internal::MutexLock lock(&mu_);
      stop_ = true;
      // The loop itself cannot wait for its own end.
      if (std::this_thread::get_id() == loop_thread_id_) return;
    }
    // Serializes concurrent Stop() calls: join() must happen once.
    internal::MutexLock joining(&join_mu_);
    if (thread_.joinable()) thread_.join();
  }

  RunnerStats stats() const override {
    internal::MutexLock lock(&mu_);
    return stats_;
  }

  absl::Status last_error() const override {
    internal::MutexLock lock(&mu_);
    return last_error_;
  }

 private:
  void Loop() {
    {
      internal::MutexLock lock(&mu_);
      loop_thread_id_ = std::this_thread::get_id();
    }
    size_t busy_in_row = 0;
    while (true) {
      {
        internal::MutexLock lock(&mu_);
        if (stop_) return;
        // A Wake() from here on asks for another round after this one.
        wake_ = false;
      }
      const bool busy = Round();
      internal::MutexLock lock(&mu_);
      if (stop_) return;
      if (busy && busy_in_row < options_.max_busy_steps) {
        ++busy_in_row;
        continue;
      }
      busy_in_row = 0;
      ++stats_.idle_waits;
      // Called by Await with mu_ held, which the analysis cannot follow.
      const auto woken = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return WokenLocked();
      };
      if (options_.idle_interval == absl::InfiniteDuration()) {
        mu_.Await(woken);
      } else {
        mu_.AwaitWithTimeout(woken, options_.idle_interval);
      }
    }
  }

  bool WokenLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return wake_ || stop_;
  }

  // One Org::Step() and the extra step; whether either did work. Runs
  // without mu_, so Wake() and stats() never wait for a step.
  bool Round() {
    absl::StatusOr<size_t> sent = org_->Step();
    absl::StatusOr<size_t> extra = size_t{0};
    if (options_.extra_step) extra = options_.extra_step();
    internal::MutexLock lock(&mu_);
    ++stats_.steps;
    bool busy = false;
    if (sent.ok()) {
      stats_.entries_sent += *sent;
      busy = *sent > 0;
    } else {
      ++stats_.errors;
      last_error_ = Annotate(sent.status(), "Org::Step");
    }
    if (extra.ok()) {
      stats_.extra_work += *extra;
      busy = busy || *extra > 0;
    } else {
      ++stats_.errors;
      last_error_ = Annotate(extra.status(), "RunnerOptions.extra_step");
    }
    return busy;
  }

  Org* const org_;
  const RunnerOptions options_;
  std::thread thread_ ABSL_GUARDED_BY(join_mu_);
  internal::Mutex join_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable internal::Mutex mu_;
  std::thread::id loop_thread_id_ ABSL_GUARDED_BY(mu_);
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  RunnerStats stats_ ABSL_GUARDED_BY(mu_);
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<Runner>> Runner::Start(Org* org,
                                                      RunnerOptions options) {
  if (org == nullptr) {
    return absl::InvalidArgumentError("Runner::Start needs an org");
  }
  if (options.idle_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        fmt::format("RunnerOptions.idle_interval must be positive, got {}",
                    absl::FormatDuration(options.idle_interval)));
  }
  if (options.max_busy_steps == 0) {
    return absl::InvalidArgumentError(
        "RunnerOptions.max_busy_steps must be at least 1");
  }
  auto runner = std::make_unique<RunnerImpl>(org, std::move(options));
  ORGSYNC_RETURN_IF_ERROR(runner->Launch());
  return std::unique_ptr<Runner>(std::move(runner));
}

}  // namespace orgsync
