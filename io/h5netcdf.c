/*
 * NetCDF-4 variables read as a NetCDF client reads them.  A NetCDF-4 file is an HDF5 file
 * whose variables are datasets (in groups for NetCDF groups), with dimension scales for the
 * named dimensions; prsvd reads a variable like any dataset, and this file adds the NetCDF
 * and CF conventions that change what its values mean:
 *   - packing (CF): x = scale_factor * stored + add_offset, applied as each panel is read;
 *   - missing values: an entry equal to _FillValue (or, without one, NetCDF's default fill
 *     for the type, which is also the HDF5 fill value NetCDF sets; not for 8-bit integers, as
 *     netCDF4-python), equal to missing_value, or outside valid_min / valid_max / valid_range
 *     is a hole in the matrix: the run stops naming its row and column, as for NaN;
 *   - a dimension without a coordinate variable is a dataset that holds no values: naming it
 *     is an error that says so.
 * A dataset is a NetCDF-4 variable when the file has the root attribute _NCProperties or the
 * dataset the attributes _Netcdf4Coordinates or _Netcdf4Dimid that NetCDF writes.  NetCDF-3
 * (classic and 64-bit offset) files are not HDF5: they are recognised by their magic and the
 * error names the conversion (nccopy -k nc4).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "h5util.h"
#include "prsvd_h5.h"

#define NC_DIMENSION_ONLY "This is a netCDF dimension but not a netCDF variable"

int prsvd_nc_classic(const char *file) {
  unsigned char magic[4] = {0};
  FILE *f = fopen(file, "rb");
  if (!f) return 0;
  size_t got = fread(magic, 1, 4, f);
  fclose(f);
  return got == 4 && !memcmp(magic, "CDF", 3) && (magic[3] == 1 || magic[3] == 2 || magic[3] == 5);
}

/* up to max doubles of attribute name of obj (converted by HDF5); the count read, 0 if absent */
static int attr_doubles(hid_t obj, const char *name, double *v, int max) {
  if (H5Aexists(obj, name) <= 0) return 0;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT), sp = a >= 0 ? H5Aget_space(a) : -1;
  hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
  double buf[8];
  int got = 0;
  if (n >= 1 && n <= 8 && H5Aread(a, H5T_NATIVE_DOUBLE, buf) >= 0) {
    got = n < max ? (int)n : max;
    memcpy(v, buf, sizeof(double) * (size_t)got);
  }
  if (sp >= 0) H5Sclose(sp);
  if (a >= 0) H5Aclose(a);
  return got;
}

static void add_missing(struct prsvd_nc_var *v, double x, const char *what) {
  if (v->n_missing < PRSVD_NC_MAX_MISSING) {
    v->missing[v->n_missing] = x;
    v->missing_what[v->n_missing++] = what;
  }
}

