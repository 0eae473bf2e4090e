// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Verify on a connection (include/orgsync/verify.h): starting a run and
// reporting it, the step thread's part of the initiator's run (reading
// this org's records and links, sending the requests, the repair), and
// sending the responder's answers. The run's logic is VerifyRun
// (verify_run.h), what is shared and the answers VerifySharing
// (verify_sharing.h), the digests engine/verify_digests.h's.

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "connection/connection_impl.h"
#include "connection/connection_keys.h"
#include "connection/verify_run.h"
#include "connection/verify_sharing.h"
#include "engine/verify_digests.h"
#include "orgsync/status.h"

namespace orgsync::internal {
namespace {

// Pages of this org's records the step thread reads per Step.
constexpr int kVerifyReadsPerStep = 8;

}  // namespace

// --- Starting and reporting ---------------------------------------------------

absl::StatusOr<VerifyReport> ConnectionImpl::StartVerify(
    const VerifyOptions& options) {
  if (record_sync_ == nullptr) {
    return absl::FailedPreconditionError(fmt::format(
        "StartVerify on connection {}: the org has no RecordStore "
        "(OrgOptions.record_store), so it syncs no records",
        id_));
  }
  if (options.max_listed == 0) {
    return absl::InvalidArgumentError("StartVerify: max_listed must be >= 1");
  }
  ORGSYNC_ASSIGN_OR_RETURN(
      std::vector<proto::VerifyObject> plan,
      VerifySharingNow().Plan(options.objects));
  internal::MutexLock lock(&mu_);
  if (transport_ == nullptr) {
    return absl::FailedPreconditionError(fmt::format(
        "StartVerify on connection {}: no transport is attached, so the "
        "partner cannot be asked",
        id_));
  }
  if (StatusLocked() != ConnectionStatus::kActive) {
    return absl::FailedPreconditionError(fmt::format(
        "StartVerify on connection {}: the connection is {}; Verify runs "
        "while it is Active",
        id_, ConnectionStatusName(StatusLocked())));
  }
  internal::MutexLock verify_lock(&verify_mu_);
  if (verify_ != nullptr && verify_->running()) {
    return absl::FailedPreconditionError(fmt::format(
        "StartVerify on connection {}: Verify {} (started {} by {}) is still "
        "running; one at a time",
        id_, verify_->run(),
        absl::FormatTime(verify_->report().started, absl::UTCTimeZone()),
        verify_->report().actor));
  }
  const uint64_t run = verify_ == nullptr ? 1 : verify_->run() + 1;
  verify_ = std::make_unique<VerifyRun>(run, options, id_,
                                        env_->clock->Now(), std::move(plan));
  return verify_->report();
}

absl::StatusOr<std::optional<VerifyReport>> ConnectionImpl::VerifyStatus()
    const {
  internal::MutexLock lock(&verify_mu_);
  if (verify_ == nullptr) return std::nullopt;
  return verify_->report();
}

bool ConnectionImpl::VerifyRunning() const {
  internal::MutexLock lock(&verify_mu_);
  return verify_ != nullptr && verify_->running();
}

// --- The initiator's step ---------------------------------------------------

VerifySharing ConnectionImpl::VerifySharingNow() const {
  return VerifySharing(VerifySharing::Deps{
      .org_id = env_->org_id,
      .connection_id = id_,
      .schema = env_->schema,
      .publish_set = publish_set_.get(),
      .subscription_map = subscription_map_.get(),
      .reader = {.schema = env_->schema,
                 .store = env_->record_store,
                 .queue = record_queue_.get(),
                 .links = &record_sync_->links(),
                 .partner_user = [this](std::string_view local_user)
                     -> absl::StatusOr<std::optional<std::string>> {
                   return storage_->GetIfPresent(
                       UserLinkKey(id_, /*by_partner_id=*/false, local_user));
                 }}});
}

absl::Status ConnectionImpl::StepVerify() {
  verify_responder_.DropIfIdle(env_->clock->Now());
  if (record_sync_ == nullptr || !VerifyRunning()) return absl::OkStatus();
  VerifyReader reader = VerifySharingNow().NewInitiatorReader();
  // This org's records and links, read without a lock (the host's store).
  for (int i = 0; i < kVerifyReadsPerStep; ++i) {
    VerifyRun::ReadTask task;
    {
      internal::MutexLock lock(&verify_mu_);
      task = verify_->NextRead();
    }
    if (!task.any) break;
    absl::StatusOr<VerifyReader::Page> page = reader.ReadLocal(
        task.object_name, task.fields, task.after_id, kVerifyRangeRecords);
    internal::MutexLock lock(&verify_mu_);
    if (!page.ok()) {
      verify_->Fail(fmt::format("reading this org's {} records: {}",
                                task.object_name, page.status().ToString()),
                    env_->clock->Now());
      break;
    }
    verify_->OnPageRead(task, *std::move(page));
  }
  ORGSYNC_RETURN_IF_ERROR(RepairIfCompared());
  internal::MutexLock lock(&mu_);
  SendVerifyRequestsLocked();
  return absl::OkStatus();
}

void ConnectionImpl::SendVerifyRequestsLocked() {
  if (!CanSendLocked() || StatusLocked() != ConnectionStatus::kActive) return;
  internal::MutexLock verify_lock(&verify_mu_);
  if (verify_ == nullptr) return;
  for (proto::VerifyRequest& request : verify_->TakeRequests(
           env_->clock->Now(), env_->delivery.ack_timeout)) {
    const uint64_t number = request.request();
    proto::Envelope envelope;
    *envelope.mutable_verify_request() = std::move(request);
    const size_t bytes = envelope.ByteSizeLong();
    uint64_t message_id = 0;
    // A failed send is sent again when its answer is overdue.
    if (SendEnvelope(std::move(envelope), &message_id).ok()) {
      verify_->NoteSent(number, message_id, bytes);
    }
  }
}

absl::Status ConnectionImpl::RepairIfCompared() {
  for (;;) {
    std::string object;
    std::vector<std::string> ids;
    {
      internal::MutexLock lock(&verify_mu_);
      if (!verify_->running() || !verify_->compared()) return absl::OkStatus();
      ids = verify_->TakeRepairs(&object);
      if (ids.empty()) {
        verify_->Complete(env_->clock->Now());
        return absl::OkStatus();
      }
    }
    // Forward what this org can: a deleted record, or one gone since it
    // was read, is left (the report keeps listing it).
    ForwardOptions forward;
    for (std::string& id : ids) {
      absl::StatusOr<Record> record = env_->record_store->Get(object, id);
      if (!record.ok() || record->deleted) continue;
      forward.records.push_back(RecordRef{object, std::move(id)});
    }
    if (forward.records.empty()) continue;
    absl::StatusOr<ForwardResult> forwarded = Forward(forward);
    internal::MutexLock lock(&verify_mu_);
    if (!forwarded.ok()) {
      verify_->Fail(fmt::format("repairing {} records of {}: {}",
                                forward.records.size(), object,
                                forwarded.status().ToString()),
                    env_->clock->Now());
      return absl::OkStatus();
    }
    verify_->NoteRepaired(forwarded->records.size());
  }
}

void ConnectionImpl::HandleVerifyAnswer(const proto::VerifyAnswer& answer,
                                        size_t bytes) {
  {
    internal::MutexLock verify_lock(&verify_mu_);
    if (verify_ == nullptr) return;
    verify_->OnAnswer(answer, bytes, env_->clock->Now());
  }
  // Follow-up requests (listings, the next page) go at once.
  SendVerifyRequestsLocked();
}

bool ConnectionImpl::FailVerifyIfCarried(uint64_t message_id,
                                         const std::string& reason) {
  internal::MutexLock verify_lock(&verify_mu_);
  if (verify_ == nullptr || !verify_->running() ||
      !verify_->Carried(message_id)) {
    return false;
  }
  verify_->Fail(fmt::format("the partner refused a Verify request: {}",
                            reason),
                env_->clock->Now());
  return true;
}

// --- The responder ---------------------------------------------------------

void ConnectionImpl::AnswerVerifyRequest(const proto::VerifyRequest& request) {
  proto::VerifyAnswer answer;
  if (record_sync_ == nullptr) {
    answer.set_run(request.run());
    answer.set_request(request.request());
    answer.set_error(fmt::format("{} syncs no records (no RecordStore)",
                                 env_->org_id));
  } else {
    answer = verify_responder_.Answer(VerifySharingNow(), request,
                                      env_->clock->Now());
  }
  internal::MutexLock lock(&mu_);
  proto::Envelope envelope;
  *envelope.mutable_verify_answer() = std::move(answer);
  // A lost answer: the initiator asks again.
  SendEnvelope(std::move(envelope)).IgnoreError();
}

}  // namespace orgsync::internal
