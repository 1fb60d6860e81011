/*
 * Implicit centering (and scaling) for PCA: the factorization of
 *   A~ = (A - 1 mu^T) D^-1,   mu the column means, D = diag(column standard deviations) or I,
 * without ever forming A~.  The first pass accumulates column sums and sums of squares; each
 * pass computes Y_raw = A X_p and H_raw = A^T Y_raw with X_p = D^-1 X, and then
 *   A~ X        = Y_raw - 1 (mu^T X_p)
 *   A~^T Y_c    = D^-1 (H_raw - mu s^T),   s = 1^T Y_raw
 * (the terms in m mu cancel).  No extra pass, no dense copy.
 *
 * For an A sketched as 2^e A (sketch.h, the range of A), all of this is that of 2^e A until
 * prsvd_center_unscale: a zero-variance column keeps D = 1 there too, as its centred values are
 * rounding, which 2^e keeps small beside the scaled columns.
 *
 * The row variant (params.center_rows) is at the end of the file.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "svd_impl.h"

int prsvd_center_stats(prsvd_svd *svd, int64_t m, int64_t n, double *col_sum, double *col_sumsq) {
  int status = PRSVD_OK;
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, col_sum, (int)n, MPI_DOUBLE, MPI_SUM, svd->comm));
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, col_sumsq, (int)n, MPI_DOUBLE, MPI_SUM, svd->comm));
  /* kept where a checkpoint already points at them */
  if (!svd->mean) PRSVD_ALLOC(svd->mean, n);
  if (!svd->scale) PRSVD_ALLOC(svd->scale, n);
  if (!svd->unscaled) PRSVD_ALLOC(svd->unscaled, n);
  double total = 0.0;
  svd->stats.zero_variance_cols = 0;
  for (int64_t j = 0; j < n; j++) {
    const double mu = col_sum[j] / (double)m;
    const double ss = fmax(col_sumsq[j] - (double)m * mu * mu, 0.0); /* sum (a_ij - mu_j)^2 */
    const double sd = sqrt(ss / (double)m);                            /* population, as sklearn */
    svd->mean[j] = mu;
    svd->scale[j] = 1.0;
    svd->unscaled[j] = 1;
    if (svd->params.scale) {
      if (sd > 1e-12 * (fabs(mu) + 1e-300)) {
        svd->scale[j] = sd;
        svd->unscaled[j] = 0;
        total += ss / (sd * sd);
      } else {
        svd->stats.zero_variance_cols++; /* left unscaled, as sklearn's StandardScaler */
      }
    } else {
      total += ss;
    }
  }
  svd->stats.total_variance = m > 1 ? total / (double)(m - 1) : 0.0;
done:
  return status;
}

void prsvd_center_right(const prsvd_svd *svd, int64_t row0, int64_t n, int64_t cols,
                        const double *x, double *xp) {
  for (int64_t c = 0; c < cols; c++)
    for (int64_t j = 0; j < n; j++) xp[c * n + j] = x[c * n + j] / svd->scale[row0 + j];
}

int prsvd_center_range(const prsvd_svd *svd, prsvd_dmat *y, int64_t col0, const double *xp,
                       int64_t row0, int64_t n) {
  int status = PRSVD_OK;
  int64_t rows, ld, cols = prsvd_dmat_cols(y);
  double *yl = prsvd_dmat_local(y, NULL, &rows, &ld), *shift = NULL;
  PRSVD_ALLOC(shift, cols);
  for (int64_t c = 0; c < cols; c++) { /* mu^T X_p(:, c) */
    shift[c] = 0.0;
    for (int64_t j = 0; j < n; j++) shift[c] += svd->mean[row0 + j] * xp[(col0 + c) * n + j];
  }
  if (svd->grid2d) /* the column blocks' parts */
    PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, shift, (int)cols, MPI_DOUBLE, MPI_SUM,
                            svd->grid2d->row_comm));
  for (int64_t c = 0; c < cols; c++)
    for (int64_t i = 0; i < rows; i++) yl[c * ld + i] -= shift[c];
done:
  free(shift);
  return status;
}

int prsvd_center_colsums(const prsvd_svd *svd, const prsvd_dmat *y, double *s) {
  int64_t rows, ld, cols = prsvd_dmat_cols(y);
  const double *yl = prsvd_dmat_local(y, NULL, &rows, &ld);
  for (int64_t c = 0; c < cols; c++) {
    double acc = 0.0;
    for (int64_t i = 0; i < rows; i++) acc += yl[c * ld + i];
    s[c] = acc;
  }
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, s, (int)cols, MPI_DOUBLE, MPI_SUM, svd->comm));
  return PRSVD_OK;
}

