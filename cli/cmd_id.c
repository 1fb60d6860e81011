/* prsvd id FILE:/DS -k K -o OUT.h5: the interpolative decomposition A ~ A(:, J) T (with --rows
 * A ~ X A(I, :)), written as the chosen indices and the coefficients, with the measured error. */
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

#define O(f) offsetof(struct id_opts, f)
static const struct prsvd_option id_options[] = {
    {"rank", 'k', PRSVD_OPT_INT, "K", NULL, 1, 1e12, PRSVD_OPT_REQUIRED, "columns (rows) to choose, 1..min(m, n)", O(rank)},
    {"rows", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "the row ID A ~ X A(I, :) from a column sketch, instead of the column ID", O(rows)},
    {"oversample", 'p', PRSVD_OPT_INT, "P", "10", 0, 1e6, 0, "extra sketch rows: the sketch is (k + p) x n (reduced to min(m, n))", O(oversample)},
    {"power-iters", 'q', PRSVD_OPT_INT, "Q", "1", 0, 100, 0, "power iterations; the sketch reads A q + 1 times", O(power_iters)},
    {"sketch", 0, PRSVD_OPT_STRING, "KIND", "gaussian", 0, 0, 0, "the first pass's test matrix: gaussian or sparse (sign map)", O(sketch)},
    {"qr", 0, PRSVD_OPT_STRING, "WHERE", "auto", 0, 0, 0, "the pivoted QR of the sketch: local (LAPACK DGEQP3 on rank 0), distributed (ScaLAPACK PDGEQPF), or auto: local when 8 (k + p + k + 1) N bytes fit in --memory", O(qr)},
    {"no-verify-pass", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "estimate ||A - approximation||_F from 10 probes in the last sketch pass (with a 95% interval) instead of measuring it in one more pass", O(no_verify)},
    {"compare", 0, PRSVD_OPT_STRING, "SVD.h5", NULL, 0, 0, 0, "an SVD of the same matrix (prsvd svd's output, or any file with /S): report the optimal rank-k error beside the ID's", O(compare)},
    {"seed", 0, PRSVD_OPT_UINT64, "S", "0", 0, 0, 0, "seed of the test matrices", O(seed)},
    {"memory", 0, PRSVD_OPT_SIZE, "SIZE", "512M", 1, 0, 0, "per-rank ceiling for row panels; panels stay near 4 MiB", O(memory)},
    {"no-prefetch", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "read panels on the main thread", O(no_prefetch)},
    PRSVD_OPT_PRECISION(struct id_opts),
    PRSVD_OPT_READ(struct id_opts),
    PRSVD_OPT_MPIIO_HINT(struct id_opts),
    {"output", 'o', PRSVD_OPT_STRING, "OUT.h5", NULL, 0, 0, PRSVD_OPT_REQUIRED, "output file: /columns (J ascending), /pivots (J as chosen), /T (k x n); with --rows /rows, /pivots, /X (m x k)", O(output)},
    PRSVD_OPT_FORCE(struct id_opts),
    PRSVD_OPT_JSON(struct id_opts),
    PRSVD_OPT_PROGRESS(struct id_opts),
    PRSVD_OPT_QUIET(struct id_opts, "no progress, plan or summary"),
    PRSVD_OPT_DEBUG(struct id_opts),
    PRSVD_OPT_END};
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
    0};

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
    double tail = 0.0, head = 0.0;
    for (int64_t j = 0; j < len; j++) *(j < k ? &head : &tail) += s[j] * s[j];
    msg[0] = (double)len;
    msg[1] = len >= mn ? sqrt(tail) : sqrt(fmax(norm_fro * norm_fro - head, 0.0));
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

