/*
 * libprsvd: randomized truncated SVD of a matrix streamed by row panels, on one or many MPI
 * ranks.  This is the library API, used by the prsvd program and by any code (a trainer, a
 * test) that calls the factorizations directly.
 *
 * Shape of every object: create -> configure -> solve -> get results -> destroy.
 * prsvd_x_destroy(&x) sets x to NULL and accepts NULL.  Every fallible function returns an
 * int status from enum prsvd_status; on failure prsvd_error_message() says what went wrong.
 *
 * This header must not depend on HDF5, BLACS or ScaLAPACK: a matrix reaches the library
 * through struct prsvd_source_ops (io/ implements it for HDF5; prsvd_source_memory() for
 * arrays in memory).
 */
#ifndef PRSVD_H
#define PRSVD_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

/* Marks the functions libprsvd exports: the library is compiled with -fvisibility=hidden, so
 * a function declared in an installed header without PRSVD_API is not callable from outside
 * (make check compares the exported symbols with these declarations). */
#ifndef PRSVD_API
#if defined(__GNUC__) || defined(__clang__)
#define PRSVD_API __attribute__((visibility("default")))
#else
#define PRSVD_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes.  The program exits with these numbers (docs/usage.md, "Exit codes"). */
enum prsvd_status {
  PRSVD_OK = 0,
  PRSVD_ERR_USAGE = 1,    /* bad option or value */
  PRSVD_ERR_INPUT = 2,    /* input file, dataset, type or values unusable */
  PRSVD_ERR_OUTPUT = 3,   /* output exists, not writable, or a write failed */
  PRSVD_ERR_NUMERIC = 4,  /* a factorization failed */
  PRSVD_ERR_MPI = 5,      /* MPI, BLACS or ScaLAPACK failed */
  PRSVD_ERR_NOMEM = 6,    /* allocation failed */
  PRSVD_ERR_INTERNAL = 7, /* a bug: please report it */
  PRSVD_ERR_TOL = 8,      /* --tol not reached within --max-rank (result written, labelled) */
  PRSVD_CHECKPOINTED = 99 /* stopped on request after writing a checkpoint: rerun to resume */
};

/* The message of the most recent error on this rank ("" if none). */
PRSVD_API const char *prsvd_error_message(void);

/* ---- Matrix sources --------------------------------------------------------------- */

/* How a source hands out rows.  read_rows fills panel (nrows x cols, row-major, so
 * panel[i*cols + j] = A[row0 + i][j]).  Called by one thread per rank; not collective. */
/* A CSR row panel: row i's entries are [indptr[i], indptr[i+1]) of indices and data, with
 * indptr[0] = 0.  The arrays belong to the panel and grow (realloc) to cap as needed. */
struct prsvd_csr {
  int64_t rows, nnz, cap;
  int64_t *indptr, *indices;
  double *data;
};

/* Rows a source lends instead of copying (lend_rows): data points at nrows x cols values,
 * row-major, read-only, of the type the source's layout names (lends); base and len are the
 * source's own, for return_rows. */
struct prsvd_rows_lent {
  const void *data;
  void *base;
  size_t len;
};

struct prsvd_source_ops {
  /* dense rows; NULL for a sparse source (the library densifies read_csr where needed) */
  int (*read_rows)(void *ctx, int64_t row0, int64_t nrows, double *panel);
  void (*destroy)(void *ctx);
  /* optional: sparse rows into a CSR panel (memory and time then follow nnz, not m n) */
  int (*read_csr)(void *ctx, int64_t row0, int64_t nrows, struct prsvd_csr *panel);
  /* optional: dense rows as float32, for panels multiplied in single precision (without it
   * the library converts rows read by read_rows).  *exp: the panel holds 2^*exp times the
   * rows, so that rows beyond float32's range stay in it (prsvd_narrow_rows); 0 for rows as
   * they are */
  int (*read_rows_f32)(void *ctx, int64_t row0, int64_t nrows, float *panel, int *exp);
  /* optional: rows [row0, row0 + nrows) restricted to columns [col0, col0 + ncols) (panel
   * nrows x ncols, row-major), float32 if single (2^*exp times them, as read_rows_f32), else
   * float64 (*exp 0): what a 2-D process grid (params.grid_cols > 1) reads; without it a
   * solve runs on a P x 1 grid */
  int (*read_block)(void *ctx, int64_t row0, int64_t nrows, int64_t col0, int64_t ncols, int single,
                    void *panel, int *exp);
  /* optional, with layout.lends: rows [row0, row0 + nrows) lent in place (e.g. a mapping of
   * the file's page cache), already in memory when it returns; valid until return_rows,
   * which accepts a lent whose base is NULL and returns nonzero (an error code, its message
   * set) if the rows were not the source's while they were lent (a file truncated under its
   * mapping): the pass that used them fails with it.  Called by the reading thread. */
  int (*lend_rows)(void *ctx, int64_t row0, int64_t nrows, struct prsvd_rows_lent *lent);
  int (*return_rows)(void *ctx, struct prsvd_rows_lent *lent);
};

/* How a source stores its rows, so panels can follow it (prsvd_source_set_layout). */
struct prsvd_source_layout {
  int stored_float32;  /* 1: the matrix is stored as float32 (PRSVD_PRECISION_AUTO then
                        * multiplies it in float32) */
  int64_t chunk_rows;  /* rows come in blocks of this many (an HDF5 chunk row); panels start
                        * and end on that grid where the memory budget allows (0: no grid) */
  int mpi_reads;       /* reads call MPI (MPI-IO): a reader thread needs MPI_THREAD_SERIALIZED */
  int collective_reads;/* reads are collective: in a pass every rank makes the same number of
                        * read calls, zero-row reads once its own rows are done */
  int scratch_panels;  /* panel-sized buffers the source keeps for itself (a transposing read);
                        * they count against the memory budget */
  int lends;           /* lend_rows hands out float64 (8) or float32 (4) rows; 0: it does not */
  int64_t cache_bytes; /* memory the source keeps for itself besides its scratch panels (an
                        * HDF5 chunk cache): counted in prsvd_svd_estimate's memory */
  int f32_staging;     /* float32 panels only: float32-panel-sized buffers the source keeps
                        * besides scratch_panels (a float64 panel that read_rows_f32 narrows
                        * is two); they count against the memory budget */
};

typedef struct prsvd_source prsvd_source;

/* Wrap ops/ctx as a rows x cols source; name is used in messages.  Takes ctx: destroy()
 * calls ops->destroy(ctx). */
