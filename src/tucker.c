/*
 * Tucker decomposition of an N-way tensor A (d_1 x ... x d_N) streamed by slabs of its first
 * dimension: A ~ G x_1 U_1 ... x_N U_N, U_n d_n x r_n orthonormal, G r_1 x ... x r_N.
 *
 * Sun, Guo, Luo, Tropp & Udell, "Low-rank Tucker approximation of a tensor from streaming
 * data", SIAM J. Math. Data Sci. 2 (2020): their two-pass and one-pass algorithms and the
 * fixed-rank truncation of the small core (the algorithm numbers of the published version not
 * checked here); Halko, Martinsson & Tropp
 * 2011, Alg. 4.4 (the power iterations of a range finder); Vannieuwenhoven, Vandebril &
 * Meerbergen 2012 (ST-HOSVD, its error sum of discarded squared singular values).
 *
 * A slab S = A[i0:i1, ...] of nr rows reaches every sketch through the pass engine's apply
 * hook (src/sketch.h), as the nr x C row block of the mode-1 unfolding A_(1), C = d_2 ... d_N.
 * The mode-n unfolding's columns that the slab holds are its (L, d_n, R) view, L = nr d_2 ...
 * d_{n-1}, R = d_{n+1} ... d_N: A_(n)[:, block] = [S_1 ... S_L], S_l = S[l, :, :] (d_n x R).
 * Test matrices are Gaussian, drawn by (seed, mode, global index) (base/rng.c), so no sketch
 * depends on the number of ranks or the panel size: Omega_n's row for the slab's column
 * (l, r) of A_(n) is i0 C / d_n + l R + r.
 *
 * Two passes (passes = 2), l_n = min(d_n, r_n + p) (by default p_n = r_n + 10: src/tucker_api.c):
 *   pass 0:   Y_1 = A_(1) Omega_1 (the slab's rows of Y_1 = S Omega_1),
 *             Y_n += sum_l S_l Omega_n,l  (n >= 2),  ||A||_F^2,  with q > 0 also H = A_(1)^T Y_1
 *   q times:  Q_n = orth(Y_n); X = orth(H);  Y_1 = A_(1) X (H again, but the last time),
 *             Y_n += sum_l S_l (S_l^T Q_n)            (one pass each: A_(n) A_(n)^T Q_n)
 *   Q_n = orth(Y_n)                                 (Householder QR on rank 0, broadcast)
 *   core:     Z += Q_1(i0:i1, :)^T S  (l_1 x C, this rank's), then W = Z x_2 Q_2^T ... x_N Q_N^T,
 *             summed over ranks (in rank order, allsum): W = A x_1 Q_1^T ... x_N Q_N^T
 * The Z route (plan->route, when Z and its truncation fit the memory budget: src/tucker_api.c):
 *   only mode 1 is sketched (Y_n, n >= 2, not formed), and the core pass's Z, summed over the
 *   ranks, is W itself: W = Z = A x_1 Q_1^T (l_1 x d_2 x ... x d_N), Q_n = I for n >= 2.  Its
 *   ST-HOSVD below then finds modes 2..N exactly (of A x_1 Q_1 Q_1^T), mode 1 alone randomized:
 *   on a noisy field at ranks in its noise the sketched Q_n's error compounds over the modes.
 * One pass (passes = 1), k_n = min(d_n, 2 r_n + 1), s_n = min(d_n, 2 k_n + 1) (their rule):
 *   pass 0:   V_n = A_(n) Omega_n (k_n columns) as above, and the core sketch
 *             H = A x_1 Phi_1 ... x_N Phi_N: Z += Phi_1(:, i0:i1) S, then x_n Phi_n (s_n x d_n)
 *   Q_n = orth(V_n);  W = H x_1 (Phi_1 Q_1)^+ ... x_N (Phi_N Q_N)^+   (k_1 x ... x k_N)
 * Both then truncate the small core (ST-HOSVD, modes in order): W_(n) = P_n Sigma_n (...),
 *   W = W x_n P_n(:, 1:r_n)^T,  U_n = Q_n P_n(:, 1:r_n) (P_n from W_(n) W_(n)^T on the Z
 *   route, whose unfoldings are wide, else by an SVD);  with tol the ranks are the smallest
 *   whose discarded squares, mode by mode, stay within the budget tol^2 ||A||^2 - (||A||^2 -
 *   ||W||^2) shared evenly among the modes left.  Two passes: A ~ W x_n U_n is A's orthogonal
 *   projection, so ||A - approx||^2 = ||A||^2 - ||G||^2 (the estimate).
 * Verification pass: ||S - U_1(i0:i1, :) E||_F^2 summed, E = G x_2 U_2 ... x_N U_N (r_1 x C),
 *   a tile of rows at a time.
 * Signs: each column of U_n has its largest entry positive (the core follows).
 *
 * The range of A: pass 0 measures max |a_ij|; an A far from 1 (1e-300) is read again as
 * 2^e A (one more pass, also for one pass), and ||A||_F and G are divided by 2^e at the end.
 *
 * Assumptions: every rank passes a source of the same unfolding; 1 <= r_n <= l_n <= d_n; the
 * small core (prod l_n) and each rank's Z (C x l_1, or C x s_1) fit in memory; on the Z route
 * also Z's first truncation (r_1 x C) and the Gram matrix of each mode (d_n x d_n).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "prsvd_grid.h"
#include "profile.h"
#include "rng.h"
#include "sketch.h"
#include "source_impl.h"
#include "tucker_impl.h"

#define MODES PRSVD_TUCKER_MAX_MODES
#define STREAM_OMEGA 32u /* + mode: the factor sketches' test matrices */
#define STREAM_PHI 64u   /* + mode: the one-pass core sketch's */
#define GEN_ROWS 4096    /* rows of Omega_n drawn at a time */
#define VERIFY_TILE 64   /* rows of a residual formed at a time */

