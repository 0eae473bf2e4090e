// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// orgsync_node_demo: the README's main job. Two orgs, each an orgsync-node
// process with its own state folder (LevelDB), joined over gRPC with mutual
// TLS on loopback; the demo plays their administrators and users through
// each node's control socket and tells what happens:
//   1. certificates, and the two nodes started;
//   2. invitation and acceptance;
//   3. publish and subscribe, both ways;
//   4. live edits on both sides;
//   5. the secondary killed (SIGKILL): the primary suspends on its own,
//      its queue grows; the secondary restarted: resume, drain;
//   6. a contact whose account was never sent fails on MISSING_PARENT,
//      retried until the account is sent;
//   7. both orgs change one phone while suspended: a conflict, settled by
//      the last writer and logged;
//   8. record by record, the two orgs compared.
// Exits 0 only if every step worked and the orgs hold the same records.
//
//   orgsync_node_demo [--fresh] [--state-dir DIR] [--node PATH]
//
// A second run reopens both folders, keeps the connection and tells the
// story again with new records.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fmt/core.h"
#include "fmt/ranges.h"
#include "google/protobuf/util/json_util.h"
#include "node/throwaway_certificates.h"
#include "node_demo/demo_node.h"
#include "node_demo/demo_nodes.h"
#include "orgsync/status.h"
#include "proto/admin/admin_output.pb.h"

namespace orgsync_demo {
namespace {

using orgsync::node::NodeControl;
namespace fs = std::filesystem;

constexpr absl::Duration kPatience = absl::Seconds(30);

constexpr char kSchema[] =
    R"(# The demo's schema: Account, and Contact with a lookup to it.
object {
  name: "Account" publishable: true
  field { name: "Name" type: "text" }
  field { name: "Phone" type: "phone" }
  field { name: "CreatedBy" type: "user reference" }
  field { name: "CreatedDate" type: "date/time" }
  field { name: "LastModifiedBy" type: "user reference" }
  field { name: "LastModifiedDate" type: "date/time" }
}
object {
  name: "Contact" publishable: true
  field { name: "LastName" type: "text" }
  field { name: "AccountId" type: "lookup" lookup_target: "Account" required: true }
  field { name: "CreatedBy" type: "user reference" }
  field { name: "CreatedDate" type: "date/time" }
  field { name: "LastModifiedBy" type: "user reference" }
  field { name: "LastModifiedDate" type: "date/time" }
}
)";

void Heading(std::string_view text) { fmt::print("\n== {}\n", text); }

// What org-a holds before it is connected (on a fresh state).
constexpr int kExistingAccounts = 100;
constexpr int kExistingContactsPerAccount = 3;

// Throwaway certificates (lib/node/throwaway_certificates.h): a CA, the
// primary's server certificate and the secondary's client certificate.
// Made once per state folder.
absl::Status MakeCertificates(const std::string& dir) {
  if (fs::exists(dir + "/ca.pem")) return absl::OkStatus();
  return orgsync::node::MakeThrowawayCertificates(dir);
}

class Demo {
 public:
  Demo(std::string state_dir, std::string node_binary)
      : dir_(std::move(state_dir)), node_binary_(std::move(node_binary)) {}

  absl::Status Run(bool fresh);

 private:
  absl::Status StartNodes(bool fresh);
  absl::Status Connect();
  absl::Status PublishAndSubscribe();
  absl::Status LiveEdits();
  absl::Status KillAndRestart();
  absl::Status MissingParent();
  absl::Status Conflict();
  absl::Status Compare();
  // Records org-a held before it was connected (fresh state only), and the
  // bulk sync that copies them once Account and Contact flow (R60).
  absl::Status ExistingRecords();
  absl::Status BulkSync();
  // Verify from org-a: the orgs compared by digests, without shipping
  // records.
  absl::Status Verify();

