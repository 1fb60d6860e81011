/* Outputs written collectively into a temporary beside the target, renamed into place only
 * when complete: a failed or interrupted run never leaves a half-written file, and never
 * truncates the file it would replace. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5util.h"
#include "prsvd_h5.h"

struct prsvd_h5_writer {
  MPI_Comm comm;
  int rank;
  int output; /* a result for the user, not a checkpoint */
  hid_t file;
  char path[PATH_MAX];   /* the target as named (messages) */
  /* how this rank reaches the temporary and the target: their paths, or the same names under
   * /proc/self/fd/dir_fd when a path would reach PATH_MAX (reach_paths) */
  char temp[PATH_MAX], target[PATH_MAX];
  int dir_fd;
};

struct prsvd_h5_matrix {
  prsvd_h5_writer *w;
  hid_t dset;
  int64_t rows, cols;
  enum prsvd_h5_dtype dtype;
  char name[256];
};

/* Read by a signal handler: written only before/after the file exists. */
static char pending_temp[PATH_MAX];

const char *prsvd_h5_pending_temp(void) { return pending_temp[0] ? pending_temp : NULL; }
/* The line a signal handler prints once an output is renamed into place (made here, since
 * the handler may not format). */
static char committed_note[PATH_MAX + 64];
const char *prsvd_h5_committed_note(void) { return committed_note[0] ? committed_note : NULL; }

/* ".NAME.tmp.PID", NAME cut short so that the name fits NAME_MAX. */
static void temp_name(const char *path, char *name, size_t size) {
  char *copy = strdup(path), suffix[32];
  const char *base = copy ? basename(copy) : "output";
  int room;
  snprintf(suffix, sizeof suffix, ".tmp.%ld", (long)getpid());
  room = NAME_MAX - 1 - (int)strlen(suffix);
  snprintf(name, size, ".%.*s%s", room, base, suffix);
  free(copy);
}

/* How this rank reaches the temporary `name` beside w->path, and w->path itself: by their paths,
 * or, where one would reach PATH_MAX (a directory path near the limit), as
 * /proc/self/fd/N/NAME through the directory opened once (Linux), so that every path up to
 * PATH_MAX works. */
static int reach_paths(prsvd_h5_writer *w, const char *name) {
  int status = PRSVD_OK;
  char *c1 = strdup(w->path), *c2 = strdup(w->path);
  if (!c1 || !c2) PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory");
  const char *dir = dirname(c1), *base = basename(c2);
  if (snprintf(w->temp, sizeof w->temp, "%s/%s", dir, name) < (int)sizeof w->temp) {
    snprintf(w->target, sizeof w->target, "%s", w->path);
  } else {
    w->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dir_fd < 0)
      PRSVD_FAIL(PRSVD_ERR_OUTPUT, "cannot open output directory '%s': %s", dir, strerror(errno));
    snprintf(w->temp, sizeof w->temp, "/proc/self/fd/%d/%s", w->dir_fd, name);
    snprintf(w->target, sizeof w->target, "/proc/self/fd/%d/%s", w->dir_fd, base);
  }
done:
  free(c1);
  free(c2);
  return status;
}

/* Free a writer whose temporary is gone or renamed. */
static void writer_free(prsvd_h5_writer *w) {
  pending_temp[0] = '\0'; /* before the directory closes: it may name it */
  if (w->dir_fd >= 0) close(w->dir_fd);
  free(w);
}

static int check_output_local(const char *path, int force) {
  struct stat st;
  char *copy = strdup(path);
  int status = PRSVD_OK;
  if (!copy) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory");
  const char *dir = dirname(copy);
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode)) PRSVD_FAIL(PRSVD_ERR_OUTPUT, "output '%s' is a directory", path);
    if (!force) PRSVD_FAIL(PRSVD_ERR_OUTPUT, "output '%s' exists (use --force to replace it)", path);
  }
  if (stat(dir, &st) != 0)
    PRSVD_FAIL(PRSVD_ERR_OUTPUT, "output directory '%s' does not exist", dir);
  if (!S_ISDIR(st.st_mode)) PRSVD_FAIL(PRSVD_ERR_OUTPUT, "output directory '%s' is not a directory", dir);
  if (access(dir, W_OK | X_OK) != 0)
    PRSVD_FAIL(PRSVD_ERR_OUTPUT, "cannot write to output directory '%s': %s", dir, strerror(errno));
done:
  free(copy);
  return status;
}

int prsvd_h5_check_output(MPI_Comm comm, const char *path, int force) {
  int rank, status = PRSVD_OK;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) status = check_output_local(path, force);
  return prsvd_error_agree(comm, status);
}