enum apply_what { SKETCH, CORE, VERIFY };

struct run {
  prsvd_tucker *t;
  prsvd_source *a;
  prsvd_grid *grid;
  struct prsvd_svd_params engine;
  struct prsvd_pass pass;
  struct prsvd_cursor cur;
  int nd, one_pass, what, first, corange, mode0_power;
  int sketched;        /* modes with factor sketches: all, or on the Z route mode 1 only */
  const int64_t *d;
  int64_t cols, l[MODES], s[MODES];
  double fro2;
  long double resid;
  double *y[MODES];    /* the sketches Y_n (d_n x l_n); Y_1's rows are this rank's until summed */
  double *q[MODES];    /* Q_n = orth(Y_n), replicated */
  double *omega1;      /* C x l_1: Omega_1, then X = orth(H) */
  double *h;           /* C x l_1: H = A_(1)^T Y_1 (power iterations) */
  double *z;           /* C x l_1 (two passes) or C x s_1 (one pass): this rank's Z^T */
  double *gen, *w;     /* scratch: drawn rows of a test matrix, and S_l^T Q_n */
  int64_t gen_len;
  double *scaled;      /* a panel times 2^scale_exp */
  double *tile;        /* verification: a tile of residual rows (C x VERIFY_TILE) */
  double *expand;      /* verification: E^T (C x r_1) */
  int64_t panel_rows;
};

int64_t prsvd_dims_prod(const int64_t *dims, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; i++) p *= dims[i];
  return p;
}

static void gemm(const char *ta, const char *tb, int64_t m, int64_t n, int64_t k, double alpha, const double *a,
                 int64_t lda, const double *b, int64_t ldb, double beta, double *c, int64_t ldc) {
  const int im = (int)m, in = (int)n, ik = (int)k, ila = (int)(lda > 0 ? lda : 1), ilb = (int)(ldb > 0 ? ldb : 1),
            ilc = (int)(ldc > 0 ? ldc : 1);
  if (m <= 0 || n <= 0) return;
  if (k <= 0) { /* C = beta C */
    for (int64_t j = 0; j < n; j++)
      for (int64_t i = 0; i < m; i++) c[j * ldc + i] *= beta;
    return;
  }
  dgemm_(ta, tb, &im, &in, &ik, &alpha, a, &ila, b, &ilb, &beta, c, &ilc);
}

void prsvd_ttm(const double *x, int nd, const int64_t *dims, int mode, const double *m, int64_t ldm,
               int64_t out_dim, int trans, double *out) {
  const int64_t L = prsvd_dims_prod(dims, 0, mode), in = dims[mode], R = prsvd_dims_prod(dims, mode + 1, nd);
  for (int64_t l = 0; l < L; l++) /* out[l]^T (R x out) = x[l]^T (R x in) op(M)^T */
    gemm("N", trans ? "N" : "T", R, out_dim, in, 1.0, x + l * in * R, R, m, ldm, 0.0, out + l * out_dim * R, R);
}

/* ---- the slab updates (the pass engine's apply hook) ---------------------------------- */

/* Y_n += A_(n)[:, slab] Omega_n (first) or A_(n)[:, slab] A_(n)[:, slab]^T Q_n, n >= 1. */
static double mode_update(struct run *r, int n, int64_t row, int64_t nr, const double *s) {
  const int64_t dn = r->d[n], k = r->l[n], R = prsvd_dims_prod(r->d, n + 1, r->nd);
  const int64_t L = nr * prsvd_dims_prod(r->d, 1, n), base = row * (r->cols / dn);
  const int64_t block = R >= GEN_ROWS ? 1 : GEN_ROWS / R; /* l's a drawing covers */
  double *y = r->y[n];
  for (int64_t l0 = 0; l0 < L; l0 += block) {
    const int64_t nb = l0 + block <= L ? block : L - l0;
    if (r->first) {
      prsvd_rng_fill(r->t->params.seed, STREAM_OMEGA + (unsigned)n, base + l0 * R, nb * R, 0, k, r->gen, nb * R);
      if (R == 1) { /* the slab's rows l0.. are an nb x d_n row-major block */
        gemm("N", "N", dn, k, nb, 1.0, s + l0 * dn, dn, r->gen, nb, 1.0, y, dn);
        continue;
      }
      for (int64_t l = l0; l < l0 + nb; l++)
        gemm("T", "N", dn, k, R, 1.0, s + l * dn * R, R, r->gen + (l - l0) * R, nb * R, 1.0, y, dn);
    } else if (R == 1) { /* W = S_b Q (nb x k), Y += S_b^T W */
      gemm("T", "N", nb, k, dn, 1.0, s + l0 * dn, dn, r->q[n], dn, 0.0, r->w, nb);
      gemm("N", "N", dn, k, nb, 1.0, s + l0 * dn, dn, r->w, nb, 1.0, y, dn);
    } else {
      for (int64_t l = l0; l < l0 + nb; l++) { /* W = S_l^T Q (R x k), Y += S_l W */
        gemm("N", "N", R, k, dn, 1.0, s + l * dn * R, R, r->q[n], dn, 0.0, r->w, R);
        gemm("T", "N", dn, k, R, 1.0, s + l * dn * R, R, r->w, R, 1.0, y, dn);
      }
    }
  }
  return (r->first ? 2.0 : 4.0) * (double)(nr * r->cols) * (double)k;
}

