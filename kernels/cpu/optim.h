// Optimizer and gradient-norm CPU kernels (T = float or double) over the chunk tables of
// kernels/optim_math.h; twins of kernels/cuda/optim.cuh. Scalars that change during training
// (lr, the step count, Adam's per-step scalars, the norm) are read through pointers, as the
// CUDA kernels read them from device memory.
#pragma once
#include <cstdint>

#include "kernels/optim_math.h"

namespace bnas::kernels::cpu {

// *step += 1 (the count of steps taken, read by the update that follows).
void advance_step(int32_t* step);

// SGD over `count` chunks; *step is the count including this step (1 on the first).
template <class T>
void sgd_step(const OptimChunk<T>* chunks, int64_t count, const T* lr, const int32_t* step, SgdHyper<T> h);

// *step += 1, then scalars = {lr / (1 - beta1^t), sqrt(1 - beta2^t)}.
template <class T> void adam_prologue(int32_t* step, const T* lr, T* scalars, double beta1, double beta2);
// Adam over `count` chunks (state0 = exp_avg, state1 = exp_avg_sq), scalars from adam_prologue.
template <class T> void adam_step(const OptimChunk<T>* chunks, int64_t count, const T* scalars, AdamHyper<T> h);

// Zeroes every chunk's gradient.
template <class T> void zero_grads(const OptimChunk<T>* chunks, int64_t count);

// One move of DARTS's unrolled step (UnrollMove) over every chunk, with its scalar
// unroll_scalar(move, scalar, alpha); scalar is read only by kVirtualStep (xi) and kPerturb (||v||).
template <class T>
void unroll(const OptimChunk<T>* chunks, int64_t count, UnrollMove move, const T* scalar, T alpha, SgdHyper<T> h);

// partials[i] = sum of squares of chunk i, accumulated in double (deterministic: one chunk is
// summed by one thread in element order).
template <class T> void sum_squares(const NormChunk<T>* chunks, int64_t count, double* partials);
// *norm = sqrt(sum of partials[0, n)), summed in order.
template <class T> void finish_norm(const double* partials, int64_t n, T* norm);
// x *= clip_coef(*norm, max_norm) over every chunk.
template <class T> void clip_scale(const NormChunk<T>* chunks, int64_t count, const T* norm, T max_norm);

}  // namespace bnas::kernels::cpu