PRSVD_API int prsvd_source_create(int64_t rows, int64_t cols, const char *name,
                        const struct prsvd_source_ops *ops, void *ctx, prsvd_source **src);
/* A source over a row-major array that stays owned by the caller (every rank passes the
 * same global matrix, or at least the rows it will be asked for). */
PRSVD_API int prsvd_source_memory(int64_t rows, int64_t cols, const double *a, int64_t lda,
                        prsvd_source **src);
/* Like prsvd_source_create for a sparse source with nnz stored entries. */
PRSVD_API int prsvd_source_create_sparse(int64_t rows, int64_t cols, int64_t nnz, const char *name,
                               const struct prsvd_source_ops *ops, void *ctx, prsvd_source **src);
/* PRSVD_ERR_INPUT, "WHAT is empty (R x C)" or "WHAT is R x C (...): more than ...", unless a
 * rows x cols matrix has a row and a column and, if dense, its 8 rows cols bytes as float64
 * are at most INT64_MAX: no file holds more, and a pass counts its bytes in int64.  Both
 * prsvd_source_create functions check their shape so (a failure leaves ctx to the caller);
 * a reader checks a file's shape with it before sizing anything by it.  Local. */
PRSVD_API int prsvd_check_shape(int64_t rows, int64_t cols, int dense, const char *what);
/* Stored entries of a sparse source; -1 for a dense one. */
PRSVD_API int64_t prsvd_source_nnz(const prsvd_source *src);
PRSVD_API void prsvd_csr_free(struct prsvd_csr *panel);
PRSVD_API int64_t prsvd_source_rows(const prsvd_source *src);
PRSVD_API int64_t prsvd_source_cols(const prsvd_source *src);
PRSVD_API const char *prsvd_source_name(const prsvd_source *src);
PRSVD_API void prsvd_source_set_layout(prsvd_source *src, const struct prsvd_source_layout *layout);
PRSVD_API void prsvd_source_get_layout(const prsvd_source *src, struct prsvd_source_layout *layout);
/* Bytes this rank's reads of src took from files so far (the read() calls of the reading
 * thread, compressed bytes for a compressed dataset, and the rows lent in place); -1 where
 * the OS does not say. */
PRSVD_API int64_t prsvd_source_file_bytes(const prsvd_source *src);
/* Rows [row0, row0 + nrows) of src into panel as float64, row-major (a sparse source's rows
 * densified); checks the range. Not collective. */
PRSVD_API int prsvd_source_read(prsvd_source *src, int64_t row0, int64_t nrows, double *panel);
/* y = 2^e x (count values) rounded to float32, for a read_rows_f32 whose stored values float32
 * may not hold (float64, 64-bit integers): returns e, 0 while the largest finite |x_i| lies
 * well inside float32's range (then y is x rounded, as a type conversion makes it), else the e
 * that brings it to [1, 2).  Not collective. */
PRSVD_API int prsvd_narrow_rows(const double *x, int64_t count, float *y);
PRSVD_API void prsvd_source_destroy(prsvd_source **src);
/* A selection of rows (and, of a sparse source, of columns) and log(1 + x) of every value read
 * (of a sparse source, of its stored values), without a copy of the matrix (src/transform.c):
 * *s becomes a source of the selected rows x columns that reads only those rows of the old
 * one, which it owns from then on.  Masks (rows, cols entries; NULL: all) are copied.  A value
 * x <= -1 under log1p fails the read with PRSVD_ERR_INPUT naming its row and column in the
 * old source; a selection of no row or column is PRSVD_ERR_INPUT.  Not collective. */
struct prsvd_transform {
  const unsigned char *row_mask; /* keep row i where row_mask[i] != 0 */
  const unsigned char *col_mask; /* sparse sources only */
  int log1p;
};
PRSVD_API int prsvd_source_transform(prsvd_source **s, const struct prsvd_transform *t);

/* ---- Randomized SVD ----------------------------------------------------------------- */

/* ---- Checkpoints ---------------------------------------------------------------------- */

/* A solve stopped at a panel boundary: named arrays and the stream cursor.  A replicated
 * array is the same on every rank (rank 0's copy is what matters); a distributed one holds
 * rows [row0, row0 + local_rows) of a rows x cols matrix on each rank (column-major, ld). */
#define PRSVD_STATE_MAX 10
struct prsvd_state_array {
  const char *name;
  double *data;
  int64_t rows, cols, ld, row0, local_rows;
  int distributed;
};
struct prsvd_state {
  int pass;            /* pass in progress (0-based) */
  int phase;           /* 0: power passes, 1: the extra pass B^T = A^T Q */
  int passes_done;
  int64_t next_row;    /* this rank's cursor: first row not yet read in this pass */
  double r_rcond;
  int n_arrays;
  struct prsvd_state_array arrays[PRSVD_STATE_MAX];
  /* Set by the solver before a load: whether the loaded scalars (pass, phase, passes_done,
   * r_rcond, this rank's next_row) are a state it can resume.  Nonzero, with a sentence in
   * why ("phase = 77, but ..."), if not.  NULL: no such check. */
  int (*check)(const struct prsvd_state *st, void *arg, char *why, size_t len);
  void *check_arg;
};
/* How a solve saves and restores itself.  save and load are collective.  load fills the
 * scalars and the data of the arrays whose descriptions the solver passes in, or sets
 * *found = 0 when there is no checkpoint yet.  It trusts nothing it has not verified: it
 * refuses (an error, and the file untouched) a checkpoint that does not match the run, whose
 * scalars st->check rejects (called on every rank before the arrays are read), or whose data
 * is damaged.  every_seconds: save this often; *stop nonzero on any rank (set by a signal
 * handler): save at the next panel boundary and return PRSVD_CHECKPOINTED. */
struct prsvd_checkpointer {
  int (*save)(void *ctx, MPI_Comm comm, const struct prsvd_state *st);
  int (*load)(void *ctx, MPI_Comm comm, struct prsvd_state *st, int *found);
  void *ctx;
  double every_seconds;
  volatile int *stop;
  /* > 0: stop (save and return PRSVD_CHECKPOINTED) after exactly this many panel steps, as
   * a signal would: how tests interrupt a pass at an exact point instead of racing a signal.
   * The library reads no environment; the program sets it (tests/README.md). */
  long stop_at_step;
};

