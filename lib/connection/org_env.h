// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// OrgEnv: what every connection of an org shares -- its storage, clock,
// schema, options, the host's stores and callbacks -- made by the Org
// (org.cc) from OrgOptions and handed to each ConnectionImpl.
//
// Thread-safety: filled before the connections open and not changed after;
// the stores and callbacks it names are as thread-safe as OrgOptions says.

#ifndef ORGSYNC_LIB_CONNECTION_ORG_ENV_H_
#define ORGSYNC_LIB_CONNECTION_ORG_ENV_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "orgsync/bulk_sync.h"
#include "orgsync/clock.h"
#include "orgsync/conflict.h"
#include "orgsync/connection.h"
#include "orgsync/metadata_store.h"
#include "orgsync/options.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"
#include "orgsync/user_directory.h"

namespace orgsync::internal {

// What every connection of an org shares. Owned by the Org.
struct OrgEnv {
  Storage* storage;
  Clock* clock;
  std::string org_id;
  std::string org_name;
  const Schema* schema;
  RecordQueueOptions queue;
  SyncLogOptions log;
  DeliveryOptions delivery;
  // Record sync (null store: none); see OrgOptions.
  RecordStore* record_store;
  ConflictResolver* conflict_resolver;
  std::function<bool(std::string_view)> user_exists;
  // User sync (null: none); see OrgOptions.
  UserDirectory* user_directory;
  // Metadata sync (null: none); see OrgOptions.
  MetadataStore* metadata_store;
  absl::Duration metadata_sync_interval;
  size_t max_file_bytes;
  // R7 (null callback: no reports); see OrgOptions.
  absl::Duration queue_report_interval;
  std::function<void(const QueueSizeReport&)> queue_report;
  // See OrgOptions (null: none collected).
  std::function<void(const ConnectionEvent&)> connection_events;
  // See OrgOptions (null: progress is only queried).
  std::function<void(const BulkSyncProgress&)> bulk_sync_progress;
};

}  // namespace orgsync::internal

#endif  // ORGSYNC_LIB_CONNECTION_ORG_ENV_H_
