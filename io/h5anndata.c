/* A PCA written back into the AnnData file it was computed from (pca --anndata), where
 * scanpy.pp.pca stores it and anndata.read_h5ad finds it:
 *   obsm/X_pca          cells x k   the scores U S
 *   varm/PCs            genes x k   the components, as columns
 *   uns/pca/variance, uns/pca/variance_ratio, uns/pca/params/{zero_center, use_highly_variable, ...}
 * each with the encoding attributes anndata 0.8 writes (encoding-type / encoding-version:
 * "array" "0.2.0", "dict" "0.1.0", "numeric-scalar" "0.2.0", "string" "0.2.0").
 *
 * The file is never edited in place: its new version is the old one's objects copied into a
 * temporary beside it (io/h5update.c) plus the PCA, renamed over it only when complete and
 * synced (docs/safety.md says why: HDF5 1.10 has no crash-safe edit of a file in place).  /X,
 * /obs, /var and every other object are copied unchanged; the old version stays whole until the
 * rename, and the rename is refused if the file changed meanwhile. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <libgen.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "h5util.h"
#include "paths.h"
#include "prsvd_h5.h"

/* What --anndata replaces: one name each, replaced only with --force. */
static const char *const anndata_names[] = {"/obsm/X_pca", "/varm/PCs", "/uns/pca", NULL};

/* Length of the index of dataframe `group` (/obs or /var): the dataset its _index attribute
 * names; -1 if it cannot be told. */
static int64_t index_length(hid_t file, const char *group) {
  char index[256] = "", path[300];
  int64_t n = -1;
  hid_t g = H5Gopen2(file, group, H5P_DEFAULT);
  if (g < 0) return -1;
  prsvd_h5_string_attr(g, "_index", index, sizeof index);
  snprintf(path, sizeof path, "%s", index[0] ? index : "_index");
  if (H5Lexists(g, path, H5P_DEFAULT) > 0) {
    hid_t d = H5Dopen2(g, path, H5P_DEFAULT), space = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t dims[1];
    if (space >= 0 && H5Sget_simple_extent_ndims(space) == 1 && H5Sget_simple_extent_dims(space, dims, NULL) == 1)
      n = (int64_t)dims[0];
    if (space >= 0) H5Sclose(space);
    if (d >= 0) H5Dclose(d);
  }
  H5Gclose(g);
  return n;
}

/* Rank 0: the checks of prsvd_h5_anndata_check. */
static int check(const char *file, int64_t cells, int64_t genes, int force) {
  int status = PRSVD_OK;
  hid_t f = -1;
  struct stat st;
  PRSVD_CHECK(prsvd_path_check_input(file, "AnnData file"));
  if (stat(file, &st) != 0 || !(st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) || access(file, W_OK) != 0)
    PRSVD_ERR(PRSVD_ERR_OUTPUT, "'%s' is read-only: --anndata writes the PCA into it (make it writable, or "
              "write the PCA to its own file with -o)", file);
  {
    char real[PATH_MAX], dir[PATH_MAX];
    if (realpath(file, real)) {
      snprintf(dir, sizeof dir, "%s", real);
      if (access(dirname(dir), W_OK) != 0) /* the new version is written beside it */
        PRSVD_ERR(PRSVD_ERR_OUTPUT, "cannot write the new version of '%s' beside it: its directory '%s' is not "
                  "writable: %s", file, dir, strerror(errno));
      prsvd_h5_remove_stale_temps(real); /* as every output's check does */
    }
  }
  PRSVD_CHECK(prsvd_h5_open_ro(file, H5P_DEFAULT, "AnnData file", &f));
  for (int i = 0; i < 2; i++) {
    const char *g = i ? "/var" : "/obs";
    char enc[64] = "";
    H5O_info_t oi;
    if (H5Lexists(f, g, H5P_DEFAULT) <= 0 || H5Oget_info_by_name(f, g, &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_GROUP)
      PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' is not an AnnData file: no group '%s' (--anndata writes into .h5ad files "
                 "that anndata wrote; use -o for any other file)", file, g);
    hid_t h = H5Gopen2(f, g, H5P_DEFAULT);
    prsvd_h5_string_attr(h, "encoding-type", enc, sizeof enc);
    H5Gclose(h);
    if (strcmp(enc, "dataframe"))
      PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' is not an AnnData file: '%s' has no encoding-type \"dataframe\" (it has "
                 "\"%s\"; files of anndata before 0.7 are not supported: read and write them with a newer anndata)",
                 file, g, enc);
  }
  const int64_t n_obs = index_length(f, "/obs"), n_var = index_length(f, "/var");
  if (n_obs != cells || n_var != genes)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' holds %lld cells (obs) x %lld genes (var), but the matrix is %lld x %lld: "
               "--anndata writes the PCA of the file's own cells x genes matrix", file, (long long)n_obs,
               (long long)n_var, (long long)cells, (long long)genes);
  for (int i = 0; anndata_names[i] && !force; i++) {
    const char *name = anndata_names[i], *slash = strchr(name + 1, '/');
    char parent[64];
    snprintf(parent, sizeof parent, "%.*s", (int)(slash - name), name);
    if (H5Lexists(f, parent, H5P_DEFAULT) > 0 && H5Lexists(f, name, H5P_DEFAULT) > 0)
      PRSVD_FAIL(PRSVD_ERR_OUTPUT, "'%s' already holds '%s' (use --force to replace it, with %s; the file's "
                 "other objects are kept)", file, name, "obsm/X_pca, varm/PCs and uns/pca");
  }
