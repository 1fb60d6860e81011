/*
 * Virtual datasets (HDF5 VDS): a dataset whose blocks map onto datasets of other files, the
 * sources.  HDF5 opens a source only when a read needs it, and reads the block of a source it
 * cannot open, or of a source dataset that is missing or smaller than its mapping, as the
 * fill value, without an error: a moved or deleted file would be decomposed as zeros.  So
 * before any work every mapping's source is looked for where HDF5 looks for it, and one that
 * is missing is an error naming it, unless the run allows missing sources (then it is
 * counted, for a warning).
 *
 * Where HDF5 looks (H5F_prefix_open_file, HDF5 1.10 to 1.14), the first file that opens
 * being the one used: an absolute name as it is; then, with an absolute name's last
 * component, each directory of HDF5_VDS_PREFIX, the prefix of the access list (or the whole
 * HDF5_VDS_PREFIX; "${ORIGIN}" is the virtual dataset's directory), the directory of the
 * virtual dataset's file as it was named, the name as it is (from the working directory),
 * and the directory of the file with its links resolved.  The name "." is the virtual
 * dataset's own file.  Printf-style names ("%b": block numbers of an unlimited mapping)
 * stand for sources that cannot be listed: they are refused like a missing source.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5util.h"
#include "prsvd_h5.h"

/* dir + "/" + name into out (name alone without dir); "" if it does not fit, a name that
 * no file has */
static void join(char *out, size_t len, const char *dir, const char *name) {
  const int n =
      dir[0] ? snprintf(out, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name)
             : snprintf(out, len, "%s", name);
  if (n < 0 || (size_t)n >= len) out[0] = '\0';
}

