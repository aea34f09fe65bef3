#!/usr/bin/env python3
"""Prints a digest of run directories: the SHA-256 of every tensor of each safetensors
checkpoint (name, dtype, shape, digest; the metadata is left out, since it holds the settings'
JSON, whose layout may change) and the genotype the run wrote.

usage: run_digest.py RUN_DIR...

Two digests of runs with the same settings and seed are equal exactly when every tensor and the
genotype are bit-identical; tools/results_digest.sh runs the configurations this is used on.
"""
import hashlib
import json
import pathlib
import struct
import sys


def tensors(path):
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    for name in sorted(k for k in header if k != "__metadata__"):
        t = header[name]
        a, b = t["data_offsets"]
        yield name, t["dtype"], t["shape"], hashlib.sha256(body[a:b]).hexdigest()[:16]


def main(dirs):
    for d in map(pathlib.Path, dirs):
        print(f"# {d.name}")
        for ckpt in sorted(d.glob("checkpoints/*.safetensors")):
            for name, dtype, shape, h in tensors(ckpt):
                print(f"{ckpt.name} {name} {dtype} {shape} {h}")
        g = d / "genotype.json"
        if g.exists():
            print("genotype", json.dumps(json.loads(g.read_text()), sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
