/* prsvd gen FILE:/DS --rows M --cols N --spectrum ...: a test matrix with a planted spectrum,
 * generated and written in parallel panel by panel. */
#include <stdlib.h>
#include <string.h>

#include "prsvd_h5.h"
#include "cli.h"
#include "error.h"
#include "options.h"
#include "prsvd_planted.h"

struct gen_opts {
  int64_t rows, cols, rank, gzip, memory;
  double decay, noise;
  uint64_t seed;
  const char *spectrum, *dtype, *chunk, *symmetric;
  struct prsvd_opt_list mpiio_hints;
  int force, quiet, debug;
};

#define O(f) offsetof(struct gen_opts, f)
static const struct prsvd_option gen_options[] = {
    {"rows", 0, PRSVD_OPT_INT, "M", NULL, 1, 1e15, 1, "rows m", O(rows)},
    {"cols", 0, PRSVD_OPT_INT, "N", NULL, 1, 1e12, 1, "columns n", O(cols)},
    {"spectrum", 0, PRSVD_OPT_STRING, "KIND", "poly", 0, 0, 0, "poly: j^-D; exp: 10^(-D j); lowrank-noise: R ones + noise", O(spectrum)},
    {"decay", 0, PRSVD_OPT_DOUBLE, "D", "1", 0, 1e3, 0, "decay D of poly and exp", O(decay)},
    {"rank", 0, PRSVD_OPT_INT, "R", "10", 0, 1e12, 0, "unit singular values of lowrank-noise", O(rank)},
    {"noise", 0, PRSVD_OPT_DOUBLE, "XI", "0.01", 0, 1e6, 0, "lowrank-noise: adds XI * G / sqrt(n), G Gaussian", O(noise)},
    {"seed", 0, PRSVD_OPT_UINT64, "S", "0", 0, 0, 0, "seed of the singular vectors and noise", O(seed)},
    {"symmetric", 0, PRSVD_OPT_STRING, "KIND", NULL, 0, 0, 0, "psd (A = H D H) or indefinite (random signs); needs M = N", O(symmetric)},
    {"dtype", 0, PRSVD_OPT_STRING, "TYPE", "float64", 0, 0, 0, "float64 or float32", O(dtype)},
    {"chunk", 0, PRSVD_OPT_STRING, "RxC", NULL, 0, 0, 0, "chunk shape (default: contiguous)", O(chunk)},
    {"gzip", 0, PRSVD_OPT_INT, "LEVEL", "0", 0, 9, 0, "gzip level for chunked datasets", O(gzip)},
    {"memory", 0, PRSVD_OPT_SIZE, "SIZE", "256M", 1, 0, 0, "per-rank budget for the panels generated", O(memory)},
    PRSVD_OPT_FORCE(struct gen_opts),
    PRSVD_OPT_QUIET(struct gen_opts, "print nothing on success"),
    PRSVD_OPT_MPIIO_HINT(struct gen_opts),
    PRSVD_OPT_DEBUG(struct gen_opts),
    PRSVD_OPT_END};
#undef O

static const struct prsvd_command_doc gen_doc = {
    "gen", "FILE.h5:/DATASET --rows M --cols N [options]",
    "Write an m x n matrix with a planted singular spectrum (A = H_u D H_v with Householder\n"
    "reflections H), generated in parallel and never held whole.  The exact singular values\n"
    "are stored as the dataset attribute 'singular_values' (poly, exp, and lowrank-noise with\n"
    "--noise 0).  FILE is created (temporary + rename); an existing FILE needs --force.",
    1,
    "# 100000 x 4000, singular values 1/j, in gzip-compressed chunks\n"
    "prsvd gen t.h5:/A --rows 100000 --cols 4000 --chunk 1000x500 --gzip 4\n"
    "# a symmetric positive-semidefinite test matrix for prsvd eig\n"
    "prsvd gen gram.h5:/G --rows 2000 --cols 2000 --symmetric psd",
    0};

