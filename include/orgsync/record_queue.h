// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// RecordQueue: the durable FIFO of outgoing changes of one connection (the
// seed's Organization Sync Record Queue, DESIGN.md R50, R51, R55, R56).
//
// What a host sees (the engine's writer side is lib/queue/, not public):
//   * The backlog lives in the Org's Storage under "q/<connection>/", not in
//     memory: millions of queued entries cost disk, not RAM (design rule 6).
//   * Each entry has a sequence number: strictly increasing in queue order
//     and never reused once durable, even after a restart.
//   * An entry holds the record (object + id; empty for connection-level
//     actions), the QueueAction, an opaque payload (the serialized change),
//     the attempts made, the Next Retry Date, the last error and the time it
//     was enqueued.
//   * An entry leaves the queue only when the partner acknowledged it or
//     when it finally failed (then it is in the SyncLog as Failed, R51).
//     Only the connection's sending side removes entries; a host reads.
//   * Readers see an entry once its enqueue finished and every earlier-
//     numbered enqueue finished too, so a reader paging oldest first never
//     sees sequence N+1 before N.
//
// Counters: Count() and CountByAction() come from memory (rebuilt by one scan
// when the connection opens its queue); the other reads go to the Storage.
//
// Thread-safety: every RecordQueue method may be called concurrently from any
// thread, while the connection sends and captures.

#ifndef ORGSYNC_RECORD_QUEUE_H_
#define ORGSYNC_RECORD_QUEUE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orgsync/clock.h"
#include "orgsync/options.h"
#include "orgsync/queue_action.h"
#include "orgsync/sync_log.h"

namespace orgsync {

struct QueueError {
  SyncErrorCode code = SyncErrorCode::kNone;
  std::string message;
  friend bool operator==(const QueueError&, const QueueError&) = default;
};

struct QueueEntry {
  uint64_t sequence = 0;
  RecordRef record;
  QueueAction action = QueueAction::kGenericUpdate;
  std::string payload;
  // Failed delivery attempts so far.
  uint32_t attempts = 0;
  absl::Time enqueued;
  // When the entry may be sent (again): its enqueue time until it fails.
  absl::Time next_retry;
  // Set once a delivery attempt failed.
  std::optional<absl::Time> last_attempt;
  QueueError last_error;
  bool barrier = false;
};

struct QueuePage {
  std::vector<QueueEntry> entries;  // oldest first
  // Pass to the next List call for the next page; empty when there is none.
  std::string next_page_token;
};

// The read-only view of a connection's queue that a host gets from
// Connection::record_queue(). Entries enter the queue through Capture and
// the connection's own notices, and leave it only when the partner
// acknowledged them or they finally failed (design rule 2): the engine,
// which holds the sending window, is the only writer, so a host can list and
// count the queue but never acknowledge or remove an entry behind it.
class RecordQueue {
 public:
  // The largest page List returns.
  static constexpr size_t kMaxPageSize = 10000;

  virtual ~RecordQueue() = default;
  RecordQueue(const RecordQueue&) = delete;
  RecordQueue& operator=(const RecordQueue&) = delete;

  virtual const std::string& connection_id() const = 0;
  virtual const RecordQueueOptions& options() const = 0;

  // ---- Inspection (R50) ----

  // NotFound if `sequence` is not queued (or not visible yet).
  [[nodiscard]] virtual absl::StatusOr<QueueEntry> Get(
      uint64_t sequence) const = 0;

  // One page (1..kMaxPageSize entries) oldest first, starting after the
  // entry named by `page_token` ("" = from the start). InvalidArgument for a
  // bad page size or token.
  [[nodiscard]] virtual absl::StatusOr<QueuePage> List(
      std::string_view page_token, size_t page_size) const = 0;
  // Like List, starting after `after_sequence` (0 = from the start).
  [[nodiscard]] virtual absl::StatusOr<QueuePage> ListAfter(
      uint64_t after_sequence, size_t page_size) const = 0;

  // Queued entries (finished enqueues), from memory.
  virtual uint64_t Count() const = 0;
  // Non-zero counts only, from memory.
  virtual std::map<QueueAction, uint64_t> CountByAction() const = 0;

  // The oldest entry, if any.
  [[nodiscard]] virtual absl::StatusOr<std::optional<QueueEntry>> Oldest()
      const = 0;
  // How long the oldest entry has waited by the Clock; zero when empty.
  [[nodiscard]] virtual absl::StatusOr<absl::Duration> OldestEntryAge()
      const = 0;

  // Whether `record` has an entry in the queue (R55: a record whose change
  // failed and left the queue has none, and its next change is queued
  // normally). InvalidArgument for an empty record.
  [[nodiscard]] virtual absl::StatusOr<bool> HasPending(
      const RecordRef& record) const = 0;
  // The sequences queued for `record`, oldest first.
  [[nodiscard]] virtual absl::StatusOr<std::vector<uint64_t>>
  PendingSequences(const RecordRef& record) const = 0;

 protected:
  RecordQueue() = default;
};

}  // namespace orgsync

#endif  // ORGSYNC_RECORD_QUEUE_H_
