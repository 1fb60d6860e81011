/* prsvd tucker FILE:/DS --ranks r1,...,rN -o OUT.h5: the Tucker decomposition of an N-way
 * dataset (N >= 3), A ~ G x_1 U1 ... x_N UN, streamed by slabs of its first dimension
 * (src/tucker.c; read by the N-D path of io/h5source.c, sample axis 0), written as /G and
 * /U1 ... /UN with the measured error. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prsvd_h5.h"
#include "cli.h"
#include "config.h"
#include "error.h"
#include "options.h"

struct tucker_opts {
  const char *ranks, *output, *oversample;
  double tol;
  int64_t max_rank, power_iters, passes, memory;
  uint64_t seed;
  int no_verify, force, json, progress, quiet, debug, no_prefetch;
};

#define O(f) offsetof(struct tucker_opts, f)
static const struct prsvd_option tucker_options[] = {
    {"ranks", 'r', PRSVD_OPT_STRING, "R1,...,RN", NULL, 0, 0, 0, "the multilinear ranks, one a dimension, each 1..its length (or --tol)", O(ranks)},
    {"tol", 0, PRSVD_OPT_DOUBLE, "EPS", NULL, 0, 1, 0, "instead of --ranks: the smallest ranks (ST-HOSVD's rule on the core: Z, or the sketched core) whose estimated ||A - approx||_F / ||A||_F is at most EPS; two passes only", O(tol)},
    {"max-rank", 0, PRSVD_OPT_INT, "R", "50", 1, 1e9, 0, "with --tol: at most this rank a mode (the sketches are R + p wide)", O(max_rank)},
    {"passes", 0, PRSVD_OPT_INT, "1|2", "2", 1, 2, 0, "2: range finders of every unfolding, then the core; 1: Sun, Guo, Luo, Tropp & Udell's one-pass sketch", O(passes)},
    {"oversample", 'p', PRSVD_OPT_STRING, "P", "auto", 0, 0, 0, "two passes: each sketched mode's sketch (mode 1 alone where Z fits --memory) has min(r + p, d) columns, p 0..1000000; auto: 3r + 10 columns for mode 1 where Z fits, else 2r + 10 in every mode, cut alike where the sketched core would pass 2^24 entries", O(oversample)},
    {"power-iters", 'q', PRSVD_OPT_INT, "Q", "0", 0, 100, 0, "two passes: power iterations of the range finders, one more pass each", O(power_iters)},
    {"no-verify-pass", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "skip the pass that measures ||A - approx||_F (two passes then report sqrt(||A||^2 - ||G||^2), one pass nothing)", O(no_verify)},
    {"seed", 0, PRSVD_OPT_UINT64, "S", "0", 0, 0, 0, "seed of the test matrices", O(seed)},
    {"memory", 0, PRSVD_OPT_SIZE, "SIZE", "512M", 1, 0, 0, "per-rank ceiling for slab panels (kept near 4 MiB); two passes form Z = A x_1 Q1^T whole, which makes modes 2..N exact, when it fits within it too", O(memory)},
    {"no-prefetch", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "read panels on the main thread", O(no_prefetch)},
    {"output", 'o', PRSVD_OPT_STRING, "OUT.h5", NULL, 0, 0, PRSVD_OPT_REQUIRED, "output file: /G (r1 x ... x rN) and /U1 ... /UN (d_n x r_n, orthonormal columns)", O(output)},
    PRSVD_OPT_RUN_END(struct tucker_opts, "no progress, plan or summary")};
#undef O

static const struct prsvd_command_doc tucker_doc = {
    "tucker", "FILE.h5:/DATASET --ranks R1,...,RN -o OUT.h5 [options]",
    "Tucker decomposition A ~ G x_1 U1 x_2 U2 ... x_N UN of an N-way dataset (N >= 3, a\n"
    "NetCDF-4 variable too): a core G of r1 x ... x rN and factors Un (d_n x r_n) with\n"
    "orthonormal columns, streamed in slabs of the first dimension over the ranks.  Two\n"
    "passes (the default): a randomized range finder Q1 of the first dimension in one pass\n"
    "(-q more for power iterations), then Z = A x_1 Q1^T whole in a second, whose unfoldings\n"
    "give the other factors exactly; where Z does not fit --memory, range finders of every\n"
    "unfolding and the small core G = A x_n Qn^T instead.  --passes 1: the sketch of Sun,\n"
    "Guo, Luo, Tropp & Udell 2020, all in one pass.  Each truncates its core (Z or a slightly\n"
    "larger one) by ST-HOSVD; --tol chooses the ranks for an error target.  One more pass\n"
    "measures ||A - approximation||_F.  The results are the same on any number of ranks.",
    1,
    "# daily temperature, time x lat x lon = 365 x 180 x 360 (23.7 M values),\n"
    "# kept as a 20 x 15 x 30 core and three factors: 29800 values, 794x less\n"
    "mpirun -n 4 prsvd tucker t2m.nc:/t2m --ranks 20,15,30 -o t2m_tucker.h5\n"
    "# the ranks that keep the relative error below 1%, in two passes\n"
    "prsvd tucker t2m.nc:/t2m --tol 0.01 -o t2m_tucker.h5\n"
    "# one pass over the data (a stream that is read once)\n"
    "prsvd tucker t2m.nc:/t2m --ranks 20,15,30 --passes 1 -o t2m_tucker.h5",
    0};

/* "r1,r2,...,rN" into ranks; the count into *n. */
static int parse_ranks(const char *text, int64_t *ranks, int *n) {
  const char *p = text;
  *n = 0;
  if (!text[0]) PRSVD_ERR(PRSVD_ERR_USAGE, "--ranks is empty: give one rank a dimension, as 20,15,30");
  for (;;) {
    char *end;
    errno = 0;
    const long long v = strtoll(p, &end, 10);
    if (end == p || errno || (*end && *end != ','))
      PRSVD_ERR(PRSVD_ERR_USAGE, "--ranks '%s': '%.*s' is not a whole number (give one rank a dimension, as 20,15,30)",
                text, (int)strcspn(p, ","), p);
    if (v < 1) PRSVD_ERR(PRSVD_ERR_USAGE, "--ranks '%s': rank %d is %lld, must be at least 1", text, *n + 1, v);
    if (*n == PRSVD_TUCKER_MAX_MODES)
      PRSVD_ERR(PRSVD_ERR_USAGE, "--ranks '%s': more than %d ranks", text, PRSVD_TUCKER_MAX_MODES);
    ranks[(*n)++] = v;
    if (!*end) break;
    p = end + 1;
  }
  return PRSVD_OK;
}

