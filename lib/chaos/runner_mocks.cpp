// Mocks and files of a chaos run (see runner_mocks.hpp).
#include "runner_mocks.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "sluice/chaos/mock_routes.hpp"

namespace sluice::chaos::detail {

namespace {

constexpr int kPortTries = 20;
std::atomic<int> g_files{0};

Error setup_error(std::string msg) {
  return make_error(ErrorKind::io, ErrorSource::internal, std::move(msg));
}

}  // namespace

Result<std::vector<std::unique_ptr<MockServer>>> start_mocks(
    const std::vector<ScenarioMock>& mocks) {
  std::vector<std::unique_ptr<MockServer>> out(mocks.size());
  auto start = [&](std::size_t i, std::uint16_t port) {
    const auto& m = mocks[i];
    out[i] = std::make_unique<MockServer>(m.name, routes_of(m), port, m.address);
  };
  for (std::size_t owner = 0; owner < mocks.size(); ++owner) {
    if (!mocks[owner].port_of.empty()) continue;
    std::vector<std::size_t> sharers;
    for (std::size_t j = 0; j < mocks.size(); ++j)
      if (mocks[j].port_of == mocks[owner].name) sharers.push_back(j);
    std::string last_error;
    bool started = false;
    for (int attempt = 0; attempt < (sharers.empty() ? 1 : kPortTries) && !started; ++attempt) {
      std::size_t at = owner;
      try {
        start(owner, 0);
        for (std::size_t j : sharers) {
          at = j;
          start(j, out[owner]->port());
        }
        started = true;
      } catch (const std::exception& e) {
        last_error = fmt::format("mock {} did not start: {}", mocks[at].name, e.what());
        out[owner].reset();
        for (std::size_t j : sharers) out[j].reset();
      }
    }
    if (!started) return setup_error(last_error);
  }
  for (std::size_t i = 0; i < mocks.size(); ++i)
    if (!out[i])
      return setup_error(
          fmt::format("mock {}: no mock {} to share a port with", mocks[i].name, mocks[i].port_of));
  return out;
}

std::string run_file_path(std::string_view suffix) {
  const char* dir = std::getenv("TMPDIR");
  return fmt::format("{}/sluice-chaos-{}-f{}.{}", dir && *dir ? dir : "/tmp", ::getpid(),
                     g_files.fetch_add(1), suffix);
}

Result<void> replace_file(const std::string& path, std::string_view text) {
  const std::string tmp = path + ".new";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) return setup_error(fmt::format("cannot write {}", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return setup_error(fmt::format("cannot replace {}: {}", path, std::strerror(errno)));
  return {};
}

}  // namespace sluice::chaos::detail