/* Sizes checked before anything is created: the matrix must fit a file (its float64 panels
 * are counted in int64) and a chunk, as the writer clips it to the matrix, HDF5's limit. */
static int check_sizes(const struct gen_opts *o, int64_t elem, int64_t chunk_rows, int64_t chunk_cols) {
  if (prsvd_size_mul(prsvd_size_mul(o->rows, o->cols), 8) == PRSVD_SIZE_OVERFLOW)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--rows %lld --cols %lld is %.3g bytes as float64, more than the 2^63 - 1 bytes a "
              "file holds: at most %lld rows of %lld columns", (long long)o->rows, (long long)o->cols,
              8.0 * (double)o->rows * (double)o->cols, (long long)(INT64_MAX / 8 / o->cols), (long long)o->cols);
  if (!o->chunk) return PRSVD_OK;
  const int64_t r = chunk_rows < o->rows ? chunk_rows : o->rows, c = chunk_cols < o->cols ? chunk_cols : o->cols;
  const int64_t bytes = prsvd_size_mul(prsvd_size_mul(r, c), elem);
  if (bytes > UINT32_MAX)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--chunk %s makes %lld x %lld chunks of %.3g bytes of %s: an HDF5 chunk holds at "
              "most 4294967295 bytes", o->chunk, (long long)r, (long long)c, (double)r * (double)c * (double)elem, o->dtype);
  return PRSVD_OK;
}

