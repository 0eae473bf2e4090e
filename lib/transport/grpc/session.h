// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// RunSession: carries engine messages over one authenticated stream until
// it breaks -- the same for the listener (server stream) and the dialer
// (client stream), which is why it is a template over gRPC's stream type.
//
// The calling thread reads: each message goes to the handler before the
// next is read, so a slow handler stops the reads and gRPC's HTTP/2 flow
// control pushes back on the sender. A writer thread of the session writes
// what Send() queued, one message at a time (gRPC allows one reader and one
// writer at once on a stream, not two writers).
//
// Thread-safety: called once per session, on the stream's thread.

#ifndef ORGSYNC_LIB_TRANSPORT_GRPC_SESSION_H_
#define ORGSYNC_LIB_TRANSPORT_GRPC_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "proto/grpc/org_link.pb.h"
#include "transport/grpc/link_core.h"

namespace orgsync::grpc_internal {

// Runs session `id` of `core` over `stream` until it breaks; `cancel` ends
// the stream (e.g. ServerContext::TryCancel). Reports the partner available
// while it runs and unavailable when it ended, then finishes the session.
template <typename Stream>
void RunSession(LinkCore* core, Stream* stream, uint64_t id,
                const std::function<void()>& cancel) {
  std::thread writer([core, stream, id]() {
    while (std::optional<std::string> bytes = core->NextToWrite(id)) {
      const size_t size = bytes->size();
      orglink::Frame frame;
      frame.set_message(std::move(*bytes));
      const bool ok = stream->Write(frame);
      core->Written(size, ok);
      if (!ok) return;
    }
  });
  core->ReportAvailability(true);
  orglink::Frame frame;
  // A handshake frame now would be the partner's protocol error: end.
  while (stream->Read(&frame) && frame.has_message()) {
    core->Deliver(std::move(*frame.mutable_message()));
  }
  core->EndSession(id);
  // The writer may be blocked in Write (the partner stopped reading).
  cancel();
  writer.join();
  core->ReportAvailability(false);
  core->SessionFinished(id);
}

}  // namespace orgsync::grpc_internal

#endif  // ORGSYNC_LIB_TRANSPORT_GRPC_SESSION_H_
