// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Throwaway TLS certificates for tests over gRPC
// (lib/node/throwaway_certificates.h), made once per test process.

#ifndef ORGSYNC_TESTS_TESTING_TEST_CERTIFICATES_H_
#define ORGSYNC_TESTS_TESTING_TEST_CERTIFICATES_H_

#include <filesystem>
#include <string>
#include <system_error>

namespace orgsync::testing {

struct Certificates {
  std::filesystem::path dir;
  std::string ca() const { return (dir / "ca.pem").string(); }
  std::string server_cert() const { return (dir / "server.pem").string(); }
  std::string server_key() const { return (dir / "server.key").string(); }
  std::string client_cert() const { return (dir / "client.pem").string(); }
  std::string client_key() const { return (dir / "client.key").string(); }
  ~Certificates() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

// Made once per run (the first call; REQUIRE fails the test if openssl
// fails): P-256 keys, which openssl makes in milliseconds.
const Certificates& TestCertificates();

}  // namespace orgsync::testing

#endif  // ORGSYNC_TESTS_TESTING_TEST_CERTIFICATES_H_