done:
  if (f >= 0) H5Fclose(f);
  return status;
}

int prsvd_h5_anndata_check(MPI_Comm comm, const char *file, int64_t cells, int64_t genes, int force) {
  int rank, status = PRSVD_OK;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) status = check(file, cells, genes, force);
  return prsvd_error_agree(comm, status);
}

int prsvd_h5_anndata_writer(MPI_Comm comm, const char *file, int force, int64_t pca_bytes, prsvd_h5_writer **w) {
  int status = PRSVD_OK, rank;
  char real[PATH_MAX] = "";
  struct stat before, after;
  *w = NULL;
  MPI_Comm_rank(comm, &rank);
  /* the file itself, not a symbolic link to it: the rename replaces the file the link names */
  if (rank == 0 && !realpath(file, real))
    status = prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__, "cannot resolve '%s': %s", file,
                             strerror(errno));
  if (!status && rank == 0 && stat(real, &before) != 0)
    status = prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__, "cannot stat '%s': %s", file,
                             strerror(errno));
  if (!status && rank == 0) { /* the copy needs the file's size again beside it, and the PCA */
    struct statvfs fs;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", real);
    const double need = (double)before.st_size + (double)pca_bytes + (1 << 20);
    if (statvfs(dirname(dir), &fs) == 0 && (double)fs.f_bavail * (double)fs.f_frsize < need)
      status = prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__,
                               "no room to write the new version of '%s': %.0f bytes free in its directory, %.0f "
                               "needed (a copy of the file and the PCA; disk full?)",
                               file, (double)fs.f_bavail * (double)fs.f_frsize, need);
  }
  PRSVD_CHECK(prsvd_error_agree(comm, status));
  PRSVD_MPI(MPI_Bcast(real, sizeof real, MPI_CHAR, 0, comm));
  PRSVD_CHECK(prsvd_h5_writer_update(comm, real, anndata_names, force, w));
  /* a change during the copy would be lost by the rename; prsvd_h5_writer_keep guards after it */
  if (rank == 0 && (stat(real, &after) != 0 || after.st_ino != before.st_ino || after.st_size != before.st_size ||
                    after.st_mtim.tv_sec != before.st_mtim.tv_sec || after.st_mtim.tv_nsec != before.st_mtim.tv_nsec))
    status = prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__,
                             "'%s' changed while this run copied it (another writer?): left as it is, nothing written",
                             file);
  status = prsvd_error_agree(comm, status);
  if (!status) status = prsvd_h5_writer_keep(*w);
  if (status) prsvd_h5_writer_abort(w);
  return status;
}

/* The encoding attributes of obj, unless it has them (a group the old file held). */
static int encode(prsvd_h5_writer *w, const char *obj, const char *type, const char *version, int keep) {
  if (keep) {
    char have[64] = "";
    hid_t o = H5Oopen(prsvd_h5_writer_file(w), obj, H5P_DEFAULT);
    if (o >= 0) {
      prsvd_h5_string_attr(o, "encoding-type", have, sizeof have);
      H5Oclose(o);
    }
    if (have[0]) return PRSVD_OK;
  }
  PRSVD_CHECK(prsvd_h5_attr_string(w, obj, "encoding-type", type));
  PRSVD_CHECK(prsvd_h5_attr_string(w, obj, "encoding-version", version));
  return PRSVD_OK;
}

