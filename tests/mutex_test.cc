// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// orgsync's own mutex (include/orgsync/internal/mutex.h): the parts of
// absl::Mutex's behaviour the code relies on, above all that Await needs no
// explicit signal. A broken wake-up shows as a case that never ends (ctest's
// timeout fails it), not as a wrong value.

#include "orgsync/internal/mutex.h"

#include <catch2/catch.hpp>
#include <thread>

#include "absl/time/time.h"

namespace orgsync::internal::mutex_test {
namespace {

TEST_CASE("Mutex: Await returns once another thread's Unlock makes it true",
          "[mutex][threads]") {
  Mutex mu;
  int value = 0;
  std::thread writer;
  {
    MutexLock lock(&mu);
    // Started with mu held: the writer can only set the value once this
    // thread waits in Await.
    writer = std::thread([&] {
      MutexLock writing(&mu);
      value = 1;
    });
    mu.Await([&] { return value == 1; });
    CHECK(value == 1);
  }
  writer.join();
}

TEST_CASE("Mutex: a thread that starts waiting in Await wakes the others",
          "[mutex][threads]") {
  Mutex mu;
  bool first_waiting = false;
  bool x = false;
  bool y = false;
  std::thread first([&] {
    MutexLock lock(&mu);
    first_waiting = true;
    mu.Await([&] { return x; });
  });
  std::thread second([&] {
    MutexLock lock(&mu);
    mu.Await([&] { return first_waiting; });
    // No Unlock between this and its own Await: only that Await's release
    // can wake `first`.
    x = true;
    mu.Await([&] { return y; });
  });
  first.join();
  {
    MutexLock lock(&mu);
    y = true;
  }
  second.join();
  MutexLock lock(&mu);
  CHECK(x);
}

TEST_CASE("Mutex: AwaitWithTimeout gives up with the mutex still held",
          "[mutex][threads]") {
  Mutex mu;
  MutexLock lock(&mu);
  CHECK_FALSE(mu.AwaitWithTimeout([] { return false; }, absl::Milliseconds(5)));
  bool other_got_it = true;
  std::thread other([&] { other_got_it = mu.TryLock(); });
  other.join();
  CHECK_FALSE(other_got_it);
  CHECK(mu.AwaitWithTimeout([] { return true; }, absl::ZeroDuration()));
}

TEST_CASE("Mutex: readers share the mutex, a writer waits for them",
          "[mutex][threads]") {
  Mutex mu;
  ReaderMutexLock reading(&mu);
  bool second_reader = false;
  bool writer_got_it = true;
  std::thread other([&] {
    {
      ReaderMutexLock also_reading(&mu);
      second_reader = true;
    }
    writer_got_it = mu.TryLock();
  });
  other.join();
  CHECK(second_reader);
  CHECK_FALSE(writer_got_it);
}

}  // namespace
}  // namespace orgsync::internal::mutex_test
