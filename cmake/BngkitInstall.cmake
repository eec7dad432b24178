# Install/export helpers: each component installs its targets into its own export set,
# a pkg-config file, and a deps file that bngkitConfig.cmake includes on request.
include(CMakePackageConfigHelpers)
set(BNGKIT_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/bngkit")
set_property(GLOBAL PROPERTY BNGKIT_COMPONENTS "")

# bngkit_library(<target> COMPONENT <name>)
# Sets output name, version/SOVERSION, warnings and the generated export header
# <bngkit/<component>/export.hpp> (macro BNGKIT_<COMPONENT>_EXPORT).
function(bngkit_library target)
  cmake_parse_arguments(ARG "" "COMPONENT" "" ${ARGN})
  string(TOUPPER "${ARG_COMPONENT}" upper)
  add_library(bngkit::${ARG_COMPONENT} ALIAS ${target})
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME bngkit_${ARG_COMPONENT}
    EXPORT_NAME ${ARG_COMPONENT}
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  set(export_dir "${CMAKE_CURRENT_BINARY_DIR}/export_include")
  generate_export_header(${target}
    BASE_NAME bngkit_${ARG_COMPONENT}
    EXPORT_MACRO_NAME BNGKIT_${upper}_EXPORT
    EXPORT_FILE_NAME "${export_dir}/bngkit/${ARG_COMPONENT}/export.hpp")
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${export_dir}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${target} PUBLIC cxx_std_20)
  bngkit_warnings(${target})
  install(FILES "${export_dir}/bngkit/${ARG_COMPONENT}/export.hpp"
    DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/bngkit/${ARG_COMPONENT}")
endfunction()

# bngkit_install_component(<component> TARGETS t... [HEADERS dirs-or-files...]
#   [REQUIRES other-components...]         bngkit components it links
#   [FIND_DEPENDENCIES "pkg args"...]      find_dependency() calls for consumers
#   [PKGCONFIG_REQUIRES "mod"...])         Requires: lines of its .pc file
function(bngkit_install_component component)
  cmake_parse_arguments(ARG "" ""
    "TARGETS;HEADERS;REQUIRES;FIND_DEPENDENCIES;PKGCONFIG_REQUIRES" ${ARGN})
  set_property(GLOBAL APPEND PROPERTY BNGKIT_COMPONENTS ${component})

  install(TARGETS ${ARG_TARGETS} EXPORT bngkit-${component}-targets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  # Each header path keeps its place below its library's include/ directory, so
  # components can share a folder (bng_codec installs bng/dhcp, bng installs bng/pool).
  foreach(path IN LISTS ARG_HEADERS)
    if(NOT path MATCHES "^(.*/include)/(.+)$")
      message(FATAL_ERROR "bngkit_install_component: ${path} is not below an include/ directory")
    endif()
    get_filename_component(dest "${CMAKE_MATCH_2}" DIRECTORY)
    if(IS_DIRECTORY "${path}")
      install(DIRECTORY "${path}" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/${dest}")
    else()
      install(FILES "${path}" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/${dest}")
    endif()
  endforeach()
  install(EXPORT bngkit-${component}-targets
    FILE bngkit-${component}-targets.cmake
    NAMESPACE bngkit::
    DESTINATION ${BNGKIT_CMAKE_DIR})

  # Deps file: which components come first, and which packages consumers must find.
  set(deps "# Generated: what bngkit::${component} needs.\n")
  string(APPEND deps "set(_bngkit_${component}_requires ${ARG_REQUIRES})\n")
  foreach(dep IN LISTS ARG_FIND_DEPENDENCIES)
    if(dep STREQUAL "libbpf")
      string(APPEND deps "find_dependency(PkgConfig)\n"
        "if(NOT TARGET PkgConfig::LIBBPF)\n"
        "  pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf>=1.1)\n"
        "endif()\n")
    else()
      string(APPEND deps "find_dependency(${dep})\n")
    endif()
  endforeach()
  file(WRITE "${PROJECT_BINARY_DIR}/bngkit-${component}-deps.cmake" "${deps}")
  install(FILES "${PROJECT_BINARY_DIR}/bngkit-${component}-deps.cmake"
    DESTINATION ${BNGKIT_CMAKE_DIR})

  # pkg-config: one file per component.
  set(pc_requires "")
  foreach(req IN LISTS ARG_REQUIRES)
    list(APPEND pc_requires "bngkit-${req}")
  endforeach()
  list(APPEND pc_requires ${ARG_PKGCONFIG_REQUIRES})
  list(JOIN pc_requires ", " PC_REQUIRES)
  set(PC_LIBS "")
  foreach(t IN LISTS ARG_TARGETS)
    get_target_property(type ${t} TYPE)
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(out ${t} OUTPUT_NAME)
      string(APPEND PC_LIBS " -l${out}")
    endif()
  endforeach()
  set(PC_COMPONENT ${component})
  # Relocatable: the prefix is found from where the .pc file itself is installed.
  file(RELATIVE_PATH PC_PREFIX_FROM_PCFILEDIR
    "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
  configure_file("${PROJECT_SOURCE_DIR}/cmake/bngkit-component.pc.in"
    "${PROJECT_BINARY_DIR}/pkgconfig/bngkit-${component}.pc" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/pkgconfig/bngkit-${component}.pc"
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endfunction()

# Writes and installs bngkitConfig.cmake and its version file; call once, last.
function(bngkit_install_package)
  get_property(BNGKIT_ALL_COMPONENTS GLOBAL PROPERTY BNGKIT_COMPONENTS)
  configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/bngkitConfig.cmake.in"
    "${PROJECT_BINARY_DIR}/bngkitConfig.cmake"
    INSTALL_DESTINATION ${BNGKIT_CMAKE_DIR})
  write_basic_package_version_file("${PROJECT_BINARY_DIR}/bngkitConfigVersion.cmake"
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
  install(FILES "${PROJECT_BINARY_DIR}/bngkitConfig.cmake"
    "${PROJECT_BINARY_DIR}/bngkitConfigVersion.cmake"
    "${PROJECT_SOURCE_DIR}/cmake/BpfSkeleton.cmake"
    DESTINATION ${BNGKIT_CMAKE_DIR})
endfunction()
