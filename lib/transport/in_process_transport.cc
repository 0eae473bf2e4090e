// Copyright 2026 The orgsync Authors. Licensed under the Apache License 2.0.
//
// The in-process transport pair. All state sits behind one mutex; a
// delivery mutex per side (side_mu_) is held while that side's handler runs,
// so that SetHandler can promise the old handler is no longer being called
// when it returns. DeliverNext/Step take delivery_mu_ and both side mutexes
// (one driver at a time, in seed order); DeliverNextTo takes only its side's,
// so the two sides can be driven by a thread each. Lock order: delivery_mu_,
// side_mu_[0], side_mu_[1], mu_. Handlers run with mu_ released, which lets
// them Send() their answers.
//
// Randomness comes from one std::mt19937_64, whose output sequence the C++
// standard fixes, turned into numbers with plain arithmetic rather than the
// <random> distributions (whose algorithms differ between standard
// libraries), so a seed replays the same on every platform.

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "orgsync/internal/mutex.h"
#include "orgsync/transport.h"

namespace orgsync {
namespace {

using Side = InProcessTransportPair::Side;

int Index(Side side) { return side == Side::kA ? 0 : 1; }
Side Other(Side side) { return side == Side::kA ? Side::kB : Side::kA; }

absl::Status CheckProbability(const char* name, double p) {
  // Written so that NaN fails too.
  if (!(p >= 0.0 && p <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TransportFaults.", name, " must be within [0, 1], got ", p));
  }
  return absl::OkStatus();
}

}  // namespace

class InProcessTransportPair::Impl {
 public:
  explicit Impl(uint64_t seed)
      : seed_(seed),
        rng_(seed),
        endpoints_{Endpoint(this, Side::kA), Endpoint(this, Side::kB)} {}

  Transport* endpoint(Side side) { return &endpoints_[Index(side)]; }

  absl::Status SetFaults(const TransportFaults& faults) {
    for (auto [name, p] :
         {std::pair{"drop_probability", faults.drop_probability},
          std::pair{"duplicate_probability", faults.duplicate_probability},
          std::pair{"reorder_probability", faults.reorder_probability}}) {
      if (absl::Status s = CheckProbability(name, p); !s.ok()) return s;
    }
    internal::MutexLock lock(&mu_);
    faults_ = faults;
    return absl::OkStatus();
  }

  TransportFaults faults() const {
    internal::MutexLock lock(&mu_);
    return faults_;
  }

  void SetPartitioned(bool partitioned) {
    internal::MutexLock lock(&mu_);
    partitioned_ = partitioned;
  }

  bool partitioned() const {
    internal::MutexLock lock(&mu_);
    return partitioned_;
  }

  void SetOnline(Side side, bool online) {
    internal::MutexLock delivering(&delivery_mu_);
    internal::MutexLock side_a(&side_mu_[0]);
    internal::MutexLock side_b(&side_mu_[1]);
    std::array<TransportHandler*, 2> handlers;
    bool now_up;
    {
      internal::MutexLock lock(&mu_);
      const bool was_up = LinkUp();
      online_[Index(side)] = online;
      now_up = LinkUp();
      if (was_up == now_up) return;
      handlers = handlers_;
    }
    for (TransportHandler* handler : handlers) {
      if (handler != nullptr) handler->OnAvailabilityChanged(now_up);
    }
  }

  bool online(Side side) const {
    internal::MutexLock lock(&mu_);
    return online_[Index(side)];
  }

  void SetHandler(Side side, TransportHandler* handler) {
    internal::MutexLock delivering(&delivery_mu_);
    internal::MutexLock side_a(&side_mu_[0]);
    internal::MutexLock side_b(&side_mu_[1]);
    internal::MutexLock lock(&mu_);
    handlers_[Index(side)] = handler;
  }

  bool PartnerAvailable() const {
    internal::MutexLock lock(&mu_);
    return LinkUp();
  }

  absl::Status Send(Side from, std::string bytes) {
    internal::MutexLock lock(&mu_);
    if (!LinkUp()) {
      ++counters_.refused;
      return absl::UnavailableError(
          "in-process transport: the partner org is offline");
    }
    ++counters_.sent;
    // A partition or a drop is silent: the sender cannot tell.
    if (partitioned_ || Chance(faults_.drop_probability)) {
      ++counters_.dropped;
      return absl::OkStatus();
    }
    const int copies = Chance(faults_.duplicate_probability) ? 2 : 1;
    counters_.duplicated += copies - 1;
    for (int i = 0; i < copies; ++i) {
      uint64_t delay = 0;
      if (faults_.max_delay_steps > 0) {
        delay = rng_() % (uint64_t{faults_.max_delay_steps} + 1);
      }
      const bool last = i + 1 == copies;
      in_flight_.push_back(Message{next_order_++, Other(from), step_ + delay,
                                   last ? std::move(bytes) : bytes});
    }
    return absl::OkStatus();
  }

  // Delivers (or drops) one ready message sent before `order_limit`.
  bool DeliverOne(uint64_t order_limit) {
    internal::MutexLock delivering(&delivery_mu_);
    internal::MutexLock side_a(&side_mu_[0]);
    internal::MutexLock side_b(&side_mu_[1]);
    return DeliverOneLocked(order_limit, std::nullopt);
  }

  bool DeliverNextTo(Side to) {
    internal::MutexLock side(&side_mu_[Index(to)]);
    return DeliverOneLocked(UINT64_MAX, to);
  }

