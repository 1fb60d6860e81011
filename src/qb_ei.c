/*
 * Fixed accuracy, adaptive: blocked randomized QB with an error indicator, one block per step.
 *
 * Yu, Gu & Li, "Efficient randomized algorithms for the fixed-precision low-rank matrix
 * approximation", SIMAX 39 (2018), Alg. 2 (randQB_EI) with q power iterations per block
 * (their Alg. 2 with power scheme), streamed by row panels:
 *
 *   E = ||A||_F^2;  Q, B empty
 *   for each block i of b columns:
 *     X = Omega_i                                   (n x b, fresh Gaussian columns)
 *     q times:  G = A X,  X = orth(A^T (I - Q Q^T) G) = orth(A^T G - B^T (Q^T G))
 *     G = A X;  Q_i R = G - Q (Q^T G);  Q_i R' = Q_i - Q (Q^T Q_i)   (reorthogonalised)
 *     B_i = Q_i^T A
 *     Q = [Q Q_i],  B = [B; B_i],  E = E - ||B_i||_F^2;  stop when E <= tol^2 ||A||_F^2
 *   rank: the smallest k with ||A||_F^2 - sum_{j<=k} sigma_j(B)^2 <= tol^2 ||A||_F^2
 *
 * Passes: one pass forms both A X and A^T (A X), so a power iteration costs one pass and a
 * block q + 1.  B_i = Q_i^T A, formed as A^T Q_i, needs the next pass; that pass also forms
 * block i+1's first A X (and A^T A X), so it is lost work only when B_i meets the tolerance:
 * t blocks cost t (q + 1) + 1 passes.  Unlike randQB_FP (qb.c), B comes from A itself, so
 * the indicator does not degrade with the conditioning of the sketch, and every block is
 * drawn against the deflated A - Q B, so the rank grows only as far as the tolerance needs.
 *
 * Columns the source learns to zero as it reads (params.zeroed_columns, --missing drop) are
 * agreed after the first pass: every later pass reads A without them, and the first only
 * starts block 1 (its G, and its A^T G for a power iteration), since B_1 comes from the next
 * pass; ||A||_F^2 takes off their sums of squares in the first pass (column sums that pass
 * makes only then).
 *
 * Assumptions: 1e-7 <= tol < 1 (E is a difference of squares); block b >= 1; max rank
 * L <= min(m, n).  Q and G (m rows), B^T and H (n rows) are distributed by row blocks; X is
 * replicated.  A block whose deflated sketch (I - Q Q^T) G is at rounding level ends the
 * growth: A holds nothing more that the tolerance could use.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "profile.h"
#include "rng.h"
#include "svd_impl.h"

/* out (a x b) = sum over ranks of x^T y for the local rows (rows x a, rows x b) */
static int cross(MPI_Comm comm, int64_t rows, int64_t a, int64_t b, const double *x, int64_t ldx,
                 const double *y, int64_t ldy, double *out) {
  const double one = 1.0, zero = 0.0;
  const int ir = (int)rows, ia = (int)a, ib = (int)b, lx = (int)ldx, ly = (int)ldy;
  memset(out, 0, sizeof(double) * (size_t)(a * b));
  if (ir > 0 && ia > 0 && ib > 0)
    dgemm_("T", "N", &ia, &ib, &ir, &one, x, &lx, y, &ly, &zero, out, &ia);
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, out, (int)(a * b), MPI_DOUBLE, MPI_SUM, comm));
  return PRSVD_OK;
}

/* c (rows x b) -= x (rows x a) s (a x b), local */
static void sub_product(int64_t rows, int64_t a, int64_t b, const double *x, int64_t ldx,
                        const double *s, double *c, int64_t ldc) {
  const double minus = -1.0, one = 1.0;
  const int ir = (int)rows, ia = (int)a, ib = (int)b, lx = (int)ldx, lc = (int)ldc;
  if (ir > 0 && ia > 0 && ib > 0)
    dgemm_("N", "N", &ir, &ib, &ia, &minus, x, &lx, s, &ia, &one, c, &lc);
}

/* sum over ranks of the squares of the first `cols` columns of d */
static int fro2_cols(const prsvd_dmat *d, int64_t cols, MPI_Comm comm, double *out) {
  int64_t rows, ld;
  const double *a = prsvd_dmat_local(d, NULL, &rows, &ld);
  double s = 0.0;
  for (int64_t c = 0; c < cols; c++)
    for (int64_t i = 0; i < rows; i++) s += a[c * ld + i] * a[c * ld + i];
  PRSVD_MPI(MPI_Allreduce(&s, out, 1, MPI_DOUBLE, MPI_SUM, comm));
  return PRSVD_OK;
}

