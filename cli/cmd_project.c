/* prsvd project NEW.h5:/X --components PCA.h5 -o SCORES.h5: the scores of new samples on the
 * components of an earlier prsvd pca, ((x - mean) w) components^T with its weights and its
 * dropped features, as scikit-learn's PCA.transform and eofs' projectField: one streaming pass,
 * each rank its own rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prsvd_h5.h"
#include "blas.h"
#include "cli.h"
#include "config.h"
#include "error.h"
#include "fields.h"
#include "options.h"

struct project_opts {
  int64_t memory;
  const char *components, *output, *sample_dim;
  int force, json, quiet, debug;
};

#define O(f) offsetof(struct project_opts, f)
static const struct prsvd_option project_options[] = {
    {"components", 0, PRSVD_OPT_STRING, "PCA.h5", NULL, 0, 0, PRSVD_OPT_REQUIRED, "the output of prsvd pca whose /components, /mean (and /weights, /scale) project the samples", O(components)},
    {"sample-dim", 0, PRSVD_OPT_STRING, "D", NULL, 0, 0, 0, "the samples of an N-D dataset: a dimension index or a NetCDF dimension name (default: the axis the pca took)", O(sample_dim)},
    {"memory", 0, PRSVD_OPT_SIZE, "SIZE", "512M", 1, 0, 0, "per-rank budget for row panels", O(memory)},
    {"output", 'o', PRSVD_OPT_STRING, "OUT.h5", NULL, 0, 0, PRSVD_OPT_REQUIRED, "output file: /scores (m x k)", O(output)},
    PRSVD_OPT_FORCE(struct project_opts),
    PRSVD_OPT_JSON(struct project_opts),
    PRSVD_OPT_QUIET(struct project_opts, "print nothing on success"),
    PRSVD_OPT_DEBUG(struct project_opts),
    PRSVD_OPT_END};
#undef O

static const struct prsvd_command_doc project_doc = {
    "project", "NEW.h5:/DATASET --components PCA.h5 -o OUT.h5 [options]",
    "The scores of the samples of NEW on the k components of an earlier prsvd pca:\n"
    "((x - mean) w) components^T for each sample x, with the pca's weights w (/weights, 1\n"
    "without) and its features left out by --missing drop, divided by /scale after --scale:\n"
    "scikit-learn's PCA.transform, eofs' projectField.  One streaming pass, each rank its own\n"
    "rows; NEW's features must have the shape (and NetCDF dimension names) of the pca's, and a\n"
    "missing value is allowed only at a feature the pca left out.  Writes /scores (m x k).",
    1,
    "# the 10 leading EOFs' scores of a new run, on the same grid\n"
    "mpirun -n 4 prsvd project new.nc:/tos --components eofs.h5 -o pcs.h5",
    0};

/* What project needs of the pca's output. */
struct pca_model {
  int64_t k, n;
  int nd;                          /* of the feature shape */
  int64_t shape[PRSVD_H5_MAX_DIMS];
  char dims[1024];                 /* "lat,lon" (feature_dims), "" if none */
  double *comp, *mean, *w, *scale; /* k x n (0 at dropped features), n each; w, scale may be NULL */
  unsigned char *dropped;          /* n: NaN in the components */
  int64_t n_dropped;
  char sample_axis[16];            /* the pca's sample axis, "" if it did not say */
};

static void model_free(struct pca_model *p) {
  free(p->comp), free(p->mean), free(p->w), free(p->scale), free(p->dropped);
}

