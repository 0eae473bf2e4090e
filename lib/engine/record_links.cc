// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "engine/record_links.h"

#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "orgsync/status.h"

namespace orgsync::internal {
namespace {

// Object names and ids are free of NUL bytes (RecordStore contract), so NUL
// separates the parts of a key without escaping.
constexpr char kSep = '\0';

absl::StatusOr<std::optional<std::string>> GetOptional(Storage* storage,
                                                       const std::string& key) {
  absl::StatusOr<std::string> value = storage->Get(key);
  if (absl::IsNotFound(value.status())) return std::nullopt;
  if (!value.ok()) return value.status();
  return std::move(*value);
}

template <typename Message>
absl::StatusOr<std::optional<Message>> GetMessage(Storage* storage,
                                                  const std::string& key,
                                                  std::string_view what) {
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                           GetOptional(storage, key));
  if (!bytes.has_value()) return std::nullopt;
  Message message;
  if (!message.ParseFromString(*bytes)) {
    return absl::DataLossError(
        fmt::format("record links: a stored {} does not parse", what));
  }
  return message;
}

}  // namespace

bool StampLess(const proto::FieldStamp& a, const proto::FieldStamp& b) {
  return std::make_tuple(a.micros(), a.from_primary(), a.version(),
                         a.sequence()) <
         std::make_tuple(b.micros(), b.from_primary(), b.version(),
                         b.sequence());
}

RecordLinks::RecordLinks(Storage* storage, std::string connection_id)
    : storage_(storage), connection_id_(std::move(connection_id)) {}

std::string RecordLinks::LinkKey(std::string_view object,
                                 std::string_view local_id) const {
  std::string key = fmt::format("k/{}/l/", connection_id_);
  key.append(object).push_back(kSep);
  key.append(local_id);
  return key;
}

std::string RecordLinks::IndexKey(std::string_view object,
                                  std::string_view partner_id) const {
  std::string key = fmt::format("k/{}/p/", connection_id_);
  key.append(object).push_back(kSep);
  key.append(partner_id);
  return key;
}

std::string RecordLinks::StampKey(std::string_view object,
                                  std::string_view local_id,
                                  std::string_view field,
                                  std::optional<StampWriter> writer) const {
  std::string key = fmt::format("k/{}/f/", connection_id_);
  key.append(object).push_back(kSep);
  key.append(local_id).push_back(kSep);
  if (!writer.has_value()) return key;
  key.append(field).push_back(kSep);
  key.push_back(*writer == StampWriter::kCapture ? 'c' : 's');
  return key;
}

absl::StatusOr<std::optional<proto::RecordLink>> RecordLinks::FindByLocal(
    std::string_view object, std::string_view local_id) const {
  return GetMessage<proto::RecordLink>(storage_, LinkKey(object, local_id),
                                       "record link");
}

absl::StatusOr<std::optional<proto::RecordLink>> RecordLinks::FindByPartner(
    std::string_view object, std::string_view partner_id) const {
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<std::string> local_id,
                           GetOptional(storage_, IndexKey(object, partner_id)));
  if (!local_id.has_value()) return std::nullopt;
  ORGSYNC_ASSIGN_OR_RETURN(std::optional<proto::RecordLink> link,
                           FindByLocal(object, *local_id));
  if (!link.has_value() || link->partner_id() != partner_id) {
    return absl::DataLossError(fmt::format(
        "record links: the index entry for partner record {}/{} names local "
        "record {}, whose link does not point back",
        object, partner_id, *local_id));
  }
  return link;
}

void RecordLinks::Put(std::string_view object, const proto::RecordLink& link,
                      WriteBatch* batch) const {
  batch->Put(LinkKey(object, link.local_id()), link.SerializeAsString());
  batch->Put(IndexKey(object, link.partner_id()), link.local_id());
}

absl::Status RecordLinks::Remove(std::string_view object,
                                 const proto::RecordLink& link,
                                 WriteBatch* batch) const {
  batch->Delete(LinkKey(object, link.local_id()));
  batch->Delete(IndexKey(object, link.partner_id()));
  // The stamps of the record's fields, both writers'.
  const std::string prefix =
      StampKey(object, link.local_id(), "", std::nullopt);
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator());
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    batch->Delete(it->key());
  }
  return it->status();
}

std::string RecordLinks::SeverKey(const RecordRef& record) const {
  std::string key = fmt::format("k/{}/v/", connection_id_);
  key.append(record.object).push_back(kSep);
  key.append(record.id);
  return key;
}

void RecordLinks::PutSeverRequest(const RecordRef& record,
                                  WriteBatch* batch) const {
  batch->Put(SeverKey(record), "");
}

void RecordLinks::DeleteSeverRequest(const RecordRef& record,
                                     WriteBatch* batch) const {
  batch->Delete(SeverKey(record));
}

absl::StatusOr<std::vector<RecordRef>> RecordLinks::ListSeverRequests(
    size_t limit) const {
  const std::string prefix = fmt::format("k/{}/v/", connection_id_);
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

absl::StatusOr<std::optional<proto::FieldStamp>> RecordLinks::GetStamp(
    std::string_view object, std::string_view local_id,
    std::string_view field) const {
  std::optional<proto::FieldStamp> newest;
  for (const StampWriter writer :
       {StampWriter::kCapture, StampWriter::kStepThread}) {
    ORGSYNC_ASSIGN_OR_RETURN(
        std::optional<proto::FieldStamp> stamp,
        GetMessage<proto::FieldStamp>(storage_,
                                      StampKey(object, local_id, field, writer),
                                      "field stamp"));
    if (stamp.has_value() &&
        (!newest.has_value() || StampLess(*newest, *stamp))) {
      newest = std::move(stamp);
    }
  }
  return newest;
}

void RecordLinks::PutStamp(StampWriter writer, std::string_view object,
                           std::string_view local_id, std::string_view field,
                           const proto::FieldStamp& stamp,
                           WriteBatch* batch) const {
  batch->Put(StampKey(object, local_id, field, writer),
             stamp.SerializeAsString());
}

absl::StatusOr<std::optional<proto::DeleteMark>> RecordLinks::GetDeleteMark(
    std::string_view object, std::string_view local_id) const {
  return GetMessage<proto::DeleteMark>(
      storage_,
      StampKey(object, local_id, kDeletingStampField, StampWriter::kStepThread),
      "delete mark");
}

void RecordLinks::PutDeleteMark(std::string_view object,
                                std::string_view local_id,
                                const proto::DeleteMark& mark,
                                WriteBatch* batch) const {
  batch->Put(
      StampKey(object, local_id, kDeletingStampField, StampWriter::kStepThread),
      mark.SerializeAsString());
}

void RecordLinks::RemoveDeleteMark(std::string_view object,
                                   std::string_view local_id,
                                   WriteBatch* batch) const {
  batch->Delete(StampKey(object, local_id, kDeletingStampField,
                         StampWriter::kStepThread));
}

absl::StatusOr<std::vector<proto::RecordLink>> RecordLinks::List(
    std::string_view object) const {
  std::string prefix = fmt::format("k/{}/l/", connection_id_);
  prefix.append(object).push_back(kSep);
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
    links.push_back(std::move(link));
  }
  ORGSYNC_RETURN_IF_ERROR(it->status());
  return links;
}

}  // namespace orgsync::internal
