/* prsvd info FILE:/DS [-k K]: what the dataset is, and what a run on it would cost. */
#include <stdlib.h>
#include <string.h>

#include "prsvd_h5.h"
#include "cli.h"
#include "error.h"
#include "fields.h"
#include "options.h"

struct info_opts {
  int64_t oversample, passes, memory, max_rank, block, range_dim, core_dim, threads;
  int64_t rank;
  double tol, conv_tol;
  const char *precision, *read, *panels, *onepass_method, *sketch, *grid, *eig, *power_iters, *sample_dim;
  int json, debug, center, no_prefetch, allow_missing_sources;
};

#define O(f) offsetof(struct info_opts, f)
static const struct prsvd_option info_options[] = {
    {"rank", 'k', PRSVD_OPT_INT, "K", NULL, 0, 1e12, 0, "also estimate passes, memory and flops of an svd at this rank", O(rank)},
    {"oversample", 'p', PRSVD_OPT_INT, "P", "10", 0, 1e6, 0, "oversampling of that svd", O(oversample)},
    {"power-iters", 'q', PRSVD_OPT_STRING, "Q", NULL, 0, 0, 0, "power iterations of that svd, 0..100, or auto (the default of pca and svd --center)", O(power_iters)},
    {"conv-tol", 0, PRSVD_OPT_DOUBLE, "EPS", "1e-4", 1e-12, 0.5, 0, "with -q auto: the change of the top-k values that ends the iterations", O(conv_tol)},
    {"passes", 0, PRSVD_OPT_INT, "N", NULL, 1, 101, 0, "reads of A instead of -q (N = q + 1); --passes 1: single-pass sketches", O(passes)},
    {"tol", 0, PRSVD_OPT_DOUBLE, "EPS", NULL, 1e-7, 0.999, 0, "a fixed-accuracy svd (--tol EPS, without -k)", O(tol)},
    {"max-rank", 0, PRSVD_OPT_INT, "R", NULL, 1, 1e9, 0, "with --tol: largest rank tried (default min(m, n, 256))", O(max_rank)},
    {"block", 0, PRSVD_OPT_INT, "B", "10", 1, 1e6, 0, "with --tol: columns added per step", O(block)},
    {"onepass-method", 0, PRSVD_OPT_STRING, "M", "three", 0, 0, 0, "with --passes 1: three, two or hmt", O(onepass_method)},
    {"sketch", 0, PRSVD_OPT_STRING, "KIND", "gaussian", 0, 0, 0, "single-pass test matrices: gaussian or sparse", O(sketch)},
    {"range-dim", 0, PRSVD_OPT_INT, "KS", NULL, 1, 1e9, 0, "single pass: range/co-range sketch size (default 2k+1)", O(range_dim)},
    {"core-dim", 0, PRSVD_OPT_INT, "S", NULL, 1, 1e9, 0, "single pass: core sketch size (default 2KS+1)", O(core_dim)},
    {"center", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "a PCA (prsvd pca, or svd --center)", O(center)},
    {"eig", 0, PRSVD_OPT_STRING, "M", NULL, 0, 0, 0, "prsvd eig --method M (nystrom or revd) instead of an svd", O(eig)},
    {"memory", 0, PRSVD_OPT_SIZE, "SIZE", "512M", 1, 0, 0, "per-rank panel budget of that svd", O(memory)},
    {"grid", 0, PRSVD_OPT_STRING, "PRxPC", "auto", 0, 0, 0, "process grid of that svd (auto: P x 1 unless X exceeds --memory)", O(grid)},
    {"no-prefetch", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "read panels on the main thread (one panel buffer)", O(no_prefetch)},
    {"threads", 0, PRSVD_OPT_INT, "T", NULL, 1, PRSVD_MAX_THREADS, 0, "compute threads a rank of that svd (default: as svd chooses them)", O(threads)},
    PRSVD_OPT_PRECISION(struct info_opts),
    PRSVD_OPT_READ(struct info_opts),
    PRSVD_OPT_PANELS(struct info_opts),
    PRSVD_OPT_ALLOW_MISSING_SOURCES(struct info_opts),
    {"sample-dim", 0, PRSVD_OPT_STRING, "D", NULL, 0, 0, 0, "the samples (rows) of an N-D dataset, as svd and pca take it: a dimension index or a NetCDF dimension name (default the first)", O(sample_dim)},
    PRSVD_OPT_JSON(struct info_opts),
    PRSVD_OPT_DEBUG(struct info_opts),
    PRSVD_OPT_END};
