#include "sluice/net/http_parser.hpp"

#include <limits>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/core/string.hpp>

#include "sluice/net/headers.hpp"

namespace sluice::net {

namespace http = boost::beast::http;
using boost::beast::string_view;
using error_code = boost::system::error_code;

std::string_view MessageHead::get(std::string_view name) const {
  for (const auto& f : fields)
    if (iequals(f.name, name)) return f.value;
  return {};
}

namespace {

std::string_view sv(string_view s) {
  return {s.data(), s.size()};
}

template <bool IsRequest>
class BeastParser final : public http::basic_parser<IsRequest> {
 public:
  MessageHead* head = nullptr;
  std::vector<std::string_view>* pieces = nullptr;

 private:
  void on_request_impl(http::verb, string_view method, string_view target, int version,
                       error_code&) override {
    head->method = sv(method);
    head->target = sv(target);
    head->version = version;
  }
  void on_response_impl(int code, string_view reason, int version, error_code&) override {
    head->status = code;
    head->reason = sv(reason);
    head->version = version;
  }
  void on_field_impl(http::field f, string_view name, string_view value, error_code& ec) override {
    // Only "chunked" is accepted as a transfer coding: anything else could make us and the
    // upstream disagree about where the body ends (request smuggling).
    if (f == http::field::transfer_encoding && !iequals(trim(sv(value)), "chunked")) {
      ec = http::error::bad_transfer_encoding;
      return;
    }
    if (f == http::field::expect && iequals(trim(sv(value)), "100-continue"))
      head->expect_continue = true;
    head->fields.push_back({sv(name), sv(value)});
  }
  void on_header_impl(error_code&) override {
    head->chunked = this->chunked();
    auto cl = this->content_length();
    if (cl) head->content_length = *cl;
    head->keep_alive = this->keep_alive();
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view body, error_code&) override {
    pieces->push_back(sv(body));
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override {
    pieces->push_back(sv(body));
    return body.size();
  }
  void on_finish_impl(error_code&) override {}
};

ParseError classify(const error_code& ec) {
  if (!ec) return ParseError::none;
  if (ec == http::error::need_more) return ParseError::need_more;
  if (ec == http::error::header_limit) return ParseError::header_too_large;
  if (ec == http::error::body_limit) return ParseError::body_too_large;
  if (ec == http::error::partial_message) return ParseError::partial_message;
  return ParseError::bad_request;
}

}  // namespace

struct HttpParser::Impl {
  Kind kind;
  std::optional<BeastParser<true>> req;
  std::optional<BeastParser<false>> res;
};

HttpParser::HttpParser(Kind kind) : impl_(std::make_unique<Impl>()) {
  impl_->kind = kind;
  head_.fields.reserve(32);
  pieces_.reserve(8);
}

HttpParser::~HttpParser() = default;

void HttpParser::rebind() noexcept {
  if (impl_->req) {
    impl_->req->head = &head_;
    impl_->req->pieces = &pieces_;
  }
  if (impl_->res) {
    impl_->res->head = &head_;
    impl_->res->pieces = &pieces_;
  }
}

void HttpParser::swap(HttpParser& other) noexcept {
  impl_.swap(other.impl_);
  std::swap(head_, other.head_);
  std::swap(pieces_, other.pieces_);
  rebind();
  other.rebind();
}

void HttpParser::reset(std::uint32_t header_limit, std::uint64_t body_limit) {
  head_.method = head_.target = head_.reason = {};
  head_.status = 0;
  head_.version = 11;
  head_.fields.clear();
  head_.chunked = false;
  head_.content_length.reset();
  head_.keep_alive = true;
  head_.expect_continue = false;
  pieces_.clear();
  auto setup = [&](auto& p) {
    p.head = &head_;
    p.pieces = &pieces_;
    p.header_limit(header_limit);
    // Not boost::none: Beast 1.74 compares the length against an empty optional and rejects
    // every body.
    p.body_limit(body_limit ? body_limit : std::numeric_limits<std::uint64_t>::max());
    p.eager(false);  // stop after the head, so the caller learns where the body starts
  };
  if (impl_->kind == Kind::request)
    setup(impl_->req.emplace());
  else
    setup(impl_->res.emplace());
}

void HttpParser::skip_body() {
  if (impl_->res) impl_->res->skip(true);
}

std::size_t HttpParser::feed(const char* data, std::size_t size, ParseError& err) {
  error_code ec;
  boost::asio::const_buffer buf(data, size);
  std::size_t n;
  if (impl_->req) {
    n = impl_->req->put(buf, ec);
    if (impl_->req->is_header_done()) impl_->req->eager(true);
  } else {
    n = impl_->res->put(buf, ec);
    if (impl_->res->is_header_done()) impl_->res->eager(true);
  }
  err = classify(ec);
  return n;
}

void HttpParser::feed_eof(ParseError& err) {
  error_code ec;
  if (impl_->req)
    impl_->req->put_eof(ec);
  else
    impl_->res->put_eof(ec);
  err = classify(ec);
}

bool HttpParser::header_done() const {
  return impl_->req ? impl_->req->is_header_done() : impl_->res->is_header_done();
}

bool HttpParser::done() const {
  return impl_->req ? impl_->req->is_done() : impl_->res->is_done();
}

bool HttpParser::needs_eof() const {
  return impl_->req ? impl_->req->need_eof() : impl_->res->need_eof();
}

}  // namespace sluice::net
