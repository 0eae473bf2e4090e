// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// What embed_primary and embed_secondary share: how a host process opens
// its org on disk, where it keeps the invitation it was given, its TLS
// files, and how it waits for the connection to reach a state. Each
// program keeps only the part of its side. Public headers only, as a host
// would.
//
// A state folder holds one LevelDB database: orgsync's state and the
// host's Account records side by side (RecordStoreOptions::
// shares_org_storage), so that an applied envelope and its records become
// durable with one sync.

#ifndef ORGSYNC_EXAMPLES_EMBEDDED_ORG_H_
#define ORGSYNC_EXAMPLES_EMBEDDED_ORG_H_

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "orgsync/clock.h"
#include "orgsync/grpc_transport.h"
#include "orgsync/org.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/status.h"
#include "orgsync/storage.h"
#include "example_orgs.h"

namespace orgsync_example {

// One org of the host, open on its state folder.
struct EmbeddedOrg {
  orgsync::Schema schema;
  std::unique_ptr<orgsync::Storage> storage;
  std::unique_ptr<orgsync::RecordStore> store;
  std::unique_ptr<orgsync::Org> org;
};

// The host's schema: Account with a name, a phone and the audit fields.
inline absl::Status AddAccount(orgsync::Schema& schema) {
  orgsync::ObjectDef account{
      .name = "Account",
      .fields = {Field("Name", orgsync::FieldType::kText),
                 Field("Phone", orgsync::FieldType::kPhone)},
      .publishable = true};
  for (orgsync::FieldDef& audit : AuditFields()) {
    account.fields.push_back(std::move(audit));
  }
  return schema.AddObject(std::move(account));
}

// Opens (or creates) the org `org_id` in `state_dir`; the store hands out
// ids starting with `id_prefix`.
inline absl::StatusOr<std::unique_ptr<EmbeddedOrg>> OpenEmbeddedOrg(
    const std::string& state_dir, const std::string& org_id,
    const std::string& id_prefix) {
  auto side = std::make_unique<EmbeddedOrg>();
  ORGSYNC_RETURN_IF_ERROR(AddAccount(side->schema));
  ORGSYNC_ASSIGN_OR_RETURN(side->storage,
                           orgsync::OpenLevelDbStorage(state_dir + "/db"));
  orgsync::RecordStoreOptions store_options;
  store_options.schema = &side->schema;
  store_options.clock = orgsync::Clock::System();
  store_options.id_prefix = id_prefix;
  store_options.shares_org_storage = true;
  ORGSYNC_ASSIGN_OR_RETURN(
      side->store, orgsync::OpenStorageRecordStore(side->storage.get(),
                                                   std::move(store_options)));
  orgsync::OrgOptions options;
  options.org_id = org_id;
  options.org_name = org_id;
  options.schema = &side->schema;
  options.record_store = side->store.get();
  ORGSYNC_ASSIGN_OR_RETURN(side->org,
                           orgsync::Org::Open(options, side->storage.get(),
                                              orgsync::Clock::System()));
  return side;
}

// The invitation as the primary's administrator hands it to the
// secondary's: the connection id and its secret, one per line. Both hosts
// keep it with their other secrets: the transport proves the secret on
// every stream, after every restart.
struct InvitationFile {
  std::string connection_id;
  std::string secret_hex;
};

inline absl::Status WriteInvitationFile(const std::string& path,
                                        const InvitationFile& invitation) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << invitation.connection_id << '\n' << invitation.secret_hex << '\n';
    if (!out.flush()) {
      return absl::UnavailableError(fmt::format("cannot write {}", temporary));
    }
  }
  std::filesystem::permissions(
      temporary,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  // Renamed into place, so the partner never reads half a file.
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    return absl::UnavailableError(fmt::format(
        "cannot rename {} to {}: {}", temporary, path, error.message()));
  }
  return absl::OkStatus();
}

inline absl::StatusOr<InvitationFile> ReadInvitationFile(
    const std::string& path) {
  std::ifstream in(path);
  InvitationFile invitation;
  if (!std::getline(in, invitation.connection_id) ||
      !std::getline(in, invitation.secret_hex)) {
    return absl::NotFoundError(
        fmt::format("no invitation (connection id, secret) in {}", path));
  }
  return invitation;
}

// The TLS files of `dir`: ca.pem signs both sides' certificates;
// server.pem/server.key are the listener's, client.pem/client.key the
// dialer's (mutual TLS).
inline orgsync::GrpcTlsOptions ListenerTls(const std::string& dir) {
  orgsync::GrpcTlsOptions tls;
  tls.cert_chain_file = dir + "/server.pem";
  tls.private_key_file = dir + "/server.key";
  tls.root_certs_file = dir + "/ca.pem";
  tls.require_client_certificate = true;
  return tls;
}

inline orgsync::GrpcTlsOptions DialerTls(const std::string& dir) {
  orgsync::GrpcTlsOptions tls;
  tls.cert_chain_file = dir + "/client.pem";
  tls.private_key_file = dir + "/client.key";
  tls.root_certs_file = dir + "/ca.pem";
  // The listener's certificate names localhost; the dialer dials
  // 127.0.0.1, which gRPC does not match against a certificate.
  tls.target_name_override = "localhost";
  return tls;
}

// Polls `done` every 20 ms until it holds; DeadlineExceeded naming `what`
// after `timeout`.
inline absl::Status WaitFor(std::string_view what, absl::Duration timeout,
                            const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          fmt::format("gave up waiting for {} after {}", what,
                      absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::OkStatus();
}

// Command-line flags "--name value"; `flags` maps each known name to its
// value, preset with defaults. Unknown flags and missing values are usage
// errors.
inline absl::Status ParseFlags(int argc, char** argv,
                               std::map<std::string, std::string>& flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (!arg.starts_with("--") || !flags.contains(std::string(arg.substr(2)))) {
      return absl::InvalidArgumentError(fmt::format("unknown flag {}", arg));
    }
    if (i + 1 == argc) {
      return absl::InvalidArgumentError(fmt::format("{} needs a value", arg));
    }
    flags[std::string(arg.substr(2))] = argv[++i];
  }
  for (const auto& [name, value] : flags) {
    if (value.empty()) {
      return absl::InvalidArgumentError(fmt::format("--{} is required", name));
    }
  }
  return absl::OkStatus();
}

// The --accounts flag: how many accounts to write or expect.
inline absl::StatusOr<int> AccountsFlag(
    std::map<std::string, std::string>& flags) {
  int accounts = 0;
  if (!absl::SimpleAtoi(flags["accounts"], &accounts) || accounts < 0) {
    return absl::InvalidArgumentError("--accounts must be a count");
  }
  return accounts;
}

// main() of both programs: parses `flags` (preset with defaults; "-" is an
// optional flag left out), then runs `run` as Main() does. Exit status 2
// for a usage error.
inline int ExampleMain(
    std::string_view program, std::string_view usage, int argc, char** argv,
    std::map<std::string, std::string> flags,
    absl::Status (*run)(std::map<std::string, std::string>)) {
  // One line at a time, also into a pipe: the two programs' lines are read
  // side by side as they happen.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const absl::Status parsed = ParseFlags(argc, argv, flags);
  if (!parsed.ok()) {
    fmt::print(stderr, "{}: {}\nusage: {} {}\n", program,
               std::string(parsed.message()), program, usage);
    return 2;
  }
  for (auto& [name, value] : flags) {
    if (value == "-") value.clear();
  }
  return Main(program, [&] { return run(std::move(flags)); });
}

}  // namespace orgsync_example

#endif  // ORGSYNC_EXAMPLES_EMBEDDED_ORG_H_
