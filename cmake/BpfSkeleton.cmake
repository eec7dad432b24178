# bngkit_add_bpf_skeleton(<target> SOURCE <file.bpf.c> [NAME <name>] [INCLUDES dirs...])
#
# Compiles a kernel program with `clang -target bpf -O2 -g` (a depfile makes header
# edits rebuild it) and generates `<name>.skel.h` with `bpftool gen skeleton`. The
# skeleton embeds the ELF, so the owning target needs no object path at run time:
# `#include "<name>.skel.h"` from any source of <target>.
#
# Installed with the bngkit package too, so integrators build their own kernel programs
# the same way. The tools are looked up here but only required when the function is used.
find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(BPF_TARGET_ARCH arm64)
else()
  set(BPF_TARGET_ARCH ${CMAKE_SYSTEM_PROCESSOR})
endif()

function(bngkit_add_bpf_skeleton target)
  cmake_parse_arguments(ARG "" "SOURCE;NAME" "INCLUDES" ${ARGN})
  if(NOT ARG_SOURCE)
    message(FATAL_ERROR "bngkit_add_bpf_skeleton: SOURCE is required")
  endif()
  if(NOT BPF_CLANG OR NOT BPFTOOL)
    message(FATAL_ERROR "bngkit_add_bpf_skeleton: needs clang and bpftool (Debian: clang bpftool)")
  endif()
  get_filename_component(src "${ARG_SOURCE}" ABSOLUTE)
  if(NOT ARG_NAME)
    get_filename_component(ARG_NAME "${src}" NAME)
    string(REGEX REPLACE "\\.bpf\\.c$" "" ARG_NAME "${ARG_NAME}")
  endif()

  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/bpf")
  set(obj "${out_dir}/${ARG_NAME}.bpf.o")
  set(skel "${out_dir}/${ARG_NAME}.skel.h")
  set(dep "${out_dir}/${ARG_NAME}.bpf.d")

  set(include_flags "")
  foreach(dir IN LISTS ARG_INCLUDES)
    get_filename_component(dir "${dir}" ABSOLUTE)
    list(APPEND include_flags "-I${dir}")
  endforeach()
  if(CMAKE_LIBRARY_ARCHITECTURE)
    list(APPEND include_flags "-I/usr/include/${CMAKE_LIBRARY_ARCHITECTURE}")
  endif()

  add_custom_command(
    OUTPUT "${obj}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${out_dir}"
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${BPF_TARGET_ARCH}
            -Wall -Wno-unused-function ${include_flags}
            -MD -MF "${dep}" -c "${src}" -o "${obj}"
    DEPENDS "${src}"
    DEPFILE "${dep}"
    COMMENT "BPF ${ARG_NAME}.bpf.c"
    VERBATIM)
  # The skeleton embeds the ELF as one string literal, often longer than the 65536
  # characters C++ guarantees, which -Wpedantic reports under clang (-Woverlength-strings).
  # GCC and clang take far longer literals and bpftool has no other form, so the generated
  # header silences exactly that warning around its own text.
  add_custom_command(
    OUTPUT "${skel}"
    COMMAND sh -c "{ printf '%s\\n' \"$4\" \"$5\" \"$6\" && \"$0\" gen skeleton \"$1\" name \"$2\" && printf '%s\\n' \"$7\"; } > \"$3.tmp\" && mv \"$3.tmp\" \"$3\""
            "${BPFTOOL}" "${obj}" "${ARG_NAME}" "${skel}"
            "/* bngkit: the embedded ELF may exceed the 65536-character literal length C++ guarantees. */"
            "#pragma GCC diagnostic push"
            "#pragma GCC diagnostic ignored \"-Woverlength-strings\""
            "#pragma GCC diagnostic pop"
    DEPENDS "${obj}"
    COMMENT "BPF skeleton ${ARG_NAME}.skel.h"
    VERBATIM)
  target_sources(${target} PRIVATE "${skel}")
  target_include_directories(${target} PRIVATE "${out_dir}")
endfunction()
