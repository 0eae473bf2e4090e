// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The argument checks every shipped MetadataStore makes (in-memory and
// Storage-backed alike), so that both refuse the same input with the same
// message.
//
// Thread-safety: pure functions.

#ifndef ORGSYNC_LIB_METADATA_METADATA_CHECKS_H_
#define ORGSYNC_LIB_METADATA_METADATA_CHECKS_H_

#include <string_view>

#include "absl/status/status.h"
#include "orgsync/metadata_store.h"

namespace orgsync::internal {

// Whether `type` is one of kAllMetadataTypes.
bool IsSupportedMetadataType(MetadataType type);

// InvalidArgument for an unsupported type or an empty name.
absl::Status CheckMetadataKey(MetadataType type, std::string_view name);

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_METADATA_METADATA_CHECKS_H_