int prsvd_h5_writer_create(MPI_Comm comm, const char *path, int force, prsvd_h5_writer **out) {
  *out = NULL;
  PRSVD_CHECK(prsvd_h5_check_output(comm, path, force));
  PRSVD_CHECK(prsvd_h5_writer_create_temp(comm, path, out));
  (*out)->output = 1;
  return PRSVD_OK;
}

int prsvd_h5_writer_create_temp(MPI_Comm comm, const char *path, prsvd_h5_writer **out) {
  int status = PRSVD_OK;
  prsvd_h5_writer *w = NULL;
  hid_t fapl = -1;
  char name[NAME_MAX + 1] = "";
  *out = NULL;
  PRSVD_ALLOC(w, 1);
  w->comm = comm;
  w->file = -1;
  w->dir_fd = -1;
  MPI_Comm_rank(comm, &w->rank);
  if (strlen(path) >= sizeof w->path) /* the same on every rank: no rank goes on alone */
    PRSVD_FAIL(PRSVD_ERR_OUTPUT, "path too long (%zu bytes; PATH_MAX is %d): '%s'", strlen(path), PATH_MAX, path);
  snprintf(w->path, sizeof w->path, "%s", path);
  if (w->rank == 0) temp_name(path, name, sizeof name); /* rank 0's pid names it */
  MPI_Bcast(name, sizeof name, MPI_CHAR, 0, comm);
  PRSVD_TRY(prsvd_error_agree(comm, reach_paths(w, name))); /* every rank creates it, or none */
  memcpy(pending_temp, w->temp, sizeof pending_temp);
  H5_TRY(fapl = prsvd_h5_fapl(comm), PRSVD_ERR_OUTPUT, "cannot set up MPI-IO access");
  /* the 1.8 format stores large attributes (a planted spectrum) densely */
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  w->file = H5Fcreate(w->temp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (w->file < 0) {
    prsvd_h5_show_stack();
    PRSVD_FAIL(PRSVD_ERR_OUTPUT, "cannot create '%s' (for '%s')", w->temp, path);
  }
done:
  if (fapl >= 0) H5Pclose(fapl);
  status = prsvd_error_agree(comm, status);
  if (status) prsvd_h5_writer_abort(&w);
  *out = w;
  return status;
}

static int writer_close(prsvd_h5_writer *w) {
  int status = PRSVD_OK;
  if (w->file >= 0) {
    H5Fflush(w->file, H5F_SCOPE_GLOBAL);
    if (H5Fclose(w->file) < 0) {
      prsvd_h5_show_stack();
      status = prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__,
                               "cannot finish writing '%s' (disk full?)", w->temp);
    }
    w->file = -1;
  }
  return status;
}

void prsvd_h5_writer_abort(prsvd_h5_writer **w) {
  if (!w || !*w) return;
  writer_close(*w);
  MPI_Barrier((*w)->comm);
  if ((*w)->rank == 0 && (*w)->temp[0]) unlink((*w)->temp);
  writer_free(*w);
  *w = NULL;
}

/* Tests (README, "Tests"): PRSVD_TEST_SIGTERM_AT_WRITE=commit raises SIGTERM on every rank
 * just after an output is renamed into place, before the run's last steps. */
static void test_sigterm_at_commit(const prsvd_h5_writer *w) {
  const char *at = getenv("PRSVD_TEST_SIGTERM_AT_WRITE");
  if (w->output && at && strcmp(at, "commit") == 0) raise(SIGTERM);
}

int prsvd_h5_writer_commit(prsvd_h5_writer **wp) {
  prsvd_h5_writer *w = *wp;
  int status = writer_close(w);
  status = prsvd_error_agree(w->comm, status);
  if (!status && w->rank == 0) {
    if (rename(w->temp, w->target) != 0)
      status = prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__,
                               "cannot rename '%s' to '%s': %s", w->temp, w->path, strerror(errno));
    else if (w->output) { /* from here on a signal must not say "no output written" */
      snprintf(committed_note, sizeof committed_note, "prsvd: interrupted: '%s' was written in full\n", w->path);
      pending_temp[0] = '\0';
    }
  }
  status = prsvd_error_agree(w->comm, status);
  if (status) {
    prsvd_h5_writer_abort(wp);
    return status;
  }
  if (w->output) snprintf(committed_note, sizeof committed_note, "prsvd: interrupted: '%s' was written in full\n", w->path);
  pending_temp[0] = '\0';
  test_sigterm_at_commit(w);
  writer_free(w);
  *wp = NULL;
  return PRSVD_OK;
}

