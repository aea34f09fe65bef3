// bnas_bench_mixedop: the fused mixed edge (engine/mixed_edge.h) against the unfused composition
// of engine ops (narrow, max/avg pool + BatchNorm, strided_zero, weighted_sum, bypass max pool,
// concat, channel shuffle, edge-weight scale) on every edge shape of the BNAS-v2 CIFAR search
// network (C = 16, layers 2, en_layers 1; docs/METHOD.md §4), in search (training) mode.
// The parametric branch outputs (sep/dil convs, FactorizedReduce) are inputs: both sides get the
// same ones, so the figures isolate what the fusion replaces.
//
// bench=conv_branches lines do the same for the convolution candidates: the fused
// ops::conv_branches (engine/conv_branches.h) against the unfused composition (gather, ReLU,
// depthwise and 1x1 conv2d, batch_norm; sep convs twice) on the same shapes, with the gradients
// of x and of the 12 weights. bench=factorized_reduce lines, for the stride-2 shapes, do it for
// skip's FactorizedReduce: the fused ops::factorized_reduce (engine/factorized_reduce.h) against
// the composition it replaced (gather, ReLU, two 1x1 stride-2 conv2d, the second padded and
// cropped to x[:, :, 1:, 1:], concat, batch_norm), with the gradients of x and of both weights.
//
// One line per (edge shape, k, selection, device) as key=value pairs, or a JSON array with
// --json: median milliseconds of the forward (no grad) and of forward + backward (gradients of x,
// every branch, the weights and the edge weight), and bytes moved, estimated from the tensors
// each kernel (fused) or each op (unfused: forward reads its inputs and writes its output;
// backward reads the output gradient and the saved inputs and writes the input gradients) reads
// and writes, in MB (1e6 bytes), with the implied GB/s of the fused run. On the emulated device
// (docs/EMULATOR.md) also the launches, syncs, allocs, frees, h2d_bytes and d2h_bytes of one fused
// forward + backward (unfused_*: of the unfused one) and timing=emulated: its times are host
// times of the emulation, not GPU times.
//
//   bnas_bench_mixedop [--device cpu|cuda|all] [--batch N] [--json] [--filter SUBSTRING] [--min-time S]
// Batch: 256 on the GPU; 16 on the CPU (so a CPU run finishes in seconds) unless --batch is given.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/conv_branches.h"
#include "engine/device.h"
#include "engine/factorized_reduce.h"
#include "engine/memory.h"
#include "engine/mixed_edge.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "tools/bench_util.h"

using namespace bnas;

namespace {

struct EdgeShape {
  const char* name;
  int64_t C, H;
  int stride;
  int count;  // edges of this shape in the network
};

// Node width and input resolution of every mixed edge of the CIFAR search network.
const std::vector<EdgeShape> kEdges = {
    {"conv_cell0_reduce_s0s1", 32, 32, 2, 8},  // conv cell 0 (reduction): edges from s0, s1
    {"conv_cell0_node", 32, 16, 1, 6},         // conv cell 0: edges between nodes
    {"conv_cell1_reduce_s0s1", 64, 16, 2, 8},  // conv cell 1 (reduction): edges from s0, s1
    {"conv_cell1_node", 64, 8, 1, 6},          // conv cell 1: edges between nodes
    {"enh_cell0", 64, 8, 1, 14},               // enhancement cell: every edge, stride 1
};

struct Options {
  int64_t batch = 0;  // 0: per-device default
  bool json = false;
  double min_time = 0.3;
};

struct Problem {
  int64_t N, C, H, Cs, Ho;
  int k, stride;
  bool random;
  Tensor x, sel, w, e;
  std::vector<Tensor> branches;
  Tensor running[4];
  std::vector<int64_t> chosen, rest;  // for the unfused gather

