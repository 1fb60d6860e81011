/*
 * NetCDF-4 variables read as a NetCDF client reads them.  A NetCDF-4 file is an HDF5 file
 * whose variables are datasets (in groups for NetCDF groups), with dimension scales for the
 * named dimensions; prsvd reads a variable like any dataset, and this file adds the NetCDF
 * and CF conventions that change what its values mean, as netCDF4-python applies them when it
 * reads (auto mask and scale), in its order:
 *   - _Unsigned = "true": the stored bits of a signed integer variable are read as the
 *     unsigned type (NetCDF-3's ubyte and ushort);
 *   - missing values, compared with the stored values: an entry equal to a missing_value,
 *     to _FillValue (or, without one, NetCDF's default fill for the type; for 8-bit integers
 *     only when the variable was written with fill), or outside valid_range (else valid_min /
 *     valid_max) is a hole in the matrix: the run stops naming its row and column, as for NaN,
 *     or under --missing drop the entry reads as NaN and its feature is left out
 *     (io/h5features.c).  An attribute whose values the variable's
 *     type cannot hold is ignored, as netCDF4-python ignores it, and `info` says so;
 *   - packing (CF): x = scale_factor * stored + add_offset, applied as each panel is read;
 *   - a dimension without a coordinate variable is a dataset that holds no values: naming it
 *     is an error that says so.
 * A dataset is a NetCDF-4 variable when the file has the root attribute _NCProperties or the
 * dataset the attributes _Netcdf4Coordinates or _Netcdf4Dimid that NetCDF writes.  NetCDF-3
 * (classic and 64-bit offset) files are not HDF5: they are recognised by their magic and the
 * error names the conversion (nccopy -k nc4).
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

/* Attribute `name` of obj as doubles (HDF5 converts them) into v when it has at most max
 * values (max <= PRSVD_NC_MAX_MISSING); returns the count of values (more than max: not
 * read), 0 if absent, -1 if not numbers (a string). */
static int attr_doubles(hid_t obj, const char *name, double *v, int max) {
  if (H5Aexists(obj, name) <= 0) return 0;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = a >= 0 ? H5Aget_type(a) : -1, sp = a >= 0 ? H5Aget_space(a) : -1;
  const H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
  const hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
  int got = -1;
  if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && n >= 0)
    got = n > max ? (n > INT_MAX ? INT_MAX : (int)n) : H5Aread(a, H5T_NATIVE_DOUBLE, v) >= 0 ? (int)n : -1;
  if (sp >= 0) H5Sclose(sp);
  if (t >= 0) H5Tclose(t);
  if (a >= 0) H5Aclose(a);
  return got;
}

/* Whether x is a value of the stored type: netCDF4-python's _check_safecast, which ignores
 * (with a warning) a missing value or limit that the variable's type cannot hold. */
static int fits(hid_t type, double x) {
  const size_t size = H5Tget_size(type);
  if (H5Tget_class(type) == H5T_FLOAT)
    return size >= 8 || !isfinite(x) || (fabs(x) <= FLT_MAX && (double)(float)x == x);
  const int is_signed = H5Tget_sign(type) != H5T_SGN_NONE;
  const double top = ldexp(1.0, 8 * (int)size - is_signed); /* NaN fails x == trunc(x) */
  return x == trunc(x) && x < top && x >= (is_signed ? -top : 0.0);
}

/* netCDF's default fill value of the stored type (netcdf.h's NC_FILL_*) */
static double default_fill(hid_t type) {
  const size_t size = H5Tget_size(type);
  if (H5Tget_class(type) == H5T_FLOAT) return size == 4 ? (double)9.9692099683868690e+36f : 9.9692099683868690e+36;
  const int is_signed = H5Tget_sign(type) != H5T_SGN_NONE;
  return size == 1 ? (is_signed ? -127.0 : 255.0)
       : size == 2 ? (is_signed ? -32767.0 : 65535.0)
       : size == 4 ? (is_signed ? -2147483647.0 : 4294967295.0)
                   : (is_signed ? -9223372036854775806.0 : 18446744073709551614.0);
}

/* A stored value (of the data or of an attribute, both of the variable's type) as the data
 * is compared: through the unsigned type under _Unsigned. */
