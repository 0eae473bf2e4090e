// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The demo's shared parts (examples/orgsync_demo.cc tells the story; each
// chapter with a file of its own defines its Demo methods there): one org
// as its host application sees it, the demo's constants, and the Demo
// class. Private to examples/; not part of orgsync's API.
//
// Thread-safety: none needed; the demo runs on one thread.

#ifndef ORGSYNC_EXAMPLES_DEMO_H_
#define ORGSYNC_EXAMPLES_DEMO_H_

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fmt/core.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/metadata_store.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/storage.h"
#include "orgsync/sync_log.h"
#include "orgsync/transport.h"
#include "orgsync/user_directory.h"

namespace orgsync_demo {

using orgsync::ApplyContext;
using orgsync::ChangeKind;
using orgsync::Connection;
using orgsync::ConnectionStatus;
using orgsync::FieldDef;
using orgsync::FieldMap;
using orgsync::FieldType;
using orgsync::FieldValue;
using orgsync::LogEntry;
using orgsync::LogStatus;
using orgsync::ObjectDef;
using orgsync::Record;
using orgsync::RecordStore;
using orgsync::Reference;
using orgsync::SyncErrorCode;

constexpr char kDefaultStateDir[] = "./orgsync-demo-state";
// The demo's own keys, in the primary's Storage under the misc prefix.
constexpr char kRunCounterKey[] = "m/demo/runs";
constexpr char kClockKey[] = "m/demo/clock_micros";

constexpr int kExitFailed = 1;
constexpr int kExitCannotStart = 2;

// How far the demo clock moves: per delivery round, and per host write (a
// person does not type two edits in the same microsecond, and last writer
// wins needs the order of the writes).
constexpr absl::Duration kRoundTime = absl::Seconds(1);
constexpr absl::Duration kThinkTime = absl::Seconds(1);
// Generous: a settled story needs a few dozen rounds.
constexpr int kMaxSettleRounds = 300;

constexpr std::array<std::string_view, 2> kObjects = {"Account", "Contact"};

// The field that tells records apart across the two orgs (ids differ). The
// demo keeps it unique within each org by putting the run number in it.
inline std::string_view KeyField(std::string_view object) {
  return object == "Account" ? "Name" : "Email";
}

inline absl::Status Failed(std::string message) {
  return absl::InternalError(std::move(message));
}

inline std::string TimeOfDay(absl::Time t) {
  return absl::FormatTime("%H:%M:%S", t, absl::UTCTimeZone());
}

inline void Heading(std::string_view title) { fmt::print("\n== {}\n\n", title); }


// --- One org as its host application sees it ------------------------------

// The host's metadata (R74): items kept in the org's LevelDB
// (OpenStorageMetadataStore, whose profiles the org's UserDirectory reads),
// and the host's own reaction to them, which a real host would have too: a
// custom field item "Object.Field" whose body is "Text(N)" is a field of
// the org's schema. On the primary the admin adds one; on the secondary
// metadata sync writes it, and the field appears there. Defined in
// demo_users_metadata.cc.
class HostMetadata final : public orgsync::MetadataStore {
 public:
  // Opens the items in `storage` and adds their custom fields to `schema`.
  static absl::StatusOr<std::unique_ptr<HostMetadata>> Open(
      orgsync::Storage* storage, orgsync::Schema* schema);

  absl::StatusOr<orgsync::MetadataItem> Get(orgsync::MetadataType type,
                                            std::string_view name) override;
  absl::Status Upsert(orgsync::MetadataItem item,
                      const ApplyContext& context) override;
  absl::Status Rename(orgsync::MetadataType type, std::string_view old_name,
                      std::string_view new_name,
                      const ApplyContext& context) override;
  absl::Status Scan(const std::function<bool(const orgsync::MetadataItem&)>&
                        visit) override;

 private:
  HostMetadata(std::unique_ptr<orgsync::MetadataStore> items,
               orgsync::Schema* schema)
      : items_(std::move(items)), schema_(schema) {}
  absl::Status AddToSchema(const orgsync::MetadataItem& item);

