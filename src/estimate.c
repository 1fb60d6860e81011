/*
 * What a solve will cost, before it runs (prsvd.h, prsvd_svd_estimate): the reads of A, the
 * flops of the panel products, and the memory one rank holds, by kind.  One function for every
 * method, written from the allocations of the method files (rsvd.c, onepass.c, qb.c, qb_ei.c,
 * eig.c) and the pass engine (pass.c), so that the plan the program prints, `prsvd info`, the
 * --json and docs/performance.md ("The cost of a run") all read the same numbers.  When a
 * method allocates something new, its line here changes with it: tests/cli/test_plan.py checks
 * the total against the peak RSS of real runs, and the flops and bytes against the solve's own
 * counts.
 *
 * Notation (docs/performance.md): m x n the streamed matrix, E its entries (m n dense, nnz
 * CSR), P ranks, mr = ceil(m / P) and nr = ceil(n / P) the rows of a distributed m- or n-row
 * array on a rank, nx = plan.x_rows the rows of a replicated one (n, or n / pc on a 2-D grid),
 * pr = plan.panel_rows.  Sizes in doubles (8 bytes) unless said.
 */
#include <string.h>

#include "error.h"
#include "sketch.h"
#include "svd_impl.h"

/* What one pass multiplies, for its flops: right products A_i R of width c (a sparse sign map
 * of zeta nonzeros a row when zeta > 0), co-range updates A_i^T K_i of width kc, and generated
 * left sketches L += A_i^T G_i (d columns) with an optional core Z += G_i^T P_i (cc columns). */
struct pass_shape {
  int64_t right, right_zeta, corange;
  int n_left;
  struct {
    int64_t dim, core_cols;
    int acc, sparse;
  } left[PRSVD_MAX_LEFT];
};

struct dims {
  int64_t m, n, mn, nnz, mr, nr, nx, pr;
  int csr, single;
};

/* The flops the pass engine counts for one pass of this shape (pass.c one_panel and
 * pass_kernels_csr.c): 2 E c for a product with c dense columns, 2 E zeta for a sparse sign map,
 * and a core's 2 m d cc (2 m zeta cc for a sparse map). */
static double pass_flops(const struct dims *d, const struct pass_shape *s) {
  const double m = (double)d->m, e = d->csr ? (double)d->nnz : m * (double)d->n;
  double f =
      2.0 * e * (double)(s->right_zeta ? s->right_zeta : s->right) + 2.0 * e * (double)s->corange;
  for (int t = 0; t < s->n_left; t++) {
    const int64_t dim = s->left[t].dim;
    /* a dense panel multiplies a sparse map of few rows as a dense one (pass_kernels_dense.c) */
    const int sparse = s->left[t].sparse && (d->csr || dim >= 5 * (int64_t)prsvd_sparse_zeta(dim));
    const double width = sparse ? prsvd_sparse_zeta(dim) : (double)dim;
    if (s->left[t].acc) f += 2.0 * e * width;
    f += 2.0 * m * width * (double)s->left[t].core_cols;
  }
  return f;
}

/* The scratch a pass of this shape makes (pass.c scratch_begin and the work array): the
 * products (pr x (c + widest left dim)), float32 copies of R, P_i, K_i and an n-row product,
 * the row-major R and co-range product of a CSR pass, the sparse-map tiles of a dense one. */
static int64_t pass_scratch(const struct dims *d, const struct pass_shape *s, int grid2d) {
  int64_t maxleft = 0, widest = s->corange;
  int sparse_left = 0;
  for (int t = 0; t < s->n_left; t++) {
    const int64_t dim = s->left[t].dim;
    const int sparse = s->left[t].sparse && (d->csr || dim >= 5 * (int64_t)prsvd_sparse_zeta(dim));
    /* the work array has room for G_i (pr x dim) of every left map; a sparse map's is never
     * written, so its pages are never touched */
    if (!sparse && dim > maxleft) maxleft = dim;
    if (s->left[t].acc && dim > widest) widest = dim;
    sparse_left |= sparse && !d->csr;
  }
  int64_t bytes = 8 * prsvd_pass_work_size(d->pr, s->right, maxleft);
  if (grid2d) bytes += 8 * (d->pr * (s->right ? s->right : s->corange) + 1);
  if (d->csr) {
    if (!s->right_zeta) bytes += 8 * d->nx * s->right;
    if (s->corange) bytes += 8 * d->nx * s->corange;
    return bytes;
  }
  if (s->right_zeta) bytes += 8 * (d->nx + s->right) * PRSVD_TILE_ROWS;
  if (sparse_left) bytes += (8 + 4) * 8 * d->pr;
  if (d->single) bytes += 4 * (d->nx + d->pr) * (s->right + widest);
  return bytes;
}

