// libbpf print callback routing.
#include <bpf/libbpf.h>

#include <bngkit/ebpfkit/log.hpp>
#include <cstdarg>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

namespace bngkit::ebpfkit {
namespace {

struct Sink {
  LibbpfLogger logger;
  LibbpfLevel max_level = LibbpfLevel::info;
};
std::mutex g_mu;
std::shared_ptr<const Sink> g_sink;  // replaced wholesale; readers copy the pointer

LibbpfLevel to_level(libbpf_print_level l) {
  switch (l) {
    case LIBBPF_WARN:
      return LibbpfLevel::warn;
    case LIBBPF_INFO:
      return LibbpfLevel::info;
    default:
      return LibbpfLevel::debug;
  }
}

int print_to_sink(libbpf_print_level level, const char* fmt, va_list args) {
  std::shared_ptr<const Sink> sink;
  {
    std::lock_guard lock(g_mu);
    sink = g_sink;
  }
  const LibbpfLevel lv = to_level(level);
  if (!sink || !sink->logger || static_cast<int>(lv) > static_cast<int>(sink->max_level)) {
    return 0;
  }
  char buf[1024];
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(buf, sizeof(buf), fmt, copy);
  va_end(copy);
  if (n < 0) return 0;
  std::string msg;
  if (static_cast<std::size_t>(n) < sizeof(buf)) {
    msg.assign(buf, static_cast<std::size_t>(n));
  } else {
    msg.resize(static_cast<std::size_t>(n) + 1);
    std::vsnprintf(msg.data(), msg.size(), fmt, args);
    msg.resize(static_cast<std::size_t>(n));
  }
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  try {
    sink->logger(lv, msg);
  } catch (...) {  // never let an exception cross libbpf's C frames
  }
  return n;
}

}  // namespace

void set_libbpf_logger(LibbpfLogger logger, LibbpfLevel max_level) {
  {
    std::lock_guard lock(g_mu);
    g_sink = std::make_shared<const Sink>(Sink{std::move(logger), max_level});
  }
  libbpf_set_print(&print_to_sink);
}

void reset_libbpf_logger() {
  {
    std::lock_guard lock(g_mu);
    g_sink.reset();
  }
  // libbpf's default printer: warnings and info to stderr.
  libbpf_set_print([](libbpf_print_level level, const char* fmt, va_list args) -> int {
    if (level == LIBBPF_DEBUG) return 0;
    return std::vfprintf(stderr, fmt, args);
  });
}

}  // namespace bngkit::ebpfkit
