// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// ChangeSink (engine plumbing, not public): how a configuration component hands the partner-facing side
// effects of a change to whoever sends them, in the same atomic write.
//
// PublishSet and SubscriptionMap must tell the partner what changed (R21:
// Type Map Update, Field Map Delete, ...). The notice has to be durable
// exactly when the change is: a crash between the two would leave the
// partner with a stale map forever. So a component that changes its state
//   1. validates and builds its own WriteBatch,
//   2. calls sink->Stage(notices, &batch), which adds its own writes (for a
//      Connection: RecordQueue entries) to the same batch,
//   3. writes the batch with sync=true,
//   4. calls sink->Finish(write_status) so the sink can update its in-memory
//      state (or forget what it staged if the write failed).
// Finish is called exactly once after every Stage that returned OK.
//
// Thread-safety: a component calls Stage/Finish for one change at a time
// (it holds its own lock across steps 1-4); implementations need not be
// re-entrant for one component, but a sink shared by several components must
// be thread-safe.

#ifndef ORGSYNC_LIB_PUBLISH_CHANGE_SINK_H_
#define ORGSYNC_LIB_PUBLISH_CHANGE_SINK_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "orgsync/queue_action.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"

namespace orgsync::internal {

// A publish/subscribe change that must reach the partner (R21).
struct MapNotice {
  QueueAction action;      // one of the Type/Field/Value Map actions
  std::string object;      // the object (type) concerned
  std::string field;       // the field, for Field Map actions; else empty
  std::string new_name;    // for the Name Update actions
  std::string value;       // the picklist value, for Value Map Delete
  // Filled by the emitting component so that the sink can make the notice
  // self-contained in Stage (where it must not call back into the
  // component):
  //   PublishSet: the publication of `object` after the change (what the
  //     partner must now see), when the object is still published;
  //   SubscriptionMap, Type Map Set Partner Sub: whether this side now
  //     subscribes to `object`.
  std::optional<ObjectDef> publication = {};
  bool subscribed = false;
};

class ChangeSink {
 public:
  virtual ~ChangeSink() = default;

  // Adds the writes that deliver `notices` to `batch`. An error aborts the
  // whole change (nothing is written, Finish is not called).
  [[nodiscard]] virtual absl::Status Stage(absl::Span<const MapNotice> notices,
                                           WriteBatch* batch) = 0;

  // Reports how the write of the batch ended.
  virtual void Finish(const absl::Status& write_status) = 0;
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_PUBLISH_CHANGE_SINK_H_
