/*
 * The GEMM floor of one prsvd pass: the two products a subspace-iteration pass makes per row
 * panel, with nothing else (no reading, no conversion, no copies), on the BLAS prsvd links.
 *
 *   P_i = A_i X        (nr x c)  = (n x nr)^T (n x c)     c = l (+ probes on the last pass)
 *   H  += A_i^T P_i    (n x l)  += (n x nr) (nr x l)
 *
 * A_i is row-major, so it is the column-major n x nr matrix A_i^T, exactly as in
 * src/pass_kernels_dense.c.  The panels are successive rows of one ROWS x COLS block in memory, so each
 * comes from DRAM as a pass's panels do (a pass cannot find its next panel in the cache);
 * reusing two small buffers instead let them sit in the last-level cache and made the floor
 * faster than any pass over the data could be.  COPIES processes (one per rank of the run
 * being floored) sweep at the same time, sharing the cache and the memory bus as the ranks
 * do; the floor is the slowest copy, as a pass's time is its slowest rank's.  The block is
 * filled with arbitrary values once; BLAS speed does not depend on them.
 *
 * usage: gemm_floor ROWS COLS L EXTRA PANEL_ROWS d|s [REPEATS [COPIES]]
 *   ROWS rows per rank, EXTRA extra right-product columns (prsvd's last pass adds 10 probes),
 *   d: DGEMM on double panels; s: SGEMM on float panels (what float32 input can cost).
 * Prints one JSON line: the best of REPEATS (default 3) full sweeps over ROWS, in seconds (the
 * slowest copy's), its process CPU seconds (equal to the wall time on an idle core; less when
 * other processes took the core part of the time), and its GFLOP/s.  Threads: whatever
 * OPENBLAS_NUM_THREADS says (the benchmark sets 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../base/blas.h"
#include "floor_copies.h"

void sgemm_(const char *ta, const char *tb, const int *m, const int *n, const int *k,
            const float *alpha, const float *a, const int *lda, const float *b, const int *ldb,
            const float *beta, float *c, const int *ldc);


static void *alloc(size_t bytes) {
  void *p = malloc(bytes);
  if (!p) {
    fprintf(stderr, "gemm_floor: cannot allocate %zu bytes\n", bytes);
    exit(2);
  }
  return p;
}

static double sweep_d(long rows, int n, int l, int c, int pr, const double *a, double *x,
                      double *p, double *h) {
  const double one = 1.0, zero = 0.0;
  double t0 = now();
  for (long r = 0; r < rows; r += pr) {
    int nr = rows - r < pr ? (int)(rows - r) : pr;
    const double *panel = a + (size_t)r * (size_t)n;
    dgemm_("T", "N", &nr, &c, &n, &one, panel, &n, x, &n, &zero, p, &nr);
    dgemm_("N", "N", &n, &l, &nr, &one, panel, &n, p, &nr, &one, h, &n);
  }
  return now() - t0;
}

static double sweep_s(long rows, int n, int l, int c, int pr, const float *a, float *x, float *p,
                      float *h) {
  const float one = 1.0f, zero = 0.0f;
  double t0 = now();
  for (long r = 0; r < rows; r += pr) {
    int nr = rows - r < pr ? (int)(rows - r) : pr;
    const float *panel = a + (size_t)r * (size_t)n;
    sgemm_("T", "N", &nr, &c, &n, &one, panel, &n, x, &n, &zero, p, &nr);
    sgemm_("N", "N", &n, &l, &nr, &one, panel, &n, p, &nr, &one, h, &n);
  }
  return now() - t0;
}

int main(int argc, char **argv) {
  if (argc < 7 || (strcmp(argv[6], "d") && strcmp(argv[6], "s"))) {
    fprintf(stderr, "usage: gemm_floor ROWS COLS L EXTRA PANEL_ROWS d|s [REPEATS [COPIES]]\n");
    return 1;
  }
  const long rows = atol(argv[1]);
  const int n = atoi(argv[2]), l = atoi(argv[3]), extra = atoi(argv[4]);
  int pr = atoi(argv[5]);
  const int single = !strcmp(argv[6], "s");
  const int repeats = argc > 7 ? atoi(argv[7]) : 3, copies = argc > 8 ? atoi(argv[8]) : 1;
  if (rows < 1 || n < 1 || l < 1 || extra < 0 || pr < 1 || repeats < 1 || copies < 1) {
    fprintf(stderr, "gemm_floor: sizes must be positive\n");
    return 1;
  }
  if (pr > rows) pr = (int)rows;
  const int c = l + extra;
  struct copies cp;
  if (copies_start(&cp, copies)) return 3;
  const size_t block = (size_t)rows * (size_t)n, es = single ? sizeof(float) : sizeof(double);
  void *a = alloc(block * es);
  void *x = alloc((size_t)n * c * es), *p = alloc((size_t)pr * c * es), *h = alloc((size_t)n * l * es);
  for (size_t i = 0; i < block; i++) { /* touched, so its pages exist before the clock starts */
    double v = (double)((i * 2654435761u) % 1000003u) / 1000003.0 - 0.5;
    if (single) ((float *)a)[i] = (float)v;
    else ((double *)a)[i] = v;
  }
  srand(1);
  for (size_t i = 0; i < (size_t)n * c; i++) {
    double v = rand() / (double)RAND_MAX - 0.5;
    if (single) ((float *)x)[i] = (float)v;
    else ((double *)x)[i] = v;
  }
  memset(h, 0, (size_t)n * l * es);
  for (int t = 0; t < repeats; t++) {
    copies_wait(&cp);
    const double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    double s = single ? sweep_s(rows, n, l, c, pr, (const float *)a, x, p, h)
                      : sweep_d(rows, n, l, c, pr, (const double *)a, x, p, h);
    copies_record(&cp, s, clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
  }
  const int done = copies_finish(&cp);
  if (done) return done < 0 ? 3 : 0; /* a copy: its best is with the parent */
  const double best = cp.best, best_cpu = cp.best_cpu;
  const double flops = 2.0 * rows * n * (double)(c + l);
  printf("{\"rows\": %ld, \"cols\": %d, \"l\": %d, \"extra\": %d, \"panel_rows\": %d, "
         "\"precision\": \"%s\", \"repeats\": %d, \"copies\": %d, \"seconds\": %.6f, \"cpu_seconds\": %.6f, "
         "\"flops\": %.6e, \"gflops\": %.3f}\n",
         rows, n, l, extra, pr, single ? "single" : "double", repeats, copies, best, best_cpu, flops,
         flops / best * 1e-9);
  free(a);
  free(x);
  free(p);
  free(h);
  return 0;
}
