// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// VerifySharing: what one connection shares with its partner, as Verify
// (include/orgsync/verify.h) sees it -- the plan of objects and field
// pairs an initiator asks to compare, and the responder's answers.
//
// Trust: a request names objects and field pairs; the responder answers
// only for pairs that flow over this connection (this org receives the
// initiator's field into it, or publishes it to the initiator), so a
// partner cannot learn digests of anything the connection does not share.
//
// Thread-safety: a value over the connection's components, made for one
// call; Answer reads the host's RecordStore, so the caller holds no
// orgsync lock.

#ifndef ORGSYNC_LIB_CONNECTION_VERIFY_SHARING_H_
#define ORGSYNC_LIB_CONNECTION_VERIFY_SHARING_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/verify_digests.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/publish_set.h"
#include "orgsync/schema.h"
#include "orgsync/subscription_map.h"
#include "proto/wire.pb.h"

namespace orgsync::internal {

class VerifySharing {
 public:
  struct Deps {
    std::string org_id;
    std::string connection_id;
    const Schema* schema = nullptr;
    const PublishSet* publish_set = nullptr;
    const SubscriptionMap* subscription_map = nullptr;
    VerifyReaderDeps reader;
  };
  explicit VerifySharing(Deps deps) : deps_(std::move(deps)) {}

  // The initiator's plan request: this org's objects flowing over the
  // connection (or `chosen`, each of which must), with the fields it sends
  // and those it receives. InvalidArgument for an empty or repeated name,
  // FailedPrecondition for one that does not flow.
  [[nodiscard]] absl::StatusOr<std::vector<proto::VerifyObject>> Plan(
      const std::vector<std::string>& chosen) const;

  VerifyReader NewInitiatorReader() const {
    return VerifyReader(deps_.reader, /*initiator=*/true);
  }

  // The responder's answer to `request` (an error in it, not a status:
  // the initiator's run fails with it), translating lookups through
  // `translations` (kept by VerifyResponder for the run) and listing links
  // into `link_ids` (kept by it too; see VerifyReaderDeps).
  proto::VerifyAnswer Answer(
      const proto::VerifyRequest& request, ReferenceTranslations* translations,
      std::vector<RecordLinks::LinkedIds>* link_ids) const;

 private:
  proto::VerifyObject AnswerPlan(const proto::VerifyObject& asked) const;
  // This org's object for the initiator's `object`; empty when it flows
  // neither way.
  std::string LocalObject(const proto::VerifyObject& object) const;
  // Whether this org shares `pair` of `object` with the partner,
  // `local_object` being this org's object.
  bool PairShared(const proto::VerifyObject& object,
                  const std::string& local_object,
                  const proto::VerifyFieldPair& pair) const;

  Deps deps_;
};

// What a responder keeps between the partner's Verify requests: the
// lookups it translated for the request's run (a request of another run
// starts them afresh), and the buffers a page of links is listed into,
// let go once the partner has asked nothing for a while -- they may hold
// tens of MiB.
//
// Thread-safety: safe for concurrent use; an answer holds the object's
// lock while it reads the host's store, so answers do not overlap.
class VerifyResponder {
 public:
  // How long the translations outlive the last answer.
  static constexpr absl::Duration kKeepIdle = absl::Seconds(30);

  // `sharing`'s answer to `request`, at `now`.
  proto::VerifyAnswer Answer(const VerifySharing& sharing,
                             const proto::VerifyRequest& request,
                             absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);
  // Lets the translations go when nothing was answered for kKeepIdle
  // before `now`; cheap (no lock) when there is nothing to let go.
  void DropIfIdle(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  internal::Mutex mu_;
  ReferenceTranslations translations_ ABSL_GUARDED_BY(mu_);
  std::vector<RecordLinks::LinkedIds> link_ids_ ABSL_GUARDED_BY(mu_);
  // When the last answer was given, Unix micros; 0 while nothing is kept.
  std::atomic<int64_t> last_answer_micros_{0};
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_CONNECTION_VERIFY_SHARING_H_
