// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The node's own record of the connections it carries (NodeLink, in
// lib/proto/node/node_config.proto): under "n/link/<connection id>" in the
// org's database, next to the org's state, written with sync before the
// node acts on it, so that a restarted node listens or dials again on its
// own.
//
// Thread-safety: as the Storage's.

#ifndef ORGSYNC_LIB_NODE_LINK_STORE_H_
#define ORGSYNC_LIB_NODE_LINK_STORE_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "orgsync/storage.h"
#include "proto/node/node_config.pb.h"

namespace orgsync::node {

// Writes (or replaces) `link`, durably.
[[nodiscard]] absl::Status SaveLink(Storage* storage, const NodeLink& link);

// Every stored link, ordered by connection id. DataLoss for a stored link
// that does not parse.
[[nodiscard]] absl::StatusOr<std::vector<NodeLink>> LoadLinks(
    Storage* storage);

}  // namespace orgsync::node

#endif  // ORGSYNC_LIB_NODE_LINK_STORE_H_
