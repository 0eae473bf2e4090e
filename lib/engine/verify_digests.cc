// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "engine/verify_digests.h"

#include <fmt/format.h>

#include <cstring>
#include <memory>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "connection/hmac_sha256.h"
#include "orgsync/status.h"
#include "proto/common.pb.h"
#include "records/record_codec.h"

namespace orgsync::internal {
namespace {

// Appends `bytes` with its length in front, so that no two sequences of
// pieces hash alike.
void AddPiece(Sha256* hash, std::string_view bytes) {
  const uint64_t size = bytes.size();
  char prefix[sizeof size];
  std::memcpy(prefix, &size, sizeof size);
  hash->Update(std::string_view(prefix, sizeof prefix));
  hash->Update(bytes);
}

uint64_t Lane(std::string_view bytes, size_t lane) {
  uint64_t value = 0;
  std::memcpy(&value, bytes.data() + lane * sizeof value, sizeof value);
  return value;
}

}  // namespace

void DigestSum::Add(std::string_view digest) {
  if (digest.size() != kVerifyDigestBytes) return;
  lanes_[0] += Lane(digest, 0);
  lanes_[1] += Lane(digest, 1);
  ++count_;
}

std::string DigestSum::Bytes() const {
  if (count_ == 0) return "";
  std::string bytes(kVerifyDigestBytes, '\0');
  std::memcpy(bytes.data(), &lanes_[0], sizeof lanes_[0]);
  std::memcpy(bytes.data() + sizeof lanes_[0], &lanes_[1], sizeof lanes_[1]);
  return bytes;
}

VerifyReader::VerifyReader(VerifyReaderDeps deps, bool initiator)
    : deps_(std::move(deps)), initiator_(initiator) {}

absl::StatusOr<std::vector<VerifyEntry>> VerifyReader::Read(
    std::string_view object, const std::vector<VerifyField>& fields,
    std::string_view after_id, std::string_view last_id, size_t limit) {
  // The initiator reads its links by its own ids, the responder by the
  // partner's (the initiator's): both in the initiator's id order.
  ORGSYNC_ASSIGN_OR_RETURN(
      std::vector<RecordLinks::LinkedIds> linked,
      deps_.links->ListIds(object, /*by_partner=*/!initiator_, after_id,
                           last_id, limit));
  const std::shared_ptr<const ObjectDef> def =
      deps_.schema->FindObject(object);
  std::vector<VerifyEntry> entries;
  entries.reserve(linked.size());
  for (RecordLinks::LinkedIds& ids : linked) {
    VerifyEntry entry;
    entry.initiator_id = initiator_ ? ids.local_id : ids.partner_id;
    entry.responder_id = initiator_ ? ids.partner_id : ids.local_id;
    ORGSYNC_ASSIGN_OR_RETURN(
        const bool queued,
        deps_.queue->HasPending(RecordRef{std::string(object), ids.local_id}));
    if (queued) {
      entry.pending = true;
      entries.push_back(std::move(entry));
      continue;
    }
    absl::StatusOr<Record> record = deps_.store->Get(object, ids.local_id);
    if (absl::IsNotFound(record.status())) {
      // Also a reserved id whose insert was never applied (the partner's
      // insert failed here): no copy.
      entry.absent = true;
      entries.push_back(std::move(entry));
      continue;
    }
    ORGSYNC_RETURN_IF_ERROR(record.status());
    ORGSYNC_ASSIGN_OR_RETURN(entry.digest,
                             Digest(entry, *record, def.get(), fields));
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<VerifyReader::UnlinkedPage> VerifyReader::ReadUnlinked(
    std::string_view object, std::string_view after_id, size_t limit) {
  ORGSYNC_ASSIGN_OR_RETURN(
      RecordPage page,
      deps_.store->ScanPage(object, absl::InfinitePast(), after_id, limit));
  UnlinkedPage out;
  out.last_read = page.resume_after;
  out.done = page.end;
  for (const Record& record : page.records) {
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> link,
                             deps_.links->FindByLocal(object, record.id));
    if (link.has_value()) continue;
    ORGSYNC_ASSIGN_OR_RETURN(
        const bool queued,
        deps_.queue->HasPending(RecordRef{std::string(object), record.id}));
    if (!queued) out.ids.push_back(record.id);
  }
  return out;
}

absl::StatusOr<std::string> VerifyReader::Digest(
    const VerifyEntry& entry, const Record& record, const ObjectDef* def,
    const std::vector<VerifyField>& fields) {
  Sha256 hash;
  AddPiece(&hash, entry.initiator_id);
  AddPiece(&hash, entry.responder_id);
  AddPiece(&hash, record.deleted ? "d" : "");
  proto::FieldValue encoded;
  std::string bytes;
  for (const VerifyField& field : fields) {
    AddPiece(&hash, field.initiator_name);
    auto it = record.fields.find(field.local_name);
    FieldValue value = it != record.fields.end() ? it->second : FieldValue{};
    if (const auto* reference = std::get_if<Reference>(&value);
        reference != nullptr && !initiator_) {
      const FieldDef* field_def =
          def != nullptr ? def->FindField(field.local_name) : nullptr;
      ORGSYNC_ASSIGN_OR_RETURN(std::string id,
                               InitiatorReference(field_def, reference->id));
      value = Reference{std::move(id)};
    }
    encoded.Clear();
    FieldValueToProto(value, &encoded);
    bytes.clear();
    encoded.SerializeToString(&bytes);
    AddPiece(&hash, bytes);
  }
  std::string digest = hash.Finish();
  digest.resize(kVerifyDigestBytes);
  return digest;
}

absl::StatusOr<std::string> VerifyReader::InitiatorReference(
    const FieldDef* def, const std::string& id) {
  if (def == nullptr) return id;
  if (def->type == FieldType::kUserReference) {
    if (!deps_.partner_user) return id;
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> partner,
                             deps_.partner_user(id));
    return partner.value_or(id);
  }
  if (def->lookup_target.empty()) return id;
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> link,
                           deps_.links->FindByLocal(def->lookup_target, id));
  if (!link.has_value()) return "unlinked:" + id;
  return link->partner_id();
}

}  // namespace orgsync::internal
