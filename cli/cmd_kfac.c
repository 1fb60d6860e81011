/* prsvd kfac FACTORS.h5 -o INVERSES.h5: eigendecompositions of the Kronecker factors of a
 * K-FAC optimizer (one group per layer holding square symmetric A and G), spread over the
 * ranks, written per layer as U_A, lambda_A, U_G, lambda_G and the dampings, so that any
 * trainer can apply (G + lambda_G I)^-1 grad_W (A + lambda_A I)^-1.
 *
 * A factor is read whole by the rank that decomposes it, unless all ranks decompose it
 * together (dimension >= --distribute-dim): then eig reads it on every rank (PDSYEVD holds
 * it block-cyclically), and the randomized methods stream it from the file in panels of
 * --memory bytes, as `prsvd eig` does, as they also do with a factor larger than --memory. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prsvd_h5.h"
#include "cli.h"
#include "config.h"
#include "error.h"
#include "options.h"
#include "prsvd_kfac.h"

struct kfac_opts {
  int64_t rank, oversample, power_iters, memory, distribute_dim, threads;
  uint64_t seed;
  double damping, sym_tol;
  const char *output, *method, *damping_kind, *layers;
  int pi, force, json, quiet, debug;
};

#define O(f) offsetof(struct kfac_opts, f)
static const struct prsvd_option kfac_options[] = {
    {"method", 0, PRSVD_OPT_STRING, "M", "revd", 0, 0, 0, "eig (LAPACK dsyevd, every eigenpair), revd, nystrom or rsvd", O(method)},
    {"rank", 'k', PRSVD_OPT_INT, "R", NULL, 1, 1e12, 0, "eigenpairs per factor (required unless --method eig)", O(rank)},
    {"oversample", 'p', PRSVD_OPT_INT, "P", "10", 0, 1e6, 0, "extra sketch columns", O(oversample)},
    {"power-iters", 'q', PRSVD_OPT_INT, "Q", "4", 0, 100, 0, "revd, rsvd: power iterations", O(power_iters)},
    {"damping", 0, PRSVD_OPT_DOUBLE, "D", "0.1", 1e-300, 1e300, 0, "damping, see --damping-kind and --pi", O(damping)},
    {"damping-kind", 0, PRSVD_OPT_STRING, "K", "relative", 0, 0, 0, "relative (D lambda_max) or absolute (D)", O(damping_kind)},
    {"pi", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "split the damping between A and G by Martens & Grosse's pi", O(pi)},
    {"layers", 0, PRSVD_OPT_STRING, "L1,L2", NULL, 0, 0, 0, "only these layer groups (default: every group)", O(layers)},
    {"seed", 0, PRSVD_OPT_UINT64, "S", "0", 0, 0, 0, "seed of the randomized methods", O(seed)},
    {"sym-tol", 0, PRSVD_OPT_DOUBLE, "T", "1e-8", 0, 1, 0, "allowed |F_ij - F_ji| relative to max |F_ij| (streamed factors: on 1000 sampled pairs)", O(sym_tol)},
    {"distribute-dim", 0, PRSVD_OPT_INT, "D", "4096", 0, 1e12, 0, "factors of dimension >= D decomposed by all ranks together (0: never)", O(distribute_dim)},
    {"memory", 0, PRSVD_OPT_SIZE, "SIZE", "512M", 1, 0, 0, "per-rank budget: randomized methods stream larger factors in row panels of this size", O(memory)},
    PRSVD_OPT_THREADS(struct kfac_opts, "for the decompositions: revd, nystrom and rsvd split every panel's rows among them, eig runs its BLAS on them"),
    {"output", 'o', PRSVD_OPT_STRING, "OUT.h5", NULL, 0, 0, 1, "output file: per layer U_A, lambda_A, U_G, lambda_G", O(output)},
    PRSVD_OPT_FORCE(struct kfac_opts),
    PRSVD_OPT_JSON(struct kfac_opts),
    PRSVD_OPT_QUIET(struct kfac_opts, "no summary"),
    PRSVD_OPT_DEBUG(struct kfac_opts),
    PRSVD_OPT_END};
#undef O

static const struct prsvd_command_doc kfac_doc = {
    "kfac", "FACTORS.h5 -o INVERSES.h5 [--method M] [-k R] [options]",
    "Eigendecompositions of K-FAC Kronecker factors: FACTORS.h5 holds one group per layer\n"
    "with square symmetric PSD datasets A (inputs) and G (output gradients).  Each factor is\n"
    "decomposed on one rank (greedy balance by cost) and written to INVERSES.h5 as\n"
    "/LAYER/U_A, /LAYER/lambda_A, /LAYER/U_G, /LAYER/lambda_G with the dampings as the\n"
    "attributes damping_A and damping_G: (F + damping I)^-1 = U[(L + damping)^-1 - damping^-1]U^T\n"
    "+ damping^-1 I.  Factors of dimension >= --distribute-dim are decomposed by all ranks\n"
    "together (eig: ScaLAPACK PDSYEVD; revd, nystrom, rsvd: distributed sketches streaming the\n"
    "factor from the file in --memory panels, as they do any factor larger than --memory).",
    1,
    "# rank-64 eigendecompositions of every layer's A and G, 4 ranks\n"
    "mpirun -n 4 prsvd kfac factors.h5 -k 64 -o inverses.h5\n"
    "# exact eigenpairs (LAPACK dsyevd) of two layers only\n"
    "prsvd kfac factors.h5 --method eig --layers fc1,fc2 -o inverses.h5",
    0};

static const char *factor_name[2] = {"A", "G"};

struct layer_info {
  char *name;
  int64_t dim[2];
};

/* Collective: the layer groups to decompose, each with square A and G of known size. */
static int inspect_layers(struct prsvd_cli *cli, const struct kfac_opts *o, const char *file,
                          int *n_layers, struct layer_info **layers) {
  int status = PRSVD_OK, n_groups = 0, n = 0;
  char **groups = NULL, *list = NULL, path[4096];
  struct layer_info *ls = NULL;
  struct prsvd_h5_info info;
  *n_layers = 0;
  *layers = NULL;
  PRSVD_CHECK(prsvd_h5_list_groups(cli->comm, file, "/", &n_groups, &groups));
  PRSVD_ALLOC(ls, n_groups + 1);
  if (o->layers) { /* --layers: each must be a group */
    PRSVD_ALLOC(list, strlen(o->layers) + 1);
    strcpy(list, o->layers);
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      int found = -1;
      for (int g = 0; g < n_groups && found < 0; g++)
        if (!strcmp(groups[g], t)) found = g;
      if (found < 0) PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' has no layer group '%s'", file, t);
      struct layer_info *grown = realloc(ls, sizeof *ls * (size_t)(n + 1));
      if (!grown) PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory listing layers");
      ls = grown;
      ls[n++].name = groups[found];
    }
  } else {
    for (int g = 0; g < n_groups; g++) ls[n++].name = groups[g];
  }
  if (!n)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' has no layer groups (expected one group per layer holding datasets A and G)", file);
  for (int l = 0; l < n; l++)
    for (int w = 0; w < 2; w++) {
      snprintf(path, sizeof path, "/%s/%s", ls[l].name, factor_name[w]);
      PRSVD_TRY(prsvd_h5_inspect(cli->comm, file, path, &info));
      if (info.rows != info.cols)
        PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s:%s' is %lld x %lld: a Kronecker factor must be square", file, path,
                   (long long)info.rows, (long long)info.cols);
      if (strcmp(o->method, "eig") && o->rank > info.rows)
        PRSVD_FAIL(PRSVD_ERR_USAGE, "--rank %lld exceeds the dimension %lld of '%s:%s' (use a smaller --rank or --method eig)",
                   (long long)o->rank, (long long)info.rows, file, path);
      if (!strcmp(o->method, "eig") && 8.0 * (double)info.rows * (double)info.rows > (double)o->memory)
        PRSVD_FAIL(PRSVD_ERR_USAGE, "'%s:%s' is %lld x %lld (%.3g MB): above --memory %lld bytes, and --method eig holds it and all its eigenvectors (use --method revd, nystrom or rsvd, which stream it, or raise --memory)",
                   file, path, (long long)info.rows, (long long)info.rows, 8e-6 * (double)info.rows * (double)info.rows,
                   (long long)o->memory);
      if (8 * info.cols > o->memory)
        PRSVD_FAIL(PRSVD_ERR_USAGE, "--memory %lld bytes holds less than one row of '%s:%s' (%lld bytes)",
                   (long long)o->memory, file, path, (long long)(8 * info.cols));
      ls[l].dim[w] = info.rows;
    }
  /* the names now belong to ls */
  for (int l = 0; l < n; l++) {
    ls[l].name = strdup(ls[l].name);
    if (!ls[l].name) PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory listing layers");
  }
  *n_layers = n;
  *layers = ls;
  ls = NULL;
