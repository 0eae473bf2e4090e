// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Test helpers for components that report MapNotices through a ChangeSink
// (PublishSet, SubscriptionMap): a sink that records the protocol, a storage
// that fails writes on demand and logs them in the same order, and Catch2
// printing for MapNotice.

#ifndef ORGSYNC_TESTS_TESTING_CHANGE_SINK_TESTING_H_
#define ORGSYNC_TESTS_TESTING_CHANGE_SINK_TESTING_H_

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "publish/change_sink.h"
#include "orgsync/queue_action.h"
#include "orgsync/storage.h"

namespace orgsync::internal {

// MapNotice has no comparison of its own; tests compare whole lists.
inline bool operator==(const MapNotice& a, const MapNotice& b) {
  return a.action == b.action && a.object == b.object && a.field == b.field &&
         a.new_name == b.new_name && a.value == b.value;
}

}  // namespace orgsync::internal

namespace Catch {
template <>
struct StringMaker<orgsync::internal::MapNotice> {
  static std::string convert(const orgsync::internal::MapNotice& n) {
    return "{" + std::string(orgsync::QueueActionName(n.action)) + " " +
           n.object + " " + n.field + " " + n.new_name + " " + n.value + "}";
  }
};
}  // namespace Catch

namespace orgsync::testing {

// Records the ChangeSink protocol as it happens and adds one key of its own
// to every staged batch, as a Connection adds its queue entries.
class RecordingSink : public internal::ChangeSink {
 public:
  absl::Status Stage(absl::Span<const internal::MapNotice> notices,
                     WriteBatch* batch) override {
    log.push_back("stage");
    if (!stage_error.ok()) return stage_error;
    staged.emplace_back(notices.begin(), notices.end());
    batch->Put("q/test/" + std::to_string(staged.size()), "notices");
    return absl::OkStatus();
  }
  void Finish(const absl::Status& write_status) override {
    log.push_back(write_status.ok() ? "finish ok" : "finish error");
    finishes.push_back(write_status);
  }

  std::vector<internal::MapNotice> All() const {
    std::vector<internal::MapNotice> all;
    for (const auto& batch : staged) all.insert(all.end(), batch.begin(), batch.end());
    return all;
  }
  void Clear() {
    staged.clear();
    finishes.clear();
    log.clear();
  }

  std::vector<std::vector<internal::MapNotice>> staged;
  std::vector<absl::Status> finishes;
  std::vector<std::string> log;
  absl::Status stage_error;
};

// Fails writes on demand and logs each write into the sink's log, so tests
// can check the order Stage -> write -> Finish.
class FaultyStorage : public ForwardingStorage {
 public:
  FaultyStorage(Storage* target, std::vector<std::string>* log)
      : ForwardingStorage(target), log_(log) {}
  absl::Status Write(const WriteBatch& batch,
                     const WriteOptions& options) override {
    if (log_ != nullptr) {
      log_->push_back(options.sync ? "write sync" : "write unsynced");
    }
    last_batch = batch;
    ++writes;
    if (fail_writes) return absl::UnavailableError("injected write failure");
    return ForwardingStorage::Write(batch, options);
  }
  bool fail_writes = false;
  int writes = 0;
  WriteBatch last_batch;

 private:
  std::vector<std::string>* log_;
};

}  // namespace orgsync::testing

#endif  // ORGSYNC_TESTS_TESTING_CHANGE_SINK_TESTING_H_
