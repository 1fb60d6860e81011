/*
 * Checkpoint files: the state of a solve (struct prsvd_state) saved collectively into an
 * HDF5 file, atomically (temporary + rename), with the identity of the input and the
 * options, so that a resume with another input, other options or another number of ranks is
 * refused with a message saying what differs.
 *
 * Nothing in a checkpoint is trusted before it verifies.  Every dataset carries a checksum of
 * its values (attribute "checksum"), and the root one of the scalars.  A resume checks each
 * scalar's type and range, lets the solver say whether the state is one it passes through
 * (struct prsvd_state.check: phase, pass, passes_done, the cursor), checks each dataset's
 * shape and type against what the solver expects, then the checksums.  A checkpoint that
 * fails is refused (PRSVD_ERR_INPUT) naming its path and what is wrong; it is only read.
 *
 * Checksum of an array: the sum mod 2^64 over its entries of mix(bits ^ key(i)), i the
 * entry's row-major position.  A sum, so each rank adds up its own rows and any number of
 * ranks gives the same value; mix (murmur3's 64-bit finaliser) and key are bijections, so one
 * changed entry always changes the sum, and more than one, or a moved one, almost surely.
 * Unlike HDF5's fletcher32 filter it needs no chunking (the contiguous datasets and their
 * collective writes stay as they are), it is 64 bits, it covers the values whatever rewrote
 * them (an in-place write through HDF5 recomputes a fletcher32), and it covers the scalars.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5util.h"
#include "prsvd_h5.h"

#define FORMAT "prsvd-checkpoint-2"
#define CHECKSUM "checksum"

struct ckpt_ctx {
  char path[4096];
  char identity[8192]; /* "key=value;..." of the input and options */
};

static int input_identity(const struct prsvd_h5_checkpoint_spec *s, char *out, size_t len) {
  struct stat st;
  if (stat(s->input_file, &st) != 0)
    PRSVD_ERR(PRSVD_ERR_INPUT, "cannot stat '%s': %s", s->input_file, strerror(errno));
  snprintf(out, len, "input=%s:%s;size=%lld;mtime=%lld;shape=%lldx%lld;dtype=%s;%s", s->input_file,
           s->input_dataset, (long long)st.st_size, (long long)st.st_mtime, (long long)s->rows,
           (long long)s->cols, s->dtype, s->options);
  return PRSVD_OK;
}

/* The first key=value of a that differs from b, as a sentence. */
static void first_difference(const char *a, const char *b, char *out, size_t len) {
  char *ca = strdup(a), *cb = strdup(b), *sa = NULL, *sb = NULL;
  char *ta = strtok_r(ca, ";", &sa), *tb = strtok_r(cb, ";", &sb);
  snprintf(out, len, "it was written for '%s'", a);
  while (ta && tb) {
    if (strcmp(ta, tb)) {
      snprintf(out, len, "it has %s, this run %s", ta, tb);
      break;
    }
    ta = strtok_r(NULL, ";", &sa);
    tb = strtok_r(NULL, ";", &sb);
  }
  free(ca);
  free(cb);
}

/* ---- checksums ---------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

/* An entry's share of a checksum: its bits at row-major position i. */
static uint64_t entry_sum(uint64_t bits, uint64_t i) {
  return mix64(bits ^ ((i + 1) * 0x9e3779b97f4a7c15ULL));
}

/* Rows [row0, row0 + rows) of a matrix of `cols` columns, entry (r, j) at a[r * rs + j * cs]. */
static uint64_t checksum(const double *a, int64_t row0, int64_t rows, int64_t cols, int64_t rs,
                         int64_t cs) {
  uint64_t sum = 0, bits;
  if (cs == 1) { /* row-major: along each row */
    for (int64_t r = 0; r < rows; r++)
      for (int64_t j = 0; j < cols; j++) {
        memcpy(&bits, a + r * rs + j, sizeof bits);
        sum += entry_sum(bits, (uint64_t)((row0 + r) * cols + j));
      }
  } else { /* column-major: down each column */
    for (int64_t j = 0; j < cols; j++)
      for (int64_t r = 0; r < rows; r++) {
        memcpy(&bits, a + r * rs + j * cs, sizeof bits);
        sum += entry_sum(bits, (uint64_t)((row0 + r) * cols + j));
      }
  }
  return sum;
}

