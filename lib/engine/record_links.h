// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// RecordLinks: the record links of one connection (local id <-> partner id
// per object) and the per-field write stamps used to settle two-way
// conflicts, kept in a Storage under "k/<connection_id>/".
//
// Links are keyed by this org's object name on both sides, so the sender
// (which learns the partner id from an acknowledgement) and the receiver
// (which learns it from the change) use the same keys. A link has two keys,
// one per id, and is stored whole under one of them, its home
// (RecordLink::home): under the id the side that made it looks it up by --
// the local id for a link an acknowledgement made, the partner's id for one
// a received insert made. The other key holds a stub naming both ids, which
// a lookup by that id follows (a second read). So the lookups of a one-way
// sync read once, and a change of a link writes one value, however often it
// changes; the stub is written once, with the link. Reads go to the
// Storage; writes are staged into the caller's WriteBatch so that they
// commit atomically with the rest of an apply or acknowledgement.
//
// Thread-safety: calls are safe from any thread (the only state of its own
// is a cache of which objects have capture stamps, under its own lock).
// One RecordLinks per connection and Storage at a time (captures made
// through another would escape the cache). Read-modify-write of one link
// must be done by one thread at a time:
// RecordSync changes links on the step thread only (host threads file
// sever requests instead).

#ifndef ORGSYNC_LIB_ENGINE_RECORD_LINKS_H_
#define ORGSYNC_LIB_ENGINE_RECORD_LINKS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/record.h"
#include "orgsync/storage.h"
#include "proto/link_state.pb.h"

namespace orgsync::internal {

// The prefix of every key under which RecordLinks stores a link by its
// local id, for connection `connection_id`.
std::string LocalLinkKeyPrefix(std::string_view connection_id);

// True when stamp `a` is older than `b` (a loses to b).
bool StampLess(const proto::FieldStamp& a, const proto::FieldStamp& b);

// The pseudo-field whose stamp orders deletes and undeletes of a record.
inline constexpr std::string_view kDeletedStampField = "$deleted";

// The pseudo-field under which the capture of an insert stamps every field
// it carried with one key (a proto::StepStamps of those fields): a later
// local update of a field stamps that field under its own key, with a
// newer stamp, which is read first.
inline constexpr std::string_view kInsertStampsField = "$insert";

// A replicated cascading delete of a record is marked begun
// (StepStamps::deleting: the delete's stamp and the record's version),
// written durably before the host's store deletes anything and removed
// with the delete's own writes. Found on a redelivery of the same
// delete, with the record deleted at the next version, it says that the
// host's store took that delete while what its cascade took was lost in a
// crash.

// Who writes a field stamp. Captures write theirs blind, on host threads,
// one key per field; the step thread reads, decides, writes the host's
// store and then commits its stamps, all of one record in one value
// (proto::StepStamps), read once per change. A capture landing between
// apply's store write and that commit would lose its stamp to the
// partner's older one if both shared a key, and the next partner change of
// the field would overwrite the host's newer value without a conflict. So
// each writer has keys of its own, and a read returns the newer of the
// two: neither writer can put back an older stamp over the other's.
class RecordLinks {
 public:
  RecordLinks(Storage* storage, std::string connection_id);

  RecordLinks(const RecordLinks&) = delete;
  RecordLinks& operator=(const RecordLinks&) = delete;

  [[nodiscard]] absl::StatusOr<std::optional<proto::RecordLink>> FindByLocal(
      std::string_view object, std::string_view local_id) const;
  [[nodiscard]] absl::StatusOr<std::optional<proto::RecordLink>> FindByPartner(
      std::string_view object, std::string_view partner_id) const;
  // The partner's id of the record linked as `local_id` (reserved or not),
  // from one read: a stub names both ids, so it is not followed.
  [[nodiscard]] absl::StatusOr<std::optional<std::string>> PartnerIdOf(
      std::string_view object, std::string_view local_id) const;

  // Stages a new link: whole under its home key (LINK_HOME_BOTH counts as
  // LINK_HOME_LOCAL), the stub under the other. For a pair of ids not
  // linked yet.
  void Create(std::string_view object, proto::RecordLink link,
              WriteBatch* batch) const;
  // Stages a change of a link that Create (or an older version, which
  // stored it whole under both keys) wrote: its ids must be the ones it
  // was created with. One value, under its home key. A link from before
  // homes gets `home_if_none` (the id the caller's side looks it up by)
  // and a stub under its other key.
  void Put(std::string_view object, const proto::RecordLink& link,
           WriteBatch* batch,
           proto::LinkHome home_if_none = proto::LINK_HOME_LOCAL) const;
  // Stages the removal of the link, its index entry and the record's field
  // stamps (R20, R34): a record linked again later starts with no stamps.
  [[nodiscard]] absl::Status Remove(std::string_view object,
                                    const proto::RecordLink& link,
                                    WriteBatch* batch) const;

