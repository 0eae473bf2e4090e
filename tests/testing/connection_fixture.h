// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Test helpers for connections: storages that can be closed and reopened,
// and two orgs (a primary and a secondary) joined by an in-process
// transport pair, with one ManualClock.

#ifndef ORGSYNC_TESTS_TESTING_CONNECTION_FIXTURE_H_
#define ORGSYNC_TESTS_TESTING_CONNECTION_FIXTURE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/storage.h"
#include "orgsync/transport.h"

namespace orgsync::testing {

// A Storage that a test can close and open again, as a process restart
// would. Reopen() invalidates the previous storage() pointer.
class ReopenableStorage {
 public:
  virtual ~ReopenableStorage() = default;
  virtual std::string name() const = 0;
  virtual Storage* storage() = 0;
  virtual void Reopen() = 0;
};

// MemoryStorage; Reopen() simulates a crash, so only synced writes survive.
std::unique_ptr<ReopenableStorage> NewReopenableMemoryStorage();

// Every kind of storage the reopen tests run over. MemoryStorage only for
// now; the LevelDB one joins when OpenLevelDbStorage is linked in.
std::vector<std::function<std::unique_ptr<ReopenableStorage>()>>
ReopenableStorageFactories();

// Aborts the test (Catch2 REQUIRE) unless `status` is OK.
void RequireOk(const absl::Status& status);

// The default invitation: every option on, owner and contact set.
InvitationOptions DefaultInvitation(std::string connection_id = "conn-1");

// A primary org ("org-a") and a secondary org ("org-b") over their own
// storages, joined by `pair` (endpoint A is the primary's).
class TwoOrgs {
 public:
  explicit TwoOrgs(uint64_t seed = 1,
                   std::unique_ptr<ReopenableStorage> primary_storage =
                       NewReopenableMemoryStorage(),
                   std::unique_ptr<ReopenableStorage> secondary_storage =
                       NewReopenableMemoryStorage());
  ~TwoOrgs();

  // Creates the invitation on the primary and attaches endpoint A to it.
  Invitation Invite(const InvitationOptions& options = DefaultInvitation());

  // Invite, accept on the secondary over endpoint B and deliver until idle.
  // Returns the two sides' connections (primary first), both accepted.
  std::pair<Connection*, Connection*> Connect(
      const InvitationOptions& options = DefaultInvitation());

  // Closes and reopens both orgs (and their storages), reattaching the
  // transports to connection `connection_id` on both sides if it exists.
  void Reopen(const std::string& connection_id);

  ManualClock clock;
  InProcessTransportPair pair;
  std::unique_ptr<ReopenableStorage> primary_storage;
  std::unique_ptr<ReopenableStorage> secondary_storage;
  std::unique_ptr<Org> primary;
  std::unique_ptr<Org> secondary;
};

}  // namespace orgsync::testing

#endif  // ORGSYNC_TESTS_TESTING_CONNECTION_FIXTURE_H_
