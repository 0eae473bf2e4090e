// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "orgsync/status.h"

#include "absl/strings/str_cat.h"
#include "internal/strings.h"

namespace orgsync {

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(internal::ToAbsl(context), ": ", status.message()));
}

}  // namespace orgsync
