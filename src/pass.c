/* The panel loop of every pass (sketch.h): read, check, and the sketch updates, panel by panel,
 * with the 2-D grid's per-panel sums and the collective hook between panels. */
#include "pass_impl.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "profile.h"
#include "source_impl.h"
#include "threads.h"

/* ---- the per-panel sums of a 2-D grid (sketch.h, grid2d) ---- */

/* Columns of a panel's sum: the right product's, or the co-range source's without one. */
static int64_t row_sum_width(const struct prsvd_pass *p) {
  if (!p->grid2d) return 0;
  if (p->n_right) return p->n_right;
  return p->corange ? prsvd_dmat_cols(p->corange_src) : 0;
}

/* The step's sum over the process row of p->state->row_sum (nr x width), with this rank's failure
 * flag after it: PRSVD_ERR_INPUT if another rank of the row failed (its own error is the
 * one the agreement after the pass reports). */
static int row_sum(struct prsvd_pass *p, int64_t r, int64_t nr, int failed) {
  const int64_t count = nr * row_sum_width(p);
  int icount;
  PRSVD_CHECK(prsvd_to_int(count + 1, "panel sum", &icount));
  p->state->row_sum[count] = failed ? 1.0 : 0.0;
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, p->state->row_sum, icount, MPI_DOUBLE, MPI_SUM,
                          p->grid2d->row_comm));
  if (!failed && p->state->row_sum[count] != 0.0) {
    prsvd_error_set(PRSVD_ERR_INPUT, __FILE__, __LINE__, __func__,
                    "'%s': rows [%lld, %lld) failed on another rank of this process row",
                    prsvd_source_name(p->a), (long long)r, (long long)(r + nr));
    return prsvd_error_echo();
  }
  return PRSVD_OK;
}

/* A failed step still joins its sum, so no rank of the process row waits. */
static int row_join(struct prsvd_pass *p, int64_t r, int64_t nr, int status) {
  if (row_sum_width(p)) row_sum(p, r, nr, 1);
  return status;
}

/* K_i of the rows [r, r + nr) with no right product: the process row's blocks of the co-range
 * source, each rank adding its rows. */
static int row_gather(struct prsvd_pass *p, int64_t r, int64_t nr) {
  const int64_t kc = prsvd_dmat_cols(p->corange_src);
  int64_t k0, kr, kld;
  const double *k = prsvd_dmat_local(p->corange_src, &k0, &kr, &kld);
  const int64_t lo = r > k0 ? r : k0, hi = r + nr < k0 + kr ? r + nr : k0 + kr;
  memset(p->state->row_sum, 0, sizeof(double) * (size_t)(nr * kc));
  for (int64_t c = 0; c < kc && hi > lo; c++)
    memcpy(p->state->row_sum + c * nr + lo - r, k + c * kld + lo - k0, sizeof(double) * (size_t)(hi - lo));
  return row_sum(p, r, nr, 0);
}

/* The panel at the cursor, already in p->state->panel (p->state->panel32, p->state->csr): check it and update
 * every sketch; advances the cursor. */