/* Methods (params.method):
 *  SUBSPACE  randomized subspace iteration, q + 1 passes (HMT 2011 Alg. 4.4 + 5.1)
 *  ONEPASS   one pass, by params.onepass: THREE (Tropp, Yurtsever, Udell & Cevher 2019),
 *            TWO (TYUC 2017), HMT (HMT 2011 Sec. 5.5)
 *  QB        fixed accuracy: blocked QB with error indicator, pass-efficient (Yu, Gu & Li
 *            2018, randQB_FP), growing the rank until ||A - QB||_F <= tol ||A||_F, in a
 *            fixed q + 1 passes
 *  QB_EI     fixed accuracy, adaptive (Yu, Gu & Li 2018, randQB_EI): a fresh block of
 *            `block` columns per step, q power iterations each, B = Q^T A from A; passes
 *            grow with the rank ((q + 1) per block, one more at the end) */
enum prsvd_svd_method {
  PRSVD_METHOD_SUBSPACE = 0,
  PRSVD_METHOD_ONEPASS = 1,
  PRSVD_METHOD_QB = 2,
  PRSVD_METHOD_NYSTROM = 3, /* symmetric PSD A: stable shifted Nystrom, one pass (Tropp et al. 2017) */
  PRSVD_METHOD_REVD = 4,    /* symmetric A: HMT Alg. 5.3 eigendecomposition with q power iterations */
  PRSVD_METHOD_QB_EI = 5
};
enum prsvd_onepass_method { PRSVD_ONEPASS_THREE = 0, PRSVD_ONEPASS_TWO = 1, PRSVD_ONEPASS_HMT = 2 };
enum prsvd_test_matrix { PRSVD_TEST_GAUSSIAN = 0, PRSVD_TEST_SPARSE = 1 };
/* The arithmetic of the panel products: AUTO is SINGLE for a source stored as float32 and
 * DOUBLE otherwise.  SINGLE reads panels as float32 and multiplies them by SGEMM into float64
 * sketches (half the bytes, twice the rate; ~1e-7 relative rounding); DOUBLE converts every
 * panel to float64.  Sparse sources are multiplied in float64. */
enum prsvd_precision { PRSVD_PRECISION_AUTO = 0, PRSVD_PRECISION_DOUBLE = 1, PRSVD_PRECISION_SINGLE = 2 };

struct prsvd_svd_params {
  int64_t rank;          /* k: singular triplets wanted (QB: 0 = chosen by tol) */
  int64_t oversample;    /* p: extra sketch columns (l = k + p) */
  int power_iters;       /* q: the run reads A q + 1 times (one more if R is ill-conditioned);
                          * PRSVD_POWER_ITERS_AUTO: until the estimates settle (conv_tol) */
  uint64_t seed;         /* test matrices depend only on (seed, row, column) */
  int64_t memory;        /* per-rank bytes for row panels */
  int n_probes;          /* Gaussian probes for the error estimate */
  double rcond_min;      /* below this reciprocal condition of R, form B = Q^T A by a pass */
  int check_finite;      /* stop at the first NaN or Inf in A (the first pass scans A either
                          * way, for the range of its entries) */
  enum prsvd_svd_method method;
  enum prsvd_onepass_method onepass;
  enum prsvd_test_matrix test_matrix; /* single pass: Gaussian or sparse sign maps */
  int64_t range_dim;     /* single pass: k_s (0: 2k + 1) */
  int64_t core_dim;      /* single pass: s (0: 2 k_s + 1) */
  double tol;            /* QB: relative Frobenius error wanted */
  int prefetch;          /* read the next panel on a thread while this one is multiplied
                          * (two panel buffers share the memory budget) */
  int center;            /* SUBSPACE: factor A - 1 mu^T (PCA) without forming it */
  int scale;             /* with center: also divide columns by their std (needs q >= 1) */
  double sym_tol;        /* NYSTROM/REVD: sampled |A_ij - A_ji| allowed, relative to max |A_ij| */
  int64_t max_rank;      /* QB, QB_EI: the largest rank tried (QB: the sketch width) */
  int64_t block;         /* QB, QB_EI: columns added per step */
  enum prsvd_precision precision;
  void (*progress)(void *arg, int pass, int n_passes, int64_t rows_done, int64_t rows_total);
  void *progress_arg;    /* progress is called on every rank after each panel */
  const struct prsvd_checkpointer *checkpoint; /* save and resume the passes: NULL for none */
  int grid_rows, grid_cols; /* SUBSPACE: a pr x pc process grid (pr pc = ranks; rank i pc + j
                             * reads row block i of A restricted to column block j); 0 x 0:
                             * chosen by prsvd_svd_plan (below) */
  /* power_iters = PRSVD_POWER_ITERS_AUTO (SUBSPACE, REVD): power iterations go on until the top
   * k singular values (REVD: eigenvalues) the solve would return change by less than conv_tol,
   * relative, from one pass to the next, and at most max_power_iters; no pass is added for
   * the estimates (docs/algorithms.md, "-q auto"). */
  double conv_tol;
  int max_power_iters;
  /* Called on every rank after each pass's estimate under auto, with progress_arg: the power
   * iterations so far, the k estimates and their largest relative change (NaN at the first). */
  void (*estimate)(void *arg, int power_iters, int64_t k, const double *values, double change);
  int threads;           /* compute threads per rank, 1..PRSVD_MAX_THREADS; 0: automatic, the
                          * rank's share of its CPUs (prsvd_threads_choose, below) */
  int center_rows;       /* with center: the samples are the source's columns (a column-
                          * compressed X streamed as A = X^T): factor A - mu 1^T, mu the row
                          * means, without forming it; no scale, P x 1 grids */
  /* Columns a source learns to zero as it reads (the program's --missing drop: a missing value
   * in some row leaves its column out; NULL: none).  Called on every rank together when the
   * first pass over A has read every row, by a method whose later passes make its result
   * (SUBSPACE with q >= 1 or auto, QB with q >= 1): it agrees the columns over the ranks, the
   * source zeroes them in every panel it reads from then on, and it returns a status, in
   * *zeroed the n flags of those columns (1: zeroed; NULL: none) and in *late 1 when a panel of
   * the first pass was read before one of them was known, so that the first pass's products
   * hold part of its column.  The method then takes them out of what it keeps of the first
   * pass (docs/usage.md, "Gridded fields").  A method that does not call it (one pass, q = 0)
   * leaves the caller to solve again when *late would have been 1. */
  int (*zeroed_columns)(void *arg, const unsigned char **zeroed, int *late);
  void *zeroed_arg;
};
#define PRSVD_POWER_ITERS_AUTO (-1)
/* The automatic grid: P x 1 unless the test matrix X (n x (k + p + probes) doubles) on every
 * rank would exceed params.memory (the panel budget); then the smallest pc dividing P whose
 * column block's X fits (P if none does).  Only for SUBSPACE without a checkpoint, on a dense
 * source with read_block. */