/* The root's checksum: the scalars of the state, and the ranks that wrote it. */
static uint64_t scalars_checksum(int64_t nprocs, const struct prsvd_state *st) {
  uint64_t w[5] = {(uint64_t)nprocs, (uint64_t)st->pass, (uint64_t)st->phase,
                   (uint64_t)st->passes_done, 0};
  uint64_t sum = 0;
  memcpy(&w[4], &st->r_rcond, sizeof w[4]);
  for (int i = 0; i < 5; i++) sum += entry_sum(w[i], (uint64_t)i);
  return sum;
}

/* ---- save --------------------------------------------------------------------------- */

static int save(void *vctx, MPI_Comm comm, const struct prsvd_state *st) {
  struct ckpt_ctx *c = vctx;
  int status = PRSVD_OK, rank, nprocs;
  prsvd_h5_writer *w = NULL;
  prsvd_h5_matrix *mat = NULL;
  double *cursor = NULL, mine;
  uint64_t sums[PRSVD_STATE_MAX];
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &nprocs);
  /* sums that took rows not their file's (a panel truncated or changed under its mapping) are
   * kept nowhere, even when the panel's own error still waits on the reader thread */
  if (prsvd_h5map_changed())
    status = prsvd_error_set(PRSVD_ERR_INPUT, __FILE__, __LINE__, __func__,
                             "an input changed while it was being read (truncated under a mapped panel): "
                             "no checkpoint saved");
  PRSVD_CHECK(prsvd_error_agree(comm, status));
  PRSVD_ALLOC(cursor, nprocs);
  mine = (double)st->next_row;
  PRSVD_MPI(MPI_Allgather(&mine, 1, MPI_DOUBLE, cursor, 1, MPI_DOUBLE, comm));
  for (int i = 0; i < st->n_arrays; i++) { /* each rank its rows (a replicated array: rank 0 all) */
    const struct prsvd_state_array *a = &st->arrays[i];
    sums[i] = a->distributed ? checksum(a->data, a->row0, a->local_rows, a->cols, 1, a->ld)
              : rank == 0    ? checksum(a->data, 0, a->rows, a->cols, 1, a->ld)
                             : 0;
  }
  PRSVD_MPI(MPI_Allreduce(MPI_IN_PLACE, sums, st->n_arrays, MPI_UINT64_T, MPI_SUM, comm));
  PRSVD_TRY(prsvd_h5_writer_create_temp(comm, c->path, &w));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "format", FORMAT));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "identity", c->identity));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "nprocs", nprocs));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "pass", st->pass));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "phase", st->phase));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "passes_done", st->passes_done));
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "r_rcond", st->r_rcond));
  PRSVD_TRY(prsvd_h5_attr_uint64(w, "/", CHECKSUM, scalars_checksum(nprocs, st)));
  PRSVD_TRY(prsvd_h5_write_vector(w, "/cursor", nprocs, cursor));
  PRSVD_TRY(prsvd_h5_attr_uint64(w, "/cursor", CHECKSUM, checksum(cursor, 0, nprocs, 1, 1, 1)));
  for (int i = 0; i < st->n_arrays; i++) {
    const struct prsvd_state_array *a = &st->arrays[i];
    char name[64];
    snprintf(name, sizeof name, "/%s", a->name);
    PRSVD_TRY(prsvd_h5_matrix_create(w, name, a->rows, a->cols, PRSVD_H5_FLOAT64, 0, 0, 0, &mat));
    if (a->distributed)
      PRSVD_TRY(prsvd_h5_matrix_write_colmajor(mat, a->row0, a->local_rows, a->data, a->ld));
    else /* replicated: rank 0's copy */
      PRSVD_TRY(prsvd_h5_matrix_write_colmajor(mat, 0, rank == 0 ? a->rows : 0, a->data, a->ld));
    prsvd_h5_matrix_close(&mat);
    PRSVD_TRY(prsvd_h5_attr_uint64(w, name, CHECKSUM, sums[i]));
  }
  PRSVD_TRY(prsvd_h5_writer_commit(&w));
