/* Tall-skinny matrices distributed by row blocks, and the local and collective operations on
 * them that the sketching algorithms need. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "error.h"
#include "grid_impl.h"
#include "scalapack_impl.h"

void prsvd_row_block(int64_t rows, int rank, int nprocs, int64_t *row0, int64_t *local_rows) {
  int64_t block = (rows + nprocs - 1) / nprocs;
  if (block < 1) block = 1;
  int64_t lo = (int64_t)rank * block, hi = lo + block;
  if (lo > rows) lo = rows;
  if (hi > rows) hi = rows;
  *row0 = lo;
  *local_rows = hi - lo;
}

int prsvd_dmat_create(const prsvd_grid *grid, int64_t rows, int64_t cols, prsvd_dmat **out) {
  int status = PRSVD_OK;
  prsvd_dmat *a = NULL;
  *out = NULL;
  int m, n, mb, nb, lld, info, zero = 0;
  PRSVD_ALLOC(a, 1);
  /* the shape ScaLAPACK takes first: then no size below can overflow */
  PRSVD_TRY(prsvd_to_int(rows, "matrix rows", &m));
  PRSVD_TRY(prsvd_to_int(cols, "matrix columns", &n));
  a->grid = grid;
  a->rows = rows;
  a->cols = cols;
  prsvd_row_block(rows, grid->rank, grid->nprocs, &a->row0, &a->local_rows);
  a->block_rows = (rows + grid->nprocs - 1) / grid->nprocs;
  if (a->block_rows < 1) a->block_rows = 1;
  a->ld = a->local_rows > 0 ? a->local_rows : 1;
  PRSVD_ALLOC(a->data, prsvd_size_mul(a->ld, cols > 0 ? cols : 1));
  PRSVD_TRY(prsvd_to_int(a->block_rows, "row block", &mb));
  PRSVD_TRY(prsvd_to_int(a->ld, "local leading dimension", &lld));
  nb = n > 0 ? n : 1;
  descinit_(a->desc, &m, &n, &mb, &nb, &zero, &zero, &grid->ctxt, &lld, &info);
  if (info) PRSVD_FAIL(PRSVD_ERR_MPI, "DESCINIT rejected argument %d for a %d x %d matrix", -info, m, n);
  *out = a;
  a = NULL;
done:
  prsvd_dmat_destroy(&a);
  return status;
}

void prsvd_dmat_destroy(prsvd_dmat **a) {
  if (!a || !*a) return;
  free((*a)->data);
  free(*a);
  *a = NULL;
}

int64_t prsvd_dmat_rows(const prsvd_dmat *a) { return a->rows; }
const prsvd_grid *prsvd_dmat_grid(const prsvd_dmat *a) { return a->grid; }
int64_t prsvd_dmat_cols(const prsvd_dmat *a) { return a->cols; }

double *prsvd_dmat_local(const prsvd_dmat *a, int64_t *row0, int64_t *local_rows, int64_t *ld) {
  if (row0) *row0 = a->row0;
  if (local_rows) *local_rows = a->local_rows;
  if (ld) *ld = a->ld;
  return a->data;
}

