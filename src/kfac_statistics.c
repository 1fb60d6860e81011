/*
 * The minibatch statistics of a K-FAC factor (prsvd_kfac_accumulate), split among the compute
 * threads of a rank by rows of the batch:
 *
 *   S += X^T X  (X: the batch x d_x rows),  with a bias  S(:, d_x) += X^T 1,  S(d_x, d_x) += B
 *
 * Thread t takes rows [B t / T, B (t + 1) / T): thread 0 adds its product into S itself,
 * every other thread writes its own into a d x d sum of its own (one DSYRK on a one-thread
 * BLAS); after a barrier thread t adds columns [d t / T, d (t + 1) / T) of sums 1 .. T - 1 into
 * S in thread order.  What each thread computes and the order of the additions depend on T
 * alone, never on timing, so a given T gives the same bits run after run, and any T the
 * 1-thread sum up to rounding.  One thread (a NULL pool) is the plain DSYRK into S.
 *
 * Assumptions: S holds the upper triangle, column-major d x d (d = d_x + bias); the lanes
 * hold (T - 1) d^2 doubles; batch and the row stride fit an int (checked by the caller).
 */
#include <string.h>

#include "kfac_impl.h"
#include "threads.h"

struct gram_job {
  struct prsvd_pool *pool;
  int64_t batch, dx, ldx, d;
  int bias;
  const double *x;
  double *sum, *lanes;
};

static void gram_rows(void *arg, int t) {
  const struct gram_job *j = arg;
  const int threads = prsvd_pool_threads(j->pool);
  const int64_t b0 = j->batch * t / threads, b1 = j->batch * (t + 1) / threads, d = j->d;
  double *s = t ? j->lanes + (int64_t)(t - 1) * d * d : j->sum;
  const double one = 1.0, beta = t ? 0.0 : 1.0;
  const int idx = (int)j->dx, id = (int)d, ildx = (int)j->ldx, nb = (int)(b1 - b0);
  /* S_t = X_t^T X_t (upper triangle): row-major rows are column-major d_x x nb */
  if (nb > 0)
    dsyrk_("U", "N", &idx, &nb, &one, j->x + b0 * j->ldx, &ildx, &beta, s, &id);
  else if (t)
    for (int64_t c = 0; c < j->dx; c++) memset(s + c * d, 0, sizeof(double) * (size_t)(c + 1));
  if (j->bias) { /* the trailing 1 of every activation: column sums and the count */
    double *last = s + j->dx * d;
    if (t) memset(last, 0, sizeof(double) * (size_t)d);
    for (int64_t b = b0; b < b1; b++)
      for (int64_t i = 0; i < j->dx; i++) last[i] += j->x[b * j->ldx + i];
    last[j->dx] += (double)(b1 - b0);
  }
  if (threads == 1) return;
  prsvd_pool_barrier(j->pool);
  /* S(:, c) += S_1(:, c) + ... + S_{T-1}(:, c), in thread order, for this thread's columns */
  for (int64_t c = d * t / threads; c < d * (t + 1) / threads; c++)
    for (int u = 1; u < threads; u++) {
      const double *lane = j->lanes + (int64_t)(u - 1) * d * d + c * d;
      for (int64_t r = 0; r <= c; r++) j->sum[c * d + r] += lane[r];
    }
}

void prsvd_kfac_gram_add(struct prsvd_pool *pool, int64_t batch, int64_t dx, int bias,
                         const double *x, int64_t ldx, double *sum, double *lanes) {
  struct gram_job job = {pool, batch, dx, ldx, dx + (bias ? 1 : 0), bias ? 1 : 0, x, sum, lanes};
  prsvd_pool_run(pool, gram_rows, &job);
}