done:
  prsvd_h5_matrix_close(&mat);
  prsvd_h5_writer_abort(&w);
  free(cursor);
  return status;
}

/* ---- load --------------------------------------------------------------------------- */

/* A refusal of the checkpoint at c->path: what is wrong, and the way out. */
#define DAMAGED(...)                                                                        \
  do {                                                                                      \
    char what_[1024];                                                                       \
    snprintf(what_, sizeof what_, __VA_ARGS__);                                             \
    PRSVD_FAIL(PRSVD_ERR_INPUT, "checkpoint '%s' is damaged: %s (delete it to start over)", \
               c->path, what_);                                                             \
  } while (0)

/* A scalar attribute of the root of class cls (integer or float), read as mem; 0 if it is
 * one, else 1 with why. */
static int scalar_attr(hid_t f, const char *name, H5T_class_t cls, hid_t mem, void *v, char *why,
                       size_t len) {
  hid_t a = -1, t = -1, s = -1;
  int bad = 1;
  if (H5Aexists(f, name) <= 0) {
    snprintf(why, len, "it has no attribute '%s'", name);
    return 1;
  }
  if ((a = H5Aopen(f, name, H5P_DEFAULT)) >= 0 && (t = H5Aget_type(a)) >= 0 &&
      (s = H5Aget_space(a)) >= 0) {
    if (H5Tget_class(t) != cls || H5Sget_simple_extent_npoints(s) != 1)
      snprintf(why, len, "attribute '%s' is not a single %s", name,
               cls == H5T_INTEGER ? "integer" : "float");
    else if (H5Aread(a, mem, v) < 0)
      snprintf(why, len, "cannot read attribute '%s'", name);
    else
      bad = 0;
  } else {
    snprintf(why, len, "cannot open attribute '%s'", name);
  }
  if (s >= 0) H5Sclose(s);
  if (t >= 0) H5Tclose(t);
  if (a >= 0) H5Aclose(a);
  return bad;
}

/* An int attribute of the root, 0 <= v <= INT_MAX. */
static int count_attr(hid_t f, const char *name, int *v, char *why, size_t len) {
  int64_t x;
  if (scalar_attr(f, name, H5T_INTEGER, H5T_NATIVE_INT64, &x, why, len)) return 1;
  if (x < 0 || x > INT_MAX) {
    snprintf(why, len, "%s = %lld is %s", name, (long long)x, x < 0 ? "negative" : "too large");
    return 1;
  }
  *v = (int)x;
  return 0;
}

/* Dataset `name` of f as the state needs it: float64, of dims[0] (x dims[1] when ndims 2),
 * with a checksum (in *sum); 0 if so, else 1 with why. */
