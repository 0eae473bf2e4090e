// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// Example: write your own Transport. orgsync hands a Transport opaque byte
// strings and expects, in return, the partner's byte strings and word of
// whether the partner can be reached; everything about delivery guarantees
// stays in the engine (orgsync/transport.h). Here the bytes travel over a
// stream socket, each message framed by its length, with a reader thread
// per endpoint handing what arrives to HandlerSlot, which keeps the
// contract's promises (one handler call at a time, none after a detach).
//
// Two orgs in one process, joined by a socketpair, sync 50 accounts and an
// update of each while the reader threads deliver concurrently with the
// orgs' Step() calls. Then the primary's end of the socket is closed: both
// sides learn the partner is gone, which suspends the connection (R6).
// Exits 0 only if every account arrived with its update and both sides
// saw the link go.

#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "orgsync/capture.h"
#include "orgsync/clock.h"
#include "orgsync/connection.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/org.h"
#include "orgsync/record.h"
#include "orgsync/record_store.h"
#include "orgsync/schema.h"
#include "orgsync/status.h"
#include "orgsync/storage.h"
#include "orgsync/transport.h"
#include "example_orgs.h"

namespace {

using orgsync_example::AuditFields;
using orgsync_example::Capture;
using orgsync_example::Connect;
using orgsync_example::Field;
using orgsync_example::OpenOrg;
using orgsync_example::Side;

// One endpoint of a message link over a connected stream socket: each
// message is a 4-byte big-endian length followed by the bytes.
// Thread-safe: Send from any thread; the reader thread calls the handler.
class SocketTransport final : public orgsync::Transport {
 public:
  // Takes ownership of `fd`, a connected stream socket.
  explicit SocketTransport(int fd) : fd_(fd), reader_([this] { Read(); }) {}

  ~SocketTransport() override {
    Close();
    reader_.join();
    ::close(fd_);
  }

  // Ends the link: the partner's reader sees the end of the stream.
  void Close() { ::shutdown(fd_, SHUT_RDWR); }

  void SetHandler(orgsync::TransportHandler* handler) override {
    slot_.Set(handler);
  }

  absl::Status Send(std::string bytes) override {
    if (!available_.load()) {
      return absl::UnavailableError("the socket to the partner is closed");
    }
    std::string frame;
    frame.reserve(4 + bytes.size());
    const uint32_t size = static_cast<uint32_t>(bytes.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
      frame.push_back(static_cast<char>((size >> shift) & 0xff));
    }
    frame += bytes;
    // One writer at a time, so that frames never interleave. A blocking
    // write is this example's flow control: a slow partner slows Send.
    orgsync::internal::MutexLock lock(&send_mu_);
    size_t written = 0;
    while (written < frame.size()) {
      const ssize_t n = ::send(fd_, frame.data() + written,
                               frame.size() - written, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return absl::UnavailableError("the partner closed the socket");
      }
      written += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

  bool PartnerAvailable() const override { return available_.load(); }

 private:
  // Reads exactly `size` bytes; false at the end of the stream.
  bool ReadFully(char* out, size_t size) {
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::recv(fd_, out + done, size - done, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  // The reader thread: frames to the handler until the stream ends, then
  // word that the partner is gone.
  void Read() {
    for (;;) {
      unsigned char header[4];
      if (!ReadFully(reinterpret_cast<char*>(header), sizeof header)) break;
      const uint32_t size = (uint32_t{header[0]} << 24) |
                            (uint32_t{header[1]} << 16) |
                            (uint32_t{header[2]} << 8) | header[3];
      std::string bytes(size, '\0');
      if (!ReadFully(bytes.data(), size)) break;
      slot_.Deliver(std::move(bytes));
    }
    available_.store(false);
    slot_.NotifyAvailability(false);
  }

  const int fd_;
  std::atomic<bool> available_{true};
  orgsync::HandlerSlot slot_;
  orgsync::internal::Mutex send_mu_;
  std::thread reader_;  // last: starts once the rest is built
};

// One org in memory with Accounts, its store the shipped in-memory one.
absl::Status Open(Side& side, const std::string& org_id) {
  orgsync::ObjectDef account{
      .name = "Account",
      .fields = {Field("Name", orgsync::FieldType::kText),
                 Field("City", orgsync::FieldType::kText)},
      .publishable = true};
  for (orgsync::FieldDef& audit : AuditFields()) {
    account.fields.push_back(audit);
  }
  ORGSYNC_RETURN_IF_ERROR(side.schema.AddObject(account));
  orgsync::RecordStoreOptions store_options;
  store_options.schema = &side.schema;
  store_options.id_prefix = org_id + "-";
  ORGSYNC_ASSIGN_OR_RETURN(side.store,
                           orgsync::NewInMemoryRecordStore(store_options));
  return OpenOrg(side, org_id, orgsync::Clock::System());
}

// Steps both orgs until `done()` holds (the reader threads deliver in the
// meantime), for at most 20 seconds.
template <typename Done>
absl::Status StepUntil(Side& a, Side& b, Done done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!done()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError("the orgs did not get there in 20 s");
    }
    ORGSYNC_RETURN_IF_ERROR(a.org->Step().status());
    ORGSYNC_RETURN_IF_ERROR(b.org->Step().status());
    absl::SleepFor(absl::Milliseconds(1));
  }
  return absl::OkStatus();
}

absl::Status Run() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
    return absl::InternalError("socketpair failed");
  }
  auto primary_link = std::make_unique<SocketTransport>(fds[0]);
  auto secondary_link = std::make_unique<SocketTransport>(fds[1]);
  Side primary;
  Side secondary;
  ORGSYNC_RETURN_IF_ERROR(Open(primary, "org-a"));
  ORGSYNC_RETURN_IF_ERROR(Open(secondary, "org-b"));

