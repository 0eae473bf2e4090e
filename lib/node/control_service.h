// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// ControlServer: the NodeControl service (lib/proto/node/node_control.proto)
// of a running node, on the Unix socket <state>/control.sock. Each call
// goes to the NodeRuntime or straight to the Org; a failed call answers
// the absl status as the gRPC status of the same code and message.
//
// Ownership: does not own the runtime, which must outlive the server.
//
// Thread-safety: calls are served on gRPC's threads; Shutdown() may be
// called from any thread but not from inside a call.

#ifndef ORGSYNC_LIB_NODE_CONTROL_SERVICE_H_
#define ORGSYNC_LIB_NODE_CONTROL_SERVICE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "node/node_runtime.h"

namespace orgsync::node {

class ControlServer {
 public:
  // Serves on unix:`socket_path`, replacing a socket file a killed node
  // left there. Unavailable if it cannot bind.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ControlServer>> Start(
      NodeRuntime* runtime, const std::string& socket_path);
  virtual ~ControlServer() = default;

  // Ends the calls in progress, stops serving and removes the socket file.
  // Idempotent.
  virtual void Shutdown() = 0;
};

}  // namespace orgsync::node

#endif  // ORGSYNC_LIB_NODE_CONTROL_SERVICE_H_
