// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// LocalChange: what the host reports to orgsync after it changed a record,
// so that the change is sent to the partner org (live sync, R30).
//
// The host calls the connection's Capture with a LocalChange right after its
// own write succeeded, passing the record as the store returned it (fields,
// audit fields, version, deleted flag) and the ApplyContext of the write.
// Capture returns OK only once the change is durable in the RecordQueue
// (design rule 2). What is not published, or published but not subscribed
// by the partner yet, is not captured (R18): the result says so and nothing
// is written. A change the host made with
// context.from_replication (orgsync applying the partner's change) is never
// captured: Capture of it is a no-op that returns "not captured" (R31, no
// echo), so a host may simply capture every write it makes.
//
// Thread-safety: plain values. Capture itself may be called from many host
// threads at once.

#ifndef ORGSYNC_CAPTURE_H_
#define ORGSYNC_CAPTURE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "orgsync/record.h"
#include "orgsync/record_store.h"

namespace orgsync {

enum class ChangeKind : int {
  kInsert = 1,
  kUpdate = 2,
  kDelete = 3,
  kUndelete = 4,
};

struct LocalChange {
  ChangeKind kind = ChangeKind::kUpdate;
  // The record as the host stored it after the change; record.object and
  // record.id name it. For a delete or undelete only object, id, version
  // and audit.last_modified_date are needed.
  Record record;
  // For updates: the names of the fields the change touched (values taken
  // from record.fields). An update that touches no published field captures
  // nothing. Ignored for other kinds.
  std::vector<std::string> changed_fields;
  // For deletes and undeletes: the store cascaded to children (R33), which
  // the partner then cascades as well; the children are not captured one by
  // one.
  bool cascade = true;
  // With cascade: the records the store's Delete/Undelete took along
  // (CascadeResult::affected after the record itself). When given, the
  // partner deletes/undeletes exactly these children with the record, even
  // where its own children differ for a moment (two-way races), so both orgs
  // converge. When not given (cascaded_known false), the partner cascades as
  // its own store does.
  std::vector<RecordRef> cascaded;
  bool cascaded_known = false;
  // The context of the host's write; from_replication means "do not
  // capture".
  ApplyContext context;
};

struct CaptureResult {
  // False when nothing was queued: the object or every changed field is
  // unpublished, or the write came from replication. `reason` says which.
  bool captured = false;
  // The RecordQueue sequence of the queued change (0 if not captured).
  uint64_t sequence = 0;
  std::string reason;
  // Fields left out of the payload although published: binary fields above
  // the connection's file size limit (R38, each logged).
  std::vector<std::string> dropped_fields;
};

}  // namespace orgsync

#endif  // ORGSYNC_CAPTURE_H_
