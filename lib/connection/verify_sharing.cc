// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "connection/verify_sharing.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "connection/verify_run.h"

namespace orgsync::internal {
namespace {

// The most copies a responder reads for one range: the initiator's ranges
// hold kVerifyRangeRecords of its ids, and a partner's copies of them
// cannot be many more unless links are broken.
constexpr size_t kMaxResponderRangeRecords = 100 * kVerifyRangeRecords;

// The error of a range whose copies are more than a responder reads.
std::string TooManyCopies(const proto::VerifyObject& object) {
  return fmt::format(
      "more than {} records of {} are linked to ids in one range",
      kMaxResponderRangeRecords, object.responder_object());
}

}  // namespace

absl::StatusOr<std::vector<proto::VerifyObject>> VerifySharing::Plan(
    const std::vector<std::string>& chosen) const {
  // This org's object -> what it sends (its fields, mapped there) and
  // receives (the partner's object and fields mapped into it).
  std::map<std::string, proto::VerifyObject> plan;
  for (const std::string& object : deps_.publish_set->PublishedObjects()) {
    if (!deps_.publish_set->IsPartnerSubscribed(object)) continue;
    proto::VerifyObject& entry = plan[object];
    entry.set_object(object);
    const std::shared_ptr<const ObjectDef> def = deps_.schema->FindObject(object);
    for (const std::string& field : deps_.publish_set->PublishedFields(object)) {
      const FieldDef* field_def = def != nullptr ? def->FindField(field) : nullptr;
      if (field_def != nullptr && field_def->type == FieldType::kAutoNumber) {
        continue;  // R36: each org numbers its own
      }
      entry.add_fields()->set_initiator_field(field);
    }
  }
  for (const std::string& partner_object :
       deps_.subscription_map->SubscribedObjects()) {
    const std::string local =
        deps_.subscription_map->LocalObject(partner_object).value_or(partner_object);
    proto::VerifyObject& entry = plan[local];
    entry.set_object(local);
    entry.set_responder_object(partner_object);
    std::set<std::string> known;
    for (const proto::VerifyFieldPair& pair : entry.fields()) {
      known.insert(pair.initiator_field());
    }
    for (const FieldMapping& mapping :
         deps_.subscription_map->FieldMappings(partner_object)) {
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
          deps_.connection_id, name));
    }
    out.push_back(it->second);
  }
  return out;
}

// Whether this org shares `pair` of `object` (the initiator's name) with
// the partner, `local_object` being this org's object.
bool VerifySharing::PairShared(const proto::VerifyObject& object,
                                      const std::string& local_object,
                                      const proto::VerifyFieldPair& pair) const {
  const std::string& theirs = pair.initiator_field();
  const std::string& mine = pair.responder_field();
  if (deps_.subscription_map->IsSubscribed(object.object()) &&
      deps_.subscription_map->LocalObject(object.object()) == local_object &&
      deps_.subscription_map->MappedField(object.object(), theirs) == mine) {
    return true;
  }
  return deps_.publish_set->IsPartnerSubscribed(local_object) &&
         deps_.publish_set->IsFieldPublished(local_object, mine);
}

std::string VerifySharing::LocalObject(
    const proto::VerifyObject& object) const {
  if (deps_.subscription_map->IsSubscribed(object.object())) {
    return deps_.subscription_map->LocalObject(object.object())
        .value_or(object.object());
  }
  if (!object.responder_object().empty() &&
      deps_.publish_set->IsObjectPublished(object.responder_object()) &&
      deps_.publish_set->IsPartnerSubscribed(object.responder_object())) {
    return object.responder_object();
  }
  return "";
}

