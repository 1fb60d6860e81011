/* The option-table parser and help printer behind options.h. */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* The largest SIZE: it is parsed as a double, exact up to here, and any bound below 2^63
 * converts to int64 without overflow; no memory or budget comes near it (4 EiB). */
#define SIZE_MAX_BYTES 4611686018427387904.0 /* 2^62 */

int prsvd_parse_size(const char *text, const char *what, int64_t *bytes) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  double mult = 1;
  if (end == text || v < 0 || isnan(v) || (errno && !isinf(v))) goto bad;
  switch (*end) {
  case 'k': case 'K': mult = 1024.0; end++; break;
  case 'm': case 'M': mult = 1024.0 * 1024; end++; break;
  case 'g': case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
  case 't': case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
  default: break;
  }
  if (mult > 1 && *end == 'i') end++;
  if (*end == 'B' || *end == 'b') end++;
  if (*end) goto bad;
  if (v * mult > SIZE_MAX_BYTES)
    PRSVD_ERR(PRSVD_ERR_USAGE, "%s = %s is too large (at most %.0f bytes)", what, text, SIZE_MAX_BYTES);
  *bytes = (int64_t)(v * mult);
  return PRSVD_OK;
bad:
  PRSVD_ERR(PRSVD_ERR_USAGE, "bad SIZE '%s' for %s: expected a number with optional K, M, G or T",
            text, what);
}

int prsvd_parse_pair(const char *text, const char *option, const char *expected, int64_t max, int64_t *a,
                     int64_t *b) {
  char *end;
  long long v[2];
  const char *at = text;
  for (int i = 0; i < 2; i++) {
    errno = 0;
    v[i] = strtoll(at, &end, 10);
    if (end == at || v[i] < 1 || (i == 0 && *end != 'x' && *end != 'X') || (i == 1 && *end))
      PRSVD_ERR(PRSVD_ERR_USAGE, "bad %s '%s': expected %s", option, text, expected);
    if (errno || v[i] > max)
      PRSVD_ERR(PRSVD_ERR_USAGE, "%s %s is too large (at most %lld in each dimension)", option, text,
                (long long)max);
    at = end + 1;
  }
  *a = v[0];
  *b = v[1];
  return PRSVD_OK;
}

int prsvd_parse_choice(const char *text, const char *option, const char *const *names, int n, int *index) {
  char list[256];
  size_t used = 0;
  for (int i = 0; i < n; i++) {
    if (!strcmp(text, names[i])) {
      *index = i;
      return PRSVD_OK;
    }
    used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
                             names[i]);
    if (used >= sizeof list) used = sizeof list - 1;
  }
  PRSVD_ERR(PRSVD_ERR_USAGE, "unknown %s '%s': expected %s", option, text, list);
}

const char *prsvd_format_bytes(double bytes, char *buf, size_t len) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) bytes /= 1024, u++;
  snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return buf;
}

/* A number too large for its type (strtoll, strtoull and strtod clamp it and set ERANGE):
 * said so, with the option's own bound, rather than "expected a number". */
static int too_large(const char *name, const char *text, const char *limit) {
  PRSVD_ERR(PRSVD_ERR_USAGE, "%s = %s is too large (at most %s)", name, text, limit);
}

