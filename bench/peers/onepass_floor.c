/*
 * The arithmetic floor of prsvd's single pass (`--passes 1`, method three): the scalar
 * updates its sketches need for each row panel A_i, done in the fastest form this machine
 * has and with nothing else (no reading, no scan, no statistics, no test matrices generated,
 * no transposed tiles, no reductions), on the BLAS prsvd links.
 *
 *   gaussian  the four GEMMs of src/pass_kernels_dense.c on every panel (nr rows, n columns):
 *               P_i = A_i [Omega | Psi]   (nr x (k_s + s))  = (n x nr)^T (n x (k_s + s))
 *               X  += A_i^T Upsilon_i      (n x k_s)        += (n x nr) (nr x k_s)
 *               S  += A_i^T Theta_i        (n x 10)         += (n x nr) (nr x 10)
 *               Z  += Phi_i^T P_i(:, Psi)  (s x s)          += (nr x s)^T (nr x s)
 *             with fixed test matrices: 2 m n (2 k_s + s + 10) + 2 m s^2 flops.
 *   sparse    the sparse sign maps' updates: every entry of A updates zeta = 8 entries of each
 *             of Omega's, Psi's and Upsilon's sketches (24 updates an entry), done as
 *             24 axpys of each row of A_i into rows of an accumulator held in the cache
 *             (blocks of 256 columns, as src/pass_kernels_sparse.c's left update), 8 doubles a vector
 *             instruction; and the 10 Gaussian probes as their GEMM (S += A_i^T Theta_i).
 *             24 m n updates and 20 m n flops.  (Phi's core, 8 s updates a row, is left out:
 *             under 1% of them.)
 *
 * The panels are successive rows of one ROWS x COLS block in memory, so that each comes
 * from DRAM as a pass's panels do (as bench/peers/gemm_floor.c).  COPIES processes sweep at
 * once, each its own ROWS (one per rank or thread of the run being floored, sharing the cache
 * and the memory bus); the floor is the slowest copy.
 *
 * usage: onepass_floor gaussian|sparse ROWS COLS KS S PANEL_ROWS [REPEATS [COPIES]]
 * Prints one JSON line: the best of REPEATS sweeps (the slowest copy's), in seconds, its CPU
 * seconds (the largest copy's, and all copies' together: cpu_total), and the updates or flops
 * a copy made.  Build: cc -O3 -march=native ... -lopenblas.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void dgemm_(const char *ta, const char *tb, const int *m, const int *n, const int *k, const double *alpha,
            const double *a, const int *lda, const double *b, const int *ldb, const double *beta, double *c,
            const int *ldc);

#include "floor_copies.h"

enum { ZETA = 8, MAPS = 3, PROBES = 10, BLOCK = 256 };


static void *alloc(size_t count) {
  void *p = calloc(count, sizeof(double));
  if (!p) {
    fprintf(stderr, "onepass_floor: cannot allocate %zu doubles\n", count);
    exit(2);
  }
  return p;
}

static void fill(double *x, size_t count, unsigned seed) {
  srand(seed);
  for (size_t i = 0; i < count; i++) x[i] = rand() / (double)RAND_MAX - 0.5;
}

/* y += a x over len doubles: no aliasing, so it vectorizes */
static inline void axpy(int len, double a, const double *restrict x, double *restrict y) {
  for (int j = 0; j < len; j++) y[j] += a * x[j];
}

static double sweep_gaussian(long rows, int n, int ks, int s, int pr, const double *a, const double *r,
                             const double *g, double *p, double *x, double *st, double *z) {
  const double one = 1.0, zero = 0.0;
  const int c = ks + s, probes = PROBES;
  double t0 = now();
  for (long r0 = 0; r0 < rows; r0 += pr) {
    int nr = rows - r0 < pr ? (int)(rows - r0) : pr;
    const double *panel = a + (size_t)r0 * (size_t)n;
    dgemm_("T", "N", &nr, &c, &n, &one, panel, &n, r, &n, &zero, p, &nr);
    dgemm_("N", "N", &n, &ks, &nr, &one, panel, &n, g, &nr, &one, x, &n);
    dgemm_("N", "N", &n, &probes, &nr, &one, panel, &n, g + (size_t)nr * ks, &nr, &one, st, &n);
    dgemm_("T", "N", &s, &s, &nr, &one, g + (size_t)nr * (ks + probes), &nr, p + (size_t)nr * ks, &nr, &one, z, &s);
  }
  return now() - t0;
}

