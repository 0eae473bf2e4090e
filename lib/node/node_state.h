// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The state folder of one orgsync-node, and the objects opened on it.
//
// Layout of a state folder <state>:
//   <state>/node.textproto  the node's config (orgsync.node.NodeConfig, in
//                           protobuf text format: org id, org name, the
//                           schema as text, delivery tuning). Written once
//                           by `orgsync-node init`, read at every start.
//   <state>/db/             one LevelDB database: the org's Storage (its
//                           connections, queues, logs under the library's
//                           prefixes), its record store (shares_org_storage,
//                           under "r/"), and the node's own links under
//                           "n/" (see link_store.h: which connection the
//                           node listens for or dials, its secret and the
//                           partner's address).
//   <state>/control.sock    the Unix socket of the NodeControl service
//                           (lib/proto/node/node_control.proto) while the
//                           node runs; removed when it stops cleanly. A
//                           socket left by a killed node is replaced at the
//                           next start.
// LevelDB's lock on <state>/db/ is what keeps two processes from opening
// one state at once: the second gets FailedPrecondition naming the folder.
//
// OpenNodeState opens everything exactly as orgsync-node does; tools
// (orgsync-admin) use it when the node is not running.
//
// Thread-safety: NodeState is a plain owner; its members are as
// thread-safe as their own classes say (Org, Storage, RecordStore and
// Schema may be used from any thread).

#ifndef ORGSYNC_LIB_NODE_NODE_STATE_H_
#define ORGSYNC_LIB_NODE_NODE_STATE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/node/node_config.pb.h"
#include "orgsync/clock.h"
#include "orgsync/org.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"

namespace leveldb {
class Env;
}  // namespace leveldb

namespace orgsync::node {

// The paths of a state folder's parts.
std::string ConfigPath(const std::string& state_dir);
std::string DatabasePath(const std::string& state_dir);
std::string ControlSocketPath(const std::string& state_dir);

// Everything a node runs on. Members are destroyed in reverse order: the
// Org first, the Storage last.
struct NodeState {
  std::string state_dir;
  NodeConfig config;
  std::unique_ptr<Storage> storage;
  std::unique_ptr<Schema> schema;
  // The system clock (Clock::System()), not owned by anyone.
  Clock* clock = nullptr;
  std::unique_ptr<RecordStore> record_store;
  std::unique_ptr<Org> org;
};

struct NodeStateOptions {
  // The Env LevelDB makes its files through (crash tests: an Env that
  // forgets unsynced writes); not owned, must outlive the NodeState.
  // Null: the library's default.
  leveldb::Env* leveldb_env = nullptr;
};

// Opens the state folder `state_dir` that `orgsync-node init` made.
// NotFound (naming the file) if there is no node.textproto; InvalidArgument
// if it does not parse or its schema is invalid (naming object and field);
// FailedPrecondition naming the folder when another process holds it;
// the Storage's and Org::Open's errors otherwise.
[[nodiscard]] absl::StatusOr<std::unique_ptr<NodeState>> OpenNodeState(
    const std::string& state_dir, const NodeStateOptions& options = {});

// `orgsync-node init`: makes the state folder `state_dir` (and its
// parents) for `config`, creates the database and opens the org on it
// once (which stamps the org id into it), then writes node.textproto. If
// anything is refused (a bad org id or schema: InvalidArgument), nothing
// is left behind. AlreadyExists if the folder holds a node.textproto or a
// database already.
[[nodiscard]] absl::Status CreateNodeState(const std::string& state_dir,
                                           const NodeConfig& config);

}  // namespace orgsync::node

#endif  // ORGSYNC_LIB_NODE_NODE_STATE_H_
