// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "transport/grpc/options.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connection/secret.h"

namespace orgsync::grpc_internal {
namespace {

// A PEM file the transport needs, read whole. Read here rather than by
// gRPC so that a bad path is a precise InvalidArgument when the transport
// is made, not a failed handshake later.
absl::Status ReadPem(const char* field, const std::string& path,
                     std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": cannot read '", path, "': ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  *out = std::move(contents).str();
  if (!absl::StrContains(*out, "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": '", path, "' holds no PEM block"));
  }
  return absl::OkStatus();
}

absl::Status CheckTls(const GrpcTlsOptions& tls, Side side,
                      CheckedOptions* checked) {
  if (tls.insecure) {
    if (!tls.cert_chain_file.empty() || !tls.private_key_file.empty() ||
        !tls.root_certs_file.empty() || tls.require_client_certificate) {
      return absl::InvalidArgumentError(
          "tls.insecure is set together with certificates: choose one");
    }
    return absl::OkStatus();
  }
  if (tls.cert_chain_file.empty() != tls.private_key_file.empty()) {
    return absl::InvalidArgumentError(
        "tls.cert_chain_file and tls.private_key_file go together");
  }
  if (side == Side::kListener && tls.cert_chain_file.empty()) {
    return absl::InvalidArgumentError(
        "tls.cert_chain_file is required to listen with TLS (or set "
        "tls.insecure)");
  }
  if (tls.root_certs_file.empty() &&
      (side == Side::kDialer || tls.require_client_certificate)) {
    return absl::InvalidArgumentError(
        side == Side::kDialer
            ? "tls.root_certs_file is required to dial with TLS (or set "
              "tls.insecure)"
            : "tls.root_certs_file is required with "
              "tls.require_client_certificate");
  }
  if (side == Side::kDialer && tls.require_client_certificate) {
    return absl::InvalidArgumentError(
        "tls.require_client_certificate is a listener's option");
  }
  if (!tls.cert_chain_file.empty()) {
    if (absl::Status s = ReadPem("tls.cert_chain_file", tls.cert_chain_file,
                                 &checked->cert_chain);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = ReadPem("tls.private_key_file", tls.private_key_file,
                                 &checked->private_key);
        !s.ok()) {
      return s;
    }
  }
  if (!tls.root_certs_file.empty()) {
    return ReadPem("tls.root_certs_file", tls.root_certs_file,
                   &checked->root_certs);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CheckedOptions> CheckOptions(GrpcTransportOptions options,
                                            Side side) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError("address is empty");
  }
  if (options.connection_id.empty()) {
    return absl::InvalidArgumentError("connection_id is empty");
  }
  if (options.secret_hex.size() != 2 * internal::kSecretBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("secret_hex must be ", 2 * internal::kSecretBytes,
                     " hex digits, not ", options.secret_hex.size()));
  }
  absl::StatusOr<std::string> secret = internal::HexDecode(options.secret_hex);
  if (!secret.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("secret_hex: ", secret.status().message()));
  }
  if (options.max_bytes_in_flight == 0) {
    return absl::InvalidArgumentError("max_bytes_in_flight must be positive");
  }
  if (options.max_message_bytes == 0 ||
      options.max_message_bytes > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_message_bytes must be in [1, ", INT_MAX, "]"));
  }
  if (options.reconnect_initial_backoff <= absl::ZeroDuration() ||
      options.reconnect_max_backoff < options.reconnect_initial_backoff) {
    return absl::InvalidArgumentError(
        "reconnect_initial_backoff must be positive and at most "
        "reconnect_max_backoff");
  }
  if (options.handshake_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("handshake_timeout must be positive");
  }
  if (options.max_unauthenticated_streams <= 0) {
    return absl::InvalidArgumentError(
        "max_unauthenticated_streams must be positive");
  }
  CheckedOptions checked;
  if (absl::Status s = CheckTls(options.tls, side, &checked); !s.ok()) {
    return s;
  }
  checked.secret = *std::move(secret);
  checked.options = std::move(options);
  return checked;
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(
    const CheckedOptions& checked) {
  const GrpcTlsOptions& tls = checked.options.tls;
  if (tls.insecure) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(
      tls.require_client_certificate
          ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  ssl.pem_root_certs = checked.root_certs;
  ssl.pem_key_cert_pairs.push_back({checked.private_key, checked.cert_chain});
  return grpc::SslServerCredentials(ssl);
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(
    const CheckedOptions& checked) {
  const GrpcTlsOptions& tls = checked.options.tls;
  if (tls.insecure) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = checked.root_certs;
  ssl.pem_private_key = checked.private_key;
  ssl.pem_cert_chain = checked.cert_chain;
  return grpc::SslCredentials(ssl);
}

grpc::ChannelArguments DialerChannelArguments(const CheckedOptions& checked) {
  const GrpcTransportOptions& options = checked.options;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  args.SetMaxSendMessageSize(-1);
  if (!options.tls.target_name_override.empty()) {
    args.SetSslTargetNameOverride(options.tls.target_name_override);
  }
  // The transport redials with its own backoff (a new channel each time):
  // gRPC's own reconnect backoff, shared through the global subchannel
  // pool, would otherwise fail the new channel's first call at once for up
  // to its own (much longer) delay.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // BDP probing grows a stream's flow-control window to megabytes; without
  // it the window stays at HTTP/2's default, so a receiver that stops
  // reading stops the sender after a few tens of KiB in gRPC's buffers.
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  return args;
}

}  // namespace orgsync::grpc_internal
