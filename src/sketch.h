/*
 * One streaming pass over this rank's rows of A, updating every sketch that needs only the
 * panel in hand.  For each panel A_i (rows [r, r + nr) of this rank's block):
 *
 *   P_i = A_i R                 right products (R replicated n x c, dense or a sparse sign map)
 *   keep:    rows of P_i (some columns) stored into distributed m-row matrices (Y = A Omega)
 *   corange: H += A_i^T K_i     K_i = this panel's rows of a kept matrix (pass-efficient
 *                               co-range A^T Y; with no right product, the extra pass A^T Q)
 *   left:    L += A_i^T G_i     G_i = this panel's rows of a generated test matrix
 *                               (co-range sketch X = Upsilon A, W = Psi A, ...), and
 *            Z += G_i^T P_i(:, cols)   a core sketch Phi A Psi^T
 *   fro2:    += ||A_i||_F^2
 *   resid:   += ||A_i - K_i M^T||_F^2   K_i = this panel's rows of an m-row matrix, or some of
 *                               A_i's own columns; M replicated (an ID's or CUR's residual)
 *
 * Panels are float64, or float32 when the pass multiplies in single precision
 * (prsvd_pass_single): then the products are SGEMMs of the float32 panel with float32 copies
 * of R, K_i and G_i, added into the float64 sketches, and the element-wise updates read the
 * float32 entries (the sparse-sign kernels widen them to float64 as they go).  Panels end on
 * the source's chunk-row grid where their size allows, so a chunk row is not shared by two
 * panels.
 *
 * The range of A: every sketch is homogeneous in A, so a pass may multiply A by a power of two
 * 2^scale_exp without rounding, and an A whose entries lie far from 1 (1e-300, 1e300) is
 * sketched as 2^scale_exp A, whose products neither overflow nor underflow; the solver
 * divides what it reports by 2^scale_exp at the end (U and V do not change).  The pass never
 * writes into a panel (it may be a read-only mapping): it multiplies the small operand of
 * each product instead, (cA) X = A (cX) (R, K_i, G_i, the signs of a sparse map; a CSR
 * panel's values as they are read).  The first pass measures max |a_ij| in the NaN/Inf scan
 * it already makes (measure); prsvd_range_exponent() says from it whether A needs scaling.
 * A method that reads A again repeats its first pass scaled when it does (only extreme data
 * pays the pass); a single pass cannot, so it runs with scale_running: the exponent follows
 * the largest panel so far, and what the pass holds is rescaled when it moves.  float32
 * products are kept in float32's range the same way, by a power of two on the float32 copy
 * of the small operand, undone as the product is widened.
 *
 * Threads: with a pool of T compute threads (pool, set by the method) a pass with no 2-D grid
 * and no residual, dense or CSR, splits every panel
 * among them (struct prsvd_lane, pass_lanes.c).  A dense panel by rows first: thread t
 * multiplies its rows into its rows of P_i (and draws its rows of G); then, every row made, by
 * columns: thread t adds its rows of H += A_b^T K_b and L += A_b^T G_b, and its share of the
 * columns of Z += G_b^T P_b, over all the panel's rows, into the pass's sums in place.  A CSR
 * panel by its stored entries, each thread with co-range and left sums of its own that are
 * added in lane order when all have multiplied.  Either way the pass's sums are whole at every panel
 * boundary (a hook's checkpoint, a rescale) and nothing depends on which thread finishes
 * first.  Each BLAS call then runs on its caller alone.
 *
 * Generated test matrices depend only on (seed, stream, global row, column), so no sketch
 * depends on the number of ranks or the panel size.  The cursor says where the pass is, so a
 * checkpoint can stop and resume at a panel boundary.  Local: no collectives (the caller
 * combines errors with prsvd_error_agree and reduces the accumulators).
 */
#ifndef PRSVD_SKETCH_H
#define PRSVD_SKETCH_H

#include <float.h>
#include <math.h>

#include "prsvd_grid.h"
#include "prsvd.h"

/* How test matrices are drawn: a table of named strategies. */
enum prsvd_sketch_kind { PRSVD_SKETCH_GAUSSIAN = 0, PRSVD_SKETCH_SPARSE = 1 };
/* Nonzeros per column of a sparse sign map of `dim` rows: zeta = min(8, dim). */
int prsvd_sparse_zeta(int64_t dim);
/* The zeta (position, +-1) entries of column `index` of a dim-row sparse sign map. */
void prsvd_sparse_column(uint64_t seed, unsigned stream, int64_t index, int64_t dim, int *pos,
                         double *sign);
/* Parse "gaussian" | "sparse". */
int prsvd_sketch_kind_parse(const char *name, enum prsvd_sketch_kind *kind);

