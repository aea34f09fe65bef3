#!/usr/bin/env python3
"""Turns a CUDA kernel file (kernels/cuda/*.cu) into host C++ for the emulated device
(emulator/include/cuda_emu/kernel.h): kernel qualifiers go, __shared__ declarations become the
block's shared memory, and every launch kernel<<<grid, block, smem, stream>>>(args) becomes
cuda_emu::launch(site, grid, block, smem, stream, [=] { kernel(args); }, pointer_args(args)),
whose site names the kernel and its line and says whether the kernel (or a function it calls)
uses __syncthreads or warp shuffles, so the emulator runs barrier-free kernels as plain loops.

usage: convert.py INPUT.cu OUTPUT.cpp [--test] [NAME=VALUE ...]
--test: the namespace bnas::kernels::cuda becomes bnas::kernels::cuda_emu_<file stem>, so that a
test can link converted files with shrunk constants beside the engine's own. Each NAME=VALUE
rewrites "constexpr int NAME = ...;" (or int64_t) in the file or the kernels/cuda headers it
includes (kThreads=64: small shapes still span several warps and blocks).
The kernels/cuda/*.cuh headers are inlined; #line directives keep compiler messages, barrier
sites and launch sites pointing at the original files."""
import os
import re
import sys

INLINED = re.compile(r'\s*#include "kernels/cuda/([a-z_]+\.cuh)"')
SYNC = re.compile(r"__syncthreads|__shfl_\w+")


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
        elif re.match(r"\s*#pragma (once|unroll)", line):
            out.append("")
        else:
            out.append(line)
    return out


def matching(s, i, open_ch, close_ch):
    """The index just past the bracket that closes the one at s[i]."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == open_ch:
            depth += 1
        elif s[j] == close_ch:
            depth -= 1
            if depth == 0:
                return j + 1
    raise ValueError("unbalanced %s at %d" % (open_ch, i))


def device_functions(s):
    """name -> body text of every __global__ / __device__ function defined in s."""
    funcs = {}
    for m in re.finditer(r"(?:__global__|__device__)[^;{()]*?\b(\w+)\s*\(", s):
        close = matching(s, m.end() - 1, "(", ")")
        rest = s[close:]
        b = re.match(r"[^;{]*\{", rest)
        if not b:
            continue  # a declaration
        start = close + b.end() - 1
        funcs.setdefault(m.group(1), "")
        funcs[m.group(1)] += s[start:matching(s, start, "{", "}")]
    return funcs


def barrier_functions(s):
    """Names of the device functions that reach a barrier or shuffle, directly or through calls."""
    funcs = device_functions(s)
    sync = {n for n, body in funcs.items() if SYNC.search(body)}
    changed = True
    while changed:
        changed = False
        for n, body in funcs.items():
            if n not in sync and any(re.search(r"\b%s\s*[<(]" % re.escape(c), body) for c in sync):
                sync.add(n)
                changed = True
    return sync


def shared_decl(m, counter):
    """__shared__ T a[n], b[m];  ->  auto& a = ::cuda_emu::shared<T[n]>(id); auto& b = ..."""
    ty = m.group(1).strip()
    decls = []
    for d in m.group(2).split(","):
        d = d.strip()
        name = re.match(r"\w+", d).group(0)
        counter[0] += 1
        decls.append("auto& %s = ::cuda_emu::shared<%s%s>(%d);" % (name, ty, d[len(name):], counter[0]))
    return " ".join(decls)


def split_top_level(s):
    """Splits a launch configuration or argument list at top-level commas."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts


def transform(path, test=False, overrides=()):
    stem = os.path.splitext(os.path.basename(path))[0]
    s = "\n".join(flatten(path, "kernels/cuda/" + os.path.basename(path), set())) + "\n"
    for ov in overrides:
        name, value = ov.split("=")
        s, n = re.subn(r"(constexpr (?:int|int64_t) %s = )[^;]+;" % name, r"\g<1>%s;" % value, s)
        assert n == 1, "no constexpr int " + name
    if test:
        s = s.replace("namespace bnas::kernels::cuda {", "namespace bnas::kernels::cuda_emu_%s {" % stem)
        s = re.sub(r"}  // namespace bnas::kernels::cuda$", "}  // namespace bnas::kernels::cuda_emu_" + stem, s,
                   flags=re.M)
        assert "kernels::cuda::" not in s and "namespace bnas::kernels::cuda " not in s, "a cuda namespace remains"
    s = re.sub(r"__launch_bounds__\([^)]*\)\s*", "", s)
    barriers = barrier_functions(s)
    s = s.replace("__global__ ", "").replace("__device__ __forceinline__ ", "inline ")
    s = re.sub(r"extern __shared__ (\w+) (\w+)\[\];", r"\1* \2 = ::cuda_emu::dynamic_shared<\1>();", s)
    counter = [0]
    s = re.sub(r"__shared__ ((?:\w+ )+?)(\w+(?:\[[^\]]*\])*(?:, \w+(?:\[[^\]]*\])*)*);",
               lambda m: shared_decl(m, counter), s)
    s = s.replace("__device__ ", "").replace("__host__ ", "")
    assert "__shared__" not in s, "a __shared__ declaration was not converted"

    def launch(m):
        name, config, args = m.group(1), split_top_level(m.group(2)), m.group(3)
        smem = config[2] if len(config) > 2 else "0"
        stream = config[3] if len(config) > 3 else "nullptr"
        out = ('::cuda_emu::launch(::cuda_emu::KernelSite{"%s", __FILE__, __LINE__, %s}, dim3(%s), dim3(%s), %s, %s, '
               '[=] { %s(%s); }, ::cuda_emu::pointer_args(%s));' %
               (name, "true" if name in barriers else "false", config[0], config[1], smem, stream, name, args,
                " ".join(args.split())))
        # Keep the line count, so that #line stays true for the lines below.
        return out + "\n" * (m.group(0).count("\n") - out.count("\n"))

    s = re.sub(r"(\w+)<<<(.*?)>>>\((.*?)\);", launch, s, flags=re.S)
    assert "<<<" not in s, "a launch was not converted"
    return s


def main():
    args = sys.argv[1:]
    test = "--test" in args
    args = [a for a in args if a != "--test"]
    out = transform(args[0], test, args[2:])
    with open(args[1], "w") as f:
        f.write("// Generated from %s by emulator/convert.py: do not edit.\n" % args[0])
        f.write("#include <cuda_emu/kernel.h>\n")
        # CUDA code compares threadIdx.x (unsigned) with ints, which nvcc does not warn about.
        f.write('#pragma GCC diagnostic push\n#pragma GCC diagnostic ignored "-Wsign-compare"\n')
        f.write(out)
        f.write("#pragma GCC diagnostic pop\n")


if __name__ == "__main__":
    main()
