// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Bulk sync and forwarding: copying the records that exist already to the
// partner (DESIGN.md R60-R66), started by the host with
// Connection::StartBulkSync and Connection::Forward.
//
// Live sync (R30) carries only what changes after an object is published
// and subscribed (R18); a new secondary starts empty. A bulk sync copies,
// in this org's direction only, the records of objects this org publishes
// and the partner subscribes that were created or modified at or after a
// cutoff (by default, and at the earliest, one year before now; R61), or
// up to a number of records (R60).
//
// How it runs. The connection reads the host's RecordStore page by page
// (RecordStore::ScanPage) from Step(), objects in parent-before-child
// order (R65), and queues one Bulk Sync entry per record in its
// RecordQueue, a window at a time so that live changes keep flowing beside
// it. Each entry is sent like a live insert, with the record as it is when
// the entry goes out, so a record edited during the bulk sync arrives with
// its latest values; a later edit queued after the copy follows it in
// order (per-record order, R50). Progress is the number of copies still in
// the queue (the seed's "records remaining", R63).
//   * R62: a record already linked to the partner (copied before, by live
//     sync or an earlier bulk sync), or with a change of its own already
//     queued, is not copied again; it counts as skipped. So successive
//     bulk syncs over earlier and earlier cutoffs copy each record once.
//   * R65: a copied record's parents (lookups to objects this org
//     publishes and the partner subscribes) that are not linked yet are
//     queued before it, whatever their date or object, level after level,
//     so multi-level lookups resolve on the partner.
//   * R64: a record the partner refuses for good is logged Failed (the
//     queue's retries first, R51); a record whose parent failed is not
//     sent: it is logged Failed with MISSING_PARENT, and so on down. Other
//     records go on.
//   * Restarts: what was scanned and queued is durable with the queue
//     entries themselves (one atomic write per page), so a crash, a
//     restart, a suspension or a partner outage continues where the bulk
//     sync was, without copying anything twice.
//
// Thread-safety: plain values.

#ifndef ORGSYNC_BULK_SYNC_H_
#define ORGSYNC_BULK_SYNC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "orgsync/capture.h"
#include "orgsync/record.h"

namespace orgsync {

// How far back a bulk sync may reach (R61): its cutoff is at most this long
// before now, by the Org's Clock.
inline constexpr absl::Duration kMaxBulkSyncAge = absl::Hours(24 * 365);

struct BulkSyncOptions {
  // The objects to copy; each must be published by this org and subscribed
  // by the partner, and is copied after the objects it looks up (R65),
  // whatever the order given. Empty: every such object.
  std::vector<std::string> objects = {};
  // Records created or modified at or after this time are copied (R60).
  // nullopt: the earliest allowed, kMaxBulkSyncAge before now (R61). An
  // earlier time is refused.
  std::optional<absl::Time> cutoff = std::nullopt;
  // At most this many records are queued for copying, parents included
  // (R60, "up to N records"); 0: no limit.
  uint64_t max_records = 0;
  // Who started it, for the connection's history.
  std::string actor = {};
};

enum class BulkSyncState : int {
  kRunning = 1,    // records are being read or copies are still queued
  kCompleted = 2,  // every copy was answered (copied, failed or skipped)
};

struct BulkSyncObjectProgress {
  std::string object = {};
  // Records whose copy was queued.
  uint64_t queued = 0;
  // Of those, applied by the partner.
  uint64_t copied = 0;
  // Of those, failed for good (each in the SyncLog, R64).
  uint64_t failed = 0;
  // Records not copied: linked to the partner already or with a change of
  // their own queued (R62), or deleted, when the scan read them; or linked
  // meanwhile (or gone from the store) by the time their queued copy was
  // due. (A record deleted after its copy was queued is still copied: the
  // delete that follows it removes the copy.)
  uint64_t skipped = 0;
  // Queued copies not answered yet.
  uint64_t remaining = 0;
  // Every record of the object in range has been looked at; until then
  // more may be queued.
  bool scanned = false;

  friend bool operator==(const BulkSyncObjectProgress&,
                         const BulkSyncObjectProgress&) = default;
};

struct BulkSyncProgress {
  std::string connection_id = {};
  // 1, 2, 3... per connection.
  uint64_t run = 0;
  BulkSyncState state = BulkSyncState::kRunning;
  std::string actor = {};
  absl::Time started;
  // InfinitePast while running.
  absl::Time finished = absl::InfinitePast();
  absl::Time cutoff;
  uint64_t max_records = 0;
  // In copy order: parents first. An object whose records were queued only
  // as parents of others (not chosen, or its scan not reached) is listed
  // too.
  std::vector<BulkSyncObjectProgress> objects = {};

  // Sums over the objects.
  uint64_t queued() const;
  uint64_t copied() const;
  uint64_t failed() const;
  uint64_t skipped() const;
  uint64_t remaining() const;

  friend bool operator==(const BulkSyncProgress&,
                         const BulkSyncProgress&) = default;
};

// ---- Forwarding (R66; Connection::Forward)
//
// Copies chosen records to the partner now, whatever their date: a record
// the partner does not have yet goes as an insert (with its audit fields
// when "sync feeds and audit fields" is on, R35); one already linked goes
// whole, every published field, as an update -- the way to repair a single
// record that differs. Records of child-only objects (ObjectDef::
// child_only: comments, feed items, team members) that look up a
// forwarded record go with it; other related records only when their
// object is named in `related_objects`. A parent is not forwarded with
// its child: a child whose parent the partner lacks fails there
// (MISSING_PARENT, R14) until the parent is forwarded, and then goes with
// its own next forward or change (R55).
struct ForwardOptions {
  // The records to forward, each once; all or none are queued.
  std::vector<RecordRef> records = {};
  // Objects whose records that look up a forwarded record are forwarded
  // with it (the seed's selected related records).
  std::vector<std::string> related_objects = {};
};

struct ForwardResult {
  // One per ForwardOptions::records, in order.
  std::vector<CaptureResult> records = {};
  // The child-only and selected related records forwarded with them,
  // after their parent.
  std::vector<RecordRef> children = {};
};

}  // namespace orgsync

#endif  // ORGSYNC_BULK_SYNC_H_