static int set_value(const struct prsvd_option *o, const char *text, void *out) {
  char *end, name[64], limit[32];
  char *dst = (char *)out + o->offset;
  snprintf(name, sizeof name, "--%s", o->long_name);
  errno = 0;
  switch (o->type) {
  case PRSVD_OPT_INT: {
    long long v = strtoll(text, &end, 10);
    if (end == text || *end || (errno && errno != ERANGE))
      PRSVD_ERR(PRSVD_ERR_USAGE, "bad value '%s' for %s: expected an integer", text, name);
    if (errno == ERANGE && v > 0) {
      snprintf(limit, sizeof limit, "%.0f", o->max);
      return too_large(name, text, limit);
    }
    if (errno == ERANGE || v < o->min || v > o->max)
      PRSVD_ERR(PRSVD_ERR_USAGE, "%s = %s is out of range [%.0f, %.0f]", name, text, o->min, o->max);
    *(int64_t *)dst = v;
    break;
  }
  case PRSVD_OPT_UINT64: {
    if (text[0] == '-') PRSVD_ERR(PRSVD_ERR_USAGE, "bad value '%s' for %s: expected a non-negative integer", text, name);
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end || (errno && errno != ERANGE))
      PRSVD_ERR(PRSVD_ERR_USAGE, "bad value '%s' for %s: expected a non-negative integer", text, name);
    if (errno == ERANGE) {
      snprintf(limit, sizeof limit, "%llu", (unsigned long long)UINT64_MAX);
      return too_large(name, text, limit);
    }
    *(uint64_t *)dst = v;
    break;
  }
  case PRSVD_OPT_DOUBLE: {
    double v = strtod(text, &end);
    if (end == text || *end || isnan(v))
      PRSVD_ERR(PRSVD_ERR_USAGE, "bad value '%s' for %s: expected a number", text, name);
    if (isinf(v) && v > 0) { /* 1e999 (ERANGE) or "inf" */
      snprintf(limit, sizeof limit, "%g", o->max);
      return too_large(name, text, limit);
    }
    /* an underflow (ERANGE, 1e-999) is the tiny value strtod returns, judged by the bounds */
    if (v < o->min || v > o->max)
      PRSVD_ERR(PRSVD_ERR_USAGE, "%s = %g is out of range [%g, %g]", name, v, o->min, o->max);
    *(double *)dst = v;
    break;
  }
  case PRSVD_OPT_SIZE: {
    int64_t v;
    PRSVD_CHECK(prsvd_parse_size(text, name, &v));
    if ((double)v < o->min)
      PRSVD_ERR(PRSVD_ERR_USAGE, "%s = %s is below the minimum of %.0f bytes", name, text, o->min);
    *(int64_t *)dst = v;
    break;
  }
  case PRSVD_OPT_STRING: *(const char **)dst = text; break;
  case PRSVD_OPT_FLAG: *(int *)dst = 1; break;
  case PRSVD_OPT_LIST: {
    struct prsvd_opt_list *list = (struct prsvd_opt_list *)dst;
    if (list->n == PRSVD_OPT_LIST_MAX)
      PRSVD_ERR(PRSVD_ERR_USAGE, "%s given more than %d times", name, PRSVD_OPT_LIST_MAX);
    list->items[list->n++] = text;
    break;
  }
  }
  return PRSVD_OK;
}

/* Whether the command of `doc` takes option o (tables shared by commands mark theirs). */
static int takes(const struct prsvd_command_doc *doc, const struct prsvd_option *o) {
  const unsigned only = (unsigned)o->flags >> 8;
  return !only || (only & doc->command);
}

static const struct prsvd_option *find(const struct prsvd_command_doc *doc, const struct prsvd_option *t,
                                       const char *lng, char shrt) {
  for (; t->long_name; t++)
    if (takes(doc, t) && ((lng && !strcmp(t->long_name, lng)) || (shrt && t->short_name == shrt))) return t;
  return NULL;
}

/* The fields the last parse set from argv: a default applied alone may be adjusted to fit
 * the matrix, a value given may not (prsvd_option_given). */
#define MAX_OPTIONS 128
static const void *given[MAX_OPTIONS];
static int n_given;

int prsvd_option_given(const void *field) {
  for (int i = 0; i < n_given; i++)
    if (given[i] == field) return 1;
  return 0;
}