int prsvd_h5_matrix_create(prsvd_h5_writer *w, const char *name, int64_t rows, int64_t cols,
                           enum prsvd_h5_dtype dtype, int64_t chunk_rows, int64_t chunk_cols,
                           int gzip, prsvd_h5_matrix **out) {
  int status = PRSVD_OK;
  prsvd_h5_matrix *m = NULL;
  hid_t space = -1, dcpl = -1, lcpl = -1;
  hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
  *out = NULL;
  PRSVD_ALLOC(m, 1);
  m->w = w;
  m->rows = rows;
  m->cols = cols;
  m->dtype = dtype;
  snprintf(m->name, sizeof m->name, "%s", name);
  H5_TRY(space = H5Screate_simple(2, dims, NULL), PRSVD_ERR_OUTPUT, "cannot create a dataspace");
  H5_TRY(dcpl = H5Pcreate(H5P_DATASET_CREATE), PRSVD_ERR_OUTPUT, "cannot create a property list");
  if (chunk_rows > 0) {
    hsize_t cd[2] = {(hsize_t)(chunk_rows < rows ? chunk_rows : rows),
                     (hsize_t)(chunk_cols > 0 && chunk_cols < cols ? chunk_cols : cols)};
    H5_TRY(H5Pset_chunk(dcpl, 2, cd), PRSVD_ERR_OUTPUT, "cannot chunk '%s'", name);
    if (gzip > 0) H5_TRY(H5Pset_deflate(dcpl, (unsigned)gzip), PRSVD_ERR_OUTPUT, "cannot compress '%s'", name);
  } else {
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
  }
  H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
  H5_TRY(lcpl = H5Pcreate(H5P_LINK_CREATE), PRSVD_ERR_OUTPUT, "cannot create a property list");
  H5Pset_create_intermediate_group(lcpl, 1);
  H5_TRY(m->dset = H5Dcreate2(w->file, name,
                              dtype == PRSVD_H5_FLOAT32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE, space,
                              lcpl, dcpl, H5P_DEFAULT),
         PRSVD_ERR_OUTPUT, "cannot create dataset '%s' in '%s'", name, w->temp);
  *out = m;
  m = NULL;
done:
  if (space >= 0) H5Sclose(space);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (lcpl >= 0) H5Pclose(lcpl);
  free(m);
  return prsvd_error_agree(w->comm, status);
}

/* Tests interrupt an output's write at an exact point instead of racing a signal (README,
 * "Tests"): PRSVD_TEST_SIGTERM_AT_WRITE=N raises SIGTERM on every rank once the N-th
 * collective dataset write into an output's temporary is done. */
static void test_sigterm_at_write(const prsvd_h5_writer *w) {
  static long writes;
  const char *at = getenv("PRSVD_TEST_SIGTERM_AT_WRITE");
  if (w->output && at && atol(at) == ++writes) raise(SIGTERM);
}

int prsvd_h5_matrix_write(prsvd_h5_matrix *m, int64_t row0, int64_t nrows, const double *rows) {
  int status = PRSVD_OK;
  hid_t fspace = -1, mspace = -1, dxpl = -1;
  hsize_t start[2] = {(hsize_t)row0, 0}, count[2] = {(hsize_t)nrows, (hsize_t)m->cols};
  static const double none = 0.0;
  const void *buf = nrows > 0 ? (const void *)rows : &none;
  float *f32 = NULL;
  hid_t mtype = H5T_NATIVE_DOUBLE;
  if (m->dtype == PRSVD_H5_FLOAT32) {
    /* convert here: a conversion inside HDF5 turns collective I/O independent, which
     * filtered (compressed) datasets refuse */
    PRSVD_ALLOC(f32, nrows * m->cols);
    for (int64_t i = 0; i < nrows * m->cols; i++) f32[i] = (float)rows[i];
    buf = f32;
    mtype = H5T_NATIVE_FLOAT;
  }
  H5_TRY(fspace = H5Dget_space(m->dset), PRSVD_ERR_OUTPUT, "cannot get the space of '%s'", m->name);
  H5_TRY(mspace = H5Screate_simple(2, count, NULL), PRSVD_ERR_OUTPUT, "cannot create a dataspace");
  if (nrows > 0) {
    H5_TRY(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL),
           PRSVD_ERR_OUTPUT, "cannot select rows of '%s'", m->name);
  } else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  H5_TRY(dxpl = H5Pcreate(H5P_DATASET_XFER), PRSVD_ERR_OUTPUT, "cannot create a property list");
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  H5_TRY(H5Dwrite(m->dset, mtype, mspace, fspace, dxpl, buf),
         PRSVD_ERR_OUTPUT, "cannot write rows [%lld, %lld) of '%s' to '%s' (disk full?)",
         (long long)row0, (long long)(row0 + nrows), m->name, m->w->temp);
done:
  if (fspace >= 0) H5Sclose(fspace);
  if (mspace >= 0) H5Sclose(mspace);
  if (dxpl >= 0) H5Pclose(dxpl);
  free(f32);
  status = prsvd_error_agree(m->w->comm, status);
  if (!status) test_sigterm_at_write(m->w);
  return status;
}