static int one_panel(struct prsvd_pass *p, struct prsvd_cursor *cur, int64_t row0,
                     int64_t local_rows, int64_t n, int in, int64_t nr64) {
  double *prod = p->work;
  double *g = p->work + p->panel_rows * p->n_right;
  const int64_t r = cur->next_row;
  int64_t off = r - row0;
  const int nr = (int)nr64;
  double flops = 0.0;

  if (prsvd_pass_scans(p)) { /* NaN/Inf and max |a_ij|; a running pass's exponent follows amax */
    const int bad = prsvd_pass_scan_panel(p, r, nr64);
    if (bad) return p->state->csr ? bad : row_join(p, r, nr, bad);
    if (p->state->panel_amax > p->amax) p->amax = p->state->panel_amax;
    if (p->scale_running) prsvd_pass_follow_range(p);
  }
  prsvd_pass_copies_ready(p, n);
  if (p->state->csr && p->state->n_lanes > 1) { /* a sparse panel's stored entries split among the threads */
    struct prsvd_panel_job job = {p, r, off, n, nr};
    prsvd_profile_begin(PRSVD_EV_SKETCH);
    prsvd_pool_run(p->pool, prsvd_pass_lane_panel_csr, &job);
    for (int t = 0; t < p->state->n_lanes; t++) flops += p->state->lanes[t].flops;
    prsvd_profile_end(PRSVD_EV_SKETCH, 0.0, flops);
    goto advance;
  }
  if (p->state->csr) { /* a sparse panel: the O(nnz) updates of pass_kernels_csr.c */
    prsvd_profile_begin(PRSVD_EV_SKETCH);
    PRSVD_CHECK(prsvd_pass_csr_panel(p, r, off, n, p->state->right_t, &flops));
    if (p->resid) flops += prsvd_pass_residual_update(p, off, nr, in);
    prsvd_profile_end(PRSVD_EV_SKETCH, 0.0, flops);
    goto advance;
  }

  prsvd_profile_begin(PRSVD_EV_SKETCH);
  if (p->state->n_lanes > 1) { /* the panel's rows split among the threads */
    struct prsvd_panel_job job = {p, r, off, n, nr};
    prsvd_pool_run(p->pool, prsvd_pass_lane_panel, &job);
    for (int t = 0; t < p->state->n_lanes; t++) flops += p->state->lanes[t].flops;
    prsvd_profile_end(PRSVD_EV_SKETCH, 0.0, flops);
    goto advance;
  }
  struct prsvd_lane *whole = &p->state->lanes[0]; /* one thread: the whole panel */
  whole->row0 = 0, whole->rows = nr64;
  prsvd_pass_row_statistics(p, whole, r, nr64, n);
  prsvd_pass_col_statistics(p, nr64, n, 0, n);
  /* P_i = A_i R (on a 2-D grid summed over the process row), kept rows stored */
  if (p->n_right) {
    int kld;
    double *kept = prsvd_pass_kept_at(p, r, nr64, &kld);
    if (kept) {
      flops += prsvd_pass_right_product(p, whole, nr, in, kept, kld);
    } else {
      flops += prsvd_pass_right_product(p, whole, nr, in, prod, nr);
      if (p->center_rows) prsvd_pass_center_rows(p, 0, nr64, off, prod, nr64);
      if (p->grid2d) {
        memcpy(p->state->row_sum, prod, sizeof(double) * (size_t)(nr64 * p->n_right));
        PRSVD_CHECK(row_sum(p, r, nr64, 0));
        prod = p->state->row_sum;
      }
      prsvd_pass_keep_rows(p, r, 0, nr64, prod, nr64); /* the rows of the panel in this rank's block */
    }
  } else if (p->grid2d && p->corange) {
    PRSVD_CHECK(row_gather(p, r, nr64));
  }
  /* H += A_i^T K_i */
  if (p->corange) {
    int64_t kld;
    int kc = (int)prsvd_dmat_cols(p->corange_src), ild;
    const double *k = prsvd_dmat_local(p->corange_src, NULL, NULL, &kld);
    if (p->grid2d) /* the whole rows: P_i's (keep[0] is the co-range source) or gathered */
      k = p->n_right ? prod + p->keep[0].col0 * nr : p->state->row_sum, kld = nr, off = 0;
    PRSVD_CHECK(prsvd_to_int(kld, "sketch leading dimension", &ild));
    flops += prsvd_pass_panel_t_times(p, whole, 0, nr, 0, in, in, k + off, ild, kc, p->corange);
  }
  /* L += A_i^T G_i, Z += G_i^T P_i */
  for (int t = 0, run; t < p->n_left; t += run) {
    prsvd_pass_left_rows(p, t, run = prsvd_pass_left_run(p, t), r, 0, nr, g, nr);
    flops += prsvd_pass_left_cols(p, whole, t, run, nr, in, 0, in, 0, 1, prod, g, nr);
  }
  /* resid += ||A_i - K_i M^T||_F^2 */
  if (p->resid) flops += prsvd_pass_residual_update(p, off, nr, in);
  if (p->apply) flops += p->apply(p->apply_arg, r, nr64, p->state->panel);
  prsvd_profile_end(PRSVD_EV_SKETCH, 0.0, flops);

advance:
  cur->next_row = r + nr;
  if (p->params && p->params->progress)
    p->params->progress(p->params->progress_arg, cur->pass, cur->n_passes, cur->next_row - row0,
                        local_rows);
  return PRSVD_OK;
}

/* One step of the pass: the panel at the cursor, read and applied. */
static int step(struct prsvd_reads *rd, struct prsvd_pass *p, struct prsvd_cursor *cur, int64_t row0,
                int64_t local_rows, int64_t n, int in) {
  const int64_t end = row0 + local_rows, nr = prsvd_panel_at(p, cur->next_row, end);
  const int status = prsvd_reads_ready(rd, p, cur->next_row, nr, end);
  if (status) return row_join(p, cur->next_row, nr, status);
  return one_panel(p, cur, row0, local_rows, n, in, nr);
}