int prsvd_nc_inspect(hid_t file, hid_t dset, const char *fname, const char *dname,
                     struct prsvd_nc_var *v, char *describe, size_t len) {
  int status = PRSVD_OK;
  hid_t type = -1, dcpl = -1;
  char cls[32], dimname[80];
  memset(v, 0, sizeof *v);
  v->scale = 1.0;
  v->valid_min = -INFINITY;
  v->valid_max = INFINITY;
  describe[0] = '\0';
  v->netcdf = H5Aexists(file, "_NCProperties") > 0 || H5Aexists(dset, "_Netcdf4Coordinates") > 0 ||
              H5Aexists(dset, "_Netcdf4Dimid") > 0;
  if (!v->netcdf) return PRSVD_OK;
  prsvd_h5_string_attr(dset, "CLASS", cls, sizeof cls);
  prsvd_h5_string_attr(dset, "NAME", dimname, sizeof dimname);
  if (!strcmp(cls, "DIMENSION_SCALE") && !strncmp(dimname, NC_DIMENSION_ONLY, strlen(NC_DIMENSION_ONLY)))
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' in '%s' is a NetCDF dimension, not a variable: it holds no values", dname, fname);

  /* packing: x = scale_factor * stored + add_offset */
  v->packed = attr_doubles(dset, "scale_factor", &v->scale, 1) + attr_doubles(dset, "add_offset", &v->offset, 1) > 0;
  /* missing values: _FillValue, else NetCDF's default fill (the dataset's HDF5 fill value) */
  double x[PRSVD_NC_MAX_MISSING];
  H5_TRY(type = H5Dget_type(dset), PRSVD_ERR_INPUT, "cannot read the type of '%s'", dname);
  if (attr_doubles(dset, "_FillValue", x, 1)) {
    add_missing(v, x[0], "_FillValue");
  } else if (!(H5Tget_class(type) == H5T_INTEGER && H5Tget_size(type) == 1)) {
    H5D_fill_value_t defined;
    H5_TRY(dcpl = H5Dget_create_plist(dset), PRSVD_ERR_INPUT, "cannot read the properties of '%s'", dname);
    if (H5Pfill_value_defined(dcpl, &defined) >= 0 && defined == H5D_FILL_VALUE_USER_DEFINED &&
        H5Pget_fill_value(dcpl, H5T_NATIVE_DOUBLE, x) >= 0)
      add_missing(v, x[0], "NetCDF's default fill value");
  }
  const int n_mv = attr_doubles(dset, "missing_value", x, PRSVD_NC_MAX_MISSING - 1);
  for (int i = 0; i < n_mv; i++) add_missing(v, x[i], "missing_value");
  double range[2];
  if (attr_doubles(dset, "valid_range", range, 2) == 2) {
    v->valid_min = range[0], v->valid_max = range[1];
  } else {
    attr_doubles(dset, "valid_min", &v->valid_min, 1);
    attr_doubles(dset, "valid_max", &v->valid_max, 1);
  }

  size_t used = (size_t)snprintf(describe, len, "NetCDF-4 variable");
  if (v->packed && used < len)
    used += (size_t)snprintf(describe + used, len - used, "; unpacked as %.17g * x + %.17g", v->scale, v->offset);
  for (int i = 0; i < v->n_missing && used < len; i++)
    used += (size_t)snprintf(describe + used, len - used, "%s %s %.9g", i ? "," : "; missing if", v->missing_what[i],
                             v->missing[i]);
  if ((isfinite(v->valid_min) || isfinite(v->valid_max)) && used < len)
    snprintf(describe + used, len - used, "; valid [%.9g, %.9g]", v->valid_min, v->valid_max);
done:
  if (type >= 0) H5Tclose(type);
  if (dcpl >= 0) H5Pclose(dcpl);
  return status;
}

/* Entry x of the dataset's (row, col): PRSVD_ERR_INPUT if it is missing, else unpacked into
 * *out.  single: x came through float32, so the missing values are compared as float32. */
static int nc_entry(const struct prsvd_nc_var *v, const char *fname, const char *dname, int single,
                    int64_t row, int64_t col, double x, double *out) {
  for (int t = 0; t < v->n_missing; t++)
    if (x == (single ? (double)(float)v->missing[t] : v->missing[t]))
      PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' in '%s': missing value (%s %.9g) at row %lld, column %lld", dname, fname,
                v->missing_what[t], v->missing[t], (long long)row, (long long)col);
  if (x < v->valid_min || x > v->valid_max)
    PRSVD_ERR(PRSVD_ERR_INPUT, "'%s' in '%s': %.9g at row %lld, column %lld is outside the valid range [%.9g, %.9g]",
              dname, fname, x, (long long)row, (long long)col, v->valid_min, v->valid_max);
  *out = v->packed ? v->scale * x + v->offset : x;
  return PRSVD_OK;
}

int prsvd_nc_apply(const struct prsvd_nc_var *v, const char *fname, const char *dname,
                   const struct prsvd_nc_panel *panel) {
  float *f = panel->data;
  double *d = panel->data, y = 0.0;
  for (int64_t i = 0; i < panel->rows; i++)
    for (int64_t j = 0; j < panel->cols; j++) {
      const int64_t at = i * panel->cols + j, r = panel->row0 + i, c = panel->col0 + j;
      PRSVD_CHECK(nc_entry(v, fname, dname, panel->single, panel->transposed ? c : r,
                           panel->transposed ? r : c, panel->single ? (double)f[at] : d[at], &y));
      if (panel->single) f[at] = (float)y;
      else d[at] = y;
    }
  return PRSVD_OK;
}
