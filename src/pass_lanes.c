/* The lanes of a pass (sketch.h, Threads): each dense panel split among the pool's threads
 * twice, by rows for what each row makes alone (P_b = A_b R, the kept rows, G_b, ||A_b||_F^2),
 * then, once those rows are all made, by columns for the sums over the panel's rows (A_b^T K_b,
 * A_b^T G_b, the column sums), which each lane adds into its own rows of the pass's: nothing
 * to fold.  A CSR panel is split by its stored entries, each lane with a co-range sum of its
 * own, folded at the end of every panel. */
#include "pass_impl.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "threads.h"

/* The end of a CSR panel's job, once every lane has multiplied (prsvd_pool_barrier): thread t
 * adds rows [n t/T, n (t+1)/T) of the lanes' row-major co-range sums into the pass's, in lane
 * order, and zeroes them, and of the column sums and left sums of the lanes but 0 (and a T-th
 * of their cores); thread 0 the Frobenius sums.
 * Every panel ends so, whether or not a hook saves at its boundary or the scale moves: the
 * pass's sums between panels, and so a checkpoint and a run it resumes, are the same as an
 * uninterrupted run's, bit for bit. */
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
}

/* Thread 0, once every lane's rows are done: the lanes' Frobenius sums into the pass's, in lane
 * order. */
static void fold_fro2(struct prsvd_pass *p, int t) {
  if (t == 0 && p->fro2)
    for (int u = 1; u < p->state->n_lanes; u++) *p->fro2 += p->state->lanes[u].fro2, p->state->lanes[u].fro2 = 0.0;
}

/* Lane t's part of one_panel.  Its rows: the Frobenius sum and samples, P_b = A_b R into its
 * rows of P_i (kept, centred).  Then, every row made (prsvd_pool_barrier), its columns over
 * all the panel's rows: the column sums and H += A_b^T K_b into its rows of H.  Then each left
 * product in turn (they share G_i's scratch): its rows of G_b, and once all are made its rows
 * of L += A_b^T G_b and its share of the columns of Z += G_b^T P_b. */
void prsvd_pass_lane_panel(void *arg, int t) {
  const struct prsvd_panel_job *job = arg;
  struct prsvd_pass *p = job->p;
  struct prsvd_lane *ln = &p->state->lanes[t];
  const int n = (int)job->n, all = (int)job->nr, lanes = p->state->n_lanes;
  double *g = p->work + p->panel_rows * p->n_right;
  int64_t col0, cols;
  prsvd_pool_share(job->nr, t, lanes, &ln->row0, &ln->rows);
  prsvd_pool_share(n, t, lanes, &col0, &cols);
  const int nr = (int)ln->rows, nc = (int)cols;
  ln->flops = 0.0;
  if (nr) {
    prsvd_pass_row_statistics(p, ln, job->r, nr, n);
    if (p->n_right) {
      int kld;
      double *kept = prsvd_pass_kept_at(p, job->r + ln->row0, nr, &kld);
      if (kept) {
        ln->flops += prsvd_pass_right_product(p, ln, nr, n, kept, kld);
      } else {
        ln->flops += prsvd_pass_right_product(p, ln, nr, n, p->work + ln->row0, job->nr);
        if (p->center_rows) prsvd_pass_center_rows(p, ln->row0, ln->row0 + nr, job->off, p->work, job->nr);
        prsvd_pass_keep_rows(p, job->r, ln->row0, nr, p->work, job->nr);
      }
    }
  }
  prsvd_pool_barrier(p->pool);
  fold_fro2(p, t);
  prsvd_pass_col_statistics(p, all, n, col0, nc);
  if (p->corange) {
    int64_t kld;
    const int kc = (int)prsvd_dmat_cols(p->corange_src);
    const double *k = prsvd_dmat_local(p->corange_src, NULL, NULL, &kld);
    ln->flops += prsvd_pass_panel_t_times(p, ln, 0, all, col0, nc, n, k + job->off, (int)kld, kc, p->corange);
  }
  for (int u = 0, run; u < p->n_left; u += run) {
    if (u) prsvd_pool_barrier(p->pool); /* the product before has read G_i's scratch */
    prsvd_pass_left_rows(p, u, run = prsvd_pass_left_run(p, u), job->r, ln->row0, nr, g, all);
    prsvd_pool_barrier(p->pool);
    ln->flops += prsvd_pass_left_cols(p, ln, u, run, all, n, col0, nc, t, lanes, p->work, g, all);
  }
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
  if (ln->rows > 0) prsvd_pass_csr_lane(p, ln, job->r, job->off, p->state->right_t);
  prsvd_pool_barrier(p->pool);
  fold_slice(p, t);
  fold_fro2(p, t);
}

