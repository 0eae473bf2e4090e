// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// GrpcTransportOptions checked and loaded: every field validated with a
// message naming it, the secret decoded, the PEM files read, and gRPC's
// credentials and channel arguments built from them. The transports take
// nothing from the options that did not pass through here.
//
// Thread-safety: pure functions.

#ifndef ORGSYNC_LIB_TRANSPORT_GRPC_OPTIONS_H_
#define ORGSYNC_LIB_TRANSPORT_GRPC_OPTIONS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "orgsync/grpc_transport.h"

namespace orgsync::grpc_internal {

enum class Side { kListener, kDialer };

struct CheckedOptions {
  GrpcTransportOptions options;
  std::string secret;  // 32 raw bytes
  // The PEM files' contents (empty when not given).
  std::string cert_chain;
  std::string private_key;
  std::string root_certs;
};

// InvalidArgument, naming the field, for anything wrong (see Listen/Dial in
// orgsync/grpc_transport.h).
[[nodiscard]] absl::StatusOr<CheckedOptions> CheckOptions(
    GrpcTransportOptions options, Side side);

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(
    const CheckedOptions& checked);
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(
    const CheckedOptions& checked);
// What both sides' HTTP/2 connections are tuned with (see options.cc).
grpc::ChannelArguments DialerChannelArguments(const CheckedOptions& checked);

}  // namespace orgsync::grpc_internal

#endif  // ORGSYNC_LIB_TRANSPORT_GRPC_OPTIONS_H_
