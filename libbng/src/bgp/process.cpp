// run_process: posix_spawn (safe in a multi-threaded daemon, unlike fork + malloc), pipes
// for stdout/stderr read with poll() against a deadline, SIGKILL on timeout.
#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

extern char** environ;

namespace bngkit::bng::bgp {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxOutput = 64u << 20;  // a running config with 1M host routes is ~30 MiB

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() noexcept {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

struct SpawnActions {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnActions() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnActions() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
};

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Result<ProcessOutput> run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  if (argv.empty()) return make_error(std::errc::invalid_argument, "run_process: no program given");
  const auto& program = argv.front();
  const auto deadline = Clock::now() + timeout;

  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return errno_error(errno, "pipe for " + program);
  Fd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return errno_error(errno, "pipe for " + program);
  Fd err_read(err_pipe[0]), err_write(err_pipe[1]);
  Fd null_in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (null_in.fd < 0) return errno_error(errno, "open /dev/null");

  SpawnActions spawn;
  posix_spawn_file_actions_adddup2(&spawn.actions, null_in.fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&spawn.actions, out_write.fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&spawn.actions, err_write.fd, STDERR_FILENO);
  // No descriptor of the daemon (sockets, BPF maps, the lease database) leaks into the child.
  posix_spawn_file_actions_addclosefrom_np(&spawn.actions, STDERR_FILENO + 1);
  // The child starts with no blocked signal and default dispositions (SIGPIPE included),
  // whatever the spawning thread had.
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&spawn.attr, &none);
  posix_spawnattr_setsigdefault(&spawn.attr, &all);
  posix_spawnattr_setflags(&spawn.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (int rc = ::posix_spawnp(&pid, program.c_str(), &spawn.actions, &spawn.attr, args.data(), environ); rc != 0) {
    return errno_error(rc, "cannot run " + program);
  }
  out_write.reset();
  err_write.reset();

  ProcessOutput result;
  auto kill_and_reap = [pid] {
    ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  };
  char buf[16384];
  while (out_read.fd >= 0 || err_read.fd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      kill_and_reap();
      return make_error(std::errc::timed_out,
                        program + " did not finish within " + std::to_string(timeout.count()) + " ms");
    }
    pollfd fds[2] = {{out_read.fd, POLLIN, 0}, {err_read.fd, POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      kill_and_reap();
      return errno_error(e, "poll on " + program);
    }
    Fd* ends[2] = {&out_read, &err_read};
    std::string* sinks[2] = {&result.out, &result.err};
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const auto got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(got));
        if (sinks[i]->size() > kMaxOutput) {
          kill_and_reap();
          return make_error(std::errc::value_too_large, program + " printed more than 64 MiB");
        }
      } else if (got == 0 || errno != EINTR) {
        ends[i]->reset();  // end of file (or a broken pipe): this stream is done
      }
    }
  }
  // Both streams closed: the program is exiting. Wait for it, still within the deadline.
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return errno_error(errno, "waitpid for " + program);
    if (Clock::now() >= deadline) {
      kill_and_reap();
      return make_error(std::errc::timed_out,
                        program + " did not exit within " + std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  result.exit_code = exit_code_of(status);
  return result;
}

}  // namespace bngkit::bng::bgp
