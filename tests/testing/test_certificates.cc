// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/test_certificates.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "node/throwaway_certificates.h"

namespace orgsync::testing {

const Certificates& TestCertificates() {
  static const Certificates* certificates = [] {
    const char* root = std::getenv("ORGSYNC_TEST_TMPDIR");
    std::filesystem::path base =
        root != nullptr ? root : std::filesystem::temp_directory_path();
    std::filesystem::create_directories(base);
    std::string pattern = (base / "grpc-certs-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    auto* made = new Certificates{pattern};
    const absl::Status status =
        node::MakeThrowawayCertificates(made->dir.string());
    INFO(status.ToString());
    REQUIRE(status.ok());
    return made;
  }();
  return *certificates;
}

}  // namespace orgsync::testing
