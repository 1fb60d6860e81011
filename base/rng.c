/* Gaussian entries from Philox4x32-10 keyed by (seed), counted by (stream, row, column). */
#include "rng.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <Random123/philox.h>

#include "blas.h"

void prsvd_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  philox4x32_ctr_t c = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
  philox4x32_key_t k = {{key[0], key[1]}};
  philox4x32_ctr_t r = philox4x32(c, k);
  for (int i = 0; i < 4; i++) out[i] = r.v[i];
}

/* Box-Muller on the 128 bits of one Philox block, sqrt(-2 log u1) cos(2 pi u2) with
 * u1 = (w0:w1 >> 11) + 1) / 2^53 in (0, 1] and u2 = (w2:w3 >> 11) / 2^53 in [0, 1), in
 * straight-line arithmetic that the compiler runs in vector lanes: libm's log and cos took
 * three quarters of the time of a draw (bench/RESULTS.md).  log is fdlibm's (e_log.c: u1 =
 * 2^e f, f in [sqrt(2)/2, sqrt(2)), log f = 2 atanh((f - 1) / (f + 1)) by Remez polynomial,
 * under 1 ulp), cos(2 pi u2) is reduced in turns on the integer, exactly: u2 = q / 4 + r with
 * q = round(4 u2) and |r| <= 1 / 8, then fdlibm's sine and cosine kernels (k_sin.c, k_cos.c)
 * of x = 2 pi r in [-pi/4, pi/4] by the quadrant q.  No branch, no libm: base/ is compiled
 * with -ffp-contract=off (configure.ac), so every instruction set rounds alike and a fill in
 * vector lanes gives the bits of one entry at a time. */
static inline double bits_double(uint64_t b) {
  double d;
  memcpy(&d, &b, sizeof d);
  return d;
}

static inline uint64_t double_bits(double d) {
  uint64_t b;
  memcpy(&b, &d, sizeof b);
  return b;
}

/* (double)k exactly for |k| < 2^51: 1.5 * 2^52 + k has the unit in the last place 1 */
static inline double small_int_double(int64_t k) {
  return bits_double(0x4338000000000000ull + (uint64_t)k) - 6755399441055744.0;
}

static inline __attribute__((always_inline)) double gaussian_of_words(uint32_t w0, uint32_t w1,
                                                                      uint32_t w2, uint32_t w3) {
  static const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10,
                      lg1 = 6.666666666666735130e-01, lg2 = 3.999999999940941908e-01,
                      lg3 = 2.857142874366239149e-01, lg4 = 2.222219843214978396e-01,
                      lg5 = 1.818357216161805012e-01, lg6 = 1.531383769920937332e-01,
                      lg7 = 1.479819860511658591e-01;
  static const double s1 = -1.66666666666666324348e-01, s2 = 8.33333333332248946124e-03,
                      s3 = -1.98412698298579493134e-04, s4 = 2.75573137070700676789e-06,
                      s5 = -2.50507602534068634195e-08, s6 = 1.58969099521155010221e-10;
  static const double c1 = 4.16666666666666019037e-02, c2 = -1.38888888888741095749e-03,
                      c3 = 2.48015872894767294178e-05, c4 = -2.75573143513906633035e-07,
                      c5 = 2.08757232129817482790e-09, c6 = -1.13596475577881948265e-11;
  static const double two_pi = 6.28318530717958647692, two_m53 = 1.0 / 9007199254740992.0;
  /* log u1 = log(k1 + 1) - 53 log 2, k1 + 1 in [1, 2^53] exactly a double */
  const uint64_t k1 = ((((uint64_t)w0 << 32) | w1) >> 11) + 1;
  const double d1 = small_int_double((int64_t)(k1 >> 26)) * 67108864.0 +
                    small_int_double((int64_t)(k1 & 0x3ffffff));
  uint64_t b = double_bits(d1);
  int64_t e = (int64_t)(b >> 52) - 1023;
  b = (b & 0x000fffffffffffffull) | 0x3ff0000000000000ull;             /* f in [1, 2) */
  const int64_t up = (b & 0x000fffffffffffffull) > 0x6a09e667f3bcdull; /* f > sqrt(2): */
  b -= (uint64_t)up << 52, e += up;                                     /* f in [sqrt(2)/2, sqrt(2)] */
  const double f = bits_double(b) - 1.0, ek = small_int_double(e - 53);
  const double s = f / (2.0 + f), z = s * s, w = z * z;
  const double t1 = w * (lg2 + w * (lg4 + w * lg6)),
               t2 = z * (lg1 + w * (lg3 + w * (lg5 + w * lg7)));
  const double hfsq = 0.5 * f * f, rr = t2 + t1;
  const double log_u1 = ek * ln2_hi - ((hfsq - (s * (hfsq + rr) + ek * ln2_lo)) - f);
  /* u2 = k2 / 2^53 = q / 4 + r: q = round(4 u2), r = (k2 - q 2^51) / 2^53 */
  const uint64_t k2 = (((uint64_t)w2 << 32) | w3) >> 11, q = (k2 + ((uint64_t)1 << 50)) >> 51;
  const double x = small_int_double((int64_t)(k2 - (q << 51))) * two_m53 * two_pi;
  const double xz = x * x, xv = xz * x;
  const double sin_x = x + xv * (s1 + xz * (s2 + xz * (s3 + xz * (s4 + xz * (s5 + xz * s6)))));
  const double cr = xz * (c1 + xz * (c2 + xz * (c3 + xz * (c4 + xz * (c5 + xz * c6)))));
  const double hz = 0.5 * xz, cw = 1.0 - hz;
  const double cos_x = cw + (((1.0 - cw) - hz) + xz * cr);
  /* cos(x + q pi / 2): cos x, -sin x, -cos x, sin x for q mod 4 = 0, 1, 2, 3 */
  const uint64_t odd = 0 - (q & 1), flip = ((q + 1) & 2) << 62;
  const uint64_t v = (double_bits(sin_x) & odd) | (double_bits(cos_x) & ~odd);
  return sqrt(-2.0 * log_u1) * bits_double(v ^ flip);
}

