// Redacting prompts and completions before they are logged.
#include <string>

#include <catch2/catch.hpp>

#include "sluice/llm/redact.hpp"

using sluice::llm::redact;

TEST_CASE("redact: credentials and personal data are masked", "[llm]") {
  CHECK(redact("mail jane.doe+x@example.co.uk now") == "mail [REDACTED:email] now");
  CHECK(redact("key sk-proj-abcdefghijklmnop1234 ok") == "key [REDACTED:key] ok");
  CHECK(redact("AKIAABCDEFGHIJKLMNOP") == "[REDACTED:key]");
  CHECK(redact("Authorization: Bearer abc.def-ghi") == "Authorization: Bearer [REDACTED:key]");
  CHECK(redact("card 4111 1111 1111 1111.") == "card [REDACTED:number].");
  CHECK(redact("ssn 123-45-6789") == "ssn [REDACTED:number]");
  // Ordinary text stays.
  CHECK(redact("order 12345 at 10:30, a@b") == "order 12345 at 10:30, a@b");
  CHECK(redact("task-manager sk-short") == "task-manager sk-short");
}

TEST_CASE("redact: long text is cut on a UTF-8 boundary with a note", "[llm]") {
  std::string s(10, 'a');
  s += "\xc3\xa9\xc3\xa9";  // éé
  auto out = redact(s, 11);
  CHECK(out.rfind("aaaaaaaaaa", 0) == 0);
  CHECK(out.find("...[4 more bytes]") != std::string::npos);
  CHECK(redact("short", 100) == "short");
}
