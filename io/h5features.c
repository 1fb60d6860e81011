/*
 * The features (columns) of a dense input as the user's data has them: the matrix of an N-D
 * variable, the features left out for missing values, and their weights (prsvd_h5.h, struct
 * prsvd_h5_features).
 *
 * An N-D dataset d_0 x ... x d_{N-1} with sample dimension s is the d_s x prod(d_i, i != s)
 * matrix: row r is the slab A[..., r, ...] flattened in C order.  io/h5source.c reads a row
 * panel as one hyperslab and, for s > 0, permutes its rows into sample-major order.
 *
 * Missing values under --missing drop: a panel's entries that are not finite (NetCDF missing
 * values reach here as NaN) flag their feature, and every flagged column of the panel is then
 * zeroed: a zero column of A is no part of its decomposition (nor of its column means), so the
 * solve decomposes A without those features, exactly, provided every panel was zeroed by all
 * of them.  A rank learns its flags as it reads, so the flags are agreed after the first pass
 * (prsvd_h5_features_agree, from the solver's prsvd_svd_params.zeroed_columns) and every later
 * pass reads every panel zeroed by them all: a method whose later passes make its result
 * corrects what its first pass measured of them (src/rsvd.c), at no extra pass.  A method that
 * makes its result in its first pass (one pass, q = 0) does not ask; when a panel of it was
 * read before a flag was known (not a land mask: a rank's first panel finds that whole), the
 * program solves again, every panel zeroed by all of them from the start.
 *
 * Weights: column j of the panel times w_j, after the zeroing (coslat: sqrt(cos(latitude))
 * from the variable's latitude coordinate; or a user's array of the feature shape).
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "h5util.h"

#define NC_DIMENSION_ONLY "This is a netCDF dimension but not a netCDF variable"

/* --sample-dim: an index 0..nd-1, or the name of a dimension scale */
static int sample_axis(const char *spec, int nd, const struct prsvd_h5_features *f, const char *what, int *axis) {
  char names[512] = "";
  size_t used = 0;
  *axis = 0;
  if (!spec) return PRSVD_OK;
  char *end = NULL;
  const long i = strtol(spec, &end, 10);
  if (end != spec && *end == '\0') {
    if (i < 0 || i >= nd)
      PRSVD_ERR(PRSVD_ERR_USAGE, "--sample-dim %s is out of range: %s has %d dimensions (0..%d)", spec, what, nd, nd - 1);
    *axis = (int)i;
    return PRSVD_OK;
  }
  for (int d = 0; d < nd; d++) {
    if (f->dim_names[d][0] && !strcmp(f->dim_names[d], spec)) {
      *axis = d;
      return PRSVD_OK;
    }
    if (used < sizeof names)
      used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", d ? ", " : "",
                               f->dim_names[d][0] ? f->dim_names[d] : "(unnamed)");
  }
  PRSVD_ERR(PRSVD_ERR_USAGE, "--sample-dim '%s' names no dimension of %s (its dimensions: %s)", spec, what, names);
}

static int is_latitude(hid_t scale, const char *name) {
  char units[64];
  prsvd_h5_string_attr(scale, "units", units, sizeof units);
  static const char *const lat_units[] = {"degrees_north", "degree_north", "degrees_N", "degree_N", "degreesN", "degreeN"};
  for (size_t i = 0; i < sizeof lat_units / sizeof *lat_units; i++)
    if (!strcmp(units, lat_units[i])) return 1;
  return !strcasecmp(name, "lat") || !strcasecmp(name, "latitude");
}

