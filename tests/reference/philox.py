"""Philox4x32-10 exactly as kernels/philox.h, so fixtures can reproduce the engine's random
draws (drop-path masks, random channel subsets)."""

M = 0xFFFFFFFF


def philox4x32_10(seed, stream, block):
    c = [block & M, (block >> 32) & M, stream & M, (stream >> 32) & M]
    k0, k1 = seed & M, (seed >> 32) & M
    for _ in range(10):
        p0 = 0xD2511F53 * c[0]
        p1 = 0xCD9E8D57 * c[2]
        hi0, lo0 = (p0 >> 32) & M, p0 & M
        hi1, lo1 = (p1 >> 32) & M, p1 & M
        c = [hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0]
        k0 = (k0 + 0x9E3779B9) & M
        k1 = (k1 + 0xBB67AE85) & M
    return c


def bits_at(seed, stream, offset, i):
    return philox4x32_10(seed, stream, offset + i // 4)[i % 4]


def uniform_at(seed, stream, offset, i):
    return (bits_at(seed, stream, offset, i) >> 8) * (1.0 / 16777216.0)


def below_at(seed, stream, offset, i, n):
    return (bits_at(seed, stream, offset, i) * n) >> 32
