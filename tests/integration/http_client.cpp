#include "http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace sluice::test {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void set_timeouts(int fd, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int connect_loopback(std::uint16_t port, int& err) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = errno;
    return -1;
  }
  // Bound the connect itself too.
  set_timeouts(fd, std::chrono::seconds(5));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    err = errno;
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

std::string Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

bool Response::has_header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return true;
  }
  return false;
}

nlohmann::json Response::json() const {
  return nlohmann::json::parse(body, nullptr, false);
}

Connection::Connection(std::uint16_t port, std::chrono::milliseconds io_timeout) {
  int err = 0;
  fd_ = connect_loopback(port, err);
  if (fd_ < 0) throw std::runtime_error(fmt::format("connect to port {}: {}", port, strerror(err)));
  set_timeouts(fd_, io_timeout);
}

std::optional<Connection> Connection::try_connect(std::uint16_t port, int* errno_out,
                                                  std::chrono::milliseconds io_timeout) {
  int err = 0;
  int fd = connect_loopback(port, err);
  if (errno_out) *errno_out = err;
  if (fd < 0) return std::nullopt;
  Connection c;
  c.fd_ = fd;
  set_timeouts(fd, io_timeout);
  return c;
}

Connection::Connection(Connection&& other) noexcept {
  *this = std::move(other);
}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    buf_ = std::move(other.buf_);
    pos_ = other.pos_;
    error_ = std::move(other.error_);
    eof_ = other.eof_;
    chunk_left_ = other.chunk_left_;
    chunk_crlf_pending_ = other.chunk_crlf_pending_;
    length_left_ = other.length_left_;
    body_done_ = other.body_done_;
  }
  return *this;
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

void Connection::set_timeout(std::chrono::milliseconds io_timeout) {
  set_timeouts(fd_, io_timeout);
}

bool Connection::send(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = fmt::format("send: {}", n < 0 ? strerror(errno) : "closed");
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void Connection::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
}

bool Connection::fill(std::size_t want) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (1u << 20)) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  char tmp[65536];
  while (buf_.size() - pos_ < want) {
    if (eof_) {
      error_ = "connection closed by peer";
      return false;
    }
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      eof_ = true;
      error_ = "connection closed by peer";
      return false;
    }
    if (n < 0) {
      error_ = (errno == EAGAIN || errno == EWOULDBLOCK) ? "timed out" : strerror(errno);
      return false;
    }
    buf_.append(tmp, static_cast<std::size_t>(n));
  }
  return true;
}

bool Connection::read_line(std::string& line) {
  for (;;) {
    auto nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      line.assign(buf_, pos_, nl - pos_);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      pos_ = nl + 1;
      return true;
    }
    if (buf_.size() - pos_ > (1u << 20)) {
      error_ = "line too long";
      return false;
    }
    if (!fill(buf_.size() - pos_ + 1)) return false;
  }
}

bool Connection::parse_head(Response& r) {
  std::string line;
  if (!read_line(line)) return false;
  // HTTP/1.1 200 OK
  if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12) {
    error_ = "malformed status line: " + line;
    return false;
  }
  r.version = line[7] == '0' ? 10 : 11;
  r.status = std::atoi(line.c_str() + 9);
  r.reason = line.size() > 13 ? line.substr(13) : std::string();
  r.headers.clear();
  for (;;) {
    if (!read_line(line)) return false;
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string::npos) {
      error_ = "malformed header line: " + line;
      return false;
    }
    r.headers.emplace_back(std::string(trim(std::string_view(line).substr(0, colon))),
                           std::string(trim(std::string_view(line).substr(colon + 1))));
  }
  r.chunked = lower(r.header("transfer-encoding")).find("chunked") != std::string::npos;
  return true;
}

std::optional<Response> Connection::read_head() {
  Response r;
  for (;;) {
    if (!parse_head(r)) return std::nullopt;
    if (r.status >= 100 && r.status < 200 && r.status != 101) continue;
    break;
  }
  chunk_left_ = 0;
  chunk_crlf_pending_ = false;
  body_done_ = false;
  length_left_ = 0;
  if (!r.chunked && r.has_header("content-length")) {
    length_left_ = std::strtoull(r.header("content-length").c_str(), nullptr, 10);
    if (length_left_ == 0) body_done_ = true;
  }
  if (r.status == 204 || r.status == 304) body_done_ = true;
  return r;
}

