// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "engine/record_links.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "fmt/format.h"
#include "internal/wire_input.h"
#include "orgsync/status.h"

namespace orgsync::internal {
namespace {

// Object names and ids are free of NUL bytes (RecordStore contract), so NUL
// separates the parts of a key without escaping.
constexpr char kSep = '\0';

template <typename Message>
absl::StatusOr<std::optional<Message>> GetMessage(Storage* storage,
                                                  const std::string& key,
                                                  std::string_view what) {
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                           storage->GetIfPresent(key));
  if (!bytes.has_value()) return std::nullopt;
  Message message;
  if (!message.ParseFromString(*bytes)) {
    return absl::DataLossError(
        fmt::format("record links: a stored {} does not parse", what));
  }
  return message;
}

std::tuple<int64_t, bool, uint64_t, uint64_t> StampTuple(
    const proto::FieldStamp& stamp) {
  return std::make_tuple(stamp.micros(), stamp.from_primary(),
                         stamp.version(), stamp.sequence());
}

// Stamps are kept in memory one per field (StepStamps::fields) and stored
// with the fields that share one stamp named once (StepStamps::shared): a
// change stamps every field it carries alike.

// Into the stored form, in place: the fields sharing one stamp -- the
// stamp most of them have when there is such a majority (Boyer-Moore
// vote, two passes) -- move to `shared_fields`, when two or more share it.
// Runs on every change applied.
void ShareCommonStamp(proto::StepStamps* stamps) {
  if (stamps->fields().size() < 2) return;
  const proto::FieldStamp* candidate = nullptr;
  size_t votes = 0;
  for (const auto& [name, stamp] : stamps->fields()) {
    if (votes == 0) {
      candidate = &stamp;
      votes = 1;
    } else if (StampTuple(stamp) == StampTuple(*candidate)) {
      ++votes;
    } else {
      --votes;
    }
  }
  const auto common = StampTuple(*candidate);
  size_t sharing = 0;
  for (const auto& [name, stamp] : stamps->fields()) {
    if (StampTuple(stamp) == common) ++sharing;
  }
  if (sharing < 2) return;
  *stamps->mutable_shared() = *candidate;  // before its entry is erased
  auto* fields = stamps->mutable_fields();
  for (auto it = fields->begin(); it != fields->end();) {
    if (StampTuple(it->second) == common) {
      stamps->add_shared_fields(it->first);
      it = fields->erase(it);
    } else {
      ++it;
    }
  }
}

// Back into the in-memory form: one stamp per field.
void ExpandSharedStamp(proto::StepStamps* stamps) {
  auto* fields = stamps->mutable_fields();
  for (const std::string& name : stamps->shared_fields()) {
    fields->insert({name, stamps->shared()});  // never both (link_state.proto)
  }
  stamps->clear_shared_fields();
  stamps->clear_shared();
}

}  // namespace

bool StampLess(const proto::FieldStamp& a, const proto::FieldStamp& b) {
  return StampTuple(a) < StampTuple(b);
}

RecordLinks::RecordLinks(Storage* storage, std::string connection_id)
    : storage_(storage), connection_id_(std::move(connection_id)) {}

// Keys are built by appending, not formatted: every read and write of a
// link or stamp builds one, a few per change.
std::string RecordLinks::TagPrefix(char tag, size_t room) const {
  std::string key;
  key.reserve(connection_id_.size() + 5 + room);
  key.append("k/").append(connection_id_).push_back('/');
  key.push_back(tag);
  key.push_back('/');
  return key;
}

std::string RecordLinks::RecordKey(char tag, std::string_view object,
                                   std::string_view id) const {
  std::string key = TagPrefix(tag, object.size() + id.size() + 1);
  key.append(object).push_back(kSep);
  key.append(id);
  return key;
}

namespace {
constexpr char kLinkTag = 'l';
}  // namespace

std::string LocalLinkKeyPrefix(std::string_view connection_id) {
  std::string prefix = "k/";
  prefix.append(connection_id).push_back('/');
  prefix.push_back(kLinkTag);
  prefix.push_back('/');
  return prefix;
}

std::string RecordLinks::LinkKey(std::string_view object,
                                 std::string_view local_id) const {
  return RecordKey(kLinkTag, object, local_id);
}

std::string RecordLinks::IndexKey(std::string_view object,
                                  std::string_view partner_id) const {
  return RecordKey('p', object, partner_id);
}

