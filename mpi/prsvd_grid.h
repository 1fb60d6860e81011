/*
 * The distributed layer: a BLACS process grid over an MPI communicator, and the tall-skinny
 * distributed matrices that hold the sketches (Y = A X is m x l, the co-range H = A^T Y is
 * n x l).  Rows are split into one contiguous block per rank (prsvd_row_block), which is
 * ScaLAPACK's block-cyclic layout on a P x 1 grid with row block ceil(rows / P): the same
 * rows a rank streams from the file are the rows of Y it owns.  For wide matrices a pr x pc
 * process grid (prsvd_grid2d) lets each rank stream a block of columns too; its n-row
 * matrices live on a second P x 1 grid over the ranks in column-major order, so the layout
 * of every matrix stays the P x 1 one.
 *
 * Descriptors, BLACS contexts and ScaLAPACK calls stay inside mpi/; callers see a
 * prsvd_dmat and its local block.  Depends on MPI, BLACS/ScaLAPACK, LAPACK; never on HDF5.
 */
#ifndef PRSVD_GRID_H
#define PRSVD_GRID_H

#include <mpi.h>
#include <stdint.h>

typedef struct prsvd_grid prsvd_grid;
typedef struct prsvd_dmat prsvd_dmat;

/* Collective: a P x 1 BLACS grid over comm (not duplicated; keep comm alive). */
int prsvd_grid_create(MPI_Comm comm, prsvd_grid **grid);
void prsvd_grid_destroy(prsvd_grid **grid);
MPI_Comm prsvd_grid_comm(const prsvd_grid *grid);
int prsvd_grid_rank(const prsvd_grid *grid);
int prsvd_grid_nprocs(const prsvd_grid *grid);

/* Collective: a zeroed rows x cols matrix distributed by row blocks. */
int prsvd_dmat_create(const prsvd_grid *grid, int64_t rows, int64_t cols, prsvd_dmat **a);
void prsvd_dmat_destroy(prsvd_dmat **a);
int64_t prsvd_dmat_rows(const prsvd_dmat *a);
const prsvd_grid *prsvd_dmat_grid(const prsvd_dmat *a);
int64_t prsvd_dmat_cols(const prsvd_dmat *a);
/* This rank's block: rows [*row0, *row0 + *local_rows), column-major, leading dimension *ld. */
double *prsvd_dmat_local(const prsvd_dmat *a, int64_t *row0, int64_t *local_rows, int64_t *ld);

/* Collective: QR of a tall-skinny A (rows >= cols): CholeskyQR2; when A is too
 * ill-conditioned for it (kappa > ~1e7) or the result is not orthonormal to 1e-13 sqrt(cols),
 * shifted CholeskyQR3; when that fails too (A numerically rank-deficient), Householder
 * (PDGEQRF + PDORGQR).  A is overwritten by Q; r (cols x cols, column-major,
 * upper triangular) is replicated.  PRSVD_QR_HOUSEHOLDER in the environment forces
 * Householder. */
int prsvd_dmat_qr(prsvd_dmat *a, double *r);
/* What the QRs of this process did: counts and the worst ||Q^T Q - I||_F of the Cholesky QRs. */
struct prsvd_qr_stats {
  long cholqr2, shifted, fallbacks, householder; /* shifted: CholeskyQR2 failed, shifted CholeskyQR3 held */
  double worst_orth;
};
void prsvd_qr_stats_get(struct prsvd_qr_stats *st);
void prsvd_qr_stats_reset(void);
/* Collective: A = sum over ranks of full (rows x cols column-major, ld = rows), each rank
 * keeping its row block (MPI_Reduce_scatter). */
int prsvd_dmat_reduce_scatter(const double *full, prsvd_dmat *a);
/* Collective: full (rows x cols column-major, ld = rows) = A, on every rank. */
int prsvd_dmat_allgather(const prsvd_dmat *a, double *full);
/* The same within comm, ranks of A's grid that hold consecutive row blocks in comm's rank
 * order (a process row or column of a prsvd_grid2d): they hold the span, rows [*row0, *row0 +
 * *rows) of A (local); the reduce-scatter sums part (span rows x cols, ld = span rows) over
 * comm into their blocks, the allgather gives every rank of comm the span in part. */
void prsvd_dmat_span(const prsvd_dmat *a, MPI_Comm comm, int64_t *row0, int64_t *rows);
int prsvd_dmat_reduce_scatter_within(const double *part, MPI_Comm comm, prsvd_dmat *a);
int prsvd_dmat_allgather_within(const prsvd_dmat *a, MPI_Comm comm, double *part);
/* Local: C(:, 0:c_cols) = A(:, 0:k) * S(0:k, 0:c_cols), S replicated (ld = lds). */
int prsvd_dmat_mul_small(const prsvd_dmat *a, int64_t k, const double *s, int64_t lds,
                         int64_t c_cols, prsvd_dmat *c);
/* Local: A(:, 0:c_cols) = A * S (S cols x c_cols, replicated, ld = lds; c_cols <= cols), in
 * A's storage by row blocks with a block x c_cols temporary; A's other columns are left. */
