#!/usr/bin/env python3
"""Turns a CUDA kernel file into host C++ for tests/cuda_emu/cuda_emu.h, which runs every launch
block by block with one std::thread per CUDA thread (real __syncthreads barriers, warp shuffles
among the lanes of a warp, fresh poisoned shared memory per block). This lets the CPU-only build
execute the CUDA kernels' own index math, chunking, block reductions and workspace layouts
against the CPU reference.

usage: cuda_emu.py INPUT.cu OUTPUT.inc [NAME=VALUE ...]
Each optional NAME=VALUE rewrites "constexpr int NAME = ...;" (or int64_t) in the file or in the
kernels/cuda headers it includes (e.g. kThreads=64: a smaller block keeps the emulation fast while
still spanning several warps and blocks).
The namespace bnas::kernels::cuda becomes bnas::kernels::cuda_emu_<file stem> (no clash with a
real CUDA build, nor between converted files). The kernels/cuda/*.cuh headers are inlined (their
declarations move into that namespace too); CUDA-only includes are dropped (cuda_emu.h provides
their host stand-ins). #line directives keep compiler messages and barrier call sites pointing at
the original files."""
import os
import re
import sys

DROPPED = re.compile(r'\s*#include (<cuda_runtime_api\.h>|<cublas_v2\.h>|"engine/cuda_check\.h")')
INLINED = re.compile(r'\s*#include "kernels/cuda/([a-z_]+\.cuh)"')


def flatten(path, rel, seen):
    """The file's lines with its kernels/cuda/*.cuh includes inlined once each."""
    out = ['#line 1 "%s"' % rel]
    with open(path) as f:
        lines = f.read().splitlines()
    for no, line in enumerate(lines, 1):
        m = INLINED.match(line)
        if m:
            name = m.group(1)
            if name not in seen:
                seen.add(name)
                out += flatten(os.path.join(os.path.dirname(path), name), "kernels/cuda/" + name, seen)
            out.append('#line %d "%s"' % (no + 1, rel))
        elif DROPPED.match(line) or re.match(r"\s*#pragma (once|unroll)", line):
            out.append("")
        else:
            out.append(line)
    return out


def shared_decl(m, counter):
    """__shared__ T a[n], b[m];  ->  auto& a = ::emu::shared<T[n]>(id); auto& b = ..."""
    ty = m.group(1).strip()
    decls = []
    for d in m.group(2).split(","):
        d = d.strip()
        name = re.match(r"\w+", d).group(0)
        counter[0] += 1
        decls.append("auto& %s = ::emu::shared<%s%s>(%d);" % (name, ty, d[len(name):], counter[0]))
    return " ".join(decls)


def split_top_level(s):
    """Splits a launch configuration at top-level commas (dim3(P, d.C) holds one)."""
    parts, depth, cur = [], 0, ""
    for ch in s:
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
    return parts


def transform(path, overrides=()):
    stem = os.path.splitext(os.path.basename(path))[0]
    s = "\n".join(flatten(path, "kernels/cuda/" + os.path.basename(path), set())) + "\n"
    for ov in overrides:
        name, value = ov.split("=")
        s, n = re.subn(r"(constexpr (?:int|int64_t) %s = )[^;]+;" % name, r"\g<1>%s;" % value, s)
        assert n == 1, "no constexpr int " + name
    s = s.replace("namespace bnas::kernels::cuda {", "namespace bnas::kernels::cuda_emu_%s {" % stem)
    s = re.sub(r"}  // namespace bnas::kernels::cuda$", "}  // namespace bnas::kernels::cuda_emu_" + stem, s,
               flags=re.M)
    assert "kernels::cuda::" not in s and "namespace bnas::kernels::cuda " not in s, "a cuda namespace remains"
    s = re.sub(r"__launch_bounds__\([^)]*\)\s*", "", s)
    s = s.replace("__global__ ", "").replace("__device__ __forceinline__ ", "inline ")
    s = re.sub(r"extern __shared__ (\w+) (\w+)\[\];", r"\1* \2 = ::emu::dynamic_shared<\1>();", s)
    counter = [0]
    s = re.sub(r"__shared__ ((?:\w+ )+?)(\w+(?:\[[^\]]*\])*(?:, \w+(?:\[[^\]]*\])*)*);",
               lambda m: shared_decl(m, counter), s)
    s = s.replace("__device__ ", "")
    assert "__shared__" not in s, "a __shared__ declaration was not converted"

    # kernel<<<grid, block, smem, stream>>>(args);  ->  ::emu::launch(grid, block, smem, [&] { kernel(args); });
    def launch(m):
        parts = split_top_level(m.group(2))
        smem = parts[2] if len(parts) > 2 else "0"
        return "::emu::launch(dim3(%s), dim3(%s), %s, [&] { %s(%s); });" % (parts[0], parts[1], smem, m.group(1),
                                                                            m.group(3))

    s = re.sub(r"(\w+)<<<(.*?)>>>\((.*?)\);", launch, s, flags=re.S)
    assert "<<<" not in s, "a launch was not converted"
    return s


def main():
    out = transform(sys.argv[1], sys.argv[3:])
    with open(sys.argv[2], "w") as f:
        f.write("// Generated from %s by tests/cuda_emu/cuda_emu.py: do not edit.\n" % sys.argv[1])
        # CUDA code compares threadIdx.x (unsigned) with ints, which nvcc does not warn about.
        f.write('#pragma GCC diagnostic push\n#pragma GCC diagnostic ignored "-Wsign-compare"\n')
        f.write(out)
        f.write("#pragma GCC diagnostic pop\n")


if __name__ == "__main__":
    main()