std::string RecordLinks::CaptureStampKey(
    std::string_view object, std::string_view local_id,
    std::optional<std::string_view> field) const {
  std::string key = RecordKey('f', object, local_id);
  key.push_back(kSep);
  if (!field.has_value()) return key;
  key.append(*field).push_back(kSep);
  // The writer's tag, kept from when both writers stored stamps per field.
  key.push_back('c');
  return key;
}

std::string RecordLinks::StepStampsKey(std::string_view object,
                                       std::string_view local_id) const {
  return RecordKey('s', object, local_id);
}

absl::StatusOr<std::optional<proto::RecordLink>> RecordLinks::FindByLocal(
    std::string_view object, std::string_view local_id) const {
  return Find(object, local_id, /*by_local=*/true);
}

absl::StatusOr<std::optional<proto::RecordLink>> RecordLinks::FindByPartner(
    std::string_view object, std::string_view partner_id) const {
  return Find(object, partner_id, /*by_local=*/false);
}

absl::StatusOr<std::optional<std::string>> RecordLinks::PartnerIdOf(
    std::string_view object, std::string_view local_id) const {
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::RecordLink> link,
      ReadUnder(object, local_id, /*by_local=*/true, LinkKey(object, local_id)));
  if (!link.has_value()) return std::nullopt;
  return std::move(*link->mutable_partner_id());
}

absl::StatusOr<std::optional<proto::RecordLink>> RecordLinks::Find(
    std::string_view object, std::string_view id, bool by_local) const {
  const std::string key =
      by_local ? LinkKey(object, id) : IndexKey(object, id);
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> link,
                           ReadUnder(object, id, by_local, key));
  if (!link.has_value() || !link->stub()) return link;
  return FollowStub(object, *link, key, by_local);
}

absl::StatusOr<std::optional<proto::RecordLink>> RecordLinks::ReadUnder(
    std::string_view object, std::string_view id, bool by_local,
    const std::string& key) const {
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::RecordLink> link,
      GetMessage<proto::RecordLink>(storage_, key, "record link"));
  if (!link.has_value()) return std::nullopt;
  if ((by_local ? link->local_id() : link->partner_id()) != id) {
    return absl::DataLossError(fmt::format(
        "record links: the link stored under {} record {}/{} is the link of "
        "{} record {}",
        by_local ? "local" : "partner", object, id,
        by_local ? "local" : "partner",
        by_local ? link->local_id() : link->partner_id()));
  }
  return link;
}

absl::StatusOr<std::optional<proto::RecordLink>> RecordLinks::FollowStub(
    std::string_view object, const proto::RecordLink& stub,
    const std::string& stub_key, bool by_local) const {
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::RecordLink> link,
      GetMessage<proto::RecordLink>(
          storage_,
          by_local ? IndexKey(object, stub.partner_id())
                   : LinkKey(object, stub.local_id()),
          "record link"));
  if (!link.has_value()) {
    // A link is removed with both keys in one write: a reader on another
    // thread (PartnerRecordId) may have read the stub just before it.
    ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> again,
                             storage_->GetIfPresent(stub_key));
    if (!again.has_value()) return std::nullopt;
    proto::RecordLink now;
    if (!now.ParseFromString(*again) || !now.stub() ||
        now.local_id() != stub.local_id() ||
        now.partner_id() != stub.partner_id()) {
      // Removed and linked anew meanwhile: read the new link.
      return Find(object, by_local ? stub.local_id() : stub.partner_id(),
                  by_local);
    }
    return absl::DataLossError(fmt::format(
        "record links: the link of {} record {}/{} is missing under the key "
        "its stub points to",
        by_local ? "local" : "partner", object,
        by_local ? stub.local_id() : stub.partner_id()));
  }
  if (link->stub() || link->local_id() != stub.local_id() ||
      link->partner_id() != stub.partner_id()) {
    return absl::DataLossError(fmt::format(
        "record links: the stub of {}/{} (partner {}) points to a key that "
        "does not hold its link",
        object, stub.local_id(), stub.partner_id()));
  }
  return link;
}