static int qr_householder(prsvd_dmat *a, double *r) {
  int status = PRSVD_OK;
  double *tau = NULL, *work = NULL;
  int m = (int)a->rows, n = (int)a->cols, one = 1, info = 0, lwork = -1;
  double wq;
  if (a->rows < a->cols)
    PRSVD_FAIL(PRSVD_ERR_INTERNAL, "QR of a %d x %d matrix: needs rows >= cols", m, n);
  PRSVD_ALLOC(tau, n);
  /* Q R = A */
  pdgeqrf_(&m, &n, a->data, &one, &one, a->desc, tau, &wq, &lwork, &info);
  PRSVD_TRY(prsvd_scalapack_info(info, "PDGEQRF workspace query"));
  lwork = (int)wq + 1;
  PRSVD_ALLOC(work, lwork);
  pdgeqrf_(&m, &n, a->data, &one, &one, a->desc, tau, work, &lwork, &info);
  PRSVD_TRY(prsvd_scalapack_info(info, "PDGEQRF"));
  /* R: the upper triangle of global rows [0, n), replicated by a sum of disjoint parts */
  memset(r, 0, sizeof(double) * (size_t)n * (size_t)n);
  for (int64_t i = a->row0; i < a->row0 + a->local_rows && i < n; i++)
    for (int64_t j = i; j < n; j++) r[j * n + i] = a->data[j * a->ld + (i - a->row0)];
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, r, n * n, MPI_DOUBLE, MPI_SUM, a->grid->comm));
  /* Q = H_1 ... H_n [I; 0] */
  lwork = -1;
  pdorgqr_(&m, &n, &n, a->data, &one, &one, a->desc, tau, &wq, &lwork, &info);
  PRSVD_TRY(prsvd_scalapack_info(info, "PDORGQR workspace query"));
  free(work);
  lwork = (int)wq + 1;
  PRSVD_ALLOC(work, lwork);
  pdorgqr_(&m, &n, &n, a->data, &one, &one, a->desc, tau, work, &lwork, &info);
  PRSVD_TRY(prsvd_scalapack_info(info, "PDORGQR"));
done:
  free(tau);
  free(work);
  return status;
}

/* The ranks of comm hold consecutive row blocks of a, in comm's rank order: comm rank q holds
 * block first + q. */
static int first_block(const prsvd_dmat *a, MPI_Comm comm, int *size) {
  int me;
  MPI_Comm_rank(comm, &me);
  MPI_Comm_size(comm, size);
  return a->grid->rank - me;
}

void prsvd_dmat_span(const prsvd_dmat *a, MPI_Comm comm, int64_t *row0, int64_t *rows) {
  int size, first = first_block(a, comm, &size);
  int64_t r0, lr, e0, el;
  prsvd_row_block(a->rows, first, a->grid->nprocs, &r0, &lr);
  prsvd_row_block(a->rows, first + size - 1, a->grid->nprocs, &e0, &el);
  *row0 = r0;
  *rows = e0 + el - r0;
}

/* counts[q] and displs[q]: comm rank q's block of a, in entries of its packed copy */
static int block_counts(const prsvd_dmat *a, MPI_Comm comm, int **counts, int **displs) {
  int status = PRSVD_OK, size, first = first_block(a, comm, &size);
  int64_t off = 0;
  *counts = *displs = NULL;
  PRSVD_ALLOC(*counts, size);
  PRSVD_ALLOC(*displs, size);
  for (int q = 0; q < size; q++) {
    int64_t r0, lr;
    prsvd_row_block(a->rows, first + q, a->grid->nprocs, &r0, &lr);
    PRSVD_TRY(prsvd_to_int(lr * a->cols, "distributed block", &(*counts)[q]));
    PRSVD_TRY(prsvd_to_int(off, "distributed block offset", &(*displs)[q]));
    off += lr * a->cols;
  }
done:
  return status;
}

/* Between part (the span's rows x cols, column-major) and its packing by blocks (each comm
 * rank's rows as one contiguous column-major block, in comm's rank order): pack (from part
 * into packed) or unpack (from packed into part). */
static void repack(const prsvd_dmat *a, MPI_Comm comm, const double *from, double *to, int pack) {
  int size, first = first_block(a, comm, &size);
  int64_t s0, span, off = 0;
  prsvd_dmat_span(a, comm, &s0, &span);
  for (int q = 0; q < size; q++) {
    int64_t r0, lr;
    prsvd_row_block(a->rows, first + q, a->grid->nprocs, &r0, &lr);
    for (int64_t c = 0; c < a->cols; c++)
      for (int64_t i = 0; i < lr; i++, off++) {
        const int64_t at = c * span + r0 - s0 + i;
        if (pack) to[off] = from[at];
        else to[at] = from[off];
      }
  }
}

