// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Throwaway TLS certificates for loopback runs over gRPC (tests, the demo,
// the benchmark), made with the openssl command: a CA (ca.pem, ca.key), a
// server certificate for localhost and 127.0.0.1 (server.pem, server.key)
// and a client certificate (client.pem, client.key), both signed by the
// CA. P-256 keys, which openssl makes in milliseconds. Not for production:
// the CA's key lies next to what it signed.
//
// Thread-safety: a free function; two calls must not share a folder.

#ifndef ORGSYNC_LIB_NODE_THROWAWAY_CERTIFICATES_H_
#define ORGSYNC_LIB_NODE_THROWAWAY_CERTIFICATES_H_

#include <string>

#include "absl/status/status.h"

namespace orgsync::node {

// Makes the files above in `dir` (created if missing). Internal naming the
// openssl command that failed (its output is in <dir>/openssl.log).
[[nodiscard]] absl::Status MakeThrowawayCertificates(const std::string& dir);

}  // namespace orgsync::node

#endif  // ORGSYNC_LIB_NODE_THROWAWAY_CERTIFICATES_H_
