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
 * 4k^2 + (m + n + 4 alpha) k + alpha^2 = T).  Their error bound (Thm 5.1) needs k > r + alpha
 * and s >= 2k + alpha, so a budget below (r + alpha + 1)(m + n) + (2r + 3 alpha + 2)^2 is
 * refused.  Sizes are clipped to k <= s <= min(m, n).
 */
#include <math.h>

#include "error.h"
#include "svd_impl.h"

#define ALPHA 1 /* real field */

static void clip(int64_t m, int64_t n, int64_t k, int64_t *ks, int64_t *s) {
  const int64_t mn = m < n ? m : n;
  if (*ks < k) *ks = k;
  if (*ks > mn) *ks = mn;
  if (*s < *ks) *s = *ks;
  if (*s > mn) *s = mn;
}

void prsvd_onepass_sizes(const struct prsvd_svd_params *p, int64_t m, int64_t n, int64_t *range_dim,
                         int64_t *core_dim) {
  const int64_t mn = m < n ? m : n;
  int64_t ks = p->range_dim > 0 ? p->range_dim : 2 * p->rank + 1, s = p->core_dim;
  clip(m, n, p->rank, &ks, &s); /* k_s first: the default s = 2 k_s + 1 follows the clipped k_s */
  if (p->core_dim <= 0) s = 2 * ks + 1 > mn ? mn : 2 * ks + 1;
  *range_dim = ks;
  *core_dim = s;
}

int prsvd_onepass_budget(int64_t m, int64_t n, int64_t rank, int64_t budget, int64_t *range_dim,
                         int64_t *core_dim) {
  const double mn4 = (double)(m + n + 4 * ALPHA), t = (double)budget;
  const int64_t k_min = rank + ALPHA + 1, s_min = 2 * k_min + ALPHA;
  const int64_t t_min = k_min * (m + n) + s_min * s_min;
  if (budget < t_min)
    PRSVD_ERR(
        PRSVD_ERR_USAGE,
        "--sketch-memory holds %lld numbers, below the %lld that rank %lld needs on %lld x %lld "
        "(k_s = %lld, s = %lld: T = k_s(m + n) + s^2); give at least %lld bytes",
        (long long)budget, (long long)t_min, (long long)rank, (long long)m, (long long)n,
        (long long)k_min, (long long)s_min, (long long)(8 * t_min));
  int64_t k = (int64_t)floor((sqrt(mn4 * mn4 + 16.0 * (t - ALPHA * ALPHA)) - mn4) / 8.0);
  if (k < k_min) k = k_min;
  int64_t s = (int64_t)floor(sqrt(t - (double)k * (double)(m + n)));
  *range_dim = k;
  *core_dim = s;
  clip(m, n, rank, range_dim, core_dim);
  return PRSVD_OK;
}