static int read_model(const char *file, struct pca_model *p) {
  int status = PRSVD_OK, nd = 0;
  int64_t shape[PRSVD_H5_MAX_DIMS], count = 0;
  double *v = NULL;
  memset(p, 0, sizeof *p);
  if (!prsvd_h5_has_dataset(file, "/components") || !prsvd_h5_has_dataset(file, "/mean"))
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' has no /components and /mean: project takes the output of prsvd pca", file);
  PRSVD_TRY(prsvd_h5_read_array(file, "/components", &nd, shape, &p->comp));
  if (nd < 2) PRSVD_FAIL(PRSVD_ERR_INPUT, "'/components' in '%s' is 1-D: expected k x (the feature shape)", file);
  p->k = shape[0], p->nd = nd - 1, p->n = 1;
  for (int d = 1; d < nd; d++) p->shape[d - 1] = shape[d], p->n *= shape[d];
  PRSVD_TRY(prsvd_h5_read_array(file, "/mean", &nd, shape, &p->mean));
  for (int d = 0, same = nd == p->nd || (nd == 1 && shape[0] == p->n); d < nd; d++)
    if (!same || (nd == p->nd && shape[d] != p->shape[d]))
      PRSVD_FAIL(PRSVD_ERR_INPUT, "'/mean' in '%s' does not have the shape of a component", file);
  if (prsvd_h5_has_dataset(file, "/weights")) {
    PRSVD_TRY(prsvd_h5_read_array(file, "/weights", &nd, shape, &p->w));
    count = 1;
    for (int d = 0; d < nd; d++) count *= shape[d];
    if (count != p->n) PRSVD_FAIL(PRSVD_ERR_INPUT, "'/weights' in '%s' has %lld values for %lld features", file,
                                  (long long)count, (long long)p->n);
  }
  if (prsvd_h5_has_dataset(file, "/scale")) {
    PRSVD_TRY(prsvd_h5_read_array(file, "/scale", &nd, shape, &p->scale));
    count = 1;
    for (int d = 0; d < nd; d++) count *= shape[d];
    if (count != p->n) PRSVD_FAIL(PRSVD_ERR_INPUT, "'/scale' in '%s' is not one value a feature", file);
  }
  PRSVD_TRY(prsvd_h5_read_attr_string(file, "feature_dims", p->dims, sizeof p->dims));
  PRSVD_TRY(prsvd_h5_read_attr_vector(file, "/", "sample_axis", &count, &v));
  if (count == 1) snprintf(p->sample_axis, sizeof p->sample_axis, "%d", (int)v[0]);
  PRSVD_ALLOC(p->dropped, p->n);
  for (int64_t j = 0; j < p->n; j++) {
    int nan = 0;
    for (int64_t c = 0; c < p->k; c++) nan |= isnan(p->comp[c * p->n + j]);
    if (nan) {
      p->dropped[j] = 1, p->n_dropped++;
      for (int64_t c = 0; c < p->k; c++) p->comp[c * p->n + j] = 0.0;
    }
  }
done:
  free(v);
  return status;
}

static void shape_text(int nd, const int64_t *shape, const char *names, char *out, size_t len) {
  size_t at = 0;
  for (int d = 0; d < nd && at < len; d++)
    at += (size_t)snprintf(out + at, len - at, "%s%lld", d ? " x " : "", (long long)shape[d]);
  if (names && names[0] && at < len) snprintf(out + at, len - at, " (%s)", names);
}

/* NEW's features against the pca's: the same shape, and the same dimension names if both name them */
static int check_features(const char *spec, const char *model, const struct prsvd_h5_features *f,
                          const struct prsvd_h5_info *info, const struct pca_model *p) {
  int64_t shape[PRSVD_H5_MAX_DIMS];
  char names[1024] = "", a[1200], b[1200];
  int nd = 1;
  size_t at = 0;
  shape[0] = info->cols;
  int named = 0;
  if (f->ndims) {
    nd = prsvd_cli_feature_shape(f, 0, shape);
    for (int d = 0, i = 0; d < f->ndims; d++)
      if (d != f->sample_axis && at < sizeof names) {
        at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", i++ ? "," : "", f->dim_names[d]);
        named |= f->dim_names[d][0] != '\0';
      }
    if (!named) names[0] = '\0';
  }
  int same = nd == p->nd;
  for (int d = 0; same && d < nd; d++) same = shape[d] == p->shape[d];
  named = named && p->dims[0];
  if (!same && p->nd == 1 && p->n == info->cols) same = 1; /* a 2-D pca: n features */
  if (!same || (named && strcmp(names, p->dims))) {
    shape_text(nd, shape, names, a, sizeof a);
    shape_text(p->nd, p->shape, p->dims, b, sizeof b);
    PRSVD_ERR(PRSVD_ERR_INPUT, "the features of '%s' are %s, but the components in '%s' are of %s", spec, a, model, b);
  }
  return PRSVD_OK;
}

