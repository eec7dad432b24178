// Capability dropping with capget/capset and prctl directly (no libcap needed).
#include <bngkit/ops/capabilities.hpp>

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

namespace bngkit::ops {

namespace {

// Names as capabilities(7) and /proc show them, by number.
constexpr std::array<const char*, 41> kNames = {
    "cap_chown",           "cap_dac_override",   "cap_dac_read_search", "cap_fowner",
    "cap_fsetid",          "cap_kill",           "cap_setgid",          "cap_setuid",
    "cap_setpcap",         "cap_linux_immutable", "cap_net_bind_service", "cap_net_broadcast",
    "cap_net_admin",       "cap_net_raw",        "cap_ipc_lock",        "cap_ipc_owner",
    "cap_sys_module",      "cap_sys_rawio",      "cap_sys_chroot",      "cap_sys_ptrace",
    "cap_sys_pacct",       "cap_sys_admin",      "cap_sys_boot",        "cap_sys_nice",
    "cap_sys_resource",    "cap_sys_time",       "cap_sys_tty_config",  "cap_mknod",
    "cap_lease",           "cap_audit_write",    "cap_audit_control",   "cap_setfcap",
    "cap_mac_override",    "cap_mac_admin",      "cap_syslog",          "cap_wake_alarm",
    "cap_block_suspend",   "cap_audit_read",     "cap_perfmon",         "cap_bpf",
    "cap_checkpoint_restore"};

int last_cap() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int n = -1;
  if (in >> n && n > 0 && n < 64) return n;
  return CAP_LAST_CAP;
}

struct Sets {
  std::uint64_t effective = 0, permitted = 0, inheritable = 0;
};

Result<Sets> get_sets() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  std::array<__user_cap_data_struct, 2> data{};
  if (::syscall(SYS_capget, &header, data.data()) != 0) return errno_error(errno, "capget");
  auto join = [](std::uint32_t lo, std::uint32_t hi) { return std::uint64_t{hi} << 32 | lo; };
  return Sets{join(data[0].effective, data[1].effective), join(data[0].permitted, data[1].permitted),
              join(data[0].inheritable, data[1].inheritable)};
}

constexpr std::uint64_t bit(int cap) { return std::uint64_t{1} << cap; }

}  // namespace

std::string capability_names(std::uint64_t mask) {
  std::string out;
  for (int c = 0; c < 64; ++c) {
    if ((mask & bit(c)) == 0) continue;
    if (!out.empty()) out += ',';
    out += static_cast<std::size_t>(c) < kNames.size() ? std::string(kNames[static_cast<std::size_t>(c)])
                                                       : "cap_" + std::to_string(c);
  }
  return out.empty() ? "none" : out;
}

Result<std::uint64_t> effective_capabilities() {
  auto s = get_sets();
  if (!s) return s.error();
  return s->effective;
}

namespace {

// What every thread is brought to. Written before any thread is signalled and only read
// afterwards (the handler reads it), so plain fields are enough.
struct DropTarget {
  std::uint64_t keep = 0;  // what a thread may keep of its effective and permitted sets
  bool bounding = false;   // also cut the bounding set to `keep`
  int last_cap = CAP_LAST_CAP;
};
DropTarget g_target;

// The drop for the calling thread, with system calls only (the signal handler runs it).
// Every step is tried even after one fails, so a thread loses all it can; returns 0 or the
// errno of the first failure, `step` saying which (0 bounding, 1 ambient, 2 capset).
int drop_this_thread(const DropTarget& t, int* step) {
  int first_error = 0;
  auto failed = [&](int which) {
    if (first_error == 0) first_error = errno, *step = which;
  };
  if (t.bounding) {
    for (int c = 0; c <= t.last_cap; ++c) {
      if ((t.keep & bit(c)) != 0 || ::prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 1) continue;
      if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) failed(0);
    }
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) failed(1);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) {
    failed(2);
    return first_error;
  }
  for (int i = 0; i < 2; ++i) {
    auto& d = data[i];
    d.permitted &= static_cast<std::uint32_t>(t.keep >> (32 * i));  // it can only lose
    d.effective = d.permitted;
    d.inheritable = 0;
  }
  if (::syscall(SYS_capset, &header, data) != 0) failed(2);
  return first_error;
}

void on_drop_signal(int) {
  const int saved = errno;
  int step = 0;
  drop_this_thread(g_target, &step);  // a failure shows in /proc, where the caller looks
  errno = saved;
}

bool holds_only_target(const ThreadCapabilities& t, const DropTarget& target) {
  return (t.effective & ~target.keep) == 0 && (t.permitted & ~target.keep) == 0 &&
         t.inheritable == 0 && t.ambient == 0 && (!target.bounding || (t.bounding & ~target.keep) == 0);
}

// A real-time signal nobody handles or ignores, to borrow for the broadcast.
int free_realtime_signal() {
  for (int s = SIGRTMAX; s >= SIGRTMIN; --s) {
    struct sigaction current {};
    if (::sigaction(s, nullptr, &current) == 0 && current.sa_handler == SIG_DFL &&
        (current.sa_flags & SA_SIGINFO) == 0) {
      return s;
    }
  }
  return 0;
}

