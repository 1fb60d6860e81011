/* prsvd id FILE:/DS -k K -o OUT.h5: the interpolative decomposition A ~ A(:, J) T (with --rows
 * A ~ X A(I, :)), written as the chosen indices and the coefficients, with the measured error;
 * prsvd cur: A ~ A(:, J) U A(I, :), written as both index sets and U.  They share a table. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prsvd_h5.h"
#include "cli.h"
#include "config.h"
#include "error.h"
#include "options.h"

struct id_opts {
  int64_t rank, oversample, power_iters, memory;
  uint64_t seed;
  const char *output, *sketch, *qr, *compare, *precision, *read;
  struct prsvd_opt_list mpiio_hints;
  int rows, no_verify, force, json, progress, quiet, debug, no_prefetch;
};

/* id and cur share this table; --rows is id's alone, and an option worded for one has an entry
 * of its own. */
enum { ID = 1, CUR = 2 };
#define ID_ONLY PRSVD_OPT_FOR(ID)
#define CUR_ONLY PRSVD_OPT_FOR(CUR)
#define O(f) offsetof(struct id_opts, f)
static const struct prsvd_option id_options[] = {
    {"rank", 'k', PRSVD_OPT_INT, "K", NULL, 1, 1e12, ID_ONLY | PRSVD_OPT_REQUIRED, "columns (rows) to choose, 1..min(m, n)", O(rank)},
    {"rank", 'k', PRSVD_OPT_INT, "K", NULL, 1, 1e12, CUR_ONLY | PRSVD_OPT_REQUIRED, "columns and rows to choose, 1..min(m, n)", O(rank)},
    {"rows", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, ID_ONLY, "the row ID A ~ X A(I, :) from a column sketch, instead of the column ID", O(rows)},
    {"oversample", 'p', PRSVD_OPT_INT, "P", "10", 0, 1e6, 0, "extra sketch rows: the sketch is (k + p) x n (reduced to min(m, n))", O(oversample)},
    {"power-iters", 'q', PRSVD_OPT_INT, "Q", "1", 0, 100, 0, "power iterations; the sketch reads A q + 1 times", O(power_iters)},
    {"sketch", 0, PRSVD_OPT_STRING, "KIND", "gaussian", 0, 0, 0, "the first pass's test matrix: gaussian or sparse (sign map)", O(sketch)},
    {"qr", 0, PRSVD_OPT_STRING, "WHERE", "auto", 0, 0, 0, "the pivoted QR of the sketch: local (LAPACK DGEQP3 on rank 0), distributed (ScaLAPACK PDGEQPF), or auto: local when 8 (k + p + k + 1) N bytes fit in --memory", O(qr)},
    {"no-verify-pass", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "estimate ||A - approximation||_F from 10 probes in the last sketch pass (with a 95% interval) instead of measuring it in one more pass", O(no_verify)},
    {"compare", 0, PRSVD_OPT_STRING, "SVD.h5", NULL, 0, 0, 0, "an SVD of the same matrix (prsvd svd's output, or any file with /S): report the optimal rank-k error beside this run's", O(compare)},
    {"seed", 0, PRSVD_OPT_UINT64, "S", "0", 0, 0, 0, "seed of the test matrices", O(seed)},
    {"memory", 0, PRSVD_OPT_SIZE, "SIZE", "512M", 1, 0, 0, "per-rank ceiling for row panels; panels stay near 4 MiB", O(memory)},
    {"no-prefetch", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "read panels on the main thread", O(no_prefetch)},
    PRSVD_OPT_PRECISION(struct id_opts),
    PRSVD_OPT_READ(struct id_opts),
    PRSVD_OPT_MPIIO_HINT(struct id_opts),
    {"output", 'o', PRSVD_OPT_STRING, "OUT.h5", NULL, 0, 0, ID_ONLY | PRSVD_OPT_REQUIRED, "output file: /columns (J ascending), /pivots (J as chosen), /T (k x n); with --rows /rows, /pivots, /X (m x k)", O(output)},
    {"output", 'o', PRSVD_OPT_STRING, "OUT.h5", NULL, 0, 0, CUR_ONLY | PRSVD_OPT_REQUIRED, "output file: /C = A(:, J) and /R = A(I, :) (CSR groups for a sparse input), /U (k x k), /columns and /rows (J and I ascending), /column_pivots and /row_pivots (as chosen)", O(output)},
    PRSVD_OPT_RUN_END(struct id_opts, "no progress, plan or summary")};
#undef O