/* 1 if the pass splits its panels (dense or CSR) among the pool's threads: products, co-range
 * and left sums (no 2-D grid's per-panel sums, no residual), dense or CSR, on more than one
 * thread.  A running scale moves between panels, on the main thread, with the lanes idle
 * (prsvd_pass_rescale). */
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

/* The lanes of the pass (struct prsvd_lane): one over the whole panel with the pass's scratch,
 * or one per thread with scratch of its own (and for CSR panels a co-range sum of its own, and
 * column sums but lane 0, added to the pass's at the end of each panel, fold_slice).  A dense
 * lane's float32 or scaled copy of K_b or G_b holds all the panel's rows (panel_rows x w), its
 * float32 products its rows of P_b or its columns of A_b^T K_b. */
int prsvd_pass_lanes_begin(struct prsvd_pass *p, int64_t n) {
  const int lanes = threaded(p) ? prsvd_pool_threads(p->pool) : 1;
  const int64_t kc = p->corange ? prsvd_dmat_cols(p->corange_src) : 0, w = prsvd_pass_f32_width(p);
  const int64_t rows = (p->panel_rows + lanes - 1) / lanes, cols = (n + lanes - 1) / lanes;
  const int64_t out = cols * w > rows * p->n_right ? cols * w : rows * p->n_right;
  if (!(p->state->lanes = calloc((size_t)lanes, sizeof *p->state->lanes)))
    PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the pass's threads");
  p->state->n_lanes = lanes;
  p->state->lanes[0].col_sum = p->col_sum, p->state->lanes[0].col_sumsq = p->col_sumsq;
  p->state->lanes[0].tile = p->state->tile;
  if (lanes > 1 && prsvd_source_nnz(p->a) >= 0) { /* CSR: a row-major co-range sum each, left sums */
    for (int l = 0; l < p->n_left; l++) p->state->lanes[0].left_acc[l] = p->left[l].acc, p->state->lanes[0].left_core[l] = p->left[l].core;
    for (int t = 0; t < lanes; t++) {
      struct prsvd_lane *ln = &p->state->lanes[t];
      if (kc && !(ln->corange_t = calloc((size_t)(n * kc), sizeof(double))))
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
    if (p->state->single && (!(ln->x32 = malloc(sizeof(float) * (size_t)(p->panel_rows * w + 1))) ||
                             !(ln->o32 = malloc(sizeof(float) * (size_t)(out + 1)))))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's float32 scratch", t);
    if (!p->state->single && (p->scale_exp || p->scale_running) && w &&
        !(ln->small_c = malloc(sizeof(double) * (size_t)(p->panel_rows * w))))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's scaled sketch rows", t);
    ln->p32 = ln->o32;
    if (t > 0 && p->state->tile && !(ln->tile = malloc(sizeof(double) * (size_t)((n + p->n_right) * PRSVD_TILE_ROWS))))
      PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for compute thread %d's sparse sketch tile", t);
  }
  return PRSVD_OK;
}

void prsvd_pass_lanes_end(struct prsvd_pass *p) {
  for (int t = 0; p->state->lanes && t < p->state->n_lanes; t++) {
    struct prsvd_lane *ln = &p->state->lanes[t];
    if (t > 0) free(ln->col_sum), free(ln->col_sumsq), free(ln->tile), free(ln->left_block);
    free(ln->corange_t);
    if (p->state->n_lanes > 1) free(ln->x32), free(ln->o32), free(ln->small_c);
  }
  free(p->state->lanes);
  p->state->lanes = NULL;
  p->state->n_lanes = 0;
}