/* The scores of this rank's rows into scores (local_rows x k, row-major). */
static int project_rows(struct prsvd_cli *cli, prsvd_source *src, const struct pca_model *p, int64_t memory,
                        int64_t row0, int64_t local_rows, double *scores, int64_t *bad) {
  int status = PRSVD_OK, in, ik;
  const int64_t n = p->n, k = p->k;
  double *panel = NULL, *cm = NULL, *f = NULL;
  int64_t panel_rows = memory / prsvd_size_mul(8, n + k);
  (void)cli;
  *bad = -1;
  if (panel_rows < 1) panel_rows = 1;
  if (panel_rows > local_rows) panel_rows = local_rows > 0 ? local_rows : 1;
  PRSVD_TRY(prsvd_to_int(n, "features", &in));
  PRSVD_TRY(prsvd_to_int(k, "components", &ik));
  PRSVD_ALLOC(panel, panel_rows * n);
  PRSVD_ALLOC(cm, n);
  PRSVD_ALLOC(f, n);
  /* x_j -> (x_j - mean_j) w_j / scale_j; 0 where the pca left the feature out or weighs it 0 */
  for (int64_t j = 0; j < n; j++) {
    const double w = p->w ? p->w[j] : 1.0, s = p->scale ? p->scale[j] : 1.0;
    const int off = p->dropped[j] || w == 0.0 || !isfinite(p->mean[j]);
    f[j] = off ? 0.0 : w / (s > 0 ? s : 1.0);
    cm[j] = off ? 0.0 : p->mean[j];
  }
  for (int64_t r = 0; r < local_rows; r += panel_rows) {
    const int64_t nr = local_rows - r < panel_rows ? local_rows - r : panel_rows;
    int inr;
    const double one = 1.0, zero = 0.0;
    PRSVD_TRY(prsvd_to_int(nr, "rows", &inr));
    prsvd_profile_begin(PRSVD_EV_READ);
    PRSVD_TRY(prsvd_source_read(src, row0 + r, nr, panel));
    prsvd_profile_end(PRSVD_EV_READ, 8.0 * (double)(nr * n), 0.0);
    for (int64_t i = 0; i < nr; i++)
      for (int64_t j = 0; j < n; j++) {
        double *x = &panel[i * n + j];
        if (f[j] == 0.0) *x = 0.0;
        else if (!isfinite(*x) && *bad < 0) *bad = (row0 + r + i) * n + j;
        else *x = (*x - cm[j]) * f[j];
      }
    /* scores_i = X_i C^T: C is k x n row-major, so C^T in column-major terms */
    prsvd_profile_begin(PRSVD_EV_SKETCH);
    dgemm_("T", "N", &ik, &inr, &in, &one, p->comp, &in, panel, &in, &zero, scores + r * k, &ik);
    prsvd_profile_end(PRSVD_EV_SKETCH, 0.0, 2.0 * (double)(nr * n * k));
  }
done:
  free(panel), free(cm), free(f);
  return status;
}