static const struct prsvd_command_doc id_doc = {
    "id", "FILE.h5:/DATASET -k K -o OUT.h5 [--rows] [options]",
    "Interpolative decomposition A ~ A(:, J) T: k of the dataset's own columns J and the\n"
    "coefficients T (k x n, T(:, J) = I) that rebuild every column from them; --rows gives\n"
    "A ~ X A(I, :) with k of its rows.  The columns are chosen by a column-pivoted QR of the\n"
    "sketch Y = Omega (A A^T)^q A (Halko, Martinsson & Tropp 2011 Sec. 5.2; Voronin &\n"
    "Martinsson 2017), streamed in q + 1 passes.  One more pass measures ||A - A(:, J) T||_F\n"
    "(--no-verify-pass estimates it instead); --compare puts it beside the optimal rank-k\n"
    "error from an SVD.  The chosen columns are the same on any number of ranks.",
    1,
    "# 50 representative genes (columns) of a cells x genes matrix\n"
    "mpirun -n 4 prsvd id cells.h5:/X -k 50 -o genes.h5\n"
    "# 20 representative cells (rows), from a column sketch\n"
    "prsvd id cells.h5:/X -k 20 --rows -o cells.h5\n"
    "# how far the chosen columns are from the best rank-50 approximation\n"
    "prsvd id cells.h5:/X -k 50 --compare svd.h5 -o genes.h5",
    ID};

static const struct prsvd_command_doc cur_doc = {
    "cur", "FILE.h5:/DATASET -k K -o OUT.h5 [options]",
    "CUR decomposition A ~ C U R with C = A(:, J), k of the dataset's own columns, and R =\n"
    "A(I, :), k of its rows: J from the interpolative decomposition of the sketch Y = Omega\n"
    "(A A^T)^q A, I from the row ID of C (Voronin & Martinsson 2017), and U = C^+ A R^+, the\n"
    "best U for those C and R, from one more pass (two if C is ill-conditioned): q + 2 passes\n"
    "in all.  One more pass measures ||A - C U R||_F (--no-verify-pass estimates it instead).\n"
    "The chosen columns and rows are the same on any number of ranks.",
    1,
    "# 50 genes and 50 cells that, with a 50 x 50 core, rebuild the matrix\n"
    "mpirun -n 4 prsvd cur cells.h5:/X -k 50 -o cur.h5\n"
    "# beside the best rank-50 approximation, two power iterations\n"
    "prsvd cur cells.h5:/X -k 50 -q 2 --compare svd.h5 -o cur.h5",
    CUR};

/* What the user sees: the indices and U of the matrix in the file, whichever way it streamed
 * (a CSC input streams A^T, whose CUR is A's with C and R, and I and J, swapped, U transposed). */
struct view {
  int kind;                                    /* enum prsvd_id_kind, the user's */
  int64_t k;
  const int64_t *cols, *cols_asc, *rows, *rows_asc; /* the chosen columns (rows) */
  double *u;                                   /* CUR: k x k, column-major, owned */
};

static int view_of(prsvd_id *id, int kind, int transposed, struct view *v) {
  int status = PRSVD_OK;
  const int64_t *c, *ca, *r = NULL, *ra = NULL;
  const double *u;
  memset(v, 0, sizeof *v);
  v->kind = kind;
  PRSVD_CHECK(prsvd_id_get_indices(id, &v->k, &c, &ca));
  if (kind != PRSVD_ID_CUR) {
    v->cols = c, v->cols_asc = ca; /* the ID's one index set, columns or rows alike */
    return PRSVD_OK;
  }
  PRSVD_CHECK(prsvd_id_get_rows(id, &r, &ra));
  PRSVD_CHECK(prsvd_id_get_core(id, &u));
  PRSVD_ALLOC(v->u, v->k * v->k);
  for (int64_t i = 0; i < v->k; i++)
    for (int64_t j = 0; j < v->k; j++) v->u[j * v->k + i] = transposed ? u[i * v->k + j] : u[j * v->k + i];
  v->cols = transposed ? r : c, v->cols_asc = transposed ? ra : ca;
  v->rows = transposed ? c : r, v->rows_asc = transposed ? ca : ra;
done:
  return status;
}

static const char *method_of(int kind) {
  return kind == PRSVD_ID_CUR ? "cur" : kind == PRSVD_ID_ROWS ? "row-id" : "column-id";
}

/* "A(:,J) T", "X A(I,:)" or "C U R" */
static const char *approximation(int kind) {
  return kind == PRSVD_ID_CUR ? "C U R" : kind == PRSVD_ID_ROWS ? "X A(I,:)" : "A(:,J) T";
}

/* What --compare gives: the optimal rank-k error and sigma_{k+1} (NaN where not known). */
struct optimum {
  double error_fro, sigma_next;
  int64_t n_sigma;
};

/* /S of the --compare file (rank 0 reads, every rank receives): the optimal rank-k Frobenius
 * error, summed over the tail when /S holds all min(m, n) values, else ||A||_F^2 minus the
 * leading k squares. */