int prsvd_dmat_reduce_scatter_within(const double *part, MPI_Comm comm, prsvd_dmat *a) {
  int status = PRSVD_OK, *counts = NULL, *displs = NULL;
  int64_t s0, span;
  double *send = NULL, dummy;
  prsvd_dmat_span(a, comm, &s0, &span);
  PRSVD_ALLOC(send, span * a->cols);
  PRSVD_TRY(block_counts(a, comm, &counts, &displs));
  repack(a, comm, part, send, 1);
  /* an empty block still needs a receive buffer */
  status = MPI_Reduce_scatter(send, a->local_rows ? a->data : &dummy, counts, MPI_DOUBLE, MPI_SUM,
                              comm);
  if (status != MPI_SUCCESS)
    status = prsvd_mpi_check(status, __FILE__, __LINE__, __func__, "MPI_Reduce_scatter");
done:
  free(send);
  free(counts);
  free(displs);
  return status;
}

int prsvd_dmat_reduce_scatter(const double *full, prsvd_dmat *a) {
  return prsvd_dmat_reduce_scatter_within(full, a->grid->comm, a);
}

int prsvd_dmat_allgather_within(const prsvd_dmat *a, MPI_Comm comm, double *part) {
  int status = PRSVD_OK, *counts = NULL, *displs = NULL, me;
  int64_t s0, span;
  double *recv = NULL;
  MPI_Comm_rank(comm, &me);
  prsvd_dmat_span(a, comm, &s0, &span);
  PRSVD_ALLOC(recv, span * a->cols);
  PRSVD_TRY(block_counts(a, comm, &counts, &displs));
  {
    int rc = MPI_Allgatherv(a->data, counts[me], MPI_DOUBLE, recv, counts, displs, MPI_DOUBLE,
                            comm);
    if (rc != MPI_SUCCESS) {
      status = prsvd_mpi_check(rc, __FILE__, __LINE__, __func__, "MPI_Allgatherv");
      goto done;
    }
  }
  repack(a, comm, recv, part, 0);
done:
  free(recv);
  free(counts);
  free(displs);
  return status;
}

int prsvd_dmat_allgather(const prsvd_dmat *a, double *full) {
  return prsvd_dmat_allgather_within(a, a->grid->comm, full);
}

int prsvd_dmat_mul_small(const prsvd_dmat *a, int64_t k, const double *s, int64_t lds,
                         int64_t c_cols, prsvd_dmat *c) {
  int m, kk, n, lda, ldc, ldss;
  const double one = 1.0, zero = 0.0;
  if (c->rows != a->rows || c_cols > c->cols || k > a->cols)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "mul_small: shapes %lld x %lld and %lld x %lld do not conform",
              (long long)a->rows, (long long)k, (long long)c->rows, (long long)c_cols);
  if (a->local_rows == 0 || c_cols == 0) return PRSVD_OK;
  PRSVD_CHECK(prsvd_to_int(a->local_rows, "local rows", &m));
  PRSVD_CHECK(prsvd_to_int(k, "inner dimension", &kk));
  PRSVD_CHECK(prsvd_to_int(c_cols, "columns", &n));
  PRSVD_CHECK(prsvd_to_int(a->ld, "lda", &lda));
  PRSVD_CHECK(prsvd_to_int(c->ld, "ldc", &ldc));
  PRSVD_CHECK(prsvd_to_int(lds, "lds", &ldss));
  dgemm_("N", "N", &m, &n, &kk, &one, a->data, &lda, s, &ldss, &zero, c->data, &ldc);
  return PRSVD_OK;
}

