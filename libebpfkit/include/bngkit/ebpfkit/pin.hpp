// Pinning: keep maps and programs alive in bpffs beyond the process, open them again
// by path, and detect a missing bpffs with an error that says how to mount it.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/ebpfkit/export.hpp>
#include <bngkit/ebpfkit/map.hpp>
#include <bngkit/ebpfkit/program.hpp>
#include <string>

namespace bngkit::ebpfkit {

/// True when `path` (or, if it does not exist yet, its closest existing ancestor) is
/// on a bpffs mount.
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<bool> on_bpffs(const std::string& path);
/// Ok when on_bpffs(path); otherwise an error such as
/// "/x is not on a bpffs mount: mount -t bpf bpf /sys/fs/bpf".
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<void> require_bpffs(const std::string& path);

/// Pins the map at `path` (parent directories are created).
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<void> pin(const MapHandle& map, const std::string& path);
/// Pins the program at `path` (parent directories are created).
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<void> pin(ProgramRef prog, const std::string& path);
/// Removes the pin at `path` (the object lives on while something else holds it).
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<void> unpin(const std::string& path);

/// Opens the map pinned at `path` (owned fd; name from the kernel).
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<MapHandle> open_pinned_map(const std::string& path);
/// Opens the program pinned at `path` (owned fd).
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<ProgramHandle> open_pinned_program(
    const std::string& path);

}  // namespace bngkit::ebpfkit
