/* HDF5 conventions written once: error silencing, MPI-IO access lists, path checks. */
#include "h5util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "paths.h"
#include "prsvd_h5.h"

static int show_stack;

void prsvd_h5_init(int debug) {
  show_stack = debug;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void prsvd_h5_show_stack(void) {
  if (show_stack) H5Eprint2(H5E_DEFAULT, stderr);
}

const char *prsvd_h5_version(void) {
  static char buf[32];
  unsigned maj, min, rel;
  H5get_libversion(&maj, &min, &rel);
  snprintf(buf, sizeof buf, "HDF5 %u.%u.%u", maj, min, rel);
  return buf;
}

void prsvd_h5_before_mpi_init(void) {
  /* Open MPI 4.1's OMPIO queries its shared-file-pointer components at every MPI_File_open,
   * and lockedfile's query overflows a fixed buffer for a path of 238 bytes or more ("buffer
   * overflow detected", SIGABRT).  prsvd uses no shared file pointer: leave that component out
   * unless the user chose the components.  Other MPIs ignore the variable. */
  setenv("OMPI_MCA_sharedfp", "^lockedfile", 0);
}

static MPI_Info hints = MPI_INFO_NULL;

int prsvd_h5_set_mpiio_hints(int n_hints, const char *const *list) {
  char key[MPI_MAX_INFO_KEY + 1];
  if (hints != MPI_INFO_NULL) MPI_Info_free(&hints);
  for (int i = 0; i < n_hints; i++) {
    const char *eq = strchr(list[i], '=');
    if (!eq || eq == list[i] || !eq[1] || eq - list[i] > MPI_MAX_INFO_KEY || strlen(eq + 1) > MPI_MAX_INFO_VAL)
      PRSVD_ERR(PRSVD_ERR_USAGE, "bad --mpiio-hint '%s': expected KEY=VALUE (e.g. striping_factor=16)", list[i]);
    snprintf(key, sizeof key, "%.*s", (int)(eq - list[i]), list[i]);
    if (hints == MPI_INFO_NULL) PRSVD_MPI(MPI_Info_create(&hints));
    PRSVD_MPI(MPI_Info_set(hints, key, eq + 1));
  }
  return PRSVD_OK;
}

hid_t prsvd_h5_fapl(MPI_Comm comm) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl >= 0 && H5Pset_fapl_mpio(fapl, comm, hints) < 0) {
    H5Pclose(fapl);
    return -1;
  }
  return fapl;
}

int prsvd_h5_parse_spec(const char *spec, char **file, char **dataset) {
  const char *sep = NULL;
  *file = *dataset = NULL;
  for (const char *p = spec; *p; p++)
    if (p[0] == ':' && p[1] == '/') sep = p;
  if (!sep || sep == spec || !sep[2])
    PRSVD_ERR(PRSVD_ERR_INPUT, "malformed input '%s': expected FILE:/path/to/dataset", spec);
  *file = strndup(spec, (size_t)(sep - spec));
  *dataset = strdup(sep + 1);
  if (!*file || !*dataset) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory parsing '%s'", spec);
  return PRSVD_OK;
}

int prsvd_h5_open_ro(const char *file, hid_t fapl, const char *what, hid_t *out) {
  *out = -1;
  PRSVD_CHECK(prsvd_path_check_input(file, what));
  const int hdf5 = H5Fis_hdf5(file) > 0; /* reads the superblock: once */
  if (!hdf5 && prsvd_nc_classic(file))
    PRSVD_ERR(PRSVD_ERR_INPUT, "%s '%s' is a NetCDF-3 file, not HDF5: convert it with 'nccopy -k nc4 %s OUT.nc'",
              what, file, file);
  if (!hdf5)
    PRSVD_ERR(PRSVD_ERR_INPUT, "%s '%s' is not an HDF5 file (or it is truncated or corrupt)", what, file);
  if ((*out = H5Fopen(file, H5F_ACC_RDONLY, fapl)) < 0) {
    prsvd_h5_show_stack();
    /* HDF5 locks a file it writes (flock): say so rather than suspect the file */
    const int fd = open(file, O_RDONLY | O_CLOEXEC);
    const int locked = fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    if (fd >= 0) close(fd);
    if (locked)
      PRSVD_ERR(PRSVD_ERR_INPUT, "cannot open HDF5 file '%s': another program has it open for writing (HDF5's file "
                "lock); close it there first", file);
    PRSVD_ERR(PRSVD_ERR_INPUT, "cannot open HDF5 file '%s' (truncated or corrupt?)", file);
  }
  prsvd_h5_note_read(file);
  return PRSVD_OK;
}