static int read_optimum(const struct prsvd_cli *cli, const char *path, int64_t m, int64_t n, int64_t k,
                        double norm_fro, struct optimum *opt) {
  int status = PRSVD_OK;
  double *s = NULL, rows = 0, cols = 0, msg[3] = {0, NAN, NAN};
  int64_t len = 0;
  const int64_t mn = m < n ? m : n;
  if (cli->rank == 0) {
    if (!prsvd_h5_has_dataset(path, "/S"))
      PRSVD_FAIL(PRSVD_ERR_INPUT, "--compare '%s' holds no dataset /S (an SVD output of prsvd svd)", path);
    PRSVD_TRY(prsvd_h5_read_vector(path, "/S", &len, &s));
    if (prsvd_h5_read_attr_double(path, "rows", &rows) == PRSVD_OK &&
        prsvd_h5_read_attr_double(path, "cols", &cols) == PRSVD_OK && ((int64_t)rows != m || (int64_t)cols != n))
      PRSVD_FAIL(PRSVD_ERR_INPUT, "--compare '%s' is an SVD of a %lld x %lld matrix, not of this %lld x %lld one",
                 path, (long long)rows, (long long)cols, (long long)m, (long long)n);
    prsvd_error_clear();
    if (len < k)
      PRSVD_FAIL(PRSVD_ERR_INPUT, "--compare '%s' holds %lld singular values: the optimal rank-%lld error needs %lld",
                 path, (long long)len, (long long)k, (long long)k);
    /* the sums of squares in units of the largest value: S of 1e-300 or 1e300 neither
     * underflows nor overflows them (both gave an optimal error of 0) */
    double tail = 0.0, head = 0.0, big = fabs(norm_fro);
    for (int64_t j = 0; j < len; j++) big = fmax(big, fabs(s[j]));
    if (!(big > 0.0) || isinf(big)) big = 1.0;
    for (int64_t j = 0; j < len; j++) *(j < k ? &head : &tail) += (s[j] / big) * (s[j] / big);
    const double nf = norm_fro / big;
    msg[0] = (double)len;
    msg[1] = big * (len >= mn ? sqrt(tail) : sqrt(fmax(nf * nf - head, 0.0)));
    msg[2] = len > k ? s[k] : NAN;
  }
done:
  free(s);
  status = prsvd_error_agree(cli->comm, status);
  if (!status) MPI_Bcast(msg, 3, MPI_DOUBLE, 0, cli->comm);
  opt->n_sigma = (int64_t)msg[0], opt->error_fro = msg[1], opt->sigma_next = msg[2];
  return status;
}

/* The coefficients: /T (k x n) by the column blocks each rank holds (its rows of T^T), or
 * /X (m x k) by row blocks. */