/* Collective: a group (and its parents) unless it exists. */
static int group(MPI_Comm comm, prsvd_h5_writer *w, const char *name) {
  int status = PRSVD_OK;
  hid_t file = prsvd_h5_writer_file(w), g = -1, lcpl = -1;
  if (H5Lexists(file, name, H5P_DEFAULT) > 0) return PRSVD_OK;
  H5_TRY(lcpl = H5Pcreate(H5P_LINK_CREATE), PRSVD_ERR_OUTPUT, "cannot create a property list");
  H5Pset_create_intermediate_group(lcpl, 1);
  H5_TRY(g = H5Gcreate2(file, name, lcpl, H5P_DEFAULT, H5P_DEFAULT), PRSVD_ERR_OUTPUT,
         "cannot create group '%s'", name);
done:
  if (g >= 0) H5Gclose(g);
  if (lcpl >= 0) H5Pclose(lcpl);
  return prsvd_error_agree(comm, status);
}

/* Collective: a scalar of uns/pca/params as anndata writes one: a bool as h5py's enum
 * {FALSE, TRUE} of int8 ("numeric-scalar"), a string as a variable-length UTF-8 one
 * ("string", fixed length); written by rank 0. */
static int scalar(MPI_Comm comm, prsvd_h5_writer *w, const char *name, const char *text, int flag) {
  int status = PRSVD_OK, rank;
  hid_t file = prsvd_h5_writer_file(w), type = -1, space = -1, d = -1;
  signed char v;
  MPI_Comm_rank(comm, &rank);
  if (text) {
    /* fixed length: parallel HDF5 writes no variable-length data (h5py's asstr, which
     * anndata reads it with, takes either) */
    H5_TRY(type = H5Tcopy(H5T_C_S1), PRSVD_ERR_OUTPUT, "cannot make a string type");
    H5Tset_size(type, strlen(text) > 0 ? strlen(text) : 1);
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    H5Tset_cset(type, H5T_CSET_UTF8);
  } else {
    H5_TRY(type = H5Tenum_create(H5T_STD_I8LE), PRSVD_ERR_OUTPUT, "cannot make a bool type");
    v = 0, H5Tenum_insert(type, "FALSE", &v);
    v = 1, H5Tenum_insert(type, "TRUE", &v);
    v = (signed char)(flag != 0);
  }
  H5_TRY(space = H5Screate(H5S_SCALAR), PRSVD_ERR_OUTPUT, "cannot create a dataspace");
  H5_TRY(d = H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), PRSVD_ERR_OUTPUT,
         "cannot create '%s'", name);
  if (rank != 0) H5Sselect_none(space);
  H5_TRY(H5Dwrite(d, type, space, space, H5P_DEFAULT, text ? (const void *)(text[0] ? text : "") : (const void *)&v),
         PRSVD_ERR_OUTPUT, "cannot write '%s' (disk full?)", name);
done:
  if (d >= 0) H5Dclose(d);
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  status = prsvd_error_agree(comm, status);
  if (!status) status = encode(w, name, text ? "string" : "numeric-scalar", "0.2.0", 0);
  return status;
}

int prsvd_h5_anndata_finish(MPI_Comm comm, prsvd_h5_writer *w, const struct prsvd_h5_anndata_params *p) {
  /* the groups the old file may lack, as dicts; existing ones keep their attributes */
  static const char *const dicts[] = {"/obsm", "/varm", "/uns", "/uns/pca", "/uns/pca/params", NULL};
  for (int i = 0; dicts[i]; i++) {
    PRSVD_CHECK(group(comm, w, dicts[i]));
    PRSVD_CHECK(encode(w, dicts[i], "dict", "0.1.0", 1));
  }
  PRSVD_CHECK(encode(w, "/obsm/X_pca", "array", "0.2.0", 0));
  PRSVD_CHECK(encode(w, "/varm/PCs", "array", "0.2.0", 0));
  PRSVD_CHECK(encode(w, "/uns/pca/variance", "array", "0.2.0", 0));
  PRSVD_CHECK(encode(w, "/uns/pca/variance_ratio", "array", "0.2.0", 0));
  /* scanpy.pp.pca's params, then what prsvd adds to the computation */
  PRSVD_CHECK(scalar(comm, w, "/uns/pca/params/zero_center", NULL, 1));
  PRSVD_CHECK(scalar(comm, w, "/uns/pca/params/use_highly_variable", NULL, 0));
  PRSVD_CHECK(scalar(comm, w, "/uns/pca/params/log1p", NULL, p->log1p));
  PRSVD_CHECK(scalar(comm, w, "/uns/pca/params/scale", NULL, p->scale));
  if (p->rows_where) PRSVD_CHECK(scalar(comm, w, "/uns/pca/params/rows_where", p->rows_where, 0));
  PRSVD_CHECK(scalar(comm, w, "/uns/pca/params/svd_solver", "prsvd", 0));
  return PRSVD_OK;
}