#undef O

static const struct prsvd_command_doc info_doc = {
    "info", "FILE.h5:/DATASET [-k K] [options]",
    "Shape, element type, chunk shape, filters and bytes on disk of a 2-D dataset, and which\n"
    "way `prsvd svd` would stream it with these --panels, --read and --memory.  With -k (or\n"
    "--tol), the passes, bytes read, flops and per-rank memory that `prsvd svd` (pca with\n"
    "--center, eig with --eig) with the same options would need on the ranks of this run:\n"
    "the figures its plan prints, from the same function.",
    1,
    "# shape, type, layout, chunks and filters\n"
    "prsvd info data.h5:/X\n"
    "# what an svd at k = 100 costs on 4 ranks: passes, memory, flops\n"
    "mpirun -n 4 prsvd info data.h5:/X -k 100\n"
    "# the same for one pass with sparse sign maps\n"
    "mpirun -n 4 prsvd info data.h5:/X -k 100 --passes 1 --sketch sparse",
    0};

/* The options of the run being costed into its params, as svd, pca and eig set them. */
static int info_params(const struct info_opts *o, const struct prsvd_h5_info *in, struct prsvd_svd_params *prm) {
  const int64_t mn = in->rows < in->cols ? in->rows : in->cols;
  /* -q as the command costed takes it: auto for a PCA's subspace iteration, else 1 */
  const char *q_default = o->center && !o->eig && o->tol <= 0 ? "auto" : "1";
  const char *q_text = o->power_iters ? o->power_iters : q_default;
  prm->rank = o->rank;
  prm->oversample = o->oversample;
  prm->memory = o->memory;
  prm->prefetch = !o->no_prefetch;
  PRSVD_CHECK(prsvd_precision_parse(o->precision, &prm->precision));
  PRSVD_CHECK(prsvd_cli_grid(o->grid, prm));
  if (o->eig) {
    if (in->rows != in->cols)
      PRSVD_ERR(PRSVD_ERR_USAGE, "--eig: the dataset is %lld x %lld, and prsvd eig needs a square matrix",
                (long long)in->rows, (long long)in->cols);
    if (!prsvd_eig_method(o->eig, &prm->method))
      PRSVD_ERR(PRSVD_ERR_USAGE, "unknown --eig '%s': expected nystrom or revd", o->eig);
    if (prm->method == PRSVD_METHOD_REVD) {
      int q;
      PRSVD_CHECK(prsvd_power_iters_parse(q_text, &q));
      prm->power_iters = q;
      prm->conv_tol = o->conv_tol;
    }
    return PRSVD_OK;
  }
  PRSVD_CHECK(prsvd_cli_method(o->passes, q_text, q_default, o->conv_tol, o->tol, prm));
  PRSVD_CHECK(prsvd_cli_sketch(o->onepass_method, o->sketch, prm));
  prm->range_dim = o->range_dim;
  prm->core_dim = o->core_dim;
  prm->tol = o->tol;
  prm->max_rank = o->max_rank;
  prm->block = o->block;
  prm->center = o->center;
  if (o->tol > 0 && o->rank) PRSVD_ERR(PRSVD_ERR_USAGE, "--tol chooses the rank: give --max-rank R instead of -k");
  if (o->max_rank > mn)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--max-rank %lld exceeds min(rows, cols) = %lld", (long long)o->max_rank, (long long)mn);
  return PRSVD_OK;
}

/* With --eig, info costs a run of prsvd eig, which does not take the svd's options: one given
 * is refused as eig refuses an option it does not take (PRSVD_ERR_USAGE, exit 1). */
static int eig_takes(const struct info_opts *o) {
  const struct { const char *name; const void *field; } svd_only[] = {
      {"passes", &o->passes},         {"tol", &o->tol},       {"max-rank", &o->max_rank},
      {"block", &o->block},           {"onepass-method", &o->onepass_method},
      {"sketch", &o->sketch},         {"range-dim", &o->range_dim}, {"core-dim", &o->core_dim},
      {"center", &o->center},         {"grid", &o->grid},     {"no-prefetch", &o->no_prefetch},
      {"panels", &o->panels},         {"sample-dim", &o->sample_dim}};
  for (size_t i = 0; i < sizeof svd_only / sizeof svd_only[0]; i++)
    if (prsvd_option_given(svd_only[i].field))
      PRSVD_ERR(PRSVD_ERR_USAGE, "unknown option '--%s' for 'prsvd info --eig': prsvd eig does not take it "
                "(see prsvd eig --help)", svd_only[i].name);
  return PRSVD_OK;
}

