// make_test_pki: EC P-256 keys and X.509 v3 certificates built with the OpenSSL 3 API, so tests
// need no openssl binary and no fixture that silently expires.
#include "pki.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace sluice::test {

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct FileClose {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

[[noreturn]] void fail(std::string_view what) {
  std::string msg = "make_test_pki: " + std::string(what);
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += "; ";
    msg += buf;
  }
  throw std::runtime_error(msg);
}

// The directories made here, removed when the process exits.
class PkiDirs {
 public:
  static PkiDirs& instance() {
    static PkiDirs dirs;
    return dirs;
  }
  void add(std::string dir) {
    std::lock_guard lk(mu_);
    dirs_.push_back(std::move(dir));
  }
  ~PkiDirs() {
    for (const auto& d : dirs_) {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  }

 private:
  std::mutex mu_;
  std::vector<std::string> dirs_;
};

std::string make_temp_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/sluice-pki-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) fail("mkdtemp failed: " + std::string(strerror(errno)));
  PkiDirs::instance().add(tmpl);
  return tmpl;
}

PkeyPtr new_key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) fail("EC P-256 key generation failed");
  return key;
}

struct CertSpec {
  std::string common_name;
  int days = 365;
  std::vector<std::pair<int, std::string>> extensions;  // NID and config value, in order
};

// A certificate for key, signed by issuer_key; issuer is null for a self-signed one.
X509Ptr make_cert(EVP_PKEY* key, const CertSpec& spec, X509* issuer, EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  if (!cert) fail("X509_new");
  X509* x = cert.get();
  if (X509_set_version(x, X509_VERSION_3) != 1) fail("X509_set_version");

  std::unique_ptr<BIGNUM, BnFree> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x)) == nullptr)
    fail("serial number");

  // Valid from an hour ago (clock skew); an expired certificate is valid for a day before its end.
  const long day = 24L * 3600;
  const long not_before = spec.days > 0 ? -3600 : spec.days * day - day;
  if (X509_gmtime_adj(X509_getm_notBefore(x), not_before) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(x), spec.days, 0, nullptr) == nullptr)
    fail("validity");

  X509_NAME* name = X509_get_subject_name(x);
  auto add_entry = [&](const char* field, const std::string& value) {
    if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) != 1)
      fail(std::string("subject ") + field);
  };
  add_entry("O", "Sluice tests");
  add_entry("CN", spec.common_name);
  if (X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) != 1) fail("issuer");
  if (X509_set_pubkey(x, key) != 1) fail("X509_set_pubkey");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
  for (const auto& [nid, value] : spec.extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) fail("extension " + value);
    const int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    if (ok != 1) fail("X509_add_ext " + value);
  }
  if (X509_sign(x, issuer_key, EVP_sha256()) <= 0) fail("X509_sign");
  return cert;
}

std::unique_ptr<std::FILE, FileClose> open_for_write(const std::string& path, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) fail("open " + path + ": " + strerror(errno));
  std::unique_ptr<std::FILE, FileClose> f(::fdopen(fd, "wb"));
  if (!f) {
    ::close(fd);
    fail("fdopen " + path);
  }
  return f;
}

void write_cert(const std::string& path, X509* cert) {
  auto f = open_for_write(path, 0644);
  if (PEM_write_X509(f.get(), cert) != 1) fail("write " + path);
  if (std::fflush(f.get()) != 0) fail("write " + path);
}

void write_key(const std::string& path, EVP_PKEY* key) {
  auto f = open_for_write(path, 0600);
  if (PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail("write " + path);
  if (std::fflush(f.get()) != 0) fail("write " + path);
}

CertSpec server_spec(const std::string& cn, int days) {
  return {cn,
          days,
          {{NID_basic_constraints, "critical,CA:FALSE"},
           {NID_key_usage, "critical,digitalSignature,keyAgreement"},
           {NID_ext_key_usage, "serverAuth"},
           {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
           {NID_subject_key_identifier, "hash"},
           {NID_authority_key_identifier, "keyid:always"}}};
}

}  // namespace

TestPki make_test_pki(int days_valid, int soon_days) {
  TestPki pki;
  pki.dir = make_temp_dir();
  pki.ca_cert = pki.dir + "/ca.pem";
  pki.server_cert = pki.dir + "/server.pem";
  pki.server_key = pki.dir + "/server.key";
  pki.soon_cert = pki.dir + "/soon.pem";
  pki.soon_key = pki.dir + "/soon.key";
  pki.client_cert = pki.dir + "/client.pem";
  pki.client_key = pki.dir + "/client.key";

  PkeyPtr ca_key = new_key();
  // Outlives every certificate it signs, so none fails on the CA's expiry.
  const CertSpec ca_spec{"Sluice Test CA",
                         std::max({3650, days_valid, soon_days}) + 1,
                         {{NID_basic_constraints, "critical,CA:TRUE"},
                          {NID_key_usage, "critical,keyCertSign,cRLSign"},
                          {NID_subject_key_identifier, "hash"},
                          {NID_authority_key_identifier, "keyid:always"}}};
  X509Ptr ca = make_cert(ca_key.get(), ca_spec, nullptr, ca_key.get());
  write_cert(pki.ca_cert, ca.get());

  PkeyPtr server_key = new_key();
  X509Ptr server =
      make_cert(server_key.get(), server_spec("localhost", days_valid), ca.get(), ca_key.get());
  write_cert(pki.server_cert, server.get());
  write_key(pki.server_key, server_key.get());

  PkeyPtr soon_key = new_key();
  X509Ptr soon =
      make_cert(soon_key.get(), server_spec("localhost", soon_days), ca.get(), ca_key.get());
  write_cert(pki.soon_cert, soon.get());
  write_key(pki.soon_key, soon_key.get());

  PkeyPtr client_key = new_key();
  const CertSpec client_spec{"sluice-test-client",
                             days_valid,
                             {{NID_basic_constraints, "critical,CA:FALSE"},
                              {NID_key_usage, "critical,digitalSignature"},
                              {NID_ext_key_usage, "clientAuth"},
                              {NID_subject_key_identifier, "hash"},
                              {NID_authority_key_identifier, "keyid:always"}}};
  X509Ptr client = make_cert(client_key.get(), client_spec, ca.get(), ca_key.get());
  write_cert(pki.client_cert, client.get());
  write_key(pki.client_key, client_key.get());
  return pki;
}

}  // namespace sluice::test
