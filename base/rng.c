/* Gaussian entries from Philox4x32-10 keyed by (seed), counted by (stream, row, column). */
#include "rng.h"

#include <math.h>
#include <Random123/philox.h>

#include "blas.h"

void prsvd_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  philox4x32_ctr_t c = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
  philox4x32_key_t k = {{key[0], key[1]}};
  philox4x32_ctr_t r = philox4x32(c, k);
  for (int i = 0; i < 4; i++) out[i] = r.v[i];
}

double prsvd_rng_gaussian(uint64_t seed, unsigned stream, int64_t row, int64_t col) {
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  const uint64_t r = (uint64_t)row, c = (uint64_t)col;
  /* columns below 2^56 leave the top byte of the counter to the stream */
  const uint32_t ctr[4] = {(uint32_t)r, (uint32_t)(r >> 32), (uint32_t)c,
                           (uint32_t)((c >> 32) & 0xffffffu) | ((uint32_t)stream << 24)};
  uint32_t w[4];
  prsvd_philox4x32(ctr, key, w);
  const double two53 = 9007199254740992.0;
  double u1 = ((double)((((uint64_t)w[0] << 32) | w[1]) >> 11) + 1.0) / two53; /* (0, 1] */
  double u2 = (double)((((uint64_t)w[2] << 32) | w[3]) >> 11) / two53;         /* [0, 1) */
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Philox4x32-10 (Random123's, the same bits as prsvd_philox4x32) of B counters at once, one
 * array per word, so that the compiler runs the B lanes in vector registers (the single pass
 * draws 10 to 100 Gaussians a row of A, and one Philox at a time spent a fifth of their time
 * in its call and copies); counters (row0 + i, row0 + i >> 32, c, ctr3) for lanes i. */
enum { RNG_LANES = 8 };
PRSVD_KERNEL_CLONES static void philox_lanes(uint64_t row0, uint32_t c2, uint32_t c3, const uint32_t key[2],
                                    uint32_t out[4][RNG_LANES]) {
  uint32_t x0[RNG_LANES], x1[RNG_LANES], x2[RNG_LANES], x3[RNG_LANES];
  for (int i = 0; i < RNG_LANES; i++) {
    const uint64_t r = row0 + (uint64_t)i;
    x0[i] = (uint32_t)r, x1[i] = (uint32_t)(r >> 32), x2[i] = c2, x3[i] = c3;
  }
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; round++) {
    if (round) k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
    for (int i = 0; i < RNG_LANES; i++) {
      const uint64_t p0 = (uint64_t)0xD2511F53u * x0[i], p1 = (uint64_t)0xCD9E8D57u * x2[i];
      const uint32_t y0 = (uint32_t)(p1 >> 32) ^ x1[i] ^ k0, y2 = (uint32_t)(p0 >> 32) ^ x3[i] ^ k1;
      x0[i] = y0, x1[i] = (uint32_t)p1, x2[i] = y2, x3[i] = (uint32_t)p0;
    }
  }
  for (int i = 0; i < RNG_LANES; i++) out[0][i] = x0[i], out[1][i] = x1[i], out[2][i] = x2[i], out[3][i] = x3[i];
}

void prsvd_rng_fill(uint64_t seed, unsigned stream, int64_t row0, int64_t nrows, int64_t col0,
                    int64_t ncols, double *out, int64_t ld) {
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  const double two53 = 9007199254740992.0;
  for (int64_t c = 0; c < ncols; c++) {
    const uint64_t col = (uint64_t)(col0 + c);
    const uint32_t c2 = (uint32_t)col, c3 = (uint32_t)((col >> 32) & 0xffffffu) | ((uint32_t)stream << 24);
    int64_t r = 0;
    for (; r + RNG_LANES <= nrows; r += RNG_LANES) {
      uint32_t w[4][RNG_LANES];
      philox_lanes((uint64_t)(row0 + r), c2, c3, key, w);
      for (int i = 0; i < RNG_LANES; i++) { /* as prsvd_rng_gaussian, operation for operation */
        double u1 = ((double)((((uint64_t)w[0][i] << 32) | w[1][i]) >> 11) + 1.0) / two53;
        double u2 = (double)((((uint64_t)w[2][i] << 32) | w[3][i]) >> 11) / two53;
        out[c * ld + r + i] = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
      }
    }
    for (; r < nrows; r++) out[c * ld + r] = prsvd_rng_gaussian(seed, stream, row0 + r, col0 + c);
  }
}