  // R34 severing requests: a host thread (Capture of an undelete) asks,
  // durably, for the link of (object, local id) to be severed; the step
  // thread, the only one that changes links, does it.
  void PutSeverRequest(const RecordRef& record, WriteBatch* batch) const;
  void DeleteSeverRequest(const RecordRef& record, WriteBatch* batch) const;
  // The pending requests, at most `limit`, in key order.
  [[nodiscard]] absl::StatusOr<std::vector<RecordRef>> ListSeverRequests(
      size_t limit) const;
  // R20 unlink fences, on the side that unpublished an object: the queue
  // sequence of its latest Type Map Delete notice; a queued change of the
  // object at or below it belongs to the dropped links. Kept for good.
  void PutUnlinkFence(std::string_view object, uint64_t sequence,
                      WriteBatch* batch) const;
  // Every object's fence.
  [[nodiscard]] absl::StatusOr<std::map<std::string, uint64_t, std::less<>>>
  ListUnlinkFences() const;
  // What a severing leaves (R34): the severed link, without its stamps,
  // under the partner's id, so that a forward of that partner record links
  // it again to the same record here (with the link's sequences, so that
  // nothing older is applied twice), and nothing else of it is applied
  // meanwhile. Kept until then.
  void PutSevered(std::string_view object, const proto::RecordLink& link,
                  WriteBatch* batch) const;
  void DeleteSevered(std::string_view object, std::string_view partner_id,
                     WriteBatch* batch) const;
  [[nodiscard]] absl::StatusOr<std::optional<proto::RecordLink>> FindSevered(
      std::string_view object, std::string_view partner_id) const;

  // The step thread's stamps of a record and its delete mark: read once
  // per change, changed in memory, staged back whole. Step thread only.
  //
  // A linked record keeps them in its link (RecordLink::step_stamps), so
  // the read of the link reads them too and a change writes one value:
  // StepStampsOf and SetStepStamps, then Put of the link into the same
  // batch. A link written before that, or created by an acknowledgement,
  // does not hold them (holds_step_stamps false): StepStampsOf then reads
  // their own key, and SetStepStamps moves them into the link. A record
  // with no link (a local child a replicated cascade touched) keeps them
  // under their own key: GetStepStamps and PutStepStamps (an empty value
  // removes the key).
  [[nodiscard]] absl::StatusOr<proto::StepStamps> StepStampsOf(
      std::string_view object, const proto::RecordLink& link) const;
  void SetStepStamps(std::string_view object, proto::StepStamps stamps,
                     proto::RecordLink* link, WriteBatch* batch) const;
  [[nodiscard]] absl::StatusOr<proto::StepStamps> GetStepStamps(
      std::string_view object, std::string_view local_id) const;
  void PutStepStamps(std::string_view object, std::string_view local_id,
                     const proto::StepStamps& stamps, WriteBatch* batch) const;
  // A new link of `local_id`, reserved or not, for a received insert (home:
  // the partner id): it holds its (empty) step stamps from the start. Only
  // for an id that has never been linked nor stamped here -- one the
  // host's store has just reserved. Written with Create.
  static proto::RecordLink NewLink(std::string local_id,
                                   std::string partner_id);

  // The newest stamp of the field: the step thread's in `step` (as
  // StepStampsOf or GetStepStamps read it) or the capture's, read here.
  [[nodiscard]] absl::StatusOr<std::optional<proto::FieldStamp>> NewestStamp(
      const proto::StepStamps& step, std::string_view object,
      std::string_view local_id, std::string_view field) const;
  // NewestStamp of each of `fields` (in their order), with the insert's
  // stamps read once: for a record sent whole.
  [[nodiscard]] absl::StatusOr<std::vector<std::optional<proto::FieldStamp>>>
  NewestStamps(const proto::StepStamps& step, std::string_view object,
               std::string_view local_id,
               const std::vector<std::string>& fields) const;
  // Both reads, for one field.
  [[nodiscard]] absl::StatusOr<std::optional<proto::FieldStamp>> GetStamp(
      std::string_view object, std::string_view local_id,
      std::string_view field) const;
  // Stages `stamp` as a capture's latest stamp of the field (a blind
  // write: captures never read). Call before the batch is written.
  void PutCaptureStamp(std::string_view object, std::string_view local_id,
                       std::string_view field, const proto::FieldStamp& stamp,
                       WriteBatch* batch) const;
  // The same for every field an insert carried, under one key
  // (kInsertStampsField): a record's insert is captured once.
  void PutInsertCaptureStamps(std::string_view object,
                              std::string_view local_id,
                              const std::vector<std::string>& fields,
                              const proto::FieldStamp& stamp,
                              WriteBatch* batch) const;

