// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// MetricsHttpServer: the smallest HTTP server a Prometheus scraper needs.
// It answers `GET /metrics` with PrometheusMetrics(org) (orgsync/metrics.h)
// in Prometheus' text format, HTTP/1.0 style: one request per connection,
// the connection closed after the answer. Any other path is 404, any other
// method 405, a request that is not HTTP 400. Requests are served one at a
// time on the server's own thread; a client gets at most
// kRequestTimeout to send its request line, and at most
// kMaxRequestBytes are read, so a slow or hostile client cannot hold the
// server for long or make it buffer much.
//
// Ownership: does not own the Org, which must outlive the server.
//
// Thread-safety: Shutdown() (and the destructor) may be called from any
// thread; port() is set once Start returned.

#ifndef ORGSYNC_LIB_NODE_METRICS_HTTP_H_
#define ORGSYNC_LIB_NODE_METRICS_HTTP_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "orgsync/org.h"

namespace orgsync::node {

class MetricsHttpServer {
 public:
  // Listens on `address` ("host:port"; port 0 picks one). InvalidArgument
  // for an address without a port; Unavailable if it cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MetricsHttpServer>>
  Start(const Org* org, const std::string& address);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }

  // Stops accepting, finishes the request in progress and joins the
  // thread. Idempotent.
  void Shutdown();

 private:
  MetricsHttpServer(const Org* org, int listen_fd, int port);
  void Serve();
  void Answer(int fd);

  const Org* const org_;
  const int listen_fd_;
  const int port_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace orgsync::node

#endif  // ORGSYNC_LIB_NODE_METRICS_HTTP_H_