static double sketch_slab(struct run *r, int64_t row, int64_t nr, const double *s) {
  const int64_t c = r->cols, d0 = r->d[0], l0 = r->l[0];
  double flops = 0.0;
  /* Y_1(rows) = S Omega_1 (or S X) */
  if (r->first || r->mode0_power) {
    gemm("T", "N", nr, l0, c, 1.0, s, c, r->omega1, c, 0.0, r->y[0] + row, d0);
    flops += 2.0 * (double)(nr * c) * (double)l0;
  }
  /* H += S^T Y_1(rows) */
  if (r->corange) {
    gemm("N", "N", c, l0, nr, 1.0, s, c, r->y[0] + row, d0, 1.0, r->h, c);
    flops += 2.0 * (double)(nr * c) * (double)l0;
  }
  for (int n = 1; n < r->sketched; n++) flops += mode_update(r, n, row, nr, s);
  if (r->one_pass) { /* Z^T += S^T Phi_1(:, rows)^T */
    const int64_t s0 = r->s[0];
    prsvd_rng_fill(r->t->params.seed, STREAM_PHI, row, nr, 0, s0, r->gen, nr);
    gemm("N", "N", c, s0, nr, 1.0, s, c, r->gen, nr, 1.0, r->z, c);
    flops += 2.0 * (double)(nr * c) * (double)s0;
  }
  return flops;
}

/* Z^T += S^T Q_1(rows, :) */
static double core_slab(struct run *r, int64_t row, int64_t nr, const double *s) {
  gemm("N", "N", r->cols, r->l[0], nr, 1.0, s, r->cols, r->q[0] + row, r->d[0], 1.0, r->z, r->cols);
  return 2.0 * (double)(nr * r->cols) * (double)r->l[0];
}

/* resid += ||S - U_1(rows, :) E||_F^2, VERIFY_TILE rows at a time */
static double verify_slab(struct run *r, int64_t row, int64_t nr, const double *s) {
  const int64_t c = r->cols, r0 = r->t->ranks[0];
  for (int64_t i = 0; i < nr; i += VERIFY_TILE) {
    const int64_t tr = i + VERIFY_TILE <= nr ? VERIFY_TILE : nr - i;
    memcpy(r->tile, s + i * c, sizeof(double) * (size_t)(tr * c));
    gemm("N", "T", c, tr, r0, -1.0, r->expand, c, r->t->factors[0] + row + i, r->d[0], 1.0, r->tile, c);
    long double sum = 0.0L;
    for (int64_t j = 0; j < tr * c; j++) sum += (long double)r->tile[j] * r->tile[j];
    r->resid += sum;
  }
  return 2.0 * (double)(nr * c) * (double)r0;
}

static double apply(void *arg, int64_t row, int64_t nr, const double *panel) {
  struct run *r = arg;
  const double *s = panel;
  if (r->pass.scale_exp) { /* 2^e A, as the engine's own products are */
    for (int64_t i = 0; i < nr * r->cols; i++) r->scaled[i] = ldexp(panel[i], r->pass.scale_exp);
    s = r->scaled;
  }
  return r->what == SKETCH ? sketch_slab(r, row, nr, s) : r->what == CORE ? core_slab(r, row, nr, s)
                                                                             : verify_slab(r, row, nr, s);
}

/* ---- small dense steps ------------------------------------------------------------------ */

/* One pass of the engine, errors agreed, counted. */
static int one_pass(struct run *r, int what) {
  r->what = what;
  r->cur.next_row = 0;
  const int status = prsvd_sketch_pass(&r->pass, &r->cur);
  PRSVD_CHECK(prsvd_error_agree(r->t->comm, status));
  r->t->stats.passes++;
  r->cur.pass++;
  return PRSVD_OK;
}

/* Q (m x k, m >= k) orthonormal with the range of Y: Householder QR on rank 0, broadcast. */
static int orth(MPI_Comm comm, const double *y, int64_t m, int64_t k, double *q) {
  int status = PRSVD_OK, rank, info = 0, im = (int)m, ik = (int)k, lwork = -1, count;
  double *tau = NULL, *work = NULL, wq = 0.0;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) {
    memcpy(q, y, sizeof(double) * (size_t)(m * k));
    PRSVD_ALLOC(tau, k);
    dgeqrf_(&im, &ik, q, &im, tau, &wq, &lwork, &info);
    lwork = (int)wq + 1;
    double wq2 = 0.0;
    int l2 = -1;
    dorgqr_(&im, &ik, &ik, q, &im, tau, &wq2, &l2, &info);
    if ((int)wq2 + 1 > lwork) lwork = (int)wq2 + 1;
    PRSVD_ALLOC(work, lwork);
    dgeqrf_(&im, &ik, q, &im, tau, work, &lwork, &info);
    if (!info) dorgqr_(&im, &ik, &ik, q, &im, tau, work, &lwork, &info);
    if (info) PRSVD_FAIL(PRSVD_ERR_NUMERIC, "the QR of a %lld x %lld sketch failed (LAPACK info %d)", (long long)m,
                         (long long)k, info);
  }
done:
  free(tau), free(work);
  PRSVD_CHECK(prsvd_error_agree(comm, status));
  PRSVD_CHECK(prsvd_to_int(m * k, "a factor sketch", &count));
  PRSVD_MPI(MPI_Bcast(q, count, MPI_DOUBLE, 0, comm));
  return PRSVD_OK;
}

/* Sum x (count doubles) over the ranks, in place, in rank order: rank 0 gathers the partial
 * sums a block at a time, adds them rank by rank and broadcasts the block, so that the sum
 * does not depend on the MPI's reduction algorithm (Open MPI's and MPICH's differ, and pick
 * theirs by message size). */
