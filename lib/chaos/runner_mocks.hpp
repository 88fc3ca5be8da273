// The files and mocks a chaos run sets up before its gateway (private to lib/chaos): mocks bound
// on their loopback addresses, some sharing a port, and the hosts file of [gateway] hosts.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/chaos/mock_server.hpp"
#include "sluice/chaos/scenario.hpp"
#include "sluice/core/error.hpp"

namespace sluice::chaos::detail {

// The scenario's mocks, started in declaration order (routes from their specs). A mock that
// shares a port (port = "mock.NAME") starts with the mock owning the port; when that port is
// taken on the sharer's address, the group starts again on another port (a few tries).
Result<std::vector<std::unique_ptr<MockServer>>> start_mocks(
    const std::vector<ScenarioMock>& mocks);

// A fresh path in $TMPDIR (or /tmp) for a run's file: sluice-chaos-PID-N.SUFFIX.
std::string run_file_path(std::string_view suffix);
// Writes `text` to `path` atomically (a temporary file, then rename), so a reader never sees
// half of it.
Result<void> replace_file(const std::string& path, std::string_view text);

}  // namespace sluice::chaos::detail
