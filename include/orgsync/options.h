// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Every option struct a host sets, in one place (as LevelDB's options.h):
// what an Org, its connections' queues and logs, delivery, the Runner and
// the shipped Storage and RecordStores can be tuned with, each field with
// its default and why. The headers of those types include this one.
//
// Not here, on purpose:
//   * WriteOptions and ReadOptions stay in storage.h: they are arguments of
//     the Storage plug-in's own calls, and a Storage implementation should
//     need nothing of the rest of the library.
//   * InvitationOptions stays in connection.h: it names one invitation (its
//     id, type, owner and contact) rather than tuning anything, and needs
//     ConnectionType from there.
//
// Plain structs with default member initializers: copy and change what you
// need, e.g. OrgOptions{.org_id = "A", .schema = &schema}. Validation
// happens where they are used (Org::Open and the like), which return
// InvalidArgument naming the field.
//
// Thread-safety: values; the library copies them.

#ifndef ORGSYNC_OPTIONS_H_
#define ORGSYNC_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace orgsync {

// Defined in their own headers; options only point at them.
class Clock;
class ConflictResolver;
class RecordStore;
class Schema;
class MetadataStore;
class UserDirectory;
struct ConnectionEvent;
struct QueueSizeReport;
struct BulkSyncProgress;

// ---- The RecordQueue of each connection (orgsync/record_queue.h)

// When failed entries are retried (R51).
//
// After the k-th failed attempt (k >= 1) the entry waits
//   base(k) = min(initial_delay * multiplier^(k-1), max_delay)
// scaled by a jitter factor in (1 - jitter, 1]: the delay never exceeds
// max_delay and never drops below base(k) * (1 - jitter). The factor comes
// from a hash of (jitter_seed, sequence, k), not from a global random
// generator, so a simulation with a fixed seed replays exactly. When k
// reaches max_attempts the entry is exhausted: it leaves the queue.
struct RetryPolicy {
  absl::Duration initial_delay = absl::Minutes(1);
  double multiplier = 2.0;
  absl::Duration max_delay = absl::Hours(1);
  double jitter = 0.25;
  uint32_t max_attempts = 6;
  uint64_t jitter_seed = 0;

  // InvalidArgument unless initial_delay > 0, multiplier >= 1,
  // max_delay >= initial_delay, 0 <= jitter < 1 and max_attempts >= 1.
  [[nodiscard]] absl::Status Validate() const;

  // The wait before the next attempt of `sequence` after its
  // `failed_attempts`-th failure (>= 1).
  absl::Duration DelayAfter(uint64_t sequence, uint32_t failed_attempts) const;
};

struct RecordQueueOptions {
  RetryPolicy retry;
  // Largest accepted payload.
  size_t max_payload_bytes = 16 * 1024 * 1024;
  // Longest accepted object name, record id and error message.
  size_t max_name_bytes = 1024;
  size_t max_error_message_bytes = 16 * 1024;
  // Ready() examines at most this many entries per call, so that a long run
  // of entries waiting for a retry at the head cannot make one call read the
  // whole queue; the entries after the run wait for the next calls.
  size_t ready_scan_limit = 100000;
};

// ---- The SyncLog of each connection (orgsync/sync_log.h)

struct SyncLogOptions {
  // Entries older than this are pruned; zero or negative keeps them
  // forever. The defaults bound the log (issue 8: bounded state): a
  // quarter of a year of history, and at most a million entries (a few
  // hundred MB at the largest entries), whichever is reached first.
  absl::Duration max_age = absl::Hours(24 * 90);
  // At most this many entries are kept (the oldest go first); 0: no limit.
  uint64_t max_entries = 1'000'000;
  // Prune automatically after this many appended entries (on the thread
  // that finishes the append, after observers ran); 0: only on Prune().
  uint64_t prune_every = 1000;
  // Longest accepted description and detail value, in bytes.
  size_t max_text_bytes = 64 * 1024;
  // Most details per entry.
  size_t max_details = 64;
};

// ---- Connections (orgsync/connection.h)

// The invitation's options (seed: "Sync Feeds and Audit Fields", "Sync
// Metadata", "Sync Users").
struct SyncOptions {
  bool sync_feeds_and_audit_fields = false;
  bool sync_metadata = false;
  bool sync_users = false;

