/* The file-system rules of paths.h. */
#define _GNU_SOURCE
#include "paths.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

static const char *kind_of(mode_t mode) {
  return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO" : S_ISSOCK(mode) ? "a socket"
       : S_ISCHR(mode) ? "a character device" : S_ISBLK(mode) ? "a block device" : "not a regular file";
}

int prsvd_path_check_input(const char *path, const char *what) {
  struct stat st;
  if (!path || !*path) PRSVD_ERR(PRSVD_ERR_INPUT, "%s path is empty", what);
  if (stat(path, &st) != 0)
    PRSVD_ERR(PRSVD_ERR_INPUT, "cannot open %s '%s': %s", what, path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    PRSVD_ERR(PRSVD_ERR_INPUT, "%s '%s' is %s, not a regular file", what, path, kind_of(st.st_mode));
  return PRSVD_OK;
}

/* The directory part of path ("." for a bare name) into dir, and its last component. */
static const char *split(const char *path, char *dir, size_t len) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(dir, len, ".");
    return path;
  }
  snprintf(dir, len, "%.*s", slash == path ? 1 : (int)(slash - path), path);
  return slash + 1;
}

/* A name that may not exist yet, canonical: its directory resolved, then its last component. */
static int canonical(const char *path, char *out, size_t len) {
  char dir[PATH_MAX], real[PATH_MAX];
  const char *base = split(path, dir, sizeof dir);
  if (!realpath(dir, real)) return -1;
  return snprintf(out, len, "%s/%s", strcmp(real, "/") ? real : "", base) >= (int)len ? -1 : 0;
}

int prsvd_path_same(const char *a, const char *b) {
  struct stat sa, sb;
  char ca[2 * PATH_MAX], cb[2 * PATH_MAX];
  if (!a || !b || !*a || !*b) return 0;
  const int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
  if (ea || eb) return ea && eb && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  /* neither exists yet (an output and a checkpoint, say): compare what they will name */
  return canonical(a, ca, sizeof ca) == 0 && canonical(b, cb, sizeof cb) == 0 && !strcmp(ca, cb);
}

enum prsvd_path_kind prsvd_path_kind(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return PRSVD_PATH_ABSENT;
  if (S_ISLNK(st.st_mode)) {
    struct stat target; /* a link to a directory or device is one to refuse, not to replace */
    if (stat(path, &target) == 0 && !S_ISREG(target.st_mode)) return PRSVD_PATH_OTHER;
    return PRSVD_PATH_SYMLINK;
  }
  return S_ISREG(st.st_mode) ? PRSVD_PATH_REGULAR : PRSVD_PATH_OTHER;
}

int prsvd_path_check_name(const char *dir, const char *name, const char *what, const char *path) {
  errno = 0;
  long limit = pathconf(dir, _PC_NAME_MAX);
  if (limit <= 0) limit = NAME_MAX; /* no limit said: POSIX's */
  const size_t n = strlen(name);
  if (n > (size_t)limit)
    PRSVD_ERR(PRSVD_ERR_OUTPUT, "%s '%.64s...' is %zu bytes long, more than the %ld bytes a name takes in '%s' "
              "(NAME_MAX)%s%s%s", what, name, n, limit, dir, path ? " for '" : "", path ? path : "", path ? "'" : "");
  return PRSVD_OK;
}

int prsvd_path_check_output(const char *path, const char *what, int force) {
  struct stat st;
  char dir[PATH_MAX];
  if (!path || !*path) PRSVD_ERR(PRSVD_ERR_OUTPUT, "%s path is empty", what);
  const size_t n = strlen(path);
  if (n >= PATH_MAX) PRSVD_ERR(PRSVD_ERR_OUTPUT, "%s path too long (%zu bytes; PATH_MAX is %d): '%.64s...'", what, n, PATH_MAX, path);
  if (path[n - 1] == '/') PRSVD_ERR(PRSVD_ERR_OUTPUT, "%s '%s' names a directory, not a file", what, path);
  switch (prsvd_path_kind(path)) {
  case PRSVD_PATH_OTHER:
    if (stat(path, &st) != 0 && lstat(path, &st) != 0) st.st_mode = 0;
    PRSVD_ERR(PRSVD_ERR_OUTPUT, "%s '%s' is %s: prsvd replaces only regular files, even with --force", what, path,
              kind_of(st.st_mode));
  case PRSVD_PATH_REGULAR:
  case PRSVD_PATH_SYMLINK:
    if (!force) PRSVD_ERR(PRSVD_ERR_OUTPUT, "%s '%s' exists (use --force to replace it)", what, path);
    break;
  case PRSVD_PATH_ABSENT:
    break;
  }
  split(path, dir, sizeof dir);
  if (stat(dir, &st) != 0)
    PRSVD_ERR(PRSVD_ERR_OUTPUT, "%s directory '%s' does not exist", what, dir);
  if (!S_ISDIR(st.st_mode)) PRSVD_ERR(PRSVD_ERR_OUTPUT, "%s directory '%s' is not a directory", what, dir);
  if (access(dir, W_OK | X_OK) != 0)
    PRSVD_ERR(PRSVD_ERR_OUTPUT, "cannot write to %s directory '%s': %s", what, dir, strerror(errno));
  return prsvd_path_check_name(dir, split(path, dir, sizeof dir), what, NULL);
}
