#include "sluice/net/stream.hpp"

#include <sys/socket.h>

namespace sluice::net {

bool idle_connection_alive(tcp::socket& sock) {
  char byte;
  ssize_t n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return false;  // orderly close
  if (n > 0) return false;   // unsolicited bytes: the connection is out of sync
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

}  // namespace sluice::net
