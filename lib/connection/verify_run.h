// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// VerifyRun: the initiator's side of one Verify (include/orgsync/verify.h),
// as a state machine without I/O. The connection (verify.cc) feeds it what
// the step thread read from this org (links with their digests, unlinked
// records) and the partner's answers, and sends the requests it hands out.
//
// The run, per object of the plan: the step thread reads the object's
// records and links in id order, a page of kVerifyRangeRecords records at
// a time (one range); each range
// waits, with its records' digests, for the partner's count and digest of
// the same range (VERIFY_DIGESTS, several ranges per request). A range
// that differs is listed by the partner record by record (VERIFY_LISTING)
// and compared; then its records are dropped. At most kMaxOpenRanges wait
// at once, so memory stays bounded whatever the size of the org. The same
// pages give this org's unlinked records; the partner's are asked for
// (VERIFY_UNLINKED), one page at a time.
//
// Requests not answered within the timeout are sent again, up to
// kMaxVerifyAttempts times; then the run fails.
//
// Thread-safety: none; the connection guards it with its verify lock.

#ifndef ORGSYNC_LIB_CONNECTION_VERIFY_RUN_H_
#define ORGSYNC_LIB_CONNECTION_VERIFY_RUN_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "engine/verify_digests.h"
#include "orgsync/verify.h"
#include "proto/wire.pb.h"

namespace orgsync::internal {

// Records per range of the initiator's ids.
inline constexpr size_t kVerifyRangeRecords = 1000;
// Ranges per VERIFY_DIGESTS request.
inline constexpr size_t kVerifyRangesPerRequest = 16;
// Ranges read and not settled yet, at most.
inline constexpr size_t kMaxOpenRanges = 64;
// Records per page of unlinked records read, on either side.
inline constexpr size_t kVerifyUnlinkedPage = 1000;
// Sends of one request without an answer before the run fails.
inline constexpr int kMaxVerifyAttempts = 8;

class VerifyRun {
 public:
  VerifyRun(uint64_t run, const VerifyOptions& options,
            std::string connection_id, absl::Time now,
            std::vector<proto::VerifyObject> plan);

  bool running() const { return report_.state == VerifyState::kRunning; }
  const VerifyReport& report() const { return report_; }
  uint64_t run() const { return report_.run; }

  // What the step thread should read next from this org: a page of an
  // object's records (VerifyReader::ReadLocal).
  struct ReadTask {
    bool any = false;
    size_t object = 0;
    std::string object_name;
    std::vector<VerifyField> fields;
    std::string after_id;
  };
  ReadTask NextRead() const;
  // The page read for `task`: one range of linked records, and the
  // unlinked ones.
  void OnPageRead(const ReadTask& task, VerifyReader::Page page);

  // The requests to send now: new ones, and those whose answer is overdue
  // (after `timeout`). Fails the run after kMaxVerifyAttempts sends.
  std::vector<proto::VerifyRequest> TakeRequests(absl::Time now,
                                                 absl::Duration timeout);
  // An answer of the partner (`bytes`: its size on the wire). Late and
  // repeated answers are ignored.
  void OnAnswer(const proto::VerifyAnswer& answer, size_t bytes,
                absl::Time now);
  // Whether `message_id` carried one of this run's requests (a
  // ProtocolError names it).
  void NoteSent(uint64_t request, uint64_t message_id, size_t bytes);
  bool Carried(uint64_t message_id) const;

  void Fail(std::string error, absl::Time now);

  // Every comparison done; with `repair`, the records to forward next.
  bool compared() const;
  std::vector<std::string> TakeRepairs(std::string* object);
  void NoteRepaired(uint64_t forwarded) { report_.repaired += forwarded; }
  void Complete(absl::Time now);

 private:
  struct Range {
    size_t object = 0;
    std::string after_id;
    std::string last_id;  // empty: to the object's last
    std::vector<VerifyEntry> entries;
    DigestSum sum;
    uint64_t pending = 0;
  };
  struct ObjectState {
    proto::VerifyObject wire;  // the agreed plan of the object
    std::vector<VerifyField> fields;
    std::string cursor;
    bool links_done = false;
    std::string unlinked_there_cursor;
    bool unlinked_there_done = false;
    std::vector<std::string> repairs;
  };
  struct Outstanding {
    proto::VerifyRequest request;
    absl::Time sent = absl::InfinitePast();
    int attempts = 0;
    // The ranges it asks about (VERIFY_DIGESTS, VERIFY_LISTING), or the
    // object whose unlinked records it asks for (VERIFY_UNLINKED).
    std::vector<uint64_t> ranges;
    size_t object = 0;
    std::vector<uint64_t> message_ids;
  };

  void OnPlan(const proto::VerifyAnswer& answer, absl::Time now);
  void OnDigests(const Outstanding& asked, const proto::VerifyAnswer& answer,
                 absl::Time now);
  void OnListing(const Outstanding& asked, const proto::VerifyAnswer& answer);
  void OnUnlinkedThere(const Outstanding& asked,
                       const proto::VerifyAnswer& answer, absl::Time now);
  void Ask(proto::VerifyRequest request, std::vector<uint64_t> ranges = {},
           size_t object = 0);
  void AskDigestsOfClosedRanges(bool flush);
  void AskUnlinkedThere(size_t object);
  void Settle(const Range& range, uint64_t matched, uint64_t pending);
  void AddRepair(size_t object, const std::string& local_id);
  template <typename T>
  void List(std::vector<T>* list, T item) const;
  VerifyObjectReport& ReportOf(size_t object) {
    return report_.objects[object];
  }

  VerifyOptions options_;
  VerifyReport report_;
  bool planned_ = false;
  std::vector<ObjectState> objects_;
  uint64_t next_request_ = 1;
  uint64_t next_range_ = 1;
  std::map<uint64_t, Range> ranges_;
  // Ranges read whose digests are not asked for yet.
  std::vector<uint64_t> unasked_;
  std::map<uint64_t, Outstanding> outstanding_;
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_CONNECTION_VERIFY_RUN_H_