#define SUM_BLOCK 65536
static int allsum(MPI_Comm comm, double *x, int64_t count) {
  int status = PRSVD_OK, rank, nprocs;
  double *all = NULL;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &nprocs);
  if (nprocs == 1) return PRSVD_OK;
  if (rank == 0) PRSVD_ALLOC(all, (int64_t)nprocs * (count < SUM_BLOCK ? count : SUM_BLOCK));
done:
  PRSVD_CHECK(prsvd_error_agree(comm, status));
  for (int64_t b0 = 0; b0 < count; b0 += SUM_BLOCK) {
    const int nb = (int)(count - b0 < SUM_BLOCK ? count - b0 : SUM_BLOCK);
    status = MPI_Gather(x + b0, nb, MPI_DOUBLE, all, nb, MPI_DOUBLE, 0, comm);
    if (status == MPI_SUCCESS && rank == 0)
      for (int p = 1; p < nprocs; p++)
        for (int i = 0; i < nb; i++) x[b0 + i] += all[(int64_t)p * nb + i];
    if (status == MPI_SUCCESS) status = MPI_Bcast(x + b0, nb, MPI_DOUBLE, 0, comm);
    if (status != MPI_SUCCESS) {
      free(all);
      return prsvd_mpi_check(status, __FILE__, __LINE__, __func__, "the sum of a sketch over the ranks");
    }
  }
  free(all);
  return PRSVD_OK;
}

/* The left singular vectors (l x l, all of them) and values (min(l, P), then zeros) of the
 * mode-n unfolding of x (dims, C order). */
static int unfolding_svd(const double *x, int nd, const int64_t *dims, int n, double *u, double *sv) {
  int status = PRSVD_OK, info = 0, lwork = -1, *iwork = NULL;
  const int64_t ln = dims[n], L = prsvd_dims_prod(dims, 0, n), R = prsvd_dims_prod(dims, n + 1, nd);
  const int64_t p = L * R, pc = p > ln ? p : ln; /* zero columns: U whole when P < l */
  double *m = NULL, *work = NULL, *vt = NULL, wq = 0.0;
  PRSVD_ALLOC(m, ln * pc);
  PRSVD_ALLOC(vt, ln * pc);
  PRSVD_ALLOC(iwork, 8 * ln);
  for (int64_t l = 0; l < L; l++)
    for (int64_t a = 0; a < ln; a++)
      for (int64_t b = 0; b < R; b++) m[(l * R + b) * ln + a] = x[(l * ln + a) * R + b];
  const int im = (int)ln, ip = (int)pc;
  dgesdd_("S", &im, &ip, m, &im, sv, u, &im, vt, &im, &wq, &lwork, iwork, &info);
  lwork = (int)wq + 1;
  PRSVD_ALLOC(work, lwork);
  dgesdd_("S", &im, &ip, m, &im, sv, u, &im, vt, &im, work, &lwork, iwork, &info);
  if (info) PRSVD_FAIL(PRSVD_ERR_NUMERIC, "the SVD of the core's mode-%d unfolding failed (LAPACK info %d)", n + 1, info);
done:
  free(m), free(work), free(vt), free(iwork);
  return status;
}

/* The same from the Gram matrix X_(n) X_(n)^T (dsyevd), without a copy of x: the Z route's
 * unfoldings, l_1 x C and d_n x (C l_1 / d_n), far wider than tall.  The singular values are
 * the square roots of its eigenvalues, those below sqrt(eps) sigma_1 only roughly (beyond
 * any rank kept; their squares, which tol sums, are exact to eps sigma_1^2). */
static int unfolding_gram(const double *x, int nd, const int64_t *dims, int n, double *u, double *sv) {
  int status = PRSVD_OK, iln, ik;
  const int64_t ln = dims[n], L = prsvd_dims_prod(dims, 0, n), R = prsvd_dims_prod(dims, n + 1, nd);
  const double one = 1.0;
  double *g = NULL, *lam = NULL;
  PRSVD_TRY(prsvd_to_int(2 * ln * ln + 6 * ln + 1, "the workspace of a mode's Gram eigendecomposition", &iln));
  iln = (int)ln, ik = (int)(R == 1 ? L : R); /* each at most Z's entries, within 2^31 (the plan) */
  PRSVD_ALLOC(g, ln * ln);
  PRSVD_ALLOC(lam, ln);
  if (R == 1) { /* G = X X^T, x (L x ln, C order) being X_(n)^T */
    dsyrk_("U", "N", &iln, &ik, &one, x, &iln, &one, g, &iln);
  } else {
    for (int64_t l = 0; l < L; l++) /* G += S_l S_l^T, S_l (ln x R, C order) the l-th block */
      dsyrk_("U", "T", &iln, &ik, &one, x + l * ln * R, &ik, &one, g, &iln);
  }
  const int info = prsvd_dsyevd(iln, g, lam);
  if (info == PRSVD_DSYEVD_NOMEM) PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory for DSYEVD's workspace (n = %d)", iln);
  if (info) PRSVD_FAIL(PRSVD_ERR_NUMERIC, "the eigendecomposition of Z's mode-%d Gram matrix failed (LAPACK info %d)",
                       n + 1, info);
  for (int64_t j = 0; j < ln; j++) { /* descending */
    sv[j] = sqrt(fmax(lam[ln - 1 - j], 0.0));
    memcpy(u + j * ln, g + (ln - 1 - j) * ln, sizeof(double) * (size_t)ln);
  }
done:
  free(g), free(lam);
  return status;
}

/* ST-HOSVD of the core w (dims cd, replaced by the ranks): U_n = Q_n P_n(:, 1:r_n), or P_n
 * itself for a mode the Z route did not sketch (Q_n = I). */
