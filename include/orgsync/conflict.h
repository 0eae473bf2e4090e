// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// ConflictResolver: decides which write of a field wins when both orgs of a
// two-way connection changed the same field of the same linked record
// before either saw the other's change.
//
// orgsync keeps, per linked record and field, a stamp of the last write:
// the record's LastModifiedDate (microseconds), the org that wrote it, its
// version there and its queue sequence. Fields changed on one side only
// simply merge. When the same field was changed on both sides, the resolver
// is asked; every such conflict is logged in the SyncLog (status Info, code
// CONFLICT, both values and the winner in the details) whatever it decides.
//
// The resolver sees the two writes as "the primary's" and "the secondary's",
// never as "mine" and "theirs", so that the same resolver gives the same
// answer in both orgs and they end with the same value. It must be a pure
// function of its input (no clock, no randomness, no per-org state). When it
// picks the write whose stamp is lower, the org that applies its decision
// re-stamps the winning value above both and sends it again, so the other
// org converges even if it did not see the conflict.
//
// The default (DefaultConflictResolver) is last writer wins by
// LastModifiedDate, ties to the primary.
//
// Thread-safety: Resolve may be called from the connection's step thread
// while host threads run; implementations must not depend on host state
// without their own locking.

#ifndef ORGSYNC_CONFLICT_H_
#define ORGSYNC_CONFLICT_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "orgsync/record.h"

namespace orgsync {

// One side's write of a conflicting field.
struct FieldWrite {
  FieldValue value;
  // The record's LastModifiedDate when that org wrote the field.
  absl::Time modified = absl::UnixEpoch();
  // The record's version in the org that wrote it.
  uint64_t version = 0;
};

struct FieldConflict {
  // The object and field as the resolving org names them (mapped names may
  // differ between the orgs).
  std::string object;
  std::string field;
  // The record id in the org that is resolving (differs between the orgs).
  std::string record_id;
  FieldWrite primary;
  FieldWrite secondary;
};

enum class ConflictWinner : int {
  kPrimary = 1,
  kSecondary = 2,
};

class ConflictResolver {
 public:
  virtual ~ConflictResolver() = default;
  virtual ConflictWinner Resolve(const FieldConflict& conflict) = 0;
};

// Last writer wins by `modified`; a tie goes to the primary.
class DefaultConflictResolver final : public ConflictResolver {
 public:
  ConflictWinner Resolve(const FieldConflict& conflict) override {
    return conflict.secondary.modified > conflict.primary.modified
               ? ConflictWinner::kSecondary
               : ConflictWinner::kPrimary;
  }
};

}  // namespace orgsync

#endif  // ORGSYNC_CONFLICT_H_