done:
  free(ls);
  free(list);
  prsvd_h5_free_names(n_groups, groups);
  return status;
}

/* This rank alone: read a whole factor, check it is finite and symmetric, hand it over. */
static int load_factor(prsvd_kfac *kf, const struct kfac_opts *o, const char *file,
                       const struct layer_info *l, int layer, int w) {
  int status = PRSVD_OK;
  char path[4096];
  prsvd_source *src = NULL;
  struct prsvd_h5_info info;
  double *f = NULL, big = 0.0, worst = 0.0;
  const int64_t d = l->dim[w];
  int64_t wi = 0, wj = 0;
  snprintf(path, sizeof path, "/%s/%s", l->name, factor_name[w]);
  PRSVD_ALLOC(f, d * d);
  PRSVD_TRY(prsvd_h5_open_source(MPI_COMM_SELF, file, path, &info, &src));
  PRSVD_TRY(prsvd_source_read(src, 0, d, f));
  for (int64_t i = 0; i < d; i++)
    for (int64_t j = 0; j < d; j++) {
      if (!isfinite(f[i * d + j]))
        PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s:%s' has %s at row %lld, column %lld", file, path,
                   isnan(f[i * d + j]) ? "NaN" : "Inf", (long long)i, (long long)j);
      big = fmax(big, fabs(f[i * d + j]));
    }
  for (int64_t i = 0; i < d; i++)
    for (int64_t j = i + 1; j < d; j++)
      if (fabs(f[i * d + j] - f[j * d + i]) > worst) worst = fabs(f[i * d + j] - f[j * d + i]), wi = i, wj = j;
  if (worst > o->sym_tol * big)
    PRSVD_FAIL(PRSVD_ERR_INPUT,
               "'%s:%s' is not symmetric: F[%lld][%lld] = %.17g but F[%lld][%lld] = %.17g (tolerance %g relative to max |F_ij| = %g)",
               file, path, (long long)wi, (long long)wj, f[wi * d + wj], (long long)wj, (long long)wi,
               f[wj * d + wi], o->sym_tol, big);
  PRSVD_TRY(prsvd_kfac_set_factor(kf, layer, w ? PRSVD_KFAC_G : PRSVD_KFAC_A, f, d));