/* The defaults, two ways: `struct prsvd_svd_params p = PRSVD_SVD_PARAMS_INIT;` in C99 and later
 * and in C++20 and later (designators in member order, as C++20 requires; g++ and clang++ also
 * take it in earlier C++ modes as an extension, with a -pedantic warning), and
 * `struct prsvd_svd_params p = prsvd_svd_params_default();` in any C or C++ (C++98 on). */
#define PRSVD_SVD_PARAMS_INIT                                                            \
  {.rank = 0, .oversample = 10, .power_iters = 1, .seed = 0, .memory = (int64_t)512 << 20, \
   .n_probes = 10, .rcond_min = 1e-6, .check_finite = 1, .method = PRSVD_METHOD_SUBSPACE,  \
   .onepass = PRSVD_ONEPASS_THREE, .test_matrix = PRSVD_TEST_GAUSSIAN, .range_dim = 0,     \
   .core_dim = 0, .tol = 0.0, .prefetch = 1, .center = 0, .scale = 0, .sym_tol = 1e-8,      \
   .max_rank = 0, .block = 10, .precision = PRSVD_PRECISION_AUTO, .progress = NULL,          \
   .progress_arg = NULL, .checkpoint = NULL, .grid_rows = 0, .grid_cols = 0,                 \
   .conv_tol = 1e-4, .max_power_iters = 10, .estimate = NULL, .threads = 0,     \
   .center_rows = 0, .zeroed_columns = NULL, .zeroed_arg = NULL}
PRSVD_API struct prsvd_svd_params prsvd_svd_params_default(void);

/* What a solve cost and how accurate it believes it is (all ranks hold the same values;
 * times are this rank's own, the program reduces them). */
struct prsvd_svd_stats {
  int passes;                 /* reads of A (one more when the first pass is repeated scaled) */
  int scale_exp;              /* A was sketched as 2^scale_exp A, its entries lying beyond what
                               * the sketches hold as they are (0: not scaled); every result is
                               * A's */
  int extra_pass;             /* 1 if B = Q^T A needed its own pass */
  double r_rcond;             /* reciprocal condition estimate of the last R */
  int64_t panel_rows;         /* rows per panel */
  int single;                 /* 1: panels were read and multiplied in float32 */
  int64_t bytes_read;         /* all passes, all ranks: panel bytes delivered (4 or 8 an entry) */
  int64_t file_bytes;         /* all passes, all ranks: bytes the reads took from files (-1:
                               * not known); compressed bytes for a compressed dataset */
  int64_t mapped_bytes;       /* all passes, all ranks: of those, rows lent in place (mapped from
                               * the page cache, not copied) */
  double error_estimate;      /* HMT eq. 4.3 bound on ||A - U S V^T||_2 (NaN if not computed) */
  double error_estimate_fro;  /* estimate of ||A - U S V^T||_F */
  double error_ci_low, error_ci_high; /* 95% interval of the Frobenius error (single pass) */
  double norm_fro;            /* ||A||_F when the method measured it (QB, single pass), else 0 */
  int64_t range_dim, core_dim;/* single pass: sketch sizes used */
  double tol_achieved;        /* QB, QB_EI: indicator of ||A - U S V^T||_F / ||A||_F */
  int tol_met;                /* QB, QB_EI: 1 if tol was reached within max_rank */
  int64_t qb_rank;            /* QB, QB_EI: columns of Q when the growth stopped (>= rank) */
  double total_variance;      /* center: sum of column variances of A~ (ddof 1) */
  int64_t zero_variance_cols; /* center + scale: columns left unscaled */
  /* What the orthonormalizations of this solve did on this rank: CholeskyQR2 that held,
   * shifted CholeskyQR3 after CholeskyQR2 failed, Householder QR (fallbacks included), and the
   * worst ||Q^T Q - I||_F of the Cholesky QRs. */
  long qr_cholqr2, qr_shifted, qr_householder;
  double qr_worst_orth;
  int power_iters;            /* SUBSPACE, REVD: power iterations made (passes - 1 - extra_pass) */
  double conv_change;         /* auto: the last relative change of the estimates (NaN: fixed q) */
  int conv_met;               /* auto: 1 if conv_change < conv_tol, 0 if max_power_iters ended it */
  int threads;                /* compute threads per rank the solve ran (params.threads or the
                               * automatic count) */
  int blas_threads;           /* the BLAS's threads a call outside the passes, as it reports them
                               * (0: not known); 1 inside passes whose panels the threads split */
};

typedef struct prsvd_svd prsvd_svd;

/* Collective over comm (duplicated inside). */
PRSVD_API int prsvd_svd_create(MPI_Comm comm, prsvd_svd **svd);
PRSVD_API int prsvd_svd_set_params(prsvd_svd *svd, const struct prsvd_svd_params *params);
/* Collective: every rank passes a source for the same matrix; each reads only its rows.
 * Returns the same status on every rank. */
PRSVD_API int prsvd_svd_solve(prsvd_svd *svd, prsvd_source *a);
/* Not collective: the rows per panel a solve of a will stream on this rank (prsvd_svd_plan's
 * panel_rows for the params set; PRSVD_ERR_USAGE if not even one row fits). */
PRSVD_API int prsvd_svd_panel_rows(const prsvd_svd *svd, const prsvd_source *a, int64_t *panel_rows);
/* Results, lent until destroy.  U and V are distributed by contiguous row blocks: this rank
 * holds rows [row0, row0 + local_rows) column-major with leading dimension ld. */
PRSVD_API int prsvd_svd_get_rank(const prsvd_svd *svd, int64_t *k);
PRSVD_API int prsvd_svd_get_singular_values(const prsvd_svd *svd, const double **s);
PRSVD_API int prsvd_svd_get_u(const prsvd_svd *svd, const double **u, int64_t *row0, int64_t *local_rows,
                    int64_t *ld);
PRSVD_API int prsvd_svd_get_v(const prsvd_svd *svd, const double **v, int64_t *row0, int64_t *local_rows,
                    int64_t *ld);
/* Collective over the solver's communicator: U (m x k) or V (n x k) whole, column-major with
 * leading dimension *ld = *rows (entry (i, j) at [j * *ld + i]), in a new array on rank root,
 * or on every rank when root is PRSVD_ALL_RANKS; other ranks get *u = NULL (and *rows, *ld
 * all the same).  Every rank passes the same root.  Free with prsvd_svd_free_gathered.
 * PRSVD_ERR_USAGE without a result, for a root outside [-1, ranks) or rows beyond INT_MAX;
 * PRSVD_ERR_NOMEM on every rank if a receiving rank cannot allocate. */
