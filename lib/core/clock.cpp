#include "sluice/core/clock.hpp"

namespace sluice {

SystemClock& SystemClock::instance() {
  static SystemClock c;
  return c;
}

}  // namespace sluice