hid_t prsvd_h5_probe_ro(const char *file) {
  struct stat st;
  if (stat(file, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
  return H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
}

int prsvd_h5_find_dataset(hid_t file, const char *fname, const char *path) {
  char *buf = strdup(path);
  int status = PRSVD_OK;
  if (!buf) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory");
  /* each prefix must exist, or H5Lexists fails on the next one */
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (H5Lexists(file, buf, H5P_DEFAULT) <= 0)
        PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' has no dataset '%s' ('%s' does not exist)", fname, path, buf);
      *p = c;
      if (!c) break;
    }
  }
  H5O_info_t oi;
  H5_TRY(H5Oget_info_by_name(file, path, &oi, H5P_DEFAULT), PRSVD_ERR_INPUT,
         "cannot inspect '%s' in '%s'", path, fname);
  if (oi.type != H5O_TYPE_DATASET)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' in '%s' is a %s, not a dataset", path, fname,
               oi.type == H5O_TYPE_GROUP ? "group" : "named type");
done:
  free(buf);
  return status;
}

void prsvd_h5_string_attr(hid_t obj, const char *name, char *out, size_t len) {
  out[0] = '\0';
  if (H5Aexists(obj, name) <= 0) return;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = H5Aget_type(a), sp = H5Aget_space(a);
  /* one string: an array of them would overrun the one-element buffers below */
  if (H5Tget_class(t) == H5T_STRING && H5Sget_simple_extent_npoints(sp) == 1) {
    if (H5Tis_variable_str(t) > 0) {
      char *v = NULL;
      hid_t mt = H5Tcopy(H5T_C_S1);
      H5Tset_size(mt, H5T_VARIABLE);
      H5Tset_cset(mt, H5Tget_cset(t)); /* h5py writes UTF-8 */
      if (H5Aread(a, mt, &v) >= 0 && v) snprintf(out, len, "%s", v);
      H5free_memory(v);
      H5Tclose(mt);
    } else {
      size_t sz = H5Tget_size(t);
      char *v = calloc(sz + 1, 1);
      if (v && H5Aread(a, t, v) >= 0) snprintf(out, len, "%s", v);
      free(v);
    }
  }
  H5Sclose(sp);
  H5Tclose(t);
  H5Aclose(a);
}

/* What keeps HDF5 from converting a number type read from a file to float64 and float32 (0:
 * nothing).  A file can defeat the conversion: a float of size 0 read as zeros, one with 64
 * bits of precision in 4 bytes as garbage, one without an exponent as NaN, one of 4 GiB an
 * element failed to read.  So its size must be 1 to 16 bytes (a long double), its bits inside
 * it, a float's sign, exponent and mantissa inside its precision without overlapping (what
 * H5Tset_fields would have required of it), and HDF5 must have a conversion path. */
enum { CONVERTS = 0, BAD_PRECISION, BAD_FIELDS, NO_PATH };
static int unconvertible(hid_t type) {
  const size_t size = H5Tget_size(type), prec = H5Tget_precision(type);
  const int offset = H5Tget_offset(type);
  H5T_cdata_t *cdata;
  if (size == 0 || size > 16 || prec == 0 || offset < 0 || (size_t)offset + prec > 8 * size) return BAD_PRECISION;
  if (H5Tget_class(type) == H5T_FLOAT) {
    size_t spos, epos, esize, mpos, msize;
    if (H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) < 0 || esize == 0 || msize == 0 ||
        spos >= prec || epos + esize > prec || mpos + msize > prec || (spos >= epos && spos < epos + esize) ||
        (spos >= mpos && spos < mpos + msize) || (mpos < epos + esize && epos < mpos + msize))
      return BAD_FIELDS;
  }
  if (!H5Tfind(type, H5T_NATIVE_DOUBLE, &cdata) || !H5Tfind(type, H5T_NATIVE_FLOAT, &cdata)) return NO_PATH;
  return CONVERTS;
}