static int truncate_core(struct run *r, double *w, int64_t *cd, double budget, double *discarded) {
  int status = PRSVD_OK;
  prsvd_tucker *t = r->t;
  const struct prsvd_tucker_params *prm = &t->params;
  double *u = NULL, *sv = NULL, *next = NULL;
  double used = 0.0;
  for (int n = 0; n < r->nd; n++) {
    const int64_t ln = cd[n];
    PRSVD_ALLOC(u, ln * ln);
    PRSVD_ALLOC(sv, ln);
    PRSVD_TRY(r->sketched < r->nd ? unfolding_gram(w, r->nd, cd, n, u, sv) : unfolding_svd(w, r->nd, cd, n, u, sv));
    int64_t rn = prm->ranks[n];
    if (prm->tol > 0) { /* the fewest whose tail fits this mode's share of what is left */
      const int64_t cap = prm->max_rank < ln ? prm->max_rank : ln;
      const double share = (budget - used) / (double)(r->nd - n);
      double tail = 0.0;
      for (int64_t j = 0; j < ln; j++) tail += sv[j] * sv[j];
      rn = 0;
      while (rn < cap && (rn == 0 || tail > share)) tail -= sv[rn] * sv[rn], rn++;
      used += fmax(tail, 0.0);
    } else {
      for (int64_t j = rn; j < ln; j++) used += sv[j] * sv[j];
    }
    t->ranks[n] = rn;
    /* W = W x_n P_n(:, 1:r_n)^T;  U_n = Q_n P_n(:, 1:r_n) */
    int64_t nd_[MODES];
    memcpy(nd_, cd, sizeof(int64_t) * (size_t)r->nd);
    nd_[n] = rn;
    PRSVD_ALLOC(next, prsvd_dims_prod(nd_, 0, r->nd));
    prsvd_ttm(w, r->nd, cd, n, u, ln, rn, 1, next);
    memcpy(w, next, sizeof(double) * (size_t)prsvd_dims_prod(nd_, 0, r->nd));
    cd[n] = rn;
    PRSVD_ALLOC(t->factors[n], r->d[n] * rn);
    if (r->q[n]) gemm("N", "N", r->d[n], rn, ln, 1.0, r->q[n], r->d[n], u, ln, 0.0, t->factors[n], r->d[n]);
    else memcpy(t->factors[n], u, sizeof(double) * (size_t)(r->d[n] * rn));
    free(u), free(sv), free(next);
    u = sv = next = NULL;
  }
  *discarded = used;
done:
  free(u), free(sv), free(next);
  return status;
}

/* Each column of U_n with its largest entry positive; the core's slices follow. */
static void fix_signs(prsvd_tucker *t) {
  for (int n = 0; n < t->ndims; n++) {
    const int64_t dn = t->dims[n], rn = t->ranks[n];
    const int64_t L = prsvd_dims_prod(t->ranks, 0, n), R = prsvd_dims_prod(t->ranks, n + 1, t->ndims);
    for (int64_t j = 0; j < rn; j++) {
      double *col = t->factors[n] + j * dn, best = 0.0;
      for (int64_t i = 0; i < dn; i++)
        if (fabs(col[i]) > fabs(best)) best = col[i];
      if (best >= 0.0) continue;
      for (int64_t i = 0; i < dn; i++) col[i] = -col[i];
      for (int64_t l = 0; l < L; l++)
        for (int64_t b = 0; b < R; b++) t->core[(l * rn + j) * R + b] = -t->core[(l * rn + j) * R + b];
    }
  }
}

/* W = H x_n (Phi_n Q_n)^+ for every mode (one pass): the pseudo-inverse by an SVD. */
static int onepass_core(struct run *r, double *h, double **w_out) {
  int status = PRSVD_OK;
  int64_t cd[MODES];
  double *cur = h, *next = NULL, *phi = NULL, *b = NULL, *pinv = NULL, *u = NULL, *vt = NULL, *sv = NULL, *work = NULL;
  int *iwork = NULL;
  for (int n = 0; n < r->nd; n++) cd[n] = r->s[n];
  for (int n = 0; n < r->nd; n++) {
    const int64_t sn = r->s[n], kn = r->l[n], dn = r->d[n];
    int info = 0, lwork = -1, is = (int)sn, ik = (int)kn;
    double wq = 0.0;
    PRSVD_ALLOC(phi, sn * dn);
    PRSVD_ALLOC(b, sn * kn);
    PRSVD_ALLOC(pinv, kn * sn);
    PRSVD_ALLOC(u, sn * kn);
    PRSVD_ALLOC(vt, kn * kn);
    PRSVD_ALLOC(sv, kn);
    PRSVD_ALLOC(iwork, 8 * kn);
    /* B = Phi_n Q_n (s_n x k_n) */
    if (n == 0) { /* Phi_1 is drawn by A's global row: Phi_1(j, i) = gaussian(i, j) */
      for (int64_t i = 0; i < dn; i++)
        for (int64_t j = 0; j < sn; j++) phi[i * sn + j] = prsvd_rng_gaussian(r->t->params.seed, STREAM_PHI, i, j);
    } else {
      prsvd_rng_fill(r->t->params.seed, STREAM_PHI + (unsigned)n, 0, sn, 0, dn, phi, sn);
    }
    gemm("N", "N", sn, kn, dn, 1.0, phi, sn, r->q[n], dn, 0.0, b, sn);
    /* B^+ = V diag(1 / sigma) U^T, sigma below 1e-14 sigma_1 dropped */
    dgesdd_("S", &is, &ik, b, &is, sv, u, &is, vt, &ik, &wq, &lwork, iwork, &info);
    lwork = (int)wq + 1;
    PRSVD_ALLOC(work, lwork);
    dgesdd_("S", &is, &ik, b, &is, sv, u, &is, vt, &ik, work, &lwork, iwork, &info);
    if (info) PRSVD_FAIL(PRSVD_ERR_NUMERIC, "the SVD of Phi_%d Q_%d failed (LAPACK info %d)", n + 1, n + 1, info);
    for (int64_t i = 0; i < kn; i++) /* pinv (k x s) = sum_j v_j u_j^T / sigma_j */
      for (int64_t c = 0; c < sn; c++) {
        double acc = 0.0;
        for (int64_t j = 0; j < kn; j++)
          if (sv[j] > 1e-14 * sv[0]) acc += vt[i * kn + j] * u[j * sn + c] / sv[j];
        pinv[c * kn + i] = acc;
      }
    int64_t nd_[MODES];
    memcpy(nd_, cd, sizeof(int64_t) * (size_t)r->nd);
    nd_[n] = kn;
    PRSVD_ALLOC(next, prsvd_dims_prod(nd_, 0, r->nd));
    prsvd_ttm(cur, r->nd, cd, n, pinv, kn, kn, 0, next);
    if (cur != h) free(cur);
    cur = next, next = NULL;
    cd[n] = kn;
    free(phi), free(b), free(pinv), free(u), free(vt), free(sv), free(work), free(iwork);
    phi = b = pinv = u = vt = sv = work = NULL;
    iwork = NULL;
  }
  *w_out = cur;
  cur = NULL;
done:
  if (cur != h) free(cur);
  free(next), free(phi), free(b), free(pinv), free(u), free(vt), free(sv), free(work), free(iwork);
  return status;
}