/* Rank 0: v[i] = 1 where categorical column `path` (a group: codes into categories) is `value`
 * (NULL: the category True of a bool categorical); codes -1 (missing) are never selected. */
static int read_categorical(hid_t f, const char *path, const char *spec, const char *value, int64_t cells, int64_t *v) {
  int status = PRSVD_OK;
  hid_t g = -1, cat = -1, codes = -1, space = -1, type = -1, mtype = -1;
  char enc[64] = "", listed[512] = "";
  int64_t target = -1, ncat = 0;
  hsize_t dims[1] = {0};
  H5_TRY(g = H5Gopen2(f, path, H5P_DEFAULT), PRSVD_ERR_INPUT, "cannot open '%s'", path);
  prsvd_h5_string_attr(g, "encoding-type", enc, sizeof enc);
  if (strcmp(enc, "categorical") || H5Lexists(g, "categories", H5P_DEFAULT) <= 0 || H5Lexists(g, "codes", H5P_DEFAULT) <= 0)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "--rows-where %s: '%s' is a group but not a categorical column", spec, path);
  H5_TRY(cat = H5Dopen2(g, "categories", H5P_DEFAULT), PRSVD_ERR_INPUT, "cannot open the categories of '%s'", path);
  H5_TRY(space = H5Dget_space(cat), PRSVD_ERR_INPUT, "cannot read the categories of '%s'", path);
  if (H5Sget_simple_extent_ndims(space) != 1 || H5Sget_simple_extent_dims(space, dims, NULL) != 1)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "--rows-where %s: the categories of '%s' are not a list", spec, path);
  ncat = (int64_t)dims[0];
  H5_TRY(type = H5Dget_type(cat), PRSVD_ERR_INPUT, "cannot read the categories of '%s'", path);
  if (H5Tget_class(type) == H5T_STRING) {
    char **names = NULL;
    size_t len = H5Tget_size(type);
    const int vl = H5Tis_variable_str(type) > 0;
    char *fixed = NULL;
    mtype = H5Tcopy(H5T_C_S1);
    if (vl) H5Tset_size(mtype, H5T_VARIABLE);
    else H5Tset_size(mtype, len + 1);
    PRSVD_ALLOC(names, ncat > 0 ? ncat : 1);
    if (!vl) PRSVD_ALLOC(fixed, (ncat > 0 ? ncat : 1) * (int64_t)(len + 1));
    if (H5Dread(cat, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, vl ? (void *)names : (void *)fixed) < 0) {
      free(names), free(fixed);
      PRSVD_FAIL(PRSVD_ERR_INPUT, "cannot read the categories of '%s'", path);
    }
    for (int64_t c = 0; c < ncat; c++) {
      const char *name = vl ? names[c] : fixed + c * (int64_t)(len + 1);
      if (value && name && !strcmp(name, value)) target = c;
      if (strlen(listed) + (name ? strlen(name) : 0) + 8 < sizeof listed)
        snprintf(listed + strlen(listed), sizeof listed - strlen(listed), "%s'%s'", c ? ", " : "", name ? name : "");
    }
    if (vl) H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, names);
    free(names), free(fixed);
    if (!value)
      PRSVD_FAIL(PRSVD_ERR_INPUT, "--rows-where %s: the column is categorical (categories %s): give the one to keep, "
                 "--rows-where %s=VALUE", spec, listed, spec);
    if (target < 0)
      PRSVD_FAIL(PRSVD_ERR_INPUT, "--rows-where %s=%s: '%s' is not a category of the column (%s)", spec, value, value,
                 listed);
  } else if (H5Tget_class(type) == H5T_ENUM && ncat <= 2) { /* bool categories: keep True's code */
    signed char b[2] = {0, 0};
    H5_TRY(mtype = H5Tget_native_type(type, H5T_DIR_ASCEND), PRSVD_ERR_INPUT, "cannot read '%s'", path);
    H5_TRY(H5Dread(cat, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, b), PRSVD_ERR_INPUT, "cannot read the categories of '%s'",
           path);
    const int want = !value || !strcmp(value, "True") ? 1 : !strcmp(value, "False") ? 0 : -1;
    if (want < 0)
      PRSVD_FAIL(PRSVD_ERR_INPUT, "--rows-where %s=%s: the column's categories are True and False", spec, value);
    for (int64_t c = 0; c < ncat; c++)
      if (b[c] == want) target = c;
  } else {
    PRSVD_FAIL(PRSVD_ERR_INPUT, "--rows-where %s: a categorical column of numbers is not supported (its categories "
               "must be strings or True/False)", spec);
  }
  H5Sclose(space), space = -1;
  H5_TRY(codes = H5Dopen2(g, "codes", H5P_DEFAULT), PRSVD_ERR_INPUT, "cannot open the codes of '%s'", path);
  H5_TRY(space = H5Dget_space(codes), PRSVD_ERR_INPUT, "cannot read the codes of '%s'", path);
  if (H5Sget_simple_extent_ndims(space) != 1 || H5Sget_simple_extent_dims(space, dims, NULL) != 1 ||
      (int64_t)dims[0] != cells)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "--rows-where %s: the column has %lld entries, but the matrix has %lld cells", spec,
               (long long)dims[0], (long long)cells);
  H5_TRY(H5Dread(codes, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), PRSVD_ERR_INPUT,
         "cannot read the codes of '%s'", path);
  for (int64_t i = 0; i < cells; i++) v[i] = target >= 0 && v[i] == target;