/* -p: "auto" or a whole number 0..1e6 */
static int parse_oversample(const char *text, int64_t *p) {
  char *end;
  errno = 0;
  if (!strcmp(text, "auto")) {
    *p = PRSVD_TUCKER_OVERSAMPLE_AUTO;
    return PRSVD_OK;
  }
  const long long v = strtoll(text, &end, 10);
  if (end == text || *end || errno || v < 0 || v > 1000000)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--oversample '%s': give auto or a whole number 0..1000000", text);
  *p = v;
  return PRSVD_OK;
}

/* The values of the decomposition (core and factors) and of A, and the ratio. */
static double compression(int nd, const int64_t *dims, const int64_t *ranks, double *full, double *kept) {
  double core = 1.0, factors = 0.0;
  *full = 1.0;
  for (int n = 0; n < nd; n++) {
    *full *= (double)dims[n];
    core *= (double)ranks[n];
    factors += (double)dims[n] * (double)ranks[n];
  }
  *kept = core + factors;
  return *full / *kept;
}

/* "time, lat, lon" or "" when the dataset names no dimension */
static void names_joined(const struct prsvd_h5_features *in, char *out, size_t len) {
  size_t used = 0;
  int any = 0;
  out[0] = '\0';
  for (int n = 0; n < in->ndims; n++) any |= in->dim_names[n][0] != '\0';
  if (!any) return;
  for (int n = 0; n < in->ndims && used < len; n++)
    used += (size_t)snprintf(out + used, len - used, "%s%s", n ? "," : "", in->dim_names[n][0] ? in->dim_names[n] : "?");
}