/* The small dense work of the finish, on rank 0 (the largest): R and the QRs' Gram and scratch
 * (3 a^2), the core and its SVD by dgesdd (the core, its copy, U_c, V_c^T, V_c and a workspace
 * of about 5 a^2: 9 a^2), the QR of B^T's R_B and core (2 a^2), and U = Q U_c by blocks of 1024
 * rows (1024 k). */
static int64_t small_work(int64_t a, int64_t k) {
  return 8 * (16 * a * a + 32 * a + 1024 * k);
}

/* Subspace iteration and REVD (rsvd.c prsvd_subspace_sketch, then the finish): l columns, np
 * probes, q + 1 passes, the last also applying W. */
static void subspace(const struct prsvd_svd_params *prm, const struct dims *d, int grid2d,
                     int64_t l, int np, struct prsvd_svd_estimate *est) {
  struct prsvd_svd_memory *mem = &est->memory;
  /* -q auto (power_iters < 0): the most it may take, max_power_iters */
  const int q = prm->power_iters < 0 ? prm->max_power_iters : prm->power_iters;
  struct pass_shape first = {l + (q ? 0 : np), 0, l, 0, {{0}}}, last = {l + np, 0, l, 0, {{0}}};
  est->passes = q + 1;
  /* the first pass again on 2^e A if A's entries lie beyond the sketches' range (sketch.h), and
   * B^T = A^T Q by a pass of its own if R is ill-conditioned */
  est->passes_max = q + 3;
  est->pass_flops = pass_flops(d, &first);
  est->flops = q * pass_flops(d, &(struct pass_shape){l, 0, l, 0, {{0}}}) + pass_flops(d, &last);
  mem->pass_scratch = pass_scratch(d, &last, grid2d);
  /* Y and A W (mr x l, mr x np) */
  mem->m_rows = 8 * d->mr * (l + (np > 0 ? np : 1));
  /* [X | W], H's partial sum and a reduce-scatter or allgather buffer (nx rows each); PCA's
   * X_p = D^-1 [X | W] and its column sums and sums of squares */
  mem->n_replicated = 8 * d->nx * ((l + np) + l + l);
  if (prm->center) mem->n_replicated += 8 * (d->nx * (l + np) + 2 * d->n + l);
  if (prm->method == PRSVD_METHOD_REVD) mem->n_replicated += 8 * 4 * 1000; /* sampled pairs */
  /* H = A^T Y (B^T), then V (n x k; REVD: U) */
  mem->n_distributed = 8 * d->nr * (l + prm->rank);
  mem->small = small_work(l, prm->rank) + 8 * prm->rank * np;
}

/* The single-pass methods (onepass.c): one pass applying the right maps [Omega^T | Psi^T]
 * (three) or Omega (two, hmt) and generating the co-range map (k_s rows, or s for two), the
 * core's Phi (three) and the 10 Gaussian rows Theta of the error estimate. */
static void onepass(const struct prsvd_svd_params *prm, const struct dims *d,
                    struct prsvd_svd_estimate *est) {
  struct prsvd_svd_memory *mem = &est->memory;
  int64_t ks = 0, s = 0;
  (void)prsvd_onepass_sizes(prm, d->m, d->n, &ks, &s); /* refused by prsvd_svd_plan if they fail */
  const int three = prm->onepass == PRSVD_ONEPASS_THREE, two = prm->onepass == PRSVD_ONEPASS_TWO;
  const int sparse = prm->test_matrix == PRSVD_TEST_SPARSE;
  const int64_t total = three ? ks + s : ks, co = two ? s : ks;
  const int64_t zeta = three ? prsvd_sparse_zeta(ks) + prsvd_sparse_zeta(s) : prsvd_sparse_zeta(ks);
  struct pass_shape sh = {total, sparse ? zeta : 0, 0, 0, {{0}}};
  sh.left[sh.n_left].dim = co, sh.left[sh.n_left].acc = 1, sh.left[sh.n_left++].sparse = sparse;
  if (three)
    sh.left[sh.n_left].dim = s, sh.left[sh.n_left].core_cols = s,
    sh.left[sh.n_left++].sparse = sparse;
  sh.left[sh.n_left].dim = PRSVD_ONEPASS_PROBES, sh.left[sh.n_left++].acc = 1;
  est->width = ks;
  est->probes = PRSVD_ONEPASS_PROBES;
  est->passes = est->passes_max = 1;
  est->pass_flops = est->flops = pass_flops(d, &sh);
  mem->pass_scratch = pass_scratch(d, &sh, 0);
  mem->m_rows = 8 * d->mr * ks; /* Y */
  /* the right maps (dense, or zeta positions and signs a column), X^T's partial sum and its
   * reduce-scatter buffer, S^T = (Theta A)^T */
  mem->n_replicated = (sparse ? (8 + 4) * d->n * zeta : 8 * d->n * total) +
                      8 * d->n * (2 * co + PRSVD_ONEPASS_PROBES);
  /* X^T (P), two's B^T or hmt's cut co-range basis Qt_h (h = max(k, k_s / 2) columns), V */
  const int64_t h = ks / 2 > prm->rank ? ks / 2 : prm->rank;
  mem->n_distributed = 8 * d->nr * (co + (two ? ks : three ? 0 : h) + prm->rank);
  /* Z and its products (2 s^2), Phi Q, Psi P, their pseudo-inverses and the SVDs behind them
   * (6 s k_s), the k_s x k_s R, C and hmt's factors (8 k_s^2); then the core's finish */
  mem->small = 8 * (2 * s * s + 6 * s * ks + 8 * ks * ks) + small_work(ks, prm->rank);
}

