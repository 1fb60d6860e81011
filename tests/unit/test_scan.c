/* The panel scan: max |a_ij| of float64 and float32 data read from the bits of the
 * magnitudes, lane by lane (src/pass_range.c), against a plain loop of fabs. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "sketch.h"
#include "suites.h"

enum { N = 53 }; /* more than 3 vectors of the widest lanes (16 floats), and a tail */

/* the plain answer: max fabs, or Inf if any entry is not finite */
static double plain(const double *d, const float *f, int count) {
  double m = 0.0;
  for (int i = 0; i < count; i++) {
    const double v = d ? d[i] : (double)f[i];
    if (!isfinite(v)) return INFINITY;
    m = fmax(m, fabs(v));
  }
  return m;
}

/* every length up to N, the largest magnitude (negative or positive) at every position */
START_TEST(max_abs_every_position) {
  double d[N];
  float f[N];
  for (int count = 0; count <= N; count++)
    for (int at = 0; at < (count ? count : 1); at++)
      for (int sign = -1; sign <= 1; sign += 2) {
        for (int i = 0; i < count; i++) d[i] = f[i] = (float)((i % 7) - 3) * 0.25f;
        if (count) d[at] = f[at] = (float)sign * 1e4f;
        ck_assert(prsvd_max_abs(d, 0, count) == plain(d, NULL, count));
        ck_assert(prsvd_max_abs(f, 1, count) == plain(NULL, f, count));
      }
}
END_TEST

/* one NaN or Inf anywhere, with or without its sign, makes the scan Inf; the extremes of
 * each type (largest, subnormal, negative zero) are measured exactly */
START_TEST(max_abs_nonfinite_and_extremes) {
  double d[N];
  float f[N];
  const double bad[] = {NAN, -NAN, INFINITY, -INFINITY};
  for (int b = 0; b < 4; b++)
    for (int at = 0; at < N; at++) {
      for (int i = 0; i < N; i++) d[i] = f[i] = 1.0f;
      d[at] = bad[b];
      f[at] = (float)bad[b];
      ck_assert(isinf(prsvd_max_abs(d, 0, N)));
      ck_assert(isinf(prsvd_max_abs(f, 1, N)));
    }
  for (int i = 0; i < N; i++) d[i] = -0.0, f[i] = -0.0f;
  ck_assert(prsvd_max_abs(d, 0, N) == 0.0 && prsvd_max_abs(f, 1, N) == 0.0);
  d[N - 1] = -DBL_MAX, f[N - 1] = -FLT_MAX;
  ck_assert(prsvd_max_abs(d, 0, N) == DBL_MAX && prsvd_max_abs(f, 1, N) == (double)FLT_MAX);
  d[N - 1] = -DBL_TRUE_MIN, f[N - 1] = -FLT_TRUE_MIN;
  ck_assert(prsvd_max_abs(d, 0, N) == DBL_TRUE_MIN && prsvd_max_abs(f, 1, N) == (double)FLT_TRUE_MIN);
}
END_TEST

Suite *scan_suite(void) {
  Suite *s = suite_create("scan");
  TCase *tc = tcase_create("max_abs");
  tcase_add_test(tc, max_abs_every_position);
  tcase_add_test(tc, max_abs_nonfinite_and_extremes);
  suite_add_tcase(s, tc);
  return s;
}