int prsvd_h5_matrix_write_colmajor(prsvd_h5_matrix *m, int64_t row0, int64_t nrows,
                                   const double *data, int64_t ld) {
  double *buf = malloc(sizeof(double) * (size_t)(nrows > 0 ? nrows * m->cols : 1));
  int status = buf ? PRSVD_OK
                   : prsvd_error_set(PRSVD_ERR_NOMEM, __FILE__, __LINE__, __func__,
                                     "out of memory transposing '%s'", m->name);
  status = prsvd_error_agree(m->w->comm, status);
  if (status) {
    free(buf);
    return status;
  }
  for (int64_t i = 0; i < nrows; i++)
    for (int64_t j = 0; j < m->cols; j++) buf[i * m->cols + j] = data[j * ld + i];
  status = prsvd_h5_matrix_write(m, row0, nrows, buf);
  free(buf);
  return status;
}

void prsvd_h5_matrix_close(prsvd_h5_matrix **m) {
  if (!m || !*m) return;
  H5Dclose((*m)->dset);
  free(*m);
  *m = NULL;
}

int prsvd_h5_write_vector(prsvd_h5_writer *w, const char *name, int64_t n, const double *x) {
  int status = PRSVD_OK;
  hid_t space = -1, dset = -1, dxpl = -1, lcpl = -1;
  hsize_t dims[1] = {(hsize_t)n};
  H5_TRY(space = H5Screate_simple(1, dims, NULL), PRSVD_ERR_OUTPUT, "cannot create a dataspace");
  H5_TRY(lcpl = H5Pcreate(H5P_LINK_CREATE), PRSVD_ERR_OUTPUT, "cannot create a property list");
  H5Pset_create_intermediate_group(lcpl, 1);
  H5_TRY(dset = H5Dcreate2(w->file, name, H5T_IEEE_F64LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT),
         PRSVD_ERR_OUTPUT, "cannot create dataset '%s' in '%s'", name, w->temp);
  H5_TRY(dxpl = H5Pcreate(H5P_DATASET_XFER), PRSVD_ERR_OUTPUT, "cannot create a property list");
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  if (w->rank != 0) H5Sselect_none(space);
  H5_TRY(H5Dwrite(dset, H5T_NATIVE_DOUBLE, space, space, dxpl, x), PRSVD_ERR_OUTPUT,
         "cannot write '%s' to '%s' (disk full?)", name, w->temp);
done:
  if (space >= 0) H5Sclose(space);
  if (dset >= 0) H5Dclose(dset);
  if (dxpl >= 0) H5Pclose(dxpl);
  if (lcpl >= 0) H5Pclose(lcpl);
  return prsvd_error_agree(w->comm, status);
}

static int write_attr(prsvd_h5_writer *w, const char *obj, const char *name, hid_t type,
                      int64_t n, const void *v) {
  int status = PRSVD_OK;
  hid_t o = -1, space = -1, attr = -1;
  hsize_t dims[1] = {(hsize_t)n};
  H5_TRY(o = H5Oopen(w->file, obj, H5P_DEFAULT), PRSVD_ERR_OUTPUT, "cannot open '%s'", obj);
  H5_TRY(space = n < 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL), PRSVD_ERR_OUTPUT,
         "cannot create a dataspace");
  H5_TRY(attr = H5Acreate2(o, name, type, space, H5P_DEFAULT, H5P_DEFAULT), PRSVD_ERR_OUTPUT,
         "cannot create attribute '%s'", name);
  H5_TRY(H5Awrite(attr, type, v), PRSVD_ERR_OUTPUT, "cannot write attribute '%s'", name);
done:
  if (attr >= 0) H5Aclose(attr);
  if (space >= 0) H5Sclose(space);
  if (o >= 0) H5Oclose(o);
  return prsvd_error_agree(w->comm, status);
}

int prsvd_h5_attr_string(prsvd_h5_writer *w, const char *obj, const char *name, const char *v) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  int status = write_attr(w, obj, name, type, -1, &v);
  H5Tclose(type);
  return status;
}

int prsvd_h5_attr_int(prsvd_h5_writer *w, const char *obj, const char *name, int64_t v) {
  return write_attr(w, obj, name, H5T_NATIVE_INT64, -1, &v);
}

int prsvd_h5_attr_double(prsvd_h5_writer *w, const char *obj, const char *name, double v) {
  return write_attr(w, obj, name, H5T_NATIVE_DOUBLE, -1, &v);
}

int prsvd_h5_attr_doubles(prsvd_h5_writer *w, const char *obj, const char *name, int64_t n,
                          const double *v) {
  return write_attr(w, obj, name, H5T_NATIVE_DOUBLE, n, v);
}