bool Connection::read_chunk_size(std::uint64_t& size) {
  std::string line;
  if (!read_line(line)) return false;
  auto semi = line.find(';');
  std::string hex(trim(std::string_view(line).substr(0, semi)));
  if (hex.empty() || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    error_ = "malformed chunk size: " + line;
    return false;
  }
  size = std::strtoull(hex.c_str(), nullptr, 16);
  return true;
}

bool Connection::read_body(Response& r, bool head_request, const BodySink& sink) {
  auto deliver = [&](std::uint64_t n) -> bool {
    while (n > 0) {
      if (pos_ == buf_.size() && !fill(1)) return false;
      std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, buf_.size() - pos_));
      std::string_view piece(buf_.data() + pos_, take);
      if (sink) {
        sink(piece);
      } else {
        r.body.append(piece);
      }
      r.body_bytes += take;
      pos_ += take;
      n -= take;
    }
    return true;
  };
  if (head_request || r.status == 204 || r.status == 304) return true;
  if (r.chunked) {
    for (;;) {
      std::uint64_t size = 0;
      if (!read_chunk_size(size)) return false;
      if (size == 0) {
        std::string line;
        do {
          if (!read_line(line)) return false;
        } while (!line.empty());
        return true;
      }
      if (!deliver(size)) return false;
      std::string crlf;
      if (!read_line(crlf)) return false;
    }
  }
  if (r.has_header("content-length")) {
    return deliver(std::strtoull(r.header("content-length").c_str(), nullptr, 10));
  }
  // Delimited by close.
  for (;;) {
    if (pos_ == buf_.size() && !fill(1)) return eof_;
    if (!deliver(buf_.size() - pos_)) return false;
  }
}

std::optional<Response> Connection::read_response(bool head_request, const BodySink& sink,
                                                  bool keep_interim) {
  Response r;
  for (;;) {
    if (!parse_head(r)) return std::nullopt;
    if (!keep_interim && r.status >= 100 && r.status < 200 && r.status != 101) continue;
    break;
  }
  if (r.status >= 100 && r.status < 200) return r;
  if (!read_body(r, head_request, sink)) return std::nullopt;
  return r;
}

std::optional<Response> Connection::request(std::string_view raw, bool head_request,
                                            const BodySink& sink) {
  if (!send(raw)) return std::nullopt;
  return read_response(head_request, sink);
}

std::optional<std::string> Connection::read_until(std::string_view needle) {
  for (;;) {
    auto found = buf_.find(needle, pos_);
    if (found != std::string::npos) {
      std::string out = buf_.substr(pos_, found + needle.size() - pos_);
      pos_ = found + needle.size();
      return out;
    }
    if (!fill(buf_.size() - pos_ + 1)) return std::nullopt;
  }
}

bool Connection::read_body_step(const Response& head, std::string& body) {
  if (head.chunked) {
    if (chunk_left_ == 0) {
      if (chunk_crlf_pending_) {
        // The CRLF after the previous chunk's data, read only now: a proxy may send it with
        // the next chunk, and waiting for it would delay the data already received.
        std::string crlf;
        if (!read_line(crlf)) return false;
        chunk_crlf_pending_ = false;
      }
      std::uint64_t size = 0;
      if (!read_chunk_size(size)) return false;
      if (size == 0) {
        std::string line;
        do {
          if (!read_line(line)) return false;
        } while (!line.empty());
        body_done_ = true;
        return true;
      }
      chunk_left_ = size;
    }
    if (pos_ == buf_.size() && !fill(1)) return false;
    std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, buf_.size() - pos_));
    body.append(buf_, pos_, take);
    pos_ += take;
    chunk_left_ -= take;
    if (chunk_left_ == 0) chunk_crlf_pending_ = true;
    return true;
  }
  bool sized = head.has_header("content-length");
  if (pos_ == buf_.size() && !fill(1)) {
    if (eof_ && !sized) {
      body_done_ = true;  // delimited by close
      return true;
    }
    return false;
  }
  std::size_t take = buf_.size() - pos_;
  if (sized) {
    take = static_cast<std::size_t>(std::min<std::uint64_t>(take, length_left_));
    length_left_ -= take;
    if (length_left_ == 0) body_done_ = true;
  }
  body.append(buf_, pos_, take);
  pos_ += take;
  return true;
}

