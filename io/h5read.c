/* Reading small things back: attributes and 1-D datasets of result files (serial, any rank). */
#include <stdio.h>
#include <stdlib.h>

#include "h5util.h"
#include "prsvd_h5.h"

int prsvd_h5_read_attr_double(const char *file, const char *name, double *v) {
  int status = PRSVD_OK;
  hid_t f = -1, a = -1;
  PRSVD_TRY(prsvd_h5_open_ro(file, H5P_DEFAULT, "input", &f));
  H5_TRY(a = H5Aopen(f, name, H5P_DEFAULT), PRSVD_ERR_INPUT, "'%s' has no attribute '%s'", file, name);
  H5_TRY(H5Aread(a, H5T_NATIVE_DOUBLE, v), PRSVD_ERR_INPUT, "cannot read attribute '%s' of '%s'", name, file);
done:
  if (a >= 0) H5Aclose(a);
  if (f >= 0) H5Fclose(f);
  return status;
}

int prsvd_h5_read_attr_string(const char *file, const char *name, char *out, size_t len) {
  int status = PRSVD_OK;
  hid_t f = -1;
  out[0] = '\0';
  H5_TRY(f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT), PRSVD_ERR_INPUT, "cannot open '%s'", file);
  prsvd_h5_string_attr(f, name, out, len);
done:
  if (f >= 0) H5Fclose(f);
  return status;
}

/* A whole dataset as float64, C order, with its shape; vector: it must be 1-D.  A file can
 * declare any length and type: both are checked before allocating and converting. */
static int read_numbers(const char *file, const char *dataset, int vector, int *nd, int64_t *shape, double **x) {
  int status = PRSVD_OK;
  hid_t f = -1, d = -1, s = -1, t = -1;
  hsize_t dims[PRSVD_H5_MAX_DIMS];
  char what[4200], name[48];
  *x = NULL;
  *nd = 0;
  snprintf(what, sizeof what, "'%s' in '%s'", dataset, file);
  PRSVD_TRY(prsvd_h5_open_ro(file, H5P_DEFAULT, "input", &f));
  PRSVD_TRY(prsvd_h5_find_dataset(f, file, dataset));
  H5_TRY(d = H5Dopen2(f, dataset, H5P_DEFAULT), PRSVD_ERR_INPUT, "cannot open %s", what);
  H5_TRY(s = H5Dget_space(d), PRSVD_ERR_INPUT, "cannot read the shape of %s", what);
  const int n = H5Sget_simple_extent_ndims(s);
  if (vector && n != 1) PRSVD_FAIL(PRSVD_ERR_INPUT, "%s is not a vector", what);
  if (n < 1 || n > PRSVD_H5_MAX_DIMS)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "%s is %d-D: expected 1 to %d dimensions", what, n, PRSVD_H5_MAX_DIMS);
  H5Sget_simple_extent_dims(s, dims, NULL);
  int64_t count = 1;
  for (int i = 0; i < n; i++) {
    if (dims[i] > (hsize_t)(INT64_MAX / 8) || (count > 0 && (int64_t)dims[i] > INT64_MAX / 8 / count))
      PRSVD_FAIL(PRSVD_ERR_INPUT, n == 1 ? "%s holds %llu entries: more than the 2^63 - 1 bytes a file holds as float64"
                                         : "%s holds more entries than the 2^63 - 1 bytes a file holds as float64 "
                                           "(dimension %llu)",
                 what, n == 1 ? (unsigned long long)dims[0] : (unsigned long long)i);
    shape[i] = (int64_t)dims[i], count *= shape[i];
  }
  H5_TRY(t = H5Dget_type(d), PRSVD_ERR_INPUT, "cannot read the type of %s", what);
  PRSVD_TRY(prsvd_h5_number_type(t, what, name, sizeof name));
  PRSVD_ALLOC(*x, count ? count : 1);
  H5_TRY(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *x), PRSVD_ERR_INPUT,
         "cannot read %s as numbers", what);
  *nd = n;
done:
  if (t >= 0) H5Tclose(t);
  if (s >= 0) H5Sclose(s);
  if (d >= 0) H5Dclose(d);
  if (f >= 0) H5Fclose(f);
  if (status) {
    free(*x);
    *x = NULL;
  }
  return status;
}

int prsvd_h5_read_vector(const char *file, const char *dataset, int64_t *n, double **x) {
  int nd;
  return read_numbers(file, dataset, 1, &nd, n, x);
}

int prsvd_h5_read_attr_vector(const char *file, const char *obj, const char *name, int64_t *n,
                              double **x) {
  int status = PRSVD_OK;
  hid_t f = -1, a = -1, s = -1;
  *x = NULL;
  *n = 0;
  PRSVD_TRY(prsvd_h5_open_ro(file, H5P_DEFAULT, "input", &f));
  if (H5Aexists_by_name(f, obj, name, H5P_DEFAULT) <= 0) goto done; /* absent: *n = 0 */
  H5_TRY(a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT), PRSVD_ERR_INPUT,
         "cannot open attribute '%s' of '%s'", name, obj);
  H5_TRY(s = H5Aget_space(a), PRSVD_ERR_INPUT, "cannot read the shape of '%s'", name);
  hssize_t count = H5Sget_simple_extent_npoints(s);
  PRSVD_ALLOC(*x, count);
  H5_TRY(H5Aread(a, H5T_NATIVE_DOUBLE, *x), PRSVD_ERR_INPUT, "cannot read attribute '%s'", name);
  *n = (int64_t)count;
done:
  if (s >= 0) H5Sclose(s);
  if (a >= 0) H5Aclose(a);
  if (f >= 0) H5Fclose(f);
  if (status) {
    free(*x);
    *x = NULL;
  }
  return status;
}

int prsvd_h5_has_dataset(const char *file, const char *path) {
  hid_t f = prsvd_h5_probe_ro(file);
  int yes = 0;
  if (f < 0) return 0;
  if (H5Lexists(f, path, H5P_DEFAULT) > 0) {
    H5O_info_t oi;
    yes = H5Oget_info_by_name(f, path, &oi, H5P_DEFAULT) >= 0 && oi.type == H5O_TYPE_DATASET;
  }
  H5Fclose(f);
  return yes;
}

int prsvd_h5_read_array(const char *file, const char *dataset, int *nd, int64_t *shape, double **x) {
  return read_numbers(file, dataset, 0, nd, shape, x);
}
