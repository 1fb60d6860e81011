/* The structure checks of stored sparse matrices (io/h5sparse.h, prsvd_csr_check) on arrays
 * in memory: a valid matrix densified right, and each malformed structure refused with the
 * row it names.  The fuzz target's crashing inputs (tests/fuzz/regressions) are cases here. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "source_impl.h"
#include "sparse_memory.h"
#include "suites.h"

/* A rows x cols CSR structure in memory as a source (the layout checked first, as on open). */
struct stored {
  struct sparse_memory m;
  struct prsvd_sparse_arrays a;
  prsvd_source *src;
};

static int open_stored(struct stored *s, int64_t rows, int64_t cols, const int64_t *indptr, int64_t n_indptr,
                       const int64_t *indices, int64_t n_indices, const double *data, int64_t nnz) {
  static const struct prsvd_source_ops ops = {.read_csr = sparse_memory_read_csr};
  const int64_t shape[2] = {rows, cols};
  s->m = (struct sparse_memory){{n_indptr, n_indices, nnz}, indptr, indices, data};
  s->a = (struct prsvd_sparse_arrays){"mem.h5:/X", rows, cols, nnz, sparse_memory_read, &s->m};
  s->src = NULL;
  prsvd_error_clear();
  int status = prsvd_sparse_check_layout(&s->a, "'/X' in 'mem.h5'", "csr", shape, n_indices, n_indptr);
  if (!status) status = prsvd_source_create_sparse(rows, cols, nnz, s->a.name, &ops, &s->a, &s->src);
  return status;
}

static const double ones[8] = {1, 2, 3, 4, 5, 6, 7, 8};

START_TEST(test_valid_densified) {
  const int64_t indptr[] = {0, 2, 3, 3, 5}, indices[] = {0, 3, 1, 2, 3};
  struct stored s;
  double dense[16];
  const double want[16] = {1, 0, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 4, 5};
  ck_assert_int_eq(open_stored(&s, 4, 4, indptr, 5, indices, 5, ones, 5), PRSVD_OK);
  ck_assert_int_eq(prsvd_source_read(s.src, 0, 3, dense), PRSVD_OK); /* panels of 3 and 1 rows */
  ck_assert_int_eq(prsvd_source_read(s.src, 3, 1, dense + 12), PRSVD_OK);
  for (int i = 0; i < 16; i++) ck_assert_double_eq(dense[i], want[i]);
  prsvd_source_destroy(&s.src);
}
END_TEST

/* fuzz_sparse's first crash (tests/fuzz/regressions/sparse-indptr-decreases-inside-panel):
 * indptr runs 0 .. 5 overall, but within the panel of rows [0, 2) it rises to 2 and falls to
 * 0, so the panel holds no entries while row 0 claims two: read past the panel's arrays. */
START_TEST(test_indptr_decreases_inside_panel) {
  const int64_t indptr[] = {0, 2, 0, 5}, indices[] = {0, 3, 1, 2, 3};
  struct stored s;
  double dense[12];
  struct prsvd_csr csr = {0};
  ck_assert_int_eq(open_stored(&s, 3, 4, indptr, 4, indices, 5, ones, 5), PRSVD_OK);
  ck_assert_int_eq(prsvd_source_read_csr(s.src, 0, 2, &csr), PRSVD_ERR_INPUT);
  ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "'mem.h5:/X': indptr decreases at row 1"));
  ck_assert_int_eq(prsvd_source_read(s.src, 0, 2, dense), PRSVD_ERR_INPUT); /* densified too */
  prsvd_csr_free(&csr);
  prsvd_source_destroy(&s.src);
}
END_TEST

START_TEST(test_column_outside) {
  const int64_t indptr[] = {0, 1, 2}, indices[] = {0, 4};
  struct stored s;
  struct prsvd_csr csr = {0};
  ck_assert_int_eq(open_stored(&s, 2, 4, indptr, 3, indices, 2, ones, 2), PRSVD_OK);
  ck_assert_int_eq(prsvd_source_read_csr(s.src, 0, 2, &csr), PRSVD_ERR_INPUT);
  ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "row 1 has column index 4 outside [0, 4)"));
  prsvd_csr_free(&csr);
  prsvd_source_destroy(&s.src);
}
END_TEST

START_TEST(test_indptr_outside_entries) {
  const int64_t indptr[] = {0, 7, 3, 5}, indices[] = {0, 1, 2, 3, 0};
  struct stored s;
  struct prsvd_csr csr = {0};
  ck_assert_int_eq(open_stored(&s, 3, 4, indptr, 4, indices, 5, ones, 5), PRSVD_OK);
  ck_assert_int_eq(prsvd_source_read_csr(s.src, 0, 1, &csr), PRSVD_ERR_INPUT);
  ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "indptr of rows [0, 1) points outside [0, nnz = 5]"));
  prsvd_csr_free(&csr);
  prsvd_source_destroy(&s.src);
}
END_TEST

START_TEST(test_layout_refused) {
  const int64_t indptr[] = {0, 1, 2, 3}, indices[] = {0, 1, 2};
  struct stored s;
  ck_assert_int_eq(open_stored(&s, 3, 4, indptr, 4, indices, 2, ones, 3), PRSVD_ERR_INPUT);
  ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "indices has 2 entries but data has 3"));
  ck_assert_int_eq(open_stored(&s, 3, 4, indptr, 3, indices, 3, ones, 3), PRSVD_ERR_INPUT);
  ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "indptr has 3 entries, expected 4 for csr shape 3 x 4"));
  ck_assert_int_eq(open_stored(&s, 3, 4, indptr, 4, indices, 2, ones, 2), PRSVD_ERR_INPUT);
  ck_assert_int_eq(open_stored(&s, 2, 4, indptr + 1, 3, indices, 2, ones, 2), PRSVD_ERR_INPUT);
  ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "indptr runs from 1 to 3, expected 0 to nnz = 2"));
}
END_TEST

Suite *sparse_suite(void) {
  Suite *s = suite_create("sparse");
  TCase *tc = tcase_create("structure");
  tcase_add_test(tc, test_valid_densified);
  tcase_add_test(tc, test_indptr_decreases_inside_panel);
  tcase_add_test(tc, test_column_outside);
  tcase_add_test(tc, test_indptr_outside_entries);
  tcase_add_test(tc, test_layout_refused);
  suite_add_tcase(s, tc);
  return s;
}