  std::unique_ptr<orgsync::MetadataStore> items_;
  orgsync::Schema* const schema_;
};

struct OrgSide {
  std::string org_id;
  std::string admin;  // the person making this org's changes
  std::string id_prefix;
  std::string folder;
  orgsync::Schema schema;
  // Declared in this order so that the Org goes first, then the stores,
  // then the Storage they all live in.
  std::unique_ptr<orgsync::Storage> storage;
  // The host's metadata and users, kept in `storage` too (R70-R74).
  std::unique_ptr<HostMetadata> metadata;
  std::unique_ptr<orgsync::UserDirectory> users;
  std::unique_ptr<RecordStore> store;
  std::unique_ptr<orgsync::Org> org;
  Connection* connection = nullptr;
};

// What the chapters read of an org (orgsync_demo.cc).
// A field's value as a person reads it ("(blank)" when unset).
std::string Value(const Record& record, std::string_view field);
// The record of `object` whose key field holds `key`, if any; and the same,
// failing when there is none.
absl::StatusOr<std::optional<Record>> FindByKey(const OrgSide& side,
                                                std::string_view object,
                                                std::string_view key);
absl::StatusOr<Record> MustFindByKey(const OrgSide& side,
                                     std::string_view object,
                                     std::string_view key);
// One line per record, as a person would glance at it.
std::string Describe(const OrgSide& side, const Record& record);
// The side's sync log entries of one record, oldest first (at most 20).
absl::StatusOr<std::vector<LogEntry>> RecordLog(const OrgSide& side,
                                                std::string_view object,
                                                std::string_view id);

// --- The demo --------------------------------------------------------------

struct Options {
  std::string state_dir = kDefaultStateDir;
  bool fresh = false;
};

class Demo {
 public:
  explicit Demo(Options options) : options_(std::move(options)) {
    primary_.org_id = "org-a";
    primary_.admin = "alice@org-a";
    primary_.id_prefix = "A-";
    secondary_.org_id = "org-b";
    secondary_.admin = "bob@org-b";
    secondary_.id_prefix = "B-";
  }

  // Opens both orgs; the only step whose failure means "cannot start".
  absl::Status Open();
  // The story, step by step; the first failing step ends it.
  absl::Status Run();

 private:
  absl::Status Connect();
  absl::Status PublishAndSubscribe();
  absl::Status BulkSync();  // demo_bulk_sync.cc
  absl::Status LiveEdits();
  absl::Status SuspendAndResume();
  absl::Status MissingParent();
  absl::Status Conflict();
  absl::Status UsersAndMetadata();  // demo_users_metadata.cc
  absl::Status CompareOrgs();

  absl::Status OpenSide(OrgSide& side);
  absl::Status WatchLog(OrgSide& side);
  absl::Status SaveClock();

  // Host writes, each followed by Capture as a host application does.
  absl::StatusOr<Record> Insert(OrgSide& side, std::string object,
                                FieldMap fields);
  absl::StatusOr<Record> Update(OrgSide& side, std::string_view object,
                                std::string_view id, const FieldMap& changes);
  absl::Status Capture(OrgSide& side, ChangeKind kind, const Record& record,
                       std::vector<std::string> fields = {});

  // One delivery round: both orgs step, the transport delivers, time moves.
  absl::Status Round();
  uint64_t Queued() const;
  // Rounds until both queues are empty and nothing is in flight; returns
  // how many it took.
  absl::StatusOr<int> Settle();

  absl::Status PrintQueue(const OrgSide& side) const;
  static void PrintLog(const OrgSide& side, const std::vector<LogEntry>& log);
  std::string Named(std::string name) const {
    return fmt::format("{} (run {})", name, run_);
  }
  std::string Email(std::string_view who, std::string_view company) const {
    return fmt::format("{}.run{}@{}.example", who, run_, company);
  }

  Options options_;
  int run_ = 0;
  std::unique_ptr<orgsync::ManualClock> clock_;
  // Before the orgs, which detach from it when they close.
  orgsync::InProcessTransportPair pair_{/*seed=*/1};
  OrgSide primary_;
  OrgSide secondary_;
  bool live_log_ = false;  // print log entries as the log triggers fire
};

}  // namespace orgsync_demo

#endif  // ORGSYNC_EXAMPLES_DEMO_H_
