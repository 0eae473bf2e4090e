// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Verify on a connection (include/orgsync/verify.h): starting a run and
// reporting it, the step thread's part of the initiator's run (reading
// this org's links and unlinked records, sending the requests, the
// repair), and the responder's answers. The run's logic is VerifyRun
// (verify_run.h); the digests are engine/verify_digests.h's.
//
// Trust: a request names objects and field pairs; the responder answers
// only for pairs that flow over this connection (this org receives the
// initiator's field into it, or publishes it to the initiator), so a
// partner cannot learn digests of anything the connection does not share.

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
#include "engine/verify_digests.h"
#include "internal/optional_get.h"
#include "orgsync/status.h"

namespace orgsync::internal {
namespace {

// The most copies a responder reads for one range: the initiator's ranges
// hold kVerifyRangeRecords of its ids, and a partner's copies of them
// cannot be many more unless links are broken.
constexpr size_t kMaxResponderRangeRecords = 100 * kVerifyRangeRecords;
// Pages of this org's records the step thread reads per Step.
constexpr int kVerifyReadsPerStep = 8;

}  // namespace

// --- Starting and reporting ---------------------------------------------------

absl::StatusOr<std::vector<proto::VerifyObject>> ConnectionImpl::VerifyPlan(
    const std::vector<std::string>& chosen) const {
  // This org's object -> what it sends (its fields, mapped there) and
  // receives (the partner's object and fields mapped into it).
  std::map<std::string, proto::VerifyObject> plan;
  for (const std::string& object : publish_set_->PublishedObjects()) {
    if (!publish_set_->IsPartnerSubscribed(object)) continue;
    proto::VerifyObject& entry = plan[object];
    entry.set_object(object);
    const std::shared_ptr<const ObjectDef> def = env_->schema->FindObject(object);
    for (const std::string& field : publish_set_->PublishedFields(object)) {
      const FieldDef* field_def = def != nullptr ? def->FindField(field) : nullptr;
      if (field_def != nullptr && field_def->type == FieldType::kAutoNumber) {
        continue;  // R36: each org numbers its own
      }
      entry.add_fields()->set_initiator_field(field);
    }
  }
  for (const std::string& partner_object :
       subscription_map_->SubscribedObjects()) {
    const std::string local =
        subscription_map_->LocalObject(partner_object).value_or(partner_object);
    proto::VerifyObject& entry = plan[local];
    entry.set_object(local);
    entry.set_responder_object(partner_object);
    std::set<std::string> known;
    for (const proto::VerifyFieldPair& pair : entry.fields()) {
      known.insert(pair.initiator_field());
    }
    for (const FieldMapping& mapping :
         subscription_map_->FieldMappings(partner_object)) {
      if (mapping.status != FieldStatus::kSubscribed) continue;
      if (known.contains(mapping.local_field)) {
        // Sent and received: the pair names the partner's field.
        for (proto::VerifyFieldPair& pair : *entry.mutable_fields()) {
          if (pair.initiator_field() == mapping.local_field) {
            pair.set_responder_field(mapping.partner_field);
          }
        }
        continue;
      }
      known.insert(mapping.local_field);
      proto::VerifyFieldPair* pair = entry.add_fields();
      pair->set_initiator_field(mapping.local_field);
      pair->set_responder_field(mapping.partner_field);
    }
  }
  std::vector<proto::VerifyObject> out;
  if (chosen.empty()) {
    for (auto& [name, object] : plan) out.push_back(std::move(object));
    return out;
  }
  std::set<std::string> seen;
  for (const std::string& name : chosen) {
    if (name.empty() || !seen.insert(name).second) {
      return absl::InvalidArgumentError(fmt::format(
          "StartVerify: object names must be non-empty and distinct, got "
          "\"{}\" twice or empty",
          name));
    }
    auto it = plan.find(name);
    if (it == plan.end()) {
      return absl::FailedPreconditionError(fmt::format(
          "StartVerify on connection {}: {} does not flow over the "
          "connection (this org neither publishes it to a subscribed "
          "partner nor subscribes to the partner's)",
          id_, name));
    }
    out.push_back(it->second);
  }
  return out;
}

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
  ORGSYNC_ASSIGN_OR_RETURN(std::vector<proto::VerifyObject> plan,
                           VerifyPlan(options.objects));
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

VerifyReader ConnectionImpl::NewVerifyReader(bool initiator) const {
  VerifyReaderDeps deps{
      .schema = env_->schema,
      .store = env_->record_store,
      .queue = record_queue_.get(),
      .links = &record_sync_->links(),
      .partner_user = [this](std::string_view local_user)
          -> absl::StatusOr<std::optional<std::string>> {
        return GetIfPresent(
            *storage_, UserLinkKey(id_, /*by_partner_id=*/false, local_user));
      }};
  return VerifyReader(std::move(deps), initiator);
}

absl::Status ConnectionImpl::StepVerify() {
  if (record_sync_ == nullptr || !VerifyRunning()) return absl::OkStatus();
  VerifyReader reader = NewVerifyReader(/*initiator=*/true);
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

// Whether this org shares `pair` of `object` (the initiator's name) with
// the partner, `local_object` being this org's object.
bool ConnectionImpl::VerifyPairShared(const proto::VerifyObject& object,
                                      const std::string& local_object,
                                      const proto::VerifyFieldPair& pair) const {
  const std::string& theirs = pair.initiator_field();
  const std::string& mine = pair.responder_field();
  if (subscription_map_->IsSubscribed(object.object()) &&
      subscription_map_->LocalObject(object.object()) == local_object &&
      subscription_map_->MappedField(object.object(), theirs) == mine) {
    return true;
  }
  return publish_set_->IsPartnerSubscribed(local_object) &&
         publish_set_->IsFieldPublished(local_object, mine);
}

std::string ConnectionImpl::VerifyLocalObject(
    const proto::VerifyObject& object) const {
  if (subscription_map_->IsSubscribed(object.object())) {
    return subscription_map_->LocalObject(object.object())
        .value_or(object.object());
  }
  if (!object.responder_object().empty() &&
      publish_set_->IsObjectPublished(object.responder_object()) &&
      publish_set_->IsPartnerSubscribed(object.responder_object())) {
    return object.responder_object();
  }
  return "";
}

proto::VerifyObject ConnectionImpl::AnswerVerifyPlan(
    const proto::VerifyObject& asked) const {
  proto::VerifyObject out;
  out.set_object(asked.object());
  const std::string local = VerifyLocalObject(asked);
  if (local.empty() || env_->schema->FindObject(local) == nullptr) {
    out.set_refusal(fmt::format(
        "{} neither receives {} from the initiator nor sends it there",
        env_->org_id, asked.object()));
    return out;
  }
  out.set_responder_object(local);
  const std::shared_ptr<const ObjectDef> def = env_->schema->FindObject(local);
  for (const proto::VerifyFieldPair& pair : asked.fields()) {
    proto::VerifyFieldPair mapped = pair;
    if (mapped.responder_field().empty()) {
      std::optional<std::string> field =
          subscription_map_->IsSubscribed(asked.object())
              ? subscription_map_->MappedField(asked.object(),
                                               pair.initiator_field())
              : std::nullopt;
      if (!field.has_value()) continue;  // not received here
      mapped.set_responder_field(*field);
    }
    if (def->FindField(mapped.responder_field()) == nullptr) continue;
    if (!VerifyPairShared(asked, local, mapped)) continue;
    *out.add_fields() = std::move(mapped);
  }
  return out;
}

proto::VerifyAnswer ConnectionImpl::AnswerVerify(
    const proto::VerifyRequest& request) {
  proto::VerifyAnswer answer;
  answer.set_run(request.run());
  answer.set_request(request.request());
  if (record_sync_ == nullptr) {
    answer.set_error(fmt::format("{} syncs no records (no RecordStore)",
                                 env_->org_id));
    return answer;
  }
  if (request.kind() == proto::VERIFY_PLAN) {
    for (const proto::VerifyObject& object : request.objects()) {
      *answer.add_objects() = AnswerVerifyPlan(object);
    }
    return answer;
  }
  // Every object and pair asked about must be shared.
  std::vector<std::vector<VerifyField>> fields;
  for (const proto::VerifyObject& object : request.objects()) {
    const std::string local = VerifyLocalObject(object);
    if (local.empty() || local != object.responder_object()) {
      answer.set_error(fmt::format(
          "{} does not share object {} with the initiator", env_->org_id,
          object.responder_object()));
      return answer;
    }
    std::vector<VerifyField>& object_fields = fields.emplace_back();
    for (const proto::VerifyFieldPair& pair : object.fields()) {
      if (!VerifyPairShared(object, local, pair)) {
        answer.set_error(fmt::format(
            "{} does not share field {}.{} with the initiator", env_->org_id,
            local, pair.responder_field()));
        return answer;
      }
      object_fields.push_back(VerifyField{
          .local_name = pair.responder_field(),
          .initiator_name = pair.initiator_field()});
    }
  }
  VerifyReader reader = NewVerifyReader(/*initiator=*/false);
  for (int i = 0; i < request.ranges_size(); ++i) {
    const proto::VerifyRange& range = request.ranges(i);
    const proto::VerifyObject& object = request.objects(range.object());
    if (request.kind() == proto::VERIFY_UNLINKED) {
      absl::StatusOr<VerifyReader::Page> page = reader.ReadUnlinked(
          object.responder_object(), range.after_id(), kVerifyUnlinkedPage);
      if (!page.ok()) {
        answer.set_error(page.status().ToString());
        return answer;
      }
      for (std::string& id : page->unlinked) {
        answer.add_unlinked_ids(std::move(id));
      }
      answer.set_next_after_id(page->last_read);
      answer.set_done(page->done);
      return answer;
    }
    absl::StatusOr<std::vector<VerifyEntry>> entries =
        reader.ReadCopies(object.responder_object(), fields[range.object()],
                    range.after_id(), range.last_id(),
                    kMaxResponderRangeRecords + 1);
    if (!entries.ok()) {
      answer.set_error(entries.status().ToString());
      return answer;
    }
    if (entries->size() > kMaxResponderRangeRecords) {
      answer.set_error(fmt::format(
          "more than {} records of {} are linked to ids in one range",
          kMaxResponderRangeRecords, object.responder_object()));
      return answer;
    }
    if (request.kind() == proto::VERIFY_DIGESTS) {
      DigestSum sum;
      uint64_t pending = 0;
      for (const VerifyEntry& entry : *entries) {
        if (entry.pending) ++pending;
        if (!entry.pending && !entry.absent) sum.Add(entry.digest);
      }
      proto::VerifySummary* summary = answer.add_summaries();
      summary->set_count(sum.count());
      summary->set_digest(sum.Bytes());
      summary->set_pending(pending);
      continue;
    }
    for (VerifyEntry& entry : *entries) {
      proto::VerifyListedRecord* record = answer.add_records();
      record->set_range(static_cast<uint32_t>(i));
      record->set_initiator_id(std::move(entry.initiator_id));
      record->set_responder_id(std::move(entry.responder_id));
      record->set_digest(std::move(entry.digest));
      record->set_pending(entry.pending);
      record->set_absent(entry.absent);
    }
  }
  return answer;
}

void ConnectionImpl::AnswerVerifyRequest(const proto::VerifyRequest& request) {
  proto::VerifyAnswer answer = AnswerVerify(request);
  internal::MutexLock lock(&mu_);
  proto::Envelope envelope;
  *envelope.mutable_verify_answer() = std::move(answer);
  // A lost answer: the initiator asks again.
  SendEnvelope(std::move(envelope)).IgnoreError();
}

}  // namespace orgsync::internal