static int check_dataset(hid_t f, const char *name, int ndims, const int64_t *dims, uint64_t *sum,
                         char *why, size_t len) {
  hid_t d = -1, t = -1, s = -1, a = -1;
  hsize_t have[2] = {0, 0};
  int bad = 1, nd;
  if (H5Lexists(f, name, H5P_DEFAULT) <= 0 || (d = H5Dopen2(f, name, H5P_DEFAULT)) < 0) {
    snprintf(why, len, "it has no dataset '%s'", name);
    return 1;
  }
  if ((t = H5Dget_type(d)) < 0 || (s = H5Dget_space(d)) < 0) {
    snprintf(why, len, "cannot read the type and shape of dataset '%s'", name);
  } else if (H5Tget_class(t) != H5T_FLOAT || H5Tget_size(t) != 8) {
    snprintf(why, len, "dataset '%s' is not float64", name);
  } else if ((nd = H5Sget_simple_extent_ndims(s)) != ndims ||
             H5Sget_simple_extent_dims(s, have, NULL) < 0 || have[0] != (hsize_t)dims[0] ||
             (ndims == 2 && have[1] != (hsize_t)dims[1])) {
    if (ndims == 2 && nd == 2)
      snprintf(why, len, "dataset '%s' is %llu x %llu, this run expects %lld x %lld", name,
               (unsigned long long)have[0], (unsigned long long)have[1], (long long)dims[0],
               (long long)dims[1]);
    else if (ndims == 1 && nd == 1)
      snprintf(why, len, "dataset '%s' has %llu entries, this run expects %lld", name,
               (unsigned long long)have[0], (long long)dims[0]);
    else
      snprintf(why, len, "dataset '%s' has %d dimensions, this run expects %d", name, nd, ndims);
  } else if (H5Aexists(d, CHECKSUM) <= 0 || (a = H5Aopen(d, CHECKSUM, H5P_DEFAULT)) < 0 ||
             H5Aread(a, H5T_NATIVE_UINT64, sum) < 0) {
    snprintf(why, len, "dataset '%s' has no checksum", name);
  } else {
    bad = 0;
  }
  if (a >= 0) H5Aclose(a);
  if (s >= 0) H5Sclose(s);
  if (t >= 0) H5Tclose(t);
  H5Dclose(d);
  return bad;
}

/* Rank-local: everything but the arrays' values, checked against this run and the solver
 * (st->check); the arrays' checksums into sums. */
static int load_header(struct ckpt_ctx *c, hid_t f, int rank, int nprocs, struct prsvd_state *st,
                       uint64_t *sums) {
  int status = PRSVD_OK, v;
  char format[64], identity[8192], diff[9000], why[512];
  double *cursor = NULL;
  hid_t d = -1;
  uint64_t sum, n;
  int64_t dims[2];
  if (H5Aexists(f, "format") <= 0)
    PRSVD_FAIL(PRSVD_ERR_INPUT,
               "checkpoint '%s' is damaged, or not a prsvd checkpoint: it has no attribute "
               "'format' (if it is a checkpoint, delete it to start over; if not, give another "
               "checkpoint path)",
               c->path);
  prsvd_h5_string_attr(f, "format", format, sizeof format);
  if (strcmp(format, FORMAT))
    PRSVD_FAIL(PRSVD_ERR_INPUT,
               "checkpoint '%s' is not a prsvd checkpoint of this version (format '%s', this "
               "prsvd reads '%s'): delete it to start over",
               c->path, format, FORMAT);
  if (H5Aexists(f, "identity") <= 0) DAMAGED("it has no attribute 'identity'");
  prsvd_h5_string_attr(f, "identity", identity, sizeof identity);
  if (strcmp(identity, c->identity)) {
    first_difference(identity, c->identity, diff, sizeof diff);
    PRSVD_FAIL(PRSVD_ERR_INPUT,
               "checkpoint '%s' does not match this run: %s (delete it to start over)", c->path,
               diff);
  }
  if (count_attr(f, "nprocs", &v, why, sizeof why)) DAMAGED("%s", why);
  if (v < 1) DAMAGED("nprocs = %d is not a number of ranks", v);
  if (v != nprocs)
    PRSVD_FAIL(PRSVD_ERR_INPUT,
               "checkpoint '%s' was written by %d ranks, this run has %d: resume with mpirun -n %d",
               c->path, v, nprocs, v);
  if (count_attr(f, "pass", &st->pass, why, sizeof why) ||
      count_attr(f, "phase", &st->phase, why, sizeof why) ||
      count_attr(f, "passes_done", &st->passes_done, why, sizeof why) ||
      scalar_attr(f, "r_rcond", H5T_FLOAT, H5T_NATIVE_DOUBLE, &st->r_rcond, why, sizeof why))
    DAMAGED("%s", why);
  if (!(st->r_rcond >= 0.0 && st->r_rcond <= 1.0))
    DAMAGED("r_rcond = %g is not a reciprocal condition number, which lies in [0, 1]", st->r_rcond);
  /* the cursor: one row per rank */
  dims[0] = nprocs;
  if (check_dataset(f, "/cursor", 1, dims, &sum, why, sizeof why)) DAMAGED("%s", why);
  PRSVD_ALLOC(cursor, nprocs);
  if ((d = H5Dopen2(f, "/cursor", H5P_DEFAULT)) < 0 ||
      H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, cursor) < 0)
    DAMAGED("cannot read dataset '/cursor'");
  for (int r = 0; r < nprocs; r++)
    if (!(cursor[r] >= 0 && cursor[r] <= 9007199254740992.0 && cursor[r] == floor(cursor[r])))
      DAMAGED("'/cursor'[%d] = %g is not a row number", r, cursor[r]);
  st->next_row = (int64_t)cursor[rank];
  /* the solver's word on the scalars, then their checksums */
  if (st->check && st->check(st, st->check_arg, why, sizeof why)) DAMAGED("%s", why);
  if (scalar_attr(f, CHECKSUM, H5T_INTEGER, H5T_NATIVE_UINT64, &n, why, sizeof why))
    DAMAGED("%s", why);
  if (n != scalars_checksum(nprocs, st))
    DAMAGED(
        "its attributes nprocs, pass, phase, passes_done and r_rcond (%d, %d, %d, %d, %g) "
        "do not match their checksum",
        nprocs, st->pass, st->phase, st->passes_done, st->r_rcond);
  if (sum != checksum(cursor, 0, nprocs, 1, 1, 1))
    DAMAGED("dataset '/cursor' does not match its checksum");
  /* the arrays: shapes and types (their values once read) */
  for (int i = 0; i < st->n_arrays; i++) {
    char name[64];
    snprintf(name, sizeof name, "/%s", st->arrays[i].name);
    dims[0] = st->arrays[i].rows;
    dims[1] = st->arrays[i].cols;
    if (check_dataset(f, name, 2, dims, &sums[i], why, sizeof why)) DAMAGED("%s", why);
  }