static int write_id(struct prsvd_cli *cli, const struct id_opts *o, const char *file, const char *dataset,
                    int64_t m, int64_t n, int rows_side, prsvd_id *id, const struct prsvd_id_stats *st,
                    const struct prsvd_id_plan *plan, const struct optimum *opt) {
  int status = PRSVD_OK;
  prsvd_h5_writer *w = NULL;
  const int64_t *chosen, *ascending;
  int64_t k;
  const double rel = st->norm_fro > 0 ? st->error_fro / st->norm_fro : 0.0;
  PRSVD_CHECK(prsvd_id_get_indices(id, &k, &chosen, &ascending));
  PRSVD_CHECK(prsvd_h5_writer_create(cli->comm, o->output, o->force, &w));
  prsvd_profile_begin(PRSVD_EV_WRITE);
  PRSVD_TRY(prsvd_h5_write_indices(w, rows_side ? "/rows" : "/columns", k, ascending));
  PRSVD_TRY(prsvd_h5_write_indices(w, "/pivots", k, chosen));
  PRSVD_TRY(write_coefficients(w, id, rows_side, rows_side ? m : n, k));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "prsvd_version", PACKAGE_VERSION));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "command_line", cli->command_line));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "input_file", file));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "input_dataset", dataset));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "method", rows_side ? "row-id" : "column-id"));
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
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "max_abs_coefficient", st->max_abs_coef));
  if (opt) {
    PRSVD_TRY(prsvd_h5_attr_string(w, "/", "compare", o->compare));
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "optimal_error_fro", opt->error_fro));
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "sigma_next", opt->sigma_next));
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "error_ratio", opt->error_fro > 0 ? st->error_fro / opt->error_fro : NAN));
  }
  PRSVD_TRY(prsvd_h5_writer_commit(&w));
  prsvd_profile_end(PRSVD_EV_WRITE, 8.0 * (double)((rows_side ? m : n) * k + 2 * k), 0.0);
done:
  prsvd_h5_writer_abort(&w);
  return status;
}

static void print_plan(const struct prsvd_cli *cli, const char *spec, const struct prsvd_h5_info *in,
                       const struct id_opts *o, int rows_side, const struct prsvd_id_plan *plan) {
  char b1[32], b2[32];
  const int64_t m = in->transposed ? in->cols : in->rows, n = in->transposed ? in->rows : in->cols;
  const double pass_bytes = in->sparse ? 16.0 * (double)in->nnz + 8.0 * (double)(m + 1)
                                       : (plan->single ? 4.0 : 8.0) * (double)m * (double)n;
  printf("prsvd id %s: %lld x %lld %s%s on %d rank%s\n", spec, (long long)m, (long long)n,
         in->sparse ? "sparse " : "", in->type, cli->nprocs, cli->nprocs > 1 ? "s" : "");
  printf("  %s ID of rank k = %lld from the %lld x %lld sketch %s (p = %lld, q = %lld, %s)\n",
         rows_side ? "row" : "column", (long long)o->rank, (long long)(rows_side ? m : plan->sketch_dim),
         (long long)(rows_side ? plan->sketch_dim : n),
         rows_side ? "(A A^T)^q A Omega" : "Omega (A A^T)^q A", (long long)o->oversample,
         (long long)o->power_iters, o->sketch);
  printf("  %d passes over %s (%lld sketch, %s)\n", plan->passes, prsvd_format_bytes(pass_bytes, b1, sizeof b1),
         (long long)o->power_iters + 1, o->no_verify ? "error estimated from 10 probes" : "one to measure the error");
  if (plan->qr_distributed)
    printf("  pivoted QR: distributed (ScaLAPACK PDGEQPF over %d rank%s)\n", cli->nprocs, cli->nprocs > 1 ? "s" : "");
  else
    printf("  pivoted QR: local (LAPACK DGEQP3 on rank 0, %s there)\n",
           prsvd_format_bytes((double)plan->qr_bytes, b2, sizeof b2));
  printf("  panels of %lld rows, %s, %s reads\n", (long long)plan->panel_rows,
         in->sparse ? "CSR, float64" : plan->single ? "float32" : "float64", o->read);
  fflush(stdout);
}