done:
  if (mtype >= 0) H5Tclose(mtype);
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  if (codes >= 0) H5Dclose(codes);
  if (cat >= 0) H5Dclose(cat);
  if (g >= 0) H5Gclose(g);
  return status;
}

/* Rank 0: the cells --rows-where obs/COLUMN (or obs/COLUMN=VALUE) selects (see
 * prsvd_h5_anndata_mask). */
static int read_mask(const char *file, const char *spec_in, int64_t cells, unsigned char *mask, int64_t *selected) {
  int status = PRSVD_OK;
  hid_t f = -1, d = -1, space = -1, type = -1, mtype = -1;
  char spec[1100], path[1100];
  int64_t *v = NULL;
  H5O_info_t oi;
  snprintf(spec, sizeof spec, "%s", spec_in);
  char *value = strchr(spec, '=');
  if (value) *value++ = '\0';
  const char *name = spec + (spec[0] == '/');
  if (strncmp(name, "obs/", 4) || !name[4] || strchr(name + 4, '/') || (value && !*value))
    PRSVD_ERR(PRSVD_ERR_USAGE, "--rows-where takes obs/COLUMN (a boolean column of the AnnData file's /obs) or "
              "obs/COLUMN=VALUE (a category of a categorical one), not '%s'", spec_in);
  snprintf(path, sizeof path, "/%s", name);
  PRSVD_CHECK(prsvd_h5_open_ro(file, H5P_DEFAULT, "input", &f));
  if (H5Lexists(f, "/obs", H5P_DEFAULT) <= 0)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "--rows-where %s: '%s' has no /obs (not an AnnData file)", spec, file);
  if (H5Lexists(f, path, H5P_DEFAULT) <= 0)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "--rows-where %s: /obs of '%s' has no column '%s'", spec, file, name + 4);
  H5_TRY(H5Oget_info_by_name(f, path, &oi, H5P_DEFAULT), PRSVD_ERR_INPUT, "cannot read '%s' in '%s'", path, file);
  if (oi.type == H5O_TYPE_GROUP) {
    PRSVD_ALLOC(v, cells);
    PRSVD_TRY(read_categorical(f, path, spec, value, cells, v));
    goto count;
  }
  if (value)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "--rows-where %s=%s: =VALUE picks a category of a categorical column, and '%s' is not "
               "one: give obs/%s (a boolean column)", spec, value, name + 4, name + 4);
  H5_TRY(d = H5Dopen2(f, path, H5P_DEFAULT), PRSVD_ERR_INPUT, "cannot open '%s' in '%s'", path, file);
  H5_TRY(space = H5Dget_space(d), PRSVD_ERR_INPUT, "cannot read the shape of '%s'", path);
  hsize_t dims[1] = {0};
  if (H5Sget_simple_extent_ndims(space) != 1 || H5Sget_simple_extent_dims(space, dims, NULL) != 1 ||
      (int64_t)dims[0] != cells)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "--rows-where %s: the column has %lld entries, but the matrix has %lld cells",
               spec, H5Sget_simple_extent_ndims(space) == 1 ? (long long)dims[0] : -1LL, (long long)cells);
  H5_TRY(type = H5Dget_type(d), PRSVD_ERR_INPUT, "cannot read the type of '%s'", path);
  const H5T_class_t cls = H5Tget_class(type);
  if (cls == H5T_ENUM) { /* h5py's bool: an enum of int8 {FALSE, TRUE} */
    hid_t base = H5Tget_super(type);
    const int ok = base >= 0 && H5Tget_class(base) == H5T_INTEGER && H5Tget_size(base) == 1;
    if (base >= 0) H5Tclose(base);
    if (!ok) PRSVD_FAIL(PRSVD_ERR_INPUT, "--rows-where %s: the column is an enum that is not h5py's bool", spec);
    signed char *b = NULL;
    PRSVD_ALLOC(b, cells);
    H5_TRY(mtype = H5Tget_native_type(type, H5T_DIR_ASCEND), PRSVD_ERR_INPUT, "cannot read '%s'", path);
    if (H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, b) < 0) {
      free(b);
      PRSVD_FAIL(PRSVD_ERR_INPUT, "cannot read '%s' of '%s'", path, file);
    }
    PRSVD_ALLOC(v, cells);
    for (int64_t i = 0; i < cells; i++) v[i] = b[i];
    free(b);
  } else if (cls == H5T_INTEGER) {
    PRSVD_ALLOC(v, cells);
    H5_TRY(H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), PRSVD_ERR_INPUT, "cannot read '%s' of '%s'",
           path, file);
  } else {
    PRSVD_FAIL(PRSVD_ERR_INPUT, "--rows-where %s: the column is %s, not boolean (bool, or integers 0 and 1)", spec,
               cls == H5T_FLOAT ? "floating-point" : cls == H5T_STRING ? "a string column" : "not a number");
  }
