/* The features of svd's and pca's dense input as the user's data has them (cli/fields.c):
 * --sample-dim, --missing and --weights, and the outputs in the feature shape. */
#ifndef PRSVD_CLI_FIELDS_H
#define PRSVD_CLI_FIELDS_H

#include <json-c/json.h>

#include "prsvd_h5.h"
#include "options.h"

struct prsvd_cli;
struct prsvd_h5_info;
/* --sample-dim, --missing and --weights (T has sample_dim, missing, weights) */
#define PRSVD_OPT_FEATURES(T)                                                                   \
  {"sample-dim", 0, PRSVD_OPT_STRING, "D", NULL, 0, 0, 0,                                       \
   "the samples (rows) of an N-D dataset: a dimension index or a NetCDF dimension name (default "  \
   "the first); the other dimensions, flattened in C order, are the features (columns)",         \
   offsetof(T, sample_dim)},                                                                    \
  {"missing", 0, PRSVD_OPT_STRING, "HOW", "fail", 0, 0, 0,                                      \
   "a missing value (NaN, _FillValue, missing_value, outside valid_range): fail, or drop: leave " \
   "out every feature that has one in any sample (NaN in the outputs)",                        \
   offsetof(T, missing)},                                                                       \
  {"weights", 0, PRSVD_OPT_STRING, "W", NULL, 0, 0, 0,                                          \
   "weight each feature: coslat (sqrt(cos(latitude)) from the latitude coordinate) or FILE:/DS " \
   "(an array of the feature shape); decomposes A diag(w), writes /weights",                    \
   offsetof(T, weights)}
/* The options into f (its inputs; the source fills the rest): usage error on a bad --missing. */
int prsvd_cli_features(const char *sample_dim, const char *missing, const char *weights,
                       struct prsvd_h5_features *f);
/* Usage errors for what the features cannot go with, once the input is open. */
int prsvd_cli_features_check(const struct prsvd_cli *cli, const char *spec, const struct prsvd_h5_info *info,
                             const struct prsvd_h5_features *f, int transpose, int scale, const char *checkpoint);
/* Rank 0: the summary's line (j NULL) or --json's fields (j). */
void prsvd_cli_features_report(const struct prsvd_cli *cli, const struct prsvd_h5_features *f, json_object *j);
/* "samples time (axis 0, 60) x features lat x lon (8 x 10 = 80), flattened in C order" */
void prsvd_cli_features_describe(const struct prsvd_h5_features *f, char *out, size_t len);
/* feature_shape, feature_dims, sample_axis, sample_dim, features into j */
void prsvd_cli_features_json(const struct prsvd_h5_features *f, json_object *j);
/* 1 if the input is not the plain 2-D matrix: N-D, samples along another axis, flags or weights. */
int prsvd_cli_features_active(const struct prsvd_h5_features *f);
/* Collective, after a pass or a solve: the flags agreed (--missing drop); *again = 1 if a panel
 * was read before one of them was known (after a solve: it must be made again, every panel
 * zeroed by them all); PRSVD_ERR_INPUT if every feature is missing. */
int prsvd_cli_features_settle(struct prsvd_cli *cli, const char *spec, struct prsvd_h5_features *f, int *again);
/* prsvd_svd_params.zeroed_columns for a run (arg: its struct prsvd_cli_run) with --missing drop:
 * collective, after the first pass, the flags agreed (prsvd_cli_features_settle), and *late = 1
 * if a panel of that pass was read before one of them was known. */
int prsvd_cli_features_zeroed(void *arg, const unsigned char **zeroed, int *late);
/* The feature shape, after a leading extent lead (0: none) into shape; returns its length. */
int prsvd_cli_feature_shape(const struct prsvd_h5_features *f, int64_t lead, int64_t *shape);
/* Collective: feature_shape, feature_dims, sample_dim and sample_axis as attributes of obj. */
int prsvd_cli_features_attrs(prsvd_h5_writer *w, const char *obj, const struct prsvd_h5_features *f);
/* Collective: those on "/", missing and missing_features, and /weights. */
int prsvd_cli_write_features(prsvd_h5_writer *w, const struct prsvd_h5_features *f);
/* A copy of the column-major block v (rows v0.. of n x k, ld vld) with NaN in the dropped
 * features' rows, in *out (NULL if none is dropped: use v). */
int prsvd_cli_features_nan_rows(const struct prsvd_h5_features *f, const double *v, int64_t v0, int64_t vr,
                                int64_t vld, int64_t k, double **out);
/* x holds count / n feature vectors (C order): each divided by the weights (NaN where a
 * weight is 0), and NaN at the dropped features. */
void prsvd_cli_features_unweight(const struct prsvd_h5_features *f, double *x, int64_t count);
/* The same without the division: NaN at the dropped features. */
void prsvd_cli_features_nan(const struct prsvd_h5_features *f, double *x, int64_t count);

#endif