/* ---- the solve ---------------------------------------------------------------------------- */

static int begin(struct run *r, prsvd_tucker *t, prsvd_source *a, const struct prsvd_tucker_plan *plan) {
  int status = PRSVD_OK;
  const struct prsvd_tucker_params *prm = &t->params;
  memset(r, 0, sizeof *r);
  r->t = t, r->a = a, r->nd = t->ndims, r->d = t->dims;
  r->cols = prsvd_source_cols(a);
  r->one_pass = prm->passes == 1;
  r->panel_rows = plan->panel_rows;
  r->sketched = plan->route == PRSVD_TUCKER_ROUTE_Z ? 1 : r->nd;
  int64_t gen = 0, wide = 0;
  for (int n = 0; n < r->nd; n++) {
    r->l[n] = plan->sketch[n], r->s[n] = plan->core_sketch[n];
    if (n >= r->sketched) continue; /* Q_n = I */
    PRSVD_ALLOC(r->y[n], r->d[n] * r->l[n]);
    PRSVD_ALLOC(r->q[n], r->d[n] * r->l[n]);
    const int64_t R = prsvd_dims_prod(r->d, n + 1, r->nd);
    if (n > 0 && (R >= GEN_ROWS ? R : GEN_ROWS) * r->l[n] > gen) gen = (R >= GEN_ROWS ? R : GEN_ROWS) * r->l[n];
  }
  if (r->one_pass && r->panel_rows * r->s[0] > gen) gen = r->panel_rows * r->s[0];
  r->gen_len = gen;
  PRSVD_ALLOC(r->gen, gen > 0 ? gen : 1);
  PRSVD_ALLOC(r->w, gen > 0 ? gen : 1);
  PRSVD_ALLOC(r->omega1, r->cols * r->l[0]);
  wide = r->one_pass ? r->s[0] : r->l[0];
  PRSVD_ALLOC(r->z, r->cols * wide);
  r->mode0_power = !r->one_pass && prm->power_iters > 0 && r->cols >= r->l[0];
  if (r->mode0_power) PRSVD_ALLOC(r->h, r->cols * r->l[0]);
  PRSVD_TRY(prsvd_grid_create(t->comm, &r->grid));
  r->engine = prsvd_svd_params_default();
  r->engine.memory = prm->memory;
  r->engine.seed = prm->seed;
  r->engine.check_finite = prm->check_finite;
  r->engine.prefetch = prm->prefetch;
  r->engine.precision = PRSVD_PRECISION_DOUBLE; /* the apply hook multiplies float64 panels */
  r->engine.progress = prm->progress;
  r->engine.progress_arg = prm->progress_arg;
  r->engine.grid_rows = prsvd_grid_nprocs(r->grid), r->engine.grid_cols = 1;
  r->engine.threads = 1;
  PRSVD_ALLOC(r->pass.work, prsvd_pass_work_size(plan->panel_rows, 1, 1));
  r->pass.a = a;
  r->pass.panel_rows = plan->panel_rows;
  r->pass.params = &r->engine;
  r->pass.row_grid = r->grid;
  r->pass.apply = apply;
  r->pass.apply_arg = r;
  r->cur.n_passes = plan->passes;
  t->stats.panel_rows = plan->panel_rows;
done:
  return status;
}

static void end(struct run *r) {
  prsvd_pass_free(&r->pass);
  free(r->pass.work);
  for (int n = 0; n < r->nd; n++) free(r->y[n]), free(r->q[n]);
  free(r->gen), free(r->w), free(r->omega1), free(r->h), free(r->z), free(r->scaled), free(r->tile), free(r->expand);
  prsvd_grid_destroy(&r->grid);
}

static void zero(double *x, int64_t count) {
  if (x) memset(x, 0, sizeof(double) * (size_t)count);
}

