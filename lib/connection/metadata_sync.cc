// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Metadata sync (DESIGN.md R74, R73, R52, R2): the primary's supported
// metadata, as its host keeps it in a MetadataStore, copied into the
// secondary's.
//
// Runs. With sync metadata on, the primary runs a sync on acceptance (the
// Metadata Sync in Progress phase), when the option is turned off and on,
// and then every OrgOptions::metadata_sync_interval. A run pushes every
// item of the store, in (type, name) order, one batch at a time: the
// secondary compares each with its own byte for byte and writes only what
// differs, so the daily run costs the secondary one read per item, and a
// change made on the secondary is overwritten by the next run (R74). Deletes
// never travel: an item gone from the primary is simply not pushed. Renames
// of top-level items, which the host reports (CaptureMetadataRename), go
// ahead of the items of the next run.
//
// Not through the RecordQueue: the seed's queue actions have no metadata
// action (R56), and a run is a scan, not a list of changes. The run's
// progress (a cursor: the last item answered) is in the connection state;
// a restart continues the run from there. Pushes are numbered from 2^63
// up, never reused (the last number is written before a push goes out), so
// their answers never name a queue entry, and the secondary's applied mark
// makes a replayed push a no-op.
//
// Failures are not retried (R52): the secondary writes what it can of a
// batch, logs each item it could not write in its history, and answers the
// batch PERMANENT_FAILURE naming them, which the primary logs in its
// history (kMetadataSyncFailure) before going on with the next batch. Only
// an answer that never came, or a RETRYABLE_FAILURE (the secondary could
// not record the batch), sends the batch again, after the ack timeout.

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_join.h"
#include "connection/connection_impl.h"
#include "connection/connection_keys.h"
#include "orgsync/metadata_store.h"
#include "orgsync/status.h"
#include "proto/wire.pb.h"