done:
  if (d >= 0) H5Dclose(d);
  free(cursor);
  return status;
}

/* Rank-local: rows [row0, row0 + nrows) of dataset name (cols columns) into buf, row-major. */
static int read_rows(hid_t f, const char *name, int64_t row0, int64_t nrows, int64_t cols,
                     double *buf) {
  hid_t d = -1, fs = -1, ms = -1;
  hsize_t start[2] = {(hsize_t)row0, 0}, count[2] = {(hsize_t)nrows, (hsize_t)cols};
  int ok = (d = H5Dopen2(f, name, H5P_DEFAULT)) >= 0 && (fs = H5Dget_space(d)) >= 0 &&
           (ms = H5Screate_simple(2, count, NULL)) >= 0 &&
           H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
           H5Dread(d, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, buf) >= 0;
  if (ms >= 0) H5Sclose(ms);
  if (fs >= 0) H5Sclose(fs);
  if (d >= 0) H5Dclose(d);
  return !ok;
}

/* Rank-local: the arrays' values, this rank's rows of a distributed one (its checksum in got,
 * summed over the ranks by the caller) and all of a replicated one (checked here). */
static int read_arrays(struct ckpt_ctx *c, hid_t f, int rank, struct prsvd_state *st,
                       const uint64_t *want, uint64_t *got) {
  int status = PRSVD_OK;
  double *buf = NULL;
  for (int i = 0; i < st->n_arrays; i++) {
    struct prsvd_state_array *a = &st->arrays[i];
    char name[64];
    snprintf(name, sizeof name, "/%s", a->name);
    const int64_t r0 = a->distributed ? a->row0 : 0, nr = a->distributed ? a->local_rows : a->rows;
    free(buf);
    buf = malloc(sizeof(double) * (size_t)(nr > 0 ? nr * a->cols : 1));
    if (!buf)
      PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory reading '%s' of checkpoint '%s'", name, c->path);
    if (nr > 0 && read_rows(f, name, r0, nr, a->cols, buf))
      DAMAGED("cannot read rows [%lld, %lld) of dataset '%s'", (long long)r0, (long long)(r0 + nr),
              name);
    got[i] = checksum(buf, r0, nr, a->cols, a->cols, 1);
    if (!a->distributed) {
      if (got[i] != want[i]) DAMAGED("dataset '%s' does not match its checksum", name);
      if (rank) got[i] = 0; /* rank 0's counts once in the sum */
    }
    for (int64_t r = 0; r < nr; r++) /* row-major file rows into the column-major array */
      for (int64_t j = 0; j < a->cols; j++) a->data[j * a->ld + r] = buf[r * a->cols + j];
  }
done:
  free(buf);
  return status;
}