int prsvd_options_parse(const struct prsvd_command_doc *doc, const struct prsvd_option *table,
                        int argc, char **argv, void *out, const char **positional) {
  int n_pos = 0, n_opts = 0;
  char seen[MAX_OPTIONS] = {0};
  const char *extra = NULL;
  n_given = 0;
  for (const struct prsvd_option *o = table; o->long_name; o++, n_opts++) {
    char *dst = (char *)out + o->offset;
    switch (o->type) { /* options without a default start empty */
    case PRSVD_OPT_INT: case PRSVD_OPT_SIZE: *(int64_t *)dst = 0; break;
    case PRSVD_OPT_UINT64: *(uint64_t *)dst = 0; break;
    case PRSVD_OPT_DOUBLE: *(double *)dst = 0.0; break;
    case PRSVD_OPT_STRING: *(const char **)dst = NULL; break;
    case PRSVD_OPT_FLAG: *(int *)dst = 0; break;
    case PRSVD_OPT_LIST: ((struct prsvd_opt_list *)dst)->n = 0; break;
    }
  }
  if (n_opts > (int)sizeof seen) PRSVD_ERR(PRSVD_ERR_INTERNAL, "option table of '%s' too long", doc->name);
  /* defaults: an option this command does not take keeps its default too, and the entry the
   * command takes wins where two entries fill the same field */
  for (int mine = 0; mine < 2; mine++)
    for (const struct prsvd_option *o = table; o->long_name; o++)
      if (o->def && takes(doc, o) == mine) PRSVD_CHECK(set_value(o, o->def, out));
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *value = NULL;
    const struct prsvd_option *o = NULL;
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      prsvd_options_help(stdout, doc, table);
      return -1;
    }
    if (!strcmp(arg, "--help=man") || !strcmp(arg, "--help=markdown")) { /* tools/man.sh, tools/options-md.sh */
      prsvd_options_help_as(stdout, strcmp(arg, "--help=man") ? PRSVD_HELP_MARKDOWN : PRSVD_HELP_MAN, doc, table);
      return -1;
    }
    if (!strcmp(arg, "--")) {
      for (i++; i < argc; i++) {
        if (n_pos >= doc->n_positional) {
          extra = argv[i];
          goto too_many;
        }
        positional[n_pos++] = argv[i];
      }
      break;
    }
    if (arg[0] == '-' && arg[1] == '-') {
      char name[64];
      const char *eq = strchr(arg + 2, '=');
      size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
      snprintf(name, sizeof name, "%.*s", (int)len, arg + 2);
      o = find(doc, table, name, 0);
      if (!o)
        PRSVD_ERR(PRSVD_ERR_USAGE, "unknown option '--%s' for 'prsvd %s' (see prsvd %s --help)",
                  name, doc->name, doc->name);
      if (eq) value = eq + 1;
    } else if (arg[0] == '-' && arg[1] && !(arg[1] >= '0' && arg[1] <= '9')) {
      o = find(doc, table, NULL, arg[1]);
      if (!o)
        PRSVD_ERR(PRSVD_ERR_USAGE, "unknown option '-%c' for 'prsvd %s' (see prsvd %s --help)",
                  arg[1], doc->name, doc->name);
      if (arg[2]) value = arg + 2;
    } else {
      if (n_pos >= doc->n_positional) {
        extra = arg;
        goto too_many;
      }
      positional[n_pos++] = arg;
      continue;
    }
    if (o->type == PRSVD_OPT_FLAG) {
      if (value) PRSVD_ERR(PRSVD_ERR_USAGE, "option --%s takes no value", o->long_name);
    } else if (!value) {
      if (i + 1 >= argc)
        PRSVD_ERR(PRSVD_ERR_USAGE, "option --%s needs a value (%s)", o->long_name, o->metavar);
      value = argv[++i];
    }
    PRSVD_CHECK(set_value(o, value, out));
    if (!seen[o - table] && n_given < MAX_OPTIONS) given[n_given++] = (char *)out + o->offset;
    seen[o - table] = 1;
  }
  for (int j = 0; j < n_opts; j++)
    if ((table[j].flags & PRSVD_OPT_REQUIRED) && takes(doc, &table[j]) && !seen[j])
      PRSVD_ERR(PRSVD_ERR_USAGE, "missing required option --%s (usage: prsvd %s %s)",
                table[j].long_name, doc->name, doc->usage);
  if (n_pos < doc->n_positional)
    PRSVD_ERR(PRSVD_ERR_USAGE, "missing argument (usage: prsvd %s %s)", doc->name, doc->usage);
  return PRSVD_OK;
too_many:
  PRSVD_ERR(PRSVD_ERR_USAGE, "unexpected argument '%s' (usage: prsvd %s %s)", extra,
            doc->name, doc->usage);
}