/* FILE:/DS as its mode-1 unfolding: the features reader of svd and pca (io/h5source.c,
 * io/h5features.c) with the sample axis 0, missing values refused and no weights; a dataset of
 * fewer than 3 dimensions, or a sparse group, refused (exit 2). */
#define NEEDS "a Tucker decomposition needs 3 or more dimensions (prsvd svd factors a matrix)"
static int open_tensor(MPI_Comm comm, const char *file, const char *dataset, struct prsvd_h5_features *f,
                       struct prsvd_h5_info *info, prsvd_source **src) {
  const struct prsvd_h5_input how = {PRSVD_H5_READ_POSIX, PRSVD_H5_PANELS_ROWS, 0, 0, 0, f};
  f->min_dims = 3, f->min_dims_why = NEEDS; /* 1-D and 2-D refused by the reader, in these words */
  PRSVD_CHECK(prsvd_h5_open_input(comm, file, dataset, &how, info, src));
  if (info->sparse) PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' in '%s' is a sparse matrix group: " NEEDS, dataset, file);
  return PRSVD_OK;
}
#undef NEEDS

static const char *method_of(const struct prsvd_tucker_params *prm) {
  return prm->passes == 1 ? "one-pass" : "two-pass";
}

/* How the core was formed (include/prsvd.h, enum prsvd_tucker_route). */
static const char *route_of(const struct prsvd_tucker_plan *plan) {
  return plan->route == PRSVD_TUCKER_ROUTE_Z ? "z" : plan->route == PRSVD_TUCKER_ROUTE_CORE ? "core" : "one-pass";
}