/* dst(:, c0 : c0 + cols) = src(:, s0 : s0 + cols), both with the same row distribution */
static void copy_cols(prsvd_dmat *dst, int64_t c0, const prsvd_dmat *src, int64_t s0,
                      int64_t cols) {
  int64_t rows, ldd, lds;
  double *d = prsvd_dmat_local(dst, NULL, &rows, &ldd);
  const double *s = prsvd_dmat_local(src, NULL, NULL, &lds);
  for (int64_t c = 0; c < cols; c++)
    memcpy(d + (c0 + c) * ldd, s + (s0 + c) * lds, sizeof(double) * (size_t)rows);
}

/* The growing factorization A ~ Q B and the frame of its passes and scratch. */
struct ei {
  prsvd_svd *svd;
  prsvd_source *a;
  struct prsvd_svd_frame f;
  struct prsvd_cursor cur;
  prsvd_dmat *q, *bt; /* m x L and n x L; the first `rank` columns are in use */
  int64_t rank, m, n;
  double *x, *h_full, *r, *small;
  double *col_sum, *col_sumsq; /* with params.zeroed_columns: the first pass's, for ||A||_F^2 */
  double fro2, e, target;
};

/* One pass: G = A X for the bi columns of X (kept into g's first bi columns), and
 * H = A^T [G | pending] for the co-range source `src` (NULL: none), reduced into h.  The
 * first checks A, measures ||A||_F^2 and A's range, and is repeated on 2^e A if A lies beyond
 * what the sketches hold as it is. */
static int ei_pass(struct ei *s, int64_t bi, prsvd_dmat *g, prsvd_dmat *src, prsvd_dmat **h) {
  prsvd_svd *svd = s->svd;
  const struct prsvd_svd_params *prm = &svd->params;
  struct prsvd_pass *p = &s->f.pass;
  const int first = svd->stats.passes == 0;
  int status, repeat;
  p->right = s->x;
  p->n_right = bi;
  p->n_keep = bi > 0;
  p->keep[0].dmat = g;
  p->keep[0].ncols = bi;
  p->corange_src = src;
  p->corange = src ? s->h_full : NULL;
  p->fro2 = first ? &s->fro2 : NULL;
  p->col_sum = first ? s->col_sum : NULL;
  p->col_sumsq = first ? s->col_sumsq : NULL;
  do {
    p->measure = first && !p->scale_exp;
    p->check_finite = prm->check_finite && p->measure;
    if (src) memset(s->h_full, 0, sizeof(double) * (size_t)(s->n * prsvd_dmat_cols(src)));
    if (first) s->fro2 = 0.0; /* measured again by a repeated first pass */
    if (p->col_sum) {
      memset(s->col_sum, 0, sizeof(double) * (size_t)s->n);
      memset(s->col_sumsq, 0, sizeof(double) * (size_t)s->n);
    }
    s->cur.next_row = 0;
    status = prsvd_sketch_pass(p, &s->cur);
    PRSVD_CHECK(prsvd_error_agree(svd->comm, status));
    s->cur.pass++;
    repeat = 0;
    if (p->measure) PRSVD_CHECK(prsvd_svd_first_pass_range(svd, p, s->m, s->n, &s->cur, &repeat));
  } while (repeat);
  svd->stats.passes++;
  svd->stats.scale_exp = p->scale_exp;
  if (src) {
    PRSVD_CHECK(prsvd_dmat_create(svd->grid, s->n, prsvd_dmat_cols(src), h));
    PRSVD_CHECK(prsvd_dmat_reduce_scatter(s->h_full, *h));
  }
  if (first) { /* ||A||_F^2 without the columns the source learnt to zero (see the top) */
    int late;
    PRSVD_CHECK(prsvd_svd_first_pass_columns(svd, s->n, s->col_sum, s->col_sumsq, &s->fro2, &late));
    PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, &s->fro2, 1, MPI_DOUBLE, MPI_SUM, svd->comm));
    s->e = s->fro2;
    s->target = prm->tol * prm->tol * s->fro2;
  }
  return PRSVD_OK;
}

/* Q = [Q Q_i], B^T = [B^T B_i^T] from the pending block and its co-range columns h(:, c0..);
 * E = E - ||B_i||_F^2 */