namespace orgsync::internal {
namespace {

// Push numbers start above every queue sequence.
constexpr uint64_t kFirstMetadataPush = uint64_t{1} << 63;

// A batch holds at most this many items, or this many body bytes (but
// always one item): far below the partner's decoding limits.
constexpr size_t kMetadataItemsPerPush = 200;
constexpr size_t kMetadataBytesPerPush = size_t{4} << 20;
// An item larger than this is not pushed; the primary logs it.
constexpr size_t kMaxMetadataItemBytes = size_t{32} << 20;
// Renames one push carries at most.
constexpr int kRenamesPerPush = 500;
// Failures the secondary names in one answer, and logs per history window.
constexpr size_t kFailuresNamedPerAnswer = 20;
constexpr size_t kMetadataFailureRowsPerWindow = 20;

std::string ItemName(int type, std::string_view name) {
  return fmt::format("{} {}", MetadataTypeName(static_cast<MetadataType>(type)),
                     name);
}

// (type, name) order, as MetadataStore::Scan visits items.
bool AfterCursor(const MetadataItem& item, int cursor_type,
                 std::string_view cursor_name) {
  const int type = static_cast<int>(item.type);
  if (type != cursor_type) return type > cursor_type;
  return item.name > cursor_name;
}

// Writes one of the primary's items into `store` unless it holds it
// already. Returns the failure, if any, as history text.
std::optional<std::string> WriteMetadataItem(MetadataStore& store,
                                             const proto::MetadataItem& item,
                                             const ApplyContext& context) {
  const auto type = static_cast<MetadataType>(item.type());
  absl::StatusOr<MetadataItem> existing = store.Get(type, item.name());
  if (existing.ok() && existing->body == item.body()) return std::nullopt;
  if (!existing.ok() && !absl::IsNotFound(existing.status())) {
    return fmt::format("{}: reading it: {}", ItemName(item.type(), item.name()),
                       std::string(existing.status().message()));
  }
  absl::Status written = store.Upsert(
      MetadataItem{.type = type, .name = item.name(), .body = item.body()},
      context);
  if (!written.ok()) {
    return fmt::format("{}: {}", ItemName(item.type(), item.name()),
                       std::string(written.message()));
  }
  return std::nullopt;
}

// Renames the secondary's item. A rename already made (the old name gone,
// the new one there) and one of an item this org never had (the run's
// items bring it under its new name) are no failures.
std::optional<std::string> RenameMetadataItem(
    MetadataStore& store, const proto::MetadataRename& rename,
    const ApplyContext& context) {
  const auto type = static_cast<MetadataType>(rename.type());
  const std::string what = fmt::format(
      "renaming {} to {}", ItemName(rename.type(), rename.old_name()),
      rename.new_name());
  absl::StatusOr<MetadataItem> old_item = store.Get(type, rename.old_name());
  if (absl::IsNotFound(old_item.status())) return std::nullopt;
  if (!old_item.ok()) {
    return fmt::format("{}: {}", what, std::string(old_item.status().message()));
  }
  absl::Status renamed =
      store.Rename(type, rename.old_name(), rename.new_name(), context);
  if (!renamed.ok()) {
    return fmt::format("{}: {}", what, std::string(renamed.message()));
  }
  return std::nullopt;
}

}  // namespace

bool ConnectionImpl::MetadataRunDueLocked(absl::Time now) const {
  if (env_->metadata_store == nullptr || role_ != ReplicationRole::kPrimary ||
      !state_.sync().sync_metadata()) {
    return false;
  }
  const proto::StoredMetadataSync& stored = state_.metadata();
  return stored.running() ||
         StatusLocked() == ConnectionStatus::kMetadataSyncInProgress ||
         stored.requested() ||
         (stored.next_run_micros() != 0 &&
          now >= absl::FromUnixMicros(stored.next_run_micros()));
}

bool ConnectionImpl::CanPushMetadataLocked() const {
  if (transport_ == nullptr || !partner_available_) return false;
  const ConnectionStatus status = StatusLocked();
  return status == ConnectionStatus::kMetadataSyncInProgress ||
         status == ConnectionStatus::kUserSyncInProgress ||
         status == ConnectionStatus::kActive;
}

absl::Status ConnectionImpl::PushMetadataIfDue() {
  MetadataStore* store = env_->metadata_store;
  if (store == nullptr || role_ != ReplicationRole::kPrimary) {
    return absl::OkStatus();
  }
  const absl::Time now = env_->clock->Now();
  proto::StoredMetadataSync run;
  {
    internal::MutexLock lock(&mu_);
    if (!state_.sync().sync_metadata() || !CanPushMetadataLocked()) {
      return absl::OkStatus();
    }
    if (metadata_in_flight_.has_value() &&
        now - metadata_in_flight_->sent < env_->delivery.ack_timeout) {
      return absl::OkStatus();  // awaiting the answer
    }
    if (!state_.metadata().running()) {
      if (!MetadataRunDueLocked(now)) return absl::OkStatus();
      proto::ConnectionState next = state_;
      proto::StoredMetadataSync* started = next.mutable_metadata();
      started->set_running(true);
      started->set_initial(StatusLocked() ==
                           ConnectionStatus::kMetadataSyncInProgress);
      started->set_requested(false);
      started->clear_cursor_type();
      started->clear_cursor_name();
      started->set_run_items(0);
      started->set_run_failed_batches(0);
      ORGSYNC_RETURN_IF_ERROR(Commit(std::move(next), WriteBatch()));
    }
    // A push that timed out is replaced by a fresh one from the cursor.
    metadata_in_flight_.reset();
    run = state_.metadata();
  }

  // The next batch, read without mu_: the items after the cursor. The
  // batch's cursor is the last item it consumed, pushed or passed over.
  std::vector<MetadataItem> items;
  std::vector<std::string> too_large;
  int scanned_type = run.cursor_type();
  std::string scanned_name = run.cursor_name();
  size_t bytes = 0;
  bool more = false;
  if (run.renames().empty()) {
    ORGSYNC_RETURN_IF_ERROR(store->Scan([&](const MetadataItem& item) {
      if (!AfterCursor(item, run.cursor_type(), run.cursor_name())) {
        return true;
      }
      const bool oversized = item.body.size() > kMaxMetadataItemBytes;
      if (!oversized && !items.empty() &&
          (items.size() >= kMetadataItemsPerPush ||
           bytes + item.body.size() > kMetadataBytesPerPush)) {
        more = true;
        return false;
      }
      scanned_type = static_cast<int>(item.type);
      scanned_name = item.name;
      if (oversized) {
        too_large.push_back(ItemName(scanned_type, item.name));
      } else {
        bytes += item.body.size();
        items.push_back(item);
      }
      return true;
    }));
  }

  internal::MutexLock lock(&mu_);
  // Turned off, or answered by a concurrent Step, meanwhile: start over.
  const proto::StoredMetadataSync& stored = state_.metadata();
  if (!stored.running() || stored.last_push() != run.last_push() ||
      !CanPushMetadataLocked() || metadata_in_flight_.has_value()) {
    return absl::OkStatus();
  }
  proto::Envelope envelope;
  proto::MetadataPush* push = envelope.mutable_metadata_push();
  MetadataPushInFlight flying;
  // Renames go ahead of every item of the run (those captured meanwhile
  // go with the next push).
  flying.renames = std::min(run.renames_size(), kRenamesPerPush);
  for (int i = 0; i < flying.renames; ++i) {
    const proto::StoredMetadataRename& rename = run.renames(i);
    proto::MetadataRename* out = push->add_renames();
    out->set_type(static_cast<proto::MetadataType>(rename.type()));
    out->set_old_name(rename.old_name());
    out->set_new_name(rename.new_name());
  }
  if (flying.renames > 0) more = true;
  flying.cursor_type = scanned_type;
  flying.cursor_name = std::move(scanned_name);
  for (MetadataItem& item : items) {
    proto::MetadataItem* out = push->add_items();
    out->set_type(static_cast<proto::MetadataType>(item.type));
    out->set_name(std::move(item.name));
    out->set_body(std::move(item.body));
    ++flying.items;
  }
  flying.last_batch = !more;
  push->set_full(true);
  push->set_last_batch(flying.last_batch);

  proto::ConnectionState next = state_;
  const uint64_t number = stored.last_push() + 1;
  next.mutable_metadata()->set_last_push(number);
  WriteBatch batch;
  for (const std::string& item : too_large) {
    AddHistory(id_, StoredNow(*env_->clock), HistoryEvent::kMetadataSyncFailure,
               kSystemActor,
               fmt::format("{}: larger than {} bytes, not synced", item,
                           kMaxMetadataItemBytes),
               &next, &batch);
  }
  // The number is on disk before it is used: never reused after a crash.
  ORGSYNC_RETURN_IF_ERROR(Commit(std::move(next), std::move(batch)));
  flying.sequence = kFirstMetadataPush + number;
  push->set_sequence(flying.sequence);
  flying.sent = now;
  const absl::Status sent = SendEnvelope(std::move(envelope));
  // Sent or not, the push counts as in flight: a push the transport could
  // not take goes again after the ack timeout, not at every Step.
  metadata_in_flight_ = std::move(flying);
  if (sent.ok()) ++counters_.metadata_pushes_sent;
  // The partner went away or the transport is full: as for queue entries,
  // no error of Step's.
  if (absl::IsUnavailable(sent) || absl::IsResourceExhausted(sent)) {
    return absl::OkStatus();
  }
  return sent;
}

void ConnectionImpl::HandleMetadataAnswer(const proto::ItemResult& result) {
  if (!metadata_in_flight_.has_value() ||
      metadata_in_flight_->sequence != result.sequence()) {
    ++counters_.stale_results;  // a late copy, or the run was turned off
    return;
  }
  // Sent again after the ack timeout (the secondary could not record it).
  if (result.outcome() == proto::RETRYABLE_FAILURE) return;
  const MetadataPushInFlight answered = *std::move(metadata_in_flight_);
  metadata_in_flight_.reset();
  proto::ConnectionState next = state_;
  proto::StoredMetadataSync* run = next.mutable_metadata();
  if (!run->running()) return;  // turned off meanwhile
  WriteBatch batch;
  const absl::Time now = StoredNow(*env_->clock);
  run->set_cursor_type(answered.cursor_type);
  run->set_cursor_name(answered.cursor_name);
  run->mutable_renames()->DeleteSubrange(0, answered.renames);
  run->set_run_items(run->run_items() + answered.items);
  const bool failed = result.outcome() != proto::APPLIED &&
                      result.outcome() != proto::DUPLICATE;
  if (failed) {
    run->set_run_failed_batches(run->run_failed_batches() + 1);
    AddHistory(id_, now, HistoryEvent::kMetadataSyncFailure,
               PartnerActorName(state_.partner_org_id()),
               ClipPeerText(result.description()), &next, &batch);
  }
  if (answered.last_batch) {
    run->set_running(false);
    run->set_next_run_micros(
        absl::ToUnixMicros(now + env_->metadata_sync_interval));
    const std::string summary = fmt::format(
        "{} metadata items pushed{}", run->run_items(),
        run->run_failed_batches() == 0
            ? std::string()
            : fmt::format(", {} batches with failures (see Metadata Sync "
                          "Failure)",
                          run->run_failed_batches()));
    if (run->initial() &&
        StatusLocked() == ConnectionStatus::kMetadataSyncInProgress) {
      StageMetadataSyncEndLocked(kSystemActor, summary, &next, &batch);
    } else {
      AddHistory(id_, now, HistoryEvent::kMetadataSyncCompleted, kSystemActor,
                 summary, &next, &batch);
    }
  }
  if (!Commit(std::move(next), std::move(batch)).ok()) {
    // Not recorded: the run stays where it was, and the next Step pushes
    // the batch again under a new number; the secondary finds the items it
    // wrote already unchanged.
  }
}

proto::ItemResult ConnectionImpl::ApplyMetadataPush(
    const proto::MetadataPush& push) {
  const uint64_t sequence = push.sequence();
  MetadataStore* store = env_->metadata_store;
  std::vector<std::string> failures;
  size_t written = 0;
  if (role_ != ReplicationRole::kSecondary) {
    return ItemResultOf(sequence, proto::PERMANENT_FAILURE,
                        proto::ERROR_METADATA,
                        "metadata syncs from the primary to the secondary "
                        "only (R74)");
  }
  if (store == nullptr) {
    failures.push_back(fmt::format(
        "org {} has no metadata store (OrgOptions.metadata_store), so it "
        "syncs no metadata",
        env_->org_id));
  } else {
    absl::StatusOr<uint64_t> mark = AppliedMark(kMetadataOrderingKey);
    if (!mark.ok()) {
      return ItemResultOf(sequence, proto::RETRYABLE_FAILURE,
                          proto::ERROR_STORAGE,
                          std::string(mark.status().message()));
    }
    if (sequence <= *mark) return ItemResultOf(sequence, proto::DUPLICATE);
    const ApplyContext context{.from_replication = true,
                               .connection_id = id_};
    for (const proto::MetadataRename& rename : push.renames()) {
      if (auto failure = RenameMetadataItem(*store, rename, context)) {
        failures.push_back(*std::move(failure));
      }
    }
    for (const proto::MetadataItem& item : push.items()) {
      if (auto failure = WriteMetadataItem(*store, item, context)) {
        failures.push_back(*std::move(failure));
      } else {
        ++written;
      }
    }
  }
  internal::MutexLock lock(&mu_);
  proto::ConnectionState next = state_;
  WriteBatch batch;
  const std::string actor = PartnerActorName(state_.partner_org_id());
  for (const std::string& failure : failures) {
    AddIncomingHistory("metadata failure", kMetadataFailureRowsPerWindow,
                       HistoryEvent::kMetadataSyncFailure, actor,
                       ClipPeerText(failure), &next, &batch);
  }
  if (store != nullptr) PutAppliedMark(kMetadataOrderingKey, sequence, &batch);
  if (push.last_batch() &&
      StatusLocked() == ConnectionStatus::kMetadataSyncInProgress) {
    StageMetadataSyncEndLocked(actor, "the primary's metadata arrived", &next,
                               &batch);
  }
  if (const absl::Status committed = Commit(std::move(next), std::move(batch));
      !committed.ok()) {
    // Writing the batch again changes nothing that was written.
    return ItemResultOf(sequence, proto::RETRYABLE_FAILURE,
                        proto::ERROR_STORAGE,
                        std::string(committed.message()));
  }
  if (failures.empty()) {
    return ItemResultOf(sequence, proto::APPLIED, proto::ERROR_NONE,
                        fmt::format("{} items", written));
  }
  const size_t named = std::min(failures.size(), kFailuresNamedPerAnswer);
  std::string description = fmt::format(
      "{} of {} metadata items failed in org {}: {}", failures.size(),
      push.items_size() + push.renames_size(), env_->org_id,
      absl::StrJoin(failures.begin(), failures.begin() + named, "; "));
  if (named < failures.size()) description += "; ...";
  return ItemResultOf(sequence, proto::PERMANENT_FAILURE,
                      proto::ERROR_METADATA, std::move(description));
}

absl::StatusOr<CaptureResult> ConnectionImpl::CaptureMetadataRename(
    MetadataType type, std::string_view old_name, std::string_view new_name) {
  if (!IsTopLevelMetadataType(type)) {
    return absl::InvalidArgumentError(fmt::format(
        "CaptureMetadataRename: only roles, profiles and permission sets "
        "rename (R74), not {}",
        MetadataTypeName(type)));
  }
  if (old_name.empty() || new_name.empty() || old_name == new_name) {
    return absl::InvalidArgumentError(
        "CaptureMetadataRename: the old and the new name must be non-empty "
        "and differ");
  }
  if (env_->metadata_store == nullptr) {
    return absl::FailedPreconditionError(fmt::format(
        "CaptureMetadataRename on connection {}: the org has no "
        "MetadataStore (OrgOptions.metadata_store), so it syncs no metadata",
        id_));
  }
  internal::MutexLock lock(&mu_);
  if (role_ != ReplicationRole::kPrimary) {
    return absl::FailedPreconditionError(fmt::format(
        "CaptureMetadataRename on connection {}: metadata syncs from the "
        "primary only (R74)",
        id_));
  }
  if (!AcceptedLocked() ||
      StatusLocked() == ConnectionStatus::kDeactivated) {
    return absl::FailedPreconditionError(fmt::format(
        "CaptureMetadataRename on connection {}: the connection is {}", id_,
        ConnectionStatusName(StatusLocked())));
  }
  CaptureResult result;
  if (!state_.sync().sync_metadata()) {
    result.reason = "sync metadata is off";
    return result;
  }
  if (static_cast<size_t>(state_.metadata().renames_size()) >=
      kMaxPendingMetadataRenames) {
    return absl::ResourceExhaustedError(fmt::format(
        "connection {}: {} metadata renames wait for the next run already",
        id_, kMaxPendingMetadataRenames));
  }
  proto::ConnectionState next = state_;
  proto::StoredMetadataRename* rename =
      next.mutable_metadata()->add_renames();
  rename->set_type(static_cast<int>(type));
  rename->set_old_name(std::string(old_name));
  rename->set_new_name(std::string(new_name));
  ORGSYNC_RETURN_IF_ERROR(Commit(std::move(next), WriteBatch()));
  result.captured = true;
  return result;
}

bool IsMetadataPushSequence(uint64_t sequence) {
  return sequence >= kFirstMetadataPush;
}

}  // namespace orgsync::internal
