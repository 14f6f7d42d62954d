// Consumer of the installed library: runs one fp32 GEMM on the default device and checks it against a naive
// loop. Exit status 0 only if every element matches.
#include <cmath>
#include <cstdio>
#include <vector>

#include <ellesmere/device.hpp>
#include <ellesmere/error.hpp>
#include <ellesmere/ops.hpp>
#include <ellesmere/pipeline.hpp>

int main() {
  try {
    ellesmere::Context ctx;
    const ellesmere::GemmProblem p{.m = 13, .n = 11, .k = 7};
    std::vector<float> a(13 * 7), b(7 * 11), c(13 * 11, -1.0f), ref(13 * 11, 0.0f);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = float((i * 37) % 17) / 8.0f - 1.0f;
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = float((i * 53) % 19) / 9.0f - 1.0f;
    for (int i = 0; i < 13; ++i)
      for (int j = 0; j < 11; ++j)
        for (int l = 0; l < 7; ++l) ref[i * 11 + j] += a[i * 7 + l] * b[l * 11 + j];
    ellesmere::Buffer<float> da(ctx, std::span<const float>(a)), db(ctx, std::span<const float>(b));
    ellesmere::Buffer<float> dc(ctx, std::span<const float>(c));
    ellesmere::gemm_f32(ctx, p, da, db, dc).wait();
    dc.download(c);
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (std::abs(c[i] - ref[i]) > 1e-5f * (1.0f + std::abs(ref[i]))) {
        std::printf("mismatch at %zu: %g vs %g\n", i, c[i], ref[i]);
        return 1;
      }
    }
    std::printf("consumer: gemm_f32 %s on %s (%s) matches\n", p.str().c_str(), ctx.device().name.c_str(),
                ctx.device().key.c_str());
    // The pipeline's public API: the digits MLP on one image gives 10 probabilities summing to 1.
    const ellesmere::OnnxModel model = ellesmere::OnnxModel::load(ELLESMERE_DEMO_MODEL);
    std::vector<float> pixels(64);
    for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = float((i * 7) % 17) / 16.0f;
    const auto out = model.run(ctx, {{"input", ellesmere::Tensor::from<float>({1, 1, 8, 8}, pixels)}});
    const auto probs = out.at("output").values<float>();
    float sum = 0;
    for (const float v : probs) sum += v;
    if (probs.size() != 10 || std::abs(sum - 1.0f) > 1e-4f) {
      std::printf("consumer: pipeline output has %zu values summing to %g\n", probs.size(), sum);
      return 1;
    }
    std::printf("consumer: OnnxModel::run on %s gives 10 probabilities summing to 1\n", ELLESMERE_DEMO_MODEL);
    return 0;
  } catch (const ellesmere::Error& e) {
    std::printf("consumer: error: %s\n", e.what());
    return 1;
  }
}
