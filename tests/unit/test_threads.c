/* The compute threads: the fair share of CPUs behind the automatic count, and the pool. */
#include <string.h>

#include "blas.h"
#include "suites.h"
#include "threads.h"

/* masks of `ranks` ranks over 64 CPUs, 8 bytes each; bit c of rank r from cpus[r] (a string of
 * '0'/'1' for CPUs 0, 1, ...) */
static void masks_of(const char *const *cpus, int ranks, unsigned char *m) {
  memset(m, 0, 8 * (size_t)ranks);
  for (int r = 0; r < ranks; r++)
    for (int c = 0; cpus[r][c]; c++)
      if (cpus[r][c] == '1') m[r * 8 + c / 8] |= (unsigned char)(1u << (c % 8));
}

START_TEST(fair_share) {
  unsigned char m[4 * 8];
  /* one rank alone on 32 CPUs: all 32 */
  const char *alone[] = {"11111111111111111111111111111111"};
  masks_of(alone, 1, m);
  ck_assert(prsvd_cpu_share(m, 8, 1, 0) == 32.0);
  /* mpirun -n 2 --bind-to none on 2 cores: both ranks may run on both, 1 each (not 2) */
  const char *unbound[] = {"11", "11"};
  masks_of(unbound, 2, m);
  ck_assert(prsvd_cpu_share(m, 8, 2, 0) == 1.0 && prsvd_cpu_share(m, 8, 2, 1) == 1.0);
  /* bound to a core each: 1 each */
  const char *bound[] = {"10", "01"};
  masks_of(bound, 2, m);
  ck_assert(prsvd_cpu_share(m, 8, 2, 0) == 1.0 && prsvd_cpu_share(m, 8, 2, 1) == 1.0);
  /* overlapping masks: CPU 0 shared by two ranks, CPUs 1-3 the second rank's alone */
  const char *overlap[] = {"1", "1111"};
  masks_of(overlap, 2, m);
  ck_assert(prsvd_cpu_share(m, 8, 2, 0) == 0.5 && prsvd_cpu_share(m, 8, 2, 1) == 3.5);
  /* 3 ranks unbound on 2 CPUs: 2/3 each (the count rounds down to, and is at least, 1) */
  const char *three[] = {"11", "11", "11"};
  masks_of(three, 3, m);
  ck_assert(prsvd_cpu_share(m, 8, 3, 2) > 0.666 && prsvd_cpu_share(m, 8, 3, 2) < 0.667);
}
END_TEST

struct job {
  int ran[8];
  int seen_all[8];
  struct prsvd_pool *pool;
};

/* each thread marks its index, meets the others, then checks that every index was marked */
static void mark(void *arg, int t) {
  struct job *j = arg;
  j->ran[t]++;
  prsvd_pool_barrier(j->pool);
  int all = 1;
  for (int u = 0; u < 5; u++) all &= j->ran[u] > 0;
  j->seen_all[t] = all;
}

START_TEST(pool_runs_every_index_once) {
  struct job j;
  memset(&j, 0, sizeof j);
  ck_assert_int_eq(prsvd_pool_create(5, &j.pool), 0);
  ck_assert_int_eq(prsvd_pool_threads(j.pool), 5);
  for (int round = 0; round < 100; round++) prsvd_pool_run(j.pool, mark, &j);
  for (int t = 0; t < 5; t++) ck_assert(j.ran[t] == 100 && j.seen_all[t]);
  ck_assert_int_eq(j.ran[5], 0);
  prsvd_pool_destroy(&j.pool);
  ck_assert(j.pool == NULL);
  /* one thread: no pool, fn(arg, 0) on the caller */
  struct prsvd_pool *none = NULL;
  ck_assert_int_eq(prsvd_pool_create(1, &none), 0);
  ck_assert(none == NULL && prsvd_pool_threads(none) == 1);
  memset(&j, 0, sizeof j);
  prsvd_pool_run(none, mark, &j);
  ck_assert(j.ran[0] == 1 && j.ran[1] == 0);
  ck_assert_int_ne(prsvd_pool_create(0, &none), 0);
}
END_TEST

/* The BLAS's thread count is set and read back (OpenBLAS; another BLAS may not say). */
START_TEST(blas_threads_set) {
  const int before = prsvd_blas_threads_set(3);
  if (!strcmp(prsvd_blas_threads_control(), "openblas"))
    ck_assert_int_eq(prsvd_blas_threads_get(), 3);
  prsvd_blas_threads_set(1);
  if (!strcmp(prsvd_blas_threads_control(), "openblas"))
    ck_assert_int_eq(prsvd_blas_threads_get(), 1);
  if (before > 0) prsvd_blas_threads_set(before);
}
END_TEST

Suite *threads_suite(void) {
  Suite *s = suite_create("threads");
  TCase *tc = tcase_create("share");
  tcase_add_test(tc, fair_share);
  suite_add_tcase(s, tc);
  tc = tcase_create("pool");
  tcase_add_test(tc, pool_runs_every_index_once);
  suite_add_tcase(s, tc);
  tc = tcase_create("blas");
  tcase_add_test(tc, blas_threads_set);
  suite_add_tcase(s, tc);
  return s;
}
