/* The serial Check suites, one per concern. */
#ifndef PRSVD_TEST_SUITES_H
#define PRSVD_TEST_SUITES_H

#include <check.h>

Suite *rng_suite(void);
Suite *options_suite(void);
Suite *h5read_suite(void);
Suite *kfac_suite(void);
Suite *idx_suite(void);
Suite *sparse_suite(void);
Suite *threads_suite(void);
Suite *tucker_suite(void);
Suite *scratch_suite(void);
Suite *scan_suite(void);

#endif
