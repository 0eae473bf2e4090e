// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// One org's side of a Verify (include/orgsync/verify.h): reads the linked
// records of an object in the order of the initiator's ids and gives each
// a digest that both orgs compute alike, sums digests over ranges, and
// finds the records that are not linked.
//
// A record's digest is the first 16 bytes of SHA-256 over, each
// prefixed with its length (a base-128 varint): the initiator's id, the
// responder's id, the deleted flag, and for each compared field (in the agreed
// order) the initiator's name of the field and the value's protobuf encoding.
// (What follows the ids, the record's "tail", is encoded as the record is read,
// so that a record need not be kept until its link is known.) Values are put in
// the initiator's terms first: on the responder, a lookup names the
// initiator's record it is linked to ("unlinked:<id>" when it is not, so
// it differs), and a user reference the initiator's user when the users
// are linked. A record the link names but the store lacks, and one with a
// change of its own still queued, gets no digest (absent, pending).
//
// Thread-safety: a VerifyReader is used by one thread at a time; it calls
// the host's RecordStore, so the caller holds no orgsync lock.

#ifndef ORGSYNC_LIB_ENGINE_VERIFY_DIGESTS_H_
#define ORGSYNC_LIB_ENGINE_VERIFY_DIGESTS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "connection/hmac_sha256.h"
#include "engine/record_links.h"
#include "orgsync/record_queue.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "proto/common.pb.h"
#include "records/lending_record_store.h"

namespace orgsync::internal {

// Bytes of one record's digest and of a range's sum.
inline constexpr size_t kVerifyDigestBytes = 16;

// The sum of record digests over a range: two 64-bit lanes, wrapping, so
// that it does not depend on the order of the records.
class DigestSum {
 public:
  void Add(std::string_view digest);
  // kVerifyDigestBytes bytes; empty when nothing was added.
  std::string Bytes() const;
  uint64_t count() const { return count_; }

 private:
  std::array<uint64_t, 2> lanes_ = {0, 0};
  uint64_t count_ = 0;
};

// One linked record as one side reads it.
struct VerifyEntry {
  std::string initiator_id;
  std::string responder_id;
  // kVerifyDigestBytes bytes; empty when pending or absent.
  std::string digest;
  bool pending = false;
  bool absent = false;
};

// A field compared: this side's name and the initiator's (the digest
// covers the initiator's name).
struct VerifyField {
  std::string local_name;
  std::string initiator_name;
};

// The responder's translations of lookups (object and id -> the
// initiator's id), kept across the requests of one run: children share
// parents, and a run's requests ask for the same parents again and again.
struct ReferenceTranslations {
  uint64_t run = 0;
  // Target object -> this org's id -> the initiator's (a lookup finds its
  // entry without building a key).
  absl::flat_hash_map<std::string,
                      absl::flat_hash_map<std::string, std::string>>
      by_object;
  size_t count = 0;  // entries in all of by_object
};

struct VerifyReaderDeps {
  const Schema* schema = nullptr;
  RecordStore* store = nullptr;
  const RecordQueue* queue = nullptr;
  const RecordLinks* links = nullptr;
  // This org's user id -> the partner's user linked to it (nullopt: not
  // linked). Unset: user references are compared as they are.
  std::function<absl::StatusOr<std::optional<std::string>>(std::string_view)>
      partner_user;
  // Where the responder keeps its translations (not owned); unset: none
  // are kept.
  ReferenceTranslations* translations = nullptr;
  // Where the reader lists a page's links (not owned): the responder keeps
  // it across requests, a reader each, so that the buffers of the ids are
  // reused. Unset: the reader's own.
  std::vector<RecordLinks::LinkedIds>* link_ids = nullptr;
};

class VerifyReader {
 public:
  // `initiator`: this side started the Verify (its ids order the ranges
  // and its values need no translation).
  VerifyReader(VerifyReaderDeps deps, bool initiator);
  // Not copied or moved: lending_ may point at its own copying_.
  VerifyReader(const VerifyReader&) = delete;
  VerifyReader& operator=(const VerifyReader&) = delete;

  // One page of this org's records of `object` in id order, with the
  // links of the same ids: the linked ones as entries, and the ids of the
  // others that have no change queued (not linked).
  struct Page {
    std::vector<VerifyEntry> linked;
    std::vector<std::string> unlinked;
    // The page covers the ids after the `after_id` it was read after, up
    // to this one (inclusive); empty when `done`: to the last.
    std::string last_read;
    bool done = false;
  };
  // The initiator's own side: a page of its RecordStore (`limit` records
  // at most) after `after_id`, read beside its links by local id -- one
  // pass for the comparison and the unlinked records both.
  [[nodiscard]] absl::StatusOr<Page> ReadLocal(
      std::string_view object, const std::vector<VerifyField>& fields,
      std::string_view after_id, size_t limit);