  // With the delivery mutex of the receiving side(s) held.
  bool DeliverOneLocked(uint64_t order_limit, std::optional<Side> only_to) {
    TransportHandler* handler = nullptr;
    std::string bytes;
    {
      internal::MutexLock lock(&mu_);
      std::vector<size_t> ready;
      for (size_t i = 0; i < in_flight_.size(); ++i) {
        if (in_flight_[i].order < order_limit &&
            in_flight_[i].ready_step <= step_ &&
            (!only_to.has_value() || in_flight_[i].to == *only_to)) {
          ready.push_back(i);
        }
      }
      if (ready.empty()) return false;
      size_t pick = 0;
      if (ready.size() > 1 && Chance(faults_.reorder_probability)) {
        pick = rng_() % ready.size();
      }
      Message message = std::move(in_flight_[ready[pick]]);
      in_flight_.erase(in_flight_.begin() +
                       static_cast<std::ptrdiff_t>(ready[pick]));
      handler = handlers_[Index(message.to)];
      if (partitioned_ || !LinkUp() || handler == nullptr) {
        ++counters_.dropped;
        return true;
      }
      ++counters_.delivered;
      if (pick != 0) ++counters_.reordered;
      bytes = std::move(message.bytes);
    }
    handler->OnMessage(std::move(bytes));
    return true;
  }

  bool DeliverNext() { return DeliverOne(UINT64_MAX); }

  size_t Step() {
    uint64_t limit;
    {
      internal::MutexLock lock(&mu_);
      limit = next_order_;
    }
    const uint64_t delivered_before = counters().delivered;
    while (DeliverOne(limit)) {
    }
    internal::MutexLock lock(&mu_);
    ++step_;
    return static_cast<size_t>(counters_.delivered - delivered_before);
  }

  bool RunUntilIdle(size_t max_steps) {
    for (size_t i = 0; i < max_steps && InFlight() > 0; ++i) Step();
    return InFlight() == 0;
  }

  size_t InFlight() const {
    internal::MutexLock lock(&mu_);
    return in_flight_.size();
  }

  uint64_t current_step() const {
    internal::MutexLock lock(&mu_);
    return step_;
  }

  uint64_t seed() const { return seed_; }

  TransportCounters counters() const {
    internal::MutexLock lock(&mu_);
    return counters_;
  }

 private:
  class Endpoint final : public Transport {
   public:
    Endpoint(Impl* impl, Side side) : impl_(impl), side_(side) {}
    void SetHandler(TransportHandler* handler) override {
      impl_->SetHandler(side_, handler);
    }
    absl::Status Send(std::string bytes) override {
      return impl_->Send(side_, std::move(bytes));
    }
    bool PartnerAvailable() const override { return impl_->PartnerAvailable(); }

   private:
    Impl* const impl_;
    const Side side_;
  };

  struct Message {
    uint64_t order;  // global send order, for "oldest first"
    Side to;
    uint64_t ready_step;  // deliverable from this step on
    std::string bytes;
  };

  bool LinkUp() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return online_[0] && online_[1];
  }

  // Draws only when the outcome is uncertain, so a fault switched off does
  // not consume randomness.
  bool Chance(double p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (p <= 0.0) return false;
    if (p >= 1.0) return true;
    const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    return u < p;
  }

  const uint64_t seed_;
  internal::Mutex delivery_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::array<internal::Mutex, 2> side_mu_;
  mutable internal::Mutex mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  TransportFaults faults_ ABSL_GUARDED_BY(mu_);
  bool partitioned_ ABSL_GUARDED_BY(mu_) = false;
  std::array<bool, 2> online_ ABSL_GUARDED_BY(mu_) = {true, true};
  std::array<TransportHandler*, 2> handlers_ ABSL_GUARDED_BY(mu_) = {nullptr,
                                                                     nullptr};
  std::deque<Message> in_flight_ ABSL_GUARDED_BY(mu_);
  uint64_t next_order_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t step_ ABSL_GUARDED_BY(mu_) = 0;
  TransportCounters counters_ ABSL_GUARDED_BY(mu_);
  std::array<Endpoint, 2> endpoints_;
};

InProcessTransportPair::InProcessTransportPair(uint64_t seed)
    : impl_(std::make_unique<Impl>(seed)) {}

InProcessTransportPair::~InProcessTransportPair() = default;

Transport* InProcessTransportPair::endpoint(Side side) {
  return impl_->endpoint(side);
}

absl::Status InProcessTransportPair::SetFaults(const TransportFaults& faults) {
  return impl_->SetFaults(faults);
}

TransportFaults InProcessTransportPair::faults() const {
  return impl_->faults();
}

void InProcessTransportPair::SetPartitioned(bool partitioned) {
  impl_->SetPartitioned(partitioned);
}

bool InProcessTransportPair::partitioned() const {
  return impl_->partitioned();
}

void InProcessTransportPair::SetOnline(Side side, bool online) {
  impl_->SetOnline(side, online);
}

bool InProcessTransportPair::online(Side side) const {
  return impl_->online(side);
}

bool InProcessTransportPair::DeliverNextTo(Side to) {
  return impl_->DeliverNextTo(to);
}

bool InProcessTransportPair::DeliverNext() { return impl_->DeliverNext(); }

size_t InProcessTransportPair::Step() { return impl_->Step(); }

bool InProcessTransportPair::RunUntilIdle(size_t max_steps) {
  return impl_->RunUntilIdle(max_steps);
}

size_t InProcessTransportPair::InFlight() const { return impl_->InFlight(); }

uint64_t InProcessTransportPair::current_step() const {
  return impl_->current_step();
}

uint64_t InProcessTransportPair::seed() const { return impl_->seed(); }

TransportCounters InProcessTransportPair::counters() const {
  return impl_->counters();
}

}  // namespace orgsync