static double sweep_sparse(long rows, int n, int ks, int s, int pr, const double *a, const int *pos,
                           const double *sign, const double *g, double *acc, double *st) {
  const double one = 1.0;
  const int probes = PROBES, dim = ks + s + ks; /* the three maps' rows, side by side */
  (void)dim;
  double t0 = now();
  for (long r0 = 0; r0 < rows; r0 += pr) {
    int nr = rows - r0 < pr ? (int)(rows - r0) : pr;
    const double *panel = a + (size_t)r0 * (size_t)n;
    for (int j0 = 0; j0 < n; j0 += BLOCK) {
      const int jn = n - j0 < BLOCK ? n - j0 : BLOCK;
      for (int i = 0; i < nr; i++) {
        const int *pi = pos + (size_t)((r0 + i) % 4096) * MAPS * ZETA;
        const double *si = sign + (size_t)((r0 + i) % 4096) * MAPS * ZETA;
        for (int u = 0; u < MAPS * ZETA; u++) axpy(jn, si[u], panel + (size_t)i * n + j0, acc + (size_t)pi[u] * BLOCK);
      }
    }
    dgemm_("N", "N", &n, &probes, &nr, &one, panel, &n, g, &nr, &one, st, &n);
  }
  return now() - t0;
}

int main(int argc, char **argv) {
  if (argc < 7 || (strcmp(argv[1], "gaussian") && strcmp(argv[1], "sparse"))) {
    fprintf(stderr, "usage: onepass_floor gaussian|sparse ROWS COLS KS S PANEL_ROWS [REPEATS [COPIES]]\n");
    return 1;
  }
  const int sparse = !strcmp(argv[1], "sparse");
  const long rows = atol(argv[2]);
  const int n = atoi(argv[3]), ks = atoi(argv[4]), s = atoi(argv[5]);
  int pr = atoi(argv[6]);
  const int repeats = argc > 7 ? atoi(argv[7]) : 3, copies = argc > 8 ? atoi(argv[8]) : 1;
  if (rows < 1 || n < 1 || ks < ZETA || s < ZETA || pr < 1 || repeats < 1 || copies < 1) {
    fprintf(stderr, "onepass_floor: sizes must be positive, KS and S at least %d\n", ZETA);
    return 1;
  }
  if (pr > rows) pr = (int)rows;
  struct copies cp;
  if (copies_start(&cp, copies)) return 3;
  const int copy = cp.copy;
  const size_t block = (size_t)rows * (size_t)n;
  double *a = alloc(block);
  fill(a, block, 1u + (unsigned)copy); /* touched, so its pages exist before the clock starts */
  const int dim = 2 * ks + s;
  double *r = alloc((size_t)n * (ks + s)), *g = alloc((size_t)pr * (ks + PROBES + s));
  double *p = alloc((size_t)pr * (ks + s)), *x = alloc((size_t)n * ks), *st = alloc((size_t)n * PROBES);
  double *z = alloc((size_t)s * s), *acc = alloc((size_t)dim * BLOCK), *sign = alloc((size_t)4096 * MAPS * ZETA);
  int *pos = malloc(sizeof(int) * (size_t)4096 * MAPS * ZETA);
  if (!pos) return 2;
  fill(r, (size_t)n * (ks + s), 2);
  fill(g, (size_t)pr * (ks + PROBES + s), 3);
  srand(4);
  for (int i = 0; i < 4096; i++) /* zeta distinct rows of each map's block of the accumulator */
    for (int m = 0, off = 0; m < MAPS; off += m == 1 ? s : ks, m++)
      for (int u = 0; u < ZETA; u++) {
        const int d = m == 1 ? s : ks;
        pos[(i * MAPS + m) * ZETA + u] = off + (u * d / ZETA + rand() % (d / ZETA > 0 ? d / ZETA : 1)) % d;
        sign[(i * MAPS + m) * ZETA + u] = rand() & 1 ? 1.0 : -1.0;
      }
  for (int t = 0; t < repeats; t++) {
    copies_wait(&cp);
    const double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    const double sec = sparse ? sweep_sparse(rows, n, ks, s, pr, a, pos, sign, g, acc, st)
                              : sweep_gaussian(rows, n, ks, s, pr, a, r, g, p, x, st, z);
    copies_record(&cp, sec, clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
  }
  const int done = copies_finish(&cp);
  if (done) return done < 0 ? 3 : 0; /* a copy: its best is with the parent */
  const double best = cp.best, best_cpu = cp.best_cpu, cpu_total = cp.cpu_total;
  const double mn = (double)rows * n;
  const double updates = sparse ? MAPS * ZETA * mn : 0.0;
  const double flops = sparse ? 2.0 * PROBES * mn : 2.0 * mn * (2 * ks + s + PROBES) + 2.0 * rows * (double)s * s;
  printf("{\"kind\": \"%s\", \"rows\": %ld, \"cols\": %d, \"ks\": %d, \"s\": %d, \"panel_rows\": %d, "
         "\"repeats\": %d, \"copies\": %d, \"seconds\": %.6f, \"cpu_seconds\": %.6f, \"cpu_total\": %.6f, "
         "\"updates\": %.6e, \"flops\": %.6e}\n",
         argv[1], rows, n, ks, s, pr, repeats, copies, best, best_cpu, cpu_total, updates, flops);
  free(a), free(r), free(g), free(p), free(x), free(st), free(z), free(acc), free(sign), free(pos);
  return 0;
}