  friend bool operator==(const SyncOptions&, const SyncOptions&) = default;
};

// How a connection delivers its RecordQueue to the partner (Step()).
struct DeliveryOptions {
  // An entry sent but neither acknowledged nor failed after this long (by
  // the Org's Clock) is sent again: the transport may have lost it or its
  // answer.
  absl::Duration ack_timeout = absl::Seconds(30);
  // Most entries awaiting an answer at once (over all ordering keys).
  size_t max_in_flight = 2000;
  // Record changes travel batched; a batch holds at most this many changes
  // and at most this many encoded bytes (one larger change goes alone). The
  // partner applies a batch with one disk sync and acknowledges it with
  // one, so larger batches cost fewer syncs per change.
  //
  // Besides these, every envelope stays within the protocol's own limits
  // on bytes, wire elements (fields, list items, map entries) and nesting,
  // the same ones the partner's decoder enforces: a batch is closed before
  // a change would take it over either (wide records with many fields fill
  // the element limit long before the byte one). A change that alone is
  // over a protocol limit can never be delivered: it fails at once (SyncLog
  // Failed, its size and the limit in the description) and leaves the
  // queue. An envelope the partner nevertheless refuses is answered with a
  // protocol error; each change it carried fails an attempt (R51: Retrying,
  // then Failed when the attempts are used up) and goes again in envelopes
  // of at most half as many changes, and a change refused alone fails at
  // once. Nothing refused is sent again unchanged.
  size_t max_changes_per_envelope = 1000;
  size_t max_envelope_bytes = size_t{1} << 20;
  // Most queue entries one Step() picks to send. Entries in flight are
  // stepped over without being read, and the walk ends once max_in_flight
  // entries await an answer (RecordQueueOptions::ready_scan_limit bounds
  // how far it looks).
  size_t ready_scan = 4000;

  // InvalidArgument unless ack_timeout > 0 and every count is >= 1.
  [[nodiscard]] absl::Status Validate() const;
};

// ---- The Org (orgsync/org.h)

struct OrgOptions {
  // This org's id, [A-Za-z0-9_.-]{1,64}; sent to partners and stored, and a
  // Storage opened before with another id is refused.
  std::string org_id = {};
  std::string org_name = {};  // for display; sent to partners
  // The org's local schema, which every connection's PublishSet and
  // SubscriptionMap read. Not owned; must outlive the Org. Null: an empty
  // schema owned by the Org (nothing can be published or subscribed).
  const Schema* schema = nullptr;
  // Options of every connection's RecordQueue (retry schedule, R51),
  // SyncLog (retention) and delivery.
  RecordQueueOptions queue = {};
  SyncLogOptions log = {};
  DeliveryOptions delivery = {};
  // The host's records, which every connection captures from and applies
  // the partner's record changes to (live sync, R30). Not owned; must
  // outlive the Org. Null: no record sync (Connection::Capture answers
  // FailedPrecondition and incoming record changes are refused).
  RecordStore* record_store = nullptr;
  // Decides field conflicts on two-way objects. Not owned; must outlive the
  // Org and be callable from the thread that steps the Org. Null: last
  // writer wins, ties to the primary.
  ConflictResolver* conflict_resolver = nullptr;
  // Whether a user id exists in this org (R37: a missing user is replaced
  // by the connection owner). Called from the stepping thread. Null: every
  // user exists.
  std::function<bool(std::string_view user_id)> user_exists = {};
  // The host's users (orgsync/user_directory.h), which connections with
  // "sync users" on copy and keep in sync (R70-R73). Not owned; must
  // outlive the Org; called from the stepping thread. Null: no user sync
  // (the host then ends the User Sync in Progress phase itself with
  // Connection::CompleteUserSync, and CaptureUser answers
  // FailedPrecondition).
  UserDirectory* user_directory = nullptr;
  // The host's metadata (orgsync/metadata_store.h). With "sync metadata"
  // on, a primary pushes every supported item of it to the secondary, which
  // writes them into its own (R74): on acceptance (Metadata Sync in
  // Progress, R2), when the option is turned off and on (R73), and then
  // every `metadata_sync_interval`. Not owned; must outlive the Org; called
  // from the stepping thread and the thread that delivers messages. Null:
  // no metadata sync (the host then ends the Metadata Sync in Progress
  // phase itself with Connection::CompleteMetadataSync, and a secondary
  // refuses the primary's pushes, which the primary logs).
  MetadataStore* metadata_store = nullptr;
  // Time between two scheduled metadata sync runs, by the Clock (the
  // seed's daily sync). Must be > 0.
  absl::Duration metadata_sync_interval = absl::Hours(24);
  // Binary field values larger than this are not synced (R38): not sent,
  // and refused (FILE_TOO_LARGE) when a partner sends one.
  size_t max_file_bytes = size_t{38} * 1024 * 1024;
  // R7: while a connection is Suspended, Connection::Step() calls
  // `queue_report` with the size of its queue, first one interval after the
  // suspension began and then every interval (the seed's twice-daily email
  // to the owner and to whoever suspended it; sending it is the host's
  // job). Called on the stepping thread without any orgsync lock held; it
  // may call the Org and its connections. Null: no reports, but the
  // schedule is still kept, so a host that sets one later (at a restart)
  // gets the next report on time. The interval must be positive and finite;
  // changing it at a restart takes effect after the report already due.
  absl::Duration queue_report_interval = absl::Hours(12);
  std::function<void(const QueueSizeReport&)> queue_report = {};
  // Told of every ConnectionEvent (orgsync/connection.h) of every
  // connection, once the change is durable, in order per connection. Called
  // without any orgsync lock held, on the thread that made the change (the
  // one calling Step(), delivering a message, or making the host's own call,
  // e.g. Suspend), or on the next of those if that thread was already
  // telling events; it may call the Org and its connections. Null: no
  // events are collected.
  std::function<void(const ConnectionEvent&)> connection_events = {};
  // Told of a bulk sync's progress (orgsync/bulk_sync.h): when it starts,
  // at the end of each Step() that saw it move (copies queued or answered
  // since the last time), and when it completes. Called without any orgsync
  // lock held, on the thread that calls Step() (or StartBulkSync); it may
  // call the Org and its connections. Null: progress is only queried
  // (Connection::BulkSyncStatus).
  std::function<void(const BulkSyncProgress&)> bulk_sync_progress = {};
};

