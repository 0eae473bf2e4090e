// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/test_certificates.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

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
    const std::string d = made->dir.string();
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1";
    const std::vector<std::string> commands = {
        absl::StrCat("openssl req -x509 ", key,
                     " -nodes -days 2 -subj "
                     "/CN=orgsync-test-ca -keyout ",
                     d, "/ca.key -out ", d, "/ca.pem"),
        absl::StrCat("openssl req ", key,
                     " -nodes -subj /CN=localhost "
                     "-keyout ",
                     d, "/server.key -out ", d, "/server.csr"),
        absl::StrCat("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n"
                     "extendedKeyUsage=serverAuth\\n' > ",
                     d, "/server.ext"),
        absl::StrCat("openssl x509 -req -days 2 -in ", d, "/server.csr -CA ", d,
                     "/ca.pem -CAkey ", d, "/ca.key -CAcreateserial -out ", d,
                     "/server.pem -extfile ", d, "/server.ext"),
        absl::StrCat("openssl req ", key,
                     " -nodes -subj "
                     "/CN=orgsync-test-client -keyout ",
                     d,
                     "/client.key "
                     "-out ",
                     d, "/client.csr"),
        absl::StrCat("printf 'extendedKeyUsage=clientAuth\\n' > ", d,
                     "/client.ext"),
        absl::StrCat("openssl x509 -req -days 2 -in ", d, "/client.csr -CA ", d,
                     "/ca.pem -CAkey ", d, "/ca.key -CAcreateserial -out ", d,
                     "/client.pem -extfile ", d, "/client.ext"),
    };
    for (const std::string& command : commands) {
      INFO(command);
      REQUIRE(std::system((command + " >/dev/null 2>&1").c_str()) == 0);
    }
    return made;
  }();
  return *certificates;
}

}  // namespace orgsync::testing