/* The sketch pass (first: test matrices; else the power step on Q_n and X), sums agreed. */
static int sketch_pass(struct run *r, int first, int corange) {
  r->first = first, r->corange = corange;
  for (int n = 0; n < r->sketched; n++) zero(r->y[n], r->d[n] * r->l[n]);
  if (corange) zero(r->h, r->cols * r->l[0]);
  if (r->one_pass) zero(r->z, r->cols * r->s[0]);
  PRSVD_CHECK(one_pass(r, SKETCH));
  prsvd_profile_begin(PRSVD_EV_REDUCE);
  for (int n = 0; n < r->sketched; n++) PRSVD_CHECK(allsum(r->t->comm, r->y[n], r->d[n] * r->l[n]));
  if (corange) PRSVD_CHECK(allsum(r->t->comm, r->h, r->cols * r->l[0]));
  prsvd_profile_end(PRSVD_EV_REDUCE, 0.0, 0.0);
  return PRSVD_OK;
}

/* Pass 0, measuring A's range, and once more on 2^e A when it needs it. */
static int first_pass(struct run *r) {
  int status = PRSVD_OK, e = 0;
  const struct prsvd_tucker_params *prm = &r->t->params;
  prsvd_rng_fill(prm->seed, STREAM_OMEGA, 0, r->cols, 0, r->l[0], r->omega1, r->cols);
  r->pass.measure = 1;
  r->pass.amax = 0.0;
  r->pass.check_finite = prm->check_finite;
  r->pass.fro2 = &r->fro2;
  r->fro2 = 0.0;
  PRSVD_TRY(sketch_pass(r, 1, r->mode0_power));
  PRSVD_TRY(prsvd_pass_range(&r->pass, r->t->comm, prsvd_source_rows(r->a), r->cols, &e));
  r->pass.measure = 0;
  r->pass.check_finite = 0;
  if (e != 0) { /* A beyond the sketches' range: pass 0 again, on 2^e A */
    r->pass.scale_exp = e;
    r->cur.n_passes++;
    PRSVD_ALLOC(r->scaled, r->panel_rows * r->cols);
    r->fro2 = 0.0;
    PRSVD_TRY(sketch_pass(r, 1, r->mode0_power));
  }
  PRSVD_TRY(allsum(r->t->comm, &r->fro2, 1));
  r->t->stats.scale_exp = e;
done:
  r->pass.fro2 = NULL;
  return status;
}

/* Q_n = orth(Y_n) for every mode (mode 1 also when it did not move: its Y_1 stands). */
static int orth_all(struct run *r) {
  prsvd_profile_begin(PRSVD_EV_ORTH);
  for (int n = 0; n < r->sketched; n++) PRSVD_CHECK(orth(r->t->comm, r->y[n], r->d[n], r->l[n], r->q[n]));
  prsvd_profile_end(PRSVD_EV_ORTH, 0.0, 0.0);
  return PRSVD_OK;
}

/* The small core W from this rank's Z^T (C x w1): Z x_2 M_2 ... summed over the ranks. */
static int small_core(struct run *r, double **w_out, int64_t *cd) {
  int status = PRSVD_OK;
  int64_t dims[MODES];
  double *cur = r->z, *next = NULL;
  memcpy(dims, r->d, sizeof(int64_t) * (size_t)r->nd);
  dims[0] = r->one_pass ? r->s[0] : r->l[0];
  for (int n = 1; n < r->nd; n++) {
    const int64_t out = r->one_pass ? r->s[n] : r->l[n];
    int64_t od[MODES];
    memcpy(od, dims, sizeof od);
    od[n] = out;
    double *phi = NULL;
    PRSVD_ALLOC(next, prsvd_dims_prod(od, 0, r->nd));
    if (r->one_pass) {
      PRSVD_ALLOC(phi, out * r->d[n]);
      prsvd_rng_fill(r->t->params.seed, STREAM_PHI + (unsigned)n, 0, out, 0, r->d[n], phi, out);
      prsvd_ttm(cur, r->nd, dims, n, phi, out, out, 0, next);
      free(phi);
    } else {
      prsvd_ttm(cur, r->nd, dims, n, r->q[n], r->d[n], out, 1, next);
    }
    if (cur != r->z) free(cur);
    cur = next, next = NULL;
    dims[n] = out;
  }
  if (cur == r->z) { /* a 1-way tail cannot happen (N >= 2), but keep Z */
    PRSVD_ALLOC(next, prsvd_dims_prod(dims, 0, r->nd));
    memcpy(next, cur, sizeof(double) * (size_t)prsvd_dims_prod(dims, 0, r->nd));
    cur = next, next = NULL;
  }
  PRSVD_TRY(allsum(r->t->comm, cur, prsvd_dims_prod(dims, 0, r->nd)));
  memcpy(cd, dims, sizeof(int64_t) * (size_t)r->nd);
  *w_out = cur;
  cur = NULL;
done:
  if (cur != r->z) free(cur);
  free(next);
  return status;
}

/* ||A - G x_n U_n||_F by one more pass. */
static int verify_pass(struct run *r) {
  int status = PRSVD_OK;
  prsvd_tucker *t = r->t;
  int64_t dims[MODES];
  double *cur = NULL, *next = NULL;
  const int e = r->pass.scale_exp;
  /* E = (2^e G) x_2 U_2 ... x_N U_N, r_1 x C in C order = E^T column-major C x r_1 */
  memcpy(dims, t->ranks, sizeof(int64_t) * (size_t)r->nd);
  const int64_t gsize = prsvd_dims_prod(dims, 0, r->nd);
  PRSVD_ALLOC(cur, gsize);
  for (int64_t i = 0; i < gsize; i++) cur[i] = ldexp(t->core[i], e);
  for (int n = 1; n < r->nd; n++) {
    int64_t od[MODES];
    memcpy(od, dims, sizeof od);
    od[n] = r->d[n];
    PRSVD_ALLOC(next, prsvd_dims_prod(od, 0, r->nd));
    prsvd_ttm(cur, r->nd, dims, n, t->factors[n], r->d[n], r->d[n], 0, next);
    free(cur);
    cur = next, next = NULL;
    dims[n] = r->d[n];
  }
  r->expand = cur;
  cur = NULL;
  PRSVD_ALLOC(r->tile, r->cols * VERIFY_TILE);
  r->resid = 0.0L;
  PRSVD_TRY(one_pass(r, VERIFY));
  double res2 = (double)r->resid; /* 2^e A's */
  PRSVD_TRY(allsum(t->comm, &res2, 1));
  t->stats.error_fro = ldexp(sqrt(fmax(res2, 0.0)), -e);
  t->stats.relative_error = r->fro2 > 0 ? sqrt(fmax(res2, 0.0) / r->fro2) : 0.0;
  t->stats.error_verified = 1;
done:
  free(cur), free(next);
  return status;
}

