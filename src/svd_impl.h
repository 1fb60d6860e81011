/*
 * Inside the SVD solver object: its state, and the steps every method shares.  Each method
 * (subspace iteration, the single-pass sketches, fixed-accuracy QB) is a solve function in its
 * own file; svd.c picks one from a table by params.method and finishes with
 * prsvd_svd_finish_core():
 *
 *   A ~ Q C P^T,  C = U_c S V_c^T   =>   U = Q U_c,  V = P V_c   (first k columns)
 */
#ifndef PRSVD_SVD_IMPL_H
#define PRSVD_SVD_IMPL_H

#include "prsvd_grid.h"
#include "prsvd.h"
#include "checkpoint.h"
#include "scratch.h"
#include "sketch.h"
#include "source_impl.h"
#include "threads.h"

struct prsvd_svd {
  MPI_Comm comm;
  prsvd_grid *grid;
  struct prsvd_grid2d *grid2d; /* the solve's pr x pc grid when pc > 1 (subspace), else NULL */
  struct prsvd_svd_params params;
  int64_t k;
  double *s;
  prsvd_dmat *u, *v;
  double *scree;  /* k entries or NULL */
  double *mean, *scale; /* center: column means and the scales D (1 without scale), n each */
  unsigned char *unscaled; /* center + scale: 1 for a column left unscaled (zero variance) */
  struct prsvd_svd_stats stats;
  int threads;              /* during a solve: compute threads per rank (params.threads or the
                             * automatic count), and their pool (NULL for one) */
  struct prsvd_pool *pool;
};

/* Gaussian probe rows Theta of the single-pass error estimate (TYUC 2019 Sec. 6): fixed, not
 * params.n_probes, since the 95% interval uses the chi-square quantiles of 10 degrees of
 * freedom. */
#define PRSVD_ONEPASS_PROBES 10
/* Probe columns of a method's error estimate: params.n_probes (subspace, revd),
 * PRSVD_ONEPASS_PROBES (single pass), 0 (QB, Nystrom). */
int prsvd_svd_probes(const struct prsvd_svd_params *params);
/* Sketch columns of a method on an m x n matrix, clipped to min(m, n): l = k + p (subspace,
 * eig), k_s (single pass), L = max_rank or min(m, n, 256) (QB, QB_EI). */
int64_t prsvd_svd_width(const struct prsvd_svd_params *params, int64_t m, int64_t n);

/* Collective: SVD of a replicated a x b matrix c = uc diag(sigma) vc^T (uc a x r, vc b x r,
 * r = min(a, b)), computed on rank 0 and broadcast so every rank holds the same bits. */
int prsvd_small_svd(MPI_Comm comm, int a, int b, const double *c, double *sigma, double *uc,
                    double *vc);
/* Collective: U, S, V (k columns) from Q (m x a, orthonormal), C (a x b, replicated,
 * column-major) and P (n x b, orthonormal); signs fixed so max |U_ij| of each column > 0.
 * If sigma_all is not NULL it receives min(a, b) singular values of C.  U is formed in Q's
 * storage: the solver takes *q and sets it to NULL (left to the caller if the product fails). */
int prsvd_svd_finish_core(prsvd_svd *svd, prsvd_dmat **q, const double *c, prsvd_dmat *p,
                          double *sigma_all);
/* Collective: U, S, V from A ~ Q B with bt = B^T (n x a, destroyed); takes *q as
 * prsvd_svd_finish_core. */
int prsvd_svd_finish_qb(prsvd_svd *svd, prsvd_dmat **q, prsvd_dmat *bt, double *sigma_all);
/* Collective: U (k columns) and S from the left singular vectors of e (m x l, destroyed);
 * sigma_all receives l values. */
int prsvd_svd_finish_left(prsvd_svd *svd, prsvd_dmat *e, double *sigma_all);
/* Collective: from right probes (m x np kept rows of A W, overwritten by the residual) and W's
 * rows [w0, w0 + ldw) (ld ldw: all n rows, or on a 2-D grid the column block that holds this
 * rank's rows of V). */
int prsvd_svd_estimate_right(prsvd_svd *svd, prsvd_dmat *aw, const double *w, int64_t w0,
                             int64_t ldw);
/* Collective: from left probes S^T = (Theta A)^T (n x np, replicated full sum) with Theta
 * generated from (seed, stream) over A's rows. */
int prsvd_svd_estimate_left(prsvd_svd *svd, const double *st, int64_t np, uint64_t seed,
                            unsigned stream);

/* Collective, after the first pass of a method whose later passes make its result: the columns
 * the source zeroed while reading it (params.zeroed_columns; none without the hook), agreed over
 * the ranks and zeroed in every panel from here on.  Their entries in this rank's parts of the
 * first pass's column sums and sums of squares (col_sum, col_sumsq: n each, or NULL) become 0,
 * as a zero column's are, after taking their squares off *fro2 (or NULL) when col_sumsq is
 * given.  *late: 1 when the first pass's products hold part of such a column (read before it
 * was known), so that whatever else the method made of them in that pass is not that of A
 * without it. */