static int write_coefficients(prsvd_h5_writer *w, prsvd_id *id, int rows_side, int64_t len, int64_t k) {
  int status = PRSVD_OK;
  prsvd_h5_matrix *mat = NULL;
  const double *c;
  int64_t c0, cr, ld;
  PRSVD_CHECK(prsvd_id_get_coefficients(id, &c, &c0, &cr, &ld));
  if (rows_side) {
    PRSVD_TRY(prsvd_h5_matrix_create(w, "/X", len, k, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
    PRSVD_TRY(prsvd_h5_matrix_write_colmajor(mat, c0, cr, c, ld));
  } else {
    PRSVD_TRY(prsvd_h5_matrix_create(w, "/T", k, len, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
    PRSVD_TRY(prsvd_h5_matrix_write_cols(mat, c0, cr, c, ld));
  }
done:
  prsvd_h5_matrix_close(&mat);
  return status;
}

/* One factor of a CUR as an output: rows [row0, row0 + nrows) of a rows x cols matrix on this
 * rank, row-major; a dense dataset, or for a sparse input a CSR group of the same entries (its
 * zeros left out, as the input stores none of them). */
static int write_factor(prsvd_h5_writer *w, MPI_Comm comm, const char *name, int sparse, int64_t rows,
                        int64_t cols, int64_t row0, int64_t nrows, const double *x) {
  int status = PRSVD_OK;
  prsvd_h5_matrix *mat = NULL;
  int64_t *ptr = NULL, *idx = NULL, nnz = 0;
  double *val = NULL;
  if (!sparse) {
    PRSVD_TRY(prsvd_h5_matrix_create(w, name, rows, cols, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
    PRSVD_TRY(prsvd_h5_matrix_write(mat, row0, nrows, x));
    goto done;
  }
  for (int64_t e = 0; e < nrows * cols; e++) nnz += x[e] != 0.0;
  PRSVD_ALLOC(ptr, nrows + 1);
  PRSVD_ALLOC(idx, nnz > 0 ? nnz : 1);
  PRSVD_ALLOC(val, nnz > 0 ? nnz : 1);
  ptr[0] = nnz = 0;
  for (int64_t i = 0; i < nrows; i++) {
    for (int64_t j = 0; j < cols; j++)
      if (x[i * cols + j] != 0.0) idx[nnz] = j, val[nnz++] = x[i * cols + j];
    ptr[i + 1] = nnz;
  }
done:
  status = prsvd_error_agree(comm, status); /* before the collective write */
  if (!status && sparse) status = prsvd_h5_write_csr(w, name, rows, cols, nrows, ptr, idx, val);
  prsvd_h5_matrix_close(&mat);
  free(ptr), free(idx), free(val);
  return status;
}

/* /C (m x k) and /R (k x n) of a CUR of the user's m x n matrix.  The solve's C is by row
 * blocks and its R whole on every rank; a transposed input (CSC) streamed A^T, whose C and R
 * are A's R^T and C^T: then A's C is whole everywhere and written by row blocks, and A's R is
 * gathered to rank 0. */
static int write_cur_factors(prsvd_h5_writer *w, MPI_Comm comm, prsvd_id *id, int transposed, int sparse,
                             int64_t m, int64_t n, int64_t k) {
  int status = PRSVD_OK, rank, nprocs;
  const double *c, *r;
  int64_t c0, cr, cld, r0, rr;
  double *rows = NULL, *whole = NULL;
  int *counts = NULL, *displs = NULL;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &nprocs);
  PRSVD_CHECK(prsvd_id_get_factors(id, &c, &c0, &cr, &cld, &r));
  if (!transposed) { /* C: this rank's rows; R: rank 0 writes it */
    PRSVD_ALLOC(rows, cr * k > 0 ? cr * k : 1);
    for (int64_t i = 0; i < cr; i++)
      for (int64_t j = 0; j < k; j++) rows[i * k + j] = c[j * cld + i];
    PRSVD_TRY(write_factor(w, comm, "/C", sparse, m, k, c0, cr, rows));
    PRSVD_TRY(write_factor(w, comm, "/R", sparse, k, n, 0, rank == 0 ? k : 0, r));
    goto done;
  }
  /* A's C = (the solve's R)^T, m x k: this rank's block of its rows */
  prsvd_row_block(m, rank, nprocs, &r0, &rr);
  PRSVD_ALLOC(rows, rr * k > 0 ? rr * k : 1);
  for (int64_t i = 0; i < rr; i++)
    for (int64_t j = 0; j < k; j++) rows[i * k + j] = r[j * m + r0 + i];
  PRSVD_TRY(write_factor(w, comm, "/C", sparse, m, k, r0, rr, rows));
  /* A's R = (the solve's C)^T, k x n: the solve's C (n x k by row blocks) gathered whole on rank
   * 0, column-major, which is R row-major */
  PRSVD_ALLOC(counts, nprocs);
  PRSVD_ALLOC(displs, nprocs);
  for (int p = 0; p < nprocs; p++) {
    int64_t p0, pr;
    prsvd_row_block(n, p, nprocs, &p0, &pr);
    counts[p] = (int)pr, displs[p] = (int)p0;
  }
  if (n > INT_MAX) PRSVD_FAIL(PRSVD_ERR_USAGE, "the CUR's R of %lld columns is too wide to gather", (long long)n);
  if (rank == 0) whole = malloc(sizeof(double) * (size_t)(n * k));
  if (prsvd_error_agree(comm, rank == 0 && !whole ? prsvd_error_set(PRSVD_ERR_NOMEM, __FILE__, __LINE__, __func__,
                                                                     "out of memory gathering R (%lld x %lld)",
                                                                     (long long)k, (long long)n)
                                                  : PRSVD_OK))
    PRSVD_FAIL(PRSVD_ERR_NOMEM, "cannot gather the CUR's R");
  for (int64_t j = 0; j < k; j++)
    PRSVD_MPI_TRY(MPI_Gatherv(c + j * cld, (int)cr, MPI_DOUBLE, whole ? whole + j * n : NULL, counts, displs,
                              MPI_DOUBLE, 0, comm));
  PRSVD_TRY(write_factor(w, comm, "/R", sparse, k, n, 0, rank == 0 ? k : 0, whole));
done:
  free(rows), free(whole), free(counts), free(displs);
  return status;
}

static int write_id(struct prsvd_cli *cli, const struct id_opts *o, const char *file, const char *dataset,
                    int64_t m, int64_t n, int transposed, int sparse, const struct view *v, prsvd_id *id, const struct prsvd_id_stats *st,
                    const struct prsvd_id_plan *plan, const struct optimum *opt) {
  int status = PRSVD_OK;
  prsvd_h5_writer *w = NULL;
  prsvd_h5_matrix *mat = NULL;
  const int64_t k = v->k;
  const int rows_side = v->kind == PRSVD_ID_ROWS;
  const double rel = st->relative_error;
  PRSVD_CHECK(prsvd_h5_writer_create(cli->comm, o->output, o->force, &w));
  prsvd_profile_begin(PRSVD_EV_WRITE);
  if (v->kind == PRSVD_ID_CUR) { /* A ~ A(:, columns) U A(rows, :) */
    int rank;
    MPI_Comm_rank(cli->comm, &rank);
    PRSVD_TRY(prsvd_h5_write_indices(w, "/columns", k, v->cols_asc));
    PRSVD_TRY(prsvd_h5_write_indices(w, "/rows", k, v->rows_asc));
    PRSVD_TRY(prsvd_h5_write_indices(w, "/column_pivots", k, v->cols));
    PRSVD_TRY(prsvd_h5_write_indices(w, "/row_pivots", k, v->rows));
    PRSVD_TRY(prsvd_h5_matrix_create(w, "/U", k, k, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
    PRSVD_TRY(prsvd_h5_matrix_write_colmajor(mat, 0, rank == 0 ? k : 0, v->u, k));
    prsvd_h5_matrix_close(&mat);
    PRSVD_TRY(write_cur_factors(w, cli->comm, id, transposed, sparse, m, n, k));
  } else {
    PRSVD_TRY(prsvd_h5_write_indices(w, rows_side ? "/rows" : "/columns", k, v->cols_asc));
    PRSVD_TRY(prsvd_h5_write_indices(w, "/pivots", k, v->cols));
    PRSVD_TRY(write_coefficients(w, id, rows_side, rows_side ? m : n, k));
  }
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "prsvd_version", PACKAGE_VERSION));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "command_line", cli->command_line));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "input_file", file));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "input_dataset", dataset));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "method", method_of(v->kind)));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "rows", m));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "cols", n));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "rank", k));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "oversample", o->oversample));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "sketch_dim", plan->sketch_dim));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "power_iters", o->power_iters));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "passes", st->passes));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "seed", (int64_t)o->seed));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "sketch", o->sketch));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "pivoted_qr", st->qr_distributed ? "PDGEQPF" : "DGEQP3"));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "nprocs", cli->nprocs));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "memory", o->memory));
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "elapsed_seconds", MPI_Wtime() - cli->t_start));
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "norm_fro", st->norm_fro));
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "error_fro", st->error_fro));
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "relative_error", rel));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "error_from", st->error_verified ? "pass" : "probes"));
  if (!st->error_verified) {
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "error_ci_low", st->error_ci_low));
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "error_ci_high", st->error_ci_high));
  }
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "rdiag_ratio", st->rdiag_ratio));
  if (v->kind == PRSVD_ID_CUR) {
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "rows_rdiag_ratio", st->rows_rdiag_ratio));
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "c_rcond", st->c_rcond));
    PRSVD_TRY(prsvd_h5_attr_int(w, "/", "extra_pass", st->extra_pass));
  } else {
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "max_abs_coefficient", st->max_abs_coef));
  }
  if (opt) {
    PRSVD_TRY(prsvd_h5_attr_string(w, "/", "compare", o->compare));
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "optimal_error_fro", opt->error_fro));
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "sigma_next", opt->sigma_next));
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "error_ratio", opt->error_fro > 0 ? st->error_fro / opt->error_fro : NAN));
  }
  PRSVD_TRY(prsvd_h5_writer_commit(&w));
  prsvd_profile_end(PRSVD_EV_WRITE, 8.0 * (double)((v->kind == PRSVD_ID_CUR ? k : rows_side ? m : n) * k + 4 * k), 0.0);