int prsvd_tucker_run(prsvd_tucker *t, prsvd_source *a, const struct prsvd_tucker_plan *plan) {
  int status = PRSVD_OK;
  const struct prsvd_tucker_params *prm = &t->params;
  struct run r;
  double *w = NULL, discarded = 0.0;
  int64_t cd[MODES];
  PRSVD_TRY(begin(&r, t, a, plan));
  PRSVD_TRY(first_pass(&r));
  if (!r.one_pass) {
    for (int j = 1; j <= prm->power_iters; j++) {
      /* Q_n = orth(Y_n), X = orth(H): the next pass multiplies A_(n) A_(n)^T Q_n and A_(1) X */
      PRSVD_TRY(orth_all(&r));
      if (r.mode0_power) PRSVD_TRY(orth(t->comm, r.h, r.cols, r.l[0], r.omega1));
      double *keep_y0 = NULL;
      if (!r.mode0_power) { /* Y_1 stands (A_(1) has rank <= C <= l_1: captured) */
        PRSVD_ALLOC(keep_y0, r.d[0] * r.l[0]);
        memcpy(keep_y0, r.y[0], sizeof(double) * (size_t)(r.d[0] * r.l[0]));
      }
      const int st = sketch_pass(&r, 0, r.mode0_power && j < prm->power_iters);
      if (keep_y0) memcpy(r.y[0], keep_y0, sizeof(double) * (size_t)(r.d[0] * r.l[0]));
      free(keep_y0);
      PRSVD_TRY(st);
    }
  }
  PRSVD_TRY(orth_all(&r));
  if (!r.one_pass) { /* W = A x_n Q_n^T */
    zero(r.z, r.cols * r.l[0]);
    PRSVD_TRY(one_pass(&r, CORE));
  }
  if (r.sketched < r.nd) { /* the Z route: W = Z = A x_1 Q_1^T whole, summed over the ranks */
    PRSVD_TRY(allsum(t->comm, r.z, r.cols * r.l[0]));
    w = r.z, r.z = NULL;
    memcpy(cd, r.d, sizeof(int64_t) * (size_t)r.nd);
    cd[0] = r.l[0];
  } else {
    PRSVD_TRY(small_core(&r, &w, cd));
  }
  if (r.one_pass) { /* W = H x_n (Phi_n Q_n)^+ */
    double *h = w;
    w = NULL;
    status = onepass_core(&r, h, &w);
    free(h);
    PRSVD_TRY(status);
    for (int n = 0; n < r.nd; n++) cd[n] = r.l[n];
  }
  /* ST-HOSVD: the ranks, and the budget of tol */
  double w2 = 0.0;
  const int64_t wsize = prsvd_dims_prod(cd, 0, r.nd);
  for (int64_t i = 0; i < wsize; i++) w2 += w[i] * w[i];
  const double budget = prm->tol * prm->tol * r.fro2 - fmax(r.fro2 - w2, 0.0);
  prsvd_profile_begin(PRSVD_EV_SMALL_SVD);
  status = truncate_core(&r, w, cd, budget, &discarded);
  prsvd_profile_end(PRSVD_EV_SMALL_SVD, 0.0, 0.0);
  PRSVD_TRY(status);
  const int64_t gsize = prsvd_dims_prod(t->ranks, 0, r.nd);
  PRSVD_ALLOC(t->core, gsize);
  memcpy(t->core, w, sizeof(double) * (size_t)gsize);
  double g2 = 0.0;
  for (int64_t i = 0; i < gsize; i++) g2 += t->core[i] * t->core[i];
  const int e = r.pass.scale_exp;
  t->stats.norm_fro = ldexp(sqrt(r.fro2), -e);
  t->stats.error_estimate = r.one_pass ? NAN : ldexp(sqrt(fmax(r.fro2 - g2, 0.0)), -e);
  t->stats.tol_met = prm->tol > 0 && !r.one_pass && r.fro2 - g2 <= prm->tol * prm->tol * r.fro2 * (1 + 1e-12);
  for (int64_t i = 0; i < gsize; i++) t->core[i] = ldexp(t->core[i], -e);
  fix_signs(t);
  memcpy(t->stats.ranks, t->ranks, sizeof(int64_t) * (size_t)r.nd);
  t->stats.error_fro = t->stats.relative_error = NAN;
  if (prm->verify) PRSVD_TRY(verify_pass(&r));
  { /* an N-D dataset is dense: its slabs' float64 rows, whatever their split */
    int nprocs;
    MPI_Comm_size(t->comm, &nprocs);
    t->stats.bytes_read = (int64_t)((double)t->stats.passes * prsvd_pass_bytes(a, 0, nprocs, r.pass.panel_rows));
  }
done:
  free(w);
  end(&r);
  return status;
}