int prsvd_svd_first_pass_columns(prsvd_svd *svd, int64_t n, double *col_sum, double *col_sumsq,
                                 double *fro2, int *late);
/* Collective, after the first pass of a method that reads A again, which measured A unscaled
 * (pass->measure): *repeat = 1 when A lies beyond what the sketches hold as it is; the pass
 * is then to be repeated on 2^e A (pass->scale_exp = e), and the pass it discards is counted
 * (stats.passes, cur->n_passes). */
int prsvd_svd_first_pass_range(prsvd_svd *svd, struct prsvd_pass *pass, int64_t m, int64_t n,
                               struct prsvd_cursor *cur, int *repeat);

/* Implicit centering (center.c), collective where they reduce. */
int prsvd_center_stats(prsvd_svd *svd, int64_t m, int64_t n, double *col_sum, double *col_sumsq);
/* x and xp hold rows [row0, row0 + n) of X and X_p (all rows, or a 2-D grid's column block;
 * mu^T X_p is then summed over the process row). */
void prsvd_center_right(const prsvd_svd *svd, int64_t row0, int64_t n, int64_t cols,
                        const double *x, double *xp);
int prsvd_center_range(const prsvd_svd *svd, prsvd_dmat *y, int64_t col0, const double *xp,
                       int64_t row0, int64_t n);
int prsvd_center_colsums(const prsvd_svd *svd, const prsvd_dmat *y, double *s);
void prsvd_center_corange(const prsvd_svd *svd, prsvd_dmat *h, const double *s);
/* The n means and scales and the total variance of 2^e A as A's. */
void prsvd_center_unscale(prsvd_svd *svd, int64_t n, int e);
/* Row centring (params.center_rows, center.c): t = 1^T X of the right matrix X (n x cols);
 * the first pass's local row sums (y's local rows) into the m replicated means and the total
 * variance (n: the row length); H -= 1 (mu^T Y) for the pass's centred Y (collective). */
void prsvd_center_rows_shift(const double *x, int64_t n, int64_t cols, double *t);
int prsvd_center_rows_stats(prsvd_svd *svd, const prsvd_dmat *y, int64_t n, const double *sum,
                            const double *sumsq);
int prsvd_center_rows_corange(const prsvd_svd *svd, const prsvd_dmat *y, prsvd_dmat *h);

/* The frame of a method: its passes over A, their checkpoint, the method's scratch (scratch.h)
 * and the process grid, all released by prsvd_svd_frame_end, so that the method names none of
 * them in its `done:`.  init (first, before anything can fail; cannot fail): zeroed, the
 * checkpoint on params.checkpoint.  pass_begin: the run's panel rows (into stats), the
 * source, parameters and thread pool, and the work array of right products n_right wide and
 * left products max_left_dim wide (prsvd_pass_work_size); all n columns of a.  end: the
 * pass's work and state, the scratch, the checkpoint and the column view, also of a frame
 * whose pass never began.  Local. */
struct prsvd_svd_frame {
  prsvd_svd *svd;
  struct prsvd_pass pass;
  struct prsvd_ckpt ck;
  struct prsvd_scratch scratch;
  /* The columns of A this rank's passes read, rows [c0, c0 + n) of the right matrices and of
   * the co-range H: all of them, or on a 2-D grid (svd->grid2d) its process column's block,
   * read through a column view of the source (prsvd_svd_frame_columns) */
  int64_t c0, n;
  prsvd_source *view;
  /* 1 if a pass's co-range source may hold columns beyond those the pass keeps (the method's
   * own, keep[0].ncols); 0 on a 2-D grid, whose K_i is the right product itself */
  int corange_own_cols;
};
void prsvd_svd_frame_init(struct prsvd_svd_frame *f, prsvd_svd *svd);
int prsvd_svd_pass_begin(struct prsvd_svd_frame *f, prsvd_source *a, int64_t n_right,
                         int64_t max_left_dim);
void prsvd_svd_frame_end(struct prsvd_svd_frame *f);
/* The grid's part of subspace iteration, where the co-range H = A^T Y is summed.
 * corange (collective): *h, rows x cols, laid out for the sums of the frame's passes: by row
 * blocks over all ranks, or on a 2-D grid over each process column (the grid's by_cols).
 * columns: on a 2-D grid, the frame's columns become the block of h's rows that this rank's
 * process column holds, and its pass reads them (a column view of its source); else nothing.
 * reduce (collective): h = the sum over the ranks that share h's rows (all, or the process
 * column) of their parts (the pass's co-range, n x cols each).  gather (collective): x = those
 * ranks' rows of h, whole (the right matrix's rows [c0, c0 + n), ld n). */
int prsvd_svd_frame_corange(const struct prsvd_svd_frame *f, int64_t rows, int64_t cols,
                            prsvd_dmat **h);
