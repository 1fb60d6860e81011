/* prsvd eig FILE:/DS -k K -o OUT.h5: eigendecomposition A ~ U diag(L) U^T of a symmetric
 * (nystrom: PSD) dataset, written as /U and /L. */
#include <stdlib.h>
#include <string.h>

#include "prsvd_h5.h"
#include "cli.h"
#include "config.h"
#include "error.h"
#include "options.h"

struct eig_opts {
  int64_t rank, oversample, memory, threads;
  uint64_t seed;
  double sym_tol, conv_tol;
  const char *output, *method, *checkpoint, *precision, *read, *power_iters;
  double checkpoint_every;
  struct prsvd_opt_list mpiio_hints;
  int force, json, progress, quiet, debug, allow_missing_sources;
};

#define O(f) offsetof(struct eig_opts, f)
static const struct prsvd_option eig_options[] = {
    {"rank", 'k', PRSVD_OPT_INT, "K", NULL, 1, 1e12, 1, "eigenpairs to compute, 1..n", O(rank)},
    {"method", 0, PRSVD_OPT_STRING, "M", "nystrom", 0, 0, 0, "nystrom (PSD, one pass) or revd (symmetric, q + 1 passes)", O(method)},
    {"oversample", 'p', PRSVD_OPT_INT, "P", "10", 0, 1e6, 0, "extra sketch columns, at most n - k; the default is cut to fit", O(oversample)},
    {"power-iters", 'q', PRSVD_OPT_STRING, "Q", "1", 0, 0, 0, "revd: power iterations, 0..100, or auto: until the top-k eigenvalues change by less than --conv-tol from one pass to the next, at most 10", O(power_iters)},
    {"conv-tol", 0, PRSVD_OPT_DOUBLE, "EPS", "1e-4", 1e-12, 0.5, 0, "with revd -q auto: the largest relative change of the top-k eigenvalues between passes that ends the iterations", O(conv_tol)},
    {"seed", 0, PRSVD_OPT_UINT64, "S", "0", 0, 0, 0, "seed of the Gaussian test matrix", O(seed)},
    {"memory", 0, PRSVD_OPT_SIZE, "SIZE", "512M", 1, 0, 0, "per-rank ceiling for row panels; panels stay near 4 MiB a compute thread", O(memory)},
    PRSVD_OPT_THREADS(struct eig_opts, "each multiplying its own rows of every panel"),
    {"sym-tol", 0, PRSVD_OPT_DOUBLE, "T", "1e-8", 0, 1, 0, "allowed |A_ij - A_ji| on sampled pairs, relative to max |A_ij|", O(sym_tol)},
    {"output", 'o', PRSVD_OPT_STRING, "OUT.h5", NULL, 0, 0, 1, "output file: /U (n x k), /L (k)", O(output)},
    PRSVD_OPT_CHECKPOINT(struct eig_opts),
    PRSVD_OPT_PRECISION(struct eig_opts),
    PRSVD_OPT_READ(struct eig_opts),
    PRSVD_OPT_ALLOW_MISSING_SOURCES(struct eig_opts),
    PRSVD_OPT_MPIIO_HINT(struct eig_opts),
    PRSVD_OPT_RUN_END(struct eig_opts, "no progress or summary")};
#undef O

static const struct prsvd_command_doc eig_doc = {
    "eig", "FILE.h5:/DATASET -k K -o OUT.h5 [options]",
    "Eigendecomposition A ~ U diag(L) U^T of a symmetric n x n dataset.  nystrom (default):\n"
    "the stable shifted Nystrom approximation of a positive-semidefinite A from one pass\n"
    "(Tropp et al. 2017); revd: HMT Alg. 5.3 for any symmetric A, the k eigenvalues of\n"
    "largest magnitude.  Symmetry is checked on 1000 sampled pairs during the first pass.",
    1,
    "# the 100 leading eigenpairs of a PSD Gram matrix, in one pass\n"
    "mpirun -n 4 prsvd eig gram.h5:/G -k 100 -o eig.h5\n"
    "# any symmetric matrix: the 20 eigenvalues of largest magnitude\n"
    "prsvd eig sym.h5:/A -k 20 --method revd -q 2 -o eig.h5",
    0};

int prsvd_eig_method(const char *name, enum prsvd_svd_method *method) {
  static const struct { const char *name; enum prsvd_svd_method method; } methods[] = {
      {"nystrom", PRSVD_METHOD_NYSTROM}, {"revd", PRSVD_METHOD_REVD}};
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
    if (!strcmp(name, methods[i].name)) {
      if (method) *method = methods[i].method;
      return 1;
    }
  return 0;
}

/* The power iterations a run made: revd's q, or as many as -q auto took; nystrom makes none. */
static int power_iters_of(const struct prsvd_svd_params *prm, const struct prsvd_svd_stats *st) {
  return prm->method == PRSVD_METHOD_REVD ? st->power_iters : 0;
}