  Problem(const EdgeShape& s, int64_t n, int k_, bool random_, Device d)
      : N(n), C(s.C), H(s.H), Cs(s.C / k_), Ho((s.H - 1) / s.stride + 1), k(k_), stride(s.stride), random(random_) {
    Generator g(17, RngStream::Test);
    x = Tensor::from_vector(g.normal(static_cast<uint64_t>(N * C * H * H)), {N, C, H, H}, DType::F32, d);
    x.set_requires_grad(true);
    std::vector<double> a = g.normal(8), wv;
    double z = 0;
    for (double v : a) z += std::exp(v);
    for (double v : a) wv.push_back(std::exp(v) / z);
    w = Tensor::from_vector(wv, {8}, DType::F32, d).set_requires_grad(true);
    e = Tensor::from_vector({0.4}, {1}, DType::F32, d).set_requires_grad(true);
    for (int i = 0; i < (stride == 1 ? 4 : 5); ++i)
      branches.push_back(Tensor::from_vector(g.normal(static_cast<uint64_t>(N * Cs * Ho * Ho)), {N, Cs, Ho, Ho},
                                             DType::F32, d)
                             .set_requires_grad(true));
    for (int q = 0; q < 4; ++q) running[q] = Tensor::full({Cs}, q % 2 ? 1.0 : 0.0, DType::F32, d);
    std::vector<bool> used(static_cast<size_t>(C), false);
    if (random) {
      std::vector<uint32_t> perm = g.permutation(static_cast<uint32_t>(C));
      std::vector<int32_t> s(perm.begin(), perm.begin() + Cs);
      std::sort(s.begin(), s.end());
      sel = Tensor::from_ints(s, {Cs}, d);
      for (int32_t c : s) chosen.push_back(c);
    } else {
      for (int64_t c = 0; c < Cs; ++c) chosen.push_back(c);
    }
    for (int64_t c : chosen) used[static_cast<size_t>(c)] = true;
    for (int64_t c = 0; c < C; ++c)
      if (!used[static_cast<size_t>(c)]) rest.push_back(c);
  }

  std::vector<Tensor> leaves() const {
    std::vector<Tensor> l{x, w, e};
    l.insert(l.end(), branches.begin(), branches.end());
    return l;
  }

  Tensor fused() const {
    ops::MixedEdgeArgs a;
    a.stride = stride;
    a.k = k;
    return ops::mixed_edge(x, sel, branches, w, e, running[0], running[1], running[2], running[3], a);
  }

  // Channels as narrow slices: one slice per run of consecutive channels.
  static Tensor gather(const Tensor& x, const std::vector<int64_t>& ch) {
    std::vector<Tensor> parts;
    for (size_t i = 0; i < ch.size();) {
      size_t j = i + 1;
      while (j < ch.size() && ch[j] == ch[j - 1] + 1) ++j;
      parts.push_back(ops::narrow(x, 1, ch[i], static_cast<int64_t>(j - i)));
      i = j;
    }
    return parts.size() == 1 ? parts[0] : ops::concat_channels(parts);
  }

  Tensor unfused() const {
    const Tensor xs = gather(x, chosen);
    ops::BatchNormArgs bn;
    const Tensor mp = ops::batch_norm(ops::max_pool2d(xs, {3, stride, 1}), Tensor(), Tensor(), running[0], running[1], bn);
    const Tensor ap = ops::batch_norm(ops::avg_pool2d(xs, {3, stride, 1}), Tensor(), Tensor(), running[2], running[3], bn);
    const Tensor skip = stride == 1 ? xs : branches[4];
    Tensor y = ops::weighted_sum(
        {ops::strided_zero(xs, stride), mp, ap, skip, branches[0], branches[1], branches[2], branches[3]}, w);
    if (k > 1) {
      const Tensor xr = gather(x, rest);
      const Tensor byp = stride == 1 ? xr : ops::max_pool2d(xr, {2, 2, 0});
      y = ops::channel_shuffle(ops::concat_channels({y, byp}), k);
    }
    return ops::weighted_sum({y}, e);
  }

