/* Inside the K-FAC preconditioner: the application of a damped power to the columns or the
 * rows of a matrix, and the minibatch statistics split among a rank's compute threads (its
 * LAPACK routines are in blas.h). */
#ifndef PRSVD_KFAC_IMPL_H
#define PRSVD_KFAC_IMPL_H

#include <stdint.h>

/* How the m vectors of length n lie in x. */
enum prsvd_kfac_layout {
  PRSVD_KFAC_VECTORS_CONTIGUOUS = 0, /* vector j at x + j * ldx (column-major n x m) */
  PRSVD_KFAC_VECTORS_STRIDED = 1     /* element i of vector j at x[i * ldx + j] (row-major n x m) */
};

/* Not collective: x <- (U diag(lambda) U^T + delta I)^s x, see prsvd_kfac_apply_power. */
int prsvd_kfac_apply_power_layout(enum prsvd_kfac_layout layout, int64_t n, int64_t r,
                                  const double *u, const double *lambda, double delta, double s,
                                  int64_t m, double *x, int64_t ldx);

/* Not collective: m (n x n, both triangles) = U (Lambda + delta)^s U^T for a complete
 * decomposition (U n x n column-major), by scaling U by (lambda + delta)^(s/2) and one DSYRK. */
int prsvd_kfac_form_power(int64_t n, const double *u, const double *lambda, double delta, double s,
                          double *m);

/* Not collective: sum (d x d column-major upper triangle, d = dx + bias) += X^T X for the batch
 * rows of x (row-major batch x dx, row stride ldx), and with bias the column sums of X in
 * column dx and the count at (dx, dx); the columns of the sum split among the pool's T
 * threads, each writing only its own (kfac_statistics.c).  The BLAS must run one thread a call
 * meanwhile (prsvd_blas_threads_set(1)). */
struct prsvd_pool;
void prsvd_kfac_gram_add(struct prsvd_pool *pool, int64_t batch, int64_t dx, int bias, const double *x,
                         int64_t ldx, double *sum);

#endif
