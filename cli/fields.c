/* The features of svd's and pca's input as the user's data has them (--sample-dim, --missing,
 * --weights; struct prsvd_h5_features): the options, the flags agreed after a solve, and the
 * outputs in the feature shape (docs/usage.md, "Gridded fields"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "fields.h"

int prsvd_cli_features(const char *sample_dim, const char *missing, const char *weights,
                       struct prsvd_h5_features *f) {
  memset(f, 0, sizeof *f);
  f->fewest_dropped = INT64_MAX;
  f->sample_dim = sample_dim;
  if (!strcmp(missing, "fail")) f->missing = PRSVD_H5_MISSING_FAIL;
  else if (!strcmp(missing, "drop")) f->missing = PRSVD_H5_MISSING_DROP;
  else PRSVD_ERR(PRSVD_ERR_USAGE, "--missing '%s': expected fail or drop", missing);
  if (weights && !weights[0]) PRSVD_ERR(PRSVD_ERR_USAGE, "--weights is empty: give coslat or FILE:/DS");
  f->weights = weights;
  return PRSVD_OK;
}

int prsvd_cli_features_check(const struct prsvd_cli *cli, const char *spec, const struct prsvd_h5_info *info,
                             const struct prsvd_h5_features *f, int transpose, int scale, const char *checkpoint) {
  (void)cli;
  const int asked = f->sample_dim || f->missing == PRSVD_H5_MISSING_DROP || f->weights;
  if (info->sparse && asked)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--sample-dim, --missing drop and --weights take a dense dataset; '%s' is sparse (%s)",
              spec, info->format);
  if (!prsvd_cli_features_active(f)) return PRSVD_OK;
  if (transpose || info->transposed)
    PRSVD_ERR(PRSVD_ERR_USAGE, "'%s'%s: the features are the streamed rows' columns, so %s cannot be transposed "
              "(choose the samples with --sample-dim)", spec, transpose ? " with --transpose" : " is stored transposed",
              f->ndims > 2 ? "an N-D variable" : "--sample-dim, --missing drop and --weights");
  if (scale && f->w)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--scale with --weights: give one (weights multiply the centred columns; --scale divides them by their standard deviations)");
  if (checkpoint && f->dropped)
    PRSVD_ERR(PRSVD_ERR_USAGE, "--checkpoint with --missing drop is not supported: the dropped features are learnt while reading and are not saved");
  return PRSVD_OK;
}

void prsvd_cli_features_report(const struct prsvd_cli *cli, const struct prsvd_h5_features *f, json_object *j) {
  if (!prsvd_cli_features_active(f) || cli->rank != 0) return;
  int64_t shape[PRSVD_H5_MAX_DIMS];
  const int nd = prsvd_cli_feature_shape(f, 0, shape);
  (void)shape, (void)nd;
  if (j) {
    prsvd_cli_features_json(f, j);
    json_object_object_add(j, "missing", json_object_new_string(f->dropped ? "drop" : "fail"));
    json_object_object_add(j, "missing_features", json_object_new_int64(f->dropped ? f->n_dropped : 0));
    if (f->w) json_object_object_add(j, "weights", json_object_new_string(f->weights_from));
    return;
  }
  if (f->dropped)
    printf("  %lld of %lld features left out: a missing value in some sample (--missing drop)\n",
           (long long)f->n_dropped, (long long)f->n);
  if (f->w) printf("  features weighted by %s\n", f->weights_from);
}

void prsvd_cli_features_describe(const struct prsvd_h5_features *f, char *out, size_t len) {
  size_t at = 0;
  const char *sname = f->dim_names[f->sample_axis];
  at += (size_t)snprintf(out, len, "samples %s%s(axis %d, %lld) x features ", sname, sname[0] ? " " : "",
                         f->sample_axis, (long long)f->dims[f->sample_axis]);
  int named = 0;
  for (int d = 0; d < f->ndims; d++) named |= d != f->sample_axis && f->dim_names[d][0];
  for (int d = 0, i = 0; named && d < f->ndims && at < len; d++)
    if (d != f->sample_axis)
      at += (size_t)snprintf(out + at, len - at, "%s%s", i++ ? " x " : "", f->dim_names[d][0] ? f->dim_names[d] : "?");
  if (at < len) at += (size_t)snprintf(out + at, len - at, "%s", named ? " (" : "");
  for (int d = 0, i = 0; d < f->ndims && at < len; d++)
    if (d != f->sample_axis) at += (size_t)snprintf(out + at, len - at, "%s%lld", i++ ? " x " : "", (long long)f->dims[d]);
  if (at < len) snprintf(out + at, len - at, " = %lld%s, flattened in C order", (long long)f->n, named ? ")" : "");
}

void prsvd_cli_features_json(const struct prsvd_h5_features *f, json_object *j) {
  int64_t shape[PRSVD_H5_MAX_DIMS];
  const int nd = prsvd_cli_feature_shape(f, 0, shape);
  json_object *sj = json_object_new_array(), *dj = json_object_new_array();
  for (int d = 0; d < nd; d++) json_object_array_add(sj, json_object_new_int64(shape[d]));
  for (int d = 0; d < f->ndims; d++)
    if (d != f->sample_axis) json_object_array_add(dj, json_object_new_string(f->dim_names[d]));
  json_object_object_add(j, "feature_shape", sj);
  json_object_object_add(j, "feature_dims", dj);
  json_object_object_add(j, "sample_axis", json_object_new_int(f->sample_axis));
  json_object_object_add(j, "sample_dim", json_object_new_string(f->dim_names[f->sample_axis]));
  json_object_object_add(j, "features", json_object_new_int64(f->n));
}

int prsvd_cli_features_active(const struct prsvd_h5_features *f) {
  return f && f->ndims && (f->ndims != 2 || f->sample_axis != 0 || f->dropped || f->w);
}

int prsvd_cli_features_settle(struct prsvd_cli *cli, const char *spec, struct prsvd_h5_features *f, int *again) {
  int clean = 1;
  *again = 0;
  if (!f || !f->dropped) return PRSVD_OK;
  PRSVD_CHECK(prsvd_h5_features_agree(cli->comm, f, &clean));
  if (f->n_dropped == f->n)
    PRSVD_ERR(PRSVD_ERR_INPUT, "every one of the %lld features of '%s' has a missing value in some sample: "
              "--missing drop leaves nothing to decompose", (long long)f->n, spec);
  *again = !clean;
  return PRSVD_OK;
}

int prsvd_cli_features_zeroed(void *arg, const unsigned char **zeroed, int *late) {
  struct prsvd_cli_run *run = arg;
  struct prsvd_h5_features *f = run->how.features;
  PRSVD_CHECK(prsvd_cli_features_settle(run->cli, run->spec, f, late));
  *zeroed = f->n_dropped ? f->dropped : NULL;
  return PRSVD_OK;
}

int prsvd_cli_feature_shape(const struct prsvd_h5_features *f, int64_t lead, int64_t *shape) {
  int nd = 0;
  if (lead) shape[nd++] = lead;
  for (int d = 0; d < f->ndims; d++)
    if (d != f->sample_axis) shape[nd++] = f->dims[d];
  return nd;
}

int prsvd_cli_features_attrs(prsvd_h5_writer *w, const char *obj, const struct prsvd_h5_features *f) {
  int64_t shape[PRSVD_H5_MAX_DIMS];
  const int nd = prsvd_cli_feature_shape(f, 0, shape);
  char names[PRSVD_H5_MAX_DIMS * (PRSVD_H5_FEATURE_NAME + 2)] = "";
  size_t at = 0;
  int named = 0;
  for (int d = 0; d < f->ndims; d++)
    if (d != f->sample_axis) {
      at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", at ? "," : "", f->dim_names[d]);
      named |= f->dim_names[d][0] != '\0';
    }
  PRSVD_CHECK(prsvd_h5_attr_ints(w, obj, "feature_shape", nd, shape));
  if (named) PRSVD_CHECK(prsvd_h5_attr_string(w, obj, "feature_dims", names));
  if (f->dim_names[f->sample_axis][0])
    PRSVD_CHECK(prsvd_h5_attr_string(w, obj, "sample_dim", f->dim_names[f->sample_axis]));
  PRSVD_CHECK(prsvd_h5_attr_int(w, obj, "sample_axis", f->sample_axis));
  return PRSVD_OK;
}

int prsvd_cli_write_features(prsvd_h5_writer *w, const struct prsvd_h5_features *f) {
  int64_t shape[PRSVD_H5_MAX_DIMS];
  const int nd = prsvd_cli_feature_shape(f, 0, shape);
  PRSVD_CHECK(prsvd_cli_features_attrs(w, "/", f));
  PRSVD_CHECK(prsvd_h5_attr_string(w, "/", "missing", f->dropped ? "drop" : "fail"));
  PRSVD_CHECK(prsvd_h5_attr_int(w, "/", "missing_features", f->dropped ? f->n_dropped : 0));
  if (f->w) {
    PRSVD_CHECK(prsvd_h5_write_array(w, "/weights", nd, shape, f->w));
    PRSVD_CHECK(prsvd_h5_attr_string(w, "/weights", "from", f->weights_from));
    PRSVD_CHECK(prsvd_h5_attr_string(w, "/", "weights", f->weights_from));
  }
  return PRSVD_OK;
}

int prsvd_cli_features_nan_rows(const struct prsvd_h5_features *f, const double *v, int64_t v0, int64_t vr,
                                int64_t vld, int64_t k, double **out) {
  *out = NULL;
  if (!f || !f->dropped || !f->n_dropped) return PRSVD_OK;
  const int64_t ld = vr > 0 ? vr : 1;
  double *c = calloc((size_t)(ld * (k > 0 ? k : 1)), sizeof *c);
  if (!c) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for V's %lld x %lld rows", (long long)vr, (long long)k);
  for (int64_t j = 0; j < k; j++)
    for (int64_t i = 0; i < vr; i++) c[j * ld + i] = f->dropped[v0 + i] ? NAN : v[j * vld + i];
  *out = c;
  return PRSVD_OK;
}

void prsvd_cli_features_unweight(const struct prsvd_h5_features *f, double *x, int64_t count) {
  const int64_t n = f->n;
  for (int64_t i = 0; i < count; i++) {
    const int64_t j = i % n;
    if (f->dropped && f->dropped[j]) x[i] = NAN;
    else if (f->w) x[i] = f->w[j] > 0 ? x[i] / f->w[j] : NAN;
  }
}

void prsvd_cli_features_nan(const struct prsvd_h5_features *f, double *x, int64_t count) {
  if (!f->dropped) return;
  for (int64_t i = 0; i < count; i++)
    if (f->dropped[i % f->n]) x[i] = NAN;
}