int prsvd_h5_number_type(hid_t type, const char *what, char *out, size_t len) {
  const size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
  case H5T_FLOAT: snprintf(out, len, "float%zu", 8 * size); break;
  case H5T_INTEGER:
    snprintf(out, len, "%sint%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", 8 * size);
    break;
  case H5T_STRING: snprintf(out, len, "string"); goto unsupported;
  case H5T_COMPOUND: snprintf(out, len, "compound"); goto unsupported;
  case H5T_ENUM: snprintf(out, len, "enum"); goto unsupported;
  case H5T_ARRAY: snprintf(out, len, "array"); goto unsupported;
  case H5T_VLEN: snprintf(out, len, "variable-length"); goto unsupported;
  case H5T_OPAQUE: snprintf(out, len, "opaque"); goto unsupported;
  case H5T_BITFIELD: snprintf(out, len, "bitfield"); goto unsupported;
  case H5T_REFERENCE: snprintf(out, len, "reference"); goto unsupported;
  default: snprintf(out, len, "unknown"); goto unsupported;
  }
  const int why = unconvertible(type);
  if (why) {
    size_t spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0;
    H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize);
    if (why == BAD_PRECISION)
      PRSVD_ERR(PRSVD_ERR_INPUT, "%s has a malformed %s type: %zu bits of precision at bit %d of its %zu bytes; "
                "HDF5 cannot convert it to float64", what, out, H5Tget_precision(type), H5Tget_offset(type), size);
    if (why == BAD_FIELDS)
      PRSVD_ERR(PRSVD_ERR_INPUT, "%s has a malformed %s type: sign bit %zu, exponent bits [%zu, %zu), mantissa "
                "bits [%zu, %zu) of %zu bits of precision; HDF5 cannot convert it to float64", what, out, spos, epos,
                epos + esize, mpos, mpos + msize, H5Tget_precision(type));
    PRSVD_ERR(PRSVD_ERR_INPUT, "%s has %s type, which HDF5 cannot convert to float64", what, out);
  }
  return PRSVD_OK;
unsupported:
  PRSVD_ERR(PRSVD_ERR_INPUT, "%s has %s type: only integer and float matrices are supported", what, out);
}

int prsvd_file_stamp(const char *path, struct prsvd_file_stamp *st) {
  struct stat sb;
  if (stat(path, &sb) != 0) PRSVD_ERR(PRSVD_ERR_INPUT, "cannot stat '%s': %s", path, strerror(errno));
  st->size = (long long)sb.st_size;
  st->mtime = (long long)sb.st_mtim.tv_sec;
  st->mtime_ns = (long long)sb.st_mtim.tv_nsec;
  return PRSVD_OK;
}

int prsvd_file_unchanged(const char *path, const struct prsvd_file_stamp *st, int64_t row0,
                         int64_t nrows) {
  struct prsvd_file_stamp now;
  PRSVD_CHECK(prsvd_file_stamp(path, &now));
  if (now.size != st->size)
    PRSVD_ERR(PRSVD_ERR_INPUT,
              "'%s' changed while it was being read (size %lld, now %lld bytes): stopped at rows [%lld, %lld)",
              path, st->size, now.size, (long long)row0, (long long)(row0 + nrows));
  if (now.mtime != st->mtime || now.mtime_ns != st->mtime_ns)
    PRSVD_ERR(PRSVD_ERR_INPUT,
              "'%s' changed while it was being read (written to, its size unchanged): stopped at rows [%lld, %lld)",
              path, (long long)row0, (long long)(row0 + nrows));
  return PRSVD_OK;
}

