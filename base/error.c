/* The per-process error stack behind error.h. */
#include "error.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES 16
#define MSG_LEN (2 * PATH_MAX + 1024) /* two paths up to PATH_MAX and the words around them */

static struct {
  int code;
  char message[MSG_LEN];
  int n_frames;
  struct { const char *file, *func; int line; } frames[MAX_FRAMES];
  int echo; /* this error only reports another rank's (prsvd_error_echo) */
} err;

static void push_frame(const char *file, int line, const char *func) {
  if (err.n_frames >= MAX_FRAMES) return;
  err.frames[err.n_frames].file = file;
  err.frames[err.n_frames].line = line;
  err.frames[err.n_frames].func = func;
  err.n_frames++;
}

int prsvd_error_set(int code, const char *file, int line, const char *func, const char *fmt, ...) {
  va_list ap;
  err.code = code;
  err.n_frames = 0;
  err.echo = 0;
  va_start(ap, fmt);
  vsnprintf(err.message, sizeof err.message, fmt, ap);
  va_end(ap);
  push_frame(file, line, func);
  return code;
}

int prsvd_error_push(int code, const char *file, int line, const char *func) {
  if (!err.code) {
    err.code = code;
    snprintf(err.message, sizeof err.message, "failed with status %d", code);
  }
  push_frame(file, line, func);
  return code;
}

int prsvd_error_echo(void) {
  err.echo = 1;
  return err.code;
}

void prsvd_error_clear(void) {
  err.code = 0;
  err.echo = 0;
  err.message[0] = '\0';
  err.n_frames = 0;
}

int prsvd_error_code(void) { return err.code; }
const char *prsvd_error_message(void) { return err.message; }

void prsvd_error_print(int trace) {
  int rank = 0;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  fprintf(stderr, "prsvd: error: %s\n", err.message);
  if (trace)
    for (int i = 0; i < err.n_frames; i++)
      fprintf(stderr, "  [rank %d] #%d %s() at %s:%d\n", rank, i, err.frames[i].func,
              err.frames[i].file, err.frames[i].line);
}

int prsvd_error_agree(MPI_Comm comm, int status) {
  int rank, nprocs, first, mine;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &nprocs);
  /* the first rank with an error of its own, else the first echo */
  mine = !status ? 2 * nprocs : err.code == status && err.echo ? nprocs + rank : rank;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == 2 * nprocs) return PRSVD_OK;
  first %= nprocs;
  int code = status;
  char msg[MSG_LEN];
  if (rank == first) {
    char prefix[32];
    snprintf(prefix, sizeof prefix, "rank %d: ", rank);
    /* an error agreed once already carries its rank */
    int len = nprocs > 1 && strncmp(err.message, prefix, strlen(prefix)) ? snprintf(msg, sizeof msg, "%s", prefix) : 0;
    snprintf(msg + len, sizeof msg - (size_t)len, "%.*s", MSG_LEN - 16, err.message);
  }
  MPI_Bcast(&code, 1, MPI_INT, first, comm);
  MPI_Bcast(msg, MSG_LEN, MPI_CHAR, first, comm);
  if (rank != first) err.n_frames = 0;
  err.code = code;
  memcpy(err.message, msg, MSG_LEN);
  return code;
}

int prsvd_mpi_check(int mpi_code, const char *file, int line, const char *func, const char *what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(mpi_code, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "code %d", mpi_code);
  return prsvd_error_set(PRSVD_ERR_MPI, file, line, func, "MPI call failed: %s: %s", what, text);
}

void *prsvd_malloc(size_t bytes) { return malloc(bytes ? bytes : 1); }
void *prsvd_calloc(size_t count, size_t size) { return calloc(count ? count : 1, size ? size : 1); }

int prsvd_alloc_error(const char *file, int line, const char *func, int64_t count, size_t size) {
  const int64_t bytes = prsvd_size_mul(count, (int64_t)size);
  if (count < 0)
    return prsvd_error_set(PRSVD_ERR_INTERNAL, file, line, func,
                           "internal error: allocation of a negative count %lld of %zu-byte elements",
                           (long long)count, size);
  if (bytes == PRSVD_SIZE_OVERFLOW)
    return prsvd_error_set(PRSVD_ERR_NOMEM, file, line, func,
                           "out of memory: %lld elements of %zu bytes exceed the 2^63 - 1 bytes a size holds",
                           (long long)count, size);
  return prsvd_error_set(PRSVD_ERR_NOMEM, file, line, func, "out of memory allocating %lld bytes",
                         (long long)bytes);
}

int64_t prsvd_size_mul(int64_t a, int64_t b) {
  int64_t product;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &product)) return PRSVD_SIZE_OVERFLOW;
  return product;
}

int prsvd_to_int(int64_t v, const char *what, int *out) {
  if (v < 0 || v > 2147483647)
    PRSVD_ERR(PRSVD_ERR_INPUT, "%s = %lld does not fit the 32-bit int that BLAS/BLACS take", what,
              (long long)v);
  *out = (int)v;
  return PRSVD_OK;
}
