/* Gaussian entries from Philox4x32-10 keyed by (seed), counted by (stream, row, column). */
#include "rng.h"

#include <math.h>
#include <Random123/philox.h>

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

void prsvd_rng_fill(uint64_t seed, unsigned stream, int64_t row0, int64_t nrows, int64_t col0,
                    int64_t ncols, double *out, int64_t ld) {
  for (int64_t c = 0; c < ncols; c++)
    for (int64_t r = 0; r < nrows; r++)
      out[c * ld + r] = prsvd_rng_gaussian(seed, stream, row0 + r, col0 + c);
}