#define PRSVD_ALL_RANKS (-1)
PRSVD_API int prsvd_svd_gather_u(const prsvd_svd *svd, int root, double **u, int64_t *rows,
                                 int64_t *ld);
PRSVD_API int prsvd_svd_gather_v(const prsvd_svd *svd, int root, double **v, int64_t *rows,
                                 int64_t *ld);
/* Frees an array from prsvd_svd_gather_u/v and sets *a to NULL; accepts NULL and *a NULL. */
PRSVD_API void prsvd_svd_free_gathered(double **a);
PRSVD_API int prsvd_svd_get_stats(const prsvd_svd *svd, struct prsvd_svd_stats *stats);
/* center: the n column means and the n scales (1 where not scaled), lent until destroy;
 * with center_rows the m row means and m ones. */
PRSVD_API int prsvd_svd_get_centering(const prsvd_svd *svd, const double **mean, const double **scale);
/* NYSTROM/REVD: the k eigenvalues (largest first; REVD by magnitude), eigenvectors in U. */
PRSVD_API int prsvd_svd_get_eigenvalues(const prsvd_svd *svd, const double **lambda);
/* Single pass: scree[r-1] estimates ||A - A_r||_F for r = 1..k (NULL for other methods). */
PRSVD_API int prsvd_svd_get_scree(const prsvd_svd *svd, const double **scree);
PRSVD_API void prsvd_svd_destroy(prsvd_svd **svd);
/* Single pass: the sketch sizes (k_s, s) a run with these params uses on an m x n matrix.
 * Sizes set (range_dim, core_dim > 0) must oversample as the error bounds need, and fit:
 * k + 2 <= k_s <= min(m, n) and 2 k_s + 1 <= s <= min(m, n) (two: k_s + 2 <= s; hmt has no
 * core), else PRSVD_ERR_USAGE naming the option and its smallest or largest allowed value;
 * the defaults k_s = 2k + 1, s = 2 k_s + 1 are clipped to k <= k_s <= s <= min(m, n).
 * Local. */
PRSVD_API int prsvd_onepass_sizes(const struct prsvd_svd_params *params, int64_t m, int64_t n,
                        int64_t *range_dim, int64_t *core_dim);
/* Single pass, three sketches: (k_s, s) for rank k from a storage budget of `budget` numbers
 * for Y, X and Z (k_s (m + n) + s^2 <= budget), by the natural choice of Tropp, Yurtsever,
 * Udell & Cevher 2019, eq. (5.6), with s at most min(m, n) and k_s at most (s - 1) / 2;
 * PRSVD_ERR_USAGE if the budget, or the matrix, cannot give k_s >= k + 2 and
 * s >= 2 k_s + 1.  Local. */
PRSVD_API int prsvd_onepass_budget(int64_t m, int64_t n, int64_t rank, int64_t budget, int64_t *range_dim,
                         int64_t *core_dim);

/* What a solve with params will do with source a on nprocs ranks, known before it runs (not
 * collective): rows per panel (params.memory is a ceiling: dense panels stay near 4 MiB, a
 * whole number of the source's chunk rows where that fits), panel-sized buffers (2 with the
 * reader thread, dense or CSR, plus the source's scratch) and whether panels are multiplied
 * in float32, and the process grid.  Usage error if the budget holds less than one row, SINGLE
 * is asked of a sparse source, a grid with pc > 1 of a method, source or option that runs on
 * P x 1 only, or single-pass sketch sizes that prsvd_onepass_sizes refuses; input error if
 * m or n exceeds INT_MAX (U and V are ScaLAPACK matrices).  prsvd_svd_solve plans first, so
 * these are refused before anything is read. */
struct prsvd_svd_plan {
  int64_t panel_rows;
  int buffers;
  int single;
  int64_t panel_bytes;   /* one buffer */
  int grid_rows, grid_cols; /* the process grid pr x pc (params.grid_*, or the automatic one) */
  int64_t x_rows;        /* rows of the test matrix X each rank holds: ceil(n / pc) at most */
  int threads;           /* compute threads per rank: params.threads, or for 0 this rank's
                          * affinity mask unshared (the solve, collective, shares it: pass
                          * prsvd_threads_choose's count to plan exactly what it runs) */
  int threaded;          /* 1 if the method's passes split their panels among the threads
                          * (on a P x 1 grid: the multi-pass methods, and the single pass over
                          * dense data) */
  int64_t thread_bytes;  /* the threads' own accumulators and scratch beyond one thread's */
};
PRSVD_API int prsvd_svd_plan(const struct prsvd_svd_params *params, const prsvd_source *a, int nprocs,
                   struct prsvd_svd_plan *plan);

/* What a solve with params will cost on source a and nprocs ranks, known before it runs (not
 * collective; the same errors as prsvd_svd_plan): the plan, the reads of A, the flops of the
 * panel products and the memory a rank holds.  Every figure the prsvd program prints about a
 * run's cost (svd's and eig's plan, info, --json) is read from here, and docs/performance.md
 * ("The cost of a run") gives the formulas.  A solve's stats.passes and stats.bytes_read are
 * passes x pass_bytes of the same estimate. */