done:
  prsvd_h5_matrix_close(&mat);
  prsvd_h5_writer_abort(&w);
  return status;
}

static void print_plan(const struct prsvd_cli *cli, const char *spec, const struct prsvd_h5_info *in,
                       const struct id_opts *o, int kind, const struct prsvd_id_plan *plan) {
  char b1[32], b2[32];
  const int64_t m = in->transposed ? in->cols : in->rows, n = in->transposed ? in->rows : in->cols;
  const int rows_side = kind == PRSVD_ID_ROWS;
  printf("prsvd %s %s: %lld x %lld %s%s on %d rank%s\n", kind == PRSVD_ID_CUR ? "cur" : "id", spec, (long long)m,
         (long long)n, in->sparse ? "sparse " : "", in->type, cli->nprocs, cli->nprocs > 1 ? "s" : "");
  printf("  %s of rank k = %lld from the %lld x %lld sketch %s (p = %lld, q = %lld, %s)\n",
         kind == PRSVD_ID_CUR ? "CUR" : rows_side ? "row ID" : "column ID", (long long)o->rank,
         (long long)(rows_side ? m : plan->sketch_dim), (long long)(rows_side ? plan->sketch_dim : n),
         rows_side ? "(A A^T)^q A Omega" : "Omega (A A^T)^q A", (long long)o->oversample,
         (long long)o->power_iters, o->sketch);
  printf("  %d passes over %s (%lld sketch, %s%s; the first again if A needs scaling by 2^e)\n", plan->passes,
         prsvd_format_bytes(plan->pass_bytes, b1, sizeof b1), (long long)o->power_iters + 1,
         kind == PRSVD_ID_CUR ? "one for C and A^T C, " : "",
         o->no_verify ? "error estimated from 10 probes" : "one to measure the error");
  if (plan->qr_distributed)
    printf("  pivoted QR: distributed (ScaLAPACK PDGEQPF over %d rank%s)\n", cli->nprocs, cli->nprocs > 1 ? "s" : "");
  else
    printf("  pivoted QR: local (LAPACK DGEQP3 on rank 0, %s there)\n",
           prsvd_format_bytes((double)plan->qr_bytes, b2, sizeof b2));
  if (kind == PRSVD_ID_CUR)
    printf("  the row ID of C = A(:, J): %s\n", plan->rows_qr_distributed ? "PDGEQPF" : "DGEQP3 on rank 0");
  printf("  panels of %lld rows, %s, %s reads\n", (long long)plan->panel_rows,
         in->sparse ? "CSR, float64" : plan->single ? "float32" : "float64", o->read);
  fflush(stdout);
}