int cmd_project(struct prsvd_cli *cli, int argc, char **argv) {
  int status;
  struct project_opts o;
  const char *pos[1] = {NULL};
  char *file = NULL, *dataset = NULL;
  struct pca_model p;
  struct prsvd_h5_features feat;
  struct prsvd_h5_info info;
  struct prsvd_h5_input how;
  prsvd_source *src = NULL;
  prsvd_h5_writer *w = NULL;
  prsvd_h5_matrix *mat = NULL;
  double *scores = NULL;
  int64_t row0 = 0, local_rows = 0, bad = -1;
  memset(&p, 0, sizeof p);
  memset(&feat, 0, sizeof feat);
  status = prsvd_options_parse(&project_doc, project_options, argc, argv, &o, pos);
  if (status) return status;
  PRSVD_TRY(prsvd_h5_parse_spec(pos[0], &file, &dataset));
  status = cli->rank == 0 ? read_model(o.components, &p) : PRSVD_OK;
  PRSVD_TRY(prsvd_error_agree(cli->comm, status));
  if (cli->rank) PRSVD_TRY(read_model(o.components, &p)); /* rank 0 found it readable */
  /* the new samples as the pca took its own: flags learnt as read, checked against its dropped */
  PRSVD_TRY(prsvd_cli_features(o.sample_dim ? o.sample_dim : p.sample_axis[0] ? p.sample_axis : NULL, "drop", NULL,
                               &feat));
  PRSVD_TRY(prsvd_cli_input("posix", "rows", o.memory, &how));
  how.features = &feat;
  PRSVD_TRY(prsvd_h5_open_input(cli->comm, file, dataset, &how, &info, &src));
  if (info.transposed || info.by_columns)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' is stored transposed (CSC or MATLAB): project takes the samples as rows", pos[0]);
  PRSVD_TRY(check_features(pos[0], o.components, &feat, &info, &p));
  {
    const struct prsvd_h5_role roles[] = {{"input", file}, {"components", o.components}, {NULL, NULL}};
    PRSVD_TRY(prsvd_h5_check_output(cli->comm, o.output, o.force, roles));
  }
  prsvd_row_block(info.rows, cli->rank, cli->nprocs, &row0, &local_rows);
  PRSVD_ALLOC(scores, (local_rows > 0 ? local_rows : 1) * p.k);
  status = project_rows(cli, src, &p, o.memory, row0, local_rows, scores, &bad);
  PRSVD_TRY(prsvd_error_agree(cli->comm, status));
  /* a missing value only where the pca left the feature out */
  if (feat.dropped) {
    int clean;
    PRSVD_TRY(prsvd_h5_features_agree(cli->comm, &feat, &clean));
    for (int64_t j = 0; j < p.n; j++)
      if (feat.dropped[j] && !p.dropped[j])
        PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s': feature %lld has a missing value in some sample, but the components in '%s' "
                   "have it (%s): the pca saw no missing value there", pos[0], (long long)j, o.components,
                   p.n_dropped ? "it left out others" : "it ran with --missing fail");
  }
  PRSVD_MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT64_T, MPI_MAX, cli->comm));
  if (bad >= 0)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s': a value that is not finite at row %lld, column %lld", pos[0],
               (long long)(bad / p.n), (long long)(bad % p.n));
  PRSVD_TRY(prsvd_h5_writer_create(cli->comm, o.output, o.force, &w));
  PRSVD_TRY(prsvd_h5_matrix_create(w, "/scores", info.rows, p.k, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
  PRSVD_TRY(prsvd_h5_matrix_write(mat, row0, local_rows, scores));
  prsvd_h5_matrix_close(&mat);
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "prsvd_version", PACKAGE_VERSION));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "command_line", cli->command_line));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "method", "project"));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "input_file", file));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "input_dataset", dataset));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "components", o.components));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "rows", info.rows));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "rank", p.k));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "missing_features", p.n_dropped));
  PRSVD_TRY(prsvd_h5_writer_commit(&w));
  if (cli->rank == 0 && o.json) {
    json_object *j = json_object_new_object();
    json_object_object_add(j, "command", json_object_new_string("project"));
    json_object_object_add(j, "input", json_object_new_string(pos[0]));
    json_object_object_add(j, "components", json_object_new_string(o.components));
    json_object_object_add(j, "output", json_object_new_string(o.output));
    json_object_object_add(j, "rows", json_object_new_int64(info.rows));
    json_object_object_add(j, "rank", json_object_new_int64(p.k));
    json_object_object_add(j, "missing_features", json_object_new_int64(p.n_dropped));
    prsvd_cli_print_json(cli, j);
    json_object_put(j);
  } else if (cli->rank == 0 && !o.quiet) {
    printf("prsvd project %s: %lld samples x %lld features on the %lld components of '%s'%s\n", pos[0],
           (long long)info.rows, (long long)p.n, (long long)p.k, o.components, p.w ? ", weighted" : "");
    if (p.n_dropped) printf("  %lld features left out, as the pca left them out\n", (long long)p.n_dropped);
    printf("wrote %s\n", o.output);
  }
done:
  prsvd_h5_matrix_close(&mat);
  prsvd_h5_writer_abort(&w);
  prsvd_source_destroy(&src);
  prsvd_h5_features_free(&feat);
  model_free(&p);
  free(scores), free(file), free(dataset);
  return status;
}
