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
#include "internal/wire_input.h"
#include "orgsync/status.h"
#include "proto/common.pb.h"
#include "records/record_codec.h"

namespace orgsync::internal {
namespace {

// Appends `bytes` with its length in front, so that no two sequences of
// pieces hash alike.
void AddPiece(std::string_view bytes, std::string* out) {
  AppendVarint(bytes.size(), out);  // its length first
  out->append(bytes);
}

uint64_t Lane(std::string_view bytes, size_t lane) {
  uint64_t value = 0;
  std::memcpy(&value, bytes.data() + lane * sizeof value, sizeof value);
  return value;
}

// Lookup translations a reader remembers, at most: every parent of an org
// of a million records with 100,000 parents, in about 20 MiB.
constexpr size_t kMaxRemembered = 1 << 17;

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
    : deps_(std::move(deps)),
      initiator_(initiator),
      copying_(deps_.store),
      lending_(dynamic_cast<LendingRecordStore*>(deps_.store)) {
  if (lending_ == nullptr) lending_ = &copying_;
}

absl::StatusOr<bool> VerifyReader::HasPending(std::string_view object,
                                              std::string_view id) {
  pending_ref_.object.assign(object);
  pending_ref_.id.assign(id);
  return deps_.queue->HasPending(pending_ref_);
}

absl::StatusOr<VerifyEntry> VerifyReader::EntryOf(
    std::string_view object, std::string local_id, std::string partner_id,
    std::optional<std::string_view> tail) {
  ORGSYNC_ASSIGN_OR_RETURN(const bool queued, HasPending(object, local_id));
  VerifyEntry entry;
  entry.initiator_id = initiator_ ? std::move(local_id) : std::move(partner_id);
  entry.responder_id = initiator_ ? std::move(partner_id) : std::move(local_id);
  if (queued) {
    entry.pending = true;
  } else if (!tail.has_value()) {
    // Also a reserved id whose insert was never applied (the partner's
    // insert failed here): no copy.
    entry.absent = true;
  } else {
    entry.digest.assign(Digest(entry.initiator_id, entry.responder_id, *tail));
  }
  return entry;
}

absl::Status VerifyReader::ReadCopyTails(std::string_view object,
                                         const std::vector<VerifyField>& fields,
                                         std::string_view after_id,
                                         std::string_view last_id,
                                         size_t limit) {
  // By the partner's ids, which are the initiator's: its order.
  std::vector<RecordLinks::LinkedIds>& linked = Linked();
  ORGSYNC_RETURN_IF_ERROR(deps_.links->ListIds(
      object, /*by_partner=*/true, after_id, last_id, limit, &linked));
  const std::shared_ptr<const ObjectDef> def =
      deps_.schema->FindObject(object);
  // The copies, read at once: the store may walk them in its id order.
  std::vector<std::string>& local_ids = local_ids_;
  local_ids.resize(linked.size());
  for (size_t i = 0; i < linked.size(); ++i) {
    local_ids[i].assign(linked[i].local_id);
  }
  tails_.clear();
  std::vector<std::optional<TailSpan>>& tails = copy_tails_;
  tails.assign(linked.size(), std::nullopt);
  return lending_->LendMany(
      object, local_ids, [&](size_t i, const Record* record) -> absl::Status {
        if (record == nullptr || i >= tails.size()) return absl::OkStatus();
        ORGSYNC_ASSIGN_OR_RETURN(tails[i],
                                 AppendTail(*record, def.get(), fields));
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<VerifyEntry>> VerifyReader::ReadCopies(
    std::string_view object, const std::vector<VerifyField>& fields,
    std::string_view after_id, std::string_view last_id, size_t limit) {
  ORGSYNC_RETURN_IF_ERROR(
      ReadCopyTails(object, fields, after_id, last_id, limit));
  std::vector<RecordLinks::LinkedIds>& linked = Linked();
  std::vector<VerifyEntry> entries;
  entries.reserve(linked.size());
  for (size_t i = 0; i < linked.size(); ++i) {
    std::optional<std::string_view> tail;
    if (copy_tails_[i].has_value()) tail = TailOf(*copy_tails_[i]);
    ORGSYNC_ASSIGN_OR_RETURN(VerifyEntry entry,
                             EntryOf(object, std::move(linked[i].local_id),
                                     std::move(linked[i].partner_id), tail));
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<VerifyReader::CopiesSum> VerifyReader::SumCopies(
    std::string_view object, const std::vector<VerifyField>& fields,
    std::string_view after_id, std::string_view last_id, size_t limit) {
  ORGSYNC_RETURN_IF_ERROR(
      ReadCopyTails(object, fields, after_id, last_id, limit));
  // As ReadCopies' entries would be summed, with the ids left in
  // Linked() for the next request's ids to reuse.
  const std::vector<RecordLinks::LinkedIds>& linked = Linked();
  CopiesSum summed;
  summed.copies = linked.size();
  for (size_t i = 0; i < linked.size(); ++i) {
    const RecordLinks::LinkedIds& ids = linked[i];
    ORGSYNC_ASSIGN_OR_RETURN(const bool queued,
                             HasPending(object, ids.local_id));
    if (queued) {
      ++summed.pending;
    } else if (copy_tails_[i].has_value()) {
      summed.sum.Add(Digest(initiator_ ? ids.local_id : ids.partner_id,
                            initiator_ ? ids.partner_id : ids.local_id,
                            TailOf(*copy_tails_[i])));
    }
  }
  return summed;
}

absl::StatusOr<VerifyReader::Page> VerifyReader::ReadLocal(
    std::string_view object, const std::vector<VerifyField>& fields,
    std::string_view after_id, size_t limit) {
  const std::shared_ptr<const ObjectDef> def = deps_.schema->FindObject(object);
  StorePage store;
  store.limit = limit;
  tails_.clear();
  ids_.clear();
  // Where each record's id lies in `ids_` (views once the page is read).
  std::vector<TailSpan> id_spans;
  auto take = [&](const Record& record) -> absl::Status {
    ORGSYNC_ASSIGN_OR_RETURN(const TailSpan tail,
                             AppendTail(record, def.get(), fields));
    store.tails.push_back(tail);
    id_spans.push_back(
        TailSpan{.offset = ids_.size(), .size = record.id.size()});
    ids_.append(record.id);
    return absl::OkStatus();
  };
  ORGSYNC_ASSIGN_OR_RETURN(RecordPage records,
                           lending_->LendPage(object, after_id, limit, take));
  store.end = records.end;
  store.resume_after = std::move(records.resume_after);
  store.ids.reserve(id_spans.size());
  for (const TailSpan span : id_spans) {
    store.ids.push_back(std::string_view(ids_).substr(span.offset, span.size));
  }
  return ReadStorePage(object, &fields, after_id, store);
}

absl::StatusOr<VerifyReader::Page> VerifyReader::ReadUnlinked(
    std::string_view object, std::string_view after_id, size_t limit) {
  // Only ids are needed: the store need not read its records.
  ORGSYNC_ASSIGN_OR_RETURN(RecordIdPage ids,
                           deps_.store->ScanIdPage(object, after_id, limit));
  StorePage store;
  store.limit = limit;
  store.end = ids.end;
  store.resume_after = std::move(ids.resume_after);
  for (const std::string& id : ids.ids) store.ids.push_back(id);
  return ReadStorePage(object, nullptr, after_id, store);
}

absl::StatusOr<VerifyReader::Page> VerifyReader::ReadStorePage(
    std::string_view object, const std::vector<VerifyField>* fields,
    std::string_view after_id, const StorePage& store) {
  Page page;
  page.done = store.end;
  page.last_read = store.end ? "" : store.resume_after;
  // The links of the same ids, one pass of an iterator. Links whose
  // records are gone could be many: at most a few pages' worth, and the
  // page ends at the last of them.
  const size_t max_links = 4 * store.limit + 1;
  std::vector<RecordLinks::LinkedIds>& linked = Linked();
  ORGSYNC_RETURN_IF_ERROR(deps_.links->ListIds(object, /*by_partner=*/false,
                                               after_id, page.last_read,
                                               max_links, &linked));
  if (linked.size() == max_links) {
    linked.pop_back();
    page.last_read = linked.back().local_id;
    page.done = false;
  }
  // Index in `store` of each id the page covers, not yet matched.
  absl::flat_hash_map<std::string_view, size_t> by_id;
  by_id.reserve(store.ids.size());
  for (size_t i = 0; i < store.ids.size(); ++i) {
    if (!page.last_read.empty() && store.ids[i] > page.last_read) continue;
    by_id.emplace(store.ids[i], i);
  }
  for (RecordLinks::LinkedIds& ids : linked) {
    auto found = by_id.find(ids.local_id);
    std::optional<std::string_view> tail;
    if (found != by_id.end()) {
      if (!store.tails.empty()) tail = TailOf(store.tails[found->second]);
      by_id.erase(found);
    }
    if (fields == nullptr) continue;
    ORGSYNC_ASSIGN_OR_RETURN(VerifyEntry entry,
                             EntryOf(object, std::move(ids.local_id),
                                     std::move(ids.partner_id), tail));
    page.linked.push_back(std::move(entry));
  }
  // What is left has no link.
  for (const std::string_view id : store.ids) {
    if (!by_id.contains(id)) continue;
    ORGSYNC_ASSIGN_OR_RETURN(const bool queued, HasPending(object, id));
    if (!queued) page.unlinked.push_back(std::string(id));
  }
  return page;
}

absl::StatusOr<VerifyReader::TailSpan> VerifyReader::AppendTail(
    const Record& record, const ObjectDef* def,
    const std::vector<VerifyField>& fields) {
  TailSpan span{.offset = tails_.size()};
  AddPiece(record.deleted ? "d" : "", &tails_);
  static const FieldValue kNull;
  for (const VerifyField& field : fields) {
    AddPiece(field.initiator_name, &tails_);
    auto it = record.fields.find(field.local_name);
    const FieldValue* value = it != record.fields.end() ? &it->second : &kNull;
    if (const auto* reference = std::get_if<Reference>(value);
        reference != nullptr && !initiator_) {
      const FieldDef* field_def =
          def != nullptr ? def->FindField(field.local_name) : nullptr;
      ORGSYNC_RETURN_IF_ERROR(InitiatorReference(
          field_def, reference->id, &std::get<Reference>(translated_).id));
      value = &translated_;
    }
    encoded_.clear();
    AppendFieldValueEncoding(*value, &encoded_);
    AddPiece(encoded_, &tails_);
  }
  span.size = tails_.size() - span.offset;
  return span;
}

std::string_view VerifyReader::Digest(std::string_view initiator_id,
                                      std::string_view responder_id,
                                      std::string_view tail) {
  pieces_.clear();
  AddPiece(initiator_id, &pieces_);
  AddPiece(responder_id, &pieces_);
  Sha256 hash;
  hash.Update(pieces_);
  hash.Update(tail);
  hash.FinishInto(digest_.data());
  return std::string_view(digest_.data(), kVerifyDigestBytes);
}

absl::Status VerifyReader::InitiatorReference(const FieldDef* def,
                                              const std::string& id,
                                              std::string* out) {
  out->assign(id);  // unless translated below
  if (def == nullptr) return absl::OkStatus();
  if (def->type == FieldType::kUserReference) {
    if (!deps_.partner_user) return absl::OkStatus();
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> partner,
                             deps_.partner_user(id));
    if (partner.has_value()) out->assign(*partner);
    return absl::OkStatus();
  }
  if (def->lookup_target.empty()) return absl::OkStatus();
  ReferenceTranslations* const translations = deps_.translations;
  absl::flat_hash_map<std::string, std::string>* references = nullptr;
  if (translations != nullptr) {
    references = &translations->by_object[def->lookup_target];
    if (auto known = references->find(id); known != references->end()) {
      out->assign(known->second);
      return absl::OkStatus();
    }
  }
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> partner,
                           deps_.links->PartnerIdOf(def->lookup_target, id));
  if (!partner.has_value()) {
    // Not remembered: the parent may be linked before the run's next
    // request, and its children then compare as they are.
    out->insert(0, "unlinked:");
    return absl::OkStatus();
  }
  out->assign(*partner);
  // Bounded, whatever the size of the org.
  if (references != nullptr && translations->count < kMaxRemembered) {
    references->emplace(id, *std::move(partner));
    ++translations->count;
  }
  return absl::OkStatus();
}

}  // namespace orgsync::internal
