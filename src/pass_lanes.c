/* The lanes of a pass (sketch.h, Threads): each panel split among the pool's threads by rows,
 * and their sums folded into the pass's at the end of every panel. */
#include "pass_impl.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "threads.h"

/* The end of a panel's job, once every lane has multiplied (prsvd_pool_barrier): thread t adds
 * rows [n t/T, n (t+1)/T) of the other lanes' sums into the pass's (and a T-th of their
 * cores), in lane order, and zeroes them (a dense lane 0 added into the pass's sums itself; CSR lanes keep a row-major sum
 * each), and thread 0 the Frobenius sums.  Every panel ends so, whether or not a hook saves at
 * its boundary or the scale moves: the pass's sums between panels, and so a checkpoint and a
 * run it resumes, are the same as an uninterrupted run's, bit for bit. */
static void fold_slice(struct prsvd_pass *p, int t) {
  const int lanes = p->state->n_lanes;
  const int64_t n = prsvd_source_cols(p->a), j0 = n * t / lanes, j1 = n * (t + 1) / lanes;
  const int64_t kc = p->corange ? prsvd_dmat_cols(p->corange_src) : 0;
  for (int u = 0; u < lanes; u++) {
    const struct prsvd_lane *ln = &p->state->lanes[u];
    if (ln->corange_t) {
      for (int64_t q = 0; q < kc; q++)
        for (int64_t j = j0; j < j1; j++) p->corange[q * n + j] += ln->corange_t[j * kc + q];
      for (int64_t j = j0; j < j1; j++) memset(ln->corange_t + j * kc, 0, sizeof(double) * (size_t)kc);
    } else if (u > 0 && ln->corange) {
      for (int64_t q = 0; q < kc; q++)
        for (int64_t j = j0; j < j1; j++) p->corange[q * n + j] += ln->corange[q * n + j], ln->corange[q * n + j] = 0.0;
    }
    if (u > 0 && ln->col_sum)
      for (int64_t j = j0; j < j1; j++) {
        p->col_sum[j] += ln->col_sum[j], p->col_sumsq[j] += ln->col_sumsq[j];
        ln->col_sum[j] = ln->col_sumsq[j] = 0.0;
      }
    for (int l = 0; u > 0 && l < p->n_left; l++) {
      const int64_t d = p->left[l].g.dim, e = d * p->left[l].core_cols;
      double *acc = ln->left_acc[l], *core = ln->left_core[l];
      for (int64_t q = 0; acc && q < d; q++)
        for (int64_t j = j0; j < j1; j++) p->left[l].acc[q * n + j] += acc[q * n + j], acc[q * n + j] = 0.0;
      for (int64_t x = e * t / lanes; core && x < e * (t + 1) / lanes; x++)
        p->left[l].core[x] += core[x], core[x] = 0.0;
    }
  }
  if (t == 0 && p->fro2)
    for (int u = 1; u < lanes; u++) *p->fro2 += p->state->lanes[u].fro2, p->state->lanes[u].fro2 = 0.0;
}

static void lane_rows(int64_t nr, int lanes, int t, int64_t *row0, int64_t *rows) {
  *row0 = nr * t / lanes;
  *rows = nr * (t + 1) / lanes - *row0;
}

/* Lane t's part of one_panel: statistics, P_b = A_b R into its rows of P_i (kept),
 * H_t += A_b^T K_b from its rows of the co-range source (with a right product those are rows
 * it just kept: no lane waits for another), and the left sketches from its rows of G_i and
 * P_i. */