static int write_tucker(struct prsvd_cli *cli, const struct tucker_opts *o, const char *file, const char *dataset,
                        const struct prsvd_h5_features *in, prsvd_tucker *t, const struct prsvd_tucker_params *prm,
                        const struct prsvd_tucker_plan *plan, const struct prsvd_tucker_stats *st) {
  int status = PRSVD_OK;
  prsvd_h5_writer *w = NULL;
  prsvd_h5_matrix *mat = NULL;
  const int64_t *ranks;
  const double *g;
  int nd;
  double shape[PRSVD_TUCKER_MAX_MODES], rk[PRSVD_TUCKER_MAX_MODES], sketch[PRSVD_TUCKER_MAX_MODES], full, kept;
  char names[PRSVD_H5_MAX_DIMS * (PRSVD_H5_FEATURE_NAME + 1)];
  PRSVD_CHECK(prsvd_tucker_get_core(t, &nd, &ranks, &g));
  PRSVD_CHECK(prsvd_h5_writer_create(cli->comm, o->output, o->force, &w));
  prsvd_profile_begin(PRSVD_EV_WRITE);
  PRSVD_TRY(prsvd_h5_write_array(w, "/G", nd, ranks, g));
  for (int n = 0; n < nd; n++) {
    const double *u;
    int64_t rows, cols;
    char name[16];
    snprintf(name, sizeof name, "/U%d", n + 1);
    PRSVD_TRY(prsvd_tucker_get_factor(t, n, &u, &rows, &cols));
    PRSVD_TRY(prsvd_h5_matrix_create(w, name, rows, cols, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
    PRSVD_TRY(prsvd_h5_matrix_write_colmajor(mat, 0, cli->rank == 0 ? rows : 0, u, rows));
    prsvd_h5_matrix_close(&mat);
    PRSVD_TRY(prsvd_h5_attr_int(w, name, "mode", n + 1));
    if (in->dim_names[n][0]) PRSVD_TRY(prsvd_h5_attr_string(w, name, "dimension", in->dim_names[n]));
    shape[n] = (double)in->dims[n], rk[n] = (double)ranks[n], sketch[n] = (double)plan->sketch[n];
  }
  names_joined(in, names, sizeof names);
  if (names[0]) PRSVD_TRY(prsvd_h5_attr_string(w, "/G", "dimensions", names));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "prsvd_version", PACKAGE_VERSION));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "command_line", cli->command_line));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "input_file", file));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "input_dataset", dataset));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "method", method_of(prm)));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "route", route_of(plan)));
  if (names[0]) PRSVD_TRY(prsvd_h5_attr_string(w, "/", "dimension_names", names));
  PRSVD_TRY(prsvd_h5_attr_doubles(w, "/", "shape", nd, shape));
  PRSVD_TRY(prsvd_h5_attr_doubles(w, "/", "ranks", nd, rk));
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "compression_ratio", compression(nd, in->dims, ranks, &full, &kept)));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "passes", st->passes));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "oversample", o->oversample));
  PRSVD_TRY(prsvd_h5_attr_doubles(w, "/", "sketch", nd, sketch));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "power_iters", o->power_iters));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "seed", (int64_t)o->seed));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "nprocs", cli->nprocs));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "memory", o->memory));
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "elapsed_seconds", MPI_Wtime() - cli->t_start));
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "norm_fro", st->norm_fro));
  if (prm->tol > 0) {
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "tol", prm->tol));
    PRSVD_TRY(prsvd_h5_attr_int(w, "/", "tol_met", st->tol_met));
  }
  if (!isnan(st->error_estimate)) PRSVD_TRY(prsvd_h5_attr_double(w, "/", "error_estimate", st->error_estimate));
  const double err = st->error_verified ? st->error_fro : st->error_estimate;
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "error_from", st->error_verified ? "pass" : isnan(err) ? "none" : "estimate"));
  if (!isnan(err)) {
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "error_fro", err));
    PRSVD_TRY(prsvd_h5_attr_double(w, "/", "relative_error", st->error_verified ? st->relative_error
                                                              : st->norm_fro > 0 ? err / st->norm_fro : 0.0));
  }
  PRSVD_TRY(prsvd_h5_writer_commit(&w));
  prsvd_profile_end(PRSVD_EV_WRITE, 8.0 * kept, 0.0);
done:
  prsvd_h5_matrix_close(&mat);
  prsvd_h5_writer_abort(&w);
  return status;
}

static void print_dims(const char *sep, int nd, const int64_t *x) {
  for (int n = 0; n < nd; n++) printf("%s%lld", n ? sep : "", (long long)x[n]);
}

