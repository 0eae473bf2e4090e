// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Verify: the proof that two connected orgs agree, started by the host on
// either side with Connection::StartVerify and followed with
// Connection::VerifyStatus.
//
// What is compared. Every object that flows over the connection in either
// direction (this org publishes it and the partner subscribes, or the
// reverse), or the ones named: for each record linked to the partner, its
// deleted flag and the values of the fields that sync (those this org
// publishes and the partner maps, and those the partner publishes and
// this org maps), lookups and user references compared as the ids they
// name in this org. Audit fields (copied once, R35) and auto-numbers (R36)
// are not compared. Records that are not linked are listed as such, on
// both sides.
//
// How. Neither org ships its records. This org reads its linked records in
// the order of their ids and sends, per range of about a thousand, a
// request; the partner finds its copies of the same range through its
// index of partner ids and answers with their count and a digest (a sum
// of 16-byte SHA-256 digests, one per record). Only a range whose digests
// differ is compared record by record (a digest per record). Two identical
// orgs exchange about 70 bytes per thousand records. Records with a change
// of their own still queued on either side are not compared; they are
// counted as pending (run Verify again once the connection is idle).
//
// Verify reads; it changes nothing, except with `repair`: when the run
// completes, the records of this org that differ, that the partner lacks
// or that are not linked are forwarded (Connection::Forward, R66), which
// makes the partner's copies equal to this org's. Records only the partner
// has are listed, not repaired: a Verify started on the partner repairs
// them from there.
//
// The run lives in memory: a restart of either org ends it (the status
// says so; start it again). One run at a time per connection.
//
// Thread-safety: plain values.

#ifndef ORGSYNC_VERIFY_H_
#define ORGSYNC_VERIFY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace orgsync {

struct VerifyOptions {
  // The objects to compare, by this org's names; each must flow over the
  // connection in one direction at least. Empty: every such object.
  std::vector<std::string> objects = {};
  // When the run completes, forward (R66) this org's records that differ,
  // that the partner lacks, or that are not linked.
  bool repair = false;
  // At most this many ids are listed per kind and object (the counts are
  // always whole); at least 1.
  uint64_t max_listed = 100;
  // Who started it, for the report.
  std::string actor = {};
};

enum class VerifyState : int {
  kRunning = 1,
  kCompleted = 2,  // every object compared; see the report
  kFailed = 3,     // stopped: `VerifyReport::error` says why
};

// A record Verify found different, by its ids in both orgs (one of them
// empty when that org has no copy).
struct VerifiedRecord {
  std::string local_id = {};
  std::string partner_id = {};
  friend bool operator==(const VerifiedRecord&,
                         const VerifiedRecord&) = default;
};

struct VerifyObjectReport {
  // This org's name of the object, and the partner's.
  std::string object = {};
  std::string partner_object = {};
  // The fields compared, by this org's names.
  std::vector<std::string> fields = {};
  // Linked records of this org read, and of those found equal.
  uint64_t compared = 0;
  uint64_t matched = 0;
  // Linked on both sides, with different values.
  uint64_t differing = 0;
  // Linked here, but the partner has no copy linked to it (or the record
  // its link names is gone there).
  uint64_t only_here = 0;
  // The partner's records linked to an id of this org that has no record
  // or link here.
  uint64_t only_there = 0;
  // Records of the object not linked to the partner, in each org.
  uint64_t unlinked_here = 0;
  uint64_t unlinked_there = 0;
  // Records with a change still queued, on either side: not compared.
  uint64_t pending = 0;
  // The first max_listed of each kind.
  std::vector<VerifiedRecord> differing_records = {};
  std::vector<VerifiedRecord> only_here_records = {};
  std::vector<VerifiedRecord> only_there_records = {};
  std::vector<std::string> unlinked_here_ids = {};
  std::vector<std::string> unlinked_there_ids = {};
  // Every object's records were read to the end.
  bool done = false;

  // No difference of any kind and nothing pending.
  bool identical() const {
    return differing == 0 && only_here == 0 && only_there == 0 &&
           unlinked_here == 0 && unlinked_there == 0 && pending == 0;
  }
  friend bool operator==(const VerifyObjectReport&,
                         const VerifyObjectReport&) = default;
};

struct VerifyReport {
  std::string connection_id = {};
  // 1, 2, 3... per connection since this org started.
  uint64_t run = 0;
  VerifyState state = VerifyState::kRunning;
  std::string actor = {};
  absl::Time started;
  // InfinitePast while running.
  absl::Time finished = absl::InfinitePast();
  // kFailed: why.
  std::string error = {};
  bool repair = false;
  // Records forwarded by the repair (R66), when it ran.
  uint64_t repaired = 0;
  std::vector<VerifyObjectReport> objects = {};
  // Verify's own traffic: serialized requests sent and answers received.
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;

  // Completed with every object identical.
  bool identical() const {
    if (state != VerifyState::kCompleted) return false;
    for (const VerifyObjectReport& object : objects) {
      if (!object.identical()) return false;
    }
    return true;
  }
  friend bool operator==(const VerifyReport&, const VerifyReport&) = default;
};

}  // namespace orgsync

#endif  // ORGSYNC_VERIFY_H_
