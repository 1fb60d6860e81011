/* A method's scratch arena (src/scratch.h): what it holds is released by one call, a buffer
 * taken back is the caller's, a matrix handle named to it is destroyed whatever it holds at
 * the end, and its allocation fails with PRSVD_ALLOC's own error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "scratch.h"
#include "suites.h"

/* PRSVD_SCRATCH_ALLOC of count doubles into s, as a method calls it: its status */
static int alloc_into(struct prsvd_scratch *s, int64_t count, double **out) {
  int status = PRSVD_OK;
  double *x = NULL;
  PRSVD_SCRATCH_ALLOC(s, x, count);
  x[count - 1] = 1.0; /* zeroed, and all of it ours */
  *out = x;
done:
  return status;
}

/* PRSVD_ALLOC of count doubles, freed: its status */
static int alloc_plain(int64_t count) {
  int status = PRSVD_OK;
  double *x = NULL;
  PRSVD_ALLOC(x, count);
done:
  free(x);
  return status;
}

START_TEST(buffers_freed_in_one_call) {
  struct prsvd_scratch s = {0};
  double *a, *b, *c;
  ck_assert_int_eq(alloc_into(&s, 10, &a), PRSVD_OK);
  ck_assert_int_eq(alloc_into(&s, 1000, &b), PRSVD_OK);
  ck_assert_int_eq(alloc_into(&s, 3, &c), PRSVD_OK);
  ck_assert(a[0] == 0.0 && a[9] == 1.0 && b[0] == 0.0);
  ck_assert_int_eq(s.n_bufs, 3);
  /* b taken back: the caller's to free, no longer the arena's */
  ck_assert_ptr_eq(prsvd_scratch_take(&s, b), b);
  ck_assert_int_eq(s.n_bufs, 2);
  for (int i = 0; i < s.n_bufs; i++) ck_assert_ptr_ne(s.bufs[i], b);
  free(b);
  prsvd_scratch_free(&s);
  ck_assert_int_eq(s.n_bufs, 0);
  prsvd_scratch_free(&s); /* an empty arena again: nothing to free twice */
}
END_TEST

START_TEST(allocation_errors_are_alloc_errors) {
  struct prsvd_scratch s = {0};
  double *x = NULL;
  char want[256];
  /* a negative count (a size computed wrongly): PRSVD_ALLOC's code and message, nothing kept.
   * (A count too large for memory is the same path, but the sanitizer build reports such a
   * calloc instead of returning NULL.) */
  const int code = alloc_plain(-1);
  snprintf(want, sizeof want, "%s", prsvd_error_message());
  prsvd_error_clear();
  ck_assert_int_eq(code, PRSVD_ERR_INTERNAL);
  ck_assert_int_eq(alloc_into(&s, -1, &x), code);
  ck_assert_str_eq(prsvd_error_message(), want);
  ck_assert_int_eq(s.n_bufs, 0);
  prsvd_error_clear();
}
END_TEST

START_TEST(full_arena_is_an_internal_error) {
  struct prsvd_scratch s = {0};
  double *x;
  for (int i = 0; i < PRSVD_SCRATCH_MAX_BUFS; i++) ck_assert_int_eq(alloc_into(&s, 4, &x), PRSVD_OK);
  ck_assert_int_eq(alloc_into(&s, 4, &x), PRSVD_ERR_INTERNAL);
  ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "buffers"));
  ck_assert_int_eq(s.n_bufs, PRSVD_SCRATCH_MAX_BUFS);
  prsvd_error_clear();
  prsvd_dmat *h[PRSVD_SCRATCH_MAX_MATS + 1] = {NULL};
  prsvd_dmat **handles[PRSVD_SCRATCH_MAX_MATS + 1];
  for (int i = 0; i <= PRSVD_SCRATCH_MAX_MATS; i++) handles[i] = &h[i];
  ck_assert_int_eq(prsvd_scratch_mats(&s, handles, PRSVD_SCRATCH_MAX_MATS + 1), PRSVD_ERR_INTERNAL);
  ck_assert_int_eq(s.n_mats, 0);
  prsvd_error_clear();
  prsvd_scratch_free(&s);
  ck_assert_int_eq(s.n_bufs, 0);
}
END_TEST

/* name y, z, w to the arena as a method does (the caller's status) */
static int name_mats(struct prsvd_scratch *s, prsvd_dmat **y, prsvd_dmat **z, prsvd_dmat **w) {
  int status = PRSVD_OK;
  PRSVD_SCRATCH_MATS(s, y, z, w);
done:
  return status;
}

START_TEST(matrices_destroyed_as_they_are_at_the_end) {
  struct prsvd_scratch s = {0};
  prsvd_grid *grid = NULL;
  prsvd_dmat *y = NULL, *z = NULL, *w = NULL, *given = NULL;
  ck_assert_int_eq(prsvd_grid_create(MPI_COMM_SELF, &grid), PRSVD_OK);
  ck_assert_int_eq(name_mats(&s, &y, &z, &w), PRSVD_OK);
  ck_assert_int_eq(s.n_mats, 3);
  /* y made twice (the first destroyed by the method), z handed out, w never made */
  ck_assert_int_eq(prsvd_dmat_create(grid, 5, 2, &y), PRSVD_OK);
  prsvd_dmat_destroy(&y);
  ck_assert_int_eq(prsvd_dmat_create(grid, 6, 3, &y), PRSVD_OK);
  ck_assert_int_eq(prsvd_dmat_create(grid, 4, 1, &z), PRSVD_OK);
  given = z, z = NULL;
  prsvd_scratch_free(&s);
  ck_assert_ptr_null(y);
  ck_assert_ptr_null(w);
  ck_assert_int_eq(s.n_mats, 0);
  ck_assert_int_eq(prsvd_dmat_rows(given), 4); /* still whole: the arena left it */
  prsvd_dmat_destroy(&given);
  prsvd_grid_destroy(&grid);
}
END_TEST

Suite *scratch_suite(void) {
  Suite *s = suite_create("scratch");
  TCase *tc = tcase_create("buffers");
  tcase_add_test(tc, buffers_freed_in_one_call);
  tcase_add_test(tc, allocation_errors_are_alloc_errors);
  tcase_add_test(tc, full_arena_is_an_internal_error);
  suite_add_tcase(s, tc);
  tc = tcase_create("matrices");
  tcase_add_test(tc, matrices_destroyed_as_they_are_at_the_end);
  suite_add_tcase(s, tc);
  return s;
}
