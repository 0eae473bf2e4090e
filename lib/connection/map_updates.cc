// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The receiving side of the partner's publish/subscribe updates (R21):
// applies them through the SubscriptionMap/PublishSet, each at most once
// (the applied mark of its "map:<object>" key; see delivery.cc), and keeps
// what they make this side store bounded: state for objects this org's
// Schema does not have is kept for at most kMaxUnknownMapObjects names per
// connection ("Bounded state" in orgsync/connection.h).

#include <fmt/format.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "connection/connection_impl.h"
#include "connection/connection_keys.h"
#include "orgsync/status.h"
#include "schema/schema_proto.h"

namespace orgsync::internal {
namespace {

// The actions that store the partner's publication of their object.
bool CreatesPublication(QueueAction action) {
  return action == QueueAction::kTypeMapUpdate ||
         action == QueueAction::kFieldMapUpdate ||
         action == QueueAction::kFieldMapDelete;
}

constexpr std::string_view kMapKeyPrefix = "map:";

}  // namespace

absl::Status ConnectionImpl::LoadUnknownMapObjects() {
  for (const std::string& object :
       subscription_map_->PartnerPublishedObjects()) {
    NoteMapState(object);
  }
  const std::string prefix = AppliedMarkKey(id_, kMapKeyPrefix);
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage_->NewIterator());
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    const std::string_view key = it->key();
    if (key.substr(0, prefix.size()) != prefix) break;
    NoteMapState(key.substr(prefix.size()));
  }
  return it->status();
}

bool ConnectionImpl::KeepsMapState(std::string_view object) const {
  return env_->schema->FindObject(object) != nullptr ||
         unknown_map_objects_.contains(object);
}

void ConnectionImpl::NoteMapState(std::string_view object) {
  if (env_->schema->FindObject(object) == nullptr) {
    unknown_map_objects_.emplace(object);
  }
}

