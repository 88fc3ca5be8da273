// A Resolver with settable answers, for discovery tests: no test may depend on real DNS.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "sluice/upstream/resolver.hpp"

namespace sluice::test {

class FakeResolver final : public upstream::Resolver {
 public:
  // `host` answers these addresses from now on (unsorted input is fine).
  void set(const std::string& host, const std::vector<std::string>& addresses) {
    std::vector<net::asio::ip::address> list;
    for (const auto& a : addresses) list.push_back(net::asio::ip::make_address(a));
    answers_[host] = std::move(list);
    failing_.erase(host);
  }
  // `host` fails to resolve from now on.
  void fail(const std::string& host) { failing_[host] = true; }

  Result<std::vector<net::asio::ip::address>> resolve_all(const std::string& host) override {
    ++calls;
    net::error_code ec;
    auto literal = net::asio::ip::make_address(host, ec);
    if (!ec) return std::vector<net::asio::ip::address>{literal};
    auto it = answers_.find(host);
    if (failing_.count(host) || it == answers_.end())
      return make_error(ErrorKind::dns, ErrorSource::internal,
                        "cannot resolve \"" + host + "\": fake failure");
    auto out = it->second;
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  int calls = 0;

 private:
  std::map<std::string, std::vector<net::asio::ip::address>> answers_;
  std::map<std::string, bool> failing_;
};

}  // namespace sluice::test
