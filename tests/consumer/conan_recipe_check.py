#!/usr/bin/python3
"""Checks conanfile.py without Conan (not installable on these machines: no PyPI).

The recipe is loaded with a minimal stand-in for the `conan` modules it imports (only those
names), then:
  - set_version() reads the project's version from CMakeLists.txt;
  - build() configures with `-C <options file>` and that file is the one check-installed.sh
    built the installed tree with (passed in as an argument), then builds; package()
    installs through CMake;
  - package_info() declares exactly the components installed in <prefix> (one
    bngkit-<c>-targets.cmake and bngkit-<c>.pc each), each with the CMake target
    bngkit::<c>, the pkg-config name bngkit-<c>, the library named by the .pc's -l flag,
    and the bngkit components it requires equal to both the deps file's
    _bngkit_<c>_requires and the .pc's bngkit-* Requires; the build module it names exists;
    every other .pc Requires (libbpf, sqlite3...) has a Conan requirement in the component;
  - validate() refuses a non-Linux OS and requires C++20 (check_min_cppstd; the stand-in
    refuses C++17 as Conan does).
What this does NOT test: dependency resolution against ConanCenter (package names,
versions, their component names), the real CMakeToolchain/CMakeDeps output, `conan create`
and test_package under Conan. test_package's CMake project itself is built and run against
the installed tree by check-installed.sh.

Usage: conan_recipe_check.py <repo-root> <install-prefix> <options-file-used-by-the-test>
"""
import os
import re
import sys
import types

root, prefix, options_used = (os.path.abspath(a) for a in sys.argv[1:4])
calls = []


class ConanInvalidConfiguration(Exception):
    pass


class ConanFile:  # the attributes a recipe's methods read
    def __init__(self):
        self.recipe_folder = root
        self.source_folder = root
        self.package_folder = "/pkg"
        self.settings = None
        self.options = None
        self.cpp_info = None


class CMake:
    def __init__(self, conanfile):
        self.conanfile = conanfile

    def configure(self, variables=None, cli_args=None, build_script_folder=None):
        calls.append(("configure", variables, list(cli_args or []), build_script_folder))

    def build(self, build_type=None, target=None, cli_args=None, build_tool_args=None):
        calls.append(("build", target))

    def install(self, build_type=None, component=None):
        calls.append(("install", component))


class _Generator:
    def __init__(self, conanfile):
        pass

    def generate(self):
        calls.append(("generate", type(self).__name__))


class CMakeToolchain(_Generator):
    pass


class CMakeDeps(_Generator):
    pass


def cmake_layout(conanfile, *args, **kwargs):
    calls.append(("layout",))


def copy(conanfile, pattern, src, dst, *args, **kwargs):
    calls.append(("copy", pattern))


def load(conanfile, path, *args, **kwargs):
    with open(path) as f:
        return f.read()


def check_min_cppstd(conanfile, cppstd):
    calls.append(("check_min_cppstd", int(cppstd)))
    if conanfile.settings.compiler.cppstd is not None and \
            int(str(conanfile.settings.compiler.cppstd).removeprefix("gnu")) < int(cppstd):
        raise ConanInvalidConfiguration(f"needs C++{cppstd}")


