// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Conversions between the public schema structs and their protobuf forms.
//
// ObjectSchema (common.proto) is the wire form sent with Type Map Update. It
// has no slot for picklist values, so ToObjectSchema drops them; the
// lossless ObjectDefinition (publish_state.proto) is what orgsync persists.
// Every From* validates the result with ValidateObjectDef, so a corrupt or
// hostile message becomes InvalidArgument, never a malformed ObjectDef.

#ifndef ORGSYNC_LIB_SCHEMA_SCHEMA_PROTO_H_
#define ORGSYNC_LIB_SCHEMA_SCHEMA_PROTO_H_

#include "absl/status/statusor.h"
#include "orgsync/schema.h"
#include "proto/common.pb.h"
#include "proto/publish_state.pb.h"

namespace orgsync::internal {

proto::FieldSchema ToFieldSchema(const FieldDef& field);
proto::ObjectSchema ToObjectSchema(const ObjectDef& def);
[[nodiscard]] absl::StatusOr<ObjectDef> FromObjectSchema(
    const proto::ObjectSchema& message);

proto::ObjectDefinition ToObjectDefinition(const ObjectDef& def);
[[nodiscard]] absl::StatusOr<ObjectDef> FromObjectDefinition(
    const proto::ObjectDefinition& message);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_SCHEMA_SCHEMA_PROTO_H_