/* w_j = sqrt(cos(latitude)) of each feature, from the latitude dimension's coordinate */
static int coslat(hid_t *scales, int nd, struct prsvd_h5_features *f, const char *what) {
  int lat = -1;
  char names[512] = "";
  size_t used = 0;
  for (int d = 0; d < nd; d++) {
    if (d == f->sample_axis) continue;
    if (used < sizeof names)
      used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "",
                               f->dim_names[d][0] ? f->dim_names[d] : "(unnamed)");
    if (scales[d] < 0) continue;
    char cls[32], nm[80];
    prsvd_h5_string_attr(scales[d], "NAME", nm, sizeof nm);
    if (!strncmp(nm, NC_DIMENSION_ONLY, strlen(NC_DIMENSION_ONLY))) continue; /* holds no values */
    prsvd_h5_string_attr(scales[d], "CLASS", cls, sizeof cls);
    if (is_latitude(scales[d], f->dim_names[d])) {
      lat = d;
      break;
    }
  }
  if (lat < 0)
    PRSVD_ERR(PRSVD_ERR_INPUT, "--weights coslat: %s has no latitude coordinate among its feature dimensions (%s): "
              "none has units = degrees_north or is named lat or latitude; give --weights FILE:/DS",
              what, names[0] ? names : "none");
  const int64_t len = f->dims[lat];
  double *y = malloc(sizeof(double) * (size_t)len);
  if (!y) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory for the latitudes");
  hid_t sp = H5Dget_space(scales[lat]);
  const hssize_t npts = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
  if (sp >= 0) H5Sclose(sp);
  if (npts != len || H5Dread(scales[lat], H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) < 0) {
    free(y);
    PRSVD_ERR(PRSVD_ERR_INPUT, "--weights coslat: cannot read the latitude coordinate '%s' of %s", f->dim_names[lat], what);
  }
  for (int64_t i = 0; i < len; i++)
    if (!(fabs(y[i]) <= 90.0 + 1e-9)) {
      const double bad = y[i];
      free(y);
      PRSVD_ERR(PRSVD_ERR_INPUT, "--weights coslat: latitude %lld of '%s' is %g, outside [-90, 90]", (long long)i,
                f->dim_names[lat], bad);
    }
  int64_t stride = 1; /* of the latitude axis among the flattened features */
  for (int d = lat + 1; d < nd; d++)
    if (d != f->sample_axis) stride *= f->dims[d];
  for (int64_t j = 0; j < f->n; j++) {
    const double c = cos(y[(j / stride) % len] * (M_PI / 180.0));
    f->w[j] = c > 0 ? sqrt(c) : 0.0;
  }
  free(y);
  snprintf(f->weights_from, sizeof f->weights_from, "coslat(%s)", f->dim_names[lat]);
  return PRSVD_OK;
}

/* --weights FILE:/DS: an array of the feature shape, finite and >= 0 */
static int user_weights(int nd, struct prsvd_h5_features *f, const char *what) {
  int status = PRSVD_OK;
  char *file = NULL, *dataset = NULL, shape[256] = "", want[256] = "";
  hid_t h = -1, d = -1, sp = -1;
  size_t at = 0, wat = 0;
  PRSVD_TRY(prsvd_h5_parse_spec(f->weights, &file, &dataset));
  PRSVD_TRY(prsvd_h5_open_ro(file, H5P_DEFAULT, "weights", &h));
  PRSVD_TRY(prsvd_h5_find_dataset(h, file, dataset));
  H5_TRY(d = H5Dopen2(h, dataset, H5P_DEFAULT), PRSVD_ERR_INPUT, "cannot open the weights '%s'", f->weights);
  H5_TRY(sp = H5Dget_space(d), PRSVD_ERR_INPUT, "cannot read the shape of the weights '%s'", f->weights);
  const int wnd = H5Sget_simple_extent_ndims(sp);
  hsize_t wd[PRSVD_H5_MAX_DIMS];
  int same = wnd == nd - 1;
  if (wnd >= 0 && wnd <= PRSVD_H5_MAX_DIMS) H5Sget_simple_extent_dims(sp, wd, NULL);
  for (int i = 0; i < wnd && i < PRSVD_H5_MAX_DIMS; i++)
    at += (size_t)snprintf(shape + at, at < sizeof shape ? sizeof shape - at : 0, "%s%llu", i ? " x " : "",
                           (unsigned long long)wd[i]);
  for (int i = 0, k = 0; i < nd; i++) {
    if (i == f->sample_axis) continue;
    wat += (size_t)snprintf(want + wat, wat < sizeof want ? sizeof want - wat : 0, "%s%lld", k ? " x " : "",
                            (long long)f->dims[i]);
    if (same && wd[k] != (hsize_t)f->dims[i]) same = 0;
    k++;
  }
  if (!same)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "--weights '%s' is %s, but the features of %s are %s", f->weights,
               wnd == 0 ? "a scalar" : shape, what, want);
  H5_TRY(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, f->w), PRSVD_ERR_INPUT,
         "cannot read the weights '%s' (not numbers?)", f->weights);
  for (int64_t j = 0; j < f->n; j++)
    if (!(f->w[j] >= 0) || !isfinite(f->w[j]))
      PRSVD_FAIL(PRSVD_ERR_INPUT, "--weights '%s': weight %lld is %g; weights must be finite and >= 0", f->weights,
                 (long long)j, f->w[j]);
  snprintf(f->weights_from, sizeof f->weights_from, "%s", dataset);