static void print_indices(const char *what, int64_t k, const int64_t *x) {
  printf("%s (ascending):", what);
  for (int64_t j = 0; j < k && j < 12; j++) printf(" %lld", (long long)x[j]);
  printf(k > 12 ? " ... %lld\n" : "\n", (long long)x[k - 1]);
}

/* "passes N", and the pass that range scaling took (prsvd_id_pass) when it took one */
static const char *passes_done(const struct prsvd_id_stats *st, char *buf, size_t len) {
  if (st->scale_exp)
    snprintf(buf, len, "passes %d (the first again on 2^%d A: A lay beyond the sketches' range)", st->passes,
             st->scale_exp);
  else
    snprintf(buf, len, "passes %d", st->passes);
  return buf;
}

static void print_summary(const struct prsvd_cli *cli, const struct id_opts *o, const struct view *v,
                          const struct prsvd_id_stats *st, const struct optimum *opt,
                          const struct prsvd_profile_row *rows, double elapsed) {
  const int64_t k = v->k;
  char b[32], passes[128];
  if (cli->rank) return;
  print_indices(v->kind == PRSVD_ID_ROWS ? "rows" : "columns", k, v->cols_asc);
  if (v->kind == PRSVD_ID_CUR) print_indices("rows", k, v->rows_asc);
  const double rel = st->relative_error;
  if (st->error_verified)
    printf("error: ||A - %s||_F / ||A||_F = %.3e (measured by a pass; ||A||_F = %.6g)\n", approximation(v->kind),
           rel, st->norm_fro);
  else
    printf("error: ||A - %s||_F / ||A||_F ~ %.3e, 95%% in [%.3e, %.3e] (10 probes; ||A||_F = %.6g)\n",
           approximation(v->kind), rel, st->error_ci_low / st->norm_fro, st->error_ci_high / st->norm_fro,
           st->norm_fro);
  if (opt) {
    printf("optimal rank-%lld error (%s): %.3e, the %s's is %.3f times it", (long long)k, o->compare,
           opt->error_fro / st->norm_fro, v->kind == PRSVD_ID_CUR ? "CUR" : "ID",
           opt->error_fro > 0 ? st->error_fro / opt->error_fro : NAN);
    if (isnan(opt->sigma_next)) printf("\n");
    else printf("; sigma_%lld = %.3e\n", (long long)k + 1, opt->sigma_next);
  }
  if (v->kind == PRSVD_ID_CUR)
    printf("|R_kk| / |R_11|: %.3e (sketch), %.3e (C^T); rcond(R_C) = %.3e%s; %s, read %s, %.2f s\n",
           st->rdiag_ratio, st->rows_rdiag_ratio, st->c_rcond, st->extra_pass ? " (A^T Q_C by its own pass)" : "",
           passes_done(st, passes, sizeof passes), prsvd_format_bytes((double)st->bytes_read, b, sizeof b), elapsed);
  else
    printf("max |%s_ij| = %.3g, |R_kk| / |R_11| = %.3e; %s, read %s, %.2f s\n",
           v->kind == PRSVD_ID_ROWS ? "X" : "T", st->max_abs_coef, st->rdiag_ratio, passes_done(st, passes, sizeof passes),
           prsvd_format_bytes((double)st->bytes_read, b, sizeof b), elapsed);
  prsvd_profile_print(stdout, rows);
  printf("wrote %s\n", o->output);
}

static json_object *indices_json(int64_t k, const int64_t *x) {
  json_object *a = json_object_new_array();
  for (int64_t i = 0; i < k; i++) json_object_array_add(a, json_object_new_int64(x[i]));
  return a;
}