static void print_plan(const struct prsvd_cli *cli, const char *spec, const struct prsvd_h5_features *in,
                       const char *type, const struct tucker_opts *o, const struct prsvd_tucker_params *prm,
                       const struct prsvd_tucker_plan *plan) {
  char b1[32], b2[32], names[PRSVD_H5_MAX_DIMS * (PRSVD_H5_FEATURE_NAME + 1)];
  double values = 1.0;
  for (int n = 0; n < in->ndims; n++) values *= (double)in->dims[n];
  names_joined(in, names, sizeof names);
  printf("prsvd tucker %s: ", spec);
  print_dims(" x ", in->ndims, in->dims);
  printf(" %s%s%s%s on %d rank%s\n", type, names[0] ? " (" : "", names, names[0] ? ")" : "", cli->nprocs,
         cli->nprocs > 1 ? "s" : "");
  if (prm->passes == 1) {
    printf("  one pass (Sun et al. 2020): factor sketches ");
    print_dims(" x ", in->ndims, plan->sketch);
    printf(" (2r + 1), core sketch ");
    print_dims(" x ", in->ndims, plan->core_sketch);
    printf(" (2k + 1)\n");
  } else {
    const int z = plan->route == PRSVD_TUCKER_ROUTE_Z;
    char zb[32], mb[32];
    printf("  two passes%s: ", prm->power_iters ? " and power iterations" : "");
    if (z) printf("mode 1 sketched %lld wide", (long long)plan->sketch[0]);
    else printf("range sketches "), print_dims(" x ", in->ndims, plan->sketch);
    if (prm->tol > 0) printf(" (--max-rank %lld + p), ranks for --tol %g\n", (long long)o->max_rank, prm->tol);
    else if (prm->oversample == PRSVD_TUCKER_OVERSAMPLE_AUTO)
      printf(" (%s at most, -p auto), q = %lld\n", plan->route == PRSVD_TUCKER_ROUTE_Z ? "mode 1 3r + 10" : "2r + 10",
             (long long)o->power_iters);
    else printf(" (r + p, p = %lld), q = %lld\n", (long long)prm->oversample, (long long)o->power_iters);
    prsvd_format_bytes((double)plan->z_bytes, zb, sizeof zb);
    prsvd_format_bytes((double)prm->memory, mb, sizeof mb);
    if (z) printf("  route z: modes 2..%d exact from Z = A x_1 Q1^T whole (%s with its truncation, within --memory %s)\n",
                  in->ndims, zb, mb);
    else printf("  route core: Z = A x_1 Q1^T whole would take %s, beyond --memory %s: the sketched core\n", zb, mb);
  }
  printf("  %d passes over %s (%s), sketches %s a rank\n", plan->passes,
         prsvd_format_bytes(8.0 * values, b1, sizeof b1), o->no_verify ? "no verification pass" : "the last measures the error",
         prsvd_format_bytes((double)plan->sketch_bytes, b2, sizeof b2));
  printf("  slabs of %lld along dimension 1, %lld values each\n",
         (long long)(plan->panel_rows < in->dims[0] ? plan->panel_rows : in->dims[0]),
         (long long)(values / (double)in->dims[0]));
  fflush(stdout);
}

static void print_summary(const struct prsvd_cli *cli, const struct tucker_opts *o, const struct prsvd_h5_features *in,
                          const struct prsvd_tucker_params *prm, const struct prsvd_tucker_stats *st,
                          const struct prsvd_profile_row *rows, double elapsed) {
  char b[32];
  double full, kept;
  if (cli->rank) return;
  const double ratio = compression(in->ndims, in->dims, st->ranks, &full, &kept);
  printf("ranks ");
  print_dims(" x ", in->ndims, st->ranks);
  printf("%s: %.0f values kept of %.0f, compression %.1fx\n", prm->tol > 0 ? " (chosen by --tol)" : "", kept, full,
         ratio);
  if (st->error_verified)
    printf("error: ||A - G x_n Un||_F / ||A||_F = %.3e (measured by a pass; ||A||_F = %.6g)\n", st->relative_error,
           st->norm_fro);
  if (!isnan(st->error_estimate))
    printf("estimate: sqrt(||A||^2 - ||G||^2) / ||A||_F = %.3e%s\n",
           st->norm_fro > 0 ? st->error_estimate / st->norm_fro : 0.0,
           prm->tol > 0 ? (st->tol_met ? " (--tol met)" : " (--tol NOT met)") : "");
  else if (!st->error_verified)
    printf("error: not measured (one pass and --no-verify-pass)\n");
  printf("passes %d, read %s, %.2f s\n", st->passes, prsvd_format_bytes((double)st->bytes_read, b, sizeof b), elapsed);
  prsvd_profile_print(stdout, rows);
  printf("wrote %s\n", o->output);
}

static json_object *ints_json(int nd, const int64_t *x) {
  json_object *a = json_object_new_array();
  for (int n = 0; n < nd; n++) json_object_array_add(a, json_object_new_int64(x[n]));
  return a;
}