int prsvd_dmat_mul_small_in_place(prsvd_dmat *a, const double *s, int64_t lds, int64_t c_cols) {
  int status = PRSVD_OK, m, kk, n, lda, ldss;
  const int64_t block = 1024;
  const double one = 1.0, zero = 0.0;
  double *tmp = NULL;
  if (c_cols > a->cols)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "mul_small_in_place: %lld columns out of %lld", (long long)c_cols,
              (long long)a->cols);
  if (a->local_rows == 0 || c_cols == 0) return PRSVD_OK;
  PRSVD_CHECK(prsvd_to_int(a->cols, "inner dimension", &kk));
  PRSVD_CHECK(prsvd_to_int(c_cols, "columns", &n));
  PRSVD_CHECK(prsvd_to_int(a->ld, "lda", &lda));
  PRSVD_CHECK(prsvd_to_int(lds, "lds", &ldss));
  PRSVD_ALLOC(tmp, block * c_cols);
  for (int64_t i0 = 0; i0 < a->local_rows; i0 += block) {
    m = (int)(a->local_rows - i0 < block ? a->local_rows - i0 : block);
    /* T = A(i0 : i0 + m, :) S, then A(i0 : i0 + m, 0 : c_cols) = T */
    dgemm_("N", "N", &m, &n, &kk, &one, a->data + i0, &lda, s, &ldss, &zero, tmp, &m);
    for (int64_t j = 0; j < c_cols; j++)
      memcpy(a->data + j * a->ld + i0, tmp + j * m, sizeof(double) * (size_t)m);
  }
done:
  free(tmp);
  return status;
}

/* A = A R^-1 (solve) or A = A R, R upper triangular (cols x cols, replicated), row blocks
 * local */
static int upper_local(prsvd_dmat *a, const double *r, int solve) {
  int m, n, lda;
  const double one = 1.0;
  if (a->local_rows == 0) return PRSVD_OK;
  PRSVD_CHECK(prsvd_to_int(a->local_rows, "local rows", &m));
  PRSVD_CHECK(prsvd_to_int(a->cols, "columns", &n));
  PRSVD_CHECK(prsvd_to_int(a->ld, "lda", &lda));
  if (solve) dtrsm_("R", "U", "N", "N", &m, &n, &one, r, &n, a->data, &lda);
  else dtrmm_("R", "U", "N", "N", &m, &n, &one, r, &n, a->data, &lda);
  return PRSVD_OK;
}

int prsvd_dmat_solve_upper(prsvd_dmat *a, const double *r) { return upper_local(a, r, 1); }

int prsvd_dmat_gram(const prsvd_dmat *a, double *gm) {
  int m, n, lda;
  const double one = 1.0, zero = 0.0;
  memset(gm, 0, sizeof(double) * (size_t)(a->cols * a->cols));
  PRSVD_CHECK(prsvd_to_int(a->local_rows, "local rows", &m));
  PRSVD_CHECK(prsvd_to_int(a->cols, "columns", &n));
  PRSVD_CHECK(prsvd_to_int(a->ld, "lda", &lda));
  if (m > 0 && n > 0) dgemm_("T", "N", &n, &n, &m, &one, a->data, &lda, a->data, &lda, &zero, gm, &n);
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, gm, n * n, MPI_DOUBLE, MPI_SUM, a->grid->comm));
  return PRSVD_OK;
}

int prsvd_dmat_fix_signs(prsvd_dmat *a, int64_t k, double *flip) {
  int status = PRSVD_OK;
  const prsvd_grid *g = a->grid;
  double *mine = NULL, *all = NULL;
  /* per column: |max|, its signed value, its global row (as a double: exact below 2^53) */
  PRSVD_ALLOC(mine, 3 * k);
  PRSVD_ALLOC(all, 3 * k * g->nprocs);
  for (int64_t j = 0; j < k; j++) {
    double best = -1.0, val = 0.0, row = -1.0;
    for (int64_t i = 0; i < a->local_rows; i++) {
      double x = a->data[j * a->ld + i];
      if (fabs(x) > best) best = fabs(x), val = x, row = (double)(a->row0 + i);
    }
    mine[3 * j] = best, mine[3 * j + 1] = val, mine[3 * j + 2] = row;
  }
  {
    int rc = MPI_Allgather(mine, (int)(3 * k), MPI_DOUBLE, all, (int)(3 * k), MPI_DOUBLE, g->comm);
    if (rc != MPI_SUCCESS) {
      status = prsvd_mpi_check(rc, __FILE__, __LINE__, __func__, "MPI_Allgather");
      goto done;
    }
  }
  for (int64_t j = 0; j < k; j++) {
    double best = -1.0, val = 0.0;
    for (int p = 0; p < g->nprocs; p++) { /* ranks in row order: strict > keeps the lowest row */
      const double *e = &all[3 * (p * k + j)];
      if (e[2] >= 0 && e[0] > best) best = e[0], val = e[1];
    }
    flip[j] = val < 0 ? -1.0 : 1.0;
  }
  prsvd_dmat_scale_cols(a, k, flip);
done:
  free(mine);
  free(all);
  return status;
}

