// Capability dropping, in a forked child so the test process keeps its own.
#include <bngkit/ops/capabilities.hpp>

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
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

}  // namespace
}  // namespace bngkit::ops