/* A generated test matrix G (m x dim, indexed by A's global row). */
struct prsvd_testmat {
  enum prsvd_sketch_kind kind;
  uint64_t seed;
  unsigned stream;
  int64_t dim;
};

/* A sparse sign right map R (n x dim): column j of A maps to zeta entries. */
struct prsvd_sparse_right {
  int64_t dim;
  int zeta;
  int *pos;      /* n x zeta */
  double *sign;  /* n x zeta */
};
int prsvd_sparse_right_create(uint64_t seed, unsigned stream, int64_t n, int64_t dim,
                              struct prsvd_sparse_right *r);
void prsvd_sparse_right_free(struct prsvd_sparse_right *r);

struct prsvd_cursor {
  int pass;          /* 0-based pass over A */
  int n_passes;      /* passes planned so far (for progress) */
  int64_t next_row;  /* first row of the next panel, global */
};

#define PRSVD_MAX_KEEP 3
#define PRSVD_TILE_ROWS 16
#define PRSVD_MAX_LEFT 4

/* A pass as the method sets it up: what to read, what to multiply it by, which sums to add
 * into, and the hooks (zeroed, then the fields it uses; the pass's scratch is its own). */
struct prsvd_pass {
  prsvd_source *a;
  int64_t panel_rows;
  double *work;                  /* panel_rows x n_right (P_i) and panel_rows x max left dim */
  const struct prsvd_svd_params *params;
  /* Compute threads (NULL: one), set by the method: a pass with a right product or co-range
   * sums but no left sketches, on a P x 1 grid, splits each panel among them by rows (the
   * pass's lanes, pass_impl.h) */
  struct prsvd_pool *pool;
  int check_finite;  /* refuse a NaN or Inf, naming its row and column */

  /* The range of A (above).  The products are those of 2^scale_exp A.  measure: scan every
   * panel for max |a_ij| (the NaN/Inf scan; Inf when a value is not finite and nothing checks)
   * into amax, which the caller zeroes and the pass only raises.  scale_running (one pass on a
   * P x 1 grid): before each panel, move scale_exp as prsvd_range_exponent() asks for amax
   * when 2^scale_exp amax has left the range, rescaling what the pass accumulated
   * (prsvd_pass_rescale); it measures. */
  int scale_exp;
  int scale_running;
  int measure;
  double amax;

  /* P_i = A_i R: dense (right, n x n_right column-major) or sparse (right_sparse) */
  const double *right;
  const struct prsvd_sparse_right *right_sparse;
  int64_t n_right;
  /* rows of P_i(:, col0 : col0 + c) stored into dmat's first c columns, c = ncols (0: all of
   * dmat's columns; fewer leave room for columns the caller set, e.g. a co-range source) */
  int n_keep;
  struct { prsvd_dmat *dmat; int64_t col0, ncols; } keep[PRSVD_MAX_KEEP];

  /* H (n x cols of corange_src, column-major) += A_i^T (rows of corange_src) */
  prsvd_dmat *corange_src;
  double *corange;

  /* L_t (n x dim, column-major) += A_i^T G_t,i;  core_t (dim x core_cols) += G_t,i^T P_i(:, c0..).
   * Consecutive sketches formed dense (Gaussian, or a sparse map of few rows) whose sums lie
   * side by side (acc of t + 1 = acc of t + n dim_t) and have no core are one product
   * A_i^T [G_t | G_t+1 ...], one pass over the panel's packed copy instead of one each: their
   * dims add up in the work's room for G_i (prsvd_pass_work_size's max_left_dim). */
  int n_left;
  struct {
    struct prsvd_testmat g;
    double *acc;     /* may be NULL when only the core is wanted */
    double *core;    /* NULL: no core */
    int64_t core_col0, core_cols;
  } left[PRSVD_MAX_LEFT];

  double *fro2;  /* += ||A_i||_F^2 (NULL: skip) */
  /* resid (NULL: skip) += ||A_i - K_i M^T||_F^2, formed a tile of rows at a time (never the
   * whole residual), with M = resid_m (n x resid_k, column-major, replicated) and K_i the
   * panel's rows of resid_src (an m-row matrix), or with resid_src NULL the columns
   * resid_cols[0 .. resid_k) of A_i itself: ||A - A(:, J) T|| for a column ID (M = T^T),
   * ||A - X A(I, :)|| for a row ID (K = X, M = A(I, :)^T). */
  double *resid;
  int64_t resid_k;
  const double *resid_m;
  const prsvd_dmat *resid_src;
  const int64_t *resid_cols;
  /* With no kept, co-range or residual matrix to name the rows (a pass of left sketches or of
   * residuals by columns only): the grid whose row blocks of A this rank reads. */
  const prsvd_grid *row_grid;
  double *col_sum, *col_sumsq;  /* += column sums and sums of squares of A_i (NULL: skip) */
  /* Centring the streamed rows (PCA of a column-compressed X, streamed as A = X^T; center.c):
   * with center_rows, each row's mean over its center_cols entries (of 2^scale_exp A) is taken
   * off its right product as soon as it is made, P_i -= mu_i center_shift^T (center_shift: the
   * n_right column sums of the right matrix), so that the kept rows, the probes and the
   * co-range are those of A - mu 1^T; center_sum, center_sumsq (NULL: skip) += each row's sum
   * and sum of squares, at the row's place in keep[0]'s local block.  P x 1 grids only. */
  int center_rows;
  int64_t center_cols;
  const double *center_shift;
  double *center_sum, *center_sumsq;

