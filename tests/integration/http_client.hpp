// A small blocking HTTP/1.1 client on raw loopback sockets, for integration tests. Every socket has
// send and receive timeouts, so no read or write blocks forever.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::test {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Response {
  int status = 0;
  std::string reason;
  int version = 11;
  Headers headers;
  std::string body;              // empty when a sink consumed the body
  std::uint64_t body_bytes = 0;  // bytes of body received
  bool chunked = false;
  // Header value by case-insensitive name; empty when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  nlohmann::json json() const;  // the body parsed as JSON (discarded value on failure)
};

using BodySink = std::function<void(std::string_view)>;

class Connection {
 public:
  // Connects to 127.0.0.1:port. Throws std::runtime_error when the connection fails.
  explicit Connection(std::uint16_t port,
                      std::chrono::milliseconds io_timeout = std::chrono::seconds(10));
  // Returns nullopt when the connection is refused (or fails otherwise); errno_out gets errno.
  static std::optional<Connection> try_connect(
      std::uint16_t port, int* errno_out = nullptr,
      std::chrono::milliseconds io_timeout = std::chrono::seconds(10));
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  void set_timeout(std::chrono::milliseconds io_timeout);
  bool send(std::string_view data);
  void shutdown_write();

  // Reads one response. head_request: the response has no body. sink: receives the body pieces
  // (then Response::body stays empty). Skips 1xx interim responses unless keep_interim.
  // Returns nullopt on EOF, timeout or a malformed response; error() says which.
  std::optional<Response> read_response(bool head_request = false, const BodySink& sink = nullptr,
                                        bool keep_interim = false);
  // Sends a raw request and reads its response.
  std::optional<Response> request(std::string_view raw, bool head_request = false,
                                  const BodySink& sink = nullptr);
  // Reads until needle appears in the data read since the last response (or buffered).
  // Returns everything read up to and including needle, or nullopt.
  std::optional<std::string> read_until(std::string_view needle);
  // Reads only the head of a response; the body is then read with read_body_until.
  std::optional<Response> read_head();
  // After read_head: reads body bytes (decoding chunks when head.chunked) until needle has appeared
  // in the body read so far by this call. Returns that body text, or nullopt on EOF/timeout/error
  // or when the body ended without needle.
  std::optional<std::string> read_body_until(const Response& head, std::string_view needle);
  // After read_head: reads the rest of the body. Returns it, or nullopt on failure.
  std::optional<std::string> read_rest(const Response& head);
  // True when the peer closes the connection (EOF or reset) within timeout; any data that arrives
  // first is appended to *data_out when given.
  bool wait_closed(std::chrono::milliseconds timeout, std::string* data_out = nullptr);

  const std::string& error() const { return error_; }
  int fd() const { return fd_; }

 private:
  Connection() = default;
  // Makes at least `want` bytes available in buf_ (beyond pos_). False on EOF/error.
  bool fill(std::size_t want);
  bool read_line(std::string& line);
  bool read_body(Response& r, bool head_request, const BodySink& sink);
  bool read_chunk_size(std::uint64_t& size);
  bool parse_head(Response& r);
  // Reads one piece of the body announced by head into body; sets body_done_ at its end.
  bool read_body_step(const Response& head, std::string& body);

  // Chunk decoding state between read_body_until calls.
  std::uint64_t chunk_left_ = 0;
  bool chunk_crlf_pending_ = false;
  std::uint64_t length_left_ = 0;
  bool body_done_ = false;

  int fd_ = -1;
  std::string buf_;
  std::size_t pos_ = 0;
  std::string error_;
  bool eof_ = false;
};

// Builds "METHOD TARGET HTTP/1.1\r\nHost: ...\r\n<headers>\r\n<body>" with a Content-Length when
// the body is non-empty (or method is POST/PUT).
std::string make_request(std::string_view method, std::string_view target,
                         const Headers& headers = {}, std::string_view body = {},
                         std::string_view host = "localhost");

// One request on a fresh connection ("Connection: close" is not added).
std::optional<Response> http_get(std::uint16_t port, std::string_view target,
                                 const Headers& headers = {});

// Uploads `total` generated bytes with chunked encoding or Content-Length and reads the response.
// io_timeout bounds each read and write, and the sending of the whole body.
std::optional<Response> upload(std::uint16_t port, std::string_view target, std::uint64_t total,
                               bool chunked, std::string* error = nullptr,
                               std::chrono::milliseconds io_timeout = std::chrono::seconds(30));

// Downloads target, counting body bytes without storing them.
std::optional<Response> download(std::uint16_t port, std::string_view target,
                                 std::string* error = nullptr,
                                 std::chrono::milliseconds io_timeout = std::chrono::seconds(30));

// Parses an "a.b.c.d:port" address's port.
std::uint16_t port_of(const std::string& address);

}  // namespace sluice::test
