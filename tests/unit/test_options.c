/* The option table parser: values, defaults, bounds, and every usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "options.h"
#include "suites.h"

struct t_opts {
  int64_t rank, memory;
  double tol;
  uint64_t seed;
  const char *output;
  int force;
};

#define O(f) offsetof(struct t_opts, f)
static const struct prsvd_option table[] = {
    {"rank", 'k', PRSVD_OPT_INT, "K", NULL, 1, 1000, 1, "rank", O(rank)},
    {"memory", 0, PRSVD_OPT_SIZE, "SIZE", "512M", 1, 0, 0, "budget", O(memory)},
    {"tol", 0, PRSVD_OPT_DOUBLE, "EPS", "0.5", 0, 1, 0, "tolerance", O(tol)},
    {"seed", 0, PRSVD_OPT_UINT64, "S", "7", 0, 0, 0, "seed", O(seed)},
    {"output", 'o', PRSVD_OPT_STRING, "OUT", NULL, 0, 0, 0, "output", O(output)},
    {"force", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "force", O(force)},
    PRSVD_OPT_END};
#undef O
static const struct prsvd_command_doc doc = {"test", "IN -k K", "A test command.", 1, NULL, 0};

static int parse(int argc, const char **argv, struct t_opts *o, const char **pos) {
  prsvd_error_clear();
  return prsvd_options_parse(&doc, table, argc, (char **)argv, o, pos);
}

START_TEST(sizes) {
  int64_t b;
  ck_assert_int_eq(prsvd_parse_size("512M", "--memory", &b), 0);
  ck_assert_int_eq(b, 512LL << 20);
  ck_assert_int_eq(prsvd_parse_size("2G", "--memory", &b), 0);
  ck_assert_int_eq(b, 2LL << 30);
  ck_assert_int_eq(prsvd_parse_size("64KiB", "--memory", &b), 0);
  ck_assert_int_eq(b, 64LL << 10);
  ck_assert_int_eq(prsvd_parse_size("4096", "--memory", &b), 0);
  ck_assert_int_eq(b, 4096);
  ck_assert_int_eq(prsvd_parse_size("1.5K", "--memory", &b), 0);
  ck_assert_int_eq(b, 1536);
  const char *bad[] = {"", "12X", "-1M", "M", "1MM", "nan"};
  for (int i = 0; i < 6; i++) {
    ck_assert_int_eq(prsvd_parse_size(bad[i], "--memory", &b), PRSVD_ERR_USAGE);
    ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "bad SIZE"));
    ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "--memory"));
  }
}
END_TEST

START_TEST(values_and_defaults) {
  struct t_opts o;
  memset(&o, 0x5a, sizeof o); /* options not given and without a default must come out empty */
  const char *pos0[1] = {NULL};
  const char *bare[] = {"test", "in.h5:/A", "-k", "2"};
  ck_assert_int_eq(parse(4, bare, &o, pos0), 0);
  ck_assert_ptr_null(o.output);
  ck_assert_int_eq(o.force, 0);
  const char *pos[1] = {NULL};
  const char *argv[] = {"test", "in.h5:/A", "-k", "5", "--memory=1G", "-oout.h5", "--force"};
  ck_assert_int_eq(parse(7, argv, &o, pos), 0);
  ck_assert_str_eq(pos[0], "in.h5:/A");
  ck_assert_int_eq(o.rank, 5);
  ck_assert_int_eq(o.memory, 1LL << 30);
  ck_assert_str_eq(o.output, "out.h5");
  ck_assert_int_eq(o.force, 1);
  ck_assert_double_eq(o.tol, 0.5);
  ck_assert_uint_eq(o.seed, 7);
}
END_TEST

static void expect_usage(int argc, const char **argv, const char *needle) {
  struct t_opts o;
  const char *pos[1] = {NULL};
  ck_assert_int_eq(parse(argc, argv, &o, pos), PRSVD_ERR_USAGE);
  ck_assert_msg(strstr(prsvd_error_message(), needle), "message '%s' lacks '%s'",
                prsvd_error_message(), needle);
}

