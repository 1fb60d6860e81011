/* The BLAS's threads, set at run time (blas.h). */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <pthread.h>

#include "blas.h"

static struct {
  void (*openblas_set)(int);
  int (*openblas_get)(void);
  void (*omp_set)(int);
  int (*omp_get)(void);
  int (*mkl_local)(int);
} fn;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* dlsym returns void *: through a union, as POSIX allows, rather than a cast -Wpedantic flags */
#define FIND(field, name)            \
  do {                               \
    union {                          \
      void *p;                       \
      __typeof__(fn.field) f;        \
    } u;                             \
    u.p = dlsym(RTLD_DEFAULT, name); \
    fn.field = u.f;                  \
  } while (0)

static void find(void) {
  FIND(openblas_set, "openblas_set_num_threads");
  FIND(openblas_get, "openblas_get_num_threads");
  FIND(omp_set, "omp_set_num_threads");
  FIND(omp_get, "omp_get_max_threads");
  FIND(mkl_local, "mkl_set_num_threads_local");
}

int prsvd_blas_threads_get(void) {
  pthread_once(&once, find);
  if (fn.openblas_get) return fn.openblas_get();
  if (fn.omp_get) return fn.omp_get();
  return 0;
}

int prsvd_blas_threads_set(int threads) {
  const int before = prsvd_blas_threads_get();
  if (threads < 1) threads = 1;
  if (fn.openblas_set) fn.openblas_set(threads);
  prsvd_blas_threads_local(threads);
  return before;
}

void prsvd_blas_threads_local(int threads) {
  pthread_once(&once, find);
  if (fn.omp_set) fn.omp_set(threads);
  if (fn.mkl_local) fn.mkl_local(threads);
}

const char *prsvd_blas_threads_control(void) {
  pthread_once(&once, find);
  return fn.openblas_set ? "openblas" : fn.omp_set ? "openmp" : "none";
}
