// One exchange through a fresh libcurl easy handle: no connection reuse between probes, so every
// probe pays (and measures) DNS, connect and TLS. TLS facts come from OpenSSL's info callback at
// the end of the handshake, which works whether or not a response follows.
#include "curl_exchange.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "sluice/core/expr/value.hpp"

namespace sluice::probe::detail {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

int ssl_ex_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

Duration micros(curl_off_t us) {
  return std::chrono::microseconds(us);
}

std::string name_text(const X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return {};
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data ? data : "", n > 0 ? static_cast<std::size_t>(n) : 0);
  BIO_free(bio);
  return out;
}

void on_ssl_info(const SSL* ssl, int where, int) {
  if ((where & SSL_CB_HANDSHAKE_DONE) == 0) return;
  auto* r = static_cast<ProbeResult*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ssl_ex_index()));
  if (!r) return;
  std::string_view version = SSL_get_version(ssl);
  if (version.starts_with("TLSv")) version.remove_prefix(4);
  r->tls_version = version == "1" ? "1.0" : std::string(version);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) r->tls_cipher = SSL_CIPHER_get_name(c);
  if (X509* cert = SSL_get0_peer_certificate(ssl)) {
    CertInfo info;
    info.subject = name_text(X509_get_subject_name(cert));
    info.issuer = name_text(X509_get_issuer_name(cert));
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
      info.not_after = std::chrono::system_clock::from_time_t(timegm(&tm));
    r->cert = std::move(info);
  }
}

CURLcode on_ssl_ctx(CURL*, void* ctx, void* user) {
  auto* c = static_cast<SSL_CTX*>(ctx);
  SSL_CTX_set_ex_data(c, ssl_ex_index(), user);
  SSL_CTX_set_info_callback(c, on_ssl_info);
  return CURLE_OK;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* r = static_cast<ProbeResult*>(user);
  std::size_t len = size * n;
  std::size_t room = kMaxBodyBytes - r->body.size();
  if (len > room) {
    // Enough to judge: stop reading (curl reports a write error, which is not one for us).
    r->body.append(data, room);
    r->body_truncated = true;
    return 0;
  }
  r->body.append(data, len);
  return len;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Header lines of every response (a redirect or a 100 starts over) and, for HTTP/2, trailers.
std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* r = static_cast<ProbeResult*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    r->headers.clear();
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return size * n;
  std::string name(line.substr(0, colon));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (r->headers.size() < 1000)
    r->headers.emplace_back(std::move(name), trim(line.substr(colon + 1)));
  return size * n;
}

bool is_tls_error(CURLcode code) {
  switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_CLIENTCERT:
      return true;
    default:
      return false;
  }
}

Error transport_error(ErrorKind kind, std::string message) {
  return make_error(kind, ErrorSource::upstream, std::move(message));
}

// The URL with its host replaced by `sni` (libcurl sends SNI and Host from the URL and verifies
// the certificate against it); the connection still goes to the original address via CONNECT_TO.
std::string with_host(const std::string& url, const std::string& host) {
  CURLU* u = curl_url();
  std::string out = url;
  if (u && curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_HOST, host.c_str(), 0) == CURLUE_OK) {
    char* text = nullptr;
    if (curl_url_get(u, CURLUPART_URL, &text, 0) == CURLUE_OK && text) {
      out = text;
      curl_free(text);
    }
  }
  if (u) curl_url_cleanup(u);
  return out;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

long to_millis(Duration d) {
  return std::max<long>(
      1, static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
}

}  // namespace

bool is_invalid_tld(std::string_view host) {
  std::string h(host);
  for (auto& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!h.empty() && h.back() == '.') h.pop_back();
  return h == "invalid" || h.ends_with(".invalid");
}

CurlRequest request_for(const Target& t, Duration timeout) {
  CurlRequest req;
  req.url = t.url;
  req.tls = t.tls;
  req.host = t.host;
  req.port = t.port;
  req.tls_options = t.options.tls;
  req.timeout = timeout;
  req.connect_timeout = t.options.connect_timeout.value_or(timeout);
  return req;
}

