// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The simulation's fault model below the transport (which the
// InProcessTransportPair handles): the parts an org runs on, each wrapped
// so that the seed can break it.
//
//   * SkewedClock: each org's own wall clock, set apart from the simulated
//     time by a skew (up to +-10 minutes) and drifting (up to +-1% of the
//     time elapsed), never going backwards -- what the hybrid clock
//     (DESIGN.md rule 8) must make harmless.
//   * CrashPlan, OrgProcess, CrashingStorage: the storage writes of both
//     orgs are counted, and the org whose write is the k-th (k drawn by the
//     seed) crashes right after it: that write landed, every later write of
//     the org is refused (the process is gone), and the simulation then
//     restarts the org on what survived (unsynced writes are dropped, see
//     Side::Restart). Every write counts: captures, applies, the host
//     store's own writes, acknowledgements, cascades, flushes.
//   * CrashableTransport: a dead org sends nothing and hears nothing.
//   * RacingStore: the host writes a record just before apply's write of it
//     lands, as a host thread (or trigger) racing replication would.
//
// Not thread-safe: a simulation runs on one thread.

#ifndef ORGSYNC_TESTS_TESTING_SIM_FAULTS_H_
#define ORGSYNC_TESTS_TESTING_SIM_FAULTS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "orgsync/clock.h"
#include "orgsync/record_store.h"
#include "orgsync/storage.h"
#include "orgsync/transport.h"

namespace orgsync::testing::sim {

// base + skew + drift * (base - start), never earlier than a time it
// returned before. `drift` is a fraction: 0.01 runs 1% fast.
class SkewedClock final : public Clock {
 public:
  // Built with braces, so that a seeded run draws the two in one order
  // whatever the compiler (a call's arguments are evaluated in an order
  // the compiler picks; a braced list's left to right).
  struct Fault {
    double drift = 0;
    absl::Duration skew;
  };
  SkewedClock(const Clock* base, Fault fault);
  absl::Time Now() const override;

  absl::Duration skew() const { return skew_; }
  double drift() const { return drift_; }

 private:
  const Clock* const base_;
  const absl::Time start_;
  const absl::Duration skew_;
  const double drift_;
  mutable absl::Mutex mu_;
  mutable absl::Time last_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// Whether an org's process is alive.
class OrgProcess {
 public:
  explicit OrgProcess(std::string org_id) : org_id_(std::move(org_id)) {}
  const std::string& org_id() const { return org_id_; }
  bool down() const { return down_; }
  void Crash() { down_ = true; }
  void Revive() { down_ = false; }

 private:
  const std::string org_id_;
  bool down_ = false;
};

// Counts the storage writes of both orgs and crashes the org that makes
// the chosen one.
class CrashPlan {
 public:
  // The `writes_from_now`-th write from now (1: the next one) crashes its
  // org. Replaces an armed crash.
  void Arm(uint64_t writes_from_now);
  void Disarm() { crash_at_ = 0; }
  bool armed() const { return crash_at_ != 0; }

  // Called after every write `process` made (landed or failed): crashes
  // it if this is the chosen write.
  void AfterWrite(OrgProcess* process);

  uint64_t writes() const { return writes_; }
  uint64_t crashes() const { return crashes_; }

 private:
  uint64_t writes_ = 0;
  uint64_t crash_at_ = 0;  // 0: disarmed
  uint64_t crashes_ = 0;
};

// Forwards to `target` and counts each write in `plan`; refuses every
// write while `process` is down (the dead process makes none).
class CrashingStorage final : public ForwardingStorage {
 public:
  CrashingStorage(Storage* target, OrgProcess* process, CrashPlan* plan)
      : ForwardingStorage(target), process_(process), plan_(plan) {}

  absl::Status Write(const WriteBatch& batch,
                     const WriteOptions& options) override;

 private:
  OrgProcess* const process_;
  CrashPlan* const plan_;
};

// Forwards to `target`, except while `process` is down: then what the org
// sends is lost with the process (Send still says OK: the dead process
// never learns otherwise), and what arrives for it is lost too.
class CrashableTransport final : public Transport, private TransportHandler {
 public:
  CrashableTransport(Transport* target, const OrgProcess* process)
      : target_(target), process_(process) {}
  ~CrashableTransport() override;

  void SetHandler(TransportHandler* handler) override;
  absl::Status Send(std::string bytes) override;
  bool PartnerAvailable() const override { return target_->PartnerAvailable(); }

 private:
  void OnMessage(std::string bytes) override;
  void OnAvailabilityChanged(bool available) override;

  Transport* const target_;
  const OrgProcess* const process_;
  TransportHandler* handler_ = nullptr;
};

// Calls `hook` before every Update, Delete and Undelete that replication
// makes (with its object, id and, for an update, its changes), then
// forwards the call: the hook is the host writing the same record at that
// moment.
class RacingStore final : public ForwardingRecordStore {
 public:
  using Hook = std::function<void(std::string_view object, std::string_view id,
                                  const FieldMap& changes)>;

  explicit RacingStore(RecordStore* target) : ForwardingRecordStore(target) {}
  void set_hook(Hook hook) { hook_ = std::move(hook); }

  absl::StatusOr<Record> Update(std::string_view object, std::string_view id,
                                const FieldMap& changes,
                                const ApplyContext& context) override;
  absl::StatusOr<CascadeResult> Delete(std::string_view object,
                                       std::string_view id,
                                       const ApplyContext& context) override;
  absl::StatusOr<CascadeResult> Undelete(std::string_view object,
                                         std::string_view id,
                                         const ApplyContext& context) override;

 private:
  Hook hook_;
};

}  // namespace orgsync::testing::sim

#endif  // ORGSYNC_TESTS_TESTING_SIM_FAULTS_H_
