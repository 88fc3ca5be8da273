// The one error type of Sluice and Result<T>, its value-or-error carrier.
// Retries and outlier detection read kind/source/retryable, never the message.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sluice {

enum class ErrorKind {
  config,       // invalid configuration
  usage,        // invalid command-line use
  io,           // file or socket I/O failed
  timeout,      // a deadline passed
  connect,      // could not connect
  reset,        // the peer reset or closed the connection early
  protocol,     // malformed or unsupported HTTP
  limit,        // a size or count limit was hit
  tls,          // handshake or verification failed
  dns,          // name resolution failed
  no_route,     // no route matched
  no_upstream,  // no endpoint could be chosen
  cancelled,    // shut down or cancelled
  internal,     // a bug
};

enum class ErrorSource { downstream, upstream, internal };

enum class Retryable { no, yes };

struct Error {
  ErrorKind kind = ErrorKind::internal;
  ErrorSource source = ErrorSource::internal;
  Retryable retryable = Retryable::no;
  std::string message;

  bool is_retryable() const { return retryable == Retryable::yes; }
};

std::string_view to_string(ErrorKind k);
std::string_view to_string(ErrorSource s);

inline Error make_error(ErrorKind k, ErrorSource s, std::string msg, Retryable r = Retryable::no) {
  return Error{k, s, r, std::move(msg)};
}

// Result<T>: a T or an Error. GCC 12 has no std::expected.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T v) : v_(std::in_place_index<0>, std::move(v)) {}
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }
  Error&& take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : err_(std::move(e)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return err_; }
  Error&& take_error() { return std::move(err_); }

 private:
  Error err_;
  bool ok_ = true;
};

}  // namespace sluice
