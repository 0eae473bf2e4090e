// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "node/link_store.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/core.h"
#include "orgsync/status.h"

namespace orgsync::node {
namespace {

// "n/" is the node's: the library's components use other prefixes.
constexpr std::string_view kLinkPrefix = "n/link/";

}  // namespace

absl::Status SaveLink(Storage* storage, const NodeLink& link) {
  if (link.connection_id().empty()) {
    return absl::InvalidArgumentError("a node link needs a connection id");
  }
  return storage->Put(std::string(kLinkPrefix) + link.connection_id(),
                      link.SerializeAsString(), {.sync = true});
}

absl::StatusOr<std::vector<NodeLink>> LoadLinks(Storage* storage) {
  ORGSYNC_ASSIGN_OR_RETURN(std::unique_ptr<StorageIterator> it,
                           storage->NewIterator());
  std::vector<NodeLink> links;
  for (it->Seek(kLinkPrefix);
       it->Valid() && it->key().starts_with(kLinkPrefix); it->Next()) {
    NodeLink link;
    if (!link.ParseFromArray(it->value().data(),
                             static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          fmt::format("the node link stored under '{}' does not parse",
                      std::string(it->key())));
    }
    links.push_back(std::move(link));
  }
  ORGSYNC_RETURN_IF_ERROR(it->status());
  return links;
}

}  // namespace orgsync::node
