// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Schema fingerprints (issue 13, item 4; DESIGN.md "Beyond the seed"): each
// side tells the other the ObjectFingerprint of every object it defines --
// in the handshake (AcceptInvitation, HandshakeResult) and, whenever its
// Schema changed, in a Connection Update notice -- and compares them with
// its own. An object both orgs define differently is written to the
// history (Schema Mismatch) and told as a ConnectionEvent at once, before
// any record of it fails, and again (Schema Matched) once the definitions
// agree; Connection::SchemaMismatches() answers the current list.
//
// What is compared is kept in the connection's state (both maps and the
// list), so a restart neither repeats nor forgets a report. The partner's
// map is kept for this org's objects and for at most
// kMaxForeignFingerprints others (objects this org may define later): a
// partner cannot make the state grow without bound.

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_join.h"
#include "connection/connection_impl.h"
#include "orgsync/schema.h"
#include "orgsync/status.h"

namespace orgsync::internal {
namespace {

using ProtoFingerprints = google::protobuf::Map<std::string, uint64_t>;

// The partner's objects this org does not define whose fingerprints are
// kept.
constexpr size_t kMaxForeignFingerprints = 256;

// History rows per window for comparisons the partner's messages cause (see
// "Bounded state" in orgsync/connection.h).
constexpr size_t kSchemaRowsPerWindow = 4;

std::vector<std::string> DifferingObjects(const ProtoFingerprints& local,
                                          const ProtoFingerprints& partner) {
  std::vector<std::string> differing;
  for (const auto& [name, fingerprint] : local) {
    auto theirs = partner.find(name);
    if (theirs != partner.end() && theirs->second != fingerprint) {
      differing.push_back(name);
    }
  }
  std::sort(differing.begin(), differing.end());
  return differing;
}

bool SameFingerprints(const ProtoFingerprints& a, const ProtoFingerprints& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, fingerprint] : a) {
    auto other = b.find(name);
    if (other == b.end() || other->second != fingerprint) return false;
  }
  return true;
}

// Names in `a` and not in `b` (both sorted).
std::vector<std::string> NamesMissingFrom(const std::vector<std::string>& a,
                                          const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(),
                      std::back_inserter(out));
  return out;
}

}  // namespace

void ConnectionImpl::FillLocalFingerprints(proto::ConnectionState* next) const {
  ProtoFingerprints* local = next->mutable_local_schema_fingerprints();
  local->clear();
  for (const auto& [name, fingerprint] : env_->schema->Fingerprints()) {
    (*local)[name] = fingerprint;
  }
}

void ConnectionImpl::TakePartnerFingerprints(
    const ProtoFingerprints& partner, proto::ConnectionState* next) const {
  ProtoFingerprints* kept = next->mutable_partner_schema_fingerprints();
  kept->clear();
  size_t foreign = 0;
  for (const auto& [name, fingerprint] : partner) {
    if (!env_->schema->HasObject(name)) {
      if (foreign == kMaxForeignFingerprints) continue;
      ++foreign;
    }
    (*kept)[ClipPeerText(name)] = fingerprint;
  }
}

ConnectionImpl::SchemaEvents ConnectionImpl::StageSchemaComparison(
    bool partner_caused, proto::ConnectionState* next, WriteBatch* batch) {
  const std::vector<std::string> now = DifferingObjects(
      next->local_schema_fingerprints(), next->partner_schema_fingerprints());
  const std::vector<std::string> before(next->schema_mismatches().begin(),
                                        next->schema_mismatches().end());
  const std::vector<std::string> differ = NamesMissingFrom(now, before);
  const std::vector<std::string> match = NamesMissingFrom(before, now);
  next->clear_schema_mismatches();
  for (const std::string& name : now) next->add_schema_mismatches(name);

  SchemaEvents events;
  const absl::Time time = StoredNow(*env_->clock);
  auto record = [&](HistoryEvent event, std::string_view what,
                    const std::vector<std::string>& objects) {
    if (objects.empty()) return;
    const std::string detail = ClipPeerText(
        fmt::format("{} in org {} and org {}: {}", what, env_->org_id,
                    next->partner_org_id(), absl::StrJoin(objects, ", ")));
    if (partner_caused) {
      AddIncomingHistory(fmt::format("schema:{}", static_cast<int>(event)),
                         kSchemaRowsPerWindow, event,
                         PartnerActorName(next->partner_org_id()), detail, next,
                         batch);
    } else {
      AddHistory(id_, time, event, kSystemActor, detail, next, batch);
    }
    const ConnectionEventKind kind = event == HistoryEvent::kSchemaMismatch
                                         ? ConnectionEventKind::kSchemaMismatch
                                         : ConnectionEventKind::kSchemaMatched;
    for (const std::string& object : objects) events.emplace_back(kind, object);
  };
  record(HistoryEvent::kSchemaMismatch, "defined differently", differ);
  record(HistoryEvent::kSchemaMatched, "defined alike again", match);
  return events;
}

void ConnectionImpl::NoteSchemaEvents(SchemaEvents events) {
  for (auto& [kind, object] : events) NoteEvent(kind, std::move(object));
}

absl::Status ConnectionImpl::CompareLocalSchemaIfChanged() {
  internal::MutexLock lock(&mu_);
  const uint64_t generation = env_->schema->generation();
  if (schema_generation_seen_ == generation) return absl::OkStatus();
  // Before acceptance the handshake carries the schema as it is then;
  // after deactivation nobody listens.
  if (!AcceptedLocked()) return absl::OkStatus();
  proto::ConnectionState next = state_;
  FillLocalFingerprints(&next);
  if (SameFingerprints(next.local_schema_fingerprints(),
                       state_.local_schema_fingerprints())) {
    schema_generation_seen_ = generation;
    return absl::OkStatus();
  }
  WriteBatch batch;
  SchemaEvents events =
      StageSchemaComparison(/*partner_caused=*/false, &next, &batch);
  // The partner compares too: a Connection Update carries the new
  // fingerprints (StageNotice adds them), in the same write.
  std::optional<DurableRecordQueue::PendingEnqueue> pending;
  ORGSYNC_RETURN_IF_ERROR(StageNotice(QueueAction::kConnectionUpdate,
                                      kSystemActor, next, &batch, &pending));
  ORGSYNC_RETURN_IF_ERROR(
      Commit(std::move(next), std::move(batch), std::move(pending)));
  schema_generation_seen_ = generation;
  NoteSchemaEvents(std::move(events));
  return absl::OkStatus();
}

std::vector<SchemaMismatch> ConnectionImpl::SchemaMismatches() const {
  internal::MutexLock lock(&mu_);
  std::vector<SchemaMismatch> mismatches;
  for (const std::string& object : state_.schema_mismatches()) {
    auto local = state_.local_schema_fingerprints().find(object);
    auto partner = state_.partner_schema_fingerprints().find(object);
    mismatches.push_back(SchemaMismatch{
        .object = object,
        .local_fingerprint = local == state_.local_schema_fingerprints().end()
                                 ? 0
                                 : local->second,
        .partner_fingerprint =
            partner == state_.partner_schema_fingerprints().end()
                ? 0
                : partner->second});
  }
  return mismatches;
}

}  // namespace orgsync::internal
