// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// NodeRuntime: what `orgsync-node run` runs on an opened NodeState: a
// Runner stepping the Org, and one GrpcTransport per connection the node
// carries (listening for its partner, or dialing it), restored from the
// node's links (link_store.h) at start. The control service
// (control_service.h) calls it for what needs more than the Org: new
// invitations and acceptances (which start transports) and host writes.
//
// A listening node carries one connection (GrpcTransport serves one per
// address): the first invitation made while it runs with --listen, or the
// one stored from an earlier run. A dialing node dials for each
// connection it accepted, at the address the acceptance named (or the one
// given to --dial, which also replaces stored addresses).
//
// Ownership: owns the NodeState, the Runner and the transports.
//
// Thread-safety: every method may be called from any thread; Stop() and
// the destructor must not be called from the runner's thread.

#ifndef ORGSYNC_LIB_NODE_NODE_RUNTIME_H_
#define ORGSYNC_LIB_NODE_NODE_RUNTIME_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orgsync/internal/mutex.h"
#include "node/node_state.h"
#include "orgsync/connection.h"
#include "orgsync/grpc_transport.h"
#include "orgsync/runner.h"
#include "proto/node/node_control.pb.h"

namespace orgsync::node {

struct NodeRunOptions {
  // "host:port" to listen on for the partner; empty: do not listen.
  std::string listen_address;
  // "host:port" of the partner to dial; empty: the stored addresses.
  std::string dial_address;
  GrpcTlsOptions tls;
  // How often a secondary still Invited sends its acceptance again while
  // its partner is reachable.
  absl::Duration acceptance_resend = absl::Seconds(1);
};

class NodeRuntime {
 public:
  // Starts the transports of the stored links and the runner. A link the
  // node cannot carry in this run (a listening one without --listen, one
  // with no address to dial, one whose connection does not exist) is
  // skipped with a line on stderr.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<NodeRuntime>> Start(
      std::unique_ptr<NodeState> state, NodeRunOptions options);
  ~NodeRuntime();
  NodeRuntime(const NodeRuntime&) = delete;
  NodeRuntime& operator=(const NodeRuntime&) = delete;

  // Stops the runner, closes the Org (detaching its connections) and shuts
  // the transports down. Idempotent.
  void Stop();

  [[nodiscard]] absl::StatusOr<Invitation> CreateInvitation(
      const CreateInvitationRequest& request);
  [[nodiscard]] absl::Status Accept(const AcceptRequest& request);
  [[nodiscard]] absl::StatusOr<CaptureReply> Capture(
      const CaptureRequest& request);
  [[nodiscard]] absl::StatusOr<GetRecordsReply> GetRecords(
      const GetRecordsRequest& request);
  [[nodiscard]] absl::StatusOr<StatusReply> Status();

  // The connection `connection_id`, or the only one when it is empty.
  [[nodiscard]] absl::StatusOr<Connection*> FindConnection(
      const std::string& connection_id) const;

  Org& org() const { return *state_->org; }
  NodeState& state() const { return *state_; }
  void Wake();

 private:
  NodeRuntime(std::unique_ptr<NodeState> state, NodeRunOptions options);
  absl::Status StartTransport(const NodeLink& link)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<size_t> ResendAcceptances();

  std::unique_ptr<NodeState> state_;
  const NodeRunOptions options_;
  std::unique_ptr<Runner> runner_;
  absl::Time next_acceptance_resend_ = absl::InfinitePast();  // runner thread

  mutable internal::Mutex mu_;
  std::map<std::string, std::unique_ptr<GrpcTransport>> transports_
      ABSL_GUARDED_BY(mu_);
  int listen_port_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace orgsync::node

#endif  // ORGSYNC_LIB_NODE_NODE_RUNTIME_H_