// ---- The background Runner (orgsync/runner.h)

struct RunnerOptions {
  // How long the runner waits, when a round did no work, before the next
  // one (unless woken). Must be positive; InfiniteDuration means "only when
  // woken".
  absl::Duration idle_interval = absl::Milliseconds(10);
  // Most rounds in a row that start at once because the previous one did
  // work; then the runner waits one idle interval. At least 1.
  size_t max_busy_steps = 100;
  // Optional work done after every Org::Step() of a round, on the runner's
  // thread; returns how much it did (non-zero makes the round busy). E.g.
  // driving an InProcessTransportPair: [&pair] { return pair.Step(); }.
  // An error is counted like a failed step.
  std::function<absl::StatusOr<size_t>()> extra_step = {};
};

// ---- The shipped LevelDB Storage (orgsync/storage.h)

// Options for the LevelDB-backed storage.
struct LevelDbStorageOptions {
  // Create the folder's database if it does not exist yet. When false, a
  // folder without a database is NotFound.
  bool create_if_missing = true;
  // LevelDB's block cache in bytes; 0 keeps LevelDB's default (8 MiB).
  size_t block_cache_bytes = 0;
  // LevelDB's write buffer (memtable) in bytes; 0 keeps LevelDB's default.
  size_t write_buffer_bytes = 0;
  // The size of a table file's data blocks, before compression: the unit
  // LevelDB reads, checksums and caches. 16 KiB by default, four times
  // LevelDB's own default: every block a compaction reads is one pread()
  // (the shipped Storage reads tables without mmap, see mmap_reads), and
  // compactions are most of the disk work of a sync -- live_sync_bench,
  // three paired runs of streaming and drain, moved 5-10% more changes per
  // second at 16 KiB than at 4 KiB, and no more at 32 or 64 KiB. A point
  // read that misses the block cache reads one whole block, so a host whose
  // own reads through this Storage are small and random may want less.
  // Tables written with one size are read under any other. Must be
  // 1 KiB..4 MiB (InvalidArgument).
  size_t block_bytes = size_t{16} << 10;
  // Bits per key of a Bloom filter over orgsync's record links and field
  // stamps only (the keys it looks up by id and often misses: the link of
  // a record sent or received for the first time, the stamp of a field
  // never captured), stored with each table file: a lookup of such a key
  // skips the data blocks of the tables that cannot hold it. Queue entries
  // and every other key are left out, so a backlog waiting to be sent adds
  // nothing to the filters; the links of the records synced do, and
  // LevelDB keeps the filter of every open table in memory. Measured with
  // live_sync_bench at 10 bits: link lookups read half as many data
  // blocks, and the drain of a 1,000,000-record backlog (which links a
  // million records on each side) peaked about 10 MiB higher (64-69 vs
  // 55-57 MiB above empty). About 1% false positives at 10 bits; 0 (the
  // default) stores none. Ignored when bloom_filter_bits_per_key is set.
  // Must be 0..40 (InvalidArgument).
  int sync_state_filter_bits_per_key = 0;
  // Bits per key of a Bloom filter over every key, instead of the one
  // above; 0 (the default) stores none. LevelDB keeps the filter of every
  // open table in memory, so its cost grows with the keys on disk -- with a
  // backlog, without bound: draining a 1,000,000-change backlog peaked
  // 13 MiB higher at 10 bits (live_sync_bench backlog: 67.5 vs 54.5 MiB
  // above empty). A host whose own reads through this Storage mostly miss
  // may turn it on. A database written with one filter setting opens with
  // any other: tables whose filter is not the one asked for are read
  // without one. Must be 0..40 (InvalidArgument).
  int bloom_filter_bits_per_key = 0;
  // Snappy-compress table blocks. Off by default: orgsync's keys and
  // values are small and short-lived (queue entries leave once
  // acknowledged), so compression saves little disk and costs the CPU of
  // every flush and compaction, which on a small machine is CPU the
  // replication needs (live_sync_bench drain: about 7% more inserts and
  // 18% more updates per second without it). Either setting reads tables
  // written with the other.
  bool compress_tables = false;
  // Read table files through mmap (LevelDB's default) instead of pread.
  // Mapped pages a scan touches count in the process's resident memory, so
  // with a large database the RSS grows with the data read; pread leaves
  // them in the kernel's page cache. Off unless a host measured a gain.
  bool mmap_reads = false;
};