  // Bytes moved, in elements (x4 for float32).
  struct Traffic {
    double fwd = 0, bwd = 0;
  };
  Traffic fused_traffic() const {
    const double xs = double(N) * Cs * H * H, xr = double(N) * (C - Cs) * H * H;
    const double p = double(N) * Cs * Ho * Ho, y = double(N) * C * Ho * Ho, byp_out = y - p;
    const double nb = stride == 1 ? 4 : 5;
    Traffic t;
    // stats (x_sel) + output (x_sel, bypass input, branches, y).
    t.fwd = xs + (xs + xr + nb * p + y);
    // reduce (g of all channels, x_sel, branches, bypass x; writes d branches, d x bypass)
    // + dx (g of the selected outputs, x_sel; writes d x_sel).
    t.bwd = (p + byp_out + xs + nb * p + xr) + (nb * p + xr) + (p + xs) + xs;
    return t;
  }
  Traffic unfused_traffic() const {
    const double xs = double(N) * Cs * H * H, xr = double(N) * (C - Cs) * H * H, xfull = xs + xr;
    const double p = double(N) * Cs * Ho * Ho, y = double(N) * C * Ho * Ho;
    const double byp = k > 1 ? (stride == 1 ? xr : xr / 4) : 0;
    Traffic t;
    auto op = [&](double in, double out) {  // forward in -> out; backward reads gout + saved in, writes gin
      t.fwd += in + out;
      t.bwd += out + 2 * in;
    };
    const bool sel_copy = random || k > 1;  // narrow of a slice that is not the whole tensor: a copy
    if (sel_copy) op(xs, xs);
    op(xs, p);          // max pool
    op(2 * p, p);       // its BN (statistics pass + normalise pass)
    op(xs, p);          // avg pool
    op(2 * p, p);       // its BN
    op(0, p);           // strided_zero
    op(8 * p, p);       // weighted_sum of 8 candidates
    if (k > 1) {
      op(xr, xr);         // bypass slice
      if (stride == 2) op(xr, byp);  // 2x2 max pool
      op(p + byp, y);     // concat
      op(y, y);           // channel shuffle
    }
    op(y, y);  // edge weight
    if (sel_copy) t.bwd += 2 * xfull;  // the two slice gradients accumulated into d x
    return t;
  }
};

// The Cs input channels of an edge: a sorted random subset of the C (sel, on the device) or the
// first Cs (sel undefined); chosen lists them either way.
struct ChannelChoice {
  Tensor sel;
  std::vector<int64_t> chosen;
};
ChannelChoice choose_channels(Generator& g, int64_t C, int64_t Cs, bool random, Device d) {
  ChannelChoice out;
  if (random) {
    std::vector<uint32_t> perm = g.permutation(static_cast<uint32_t>(C));
    std::vector<int32_t> v(perm.begin(), perm.begin() + Cs);
    std::sort(v.begin(), v.end());
    out.sel = Tensor::from_ints(v, {Cs}, d);
    out.chosen.assign(v.begin(), v.end());
  } else {
    for (int64_t c = 0; c < Cs; ++c) out.chosen.push_back(c);
  }
  return out;
}

// The convolution candidates of one edge: fused, and as the unfused ops the modules run.
struct BranchProblem {
  int64_t Cs;
  int stride;
  Tensor x, sel;
  std::vector<Tensor> weights, running;
  std::vector<int64_t> chosen;

  BranchProblem(const EdgeShape& s, int64_t n, int k, bool random, Device d) : Cs(s.C / k), stride(s.stride) {
    Generator g(19, RngStream::Test);
    x = Tensor::from_vector(g.normal(static_cast<uint64_t>(n * s.C * s.H * s.H)), {n, s.C, s.H, s.H}, DType::F32, d)
            .set_requires_grad(true);
    for (int st = 0; st < ops::kConvBranchStages; ++st) {
      const int64_t kk = st % 2 == 0 ? 3 : 5;
      weights.push_back(Tensor::from_vector(g.normal(static_cast<uint64_t>(Cs * kk * kk)), {Cs, 1, kk, kk},
                                            DType::F32, d).set_requires_grad(true));
      weights.push_back(Tensor::from_vector(g.normal(static_cast<uint64_t>(Cs * Cs)), {Cs, Cs, 1, 1}, DType::F32, d)
                            .set_requires_grad(true));
      running.push_back(Tensor::full({Cs}, 0.0, DType::F32, d));
      running.push_back(Tensor::full({Cs}, 1.0, DType::F32, d));
    }
    ChannelChoice ch = choose_channels(g, s.C, Cs, random, d);
    sel = ch.sel;
    chosen = std::move(ch.chosen);
  }
  std::vector<Tensor> leaves() const {
    std::vector<Tensor> l{x};
    l.insert(l.end(), weights.begin(), weights.end());
    return l;
  }
  Tensor fused() const {
    ops::ConvBranchesArgs a;
    a.stride = stride;
    return ops::conv_branches(x, sel, Cs, weights, running, a);
  }
  // Stage st of kernels/conv_branches_math.h on relu(in): depthwise, 1x1, BN.
  Tensor stage(const Tensor& in, int st, int s) const {
    static const int kPad[] = {1, 2, 2, 4, 1, 2}, kDil[] = {1, 1, 2, 2, 1, 1};
    ops::Conv2dArgs dw;
    dw.stride = s;
    dw.padding = kPad[st];
    dw.dilation = kDil[st];
    dw.groups = static_cast<int>(Cs);
    const Tensor y = ops::conv2d(ops::conv2d(ops::relu(in), weights[2 * st], dw), weights[2 * st + 1], {});
    return ops::batch_norm(y, Tensor(), Tensor(), running[2 * st], running[2 * st + 1], {});
  }
  Tensor unfused() const {
    const Tensor xs = Problem::gather(x, chosen);
    const Tensor a0 = stage(xs, 0, stride), a1 = stage(xs, 1, stride);
    return ops::concat_channels({stage(a0, 4, 1), stage(a1, 5, 1), stage(xs, 2, stride), stage(xs, 3, stride)});
  }
};

// Skip's FactorizedReduce(Cs, Cs) on a stride-2 edge (search form: BN without affine parameters):
// fused, and as the composition the module ran before the fused op.
struct FrProblem {
  int64_t Cs;
  Tensor x, sel, w1, w2, running_mean, running_var;
  std::vector<int64_t> chosen;

