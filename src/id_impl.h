/*
 * Inside the interpolative-decomposition object (include/prsvd.h, prsvd_id_*): its state, and
 * the solve of src/id.c that src/id_api.c's lifecycle calls.
 */
#ifndef PRSVD_ID_IMPL_H
#define PRSVD_ID_IMPL_H

#include "prsvd_grid.h"
#include "prsvd.h"
#include "sketch.h"

struct prsvd_id {
  MPI_Comm comm;
  prsvd_grid *grid;
  struct prsvd_id_params params;
  int64_t k;
  int64_t *chosen, *ascending; /* k each, replicated: columns (CUR: J), or rows */
  prsvd_dmat *coef;            /* N x k: T^T (columns) or X (rows), by row blocks */
  int64_t *rows_chosen, *rows_ascending; /* CUR: I */
  double *core;                /* CUR: U (k x k) for A(:, ascending J) and A(ascending I, :) */
  prsvd_dmat *c_cols;          /* CUR: C = A(:, ascending J), m x k by row blocks */
  double *r_rows;              /* CUR: R = A(ascending I, :), k x n row-major, replicated */
  int64_t r_cols;              /* CUR: n, R's columns */
  struct prsvd_id_stats stats;
};

/* Below this |R_kk| / |R_11| a pivoted QR is numerically rank-deficient at k. */
#define PRSVD_ID_RANK_TOL 1e-13
/* Below this reciprocal condition a triangular factor is not solved with (id.c, cur.c). */
#define PRSVD_ID_RCOND_MIN 1e-6

/* Everything a solve's passes share (id.c, cur.c). */
struct id_run {
  prsvd_id *id;
  prsvd_source *a;
  struct prsvd_svd_params engine;
  struct prsvd_pass pass;
  struct prsvd_cursor cur;
  int64_t m, n, k, l, np;
  double fro2;
  double *work;    /* the pass's */
  double *acc;     /* n x l: the partial left sketch or co-range of this rank */
  double *probes;  /* n x np: the partial, then the whole, S^T = (Theta A)^T; NULL if verified */
};

/* The pass engine's parameters for an ID solve (precision, prefetch, progress, budget). */
struct prsvd_svd_params prsvd_id_engine_params(const struct prsvd_id_params *prm, int nprocs);
/* Collective (id.c): the sketch passes, the pivoted QR and the error; fills chosen, ascending,
 * coef and stats.  plan is prsvd_id_plan's for this source. */
int prsvd_id_run(prsvd_id *id, prsvd_source *a, const struct prsvd_id_plan *plan);
/* Collective (cur.c): the CUR decomposition's solve; fills chosen, ascending, rows_chosen,
 * rows_ascending, core and stats. */
int prsvd_cur_run(prsvd_id *id, prsvd_source *a, const struct prsvd_id_plan *plan);

/* The steps id.c and cur.c share, collective unless said.  begin allocates the pass's
 * buffers and the k chosen indices, end frees the buffers. */
int prsvd_id_begin(struct id_run *r, prsvd_id *id, prsvd_source *a, const struct prsvd_id_plan *plan);
void prsvd_id_end(struct id_run *r);
/* One pass of the engine from the first row, errors agreed, counted in stats.passes. */
int prsvd_id_pass(struct id_run *r);
/* Collective: Theta B (np x k, Theta the probes' np Gaussian rows) into out, replicated: this
 * rank's rows [b0, b0 + br) of B (column-major, ld) against the same columns of Theta. */
int prsvd_id_theta_times(const struct id_run *r, const double *b, int64_t b0, int64_t br, int64_t ld,
                         double *out);
/* Collective: the probe estimate from this rank's part of sum ||E(:, j)||^2 over the probes:
 * stats.error_fro = sqrt(sum / np), and its 95% interval for 10 probes. */
int prsvd_id_estimate_from(struct id_run *r, double sum);
/* The results of 2^e A (stats.scale_exp = e) as A's: norms and errors, and a CUR's U, C and R. */
int prsvd_id_unscale(prsvd_id *id);
/* Z (n x l) whose transpose spans the row space of Omega (A A^T)^q A (q + 1 passes; the
 * probes ride in the last when r->probes; ||A||_F^2 into r->fro2, this rank's part). */
int prsvd_id_sketch_columns(struct id_run *r, prsvd_dmat **z);
/* A(rows[c], :) for c < k, k x n row-major, on every rank (read directly, not a pass). */
int prsvd_id_read_rows(struct id_run *r, const int64_t *rows, double *out);
/* stats.error_fro = ||A - K M^T||_F by one more pass: M (n x k replicated), K the rows of
 * k_src or, without it, A's columns k_cols. */
int prsvd_id_verify_pass(struct id_run *r, const double *m_rep, const prsvd_dmat *k_src, const int64_t *k_cols);
/* PRSVD_ERR_NUMERIC naming `subject` and its numerical rank if |R_kk| <= tol |R_11| among the
 * l values of rdiag; *ratio = |R_kk| / |R_11|. */
int prsvd_id_check_rank(const struct id_run *r, const double *rdiag, int64_t l, const char *subject,
                        const char *what, double *ratio);
/* Local: the reciprocal condition (1-norm) of an l x l upper triangle, 0 if LAPACK fails. */
double prsvd_id_rcond_upper(int64_t l, const double *r);
/* Local: chosen sorted into ascending. */
void prsvd_id_sort(const int64_t *chosen, int64_t k, int64_t *ascending);

#endif