int prsvd_svd_frame_columns(struct prsvd_svd_frame *f, const prsvd_dmat *h);
int prsvd_svd_frame_reduce(const struct prsvd_svd_frame *f, const double *part, prsvd_dmat *h);
int prsvd_svd_frame_gather(const struct prsvd_svd_frame *f, const prsvd_dmat *h, double *x);

/* The centring of subspace iteration's passes (center_pass.c), hooks around each pass of
 * rsvd.c: centring the columns (params.center) or the rows (center_rows); with neither,
 * every call does nothing.  begin: the flags and the first pass's sums (PRSVD_ERR_USAGE for rows
 * on a 2-D grid); columns: this rank's rows [c0, c0 + n) of X and room for X_p; checkpoint:
 * the sums into ck; resumed: a run resumed at start_pass > 0 makes the first pass's
 * statistics final again (collective); before: the pass's right matrix and sums for pass
 * pass_index; repeat: the first pass's sums zeroed for its repeat on 2^e A; after: Y and H
 * (and the probes' A W, y_probes from column probes_col0 of X, or NULL) made those of the
 * centred A (collective); off and after_extra: the same for the extra pass B^T = A^T Q. */
struct prsvd_ckpt;
struct prsvd_centring {
  int cols, rows;
  int64_t n_all, width, c0, n, local_rows;
  double *xp, *col_sum, *col_sumsq, *s; /* columns: X_p, the column sums, s = 1^T Y */
  double *row_sum, *row_sumsq, *shift;  /* rows: this rank's row sums, t = 1^T X */
};
int prsvd_centring_begin(struct prsvd_centring *c, prsvd_svd *svd, const prsvd_source *a,
                         const prsvd_dmat *y, int64_t l, int64_t width);
int prsvd_centring_columns(struct prsvd_centring *c, int64_t c0, int64_t n);
int prsvd_centring_checkpoint(struct prsvd_centring *c, struct prsvd_ckpt *ck, const prsvd_svd *svd,
                              const prsvd_dmat *y);
int prsvd_centring_resumed(struct prsvd_centring *c, prsvd_svd *svd, struct prsvd_ckpt *ck,
                           const prsvd_dmat *y, int start_pass);
void prsvd_centring_before(struct prsvd_centring *c, const prsvd_svd *svd, struct prsvd_pass *pass,
                           const double *x, int pass_index);
void prsvd_centring_repeat(struct prsvd_centring *c);
int prsvd_centring_after(struct prsvd_centring *c, prsvd_svd *svd, struct prsvd_ckpt *ck,
                         prsvd_dmat *y, prsvd_dmat *y_probes, int64_t probes_col0, prsvd_dmat *h,
                         int pass_index);
void prsvd_centring_off(struct prsvd_pass *pass);
int prsvd_centring_after_extra(struct prsvd_centring *c, const prsvd_svd *svd, const prsvd_dmat *q,
                               prsvd_dmat *h);
void prsvd_centring_free(struct prsvd_centring *c);

/* The methods. */
int prsvd_solve_subspace(prsvd_svd *svd, prsvd_source *a);
int prsvd_solve_onepass(prsvd_svd *svd, prsvd_source *a);
/* What the single pass multiplies (onepass.c): its right product, left sums and core, for the
 * plan's memory; threaded on dense and CSR panels alike. */
void prsvd_onepass_shape(const struct prsvd_svd_params *prm, const prsvd_source *a, struct prsvd_pass_shape *shape);
int prsvd_solve_qb(prsvd_svd *svd, prsvd_source *a);
int prsvd_solve_qb_ei(prsvd_svd *svd, prsvd_source *a);
/* Collective (qb.c): U, S, V from A ~ Q B (q m x t orthonormal, bt = B^T n x t, destroyed) cut
 * to the smallest rank whose indicator ||A||_F^2 - sum_{j<=k} sigma_j^2 <= tol^2 ||A||_F^2
 * (all t when stats.tol_met is 0); sets tol_achieved and the error estimates.  Takes *q as
 * prsvd_svd_finish_core. */
int prsvd_qb_truncate(prsvd_svd *svd, prsvd_dmat **q, prsvd_dmat *bt, double fro2);
int prsvd_solve_nystrom(prsvd_svd *svd, prsvd_source *a);
int prsvd_solve_revd(prsvd_svd *svd, prsvd_source *a);
/* The passes of subspace iteration (rsvd.c): Q (m x l), A^T Q (n x l), A W and [X | W] of
 * rows [w_row0, w_row0 + w_rows) (all n on a P x 1 grid). */
int prsvd_subspace_sketch(prsvd_svd *svd, prsvd_source *a, int64_t l, prsvd_dmat **q,
                          prsvd_dmat **atq, prsvd_dmat **aw, double **w, int64_t *w_row0,
                          int64_t *w_rows);
/* Sampled symmetry of a square A read by the first pass (eig.c): samples, the positions into
 * the frame's pass (its scratch holds them); check, after the pass. */
int prsvd_symmetry_samples(struct prsvd_svd_frame *f, int64_t n);
int prsvd_symmetry_check(prsvd_svd *svd, prsvd_source *a, struct prsvd_pass *pass);

#endif
