/* prsvd svd FILE:/DS -k K -o OUT.h5: the randomized SVD of a dataset, written as /U, /S, /V. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../io/prsvd_h5.h"
#include "cli.h"
#include "config.h"
#include "error.h"
#include "options.h"

struct svd_opts {
  int64_t rank, oversample, power_iters, memory;
  uint64_t seed;
  const char *output;
  int force, json, progress, quiet, debug;
};

#define O(f) offsetof(struct svd_opts, f)
static const struct prsvd_option svd_options[] = {
    {"rank", 'k', PRSVD_OPT_INT, "K", NULL, 1, 1e12, 1, "singular triplets to compute, 1..min(m, n)", O(rank)},
    {"oversample", 'p', PRSVD_OPT_INT, "P", "10", 0, 1e6, 0, "extra sketch columns (reduced if k + p > min(m, n))", O(oversample)},
    {"power-iters", 'q', PRSVD_OPT_INT, "Q", "1", 0, 100, 0, "power iterations; the run reads A q + 1 times", O(power_iters)},
    {"seed", 0, PRSVD_OPT_UINT64, "S", "0", 0, 0, 0, "seed of the Gaussian test matrix", O(seed)},
    {"memory", 0, PRSVD_OPT_SIZE, "SIZE", "512M", 1, 0, 0, "per-rank budget for row panels (K, M, G suffixes)", O(memory)},
    {"output", 'o', PRSVD_OPT_STRING, "OUT.h5", NULL, 0, 0, 1, "output file: /U (m x k), /S (k), /V (n x k)", O(output)},
    {"force", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "replace an existing output file", O(force)},
    {"json", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "print the summary as one JSON object on stdout", O(json)},
    {"progress", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "show progress even when stderr is not a terminal", O(progress)},
    {"quiet", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "no progress, plan or summary", O(quiet)},
    {"debug", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "show error traces and HDF5's error stack", O(debug)},
    PRSVD_OPT_END};
#undef O

static const struct prsvd_command_doc svd_doc = {
    "svd", "FILE.h5:/DATASET -k K -o OUT.h5 [options]",
    "Truncated SVD A ~ U diag(S) V^T of the m x n dataset, by randomized subspace iteration\n"
    "(Halko, Martinsson & Tropp 2011), streaming row panels from the file q + 1 times (once\n"
    "more when the sketch is ill-conditioned).  Run under mpirun to use many ranks: each\n"
    "reads its own rows; the result does not depend on the number of ranks.",
    1};

static int write_output(struct prsvd_cli *cli, const struct svd_opts *o, const char *file,
                        const char *dataset, int64_t m, int64_t n, prsvd_svd *svd,
                        const struct prsvd_svd_stats *st, int64_t p_used) {
  int status = PRSVD_OK;
  prsvd_h5_writer *w = NULL;
  prsvd_h5_matrix *mat = NULL;
  const double *s, *u, *v;
  int64_t k, u0, ur, uld, v0, vr, vld;
  PRSVD_CHECK(prsvd_svd_get_rank(svd, &k));
  PRSVD_CHECK(prsvd_svd_get_singular_values(svd, &s));
  PRSVD_CHECK(prsvd_svd_get_u(svd, &u, &u0, &ur, &uld));
  PRSVD_CHECK(prsvd_svd_get_v(svd, &v, &v0, &vr, &vld));
  PRSVD_CHECK(prsvd_h5_writer_create(cli->comm, o->output, o->force, &w));
  prsvd_profile_begin(PRSVD_EV_WRITE);
  PRSVD_TRY(prsvd_h5_matrix_create(w, "/U", m, k, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
  PRSVD_TRY(prsvd_h5_matrix_write_colmajor(mat, u0, ur, u, uld));
  prsvd_h5_matrix_close(&mat);
  PRSVD_TRY(prsvd_h5_write_vector(w, "/S", k, s));
  PRSVD_TRY(prsvd_h5_matrix_create(w, "/V", n, k, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
  PRSVD_TRY(prsvd_h5_matrix_write_colmajor(mat, v0, vr, v, vld));
  prsvd_h5_matrix_close(&mat);
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "prsvd_version", PACKAGE_VERSION));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "command_line", cli->command_line));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "input_file", file));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "input_dataset", dataset));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "rows", m));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "cols", n));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "rank", k));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "oversample", p_used));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "power_iters", o->power_iters));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "passes", st->passes));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "seed", (int64_t)o->seed));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "nprocs", cli->nprocs));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "memory", o->memory));
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "elapsed_seconds", MPI_Wtime() - cli->t_start));
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "error_estimate", st->error_estimate));
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "error_estimate_fro", st->error_estimate_fro));
  PRSVD_TRY(prsvd_h5_writer_commit(&w));
  prsvd_profile_end(PRSVD_EV_WRITE, 8.0 * (double)((m + n + 1) * k), 0.0);
done:
  prsvd_h5_matrix_close(&mat);
  prsvd_h5_writer_abort(&w);
  return status;
}

static void print_plan(const struct prsvd_cli *cli, const char *spec, const struct prsvd_h5_info *in,
                       const struct svd_opts *o, int64_t l) {
  char b1[32], b2[32], b3[32], b4[32];
  int64_t m = in->rows, n = in->cols;
  int64_t block = (m + cli->nprocs - 1) / cli->nprocs;
  int64_t panel = o->memory / (8 * n);
  if (panel > block) panel = block;
  if (panel < 1) panel = 1;
  double sketches = 8.0 * ((double)block * (l + 10) + 3.0 * n * l + n * 10.0 + (double)n / cli->nprocs * l);
  printf("prsvd svd %s: %lld x %lld %s on %d rank%s\n", spec, (long long)m, (long long)n, in->type,
         cli->nprocs, cli->nprocs > 1 ? "s" : "");
  printf("  k = %lld, p = %lld, q = %lld: %lld passes over %s (one more if the sketch is ill-conditioned)\n",
         (long long)o->rank, (long long)(l - o->rank), (long long)o->power_iters,
         (long long)o->power_iters + 1, prsvd_format_bytes(8.0 * m * n, b1, sizeof b1));
  printf("  memory per rank: panels %s (%lld rows), sketches %s, chunk cache %s; total ~%s\n",
         prsvd_format_bytes(8.0 * panel * n, b2, sizeof b2), (long long)panel,
         prsvd_format_bytes(sketches, b3, sizeof b3),
         prsvd_format_bytes((double)in->cache_bytes, b4, sizeof b4),
         prsvd_format_bytes(8.0 * panel * n + sketches + in->cache_bytes, b1, sizeof b1));
  fflush(stdout);
}

static void print_summary(const struct prsvd_cli *cli, const struct svd_opts *o, prsvd_svd *svd,
                          const struct prsvd_svd_stats *st, const struct prsvd_profile_row *rows,
                          double elapsed) {
  const double *s;
  int64_t k;
  char b[32];
  double flops = 0;
  for (int e = 0; e < PRSVD_N_EVENTS; e++) flops += rows[e].flops;
  prsvd_svd_get_rank(svd, &k);
  prsvd_svd_get_singular_values(svd, &s);
  if (cli->rank) return;
  printf("singular values:");
  for (int64_t j = 0; j < k && j < 10; j++) printf(" %.6g", s[j]);
  printf(k > 10 ? " ... %.6g\n" : "\n", s[k - 1]);
  printf("passes %d%s, read %s, %.2f GB/s, %.2f GFLOP/s, %.2f s\n", st->passes,
         st->extra_pass ? " (one to form B = Q^T A: R was ill-conditioned)" : "",
         prsvd_format_bytes((double)st->bytes_read, b, sizeof b),
         elapsed > 0 ? st->bytes_read / elapsed * 1e-9 : 0.0, elapsed > 0 ? flops / elapsed * 1e-9 : 0.0,
         elapsed);
  printf("error estimate: ||A - U S V^T||_2 <= %.3e (HMT eq. 4.3, 10 probes), ||.||_F ~ %.3e\n",
         st->error_estimate, st->error_estimate_fro);
  prsvd_profile_print(stdout, rows);
  printf("wrote %s\n", o->output);
}

static json_object *summary_json(const struct prsvd_cli *cli, const char *spec, int64_t m,
                                 int64_t n, prsvd_svd *svd, const struct prsvd_svd_stats *st,
                                 const struct prsvd_profile_row *rows, double elapsed,
                                 const struct svd_opts *o, int64_t p_used) {
  const double *s;
  int64_t k;
  prsvd_svd_get_rank(svd, &k);
  prsvd_svd_get_singular_values(svd, &s);
  json_object *j = json_object_new_object(), *sv = json_object_new_array();
  for (int64_t i = 0; i < k; i++) json_object_array_add(sv, json_object_new_double(s[i]));
  json_object_object_add(j, "command", json_object_new_string("svd"));
  json_object_object_add(j, "input", json_object_new_string(spec));
  json_object_object_add(j, "output", json_object_new_string(o->output));
  json_object_object_add(j, "rows", json_object_new_int64(m));
  json_object_object_add(j, "cols", json_object_new_int64(n));
  json_object_object_add(j, "rank", json_object_new_int64(k));
  json_object_object_add(j, "oversample", json_object_new_int64(p_used));
  json_object_object_add(j, "power_iters", json_object_new_int64(o->power_iters));
  json_object_object_add(j, "nprocs", json_object_new_int(cli->nprocs));
  json_object_object_add(j, "passes", json_object_new_int(st->passes));
  json_object_object_add(j, "extra_pass", json_object_new_boolean(st->extra_pass));
  json_object_object_add(j, "panel_rows", json_object_new_int64(st->panel_rows));
  json_object_object_add(j, "bytes_read", json_object_new_int64(st->bytes_read));
  json_object_object_add(j, "elapsed_seconds", json_object_new_double(elapsed));
  json_object_object_add(j, "error_estimate", json_object_new_double(st->error_estimate));
  json_object_object_add(j, "error_estimate_fro", json_object_new_double(st->error_estimate_fro));
  json_object_object_add(j, "singular_values", sv);
  json_object_object_add(j, "phases", prsvd_profile_json(rows));
  return j;
}

int cmd_svd(struct prsvd_cli *cli, int argc, char **argv) {
  int status = PRSVD_OK;
  struct svd_opts o;
  const char *pos[1] = {NULL};
  char *file = NULL, *dataset = NULL;
  prsvd_source *src = NULL;
  prsvd_svd *svd = NULL;
  struct prsvd_h5_info info;
  struct prsvd_svd_params prm = PRSVD_SVD_PARAMS_INIT;
  struct prsvd_svd_stats st;
  struct prsvd_progress progress;
  struct prsvd_profile_row rows[PRSVD_N_EVENTS];

  status = prsvd_options_parse(&svd_doc, svd_options, argc, argv, &o, pos);
  if (status) return status;
  PRSVD_TRY(prsvd_h5_parse_spec(pos[0], &file, &dataset));
  PRSVD_TRY(prsvd_h5_open_source(cli->comm, file, dataset, &info, &src));
  int64_t m = info.rows, n = info.cols, mn = m < n ? m : n;
  if (o.rank > mn)
    PRSVD_FAIL(PRSVD_ERR_USAGE, "--rank %lld exceeds min(rows, cols) = %lld of '%s'",
               (long long)o.rank, (long long)mn, pos[0]);
  int64_t p_used = o.oversample;
  if (o.rank + o.oversample > mn) {
    p_used = mn - o.rank;
    prsvd_cli_warn(cli, "k + p = %lld exceeds min(rows, cols) = %lld: oversampling reduced to %lld",
                   (long long)(o.rank + o.oversample), (long long)mn, (long long)p_used);
  }
  if (o.memory < 8 * n)
    PRSVD_FAIL(PRSVD_ERR_USAGE, "--memory %lld bytes holds less than one row of '%s' (%lld columns: %lld bytes)",
               (long long)o.memory, pos[0], (long long)n, (long long)(8 * n));
  PRSVD_TRY(prsvd_h5_check_output(cli->comm, o.output, o.force));
  if (!o.quiet && !o.json && cli->rank == 0) print_plan(cli, pos[0], &info, &o, o.rank + p_used);

  prsvd_progress_init(&progress, cli, !o.quiet && (o.progress || isatty(2)), 8.0 * n);
  prm.rank = o.rank;
  prm.oversample = p_used;
  prm.power_iters = (int)o.power_iters;
  prm.seed = o.seed;
  prm.memory = o.memory;
  prm.progress = prsvd_progress_report;
  prm.progress_arg = &progress;
  prsvd_profile_reset();
  PRSVD_TRY(prsvd_svd_create(cli->comm, &svd));
  PRSVD_TRY(prsvd_svd_set_params(svd, &prm));
  PRSVD_TRY(prsvd_svd_solve(svd, src));
  PRSVD_TRY(prsvd_svd_get_stats(svd, &st));
  PRSVD_TRY(write_output(cli, &o, file, dataset, m, n, svd, &st, p_used));

  double elapsed = MPI_Wtime() - cli->t_start;
  prsvd_profile_reduce(cli->comm, rows);
  if (o.json) {
    json_object *j = summary_json(cli, pos[0], m, n, svd, &st, rows, elapsed, &o, p_used);
    prsvd_cli_print_json(cli, j);
    json_object_put(j);
  } else if (!o.quiet) {
    print_summary(cli, &o, svd, &st, rows, elapsed);
  }
done:
  prsvd_svd_destroy(&svd);
  prsvd_source_destroy(&src);
  free(file);
  free(dataset);
  return status;
}
