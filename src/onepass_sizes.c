/*
 * Sketch sizes of the single-pass methods (onepass.c): the defaults from the target rank, and
 * the three-sketch sizes from a storage budget.
 *
 * Tropp, Yurtsever, Udell & Cevher, "Streaming low-rank matrix approximation with an
 * application to scientific simulation", SISC 41 (2019), Sec. 5.4.  The three sketches
 * Y (m x k), X (k x n) and Z (s x s) hold T = k (m + n) + s^2 numbers.  For a budget T and a
 * target rank r, their "natural" choice (eq. 5.6, alpha = 1 for real matrices) is
 *
 *   k = max{ r + alpha + 1, floor( (sqrt((m + n + 4 alpha)^2 + 16 (T - alpha^2))
 *                                   - (m + n + 4 alpha)) / 8 ) }
 *   s = floor( sqrt(T - k (m + n)) )
 *
 * which spends the budget on the largest k with s >= 2k + alpha (the root of
 * 4k^2 + (m + n + 4 alpha)k + alpha^2 = T).
 *
 * Their error bounds hold only for sizes that oversample: k_s > r + alpha (TYUC 2017 Thm 4.1,
 * 2019 Thm 5.1: the factor r / (k_s - r - alpha) is infinite at k_s = r + 1), and a core that
 * oversamples the range, s >= 2 k_s + alpha (2019 Thm 5.1; the two-sketch method's co-range,
 * s > k_s + alpha, 2017 Thm 4.3).  Sizes clipped into range broke the result: rank 5 of a
 * 200 x 50 matrix with sigma_1 = 1 and --core-dim 1 ran with s = k_s = 11 and gave
 * sigma_1 = 8.2.  So sizes a caller sets (range_dim, core_dim, or a budget) must meet these
 * and fit in min(m, n); only the defaults k_s = 2r + 1, s = 2 k_s + 1 are clipped to
 * r <= k_s <= s <= min(m, n) (a small matrix has no room to oversample, and a sketch as wide
 * as the matrix is exact).
 */
#include <math.h>
#include <stdio.h>

#include "error.h"
#include "svd_impl.h"

#define ALPHA 1 /* real field */

/* The smallest sizes the bounds allow: k_s for rank r, s for k_s (the hmt method has no core). */
static int64_t min_range(int64_t rank) { return rank + ALPHA + 1; }
static int64_t min_core(enum prsvd_onepass_method method, int64_t ks) {
  return method == PRSVD_ONEPASS_TWO ? ks + ALPHA + 1 : 2 * ks + ALPHA;
}

/* PRSVD_ERR_USAGE unless lo <= v <= mn, naming the option, its value and the limit. */
static int check_size(const char *option, int64_t v, int64_t lo, int64_t mn, const char *why) {
  if (v < lo)
    PRSVD_ERR(PRSVD_ERR_USAGE, "%s %lld is too small: %s, so at least %lld%s", option, (long long)v, why,
              (long long)lo, lo > mn ? ", more than min(rows, cols) allows: leave it to its default" : "");
  if (v > mn)
    PRSVD_ERR(PRSVD_ERR_USAGE, "%s %lld exceeds min(rows, cols) = %lld: at most %lld", option, (long long)v,
              (long long)mn, (long long)mn);
  return PRSVD_OK;
}

int prsvd_onepass_sizes(const struct prsvd_svd_params *p, int64_t m, int64_t n, int64_t *range_dim,
                        int64_t *core_dim) {
  const int64_t mn = m < n ? m : n;
  char why[160];
  int64_t ks = 2 * p->rank + 1, s;
  if (p->range_dim > 0) {
    snprintf(why, sizeof why, "rank %lld needs k_s >= k + 2 (Tropp et al. 2019 Thm 5.1)", (long long)p->rank);
    PRSVD_CHECK(check_size("--range-dim", p->range_dim, min_range(p->rank), mn, why));
    ks = p->range_dim;
  } else if (ks > mn) {
    ks = mn;
  }
  s = 2 * ks + 1 > mn ? mn : 2 * ks + 1; /* k_s first: the default s follows the k_s used */
  if (p->core_dim > 0 && p->onepass != PRSVD_ONEPASS_HMT) {
    snprintf(why, sizeof why, "k_s = %lld needs s >= %s (Tropp et al. %s)", (long long)ks,
             p->onepass == PRSVD_ONEPASS_TWO ? "k_s + 2" : "2 k_s + 1",
             p->onepass == PRSVD_ONEPASS_TWO ? "2017 Thm 4.3" : "2019 Thm 5.1");
    PRSVD_CHECK(check_size("--core-dim", p->core_dim, min_core(p->onepass, ks), mn, why));
    s = p->core_dim;
  }
  *range_dim = ks;
  *core_dim = s;
  return PRSVD_OK;
}

int prsvd_onepass_budget(int64_t m, int64_t n, int64_t rank, int64_t budget, int64_t *range_dim,
                         int64_t *core_dim) {
  const double mn4 = (double)(m + n + 4 * ALPHA), t = (double)budget;
  const int64_t mn = m < n ? m : n, k_min = min_range(rank), s_min = min_core(PRSVD_ONEPASS_THREE, k_min);
  const int64_t y_x = prsvd_size_mul(k_min, m + n), z = prsvd_size_mul(s_min, s_min);
  const int64_t t_min = y_x > PRSVD_SIZE_OVERFLOW - z ? PRSVD_SIZE_OVERFLOW : y_x + z;
  if (s_min > mn)
    PRSVD_ERR(PRSVD_ERR_USAGE,
              "--sketch-memory: rank %lld needs k_s >= %lld and s >= %lld (Tropp et al. 2019 Thm 5.1), more than "
              "min(rows, cols) = %lld: leave --sketch-memory out (the default sizes are clipped to the matrix)",
              (long long)rank, (long long)k_min, (long long)s_min, (long long)mn);
  if (budget < t_min)
    PRSVD_ERR(
        PRSVD_ERR_USAGE,
        "--sketch-memory holds %lld numbers, below the %lld that rank %lld needs on %lld x %lld "
        "(k_s = %lld, s = %lld: T = k_s(m + n) + s^2); give at least %lld bytes",
        (long long)budget, (long long)t_min, (long long)rank, (long long)m, (long long)n,
        (long long)k_min, (long long)s_min, (long long)prsvd_size_mul(8, t_min));
  int64_t k = (int64_t)floor((sqrt(mn4 * mn4 + 16.0 * (t - ALPHA * ALPHA)) - mn4) / 8.0);
  if (k < k_min) k = k_min;
  int64_t s = (int64_t)floor(sqrt(t - (double)k * (double)(m + n)));
  /* a budget beyond what the matrix can use: s stops at min(m, n), and k_s at the largest
   * that s still oversamples (rounding in the floors above may also leave s < 2k + alpha) */
  if (s > mn) s = mn;
  if (k > (s - ALPHA) / 2) k = (s - ALPHA) / 2;
  *range_dim = k;
  *core_dim = s;
  return PRSVD_OK;
}
