#!/usr/bin/env python3
"""Turns a CUDA kernel file into host C++ for tests/mixed_edge/cuda_emu.h, which runs every
launch block by block with one std::thread per CUDA thread (real __syncthreads barriers, warp
shuffles through a block buffer). This lets the CPU-only build execute the CUDA kernels' own
index math, chunking, block reductions and workspace layouts against the CPU reference.

usage: cuda_emu.py INPUT.cu OUTPUT.inc [THREADS_CONSTANT=VALUE ...]
Each optional NAME=VALUE rewrites "constexpr int NAME = ...;" (e.g. kMeThreads=64: a smaller block
keeps the emulation fast while still spanning several warps).
The namespace bnas::kernels::cuda becomes bnas::kernels::cuda_emu (no clash with a real CUDA
build); CUDA-only includes are dropped (cuda_emu.h provides their host stand-ins)."""
import re
import sys


def transform(src, overrides=()):
    out = []
    for line in src.splitlines():
        if re.match(r'\s*#include "(engine/cuda_check\.h|kernels/cuda/launch\.cuh|kernels/cuda/[a-z_]+\.cuh)"', line):
            continue
        if re.match(r"\s*#pragma unroll", line):
            continue
        out.append(line)
    s = "\n".join(out) + "\n"
    for ov in overrides:
        name, value = ov.split("=")
        s, n = re.subn(r"constexpr int %s = [^;]+;" % name, "constexpr int %s = %s;" % (name, value), s)
        assert n == 1, "no constexpr int " + name
    s = s.replace("namespace bnas::kernels::cuda {", "namespace bnas::kernels::cuda_emu {")
    s = s.replace("}  // namespace bnas::kernels::cuda\n", "}  // namespace bnas::kernels::cuda_emu\n")
    s = re.sub(r"__launch_bounds__\([^)]*\)\s*", "", s)
    s = s.replace("__global__ ", "").replace("__device__ __forceinline__ ", "inline ")
    # dynamic shared memory: the launch's byte count, held by the emulated block
    s = re.sub(r"extern __shared__ (\w+) (\w+)\[\];",
               r"\1* \2 = reinterpret_cast<\1*>(::emu::g_block->dynamic_smem.data());", s)
    s = s.replace("__device__ ", "").replace("__shared__ ", "static ")
    # kernel<<<grid, block, smem, stream>>>(args);  ->  ::emu::launch(grid, block, [&] { kernel(args); });
    launch = re.compile(r"(\w+)<<<(.*?)>>>\((.*?)\);", re.S)

    def repl(m):
        # split the configuration at top-level commas (dim3(P, d.C) holds one)
        parts, depth, cur = [], 0, ""
        for ch in m.group(2):
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur.strip())
                cur = ""
            else:
                cur += ch
        parts.append(cur.strip())
        smem = parts[2] if len(parts) > 2 else "0"
        return "::emu::launch(dim3(%s), dim3(%s), %s, [&] { %s(%s); });" % (parts[0], parts[1], smem, m.group(1),
                                                                            m.group(3))

    s = launch.sub(repl, s)
    assert "<<<" not in s, "a launch was not converted"
    return s


def main():
    with open(sys.argv[1]) as f:
        src = f.read()
    with open(sys.argv[2], "w") as f:
        f.write("// Generated from %s by tests/mixed_edge/cuda_emu.py: do not edit.\n" % sys.argv[1])
        f.write(transform(src, sys.argv[3:]))


if __name__ == "__main__":
    main()