  FrProblem(const EdgeShape& s, int64_t n, int k, bool random, Device d) : Cs(s.C / k) {
    Generator g(23, RngStream::Test);
    x = Tensor::from_vector(g.normal(static_cast<uint64_t>(n * s.C * s.H * s.H)), {n, s.C, s.H, s.H}, DType::F32, d)
            .set_requires_grad(true);
    for (Tensor* w : {&w1, &w2})
      *w = Tensor::from_vector(g.normal(static_cast<uint64_t>(Cs / 2 * Cs)), {Cs / 2, Cs, 1, 1}, DType::F32, d)
               .set_requires_grad(true);
    running_mean = Tensor::full({Cs}, 0.0, DType::F32, d);
    running_var = Tensor::full({Cs}, 1.0, DType::F32, d);
    ChannelChoice ch = choose_channels(g, s.C, Cs, random, d);
    sel = ch.sel;
    chosen = std::move(ch.chosen);
  }
  std::vector<Tensor> leaves() const { return {x, w1, w2}; }
  Tensor fused() const {
    return ops::factorized_reduce(x, sel, Cs, w1, w2, Tensor(), Tensor(), running_mean, running_var);
  }
  // x[:, :, 1:, 1:] of the padding-1 convolution's output through the dim-0/1 ops.
  static Tensor crop_first_row_and_column(const Tensor& t) {
    const int64_t n = t.size(0), c = t.size(1), h = t.size(2), w = t.size(3);
    Tensor rows = ops::narrow(ops::reshape(t, {n * c * h, w}), 1, 1, w - 1);
    Tensor planes = ops::narrow(ops::reshape(rows, {n * c, h * (w - 1)}), 1, w - 1, (h - 1) * (w - 1));
    return ops::reshape(planes, {n, c, h - 1, w - 1});
  }
  Tensor unfused() const {
    const Tensor r = ops::relu(Problem::gather(x, chosen));
    ops::Conv2dArgs a;
    a.stride = 2;
    ops::Conv2dArgs shifted = a;
    shifted.padding = 1;
    const Tensor y = ops::concat_channels(
        {ops::conv2d(r, w1, a), crop_first_row_and_column(ops::conv2d(r, w2, shifted))});
    return ops::batch_norm(y, Tensor(), Tensor(), running_mean, running_var, {});
  }
};

struct Totals {  // one search step's mixed edges of one (device, k, selection): sum of count x time
  double f_fwd = 0, u_fwd = 0, f_all = 0, u_all = 0;
  int edges = 0;
};

// Median times of the fused and the unfused forward (no grad) and forward + backward (gradients
// of `leaves`, seeded with ones), added to the network totals with the shape's edge count; on a
// GPU also the device activity of one fused and one unfused forward + backward (after warm-up).
struct Timings {
  double f_fwd, u_fwd, f_all, u_all;
};
Timings measure(const std::function<Tensor()>& fused, const std::function<Tensor()>& unfused,
                const std::vector<Tensor>& leaves, Device d, const Options& o, int count, Totals& tot,
                nlohmann::ordered_json& activity) {
  Tensor fprobe, uprobe;
  {
    NoGradGuard ng;
    fprobe = fused();
    uprobe = unfused();
  }
  const Tensor fseed = Tensor::full(fprobe.shape(), 1.0, DType::F32, d);
  const Tensor useed = Tensor::full(uprobe.shape(), 1.0, DType::F32, d);
  if (d.is_cuda()) {
    synchronize(d);
    const DeviceActivity a0 = device_activity();
    grad(fused(), leaves, fseed);
    const DeviceActivity a1 = device_activity();
    grad(unfused(), leaves, useed);
    const DeviceActivity a2 = device_activity();
    synchronize(d);
    bench::add_activity(activity, a1, a0, 1);
    bench::add_activity(activity, a2, a1, 1, "unfused_");
  }
  Timings t;
  t.f_fwd = bench::time_median([&] { NoGradGuard ng; fused(); }, d, o.min_time);
  t.u_fwd = bench::time_median([&] { NoGradGuard ng; unfused(); }, d, o.min_time);
  t.f_all = bench::time_median([&] { grad(fused(), leaves, fseed); }, d, o.min_time);
  t.u_all = bench::time_median([&] { grad(unfused(), leaves, useed); }, d, o.min_time);
  tot.f_fwd += count * t.f_fwd;
  tot.u_fwd += count * t.u_fwd;
  tot.f_all += count * t.f_all;
  tot.u_all += count * t.u_all;
  tot.edges += count;
  return t;
}

void run(const EdgeShape& s, int k, bool random, Device d, int64_t batch, const Options& o, bool& first, Totals& tot) {
  const Problem pb(s, batch, k, random, d);
  nlohmann::ordered_json activity;
  const Timings t = measure([&] { return pb.fused(); }, [&] { return pb.unfused(); }, pb.leaves(), d, o, s.count, tot,
                            activity);
  const double f_fwd = t.f_fwd, u_fwd = t.u_fwd, f_all = t.f_all, u_all = t.u_all;
  const Problem::Traffic ft = pb.fused_traffic(), ut = pb.unfused_traffic();
  const double mb = 4.0 / 1e6;
  const double f_gbps = (ft.fwd + ft.bwd) * 4.0 / f_all / 1e9;
  char line[1024];
  if (o.json) {
    std::snprintf(line, sizeof line,
                  "%s\n  {\"edge\": \"%s\", \"C\": %lld, \"H\": %lld, \"stride\": %d, \"k\": %d, \"selection\": \"%s\", "
                  "\"edges_in_network\": %d, \"device\": \"%s\", \"batch\": %lld, \"fused_fwd_ms\": %.4f, "
                  "\"unfused_fwd_ms\": %.4f, \"fused_fwd_bwd_ms\": %.4f, \"unfused_fwd_bwd_ms\": %.4f, "
                  "\"speedup_fwd\": %.2f, \"speedup_fwd_bwd\": %.2f, \"fused_fwd_mb\": %.2f, \"unfused_fwd_mb\": %.2f, "
                  "\"fused_fwd_bwd_mb\": %.2f, \"unfused_fwd_bwd_mb\": %.2f, \"fused_gbps\": %.1f}",
                  first ? "" : ",", s.name, (long long)s.C, (long long)s.H, s.stride, k, random ? "random" : "fixed",
                  s.count, d.str().c_str(), (long long)batch, f_fwd * 1e3, u_fwd * 1e3, f_all * 1e3, u_all * 1e3,
                  u_fwd / f_fwd, u_all / f_all, ft.fwd * mb, ut.fwd * mb, (ft.fwd + ft.bwd) * mb,
                  (ut.fwd + ut.bwd) * mb, f_gbps);
    std::string tail = activity.empty() ? std::string() : ", " + activity.dump().substr(1);
    if (!tail.empty()) std::strcpy(line + std::strlen(line) - 1, tail.c_str());  // inside the record
  } else {
    std::snprintf(line, sizeof line,
                  "bench=mixedop edge=%s C=%lld H=%lld stride=%d k=%d selection=%s edges_in_network=%d device=%s "
                  "batch=%lld fused_fwd_ms=%.4f unfused_fwd_ms=%.4f fused_fwd_bwd_ms=%.4f unfused_fwd_bwd_ms=%.4f "
                  "speedup_fwd=%.2f speedup_fwd_bwd=%.2f fused_fwd_mb=%.2f unfused_fwd_mb=%.2f fused_fwd_bwd_mb=%.2f "
                  "unfused_fwd_bwd_mb=%.2f fused_gbps=%.1f\n",
                  s.name, (long long)s.C, (long long)s.H, s.stride, k, random ? "random" : "fixed", s.count,
                  d.str().c_str(), (long long)batch, f_fwd * 1e3, u_fwd * 1e3, f_all * 1e3, u_all * 1e3,
                  u_fwd / f_fwd, u_all / f_all, ft.fwd * mb, ut.fwd * mb, (ft.fwd + ft.bwd) * mb,
                  (ut.fwd + ut.bwd) * mb, f_gbps);
    if (!activity.empty()) {
      line[std::strlen(line) - 1] = '\0';  // the newline goes after the activity
      std::snprintf(line + std::strlen(line), sizeof line - std::strlen(line), " %s\n",
                    bench::key_values(activity).c_str());
    }
  }
  std::fputs(line, stdout);
  std::fflush(stdout);
  first = false;
}

// One bench=conv_branches or bench=factorized_reduce line (P: BranchProblem or FrProblem).
template <class P>
void run_fused_op(const char* bench_name, const EdgeShape& s, int k, bool random, Device d, int64_t batch,
                  const Options& o, bool& first, Totals& tot) {
  const P pb(s, batch, k, random, d);
  nlohmann::ordered_json r = {{"bench", bench_name}, {"edge", s.name}, {"C", s.C}, {"H", s.H},
                              {"stride", s.stride}, {"k", k}, {"selection", random ? "random" : "fixed"},
                              {"edges_in_network", s.count}, {"device", d.str()}, {"batch", batch}};
  nlohmann::ordered_json activity;
  const Timings t = measure([&] { return pb.fused(); }, [&] { return pb.unfused(); }, pb.leaves(), d, o, s.count, tot,
                            activity);
  const double f_fwd = t.f_fwd, u_fwd = t.u_fwd, f_all = t.f_all, u_all = t.u_all;
  r["fused_fwd_ms"] = f_fwd * 1e3;
  r["unfused_fwd_ms"] = u_fwd * 1e3;
  r["fused_fwd_bwd_ms"] = f_all * 1e3;
  r["unfused_fwd_bwd_ms"] = u_all * 1e3;
  r["speedup_fwd"] = u_fwd / f_fwd;
  r["speedup_fwd_bwd"] = u_all / f_all;
  for (auto& [key, v] : activity.items()) r[key] = v;
  if (o.json) std::printf("%s\n  %s", first ? "" : ",", r.dump().c_str());
  else std::printf("%s\n", bench::key_values(r).c_str());
  std::fflush(stdout);
  first = false;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bench::Args args("bnas_bench_mixedop", "fused vs unfused mixed edge on the BNAS-v2 CIFAR search-network edge shapes",
                   &o.json);
  args.add_selection();
  args.add_timing(&o.batch, &o.min_time);
  if (const int rc = args.parse(argc, argv); rc >= 0) return rc;
  return args.run([&] {
    bool first = true;
    for (const Device& d : args.devices) {
      const int64_t batch = o.batch > 0 ? o.batch : (d.is_cuda() ? 256 : 16);
      for (const char* bench_name : {"mixedop", "conv_branches", "factorized_reduce"})
        for (int k : {4, 1})
          for (bool random : {false, true}) {
            if (k == 1 && random) continue;
            const std::string bench = bench_name;
            Totals tot;
            for (const EdgeShape& s : kEdges) {
              const std::string tag = bench + " " + s.name + " k" + std::to_string(k) + (random ? " random" : " fixed");
              if (!args.selected(tag) || (bench == "factorized_reduce" && s.stride != 2)) continue;
              if (bench == "conv_branches")
                run_fused_op<BranchProblem>(bench_name, s, k, random, d, batch, o, first, tot);
              else if (bench == "factorized_reduce")
                run_fused_op<FrProblem>(bench_name, s, k, random, d, batch, o, first, tot);
              else
                run(s, k, random, d, batch, o, first, tot);
            }
            if (tot.edges == 0) continue;
            // The whole network's edges (each shape times its number of edges).
            nlohmann::ordered_json r = {{"bench", bench_name}, {"edge", "network_total"}, {"k", k},
                                        {"selection", random ? "random" : "fixed"}, {"edges_in_network", tot.edges},
                                        {"device", d.str()}, {"batch", batch}, {"fused_fwd_ms", tot.f_fwd * 1e3},
                                        {"unfused_fwd_ms", tot.u_fwd * 1e3}, {"fused_fwd_bwd_ms", tot.f_all * 1e3},
                                        {"unfused_fwd_bwd_ms", tot.u_all * 1e3}, {"speedup_fwd", tot.u_fwd / tot.f_fwd},
                                        {"speedup_fwd_bwd", tot.u_all / tot.f_all}};
            if (o.json) std::printf(",\n  %s", r.dump().c_str());
            else std::printf("%s\n", bench::key_values(r).c_str());
            std::fflush(stdout);
          }
    }
  });
}
