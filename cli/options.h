/*
 * Options declared once, in a table per subcommand: type, default, bounds, help, and which
 * commands take it when commands share a table (svd and pca).  The same table parses argv,
 * prints --help (checked by tests/cli/CMD-help.golden), the man page's OPTIONS
 * (tools/man.sh) and docs/options.md (tools/options-md.sh).  An option a command does not
 * take is unknown to it, in its parsing and its help alike.  Unknown options, missing
 * values, bad numbers and out-of-range values are usage errors (PRSVD_ERR_USAGE) naming the
 * option.
 */
#ifndef PRSVD_OPTIONS_H
#define PRSVD_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum prsvd_opt_type {
  PRSVD_OPT_INT,     /* int64_t */
  PRSVD_OPT_UINT64,  /* uint64_t */
  PRSVD_OPT_DOUBLE,  /* double */
  PRSVD_OPT_SIZE,    /* int64_t bytes, "512M", "2G", "4096" */
  PRSVD_OPT_STRING,  /* const char * (points into argv or the default) */
  PRSVD_OPT_FLAG,    /* int, set to 1 when present */
  PRSVD_OPT_LIST     /* struct prsvd_opt_list: every value of a repeated option */
};

#define PRSVD_OPT_LIST_MAX 32
struct prsvd_opt_list {
  int n;
  const char *items[PRSVD_OPT_LIST_MAX]; /* point into argv */
};

struct prsvd_option {
  const char *long_name;
  char short_name;            /* 0 if none */
  enum prsvd_opt_type type;
  const char *metavar;        /* "K", "SIZE", ... */
  const char *def;            /* default as text, NULL for none */
  double min, max;            /* bounds for numbers (inclusive) */
  int flags;                  /* PRSVD_OPT_REQUIRED, PRSVD_OPT_FOR(commands) */
  const char *help;
  size_t offset;              /* where the value goes in the caller's struct */
};
#define PRSVD_OPT_END {NULL, 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, NULL, 0}
/* flags: the option must be given; only the commands whose prsvd_command_doc.command bit is
 * in `commands` take it (without PRSVD_OPT_FOR, every command of the table does). */
#define PRSVD_OPT_REQUIRED 1
#define PRSVD_OPT_FOR(commands) ((int)(commands) << 8)
/* The flags many commands share, declared once (T: the command's option struct). */
#define PRSVD_OPT_FORCE(T) \
  {"force", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "replace an existing output file", offsetof(T, force)}
#define PRSVD_OPT_JSON(T) \
  {"json", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "print the results as one JSON object on stdout", offsetof(T, json)}
#define PRSVD_OPT_PROGRESS(T)                                                                   \
  {"progress", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "show progress even when stderr is not a terminal", \
   offsetof(T, progress)}
#define PRSVD_OPT_QUIET(T, help) {"quiet", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, help, offsetof(T, quiet)}
#define PRSVD_OPT_PRECISION(T)                                                                  \
  {"precision", 0, PRSVD_OPT_STRING, "P", "auto", 0, 0, 0,                                        \
   "panel products: single (float32, SGEMM), double, or auto (single for float32 data)", \
   offsetof(T, precision)}
#define PRSVD_OPT_READ(T)                                                                       \
  {"read", 0, PRSVD_OPT_STRING, "MODE", "posix", 0, 0, 0,                                        \
   "how ranks read the input: posix (a contiguous float64/float32 dataset mapped from the page "  \
   "cache, no copy; posix-map says the same), posix-copy (always copied), or MPI-IO independent " \
   "or collective",                                                                              \
   offsetof(T, read)}
#define PRSVD_OPT_PANELS(T) PRSVD_OPT_PANELS_FOR(T, 0)
#define PRSVD_OPT_PANELS_FOR(T, flags)                                                          \
  {"panels", 0, PRSVD_OPT_STRING, "DIR", "auto", 0, 0, flags,                                     \
   "stream rows or columns of the dataset; auto: columns for column-shaped chunks or n >= 8 m",   \
   offsetof(T, panels)}
#define PRSVD_OPT_ALLOW_MISSING_SOURCES(T)                                                      \
  {"allow-missing-sources", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0,                             \
   "read a virtual dataset's missing source files or datasets as its fill value, as HDF5 does "  \
   "(default: refuse, naming the first)", offsetof(T, allow_missing_sources)}
#define PRSVD_OPT_MPIIO_HINT(T)                                                                 \
  {"mpiio-hint", 0, PRSVD_OPT_LIST, "KEY=VALUE", NULL, 0, 0, 0,                                   \
   "an MPI-IO hint for the files opened through MPI-IO (repeatable; Lustre and GPFS hints: "      \
   "docs/usage.md)",                                                                            \
   offsetof(T, mpiio_hints)}
/* --threads T, the compute threads of a rank (T: the option struct, with an int64_t threads;
 * what: a phrase saying what the command's threads do). */
