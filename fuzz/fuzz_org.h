// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The world apply_fuzzer.cc feeds: a real org ("org-b", the secondary) with
// an accepted connection, subscribed to every object its partner publishes,
// and the partner's transport endpoint in the fuzzer's hands.
//
// The handshake and the publish/subscribe exchange are done by a second
// real org ("org-a"), which then lets go of its endpoint: from there on
// whatever reaches org-b comes from the fuzzer. Both orgs run on memory
// storage and in-memory record stores, with one manual clock.
//
// The schema (FuzzSchema) has an object of every field type, lookups with
// and without cascade, a master-detail and a file object, plus objects the
// partner does not publish. org-b's store also holds "bystander" records
// written by its own host and never captured: the connection never shared
// them, so nothing the partner sends may touch them.
//
// The world is made afresh for every input (FuzzOrgs::Create): an org keeps
// state across envelopes (record links, sequences, the hybrid clock), and
// one input must not change how the next one runs.

#ifndef ORGSYNC_FUZZ_FUZZ_ORG_H_
#define ORGSYNC_FUZZ_FUZZ_ORG_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"
#include "orgsync/transport.h"

namespace orgsync::fuzz {

// What the partner may send binaries up to (OrgOptions.max_file_bytes):
// small, so that inputs reach the limit.
inline constexpr size_t kFuzzMaxFileBytes = 64;

// The connection's id and the partner org's id, as envelopes name them.
inline constexpr char kConnectionId[] = "conn-fuzz";
inline constexpr char kPartnerOrgId[] = "org-a";

// The schema both orgs share, built once (it never changes; Schema is
// thread-safe and read-only here).
const Schema& FuzzSchema();

// Objects the partner publishes (org-b subscribes to all of them).
const std::vector<std::string>& PublishedObjects();

// What arrives at the endpoint the fuzzer drives.
class Inbox final : public TransportHandler {
 public:
  void OnMessage(std::string bytes) override {
    messages.push_back(std::move(bytes));
  }
  void OnAvailabilityChanged(bool) override {}
  std::vector<std::string> messages;
};

class FuzzOrgs {
 public:
  // Connects the two orgs, publishes and subscribes, takes over the
  // partner's endpoint and writes the bystanders. Aborts (with a message)
  // if any step fails: that is a bug of the setup, not of an input.
  static std::unique_ptr<FuzzOrgs> Create();

  FuzzOrgs(const FuzzOrgs&) = delete;
  FuzzOrgs& operator=(const FuzzOrgs&) = delete;
  ~FuzzOrgs();

  // Hands `bytes` to org-b as the partner's, delivers until idle, steps
  // org-b once and delivers its answers; returns what reached the partner.
  std::vector<std::string> Exchange(std::string bytes);

  RecordStore* store() { return store_.get(); }
  Connection* connection() { return connection_; }
  ManualClock& clock() { return clock_; }
  absl::Time Now() const { return clock_.Now(); }
  // The bystanders as they were written.
  const std::vector<Record>& bystanders() const { return bystanders_; }

 private:
  FuzzOrgs();

  ManualClock clock_;
  InProcessTransportPair pair_{1};
  std::unique_ptr<MemoryStorage> storage_;
  std::unique_ptr<RecordStore> store_;
  std::unique_ptr<Org> org_;
  Connection* connection_ = nullptr;
  Inbox inbox_;
  std::vector<Record> bystanders_;
};

}  // namespace orgsync::fuzz

#endif  // ORGSYNC_FUZZ_FUZZ_ORG_H_
