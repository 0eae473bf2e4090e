// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Reading and writing a node's config (node.textproto, see node_state.h)
// and turning its schema text into an orgsync::Schema.
//
// Thread-safety: free functions with no shared state.

#ifndef ORGSYNC_LIB_NODE_NODE_CONFIG_H_
#define ORGSYNC_LIB_NODE_NODE_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/node/node_config.pb.h"
#include "orgsync/schema.h"

namespace orgsync::node {

// The FieldType whose FieldTypeName is `name`; InvalidArgument listing the
// known names otherwise.
[[nodiscard]] absl::StatusOr<FieldType> FieldTypeFromName(
    const std::string& name);

// Adds every object of `spec` to `schema`. InvalidArgument naming `source`
// (a file name, for the message), the object and the field when one is
// malformed; `schema` may then hold the objects before it.
[[nodiscard]] absl::Status FillSchema(const SchemaSpec& spec,
                                      const std::string& source,
                                      Schema* schema);

// Reads the schema file `path` (SchemaSpec in text format) and checks it
// with a Schema of its own. NotFound if the file cannot be read;
// InvalidArgument naming the file (and line) when it does not parse, and
// object and field when the schema is invalid.
[[nodiscard]] absl::StatusOr<SchemaSpec> ReadSchemaFile(
    const std::string& path);

// Reads <state>/node.textproto. NotFound naming the file if missing;
// InvalidArgument if it does not parse or lacks the org id.
[[nodiscard]] absl::StatusOr<NodeConfig> ReadNodeConfig(
    const std::string& state_dir);

// Writes <state>/node.textproto (through a temporary file and a rename, so
// a crash leaves the old file or the new one). AlreadyExists if there is
// one already; Unavailable if it cannot be written.
[[nodiscard]] absl::Status WriteNewNodeConfig(const std::string& state_dir,
                                              const NodeConfig& config);

}  // namespace orgsync::node

#endif  // ORGSYNC_LIB_NODE_NODE_CONFIG_H_
