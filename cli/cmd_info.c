/* prsvd info FILE:/DS [-k K]: what the dataset is, and what a run on it would cost. */
#include <stdlib.h>

#include "prsvd_h5.h"
#include "cli.h"
#include "error.h"
#include "options.h"

struct info_opts {
  int64_t rank, oversample, power_iters, memory, threads;
  const char *precision, *read, *panels;
  int json, debug, allow_missing_sources;
};

#define O(f) offsetof(struct info_opts, f)
static const struct prsvd_option info_options[] = {
    {"rank", 'k', PRSVD_OPT_INT, "K", NULL, 0, 1e12, 0, "also estimate passes, memory and flops of an svd at this rank", O(rank)},
    {"oversample", 'p', PRSVD_OPT_INT, "P", "10", 0, 1e6, 0, "oversampling of that svd", O(oversample)},
    {"power-iters", 'q', PRSVD_OPT_INT, "Q", "1", 0, 100, 0, "power iterations of that svd", O(power_iters)},
    {"memory", 0, PRSVD_OPT_SIZE, "SIZE", "512M", 1, 0, 0, "per-rank panel budget of that svd", O(memory)},
    {"threads", 0, PRSVD_OPT_INT, "T", NULL, 1, PRSVD_MAX_THREADS, 0, "compute threads a rank of that svd (default: as svd chooses them)", O(threads)},
    PRSVD_OPT_PRECISION(struct info_opts),
    PRSVD_OPT_READ(struct info_opts),
    PRSVD_OPT_PANELS(struct info_opts),
    PRSVD_OPT_ALLOW_MISSING_SOURCES(struct info_opts),
    PRSVD_OPT_JSON(struct info_opts),
    PRSVD_OPT_DEBUG(struct info_opts),
    PRSVD_OPT_END};
#undef O

static const struct prsvd_command_doc info_doc = {
    "info", "FILE.h5:/DATASET [-k K] [options]",
    "Shape, element type, chunk shape, filters and bytes on disk of a 2-D dataset, and which\n"
    "way `prsvd svd` would stream it with these --panels, --read and --memory.  With -k, the\n"
    "passes, panel rows, per-rank memory and flops that `prsvd svd` would need on the ranks\n"
    "of this run.",
    1,
    "# shape, type, layout, chunks and filters\n"
    "prsvd info data.h5:/X\n"
    "# what an svd at k = 100 costs on 4 ranks: passes, memory, flops\n"
    "mpirun -n 4 prsvd info data.h5:/X -k 100",
    0};

/* "sparse" (a group), "chunked", "virtual" (a dataset mapped onto others: io/h5virtual.c) or
 * "contiguous" */
static const char *layout_name(const struct prsvd_h5_info *in) {
  return in->sparse ? "sparse" : in->chunked ? "chunked" : in->virtual_sources ? "virtual" : "contiguous";
}