struct prsvd_svd_memory {   /* bytes one rank holds, by kind; each the most over the solve */
  int64_t panels;           /* plan.buffers x plan.panel_bytes (dense, CSR, or rows mapped) */
  int64_t source;           /* what the source keeps for itself (layout.cache_bytes) */
  int64_t pass_scratch;     /* a pass's own: the products A_i R, float32 copies, the row-major
                             * copies of a CSR pass, a 2-D grid's panel sums */
  int64_t threads;          /* the compute threads' own sums and scratch (plan.thread_bytes) */
  int64_t m_rows;           /* this rank's rows of the m-row sketches (Y, A W, Q): ceil(m/P) */
  int64_t n_replicated;     /* the n-row arrays every rank holds whole (plan.x_rows rows): the
                             * test matrices, co-range partial sums, collective buffers */
  int64_t n_distributed;    /* this rank's rows of the n-row distributed ones (H, B^T, V) */
  int64_t small;            /* the l x l matrices: R, the QRs' Grams, the small SVD and LAPACK's
                             * workspace (held by rank 0) */
  int64_t total;            /* their sum: an upper bound of what the solve allocates at once */
};
struct prsvd_svd_estimate {
  struct prsvd_svd_plan plan;
  int64_t width;            /* sketch columns: l = k + p (subspace, eig), k_s (single pass),
                             * L = the largest rank tried (--tol); clipped to min(m, n) */
  int probes;               /* probe columns of the error estimate: params.n_probes (subspace,
                             * revd), 10 (single pass), 0 (QB, nystrom) */
  int passes;               /* reads of A planned (randQB_EI: the most it may take) */
  int passes_max;           /* and at most: the methods that read A again repeat the first
                             * pass on 2^e A if its entries lie beyond the sketches' range;
                             * subspace and revd read once more if R is ill-conditioned */
  double pass_bytes;        /* panel bytes one pass delivers, all ranks together */
  double pass_flops;        /* flops of the first pass's panel products, all ranks */
  double flops;             /* of every planned pass's panel products, all ranks */
  struct prsvd_svd_memory memory;
};
PRSVD_API int prsvd_svd_estimate(const struct prsvd_svd_params *params, const prsvd_source *a, int nprocs,
                                 struct prsvd_svd_estimate *est);
/* ---- Interpolative decomposition ------------------------------------------------------ */

/* The column ID A ~ A(:, J) T (T k x n, T(:, J) = I), or with kind ROWS the row ID
 * A ~ X A(I, :) (X m x k, X(I, :) = I), of rank k, from a sketch streamed in q + 1 passes
 * (src/id.c: HMT 2011 Sec. 5.2, Voronin & Martinsson 2017): Y = Omega (A A^T)^q A (columns)
 * or Y = (A A^T)^q A Omega (rows), then the column-pivoted QR of Y (or Y^T).  With kind CUR
 * (src/cur.c) A ~ C U R, C = A(:, J) from the column ID, R = A(I, :) from the row ID of C,
 * and U = C^+ A R^+ from one more pass. */
enum prsvd_id_kind { PRSVD_ID_COLUMNS = 0, PRSVD_ID_ROWS = 1, PRSVD_ID_CUR = 2 };
/* Where the pivoted QR of the l x N sketch runs: LOCAL (LAPACK's DGEQP3 on rank 0, the sketch
 * gathered there), DISTRIBUTED (ScaLAPACK's PDGEQPF over all ranks, no gather), or AUTO:
 * LOCAL when 8 (l + k + 1) N bytes fit in params.memory, else DISTRIBUTED. */
enum prsvd_id_qr { PRSVD_ID_QR_AUTO = 0, PRSVD_ID_QR_LOCAL = 1, PRSVD_ID_QR_DISTRIBUTED = 2 };

struct prsvd_id_params {
  int64_t rank;          /* k: columns (rows) chosen, 1 <= k <= min(m, n) */
  int64_t oversample;    /* p: the sketch has l = min(k + p, m, n) rows (columns) */
  int power_iters;       /* q: the sketch reads A q + 1 times */
  uint64_t seed;         /* test matrices depend only on (seed, row, column) */
  int64_t memory;        /* per-rank bytes for row panels; also what decides qr = AUTO */
  enum prsvd_id_kind kind;
  enum prsvd_test_matrix test_matrix; /* Omega: Gaussian or a sparse sign map */
  enum prsvd_id_qr qr;
  int verify;            /* 1: ||A - approximation||_F exactly, by one more pass; 0: estimated
                          * from n_probes Gaussian probes that ride in the last sketch pass */
  int n_probes;          /* probes for the estimate (verify = 0) */
  int check_finite;      /* stop at the first NaN or Inf in A */
  int prefetch;          /* read the next panel on a thread while this one is multiplied */
  enum prsvd_precision precision;
  void (*progress)(void *arg, int pass, int n_passes, int64_t rows_done, int64_t rows_total);
  void *progress_arg;
};
#define PRSVD_ID_PARAMS_INIT                                                                      \
  {.rank = 0, .oversample = 10, .power_iters = 1, .seed = 0, .memory = (int64_t)512 << 20,        \
   .kind = PRSVD_ID_COLUMNS, .test_matrix = PRSVD_TEST_GAUSSIAN, .qr = PRSVD_ID_QR_AUTO,           \
   .verify = 1, .n_probes = 10, .check_finite = 1, .prefetch = 1,                                 \
   .precision = PRSVD_PRECISION_AUTO, .progress = NULL, .progress_arg = NULL}
PRSVD_API struct prsvd_id_params prsvd_id_params_default(void);

/* What a solve with params does with source a on nprocs ranks, known before it runs (not
 * collective): usage error for a bad k, or a budget that holds no row. */
struct prsvd_id_plan {
  int64_t panel_rows;
  int single;            /* panels multiplied in float32 */
  int64_t sketch_dim;    /* l */
  int64_t sketch_len;    /* N: n (columns) or m (rows) */
  int passes;            /* q + 1 (CUR: q + 2), and one more with verify */
  int qr_distributed;    /* 1: PDGEQPF, 0: DGEQP3 on rank 0 */
  int64_t qr_bytes;      /* 8 (l + k + 1) N: what the local QR holds on rank 0 */
  int rows_qr_distributed; /* CUR: the same for the row ID of C (8 (2k + 1) m bytes) */
  double pass_bytes;     /* panel bytes a pass reads, all ranks (stats.bytes_read: passes x this) */
};
PRSVD_API int prsvd_id_plan(const struct prsvd_id_params *params, const prsvd_source *a, int nprocs,
                            struct prsvd_id_plan *plan);

struct prsvd_id_stats {
  int passes;
  int64_t panel_rows;
  int single;
  int qr_distributed;
  double norm_fro;        /* ||A||_F, measured by the first pass */
  double error_fro;       /* ||A - approximation||_F: exact (verified) or estimated */
  int error_verified;     /* 1: error_fro is exact, from a pass; 0: estimated from probes */
  double error_ci_low, error_ci_high; /* estimated: a 95% interval (10 probes) */
  double rdiag_ratio;     /* |R_kk| / |R_11| of the pivoted QR of the sketch */
  double max_abs_coef;    /* max |T_ij| (|X_ij|): at most ~2 for a well-chosen ID */
  int64_t bytes_read;     /* all passes, all ranks */
  double rows_rdiag_ratio;/* CUR: |R_kk| / |R_11| of the pivoted QR of C^T */
  double c_rcond;         /* CUR: reciprocal condition of R_C (C = Q_C R_C) */
  int extra_pass;         /* CUR: 1 if A^T Q_C took its own pass (R_C ill-conditioned) */
  double relative_error;  /* error_fro / norm_fro, formed before the results are unscaled (both
                           * may pass the largest double where their ratio does not) */
  int scale_exp;          /* e: A's entries lay beyond the sketches' range (1e-300, 1e300), so the
                           * passes multiplied 2^e A (the first pass once more); the results are
                           * A's (0: unscaled) */
};

