// Everything in bngkit::ebpfkit with one include.
#pragma once

#include <bngkit/ebpfkit/attach.hpp>
#include <bngkit/ebpfkit/fd.hpp>
#include <bngkit/ebpfkit/health.hpp>
#include <bngkit/ebpfkit/libbpf_opts.hpp>
#include <bngkit/ebpfkit/log.hpp>
#include <bngkit/ebpfkit/map.hpp>
#include <bngkit/ebpfkit/object.hpp>
#include <bngkit/ebpfkit/pin.hpp>
#include <bngkit/ebpfkit/probe.hpp>
#include <bngkit/ebpfkit/program.hpp>
#include <bngkit/ebpfkit/ringbuf.hpp>
#include <bngkit/ebpfkit/test_run.hpp>
