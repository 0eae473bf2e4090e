// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// A host program using the installed gRPC transport (orgsync::grpc): it
// links, listens on a free loopback port, and refuses bad options. Exits
// non-zero otherwise, so that the consumer test fails.

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "orgsync/grpc_transport.h"

int main() {
  orgsync::GrpcTransportOptions options;
  options.address = "127.0.0.1:0";
  options.connection_id = "consumer";
  options.secret_hex = std::string(64, 'a');
  options.tls.insecure = true;
  absl::StatusOr<std::unique_ptr<orgsync::GrpcTransport>> listener =
      orgsync::GrpcTransport::Listen(options);
  if (!listener.ok() || (*listener)->port() <= 0) {
    std::cerr << "Listen failed: " << listener.status() << "\n";
    return EXIT_FAILURE;
  }
  options.address = "";
  if (!absl::IsInvalidArgument(
          orgsync::GrpcTransport::Dial(options).status())) {
    std::cerr << "an empty address was not InvalidArgument\n";
    return EXIT_FAILURE;
  }
  std::cout << "grpc consumer: listened on port " << (*listener)->port()
            << "\n";
  return EXIT_SUCCESS;
}