done:
  prsvd_source_destroy(&src);
  free(f);
  return status;
}

static int write_inverses(struct prsvd_cli *cli, const struct kfac_opts *o, const char *file,
                          prsvd_kfac *kf, int n_layers, const struct layer_info *ls) {
  int status = PRSVD_OK;
  prsvd_h5_writer *wr = NULL;
  prsvd_h5_matrix *mat = NULL;
  char name[4096], group[4096];
  PRSVD_CHECK(prsvd_h5_writer_create(cli->comm, o->output, o->force, &wr));
  for (int l = 0; l < n_layers; l++) {
    snprintf(group, sizeof group, "/%s", ls[l].name);
    for (int w = 0; w < 2; w++) {
      const double *u, *lambda;
      double damping;
      int64_t d, r;
      PRSVD_TRY(prsvd_kfac_get_inverse(kf, l, w ? PRSVD_KFAC_G : PRSVD_KFAC_A, &d, &r, &u, &lambda, &damping));
      /* every rank holds U: rank 0 writes it */
      snprintf(name, sizeof name, "/%s/U_%s", ls[l].name, factor_name[w]);
      PRSVD_TRY(prsvd_h5_matrix_create(wr, name, d, r, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
      PRSVD_TRY(prsvd_h5_matrix_write_colmajor(mat, 0, cli->rank == 0 ? d : 0, u, d));
      prsvd_h5_matrix_close(&mat);
      snprintf(name, sizeof name, "/%s/lambda_%s", ls[l].name, factor_name[w]);
      PRSVD_TRY(prsvd_h5_write_vector(wr, name, r, lambda));
      snprintf(name, sizeof name, "damping_%s", factor_name[w]);
      PRSVD_TRY(prsvd_h5_attr_double(wr, group, name, damping));
      snprintf(name, sizeof name, "rank_%s", factor_name[w]);
      PRSVD_TRY(prsvd_h5_attr_int(wr, group, name, r));
    }
  }
  PRSVD_TRY(prsvd_h5_attr_string(wr, "/", "prsvd_version", PACKAGE_VERSION));
  PRSVD_TRY(prsvd_h5_attr_string(wr, "/", "command_line", cli->command_line));
  PRSVD_TRY(prsvd_h5_attr_string(wr, "/", "input_file", file));
  PRSVD_TRY(prsvd_h5_attr_string(wr, "/", "method", o->method));
  PRSVD_TRY(prsvd_h5_attr_string(wr, "/", "damping_kind", o->damping_kind));
  PRSVD_TRY(prsvd_h5_attr_double(wr, "/", "damping", o->damping));
  PRSVD_TRY(prsvd_h5_attr_int(wr, "/", "pi_split", o->pi));
  PRSVD_TRY(prsvd_h5_attr_int(wr, "/", "rank", o->rank));
  PRSVD_TRY(prsvd_h5_attr_int(wr, "/", "oversample", o->oversample));
  PRSVD_TRY(prsvd_h5_attr_int(wr, "/", "power_iters", o->power_iters));
  PRSVD_TRY(prsvd_h5_attr_int(wr, "/", "seed", (int64_t)o->seed));
  PRSVD_TRY(prsvd_h5_attr_int(wr, "/", "layers", n_layers));
  PRSVD_TRY(prsvd_h5_attr_int(wr, "/", "nprocs", cli->nprocs));
  PRSVD_TRY(prsvd_h5_attr_double(wr, "/", "elapsed_seconds", MPI_Wtime() - cli->t_start));
  PRSVD_TRY(prsvd_h5_writer_commit(&wr));
done:
  prsvd_h5_matrix_close(&mat);
  prsvd_h5_writer_abort(&wr);
  return status;
}

/* 1 if the factor is streamed from the file rather than read whole */
static int streamed(const struct prsvd_cli *cli, const struct kfac_opts *o, int64_t d) {
  if (!strcmp(o->method, "eig")) return 0;
  return 8.0 * (double)d * (double)d > (double)o->memory ||
         (cli->nprocs > 1 && o->distribute_dim > 0 && d >= o->distribute_dim);
}

static void summary(struct prsvd_cli *cli, const struct kfac_opts *o, const char *file,
                    prsvd_kfac *kf, int n_layers, const struct layer_info *ls, double t_inverse,
                    const struct prsvd_threads_choice *tc) {
  json_object *j = o->json ? json_object_new_object() : NULL, *jl = o->json ? json_object_new_array() : NULL;
  if (!o->json && !o->quiet && cli->rank == 0) {
    printf("prsvd kfac %s: %d layer%s, %s, %d rank%s\n", file, n_layers, n_layers > 1 ? "s" : "",
           o->method, cli->nprocs, cli->nprocs > 1 ? "s" : "");
    prsvd_cli_print_threads(cli, tc, NULL, 0);
  }
  for (int l = 0; l < n_layers; l++) {
    json_object *one = o->json ? json_object_new_object() : NULL;
    if (one) json_object_object_add(one, "name", json_object_new_string(ls[l].name));
    if (!o->json && !o->quiet && cli->rank == 0) printf("  %s:", ls[l].name);
    for (int w = 0; w < 2; w++) {
      const double *u, *lambda;
      double damping;
      int64_t d, r;
      int owner;
      char key[32];
      prsvd_kfac_get_inverse(kf, l, w ? PRSVD_KFAC_G : PRSVD_KFAC_A, &d, &r, &u, &lambda, &damping);
      prsvd_kfac_owner(kf, l, w ? PRSVD_KFAC_G : PRSVD_KFAC_A, &owner);
      if (one) {
        json_object *f = json_object_new_object();
        json_object_object_add(f, "dim", json_object_new_int64(d));
        json_object_object_add(f, "rank", json_object_new_int64(r));
        json_object_object_add(f, "lambda_max", prsvd_json_double(r ? lambda[0] : 0.0));
        json_object_object_add(f, "damping", prsvd_json_double(damping));
        json_object_object_add(f, "owner", json_object_new_int(owner));
        json_object_object_add(f, "streamed", json_object_new_boolean(streamed(cli, o, d)));
        snprintf(key, sizeof key, "%s", factor_name[w]);
        json_object_object_add(one, key, f);
      } else if (!o->quiet && cli->rank == 0) {
        char who[32];
        if (owner >= 0) snprintf(who, sizeof who, "rank %d", owner);
        else snprintf(who, sizeof who, "all ranks%s", streamed(cli, o, d) ? ", streamed" : "");
        printf("  %s %lld x %lld, r = %lld, lambda_max %.6g, damping %.6g (%s)", factor_name[w],
               (long long)d, (long long)d, (long long)r, r ? lambda[0] : 0.0, damping, who);
      }
    }
    if (one) json_object_array_add(jl, one);
    else if (!o->quiet && cli->rank == 0) printf("\n");
  }
  if (j) {
    json_object_object_add(j, "command", json_object_new_string("kfac"));
    json_object_object_add(j, "method", json_object_new_string(o->method));
    json_object_object_add(j, "input", json_object_new_string(file));
    json_object_object_add(j, "output", json_object_new_string(o->output));
    json_object_object_add(j, "nprocs", json_object_new_int(cli->nprocs));
    json_object_object_add(j, "threads", prsvd_threads_json(cli, tc, NULL));
    json_object_object_add(j, "inversion_seconds", prsvd_json_double(t_inverse));
    json_object_object_add(j, "elapsed_seconds", prsvd_json_double(MPI_Wtime() - cli->t_start));
    json_object_object_add(j, "layers", jl);
    prsvd_cli_print_json(cli, j);
    json_object_put(j);
  } else if (!o->quiet && cli->rank == 0) {
    printf("inversion %.3f s (slowest rank)\nwrote %s\n", t_inverse, o->output);
  }
}

int cmd_kfac(struct prsvd_cli *cli, int argc, char **argv) {
  int status = PRSVD_OK, n_layers = 0, layer;
  struct kfac_opts o;
  const char *pos[1] = {NULL};
  struct layer_info *ls = NULL;
  prsvd_source **srcs = NULL;
  prsvd_kfac *kf = NULL;
  struct prsvd_kfac_params prm = PRSVD_KFAC_PARAMS_INIT;
  struct prsvd_kfac_stats st;
  struct prsvd_threads_choice tc;
  double t_inverse;

  status = prsvd_options_parse(&kfac_doc, kfac_options, argc, argv, &o, pos);
  if (status) return status;
  if (!strcmp(o.method, "eig")) prm.method = PRSVD_KFAC_EIG;
  else if (!strcmp(o.method, "revd")) prm.method = PRSVD_KFAC_REVD;
  else if (!strcmp(o.method, "nystrom")) prm.method = PRSVD_KFAC_NYSTROM;
  else if (!strcmp(o.method, "rsvd")) prm.method = PRSVD_KFAC_RSVD;
  else PRSVD_FAIL(PRSVD_ERR_USAGE, "unknown --method '%s': expected eig, revd, nystrom or rsvd", o.method);
  if (!strcmp(o.damping_kind, "relative")) prm.damping_kind = PRSVD_KFAC_DAMPING_RELATIVE;
  else if (!strcmp(o.damping_kind, "absolute")) prm.damping_kind = PRSVD_KFAC_DAMPING_ABSOLUTE;
  else PRSVD_FAIL(PRSVD_ERR_USAGE, "unknown --damping-kind '%s': expected relative or absolute", o.damping_kind);
  if (prm.method != PRSVD_KFAC_EIG && o.rank < 1)
    PRSVD_FAIL(PRSVD_ERR_USAGE, "--rank is required with --method %s", o.method);
  prm.rank = o.rank > 0 ? o.rank : 1;
  prm.oversample = o.oversample;
  prm.power_iters = (int)o.power_iters;
  prm.seed = o.seed;
  prm.damping = o.damping;
  prm.pi_split = o.pi;
  prm.distribute_dim = o.distribute_dim;
  prm.memory = o.memory;
  prm.sym_tol = o.sym_tol;
  PRSVD_TRY(prsvd_threads_choose(cli->comm, (int)o.threads, &tc)); /* as svd's run chooses them */
  prm.threads = tc.threads;
  /* validate everything before any work or output */
  PRSVD_TRY(inspect_layers(cli, &o, pos[0], &n_layers, &ls));
  PRSVD_TRY(prsvd_cli_check_files(cli, pos[0], o.output, o.force, NULL));
  PRSVD_TRY(prsvd_kfac_create(cli->comm, &kf));
  PRSVD_TRY(prsvd_kfac_set_params(kf, &prm));
  for (int l = 0; l < n_layers; l++) {
    char label[4096];
    PRSVD_TRY(prsvd_kfac_add_layer(kf, ls[l].dim[0], ls[l].dim[1], 0, &layer));
    snprintf(label, sizeof label, "%s:/%s", pos[0], ls[l].name);
    PRSVD_TRY(prsvd_kfac_set_layer_name(kf, layer, label));
  }
  /* the streamed factors: an HDF5 source each, on every rank */
  PRSVD_ALLOC(srcs, 2 * n_layers);
  for (int l = 0; l < n_layers; l++)
    for (int w = 0; w < 2; w++) {
      char path[4096];
      struct prsvd_h5_info info;
      if (!streamed(cli, &o, ls[l].dim[w])) continue;
      snprintf(path, sizeof path, "/%s/%s", ls[l].name, factor_name[w]);
      PRSVD_TRY(prsvd_h5_open_source(cli->comm, pos[0], path, &info, &srcs[2 * l + w]));
      PRSVD_TRY(prsvd_kfac_set_factor_source(kf, l, w ? PRSVD_KFAC_G : PRSVD_KFAC_A, srcs[2 * l + w]));
    }
  /* each owner reads its factors (every rank those all ranks decompose together), then the
   * decompositions spread over the ranks */
  for (int l = 0; l < n_layers && !status; l++)
    for (int w = 0; w < 2 && !status; w++) {
      int owner;
      status = prsvd_kfac_owner(kf, l, w ? PRSVD_KFAC_G : PRSVD_KFAC_A, &owner);
      if (!status && !srcs[2 * l + w] && (owner == cli->rank || owner < 0))
        status = load_factor(kf, &o, pos[0], &ls[l], l, w);
    }
  PRSVD_TRY(prsvd_error_agree(cli->comm, status));
  PRSVD_TRY(prsvd_kfac_refresh(kf));
  PRSVD_TRY(prsvd_kfac_get_stats(kf, &st));
  t_inverse = st.time_inverse;
  MPI_Allreduce(MPI_IN_PLACE, &t_inverse, 1, MPI_DOUBLE, MPI_MAX, cli->comm);
  PRSVD_TRY(write_inverses(cli, &o, pos[0], kf, n_layers, ls));
  summary(cli, &o, pos[0], kf, n_layers, ls, t_inverse, &tc);
done:
  prsvd_kfac_destroy(&kf);
  for (int i = 0; srcs && i < 2 * n_layers; i++) prsvd_source_destroy(&srcs[i]);
  free(srcs);
  for (int l = 0; ls && l < n_layers; l++) free(ls[l].name);
  free(ls);
  return status;
}
