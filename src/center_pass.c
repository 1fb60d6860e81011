/*
 * The implicit centring of subspace iteration (rsvd.c), as hooks around its passes: what the
 * iteration does before each pass (the right matrix X_p = D^-1 X and the sums the first pass
 * adds; for rows, each row's mean off its products inside the pass) and after it (the
 * corrections of center.c that make Y and H those of the centred A), what the checkpoint
 * saves of it, and what a resumed or repeated first pass redoes.  The algebra is center.c's;
 * this file only says when each piece runs, so that rsvd.c reads as Algorithm 4.4.
 */
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "error.h"
#include "svd_impl.h"

int prsvd_centring_begin(struct prsvd_centring *c, prsvd_svd *svd, const prsvd_source *a,
                         const prsvd_dmat *y, int64_t l, int64_t width) {
  int status = PRSVD_OK;
  const struct prsvd_svd_params *prm = &svd->params;
  memset(c, 0, sizeof *c);
  c->cols = prm->center && !prm->center_rows;
  c->rows = prm->center && prm->center_rows;
  c->n_all = prsvd_source_cols(a);
  c->width = width;
  if (c->rows && svd->grid2d)
    PRSVD_FAIL(PRSVD_ERR_USAGE,
               "centring the rows of '%s' needs whole rows: a P x 1 grid (--grid %dx1)",
               prsvd_source_name(a), prsvd_grid_nprocs(svd->grid));
  if (c->cols) { /* column statistics (all n) from the first pass */
    PRSVD_ALLOC(c->col_sum, c->n_all);
    PRSVD_ALLOC(c->col_sumsq, c->n_all);
    PRSVD_ALLOC(c->s, l);
  }
  if (c->rows) { /* the row sums of this rank's rows (Y's local block) from the first pass */
    prsvd_dmat_local(y, NULL, &c->local_rows, NULL);
    PRSVD_ALLOC(c->row_sum, c->local_rows > 0 ? c->local_rows : 1);
    PRSVD_ALLOC(c->row_sumsq, c->local_rows > 0 ? c->local_rows : 1);
    PRSVD_ALLOC(c->shift, width);
  }
done:
  return status;
}

int prsvd_centring_columns(struct prsvd_centring *c, int64_t c0, int64_t n) {
  int status = PRSVD_OK;
  c->c0 = c0, c->n = n;
  if (c->cols) PRSVD_ALLOC(c->xp, n * c->width); /* X_p = D^-1 X in the pass */
done:
  return status;
}

int prsvd_centring_checkpoint(struct prsvd_centring *c, struct prsvd_ckpt *ck, const prsvd_svd *svd,
                              const prsvd_dmat *y) {
  if (c->cols) {
    PRSVD_CHECK(prsvd_ckpt_partial(ck, svd->grid, "col_sum", c->col_sum, c->n_all, 1));
    PRSVD_CHECK(prsvd_ckpt_partial(ck, svd->grid, "col_sumsq", c->col_sumsq, c->n_all, 1));
  }
  if (c->rows) { /* distributed by rows, as Y */
    int64_t y0, yr;
    const int64_t m = prsvd_dmat_rows(y);
    prsvd_dmat_local(y, &y0, &yr, NULL);
    prsvd_ckpt_array(ck, "row_sum", c->row_sum, m, 1, yr > 0 ? yr : 1, y0, yr, 1);
    prsvd_ckpt_array(ck, "row_sumsq", c->row_sumsq, m, 1, yr > 0 ? yr : 1, y0, yr, 1);
  }
  return PRSVD_OK;
}

/* The first pass's statistics, final: reduced into the means (and scales) on every rank. */
static int first_pass_stats(struct prsvd_centring *c, prsvd_svd *svd, struct prsvd_ckpt *ck,
                            int64_t m) {
  if (c->cols) {
    PRSVD_CHECK(prsvd_center_stats(svd, m, c->n_all, c->col_sum, c->col_sumsq));
    prsvd_ckpt_partial_reduced(ck, c->col_sum);
    prsvd_ckpt_partial_reduced(ck, c->col_sumsq);
  }
  return PRSVD_OK;
}

int prsvd_centring_resumed(struct prsvd_centring *c, prsvd_svd *svd, struct prsvd_ckpt *ck,
                           const prsvd_dmat *y, int start_pass) {
  if (start_pass == 0) return PRSVD_OK;
  PRSVD_CHECK(first_pass_stats(c, svd, ck, prsvd_dmat_rows(y)));
  if (c->rows) PRSVD_CHECK(prsvd_center_rows_stats(svd, y, c->n_all, c->row_sum, c->row_sumsq));
  return PRSVD_OK;
}

