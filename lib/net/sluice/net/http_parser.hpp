// An HTTP/1.1 message parser for the proxy path: Beast's basic_parser underneath, no allocation
// per field. The head is exposed as views into the caller's buffer; the body is consumed in place
// so the proxy can forward raw bytes (or decoded pieces when it must re-frame).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace sluice::net {

struct HeaderField {
  std::string_view name;
  std::string_view value;
};

struct MessageHead {
  std::string_view method;  // requests
  std::string_view target;  // requests
  int status = 0;           // responses
  std::string_view reason;  // responses
  int version = 11;         // 10 or 11
  std::vector<HeaderField> fields;
  bool chunked = false;
  std::optional<std::uint64_t> content_length;
  bool keep_alive = true;
  bool expect_continue = false;

  std::string_view get(std::string_view name) const;  // first value, case-insensitive
};

enum class ParseError {
  none,
  need_more,
  header_too_large,  // 431
  body_too_large,    // 413
  bad_request,       // 400: malformed, conflicting framing, unsupported transfer coding
  partial_message,   // the peer closed mid-message
};

class HttpParser {
 public:
  enum class Kind { request, response };
  explicit HttpParser(Kind kind);
  ~HttpParser();
  HttpParser(const HttpParser&) = delete;
  HttpParser& operator=(const HttpParser&) = delete;
  // Exchanges the parse states (the head's views still point into the caller's buffers, so
  // swap those too).
  void swap(HttpParser& other) noexcept;

  // Prepares for a new message. body_limit 0 means unlimited.
  void reset(std::uint32_t header_limit, std::uint64_t body_limit);
  // For a response to HEAD (or other bodiless cases): the head is the whole message.
  void skip_body();

  // Consumes bytes. Returns how many were consumed; the caller keeps the rest (the next
  // pipelined message, or an incomplete head to be offered again with more bytes).
  // Decoded body bytes of this call are appended to body_pieces() (views into data).
  std::size_t feed(const char* data, std::size_t size, ParseError& err);
  // The peer closed. Completes an EOF-delimited body; otherwise reports partial_message.
  void feed_eof(ParseError& err);

  bool header_done() const;
  bool done() const;
  // The body runs until the connection closes (responses without length or chunking).
  bool needs_eof() const;
  const MessageHead& head() const { return head_; }
  std::vector<std::string_view>& body_pieces() { return pieces_; }

 private:
  struct Impl;
  void rebind() noexcept;  // points the Beast parser at head_ and pieces_
  std::unique_ptr<Impl> impl_;
  MessageHead head_;
  std::vector<std::string_view> pieces_;
};

}  // namespace sluice::net