/* ---- help: text, roff (the man page) and Markdown (docs/options.md) --------------------- */

void prsvd_help_wrap(FILE *f, const char *text, int col, int indent) {
  const char *p = text;
  int fresh = 1; /* nothing printed on this line yet (beyond the indent) */
  while (*p) {
    if (p[0] == '\n' && p[1] == '\n') { /* a paragraph break */
      fprintf(f, "\n\n%*s", indent, "");
      col = indent, fresh = 1;
      while (*p == '\n') p++;
      continue;
    }
    if (*p == ' ' || *p == '\n') {
      p++;
      continue;
    }
    size_t len = strcspn(p, " \n");
    if (!fresh && col + 1 + (int)len > PRSVD_HELP_WIDTH) {
      fprintf(f, "\n%*s", indent, "");
      col = indent, fresh = 1;
    }
    if (!fresh) fputc(' ', f), col++;
    fprintf(f, "%.*s", (int)len, p);
    col += (int)len, fresh = 0;
    p += len;
  }
  fputc('\n', f);
}

/* "-k, --rank K" or "    --memory SIZE" */
static void option_label(const struct prsvd_option *o, char *buf, size_t len) {
  if (o->short_name)
    snprintf(buf, len, "-%c, --%s%s%s", o->short_name, o->long_name, o->metavar ? " " : "",
             o->metavar ? o->metavar : "");
  else
    snprintf(buf, len, "    --%s%s%s", o->long_name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
}

/* The help of o with what it defaults to: "text (default 10)", "text (required)". */
static void option_text(const struct prsvd_option *o, char *buf, size_t len) {
  if (o->flags & PRSVD_OPT_REQUIRED) snprintf(buf, len, "%s (required)", o->help);
  else if (o->def && o->type != PRSVD_OPT_FLAG) snprintf(buf, len, "%s (default %s)", o->help, o->def);
  else snprintf(buf, len, "%s", o->help);
}

/* The examples, one line each: "# what it does" lines and the commands. */
static void each_example_line(const char *examples, void (*fn)(FILE *, const char *, int), FILE *f) {
  for (const char *p = examples; p && *p;) {
    int len = (int)strcspn(p, "\n");
    fn(f, p, len);
    p += len;
    if (*p) p++;
  }
}

static void text_example(FILE *f, const char *line, int len) { fprintf(f, "  %.*s\n", len, line); }

#define LABEL_WIDTH 24 /* the label column: help starts at column 2 + 24 + 1 */

static void help_text(FILE *f, const struct prsvd_command_doc *doc, const struct prsvd_option *table) {
  char head[512], label[96], text[1024];
  snprintf(head, sizeof head, "usage: prsvd %s %s", doc->name, doc->usage);
  prsvd_help_wrap(f, head, 0, 8);
  fputc('\n', f);
  prsvd_help_wrap(f, doc->summary, 0, 0);
  fprintf(f, "\noptions:\n");
  for (const struct prsvd_option *o = table; o->long_name; o++) {
    if (!takes(doc, o)) continue;
    option_label(o, label, sizeof label);
    option_text(o, text, sizeof text);
    if ((int)strlen(label) > LABEL_WIDTH) { /* a long label gets a line of its own */
      fprintf(f, "  %s\n%*s", label, LABEL_WIDTH + 3, "");
    } else
      fprintf(f, "  %-*s ", LABEL_WIDTH, label);
    prsvd_help_wrap(f, text, LABEL_WIDTH + 3, LABEL_WIDTH + 3);
  }
  fprintf(f, "  %-*s %s\n", LABEL_WIDTH, "-h, --help", "show this help and exit");
  if (doc->examples) {
    fprintf(f, "\nexamples:\n");
    each_example_line(doc->examples, text_example, f);
  }
}

/* roff: a backslash as \e, a leading dot or quote made inert, every dash a \- (which
 * renders as the ASCII dash that a copied command needs), a single newline a space and a
 * blank line a new paragraph. */
static void roff(FILE *f, const char *s, int len) {
  int start = 1;
  for (int i = 0; i < len && s[i]; i++) {
    const char c = s[i];
    if (c == '\n') {
      if (i + 1 < len && s[i + 1] == '\n') {
        fputs("\n.PP\n", f);
        while (i + 1 < len && s[i + 1] == '\n') i++;
        start = 1;
      } else
        fputc(' ', f);
      continue;
    }
    if (start && (c == '.' || c == '\'')) fputs("\\&", f);
    start = 0;
    if (c == '\\') fputs("\\e", f);
    else if (c == '-') fputs("\\-", f);
    else fputc(c, f);
  }
}

static void roff_line(FILE *f, const char *line, int len) {
  roff(f, line, len);
  fputc('\n', f);
}

static void help_man(FILE *f, const struct prsvd_command_doc *doc, const struct prsvd_option *table) {
  char text[1024];
  fprintf(f, ".SS \"prsvd %s\"\n.B prsvd %s\n", doc->name, doc->name);
  roff_line(f, doc->usage, (int)strlen(doc->usage));
  fprintf(f, ".PP\n");
  roff_line(f, doc->summary, (int)strlen(doc->summary));
  for (const struct prsvd_option *o = table; o->long_name; o++) {
    if (!takes(doc, o)) continue;
    fputs(".TP\n", f);
    if (o->short_name) fprintf(f, "\\fB\\-%c\\fR, ", o->short_name);
    fputs("\\fB\\-\\-", f);
    roff(f, o->long_name, (int)strlen(o->long_name));
    fputs("\\fR", f);
    if (o->metavar) {
      fputs(" \\fI", f);
      roff(f, o->metavar, (int)strlen(o->metavar));
      fputs("\\fR", f);
    }
    fputc('\n', f);
    option_text(o, text, sizeof text);
    roff_line(f, text, (int)strlen(text));
  }
  if (doc->examples) {
    fprintf(f, ".PP\nExamples:\n.PP\n.nf\n");
    each_example_line(doc->examples, roff_line, f);
    fprintf(f, ".fi\n");
  }
}

/* Markdown: a table cell's text, with what Markdown would take for markup escaped. */
static void markdown(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '\n') fputc(s[1] == '\n' ? '\n' : ' ', f);
    else if (strchr("|*_`[]\\", *s)) fprintf(f, "\\%c", *s);
    else if (*s == '<') fputs("&lt;", f);
    else if (*s == '>') fputs("&gt;", f);
    else fputc(*s, f);
  }
}

