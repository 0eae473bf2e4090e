// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.

#include "node/metrics_http.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fmt/core.h"
#include "orgsync/metrics.h"

namespace orgsync::node {
namespace {

constexpr size_t kMaxRequestBytes = 8192;
constexpr absl::Duration kRequestTimeout = absl::Seconds(5);
// How often the accept loop looks at the stop flag.
constexpr int kPollMillis = 100;

// Writes all of `data`, unless the client went away.
void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t written = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (written <= 0) {
      if (written < 0 && errno == EINTR) continue;
      return;
    }
    data.remove_prefix(static_cast<size_t>(written));
  }
}

std::string Response(int code, std::string_view reason,
                     std::string_view content_type, std::string_view body) {
  return fmt::format(
      "HTTP/1.0 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n{}",
      code, reason, content_type, body.size(), body);
}

// Reads until the end of the request's headers (or the limit, timeout or
// end of stream); returns what was read.
std::string ReadRequest(int fd) {
  std::string request;
  const absl::Time deadline = absl::Now() + kRequestTimeout;
  char buffer[1024];
  while (request.size() < kMaxRequestBytes &&
         request.find("\r\n\r\n") == std::string::npos &&
         request.find("\n\n") == std::string::npos) {
    const int left = static_cast<int>(
        absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (left <= 0) break;
    pollfd ready{.fd = fd, .events = POLLIN, .revents = 0};
    if (poll(&ready, 1, left) <= 0) break;
    const ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
    if (got <= 0) break;
    request.append(buffer, static_cast<size_t>(got));
  }
  return request;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const Org* org, const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(fmt::format(
        "metrics address \"{}\" is not HOST:PORT", address));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port = address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const int resolved = getaddrinfo(host.empty() ? nullptr : host.c_str(),
                                   port.c_str(), &hints, &found);
  if (resolved != 0) {
    return absl::InvalidArgumentError(
        fmt::format("metrics address \"{}\": {}", address,
                    gai_strerror(resolved)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found,
                                                               freeaddrinfo);
  int fd = -1;
  std::string error = "no address";
  for (addrinfo* candidate = found; candidate != nullptr;
       candidate = candidate->ai_next) {
    fd = socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC,
                candidate->ai_protocol);
    if (fd < 0) continue;
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, candidate->ai_addr, candidate->ai_addrlen) == 0 &&
        listen(fd, 16) == 0) {
      break;
    }
    error = std::strerror(errno);
    close(fd);
    fd = -1;
  }
  if (fd < 0) {
    return absl::UnavailableError(fmt::format(
        "cannot listen for metrics on \"{}\": {}", address, error));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  const int bound_port =
      bound.ss_family == AF_INET6
          ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
          : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  std::unique_ptr<MetricsHttpServer> server(
      new MetricsHttpServer(org, fd, bound_port));
  server->thread_ = std::thread([raw = server.get()] { raw->Serve(); });
  return server;
}

MetricsHttpServer::MetricsHttpServer(const Org* org, int listen_fd, int port)
    : org_(org), listen_fd_(listen_fd), port_(port) {}

MetricsHttpServer::~MetricsHttpServer() { Shutdown(); }

void MetricsHttpServer::Shutdown() {
  if (stopping_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
}

void MetricsHttpServer::Serve() {
  while (!stopping_.load()) {
    pollfd ready{.fd = listen_fd_, .events = POLLIN, .revents = 0};
    if (poll(&ready, 1, kPollMillis) <= 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    Answer(fd);
    close(fd);
  }
}

void MetricsHttpServer::Answer(int fd) {
  const std::string request = ReadRequest(fd);
  const size_t line_end = request.find_first_of("\r\n");
  const std::string line = request.substr(0, line_end);
  // "METHOD PATH HTTP/x.y"
  const size_t first = line.find(' ');
  const size_t second =
      first == std::string::npos ? first : line.find(' ', first + 1);
  if (line_end == std::string::npos || second == std::string::npos ||
      line.compare(second + 1, 5, "HTTP/") != 0) {
    WriteAll(fd, Response(400, "Bad Request", "text/plain",
                          "not an HTTP request\n"));
    return;
  }
  const std::string method = line.substr(0, first);
  const std::string path = line.substr(first + 1, second - first - 1);
  if (method != "GET" && method != "HEAD") {
    WriteAll(fd, Response(405, "Method Not Allowed", "text/plain",
                          "only GET /metrics\n"));
    return;
  }
  if (path != "/metrics") {
    WriteAll(fd, Response(404, "Not Found", "text/plain",
                          "only GET /metrics\n"));
    return;
  }
  absl::StatusOr<std::string> metrics = PrometheusMetrics(*org_);
  if (!metrics.ok()) {
    WriteAll(fd, Response(500, "Internal Server Error", "text/plain",
                          metrics.status().ToString() + "\n"));
    return;
  }
  std::string response =
      Response(200, "OK", "text/plain; version=0.0.4; charset=utf-8",
               *metrics);
  if (method == "HEAD") response.resize(response.find("\r\n\r\n") + 4);
  WriteAll(fd, response);
}

}  // namespace orgsync::node