void prsvd_pass_lane_panel(void *arg, int t) {
  const struct prsvd_panel_job *job = arg;
  struct prsvd_pass *p = job->p;
  struct prsvd_lane *ln = &p->state->lanes[t];
  const int n = (int)job->n;
  lane_rows(job->nr, p->state->n_lanes, t, &ln->row0, &ln->rows);
  const int nr = (int)ln->rows;
  ln->flops = 0.0;
  if (nr) {
    prsvd_pass_statistics(p, ln, job->r, nr, n);
    if (p->n_right) {
      ln->flops += prsvd_pass_right_product(p, ln, nr, n, p->work + ln->row0, job->nr);
      if (p->center_rows) prsvd_pass_center_rows(p, ln->row0, ln->row0 + nr, job->off, p->work, job->nr);
      prsvd_pass_keep_rows(p, job->r, ln->row0, nr, p->work, job->nr);
    }
    if (p->corange) {
      int64_t kld;
      const int kc = (int)prsvd_dmat_cols(p->corange_src);
      const double *k = prsvd_dmat_local(p->corange_src, NULL, NULL, &kld);
      ln->flops += prsvd_pass_panel_t_times(p, ln, nr, n, k + job->off + ln->row0, (int)kld, kc, ln->corange);
    }
    /* L_t += A_b^T G_b, Z_t += G_b^T P_b: its rows of G_i, generated here */
    for (int u = 0, run; u < p->n_left; u += run)
      ln->flops += prsvd_pass_left_update(p, ln, u, run = prsvd_pass_left_run(p, u), job->r, nr, n, p->work,
                               p->work + p->panel_rows * p->n_right, job->nr);
  }
  prsvd_pool_barrier(p->pool);
  fold_slice(p, t);
}

/* A CSR panel split among the pool's threads: lane t takes the rows from the one where the
 * t-th of T equal shares of the panel's stored entries begins. */
static int64_t csr_share_row(const struct prsvd_csr *a, int lanes, int t) {
  const int64_t want = a->nnz * t / lanes;
  int64_t lo = 0, hi = a->rows;
  while (lo < hi) { /* the first row whose entries start at or past `want` */
    const int64_t mid = lo + (hi - lo) / 2;
    if (a->indptr[mid] < want) lo = mid + 1;
    else hi = mid;
  }
  return t == lanes ? a->rows : lo;
}

void prsvd_pass_lane_panel_csr(void *arg, int t) {
  const struct prsvd_panel_job *job = arg;
  struct prsvd_pass *p = job->p;
  struct prsvd_lane *ln = &p->state->lanes[t];
  ln->row0 = csr_share_row(p->state->csr, p->state->n_lanes, t);
  ln->rows = csr_share_row(p->state->csr, p->state->n_lanes, t + 1) - ln->row0;
  ln->flops = 0.0;
  if (ln->rows > 0) prsvd_pass_csr_lane(p, ln, job->r, job->off, job->n, p->state->right_t);
  prsvd_pool_barrier(p->pool);
  fold_slice(p, t);
}

/* 1 if the pass splits its panels (dense or CSR) among the pool's threads: products, co-range
 * and left sums that each row block adds alone (no 2-D grid's per-panel sums, no residual), on
 * more than one thread.  A running scale moves between panels, on the main thread, with the
 * lanes idle and folded first (prsvd_pass_rescale). */
static int threaded(const struct prsvd_pass *p) {
  return prsvd_pool_threads(p->pool) > 1 && !p->grid2d && !p->resid && !p->apply &&
         (p->n_right || p->corange || p->n_left);
}

/* Lane t's own left sums and cores (t > 0; lane 0 adds into the pass's), in one block, each sum
 * after the one before it (so that a run of sums side by side in the pass's is so in the
 * lane's). */
static int left_sums(struct prsvd_pass *p, struct prsvd_lane *ln, int t, int64_t n) {
  int64_t total = 0, at = 0;
  for (int l = 0; l < p->n_left; l++)
    total += (p->left[l].acc ? n * p->left[l].g.dim : 0) + (p->left[l].core ? p->left[l].g.dim * p->left[l].core_cols : 0);
  if (t == 0 || !total) return PRSVD_OK;
  if (!(ln->left_block = calloc((size_t)total, sizeof(double))))
    PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's left sketch sums (%lld doubles)", t,
              (long long)total);
  for (int l = 0; l < p->n_left; l++) {
    if (p->left[l].acc) ln->left_acc[l] = ln->left_block + at, at += n * p->left[l].g.dim;
    if (p->left[l].core) ln->left_core[l] = ln->left_block + at, at += p->left[l].g.dim * p->left[l].core_cols;
  }
  return PRSVD_OK;
}

/* The lanes of the pass (struct prsvd_lane): one over the whole panel with the pass's own sums
 * and scratch, or one per thread, each but lane 0 with sums of its own (zero, added to the
 * pass's at the end of each panel, fold_slice) and each with scratch for its rows. */