static void markdown_example(FILE *f, const char *line, int len) { fprintf(f, "    %.*s\n", len, line); }

static void help_markdown(FILE *f, const struct prsvd_command_doc *doc, const struct prsvd_option *table) {
  fprintf(f, "## prsvd %s\n\n    prsvd %s %s\n\n", doc->name, doc->name, doc->usage);
  markdown(f, doc->summary);
  fprintf(f, "\n\n| option | default | meaning |\n|---|---|---|\n");
  for (const struct prsvd_option *o = table; o->long_name; o++) {
    if (!takes(doc, o)) continue;
    fputs("| ", f);
    if (o->short_name) fprintf(f, "`-%c`, ", o->short_name);
    fprintf(f, "`--%s%s%s` | ", o->long_name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
    if (o->flags & PRSVD_OPT_REQUIRED) fputs("required", f);
    else if (o->def && o->type != PRSVD_OPT_FLAG) fprintf(f, "`%s`", o->def);
    fputs(" | ", f);
    markdown(f, o->help);
    fputs(" |\n", f);
  }
  if (doc->examples) {
    fprintf(f, "\nExamples:\n\n");
    each_example_line(doc->examples, markdown_example, f);
  }
}

void prsvd_options_help_as(FILE *f, enum prsvd_help_format format, const struct prsvd_command_doc *doc,
                           const struct prsvd_option *table) {
  switch (format) {
  case PRSVD_HELP_TEXT: help_text(f, doc, table); break;
  case PRSVD_HELP_MAN: help_man(f, doc, table); break;
  case PRSVD_HELP_MARKDOWN: help_markdown(f, doc, table); break;
  }
}

void prsvd_options_help(FILE *f, const struct prsvd_command_doc *doc, const struct prsvd_option *table) {
  help_text(f, doc, table);
}