START_TEST(usage_errors) {
  const char *unknown[] = {"test", "in:/A", "-k", "3", "--bogus"};
  expect_usage(5, unknown, "unknown option '--bogus'");
  const char *missing[] = {"test", "in:/A"};
  expect_usage(2, missing, "missing required option --rank");
  const char *notint[] = {"test", "in:/A", "-k", "3x"};
  expect_usage(4, notint, "bad value '3x' for --rank");
  const char *range[] = {"test", "in:/A", "-k", "0"};
  expect_usage(4, range, "--rank = 0 is out of range");
  const char *novalue[] = {"test", "in:/A", "-k"};
  expect_usage(3, novalue, "option --rank needs a value");
  const char *flagval[] = {"test", "in:/A", "-k", "2", "--force=yes"};
  expect_usage(5, flagval, "option --force takes no value");
  const char *extra[] = {"test", "in:/A", "extra", "-k", "2"};
  expect_usage(5, extra, "unexpected argument 'extra'");
  const char *nopos[] = {"test", "-k", "2"};
  expect_usage(3, nopos, "missing argument");
  const char *badsize[] = {"test", "in:/A", "-k", "2", "--memory", "lots"};
  expect_usage(6, badsize, "bad SIZE 'lots' for --memory");
  const char *negseed[] = {"test", "in:/A", "-k", "2", "--seed", "-3"};
  expect_usage(6, negseed, "--seed");
  const char *tol[] = {"test", "in:/A", "-k", "2", "--tol", "2"};
  expect_usage(6, tol, "--tol = 2 is out of range");
}
END_TEST

/* A table shared by two commands, as svd and pca share theirs: "onepass" is A's alone, "rank"
 * has an entry per command (B's required, with its own default of --mode), "both" is both's. */
struct s_opts {
  int64_t rank;
  const char *mode;
  int onepass, both;
};
enum { CMD_A = 1, CMD_B = 2 };
#define S(f) offsetof(struct s_opts, f)
static const struct prsvd_option shared[] = {
    {"rank", 'k', PRSVD_OPT_INT, "K", NULL, 1, 1000, PRSVD_OPT_FOR(CMD_A), "A's rank", S(rank)},
    {"rank", 'k', PRSVD_OPT_INT, "K", NULL, 2, 1000, PRSVD_OPT_FOR(CMD_B) | PRSVD_OPT_REQUIRED, "B's rank", S(rank)},
    {"mode", 0, PRSVD_OPT_STRING, "M", "fast", 0, 0, PRSVD_OPT_FOR(CMD_A), "A's mode", S(mode)},
    {"onepass", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, PRSVD_OPT_FOR(CMD_A), "A's alone", S(onepass)},
    {"both", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "every command's", S(both)},
    PRSVD_OPT_END};
#undef S
static const struct prsvd_command_doc doc_a = {"a", "IN", "Command A.", 1, "# run a\nprsvd a in.h5:/X", CMD_A};
static const struct prsvd_command_doc doc_b = {"b", "IN -k K", "Command B.", 1, NULL, CMD_B};

static int parse_shared(const struct prsvd_command_doc *d, int argc, const char **argv, struct s_opts *o) {
  const char *pos[1] = {NULL};
  prsvd_error_clear();
  memset(o, 0x5a, sizeof *o);
  return prsvd_options_parse(d, shared, argc, (char **)argv, o, pos);
}

/* what --help prints for d, as a string the caller frees */
static char *help_of(const struct prsvd_command_doc *d, enum prsvd_help_format format) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  prsvd_options_help_as(f, format, d, shared);
  fclose(f);
  return text;
}