/* randQB_FP (qb.c): the passes of subspace iteration at width L, then the blocked QB from G and
 * H, which keeps Q and B^T beside them and copies both before the finish. */
static void qb_fp(const struct prsvd_svd_params *prm, const struct dims *d, int64_t L, int64_t b,
                  struct prsvd_svd_estimate *est) {
  struct prsvd_svd_memory *mem = &est->memory;
  /* -q auto (power_iters < 0): the most it may take, max_power_iters */
  const int q = prm->power_iters < 0 ? prm->max_power_iters : prm->power_iters;
  struct pass_shape sh = {L, 0, L, 0, {{0}}};
  est->passes = q + 1;
  est->passes_max = q + 2; /* the first pass again on 2^e A */
  est->pass_flops = pass_flops(d, &sh);
  est->flops = est->passes * est->pass_flops;
  mem->pass_scratch = pass_scratch(d, &sh, 0);
  mem->m_rows = 8 * d->mr * (3 * L + 2 * b);        /* G, Q, Y_i, Q_i, the finish's copy of Q */
  mem->n_replicated = 8 * d->n * 3 * L;             /* X, H's partial sum, a collective buffer */
  mem->n_distributed = 8 * d->nr * (3 * L + b + L); /* H, B^T, M_i, the copy of B^T, V */
  mem->small = small_work(L, L) + 8 * (3 * L * b + 6 * b * b);
}

/* randQB_EI (qb_ei.c): blocks of b columns, q power passes each and one more pass per block
 * for B_i (shared with the next block's first): t (q + 1) + 1 passes for t blocks, at most
 * ceil(L / b) of them.  A block's passes multiply by its b columns of X and (power passes and
 * B_i) by b co-range columns each: 4 E b (q + 1) flops a block. */
static void qb_ei(const struct prsvd_svd_params *prm, const struct dims *d, int64_t L, int64_t b,
                  struct prsvd_svd_estimate *est) {
  struct prsvd_svd_memory *mem = &est->memory;
  /* -q auto (power_iters < 0): the most it may take, max_power_iters */
  const int q = prm->power_iters < 0 ? prm->max_power_iters : prm->power_iters;
  const int64_t blocks = (L + b - 1) / b, first_b = b < L ? b : L;
  struct pass_shape first = {first_b, 0, q ? first_b : 0, 0, {{0}}},
                    widest = {b, 0, 2 * b, 0, {{0}}};
  est->passes = (int)(blocks * (q + 1) + 1);
  est->passes_max = est->passes + 1; /* the first pass again on 2^e A */
  est->pass_flops = pass_flops(d, &first);
  est->flops = (double)(q + 1) * pass_flops(d, &(struct pass_shape){L, 0, L, 0, {{0}}});
  mem->pass_scratch = pass_scratch(d, &widest, 0);
  mem->m_rows = 8 * d->mr * (L + 4 * b);              /* Q, W = [G | Q_i], G, the pending Q_i */
  mem->n_replicated = 8 * d->n * (b + 2 * b + 2 * b); /* X, H's partial sum, its buffer */
  mem->n_distributed = 8 * d->nr * (L + 2 * b + L);   /* B^T, H, V */
  mem->small = small_work(L, L) + 8 * (L * b + b * b);
}

