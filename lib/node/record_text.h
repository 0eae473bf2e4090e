// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Field values as text, for the control service: a value arrives as text
// and is read by its field's schema type; a stored value goes out as
// orgsync::FormatFieldValue prints it.
//
// Thread-safety: pure functions.

#ifndef ORGSYNC_LIB_NODE_RECORD_TEXT_H_
#define ORGSYNC_LIB_NODE_RECORD_TEXT_H_

#include <string>

#include "absl/status/statusor.h"
#include "orgsync/record.h"
#include "orgsync/schema.h"

namespace orgsync::node {

// `text` as a value of field `def` of `object` (for messages): "" is null;
// text-like types take the text as is; number, currency and percent a
// decimal (an integer when the field's scale is 0 and the text has no
// point), boolean "true"/"false", date and date/time RFC 3339, lookups,
// master-detail and user references the target's id, binary the bytes.
// InvalidArgument naming object and field when the text does not read as
// that type, or for a type no value can be written to (formula, roll-up
// summary, geolocation).
[[nodiscard]] absl::StatusOr<FieldValue> ParseFieldValue(
    const std::string& object, const FieldDef& def, const std::string& text);

}  // namespace orgsync::node

#endif  // ORGSYNC_LIB_NODE_RECORD_TEXT_H_
