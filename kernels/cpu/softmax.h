// Softmax-family CPU kernels over the rows of a contiguous rows x K array (T = float or double).
#pragma once
#include <cstdint>

namespace bnas::kernels::cpu {

// y = softmax(x) or, with log, log_softmax(x), row by row (max-subtracted, numerically stable).
template <class T> void softmax_forward(const T* x, T* y, int64_t rows, int64_t K, bool log);
// Backward from the forward's output y: softmax gx = y (gy - <gy, y>); log_softmax
// gx = gy - exp(y) sum(gy).
template <class T> void softmax_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t K, bool log);

// Cross-entropy with label smoothing s: logp = log_softmax(x) (kept for backward) and
// loss = mean over rows of -sum_k q_k logp_k, q = (1 - s) onehot(label) + s / K, into loss[0].
// Rows with a label outside [0, K) contribute 0 (the op layer rejects them before calling).
template <class T>
void cross_entropy_forward(const T* x, const int32_t* labels, T* logp, T* loss, int64_t rows, int64_t K, T s);
// gx = (exp(logp) - q) * gloss[0] / rows (zero rows for invalid labels).
template <class T>
void cross_entropy_backward(const T* logp, const int32_t* labels, const T* gloss, T* gx, int64_t rows, int64_t K,
                            T s);
// out[0] = number of rows whose first arg-max equals the label (invalid labels never match).
template <class T> void count_correct(const T* x, const int32_t* labels, float* out, int64_t rows, int64_t K);

}  // namespace bnas::kernels::cpu
