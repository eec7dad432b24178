// Capability dropping, in a forked child so the test process keeps its own.
#include <bngkit/ops/capabilities.hpp>

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>
#include <vector>

namespace bngkit::ops {
namespace {

TEST(Capabilities, NamesFollowProcStatus) {
  EXPECT_EQ(capability_names(0), "none");
  EXPECT_EQ(capability_names((1ULL << CAP_NET_ADMIN) | (1ULL << CAP_NET_RAW)), "cap_net_admin,cap_net_raw");
  EXPECT_EQ(capability_names(1ULL << CAP_BPF), "cap_bpf");
  EXPECT_EQ(capability_names(1ULL << 60), "cap_60");
}

// Runs `body` in a child; its return value is the child's exit code.
template <typename F>
int in_child(F body) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST(Capabilities, DropKeepsOnlyWhatIsAskedFor) {
  auto eff = effective_capabilities();
  ASSERT_TRUE(eff.ok());
  if ((*eff & (1ULL << CAP_SYS_ADMIN)) == 0 || (*eff & (1ULL << CAP_SETPCAP)) == 0) {
    GTEST_SKIP() << "needs CAP_SYS_ADMIN and CAP_SETPCAP to have something to drop (run as root)";
  }
  const int rc = in_child([] {
    auto d = drop_capabilities_except({CAP_NET_ADMIN});
    if (!d) return 1;
    if (d->kept != (1ULL << CAP_NET_ADMIN) || !d->bounding_dropped) return 2;
    if ((d->dropped & (1ULL << CAP_SYS_ADMIN)) == 0) return 3;
    if (effective_capabilities().value_or(~0ULL) != (1ULL << CAP_NET_ADMIN)) return 4;
    // Gone from the bounding set too: no execve() brings it back.
    if (::prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0) return 5;
    if (::prctl(PR_CAPBSET_READ, CAP_NET_ADMIN, 0, 0, 0) != 1) return 6;
    // CAP_SYS_ADMIN really is gone (a new mount namespace needs it)...
    if (::unshare(CLONE_NEWNS) == 0 || errno != EPERM) return 7;
    // ... and CAP_NET_ADMIN still works (SO_RCVBUFFORCE needs it).
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    int size = 1 << 20;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) return 8;
    // Dropping everything leaves nothing.
    auto all = drop_capabilities_except({});
    if (!all || all->kept != 0 || effective_capabilities().value_or(~0ULL) != 0) return 9;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) == 0) return 10;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "child check " << rc << " failed";
}

TEST(Capabilities, WithoutCapabilitiesTheDropIsHarmless) {
  const int rc = in_child([] {
    // As an unprivileged process: first lose everything, then drop again.
    if (!drop_capabilities_except({})) return 1;
    auto again = drop_capabilities_except({CAP_NET_ADMIN});
    if (!again || again->kept != 0 || again->bounding_dropped) return 2;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "child check " << rc << " failed";
}

bool root_with_something_to_drop() {
  auto eff = effective_capabilities();
  return eff && (*eff & (1ULL << CAP_SYS_ADMIN)) != 0 && (*eff & (1ULL << CAP_SETPCAP)) != 0;
}

// The sets are per thread: threads that already run when the daemon drops (replication,
// probes, discovery) must lose what the caller loses, whatever they are blocked in.
TEST(Capabilities, DropReachesEveryThread) {
  if (!root_with_something_to_drop()) GTEST_SKIP() << "needs CAP_SYS_ADMIN and CAP_SETPCAP (run as root)";
  const int rc = in_child([] {
    std::atomic<bool> stop{false};
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) return 1;
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<int> buffer_force_errno{-1};
    std::atomic<bool> thread_holds_nothing{false};
    static std::atomic<int> spawned{0};  // static: detached threads may outlive this frame
    std::vector<std::thread> threads;
    // Blocked in poll(), as the probe and engine threads are.
    threads.emplace_back([&] {
      pollfd p{pipe_fds[0], POLLIN, 0};
      while (!stop) ::poll(&p, 1, -1);
      thread_holds_nothing = effective_capabilities().value_or(~0ULL) == 0;
      // The kernel agrees: SO_RCVBUFFORCE needs CAP_NET_ADMIN, dropped below.
      const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
      int size = 1 << 20;
      buffer_force_errno = ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) == 0 ? 0 : errno;
      ::close(fd);
    });
    // Waiting on a condition variable (futex).
    threads.emplace_back([&] {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return stop.load(); });
    });
    // Starting threads while the drop runs: the new ones must not keep anything either.
    threads.emplace_back([&] {
      while (!stop) {
        std::thread([] { ++spawned; std::this_thread::sleep_for(std::chrono::milliseconds(5)); }).detach();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));

    auto d = drop_capabilities_except({});
    auto all = thread_capabilities();
    stop = true;
    cv.notify_all();
    if (::write(pipe_fds[1], "x", 1) != 1) return 6;
    for (auto& t : threads) t.join();
    if (!d) {
      std::fprintf(stderr, "%s\n", d.error().message().c_str());
      return 2;
    }
    if (d->threads < 4) return 3;
    if (!all || all->size() < 4) return 4;
    for (const auto& t : *all) {
      if (t.effective != 0 || t.permitted != 0 || t.bounding != 0 || t.ambient != 0) return 5;
    }
    if (!thread_holds_nothing) return 7;
    if (buffer_force_errno != EPERM) return 8;
    if (spawned == 0) return 9;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "child check " << rc << " failed";
}

TEST(Capabilities, AThreadBlockingTheSignalIsNamed) {
  if (!root_with_something_to_drop()) GTEST_SKIP() << "needs CAP_SYS_ADMIN and CAP_SETPCAP (run as root)";
  const int rc = in_child([] {
    std::atomic<bool> stop{false};
    std::thread stubborn([&] {
      ::pthread_setname_np(::pthread_self(), "stubborn");
      sigset_t all;
      sigfillset(&all);
      ::pthread_sigmask(SIG_BLOCK, &all, nullptr);
      while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto d = drop_capabilities_except({CAP_NET_ADMIN});
    stop = true;
    stubborn.join();
    if (d) return 1;
    const auto text = d.error().message();
    if (text.find("(stubborn) keeps") == std::string::npos || text.find("blocks signal") == std::string::npos) return 2;
    if (text.find("cap_sys_admin") == std::string::npos) return 3;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "child check " << rc << " failed";
}

TEST(Capabilities, ThreadCapabilitiesListsThisProcess) {
  std::atomic<bool> stop{false};
  std::thread other([&] {
    ::pthread_setname_np(::pthread_self(), "listed");
    while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto all = thread_capabilities();
  stop = true;
  other.join();
  ASSERT_TRUE(all.ok()) << all.error().message();
  ASSERT_GE(all->size(), 2U);
  const auto eff = effective_capabilities().value();
  bool found = false;
  for (const auto& t : *all) {
    found = found || t.name == "listed";
    EXPECT_EQ(t.effective, eff) << t.name;
  }
  EXPECT_TRUE(found);
  EXPECT_FALSE(thread_capabilities(999999999).ok());
}

}  // namespace
}  // namespace bngkit::ops