static void print_summary(const struct prsvd_cli *cli, const struct id_opts *o, int rows_side, prsvd_id *id,
                          const struct prsvd_id_stats *st, const struct optimum *opt,
                          const struct prsvd_profile_row *rows, double elapsed) {
  const int64_t *chosen;
  int64_t k;
  char b[32];
  if (cli->rank) return;
  prsvd_id_get_indices(id, &k, NULL, &chosen);
  printf("%s (ascending):", rows_side ? "rows" : "columns");
  for (int64_t j = 0; j < k && j < 12; j++) printf(" %lld", (long long)chosen[j]);
  printf(k > 12 ? " ... %lld\n" : "\n", (long long)chosen[k - 1]);
  const double rel = st->norm_fro > 0 ? st->error_fro / st->norm_fro : 0.0;
  if (st->error_verified)
    printf("error: ||A - %s||_F / ||A||_F = %.3e (measured by a pass; ||A||_F = %.6g)\n",
           rows_side ? "X A(I,:)" : "A(:,J) T", rel, st->norm_fro);
  else
    printf("error: ||A - %s||_F / ||A||_F ~ %.3e, 95%% in [%.3e, %.3e] (10 probes; ||A||_F = %.6g)\n",
           rows_side ? "X A(I,:)" : "A(:,J) T", rel, st->error_ci_low / st->norm_fro,
           st->error_ci_high / st->norm_fro, st->norm_fro);
  if (opt) {
    printf("optimal rank-%lld error (%s): %.3e, the ID's is %.3f times it", (long long)k, o->compare,
           opt->error_fro / st->norm_fro, opt->error_fro > 0 ? st->error_fro / opt->error_fro : NAN);
    if (isnan(opt->sigma_next)) printf("\n");
    else printf("; sigma_%lld = %.3e\n", (long long)k + 1, opt->sigma_next);
  }
  printf("max |%s_ij| = %.3g, |R_kk| / |R_11| = %.3e; passes %d, read %s, %.2f s\n", rows_side ? "X" : "T",
         st->max_abs_coef, st->rdiag_ratio, st->passes, prsvd_format_bytes((double)st->bytes_read, b, sizeof b),
         elapsed);
  prsvd_profile_print(stdout, rows);
  printf("wrote %s\n", o->output);
}

static json_object *summary_json(const struct prsvd_cli *cli, const char *spec, const struct id_opts *o,
                                 int64_t m, int64_t n, int rows_side, prsvd_id *id, const struct prsvd_id_stats *st,
                                 const struct prsvd_id_plan *plan, const struct optimum *opt,
                                 const struct prsvd_profile_row *rows, double elapsed) {
  const int64_t *chosen, *ascending;
  int64_t k;
  prsvd_id_get_indices(id, &k, &chosen, &ascending);
  json_object *j = json_object_new_object(), *asc = json_object_new_array(), *piv = json_object_new_array();
  for (int64_t i = 0; i < k; i++) {
    json_object_array_add(asc, json_object_new_int64(ascending[i]));
    json_object_array_add(piv, json_object_new_int64(chosen[i]));
  }
  json_object_object_add(j, "command", json_object_new_string("id"));
  json_object_object_add(j, "method", json_object_new_string(rows_side ? "row-id" : "column-id"));
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
  json_object_object_add(j, "panel_rows", json_object_new_int64(st->panel_rows));
  json_object_object_add(j, "precision", json_object_new_string(prsvd_precision_name(st->single)));
  json_object_object_add(j, "bytes_read", json_object_new_int64(st->bytes_read));
  json_object_object_add(j, rows_side ? "row_indices" : "column_indices", asc);
  json_object_object_add(j, "pivots", piv);
  json_object_object_add(j, "norm_fro", json_object_new_double(st->norm_fro));
  json_object_object_add(j, "error_fro", json_object_new_double(st->error_fro));
  json_object_object_add(j, "relative_error", json_object_new_double(st->norm_fro > 0 ? st->error_fro / st->norm_fro : 0.0));
  json_object_object_add(j, "error_from", json_object_new_string(st->error_verified ? "pass" : "probes"));
  if (!st->error_verified) {
    json_object *ci = json_object_new_array();
    json_object_array_add(ci, json_object_new_double(st->error_ci_low));
    json_object_array_add(ci, json_object_new_double(st->error_ci_high));
    json_object_object_add(j, "error_ci", ci);
  }
  json_object_object_add(j, "rdiag_ratio", json_object_new_double(st->rdiag_ratio));
  json_object_object_add(j, "max_abs_coefficient", json_object_new_double(st->max_abs_coef));
  if (opt) {
    json_object_object_add(j, "optimal_error_fro", json_object_new_double(opt->error_fro));
    json_object_object_add(j, "sigma_next", isnan(opt->sigma_next) ? NULL : json_object_new_double(opt->sigma_next));
    json_object_object_add(j, "error_ratio", json_object_new_double(opt->error_fro > 0 ? st->error_fro / opt->error_fro : 0.0));
  }
  json_object_object_add(j, "elapsed_seconds", json_object_new_double(elapsed));
  json_object_object_add(j, "phases", prsvd_profile_json(rows));
  return j;
}

