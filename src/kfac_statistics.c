/*
 * The minibatch statistics of a K-FAC factor (prsvd_kfac_accumulate), split among the compute
 * threads of a rank by columns of the sum:
 *
 *   S += X^T X  (X: the batch x d_x rows),  with a bias  S(:, d_x) += X^T 1,  S(d_x, d_x) += B
 *
 * Thread t takes columns [c_t, c_t+1) of S's upper triangle, c_t = d_x sqrt(t / T) so that
 * each has about the same share of the triangle's d_x^2 / 2 entries: the block above its
 * diagonal block is one DGEMM of X's columns [0, c_t) against its own, the diagonal block one
 * DSYRK, both over the whole batch on a one-thread BLAS, and the bias column's entries
 * [c_t, c_t+1) the sums of those columns of X.  No two threads write the same entry, so there
 * is no sum of a thread's own, no addition of them and no barrier; what each entry adds and in
 * which order depends on T alone, never on timing, so a given T gives the same bits run after
 * run, and any T the 1-thread sum up to rounding.  One thread (a NULL pool, or T = 1) is the
 * plain DSYRK into S, as before the threads.
 *
 * Assumptions: S holds the upper triangle, column-major d x d (d = d_x + bias); batch, d and
 * the row stride fit an int (checked by the caller).
 */
#include <math.h>

#include "blas.h"
#include "kfac_impl.h"
#include "threads.h"

struct gram_job {
  struct prsvd_pool *pool;
  int64_t batch, dx, ldx, d;
  int bias;
  const double *x;
  double *sum;
};

/* The first column of thread t's share of the upper triangle's dx columns. */
static int64_t share(int64_t dx, int t, int threads) {
  return t >= threads ? dx : (int64_t)floor((double)dx * sqrt((double)t / (double)threads));
}

static void gram_cols(void *arg, int t) {
  const struct gram_job *j = arg;
  const int threads = prsvd_pool_threads(j->pool);
  const int64_t c0 = share(j->dx, t, threads), c1 = share(j->dx, t + 1, threads), d = j->d;
  const double one = 1.0;
  const int w = (int)(c1 - c0), above = (int)c0, id = (int)d, ildx = (int)j->ldx, nb = (int)j->batch;
  /* row-major batch x dx rows are the column-major dx x batch matrix X^T: S = X^T (X^T)^T */
  if (w > 0 && above > 0) /* S(0:c0, c0:c1) += X(:, 0:c0)^T X(:, c0:c1) */
    dgemm_("N", "T", &above, &w, &nb, &one, j->x, &ildx, j->x + c0, &ildx, &one, j->sum + c0 * d, &id);
  if (w > 0) /* S(c0:c1, c0:c1) += X(:, c0:c1)^T X(:, c0:c1), its upper triangle */
    dsyrk_("U", "N", &w, &nb, &one, j->x + c0, &ildx, &one, j->sum + c0 * d + c0, &id);
  if (j->bias) { /* the trailing 1 of every activation: column sums and the count */
    double *last = j->sum + j->dx * d;
    for (int64_t b = 0; b < j->batch; b++)
      for (int64_t i = c0; i < c1; i++) last[i] += j->x[b * j->ldx + i];
    if (t == 0) last[j->dx] += (double)j->batch;
  }
}

void prsvd_kfac_gram_add(struct prsvd_pool *pool, int64_t batch, int64_t dx, int bias,
                         const double *x, int64_t ldx, double *sum) {
  struct gram_job job = {pool, batch, dx, ldx, dx + (bias ? 1 : 0), bias ? 1 : 0, x, sum};
  prsvd_pool_run(pool, gram_cols, &job);
}