/* "sparse" (a group), "chunked", "virtual" (a dataset mapped onto others: io/h5virtual.c) or
 * "contiguous" */
static const char *layout_name(const struct prsvd_h5_info *in) {
  return in->sparse ? "sparse" : in->chunked ? "chunked" : in->virtual_sources ? "virtual" : "contiguous";
}

int cmd_info(struct prsvd_cli *cli, int argc, char **argv) {
  int status;
  struct info_opts o;
  const char *pos[1] = {NULL};
  char *file = NULL, *dataset = NULL, b1[32], b2[32];
  struct prsvd_h5_info in;
  struct prsvd_h5_input how;
  struct prsvd_svd_params prm = PRSVD_SVD_PARAMS_INIT;
  struct prsvd_svd_estimate est;
  prsvd_source *src = NULL;
  struct prsvd_h5_features feat;
  char mapping[1024];
  memset(&est, 0, sizeof est);
  memset(&feat, 0, sizeof feat);
  status = prsvd_options_parse(&info_doc, info_options, argc, argv, &o, pos);
  if (status) return status;
  if (o.eig) PRSVD_TRY(eig_takes(&o));
  PRSVD_TRY(prsvd_h5_parse_spec(pos[0], &file, &dataset));
  PRSVD_TRY(prsvd_cli_input(o.read, o.center && !strcmp(o.panels, "auto") ? "rows" : o.panels, o.memory, &how));
  if (o.eig) how.panels = PRSVD_H5_PANELS_ROWS; /* as eig streams it: symmetric, rows are columns */
  how.allow_missing_sources = o.allow_missing_sources;
  PRSVD_TRY(prsvd_cli_features(o.sample_dim, "fail", NULL, &feat));
  if (!o.eig) how.features = &feat; /* svd and pca take N-D variables; eig a square matrix */
  PRSVD_TRY(prsvd_h5_open_input(cli->comm, file, dataset, &how, &in, &src));
  /* m x n as streamed (the stored transpose with column panels); shown as stored */
  const int64_t m = in.rows, n = in.cols, mn = m < n ? m : n;
  const int64_t rows = in.by_columns ? n : m, cols = in.by_columns ? m : n;
  const char *direction = in.by_columns ? "columns" : "rows";
  const int costed = o.rank > 0 || o.tol > 0;
  if (o.rank > mn)
    PRSVD_FAIL(PRSVD_ERR_USAGE, "--rank %lld exceeds min(rows, cols) = %lld", (long long)o.rank, (long long)mn);
  PRSVD_TRY(info_params(&o, &in, &prm));
  struct prsvd_threads_choice tc;
  PRSVD_TRY(prsvd_threads_choose(cli->comm, (int)o.threads, &tc)); /* as svd under this launch */
  prm.threads = tc.threads;
  if (costed) PRSVD_TRY(prsvd_svd_estimate(&prm, src, cli->nprocs, &est));
  const char *command = o.eig ? "eig" : o.center ? "pca" : "svd", *method = prsvd_cli_method_name(&prm);
  if (cli->rank) goto done;
  if (o.json) {
    json_object *j = json_object_new_object();
    json_object_object_add(j, "file", json_object_new_string(file));
    json_object_object_add(j, "dataset", json_object_new_string(dataset));
    json_object_object_add(j, "rows", json_object_new_int64(rows));
    json_object_object_add(j, "cols", json_object_new_int64(cols));
    json_object_object_add(j, "type", json_object_new_string(in.type));
    json_object_object_add(j, "layout", json_object_new_string(layout_name(&in)));
    json_object_object_add(j, "chunked", json_object_new_boolean(in.chunked));
    if (prsvd_cli_features_active(how.features)) prsvd_cli_features_json(&feat, j);
    if (in.virtual_sources) {
      json_object_object_add(j, "sources", json_object_new_int64(in.virtual_sources));
      json_object_object_add(j, "missing_sources", json_object_new_int64(in.missing_sources));
      if (in.missing_sources) json_object_object_add(j, "first_missing", json_object_new_string(in.first_missing));
    }
    if (in.chunked) {
      json_object_object_add(j, "chunk_rows", json_object_new_int64(in.chunk_rows));
      json_object_object_add(j, "chunk_cols", json_object_new_int64(in.chunk_cols));
    }
    json_object_object_add(j, "filters", json_object_new_string(in.filters));
    if (in.conventions[0]) json_object_object_add(j, "conventions", json_object_new_string(in.conventions));
    json_object_object_add(j, "storage_bytes", json_object_new_int64(in.storage_bytes));
    json_object_object_add(j, "panels", json_object_new_string(direction));
    json_object_object_add(j, "read", json_object_new_string(o.read));
    json_object_object_add(j, "read_path", json_object_new_string(prsvd_read_path(&in, est.plan.single, 1)));
    if (costed) {
      json_object_object_add(j, "command", json_object_new_string(command));
      json_object_object_add(j, "method", json_object_new_string(method));
      json_object_object_add(j, "passes", json_object_new_int(est.passes));
      json_object_object_add(j, "panel_rows", json_object_new_int64(est.plan.panel_rows));
      json_object_object_add(j, "precision", json_object_new_string(prsvd_precision_name(est.plan.single)));
      json_object_object_add(j, "memory_per_rank", json_object_new_int64(est.memory.total));
      json_object_object_add(j, "grid_rows", json_object_new_int(est.plan.grid_rows));
      json_object_object_add(j, "grid_cols", json_object_new_int(est.plan.grid_cols));
      json_object_object_add(j, "flops", prsvd_json_double(est.flops));
      json_object_object_add(j, "plan", prsvd_cli_estimate_json(&est));
      json_object_object_add(j, "threads", prsvd_threads_json(cli, &tc, &est.plan));
    }
    prsvd_cli_print_json(cli, j);
    json_object_put(j);
    goto done;
  }
  printf("%s:%s\n", file, dataset);
  printf("  shape      %lld x %lld\n", (long long)rows, (long long)cols);
  if (prsvd_cli_features_active(how.features)) {
    prsvd_cli_features_describe(&feat, mapping, sizeof mapping);
    printf("  matrix     %s\n", mapping);
  }
  printf("  type       %s\n", in.type);
  if (in.chunked)
    printf("  layout     chunked %lld x %lld\n", (long long)in.chunk_rows, (long long)in.chunk_cols);
  else if (in.virtual_sources)
    printf("  layout     virtual, %lld source%s%s\n", (long long)in.virtual_sources, in.virtual_sources > 1 ? "s" : "",
           in.missing_sources ? "" : ", all present");
  else
    printf("  layout     %s\n", layout_name(&in));
  if (in.missing_sources)
    printf("  missing    %lld, read as the fill value (--allow-missing-sources); the first: %s\n",
           (long long)in.missing_sources, in.first_missing);
  printf("  filters    %s\n", in.filters);
  if (in.conventions[0]) printf("  format     %s\n", in.conventions);
  printf("  on disk    %s (%s as float64)\n", prsvd_format_bytes((double)in.storage_bytes, b1, sizeof b1),
         prsvd_format_bytes(8.0 * m * n, b2, sizeof b2));
  printf("  streamed   by %s, %s reads\n", direction, o.read);
  if (costed) {
    printf("%s (%s, width %lld, %d probes) on %d rank%s, panels of %lld %s:\n", command, method,
           (long long)est.width, est.probes, cli->nprocs, cli->nprocs > 1 ? "s" : "",
           (long long)est.plan.panel_rows, direction);
    prsvd_cli_print_cost(stdout, cli, &prm, &est, in.sparse);
    if (prm.method == PRSVD_METHOD_SUBSPACE)
      printf("  grid: %d x %d (auto: P x 1 unless X, %lld x %lld doubles, exceeds --memory)\n", est.plan.grid_rows,
             est.plan.grid_cols, (long long)n, (long long)(est.width + est.probes));
    prsvd_cli_print_threads(cli, &tc, &est.plan, prm.prefetch);
  }
done:
  prsvd_source_destroy(&src);
  prsvd_h5_features_free(&feat);
  free(file);
  free(dataset);
  return status;
}