void RecordLinks::Create(std::string_view object, proto::RecordLink link,
                         WriteBatch* batch) const {
  if (link.home() == proto::LINK_HOME_BOTH) {
    link.set_home(proto::LINK_HOME_LOCAL);
  }
  link.set_stub(false);
  proto::RecordLink stub;
  stub.set_local_id(link.local_id());
  stub.set_partner_id(link.partner_id());
  stub.set_stub(true);
  const bool home_local = link.home() == proto::LINK_HOME_LOCAL;
  const std::string local_key = LinkKey(object, link.local_id());
  const std::string partner_key = IndexKey(object, link.partner_id());
  batch->Put(home_local ? partner_key : local_key, stub.SerializeAsString());
  batch->Put(home_local ? local_key : partner_key, link.SerializeAsString());
}

void RecordLinks::Put(std::string_view object, const proto::RecordLink& link,
                      WriteBatch* batch, proto::LinkHome home_if_none) const {
  if (link.home() == proto::LINK_HOME_BOTH) {
    // Whole under both keys until now: from here on, under one.
    proto::RecordLink homed = link;
    homed.set_home(home_if_none);
    Create(object, std::move(homed), batch);
    return;
  }
  batch->Put(link.home() == proto::LINK_HOME_LOCAL
                 ? LinkKey(object, link.local_id())
                 : IndexKey(object, link.partner_id()),
             link.SerializeAsString());
}

absl::Status RecordLinks::Remove(std::string_view object,
                                 const proto::RecordLink& link,
                                 WriteBatch* batch) const {
  batch->Delete(LinkKey(object, link.local_id()));
  batch->Delete(IndexKey(object, link.partner_id()));
  batch->Delete(StepStampsKey(object, link.local_id()));
  // The captures' stamps of the record's fields.
  const std::string prefix =
      CaptureStampKey(object, link.local_id(), std::nullopt);
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator());
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    batch->Delete(it->key());
  }
  return it->status();
}

std::string RecordLinks::SeverKey(const RecordRef& record) const {
  return RecordKey('v', record.object, record.id);
}

void RecordLinks::PutSeverRequest(const RecordRef& record,
                                  WriteBatch* batch) const {
  batch->Put(SeverKey(record), "");
}

void RecordLinks::DeleteSeverRequest(const RecordRef& record,
                                     WriteBatch* batch) const {
  batch->Delete(SeverKey(record));
}

void RecordLinks::PutUnlinkFence(std::string_view object, uint64_t sequence,
                                 WriteBatch* batch) const {
  batch->Put(RecordKey('n', object, ""), std::to_string(sequence));
}

absl::StatusOr<std::map<std::string, uint64_t, std::less<>>>
RecordLinks::ListUnlinkFences() const {
  const std::string prefix = TagPrefix('n');
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator());
  std::map<std::string, uint64_t, std::less<>> fences;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    std::string_view rest = it->key();
    rest.remove_prefix(prefix.size());
    const size_t sep = rest.find(kSep);
    uint64_t sequence = 0;
    if (sep == std::string_view::npos ||
        !absl::SimpleAtoi(
            absl::string_view(it->value().data(), it->value().size()),
            &sequence)) {
      return absl::DataLossError(fmt::format(
          "record links: unreadable unlink fence under key {}", it->key()));
    }
    fences[std::string(rest.substr(0, sep))] = sequence;
  }
  ORGSYNC_RETURN_IF_ERROR(it->status());
  return fences;
}

std::string RecordLinks::SeveredKey(std::string_view object,
                                    std::string_view partner_id) const {
  return RecordKey('x', object, partner_id);
}

void RecordLinks::PutSevered(std::string_view object,
                             const proto::RecordLink& link,
                             WriteBatch* batch) const {
  proto::RecordLink kept = link;
  kept.clear_step_stamps();
  kept.set_holds_step_stamps(true);
  kept.set_stub(false);
  batch->Put(SeveredKey(object, link.partner_id()), kept.SerializeAsString());
}

void RecordLinks::DeleteSevered(std::string_view object,
                                std::string_view partner_id,
                                WriteBatch* batch) const {
  batch->Delete(SeveredKey(object, partner_id));
}

absl::StatusOr<std::optional<proto::RecordLink>> RecordLinks::FindSevered(
    std::string_view object, std::string_view partner_id) const {
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<std::string> value,
      storage_->GetIfPresent(SeveredKey(object, partner_id)));
  if (!value.has_value()) return std::nullopt;
  proto::RecordLink link;
  if (!link.ParseFromString(*value) || link.local_id().empty() ||
      link.partner_id() != partner_id) {
    return absl::DataLossError(fmt::format(
        "record links: the severed link of {} partner record {} does not "
        "parse",
        object, partner_id));
  }
  return link;
}

