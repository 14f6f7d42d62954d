/* Grouped weight-only quantization formats (INT4 with per-group fp16 scales and optional zero points, INT8 for
   llama.cpp Q8_0), defined once for the host code (src/quant/grouped.cpp, src/ops/gemm_wq/) and the OpenCL kernels
   (kernels/gemm/gemm_wq_*.cl include it as "ellesmere/formats/grouped_weights.h"). Plain C: valid C, C++ and
   OpenCL C 1.1.

   Our layout (what the kernels read). W is N x K (output x input, as PyTorch Linear and llama.cpp store it):
   y[m][n] = sum_k x[m][k] * w[n][k]. K is split into groups of G = 32, 64 or 128 consecutive weights; the last
   group of a row may be partial: K is padded to KP = ceil(K / G) * G with weights that dequantize to exactly 0.
   Three arrays, structure-of-arrays, so that every load is aligned and a wavefront's loads are coalesced:
     qs     N rows of KP * BITS / 8 bytes (a multiple of 16). The row is a sequence of 32-weight chunks
            (ELLESMERE_WQ_CHUNK); chunk c covers k = 32c .. 32c+31:
              BITS = 4: bytes 16c .. 16c+15; byte j holds k = 32c+j in its low nibble and k = 32c+16+j in its high
                        nibble (llama.cpp Q4_0's order within a block), unsigned q in 0..15;
              BITS = 8: bytes 32c .. 32c+31; byte j holds k = 32c+j as a two's-complement int8 q.
     scales N rows of GS = round_up(ceil(K / G), 16) IEEE binary16 bit patterns: scales[n * GS + g]. Finite (the
            packer rejects Inf and NaN); negative and subnormal values are allowed (llama.cpp's Q4_0 scales are
            often negative). Entries g >= ceil(K / G) are padding, 0: every row starts 32-byte aligned and a
            kernel may load scales 8 at a time without reading past the array.
     zeros  BITS = 4 with zero points only: N rows of GS bytes, zeros[n * GS + g], each 0..15 (asymmetric,
            GPTQ/AWQ style); padding entries 0.
   Dequantized weight: w = float(scale) * float(q - z), with z = zeros[n][g] (asymmetric), 8 (4-bit symmetric,
   llama.cpp's q - 8) or 0 (8-bit). |q - z| <= 128 and a binary16 scale has an 11-bit significand, so the product is
   exact in float32: dequantization does not depend on the order of operations. Padding weights hold q = z.

   llama.cpp's blocks (what we import and export, bit for bit; ggml-common.h): 32 weights, fp16 d first.
     block_q4_0: d, then 16 bytes: byte j = element j (low nibble) | element j+16 (high nibble); w = d * (q - 8).
     block_q8_0: d, then 32 int8: w = d * q. */
#ifndef ELLESMERE_FORMATS_GROUPED_WEIGHTS_H
#define ELLESMERE_FORMATS_GROUPED_WEIGHTS_H

#define ELLESMERE_WQ_CHUNK 32          /* weights per chunk: one 16-byte load at 4 bits, two at 8 */
#define ELLESMERE_WQ_MIN_GROUP 32      /* supported group sizes: 32, 64, 128 */
#define ELLESMERE_WQ_MAX_GROUP 128
#define ELLESMERE_WQ_SYMMETRIC_Z4 8    /* the implied zero point of symmetric 4-bit weights */
#define ELLESMERE_WQ_GROUP_ALIGN 16    /* scale and zero-point rows are padded to a multiple of 16 entries */

#define ELLESMERE_QK4_0 32             /* weights per llama.cpp Q4_0 block */
#define ELLESMERE_QK8_0 32             /* weights per llama.cpp Q8_0 block */

/* llama.cpp's blocks, for the byte layout and the static_asserts; d is an IEEE binary16 bit pattern. */
typedef struct {
  unsigned short d;
  unsigned char qs[ELLESMERE_QK4_0 / 2];
} ellesmere_block_q4_0;

typedef struct {
  unsigned short d;
  signed char qs[ELLESMERE_QK8_0];
} ellesmere_block_q8_0;

#ifdef __cplusplus
static_assert(sizeof(ellesmere_block_q4_0) == 2 + ELLESMERE_QK4_0 / 2, "block_q4_0 is 18 bytes, as in ggml");
static_assert(sizeof(ellesmere_block_q8_0) == 2 + ELLESMERE_QK8_0, "block_q8_0 is 34 bytes, as in ggml");
static_assert(ELLESMERE_WQ_CHUNK * 4 / 8 == 16, "a 4-bit chunk is one 16-byte vector load");
static_assert(ELLESMERE_WQ_MIN_GROUP % ELLESMERE_WQ_CHUNK == 0 && ELLESMERE_WQ_MAX_GROUP % ELLESMERE_WQ_CHUNK == 0,
              "groups hold whole chunks, so a chunk has one scale");
static_assert(ELLESMERE_QK4_0 == ELLESMERE_WQ_CHUNK, "a Q4_0 block is one chunk: import is a byte copy");
#endif

#endif
