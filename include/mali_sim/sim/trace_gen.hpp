// Synthetic trace generators: workloads with a known shape, so that a replay's counters (chunks
// grown, faults, TLB behaviour) can be checked against numbers derived from the parameters rather
// than against a captured trace. Output is a pure function of GenParams: the random source is
// std::mt19937_64 (fully specified by the standard) with our own bounded draws, so a seed gives
// byte-identical traces on every standard library.
//
// Kinds (N = accesses, C = cores, H = heap_bytes, B = buffer_bytes, K = contexts):
//   tiler-heap     one context: heap "heap" (noexec|heap, H) and executable "code" (64 KiB); one job on
//                  all cores. A shared bump pointer walks 64-byte records from offset 0 to exactly
//                  H-64: N/8 instruction fetches (x, 64 B, from code), N/8 reads of recently written
//                  records (64 B), the rest record writes (64 B). The first and the last access are
//                  writes, and every 2 MiB chunk of the heap is written: H/2MiB chunks are touched.
//   heap-random    one context, heap "heap" (H); one job on all cores; N reads or writes (4 B, coin
//                  flip) at uniformly random 4-byte-aligned offsets in the heap.
//   streaming      one context, noexec buffers "input" and "output" (B each); one job on all cores.
//                  Core c owns slice c of each buffer (B/C rounded down to 64 B) and alternates a read
//                  of input with a write of output at the same offset, 64 B strides, wrapping in its
//                  slice. Core c does N/C (+1 if c < N%C) accesses, ceil of half of them reads.
//   multi-context  K contexts ctxG, each with heap "heapG" (H) and noexec buffer "bufG" (B) and one job
//                  "jobG". The jobs run in pairs, as the GPU's two job slots let them (one fragment
//                  job, slot 0, and one compute job, slot 1): jobs 2W and 2W+1 (K even; K odd: a lone
//                  compute job 0 first, then pairs 2W+1, 2W+2), a pair's jobs on the two halves of
//                  the cores ([0, C/2) and [C/2, C); both on every core if C < 2, a lone job on all),
//                  each pair after the one before has ended. The first of a pair is the fragment job.
//                  Job G does n_G = N/K (+1 if G < N%K) accesses: n_G/2 heap record writes
//                  (bump pointer from 0 to H-64, 64 B) and the rest buffer reads (64 B, streamed per
//                  core slice). The last context is buggy: after n_G/2 of its accesses it writes 4 B
//                  at absolute VA kBugVa, outside all its BOs (one extra access: N+1 in total), so its
//                  job gets a terminal fault while the other job of its pair runs to the end.
// Every trace starts with comments naming the kind, seed and parameters; each job ends with `end`
// after its last access, and every BO is freed at the end. Per core, deltas are uniform in
// [1, 2*mean_delta-1] (mean mean_delta); accesses are emitted in time order across cores.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mali_sim/error.hpp"
#include "mali_sim/sim/trace.hpp"

namespace mali_sim::trace {

struct GenParams {
  std::string kind;  // one of generator_kinds()
  std::uint64_t seed = 1;
  std::uint64_t accesses = 100000;           // total access events (multi-context: one more, the bug)
  unsigned cores = 4;                        // 1..64
  std::uint64_t heap_bytes = 64ULL << 20;    // heap kinds: multiple of 2 MiB, at most 2 GiB
  std::uint64_t buffer_bytes = 16ULL << 20;  // streaming, multi-context: multiple of 4 KiB, at most 1 GiB
  unsigned contexts = 3;                     // multi-context: 2..64
  std::uint64_t mean_delta = 4;              // mean cycles between a core's accesses, 1..2^20
};

// The multi-context bug's address: below 4 GiB, above every BO the VA allocator hands out for the
// sizes GenParams allows (heap + buffer + alignment stays far below it).
inline constexpr std::uint64_t kBugVa = 0xFFFF0000ULL;

std::vector<std::string> generator_kinds();

// Writes a complete trace through `out` (the header and finish() are the caller's business).
// kInvalidArgument naming the parameter for bad parameters, before anything is written; otherwise
// the first error of `out`.
Status generate(const GenParams& p, TraceWriter& out);

}  // namespace mali_sim::trace
