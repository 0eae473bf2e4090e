// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "node/throwaway_certificates.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/node_process.h"

namespace orgsync::node {

absl::Status MakeThrowawayCertificates(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::UnavailableError("cannot create " + dir + ": " +
                                  error.message());
  }
  const std::string log = dir + "/openssl.log";
  auto openssl = [&](std::vector<std::string> args) -> absl::Status {
    args.insert(args.begin(), "openssl");
    if (RunToEnd(args, log) != 0) {
      return absl::InternalError(
          absl::StrCat("making certificates failed: ", absl::StrJoin(args, " "),
                       " (see ", log, ")"));
    }
    return absl::OkStatus();
  };
  const std::vector<std::string> key = {
      "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
  std::vector<std::string> ca = {"req", "-x509"};
  ca.insert(ca.end(), key.begin(), key.end());
  ca.insert(ca.end(), {"-days", "2", "-subj", "/CN=orgsync-throwaway-ca",
                       "-keyout", dir + "/ca.key", "-out", dir + "/ca.pem"});
  if (absl::Status made = openssl(ca); !made.ok()) return made;
  struct Leaf {
    std::string name, subject, extensions;
  };
  for (const Leaf& leaf : {Leaf{"server", "/CN=localhost",
                                "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                "extendedKeyUsage=serverAuth\n"},
                           Leaf{"client", "/CN=orgsync-throwaway-client",
                                "extendedKeyUsage=clientAuth\n"}}) {
    const std::string base = dir + "/" + leaf.name;
    std::vector<std::string> request = {"req"};
    request.insert(request.end(), key.begin(), key.end());
    request.insert(request.end(), {"-subj", leaf.subject, "-keyout",
                                   base + ".key", "-out", base + ".csr"});
    if (absl::Status made = openssl(request); !made.ok()) return made;
    if (!(std::ofstream(base + ".ext") << leaf.extensions)) {
      return absl::UnavailableError("cannot write " + base + ".ext");
    }
    if (absl::Status made = openssl(
            {"x509", "-req", "-days", "2", "-in", base + ".csr", "-CA",
             dir + "/ca.pem", "-CAkey", dir + "/ca.key", "-CAcreateserial",
             "-out", base + ".pem", "-extfile", base + ".ext"});
        !made.ok()) {
      return made;
    }
  }
  return absl::OkStatus();
}

}  // namespace orgsync::node