static int ei_append(struct ei *s, const prsvd_dmat *qi, const prsvd_dmat *h, int64_t c0,
                     int64_t bp) {
  double bnorm = 0.0;
  copy_cols(s->q, s->rank, qi, 0, bp);
  copy_cols(s->bt, s->rank, h, c0, bp);
  s->rank += bp;
  int64_t rows, ld;
  const double *b = prsvd_dmat_local(s->bt, NULL, &rows, &ld);
  for (int64_t c = s->rank - bp; c < s->rank; c++)
    for (int64_t i = 0; i < rows; i++) bnorm += b[c * ld + i] * b[c * ld + i];
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, &bnorm, 1, MPI_DOUBLE, MPI_SUM, s->svd->comm));
  s->e -= bnorm;
  return PRSVD_OK;
}

/* X = orth(A^T G - B^T (Q^T G)): h holds A^T G in its first bi columns, g holds G. */
static int ei_power_step(struct ei *s, prsvd_dmat *g, prsvd_dmat *h, int64_t bi) {
  int64_t mr, gld, nr, hld, qld, bld;
  const double *gl = prsvd_dmat_local(g, NULL, &mr, &gld);
  double *hl = prsvd_dmat_local(h, NULL, &nr, &hld);
  const double *ql = prsvd_dmat_local(s->q, NULL, NULL, &qld);
  const double *bl = prsvd_dmat_local(s->bt, NULL, NULL, &bld);
  PRSVD_CHECK(cross(s->svd->comm, mr, s->rank, bi, ql, qld, gl, gld, s->small));
  sub_product(nr, s->rank, bi, bl, bld, s->small, hl, hld);
  PRSVD_CHECK(prsvd_dmat_truncate_cols(h, bi));
  PRSVD_CHECK(prsvd_dmat_qr(h, s->r));
  PRSVD_CHECK(prsvd_dmat_allgather(h, s->x));
  return PRSVD_OK;
}

/* Q_i R = G - Q (Q^T G), then Q_i R' = Q_i - Q (Q^T Q_i), in g's first bi columns (g is cut
 * to them).  *exhausted = 1 when the deflated G is at rounding level. */
static int ei_new_basis(struct ei *s, prsvd_dmat *g, int64_t bi, int *exhausted) {
  int64_t mr, gld, qld;
  double *gl = prsvd_dmat_local(g, NULL, &mr, &gld);
  const double *ql = prsvd_dmat_local(s->q, NULL, NULL, &qld);
  double before, after;
  PRSVD_CHECK(prsvd_dmat_truncate_cols(g, bi));
  PRSVD_CHECK(fro2_cols(g, bi, s->svd->comm, &before));
  for (int pass = 0; pass < 2; pass++) {
    PRSVD_CHECK(cross(s->svd->comm, mr, s->rank, bi, ql, qld, gl, gld, s->small));
    sub_product(mr, s->rank, bi, ql, qld, s->small, gl, gld);
    if (pass == 0) {
      PRSVD_CHECK(fro2_cols(g, bi, s->svd->comm, &after));
      *exhausted = !(after > 1e-26 * before) || before == 0.0;
      if (*exhausted) return PRSVD_OK;
    }
    PRSVD_CHECK(prsvd_dmat_qr(g, s->r));
  }
  return PRSVD_OK;
}

