// The hosts-file overlay resolver (see hosts_file.hpp).
#include "sluice/upstream/hosts_file.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "sluice/core/log.hpp"

namespace sluice::upstream {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

HostsTable parse_hosts(std::string_view text) {
  HostsTable t;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
      std::size_t b = i;
      while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
      if (i > b) words.push_back(line.substr(b, i - b));
    }
    if (words.empty()) continue;
    net::error_code ec;
    auto addr = net::asio::ip::make_address(std::string(words[0]), ec);
    if (ec || words.size() < 2) {
      t.bad_lines.push_back(line_no);
      continue;
    }
    for (std::size_t w = 1; w < words.size(); ++w) {
      auto& list = t.names[lower(words[w])];
      if (std::find(list.begin(), list.end(), addr) == list.end()) list.push_back(addr);
    }
  }
  return t;
}

Result<std::unique_ptr<HostsFileResolver>> HostsFileResolver::open(std::string path,
                                                                   Resolver& fallback) {
  std::unique_ptr<HostsFileResolver> r(new HostsFileResolver(std::move(path), fallback));
  std::lock_guard lk(r->mu_);
  if (auto ok = r->refresh_locked(); !ok) return ok.error();
  return r;
}

Result<void> HostsFileResolver::refresh_locked() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0)
    return make_error(
        ErrorKind::config, ErrorSource::internal,
        fmt::format("cannot read the hosts file \"{}\": {}", path_, std::strerror(errno)));
  Stamp now{static_cast<unsigned long>(st.st_ino), static_cast<long long>(st.st_size),
            st.st_mtim.tv_sec * 1'000'000'000ll + st.st_mtim.tv_nsec};
  if (now == stamp_) return {};
  std::ifstream in(path_, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof())
    return make_error(ErrorKind::config, ErrorSource::internal,
                      fmt::format("cannot read the hosts file \"{}\"", path_));
  table_ = parse_hosts(text.str());
  stamp_ = now;
  last_error_.clear();
  if (!table_.bad_lines.empty())
    log::warn("hosts_file_lines_skipped", {{"file", path_},
                                           {"lines", table_.bad_lines},
                                           {"why", "not \"ADDRESS NAME [ALIASES...]\""}});
  return {};
}

std::optional<std::vector<net::asio::ip::address>> HostsFileResolver::lookup(
    const std::string& host) {
  std::lock_guard lk(mu_);
  if (auto ok = refresh_locked(); !ok) {
    // Keep answering from the last good read: a file being replaced must not empty a cluster.
    if (ok.error().message != last_error_) {
      last_error_ = ok.error().message;
      log::warn("hosts_file_unreadable",
                {{"file", path_}, {"error", last_error_}, {"using", "the last answers read"}});
    }
  }
  auto it = table_.names.find(lower(host));
  if (it == table_.names.end()) return std::nullopt;
  return it->second;
}

Result<std::vector<net::asio::ip::address>> HostsFileResolver::resolve_all(
    const std::string& host) {
  if (auto list = lookup(host)) {
    std::sort(list->begin(), list->end());
    return std::move(*list);
  }
  return fallback_.resolve_all(host);
}

Result<net::asio::ip::address> HostsFileResolver::resolve(const std::string& host) {
  if (auto list = lookup(host)) return list->front();
  return fallback_.resolve(host);
}

}  // namespace sluice::upstream