void prsvd_centring_before(struct prsvd_centring *c, const prsvd_svd *svd, struct prsvd_pass *pass,
                           const double *x, int pass_index) {
  if (c->cols) { /* X_p = D^-1 X (D = I until the first pass has measured it) */
    pass->right = c->xp;
    pass->col_sum = pass_index == 0 ? c->col_sum + c->c0 : NULL; /* this rank's columns */
    pass->col_sumsq = pass_index == 0 ? c->col_sumsq + c->c0 : NULL;
    if (pass_index == 0)
      memcpy(c->xp, x, sizeof(double) * (size_t)(c->n * c->width));
    else
      prsvd_center_right(svd, c->c0, c->n, c->width, x, c->xp);
  }
  if (c->rows) { /* each row's mean off its products in the pass: P_i -= mu_i (1^T X) */
    prsvd_center_rows_shift(x, c->n, c->width, c->shift);
    pass->center_rows = 1;
    pass->center_cols = c->n_all;
    pass->center_shift = c->shift;
    pass->center_sum = pass_index == 0 ? c->row_sum : NULL;
    pass->center_sumsq = pass_index == 0 ? c->row_sumsq : NULL;
  }
}

void prsvd_centring_repeat(struct prsvd_centring *c) {
  if (c->cols) {
    memset(c->col_sum, 0, sizeof(double) * (size_t)c->n_all);
    memset(c->col_sumsq, 0, sizeof(double) * (size_t)c->n_all);
  }
  if (c->rows) {
    memset(c->row_sum, 0, sizeof(double) * (size_t)c->local_rows);
    memset(c->row_sumsq, 0, sizeof(double) * (size_t)c->local_rows);
  }
}

int prsvd_centring_after(struct prsvd_centring *c, prsvd_svd *svd, struct prsvd_ckpt *ck,
                         prsvd_dmat *y, prsvd_dmat *y_probes, int64_t probes_col0, prsvd_dmat *h,
                         int pass_index) {
  if (c->cols) {
    /* A~ X = Y - 1 (mu^T X_p);  A~^T Y_c = D^-1 (H - mu s^T), s = 1^T Y */
    if (pass_index == 0) PRSVD_CHECK(first_pass_stats(c, svd, ck, prsvd_dmat_rows(y)));
    PRSVD_CHECK(prsvd_center_colsums(svd, y, c->s));
    PRSVD_CHECK(prsvd_center_range(svd, y, 0, c->xp, c->c0, c->n));
    if (y_probes) PRSVD_CHECK(prsvd_center_range(svd, y_probes, probes_col0, c->xp, c->c0, c->n));
    prsvd_center_corange(svd, h, c->s);
  }
  if (c->rows) { /* A~^T Y~ = A^T Y~ - 1 (mu^T Y~), mu from the first pass's row sums */
    if (pass_index == 0)
      PRSVD_CHECK(prsvd_center_rows_stats(svd, y, c->n_all, c->row_sum, c->row_sumsq));
    PRSVD_CHECK(prsvd_center_rows_corange(svd, y, h));
  }
  return PRSVD_OK;
}

void prsvd_centring_off(struct prsvd_pass *pass) {
  pass->col_sum = pass->col_sumsq = NULL;
  pass->center_rows = 0, pass->center_sum = pass->center_sumsq = NULL;
}

int prsvd_centring_after_extra(struct prsvd_centring *c, const prsvd_svd *svd, const prsvd_dmat *q,
                               prsvd_dmat *h) {
  if (c->cols) { /* A~^T Q = D^-1 (A^T Q - mu (1^T Q)) */
    PRSVD_CHECK(prsvd_center_colsums(svd, q, c->s));
    prsvd_center_corange(svd, h, c->s);
  }
  if (c->rows) PRSVD_CHECK(prsvd_center_rows_corange(svd, q, h)); /* A~^T Q = A^T Q - 1 (mu^T Q) */
  return PRSVD_OK;
}

void prsvd_centring_free(struct prsvd_centring *c) {
  free(c->xp), free(c->col_sum), free(c->col_sumsq), free(c->s);
  free(c->row_sum), free(c->row_sumsq), free(c->shift);
  memset(c, 0, sizeof *c);
}