count:
  *selected = 0;
  for (int64_t i = 0; i < cells; i++) {
    if (v[i] != 0 && v[i] != 1)
      PRSVD_FAIL(PRSVD_ERR_INPUT, "--rows-where %s: cell %lld is %lld: the column must hold only 0 and 1 (or False "
                 "and True)", spec, (long long)i, (long long)v[i]);
    mask[i] = (unsigned char)v[i];
    *selected += v[i];
  }
  if (*selected == 0)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "--rows-where %s selects no cell of the %lld", spec_in, (long long)cells);
done:
  free(v);
  if (mtype >= 0) H5Tclose(mtype);
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  if (d >= 0) H5Dclose(d);
  if (f >= 0) H5Fclose(f);
  return status;
}

int prsvd_h5_anndata_mask(MPI_Comm comm, const char *file, const char *column, int64_t cells, unsigned char **mask,
                          int64_t *selected) {
  int status = PRSVD_OK, rank;
  *mask = NULL;
  *selected = 0;
  MPI_Comm_rank(comm, &rank);
  if (cells > INT32_MAX) PRSVD_ERR(PRSVD_ERR_INPUT, "--rows-where: %lld cells, more than 2^31 - 1", (long long)cells);
  *mask = calloc((size_t)cells, 1);
  if (!*mask) status = prsvd_error_set(PRSVD_ERR_NOMEM, __FILE__, __LINE__, __func__, "out of memory for a mask");
  if (!status && rank == 0) status = read_mask(file, column, cells, *mask, selected);
  status = prsvd_error_agree(comm, status);
  if (!status) {
    MPI_Bcast(*mask, (int)cells, MPI_UNSIGNED_CHAR, 0, comm);
    MPI_Bcast(selected, 1, MPI_INT64_T, 0, comm);
  } else {
    free(*mask);
    *mask = NULL;
  }
  return status;
}