static double as_stored(const struct prsvd_nc_var *v, double x) { return x < 0 && v->wrap ? x + v->wrap : x; }

static void add_missing(struct prsvd_nc_var *v, double x, const char *what) {
  v->missing[v->n_missing] = as_stored(v, x);
  v->missing_what[v->n_missing++] = what;
}

/* name added to the comma-separated list of the attributes netCDF4-python ignores */
static void ignore(char *ignored, size_t len, const char *name) {
  const size_t used = strlen(ignored);
  snprintf(ignored + used, len - used, "%s%s", used ? ", " : "", name);
}

/* The one-line description: the type as read, packing, missing values, the valid range, and
 * the attributes ignored as netCDF4-python ignores them. */
static void describe_var(const struct prsvd_nc_var *v, const char *tname, const char *ignored, char *out,
                         size_t len) {
  size_t used = (size_t)snprintf(out, len, "NetCDF-4 variable");
  if (v->wrap && used < len)
    used += (size_t)snprintf(out + used, len - used, "; %s read as u%s (_Unsigned)", tname, tname);
  if (v->packed && used < len)
    used += (size_t)snprintf(out + used, len - used, "; unpacked as %.17g * x + %.17g", v->scale, v->offset);
  for (int i = 0; i < v->n_missing && used < len; i++)
    used += (size_t)snprintf(out + used, len - used, "%s %s %.9g", i ? "," : "; missing if", v->missing_what[i],
                             v->missing[i]);
  if ((isfinite(v->valid_min) || isfinite(v->valid_max)) && used < len)
    used += (size_t)snprintf(out + used, len - used, "; valid [%.9g, %.9g]", v->valid_min, v->valid_max);
  if (ignored[0] && used < len)
    snprintf(out + used, len - used, "; ignored, as netCDF4-python does (not %s values): %s", tname, ignored);
}

