# Conan 2 recipe for bngkit. Its build is the CMake install that tests/consumer proves:
# configure with the cache options of cmake/package-options.cmake (loaded with `-C`, the same
# file check-installed.sh loads), build, `cmake --install`. package_info() declares one Conan
# component per installed CMake component (bngkit::<c>) and pkg-config file (bngkit-<c>.pc);
# tests/consumer/conan_recipe_check.py compares the two against an installed tree.
#
#   conan create . --build=missing      # builds, then runs test_package/
import os

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load

# The shared option list (relative to the recipe's source folder).
PACKAGE_OPTIONS = os.path.join("cmake", "package-options.cmake")
# Installed by bngkit_install_package() (cmake/BngkitInstall.cmake).
BPF_SKELETON_MODULE = os.path.join("lib", "cmake", "bngkit", "BpfSkeleton.cmake")

# component -> (bngkit components it links, Conan requirements it needs). Mirrors the
# REQUIRES / FIND_DEPENDENCIES of bngkit_install_component() in lib*/CMakeLists.txt;
# private dependencies are listed too, so a static build links.
COMPONENTS = {
    "common": ([], []),
    "ops": (["common"], ["boost::headers", "prometheus-cpp::prometheus-cpp-core",
                         "tomlplusplus::tomlplusplus", "boost::json", "spdlog::spdlog"]),
    "ebpfkit": (["common"], ["libbpf::libbpf", "fmt::fmt"]),
    "bng_codec": (["common"], ["openssl::crypto"]),
    "bng": (["bng_codec", "ebpfkit"], ["sqlite3::sqlite3", "boost::headers"]),
    "nexus": (["common", "ops"], ["sqlite3::sqlite3", "openssl::ssl", "openssl::crypto",
                                  "boost::json", "spdlog::spdlog"]),
    "fanout": (["common", "ebpfkit"], ["spdlog::spdlog", "boost::headers", "boost::json",
                                       "openssl::ssl", "openssl::crypto"]),
}
# Components without a library of their own (INTERFACE targets: headers only).
HEADER_ONLY = {"common"}


class BngkitConan(ConanFile):
    name = "bngkit"
    description = "Embeddable C++20 libraries for ISP edge networking (BNG, Nexus, UDP fanout)"
    license = "Apache-2.0"
    topics = ("bng", "dhcp", "radius", "ebpf", "xdp", "networking")
    package_type = "library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"shared": [True, False]}
    default_options = {"shared": True}
    # What a build with cmake/package-options.cmake reads (no apps, tests, examples, bench).
    exports_sources = ("CMakeLists.txt", "cmake/*", "lib*/*")

    def set_version(self):
        # One version, the project's: read from CMakeLists.txt.
        text = load(self, os.path.join(self.recipe_folder, "CMakeLists.txt"))
        marker = "project(bngkit VERSION "
        self.version = text[text.index(marker) + len(marker):].split()[0]

    def validate(self):
        if self.settings.os != "Linux":
            raise ConanInvalidConfiguration("bngkit needs Linux (BPF, XDP, TC)")
        check_min_cppstd(self, 20)

    def requirements(self):
        # Ranges from the versions bngkit is built and tested with (Debian 12) up to the next
        # major: ConanCenter drops old patch versions, so exact pins go stale. Not resolved
        # from here (no Conan on these machines); the package and component names were
        # checked against conan-center-index recipes.
        self.requires("libbpf/[>=1.1 <2]", transitive_headers=True)
        self.requires("fmt/[>=9.1 <12]")
        self.requires("spdlog/[>=1.10 <2]")
        self.requires("boost/[>=1.81 <2]", transitive_headers=True)
        self.requires("tomlplusplus/[>=3.3 <4]", transitive_headers=True)
        self.requires("prometheus-cpp/[>=1.1 <2]", transitive_headers=True)
        self.requires("sqlite3/[>=3.40 <4]")
        self.requires("openssl/[>=3 <4]")

    def build_requirements(self):
        self.tool_requires("cmake/[>=3.25]")
        # clang and bpftool compile and embed the kernel programs; taken from the build
        # machine (no ConanCenter package for bpftool).

    def layout(self):
        cmake_layout(self)

    def generate(self):
        CMakeToolchain(self).generate()  # BUILD_SHARED_LIBS from options.shared
        CMakeDeps(self).generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure(cli_args=["-C", os.path.join(self.source_folder, PACKAGE_OPTIONS)])
        cmake.build()

    def package(self):
        copy(self, "LICENSE*", self.source_folder, os.path.join(self.package_folder, "licenses"))
        CMake(self).install()

    def package_info(self):
        # Consumers get the same names as from the installed CMake package and pkg-config.
        self.cpp_info.set_property("cmake_file_name", "bngkit")
        self.cpp_info.set_property("pkg_config_name", "bngkit")
        for component, (internal, external) in COMPONENTS.items():
            c = self.cpp_info.components[component]
            c.libs = [] if component in HEADER_ONLY else [f"bngkit_{component}"]
            c.requires = internal + external
            c.set_property("cmake_target_name", f"bngkit::{component}")
            c.set_property("pkg_config_name", f"bngkit-{component}")
            if component in ("ops", "nexus", "fanout"):
                c.system_libs = ["pthread"]
        # bngkit_add_bpf_skeleton() for consumers' own kernel programs (examples/xdp-counter):
        # CMakeDeps writes its own bngkit-config.cmake, so the installed helper is included
        # as a build module instead of by bngkitConfig.cmake.
        self.cpp_info.set_property("cmake_build_modules", [BPF_SKELETON_MODULE])