START_TEST(per_command_options) {
  struct s_opts o;
  const char *a_all[] = {"a", "in:/X", "-k", "1", "--onepass", "--both"};
  ck_assert_int_eq(parse_shared(&doc_a, 6, a_all, &o), 0);
  ck_assert_int_eq(o.rank, 1);
  ck_assert_int_eq(o.onepass, 1);
  ck_assert_str_eq(o.mode, "fast");
  /* B does not take --onepass or --mode: unknown to its parser, as to its help */
  const char *b_onepass[] = {"b", "in:/X", "-k", "3", "--onepass"};
  ck_assert_int_eq(parse_shared(&doc_b, 5, b_onepass, &o), PRSVD_ERR_USAGE);
  ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "unknown option '--onepass' for 'prsvd b'"));
  const char *b_mode[] = {"b", "in:/X", "-k", "3", "--mode", "slow"};
  ck_assert_int_eq(parse_shared(&doc_b, 6, b_mode, &o), PRSVD_ERR_USAGE);
  ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "unknown option '--mode'"));
  /* B's own entry for -k: its bounds, and required */
  const char *b_low[] = {"b", "in:/X", "-k", "1"};
  ck_assert_int_eq(parse_shared(&doc_b, 4, b_low, &o), PRSVD_ERR_USAGE);
  ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "out of range [2, 1000]"));
  const char *b_none[] = {"b", "in:/X"};
  ck_assert_int_eq(parse_shared(&doc_b, 2, b_none, &o), PRSVD_ERR_USAGE);
  ck_assert_ptr_nonnull(strstr(prsvd_error_message(), "missing required option --rank"));
  const char *a_none[] = {"a", "in:/X"};
  ck_assert_int_eq(parse_shared(&doc_a, 2, a_none, &o), 0); /* A's -k is optional */
  /* what B does not take still has its default (a command's code may read every field) */
  const char *b_ok[] = {"b", "in:/X", "-k", "2", "--both"};
  ck_assert_int_eq(parse_shared(&doc_b, 5, b_ok, &o), 0);
  ck_assert_str_eq(o.mode, "fast");
  ck_assert_int_eq(o.onepass, 0);
  ck_assert_int_eq(o.both, 1);
  /* the help of each lists what it takes, once */
  char *ha = help_of(&doc_a, PRSVD_HELP_TEXT), *hb = help_of(&doc_b, PRSVD_HELP_TEXT);
  ck_assert_ptr_nonnull(strstr(ha, "--onepass"));
  ck_assert_ptr_nonnull(strstr(ha, "A's rank"));
  ck_assert_ptr_null(strstr(ha, "B's rank"));
  ck_assert_ptr_nonnull(strstr(ha, "examples:\n  # run a\n  prsvd a in.h5:/X\n"));
  ck_assert_ptr_null(strstr(hb, "--onepass"));
  ck_assert_ptr_null(strstr(hb, "--mode"));
  ck_assert_ptr_null(strstr(hb, "A's rank"));
  ck_assert_ptr_nonnull(strstr(hb, "B's rank (required)"));
  ck_assert_ptr_nonnull(strstr(hb, "--both"));
  ck_assert_ptr_null(strstr(hb, "examples:"));
  free(ha), free(hb);
  char *mb = help_of(&doc_b, PRSVD_HELP_MARKDOWN), *rb = help_of(&doc_b, PRSVD_HELP_MAN);
  ck_assert_ptr_null(strstr(mb, "--onepass"));
  ck_assert_ptr_nonnull(strstr(mb, "| `-k`, `--rank K` | required | B's rank |"));
  ck_assert_ptr_null(strstr(rb, "onepass"));
  ck_assert_ptr_nonnull(strstr(rb, ".TP\n\\fB\\-k\\fR, \\fB\\-\\-rank\\fR \\fIK\\fR\nB's rank (required)\n"));
  free(mb), free(rb);
}
END_TEST

/* --help text: no line beyond PRSVD_HELP_WIDTH, words kept whole, continuation lines indented */
START_TEST(help_wrapping) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  prsvd_help_wrap(f,
                  "a long help text that goes on and on, well beyond the eighty columns of a "
                  "terminal, so that it must be wrapped into several lines at word boundaries,\n"
                  "with a soft newline here\n\nand a paragraph break there",
                  27, 27);
  fclose(f);
  int lines = 0;
  for (char *p = text, *nl; *p; p = nl + 1, lines++) {
    nl = strchr(p, '\n');
    ck_assert_ptr_nonnull(nl);
    ck_assert_int_le(nl - p + (lines == 0 ? 27 : 0), PRSVD_HELP_WIDTH);
    if (lines > 0 && nl > p) ck_assert_int_eq(strspn(p, " "), 27); /* the hanging indent */
  }
  ck_assert_int_ge(lines, 4);
  ck_assert_ptr_nonnull(strstr(text, "here\n\n")); /* "\n\n" a blank line */
  char words[512];
  size_t n = 0;
  for (const char *p = text; *p && n + 1 < sizeof words; p++) /* whitespace runs as one space */
    if (!(*p == ' ' || *p == '\n') || (n && words[n - 1] != ' ')) words[n++] = (*p == '\n') ? ' ' : *p;
  words[n] = '\0';
  ck_assert_ptr_nonnull(strstr(words, "at word boundaries, with a soft newline here and a paragraph break there"));
  free(text);
}
END_TEST

/* Numbers beyond their type's range say "too large" with the option's own bound, not
 * "expected a number" (--memory 9223372036854775807 did). */