void prsvd_dmat_scale_cols(prsvd_dmat *a, int64_t k, const double *flip) {
  for (int64_t j = 0; j < k; j++)
    if (flip[j] < 0)
      for (int64_t i = 0; i < a->local_rows; i++) a->data[j * a->ld + i] = -a->data[j * a->ld + i];
}

int prsvd_dmat_truncate_cols(prsvd_dmat *a, int64_t k) {
  int m, n, mb, lld, info, zero = 0;
  if (k < 1 || k > a->cols)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "truncate to %lld of %lld columns", (long long)k, (long long)a->cols);
  a->cols = k;
  m = (int)a->rows, n = (int)k, mb = (int)a->block_rows, lld = (int)a->ld;
  descinit_(a->desc, &m, &n, &mb, &n, &zero, &zero, &a->grid->ctxt, &lld, &info);
  if (info) PRSVD_ERR(PRSVD_ERR_MPI, "DESCINIT rejected argument %d", -info);
  return PRSVD_OK;
}

/* ---- tall-skinny QR: CholeskyQR2, shifted CholeskyQR3, Householder ----------------------
 * CholeskyQR2 (Fukaya, Nakatsukasa, Yanagisawa & Yamamoto 2014): G = A^T A (one allreduce),
 * R1 = chol(G), Q1 = A R1^-1, then once more on Q1.  Two GEMMs and two small allreduces,
 * no P x 1 panel factorization.  It breaks down when kappa(A) > ~1e8 (G loses definiteness
 * or Q1 loses orthogonality): detected by a failed Cholesky, by kappa(R1) above 1e7, or by
 * ||Q^T Q - I||_F above 1e-13 sqrt(n) at the end.  Then shifted CholeskyQR3 (Fukaya,
 * Kannan, Nakatsukasa, Yamamoto & Yanagisawa 2020) on A (given back from the failed attempt,
 * not saved: prsvd_dmat_qr): R1 = chol(G + s I) with
 * s = 11 (m n + n (n + 1)) u ||A||_F^2 brings kappa(A R1^-1) down to ~sqrt(1 / (m n u)) for
 * any kappa(A) up to ~1/u, and CholeskyQR2 finishes it: still only GEMMs and small
 * allreduces.  Only a numerically rank-deficient A (where no triangular R is well defined)
 * falls through to PDGEQRF. */

void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);

static struct prsvd_qr_stats qr_stats;

void prsvd_qr_stats_get(struct prsvd_qr_stats *st) { *st = qr_stats; }
void prsvd_qr_stats_reset(void) { memset(&qr_stats, 0, sizeof qr_stats); }

/* r (n x n, upper) = chol(A^T A + shift I) on every rank (same bits: the Gram is allreduced,
 * then factored identically) and A = A r^-1; shift: 0, or shifted CholeskyQR's s from
 * ||A||_F^2 >= ||A||_2^2; *failed when the Cholesky fails or, with check, kappa(r) exceeds 1e7
 * (plain CholeskyQR2's early exit; after a shift the final orthogonality decides). */
static int cholesky_step(prsvd_dmat *a, double *r, int shifted, int check, int *failed) {
  const int n = (int)a->cols;
  int info = 0;
  PRSVD_CHECK(prsvd_dmat_gram(a, r));
  if (shifted) {
    double fro2 = 0.0;
    for (int j = 0; j < n; j++) fro2 += r[j * n + j];
    const double s = 11.0 * ((double)a->rows * n + (double)n * (n + 1)) * (DBL_EPSILON / 2) * fro2;
    for (int j = 0; j < n; j++) r[j * n + j] += s;
  }
  dpotrf_("U", &n, r, &n, &info);
  for (int j = 0; j < n; j++)
    for (int i = j + 1; i < n; i++) r[j * n + i] = 0.0;
  *failed = info != 0;
  if (!*failed && check) {
    double dmax = 0.0, dmin = INFINITY;
    for (int j = 0; j < n; j++) dmax = fmax(dmax, fabs(r[j * n + j])), dmin = fmin(dmin, fabs(r[j * n + j]));
    if (dmin <= 1e-7 * dmax) *failed = 1; /* kappa(R) > 1e7: G has lost too many digits */
  }
  if (!*failed) PRSVD_CHECK(prsvd_dmat_solve_upper(a, r));
  return PRSVD_OK;
}