int cmd_gen(struct prsvd_cli *cli, int argc, char **argv) {
  int status;
  struct gen_opts o;
  const char *pos[1] = {NULL};
  char *file = NULL, *dataset = NULL;
  struct prsvd_planted_params pp;
  prsvd_source *src = NULL;
  prsvd_h5_writer *w = NULL;
  prsvd_h5_matrix *mat = NULL;
  double *panel = NULL, *sigma = NULL;
  int64_t chunk_rows = 0, chunk_cols = 0;
  enum prsvd_h5_dtype dtype;

  status = prsvd_options_parse(&gen_doc, gen_options, argc, argv, &o, pos);
  if (status) return status;
  PRSVD_CHECK(prsvd_h5_set_mpiio_hints(o.mpiio_hints.n, o.mpiio_hints.items));
  memset(&pp, 0, sizeof pp);
  PRSVD_TRY(prsvd_spectrum_parse(o.spectrum, &pp.spectrum));
  if (!strcmp(o.dtype, "float64")) dtype = PRSVD_H5_FLOAT64;
  else if (!strcmp(o.dtype, "float32")) dtype = PRSVD_H5_FLOAT32;
  else PRSVD_FAIL(PRSVD_ERR_USAGE, "unknown --dtype '%s': expected float64 or float32", o.dtype);
  if (o.chunk)
    PRSVD_TRY(prsvd_parse_pair(o.chunk, "--chunk", "ROWSxCOLS (e.g. 1000x500)", INT64_MAX, &chunk_rows, &chunk_cols));
  if (o.gzip && !o.chunk) PRSVD_FAIL(PRSVD_ERR_USAGE, "--gzip needs --chunk (HDF5 compresses chunks)");
  PRSVD_TRY(check_sizes(&o, dtype == PRSVD_H5_FLOAT32 ? 4 : 8, chunk_rows, chunk_cols));
  PRSVD_TRY(prsvd_h5_parse_spec(pos[0], &file, &dataset));
  pp.rows = o.rows;
  pp.cols = o.cols;
  pp.decay = o.decay;
  pp.rank = o.rank;
  pp.noise = o.noise;
  pp.seed = o.seed;
  if (o.symmetric && !strcmp(o.symmetric, "psd")) pp.symmetric = 1;
  else if (o.symmetric && !strcmp(o.symmetric, "indefinite")) pp.symmetric = 2;
  else if (o.symmetric) PRSVD_FAIL(PRSVD_ERR_USAGE, "unknown --symmetric '%s': expected psd or indefinite", o.symmetric);
  if (pp.symmetric && o.rows != o.cols)
    PRSVD_FAIL(PRSVD_ERR_USAGE, "--symmetric needs a square matrix: --rows %lld --cols %lld",
               (long long)o.rows, (long long)o.cols);
  int64_t mn = o.rows < o.cols ? o.rows : o.cols;
  if (pp.spectrum == PRSVD_SPECTRUM_LOWRANK_NOISE && (o.rank < 1 || o.rank > mn))
    PRSVD_FAIL(PRSVD_ERR_USAGE, "--rank %lld must be between 1 and min(rows, cols) = %lld",
               (long long)o.rank, (long long)mn);
  int64_t panel_rows = o.memory / (8 * o.cols);
  if (panel_rows < 1)
    PRSVD_FAIL(PRSVD_ERR_USAGE, "--memory %lld bytes holds less than one row of %lld columns",
               (long long)o.memory, (long long)o.cols);
  if (chunk_rows > 0 && panel_rows > chunk_rows) panel_rows -= panel_rows % chunk_rows;

  PRSVD_TRY(prsvd_source_planted(&pp, &src));
  const char *written[] = {dataset, NULL};
  PRSVD_TRY(prsvd_h5_writer_update(cli->comm, file, written, o.force, &w));
  PRSVD_TRY(prsvd_h5_matrix_create(w, dataset, o.rows, o.cols, dtype, chunk_rows, chunk_cols,
                                   (int)o.gzip, &mat));
  int64_t row0, local_rows, block = (o.rows + cli->nprocs - 1) / cli->nprocs;
  prsvd_row_block(o.rows, cli->rank, cli->nprocs, &row0, &local_rows);
  if (panel_rows > block) panel_rows = block;
  PRSVD_ALLOC(panel, panel_rows * o.cols);
  /* every rank makes the same number of collective writes; the short ones write nothing */
  for (int64_t r = 0; r < block; r += panel_rows) {
    int64_t nr = local_rows - r;
    if (nr > panel_rows) nr = panel_rows;
    if (nr < 0) nr = 0;
    prsvd_profile_begin(PRSVD_EV_GENERATE);
    if (nr > 0) status = prsvd_source_read(src, row0 + r, nr, panel);
    prsvd_profile_end(PRSVD_EV_GENERATE, 0.0, 0.0);
    PRSVD_TRY(prsvd_error_agree(cli->comm, status));
    PRSVD_TRY(prsvd_h5_matrix_write(mat, row0 + r, nr, panel));
  }
  if (pp.spectrum != PRSVD_SPECTRUM_LOWRANK_NOISE || o.noise == 0.0) {
    PRSVD_ALLOC(sigma, mn);
    for (int64_t j = 0; j < mn; j++) sigma[j] = prsvd_planted_sigma(&pp, j);
    PRSVD_TRY(prsvd_h5_attr_doubles(w, dataset, "singular_values", mn, sigma));
  }
  PRSVD_TRY(prsvd_h5_attr_string(w, dataset, "spectrum", o.spectrum));
  PRSVD_TRY(prsvd_h5_attr_double(w, dataset, "decay", o.decay));
  PRSVD_TRY(prsvd_h5_attr_int(w, dataset, "planted_rank", o.rank));
  PRSVD_TRY(prsvd_h5_attr_double(w, dataset, "noise", o.noise));
  PRSVD_TRY(prsvd_h5_attr_int(w, dataset, "seed", (int64_t)o.seed));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "command_line", cli->command_line));
  prsvd_h5_matrix_close(&mat);
  PRSVD_TRY(prsvd_h5_writer_commit(&w));
  if (!o.quiet && cli->rank == 0)
    printf("wrote %s:%s (%lld x %lld %s, %s spectrum) in %.2f s\n", file, dataset,
           (long long)o.rows, (long long)o.cols, o.dtype, o.spectrum, MPI_Wtime() - cli->t_start);
done:
  prsvd_h5_matrix_close(&mat);
  prsvd_h5_writer_abort(&w);
  prsvd_source_destroy(&src);
  free(panel);
  free(sigma);
  free(file);
  free(dataset);
  return status;
}