/* Nystrom (eig.c): one pass Y = A Omega, and the sampled pairs of the symmetry check. */
static void nystrom(const struct prsvd_svd_params *prm, const struct dims *d, int64_t l,
                    struct prsvd_svd_estimate *est) {
  struct prsvd_svd_memory *mem = &est->memory;
  struct pass_shape sh = {l, 0, 0, 0, {{0}}};
  est->passes = est->passes_max = 1;
  est->pass_flops = est->flops = pass_flops(d, &sh);
  mem->pass_scratch = pass_scratch(d, &sh, 0);
  mem->m_rows = 8 * d->mr * l;                   /* Y, then E = Y C^-1 */
  mem->n_replicated = 8 * (d->n * l + 4 * 1000); /* Omega, the sampled pairs */
  mem->n_distributed = 8 * d->nr * prm->rank;    /* U */
  mem->small = small_work(l, prm->rank);
}

/* The rows the ranks read in one pass as panels: CSR panels deliver nr + 1 row pointers each. */
static int64_t panel_count(int64_t m, int nprocs, int64_t panel_rows) {
  int64_t count = 0;
  for (int r = 0; r < nprocs; r++) {
    int64_t r0, lr;
    prsvd_row_block(m, r, nprocs, &r0, &lr);
    count += (lr + panel_rows - 1) / panel_rows;
  }
  return count;
}

double prsvd_pass_bytes(const prsvd_source *a, int single, int nprocs, int64_t panel_rows) {
  const int64_t m = prsvd_source_rows(a), n = prsvd_source_cols(a), nnz = prsvd_source_nnz(a);
  if (nnz >= 0) return 16.0 * (double)nnz + 8.0 * (double)(m + panel_count(m, nprocs, panel_rows));
  return (single ? 4.0 : 8.0) * (double)m * (double)n;
}

int prsvd_svd_estimate(const struct prsvd_svd_params *prm, const prsvd_source *a, int nprocs,
                       struct prsvd_svd_estimate *est) {
  struct prsvd_source_layout lay;
  struct dims d;
  memset(est, 0, sizeof *est);
  PRSVD_CHECK(prsvd_svd_plan(prm, a, nprocs, &est->plan));
  const struct prsvd_svd_plan *plan = &est->plan;
  prsvd_source_get_layout(a, &lay);
  d.m = prsvd_source_rows(a), d.n = prsvd_source_cols(a), d.mn = d.m < d.n ? d.m : d.n;
  d.nnz = prsvd_source_nnz(a), d.csr = d.nnz >= 0, d.single = plan->single;
  d.mr = (d.m + nprocs - 1) / nprocs, d.nr = (d.n + nprocs - 1) / nprocs;
  d.nx = plan->x_rows, d.pr = plan->panel_rows;
  est->pass_bytes = prsvd_pass_bytes(a, plan->single, nprocs, d.pr);
  est->probes = prsvd_svd_probes(prm);
  const int64_t l = prsvd_svd_width(prm, d.m, d.n);
  est->width = l;
  switch (prm->method) {
    case PRSVD_METHOD_ONEPASS:
      onepass(prm, &d, est);
      break;
    case PRSVD_METHOD_QB:
    case PRSVD_METHOD_QB_EI: {
      const int64_t b = prm->block > 0 ? prm->block : 10;
      if (prm->method == PRSVD_METHOD_QB)
        qb_fp(prm, &d, l, b, est);
      else
        qb_ei(prm, &d, l, b, est);
      break;
    }
    case PRSVD_METHOD_NYSTROM:
      nystrom(prm, &d, l, est);
      break;
    default: /* SUBSPACE, REVD */
      subspace(prm, &d, plan->grid_cols > 1, l, est->probes, est);
  }
  struct prsvd_svd_memory *mem = &est->memory;
  /* the reader thread's second buffer is filled only when a rank has a second panel to read */
  const int64_t reads = plan->grid_cols * d.mr, per_rank = (reads + d.pr - 1) / d.pr;
  const int readers = prm->prefetch ? 2 : 1;
  mem->panels =
      (plan->buffers - readers + (per_rank < readers ? per_rank : readers)) * plan->panel_bytes;
  mem->source = lay.cache_bytes;
  mem->threads = plan->thread_bytes;
  mem->total = mem->panels + mem->source + mem->pass_scratch + mem->threads + mem->m_rows +
               mem->n_replicated + mem->n_distributed + mem->small;
  return PRSVD_OK;
}