typedef struct prsvd_id prsvd_id;
/* Collective over comm (duplicated inside). */
PRSVD_API int prsvd_id_create(MPI_Comm comm, prsvd_id **id);
PRSVD_API int prsvd_id_set_params(prsvd_id *id, const struct prsvd_id_params *params);
/* Collective: every rank passes a source of the same matrix; each reads its rows.  Returns
 * the same status on every rank; PRSVD_ERR_NUMERIC if the sketch's numerical rank is below k
 * (|R_kk| <= 1e-13 |R_11|: the chosen columns would be dependent). */
PRSVD_API int prsvd_id_solve(prsvd_id *id, prsvd_source *a);
/* The k chosen indices (columns, or rows with kind ROWS) in the order chosen, and ascending;
 * the same on every rank, lent until destroy. */
PRSVD_API int prsvd_id_get_indices(const prsvd_id *id, int64_t *k, const int64_t **chosen,
                                   const int64_t **ascending);
/* The coefficients (not for CUR) by row blocks of the N x k matrix C = T^T (columns: N = n, this rank holds
 * the columns [row0, row0 + local_rows) of T, T(i, row0 + j) at c[i * ld + j]) or C = X (rows:
 * N = m, this rank's rows of X, X(row0 + j, i) at c[i * ld + j]).  Lent until destroy. */
PRSVD_API int prsvd_id_get_coefficients(const prsvd_id *id, const double **c, int64_t *row0,
                                        int64_t *local_rows, int64_t *ld);
/* CUR: the k chosen rows I, as chosen and ascending, and U (k x k, column-major) with
 * A ~ A(:, J ascending) U A(I ascending, :); lent until destroy.  PRSVD_ERR_USAGE for an ID. */
PRSVD_API int prsvd_id_get_rows(const prsvd_id *id, const int64_t **chosen, const int64_t **ascending);
PRSVD_API int prsvd_id_get_core(const prsvd_id *id, const double **u);
/* CUR: the factors themselves, lent until destroy: this rank's rows [row0, row0 + local_rows)
 * of C = A(:, J ascending) (m x k, column-major, C(row0 + i, j) at c[j * ld + i]), and R =
 * A(I ascending, :) whole on every rank (k x n, row-major, R(i, j) at r[i * n + j]): exact
 * copies of A's entries, so a sparse A's zeros stay zeros.  PRSVD_ERR_USAGE for an ID. */
PRSVD_API int prsvd_id_get_factors(const prsvd_id *id, const double **c, int64_t *row0, int64_t *local_rows,
                                   int64_t *ld, const double **r);
PRSVD_API int prsvd_id_get_stats(const prsvd_id *id, struct prsvd_id_stats *stats);
PRSVD_API void prsvd_id_destroy(prsvd_id **id);
/* ---- Tucker decomposition -------------------------------------------------------------- */

/* A ~ G x_1 U_1 x_2 U_2 ... x_N U_N for an N-way tensor A (d_1 x ... x d_N) streamed by slabs
 * of its first dimension: a source of its mode-1 unfolding, d_1 rows of d_2 ... d_N values in C
 * order (for HDF5 the N-D path of io/h5source.c, sample axis 0).  G is r_1 x ... x r_N, each U_n d_n x r_n with orthonormal
 * columns (src/tucker.c).  passes = 2: randomized range finders of every unfolding in one pass
 * (q more with power_iters), then the core G = A x_n U_n^T in a second; passes = 1: the sketch
 * of Sun, Guo, Luo, Tropp & Udell 2020, all in one pass.  Either then truncates a larger
 * (oversampled) core to the ranks (ST-HOSVD), or with tol > 0 chooses the ranks. */
#define PRSVD_TUCKER_MAX_MODES 32
#define PRSVD_TUCKER_OVERSAMPLE_AUTO (-1)
struct prsvd_tucker_params {
  int64_t ranks[PRSVD_TUCKER_MAX_MODES]; /* r_n, 1 <= r_n <= d_n (with tol > 0: all 0) */
  double tol;            /* > 0: the ranks are chosen so that the estimated ||A - approx||_F
                          * <= tol ||A||_F (two passes only) */
  int64_t max_rank;      /* tol: at most this rank a mode (the sketch is max_rank + p wide) */
  int64_t oversample;    /* p: two passes sketch l_n = min(d_n, r_n + p) columns a mode;
                          * PRSVD_TUCKER_OVERSAMPLE_AUTO: p_n = r_n + 10 (max_rank + 10 with
                          * tol), so l_n = min(d_n, 2 r_n + 10), cut by one fraction for every
                          * mode where the small core prod l_n would pass 2^24 entries; on
                          * the Z route mode 1 alone is sketched, 3 r_1 + 10 wide where Z
                          * still fits */
  int passes;            /* 2 (and power_iters more) or 1 */
  int power_iters;       /* q: two passes only */
  uint64_t seed;         /* test matrices depend only on (seed, mode, global index) */
  int64_t memory;        /* per-rank bytes for slab panels; two passes take the Z route
                          * (prsvd_tucker_plan) when its Z fits within it too */
  int verify;            /* 1: ||A - approx||_F measured by one more pass */
  int check_finite;      /* stop at the first NaN or Inf in A */
  int prefetch;          /* read the next panel on a thread while this one is multiplied */
  void (*progress)(void *arg, int pass, int n_passes, int64_t rows_done, int64_t rows_total);
  void *progress_arg;
};
#define PRSVD_TUCKER_PARAMS_INIT                                                                  \
  {.ranks = {0}, .tol = 0.0, .max_rank = 50, .oversample = PRSVD_TUCKER_OVERSAMPLE_AUTO, .passes = 2, .power_iters = 0,      \
   .seed = 0, .memory = (int64_t)512 << 20, .verify = 1, .check_finite = 1, .prefetch = 1,        \
   .progress = NULL, .progress_arg = NULL}
PRSVD_API struct prsvd_tucker_params prsvd_tucker_params_default(void);