START_TEST(too_large) {
  const char *rank[] = {"test", "in:/A", "-k", "99999999999999999999"};
  expect_usage(4, rank, "--rank = 99999999999999999999 is too large (at most 1000)");
  const char *memory[] = {"test", "in:/A", "-k", "2", "--memory", "9223372036854775807"};
  expect_usage(6, memory, "--memory = 9223372036854775807 is too large (at most 4611686018427387904 bytes)");
  const char *memory_t[] = {"test", "in:/A", "-k", "2", "--memory", "5000000T"};
  expect_usage(6, memory_t, "--memory = 5000000T is too large");
  const char *seed[] = {"test", "in:/A", "-k", "2", "--seed", "18446744073709551616"};
  expect_usage(6, seed, "--seed = 18446744073709551616 is too large (at most 18446744073709551615)");
  const char *tol[] = {"test", "in:/A", "-k", "2", "--tol", "1e999"};
  expect_usage(6, tol, "--tol = 1e999 is too large (at most 1)");
  const char *negative[] = {"test", "in:/A", "-k", "-99999999999999999999"};
  expect_usage(4, negative, "--rank = -99999999999999999999 is out of range");
  /* an underflow is the tiny number it stands for, within the bounds */
  struct t_opts o;
  const char *pos[1] = {NULL};
  const char *tiny[] = {"test", "in:/A", "-k", "2", "--tol", "1e-999"};
  ck_assert_int_eq(parse(6, tiny, &o, pos), 0);
  ck_assert(o.tol >= 0.0 && o.tol < 1e-300);
  int64_t b;
  ck_assert_int_eq(prsvd_parse_size("4611686018427387904", "--memory", &b), 0);
  ck_assert_int_eq(b, (int64_t)1 << 62);
}
END_TEST

START_TEST(pairs) {
  int64_t a, b;
  ck_assert_int_eq(prsvd_parse_pair("2x3", "--grid", "PRxPC", 100, &a, &b), 0);
  ck_assert(a == 2 && b == 3);
  ck_assert_int_eq(prsvd_parse_pair("1000X500", "--chunk", "RxC", INT64_MAX, &a, &b), 0);
  ck_assert(a == 1000 && b == 500);
  const char *bad[] = {"2by2", "0x3", "2x", "x2", "2x3x4", "2x-1", ""};
  for (int i = 0; i < 7; i++) {
    prsvd_error_clear();
    ck_assert_int_eq(prsvd_parse_pair(bad[i], "--grid", "PRxPC (e.g. 2x2)", 100, &a, &b), PRSVD_ERR_USAGE);
    ck_assert_msg(strstr(prsvd_error_message(), "bad --grid") && strstr(prsvd_error_message(), "expected PRxPC"),
                  "'%s': %s", bad[i], prsvd_error_message());
  }
  const char *large[] = {"101x1", "1x101", "99999999999999999999x1"};
  for (int i = 0; i < 3; i++) {
    prsvd_error_clear();
    ck_assert_int_eq(prsvd_parse_pair(large[i], "--grid", "PRxPC", 100, &a, &b), PRSVD_ERR_USAGE);
    ck_assert_msg(strstr(prsvd_error_message(), "is too large (at most 100 in each dimension)"), "'%s': %s",
                  large[i], prsvd_error_message());
  }
}
END_TEST

/* A command fits a default to the matrix but refuses a value given: it asks which it has. */
START_TEST(given) {
  struct t_opts o;
  const char *pos[1] = {NULL};
  const char *argv[] = {"test", "in:/A", "-k", "3", "--tol=0.5"};
  ck_assert_int_eq(parse(5, argv, &o, pos), 0);
  ck_assert(prsvd_option_given(&o.rank) && prsvd_option_given(&o.tol));
  ck_assert(!prsvd_option_given(&o.memory) && !prsvd_option_given(&o.seed)); /* defaults */
  const char *again[] = {"test", "in:/A", "-k", "3", "--memory", "1G"};
  ck_assert_int_eq(parse(6, again, &o, pos), 0);
  ck_assert(prsvd_option_given(&o.memory) && !prsvd_option_given(&o.tol)); /* the last parse's */
}
END_TEST

Suite *options_suite(void) {
  Suite *s = suite_create("options");
  TCase *t = tcase_create("parse");
  tcase_add_test(t, sizes);
  tcase_add_test(t, values_and_defaults);
  tcase_add_test(t, usage_errors);
  tcase_add_test(t, per_command_options);
  tcase_add_test(t, help_wrapping);
  tcase_add_test(t, too_large);
  tcase_add_test(t, pairs);
  tcase_add_test(t, given);
  suite_add_tcase(s, t);
  return s;
}