int prsvd_solve_qb_ei(prsvd_svd *svd, prsvd_source *a) {
  int status = PRSVD_OK;
  const struct prsvd_svd_params *prm = &svd->params;
  const int64_t m = prsvd_source_rows(a), n = prsvd_source_cols(a);
  const int64_t L = prsvd_svd_width(prm, m, n); /* max_rank or min(m, n, 256), at most min(m, n) */
  int64_t b = prm->block > 0 ? prm->block : 10;
  const int q = prm->power_iters;
  struct ei s;
  prsvd_dmat *g = NULL, *pending = NULL, *h = NULL, *w = NULL;

  memset(&s, 0, sizeof s);
  prsvd_svd_frame_init(&s.f, svd);
  if (prm->checkpoint)
    PRSVD_ERR(PRSVD_ERR_USAGE, "randQB_EI keeps no checkpoint: use PRSVD_METHOD_QB (a fixed pass count) to checkpoint --tol");
  if (!(prm->tol > 0 && prm->tol < 1))
    PRSVD_ERR(PRSVD_ERR_USAGE, "tolerance %g must be in (0, 1)", prm->tol);
  if (L < 1) PRSVD_ERR(PRSVD_ERR_USAGE, "--max-rank must be at least 1");
  if (b > L) b = L; /* a block past the largest rank adds nothing: no scratch for it */
  if (q < 0) PRSVD_ERR(PRSVD_ERR_USAGE, "power iterations %d must be >= 0", q);
  s.svd = svd, s.a = a, s.m = m, s.n = n;
  PRSVD_TRY(prsvd_svd_pass_begin(&s.f, a, b, 0));
  PRSVD_SCRATCH_MATS(&s.f.scratch, &s.q, &s.bt, &g, &pending, &h, &w);
  PRSVD_SCRATCH_ALLOC(&s.f.scratch, s.x, n * b);
  PRSVD_SCRATCH_ALLOC(&s.f.scratch, s.h_full, n * 2 * b);
  if (prm->zeroed_columns) {
    PRSVD_SCRATCH_ALLOC(&s.f.scratch, s.col_sum, n);
    PRSVD_SCRATCH_ALLOC(&s.f.scratch, s.col_sumsq, n);
  }
  PRSVD_SCRATCH_ALLOC(&s.f.scratch, s.r, b * b);
  PRSVD_SCRATCH_ALLOC(&s.f.scratch, s.small, L * b);
  PRSVD_TRY(prsvd_dmat_create(svd->grid, m, L, &s.q));
  PRSVD_TRY(prsvd_dmat_create(svd->grid, n, L, &s.bt));
  s.cur.n_passes = (int)((L + b - 1) / b) * (q + 1) + 1; /* at most */

  int64_t bi = b < L ? b : L, bp = 0, drawn = 0;
  int it = 0, exhausted = 0;
  prsvd_rng_fill(prm->seed, PRSVD_STREAM_OMEGA, 0, n, drawn, bi, s.x, n);
  drawn += bi;
  for (;;) {
    /* one pass: G = A X, with A^T G for a power iteration and A^T Q_pending for B */
    const int need_h = bi > 0 && it < q;
    prsvd_dmat_destroy(&h);
    prsvd_dmat_destroy(&w);
    if (need_h) { /* W = [G | Q_pending]: one GEMM for both co-ranges */
      PRSVD_TRY(prsvd_dmat_create(svd->grid, m, bi + bp, &w));
      if (bp) copy_cols(w, bi, pending, 0, bp);
      PRSVD_TRY(ei_pass(&s, bi, w, w, &h));
    } else {
      prsvd_dmat_destroy(&g);
      if (bi) PRSVD_TRY(prsvd_dmat_create(svd->grid, m, bi, &g));
      PRSVD_TRY(ei_pass(&s, bi, g, bp ? pending : NULL, &h));
    }
    /* B_i = Q_i^T A of the pending block */
    if (bp) {
      PRSVD_TRY(ei_append(&s, pending, h, need_h ? bi : 0, bp));
      bp = 0;
      if (s.e <= s.target || bi == 0) break;
    }
    if (need_h) { /* a power iteration on the deflated A */
      prsvd_profile_begin(PRSVD_EV_ORTH);
      status = ei_power_step(&s, w, h, bi);
      prsvd_profile_end(PRSVD_EV_ORTH, 0.0, 0.0);
      PRSVD_TRY(status);
      it++;
      continue;
    }
    /* the block's basis: Q_i from G, then B_i in the next pass */
    prsvd_profile_begin(PRSVD_EV_ORTH);
    status = ei_new_basis(&s, g, bi, &exhausted);
    prsvd_profile_end(PRSVD_EV_ORTH, 0.0, 0.0);
    PRSVD_TRY(status);
    if (exhausted) break;
    prsvd_dmat_destroy(&pending);
    pending = g, g = NULL;
    bp = bi, it = 0;
    bi = L - s.rank - bp < b ? L - s.rank - bp : b;
    if (bi > 0) prsvd_rng_fill(prm->seed, PRSVD_STREAM_OMEGA, 0, n, drawn, bi, s.x, n);
    drawn += bi;
  }
  svd->stats.tol_met = s.e <= s.target;
  svd->stats.norm_fro = sqrt(s.fro2);
  if (s.rank == 0)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' is zero to rounding: no rank to choose for --tol",
               prsvd_source_name(a));
  PRSVD_TRY(prsvd_dmat_truncate_cols(s.q, s.rank));
  PRSVD_TRY(prsvd_dmat_truncate_cols(s.bt, s.rank));
  PRSVD_TRY(prsvd_qb_truncate(svd, &s.q, s.bt, s.fro2));
done:
  prsvd_svd_frame_end(&s.f);
  return status;
}