#define PRSVD_OPT_THREADS(T, what)                                                              \
  {"threads", 0, PRSVD_OPT_INT, "T", NULL, 1, PRSVD_MAX_THREADS, 0,                               \
   "compute threads a rank, " what " (default: the CPUs of the rank's affinity mask, shared "      \
   "among the ranks that may run on them)", offsetof(T, threads)}
#define PRSVD_OPT_DEBUG(T) \
  {"debug", 0, PRSVD_OPT_FLAG, NULL, NULL, 0, 0, 0, "show error traces and HDF5's error stack", offsetof(T, debug)}
/* The last rows of a command that writes an output as it goes: --force, --json, --progress,
 * --quiet (QUIET_HELP says what it silences), --debug, and the table's end. */
#define PRSVD_OPT_RUN_END(T, QUIET_HELP)                                                        \
  PRSVD_OPT_FORCE(T), PRSVD_OPT_JSON(T), PRSVD_OPT_PROGRESS(T), PRSVD_OPT_QUIET(T, QUIET_HELP), \
      PRSVD_OPT_DEBUG(T), PRSVD_OPT_END

/* --checkpoint FILE and --checkpoint-every SECONDS (T has checkpoint, checkpoint_every). */
#define PRSVD_OPT_CHECKPOINT(T)                                                                  \
  {"checkpoint", 0, PRSVD_OPT_STRING, "FILE", NULL, 0, 0, 0,                                    \
   "save the state here; SIGUSR1/SIGTERM save and exit 99; a rerun resumes", offsetof(T, checkpoint)}, \
  {"checkpoint-every", 0, PRSVD_OPT_DOUBLE, "SECONDS", "600", 0, 1e9, 0,                          \
   "with --checkpoint: also save this often (0: only on a signal)", offsetof(T, checkpoint_every)}

struct prsvd_command_doc {
  const char *name;      /* "svd" */
  const char *usage;     /* "FILE.h5:/DATASET -k K -o OUT.h5 [options]" */
  const char *summary;   /* paragraphs, wrapped when printed: "\n" is a space, "\n\n" a break */
  int n_positional;      /* exact count of positional arguments */
  const char *examples;  /* "# what it does\ncommand\n..." (NULL: none) */
  unsigned command;      /* this command's bit, for tables shared by commands (else 0) */
};

/* Returns PRSVD_OK, PRSVD_ERR_USAGE, or -1 when --help was asked for (help printed).
 * --help=man and --help=markdown print the same help as roff or Markdown, for
 * tools/man.sh and tools/options-md.sh. */
int prsvd_options_parse(const struct prsvd_command_doc *doc, const struct prsvd_option *table,
                        int argc, char **argv, void *out, const char **positional);
/* Whether the last prsvd_options_parse set `field` (the address of a member of its out struct)
 * from the command line, not from the option's default: a command may fit a default to the
 * matrix but refuses a value the user gave that does not fit. */
int prsvd_option_given(const void *field);

enum prsvd_help_format { PRSVD_HELP_TEXT, PRSVD_HELP_MAN, PRSVD_HELP_MARKDOWN };
/* The options this command takes, wrapped to PRSVD_HELP_WIDTH columns (text), after its
 * usage and summary and before its examples. */
void prsvd_options_help(FILE *f, const struct prsvd_command_doc *doc,
                        const struct prsvd_option *table);
void prsvd_options_help_as(FILE *f, enum prsvd_help_format format,
                           const struct prsvd_command_doc *doc, const struct prsvd_option *table);
/* The widest line --help prints. */
#define PRSVD_HELP_WIDTH 79
/* text filled into lines of at most PRSVD_HELP_WIDTH columns, every line after the first
 * starting at column `indent`; the first continues from column `col` (where the caller's
 * output stands).  A single "\n" in text is a space, "\n\n" a blank line. */
void prsvd_help_wrap(FILE *f, const char *text, int col, int indent);
/* The index of text among the n names, or PRSVD_ERR_USAGE naming the option and the names. */
int prsvd_parse_choice(const char *text, const char *option, const char *const *names, int n, int *index);
/* "512M" -> 536870912; PRSVD_ERR_USAGE naming `what` on a bad SIZE or one above 2^62 bytes. */
int prsvd_parse_size(const char *text, const char *what, int64_t *bytes);
/* "RxC" (or "RXC") -> *a = R, *b = C, both in [1, max]; PRSVD_ERR_USAGE naming the option
 * and, for a bad form, what was expected ("ROWSxCOLS (e.g. 1000x500)"). */
int prsvd_parse_pair(const char *text, const char *option, const char *expected, int64_t max, int64_t *a,
                     int64_t *b);
/* 536870912 -> "512.0 MiB" */
const char *prsvd_format_bytes(double bytes, char *buf, size_t len);

#endif