int prsvd_dmat_mul_small_in_place(prsvd_dmat *a, const double *s, int64_t lds, int64_t c_cols);
/* Local: A = A * R^-1 for R upper triangular (cols x cols, replicated). */
int prsvd_dmat_solve_upper(prsvd_dmat *a, const double *r);
/* Collective: g (cols x cols) = A^T A on every rank. */
int prsvd_dmat_gram(const prsvd_dmat *a, double *g);
/* Collective: make the largest-magnitude entry of each of the first k columns positive
 * (ties: the lowest row); flip[j] = -1 or 1 reports what was done. */
int prsvd_dmat_fix_signs(prsvd_dmat *a, int64_t k, double *flip);
/* Keep only the first k columns (local, no data moves: column-major prefix). */
int prsvd_dmat_truncate_cols(prsvd_dmat *a, int64_t k);
/* Local: scale column j of the first k by flip[j]. */
void prsvd_dmat_scale_cols(prsvd_dmat *a, int64_t k, const double *flip);

/* ---- The row interpolative decomposition of a tall matrix ---------------------------------
 * Collective: W ~ T W(J, :) for a tall W (N x l, N >= l >= k), the rank-k row ID of W, from the
 * column-pivoted QR of the wide W^T (l x N): W^T P = Q R with R = [R11 R12] (R11 k x k),
 *   J = the first k pivots, in the order chosen (selected[0..k), 0-based, replicated),
 *   T(J, :) = I,  T(p_j, :)^T = R11^-1 R12(:, j - k) for the later pivots p_j (j >= k),
 * T created here (N x k on W's grid, by W's row blocks).  rdiag[0..l) receives |R_jj| (same on
 * every rank), from which the caller judges the numerical rank.
 *   distributed 0: W gathered on rank 0 (8 l N bytes there, and (k + 1) N for the scatter of T)
 *                  and LAPACK's DGEQP3, the coefficients scattered back by row blocks;
 *   distributed 1: ScaLAPACK's PDGEQPF on W^T dealt by column blocks over a 1 x P grid (each
 *                  rank's block of W transposed in place, no gather); every rank solves with
 *                  R11 for its own columns and the coefficients go to their rows' owners.
 * Both take the column of largest remaining norm, the first such (lowest position) on a tie. */
int prsvd_dmat_row_id(const prsvd_dmat *w, int64_t k, int distributed, int64_t *selected,
                      double *rdiag, prsvd_dmat **t);

/* ---- A 2-D process grid for the subspace passes ------------------------------------------
 * pr x pc ranks of comm, rank r = i pc + j at (i, j).  Process row i (row_comm, ordered by j)
 * streams the rows of A that its ranks' row blocks of an m-row matrix on the P x 1 grid over
 * comm hold together; process column j (col_comm, ordered by i) the columns that its ranks'
 * row blocks of an n-row matrix on by_cols hold together: by_cols is the P x 1 grid over the
 * same ranks in column-major order (position j pr + i), so those blocks are consecutive and
 * n-row matrices (the co-range H, V) are never replicated.  Fields are read-only. */
struct prsvd_grid2d {
  int pr, pc, i, j;
  MPI_Comm row_comm, col_comm, cols_comm; /* cols_comm: comm reordered for by_cols */
  prsvd_grid *by_cols;
};
/* Collective over comm (pr pc = its size; not duplicated: keep comm alive). */
int prsvd_grid2d_create(MPI_Comm comm, int pr, int pc, struct prsvd_grid2d **g);
/* Collective.  Sets *g to NULL; accepts NULL.  Destroy matrices on by_cols first. */
void prsvd_grid2d_destroy(struct prsvd_grid2d **g);

/* ---- Symmetric matrices on a 2-D grid ------------------------------------------------ */

/* A symmetric n x n matrix dealt 2-D block-cyclically (square blocks of rows and columns) over
 * a near-square grid of every rank of comm, for ScaLAPACK's eigensolver (smat.c). */
typedef struct prsvd_smat prsvd_smat;

/* Collective over comm (not duplicated; keep it alive); returns the same status everywhere. */
int prsvd_smat_create(MPI_Comm comm, int64_t n, prsvd_smat **a);
/* Collective (frees the BLACS grid).  Sets *a to NULL; accepts NULL. */
void prsvd_smat_destroy(prsvd_smat **a);
/* Rows are dealt in blocks of prsvd_smat_block() rows: 1 if this rank holds entries of
 * `row` (then every row of its block must reach prsvd_smat_set_rows). */
int64_t prsvd_smat_block(const prsvd_smat *a);
int prsvd_smat_holds_row(const prsvd_smat *a, int64_t row);
/* Local: keep this rank's entries of rows [row0, row0 + nrows) (row-major, row stride ld). */
int prsvd_smat_set_rows(prsvd_smat *a, int64_t row0, int64_t nrows, const double *rows, int64_t ld);
/* Collective (PDSYEVD, every eigenpair; A is destroyed): lambda (k, descending) and u
 * (n x k column-major: the eigenvectors of the k largest eigenvalues) on every rank, the same
 * bits everywhere. */
int prsvd_smat_eigh(prsvd_smat *a, int64_t k, double *lambda, double *u);

#endif