void prsvd_center_corange(const prsvd_svd *svd, prsvd_dmat *h, const double *s) {
  int64_t row0, rows, ld, cols = prsvd_dmat_cols(h);
  double *hl = prsvd_dmat_local(h, &row0, &rows, &ld);
  for (int64_t c = 0; c < cols; c++)
    for (int64_t i = 0; i < rows; i++)
      hl[c * ld + i] = (hl[c * ld + i] - svd->mean[row0 + i] * s[c]) / svd->scale[row0 + i];
}

void prsvd_center_unscale(prsvd_svd *svd, int64_t n, int e) {
  for (int64_t j = 0; j < n; j++) {
    svd->mean[j] = ldexp(svd->mean[j], -e);
    if (!svd->unscaled[j]) svd->scale[j] = ldexp(svd->scale[j], -e);
  }
  /* sum (a_ij - mu_j)^2 / (m - 1), or of the scaled columns m / (m - 1) each */
  if (!svd->params.scale) svd->stats.total_variance = ldexp(svd->stats.total_variance, -2 * e);
}

/* Row centring (params.center_rows): the factorization of A~ = A - mu 1^T, mu the row means of
 * the streamed A (m x n; the samples are its columns, a column-compressed X streamed as its
 * transpose).  A row's mean is known as soon as the row is read, so the pass takes it off the
 * row's products at once (pass_kernels_dense.c, prsvd_pass_center_rows):
 *   A~ X        = A X - mu (1^T X)         in the pass, t = 1^T X (prsvd_center_rows_shift)
 *   A~^T Y~     = A^T Y~ - 1 (mu^T Y~)     the pass's H less a rank-one term after it
 * and the first pass's row sums give mu and the total variance.  No extra pass. */
void prsvd_center_rows_shift(const double *x, int64_t n, int64_t cols, double *t) {
  for (int64_t c = 0; c < cols; c++) {
    double acc = 0.0;
    for (int64_t j = 0; j < n; j++) acc += x[c * n + j];
    t[c] = acc;
  }
}

int prsvd_center_rows_stats(prsvd_svd *svd, const prsvd_dmat *y, int64_t n, const double *sum,
                            const double *sumsq) {
  int status = PRSVD_OK;
  int64_t row0, rows, ld;
  const int64_t m = prsvd_dmat_rows(y);
  prsvd_dmat_local(y, &row0, &rows, &ld);
  if (!svd->mean) PRSVD_ALLOC(svd->mean, m);
  if (!svd->scale) PRSVD_ALLOC(svd->scale, m);
  if (!svd->unscaled) PRSVD_ALLOC(svd->unscaled, m);
  memset(svd->mean, 0, sizeof(double) * (size_t)m);
  double total = 0.0;
  for (int64_t i = 0; i < rows; i++) {
    const double mu = sum[i] / (double)n;
    svd->mean[row0 + i] = mu;
    total += fmax(sumsq[i] - (double)n * mu * mu, 0.0); /* sum_j (a_ij - mu_i)^2 */
  }
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, svd->mean, (int)m, MPI_DOUBLE, MPI_SUM, svd->comm));
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_DOUBLE, MPI_SUM, svd->comm));
  for (int64_t i = 0; i < m; i++) svd->scale[i] = 1.0, svd->unscaled[i] = 1;
  svd->stats.zero_variance_cols = 0;
  svd->stats.total_variance = n > 1 ? total / (double)(n - 1) : 0.0;
done:
  return status;
}

int prsvd_center_rows_corange(const prsvd_svd *svd, const prsvd_dmat *y, prsvd_dmat *h) {
  int status = PRSVD_OK;
  int64_t y0, yr, yld, hr, hld;
  const int64_t cols = prsvd_dmat_cols(h);
  const double *yl = prsvd_dmat_local(y, &y0, &yr, &yld);
  double *hl = prsvd_dmat_local(h, NULL, &hr, &hld), *shift = NULL;
  PRSVD_ALLOC(shift, cols);
  for (int64_t c = 0; c < cols; c++) { /* mu^T Y~(:, c) */
    double acc = 0.0;
    for (int64_t i = 0; i < yr; i++) acc += svd->mean[y0 + i] * yl[c * yld + i];
    shift[c] = acc;
  }
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, shift, (int)cols, MPI_DOUBLE, MPI_SUM, svd->comm));
  for (int64_t c = 0; c < cols; c++)
    for (int64_t i = 0; i < hr; i++) hl[c * hld + i] -= shift[c];
done:
  free(shift);
  return status;
}