/* The steps of a pass in lockstep: every rank takes the most steps any rank has left, so a
 * hook can run collectives at each panel boundary and collective reads stay matched (a rank
 * done, or failed, joins them with zero-row reads). */
static int lockstep(struct prsvd_pass *p, struct prsvd_cursor *cur, int64_t row0,
                    int64_t local_rows, int64_t n, int in, int collective, MPI_Comm comm) {
  const int64_t end = row0 + local_rows;
  long steps = prsvd_panels_left(p, cur->next_row, end), most;
  int status = PRSVD_OK;
  struct prsvd_reads rd;
  memset(&rd, 0, sizeof rd);
  if (MPI_Allreduce(&steps, &most, 1, MPI_LONG, MPI_MAX, comm) != MPI_SUCCESS)
    return prsvd_error_set(PRSVD_ERR_MPI, __FILE__, __LINE__, __func__, "MPI_Allreduce of the pass length failed");
  status = prsvd_reads_begin(&rd, p, cur->next_row, end, collective, collective ? most : LONG_MAX);
  for (long i = 0; i < most; i++) {
    if (!status && cur->next_row < end) {
      status = step(&rd, p, cur, row0, local_rows, n, in);
    } else if (collective) {
      const int joined = prsvd_reads_ready(&rd, p, end, 0, end);
      if (!status) status = joined;
    }
    if (!p->hook) continue;
    prsvd_reads_settle(&rd); /* the hook may save: the source must be idle */
    int decided = p->hook(p->hook_arg, status, cur);
    if (decided) { /* agreed on every rank: an error, or checkpointed */
      status = decided;
      break;
    }
  }
  const int ended = prsvd_reads_end(&rd, p);
  return status ? status : ended;
}

/* The scratch a pass makes for itself: for sparse panels R row-major and a row-major co-range
 * product; for the sparse-map kernels on dense panels a transposed tile and the positions and
 * signs of a panel's rows; for a single-precision pass the float32 copies. */
static int scratch_begin(struct prsvd_pass *p, int64_t n) {
  if (p->resid) {
    const int64_t tr = prsvd_pass_resid_tile_rows(n);
    p->state->resid_tile = malloc(sizeof(double) * (size_t)(tr * (n + p->resid_k)));
    if (!p->state->resid_tile) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for a tile of the residual");
  }
  if (row_sum_width(p)) {
    p->state->row_sum = malloc(sizeof(double) * (size_t)(p->panel_rows * row_sum_width(p) + 1));
    if (!p->state->row_sum) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for a panel's sum over the process row");
  }
  if (prsvd_source_nnz(p->a) >= 0) {
    if (p->n_right && p->right) {
      p->state->right_t = malloc(sizeof(double) * (size_t)(n * p->n_right));
      if (!p->state->right_t) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory transposing the test matrix");
      for (int64_t q = 0; q < p->n_right; q++)
        for (int64_t j = 0; j < n; j++) p->state->right_t[j * p->n_right + q] = p->right[q * n + j];
    }
    if (p->corange) {
      p->state->corange_t = malloc(sizeof(double) * (size_t)(n * prsvd_dmat_cols(p->corange_src)));
      if (!p->state->corange_t) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the sparse co-range update");
    }
    return prsvd_pass_lanes_begin(p, n);
  }
  int sparse_left = 0;
  for (int t = 0; t < p->n_left; t++)
    sparse_left |= p->left[t].g.kind == PRSVD_SKETCH_SPARSE && !prsvd_pass_sparse_left_as_dense(p->left[t].g.dim);
  if (p->n_right && p->right_sparse) {
    p->state->tile = malloc(sizeof(double) * (size_t)((n + p->n_right) * PRSVD_TILE_ROWS));
    if (!p->state->tile) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the sparse sketch tile");
  }
  if (sparse_left) {
    p->state->tile_sign = malloc(sizeof(double) * (size_t)(p->panel_rows * 8));
    p->state->tile_pos = malloc(sizeof(int) * (size_t)(p->panel_rows * 8));
    if (!p->state->tile_sign || !p->state->tile_pos) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the sparse sketch rows");
  }
  PRSVD_CHECK(prsvd_pass_copies_begin(p, n));
  return prsvd_pass_lanes_begin(p, n);
}