static json_object *summary_json(const struct prsvd_cli *cli, const char *spec, const struct tucker_opts *o,
                                 const struct prsvd_h5_features *in, const struct prsvd_tucker_params *prm,
                                 const struct prsvd_tucker_plan *plan, const struct prsvd_tucker_stats *st,
                                 const struct prsvd_profile_row *rows, double elapsed) {
  double full, kept;
  json_object *j = json_object_new_object(), *names = json_object_new_array();
  json_object_object_add(j, "command", json_object_new_string("tucker"));
  json_object_object_add(j, "method", json_object_new_string(method_of(prm)));
  json_object_object_add(j, "input", json_object_new_string(spec));
  json_object_object_add(j, "output", json_object_new_string(o->output));
  json_object_object_add(j, "shape", ints_json(in->ndims, in->dims));
  for (int n = 0; n < in->ndims; n++) json_object_array_add(names, json_object_new_string(in->dim_names[n]));
  json_object_object_add(j, "dimension_names", names);
  json_object_object_add(j, "ranks", ints_json(in->ndims, st->ranks));
  json_object_object_add(j, "sketch", ints_json(in->ndims, plan->sketch));
  if (prm->passes == 1) json_object_object_add(j, "core_sketch", ints_json(in->ndims, plan->core_sketch));
  json_object_object_add(j, "route", json_object_new_string(route_of(plan)));
  if (prm->passes == 2) json_object_object_add(j, "z_bytes", json_object_new_int64(plan->z_bytes));
  json_object_object_add(j, "compression_ratio", prsvd_json_double(compression(in->ndims, in->dims, st->ranks, &full, &kept)));
  json_object_object_add(j, "values_kept", prsvd_json_double(kept));
  json_object_object_add(j, "passes", json_object_new_int(st->passes));
  json_object_object_add(j, "power_iters", json_object_new_int64(o->power_iters));
  json_object_object_add(j, "oversample", prm->oversample == PRSVD_TUCKER_OVERSAMPLE_AUTO
                                              ? json_object_new_string("auto") : json_object_new_int64(prm->oversample));
  json_object_object_add(j, "nprocs", json_object_new_int(cli->nprocs));
  json_object_object_add(j, "panel_rows", json_object_new_int64(st->panel_rows));
  json_object_object_add(j, "bytes_read", json_object_new_int64(st->bytes_read));
  json_object_object_add(j, "norm_fro", prsvd_json_double(st->norm_fro));
  json_object_object_add(j, "error_fro", prsvd_json_double(st->error_verified ? st->error_fro : NAN));
  json_object_object_add(j, "relative_error",
                         prsvd_json_double(st->error_verified ? st->relative_error : NAN));
  json_object_object_add(j, "error_estimate", prsvd_json_double(st->error_estimate));
  json_object_object_add(j, "relative_error_estimate",
                         prsvd_json_double(st->norm_fro > 0 ? st->error_estimate / st->norm_fro : st->error_estimate));
  json_object_object_add(j, "error_from", json_object_new_string(st->error_verified ? "pass" : isnan(st->error_estimate) ? "none" : "estimate"));
  if (prm->tol > 0) {
    json_object_object_add(j, "tol", prsvd_json_double(prm->tol));
    json_object_object_add(j, "tol_met", json_object_new_boolean(st->tol_met));
  }
  json_object_object_add(j, "scale_exp", json_object_new_int(st->scale_exp));
  json_object_object_add(j, "elapsed_seconds", prsvd_json_double(elapsed));
  json_object_object_add(j, "phases", prsvd_profile_json(rows));
  return j;
}