  // Waits until neither node has anything queued or awaiting an answer.
  absl::Status Settled(std::string_view what);
  // Prints the sync log lines of `node` that contain `needle`.
  absl::Status PrintLog(DemoNode& node, const std::vector<std::string>& args,
                        std::string_view needle);
  // A name unique to this run of the demo.
  std::string Named(std::string_view base) const {
    return fmt::format("{} (run {})", base, run_);
  }

  const std::string dir_;
  const std::string node_binary_;
  int run_ = 1;
  std::unique_ptr<DemoNode> primary_;
  std::unique_ptr<DemoNode> secondary_;
};

absl::Status Demo::Run(bool fresh) {
  ORGSYNC_RETURN_IF_ERROR(StartNodes(fresh));
  ORGSYNC_RETURN_IF_ERROR(ExistingRecords());
  ORGSYNC_RETURN_IF_ERROR(Connect());
  ORGSYNC_RETURN_IF_ERROR(PublishAndSubscribe());
  ORGSYNC_RETURN_IF_ERROR(BulkSync());
  ORGSYNC_RETURN_IF_ERROR(LiveEdits());
  ORGSYNC_RETURN_IF_ERROR(KillAndRestart());
  ORGSYNC_RETURN_IF_ERROR(MissingParent());
  ORGSYNC_RETURN_IF_ERROR(Conflict());
  ORGSYNC_RETURN_IF_ERROR(Compare());
  ORGSYNC_RETURN_IF_ERROR(Verify());
  Heading("9. Both nodes stopped with SIGTERM");
  ORGSYNC_RETURN_IF_ERROR(primary_->Stop());
  ORGSYNC_RETURN_IF_ERROR(secondary_->Stop());
  fmt::print("Both exited 0; their state stays in {}.\n", dir_);
  return absl::OkStatus();
}

absl::Status Demo::StartNodes(bool fresh) {
  Heading("1. Two orgs, two processes");
  if (fresh) {
    for (const char* part :
         {"primary", "secondary", "primary.log", "secondary.log", "runs"}) {
      fs::remove_all(dir_ + "/" + part);
    }
  }
  fs::create_directories(dir_);
  {
    std::ifstream in(dir_ + "/runs");
    int runs = 0;
    if (in >> runs) run_ = runs + 1;
  }
  std::ofstream(dir_ + "/runs") << run_ << "\n";
  const std::string tls = dir_ + "/tls";
  ORGSYNC_RETURN_IF_ERROR(MakeCertificates(tls));
  const int port = orgsync::node::PickFreePort();
  if (port == 0) return absl::UnavailableError("no free loopback port");
  const std::string address = fmt::format("127.0.0.1:{}", port);
  primary_ = std::make_unique<DemoNode>(
      "org-a", node_binary_, dir_ + "/primary",
      std::vector<std::string>{"--listen", address, "--tls-cert",
                               tls + "/server.pem", "--tls-key",
                               tls + "/server.key", "--tls-root",
                               tls + "/ca.pem", "--require-client-cert"});
  secondary_ = std::make_unique<DemoNode>(
      "org-b", node_binary_, dir_ + "/secondary",
      std::vector<std::string>{
          "--dial", address, "--tls-cert", tls + "/client.pem", "--tls-key",
          tls + "/client.key", "--tls-root", tls + "/ca.pem",
          "--tls-server-name", "localhost"});
  const bool reopened = fs::exists(dir_ + "/primary/node.textproto");
  if (!reopened) {
    const std::string schema = dir_ + "/schema.textproto";
    std::ofstream(schema) << kSchema;
    // A short first retry, so that a change waiting for its parent is
    // tried again within the demo's seconds.
    ORGSYNC_RETURN_IF_ERROR(primary_->Init(
        {"--org-id", "org-a", "--org-name", "Org A (primary)", "--schema",
         schema, "--id-prefix", "A-", "--retry-initial-delay-ms", "1000"}));
    ORGSYNC_RETURN_IF_ERROR(secondary_->Init(
        {"--org-id", "org-b", "--org-name", "Org B (secondary)", "--schema",
         schema, "--id-prefix", "B-", "--retry-initial-delay-ms", "1000"}));
    fmt::print(
        "Started fresh in {}: two state folders, primary/ and "
        "secondary/. This is run 1.\n",
        dir_);
  } else {
    fmt::print("Reopened the existing state in {}; this is run {}.\n", dir_,
               run_);
  }
  ORGSYNC_RETURN_IF_ERROR(primary_->Start());
  ORGSYNC_RETURN_IF_ERROR(secondary_->Start());
  fmt::print(
      "org-a runs orgsync-node listening on {} (TLS, client "
      "certificates required); org-b runs orgsync-node dialing it.\n",
      address);
  return absl::OkStatus();
}

absl::Status Demo::Connect() {
  Heading("2. Invitation and acceptance");
  if (OnlyConnection(*primary_).ok()) {
    ORGSYNC_ASSIGN_OR_RETURN(auto connection, OnlyConnection(*primary_));
    fmt::print(
        "The connection {} exists from an earlier run: no new "
        "invitation.\n",
        connection.connection_id());
  } else {
    orgsync::node::CreateInvitationRequest invite;
    invite.set_owner("alice@org-a");
    invite.set_contact("bob@org-b");
    invite.set_actor("alice@org-a");
    ORGSYNC_ASSIGN_OR_RETURN(
        orgsync::node::InvitationReply invitation,
        Ask<orgsync::node::InvitationReply>(
            *primary_, &NodeControl::Stub::CreateInvitation, invite));
    fmt::print(
        "alice@org-a creates invitation {}; its secret goes to "
        "bob@org-b out of band.\n",
        invitation.connection_id());
    orgsync::node::AcceptRequest accept;
    accept.set_connection_id(invitation.connection_id());
    accept.set_secret_hex(invitation.secret_hex());
    accept.set_actor("bob@org-b");
    ORGSYNC_RETURN_IF_ERROR(Ask<orgsync::node::AcceptReply>(
                                *secondary_, &NodeControl::Stub::Accept, accept)
                                .status());
    fmt::print("bob@org-b accepts it with the secret.\n");
  }
  for (DemoNode* node : {primary_.get(), secondary_.get()}) {
    ORGSYNC_RETURN_IF_ERROR(Eventually(
        node->name() + " to see the connection accepted", kPatience,
        [&]() -> absl::StatusOr<bool> {
          ORGSYNC_ASSIGN_OR_RETURN(auto connection, OnlyConnection(*node));
          return connection.status() != "Invited" &&
                 connection.partner_available();
        }));
  }
  ORGSYNC_ASSIGN_OR_RETURN(auto a, OnlyConnection(*primary_));
  ORGSYNC_ASSIGN_OR_RETURN(auto b, OnlyConnection(*secondary_));
  fmt::print("accepted: org-a is {} ({}), org-b is {} ({}).\n", a.role(),
             a.status(), b.role(), b.status());
  return absl::OkStatus();
}

absl::Status Demo::PublishAndSubscribe() {
  Heading("3. Publish and subscribe, both ways");
  orgsync::node::PublishRequest publish;
  for (const char* object : {"Account", "Contact"}) {
    publish.add_objects()->set_object(object);
  }
  orgsync::node::SubscribeRequest subscribe;
  *subscribe.mutable_objects() = publish.objects();
  for (DemoNode* node : {primary_.get(), secondary_.get()}) {
    ORGSYNC_RETURN_IF_ERROR(Ask<orgsync::node::PublishReply>(
                                *node, &NodeControl::Stub::Publish, publish)
                                .status());
  }
  for (auto [publisher, subscriber] :
       {std::pair{primary_.get(), secondary_.get()},
        std::pair{secondary_.get(), primary_.get()}}) {
    // Plain variables: a lambda may not capture structured bindings
    // (C++20 allows it; clang 14 does not yet).
    DemoNode* from = publisher;
    DemoNode* to = subscriber;
    ORGSYNC_RETURN_IF_ERROR(Eventually(
        to->name() + " to learn what " + from->name() + " publishes", kPatience,
        [&]() -> absl::StatusOr<bool> {
          ORGSYNC_ASSIGN_OR_RETURN(auto directions,
                                   Ask<orgsync::node::DirectionsReply>(
                                       *to, &NodeControl::Stub::Directions,
                                       orgsync::node::DirectionsRequest()));
          int published = 0;
          for (const auto& object : directions.objects()) {
            published += object.published_by_partner() ? 1 : 0;
          }
          return published == 2;
        }));
    ORGSYNC_RETURN_IF_ERROR(Ask<orgsync::node::SubscribeReply>(
                                *to, &NodeControl::Stub::Subscribe, subscribe)
                                .status());
  }
  ORGSYNC_RETURN_IF_ERROR(Eventually(
      "both subscriptions to reach the publishers", kPatience,
      [&]() -> absl::StatusOr<bool> {
        for (DemoNode* node : {primary_.get(), secondary_.get()}) {
          ORGSYNC_ASSIGN_OR_RETURN(auto directions,
                                   Ask<orgsync::node::DirectionsReply>(
                                       *node, &NodeControl::Stub::Directions,
                                       orgsync::node::DirectionsRequest()));
          for (const auto& object : directions.objects()) {
            if (!object.subscribed_by_partner()) return false;
          }
        }
        return true;
      }));
  ORGSYNC_ASSIGN_OR_RETURN(auto directions,
                           Ask<orgsync::node::DirectionsReply>(
                               *primary_, &NodeControl::Stub::Directions,
                               orgsync::node::DirectionsRequest()));
  for (const auto& object : directions.objects()) {
    fmt::print("  {:8} {}\n", object.object(), object.direction());
  }
  return absl::OkStatus();
}

absl::Status Demo::LiveEdits() {
  Heading("4. Live edits on both sides");
  ORGSYNC_ASSIGN_OR_RETURN(std::string acme, Upsert(*primary_, "Account", "",
                                                    {{"Name", Named("Acme")},
                                                     {"Phone", "555-0100"}}));
  ORGSYNC_RETURN_IF_ERROR(
      Upsert(*primary_, "Contact", "",
             {{"LastName", Named("Smith")}, {"AccountId", acme}})
          .status());
  ORGSYNC_ASSIGN_OR_RETURN(
      std::string initech,
      Upsert(*secondary_, "Account", "",
             {{"Name", Named("Initech")}, {"Phone", "555-0200"}}));
  ORGSYNC_RETURN_IF_ERROR(
      Upsert(*secondary_, "Contact", "",
             {{"LastName", Named("Jones")}, {"AccountId", initech}})
          .status());
  fmt::print(
      "org-a adds account {} with contact {}; org-b adds account {} "
      "with contact {}.\n",
      Named("Acme"), Named("Smith"), Named("Initech"), Named("Jones"));
  ORGSYNC_RETURN_IF_ERROR(Settled("the live edits"));
  ORGSYNC_ASSIGN_OR_RETURN(
      std::string there, FindId(*secondary_, "Account", "Name", Named("Acme")));
  ORGSYNC_ASSIGN_OR_RETURN(
      std::string here, FindId(*primary_, "Account", "Name", Named("Initech")));
  fmt::print("org-b has {} as {}; org-a has {} as {}.\n", Named("Acme"), there,
             Named("Initech"), here);
  return absl::OkStatus();
}

absl::Status Demo::KillAndRestart() {
  Heading("5. org-b killed (SIGKILL) and restarted");
  ORGSYNC_RETURN_IF_ERROR(secondary_->Kill());
  ORGSYNC_RETURN_IF_ERROR(Eventually(
      "org-a to suspend the connection", kPatience,
      [&]() -> absl::StatusOr<bool> {
        ORGSYNC_ASSIGN_OR_RETURN(auto connection, OnlyConnection(*primary_));
        return !connection.partner_available() &&
               connection.status() == "Suspended";
      }));
  fmt::print(
      "org-a lost its partner and suspended the connection on its "
      "own (R6).\n");
  for (int i = 1; i <= 10; ++i) {
    ORGSYNC_RETURN_IF_ERROR(
        Upsert(*primary_, "Account", "",
               {{"Name", Named(fmt::format("Offline {}", i))},
                {"Phone", fmt::format("555-03{:02d}", i)}})
            .status());
    if (i % 5 == 0) {
      ORGSYNC_ASSIGN_OR_RETURN(auto connection, OnlyConnection(*primary_));
      fmt::print("  org-a has written {} accounts; its queue holds {}.\n", i,
                 connection.queue_count());
    }
  }
  ORGSYNC_ASSIGN_OR_RETURN(std::string queue, Admin(*primary_, {"queue"}));
  fmt::print("orgsync-admin queue on org-a:\n{}", queue);
  ORGSYNC_RETURN_IF_ERROR(secondary_->Start());
  fmt::print("org-b restarted on its state folder.\n");
  ORGSYNC_RETURN_IF_ERROR(Settled("the queue to drain"));
  ORGSYNC_ASSIGN_OR_RETURN(auto connection, OnlyConnection(*primary_));
  fmt::print("The connection resumed ({}); org-a's queue drained to {}.\n",
             connection.status(), connection.queue_count());
  return absl::OkStatus();
}

absl::Status Demo::MissingParent() {
  Heading("6. A contact whose account never went: MISSING_PARENT");
  // An id the primary's store never held: the contact's account has not
  // been sent (the seed's case of a parent that was not captured).
  const std::string account_id = fmt::format("A-ghost-{}", run_);
  ORGSYNC_RETURN_IF_ERROR(
      Upsert(*primary_, "Contact", "",
             {{"LastName", Named("Orphan")}, {"AccountId", account_id}})
          .status());
  ORGSYNC_RETURN_IF_ERROR(Eventually(
      "org-a's log to show the retry", kPatience,
      [&]() -> absl::StatusOr<bool> {
        ORGSYNC_ASSIGN_OR_RETURN(std::string log,
                                 Admin(*primary_, {"log", "--object", "Contact",
                                                   "--status", "Retrying"}));
        return log.find("MISSING_PARENT") != std::string::npos;
      }));
  ORGSYNC_RETURN_IF_ERROR(PrintLog(
      *primary_, {"log", "--object", "Contact", "--status", "Retrying"},
      "MISSING_PARENT"));
  ORGSYNC_RETURN_IF_ERROR(
      Upsert(*primary_, "Account", account_id,
             {{"Name", Named("Ghost Corp")}, {"Phone", "555-0400"}})
          .status());
  fmt::print(
      "org-a now writes account {} ({}); the next retry sends the "
      "contact after it.\n",
      account_id, Named("Ghost Corp"));
  ORGSYNC_RETURN_IF_ERROR(Settled("the retried contact"));
  ORGSYNC_ASSIGN_OR_RETURN(
      std::string orphan,
      FindId(*secondary_, "Contact", "LastName", Named("Orphan")));
  fmt::print("org-b has the contact as {}, under its copy of the account.\n",
             orphan);
  return absl::OkStatus();
}

absl::Status Demo::Conflict() {
  Heading("7. Both orgs change one phone while suspended: a conflict");
  ORGSYNC_ASSIGN_OR_RETURN(std::string a_id,
                           FindId(*primary_, "Account", "Name", Named("Acme")));
  ORGSYNC_ASSIGN_OR_RETURN(
      std::string b_id, FindId(*secondary_, "Account", "Name", Named("Acme")));
  ORGSYNC_ASSIGN_OR_RETURN(auto connection, OnlyConnection(*primary_));
  orgsync::node::SuspendRequest suspend;
  suspend.set_connection_id(connection.connection_id());
  suspend.set_actor("alice@org-a");
  ORGSYNC_RETURN_IF_ERROR(Ask<orgsync::node::SuspendReply>(
                              *primary_, &NodeControl::Stub::Suspend, suspend)
                              .status());
  ORGSYNC_RETURN_IF_ERROR(
      Upsert(*primary_, "Account", a_id, {{"Phone", "555-0111"}}).status());
  absl::SleepFor(absl::Milliseconds(20));
  ORGSYNC_RETURN_IF_ERROR(
      Upsert(*secondary_, "Account", b_id, {{"Phone", "555-0222"}}).status());
  fmt::print(
      "alice suspends the connection; org-a sets {}'s phone to "
      "555-0111, then org-b sets it to 555-0222.\n",
      Named("Acme"));
  orgsync::node::ResumeRequest resume;
  resume.set_connection_id(connection.connection_id());
  resume.set_actor("alice@org-a");
  ORGSYNC_RETURN_IF_ERROR(Ask<orgsync::node::ResumeReply>(
                              *primary_, &NodeControl::Stub::Resume, resume)
                              .status());
  ORGSYNC_RETURN_IF_ERROR(Settled("the conflicting edits"));
  ORGSYNC_ASSIGN_OR_RETURN(auto here, Records(*primary_, "Account"));
  ORGSYNC_ASSIGN_OR_RETURN(auto there, Records(*secondary_, "Account"));
  const std::string phone_a = here[a_id].fields().at("Phone");
  const std::string phone_b = there[b_id].fields().at("Phone");
  fmt::print(
      "After resume: org-a shows {}, org-b shows {} (the last writer "
      "wins in both).\n",
      phone_a, phone_b);
  if (phone_a != "555-0222" || phone_b != "555-0222") {
    return absl::InternalError("the later write did not win on both sides");
  }
  bool logged = false;
  for (DemoNode* node : {primary_.get(), secondary_.get()}) {
    ORGSYNC_ASSIGN_OR_RETURN(std::string log,
                             Admin(*node, {"log", "--object", "Account"}));
    if (log.find("CONFLICT") != std::string::npos) {
      ORGSYNC_RETURN_IF_ERROR(
          PrintLog(*node, {"log", "--object", "Account"}, "CONFLICT"));
      logged = true;
    }
  }
  if (!logged) return absl::InternalError("no CONFLICT in either sync log");
  return absl::OkStatus();
}

absl::Status Demo::Compare() {
  Heading("8. Record by record: are the two orgs the same?");
  size_t same = 0;
  std::vector<std::string> differences;
  std::map<std::string, std::map<std::string, std::string>> names;  // side
  for (const char* object : {"Account", "Contact"}) {
    const std::string key =
        object == std::string_view("Account") ? "Name" : "LastName";
    // Each side's records by name; a contact's account by its name too,
    // since ids differ between orgs.
    std::map<std::string, std::string> rows[2];
    int side = 0;
    for (DemoNode* node : {primary_.get(), secondary_.get()}) {
      ORGSYNC_ASSIGN_OR_RETURN(auto accounts, Records(*node, "Account"));
      ORGSYNC_ASSIGN_OR_RETURN(auto records, Records(*node, object));
      for (const auto& [id, record] : records) {
        std::string row;
        // Protobuf maps have no order: sort the fields.
        const std::map<std::string, std::string> fields(record.fields().begin(),
                                                        record.fields().end());
        for (const auto& [field, text] : fields) {
          if (field == "AccountId") {
            // A reference reads "->id".
            const std::string value =
                text.starts_with("->") ? text.substr(2) : text;
            const auto parent = accounts.find(value);
            row += fmt::format(" {}=[{}]", field,
                               parent == accounts.end()
                                   ? "missing " + value
                                   : parent->second.fields().at("Name"));
          } else if (field != "CreatedDate" && field != "LastModifiedDate" &&
                     field != "CreatedBy" && field != "LastModifiedBy") {
            row += fmt::format(" {}={}", field, text);
          }
        }
        rows[side][record.fields().contains(key) ? record.fields().at(key)
                                                 : id] = row;
      }
      ++side;
    }
    for (const auto& [name, row] : rows[0]) {
      const auto other = rows[1].find(name);
      if (other == rows[1].end()) {
        differences.push_back(
            fmt::format("{} {}: only on org-a", object, name));
      } else if (other->second != row) {
        differences.push_back(fmt::format("{} {}: org-a{} / org-b{}", object,
                                          name, row, other->second));
      } else {
        ++same;
      }
    }
    for (const auto& [name, row] : rows[1]) {
      if (!rows[0].contains(name)) {
        differences.push_back(
            fmt::format("{} {}: only on org-b", object, name));
      }
    }
  }
  if (!differences.empty()) {
    for (const std::string& difference : differences) {
      fmt::print("  DIFFERS {}\n", difference);
    }
    return absl::InternalError(
        fmt::format("{} records differ between the orgs", differences.size()));
  }
  fmt::print(
      "Records that differ: none. The two orgs hold the same {} "
      "records.\n",
      same);
  return absl::OkStatus();
}

absl::Status Demo::ExistingRecords() {
  if (OnlyConnection(*primary_).ok()) return absl::OkStatus();  // not fresh
  for (int a = 0; a < kExistingAccounts; ++a) {
    ORGSYNC_ASSIGN_OR_RETURN(
        std::string account,
        Upsert(*primary_, "Account", "",
               {{"Name", fmt::format("Legacy {:03}", a)},
                {"Phone", fmt::format("555-1{:03}", a)}}));
    for (int c = 0; c < kExistingContactsPerAccount; ++c) {
      ORGSYNC_RETURN_IF_ERROR(
          Upsert(*primary_, "Contact", "",
                 {{"LastName", fmt::format("Legacy {:03}-{}", a, c)},
                  {"AccountId", account}})
              .status());
    }
  }
  fmt::print(
      "Before any connection, org-a's users wrote {} accounts and {} "
      "contacts.\n",
      kExistingAccounts, kExistingAccounts * kExistingContactsPerAccount);
  return absl::OkStatus();
}

absl::Status Demo::BulkSync() {
  Heading("3b. Bulk sync: the records org-a held before");
  fmt::print(
      "Publishing copies no record (R18): alice@org-a starts a bulk sync "
      "with\norgsync-admin bulk-sync (everything published and "
      "subscribed, modified in the\nlast year; accounts before their "
      "contacts, R65).\n");
  ORGSYNC_ASSIGN_OR_RETURN(
      std::string started,
      Admin(*primary_, {"bulk-sync", "--actor", "alice@org-a"}));
  fmt::print("{}", started.substr(0, started.find('\n') + 1));
  // The bar, from bulk-status, each time the records remaining change.
  orgsync::admin::proto::BulkSyncOutput progress;
  uint64_t shown = UINT64_MAX;
  ORGSYNC_RETURN_IF_ERROR(Eventually(
      "the bulk sync to complete", kPatience, [&]() -> absl::StatusOr<bool> {
        ORGSYNC_ASSIGN_OR_RETURN(
            std::string json,
            Admin(*primary_, {"bulk-status", "--json"}));
        if (!google::protobuf::util::JsonStringToMessage(json, &progress)
                 .ok()) {
          return absl::InternalError("bulk-status --json is unreadable");
        }
        if (progress.queued() > 0 && progress.remaining() != shown) {
          shown = progress.remaining();
          const uint64_t answered = progress.queued() - progress.remaining();
          const uint64_t filled = answered * 30 / progress.queued();
          fmt::print("  [{}{}] {:3}%  {} copied, {} remaining\n",
                     std::string(filled, '#'), std::string(30 - filled, '.'),
                     answered * 100 / progress.queued(), progress.copied(),
                     progress.remaining());
        }
        return progress.state() == "Completed";
      }));
  ORGSYNC_ASSIGN_OR_RETURN(std::string status,
                           Admin(*primary_, {"bulk-status"}));
  fmt::print("orgsync-admin bulk-status on org-a:\n{}", status);
  ORGSYNC_RETURN_IF_ERROR(Settled("the bulk sync's last answers"));
  fmt::print(
      "Bulk sync {} completed: {} copied, {} skipped (already synced, "
      "R62), {} failed.\n",
      progress.run(), progress.copied(), progress.skipped(),
      progress.failed());
  if (progress.failed() != 0) {
    return absl::InternalError("records of the bulk sync failed");
  }
  return absl::OkStatus();
}

absl::Status Demo::Verify() {
  Heading("8b. Verify: the same proof, by digests");
  fmt::print(
      "The comparison above read every record of both orgs. orgsync-admin "
      "verify asks\nthe nodes themselves: org-a sends a digest per range of "
      "about a thousand of its\nlinked records, org-b answers with the "
      "digest of its copies of the same range,\nand only a range that "
      "differs is compared record by record.\n");
  ORGSYNC_ASSIGN_OR_RETURN(
      std::string started,
      Admin(*primary_, {"verify", "--actor", "alice@org-a"}));
  fmt::print("{}", started.substr(0, started.find('\n') + 1));
  orgsync::admin::proto::VerifyOutput report;
  ORGSYNC_RETURN_IF_ERROR(Eventually(
      "the Verify to end", kPatience, [&]() -> absl::StatusOr<bool> {
        ORGSYNC_ASSIGN_OR_RETURN(std::string json,
                                 Admin(*primary_, {"verify-status", "--json"}));
        if (!google::protobuf::util::JsonStringToMessage(json, &report).ok()) {
          return absl::InternalError("verify-status --json is unreadable");
        }
        return report.state() != "Running";
      }));
  ORGSYNC_ASSIGN_OR_RETURN(std::string status,
                           Admin(*primary_, {"verify-status"}));
  fmt::print("orgsync-admin verify-status on org-a:\n{}", status);
  if (!report.identical()) {
    return absl::InternalError("Verify does not find the orgs identical");
  }
  return absl::OkStatus();
}

absl::Status Demo::Settled(std::string_view what) {
  return Eventually(what, kPatience, [&]() -> absl::StatusOr<bool> {
    for (DemoNode* node : {primary_.get(), secondary_.get()}) {
      ORGSYNC_ASSIGN_OR_RETURN(auto connection, OnlyConnection(*node));
      if (!connection.idle() || !connection.partner_available()) return false;
    }
    return true;
  });
}

absl::Status Demo::PrintLog(DemoNode& node,
                            const std::vector<std::string>& args,
                            std::string_view needle) {
  ORGSYNC_ASSIGN_OR_RETURN(std::string log, Admin(node, args));
  fmt::print("orgsync-admin {} on {}:\n", fmt::join(args, " "), node.name());
  std::istringstream lines(log);
  bool header = true;
  for (std::string line; std::getline(lines, line); header = false) {
    if (header || line.find(needle) != std::string::npos) {
      fmt::print("  {}\n", line);
    }
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace orgsync_demo

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  bool fresh = false;
  std::string state_dir = "./orgsync-demo-state";
  std::string node_binary = ORGSYNC_NODE_BINARY;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--fresh") {
      fresh = true;
    } else if ((arg == "--state-dir" || arg == "--node") && i + 1 < argc) {
      (arg == "--node" ? node_binary : state_dir) = argv[++i];
    } else {
      fmt::print(stderr,
                 "usage: orgsync_node_demo [--fresh] [--state-dir DIR] "
                 "[--node PATH]\n");
      return 2;
    }
  }
  orgsync_demo::Demo demo(std::filesystem::absolute(state_dir).string(),
                          node_binary);
  const absl::Status status = demo.Run(fresh);
  if (!status.ok()) {
    fmt::print(stderr, "\nDemo failed: a step failed: {}\n", status.ToString());
    return EXIT_FAILURE;
  }
  fmt::print("\nDemo finished: every step worked.\n");
  return EXIT_SUCCESS;
}