double prsvd_rng_box_muller(const uint32_t w[4]) {
  return gaussian_of_words(w[0], w[1], w[2], w[3]);
}

double prsvd_rng_gaussian(uint64_t seed, unsigned stream, int64_t row, int64_t col) {
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  const uint64_t r = (uint64_t)row, c = (uint64_t)col;
  /* columns below 2^56 leave the top byte of the counter to the stream */
  const uint32_t ctr[4] = {(uint32_t)r, (uint32_t)(r >> 32), (uint32_t)c,
                           (uint32_t)((c >> 32) & 0xffffffu) | ((uint32_t)stream << 24)};
  uint32_t w[4];
  prsvd_philox4x32(ctr, key, w);
  return prsvd_rng_box_muller(w);
}

/* Philox4x32-10 (Random123's, the same bits as prsvd_philox4x32) of B counters at once, one
 * array per word, then their Gaussians, so that the compiler runs the B lanes in vector
 * registers (the single pass draws 10 to 100 Gaussians a row of A: one Philox at a time spent
 * a fifth of their time in its call and copies, libm's log and cos most of the rest); counters
 * (row0 + i, row0 + i >> 32, c, ctr3) for lanes i, Gaussians to out[i]. */
enum { RNG_LANES = 8 };
PRSVD_KERNEL_CLONES static void gaussian_lanes(uint64_t row0, uint32_t c2, uint32_t c3, const uint32_t key[2],
                                               double *out) {
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
  for (int i = 0; i < RNG_LANES; i++) out[i] = gaussian_of_words(x0[i], x1[i], x2[i], x3[i]);
}

void prsvd_rng_fill(uint64_t seed, unsigned stream, int64_t row0, int64_t nrows, int64_t col0,
                    int64_t ncols, double *out, int64_t ld) {
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  for (int64_t c = 0; c < ncols; c++) {
    const uint64_t col = (uint64_t)(col0 + c);
    const uint32_t c2 = (uint32_t)col, c3 = (uint32_t)((col >> 32) & 0xffffffu) | ((uint32_t)stream << 24);
    int64_t r = 0;
    for (; r + RNG_LANES <= nrows; r += RNG_LANES) gaussian_lanes((uint64_t)(row0 + r), c2, c3, key, out + c * ld + r);
    for (; r < nrows; r++) out[c * ld + r] = prsvd_rng_gaussian(seed, stream, row0 + r, col0 + c);
  }
}