static int write_eig(struct prsvd_cli *cli, const struct eig_opts *o,
                     const struct prsvd_svd_params *prm, const char *file, const char *dataset,
                     int64_t n, prsvd_svd *svd, const struct prsvd_svd_stats *st) {
  int status = PRSVD_OK;
  prsvd_h5_writer *w = NULL;
  prsvd_h5_matrix *mat = NULL;
  const double *l, *u;
  int64_t k, u0, ur, uld;
  PRSVD_CHECK(prsvd_svd_get_rank(svd, &k));
  PRSVD_CHECK(prsvd_svd_get_eigenvalues(svd, &l));
  PRSVD_CHECK(prsvd_svd_get_u(svd, &u, &u0, &ur, &uld));
  PRSVD_CHECK(prsvd_h5_writer_create(cli->comm, o->output, o->force, &w));
  prsvd_profile_begin(PRSVD_EV_WRITE);
  PRSVD_TRY(prsvd_h5_matrix_create(w, "/U", n, k, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
  PRSVD_TRY(prsvd_h5_matrix_write_colmajor(mat, u0, ur, u, uld));
  prsvd_h5_matrix_close(&mat);
  PRSVD_TRY(prsvd_h5_write_vector(w, "/L", k, l));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "prsvd_version", PACKAGE_VERSION));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "command_line", cli->command_line));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "input_file", file));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "input_dataset", dataset));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "method", o->method));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "rows", n));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "cols", n));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "rank", k));
  PRSVD_TRY(prsvd_cli_write_iterations(w, cli, prm, st, o->oversample, power_iters_of(prm, st),
                                       prm->method == PRSVD_METHOD_REVD && prm->power_iters < 0, o->seed));
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "elapsed_seconds", MPI_Wtime() - cli->t_start));
  PRSVD_TRY(prsvd_h5_writer_commit(&w));
  prsvd_profile_end(PRSVD_EV_WRITE, 8.0 * (double)((n + 1) * k), 0.0);
done:
  prsvd_h5_matrix_close(&mat);
  prsvd_h5_writer_abort(&w);
  return status;
}

/* A run of eig (cli.h, struct prsvd_cli_run): the run first, so the hooks' run is it. */
struct eig_run {
  struct prsvd_cli_run run;
  struct eig_opts o;
  enum prsvd_svd_method method;
};

static int eig_params(struct prsvd_cli_run *run) {
  const struct eig_run *r = (const struct eig_run *)run;
  const struct eig_opts *o = &r->o;
  struct prsvd_svd_params *prm = &run->prm;
  if (run->info.rows != run->info.cols)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' is %lld x %lld: prsvd eig needs a square symmetric matrix", run->spec,
              (long long)run->info.rows, (long long)run->info.cols);
  if (o->rank > run->info.rows)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--rank %lld exceeds the dimension %lld of '%s'", (long long)o->rank,
              (long long)run->info.rows, run->spec);
  if (prsvd_option_given(&o->oversample) && o->rank + o->oversample > run->info.rows) /* a default shrinks to fit */
    PRSVD_ERR(PRSVD_ERR_USAGE, "--oversample %lld with --rank %lld exceeds the dimension %lld of '%s': at most %lld",
              (long long)o->oversample, (long long)o->rank, (long long)run->info.rows, run->spec,
              (long long)(run->info.rows - o->rank));
  PRSVD_CHECK(prsvd_precision_parse(o->precision, &prm->precision));
  prm->method = r->method;
  prm->memory = o->memory;
  prm->rank = o->rank;
  prm->oversample = o->oversample;
  {
    int q;
    PRSVD_CHECK(prsvd_power_iters_parse(o->power_iters, &q));
    prm->power_iters = prm->method == PRSVD_METHOD_REVD ? q : 0; /* nystrom: one pass, no power iterations */
  }
  prm->conv_tol = o->conv_tol;
  prm->seed = o->seed;
  prm->sym_tol = o->sym_tol;
  return PRSVD_OK;
}

static void eig_plan(const struct prsvd_cli_run *run) {
  const struct prsvd_svd_params *prm = &run->prm;
  printf("prsvd eig %s: %lld x %lld %s on %d rank%s\n", run->spec, (long long)run->info.rows,
         (long long)run->info.cols, run->info.type, run->cli->nprocs, run->cli->nprocs > 1 ? "s" : "");
  if (prm->method == PRSVD_METHOD_REVD) {
    char q[48];
    if (prm->power_iters < 0)
      snprintf(q, sizeof q, "auto (at most %d, --conv-tol %g)", prm->max_power_iters, prm->conv_tol);
    else
      snprintf(q, sizeof q, "%d", prm->power_iters);
    printf("  k = %lld, p = %lld, q = %s (revd, l = %lld), %d probes\n", (long long)prm->rank,
           (long long)prm->oversample, q, (long long)run->est.width, run->est.probes);
  } else
    printf("  k = %lld, p = %lld (nystrom, l = %lld)\n", (long long)prm->rank, (long long)prm->oversample,
           (long long)run->est.width);
}