proto::ItemResult ConnectionImpl::ApplyMapUpdate(
    const proto::MapUpdate& update) {
  const uint64_t sequence = update.sequence();
  const auto action = static_cast<QueueAction>(update.action());
  const std::string key =
      OrderingKey(RecordRef{.object = update.object(), .id = ""}, action);
  absl::StatusOr<uint64_t> mark = AppliedMark(key);
  if (!mark.ok()) {
    return ItemResultOf(sequence, proto::RETRYABLE_FAILURE, proto::ERROR_STORAGE,
                     std::string(mark.status().message()));
  }
  if (sequence <= *mark) return ItemResultOf(sequence, proto::DUPLICATE);

  // Bounded state: objects this org does not have are kept for at most
  // kMaxUnknownMapObjects names (connection.h). An update that would add
  // one more is refused before it changes anything.
  const bool kept = KeepsMapState(update.object());
  const bool creates = CreatesPublication(action);
  const bool renames = action == QueueAction::kTypeMapNameUpdate;
  auto over_bound = [&](const std::string& name) {
    return !name.empty() && !KeepsMapState(name) &&
           unknown_map_objects_.size() >= kMaxUnknownMapObjects;
  };
  const std::string* unkept =
      creates && over_bound(update.object())     ? &update.object()
      : renames && over_bound(update.new_name()) ? &update.new_name()
                                                 : nullptr;
  if (unkept != nullptr) {
    ++counters_.map_updates_over_bound;
    return ItemResultOf(
        sequence, proto::PERMANENT_FAILURE, proto::ERROR_SCHEMA_MISMATCH,
        fmt::format("org {} has no object {} and already keeps the "
                    "publications of {} objects it does not have for "
                    "connection {} (the bound): {} refused",
                    env_->org_id, *unkept, kMaxUnknownMapObjects, id_,
                    QueueActionName(action)));
  }

  // The local object the partner's maps to, before an unpublish removes
  // the mapping (R20).
  const std::string local_object =
      subscription_map_->LocalObject(update.object()).value_or(update.object());
  absl::Status applied;
  switch (action) {
    case QueueAction::kTypeMapSetPartnerSub:
      applied = publish_set_->SetPartnerSubscribed(update.object(),
                                                   update.subscribed());
      // Unpublished here while the partner's answer was on its way: there
      // is nothing left to record.
      if (absl::IsNotFound(applied)) applied = absl::OkStatus();
      break;
    case QueueAction::kTypeMapUpdate:
    case QueueAction::kFieldMapUpdate:
    case QueueAction::kFieldMapDelete: {
      if (!update.has_object_schema()) {
        applied = absl::InvalidArgumentError(
            fmt::format("{} of {} carries no object schema",
                        QueueActionName(action), update.object()));
        break;
      }
      absl::StatusOr<ObjectDef> publication =
          FromObjectSchema(update.object_schema());
      if (!publication.ok()) {
        applied = publication.status();
        break;
      }
      PartnerMapUpdate partner;
      partner.action = action;
      partner.object = update.object();
      partner.field = update.field();
      partner.publication = std::move(*publication);
      applied = subscription_map_->ApplyPartnerUpdate(partner);
      break;
    }
    case QueueAction::kTypeMapDelete:
    case QueueAction::kTypeMapNameUpdate:
    case QueueAction::kFieldMapNameUpdate:
    case QueueAction::kValueMapDelete: {
      PartnerMapUpdate partner;
      partner.action = action;
      partner.object = update.object();
      partner.field = update.field();
      partner.new_name = update.new_name();
      partner.value = update.picklist_value();
      applied = subscription_map_->ApplyPartnerUpdate(partner);
      break;
    }
    default:
      applied = absl::InvalidArgumentError(fmt::format(
          "{} is not a publish/subscribe action", QueueActionName(action)));
      break;
  }

  proto::ItemResult result;
  if (applied.ok()) {
    result = ItemResultOf(sequence, proto::APPLIED);
  } else if (absl::IsInvalidArgument(applied)) {
    // The update itself is wrong: sending it again cannot help.
    result =
        ItemResultOf(sequence, proto::PERMANENT_FAILURE,
                  proto::ERROR_SCHEMA_MISMATCH, std::string(applied.message()));
  } else if (absl::IsNotFound(applied) || absl::IsFailedPrecondition(applied) ||
             absl::IsAlreadyExists(applied)) {
    // It may depend on an update of another key still on its way.
    return ItemResultOf(sequence, proto::RETRYABLE_FAILURE,
                     proto::ERROR_SCHEMA_MISMATCH,
                     std::string(applied.message()));
  } else {
    return ItemResultOf(sequence, proto::RETRYABLE_FAILURE, proto::ERROR_STORAGE,
                     std::string(applied.message()));
  }
  // An update about an object this side keeps nothing for (a delete, a
  // rename or a subscription of something never published) changed
  // nothing: it leaves nothing behind, not even its applied mark.
  if (!kept && !creates) return result;
  // Applied, or refused for good: a copy arriving later is a duplicate.
  WriteBatch batch;
  PutAppliedMark(key, sequence, &batch);
  // R20: the partner unpublished the object; the links of its records
  // here go too.
  if (action == QueueAction::kTypeMapDelete && applied.ok() &&
      record_sync_ != nullptr) {
    record_sync_->RequestObjectUnlink(local_object, &batch);
  }
  if (absl::Status written =
          storage_->Write(batch, WriteOptions{.sync = true});
      !written.ok()) {
    // Sent again, the update applies again to the same effect.
    return ItemResultOf(sequence, proto::RETRYABLE_FAILURE, proto::ERROR_STORAGE,
                     std::string(written.message()));
  }
  NoteMapState(update.object());
  if (renames && applied.ok()) NoteMapState(update.new_name());
  if (applied.ok()) {
    switch (action) {
      case QueueAction::kTypeMapSetPartnerSub:
        NoteEvent(update.subscribed() ? ConnectionEventKind::kPartnerSubscribed
                                      : ConnectionEventKind::kPartnerUnsubscribed,
                  update.object());
        break;
      case QueueAction::kTypeMapDelete:
        NoteEvent(ConnectionEventKind::kPartnerUnpublished, update.object());
        break;
      case QueueAction::kTypeMapNameUpdate:
        NoteEvent(ConnectionEventKind::kPartnerPublished, update.new_name());
        break;
      default:  // a publication made or changed
        NoteEvent(ConnectionEventKind::kPartnerPublished, update.object());
        break;
    }
  }
  return result;
}

}  // namespace orgsync::internal
