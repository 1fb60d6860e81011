/* Open MPI's MCA parameter files, read without MPI (mca_params.h). */
#include "mca_params.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 1 if the file at path has a line "name = VALUE" with pred(VALUE) */
static int file_any(const char *path, const char *name, int (*pred)(const char *value)) {
  const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd < 0) return 0;
  FILE *f = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? fdopen(fd, "r") : NULL;
  if (!f) {
    close(fd);
    return 0;
  }
  const size_t len = strlen(name);
  char line[4096];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    char *s = line, *end;
    while (isspace((unsigned char)*s)) s++;
    if (strncmp(s, name, len) != 0) continue;
    s += len;
    while (*s == ' ' || *s == '\t') s++;
    if (*s++ != '=') continue;
    while (*s == ' ' || *s == '\t') s++;
    for (end = s + strlen(s); end > s && isspace((unsigned char)end[-1]);) *--end = '\0';
    found = pred(s) != 0;
  }
  fclose(f);
  return found;
}

const char *prsvd_mca_env(const char *name) {
  char var[128];
  if (snprintf(var, sizeof var, "OMPI_MCA_%s", name) >= (int)sizeof var) return NULL;
  return getenv(var);
}

int prsvd_mca_files_any(const char *name, int (*pred)(const char *value)) {
  char path[PATH_MAX];
  const char *list = getenv("OMPI_MCA_mca_base_param_files");
  if (list) { /* colon-separated; "none" reads none */
    for (const char *s = list; *s;) {
      const size_t n = strcspn(s, ":");
      if (n && n < sizeof path) {
        memcpy(path, s, n);
        path[n] = '\0';
        if (file_any(path, name, pred)) return 1;
      }
      s += n + (s[n] == ':');
    }
    return 0;
  }
  const char *home = getenv("HOME"), *prefix = getenv("OPAL_PREFIX");
  if (home && snprintf(path, sizeof path, "%s/.openmpi/mca-params.conf", home) < (int)sizeof path &&
      file_any(path, name, pred))
    return 1;
  if (prefix && snprintf(path, sizeof path, "%s/etc/openmpi-mca-params.conf", prefix) < (int)sizeof path &&
      file_any(path, name, pred))
    return 1;
  return file_any("/etc/openmpi/openmpi-mca-params.conf", name, pred) ||
         file_any("/etc/openmpi-mca-params.conf", name, pred);
}