/* The directory part of path ("." if none) */
static void dirname_of(char *out, size_t len, const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    snprintf(out, len, ".");
  else
    snprintf(out, len, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

/* Try candidate: 1 with *f open if HDF5 would use it; else 0, the first reason kept in why */
static int try_open(const char *candidate, hid_t *f, char *why, size_t len) {
  if (!candidate[0] || access(candidate, F_OK) != 0) return 0;
  if (access(candidate, R_OK) != 0) {
    if (!why[0]) snprintf(why, len, "'%s' is not readable: %s", candidate, strerror(errno));
  } else if (H5Fis_hdf5(candidate) <= 0) {
    if (!why[0]) snprintf(why, len, "'%s' is not an HDF5 file", candidate);
  } else if ((*f = H5Fopen(candidate, H5F_ACC_RDONLY, H5P_DEFAULT)) >= 0) {
    prsvd_h5_note_read(candidate); /* a source the run reads: never an output */
    return 1;
  } else if (!why[0]) {
    snprintf(why, len, "'%s' cannot be opened (truncated or corrupt?)", candidate);
  }
  return 0;
}

/* The source file `name` of the virtual dataset in vds (opened with dapl) as HDF5 finds it:
 * 1 with *f open, else 0 with why saying what was found. */
static int find_source(const char *vds, hid_t dapl, const char *name, hid_t *f, char *why,
                       size_t len) {
  char candidate[PATH_MAX + 256], dir[PATH_MAX], resolved[PATH_MAX], cwd[PATH_MAX],
      prefix[PATH_MAX] = "";
  const char *env = getenv("HDF5_VDS_PREFIX"), *slash = strrchr(name, '/');
  why[0] = '\0';
  if (name[0] == '/') {
    if (try_open(name, f, why, len)) return 1;
    name = slash + 1;
  }
  for (const char *p = env; p && *p;) { /* each directory of HDF5_VDS_PREFIX */
    const size_t l = strcspn(p, ":");
    snprintf(dir, sizeof dir, "%.*s", (int)(l < sizeof dir ? l : sizeof dir - 1), p);
    join(candidate, sizeof candidate, dir, name);
    if (l && try_open(candidate, f, why, len)) return 1;
    p += l + (p[l] == ':');
  }
  /* the virtual dataset's directory, as named (made absolute, as HDF5's extpath) */
  dirname_of(dir, sizeof dir, vds);
  if (vds[0] != '/' && getcwd(cwd, sizeof cwd)) {
    memcpy(resolved, dir, sizeof dir);
    const char *rest = !strcmp(resolved, ".") ? "" : resolved + 2 * !strncmp(resolved, "./", 2);
    join(dir, sizeof dir, cwd, rest);
  }
  if (env && env[0])
    join(prefix, sizeof prefix, "", env);
  else if (H5Pget_virtual_prefix(dapl, prefix, sizeof prefix) < 0)
    prefix[0] = '\0';
  if (!strncmp(prefix, "${ORIGIN}", 9)) {
    join(resolved, sizeof resolved, dir, prefix + 9 + (prefix[9] == '/'));
    memcpy(prefix, resolved, sizeof prefix);
  }
  if (prefix[0] && strcmp(prefix, ".")) {
    join(candidate, sizeof candidate, prefix, name);
    if (try_open(candidate, f, why, len)) return 1;
  }
  join(candidate, sizeof candidate, dir, name);
  if (try_open(candidate, f, why, len) || try_open(name, f, why, len)) return 1;
  if (realpath(vds, resolved)) {
    dirname_of(dir, sizeof dir, resolved);
    join(candidate, sizeof candidate, dir, name);
    if (try_open(candidate, f, why, len)) return 1;
  }
  if (!why[0]) snprintf(why, len, "no such file");
  return 0;
}

/* "%%" in a stored name is "%"; 0 if the name has a printf-style block number ("%b") */
static int unescape(char *s) {
  char *out = s;
  for (const char *p = s; *p; p++) {
    if (p[0] == '%' && p[1] == 'b') return 0;
    *out++ = *p;
    if (p[0] == '%' && p[1] == '%') p++;
  }
  *out = '\0';
  return 1;
}

/* What is wrong with source dataset dname of file f for the selection srcspace ("" if
 * nothing): missing, or smaller than the block it maps.  A selection of all the source
 * (stored without an extent) is compared with the mapped block by HDF5, which fails a read
 * when the counts differ; a hyperslab beyond the source's extent reads as the fill value. */
static void check_source_dataset(hid_t f, const char *dname, hid_t srcspace, const char *sname,
                                 char *why, size_t len) {
  hid_t d = -1, sp = -1;
  hsize_t start[H5S_MAX_RANK], end[H5S_MAX_RANK], dims[H5S_MAX_RANK];
  if (H5Lexists(f, dname, H5P_DEFAULT) <= 0 || (d = H5Dopen2(f, dname, H5P_DEFAULT)) < 0) {
    snprintf(why, len, "'%s' has no dataset '%s'", sname, dname);
    return;
  }
  const int nd = (sp = H5Dget_space(d)) >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
  const hssize_t npoints = H5Sget_select_npoints(srcspace);
  /* an unlimited selection grows with the source: nothing to compare */
  if (H5Sget_select_type(srcspace) == H5S_SEL_HYPERSLABS && npoints >= 0 &&
      (hsize_t)npoints != H5S_UNLIMITED && nd == H5Sget_simple_extent_ndims(srcspace) &&
      H5Sget_select_bounds(srcspace, start, end) >= 0) {
    H5Sget_simple_extent_dims(sp, dims, NULL);
    for (int i = 0; i < nd && !why[0]; i++)
      if (end[i] >= dims[i])
        snprintf(why, len,
                 "'%s' in '%s' has %llu entries along dimension %d, the mapping reads %llu", dname,
                 sname, (unsigned long long)dims[i], i, (unsigned long long)end[i] + 1);
  }
  if (sp >= 0) H5Sclose(sp);
  H5Dclose(d);
}

int prsvd_h5_virtual_sources(hid_t file, hid_t dcpl, hid_t dapl, const char *fname,
                             const char *dname, int allow_missing, struct prsvd_h5_info *info) {
  int status = PRSVD_OK;
  size_t count = 0;
  char *sfile = NULL, *sdset = NULL, why[PATH_MAX + 128];
  hid_t srcspace = -1, f = -1;
  H5_TRY(H5Pget_virtual_count(dcpl, &count), PRSVD_ERR_INPUT,
         "cannot read the mappings of virtual dataset '%s'", dname);
  info->virtual_sources = (int64_t)count;
  for (size_t i = 0; i < count; i++) {
    const ssize_t nf = H5Pget_virtual_filename(dcpl, i, NULL, 0),
                  nd = H5Pget_virtual_dsetname(dcpl, i, NULL, 0);
    if (nf < 0 || nd < 0)
      PRSVD_FAIL(PRSVD_ERR_INPUT, "cannot read mapping %zu of virtual dataset '%s'", i, dname);
    PRSVD_ALLOC(sfile, nf + 1);
    PRSVD_ALLOC(sdset, nd + 1);
    H5Pget_virtual_filename(dcpl, i, sfile, (size_t)nf + 1);
    H5Pget_virtual_dsetname(dcpl, i, sdset, (size_t)nd + 1);
    H5_TRY(srcspace = H5Pget_virtual_srcspace(dcpl, i), PRSVD_ERR_INPUT,
           "cannot read mapping %zu of virtual dataset '%s'", i, dname);
    why[0] = '\0';
    const int same = !strcmp(sfile, ".");
    if (!unescape(sfile) || !unescape(sdset))
      snprintf(why, sizeof why,
               "its names are a printf-style pattern, whose sources prsvd cannot list");
    else if (same || find_source(fname, dapl, sfile, &f, why, sizeof why)) {
      why[0] = '\0'; /* a name tried before the file HDF5 opens is no fault */
      check_source_dataset(same ? file : f, sdset, srcspace, same ? fname : sfile, why, sizeof why);
    }
    if (why[0]) {
      if (!info->missing_sources++)
        snprintf(info->first_missing, sizeof info->first_missing,
                 "source %zu of %zu, dataset '%s' of '%s': %s", i + 1, count, sdset, sfile, why);
      if (!allow_missing)
        PRSVD_FAIL(PRSVD_ERR_INPUT,
                   "virtual dataset '%s' in '%s': %s (its entries would read as the fill value; "
                   "--allow-missing-sources reads them so)",
                   dname, fname, info->first_missing);
    }
    if (f >= 0) H5Fclose(f);
    f = -1;
    H5Sclose(srcspace);
    srcspace = -1;
    free(sfile);
    free(sdset);
    sfile = sdset = NULL;
  }
done:
  if (f >= 0) H5Fclose(f);
  if (srcspace >= 0) H5Sclose(srcspace);
  free(sfile);
  free(sdset);
  return status;
}