static void scratch_end(struct prsvd_pass *p) {
  prsvd_pass_lanes_end(p);
  free(p->state->right_t), free(p->state->corange_t), free(p->state->tile), free(p->state->tile_sign), free(p->state->tile_pos), free(p->state->f32);
  free(p->state->row_sum), free(p->state->right_c), free(p->state->small_c), free(p->state->resid_tile);
  p->state->right_t = p->state->corange_t = p->state->tile = p->state->tile_sign = p->state->row_sum = p->state->right_c = p->state->small_c = p->state->resid_tile = NULL;
  p->state->tile_pos = NULL;
  p->state->f32 = NULL;
}

/* The m-row matrix whose row blocks name the pass's rows, or NULL (then row_grid's). */
static const prsvd_dmat *rows_ref(const struct prsvd_pass *p) {
  return p->n_keep ? p->keep[0].dmat : p->corange_src ? p->corange_src : p->resid_src;
}

int prsvd_pass_rows(const struct prsvd_pass *p, int64_t *row0, int64_t *local_rows) {
  const prsvd_dmat *ref = rows_ref(p);
  if (!ref && p->row_grid && !p->grid2d) {
    prsvd_row_block(prsvd_source_rows(p->a), prsvd_grid_rank(p->row_grid), prsvd_grid_nprocs(p->row_grid),
                    row0, local_rows);
    return PRSVD_OK;
  }
  if (!ref || prsvd_dmat_rows(ref) != prsvd_source_rows(p->a))
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "a pass needs an m-row kept or co-range matrix to place its rows");
  if (p->grid2d) prsvd_dmat_span(ref, p->grid2d->row_comm, row0, local_rows);
  else prsvd_dmat_local(ref, row0, local_rows, NULL);
  return PRSVD_OK;
}

int prsvd_sketch_pass(struct prsvd_pass *p, struct prsvd_cursor *cur) {
  const int64_t n = prsvd_source_cols(p->a);
  int64_t row0, local_rows;
  int in, status = PRSVD_OK, blas_before = 0;
  struct prsvd_source_layout lay;
  const prsvd_dmat *ref = rows_ref(p);
  PRSVD_CHECK(prsvd_pass_rows(p, &row0, &local_rows));
  if (p->grid2d && p->n_right && p->corange && p->corange_src != p->keep[0].dmat)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "a 2-D pass takes its co-range rows from the first kept matrix");
  if (p->grid2d && p->scale_running) /* a process row sums its panels: one exponent for all */
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "a 2-D pass runs with a fixed scale");
  PRSVD_CHECK(prsvd_to_int(n, "columns of A", &in));
  if (cur->next_row < row0) cur->next_row = row0;
  const int64_t end = row0 + local_rows;
  prsvd_source_get_layout(p->a, &lay);
  if (!p->state && !(p->state = calloc(1, sizeof *p->state)))
    PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the state of a pass");
  p->state->single = prsvd_pass_single(p->params, p->a);
  p->state->grid = prsvd_panel_grid(p);
  prsvd_profile_pass_begin();
  status = scratch_begin(p, n);
  if (status) goto out;
  /* while the threads multiply, each BLAS call runs on its caller alone */
  if (p->state->n_lanes > 1) blas_before = prsvd_blas_threads_set(1);
  if (p->hook || lay.collective_reads) {
    MPI_Comm comm = p->hook ? p->hook_comm : prsvd_grid_comm(ref ? prsvd_dmat_grid(ref) : p->row_grid);
    status = lockstep(p, cur, row0, local_rows, n, in, lay.collective_reads, comm);
    goto out;
  }
  struct prsvd_reads rd;
  status = prsvd_reads_begin(&rd, p, cur->next_row, end, 0, LONG_MAX);
  while (!status && cur->next_row < end) status = step(&rd, p, cur, row0, local_rows, n, in);
  const int ended = prsvd_reads_end(&rd, p);
  if (!status) status = ended;
out:
  p->state->csr = NULL;
  if (blas_before > 0) prsvd_blas_threads_set(blas_before);
  scratch_end(p);
  prsvd_profile_pass_end();
  return status;
}

void prsvd_pass_free(struct prsvd_pass *p) {
  if (!p->state) return;
  prsvd_pass_free_buffers(p);
  free(p->state);
  p->state = NULL;
}