absl::StatusOr<std::vector<RecordRef>> RecordLinks::ListSeverRequests(
    size_t limit) const {
  const std::string prefix = TagPrefix('v');
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator());
  std::vector<RecordRef> requests;
  for (it->Seek(prefix);
       requests.size() < limit && it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    std::string_view rest = it->key();
    rest.remove_prefix(prefix.size());
    const size_t sep = rest.find(kSep);
    if (sep == std::string_view::npos) {
      return absl::DataLossError(
          "record links: a stored sever request does not parse");
    }
    requests.push_back(RecordRef{.object = std::string(rest.substr(0, sep)),
                                 .id = std::string(rest.substr(sep + 1))});
  }
  ORGSYNC_RETURN_IF_ERROR(it->status());
  return requests;
}

absl::StatusOr<proto::StepStamps> RecordLinks::StepStampsOf(
    std::string_view object, const proto::RecordLink& link) const {
  if (!link.holds_step_stamps()) return GetStepStamps(object, link.local_id());
  proto::StepStamps stamps = link.step_stamps();
  ExpandSharedStamp(&stamps);
  return stamps;
}

void RecordLinks::SetStepStamps(std::string_view object,
                                proto::StepStamps stamps,
                                proto::RecordLink* link,
                                WriteBatch* batch) const {
  if (!link->holds_step_stamps()) {
    // From now on the link is where they are read.
    batch->Delete(StepStampsKey(object, link->local_id()));
    link->set_holds_step_stamps(true);
  }
  ShareCommonStamp(&stamps);
  link->mutable_step_stamps()->Swap(&stamps);
}

proto::RecordLink RecordLinks::NewLink(std::string local_id,
                                       std::string partner_id) {
  proto::RecordLink link;
  link.set_local_id(std::move(local_id));
  link.set_partner_id(std::move(partner_id));
  link.set_holds_step_stamps(true);
  link.set_home(proto::LINK_HOME_PARTNER);
  return link;
}

absl::StatusOr<proto::StepStamps> RecordLinks::GetStepStamps(
    std::string_view object, std::string_view local_id) const {
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::StepStamps> stamps,
      GetMessage<proto::StepStamps>(storage_, StepStampsKey(object, local_id),
                                    "record's stamps"));
  if (!stamps.has_value()) return proto::StepStamps();
  ExpandSharedStamp(&*stamps);
  return *std::move(stamps);
}

void RecordLinks::PutStepStamps(std::string_view object,
                                std::string_view local_id,
                                const proto::StepStamps& stamps,
                                WriteBatch* batch) const {
  if (stamps.fields().empty() && !stamps.has_deleting()) {
    batch->Delete(StepStampsKey(object, local_id));
    return;
  }
  proto::StepStamps stored = stamps;
  ShareCommonStamp(&stored);
  batch->Put(StepStampsKey(object, local_id), stored.SerializeAsString());
}

absl::StatusOr<bool> RecordLinks::MayHaveCaptureStamps(
    std::string_view object) const {
  {
    internal::ReaderMutexLock lock(&captured_mu_);
    const auto known = captured_objects_.find(
        absl::string_view(object.data(), object.size()));
    if (known != captured_objects_.end()) return known->second;
  }
  // Every capture stamp key of the object starts so (an empty id).
  const std::string prefix = RecordKey('f', object, "");
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator());
  it->Seek(prefix);
  const bool found = it->Valid() && it->key().starts_with(prefix);
  ORGSYNC_RETURN_IF_ERROR(it->status());
  return NoteCaptured(object, found);
}

absl::StatusOr<std::optional<proto::StepStamps>> RecordLinks::InsertStamps(
    std::string_view object, std::string_view local_id) const {
  ORGSYNC_ASSIGN_OR_RETURN(
      std::optional<proto::StepStamps> inserted,
      GetMessage<proto::StepStamps>(
          storage_, CaptureStampKey(object, local_id, kInsertStampsField),
          "insert's field stamps"));
  if (inserted.has_value()) ExpandSharedStamp(&*inserted);
  return inserted;
}