/* How two passes form the core (src/tucker.c).  PRSVD_TUCKER_ROUTE_Z: only mode 1 is
 * sketched; the second pass forms Z = A x_1 Q_1^T (l_1 x d_2 x ... x d_N) whole, and modes
 * 2..N come exactly from Z's unfoldings (ST-HOSVD of Z), taken when Z and its truncation fit
 * the memory budget.  PRSVD_TUCKER_ROUTE_CORE: every mode sketched, the second pass forms the
 * small core A x_n Q_n^T.  One pass: PRSVD_TUCKER_ROUTE_ONE_PASS. */
enum prsvd_tucker_route { PRSVD_TUCKER_ROUTE_CORE = 0, PRSVD_TUCKER_ROUTE_Z = 1, PRSVD_TUCKER_ROUTE_ONE_PASS = 2 };

/* What a solve does (not collective): usage error for a bad shape, rank, size or budget. */
struct prsvd_tucker_plan {
  int64_t panel_rows;
  int64_t sketch[PRSVD_TUCKER_MAX_MODES];      /* columns of each factor sketch (l_n or k_n;
                                                * the Z route: d_n for the exact modes 2..N) */
  int64_t core_sketch[PRSVD_TUCKER_MAX_MODES]; /* one pass: s_n (0 for two passes) */
  int passes;            /* planned: sketch(es), core, verification (an A far from 1 adds one) */
  int route;             /* enum prsvd_tucker_route */
  int64_t z_bytes;       /* the Z route's Z, its first truncation and a mode's Gram matrix: the
                          * bytes held when taken, or that it would need (two passes) */
  int64_t sketch_bytes;  /* per rank: the factor and core sketches and their test matrices */
};
PRSVD_API int prsvd_tucker_plan(const struct prsvd_tucker_params *params, const prsvd_source *a, int ndims,
                                const int64_t *dims, int nprocs, struct prsvd_tucker_plan *plan);

struct prsvd_tucker_stats {
  int passes;
  int64_t panel_rows, bytes_read;
  int64_t ranks[PRSVD_TUCKER_MAX_MODES]; /* as asked, or chosen by tol */
  double norm_fro;       /* ||A||_F */
  double error_fro;      /* measured by the verification pass (NaN without it) */
  double relative_error; /* error_fro / norm_fro, formed before either is unscaled (an A of
                          * 1e-300 has an error below the smallest double) */
  int error_verified;
  double error_estimate; /* from the sketches: two passes sqrt(||A||^2 - ||G||^2) (exact but
                          * for rounding, ~1e-8 ||A|| at best); one pass NaN */
  int tol_met;           /* tol: 1 if the estimate is at most tol ||A||_F */
  int scale_exp;         /* A was sketched as 2^scale_exp A (0: as it is) */
};

typedef struct prsvd_tucker prsvd_tucker;
/* Collective over comm (duplicated inside). */
PRSVD_API int prsvd_tucker_create(MPI_Comm comm, prsvd_tucker **t);
PRSVD_API int prsvd_tucker_set_params(prsvd_tucker *t, const struct prsvd_tucker_params *params);
/* Collective: every rank passes a source of the same unfolding (rows dims[0], columns
 * dims[1] ... dims[ndims - 1]); each reads its own rows.  The same status on every rank. */
PRSVD_API int prsvd_tucker_solve(prsvd_tucker *t, prsvd_source *a, int ndims, const int64_t *dims);
/* The core, r_1 x ... x r_N in C order, and the ranks; replicated, lent until destroy. */
PRSVD_API int prsvd_tucker_get_core(const prsvd_tucker *t, int *ndims, const int64_t **ranks, const double **g);
/* U_n (mode 0-based), d_n x r_n column-major, replicated, lent until destroy. */
PRSVD_API int prsvd_tucker_get_factor(const prsvd_tucker *t, int mode, const double **u, int64_t *rows,
                                      int64_t *cols);
PRSVD_API int prsvd_tucker_get_stats(const prsvd_tucker *t, struct prsvd_tucker_stats *stats);
PRSVD_API void prsvd_tucker_destroy(prsvd_tucker **t);

/* ---- Threads ------------------------------------------------------------------------ */

/* Compute threads per rank.  A solve (multi-pass, or single-pass on dense data) splits each
 * row panel among T threads, each multiplying its own rows with a single-threaded BLAS (and
 * drawing its own rows of the single pass's test matrices) into its own accumulators, which are
 * added in thread order at the end of each panel (results depend on T only in rounding, and
 * not on timing); the reader thread fills the next panel meanwhile.  Outside the passes the
 * BLAS runs T threads.  prsvd sets the BLAS's thread count itself (OpenBLAS's
 * openblas_set_num_threads, else omp_set_num_threads), so OPENBLAS_NUM_THREADS and
 * OMP_NUM_THREADS do not change it, and restores it when the solve returns. */
#define PRSVD_MAX_THREADS 1024
struct prsvd_threads_choice {
  int threads;      /* compute threads per rank: the same on every rank */
  int requested;    /* the request (0: automatic) */
  int cpus;         /* CPUs of this rank's affinity mask (0: not known) */
  int sharing;      /* ranks of this node whose masks share a CPU with this rank's, itself included */
  double share;     /* this rank's fair share of its CPUs (a CPU that k ranks may run on counts 1/k) */
  int widened_from; /* CPUs of Open MPI's default binding before it was widened to `cpus` (0: not widened) */
  int binding_kept; /* 1: Open MPI's default binding kept, as PRSVD_KEEP_BINDING asked */
  char why[192];    /* how the count was chosen, as a phrase for the plan */
};
/* Collective over comm: requested > 0 is taken as it is (PRSVD_ERR_USAGE beyond
 * PRSVD_MAX_THREADS or below 0); 0 chooses the fewest whole CPUs any rank's fair share holds,
 * at least 1.  With --bind-to none, P ranks on C cores get C / P each; one rank bound to a
 * core gets 1; a SLURM task of --cpus-per-task=c alone on its CPUs gets c.  A rank alone on
 * its node that Open MPI bound to a core by its default, no binding asked for, is first
 * widened to the CPUs of its launcher (`mpirun -n 1` on C cores gets C; PRSVD_KEEP_BINDING=1
 * in the environment keeps the binding). */
PRSVD_API int prsvd_threads_choose(MPI_Comm comm, int requested, struct prsvd_threads_choice *choice);

/* The block of rows [*row0, *row0 + *local_rows) that this rank of nprocs owns when `rows`
 * rows are distributed: the distribution of U, V and of the panels each rank reads. */
PRSVD_API void prsvd_row_block(int64_t rows, int rank, int nprocs, int64_t *row0, int64_t *local_rows);

#ifdef __cplusplus
}
#endif
#endif