  // The responder: its copies linked to the initiator's ids after
  // `after_id` (exclusive; empty: from the first) up to `last_id`
  // (inclusive; empty: to the last), at most `limit`, in the initiator's
  // id order.
  [[nodiscard]] absl::StatusOr<std::vector<VerifyEntry>> ReadCopies(
      std::string_view object, const std::vector<VerifyField>& fields,
      std::string_view after_id, std::string_view last_id, size_t limit);

  // The responder, for VERIFY_DIGESTS: the copies ReadCopies would list,
  // summed (the digests of those neither pending nor absent), without
  // the entries.
  struct CopiesSum {
    DigestSum sum;
    uint64_t pending = 0;
    size_t copies = 0;  // entries ReadCopies would list
  };
  [[nodiscard]] absl::StatusOr<CopiesSum> SumCopies(
      std::string_view object, const std::vector<VerifyField>& fields,
      std::string_view after_id, std::string_view last_id, size_t limit);

  // The responder: a page of its records of `object` after `after_id`
  // (`limit` records at most); `linked` stays empty.
  [[nodiscard]] absl::StatusOr<Page> ReadUnlinked(std::string_view object,
                                                  std::string_view after_id,
                                                  size_t limit);

 private:
  // Where a record's tail lies in `tails_`.
  struct TailSpan {
    size_t offset = 0;
    size_t size = 0;
  };
  // Appends to `tails_` the pieces of `record`'s digest that follow the
  // two ids: the deleted flag and the compared fields.
  [[nodiscard]] absl::StatusOr<TailSpan> AppendTail(
      const Record& record, const ObjectDef* def,
      const std::vector<VerifyField>& fields);
  std::string_view TailOf(TailSpan span) const {
    return std::string_view(tails_).substr(span.offset, span.size);
  }
  // A record's digest: the pieces of its ids, then its tail (in a buffer
  // of the reader, valid until the next call).
  std::string_view Digest(std::string_view initiator_id,
                          std::string_view responder_id, std::string_view tail);
  // The links and the copies' tails of ReadCopies, into Linked() and
  // `copy_tails_` (nullopt: the store does not have the copy).
  [[nodiscard]] absl::Status ReadCopyTails(
      std::string_view object, const std::vector<VerifyField>& fields,
      std::string_view after_id, std::string_view last_id, size_t limit);
  // A reference value in the initiator's ids, assigned to `out` (whose
  // buffer is reused from record to record).
  [[nodiscard]] absl::Status InitiatorReference(const FieldDef* def,
                                                const std::string& id,
                                                std::string* out);
  // Whether (object, id) has a change of its own queued.
  [[nodiscard]] absl::StatusOr<bool> HasPending(std::string_view object,
                                                std::string_view id);
  // The entry of a linked record of this org, from its tail (nullopt: the
  // store does not have it); takes the ids, which the caller no longer
  // needs.
  [[nodiscard]] absl::StatusOr<VerifyEntry> EntryOf(
      std::string_view object, std::string local_id, std::string partner_id,
      std::optional<std::string_view> tail);
  // Where a page's links are listed.
  std::vector<RecordLinks::LinkedIds>& Linked() {
    return deps_.link_ids != nullptr ? *deps_.link_ids : own_link_ids_;
  }
  // A page of the store: its ids, and its records' tails when they were
  // read.
  struct StorePage {
    std::vector<std::string_view> ids;
    std::vector<TailSpan> tails;  // empty, or one per id
    std::string resume_after;
    bool end = false;
    size_t limit = 0;  // the page's limit, asked of the store
  };
  // The page's entries (with `fields`; none without) and unlinked ids,
  // beside the local links of the same ids.
  [[nodiscard]] absl::StatusOr<Page> ReadStorePage(
      std::string_view object, const std::vector<VerifyField>* fields,
      std::string_view after_id, const StorePage& store);

  VerifyReaderDeps deps_;
  bool initiator_;
  // The shipped stores lend their records (records/lending_record_store.h);
  // a host's store is read through its public calls (copying_).
  CopyingLender copying_;
  LendingRecordStore* lending_ = nullptr;
  // Scratch kept from record to record, so that the per-record work
  // allocates little (a million records per side): the tails of a page's
  // records and their ids, the links of a page, the copies' local ids
  // and tails, a digest, its id pieces and a value's encoding, a
  // lookup translated to the initiator's id, and the record named to the
  // queue.
  std::string tails_;
  std::string ids_;
  std::vector<RecordLinks::LinkedIds> own_link_ids_;
  std::vector<std::string> local_ids_;
  std::vector<std::optional<TailSpan>> copy_tails_;
  std::array<char, kSha256Bytes> digest_;
  std::string pieces_;
  std::string encoded_;
  FieldValue translated_ = Reference{};
  RecordRef pending_ref_;
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_ENGINE_VERIFY_DIGESTS_H_