static void eig_identity(const struct prsvd_cli_run *run, char *buf, size_t size) {
  const struct eig_run *r = (const struct eig_run *)run;
  prsvd_cli_checkpoint_options(buf, size, r->o.method, &run->prm, "gaussian", r->o.precision, 0);
}

static int eig_write(struct prsvd_cli_run *run) {
  const struct eig_run *r = (const struct eig_run *)run;
  return write_eig(run->cli, &r->o, &run->prm, run->file, run->dataset, run->info.rows, run->svd, &run->st);
}

static int eig_report(struct prsvd_cli_run *run, json_object *j) {
  const struct eig_run *r = (const struct eig_run *)run;
  const struct eig_opts *o = &r->o;
  const struct prsvd_svd_stats *st = &run->st;
  const struct prsvd_cli *cli = run->cli;
  const double *l;
  int64_t k;
  PRSVD_CHECK(prsvd_svd_get_rank(run->svd, &k));
  PRSVD_CHECK(prsvd_svd_get_eigenvalues(run->svd, &l));
  if (j) {
    json_object *lv = json_object_new_array();
    for (int64_t i = 0; i < k; i++) json_object_array_add(lv, prsvd_json_double(l[i]));
    json_object_object_add(j, "command", json_object_new_string("eig"));
    json_object_object_add(j, "method", json_object_new_string(o->method));
    json_object_object_add(j, "input", json_object_new_string(run->spec));
    json_object_object_add(j, "output", json_object_new_string(o->output));
    json_object_object_add(j, "rank", json_object_new_int64(k));
    json_object_object_add(j, "passes", json_object_new_int(st->passes));
    json_object_object_add(j, "power_iters", json_object_new_int(power_iters_of(&run->prm, st)));
    prsvd_cli_json_conv(j, &run->prm, st, &run->prog);
    json_object_object_add(j, "bytes_read", json_object_new_int64(st->bytes_read));
    json_object_object_add(j, "precision", json_object_new_string(prsvd_precision_name(st->single)));
    json_object_object_add(j, "nprocs", json_object_new_int(cli->nprocs));
    json_object_object_add(j, "elapsed_seconds", prsvd_json_double(run->elapsed));
    json_object_object_add(j, "eigenvalues", lv);
  } else if (!o->quiet && cli->rank == 0) {
    printf("prsvd eig %s: %lld x %lld, %s, k = %lld, %d pass%s\n", run->spec, (long long)run->info.rows,
           (long long)run->info.cols, o->method, (long long)k, st->passes, st->passes > 1 ? "es" : "");
    if (run->prm.method == PRSVD_METHOD_REVD) prsvd_cli_print_conv(&run->prm, st, "eigenvalues", k);
    printf("eigenvalues:");
    for (int64_t i = 0; i < k && i < 10; i++) printf(" %.6g", l[i]);
    printf(k > 10 ? " ... %.6g\n" : "\n", l[k - 1]);
    prsvd_profile_print(stdout, run->rows);
    printf("wrote %s\n", o->output);
  }
  return PRSVD_OK;
}

int cmd_eig(struct prsvd_cli *cli, int argc, char **argv) {
  static const struct prsvd_cli_run_hooks hooks = {eig_params, eig_plan, eig_identity, eig_write, eig_report, 0};
  struct eig_run r;
  const char *pos[1] = {NULL};
  memset(&r, 0, sizeof r);
  int status = prsvd_options_parse(&eig_doc, eig_options, argc, argv, &r.o, pos);
  if (status) return status;
  if (!prsvd_eig_method(r.o.method, &r.method))
    PRSVD_ERR(PRSVD_ERR_USAGE, "unknown --method '%s': expected nystrom or revd", r.o.method);
  PRSVD_CHECK(prsvd_cli_input(r.o.read, "rows", r.o.memory, &r.run.how)); /* symmetric: rows are columns */
  r.run.how.allow_missing_sources = r.o.allow_missing_sources;
  r.run.hooks = &hooks;
  r.run.spec = pos[0];
  r.run.mpiio_hints = &r.o.mpiio_hints;
  r.run.output = r.o.output;
  r.run.checkpoint = r.o.checkpoint;
  r.run.checkpoint_every = r.o.checkpoint_every;
  r.run.force = r.o.force, r.run.json = r.o.json, r.run.quiet = r.o.quiet, r.run.progress = r.o.progress;
  r.run.threads = (int)r.o.threads;
  r.run.values = "eigenvalues";
  return prsvd_cli_run(cli, &r.run);
}