ProbeResult curl_exchange(const CurlRequest& req) {
  ProbeResult r;
  if (is_invalid_tld(req.host)) {
    r.error = transport_error(
        ErrorKind::dns, fmt::format("{}: the name does not resolve (.invalid names never do, RFC "
                                    "6761)",
                                    req.host));
    return r;
  }
  global_init();
  std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
  if (!handle) {
    r.error = transport_error(ErrorKind::internal, "libcurl could not start a transfer");
    return r;
  }
  CURL* h = handle.get();
  char errbuf[CURL_ERROR_SIZE] = {0};

  std::string url = req.url;
  SlistPtr connect_to;
  const auto& tls = req.tls_options;
  if (req.tls && !tls.sni.empty() && tls.sni != req.host) {
    url = with_host(req.url, tls.sni);
    std::string target = req.host.find(':') != std::string::npos ? "[" + req.host + "]" : req.host;
    connect_to.reset(curl_slist_append(
        nullptr, fmt::format("{}:{}:{}:{}", tls.sni, req.port, target, req.port).c_str()));
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_to.get());
  }

  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROXY, "");  // proxy variables are not for health probes
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, to_millis(req.timeout));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   to_millis(std::min(req.connect_timeout, req.timeout)));
  curl_easy_setopt(h, CURLOPT_USERAGENT, "sluice-probe/" SLUICE_VERSION);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
  curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, &r);

  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET" || !req.body.empty()) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    bool sends_body =
        !req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    if (sends_body) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    }
  }
  SlistPtr headers;
  bool expect_set = false;
  for (const auto& [name, value] : req.headers) {
    std::string line = value.empty() ? name + ";" : name + ": " + value;
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
    std::string lower = name;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    expect_set = expect_set || lower == "expect";
  }
  if (!expect_set) headers.reset(curl_slist_append(headers.release(), "Expect:"));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  if (req.follow_redirects) {
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, req.max_redirects);
  }
  if (req.h2_prior_knowledge) {
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                     static_cast<long>(CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE));
  } else if (req.http_version == HttpVersion::http1_1) {
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  } else if (req.http_version == HttpVersion::http2) {
    curl_easy_setopt(
        h, CURLOPT_HTTP_VERSION,
        static_cast<long>(req.tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE));
  }
  if (!tls.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, tls.ca_file.c_str());
  if (!tls.cert_file.empty()) curl_easy_setopt(h, CURLOPT_SSLCERT, tls.cert_file.c_str());
  if (!tls.key_file.empty()) curl_easy_setopt(h, CURLOPT_SSLKEY, tls.key_file.c_str());
  if (!tls.key_password.empty()) curl_easy_setopt(h, CURLOPT_KEYPASSWD, tls.key_password.c_str());
  if (tls.insecure) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }

  CURLcode code = curl_easy_perform(h);

  curl_off_t dns = 0, connect = 0, app = 0, start = 0, total = 0;
  curl_easy_getinfo(h, CURLINFO_NAMELOOKUP_TIME_T, &dns);
  curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect);
  curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &app);
  curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &start);
  curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total);
  r.timings.dns = micros(dns);
  r.timings.connect = connect > dns ? micros(connect - dns) : Duration{0};
  r.timings.tls = app > connect ? micros(app - connect) : Duration{0};
  r.timings.ttfb = micros(start);
  r.timings.total = micros(total);

  long status = 0, version = 0, redirects = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &version);
  curl_easy_getinfo(h, CURLINFO_REDIRECT_COUNT, &redirects);
  char* effective = nullptr;
  curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective);
  r.status = static_cast<int>(status);
  r.redirects = redirects;
  if (effective) r.final_url = effective;
  switch (version) {
    case CURL_HTTP_VERSION_1_0:
      r.http_version = "1.0";
      break;
    case CURL_HTTP_VERSION_1_1:
      r.http_version = "1.1";
      break;
    case CURL_HTTP_VERSION_2_0:
      r.http_version = "2";
      break;
    case CURL_HTTP_VERSION_3:
      r.http_version = "3";
      break;
    default:
      break;
  }

  if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && r.body_truncated)) return r;
  std::string detail = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(code));
  const std::string budget = expr::format_duration_short(req.timeout);
  if (code == CURLE_COULDNT_RESOLVE_HOST) {
    r.error = transport_error(ErrorKind::dns, detail);
  } else if (code == CURLE_COULDNT_CONNECT) {
    r.error = transport_error(ErrorKind::connect, detail);
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    if (connect == 0 && dns == 0 && !is_ip_literal(req.host))
      r.error = transport_error(ErrorKind::dns,
                                fmt::format("name resolution timed out after {}", budget));
    else if (connect == 0)
      r.error =
          transport_error(ErrorKind::connect, fmt::format("connect timed out after {}", budget));
    else if (req.tls && app == 0)
      r.error =
          transport_error(ErrorKind::tls, fmt::format("TLS handshake timed out after {}", budget));
    else if (status == 0)
      r.error = transport_error(ErrorKind::timeout, fmt::format("no response within {}", budget));
    else
      r.error = transport_error(
          ErrorKind::timeout, fmt::format("the response body was not complete within {}", budget));
  } else if (is_tls_error(code)) {
    r.error = transport_error(ErrorKind::tls, detail);
  } else if (code == CURLE_GOT_NOTHING || code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR ||
             code == CURLE_PARTIAL_FILE) {
    r.error = transport_error(ErrorKind::reset, detail);
  } else {
    r.error = transport_error(ErrorKind::protocol, detail);
  }
  return r;
}

}  // namespace sluice::probe::detail
