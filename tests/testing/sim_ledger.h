// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// HostLedger: what the simulated hosts did that the final check must know
// besides the two orgs' records and sync logs (the simulation's "expected
// state").
//
// orgsync promises a change once Capture returned OK (design rule 2); a
// change the host never captured, or whose Capture did not return OK
// before its org crashed, may never reach the partner. Such changes are
// noted here as excuses -- a whole record (its insert), or one field of it
// ("$deleted" for its deleted state, with the children a delete or
// undelete took along) -- and only they may explain a difference between
// the orgs that no SyncLog entry explains. A later promised change of the
// same field in the same org takes that org's excuse back: its stamp is
// above every earlier write there, so it wins or meets a logged conflict.
// A promised change in the other org does not: with the orgs' clocks
// apart, a change made without seeing an earlier write of the excusing
// org may lose to that write's stamp, and then never reaches the store the
// uncaptured write changed.
//
// It also counts every host write of every field (both orgs) and keeps the
// host writes that raced an apply, so that the check can tell a racing
// value that was overwritten later from one that was lost.
//
// Records are named "object key" (SimModel::KeyOf), the same in both orgs.
// Not thread-safe.

#ifndef ORGSYNC_TESTS_TESTING_SIM_LEDGER_H_
#define ORGSYNC_TESTS_TESTING_SIM_LEDGER_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "orgsync/record.h"

namespace orgsync::testing::sim {

// The pseudo-field that stands for a record's deleted state.
inline constexpr char kDeletedField[] = "$deleted";

// A host write that landed just before apply's write of the same record.
struct Race {
  std::string org_id;  // where the host wrote
  std::string key;     // "object key"
  std::string id;      // the record's, in that org
  std::string field;
  FieldValue value;
  // HostLedger::writes(key, field) right after the racing write.
  uint64_t writes_then = 0;
};

class HostLedger {
 public:
  void ExcuseRecord(const std::string& key) { records_.insert(key); }
  void ExcuseField(const std::string& org_id, const std::string& key,
                   const std::string& field) {
    fields_[{key, field}].insert(org_id);
  }
  void Promise(const std::string& org_id, const std::string& key,
               const std::string& field) {
    auto it = fields_.find({key, field});
    if (it == fields_.end()) return;
    it->second.erase(org_id);
    if (it->second.empty()) fields_.erase(it);
  }
  // The record is promised after all: a bulk sync copied it (R60).
  void ForgiveRecord(const std::string& key) { records_.erase(key); }
  bool Excused(const std::string& key, const std::string& field) const {
    return records_.contains(key) || fields_.contains({key, field});
  }

  void NoteWrite(const std::string& key, const std::string& field) {
    ++writes_[{key, field}];
  }
  uint64_t writes(const std::string& key, const std::string& field) const {
    auto it = writes_.find({key, field});
    return it == writes_.end() ? 0 : it->second;
  }

  void NoteRace(Race race) { races_.push_back(std::move(race)); }
  const std::vector<Race>& races() const { return races_; }

  // An insert whose Capture returned OK: the record must exist in both
  // orgs at the end.
  void NoteCapturedInsert(const std::string& key) { inserted_.insert(key); }
  const std::set<std::string>& captured_inserts() const { return inserted_; }

  // An object that was unpublished (R20; sim_republish.h): its records are
  // paired by their links, not by their keys.
  void NoteDisconnected(const std::string& object) {
    disconnected_.insert(object);
  }
  bool Disconnected(const std::string& object) const {
    return disconnected_.contains(object);
  }

  // Counters for the run's description.
  uint64_t lost_captures = 0;  // Capture calls a crash cut short
  uint64_t uncaptured = 0;     // inserts the host never captured

 private:
  std::set<std::string> records_;
  // (key, field) -> the orgs whose uncaptured writes excuse it.
  std::map<std::pair<std::string, std::string>, std::set<std::string>>
      fields_;
  std::map<std::pair<std::string, std::string>, uint64_t> writes_;
  std::vector<Race> races_;
  std::set<std::string> inserted_;
  std::set<std::string> disconnected_;
};

}  // namespace orgsync::testing::sim

#endif  // ORGSYNC_TESTS_TESTING_SIM_LEDGER_H_