/* "gzip(4), shuffle" or "none" */
void prsvd_h5_describe_filters(hid_t dcpl, char *out, size_t len) {
  size_t used = 0;
  const int nf = H5Pget_nfilters(dcpl);
  snprintf(out, len, "none");
  for (int i = 0; i < nf && used < len; i++) {
    unsigned flags, cvals[8];
    size_t nvals = 8;
    char name[32] = "";
    H5Z_filter_t f = H5Pget_filter2(dcpl, (unsigned)i, &flags, &nvals, cvals, sizeof name, name, NULL);
    const char *label = f == H5Z_FILTER_DEFLATE ? "gzip" : f == H5Z_FILTER_SHUFFLE ? "shuffle"
                      : f == H5Z_FILTER_FLETCHER32 ? "fletcher32" : name[0] ? name : "filter";
    if (f == H5Z_FILTER_DEFLATE && nvals > 0)
      used += (size_t)snprintf(out + used, len - used, "%s%s(%u)", i ? ", " : "", label, cvals[0]);
    else
      used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "", label);
  }
}

void prsvd_h5_dimension_scales(hid_t dset, int nd, char *names, size_t name_len, hid_t *scales) {
  hid_t a = -1, t = -1, sp = -1;
  hvl_t *lists = NULL;
  for (int i = 0; i < nd; i++) {
    names[(size_t)i * name_len] = '\0';
    if (scales) scales[i] = -1;
  }
  if (H5Aexists(dset, "DIMENSION_LIST") <= 0) return;
  if ((a = H5Aopen(dset, "DIMENSION_LIST", H5P_DEFAULT)) < 0 || (sp = H5Aget_space(a)) < 0 ||
      H5Sget_simple_extent_npoints(sp) != nd || (t = H5Tvlen_create(H5T_STD_REF_OBJ)) < 0)
    goto done;
  if (!(lists = calloc((size_t)nd, sizeof *lists)) || H5Aread(a, t, lists) < 0) {
    free(lists);
    lists = NULL;
    goto done;
  }
  for (int i = 0; i < nd; i++) {
    if (lists[i].len < 1) continue;
    hobj_ref_t ref = ((hobj_ref_t *)lists[i].p)[0];
    hid_t scale = H5Rdereference2(dset, H5P_DEFAULT, H5R_OBJECT, &ref);
    if (scale < 0) continue;
    char path[1024] = "";
    if (H5Iget_name(scale, path, sizeof path) > 0) {
      const char *base = strrchr(path, '/');
      snprintf(names + (size_t)i * name_len, name_len, "%s", base ? base + 1 : path);
    }
    if (scales && H5Iget_type(scale) == H5I_DATASET) scales[i] = scale;
    else H5Oclose(scale);
  }
  H5Dvlen_reclaim(t, sp, H5P_DEFAULT, lists);
done:
  free(lists);
  if (t >= 0) H5Tclose(t);
  if (sp >= 0) H5Sclose(sp);
  if (a >= 0) H5Aclose(a);
  H5Eclear2(H5E_DEFAULT);
}

/* ---- The files a run reads ------------------------------------------------------------------
 * Every HDF5 file an input reaches, beyond the one named on the command line: the target of an
 * external link, a virtual dataset's sources.  An output or checkpoint is compared with each
 * (io/h5writer.c), so that --force never replaces the file the data actually lives in. */
static char **read_files;
static int n_read_files;

void prsvd_h5_note_read(const char *path) {
  if (!path || !path[0]) return;
  for (int i = 0; i < n_read_files; i++)
    if (!strcmp(read_files[i], path)) return;
  char **grown = realloc(read_files, sizeof *grown * (size_t)(n_read_files + 1));
  if (!grown) return; /* then the check knows one file fewer: the named input is still checked */
  read_files = grown;
  if ((read_files[n_read_files] = strdup(path))) n_read_files++;
}

void prsvd_h5_note_object_file(hid_t obj) {
  hid_t f = H5Iget_file_id(obj);
  if (f < 0) return;
  char name[PATH_MAX];
  if (H5Fget_name(f, name, sizeof name) > 0) prsvd_h5_note_read(name);
  H5Fclose(f);
}

int prsvd_h5_read_files(const char *const **paths) {
  *paths = (const char *const *)read_files;
  return n_read_files;
}
