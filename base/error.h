/*
 * Error reporting shared by every layer: a status code, one message, and a small
 * per-process stack of the frames the error passed through (file:line:function).
 *
 *   PRSVD_ERR(PRSVD_ERR_INPUT, "cannot open '%s'", path);  -- set message, push frame, return
 *   PRSVD_CHECK(prsvd_thing(x));                          -- on failure push frame, return
 *
 * prsvd_error_agree() combines errors at the end of a collective phase so that every rank
 * returns the same code and message (the lowest failing rank's), and no rank is left
 * waiting in a collective.  Not thread-safe: only the main thread reports errors.
 */
#ifndef PRSVD_ERROR_H
#define PRSVD_ERROR_H

#include <mpi.h>
#include <stdarg.h>

#include "prsvd.h"

int prsvd_error_set(int code, const char *file, int line, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int prsvd_error_push(int code, const char *file, int line, const char *func);
void prsvd_error_clear(void);
int prsvd_error_code(void);
/* Print "prsvd: error: message" and, if trace, the frames, to stderr. */
void prsvd_error_print(int trace);

/* Collective over comm: returns the first (lowest-rank) nonzero status on every rank and
 * gives every rank that rank's message, prefixed with "rank R: " when nprocs > 1; errors
 * marked by prsvd_error_echo come after all others. */
int prsvd_error_agree(MPI_Comm comm, int status);
/* Mark the error just set as an echo of another rank's failure (which prsvd_error_agree
 * then reports instead); returns its code. */
int prsvd_error_echo(void);

/* Wrap one foreign convention each. */
int prsvd_mpi_check(int mpi_code, const char *file, int line, const char *func, const char *what);

#define PRSVD_ERR(code, ...) \
  return prsvd_error_set((code), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define PRSVD_CHECK(call)                                          \
  do {                                                             \
    int prsvd_status_ = (call);                                    \
    if (prsvd_status_)                                             \
      return prsvd_error_push(prsvd_status_, __FILE__, __LINE__, __func__); \
  } while (0)
#define PRSVD_MPI(call)                                                     \
  do {                                                                      \
    int prsvd_mpi_ = (call);                                                \
    if (prsvd_mpi_ != MPI_SUCCESS)                                          \
      return prsvd_mpi_check(prsvd_mpi_, __FILE__, __LINE__, __func__, #call); \
  } while (0)
/* Jump-to-cleanup forms for functions that own resources. */
#define PRSVD_TRY(call)                                                   \
  do {                                                                    \
    status = (call);                                                      \
    if (status) {                                                         \
      prsvd_error_push(status, __FILE__, __LINE__, __func__);             \
      goto done;                                                          \
    }                                                                     \
  } while (0)
/* An MPI call inside a function that cleans up at done. */
#define PRSVD_MPI_TRY(call)                                                   \
  do {                                                                        \
    int prsvd_mpi_ = (call);                                                  \
    if (prsvd_mpi_ != MPI_SUCCESS) {                                          \
      status = prsvd_mpi_check(prsvd_mpi_, __FILE__, __LINE__, __func__, #call); \
      goto done;                                                              \
    }                                                                         \
  } while (0)
#define PRSVD_FAIL(code, ...)                                             \
  do {                                                                    \
    status = prsvd_error_set((code), __FILE__, __LINE__, __func__, __VA_ARGS__); \
    goto done;                                                            \
  } while (0)

#ifdef PRSVD_DEBUG
#define PRSVD_ASSERT(cond) \
  do { if (!(cond)) PRSVD_ERR(PRSVD_ERR_INTERNAL, "internal invariant failed: %s", #cond); } while (0)
#else
#define PRSVD_ASSERT(cond) ((void)0)
#endif

/* Allocation that records PRSVD_ERR_NOMEM with the size asked for.  A negative count (a
 * size computed wrongly) allocates nothing and is reported as such, not cast to a huge
 * size_t whose byte count wraps ("out of memory allocating 0 bytes"). */
void *prsvd_malloc(size_t bytes);
void *prsvd_calloc(size_t count, size_t size);
int prsvd_alloc_error(const char *file, int line, const char *func, int64_t count, size_t size);
#define PRSVD_ALLOC(ptr, count)                                                             \
  do {                                                                                      \
    const int64_t prsvd_count_ = (int64_t)(count);                                          \
    (ptr) = prsvd_count_ >= 0 ? prsvd_calloc((size_t)prsvd_count_, sizeof(*(ptr))) : NULL;  \
    if (!(ptr)) {                                                                           \
      status = prsvd_alloc_error(__FILE__, __LINE__, __func__, prsvd_count_, sizeof(*(ptr))); \
      goto done;                                                                            \
    }                                                                                       \
  } while (0)

/* Narrow a 64-bit size to the int BLAS/BLACS take, or fail naming it. */
int prsvd_to_int(int64_t v, const char *what, int *out);

/* The product a b of two sizes (counts or bytes, both >= 0), or PRSVD_SIZE_OVERFLOW
 * (INT64_MAX) if it exceeds INT64_MAX or a factor is negative.  Every product of sizes that
 * come from a file or an option goes through here: a wrapped product is undefined behaviour
 * and, in practice, a small or negative size that passes budget checks and allocates too
 * little; a saturated one fails every budget comparison and every allocation, and the caller
 * that can name the culprit tests for PRSVD_SIZE_OVERFLOW. */
#define PRSVD_SIZE_OVERFLOW INT64_MAX
int64_t prsvd_size_mul(int64_t a, int64_t b);

#endif
