/*
 * Checkpoint files: the state of a solve (struct prsvd_state) saved collectively into an
 * HDF5 file, atomically (temporary + rename), with the identity of the input and the
 * options, so that a resume with another input, other options or another number of ranks is
 * refused with a message saying what differs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5util.h"
#include "prsvd_h5.h"

#define FORMAT "prsvd-checkpoint-1"

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

static int save(void *vctx, MPI_Comm comm, const struct prsvd_state *st) {
  struct ckpt_ctx *c = vctx;
  int status = PRSVD_OK, rank, nprocs;
  prsvd_h5_writer *w = NULL;
  prsvd_h5_matrix *mat = NULL;
  double *cursor = NULL, mine;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &nprocs);
  PRSVD_ALLOC(cursor, nprocs);
  mine = (double)st->next_row;
  PRSVD_MPI(MPI_Allgather(&mine, 1, MPI_DOUBLE, cursor, 1, MPI_DOUBLE, comm));
  PRSVD_TRY(prsvd_h5_writer_create_temp(comm, c->path, &w));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "format", FORMAT));
  PRSVD_TRY(prsvd_h5_attr_string(w, "/", "identity", c->identity));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "nprocs", nprocs));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "pass", st->pass));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "phase", st->phase));
  PRSVD_TRY(prsvd_h5_attr_int(w, "/", "passes_done", st->passes_done));
  PRSVD_TRY(prsvd_h5_attr_double(w, "/", "r_rcond", st->r_rcond));
  PRSVD_TRY(prsvd_h5_write_vector(w, "/cursor", nprocs, cursor));
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
  }
  PRSVD_TRY(prsvd_h5_writer_commit(&w));
done:
  prsvd_h5_matrix_close(&mat);
  prsvd_h5_writer_abort(&w);
  free(cursor);
  return status;
}

static int read_string_attr(hid_t f, const char *name, char *out, size_t len) {
  int status = PRSVD_OK;
  hid_t a = -1, t = -1;
  char *v = NULL;
  out[0] = '\0';
  H5_TRY(a = H5Aopen(f, name, H5P_DEFAULT), PRSVD_ERR_INPUT, "checkpoint has no attribute '%s'", name);
  H5_TRY(t = H5Aget_type(a), PRSVD_ERR_INPUT, "cannot read attribute '%s'", name);
  if (H5Tis_variable_str(t) > 0) {
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5T_CSET_UTF8);
    herr_t rc = H5Aread(a, mt, &v);
    H5Tclose(mt);
    H5_TRY(rc, PRSVD_ERR_INPUT, "cannot read attribute '%s'", name);
    snprintf(out, len, "%s", v ? v : "");
    H5free_memory(v);
  }
done:
  if (t >= 0) H5Tclose(t);
  if (a >= 0) H5Aclose(a);
  return status;
}

static int read_int_attr(hid_t f, const char *name, int64_t *v) {
  int status = PRSVD_OK;
  hid_t a = -1;
  H5_TRY(a = H5Aopen(f, name, H5P_DEFAULT), PRSVD_ERR_INPUT, "checkpoint has no attribute '%s'", name);
  H5_TRY(H5Aread(a, H5T_NATIVE_INT64, v), PRSVD_ERR_INPUT, "cannot read attribute '%s'", name);
done:
  if (a >= 0) H5Aclose(a);
  return status;
}

/* Rank-local: the scalars, checked against this run. */
static int load_header(struct ckpt_ctx *c, int nprocs, struct prsvd_state *st) {
  int status = PRSVD_OK;
  hid_t f = -1, a = -1;
  char format[64], identity[8192], diff[9000];
  int64_t v;
  H5_TRY(f = H5Fopen(c->path, H5F_ACC_RDONLY, H5P_DEFAULT), PRSVD_ERR_INPUT,
         "cannot open checkpoint '%s' (corrupt? remove it to start over)", c->path);
  PRSVD_TRY(read_string_attr(f, "format", format, sizeof format));
  if (strcmp(format, FORMAT))
    PRSVD_FAIL(PRSVD_ERR_INPUT, "'%s' is not a prsvd checkpoint of this version (format '%s')", c->path, format);
  PRSVD_TRY(read_string_attr(f, "identity", identity, sizeof identity));
  if (strcmp(identity, c->identity)) {
    first_difference(identity, c->identity, diff, sizeof diff);
    PRSVD_FAIL(PRSVD_ERR_INPUT, "checkpoint '%s' does not match this run: %s (remove it to start over)", c->path, diff);
  }
  PRSVD_TRY(read_int_attr(f, "nprocs", &v));
  if (v != nprocs)
    PRSVD_FAIL(PRSVD_ERR_INPUT, "checkpoint '%s' was written by %lld ranks, this run has %d: resume with mpirun -n %lld",
               c->path, (long long)v, nprocs, (long long)v);
  PRSVD_TRY(read_int_attr(f, "pass", &v));
  st->pass = (int)v;
  PRSVD_TRY(read_int_attr(f, "phase", &v));
  st->phase = (int)v;
  PRSVD_TRY(read_int_attr(f, "passes_done", &v));
  st->passes_done = (int)v;
  H5_TRY(a = H5Aopen(f, "r_rcond", H5P_DEFAULT), PRSVD_ERR_INPUT, "checkpoint has no attribute 'r_rcond'");
  H5_TRY(H5Aread(a, H5T_NATIVE_DOUBLE, &st->r_rcond), PRSVD_ERR_INPUT, "cannot read 'r_rcond'");
done:
  if (a >= 0) H5Aclose(a);
  if (f >= 0) H5Fclose(f);
  return status;
}

