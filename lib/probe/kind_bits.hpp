// Internal to lib/probe: sets of target kinds as bit masks, for the tables of which names, keys
// and flags apply to which kinds.
#pragma once

#include "sluice/probe/target.hpp"

namespace sluice::probe::detail {

inline constexpr unsigned kHttp = 1, kTcp = 2, kGrpc = 4, kDns = 8;
inline constexpr unsigned kWeb = kHttp | kGrpc, kAll = kHttp | kTcp | kGrpc | kDns;

constexpr unsigned kind_bit(Kind k) {
  switch (k) {
    case Kind::http:
      return kHttp;
    case Kind::tcp:
      return kTcp;
    case Kind::grpc:
      return kGrpc;
    case Kind::dns:
      return kDns;
  }
  return kHttp;
}

}  // namespace sluice::probe::detail