// ---- The shipped RecordStores (orgsync/record_store.h)

// Options shared by the shipped stores.
struct RecordStoreOptions {
  // The schema that declares which fields are lookups, the same one the
  // Org is opened with; not owned; must outlive the store. Required: the
  // factories refuse nullptr with InvalidArgument, because a store without
  // it would know no lookups and silently never cascade a delete (R33).
  // A field whose type IsLookupFieldType (lookup, master-detail) holds a
  // Reference or null, and a Reference there makes the record a child of
  // the referenced one; a delete cascades along master-detail fields only
  // (IsCascadingLookupFieldType). The store reads the schema at each call,
  // so a change the host makes to it counts from the next call on. Objects
  // and fields the schema does not define are stored as given, with no
  // lookups.
  const Schema* schema = nullptr;
  // The time source for LastModifiedDate / CreatedDate stamps; not owned;
  // must outlive the store. nullptr means Clock::System().
  Clock* clock = nullptr;
  // Prefix of generated ids, e.g. "P-" so that ids from two orgs are told
  // apart in tests. Ids are prefix + a zero-padded counter.
  std::string id_prefix = {};
  // The user stamped into audit fields of local writes.
  std::string user = "host";
  // OpenStorageRecordStore only (the in-memory store ignores it): the store
  // lives in the very Storage its Org was opened on. The writes live sync
  // makes into it -- ReserveId, and every call with
  // context.from_replication -- are then not synced one by one: the org's
  // own synced write that records a received envelope as applied comes
  // later in the same Storage, and a synced write is durable together with
  // every write before it (the Storage contract). An envelope of a thousand
  // changes then costs one sync instead of one or two per change. The
  // host's own writes stay synced. Leave it false when the store has a
  // Storage of its own: a crash could then lose a replicated write that
  // the org already recorded as applied. Either way ReserveId is not
  // synced: the ids of an envelope's inserts are made durable together,
  // by SyncReservedIds (one sync) or, here, by the org's synced write of
  // the links that name them.
  bool shares_org_storage = false;
};

}  // namespace orgsync

#endif  // ORGSYNC_OPTIONS_H_
