// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Two orgsync-node processes joined over loopback with mutual TLS, as the
// node tests set them up: a primary that listens and a secondary that
// dials, each with its state folder, sharing one schema (object "Item":
// Key, Value, Amount). Helpers to connect them, write records through the
// control service and read them back keyed by their Key field (record ids
// differ between the orgs). Built only with ORGSYNC_GRPC.
//
// Thread-safety: none; one test thread uses a NodePair.

#ifndef ORGSYNC_TESTS_TESTING_NODE_PAIR_H_
#define ORGSYNC_TESTS_TESTING_NODE_PAIR_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/node/node_control.pb.h"
#include "testing/node_process.h"
#include "testing/temp_dir.h"

namespace orgsync::testing {

// The schema file both nodes are made with.
extern const char kNodeTestSchema[];

// One record as a test compares it across orgs.
struct ItemState {
  std::string value;   // the Value field
  std::string amount;  // the Amount field
  bool deleted = false;
  friend bool operator==(const ItemState&, const ItemState&) = default;
};

struct NodePairOptions {
  // Passed to init of both nodes.
  int ack_timeout_ms = 1000;
  int retry_initial_delay_ms = 0;  // 0: the library's default
  // Extra arguments of both `run`s (e.g. --power-loss-signal).
  std::vector<std::string> extra_run_args;
};

class NodePair {
 public:
  // Makes the folders and inits both nodes (REQUIREs success).
  explicit NodePair(NodePairOptions options = {});

  NodeProcess primary;
  NodeProcess secondary;

  const std::string& primary_state() const { return primary_state_; }
  const std::string& secondary_state() const { return secondary_state_; }
  const std::string& log() const { return log_; }
  int port() const { return port_; }
  TempDir& dir() { return dir_; }

  // Starts one node (without waiting) or both (waiting until they serve).
  absl::Status StartPrimary();
  absl::Status StartSecondary();
  void StartBoth();

  // Invitation on the primary, acceptance on the secondary, both Active;
  // then both publish Item and subscribe to the partner's: two-way.
  void Connect();

  // Status of a node; REQUIREs the call to work.
  static node::StatusReply Status(NodeProcess& node);
  // Active with the partner reachable.
  static bool Active(NodeProcess& node);
  // Active, nothing queued, nothing to send.
  static bool Idle(NodeProcess& node);

  // Upserts (id may be empty: the store picks one) and returns the id.
  static absl::StatusOr<std::string> Upsert(
      NodeProcess& node, const std::string& id,
      const std::map<std::string, std::string>& fields,
      absl::Duration deadline = absl::Seconds(10));
  static absl::Status Delete(NodeProcess& node, const std::string& id,
                             absl::Duration deadline = absl::Seconds(10));
  // Every Item by Key; a Key held by several records is listed once per
  // record in `duplicates` (the extra ones).
  static absl::StatusOr<std::map<std::string, ItemState>> Items(
      NodeProcess& node, std::vector<std::string>* duplicates = nullptr);

 private:
  NodePairOptions options_;
  TempDir dir_;
  std::string schema_;
  std::string primary_state_;
  std::string secondary_state_;
  std::string log_;
  int port_ = 0;
};

}  // namespace orgsync::testing

#endif  // ORGSYNC_TESTS_TESTING_NODE_PAIR_H_