static int load(void *vctx, MPI_Comm comm, struct prsvd_state *st, int *found) {
  struct ckpt_ctx *c = vctx;
  int status = PRSVD_OK, rank, nprocs, exists;
  double *cursor = NULL, *buf = NULL;
  prsvd_source *src = NULL;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &nprocs);
  exists = rank == 0 ? access(c->path, F_OK) == 0 : 0;
  PRSVD_MPI(MPI_Bcast(&exists, 1, MPI_INT, 0, comm));
  *found = 0;
  if (!exists) return PRSVD_OK;
  status = load_header(c, nprocs, st);
  PRSVD_CHECK(prsvd_error_agree(comm, status));
  int64_t ncur = 0;
  status = prsvd_h5_read_vector(c->path, "/cursor", &ncur, &cursor);
  if (!status && ncur != nprocs)
    status = prsvd_error_set(PRSVD_ERR_INPUT, __FILE__, __LINE__, __func__, "checkpoint '%s': bad cursor", c->path);
  PRSVD_TRY(prsvd_error_agree(comm, status));
  st->next_row = (int64_t)cursor[rank];
  for (int i = 0; i < st->n_arrays; i++) {
    struct prsvd_state_array *a = &st->arrays[i];
    struct prsvd_h5_info info;
    char name[64];
    snprintf(name, sizeof name, "/%s", a->name);
    PRSVD_TRY(prsvd_h5_open_source(comm, c->path, name, &info, &src));
    if (info.rows != a->rows || info.cols != a->cols)
      status = prsvd_error_set(PRSVD_ERR_INPUT, __FILE__, __LINE__, __func__,
                               "checkpoint '%s': '%s' is %lld x %lld, expected %lld x %lld", c->path, name,
                               (long long)info.rows, (long long)info.cols, (long long)a->rows, (long long)a->cols);
    const int64_t r0 = a->distributed ? a->row0 : 0, nr = a->distributed ? a->local_rows : a->rows;
    free(buf);
    buf = malloc(sizeof(double) * (size_t)(nr > 0 ? nr * a->cols : 1));
    if (!status && !buf) status = prsvd_error_set(PRSVD_ERR_NOMEM, __FILE__, __LINE__, __func__, "out of memory");
    if (!status && nr > 0) status = prsvd_source_read(src, r0, nr, buf);
    PRSVD_TRY(prsvd_error_agree(comm, status));
    for (int64_t r = 0; r < nr; r++) /* row-major file rows into the column-major array */
      for (int64_t j = 0; j < a->cols; j++) a->data[j * a->ld + r] = buf[r * a->cols + j];
    prsvd_source_destroy(&src);
  }
  *found = 1;
done:
  prsvd_source_destroy(&src);
  free(cursor);
  free(buf);
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
    return prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__, "cannot remove checkpoint '%s': %s",
                           path, strerror(errno));
  return PRSVD_OK;
}