/* Options into library parameters. */
static int resolve(const struct id_opts *o, int side, struct prsvd_id_params *prm) {
  static const char *const sketches[] = {"gaussian", "sparse"}, *const qrs[] = {"auto", "local", "distributed"};
  int i;
  prm->rank = o->rank;
  prm->oversample = o->oversample;
  prm->power_iters = (int)o->power_iters;
  prm->seed = o->seed;
  prm->memory = o->memory;
  prm->kind = side ? PRSVD_ID_ROWS : PRSVD_ID_COLUMNS;
  PRSVD_CHECK(prsvd_parse_choice(o->sketch, "--sketch", sketches, 2, &i));
  prm->test_matrix = (enum prsvd_test_matrix)i;
  PRSVD_CHECK(prsvd_parse_choice(o->qr, "--qr", qrs, 3, &i));
  prm->qr = (enum prsvd_id_qr)i;
  prm->verify = !o->no_verify;
  prm->prefetch = !o->no_prefetch;
  PRSVD_CHECK(prsvd_precision_parse(o->precision, &prm->precision));
  return PRSVD_OK;
}

int cmd_id(struct prsvd_cli *cli, int argc, char **argv) {
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

  status = prsvd_options_parse(&id_doc, id_options, argc, argv, &o, pos);
  if (status) return status;
  PRSVD_TRY(prsvd_cli_input(o.read, "rows", o.memory, &how));
  PRSVD_TRY(prsvd_h5_set_mpiio_hints(o.mpiio_hints.n, o.mpiio_hints.items));
  PRSVD_TRY(prsvd_h5_parse_spec(pos[0], &file, &dataset));
  PRSVD_TRY(prsvd_h5_open_input(cli->comm, file, dataset, &how, &info, &src));
  /* a CSC or MATLAB layout streams A^T: A's column ID is the streamed matrix's row ID */
  const int64_t m = info.transposed ? info.cols : info.rows, n = info.transposed ? info.rows : info.cols;
  const int streamed_rows = o.rows ^ info.transposed;
  PRSVD_TRY(resolve(&o, streamed_rows, &prm));
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
  if (!o.quiet && !o.json && cli->rank == 0) print_plan(cli, pos[0], &info, &o, o.rows, &plan);

  prsvd_progress_init(&progress, cli, !o.quiet && (o.progress || isatty(2)), 8.0 * (double)info.cols);
  prm.progress = prsvd_progress_report;
  prm.progress_arg = &progress;
  prsvd_profile_reset();
  PRSVD_TRY(prsvd_id_create(cli->comm, &id));
  PRSVD_TRY(prsvd_id_set_params(id, &prm));
  PRSVD_TRY(prsvd_id_solve(id, src));
  PRSVD_TRY(prsvd_id_get_stats(id, &st));
  if (o.compare) PRSVD_TRY(read_optimum(cli, o.compare, m, n, o.rank, st.norm_fro, &opt));
  PRSVD_TRY(write_id(cli, &o, file, dataset, m, n, o.rows, id, &st, &plan, o.compare ? &opt : NULL));

  double elapsed = MPI_Wtime() - cli->t_start;
  prsvd_profile_reduce(cli->comm, rows);
  if (o.json) {
    json_object *j = summary_json(cli, pos[0], &o, m, n, o.rows, id, &st, &plan, o.compare ? &opt : NULL, rows, elapsed);
    prsvd_cli_print_json(cli, j);
    json_object_put(j);
  } else if (!o.quiet) {
    print_summary(cli, &o, o.rows, id, &st, o.compare ? &opt : NULL, rows, elapsed);
  }
done:
  prsvd_id_destroy(&id);
  prsvd_source_destroy(&src);
  free(file);
  free(dataset);
  return status;
}