namespace {

// The stamp the insert's capture gave `field`, if it carried the field.
std::optional<proto::FieldStamp> InsertStampOf(
    const std::optional<proto::StepStamps>& inserted,
    const std::string& field) {
  if (!inserted.has_value()) return std::nullopt;
  auto carried = inserted->fields().find(field);
  if (carried == inserted->fields().end()) return std::nullopt;
  return carried->second;
}

// The newer of the capture's stamp of `field` and the step thread's.
std::optional<proto::FieldStamp> NewerOfStep(
    std::optional<proto::FieldStamp> captured, const proto::StepStamps& step,
    const std::string& field) {
  auto stepped = step.fields().find(field);
  if (stepped != step.fields().end() &&
      (!captured.has_value() || StampLess(*captured, stepped->second))) {
    return stepped->second;
  }
  return captured;
}

}  // namespace

absl::StatusOr<std::optional<proto::FieldStamp>> RecordLinks::NewestStamp(
    const proto::StepStamps& step, std::string_view object,
    std::string_view local_id, std::string_view field) const {
  const std::string name(field);  // the key type of the stamp maps
  std::optional<proto::FieldStamp> newest;
  ORGSYNC_ASSIGN_OR_RETURN(const bool captured, MayHaveCaptureStamps(object));
  if (captured) {
    ORGSYNC_ASSIGN_OR_RETURN(
        newest, GetMessage<proto::FieldStamp>(
                    storage_, CaptureStampKey(object, local_id, field),
                    "field stamp"));
    // A field's own capture stamp comes from an update after the insert,
    // so it is the newer one when present.
    if (!newest.has_value() && !field.starts_with('$')) {
      ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::StepStamps> inserted,
                               InsertStamps(object, local_id));
      newest = InsertStampOf(inserted, name);
    }
  }
  return NewerOfStep(std::move(newest), step, name);
}

absl::StatusOr<std::vector<std::optional<proto::FieldStamp>>>
RecordLinks::NewestStamps(const proto::StepStamps& step,
                          std::string_view object, std::string_view local_id,
                          const std::vector<std::string>& fields) const {
  std::vector<std::optional<proto::FieldStamp>> newest(fields.size());
  ORGSYNC_ASSIGN_OR_RETURN(const bool captured, MayHaveCaptureStamps(object));
  std::optional<proto::StepStamps> inserted;
  if (captured) {
    ORGSYNC_ASSIGN_OR_RETURN(inserted, InsertStamps(object, local_id));
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    if (captured) {
      // As NewestStamp.
      ORGSYNC_ASSIGN_OR_RETURN(
          newest[i], GetMessage<proto::FieldStamp>(
                         storage_, CaptureStampKey(object, local_id, fields[i]),
                         "field stamp"));
      if (!newest[i].has_value() && !fields[i].starts_with('$')) {
        newest[i] = InsertStampOf(inserted, fields[i]);
      }
    }
    newest[i] = NewerOfStep(std::move(newest[i]), step, fields[i]);
  }
  return newest;
}

absl::StatusOr<std::optional<proto::FieldStamp>> RecordLinks::GetStamp(
    std::string_view object, std::string_view local_id,
    std::string_view field) const {
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> link,
                           FindByLocal(object, local_id));
  ORGSYNC_ASSIGN_OR_RETURN(const proto::StepStamps step,
                           link.has_value() ? StepStampsOf(object, *link)
                                            : GetStepStamps(object, local_id));
  return NewestStamp(step, object, local_id, field);
}

void RecordLinks::PutCaptureStamp(std::string_view object,
                                  std::string_view local_id,
                                  std::string_view field,
                                  const proto::FieldStamp& stamp,
                                  WriteBatch* batch) const {
  NoteCaptured(object, true);
  batch->Put(CaptureStampKey(object, local_id, field),
             stamp.SerializeAsString());
}

void RecordLinks::PutInsertCaptureStamps(
    std::string_view object, std::string_view local_id,
    const std::vector<std::string>& fields, const proto::FieldStamp& stamp,
    WriteBatch* batch) const {
  NoteCaptured(object, true);
  // The stored form (ShareCommonStamp) at once: they all share `stamp`.
  proto::StepStamps stamps;
  *stamps.mutable_shared() = stamp;
  for (const std::string& field : fields) stamps.add_shared_fields(field);
  batch->Put(CaptureStampKey(object, local_id, kInsertStampsField),
             stamps.SerializeAsString());
}

bool RecordLinks::NoteCaptured(std::string_view object, bool captured) const {
  {
    // Every capture passes here for every field it stamps: the answer is
    // almost always known already, and readers do not wait on each other.
    internal::ReaderMutexLock lock(&captured_mu_);
    const auto known = captured_objects_.find(
        absl::string_view(object.data(), object.size()));
    if (known != captured_objects_.end() && (known->second || !captured)) {
      return known->second;
    }
  }
  internal::MutexLock lock(&captured_mu_);
  // A capture may have marked the object while a probe ran: a mark only
  // goes up.
  auto [known, added] =
      captured_objects_.try_emplace(std::string(object), captured);
  if (!added) known->second = known->second || captured;
  return known->second;
}