static json_object *summary_json(const struct prsvd_cli *cli, const char *spec, const struct id_opts *o,
                                 int64_t m, int64_t n, const struct view *v, const struct prsvd_id_stats *st,
                                 const struct prsvd_id_plan *plan, const struct optimum *opt,
                                 const struct prsvd_profile_row *rows, double elapsed) {
  const int64_t k = v->k;
  json_object *j = json_object_new_object();
  json_object_object_add(j, "command", json_object_new_string(v->kind == PRSVD_ID_CUR ? "cur" : "id"));
  json_object_object_add(j, "method", json_object_new_string(method_of(v->kind)));
  json_object_object_add(j, "input", json_object_new_string(spec));
  json_object_object_add(j, "output", json_object_new_string(o->output));
  json_object_object_add(j, "rows", json_object_new_int64(m));
  json_object_object_add(j, "cols", json_object_new_int64(n));
  json_object_object_add(j, "rank", json_object_new_int64(k));
  json_object_object_add(j, "oversample", json_object_new_int64(o->oversample));
  json_object_object_add(j, "sketch_dim", json_object_new_int64(plan->sketch_dim));
  json_object_object_add(j, "power_iters", json_object_new_int64(o->power_iters));
  json_object_object_add(j, "sketch", json_object_new_string(o->sketch));
  json_object_object_add(j, "pivoted_qr", json_object_new_string(st->qr_distributed ? "PDGEQPF" : "DGEQP3"));
  json_object_object_add(j, "nprocs", json_object_new_int(cli->nprocs));
  json_object_object_add(j, "passes", json_object_new_int(st->passes));
  json_object_object_add(j, "passes_planned", json_object_new_int(plan->passes));
  /* the first pass again on 2^scale_exp A (prsvd_id_pass): one pass beyond the plan */
  json_object_object_add(j, "scale_exp", json_object_new_int(st->scale_exp));
  json_object_object_add(j, "range_pass", json_object_new_boolean(st->scale_exp != 0));
  json_object_object_add(j, "panel_rows", json_object_new_int64(st->panel_rows));
  json_object_object_add(j, "precision", json_object_new_string(prsvd_precision_name(st->single)));
  json_object_object_add(j, "bytes_read", json_object_new_int64(st->bytes_read));
  if (v->kind == PRSVD_ID_CUR) {
    json_object *u = json_object_new_array();
    for (int64_t i = 0; i < k; i++) {
      json_object *row = json_object_new_array();
      for (int64_t c = 0; c < k; c++) json_object_array_add(row, prsvd_json_double(v->u[c * k + i]));
      json_object_array_add(u, row);
    }
    json_object_object_add(j, "column_indices", indices_json(k, v->cols_asc));
    json_object_object_add(j, "row_indices", indices_json(k, v->rows_asc));
    json_object_object_add(j, "column_pivots", indices_json(k, v->cols));
    json_object_object_add(j, "row_pivots", indices_json(k, v->rows));
    json_object_object_add(j, "U", u);
    json_object_object_add(j, "rows_rdiag_ratio", prsvd_json_double(st->rows_rdiag_ratio));
    json_object_object_add(j, "c_rcond", prsvd_json_double(st->c_rcond));
    json_object_object_add(j, "extra_pass", json_object_new_boolean(st->extra_pass));
  } else {
    json_object_object_add(j, v->kind == PRSVD_ID_ROWS ? "row_indices" : "column_indices", indices_json(k, v->cols_asc));
    json_object_object_add(j, "pivots", indices_json(k, v->cols));
    json_object_object_add(j, "max_abs_coefficient", prsvd_json_double(st->max_abs_coef));
  }
  json_object_object_add(j, "norm_fro", prsvd_json_double(st->norm_fro));
  json_object_object_add(j, "error_fro", prsvd_json_double(st->error_fro));
  json_object_object_add(j, "relative_error", prsvd_json_double(st->relative_error));
  json_object_object_add(j, "error_from", json_object_new_string(st->error_verified ? "pass" : "probes"));
  if (!st->error_verified) {
    json_object *ci = json_object_new_array();
    json_object_array_add(ci, prsvd_json_double(st->error_ci_low));
    json_object_array_add(ci, prsvd_json_double(st->error_ci_high));
    json_object_object_add(j, "error_ci", ci);
  }
  json_object_object_add(j, "rdiag_ratio", prsvd_json_double(st->rdiag_ratio));
  if (opt) {
    json_object_object_add(j, "optimal_error_fro", prsvd_json_double(opt->error_fro));
    json_object_object_add(j, "sigma_next", prsvd_json_double(opt->sigma_next));
    json_object_object_add(j, "error_ratio", prsvd_json_double(opt->error_fro > 0 ? st->error_fro / opt->error_fro : NAN));
  }
  json_object_object_add(j, "elapsed_seconds", prsvd_json_double(elapsed));
  json_object_object_add(j, "phases", prsvd_profile_json(rows));
  return j;
}

/* Options into library parameters, kind the streamed matrix's. */
static int resolve(const struct id_opts *o, int kind, struct prsvd_id_params *prm) {
  static const char *const sketches[] = {"gaussian", "sparse"}, *const qrs[] = {"auto", "local", "distributed"};
  int i;
  prm->rank = o->rank;
  prm->oversample = o->oversample;
  prm->power_iters = (int)o->power_iters;
  prm->seed = o->seed;
  prm->memory = o->memory;
  prm->kind = (enum prsvd_id_kind)kind;
  PRSVD_CHECK(prsvd_parse_choice(o->sketch, "--sketch", sketches, 2, &i));
  prm->test_matrix = (enum prsvd_test_matrix)i;
  PRSVD_CHECK(prsvd_parse_choice(o->qr, "--qr", qrs, 3, &i));
  prm->qr = (enum prsvd_id_qr)i;
  prm->verify = !o->no_verify;
  prm->prefetch = !o->no_prefetch;
  PRSVD_CHECK(prsvd_precision_parse(o->precision, &prm->precision));
  return PRSVD_OK;
}

