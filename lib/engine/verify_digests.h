// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// One org's side of a Verify (include/orgsync/verify.h): reads the linked
// records of an object in the order of the initiator's ids and gives each
// a digest that both orgs compute alike, sums digests over ranges, and
// finds the records that are not linked.
//
// A record's digest is the first 16 bytes of SHA-256 over, each
// length-prefixed: the initiator's id, the responder's id, the deleted
// flag, and for each compared field (in the agreed order) the initiator's
// name of the field and the value's protobuf encoding. Values are put in
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

#include "absl/status/statusor.h"
#include "engine/record_links.h"
#include "orgsync/record_queue.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"

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

struct VerifyReaderDeps {
  const Schema* schema = nullptr;
  RecordStore* store = nullptr;
  const RecordQueue* queue = nullptr;
  const RecordLinks* links = nullptr;
  // This org's user id -> the partner's user linked to it (nullopt: not
  // linked). Unset: user references are compared as they are.
  std::function<absl::StatusOr<std::optional<std::string>>(std::string_view)>
      partner_user;
};

class VerifyReader {
 public:
  // `initiator`: this side started the Verify (its ids order the ranges
  // and its values need no translation).
  VerifyReader(VerifyReaderDeps deps, bool initiator);

  // The linked records of `object` after `after_id` (exclusive; empty:
  // from the first) up to `last_id` (inclusive; empty: to the last), at
  // most `limit`, in the initiator's id order.
  [[nodiscard]] absl::StatusOr<std::vector<VerifyEntry>> Read(
      std::string_view object, const std::vector<VerifyField>& fields,
      std::string_view after_id, std::string_view last_id, size_t limit);

  struct UnlinkedPage {
    std::vector<std::string> ids;
    // The last id read; the next page starts after it.
    std::string last_read;
    bool done = false;
  };
  // Records of `object` after `after_id` that are not linked and have no
  // change queued, reading at most `limit` records.
  [[nodiscard]] absl::StatusOr<UnlinkedPage> ReadUnlinked(
      std::string_view object, std::string_view after_id, size_t limit);

 private:
  [[nodiscard]] absl::StatusOr<std::string> Digest(
      const VerifyEntry& entry, const Record& record, const ObjectDef* def,
      const std::vector<VerifyField>& fields);
  // A reference value in the initiator's ids.
  [[nodiscard]] absl::StatusOr<std::string> InitiatorReference(
      const FieldDef* def, const std::string& id);

  VerifyReaderDeps deps_;
  bool initiator_;
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_ENGINE_VERIFY_DIGESTS_H_
