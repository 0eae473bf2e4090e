// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// A host program as a user of the installed (or embedded) library writes it:
// only public headers, only the orgsync::orgsync target. Exits non-zero if
// anything the API promises does not hold, so that the consumer tests fail.

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include "orgsync/clock.h"
#include "orgsync/queue_action.h"
#include "orgsync/status.h"
#include "orgsync/storage.h"

namespace {

absl::Status RoundTrip(orgsync::Storage& storage) {
  ORGSYNC_RETURN_IF_ERROR(
      storage.Put("m/consumer", "hello from a host", {.sync = true}));
  ORGSYNC_ASSIGN_OR_RETURN(std::string value, storage.Get("m/consumer"));
  if (value != "hello from a host") {
    return absl::InternalError("read back a different value: " + value);
  }
  if (!absl::IsNotFound(storage.Get("m/absent").status())) {
    return absl::InternalError("a missing key is not NotFound");
  }
  ORGSYNC_ASSIGN_OR_RETURN(orgsync::QueueAction action,
                           orgsync::ParseQueueAction("Generic Insert"));
  if (orgsync::QueueActionName(action) != "Generic Insert") {
    return absl::InternalError("queue action names do not round-trip");
  }
  return absl::OkStatus();
}

// ManualClock holds orgsync's own mutex (orgsync/internal/mutex.h): this
// checks that the header is installed and usable by a host.
absl::Status ClockMoves() {
  orgsync::ManualClock clock;
  const absl::Time start = clock.Now();
  clock.Advance(absl::Seconds(5));
  if (clock.Now() - start != absl::Seconds(5)) {
    return absl::InternalError("a ManualClock did not advance by 5 s");
  }
  return absl::OkStatus();
}

}  // namespace

int main() {
  std::unique_ptr<orgsync::MemoryStorage> storage = orgsync::NewMemoryStorage();
  absl::Status status =
      orgsync::Annotate(RoundTrip(*storage), "consumer round trip");
  if (status.ok()) status = orgsync::Annotate(ClockMoves(), "consumer clock");
  if (!status.ok()) {
    std::cerr << status << "\n";
    return EXIT_FAILURE;
  }
  std::cout << "orgsync consumer: ok\n";
  return EXIT_SUCCESS;
}
