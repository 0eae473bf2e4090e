// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "testing/node_process.h"

namespace orgsync::testing {

std::string NodeBinary() { return ORGSYNC_NODE_BINARY; }

}  // namespace orgsync::testing