  ORGSYNC_RETURN_IF_ERROR(Connect(primary, primary_link.get(), secondary,
                                  secondary_link.get()));
  orgsync::Connection* p = primary.connection;
  orgsync::Connection* s = secondary.connection;
  auto active = [&] {
    return p->status() == orgsync::ConnectionStatus::kActive &&
           s->status() == orgsync::ConnectionStatus::kActive;
  };
  ORGSYNC_RETURN_IF_ERROR(StepUntil(primary, secondary, active));
  fmt::print("Over the socket: invitation accepted, both sides {}.\n",
             orgsync::ConnectionStatusName(p->status()));

  ORGSYNC_RETURN_IF_ERROR(p->publish_set()->PublishObjects({"Account"}));
  ORGSYNC_RETURN_IF_ERROR(StepUntil(primary, secondary, [&] {
    return s->subscription_map()->Subscribe("Account").ok();
  }));
  ORGSYNC_RETURN_IF_ERROR(StepUntil(primary, secondary, [&] {
    return p->publish_set()->IsPartnerSubscribed("Account");
  }));

  constexpr int kAccounts = 50;
  for (int i = 0; i < kAccounts; ++i) {
    orgsync::Record account;
    account.object = "Account";
    account.fields = {{"Name", fmt::format("Account {}", i)},
                      {"City", std::string("Lyon")}};
    ORGSYNC_ASSIGN_OR_RETURN(account, primary.store->Insert(account, {}));
    ORGSYNC_RETURN_IF_ERROR(
        Capture(primary, orgsync::ChangeKind::kInsert, account));
    ORGSYNC_ASSIGN_OR_RETURN(
        account, primary.store->Update("Account", account.id,
                                       {{"City", std::string("Nantes")}}, {}));
    ORGSYNC_RETURN_IF_ERROR(
        Capture(primary, orgsync::ChangeKind::kUpdate, account, {"City"}));
  }
  auto moved_to_nantes = [&] {
    int count = 0;
    const absl::Status scanned = secondary.store->Scan(
        "Account", absl::InfinitePast(), [&](const orgsync::Record& record) {
          const auto city = record.fields.find("City");
          if (city != record.fields.end() &&
              city->second == orgsync::FieldValue(std::string("Nantes"))) {
            ++count;
          }
          return true;
        });
    return scanned.ok() && count == kAccounts && p->idle();
  };
  ORGSYNC_RETURN_IF_ERROR(StepUntil(primary, secondary, moved_to_nantes));
  fmt::print("{} accounts and their updates crossed; {} envelopes sent.\n",
             kAccounts, p->counters().envelopes_sent);

  // The link goes down: each side's reader sees the end of the stream and
  // tells its handler, and the connection suspends itself (R6).
  primary_link->Close();
  ORGSYNC_RETURN_IF_ERROR(StepUntil(primary, secondary, [&] {
    return !p->partner_available() && !s->partner_available();
  }));
  fmt::print("The socket closed: org-a sees the connection {}, org-b {}.\n",
             orgsync::ConnectionStatusName(p->status()),
             orgsync::ConnectionStatusName(s->status()));
  // The orgs detach before their transports go.
  primary.org.reset();
  secondary.org.reset();
  return absl::OkStatus();
}

}  // namespace

int main() { return orgsync_example::Main("custom_transport", &Run); }
