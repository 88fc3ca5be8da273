#include "sluice/core/metrics.hpp"

#include <cmath>
#include <fmt/format.h>

namespace sluice::metrics {
namespace {

void escape_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

void append_value(std::string& out, double v) {
  if (std::isinf(v))
    out += v > 0 ? "+Inf" : "-Inf";
  else if (v == std::floor(v) && std::fabs(v) < 1e15)
    fmt::format_to(std::back_inserter(out), "{}", static_cast<long long>(v));
  else
    fmt::format_to(std::back_inserter(out), "{}", v);
}

}  // namespace

void PromWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PromWriter::labels(std::initializer_list<Label> ls, const Label* extra) {
  if (ls.size() == 0 && !extra) return;
  out_ += '{';
  bool first = true;
  auto one = [&](const Label& l) {
    if (!first) out_ += ',';
    first = false;
    out_ += l.first;
    out_ += "=\"";
    escape_label_value(out_, l.second);
    out_ += '"';
  };
  for (const auto& l : ls) one(l);
  if (extra) one(*extra);
  out_ += '}';
}

void PromWriter::sample(std::string_view name, std::initializer_list<Label> ls, double value) {
  out_ += name;
  labels(ls, nullptr);
  out_ += ' ';
  append_value(out_, value);
  out_ += '\n';
}

void PromWriter::histogram(std::string_view name, std::initializer_list<Label> ls,
                           const LatencyHistogram& h) {
  std::uint64_t cumulative = 0;
  std::string le;
  for (std::size_t i = 0; i <= LatencyHistogram::kBounds.size(); ++i) {
    cumulative += h.bucket(i);
    le = i < LatencyHistogram::kBounds.size() ? fmt::format("{}", LatencyHistogram::kBounds[i])
                                              : "+Inf";
    Label extra{"le", le};
    out_ += name;
    out_ += "_bucket";
    labels(ls, &extra);
    out_ += ' ';
    append_value(out_, static_cast<double>(cumulative));
    out_ += '\n';
  }
  out_ += name;
  out_ += "_sum";
  labels(ls, nullptr);
  out_ += ' ';
  append_value(out_, h.sum());
  out_ += '\n';
  out_ += name;
  out_ += "_count";
  labels(ls, nullptr);
  out_ += ' ';
  append_value(out_, static_cast<double>(h.count()));
  out_ += '\n';
}

}  // namespace sluice::metrics