  /* Collective hook after every panel step (NULL: none).  With a hook the pass is collective:
   * every rank takes the same number of steps, calling hook(arg, this rank's status, cursor);
   * a nonzero return (agreed on every rank) ends the pass with that status. */
  int (*hook)(void *arg, int status, const struct prsvd_cursor *cur);
  void *hook_arg;
  MPI_Comm hook_comm;

  /* A 2-D process grid (NULL: P x 1).  Then a is this rank's column block, and the pass reads
   * the rows that the kept (or co-range source) matrix's blocks on the process row hold
   * together; P_i is summed over the process row panel by panel, so the kept rows (those of
   * this rank's blocks) and K_i are whole: K_i is P_i's columns of keep[0] (which must be the
   * co-range source), or with no right product the process row's blocks of the co-range
   * source summed.  Every rank of a process row takes the same steps; one whose read or check
   * fails still joins the step's sum, and the whole row stops with an error. */
  const struct prsvd_grid2d *grid2d;

  /* apply (NULL: none): what no update above makes of a float64 dense panel (rows [row,
   * row + nr) of A, n columns, row-major, read-only), called once per panel on the main thread
   * after the other updates, inside the sketch's timing; returns its flops.  It multiplies
   * 2^scale_exp A as the others do (reads p->scale_exp).  For a method whose products are not
   * of A's rows (Tucker's mode sketches, src/tucker.c); such a pass runs one lane, in float64. */
  double (*apply)(void *arg, int64_t row, int64_t nr, const double *panel);
  void *apply_arg;

  /* entries (sample_row[t], sample_col[t]) of A copied into sample_val[t] when their row
   * passes by (sample_row sorted ascending) */
  int64_t n_samples;
  const int64_t *sample_row, *sample_col;
  double *sample_val;

  /* The pass's own (pass_impl.h): its panels, copies, lanes and scratch, made by the first
   * prsvd_sketch_pass and kept, with its panel buffers, until prsvd_pass_free.  NULL to
   * begin with; nothing but the engine reads it. */
  struct prsvd_pass_state *state;
};

/* The exponent e by which a pass scales an m x n matrix whose largest |a_ij| is amax: 0 while
 * amax lies in the range where every sketch of A keeps its digits, else e with 2^e amax in
 * [1/2, 1) (clamped to +-PRSVD_RANGE_MAX_EXP); 0 for amax 0 or not finite.  Local. */
#define PRSVD_RANGE_MAX_EXP 960
int prsvd_range_exponent(double amax, int64_t m, int64_t n);
/* Collective over comm: amax, the max over ranks into p->amax, and *exp, the exponent it needs
 * on an m x n A.  A running pass is brought to it on every rank (prsvd_pass_rescale), so that
 * its partial sums add and its kept rows are on one scale; a fixed one is left as it is. */
int prsvd_pass_range(struct prsvd_pass *p, MPI_Comm comm, int64_t m, int64_t n, int *exp);
/* Local: what the pass accumulated on this rank (the kept columns' local rows, the co-range,
 * left and core sums, fro2 and the column sums) from the products of 2^scale_exp A to those
 * of 2^exp A; sets scale_exp. */
void prsvd_pass_rescale(struct prsvd_pass *p, int exp);
/* max |x_i| of count doubles or floats (single), read from the bits of the magnitudes; Inf if
 * one is not finite (NaN included). */
double prsvd_max_abs(const void *x, int single, int64_t count);

/* Sums of squares of 2^scale_exp A in extended precision: PRSVD_SQUARE(a, c) adds a's square
 * (c = 2^scale_exp as a long double), PRSVD_SQUARES_SCALED(sum, e) scales the sum.  Where long
 * double holds the square of any double (x86-64 and aarch64: 15 exponent bits) the sum is
 * scaled once, as a multiply per entry triples the x87 loop's time; elsewhere each entry is. */
#if LDBL_MAX_EXP >= 4 * DBL_MAX_EXP
#define PRSVD_SQUARE(a, c) ((void)(c), (long double)(a) * (a))
#define PRSVD_SQUARES_SCALED(sum, e) ldexpl((sum), 2 * (e))
#else
#define PRSVD_SQUARE(a, c) (((long double)(a) * (c)) * ((long double)(a) * (c)))
#define PRSVD_SQUARES_SCALED(sum, e) (sum)
#endif

