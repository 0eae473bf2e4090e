// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "node/node_state.h"

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fmt/core.h"
#include "node/node_config.h"
#include "orgsync/options.h"
#include "orgsync/status.h"
#include "storage/leveldb_storage_internal.h"

namespace orgsync::node {

std::string ConfigPath(const std::string& state_dir) {
  return (std::filesystem::path(state_dir) / "node.textproto").string();
}

std::string DatabasePath(const std::string& state_dir) {
  return (std::filesystem::path(state_dir) / "db").string();
}

std::string ControlSocketPath(const std::string& state_dir) {
  return (std::filesystem::path(state_dir) / "control.sock").string();
}

namespace {

absl::StatusOr<std::unique_ptr<NodeState>> OpenWithConfig(
    const std::string& state_dir, const NodeConfig& node_config,
    leveldb::Env* env, bool create) {
  auto state = std::make_unique<NodeState>();
  state->state_dir = state_dir;
  state->config = node_config;
  const NodeConfig& config = state->config;

  state->schema = std::make_unique<Schema>();
  ORGSYNC_RETURN_IF_ERROR(
      FillSchema(config.schema(), ConfigPath(state_dir), state->schema.get()));

  // The database exists once init ran: a missing one is damage, not a
  // folder to create.
  ORGSYNC_ASSIGN_OR_RETURN(
      state->storage,
      internal::OpenLevelDbStorageWithEnv(DatabasePath(state_dir),
                                          {.create_if_missing = create},
                                          env));
  state->clock = Clock::System();

  RecordStoreOptions store_options;
  store_options.schema = state->schema.get();
  store_options.clock = state->clock;
  store_options.id_prefix = config.id_prefix().empty()
                                ? config.org_id() + "-"
                                : config.id_prefix();
  store_options.user = "orgsync-node";
  // The records live in the org's own database, so a received envelope's
  // writes become durable with the org's one sync of it.
  store_options.shares_org_storage = true;
  ORGSYNC_ASSIGN_OR_RETURN(
      state->record_store,
      OpenStorageRecordStore(state->storage.get(), std::move(store_options)));

  OrgOptions org_options;
  org_options.org_id = config.org_id();
  org_options.org_name = config.org_name();
  org_options.schema = state->schema.get();
  org_options.record_store = state->record_store.get();
  if (config.ack_timeout_ms() > 0) {
    org_options.delivery.ack_timeout =
        absl::Milliseconds(config.ack_timeout_ms());
  }
  if (config.retry_initial_delay_ms() > 0) {
    org_options.queue.retry.initial_delay =
        absl::Milliseconds(config.retry_initial_delay_ms());
    if (org_options.queue.retry.max_delay <
        org_options.queue.retry.initial_delay) {
      org_options.queue.retry.max_delay = org_options.queue.retry.initial_delay;
    }
  }
  ORGSYNC_ASSIGN_OR_RETURN(
      state->org,
      Org::Open(org_options, state->storage.get(), state->clock));
  return state;
}

}  // namespace

absl::StatusOr<std::unique_ptr<NodeState>> OpenNodeState(
    const std::string& state_dir, const NodeStateOptions& options) {
  ORGSYNC_ASSIGN_OR_RETURN(NodeConfig config, ReadNodeConfig(state_dir));
  return OpenWithConfig(state_dir, config, options.leveldb_env,
                        /*create=*/false);
}

absl::Status CreateNodeState(const std::string& state_dir,
                             const NodeConfig& config) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (fs::exists(ConfigPath(state_dir), error) ||
      fs::exists(DatabasePath(state_dir), error)) {
    return absl::AlreadyExistsError(fmt::format(
        "'{}' holds a node's state already (node.textproto or db/)",
        state_dir));
  }
  fs::create_directories(state_dir, error);
  if (error) {
    return absl::FailedPreconditionError(fmt::format(
        "cannot create the state folder '{}': {}", state_dir, error.message()));
  }
  {
    absl::StatusOr<std::unique_ptr<NodeState>> opened =
        OpenWithConfig(state_dir, config, nullptr, /*create=*/true);
    if (!opened.ok()) {
      fs::remove_all(DatabasePath(state_dir), error);
      return opened.status();
    }
  }
  absl::Status written = WriteNewNodeConfig(state_dir, config);
  if (!written.ok()) fs::remove_all(DatabasePath(state_dir), error);
  return written;
}

}  // namespace orgsync::node
