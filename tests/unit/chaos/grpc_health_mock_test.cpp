// Self-test of the gRPC health mock, with a small nghttp2 client over loopback sockets.
#include "sluice/chaos/grpc_health_mock.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <nghttp2/nghttp2.h>

using sluice::chaos::GrpcHealthMock;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

std::string find_header(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

struct Reply {
  bool closed = false;  // the stream ended (normally or not)
  std::uint32_t error_code = 0;
  Headers headers;   // the response HEADERS
  Headers trailers;  // a second HEADERS block, if any
  std::string data;  // DATA payload
  std::string header(std::string_view n) const { return find_header(headers, n); }
  std::string trailer(std::string_view n) const { return find_header(trailers, n); }
};

// A loopback TCP connection with send and receive timeouts, so no test can hang.
int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const void* data, std::size_t len) {
  const auto* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::send(fd, p, len, MSG_NOSIGNAL);
    if (n <= 0) return false;
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

// True when the server closes the connection (EOF or reset) before the receive timeout.
bool closed_by_peer(int fd) {
  std::array<char, 4096> buf;
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

nghttp2_nv nv(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

// A minimal h2c (prior knowledge) client: one connection, requests made one at a time.
class H2Client {
 public:
  explicit H2Client(std::uint16_t port) : fd_(connect_loopback(port)) {
    if (fd_ < 0) throw std::runtime_error("connect failed");
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &on_close);
    nghttp2_session_client_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~H2Client() {
    nghttp2_session_del(session_);
    ::close(fd_);
  }
  H2Client(const H2Client&) = delete;
  H2Client& operator=(const H2Client&) = delete;

  // POSTs body to path and waits (bounded by the socket timeouts) for the stream to close.
  Reply call(std::string_view path, std::string body,
             std::string_view content_type = "application/grpc") {
    body_ = std::move(body);
    body_sent_ = 0;
    const nghttp2_nv nva[] = {nv(":method", "POST"),
                              nv(":scheme", "http"),
                              nv(":authority", "127.0.0.1"),
                              nv(":path", path),
                              nv("content-type", content_type),
                              nv("te", "trailers")};
    nghttp2_data_provider provider{};
    provider.source.ptr = this;
    provider.read_callback = &read_body;
    const std::int32_t id = nghttp2_submit_request(session_, nullptr, nva, 6, &provider, nullptr);
    if (id < 0) throw std::runtime_error("submit_request failed");
    replies_[id] = Reply{};
    std::array<std::uint8_t, 16 * 1024> buf;
    while (!replies_[id].closed) {
      if (!flush()) break;
      ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      if (nghttp2_session_mem_recv(session_, buf.data(), static_cast<std::size_t>(n)) < 0) break;
    }
    Reply out = std::move(replies_[id]);
    replies_.erase(id);
    return out;
  }

 private:
  bool flush() {
    for (;;) {
      const std::uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) return false;
      if (n == 0) return true;
      if (!send_all(fd_, data, static_cast<std::size_t>(n))) return false;
    }
  }

  static H2Client& self(void* p) { return *static_cast<H2Client*>(p); }

  static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source*, void* user_data) {
    H2Client& c = self(user_data);
    const std::size_t n = std::min(length, c.body_.size() - c.body_sent_);
    std::memcpy(buf, c.body_.data() + c.body_sent_, n);
    c.body_sent_ += n;
    if (c.body_sent_ == c.body_.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t, void* user_data) {
    auto it = self(user_data).replies_.find(frame->hd.stream_id);
    if (it == self(user_data).replies_.end()) return 0;
    std::pair<std::string, std::string> h(
        std::string(reinterpret_cast<const char*>(name), namelen),
        std::string(reinterpret_cast<const char*>(value), valuelen));
    if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
      it->second.trailers.push_back(std::move(h));
    } else {
      it->second.headers.push_back(std::move(h));
    }
    return 0;
  }

  static int on_data(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                     std::size_t len, void* user_data) {
    auto it = self(user_data).replies_.find(id);
    if (it != self(user_data).replies_.end())
      it->second.data.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int on_close(nghttp2_session*, std::int32_t id, std::uint32_t error_code,
                      void* user_data) {
    auto it = self(user_data).replies_.find(id);
    if (it != self(user_data).replies_.end()) {
      it->second.closed = true;
      it->second.error_code = error_code;
    }
    return 0;
  }

  int fd_;
  nghttp2_session* session_ = nullptr;
  std::string body_;
  std::size_t body_sent_ = 0;
  std::map<std::int32_t, Reply> replies_;
};

std::string frame(std::string_view msg) {
  std::string out(5, '\0');
  const auto n = static_cast<std::uint32_t>(msg.size());
  out[1] = static_cast<char>(n >> 24);
  out[2] = static_cast<char>(n >> 16);
  out[3] = static_cast<char>(n >> 8);
  out[4] = static_cast<char>(n);
  return out + std::string(msg);
}

// HealthCheckRequest{service}: field 1, length-delimited (services here are < 128 bytes).
std::string check_request(std::string_view service) {
  std::string msg;
  if (!service.empty()) {
    msg.push_back(0x0a);
    msg.push_back(static_cast<char>(service.size()));
    msg += service;
  }
  return frame(msg);
}

// The status in a HealthCheckResponse frame; -1 when the frame is not one.
int response_status(std::string_view data) {
  if (data.size() < 5 || data[0] != '\0') return -1;
  const std::size_t len =
      (static_cast<unsigned char>(data[3]) << 8) | static_cast<unsigned char>(data[4]);
  if (data[1] != '\0' || data[2] != '\0' || len != data.size() - 5) return -1;
  std::string_view msg = data.substr(5);
  if (msg.empty()) return 0;  // proto3 leaves out UNKNOWN
  if (msg.size() != 2 || msg[0] != 0x08) return -1;
  return static_cast<unsigned char>(msg[1]);
}

constexpr std::string_view kCheck = "/grpc.health.v1.Health/Check";

}  // namespace

TEST_CASE("grpc health mock: Check answers the configured status", "[chaos][grpc]") {
  GrpcHealthMock mock;
  REQUIRE(mock.port() != 0);
  CHECK(mock.address() == "127.0.0.1:" + std::to_string(mock.port()));
  H2Client client(mock.port());

  Reply r = client.call(kCheck, check_request(""));
  REQUIRE(r.closed);
  CHECK(r.error_code == 0);
  CHECK(r.header(":status") == "200");
  CHECK(r.header("content-type") == "application/grpc");
  CHECK(r.header("grpc-status").empty());
  CHECK(response_status(r.data) == 1);  // SERVING by default
  CHECK(r.trailer("grpc-status") == "0");
  CHECK(mock.requests() == 1);

  // More requests on the same connection see status changes at once.
  mock.set_status("", 2);
  r = client.call(kCheck, check_request(""));
  CHECK(response_status(r.data) == 2);
  CHECK(r.trailer("grpc-status") == "0");

  mock.set_status("shop.Cart", 1);
  r = client.call(kCheck, check_request("shop.Cart"));
  CHECK(response_status(r.data) == 1);

  mock.set_status("shop.Cart", 3);
  r = client.call(kCheck, check_request("shop.Cart"));
  CHECK(response_status(r.data) == 3);

  mock.set_status("shop.Cart", 0);
  r = client.call(kCheck, check_request("shop.Cart"));
  CHECK(r.data == frame(""));  // UNKNOWN is the empty message
  CHECK(response_status(r.data) == 0);
  CHECK(r.trailer("grpc-status") == "0");
  CHECK(mock.requests() == 5);
}

TEST_CASE("grpc health mock: unknown services and methods", "[chaos][grpc]") {
  GrpcHealthMock mock;
  H2Client client(mock.port());

  SECTION("a service never set is NOT_FOUND, trailers-only") {
    Reply r = client.call(kCheck, check_request("nope"));
    REQUIRE(r.closed);
    CHECK(r.header(":status") == "200");
    CHECK(r.header("content-type") == "application/grpc");
    CHECK(r.header("grpc-status") == "5");
    CHECK(r.header("grpc-message") == "unknown service");
    CHECK(r.data.empty());
    CHECK(r.trailers.empty());
  }
  SECTION("another method is UNIMPLEMENTED") {
    Reply r = client.call("/grpc.health.v1.Health/Watch", check_request(""));
    CHECK(r.header("grpc-status") == "12");
    r = client.call("/other.Service/Check", check_request(""));
    CHECK(r.header("grpc-status") == "12");
    CHECK(r.data.empty());
  }
  SECTION("a malformed request message is INTERNAL") {
    CHECK(client.call(kCheck, "").header("grpc-status") == "13");
    CHECK(client.call(kCheck, std::string("\0\0\0\0\x09", 5)).header("grpc-status") == "13");
    CHECK(client.call(kCheck, frame(std::string("\x0a\x05", 2) + "ab")).header("grpc-status") ==
          "13");
  }
  SECTION("unknown protobuf fields are skipped") {
    const std::string msg("\x10\x07\x0a\x00", 4);  // field 2 varint, then service ""
    Reply r = client.call(kCheck, frame(msg));
    CHECK(r.trailer("grpc-status") == "0");
    CHECK(response_status(r.data) == 1);
  }
  SECTION("a non-gRPC content type gets HTTP 415") {
    Reply r = client.call(kCheck, check_request(""), "application/json");
    CHECK(r.header(":status") == "415");
  }
}

TEST_CASE("grpc health mock: bad input closes the connection only", "[chaos][grpc]") {
  GrpcHealthMock mock;

  int fd = connect_loopback(mock.port());
  REQUIRE(fd >= 0);
  const std::string_view http11 = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  REQUIRE(send_all(fd, http11.data(), http11.size()));
  CHECK(closed_by_peer(fd));
  ::close(fd);

  fd = connect_loopback(mock.port());
  REQUIRE(fd >= 0);
  std::string garbage(4096, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 131 + 7);
  REQUIRE(send_all(fd, garbage.data(), garbage.size()));
  CHECK(closed_by_peer(fd));
  ::close(fd);

  // A valid preface followed by garbage frames.
  fd = connect_loopback(mock.port());
  REQUIRE(fd >= 0);
  std::string preface(NGHTTP2_CLIENT_MAGIC, NGHTTP2_CLIENT_MAGIC_LEN);
  preface += std::string("\xff\xff\xff\x09\x00\x00\x00\x00\x01", 9) + garbage;
  send_all(fd, preface.data(), preface.size());
  CHECK(closed_by_peer(fd));
  ::close(fd);

  CHECK(mock.requests() == 0);
  H2Client client(mock.port());
  CHECK(client.call(kCheck, check_request("")).trailer("grpc-status") == "0");
  CHECK(mock.requests() == 1);
}

TEST_CASE("grpc health mock: concurrent clients", "[chaos][grpc]") {
  GrpcHealthMock mock;
  mock.set_status("a", 1);
  std::vector<std::thread> threads;
  std::array<int, 4> ok{};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      try {
        H2Client client(mock.port());
        for (int i = 0; i < 10; ++i) {
          Reply r = client.call(kCheck, check_request("a"));
          if (response_status(r.data) == 1 && r.trailer("grpc-status") == "0") ++ok[t];
        }
      } catch (...) {
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int n : ok) CHECK(n == 10);
  CHECK(mock.requests() == 40);
}

TEST_CASE("grpc health mock: stop does not wait for idle clients", "[chaos][grpc]") {
  auto mock = std::make_unique<GrpcHealthMock>();
  const std::uint16_t port = mock->port();
  H2Client client(port);
  CHECK(client.call(kCheck, check_request("")).trailer("grpc-status") == "0");
  int silent = connect_loopback(port);  // connected, never speaks
  REQUIRE(silent >= 0);

  const auto start = std::chrono::steady_clock::now();
  mock->stop();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  CHECK(closed_by_peer(silent));
  ::close(silent);
  mock->stop();  // idempotent
  mock.reset();
  const int late = connect_loopback(port);
  CHECK(late < 0);
  if (late >= 0) ::close(late);
}
