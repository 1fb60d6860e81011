/* prsvd pca FILE.h5ad:/X -k K --anndata: the PCA written back into the AnnData file, as
 * scanpy.pp.pca stores it (obsm/X_pca = the scores U S, varm/PCs = the components V,
 * uns/pca/variance and variance_ratio, uns/pca/params), through io/h5anndata.c, which writes a
 * new version of the file and renames it over the old one once complete. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "error.h"

int prsvd_cli_anndata_check(const struct prsvd_cli_run *run, int swap, int force) {
  const int64_t cells = swap ? run->info.cols : run->info.rows, genes = swap ? run->info.rows : run->info.cols;
  return prsvd_h5_anndata_check(run->cli->comm, run->file, cells, genes, force);
}

int prsvd_cli_select(struct prsvd_cli_run *run, int swap, const char *rows_where, int log1p,
                     struct prsvd_cli_select *sel) {
  struct prsvd_transform t = {NULL, NULL, log1p};
  sel->cells = swap ? run->info.cols : run->info.rows;
  sel->selected = sel->cells;
  if (rows_where) {
    if (swap && run->info.nnz <= 0 && !run->info.sparse)
      PRSVD_ERR(PRSVD_ERR_USAGE, "--rows-where of '%s', stored transposed and dense, is not supported (the cells are "
                "its stored columns)", run->spec);
    PRSVD_CHECK(prsvd_h5_anndata_mask(run->cli->comm, run->file, rows_where, sel->cells, &sel->mask, &sel->selected));
    if (sel->selected < 2)
      PRSVD_ERR(PRSVD_ERR_INPUT, "--rows-where %s selects one cell: a PCA needs at least two", rows_where);
    if (swap) t.col_mask = sel->mask;
    else t.row_mask = sel->mask;
  }
  PRSVD_CHECK(prsvd_source_transform(&run->src, &t));
  if (swap) run->info.cols = sel->selected;
  else run->info.rows = sel->selected;
  run->info.nnz = prsvd_source_nnz(run->src) > 0 ? prsvd_source_nnz(run->src) : run->info.nnz;
  run->info.lends = 0; /* the transform copies every panel */
  return PRSVD_OK;
}

void prsvd_cli_select_free(struct prsvd_cli_select *sel) {
  free(sel->mask);
  sel->mask = NULL;
}

/* Collective: obsm/X_pca, cells x k, from this rank's rows [u0, u0 + ur) of the kept cells'
 * scores us (column-major, ld ur): without a selection those rows; with one the original
 * rows from the first of them up to the next rank's first (NaN for the cells not kept). */
