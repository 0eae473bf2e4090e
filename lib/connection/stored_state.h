// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// A connection's persisted state (proto::ConnectionState) and history, as
// the files of ConnectionImpl read and write them: conversions between the
// public enums and the stored ones, the checks of a loaded state, history
// entries and the texts they keep.
//
// Thread-safety: pure functions.

#ifndef ORGSYNC_LIB_CONNECTION_STORED_STATE_H_
#define ORGSYNC_LIB_CONNECTION_STORED_STATE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/options.h"
#include "orgsync/storage.h"
#include "proto/connection_state.pb.h"

namespace orgsync::internal {

// Clock time truncated to what the Storage keeps, so that the in-memory
// state always equals the reopened one.
absl::Time StoredNow(const Clock& clock);

// "sync feeds and audit fields on, sync metadata off, ...", for history.
std::string DescribeSync(const SyncOptions& sync);

// Appends a history entry to `batch`, numbering it from `state` (whose
// status is recorded as the status after the event). Returns the entry.
proto::StoredHistoryEntry AddHistory(std::string_view connection_id,
                                     absl::Time time, HistoryEvent event,
                                     std::string_view actor,
                                     std::string_view detail,
                                     proto::ConnectionState* state,
                                     WriteBatch* batch);

// Longest owner, contact, actor, or peer-supplied text kept in history.
inline constexpr size_t kMaxHistoryTextBytes = 256;

// Text that came from an unauthenticated peer, made safe to keep.
std::string ClipPeerText(std::string_view text);

// "partner:<org id>", the actor of events the partner caused.
std::string PartnerActorName(std::string_view org_id);

// The actor of events the engine causes itself (HistoryEntry::actor).
inline constexpr std::string_view kSystemActor = "system";

// The first status after acceptance (R2).
ConnectionStatus FirstPhaseAfterAcceptance(const SyncOptions& sync);

// Every status but Invited and Deactivated.
bool IsAcceptedStatus(ConnectionStatus status);

proto::StoredConnectionStatus ToStoredStatus(ConnectionStatus status);
ConnectionStatus FromStoredStatus(proto::StoredConnectionStatus status);
proto::StoredSyncOptions ToStoredSync(const SyncOptions& sync);
SyncOptions FromStoredSync(const proto::StoredSyncOptions& sync);

// Checks a loaded state: DataLoss if an enum is out of range or the id is
// not `connection_id`.
[[nodiscard]] absl::Status ValidateStoredState(
    std::string_view connection_id, const proto::ConnectionState& state);

// Bulk Sync entries leaving the queue, by object, to be counted into the
// stored bulk sync (bulk_sync.cc): applied by the partner, failed for
// good, or not sent (skipped when due).
struct BulkAnswers {
  std::map<std::string, uint64_t, std::less<>> copied;
  std::map<std::string, uint64_t, std::less<>> failed;
  std::map<std::string, uint64_t, std::less<>> dropped;
  bool empty() const {
    return copied.empty() && failed.empty() && dropped.empty();
  }
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_CONNECTION_STORED_STATE_H_
