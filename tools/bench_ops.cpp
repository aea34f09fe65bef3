// bnas_bench_ops: times every engine op, forward and forward+backward, on the CPU and (when
// present) the GPU, on the shapes of the BNAS-v2 CIFAR search network (C = 16) at batch 64.
// One line per (op, shape, device) as key=value pairs, or a JSON array with --json; on a GPU
// then a line per cuDNN algorithm chosen ("conv_algorithm cuda:0 fwd ...: NAME (algo N), B
// workspace", a record with --json).
// Figures: median milliseconds over repeats, and GB/s (bytes read + written by the forward)
// or GFLOP/s (convolutions and linear layers, 2 flops per multiply-add).
//
//   bnas_bench_ops [--device cpu|cuda|all] [--batch N] [--json] [--filter SUBSTRING] [--min-time S]
#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/memory.h"
#include "engine/ops.h"
#include "tools/bench_util.h"

using namespace bnas;

namespace {

struct Bench {
  std::string op, shape;
  std::vector<Shape> inputs;  // float inputs, N(0, 1)
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  double flops = 0;  // per forward; 0 -> report bandwidth
  bool backward = true;
  bool reads_inputs = true;  // false: the forward writes its output without reading (strided_zero)
};

struct Options {
  int64_t batch = 64;
  bool json = false;
  double min_time = 0.2;
};

std::string shape_str(const std::vector<Shape>& in) {
  std::string s;
  for (const Shape& x : in) s += (s.empty() ? "" : "+") + x.str();
  s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
  return s;
}

double conv_flops(int64_t n, int64_t cin, int64_t cout, int64_t ho, int64_t wo, int k, int groups) {
  return 2.0 * n * cout * ho * wo * (cin / groups) * k * k;
}

std::vector<Bench> benches(int64_t N) {
  using V = std::vector<Tensor>;
  std::vector<Bench> b;
  auto conv = [&](const char* what, int64_t cin, int64_t cout, int64_t h, int k, int s, int p, int d, int g) {
    const int64_t ho = (h + 2 * p - d * (k - 1) - 1) / s + 1;
    ops::Conv2dArgs a{s, p, d, g};
    b.push_back({"conv2d", what, {{N, cin, h, h}, {cout, cin / g, k, k}},
                 [a](const V& in) { return ops::conv2d(in[0], in[1], a); },
                 conv_flops(N, cin, cout, ho, ho, k, g)});
  };
  conv("stem_3x3_3to48@32", 3, 48, 32, 3, 1, 1, 1, 1);
  conv("preprocess_1x1_48to32@32", 48, 32, 32, 1, 1, 0, 1, 1);
  conv("sep3_dw_s2_32@32", 32, 32, 32, 3, 2, 1, 1, 32);
  conv("sep5_dw_32@16", 32, 32, 16, 5, 1, 2, 1, 32);
  conv("dil3_dw_d2_32@16", 32, 32, 16, 3, 1, 2, 2, 32);
  conv("dil5_dw_d2_64@8", 64, 64, 8, 5, 1, 4, 2, 64);
  conv("pointwise_1x1_32@16", 32, 32, 16, 1, 1, 0, 1, 1);
  conv("pointwise_1x1_64@8", 64, 64, 8, 1, 1, 0, 1, 1);
  conv("factorized_reduce_1x1_s2_48to32@32", 48, 32, 32, 1, 2, 0, 1, 1);
  const Shape act{N, 32, 16, 16};
  b.push_back({"batch_norm", "train_noaffine", {act, {32}, {32}},
               [](const V& in) { return ops::batch_norm(in[0], Tensor(), Tensor(), in[1].detach(), in[2].detach(), {}); }});
  b.push_back({"batch_norm", "train_affine", {act, {32}, {32}},
               [](const V& in) { return ops::batch_norm(in[0], in[1], in[2], Tensor(), Tensor(), {}); }});
  b.push_back({"relu", "", {act}, [](const V& in) { return ops::relu(in[0]); }});
  b.push_back({"add", "", {act, act}, [](const V& in) { return ops::add(in[0], in[1]); }});
  b.push_back({"scale", "", {act}, [](const V& in) { return ops::scale(in[0], 0.5); }});
  b.push_back({"max_pool2d", "3x3_s1", {act}, [](const V& in) { return ops::max_pool2d(in[0], {3, 1, 1}); }});
  b.push_back({"max_pool2d", "3x3_s2", {act}, [](const V& in) { return ops::max_pool2d(in[0], {3, 2, 1}); }});
  b.push_back({"max_pool2d", "2x2_s2", {act}, [](const V& in) { return ops::max_pool2d(in[0], {2, 2, 0}); }});
  b.push_back({"avg_pool2d", "3x3_s1", {act}, [](const V& in) { return ops::avg_pool2d(in[0], {3, 1, 1}); }});
  b.push_back({"avg_pool2d", "3x3_s2", {act}, [](const V& in) { return ops::avg_pool2d(in[0], {3, 2, 1}); }});
  b.push_back({"weighted_sum", "8_ops", {act, act, act, act, act, act, act, act, {8}},
               [](const V& in) { return ops::weighted_sum(V(in.begin(), in.end() - 1), in.back()); }});
  b.push_back({"concat_channels", "4_nodes", {act, act, act, act},
               [](const V& in) { return ops::concat_channels(in); }});
  b.push_back({"narrow", "quarter_channels", {{N, 128, 16, 16}},
               [](const V& in) { return ops::narrow(in[0], 1, 0, 32); }});
  b.push_back({"channel_shuffle", "k4", {{N, 128, 16, 16}}, [](const V& in) { return ops::channel_shuffle(in[0], 4); }});
  b.push_back({"strided_zero", "s2", {act}, [](const V& in) { return ops::strided_zero(in[0], 2); }, 0, true, false});
  b.push_back({"drop_path", "p0.3", {act}, [](const V& in) {
                 Generator g(1, RngStream::DropPath);
                 return ops::drop_path(in[0], 0.3, g);
               }});
  b.push_back({"global_avg_pool", "concat304@8", {{N, 304, 8, 8}}, [](const V& in) { return ops::global_avg_pool(in[0]); }});
  b.push_back({"linear", "304to10", {{N, 304}, {10, 304}, {10}},
               [](const V& in) { return ops::linear(in[0], in[1], in[2]); }, 2.0 * N * 304 * 10});
  b.push_back({"softmax", "alpha_14x8", {{14, 8}}, [](const V& in) { return ops::softmax(in[0]); }});
  b.push_back({"log_softmax", "logits", {{N, 10}}, [](const V& in) { return ops::log_softmax(in[0]); }});
  return b;
}

void run(const Bench& b, Device d, const Options& o, bool& first) {
  std::vector<Tensor> in;
  Generator gen(11, RngStream::Test);
  size_t bytes = 0;
  for (const Shape& s : b.inputs) {
    Tensor t = Tensor::from_vector(gen.normal(static_cast<uint64_t>(s.numel())), s, DType::F32, d);
    if (b.backward) t.set_requires_grad(true);
    if (b.reads_inputs) bytes += t.nbytes();
    in.push_back(t);
  }
  Tensor out;
  {
    NoGradGuard ng;
    out = b.fn(in);
  }
  // A view (narrow, reshape) moves no bytes: report its time only.
  bool view = false;
  for (const Tensor& t : in) {
    const char* p = static_cast<const char*>(out.raw());
    const char* q = static_cast<const char*>(t.raw());
    view = view || (p >= q && p < q + t.nbytes());
  }
  bytes = view ? 0 : bytes + out.nbytes();
  const double fwd = bench::time_median([&] { NoGradGuard ng; b.fn(in); }, d, o.min_time);
  double fwdbwd = 0;
  if (b.backward) {
    std::vector<Tensor> leaves;
    for (const Tensor& t : in) leaves.push_back(t);
    const Tensor seed = Tensor::full(out.shape(), 1.0, DType::F32, d);
    fwdbwd = bench::time_median([&] { grad(b.fn(in), leaves, seed); }, d, o.min_time);
  }
  const double rate = b.flops > 0 ? b.flops / fwd / 1e9 : static_cast<double>(bytes) / fwd / 1e9;
  const char* unit = b.flops > 0 ? "gflops" : view ? "view_gbps" : "gbps";
  const std::string shape = shape_str(b.inputs);
  if (o.json) {
    std::printf("%s\n  {\"op\": \"%s\", \"case\": \"%s\", \"shape\": \"%s\", \"device\": \"%s\", \"fwd_ms\": %.4f, "
                "\"fwd_bwd_ms\": %.4f, \"%s\": %.2f}",
                first ? "" : ",", b.op.c_str(), b.shape.c_str(), shape.c_str(), d.str().c_str(), fwd * 1e3,
                fwdbwd * 1e3, unit, rate);
  } else {
    std::printf("op=%s case=%s device=%s shape=%s fwd_ms=%.4f fwd_bwd_ms=%.4f %s=%.2f\n", b.op.c_str(),
                b.shape.empty() ? "-" : b.shape.c_str(), d.str().c_str(), shape.c_str(), fwd * 1e3, fwdbwd * 1e3,
                unit, rate);
  }
  std::fflush(stdout);
  first = false;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bench::Args args("bnas_bench_ops", "times every op on the BNAS-v2 search-network shapes", &o.json);
  args.add_selection();
  args.add_timing(&o.batch, &o.min_time);
  if (const int rc = args.parse(argc, argv); rc >= 0) return rc;
  return args.run([&] {
    bool first = true;
    for (const Device& d : args.devices) {
      for (const Bench& b : benches(o.batch))
        if (args.selected(b.op + " " + b.shape)) run(b, d, o, first);
      bench::print_conv_algorithms(d, o.json, first);  // on a GPU: what cuDNN ran for each conv
    }
  });
}
