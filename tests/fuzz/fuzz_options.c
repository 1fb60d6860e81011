/*
 * libFuzzer target: the option parser (cli/options.c) over a table holding every option type,
 * the SIZE parser, and the input-spec parser (prsvd_h5_parse_spec, "FILE:/DATASET").  The input
 * is a list of NUL-separated arguments.  Beyond the sanitizers, it aborts when a parse that
 * succeeded breaks what it promises: values inside the table's bounds, a spec split into a
 * non-empty file and a dataset path starting with '/' that rejoin to the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prsvd_h5.h"
#include "error.h"
#include "options.h"

struct fuzz_opts {
  int64_t rank, memory;
  uint64_t seed;
  double tol;
  const char *output;
  int force;
};

#define O(f) offsetof(struct fuzz_opts, f)
static const struct prsvd_option table[] = {
    {"rank", 'k', PRSVD_OPT_INT, "K", NULL, 1, 1e12, 0, "an integer in [1, 1e12]", O(rank)},
    {"seed", 0, PRSVD_OPT_UINT64, "S", "0", 0, 0, 0, "an unsigned integer", O(seed)},
    {"tol", 0, PRSVD_OPT_DOUBLE, "EPS", NULL, 1e-7, 0.999, 0, "a number in [1e-7, 0.999]", O(tol)},
    {"memory", 0, PRSVD_OPT_SIZE, "SIZE", "512M", 8, 0, 0, "a size of at least 8 bytes", O(memory)},
    {"output", 'o', PRSVD_OPT_STRING, "OUT.h5", NULL, 0, 0, 1, "a string (required)", O(output)},
    {"force", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "a flag", O(force)},
    PRSVD_OPT_END};
#undef O
static const struct prsvd_command_doc doc = {"fuzz", "FILE.h5:/DATASET -o OUT.h5 [options]", "The fuzz target.", 1, NULL, 0};

static void spec_must_hold(const char *spec) {
  char *file = NULL, *dataset = NULL;
  if (prsvd_h5_parse_spec(spec, &file, &dataset) == PRSVD_OK) {
    if (!file[0] || dataset[0] != '/' || strlen(file) + 1 + strlen(dataset) != strlen(spec) ||
        strncmp(spec, file, strlen(file)) || strcmp(spec + strlen(file) + 1, dataset))
      abort();
  }
  free(file);
  free(dataset);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf, *argv[66];
  int argc = 0;
  if (size > 4096) return 0;
  buf = malloc(size + 1);
  memcpy(buf, data, size);
  buf[size] = '\0';
  argv[argc++] = "fuzz";
  for (size_t i = 0; i < size + 1 && argc < 65; i += strlen(buf + i) + 1) argv[argc++] = buf + i;
  argv[argc] = NULL;

  struct fuzz_opts o;
  const char *pos[1] = {NULL};
  if (prsvd_options_parse(&doc, table, argc, argv, &o, pos) == PRSVD_OK) {
    if ((o.rank && (o.rank < 1 || o.rank > 1000000000000LL)) || o.memory < 8 || !o.output || !pos[0] ||
        (o.tol != 0.0 && !(o.tol >= 1e-7 && o.tol <= 0.999)))
      abort();
    spec_must_hold(pos[0]);
  }
  for (int i = 1; i < argc; i++) {
    int64_t bytes = -1;
    if (prsvd_parse_size(argv[i], "fuzz", &bytes) == PRSVD_OK && bytes < 0) abort();
    spec_must_hold(argv[i]);
  }
  prsvd_error_clear();
  free(buf);
  return 0;
}