int prsvd_pass_lanes_begin(struct prsvd_pass *p, int64_t n) {
  const int lanes = threaded(p) ? prsvd_pool_threads(p->pool) : 1;
  const int64_t kc = p->corange ? prsvd_dmat_cols(p->corange_src) : 0, w = prsvd_pass_f32_width(p);
  const int64_t rows = (p->panel_rows + lanes - 1) / lanes;
  const int64_t out = n * w > rows * p->n_right ? n * w : rows * p->n_right;
  if (!(p->state->lanes = calloc((size_t)lanes, sizeof *p->state->lanes)))
    PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the pass's threads");
  p->state->n_lanes = lanes;
  p->state->lanes[0].corange = p->corange;
  p->state->lanes[0].col_sum = p->col_sum, p->state->lanes[0].col_sumsq = p->col_sumsq;
  p->state->lanes[0].tile = p->state->tile;
  for (int l = 0; l < p->n_left; l++) p->state->lanes[0].left_acc[l] = p->left[l].acc, p->state->lanes[0].left_core[l] = p->left[l].core;
  if (lanes > 1 && prsvd_source_nnz(p->a) >= 0) { /* CSR: a row-major co-range sum each, no scratch */
    for (int t = 0; t < lanes; t++) {
      struct prsvd_lane *ln = &p->state->lanes[t];
      if (kc && !(ln->corange_t = calloc((size_t)((n + 1) * kc), sizeof(double))))
        PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's co-range sum (%lld x %lld)", t,
                  (long long)n, (long long)kc);
      if (t > 0 && p->col_sum && (!(ln->col_sum = calloc((size_t)n, sizeof(double))) ||
                                  !(ln->col_sumsq = calloc((size_t)n, sizeof(double)))))
        PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's column sums", t);
      PRSVD_CHECK(left_sums(p, ln, t, n));
    }
    return PRSVD_OK;
  }
  if (lanes == 1) {
    struct prsvd_lane *ln = &p->state->lanes[0];
    if (p->state->f32) ln->x32 = prsvd_pass_f32_rows(p, n), ln->o32 = prsvd_pass_f32_out(p, n), ln->p32 = prsvd_pass_f32_prod(p, n);
    ln->small_c = p->state->small_c;
    return PRSVD_OK;
  }
  if (p->corange) {
    int64_t kld;
    int ild;
    prsvd_dmat_local(p->corange_src, NULL, NULL, &kld);
    PRSVD_CHECK(prsvd_to_int(kld, "sketch leading dimension", &ild));
  }
  for (int t = 0; t < lanes; t++) {
    struct prsvd_lane *ln = &p->state->lanes[t];
    if (t > 0 && kc && !(ln->corange = calloc((size_t)(n * kc), sizeof(double))))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's co-range sum (%lld x %lld)", t,
                (long long)n, (long long)kc);
    if (t > 0 && p->col_sum && (!(ln->col_sum = calloc((size_t)n, sizeof(double))) ||
                                !(ln->col_sumsq = calloc((size_t)n, sizeof(double)))))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's column sums", t);
    if (p->state->single && (!(ln->x32 = malloc(sizeof(float) * (size_t)(rows * w + 1))) ||
                      !(ln->o32 = malloc(sizeof(float) * (size_t)(out + 1)))))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's float32 scratch", t);
    if (!p->state->single && (p->scale_exp || p->scale_running) && w &&
        !(ln->small_c = malloc(sizeof(double) * (size_t)(rows * w))))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's scaled sketch rows", t);
    ln->p32 = ln->o32;
    if (t > 0 && p->state->tile && !(ln->tile = malloc(sizeof(double) * (size_t)((n + p->n_right) * PRSVD_TILE_ROWS))))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's sparse sketch tile", t);
    PRSVD_CHECK(left_sums(p, ln, t, n));
  }
  return PRSVD_OK;
}

void prsvd_pass_lanes_end(struct prsvd_pass *p) {
  for (int t = 0; p->state->lanes && t < p->state->n_lanes; t++) {
    struct prsvd_lane *ln = &p->state->lanes[t];
    if (t > 0) free(ln->corange), free(ln->col_sum), free(ln->col_sumsq), free(ln->tile);
    if (t > 0) free(ln->left_block);
    free(ln->corange_t);
    if (p->state->n_lanes > 1) free(ln->x32), free(ln->o32), free(ln->small_c);
  }
  free(p->state->lanes);
  p->state->lanes = NULL;
  p->state->n_lanes = 0;
}
