# Cache options of a packaged bngkit: the libraries, their headers, the CMake package and
# the pkg-config files, nothing else. The one list both packaging paths load with
# `cmake -C`: conanfile.py (CMake.configure) and tests/consumer/check-installed.sh, so the
# tree the consumer test proves is the tree the Conan package ships.
set(BNGKIT_BUILD_TESTS OFF CACHE BOOL "bngkit package: no tests")
set(BNGKIT_BUILD_BENCH OFF CACHE BOOL "bngkit package: no benchmarks")
set(BNGKIT_BUILD_EXAMPLES OFF CACHE BOOL "bngkit package: no examples")
set(BNGKIT_BUILD_APPS OFF CACHE BOOL "bngkit package: libraries only, no daemons")
set(BNGKIT_FUZZ OFF CACHE BOOL "bngkit package: no fuzz targets")
