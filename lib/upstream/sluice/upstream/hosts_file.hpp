// A hosts(5) file laid over another resolver ([server] hosts_file): names the file lists resolve
// from it, others fall through. The file is looked at again (stat: inode, size, mtime) at every
// resolution, so editing it changes the answers of the next DNS refresh pass.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/error.hpp"
#include "sluice/upstream/resolver.hpp"

namespace sluice::upstream {

// hosts(5): "ADDRESS NAME [ALIASES...]" per line, '#' starts a comment. A name on several lines
// gets every address (in file order, without duplicates). Names are case-insensitive (keys are
// lower case). Lines whose first word is not an IP address are skipped and listed in bad_lines.
struct HostsTable {
  std::map<std::string, std::vector<net::asio::ip::address>> names;
  std::vector<std::size_t> bad_lines;  // 1-based
};
HostsTable parse_hosts(std::string_view text);

class HostsFileResolver final : public Resolver {
 public:
  // Reads `path` now; an error (ErrorKind::config) when it cannot be read.
  static Result<std::unique_ptr<HostsFileResolver>> open(std::string path, Resolver& fallback);

  // From the file when it lists `host` (sorted, as resolve_all promises), else the fallback.
  Result<std::vector<net::asio::ip::address>> resolve_all(const std::string& host) override;
  // From the file: its first address for `host` in file order (as glibc does).
  Result<net::asio::ip::address> resolve(const std::string& host) override;

  const std::string& path() const { return path_; }

 private:
  struct Stamp {
    unsigned long ino = 0;
    long long size = -1;
    long long mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  HostsFileResolver(std::string path, Resolver& fallback)
      : path_(std::move(path)), fallback_(fallback) {}
  // Re-reads the file when its stamp moved. A file that became unreadable keeps the last table
  // (and logs one warning per change of the error).
  Result<void> refresh_locked();
  std::optional<std::vector<net::asio::ip::address>> lookup(const std::string& host);

  std::string path_;
  Resolver& fallback_;
  std::mutex mu_;
  Stamp stamp_;
  HostsTable table_;
  std::string last_error_;
};

}  // namespace sluice::upstream
