#include "resolver.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "curl_exchange.hpp"
#include "sluice/core/expr/value.hpp"

namespace sluice::probe::detail {
namespace {

Error dns_error(std::string message) {
  return make_error(ErrorKind::dns, ErrorSource::upstream, std::move(message));
}

struct Lookup {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int rc = 0;
  std::vector<Address> addresses;
};

void run_lookup(const std::string& host, const std::string& port, int flags, Lookup& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags;
  addrinfo* list = nullptr;
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
  std::vector<Address> found;
  if (rc == 0) {
    for (addrinfo* ai = list; ai; ai = ai->ai_next) {
      if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
      Address a;
      std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
      a.length = ai->ai_addrlen;
      char text[INET6_ADDRSTRLEN] = {0};
      const void* raw =
          ai->ai_family == AF_INET6
              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr)
              : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr);
      ::inet_ntop(ai->ai_family, raw, text, sizeof text);
      a.text = text;
      found.push_back(std::move(a));
    }
    ::freeaddrinfo(list);
  }
  std::lock_guard lock(out.mu);
  out.rc = rc;
  out.addresses = std::move(found);
  out.done = true;
  out.cv.notify_all();
}

Result<std::vector<Address>> finish(const std::string& host, int rc, std::vector<Address> found) {
  if (rc == EAI_NONAME || (rc == 0 && found.empty()))
    return dns_error(fmt::format("{}: the name does not resolve", host));
  if (rc != 0) return dns_error(fmt::format("{}: {}", host, ::gai_strerror(rc)));
  return found;
}

}  // namespace

Result<std::vector<Address>> resolve(const std::string& host, std::uint16_t port,
                                     Duration timeout) {
  if (is_invalid_tld(host))
    return dns_error(
        fmt::format("{}: the name does not resolve (.invalid names never do, RFC 6761)", host));
  const std::string service = std::to_string(port);
  {
    Lookup numeric;
    run_lookup(host, service, AI_NUMERICHOST | AI_NUMERICSERV, numeric);
    if (numeric.rc == 0) return std::move(numeric.addresses);
  }
  auto lookup = std::make_shared<Lookup>();
  try {
    std::thread([lookup, host, service] {
      run_lookup(host, service, AI_NUMERICSERV, *lookup);
    }).detach();
  } catch (const std::system_error& e) {
    return dns_error(fmt::format("{}: cannot start the lookup: {}", host, e.what()));
  }
  std::unique_lock lock(lookup->mu);
  if (!lookup->cv.wait_for(lock, timeout, [&] { return lookup->done; }))
    return dns_error(fmt::format("{}: name resolution timed out after {}", host,
                                 expr::format_duration_short(timeout)));
  return finish(host, lookup->rc, std::move(lookup->addresses));
}

}  // namespace sluice::probe::detail