static int write_scores(prsvd_h5_writer *w, const struct prsvd_cli_select *sel, int64_t kept, int64_t k, int64_t u0,
                        int64_t ur, const double *us) {
  int status = PRSVD_OK;
  prsvd_h5_matrix *mat = NULL;
  double *rows = NULL;
  int64_t *orig = NULL;
  const int64_t cells = sel->mask ? sel->cells : kept, ld = ur > 0 ? ur : 1;
  PRSVD_CHECK(prsvd_h5_matrix_create(w, "/obsm/X_pca", cells, k, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
  if (!sel->mask) {
    PRSVD_TRY(prsvd_h5_matrix_write_colmajor(mat, u0, ur, us, ld));
  } else {
    /* b(s): the original row of kept cell s, b(0) = 0 and b(selected) = cells, so the ranks'
     * ranges [b(u0), b(u0 + ur)) tile all the cells */
    int64_t lo, hi;
    PRSVD_ALLOC(orig, sel->selected + 1);
    for (int64_t i = 0, s = 0; i < sel->cells; i++)
      if (sel->mask[i]) orig[s++] = i;
    lo = u0 == 0 ? 0 : orig[u0];
    hi = u0 + ur >= sel->selected ? sel->cells : orig[u0 + ur];
    PRSVD_ALLOC(rows, (hi - lo > 0 ? hi - lo : 1) * k);
    for (int64_t i = 0; i < (hi - lo) * k; i++) rows[i] = NAN;
    for (int64_t i = 0; i < ur; i++)
      for (int64_t j = 0; j < k; j++) rows[(orig[u0 + i] - lo) * k + j] = us[j * ld + i];
    PRSVD_TRY(prsvd_h5_matrix_write(mat, lo, hi - lo, rows));
  }
done:
  prsvd_h5_matrix_close(&mat);
  free(rows);
  free(orig);
  return status;
}

int prsvd_cli_anndata_write(struct prsvd_cli_run *run, const struct prsvd_cli_anndata *a) {
  int status = PRSVD_OK;
  MPI_Comm comm = run->cli->comm;
  prsvd_h5_writer *w = NULL;
  prsvd_h5_matrix *mat = NULL;
  const double *s, *u, *v;
  double *ev = NULL, *ratio = NULL, *us = NULL;
  int64_t k, u0, ur, uld, v0, vr, vld;
  int64_t cells = run->info.rows, genes = run->info.cols;
  PRSVD_CHECK(prsvd_svd_get_rank(run->svd, &k));
  PRSVD_CHECK(prsvd_svd_get_singular_values(run->svd, &s));
  PRSVD_CHECK(prsvd_svd_get_u(run->svd, &u, &u0, &ur, &uld));
  PRSVD_CHECK(prsvd_svd_get_v(run->svd, &v, &v0, &vr, &vld));
  if (a->swap) { /* the source streamed X^T = V S U^T: X's U is the computed V */
    const double *t = u;
    int64_t t0 = u0, tr = ur, tld = uld, tm = cells;
    u = v, u0 = v0, ur = vr, uld = vld, cells = genes;
    v = t, v0 = t0, vr = tr, vld = tld, genes = tm;
  }
  /* the input is read: closed before its new version is written (the same file) */
  prsvd_source_destroy(&run->src);
  PRSVD_ALLOC(ev, k);
  PRSVD_ALLOC(ratio, k);
  prsvd_cli_pca_variance(s, k, cells, run->st.total_variance, ev, ratio);
  PRSVD_ALLOC(us, (ur > 0 ? ur : 1) * k); /* the scores U S, this rank's cells */
  for (int64_t j = 0; j < k; j++)
    for (int64_t i = 0; i < ur; i++) us[j * (ur > 0 ? ur : 1) + i] = u[j * uld + i] * s[j];
  PRSVD_TRY(prsvd_h5_anndata_writer(comm, run->file, a->force, 8 * ((a->sel->mask ? a->sel->cells : cells) + genes + 2) * k, &w));
  prsvd_profile_begin(PRSVD_EV_WRITE);
  PRSVD_TRY(write_scores(w, a->sel, cells, k, u0, ur, us));
  PRSVD_TRY(prsvd_h5_matrix_create(w, "/varm/PCs", genes, k, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
  PRSVD_TRY(prsvd_h5_matrix_write_colmajor(mat, v0, vr, v, vld));
  prsvd_h5_matrix_close(&mat);
  PRSVD_TRY(prsvd_h5_write_vector(w, "/uns/pca/variance", k, ev));
  PRSVD_TRY(prsvd_h5_write_vector(w, "/uns/pca/variance_ratio", k, ratio));
  {
    const struct prsvd_h5_anndata_params p = {a->log1p, a->scale, a->rows_where};
    PRSVD_TRY(prsvd_h5_anndata_finish(comm, w, &p));
  }
  /* how the PCA was made, as every prsvd output says it, beside anndata's encoding: five
   * attributes, so that uns/pca keeps its attributes compact (HDF5 1.10's H5Ocopy, which the
   * next --force run copies the file with, crashes on variable-length strings among densely
   * stored attributes, more than 8); --log1p and --rows-where are in uns/pca/params */
  PRSVD_TRY(prsvd_h5_attr_string(w, "/uns/pca", "prsvd_version", PACKAGE_VERSION));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/uns/pca", "command_line", run->cli->command_line));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/uns/pca", "method", prsvd_cli_method_name(&run->prm)));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/uns/pca", "seed", (int64_t)run->prm.seed));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/uns/pca", "power_iters", run->st.power_iters));
  PRSVD_TRY(prsvd_h5_writer_commit(&w));
  prsvd_profile_end(PRSVD_EV_WRITE, 8.0 * (double)((cells + genes + 2) * k), 0.0);
done:
  prsvd_h5_matrix_close(&mat);
  if (w) prsvd_h5_writer_abort(&w);
  free(ev), free(ratio), free(us);
  return status;
}
