/* The counter-based generator and the planted-spectrum matrices. */
#include <math.h>
#include <stdlib.h>

#include "blas.h"
#include "prsvd_planted.h"
#include "rng.h"
#include "source_impl.h"
#include "suites.h"

/* Random123's published known-answer vectors for Philox4x32-10. */
START_TEST(philox_known_answers) {
  static const uint32_t ctr[3][4] = {{0, 0, 0, 0},
                                     {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                                     {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}};
  static const uint32_t key[3][2] = {{0, 0}, {0xffffffff, 0xffffffff}, {0xa4093822, 0x299f31d0}};
  static const uint32_t want[3][4] = {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                                      {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                                      {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}};
  for (int t = 0; t < 3; t++) {
    uint32_t out[4];
    prsvd_philox4x32(ctr[t], key[t], out);
    for (int i = 0; i < 4; i++) ck_assert_uint_eq(out[i], want[t][i]);
  }
}
END_TEST

/* A block filled at any offset equals the entries drawn one by one: results cannot depend
 * on how rows are split among ranks or panels. */
START_TEST(gaussian_independent_of_partition) {
  enum { M = 37, N = 5 };
  double whole[M * N], part[M * N];
  prsvd_rng_fill(42, PRSVD_STREAM_OMEGA, 0, M, 0, N, whole, M);
  prsvd_rng_fill(42, PRSVD_STREAM_OMEGA, 0, 11, 0, N, part, M);
  prsvd_rng_fill(42, PRSVD_STREAM_OMEGA, 11, M - 11, 0, N, part + 11, M);
  for (int c = 0; c < N; c++)
    for (int r = 0; r < M; r++) {
      ck_assert(whole[c * M + r] == part[c * M + r]);
      ck_assert(whole[c * M + r] == prsvd_rng_gaussian(42, PRSVD_STREAM_OMEGA, r, c));
    }
  /* streams and seeds differ */
  ck_assert(prsvd_rng_gaussian(42, 0, 3, 4) != prsvd_rng_gaussian(42, 1, 3, 4));
  ck_assert(prsvd_rng_gaussian(42, 0, 3, 4) != prsvd_rng_gaussian(43, 0, 3, 4));
  ck_assert(prsvd_rng_gaussian(42, 0, 3, 4) != prsvd_rng_gaussian(42, 0, 4, 3));
}
END_TEST

/* prsvd_rng_fill draws 8 rows at a time (their Philox side by side in vector registers): the
 * same bits as one entry at a time for every length and offset, across the 2^32 row
 * boundary, with both words of the key and of the column in use. */
START_TEST(gaussian_fill_lanes_bitwise) {
  static const int64_t row0[] = {0, 3, 4294967290LL, (int64_t)1 << 40};
  static const uint64_t seed = 0xfedcba9876543210ULL;
  double out[17 * 3];
  for (int a = 0; a < 4; a++)
    for (int rows = 1; rows <= 17; rows++) {
      const int64_t col0 = a == 3 ? ((int64_t)1 << 33) + 5 : 2;
      prsvd_rng_fill(seed, PRSVD_STREAM_THETA, row0[a], rows, col0, 3, out, rows);
      for (int c = 0; c < 3; c++)
        for (int r = 0; r < rows; r++) {
          const double one = prsvd_rng_gaussian(seed, PRSVD_STREAM_THETA, row0[a] + r, col0 + c);
          ck_assert_mem_eq(&out[c * rows + r], &one, sizeof one);
        }
    }
}
END_TEST

/* The Box-Muller transform computed without libm (rng.c) against libm's in long double,
 * sqrt(-2 logl u1) cosl(2 pi u2) from the same Philox words: within 4 units of 2^-53 of
 * max(1, |g|), on 10^5 draws and on the words at the ends of both uniforms (u1 = 2^-53 and 1,
 * u2 at 0 and at the quadrant edges of the reduction, 1/8 and 3/8 turn, and just below 1). */
static long double box_muller_ref(const uint32_t w[4]) {
  const long double two53 = 9007199254740992.0L, pi = 3.141592653589793238462643383279502884L;
  const long double u1 = ((long double)((((uint64_t)w[0] << 32) | w[1]) >> 11) + 1.0L) / two53;
  const long double u2 = (long double)((((uint64_t)w[2] << 32) | w[3]) >> 11) / two53;
  return sqrtl(-2.0L * logl(u1)) * cosl(2.0L * pi * u2);
}

static void check_box_muller(const uint32_t w[4]) {
  const double g = prsvd_rng_box_muller(w), tol = 4.0 * 0x1p-53 * fmax(1.0, fabs(g));
  ck_assert_msg(fabsl((long double)g - box_muller_ref(w)) <= tol, "words %08x %08x %08x %08x: %.17g against %.17Lg",
                w[0], w[1], w[2], w[3], g, box_muller_ref(w));
}

START_TEST(gaussian_transform_accurate) {
  static const uint32_t ends[][4] = {
      {0, 0, 0, 0},                   /* u1 = 2^-53: the largest |g|, 8.57 */
      {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, /* u1 = 1: g = 0; u2 just below 1 */
      {0x00000001, 0x00000800, 0x20000000, 0x00000000}, /* u2 = 1/8: the edge of quadrant 0 */
      {0x80000000, 0x00000000, 0x1fffffff, 0xfffff800}, /* just below 1/8 */
      {0x12345678, 0x9abcdef0, 0x60000000, 0x00000000}, /* u2 = 3/8 */
      {0xb504f333, 0xf9de6000, 0x40000000, 0x00000000}, /* u1 = sqrt(2)/2 rounded, where log's */
      {0xb504f333, 0xf9de6800, 0x40000000, 0x00000000}, /* reduction turns; u2 = 1/4: cos = 0 */
  };
  for (size_t t = 0; t < sizeof ends / sizeof ends[0]; t++) check_box_muller(ends[t]);
  for (uint32_t i = 0; i < 100000; i++) {
    const uint32_t ctr[4] = {i, 0, 7, 9u << 24}, key[2] = {42, 0};
    uint32_t w[4];
    prsvd_philox4x32(ctr, key, w);
    check_box_muller(w);
  }
}
END_TEST

/* Moments of 200000 draws: mean 0 +- 0.01, variance 1 +- 0.02, kurtosis 3 +- 0.1
 * (each more than 4 standard errors wide). */
START_TEST(gaussian_moments) {
  const int n = 200000;
  double s1 = 0, s2 = 0, s4 = 0;
  for (int i = 0; i < n; i++) {
    double x = prsvd_rng_gaussian(7, 0, i / 100, i % 100);
    s1 += x, s2 += x * x, s4 += x * x * x * x;
  }
  double mean = s1 / n, var = s2 / n - mean * mean, kurt = (s4 / n) / (var * var);
  ck_assert_double_le(fabs(mean), 0.01);
  ck_assert_double_le(fabs(var - 1.0), 0.02);
  ck_assert_double_le(fabs(kurt - 3.0), 0.1);
}
END_TEST

/* The planted matrix has exactly the planted singular values (LAPACK dgesdd). */
static void check_planted(enum prsvd_spectrum spectrum, int64_t m, int64_t n, double decay,
                          int symmetric) {
  struct prsvd_planted_params p = {.rows = m, .cols = n, .spectrum = spectrum, .decay = decay,
                                   .rank = 4, .noise = 0.0, .seed = 9, .symmetric = symmetric};
  prsvd_source *src = NULL;
  int64_t mn = m < n ? m : n;
  double *a = malloc(sizeof(double) * (size_t)(m * n)), *s = malloc(sizeof(double) * (size_t)mn);
  ck_assert_int_eq(prsvd_source_planted(&p, &src), 0);
  ck_assert_int_eq(prsvd_source_read(src, 0, m, a), 0);
  /* row-major m x n is column-major n x m: same singular values */
  int im = (int)n, in = (int)m, lwork = -1, info, iwork[8 * 64];
  double wq, *work;
  dgesdd_("N", &im, &in, a, &im, s, NULL, &im, NULL, &in, &wq, &lwork, iwork, &info);
  lwork = (int)wq;
  work = malloc(sizeof(double) * (size_t)lwork);
  dgesdd_("N", &im, &in, a, &im, s, NULL, &im, NULL, &in, work, &lwork, iwork, &info);
  ck_assert_int_eq(info, 0);
  for (int64_t j = 0; j < mn; j++)
    ck_assert_double_le(fabs(s[j] - prsvd_planted_sigma(&p, j)), 1e-13);
  if (symmetric) { /* A[i][j] = A[j][i] to rounding */
    ck_assert_int_eq(prsvd_source_read(src, 0, m, a), 0);
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < i; j++) ck_assert_double_le(fabs(a[i * n + j] - a[j * n + i]), 1e-15);
  }
  free(work);
  free(a);
  free(s);
  prsvd_source_destroy(&src);
}

START_TEST(planted_spectra_exact) {
  check_planted(PRSVD_SPECTRUM_POLY, 60, 40, 1.0, 0);
  check_planted(PRSVD_SPECTRUM_POLY, 30, 50, 2.0, 0);
  check_planted(PRSVD_SPECTRUM_EXP, 50, 50, 0.25, 0);
  check_planted(PRSVD_SPECTRUM_LOWRANK_NOISE, 45, 35, 0.0, 0);
  check_planted(PRSVD_SPECTRUM_POLY, 40, 40, 1.0, 1);
  check_planted(PRSVD_SPECTRUM_EXP, 40, 40, 0.2, 2);
}
END_TEST

Suite *rng_suite(void) {
  Suite *s = suite_create("rng");
  TCase *t = tcase_create("philox");
  tcase_add_test(t, philox_known_answers);
  tcase_add_test(t, gaussian_independent_of_partition);
  tcase_add_test(t, gaussian_fill_lanes_bitwise);
  tcase_add_test(t, gaussian_transform_accurate);
  tcase_add_test(t, gaussian_moments);
  suite_add_tcase(s, t);
  t = tcase_create("planted");
  tcase_add_test(t, planted_spectra_exact);
  suite_add_tcase(s, t);
  return s;
}