int prsvd_nc_inspect(hid_t file, hid_t dset, const char *fname, const char *dname,
                     struct prsvd_nc_var *v, char *describe, size_t len) {
  int status = PRSVD_OK, n;
  hid_t type = -1, dcpl = -1;
  char cls[32], dimname[80], tname[16], ignored[96] = "";
  double x[PRSVD_NC_MAX_MISSING];
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
  H5_TRY(type = H5Dget_type(dset), PRSVD_ERR_INPUT, "cannot read the type of '%s'", dname);
  H5_TRY(dcpl = H5Dget_create_plist(dset), PRSVD_ERR_INPUT, "cannot read the properties of '%s'", dname);
  if (prsvd_h5_number_type(type, dname, tname, sizeof tname)) { /* open_dataset names the type */
    prsvd_error_clear();
    goto done;
  }
  const int integer = H5Tget_class(type) == H5T_INTEGER, bits = 8 * (int)H5Tget_size(type);
  v->exact_float = integer ? bits <= 16 : bits == 32;

  /* _Unsigned "true": a signed integer variable holds unsigned values (NetCDF-3's way to store
   * ubyte and ushort); netCDF4-python reads its bits as the unsigned type.  Readers disagree on
   * any value but "true" and "false" (netCDF4-python 1.6.2 takes every value as true, later
   * ones only "true" and "True"), so prsvd refuses to guess. */
  if (integer && H5Tget_sign(type) != H5T_SGN_NONE && H5Aexists(dset, "_Unsigned") > 0) {
    char u[16];
    prsvd_h5_string_attr(dset, "_Unsigned", u, sizeof u);
    if (!strcasecmp(u, "true")) v->wrap = ldexp(1.0, bits);
    else if (strcasecmp(u, "false"))
      PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' in '%s': _Unsigned is %s%s%s, expected \"true\" or \"false\" (readers disagree on "
                 "what else means)", dname, fname, u[0] ? "'" : "not one string", u, u[0] ? "'" : "");
  }
  /* packing: x = scale_factor * stored + add_offset, each one number */
  static const char *const packing[2] = {"scale_factor", "add_offset"};
  double *coef[2] = {&v->scale, &v->offset};
  for (int i = 0; i < 2; i++) {
    if ((n = attr_doubles(dset, packing[i], coef[i], 1)) < 0)
      PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' in '%s': %s is not a number", dname, fname, packing[i]);
    if (n > 1)
      PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' in '%s': %s has %d values, expected one", dname, fname, packing[i], n);
    v->packed |= n == 1;
  }
  /* what netCDF4-python masks, in its order, each attribute only if the stored type holds all
   * its values: missing_value (any number of them) ... */
  if ((n = attr_doubles(dset, "missing_value", x, PRSVD_NC_MAX_MISSING - 1)) > PRSVD_NC_MAX_MISSING - 1)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' in '%s': missing_value has %d values, prsvd compares at most %d", dname, fname,
               n, PRSVD_NC_MAX_MISSING - 1);
  int all_fit = n > 0;
  for (int i = 0; i < n; i++) all_fit &= fits(type, x[i]);
  for (int i = 0; all_fit && i < n; i++) add_missing(v, x[i], "missing_value");
  if (n && !all_fit) ignore(ignored, sizeof ignored, "missing_value");
  /* ... _FillValue, or without one that fits, netCDF's default fill for the type: not for an
   * 8-bit variable written without fill (netCDF marks that by no HDF5 fill value), and never
   * under _Unsigned, where netCDF4-python compares the (negative) signed default with the
   * unsigned values ... */
  if ((n = attr_doubles(dset, "_FillValue", x, 1)) > 1)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' in '%s': _FillValue has %d values, expected one", dname, fname, n);
  if (n == 1 && fits(type, x[0])) {
    add_missing(v, x[0], "_FillValue");
  } else {
    H5D_fill_value_t defined = H5D_FILL_VALUE_UNDEFINED;
    if (n) ignore(ignored, sizeof ignored, "_FillValue");
    H5Pfill_value_defined(dcpl, &defined);
    const int no_fill = defined != H5D_FILL_VALUE_USER_DEFINED;
    if (!v->wrap && !(bits == 8 && no_fill)) add_missing(v, default_fill(type), "NetCDF's default fill value");
  }
  /* ... and values outside valid_range, else outside valid_min / valid_max */
  double range[2];
  n = attr_doubles(dset, "valid_range", range, 2);
  if (n == 2 && fits(type, range[0]) && fits(type, range[1])) {
    v->valid_min = as_stored(v, range[0]), v->valid_max = as_stored(v, range[1]);
  } else {
    static const char *const limit[2] = {"valid_min", "valid_max"};
    double *bound[2] = {&v->valid_min, &v->valid_max};
    if (n) ignore(ignored, sizeof ignored, "valid_range");
    for (int i = 0; i < 2; i++) {
      if ((n = attr_doubles(dset, limit[i], x, 1)) > 1)
        PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' in '%s': %s has %d values, expected one", dname, fname, limit[i], n);
      if (n == 1 && fits(type, x[0])) *bound[i] = as_stored(v, x[0]);
      else if (n) ignore(ignored, sizeof ignored, limit[i]);
    }
  }
  describe_var(v, tname, ignored, describe, len);
done:
  if (type >= 0) H5Tclose(type);
  if (dcpl >= 0) H5Pclose(dcpl);
  return status;
}

/* Whether the stored value x is missing (a missing value, or outside the valid range). */
static int nc_missing(const struct prsvd_nc_var *v, double x) {
  x = as_stored(v, x);
  for (int t = 0; t < v->n_missing; t++)
    if (x == v->missing[t]) return 1;
  return x < v->valid_min || x > v->valid_max;
}

/* Entry x of the dataset's (row, col), as HDF5 converted the stored value: PRSVD_ERR_INPUT if
 * it is missing, else unpacked into *out.  The comparisons are exact: a panel of float32
 * holds only types that float32 holds exactly (v->exact_float). */
static int nc_entry(const struct prsvd_nc_var *v, const char *fname, const char *dname, int64_t row, int64_t col,
                    double x, double *out) {
  x = as_stored(v, x);
  for (int t = 0; t < v->n_missing; t++)
    if (x == v->missing[t])
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
      const double x = panel->single ? (double)f[at] : d[at];
      if (panel->to_nan && nc_missing(v, x)) y = NAN;
      else PRSVD_CHECK(nc_entry(v, fname, dname, panel->transposed ? c : r, panel->transposed ? r : c, x, &y));
      if (panel->single) f[at] = (float)y;
      else d[at] = y;
    }
  return PRSVD_OK;
}