absl::StatusOr<std::vector<proto::RecordLink>> RecordLinks::List(
    std::string_view object) const {
  const std::string prefix = RecordKey('l', object, "");
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator());
  std::vector<proto::RecordLink> links;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    proto::RecordLink link;
    if (!link.ParseFromArray(it->value().data(),
                             static_cast<int>(it->value().size()))) {
      return absl::DataLossError("record links: a stored link does not parse");
    }
    if (link.stub()) {
      ORGSYNC_ASSIGN_OR_RETURN(
          std::optional<proto::RecordLink> whole,
          FollowStub(object, link, std::string(it->key()), /*by_local=*/true));
      if (!whole.has_value()) continue;
      link = *std::move(whole);
    }
    links.push_back(std::move(link));
  }
  ORGSYNC_RETURN_IF_ERROR(it->status());
  return links;
}

namespace {

// The two ids of a stored RecordLink into `ids`, read without parsing the
// rest (its field stamps, most of its bytes) when the value is plainly
// readable, and by the parser when not (a group, bytes that do not decode,
// an id that is not UTF-8); false when the parser refuses it too.
bool ReadLinkIds(std::string_view bytes, RecordLinks::LinkedIds* ids) {
  ids->local_id.clear();
  ids->partner_id.clear();
  WireInput in(bytes);
  bool plain = true;
  while (plain && !in.empty()) {
    int field = 0;
    WireInput::WireType type;
    std::string_view id;
    if (!in.Tag(&field, &type)) {
      plain = false;
    } else if (field != proto::RecordLink::kLocalIdFieldNumber &&
               field != proto::RecordLink::kPartnerIdFieldNumber) {
      plain = in.Skip(type);
    } else if (type != WireInput::kDelimited || !in.Text(&id)) {
      plain = false;
    } else {
      // The last occurrence counts, as for the parser.
      (field == proto::RecordLink::kLocalIdFieldNumber ? ids->local_id
                                                       : ids->partner_id)
          .assign(id);
    }
  }
  if (plain) return true;
  proto::RecordLink link;
  if (!link.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return false;
  }
  ids->local_id.assign(link.local_id());
  ids->partner_id.assign(link.partner_id());
  return true;
}

}  // namespace

absl::StatusOr<std::vector<RecordLinks::LinkedIds>> RecordLinks::ListIds(
    std::string_view object, bool by_partner, std::string_view after_id,
    std::string_view last_id, size_t limit) const {
  std::vector<LinkedIds> ids;
  ORGSYNC_RETURN_IF_ERROR(
      ListIds(object, by_partner, after_id, last_id, limit, &ids));
  return ids;
}

absl::Status RecordLinks::ListIds(std::string_view object, bool by_partner,
                                  std::string_view after_id,
                                  std::string_view last_id, size_t limit,
                                  std::vector<LinkedIds>* ids) const {
  const std::string prefix = RecordKey(by_partner ? 'p' : kLinkTag, object, "");
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator());
  // A Verify page's worth without growing (`limit` may be far more).
  ids->reserve(std::min<size_t>(limit, 1024));
  size_t count = 0;  // ids listed; the entries past it are reused
  std::string start = prefix;
  start.append(after_id);
  for (it->Seek(start);
       it->Valid() && it->key().starts_with(prefix) && count < limit;
       it->Next()) {
    const std::string_view id = it->key().substr(prefix.size());
    if (!after_id.empty() && id == after_id) continue;
    if (!last_id.empty() && id > last_id) break;
    if (count == ids->size()) ids->emplace_back();
    LinkedIds& linked = (*ids)[count];
    if (!ReadLinkIds(it->value(), &linked) ||
        (by_partner ? linked.partner_id : linked.local_id) != id) {
      return absl::DataLossError(fmt::format(
          "record links: the link stored under {} record {}/{} does not "
          "parse or names another record",
          by_partner ? "partner" : "local", object, id));
    }
    ++count;
  }
  ORGSYNC_RETURN_IF_ERROR(it->status());
  ids->resize(count);
  return absl::OkStatus();
}

}  // namespace orgsync::internal