int cmd_tucker(struct prsvd_cli *cli, int argc, char **argv) {
  int status = PRSVD_OK, nranks = 0;
  struct tucker_opts o;
  const char *pos[1] = {NULL};
  char *file = NULL, *dataset = NULL;
  prsvd_source *src = NULL;
  prsvd_tucker *t = NULL;
  struct prsvd_h5_features info = {0};
  struct prsvd_h5_info h5;
  struct prsvd_tucker_params prm = PRSVD_TUCKER_PARAMS_INIT;
  struct prsvd_tucker_plan plan;
  struct prsvd_tucker_stats st;
  struct prsvd_progress progress;
  struct prsvd_profile_row rows[PRSVD_N_EVENTS];
  int64_t ranks[PRSVD_TUCKER_MAX_MODES] = {0};

  status = prsvd_options_parse(&tucker_doc, tucker_options, argc, argv, &o, pos);
  if (status) return status;
  if (o.ranks && o.tol > 0)
    PRSVD_FAIL(PRSVD_ERR_USAGE, "--ranks and --tol exclude each other: give the ranks, or the error to reach");
  if (!o.ranks && !(o.tol > 0)) PRSVD_FAIL(PRSVD_ERR_USAGE, "give --ranks R1,...,RN or --tol EPS");
  if (o.ranks) PRSVD_TRY(parse_ranks(o.ranks, ranks, &nranks));
  PRSVD_TRY(parse_oversample(o.oversample, &prm.oversample));
  PRSVD_TRY(prsvd_h5_parse_spec(pos[0], &file, &dataset));
  PRSVD_TRY(open_tensor(cli->comm, file, dataset, &info, &h5, &src));
  if (o.ranks && nranks != info.ndims)
    PRSVD_FAIL(PRSVD_ERR_USAGE, "--ranks '%s' gives %d rank%s for the %d dimensions of '%s'", o.ranks, nranks,
               nranks == 1 ? "" : "s", info.ndims, pos[0]);
  for (int n = 0; n < nranks; n++)
    if (ranks[n] > info.dims[n])
      PRSVD_FAIL(PRSVD_ERR_USAGE, "--ranks '%s': rank %lld of dimension %d exceeds its length %lld", o.ranks,
                 (long long)ranks[n], n + 1, (long long)info.dims[n]);
  memcpy(prm.ranks, ranks, sizeof ranks);
  prm.tol = o.tol > 0 ? o.tol : 0.0;
  prm.max_rank = o.max_rank;
  prm.passes = (int)o.passes;
  prm.power_iters = (int)o.power_iters;
  prm.seed = o.seed;
  prm.memory = o.memory;
  prm.verify = !o.no_verify;
  prm.prefetch = !o.no_prefetch;
  PRSVD_TRY(prsvd_tucker_plan(&prm, src, info.ndims, info.dims, cli->nprocs, &plan));
  PRSVD_TRY(prsvd_cli_check_files(cli, file, o.output, o.force, NULL));
  if (!o.quiet && !o.json && cli->rank == 0) print_plan(cli, pos[0], &info, h5.type, &o, &prm, &plan);

  prsvd_progress_init(&progress, cli, !o.quiet && (o.progress || isatty(2)),
                      8.0 * (double)prsvd_source_cols(src));
  prm.progress = prsvd_progress_report;
  prm.progress_arg = &progress;
  prsvd_profile_reset();
  PRSVD_TRY(prsvd_tucker_create(cli->comm, &t));
  PRSVD_TRY(prsvd_tucker_set_params(t, &prm));
  PRSVD_TRY(prsvd_tucker_solve(t, src, info.ndims, info.dims));
  PRSVD_TRY(prsvd_tucker_get_stats(t, &st));
  PRSVD_TRY(write_tucker(cli, &o, file, dataset, &info, t, &prm, &plan, &st));

  double elapsed = MPI_Wtime() - cli->t_start;
  prsvd_profile_reduce(cli->comm, rows);
  if (o.json) {
    json_object *j = summary_json(cli, pos[0], &o, &info, &prm, &plan, &st, rows, elapsed);
    prsvd_cli_print_json(cli, j);
    json_object_put(j);
  } else if (!o.quiet) {
    print_summary(cli, &o, &info, &prm, &st, rows, elapsed);
  }
  if (prm.tol > 0 && !st.tol_met)
    PRSVD_FAIL(PRSVD_ERR_TOL,
               "tolerance %g not reached within --max-rank %lld (estimated error %.3e): the result in '%s' is "
               "labelled tol_met = 0; raise --max-rank",
               prm.tol, (long long)o.max_rank, st.norm_fro > 0 ? st.error_estimate / st.norm_fro : 0.0, o.output);
done:
  prsvd_tucker_destroy(&t);
  prsvd_source_destroy(&src);
  prsvd_h5_features_free(&info);
  free(file);
  free(dataset);
  return status;
}