static int id_main(struct prsvd_cli *cli, int argc, char **argv, const struct prsvd_command_doc *doc, int cur) {
  int status = PRSVD_OK;
  struct id_opts o;
  const char *pos[1] = {NULL};
  char *file = NULL, *dataset = NULL;
  prsvd_source *src = NULL;
  prsvd_id *id = NULL;
  struct prsvd_h5_info info;
  struct prsvd_h5_input how;
  struct prsvd_id_params prm = PRSVD_ID_PARAMS_INIT;
  struct prsvd_id_plan plan;
  struct prsvd_id_stats st;
  struct prsvd_progress progress;
  struct prsvd_profile_row rows[PRSVD_N_EVENTS];
  struct optimum opt;
  struct view v = {0, 0, NULL, NULL, NULL, NULL, NULL};

  status = prsvd_options_parse(doc, id_options, argc, argv, &o, pos);
  if (status) return status;
  PRSVD_TRY(prsvd_cli_input(o.read, "rows", o.memory, &how));
  PRSVD_TRY(prsvd_h5_set_mpiio_hints(o.mpiio_hints.n, o.mpiio_hints.items));
  PRSVD_TRY(prsvd_h5_parse_spec(pos[0], &file, &dataset));
  PRSVD_TRY(prsvd_h5_open_input(cli->comm, file, dataset, &how, &info, &src));
  /* a CSC or MATLAB layout streams A^T: A's column ID is the streamed matrix's row ID, and
   * its CUR the streamed one's with the roles of rows and columns swapped */
  const int64_t m = info.transposed ? info.cols : info.rows, n = info.transposed ? info.rows : info.cols;
  const int kind = cur ? PRSVD_ID_CUR : o.rows ? PRSVD_ID_ROWS : PRSVD_ID_COLUMNS;
  PRSVD_TRY(resolve(&o, cur ? kind : (o.rows ^ info.transposed), &prm));
  if (o.rank > (m < n ? m : n))
    PRSVD_FAIL(PRSVD_ERR_USAGE, "--rank %lld exceeds min(rows, cols) = %lld of '%s'", (long long)o.rank,
               (long long)(m < n ? m : n), pos[0]);
  PRSVD_TRY(prsvd_id_plan(&prm, src, cli->nprocs, &plan));
  PRSVD_TRY(prsvd_cli_check_files(cli, file, o.output, o.force, NULL));
  if (o.compare) {
    const struct prsvd_h5_role reads[] = {{"input", file}, {"--compare", o.compare}, {NULL, NULL}};
    PRSVD_TRY(prsvd_h5_check_output(cli->comm, o.output, o.force, reads));
    if (access(o.compare, R_OK))
      PRSVD_FAIL(PRSVD_ERR_INPUT, "cannot read --compare '%s'", o.compare);
  }
  if (!o.quiet && !o.json && cli->rank == 0) print_plan(cli, pos[0], &info, &o, kind, &plan);

  prsvd_progress_init(&progress, cli, !o.quiet && (o.progress || isatty(2)), 8.0 * (double)info.cols);
  prm.progress = prsvd_progress_report;
  prm.progress_arg = &progress;
  prsvd_profile_reset();
  PRSVD_TRY(prsvd_id_create(cli->comm, &id));
  PRSVD_TRY(prsvd_id_set_params(id, &prm));
  PRSVD_TRY(prsvd_id_solve(id, src));
  PRSVD_TRY(prsvd_id_get_stats(id, &st));
  PRSVD_TRY(view_of(id, kind, info.transposed, &v));
  if (o.compare) PRSVD_TRY(read_optimum(cli, o.compare, m, n, o.rank, st.norm_fro, &opt));
  PRSVD_TRY(write_id(cli, &o, file, dataset, m, n, info.transposed, info.sparse, &v, id, &st, &plan, o.compare ? &opt : NULL));

  double elapsed = MPI_Wtime() - cli->t_start;
  prsvd_profile_reduce(cli->comm, rows);
  if (o.json) {
    json_object *j = summary_json(cli, pos[0], &o, m, n, &v, &st, &plan, o.compare ? &opt : NULL, rows, elapsed);
    prsvd_cli_print_json(cli, j);
    json_object_put(j);
  } else if (!o.quiet) {
    print_summary(cli, &o, &v, &st, o.compare ? &opt : NULL, rows, elapsed);
  }
done:
  free(v.u);
  prsvd_id_destroy(&id);
  prsvd_source_destroy(&src);
  free(file);
  free(dataset);
  return status;
}

int cmd_id(struct prsvd_cli *cli, int argc, char **argv) { return id_main(cli, argc, argv, &id_doc, 0); }

int cmd_cur(struct prsvd_cli *cli, int argc, char **argv) { return id_main(cli, argc, argv, &cur_doc, 1); }