static int load(void *vctx, MPI_Comm comm, struct prsvd_state *st, int *found) {
  struct ckpt_ctx *c = vctx;
  int status = PRSVD_OK, rank, nprocs, exists;
  hid_t f = -1;
  uint64_t want[PRSVD_STATE_MAX], got[PRSVD_STATE_MAX];
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &nprocs);
  exists = rank == 0 ? access(c->path, F_OK) == 0 : 0;
  PRSVD_MPI(MPI_Bcast(&exists, 1, MPI_INT, 0, comm));
  *found = 0;
  if (!exists) return PRSVD_OK;
  /* every rank reads on its own, read-only: a refused checkpoint stays as it was */
  f = H5Fopen(c->path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) {
    prsvd_h5_show_stack();
    status = prsvd_error_set(
        PRSVD_ERR_INPUT, __FILE__, __LINE__, __func__,
        "cannot open checkpoint '%s': it is not an HDF5 file, or it is truncated or "
        "damaged (delete it to start over)",
        c->path);
  }
  if (!status) status = load_header(c, f, rank, nprocs, st, want);
  status = prsvd_error_agree(comm, status);
  if (!status) status = prsvd_error_agree(comm, read_arrays(c, f, rank, st, want, got));
  if (!status && st->n_arrays > 0) {
    int rc = MPI_Allreduce(MPI_IN_PLACE, got, st->n_arrays, MPI_UINT64_T, MPI_SUM, comm);
    if (rc != MPI_SUCCESS)
      status = prsvd_mpi_check(rc, __FILE__, __LINE__, __func__, "MPI_Allreduce");
  }
  /* the same sums on every rank: no agreement needed */
  for (int i = 0; i < st->n_arrays && !status; i++)
    if (got[i] != want[i])
      status = prsvd_error_set(
          PRSVD_ERR_INPUT, __FILE__, __LINE__, __func__,
          "checkpoint '%s' is damaged: dataset '/%s' does not match its checksum (delete "
          "it to start over)",
          c->path, st->arrays[i].name);
  if (f >= 0) H5Fclose(f);
  *found = !status;
  return status;
}

int prsvd_h5_checkpointer(MPI_Comm comm, const struct prsvd_h5_checkpoint_spec *spec,
                          struct prsvd_checkpointer *cp) {
  int status = PRSVD_OK, rank;
  struct ckpt_ctx *c = NULL;
  memset(cp, 0, sizeof *cp);
  MPI_Comm_rank(comm, &rank);
  PRSVD_ALLOC(c, 1);
  snprintf(c->path, sizeof c->path, "%s", spec->path);
  if (rank == 0) status = input_identity(spec, c->identity, sizeof c->identity);
  PRSVD_TRY(prsvd_error_agree(comm, status));
  PRSVD_MPI(MPI_Bcast(c->identity, sizeof c->identity, MPI_CHAR, 0, comm));
  cp->save = save;
  cp->load = load;
  cp->ctx = c;
  cp->every_seconds = spec->every_seconds;
  cp->stop = spec->stop;
  return PRSVD_OK;
done:
  free(c);
  return status;
}

void prsvd_h5_checkpointer_free(struct prsvd_checkpointer *cp) {
  free(cp->ctx);
  memset(cp, 0, sizeof *cp);
}

int prsvd_h5_checkpoint_remove(MPI_Comm comm, const char *path) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0 && unlink(path) != 0 && errno != ENOENT)
    return prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__,
                           "cannot remove checkpoint '%s': %s", path, strerror(errno));
  return PRSVD_OK;
}
