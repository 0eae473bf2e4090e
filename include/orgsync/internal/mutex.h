// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// orgsync's own mutex. Not part of the API hosts use: it sits in
// include/orgsync/ only because some public classes hold one as a private
// member, and it may change in any release.
//
// Why not absl::Mutex: Debian's Abseil is not built with ThreadSanitizer, so
// TSan cannot see the ordering absl::Mutex establishes and reports data
// races on everything it guards. This one is made of the standard library's
// primitives (std::shared_mutex, std::condition_variable_any), which TSan
// understands, and keeps absl::Mutex's interface and its Clang thread-safety
// annotations, so ABSL_GUARDED_BY and ABSL_EXCLUSIVE_LOCKS_REQUIRED go on
// checking the code that uses it.
//
// Await keeps absl::Mutex's meaning as well: the predicate is evaluated
// again whenever another thread releases the mutex (Unlock, or its own
// Await), so the code that makes it true needs no explicit signal. Only
// exclusive holders can make it true; a ReaderUnlock wakes nobody.
//
// Like absl::Mutex, it is neither recursive nor copyable, and a reader must
// not take the lock again while holding it.
//
// Thread-safety: every method may be called from any thread.

#ifndef ORGSYNC_INTERNAL_MUTEX_H_
#define ORGSYNC_INTERNAL_MUTEX_H_

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace orgsync::internal {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }

  void Unlock() ABSL_UNLOCK_FUNCTION() {
    const bool wake = waiters_ > 0;
    mu_.unlock();
    // After unlocking, so that a woken waiter does not block at once on the
    // mutex; condition_variable_any takes its own internal lock, so a
    // waiter that has released mu_ is already registered and hears this.
    if (wake) woken_.notify_all();
  }

  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    return mu_.try_lock();
  }

  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION() { mu_.lock_shared(); }
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock_shared(); }

  // Returns once `ready()` is true, releasing the mutex while it waits.
  // `ready` runs with the mutex held.
  template <typename Predicate>
  void Await(Predicate ready) ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    std::unique_lock<std::shared_mutex> lock(mu_, std::adopt_lock);
    ++waiters_;
    for (bool first = true; !ready(); first = false) Wait(lock, first);
    --waiters_;
    lock.release();  // still held, by the caller
  }

  // Like Await, but gives up after `timeout`; returns `ready()` as last
  // evaluated, with the mutex held either way.
  template <typename Predicate>
  bool AwaitWithTimeout(Predicate ready, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    // A century stands in for longer timeouts (an infinite one included):
    // the deadline arithmetic below would overflow on them.
    timeout = std::min(timeout, absl::Hours(24 * 365 * 100));
    const auto deadline =
        std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
    std::unique_lock<std::shared_mutex> lock(mu_, std::adopt_lock);
    ++waiters_;
    bool result = ready();
    for (bool first = true; !result; first = false) {
      const bool timed_out = !Wait(lock, first, &deadline);
      result = ready();
      if (timed_out) break;
    }
    --waiters_;
    lock.release();
    return result;
  }

 private:
  // Blocks until woken (or until `*deadline` if given, then returns false).
  // A thread that starts waiting releases the mutex, and may have changed
  // what it guards since it took it, so it wakes the other waiters as an
  // Unlock would (absl::Mutex too re-evaluates conditions then). Not when
  // it waits again after a wake-up: its predicate changed nothing, and two
  // waiters would otherwise wake each other forever.
  bool Wait(std::unique_lock<std::shared_mutex>& lock, bool first,
            const std::chrono::steady_clock::time_point* deadline = nullptr) {
    if (first && waiters_ > 1) woken_.notify_all();
    if (deadline == nullptr) {
      woken_.wait(lock);
      return true;
    }
    return woken_.wait_until(lock, *deadline) == std::cv_status::no_timeout;
  }

  std::shared_mutex mu_;
  std::condition_variable_any woken_;
  // Threads inside Await; read and written with mu_ held exclusively.
  int waiters_ = 0;
};

// Holds `mu` exclusively for the scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }

 private:
  Mutex* const mu_;
};

// Holds `mu` shared for the scope.
class ABSL_SCOPED_LOCKABLE ReaderMutexLock {
 public:
  explicit ReaderMutexLock(Mutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->ReaderLock();
  }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;
  ~ReaderMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->ReaderUnlock(); }

 private:
  Mutex* const mu_;
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_INTERNAL_MUTEX_H_