int cmd_info(struct prsvd_cli *cli, int argc, char **argv) {
  int status;
  struct info_opts o;
  const char *pos[1] = {NULL};
  char *file = NULL, *dataset = NULL, b1[32], b2[32], b3[32];
  struct prsvd_h5_info in;
  struct prsvd_h5_input how;
  struct prsvd_svd_params prm = PRSVD_SVD_PARAMS_INIT;
  struct prsvd_svd_plan plan = {0};
  prsvd_source *src = NULL;
  status = prsvd_options_parse(&info_doc, info_options, argc, argv, &o, pos);
  if (status) return status;
  PRSVD_TRY(prsvd_h5_parse_spec(pos[0], &file, &dataset));
  PRSVD_TRY(prsvd_cli_input(o.read, o.panels, o.memory, &how));
  how.allow_missing_sources = o.allow_missing_sources;
  PRSVD_TRY(prsvd_h5_open_input(cli->comm, file, dataset, &how, &in, &src));
  /* m x n as streamed (the stored transpose with column panels); shown as stored */
  int64_t m = in.rows, n = in.cols, mn = m < n ? m : n;
  const int64_t rows = in.by_columns ? n : m, cols = in.by_columns ? m : n;
  const char *direction = in.by_columns ? "columns" : "rows";
  if (o.rank > mn)
    PRSVD_FAIL(PRSVD_ERR_USAGE, "--rank %lld exceeds min(rows, cols) = %lld", (long long)o.rank, (long long)mn);
  int64_t l = o.rank + o.oversample > mn ? mn : o.rank + o.oversample;
  int64_t passes = o.power_iters + 1;
  int64_t block = (m + cli->nprocs - 1) / cli->nprocs;
  prm.memory = o.memory;
  prm.rank = o.rank, prm.oversample = l - o.rank; /* for the automatic grid */
  PRSVD_TRY(prsvd_precision_parse(o.precision, &prm.precision));
  plan.grid_cols = 1, plan.x_rows = n;
  struct prsvd_threads_choice tc;
  PRSVD_TRY(prsvd_threads_choose(cli->comm, (int)o.threads, &tc)); /* as svd under this launch */
  prm.threads = tc.threads;
  if (o.rank > 0) PRSVD_TRY(prsvd_svd_plan(&prm, src, cli->nprocs, &plan));
  const double elem = plan.single ? 4.0 : 8.0, panels = (double)plan.buffers * plan.panel_bytes;
  /* a pass as the solver reads it: dense rows, or a sparse group's CSR entries */
  const double pass_bytes = in.sparse ? 16.0 * (double)in.nnz + 8.0 * (double)(m + 1) : elem * (double)m * (double)n;
  /* a process row's m-row sketches, and x_rows (n, or n/pc on a 2-D grid) of the n-row ones */
  const double xr = (double)plan.x_rows;
  double sketch = 8.0 * ((double)block * plan.grid_cols * (l + 10) + 3.0 * xr * l + 10.0 * xr);
  sketch += (double)plan.thread_bytes; /* the threads' own sums (prsvd_pass_thread_bytes) */
  double flops = (double)passes * 4.0 * m * n * l;
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
    json_object_object_add(j, "read_path", json_object_new_string(prsvd_read_path(&in, plan.single, 1)));
    if (o.rank > 0) {
      json_object_object_add(j, "passes", json_object_new_int64(passes));
      json_object_object_add(j, "panel_rows", json_object_new_int64(plan.panel_rows));
      json_object_object_add(j, "precision", json_object_new_string(prsvd_precision_name(plan.single)));
      json_object_object_add(j, "memory_per_rank", prsvd_json_double(panels + sketch + in.cache_bytes));
      json_object_object_add(j, "grid_rows", json_object_new_int(plan.grid_rows));
      json_object_object_add(j, "grid_cols", json_object_new_int(plan.grid_cols));
      json_object_object_add(j, "flops", prsvd_json_double(flops));
      json_object_object_add(j, "threads", prsvd_threads_json(cli, &tc, &plan));
    }
    prsvd_cli_print_json(cli, j);
    json_object_put(j);
    goto done;
  }
  printf("%s:%s\n", file, dataset);
  printf("  shape      %lld x %lld\n", (long long)rows, (long long)cols);
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
  if (o.rank > 0) {
    printf("svd -k %lld -p %lld -q %lld on %d rank%s:\n", (long long)o.rank, (long long)(l - o.rank),
           (long long)o.power_iters, cli->nprocs, cli->nprocs > 1 ? "s" : "");
    printf("  passes     %lld (+1 if the sketch is ill-conditioned), %s of %s panels read in all\n",
           (long long)passes, prsvd_format_bytes(pass_bytes * passes, b1, sizeof b1),
           in.sparse ? "CSR" : prsvd_precision_name(plan.single));
    printf("  memory     %s per rank: %d panels of %lld %s %s, sketches %s\n",
           prsvd_format_bytes(panels + sketch + in.cache_bytes, b1, sizeof b1), plan.buffers,
           (long long)plan.panel_rows, direction, prsvd_format_bytes((double)plan.panel_bytes, b2, sizeof b2),
           prsvd_format_bytes(sketch, b3, sizeof b3));
    printf("  flops      %.3g (%.3g per rank)\n", flops, flops / cli->nprocs);
    printf("  threads    %d a rank (%s)\n", tc.threads, tc.why);
    printf("  grid       %d x %d (auto: P x 1 unless X, %lld x %lld doubles, exceeds --memory)\n",
           plan.grid_rows, plan.grid_cols, (long long)n, (long long)(l + 10));
  }
done:
  prsvd_source_destroy(&src);
  free(file);
  free(dataset);
  return status;
}