// Brings every other thread to `t` and returns how many there were.
Result<std::size_t> drop_in_other_threads(const DropTarget& t) {
  const int self = static_cast<int>(::syscall(SYS_gettid));
  auto threads = thread_capabilities();
  if (!threads) return threads.error();
  if (threads->size() <= 1) return std::size_t{0};

  const int signo = free_realtime_signal();
  if (signo == 0) {
    return make_error(std::errc::resource_unavailable_try_again,
                      "every real-time signal has a handler: none to reach the other threads with");
  }
  struct sigaction handler {}, previous {};
  handler.sa_handler = on_drop_signal;
  handler.sa_flags = SA_RESTART;
  sigemptyset(&handler.sa_mask);
  g_target = t;
  if (::sigaction(signo, &handler, &previous) != 0) return errno_error(errno, "sigaction");
  // Ignoring first discards a signal still pending for a thread that dropped meanwhile;
  // restoring the default at once could let it terminate the process.
  struct Restore {
    int signo;
    struct sigaction previous;
    ~Restore() {
      struct sigaction ignore {};
      ignore.sa_handler = SIG_IGN;
      ::sigaction(signo, &ignore, nullptr);
      ::sigaction(signo, &previous, nullptr);
    }
  } restore{signo, previous};

  using Clock = std::chrono::steady_clock;
  // Generous: a thread in uninterruptible sleep (an fsync) takes the signal late.
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  std::map<int, Clock::time_point> signalled, blocked;
  for (;;) {
    threads = thread_capabilities();
    if (!threads) return threads.error();
    std::size_t others = 0;
    bool all_dropped = true;
    for (const auto& th : *threads) {
      if (th.tid == self) continue;
      ++others;
      if (holds_only_target(th, t)) continue;
      all_dropped = false;
      const auto what = [&] {
        const auto extra = (th.effective | th.permitted | (t.bounding ? th.bounding : 0)) & ~t.keep;
        return "thread " + std::to_string(th.tid) + " (" + th.name + ") keeps " +
               capability_names(extra);
      };
      // A thread blocks every signal for a moment while glibc starts it; one that keeps
      // blocking ours would never drop.
      const bool blocks = (th.blocked_signals & (std::uint64_t{1} << (signo - 1))) != 0;
      if (!blocks) {
        blocked.erase(th.tid);
      } else if (Clock::now() - blocked.try_emplace(th.tid, Clock::now()).first->second >
                 std::chrono::milliseconds(250)) {
        return make_error(std::errc::operation_not_permitted,
                          what() + ": it blocks signal " + std::to_string(signo) +
                              " (drop capabilities before starting it)");
      }
      if (Clock::now() > deadline) return make_error(std::errc::timed_out, what() + " after 5 s");
      auto [at, first] = signalled.try_emplace(th.tid, Clock::now());
      if (first || Clock::now() - at->second > std::chrono::milliseconds(100)) {
        at->second = Clock::now();
        ::syscall(SYS_tgkill, ::getpid(), th.tid, signo);  // ESRCH: it has just exited
      }
    }
    if (all_dropped) return others;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::uint64_t parse_hex(const std::string& text) {
  std::uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v, 16);
  return v;
}

}  // namespace

Result<std::vector<ThreadCapabilities>> thread_capabilities(int pid) {
  const std::filesystem::path dir =
      "/proc/" + (pid == 0 ? std::string("self") : std::to_string(pid)) + "/task";
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return Error{ec, "list " + dir.string()};
  std::vector<ThreadCapabilities> out;
  for (const auto& entry : it) {
    std::ifstream in(entry.path() / "status");
    if (!in) continue;  // the thread has exited
    ThreadCapabilities t;
    t.tid = std::atoi(entry.path().filename().c_str());
    for (std::string line; std::getline(in, line);) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      const auto key = line.substr(0, colon);
      const auto start = line.find_first_not_of(" \t", colon + 1);
      const auto value = start == std::string::npos ? std::string() : line.substr(start);
      if (key == "Name") t.name = value;
      else if (key == "SigBlk") t.blocked_signals = parse_hex(value);
      else if (key == "CapInh") t.inheritable = parse_hex(value);
      else if (key == "CapPrm") t.permitted = parse_hex(value);
      else if (key == "CapEff") t.effective = parse_hex(value);
      else if (key == "CapBnd") t.bounding = parse_hex(value);
      else if (key == "CapAmb") t.ambient = parse_hex(value);
    }
    out.push_back(std::move(t));
  }
  if (out.empty()) return make_error(std::errc::no_such_process, "no threads in " + dir.string());
  return out;
}

Result<CapabilityDrop> drop_capabilities_except(std::initializer_list<int> keep) {
  auto before = get_sets();
  if (!before) return before.error();
  DropTarget target;
  for (int c : keep) target.keep |= bit(c);
  target.last_cap = last_cap();
  // Dropping from the bounding set needs CAP_SETPCAP, which goes below.
  target.bounding = (before->effective & bit(CAP_SETPCAP)) != 0;

  CapabilityDrop result;
  result.kept = before->permitted & target.keep;
  result.dropped = before->permitted & ~target.keep;
  result.bounding_dropped = target.bounding;

  int step = 0;
  if (const int err = drop_this_thread(target, &step); err != 0) {
    const std::string what[] = {"dropping from the bounding set", "clearing the ambient capabilities",
                                "keeping only " + capability_names(result.kept)};
    return errno_error(err, what[step]);
  }
  auto others = drop_in_other_threads(target);
  if (!others) return Error{others.error().code, "dropping capabilities: " + others.error().context};
  result.threads = 1 + *others;
  return result;
}

}  // namespace bngkit::ops