/* What a method's passes multiply, for what their threads hold (the plan's memory). */
struct prsvd_pass_shape {
  int threaded;          /* the passes split their panels among the pool's threads */
  int64_t n_right;       /* the widest right product */
  int64_t corange_cols;  /* the widest co-range sum (0: none) */
  int col_sums;          /* column sums and sums of squares (PCA's first pass) */
  int sparse;            /* CSR panels: every thread's co-range sum is its own, row-major */
  int64_t left_cols;     /* left sketches: the columns of all their n-row sums L_t */
  int64_t left_width;    /* ... the widest of them */
  int64_t core_elems;    /* ... the entries of their cores Z_t */
  int sparse_map;        /* the right product is a sparse sign map (on dense panels a tile each thread) */
};
/* Panel bytes one pass over a delivers, all nprocs ranks together, in panels of panel_rows
 * rows: float64 or float32 (single) values, or a sparse source's CSR values and indices (16
 * bytes an entry) and the row pointers of every panel (src/estimate.c). */
double prsvd_pass_bytes(const prsvd_source *a, int single, int nprocs, int64_t panel_rows);
/* Bytes that `threads` threads of such a pass hold beyond what one thread's pass does, on
 * panels of panel_rows rows of n columns: on CSR panels each thread's row-major co-range sum
 * and the column sums, left sums and cores of all but one; on dense panels a sparse map's tile; and with single each thread's
 * float32 copy of K_i or G_i (all the panel's rows) and its products.  Dense threads add into
 * their columns of the pass's own sums and hold none.  0 for one thread or an unthreaded shape.
 * (A pass that scales an extreme A also gives each thread a float64 copy of K_i.) */
int64_t prsvd_pass_thread_bytes(int threads, int64_t panel_rows, int64_t n,
                                const struct prsvd_pass_shape *shape, int single);

/* Size of pass->work for a pass with right width n_right and left dims (doubles): max_left_dim
 * the widest left product (sketches multiplied as one count their dims together). */
int64_t prsvd_pass_work_size(int64_t panel_rows, int64_t n_right, int64_t max_left_dim);
int prsvd_sketch_pass(struct prsvd_pass *p, struct prsvd_cursor *cur);
/* This rank's rows of A in a pass, [*row0, *row0 + *local_rows): those of the first kept
 * matrix, or of the co-range source or the residual's source without one (all m-row, by row
 * block), else the row block of row_grid; on a 2-D grid its process row's.  Where a cursor may stand: from *row0 to the block's end. */
int prsvd_pass_rows(const struct prsvd_pass *p, int64_t *row0, int64_t *local_rows);
/* The state a pass keeps between passes (its dense or CSR panel buffers), freed; a pass that
 * never ran has none. */
void prsvd_pass_free(struct prsvd_pass *p);
/* 1 if the panels of a are read and multiplied as float32 under params (dense sources only;
 * NULL params: float64). */
int prsvd_pass_single(const struct prsvd_svd_params *params, const prsvd_source *a);
/* Rows per panel of a source within `memory` bytes.  Dense: 8 n bytes a row (4 n in single
 * precision), the budget shared by the panel buffers (two with the reader thread) and the
 * source's own scratch panels; the budget is a ceiling, not a target: at most
 * PRSVD_PANEL_BYTES a panel unless that is fewer than PRSVD_PANEL_MIN_ROWS rows.  Then on the
 * source's chunk-row grid: a whole number of chunk rows, one whole chunk row of up to twice
 * that size if the budget holds it, or a divisor of the chunk row of at least a quarter of the
 * rows so far (else the chunk cache, which holds a row of chunks, serves a chunk row that two
 * panels share).
 * Sparse: 16 bytes per stored entry at the average row density, halved for the reader
 * thread's second CSR panel. */
/* 4 MiB: at 100000 x 2000 float64 on this machine (32 MiB L3), 262-row panels ran the warm
 * passes as fast as 524-row (8 MiB) ones at 1 and 2 ranks, and the cold first pass within the
 * disk's noise, with 7 to 8 MiB less a rank (bench/RESULTS.md, roofline) */
#define PRSVD_PANEL_BYTES (4 << 20)
#define PRSVD_PANEL_MIN_ROWS 256
int64_t prsvd_panel_rows_for(const prsvd_source *a, int64_t memory, int prefetch, int single,
                             int threads);
/* The same for panels of n of a's columns (a column block of a 2-D grid). */
int64_t prsvd_panel_rows_cols(const prsvd_source *a, int64_t n, int64_t memory, int prefetch,
                              int single, int threads);
#endif
