// GrpcHealthMock: a ThreadPerConnectionServer whose connection threads each drive an nghttp2 server
// session over the blocking socket through mem_recv/mem_send, so nghttp2 never touches the socket
// and a peer that is not HTTP/2 only costs a closed connection. The server owns accepting,
// closing and stop() (see thread_server.hpp).
#include "sluice/chaos/grpc_health_mock.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nghttp2/nghttp2.h>

#include "sluice/chaos/thread_server.hpp"

namespace sluice::chaos {

namespace {

constexpr std::string_view kCheckPath = "/grpc.health.v1.Health/Check";
constexpr std::size_t kMaxRequestBody = 1024 * 1024;
// A client silent this long is dropped; stop() does not wait for it (it shuts the socket down).
constexpr int kIdleTimeoutSeconds = 60;
// A client that stops reading cannot hold a connection thread longer than this per write.
constexpr int kSendTimeoutSeconds = 10;

// gRPC status codes this server answers with.
constexpr int kGrpcOk = 0;
constexpr int kGrpcNotFound = 5;
constexpr int kGrpcResourceExhausted = 8;
constexpr int kGrpcUnimplemented = 12;
constexpr int kGrpcInternal = 13;

bool read_varint(std::string_view& in, std::uint64_t& out) {
  out = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    const auto b = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    out |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

void write_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// HealthCheckRequest is `string service = 1`. Unknown fields are skipped, as protobuf requires;
// false when the message is malformed.
bool parse_health_request(std::string_view msg, std::string& service) {
  service.clear();
  while (!msg.empty()) {
    std::uint64_t key = 0;
    if (!read_varint(msg, key)) return false;
    const std::uint64_t field = key >> 3;
    const auto wire = static_cast<unsigned>(key & 7);
    if (field == 0 || (field == 1 && wire != 2)) return false;
    std::uint64_t v = 0;
    switch (wire) {
      case 0:
        if (!read_varint(msg, v)) return false;
        break;
      case 1:
        if (msg.size() < 8) return false;
        msg.remove_prefix(8);
        break;
      case 2:
        if (!read_varint(msg, v) || v > msg.size()) return false;
        if (field == 1) service.assign(msg.substr(0, v));  // the last occurrence wins
        msg.remove_prefix(v);
        break;
      case 5:
        if (msg.size() < 4) return false;
        msg.remove_prefix(4);
        break;
      default:
        return false;
    }
  }
  return true;
}

// A length-prefixed gRPC message, uncompressed.
std::string grpc_frame(std::string_view msg) {
  const auto n = static_cast<std::uint32_t>(msg.size());
  std::string out;
  out.reserve(5 + msg.size());
  out.push_back('\0');
  out.push_back(static_cast<char>((n >> 24) & 0xff));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out.append(msg);
  return out;
}

// HealthCheckResponse is `ServingStatus status = 1`; proto3 leaves out the default (UNKNOWN).
std::string health_response(int status) {
  std::string msg;
  if (status != 0) {
    msg.push_back(0x08);
    write_varint(msg, static_cast<std::uint64_t>(static_cast<std::int64_t>(status)));
  }
  return grpc_frame(msg);
}

// grpc-message is percent-encoded: bytes outside printable ASCII, and '%' itself.
std::string percent_encode(std::string_view s) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7e || c == '%') {
      out += fmt::format("%{:02X}", c);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  // nghttp2 copies names and values (no NO_COPY flags), so pointing at temporaries is fine.
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

bool send_all(int fd, const std::uint8_t* data, std::size_t len) {
  while (len > 0) {
    const ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

void set_socket_timeouts(int fd) {
  timeval rcv{kIdleTimeoutSeconds, 0};
  timeval snd{kSendTimeoutSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// What a connection needs of the server (GrpcHealthMock::Impl itself is private).
struct HealthState {
  mutable std::mutex mu;
  std::map<std::string, int> statuses{{"", 1}};  // guarded by mu
  std::atomic<std::uint64_t> requests{0};

  std::optional<int> status_of(const std::string& service) const {
    std::lock_guard lk(mu);
    auto it = statuses.find(service);
    if (it == statuses.end()) return std::nullopt;
    return it->second;
  }
};

// One HTTP/2 connection: the nghttp2 server session and the requests in flight on it.
class H2Connection {
 public:
  H2Connection(HealthState& server, int fd) : server_(server), fd_(fd) {}
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;
  ~H2Connection() {
    if (session_ != nullptr) nghttp2_session_del(session_);
  }

  void run() {
    nghttp2_session_callbacks* cbs = nullptr;
    if (nghttp2_session_callbacks_new(&cbs) != 0) return;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &on_stream_close);
    const int rv = nghttp2_session_server_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    if (rv != 0) return;

    const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 1) != 0) return;

    std::array<std::uint8_t, 16 * 1024> buf;
    while (flush()) {
      if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0)
        break;
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // closed by the peer, idle timeout, or stop()
      // Garbage, an HTTP/1.1 request or a protocol error: nghttp2 refuses it and we just close.
      if (nghttp2_session_mem_recv(session_, buf.data(), static_cast<std::size_t>(n)) < 0) break;
    }
  }

 private:
  struct Stream {
    std::string method;
    std::string path;
    std::string content_type;
    std::string body;
    bool oversized = false;
    std::string response;  // the DATA payload once answered
    std::size_t sent = 0;
  };

  // Sends everything nghttp2 has queued, in one write so small frames do not meet Nagle.
  bool flush() {
    out_.clear();
    for (;;) {
      const std::uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) return false;
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    return send_all(fd_, reinterpret_cast<const std::uint8_t*>(out_.data()), out_.size());
  }

  Stream* find(std::int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : &it->second;
  }

  static H2Connection& self(void* user_data) { return *static_cast<H2Connection*>(user_data); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    try {
      self(user_data).streams_[frame->hd.stream_id] = Stream{};
    } catch (...) {
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    Stream* s = self(user_data).find(frame->hd.stream_id);
    if (s == nullptr) return 0;
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    try {
      if (n == ":method") {
        s->method = v;
      } else if (n == ":path") {
        s->path = v;
      } else if (n == "content-type") {
        s->content_type = v;
      }
    } catch (...) {
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t stream_id,
                           const std::uint8_t* data, std::size_t len, void* user_data) {
    Stream* s = self(user_data).find(stream_id);
    if (s == nullptr || s->oversized) return 0;
    if (s->body.size() + len > kMaxRequestBody) {
      s->oversized = true;
      s->body.clear();
      return 0;
    }
    try {
      s->body.append(reinterpret_cast<const char*>(data), len);
    } catch (...) {
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
    H2Connection& c = self(user_data);
    Stream* s = c.find(frame->hd.stream_id);
    if (s == nullptr) return 0;
    try {
      return c.respond(frame->hd.stream_id, *s);
    } catch (...) {
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t,
                             void* user_data) {
    self(user_data).streams_.erase(stream_id);
    return 0;
  }

  static ssize_t read_response(nghttp2_session* session, std::int32_t stream_id, std::uint8_t* buf,
                               std::size_t length, std::uint32_t* data_flags,
                               nghttp2_data_source* source, void*) {
    auto* s = static_cast<Stream*>(source->ptr);
    const std::size_t n = std::min(length, s->response.size() - s->sent);
    std::memcpy(buf, s->response.data() + s->sent, n);
    s->sent += n;
    if (s->sent == s->response.size()) {
      // The stream ends with the trailers, not with this DATA frame.
      *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
      const nghttp2_nv trailers[] = {make_nv("grpc-status", "0")};
      if (nghttp2_submit_trailer(session, stream_id, trailers, 1) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return static_cast<ssize_t>(n);
  }

  // A response with no DATA: HEADERS carrying the status and ending the stream.
  int trailers_only(std::int32_t id, int grpc_status, std::string_view message,
                    std::string_view http_status = "200") {
    const std::string code = std::to_string(grpc_status);
    const std::string encoded = percent_encode(message);
    std::vector<nghttp2_nv> nva{make_nv(":status", http_status),
                                make_nv("content-type", "application/grpc"),
                                make_nv("grpc-status", code)};
    if (!message.empty()) nva.push_back(make_nv("grpc-message", encoded));
    return nghttp2_submit_response(session_, id, nva.data(), nva.size(), nullptr) == 0
               ? 0
               : NGHTTP2_ERR_CALLBACK_FAILURE;
  }

  int respond(std::int32_t id, Stream& s) {
    server_.requests.fetch_add(1);
    if (s.method != "POST") {
      return trailers_only(id, kGrpcUnimplemented, "gRPC requires POST", "405");
    }
    if (s.content_type.rfind("application/grpc", 0) != 0) {
      // The gRPC spec: a non-gRPC content type gets HTTP 415.
      const nghttp2_nv nva[] = {make_nv(":status", "415"), make_nv("content-type", "text/plain")};
      return nghttp2_submit_response(session_, id, nva, 2, nullptr) == 0
                 ? 0
                 : NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    if (s.path != kCheckPath) {
      return trailers_only(id, kGrpcUnimplemented, fmt::format("unknown method {}", s.path));
    }
    if (s.oversized) return trailers_only(id, kGrpcResourceExhausted, "request too large");
    const std::string_view body = s.body;
    if (body.size() < 5) return trailers_only(id, kGrpcInternal, "missing request message");
    if (body[0] != '\0') {
      return trailers_only(id, kGrpcUnimplemented, "compressed requests are not supported");
    }
    const std::uint32_t len =
        (static_cast<std::uint32_t>(static_cast<unsigned char>(body[1])) << 24) |
        (static_cast<std::uint32_t>(static_cast<unsigned char>(body[2])) << 16) |
        (static_cast<std::uint32_t>(static_cast<unsigned char>(body[3])) << 8) |
        static_cast<std::uint32_t>(static_cast<unsigned char>(body[4]));
    if (len != body.size() - 5) {
      return trailers_only(id, kGrpcInternal, "request frame length does not match its body");
    }
    std::string service;
    if (!parse_health_request(body.substr(5), service)) {
      return trailers_only(id, kGrpcInternal, "malformed HealthCheckRequest");
    }
    const std::optional<int> status = server_.status_of(service);
    if (!status) return trailers_only(id, kGrpcNotFound, "unknown service");

    s.response = health_response(*status);
    s.sent = 0;
    const nghttp2_nv nva[] = {make_nv(":status", "200"),
                              make_nv("content-type", "application/grpc")};
    nghttp2_data_provider provider{};
    provider.source.ptr = &s;  // map nodes are stable; the entry lives until the stream closes
    provider.read_callback = &read_response;
    return nghttp2_submit_response(session_, id, nva, 2, &provider) == 0
               ? 0
               : NGHTTP2_ERR_CALLBACK_FAILURE;
  }

  HealthState& server_;
  int fd_;
  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, Stream> streams_;
  std::string out_;
};

}  // namespace

struct GrpcHealthMock::Impl : HealthState {
  explicit Impl(std::uint16_t port)
      : server(port,
               [this](int fd) {
                 set_socket_timeouts(fd);
                 H2Connection h2(*this, fd);
                 h2.run();
               },
               {"grpc health mock: socket",
                fmt::format("grpc health mock: bind 127.0.0.1:{}", port)}) {}

  // Destroyed before the HealthState base, so the connection threads are joined before it goes.
  ThreadPerConnectionServer server;
};

GrpcHealthMock::GrpcHealthMock(std::uint16_t port) : impl_(std::make_unique<Impl>(port)) {}

GrpcHealthMock::~GrpcHealthMock() {
  stop();
}

std::uint16_t GrpcHealthMock::port() const {
  return impl_->server.port();
}

std::string GrpcHealthMock::address() const {
  return fmt::format("127.0.0.1:{}", impl_->server.port());
}

void GrpcHealthMock::set_status(std::string service, int status) {
  std::lock_guard lk(impl_->mu);
  impl_->statuses[std::move(service)] = status;
}

std::uint64_t GrpcHealthMock::requests() const {
  return impl_->requests.load();
}

void GrpcHealthMock::stop() {
  impl_->server.stop();
}

}  // namespace sluice::chaos