std::optional<std::string> Connection::read_body_until(const Response& head,
                                                       std::string_view needle) {
  std::string body;
  while (body.find(needle) == std::string::npos) {
    if (body_done_) {
      error_ = "body ended before the expected text";
      return std::nullopt;
    }
    if (!read_body_step(head, body)) return std::nullopt;
  }
  return body;
}

std::optional<std::string> Connection::read_rest(const Response& head) {
  std::string body;
  while (!body_done_) {
    if (!read_body_step(head, body)) return std::nullopt;
  }
  return body;
}

bool Connection::wait_closed(std::chrono::milliseconds timeout, std::string* data_out) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (pos_ < buf_.size() && data_out) data_out->append(buf_, pos_, std::string::npos);
  pos_ = buf_.size();
  if (eof_) return true;
  char tmp[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(left.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((left.count() % 1000) * 1000 + 1);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n == 0) {
      eof_ = true;
      return true;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      return true;  // reset
    }
    if (data_out) data_out->append(tmp, static_cast<std::size_t>(n));
  }
}

std::string make_request(std::string_view method, std::string_view target, const Headers& headers,
                         std::string_view body, std::string_view host) {
  std::string out = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\n", method, target, host);
  for (const auto& [k, v] : headers) out += fmt::format("{}: {}\r\n", k, v);
  if (!body.empty() || method == "POST" || method == "PUT") {
    out += fmt::format("Content-Length: {}\r\n", body.size());
  }
  out += "\r\n";
  out.append(body);
  return out;
}

std::optional<Response> http_get(std::uint16_t port, std::string_view target,
                                 const Headers& headers) {
  Connection c(port);
  return c.request(make_request("GET", target, headers));
}

std::optional<Response> upload(std::uint16_t port, std::string_view target, std::uint64_t total,
                               bool chunked, std::string* error,
                               std::chrono::milliseconds io_timeout) {
  Connection c(port, io_timeout);
  std::string head = fmt::format("POST {} HTTP/1.1\r\nHost: localhost\r\n", target);
  head += chunked ? std::string("Transfer-Encoding: chunked\r\n")
                  : fmt::format("Content-Length: {}\r\n", total);
  head += "Content-Type: application/octet-stream\r\n\r\n";
  bool ok = c.send(head);
  std::string piece(64 * 1024, '\0');
  for (std::size_t i = 0; i < piece.size(); ++i) piece[i] = static_cast<char>('a' + i % 26);
  std::uint64_t sent = 0;
  // io_timeout also bounds the whole upload, so a proxy that reads slowly cannot stall a test.
  auto deadline = std::chrono::steady_clock::now() + io_timeout;
  while (ok && sent < total) {
    if (std::chrono::steady_clock::now() > deadline) {
      if (error) *error = fmt::format("upload deadline passed after {} of {} bytes", sent, total);
      return std::nullopt;
    }
    std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), total - sent));
    if (chunked) {
      ok = c.send(fmt::format("{:x}\r\n", len)) && c.send(std::string_view(piece.data(), len)) &&
           c.send("\r\n");
    } else {
      ok = c.send(std::string_view(piece.data(), len));
    }
    sent += len;
  }
  if (ok && chunked) ok = c.send("0\r\n\r\n");
  // Read a response even after a failed send: the server may have answered early.
  auto r = c.read_response();
  if (!r && error) *error = fmt::format("after {} of {} bytes sent: {}", sent, total, c.error());
  return r;
}

std::optional<Response> download(std::uint16_t port, std::string_view target, std::string* error,
                                 std::chrono::milliseconds io_timeout) {
  Connection c(port, io_timeout);
  if (!c.send(make_request("GET", target))) {
    if (error) *error = c.error();
    return std::nullopt;
  }
  auto r = c.read_response(false, [](std::string_view) {});
  if (!r && error) *error = c.error();
  return r;
}

std::uint16_t port_of(const std::string& address) {
  auto colon = address.rfind(':');
  return colon == std::string::npos
             ? 0
             : static_cast<std::uint16_t>(std::atoi(address.c_str() + colon + 1));
}

}  // namespace sluice::test