def _module(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m


_module("conan", ConanFile=ConanFile)
_module("conan.tools")
_module("conan.tools.cmake", CMake=CMake, CMakeDeps=CMakeDeps, CMakeToolchain=CMakeToolchain,
        cmake_layout=cmake_layout)
_module("conan.tools.files", copy=copy, load=load)
_module("conan.tools.build", check_min_cppstd=check_min_cppstd)
_module("conan.errors", ConanInvalidConfiguration=ConanInvalidConfiguration)


class Settings:
    def __init__(self, os_name, cppstd):
        self.os = os_name
        self.compiler = types.SimpleNamespace(cppstd=cppstd)


class Component:
    def __init__(self):
        self.libs, self.requires, self.system_libs, self.properties = [], [], [], {}

    def set_property(self, k, v):
        self.properties[k] = v


class CppInfo(Component):
    def __init__(self):
        super().__init__()
        self.builddirs = []
        self.components = {}

    class _Components(dict):
        def __missing__(self, k):
            self[k] = Component()
            return self[k]


problems = []
# pkg-config module -> the Conan component (prefix) that provides it.
PKGCONFIG_TO_CONAN = {"libbpf": "libbpf::", "sqlite3": "sqlite3::", "openssl": "openssl::",
                      "prometheus-cpp-core": "prometheus-cpp::prometheus-cpp-core",
                      "tomlplusplus": "tomlplusplus::"}


def check(cond, message):
    if not cond:
        problems.append(message)


namespace = {"__file__": os.path.join(root, "conanfile.py"), "__name__": "conanfile"}
with open(os.path.join(root, "conanfile.py")) as f:
    exec(compile(f.read(), "conanfile.py", "exec"), namespace)
recipes = [v for v in namespace.values()
           if isinstance(v, type) and issubclass(v, ConanFile) and v is not ConanFile]
check(len(recipes) == 1, f"conanfile.py defines {len(recipes)} recipes, expected 1")
recipe = recipes[0]()

# Version: the project's.
recipe.set_version()
with open(os.path.join(root, "CMakeLists.txt")) as f:
    project_version = re.search(r"project\(bngkit VERSION (\S+)", f.read()).group(1)
check(recipe.version == project_version,
      f"recipe version {recipe.version} != project version {project_version}")
check(recipe.name == "bngkit", f"recipe name {recipe.name}")

# exports_sources: every pattern matches something in the tree.
import glob
for pattern in recipe.exports_sources:
    check(glob.glob(os.path.join(root, pattern)), f"exports_sources {pattern} matches nothing")

# validate()
calls.clear()
recipe.settings = Settings("Linux", "20")
recipe.validate()
check(("check_min_cppstd", 20) in calls, "validate() does not require C++20")
for bad in (Settings("Windows", "20"), Settings("Linux", "17")):
    recipe.settings = bad
    try:
        recipe.validate()
        problems.append(f"validate() accepts os={bad.os} cppstd={bad.compiler.cppstd}")
    except ConanInvalidConfiguration:
        pass

# build(): the shared option file, then build; package(): CMake install.
calls.clear()
recipe.generate()
recipe.build()
recipe.package()
configure = [c for c in calls if c[0] == "configure"]
check(len(configure) == 1, f"build() configures {len(configure)} times: {calls}")
if configure:
    args = configure[0][2]
    check("-C" in args and args.index("-C") + 1 < len(args),
          f"build() does not load an options file with -C: {args}")
    if "-C" in args:
        used = os.path.abspath(args[args.index("-C") + 1])
        check(used == options_used,
              f"the recipe configures with {used}, the consumer test with {options_used}")
check(("build", None) in calls, "build() does not build")
check(("install", None) in calls, "package() does not install with CMake")
check(("generate", "CMakeToolchain") in calls and ("generate", "CMakeDeps") in calls,
      "generate() does not write the CMake toolchain and deps")

# package_info() against the installed tree.
recipe.cpp_info = CppInfo()
recipe.cpp_info.components = CppInfo._Components()
recipe.package_info()
info = recipe.cpp_info
check(info.properties.get("cmake_file_name") == "bngkit", "cmake_file_name is not bngkit")
cmake_dir = os.path.join(prefix, "lib", "cmake", "bngkit")
pc_dir = os.path.join(prefix, "lib", "pkgconfig")
installed = sorted(re.fullmatch(r"bngkit-(.+)-targets\.cmake", f).group(1)
                   for f in os.listdir(cmake_dir) if re.fullmatch(r"bngkit-.+-targets\.cmake", f))
check(sorted(info.components) == installed,
      f"recipe components {sorted(info.components)} != installed {installed}")
for module in info.properties.get("cmake_build_modules", []):
    check(os.path.isfile(os.path.join(prefix, module)), f"build module {module} is not installed")
for name in installed:
    c = info.components.get(name)
    if c is None:
        continue
    with open(os.path.join(cmake_dir, f"bngkit-{name}-deps.cmake")) as f:
        listed = re.search(rf"set\(_bngkit_{name}_requires([^)]*)\)", f.read()).group(1)
    cmake_req = listed.replace(";", " ").split()
    with open(os.path.join(pc_dir, f"bngkit-{name}.pc")) as f:
        pc = f.read()
    pc_req = re.findall(r"bngkit-([\w]+)", re.search(r"^Requires:(.*)$", pc, re.M).group(1))
    pc_libs = re.findall(r"-l(\S+)", re.search(r"^Libs:(.*)$", pc, re.M).group(1))
    internal = sorted(r for r in c.requires if "::" not in r)
    check(internal == sorted(cmake_req),
          f"component {name}: recipe requires {internal}, CMake package {sorted(cmake_req)}")
    check(internal == sorted(pc_req),
          f"component {name}: recipe requires {internal}, bngkit-{name}.pc {sorted(pc_req)}")
    # The .pc's other Requires (libbpf, sqlite3...) have a Conan requirement in the component.
    for ext in re.findall(r"([\w+-]+)", re.search(r"^Requires:(.*)$", pc, re.M).group(1)):
        if ext.startswith("bngkit-"):
            continue
        conan_ref = PKGCONFIG_TO_CONAN.get(ext)
        check(conan_ref and any(r.startswith(conan_ref) for r in c.requires),
              f"component {name}: bngkit-{name}.pc requires {ext}, the recipe's component "
              f"does not ({conan_ref or 'no Conan package known for it'})")
    check(c.libs == pc_libs, f"component {name}: libs {c.libs}, bngkit-{name}.pc -l {pc_libs}")
    check(c.properties.get("cmake_target_name") == f"bngkit::{name}",
          f"component {name}: cmake_target_name {c.properties.get('cmake_target_name')}")
    check(c.properties.get("pkg_config_name") == f"bngkit-{name}",
          f"component {name}: pkg_config_name {c.properties.get('pkg_config_name')}")
    for lib in c.libs:
        check(glob.glob(os.path.join(prefix, "lib", f"lib{lib}.*")),
              f"component {name}: lib{lib} is not installed")

if problems:
    print("conanfile.py does not match the installed package:\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"conanfile.py: {len(installed)} components match the installed CMake package and "
      f"pkg-config files; builds with {os.path.relpath(options_used, root)}")
