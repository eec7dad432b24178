// Test fixtures for real traffic: a veth pair between two network namespaces the test
// creates (unique names per process, removed on destruction), entering a namespace
// for the current thread, sending UDP from a namespace, and a private bpffs mount.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace ektest {

/// Runs a shell command; returns its exit status (0 = success).
inline int sh(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/// Output of a shell command.
inline std::string sh_out(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  ::pclose(p);
  return out;
}

/// Two namespaces a/b joined by a veth pair: dev_a (10.99.0.1, 02:ee:00:00:00:01) in
/// ns_a, dev_b (10.99.0.2) in ns_b, with a static neighbour entry on b so no ARP delays.
struct VethPair {
  std::string ns_a, ns_b, dev_a, dev_b;
  std::string error;  // set when creation failed
  static constexpr const char* kAddrA = "10.99.0.1";
  static constexpr const char* kAddrB = "10.99.0.2";

  VethPair() {
    static int counter = 0;
    const std::string tag = std::to_string(::getpid()) + "n" + std::to_string(counter++);
    ns_a = "ekA" + tag;
    ns_b = "ekB" + tag;
    dev_a = "eka" + tag;
    dev_b = "ekb" + tag;
    const std::vector<std::string> cmds = {
        "ip netns add " + ns_a,
        "ip netns add " + ns_b,
        "ip link add name " + dev_a + " netns " + ns_a +
            " address 02:ee:00:00:00:01 type veth peer name " + dev_b + " netns " + ns_b +
            " address 02:ee:00:00:00:02",
        "ip -n " + ns_a + " addr add " + kAddrA + "/24 dev " + dev_a,
        "ip -n " + ns_b + " addr add " + kAddrB + "/24 dev " + dev_b,
        "ip -n " + ns_a + " link set lo up",
        "ip -n " + ns_b + " link set lo up",
        "ip -n " + ns_a + " link set " + dev_a + " up",
        "ip -n " + ns_b + " link set " + dev_b + " up",
        "ip -n " + ns_b + " neigh replace " + kAddrA + " lladdr 02:ee:00:00:00:01 dev " + dev_b +
            " nud permanent",
    };
    for (const auto& c : cmds) {
      if (sh(c) != 0) {
        error = "failed: " + c;
        return;
      }
    }
  }
  ~VethPair() {
    sh("ip netns del " + ns_a);  // deleting a namespace destroys its veth end (and the pair)
    sh("ip netns del " + ns_b);
  }
  VethPair(const VethPair&) = delete;
  VethPair& operator=(const VethPair&) = delete;
  [[nodiscard]] bool ok() const { return error.empty(); }
};

/// Moves the calling thread into a named namespace; back on destruction.
class EnterNetns {
 public:
  explicit EnterNetns(const std::string& name) {
    orig_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int fd = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    ok_ = fd >= 0 && orig_ >= 0 && ::setns(fd, CLONE_NEWNET) == 0;
    if (fd >= 0) ::close(fd);
  }
  ~EnterNetns() {
    if (ok_) (void)::setns(orig_, CLONE_NEWNET);
    if (orig_ >= 0) ::close(orig_);
  }
  EnterNetns(const EnterNetns&) = delete;
  EnterNetns& operator=(const EnterNetns&) = delete;
  [[nodiscard]] bool ok() const { return ok_; }

 private:
  int orig_ = -1;
  bool ok_ = false;
};

/// Sends `count` UDP datagrams of `payload_len` bytes to dst:port from inside network
/// namespace `ns` (a forked child enters it). Returns how many sendto() calls succeeded.
inline int send_udp_from(const std::string& ns, const char* dst, std::uint16_t port, int count,
                         std::size_t payload_len) {
  int pipefd[2];
  if (::pipe(pipefd) != 0) return -1;
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::close(pipefd[0]);
    int sent = 0;
    int nsfd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd >= 0 && ::setns(nsfd, CLONE_NEWNET) == 0) {
      int s = ::socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(port);
      ::inet_pton(AF_INET, dst, &to.sin_addr);
      std::vector<char> payload(payload_len, 'x');
      for (int i = 0; i < count; ++i) {
        if (::sendto(s, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof(to)) == static_cast<ssize_t>(payload.size())) {
          ++sent;
        }
        if (i % 32 == 31) ::usleep(2000);  // let the receiving NAPI drain its ring
      }
    }
    (void)!::write(pipefd[1], &sent, sizeof(sent));
    ::_exit(0);
  }
  ::close(pipefd[1]);
  int sent = -1;
  if (::read(pipefd[0], &sent, sizeof(sent)) != sizeof(sent)) sent = -1;
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return sent;
}

/// A bpffs directory for pins: /sys/fs/bpf/bngkit-test-<pid>-<n> when /sys/fs/bpf is a
/// bpffs, else a private bpffs instance mounted at /tmp/bngkit-bpffs-<pid>-<n>.
/// Everything is removed (and unmounted) on destruction.
struct BpffsDir {
  std::string path;
  std::string mount_point;  // non-empty when we mounted our own instance
  std::string error;

  BpffsDir() {
    static int counter = 0;
    const std::string tag = std::to_string(::getpid()) + "-" + std::to_string(counter++);
    struct statfs fs {};
    if (::statfs("/sys/fs/bpf", &fs) == 0 &&
        static_cast<unsigned long>(fs.f_type) == BPF_FS_MAGIC) {
      path = "/sys/fs/bpf/bngkit-test-" + tag;
    } else {
      mount_point = "/tmp/bngkit-bpffs-" + tag;
      std::filesystem::create_directories(mount_point);
      if (::mount("bpf", mount_point.c_str(), "bpf", 0, nullptr) != 0) {
        error = "mount -t bpf bpf " + mount_point + " failed: " + std::to_string(errno);
        return;
      }
      path = mount_point + "/bngkit-test-" + tag;
    }
    std::filesystem::create_directories(path);
  }
  ~BpffsDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
    if (!mount_point.empty()) {
      ::umount2(mount_point.c_str(), MNT_DETACH);
      std::filesystem::remove(mount_point, ec);
    }
  }
  BpffsDir(const BpffsDir&) = delete;
  BpffsDir& operator=(const BpffsDir&) = delete;
  [[nodiscard]] bool ok() const { return error.empty(); }
};

}  // namespace ektest