  // All links of `object`, in local id order (tests, Verify).
  [[nodiscard]] absl::StatusOr<std::vector<proto::RecordLink>> List(
      std::string_view object) const;

  // The ids of `object`'s links in the order of one side's ids -- this
  // org's (by_partner false) or the partner's (true) -- after `after_id`
  // (exclusive; empty: from the first) up to `last_id` (inclusive; empty:
  // to the last), at most `limit`. One read of an iteration per link (a
  // stub names both ids). For Verify (engine/verify_digests.h).
  struct LinkedIds {
    std::string local_id;
    std::string partner_id;
  };
  [[nodiscard]] absl::StatusOr<std::vector<LinkedIds>> ListIds(
      std::string_view object, bool by_partner, std::string_view after_id,
      std::string_view last_id, size_t limit) const;
  // The same ids into `ids` (replacing what it held), reusing the buffers
  // of the ids it held: Verify lists a page of ids per call, a million
  // ids per org.
  [[nodiscard]] absl::Status ListIds(std::string_view object, bool by_partner,
                                     std::string_view after_id,
                                     std::string_view last_id, size_t limit,
                                     std::vector<LinkedIds>* ids) const;

  const std::string& connection_id() const { return connection_id_; }

 private:
  // "k/<connection>/<tag>/", and that followed by "<object>\0<id>": every
  // key of the links, by the tag of its kind.
  // `room`: bytes to reserve for what the caller appends.
  std::string TagPrefix(char tag, size_t room = 0) const;
  std::string RecordKey(char tag, std::string_view object,
                        std::string_view id) const;
  std::string LinkKey(std::string_view object, std::string_view local_id) const;
  std::string IndexKey(std::string_view object,
                       std::string_view partner_id) const;
  // With no field: the prefix of the record's capture stamps.
  std::string CaptureStampKey(std::string_view object,
                              std::string_view local_id,
                              std::optional<std::string_view> field) const;
  std::string StepStampsKey(std::string_view object,
                            std::string_view local_id) const;
  std::string SeverKey(const RecordRef& record) const;
  std::string SeveredKey(std::string_view object,
                         std::string_view partner_id) const;

  // The link under `key` (the local-id key when `by_local`), a stub
  // followed to the link's home; nullopt when there is none.
  absl::StatusOr<std::optional<proto::RecordLink>> Find(
      std::string_view object, std::string_view id, bool by_local) const;
  // The insert capture's stamps of the record (kInsertStampsField),
  // expanded; nullopt when there are none.
  absl::StatusOr<std::optional<proto::StepStamps>> InsertStamps(
      std::string_view object, std::string_view local_id) const;
  // What is stored under `key` (the key of `id`, a local id when
  // `by_local`): a whole link or a stub, checked to name `id`.
  absl::StatusOr<std::optional<proto::RecordLink>> ReadUnder(
      std::string_view object, std::string_view id, bool by_local,
      const std::string& key) const;
  // The whole link a stub read under `stub_key` points to.
  absl::StatusOr<std::optional<proto::RecordLink>> FollowStub(
      std::string_view object, const proto::RecordLink& stub,
      const std::string& stub_key, bool by_local) const;

  // Whether captures of `object` may have stored stamps: a secondary that
  // never writes an object of a one-way sync reads no capture stamps for
  // it. Learnt once per object from the Storage, then kept up to date by
  // PutCaptureStamp, which marks the object before its batch is written
  // (a read that misses the mark comes before that write).
  absl::StatusOr<bool> MayHaveCaptureStamps(std::string_view object) const;
  // Records what is known of `object` (true sticks) and returns it.
  bool NoteCaptured(std::string_view object, bool captured) const;

  Storage* const storage_;
  const std::string connection_id_;
  mutable internal::Mutex captured_mu_;
  mutable absl::flat_hash_map<std::string, bool> captured_objects_
      ABSL_GUARDED_BY(captured_mu_);
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_ENGINE_RECORD_LINKS_H_
