/* Fortran BLAS/LAPACK prototypes used across the library (column-major, hidden-length-free
 * calls: no character argument here is longer than one). */
#ifndef PRSVD_BLAS_H
#define PRSVD_BLAS_H

/* The hand-written kernels are plain C built for the baseline ISA; on x86-64 a copy is also
 * built for AVX2 and AVX-512 and the loader picks the one the CPU runs (GCC/clang ifunc), as
 * OpenBLAS does for its kernels.  A clone's function stays static: one of external linkage is
 * exported through its ifunc resolver whatever -fvisibility says. */
#if defined(__x86_64__) && defined(__ELF__) &&        \
    ((defined(__clang__) && __clang_major__ >= 14) || \
     (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 6))
#define PRSVD_KERNEL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PRSVD_KERNEL_CLONES
#endif

void dgemm_(const char *ta, const char *tb, const int *m, const int *n, const int *k,
            const double *alpha, const double *a, const int *lda, const double *b,
            const int *ldb, const double *beta, double *c, const int *ldc);
void sgemm_(const char *ta, const char *tb, const int *m, const int *n, const int *k,
            const float *alpha, const float *a, const int *lda, const float *b, const int *ldb,
            const float *beta, float *c, const int *ldc);
void daxpy_(const int *n, const double *alpha, const double *x, const int *incx, double *y,
            const int *incy);
void dtrsm_(const char *side, const char *uplo, const char *ta, const char *diag, const int *m,
            const int *n, const double *alpha, const double *a, const int *lda, double *b,
            const int *ldb);
void dtrmm_(const char *side, const char *uplo, const char *ta, const char *diag, const int *m,
            const int *n, const double *alpha, const double *a, const int *lda, double *b,
            const int *ldb);
void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda, double *s,
             double *u, const int *ldu, double *vt, const int *ldvt, double *work,
             const int *lwork, int *iwork, int *info);
void dtrcon_(const char *norm, const char *uplo, const char *diag, const int *n, const double *a,
             const int *lda, double *rcond, double *work, int *iwork, int *info);
void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau, double *work,
             const int *lwork, int *info);
/* column-pivoted QR (BLAS-3 form of the Businger-Golub pivoting); jpvt is 1-based */
void dgeqp3_(const int *m, const int *n, double *a, const int *lda, int *jpvt, double *tau,
             double *work, const int *lwork, int *info);
void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda,
             const double *tau, double *work, const int *lwork, int *info);
void dsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha,
            const double *a, const int *lda, const double *beta, double *c, const int *ldc);
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
             double *w, double *work, const int *lwork, int *iwork, const int *liwork, int *info);
/* A = V diag(w) V^T of the n x n symmetric a (column-major, its upper triangle read) by dsyevd:
 * a becomes V, w the eigenvalues ascending; the workspace asked for and allocated here.
 * Returns LAPACK's info, or PRSVD_DSYEVD_NOMEM when the workspace could not be allocated.  Not
 * collective and no error trace: a caller on one rank of many agrees the outcome first
 * (base/lapack.c). */
#define PRSVD_DSYEVD_NOMEM (-100)
int prsvd_dsyevd(int n, double *a, double *w);

/* The BLAS's own threads (base/blas_threads.c), controlled at run time so that prsvd, not
 * the BLAS, decides how many threads multiply: OpenBLAS through openblas_set_num_threads
 * (process-wide), else OpenMP's omp_set_num_threads (the calling thread's, as
 * OMP_NUM_THREADS sets the default), each found with dlsym so that any BLAS links.
 * prsvd_blas_threads_set: process-wide where the BLAS allows (OpenBLAS), else the calling
 * thread's; returns the previous count (0: not known).  prsvd_blas_threads_local: the calling
 * thread's only (OpenMP, MKL's thread-local setting), what a compute thread sets for itself
 * without touching other threads.  prsvd_blas_threads_get: the count the next BLAS call from
 * this thread may use (0: not known).  prsvd_blas_threads_control: how ("openblas", "openmp"
 * or "none"). */
int prsvd_blas_threads_set(int threads);
void prsvd_blas_threads_local(int threads);
int prsvd_blas_threads_get(void);
const char *prsvd_blas_threads_control(void);

#endif
