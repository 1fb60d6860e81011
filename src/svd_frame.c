/*
 * The frame of a method (svd_impl.h): its pass over A with the work array, the checkpoint and
 * the scratch it releases in one call, and the process grid's part of subspace iteration
 * (where the co-range is laid out, summed and gathered, and which columns a rank reads), so
 * that the method files test no grid and free nothing one by one.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "svd_impl.h"

void prsvd_svd_frame_init(struct prsvd_svd_frame *f, prsvd_svd *svd) {
  memset(f, 0, sizeof *f);
  f->svd = svd;
  f->corange_own_cols = 1;
  prsvd_ckpt_init(&f->ck, svd->comm, svd->params.checkpoint);
}

int prsvd_svd_pass_begin(struct prsvd_svd_frame *f, prsvd_source *a, int64_t n_right,
                         int64_t max_left_dim) {
  int status = PRSVD_OK;
  prsvd_svd *svd = f->svd;
  struct prsvd_pass *pass = &f->pass;
  PRSVD_CHECK(prsvd_svd_panel_rows(svd, a, &pass->panel_rows));
  svd->stats.panel_rows = pass->panel_rows;
  pass->a = a;
  pass->params = &svd->params;
  pass->pool = svd->pool;
  f->c0 = 0, f->n = prsvd_source_cols(a);
  PRSVD_ALLOC(pass->work, prsvd_pass_work_size(pass->panel_rows, n_right, max_left_dim));
done:
  return status;
}

void prsvd_svd_frame_end(struct prsvd_svd_frame *f) {
  free(f->pass.work);
  f->pass.work = NULL;
  prsvd_pass_free(&f->pass);
  prsvd_scratch_free(&f->scratch);
  prsvd_ckpt_free(&f->ck);
  prsvd_source_destroy(&f->view);
}

int prsvd_svd_frame_corange(const struct prsvd_svd_frame *f, int64_t rows, int64_t cols,
                            prsvd_dmat **h) {
  const struct prsvd_grid2d *g2 = f->svd->grid2d;
  return prsvd_dmat_create(g2 ? g2->by_cols : f->svd->grid, rows, cols, h);
}

int prsvd_svd_frame_columns(struct prsvd_svd_frame *f, const prsvd_dmat *h) {
  const struct prsvd_grid2d *g2 = f->svd->grid2d;
  if (!g2) return PRSVD_OK;
  prsvd_dmat_span(h, g2->col_comm, &f->c0, &f->n);
  PRSVD_CHECK(prsvd_source_columns(f->pass.a, f->c0, f->n, &f->view));
  f->pass.a = f->view;
  f->pass.grid2d = g2;
  f->corange_own_cols = 0;
  return PRSVD_OK;
}

int prsvd_svd_frame_reduce(const struct prsvd_svd_frame *f, const double *part, prsvd_dmat *h) {
  const struct prsvd_grid2d *g2 = f->svd->grid2d;
  if (g2) return prsvd_dmat_reduce_scatter_within(part, g2->col_comm, h);
  return prsvd_dmat_reduce_scatter(part, h);
}

int prsvd_svd_frame_gather(const struct prsvd_svd_frame *f, const prsvd_dmat *h, double *x) {
  const struct prsvd_grid2d *g2 = f->svd->grid2d;
  if (g2) return prsvd_dmat_allgather_within(h, g2->col_comm, x);
  return prsvd_dmat_allgather(h, x);
}
