// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Tests that run orgsync-node as a real process use lib/node/node_process.h
// under the names the tests know, with the binary this build made.
// Built only with ORGSYNC_GRPC.

#ifndef ORGSYNC_TESTS_TESTING_NODE_PROCESS_H_
#define ORGSYNC_TESTS_TESTING_NODE_PROCESS_H_

#include <string>

#include "node/node_process.h"

namespace orgsync::testing {

// The orgsync-node binary this build made (ORGSYNC_NODE_BINARY, from
// CMake).
std::string NodeBinary();

using node::NodeProcess;
using node::PickFreePort;
using node::ReadFileText;
using node::RunToEnd;
using node::WaitUntil;

}  // namespace orgsync::testing

#endif  // ORGSYNC_TESTS_TESTING_NODE_PROCESS_H_