proto::VerifyObject VerifySharing::AnswerPlan(
    const proto::VerifyObject& asked) const {
  proto::VerifyObject out;
  out.set_object(asked.object());
  const std::string local = LocalObject(asked);
  if (local.empty() || deps_.schema->FindObject(local) == nullptr) {
    out.set_refusal(fmt::format(
        "{} neither receives {} from the initiator nor sends it there",
        deps_.org_id, asked.object()));
    return out;
  }
  out.set_responder_object(local);
  const std::shared_ptr<const ObjectDef> def = deps_.schema->FindObject(local);
  for (const proto::VerifyFieldPair& pair : asked.fields()) {
    proto::VerifyFieldPair mapped = pair;
    if (mapped.responder_field().empty()) {
      std::optional<std::string> field =
          deps_.subscription_map->IsSubscribed(asked.object())
              ? deps_.subscription_map->MappedField(asked.object(),
                                               pair.initiator_field())
              : std::nullopt;
      if (!field.has_value()) continue;  // not received here
      mapped.set_responder_field(*field);
    }
    if (def->FindField(mapped.responder_field()) == nullptr) continue;
    if (!PairShared(asked, local, mapped)) continue;
    *out.add_fields() = std::move(mapped);
  }
  return out;
}

proto::VerifyAnswer VerifySharing::Answer(
    const proto::VerifyRequest& request, ReferenceTranslations* translations,
    std::vector<RecordLinks::LinkedIds>* link_ids) const {
  proto::VerifyAnswer answer;
  answer.set_run(request.run());
  answer.set_request(request.request());
  if (request.kind() == proto::VERIFY_PLAN) {
    for (const proto::VerifyObject& object : request.objects()) {
      *answer.add_objects() = AnswerPlan(object);
    }
    return answer;
  }
  // Every object and pair asked about must be shared.
  std::vector<std::vector<VerifyField>> fields;
  for (const proto::VerifyObject& object : request.objects()) {
    const std::string local = LocalObject(object);
    if (local.empty() || local != object.responder_object()) {
      answer.set_error(fmt::format(
          "{} does not share object {} with the initiator", deps_.org_id,
          object.responder_object()));
      return answer;
    }
    std::vector<VerifyField>& object_fields = fields.emplace_back();
    for (const proto::VerifyFieldPair& pair : object.fields()) {
      if (!PairShared(object, local, pair)) {
        answer.set_error(fmt::format(
            "{} does not share field {}.{} with the initiator", deps_.org_id,
            local, pair.responder_field()));
        return answer;
      }
      object_fields.push_back(VerifyField{
          .local_name = pair.responder_field(),
          .initiator_name = pair.initiator_field()});
    }
  }
  VerifyReaderDeps reader_deps = deps_.reader;
  reader_deps.translations = translations;
  reader_deps.link_ids = link_ids;
  VerifyReader reader(std::move(reader_deps), /*initiator=*/false);
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
    if (request.kind() == proto::VERIFY_DIGESTS) {
      absl::StatusOr<VerifyReader::CopiesSum> summed = reader.SumCopies(
          object.responder_object(), fields[range.object()], range.after_id(),
          range.last_id(), kMaxResponderRangeRecords + 1);
      if (!summed.ok()) {
        answer.set_error(summed.status().ToString());
        return answer;
      }
      if (summed->copies > kMaxResponderRangeRecords) {
        answer.set_error(TooManyCopies(object));
        return answer;
      }
      proto::VerifySummary* summary = answer.add_summaries();
      summary->set_count(summed->sum.count());
      summary->set_digest(summed->sum.Bytes());
      summary->set_pending(summed->pending);
      continue;
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
      answer.set_error(TooManyCopies(object));
      return answer;
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

proto::VerifyAnswer VerifyResponder::Answer(
    const VerifySharing& sharing, const proto::VerifyRequest& request,
    absl::Time now) {
  internal::MutexLock lock(&mu_);
  if (translations_.run != request.run()) {
    translations_ = ReferenceTranslations();
    translations_.run = request.run();
  }
  proto::VerifyAnswer answer =
      sharing.Answer(request, &translations_, &link_ids_);
  last_answer_micros_.store(std::max<int64_t>(absl::ToUnixMicros(now), 1));
  return answer;
}

void VerifyResponder::DropIfIdle(absl::Time now) {
  const int64_t last = last_answer_micros_.load();
  if (last == 0 || absl::FromUnixMicros(last) + kKeepIdle >= now) return;
  internal::MutexLock lock(&mu_);
  translations_ = ReferenceTranslations();
  link_ids_ = {};
  last_answer_micros_.store(0);
}

}  // namespace orgsync::internal