/* CholeskyQR2 on A, after a shifted step when shifted: R = R3 R2 (R1) in r; *orth the final
 * ||Q^T Q - I||_F; *failed as cholesky_step, or when Q is not orthonormal to 1e-13 sqrt(n).
 * *applied: whether A was changed (then A holds A_in r^-1, so A r gives A_in back). */
static int cholesky_qr(prsvd_dmat *a, double *r, int shifted, double *scratch, int *failed,
                       double *orth, int *applied) {
  const int64_t n = a->cols;
  const int in = (int)n;
  const double one = 1.0;
  double *r2 = scratch, *g = scratch + n * n;
  *failed = 0;
  *applied = 0;
  if (shifted) PRSVD_CHECK(cholesky_step(a, r, 1, 0, failed));
  *applied = shifted && !*failed;
  for (int t = 0; t < 2 && !*failed; t++) {
    double *rt = !shifted && t == 0 ? r : r2;
    PRSVD_CHECK(cholesky_step(a, rt, 0, !shifted, failed));
    if (rt == r2 && !*failed) dtrmm_("L", "U", "N", "N", &in, &in, &one, r2, &in, r, &in); /* R = Rt R */
    *applied |= !*failed;
  }
  if (*failed) return PRSVD_OK;
  PRSVD_CHECK(prsvd_dmat_gram(a, g));
  double e = 0.0;
  for (int64_t j = 0; j < n; j++)
    for (int64_t i = 0; i < n; i++) e += (g[j * n + i] - (i == j)) * (g[j * n + i] - (i == j));
  *orth = sqrt(e);
  if (*orth > 1e-13 * sqrt((double)n)) *failed = 1;
  return PRSVD_OK;
}

/* A = A R for R upper triangular (cols x cols, replicated): undoes prsvd_dmat_solve_upper to
 * rounding (the triangular solve is backward stable, so A comes back within ~n u |A R^-1| |R|). */
static int multiply_upper(prsvd_dmat *a, const double *r) { return upper_local(a, r, 0); }

/* No copy of A is kept for the fallbacks (for a sketch Y that would double its memory at the
 * QR): a failed attempt that changed A gives it back as (A r^-1) r. */
int prsvd_dmat_qr(prsvd_dmat *a, double *r) {
  int status = PRSVD_OK, failed = 0, applied = 0;
  const int64_t n = a->cols;
  double *scratch = NULL, orth = 0.0;
  if (a->rows < a->cols || getenv("PRSVD_QR_HOUSEHOLDER")) {
    qr_stats.householder++;
    return qr_householder(a, r);
  }
  PRSVD_ALLOC(scratch, 2 * n * n);
  PRSVD_TRY(cholesky_qr(a, r, 0, scratch, &failed, &orth, &applied));
  if (!failed) {
    qr_stats.cholqr2++;
  } else { /* shifted CholeskyQR3 on A */
    if (applied) PRSVD_TRY(multiply_upper(a, r));
    PRSVD_TRY(cholesky_qr(a, r, 1, scratch, &failed, &orth, &applied));
    if (!failed) qr_stats.shifted++;
  }
  if (failed) { /* numerically rank-deficient: Householder on A */
    if (applied) PRSVD_TRY(multiply_upper(a, r));
    qr_stats.fallbacks++;
    PRSVD_TRY(qr_householder(a, r));
    goto done;
  }
  qr_stats.worst_orth = fmax(qr_stats.worst_orth, orth);
done:
  free(scratch);
  return status;
}