done:
  if (sp >= 0) H5Sclose(sp);
  if (d >= 0) H5Dclose(d);
  if (h >= 0) H5Fclose(h);
  free(file), free(dataset);
  return status;
}

int prsvd_features_open(hid_t dset, int nd, const hsize_t *dims, const char *what, struct prsvd_h5_features *f) {
  int status = PRSVD_OK;
  hid_t scales[PRSVD_H5_MAX_DIMS];
  prsvd_h5_features_free(f);
  f->ndims = nd;
  for (int i = 0; i < nd; i++) f->dims[i] = (int64_t)dims[i];
  prsvd_h5_dimension_scales(dset, nd, f->dim_names[0], PRSVD_H5_FEATURE_NAME, scales);
  PRSVD_TRY(sample_axis(f->sample_dim, nd, f, what, &f->sample_axis));
  f->n = 1;
  for (int i = 0; i < nd; i++)
    if (i != f->sample_axis) f->n = prsvd_size_mul(f->n, f->dims[i]);
  if (f->missing == PRSVD_H5_MISSING_DROP) {
    if (!(f->dropped = calloc((size_t)(f->n ? f->n : 1), 1)))
      PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory for the flags of %lld features", (long long)f->n);
  }
  if (f->weights) {
    if (!(f->w = malloc(sizeof(double) * (size_t)(f->n ? f->n : 1))))
      PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory for %lld weights", (long long)f->n);
    if (!strcmp(f->weights, "coslat")) PRSVD_TRY(coslat(scales, nd, f, what));
    else PRSVD_TRY(user_weights(nd, f, what));
    int64_t positive = 0;
    for (int64_t j = 0; j < f->n; j++) positive += f->w[j] > 0;
    if (!positive)
      PRSVD_FAIL(PRSVD_ERR_INPUT, "--weights %s: every one of the %lld weights is 0, which leaves nothing to decompose",
                 f->weights_from, (long long)f->n);
  }
done:
  for (int i = 0; i < nd; i++)
    if (scales[i] >= 0) H5Oclose(scales[i]);
  return status;
}

#define APPLY(T)                                                                                \
  do {                                                                                          \
    T *a = panel;                                                                               \
    if (f->dropped) {                                                                           \
      for (int64_t i = 0; i < nrows; i++)                                                       \
        for (int64_t j = 0; j < n; j++)                                                         \
          if (!isfinite(a[i * n + j]) && !f->dropped[j]) f->dropped[j] = 1, f->n_dropped++;     \
      for (int64_t i = 0; i < nrows; i++)                                                       \
        for (int64_t j = 0; j < n; j++)                                                         \
          if (f->dropped[j]) a[i * n + j] = 0;                                                  \
      if (f->n_dropped < f->fewest_dropped) f->fewest_dropped = f->n_dropped;                   \
    }                                                                                           \
    if (f->w)                                                                                   \
      for (int64_t i = 0; i < nrows; i++)                                                       \
        for (int64_t j = 0; j < n; j++) a[i * n + j] = (T)(a[i * n + j] * f->w[j]);             \
  } while (0)

void prsvd_features_apply(struct prsvd_h5_features *f, void *panel, int single, int64_t nrows) {
  const int64_t n = f->n;
  if (!f->dropped && !f->w) return;
  if (single) APPLY(float);
  else APPLY(double);
}

int prsvd_h5_features_agree(MPI_Comm comm, struct prsvd_h5_features *f, int *clean) {
  *clean = 1;
  if (!f->dropped) return PRSVD_OK;
  int64_t fewest = f->fewest_dropped;
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, &fewest, 1, MPI_INT64_T, MPI_MIN, comm));
  for (int64_t j0 = 0; j0 < f->n; j0 += 1 << 30) { /* MPI counts are int */
    const int64_t len = f->n - j0 < (1 << 30) ? f->n - j0 : (1 << 30);
    PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, f->dropped + j0, (int)len, MPI_UNSIGNED_CHAR, MPI_MAX, comm));
  }
  f->n_dropped = 0;
  for (int64_t j = 0; j < f->n; j++) f->n_dropped += f->dropped[j];
  *clean = fewest >= f->n_dropped;
  f->fewest_dropped = f->n_dropped; /* every panel read from here on is zeroed by them all */
  return PRSVD_OK;
}

void prsvd_h5_features_free(struct prsvd_h5_features *f) {
  if (!f) return;
  free(f->dropped);
  free(f->w);
  f->dropped = NULL;
  f->w = NULL;
  f->n_dropped = 0;
  f->fewest_dropped = INT64_MAX;
}
