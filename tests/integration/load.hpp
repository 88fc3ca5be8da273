// Steady client load for integration tests: threads that loop GET requests over keep-alive
// connections and record every outcome, so a test can assert that nothing failed.
#pragma once

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "harness.hpp"
#include "http_client.hpp"

namespace sluice::test {

// Client threads that loop GET requests over keep-alive connections and record every outcome.
class Load {
 public:
  Load(std::uint16_t port, int threads) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this, port] { run(port); });
    }
  }
  ~Load() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  std::uint64_t ok() const { return ok_; }
  std::uint64_t failed() const { return failed_; }
  std::vector<std::string> failures() const {
    std::lock_guard lk(mu_);
    return failures_;
  }
  std::map<std::string, std::uint64_t> by_upstream() const {
    std::lock_guard lk(mu_);
    return by_upstream_;
  }

 private:
  void fail(std::string why) {
    ++failed_;
    std::lock_guard lk(mu_);
    if (failures_.size() < 20) failures_.push_back(std::move(why));
  }
  void run(std::uint16_t port) {
    std::optional<Connection> c;
    while (!stop_) {
      if (!c) {
        int err = 0;
        c = Connection::try_connect(port, &err, 5s);
        if (!c) {
          fail(fmt::format("connect: {}", strerror(err)));
          std::this_thread::sleep_for(10ms);
          continue;
        }
      }
      auto r = c->request(make_request("GET", "/load"));
      if (!r) {
        fail("request: " + c->error());
        c.reset();
        continue;
      }
      if (r->status != 200) {
        fail(fmt::format("status {}: {}", r->status, r->body));
      } else {
        ++ok_;
        std::string upstream = r->json().value("upstream", "?");
        std::lock_guard lk(mu_);
        ++by_upstream_[upstream];
      }
      if (r->header("connection").find("close") != std::string::npos) c.reset();
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> ok_{0};
  std::atomic<std::uint64_t> failed_{0};
  mutable std::mutex mu_;
  std::vector<std::string> failures_;
  std::map<std::string, std::uint64_t> by_upstream_;
  std::vector<std::thread> threads_;
};

}  // namespace sluice::test
