/* Outputs written collectively into a temporary beside the target, renamed into place only
 * when complete: a failed or interrupted run never leaves a half-written file, and never
 * truncates the file it would replace.  The one commit path of every file prsvd writes
 * (outputs, checkpoints, imported and generated matrices):
 *   - before any work, the target is checked (base/paths.h) and compared with every other
 *     file of the run, so an output is never the input or the checkpoint;
 *   - the temporary ".NAME.tmp.HOST.PID" reserves its disk space as datasets are created
 *     (fallocate), so a full disk is found before the data is written, not in HDF5's close;
 *   - without --force the rename never replaces a name that appeared meanwhile (renameat2
 *     RENAME_NOREPLACE, else link + unlink); with it, only a regular file or a link is
 *     replaced;
 *   - temporaries that killed runs on this host left for the same name are removed. */
#define _GNU_SOURCE /* renameat2, fallocate */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "h5util.h"
#include "paths.h"
#include "prsvd_h5.h"

struct prsvd_h5_writer {
  MPI_Comm comm;
  int rank;
  int output;   /* a result for the user, not a checkpoint */
  int replace;  /* the commit may replace an existing name (--force, or a checkpoint) */
  hid_t file;
  int64_t reserved; /* bytes of disk reserved for the temporary so far (-1: not supported) */
  char path[PATH_MAX]; /* the target as named (messages) */
  /* how this rank reaches the temporary and the target: their paths, or the same names under
   * /proc/self/fd/dir_fd when a path would reach PATH_MAX (reach_paths) */
  char temp[PATH_MAX], target[PATH_MAX];
  int dir_fd;
  /* a new version of an existing file (prsvd_h5_writer_keep): the target as it was when the
   * run copied it, whose mode and owner the new version takes */
  int keep;
  struct stat kept;
};

struct prsvd_h5_matrix {
  prsvd_h5_writer *w;
  hid_t dset;
  int64_t rows, cols;
  enum prsvd_h5_dtype dtype;
  char name[256];
};

/* Room for the file's metadata (object headers, attributes, B-trees): HDF5 writes it at close. */
#define METADATA_RESERVE ((int64_t)128 << 10)

/* ---- What a terminating signal finds (prsvd_h5_leave) --------------------------------------
 * A handler may run on any thread at any moment (a process-directed signal goes to another
 * thread when the main thread has one pending already; SIGPIPE hits the thread that wrote), so
 * the temporary is handed between the writer and a handler through one atomic state:
 *   IDLE      no temporary to remove
 *   PENDING   pending_temp may exist: a handler removes it, on every rank (whichever rank a
 *             launcher's signal reaches first, the output is not renamed after it)
 *   RENAMING  rank 0's renaming_thread is inside rename_into_place()
 *   LEFT      a handler owns the exit: nothing is created or renamed any more
 * One writer at a time: every command writes its outputs one after another. */
enum { TEMP_IDLE, TEMP_PENDING, TEMP_RENAMING, TEMP_LEFT };
static atomic_int temp_state, handler_waits;
static atomic_llong continued_ns; /* CLOCK_MONOTONIC of the last SIGCONT, 0 if none */
static pthread_t renaming_thread;
static char pending_temp[PATH_MAX];
/* The line a handler prints once an output is in place, and the one it will print if the
 * rename under way succeeds (made here: a handler may not format). */
static char committed_note[PATH_MAX + 64], renaming_note[PATH_MAX + 64];

static long long monotonic_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t); /* async-signal-safe */
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

void prsvd_h5_continued(void) {
  atomic_store(&continued_ns, monotonic_ns());
}

/* Set by prsvd_h5_leave when this rank's temporary is to go: prsvd_h5_leave_remove unlinks it,
 * after the caller said so (a launcher's SIGKILL may follow its SIGTERM within a millisecond). */
static atomic_int leave_removes;

const char *prsvd_h5_leave(void) {
  /* first: a rename that ends from now on waits for this handler to end the run (seq_cst: it
   * either sees this or stored its outcome before the state is read below) */
  atomic_store(&handler_waits, 1);
  for (;;) {
    int state = atomic_load(&temp_state);
    if (state == TEMP_LEFT) return NULL;
    if (state == TEMP_RENAMING && pthread_equal(renaming_thread, pthread_self())) {
      /* this handler interrupted the rename itself: whether rename() ran, the file system says */
      struct stat st;
      atomic_store(&temp_state, TEMP_LEFT);
      if (lstat(pending_temp, &st) == 0) {
        atomic_store(&leave_removes, 1);
        return NULL;
      }
      return renaming_note[0] ? renaming_note : NULL;
    }
    if (state == TEMP_RENAMING) { /* another thread renames: its outcome decides */
      poll(NULL, 0, 1);
      continue;
    }
    if (atomic_compare_exchange_strong(&temp_state, &state, TEMP_LEFT)) {
      if (state == TEMP_PENDING) {
        atomic_store(&leave_removes, 1);
        return NULL;
      }
      return committed_note[0] ? committed_note : NULL;
    }
  }
}

void prsvd_h5_leave_remove(void) {
  if (atomic_exchange(&leave_removes, 0)) unlink(pending_temp);
}

/* Not collective: this rank's temporary is `temp` from now on (a signal removes it); fails once a
 * handler is taking the process down. */
static int claim_temp(const char *temp) {
  int idle = TEMP_IDLE;
  if (atomic_load(&temp_state) == TEMP_IDLE)
    snprintf(pending_temp, sizeof pending_temp, "%s", temp);
  if (!atomic_compare_exchange_strong(&temp_state, &idle, TEMP_PENDING))
    PRSVD_ERR(idle == TEMP_LEFT ? PRSVD_ERR_OUTPUT : PRSVD_ERR_INTERNAL,
              idle == TEMP_LEFT ? "interrupted by a signal before creating '%s'"
                                : "a second output '%s' while another is being written",
              temp);
  return PRSVD_OK;
}

/* The temporary is renamed or removed: a signal leaves its name alone. */
static void release_temp(void) {
  int pending = TEMP_PENDING;
  atomic_compare_exchange_strong(&temp_state, &pending, TEMP_IDLE);
}

/* Tests raise a signal on every rank at an exact point of an output's write instead of racing
 * one (prsvd_h5_set_write_signal; the program reads tests/README.md's switches, the library
 * no environment): at a named point, or after the N-th dataset write. */
static char signal_point[32];
static int signal_number = SIGTERM;

void prsvd_h5_set_write_signal(const char *point, int sig) {
  snprintf(signal_point, sizeof signal_point, "%s", point ? point : "");
  signal_number = sig > 0 ? sig : SIGTERM;
}

static int test_point(const prsvd_h5_writer *w, const char *point) {
  return w->output && signal_point[0] && strcmp(signal_point, point) == 0;
}
static void test_raise(void) { raise(signal_number); }

/* Open MPI 4.1's mpirun ends a job with SIGCONT, then SIGTERM a second later (sooner if a
 * child changes state), then SIGKILL as soon as a rank has exited: a rank reaching its rename
 * in that second would put an output in place after mpirun was told to stop.  So an output's
 * rename waits until 2 s after a SIGCONT (a resumed job waits as long, once); a terminating
 * signal in the meantime removes the temporary. */
static void hold_after_continue(void) {
  for (;;) {
    long long since = monotonic_ns() - atomic_load(&continued_ns);
    if (!atomic_load(&continued_ns) || since >= 2000000000LL) return;
    poll(NULL, 0, (int)((2000000000LL - since) / 1000000) + 1);
  }
}

/* Rank 0: the temporary becomes the target, unless a signal came first.  A signal before the
 * rename (on any rank) removes the temporary and nothing is renamed; one after it says the
 * output was written in full; one on another thread during it waits for its outcome
 * (prsvd_h5_leave).  PRSVD_TEST_SIGTERM_AT_WRITE=rename and =renamed signal just before and
 * just after rename(). */
/* Rank 0: give back the disk reserved past the temporary's end (its blocks beyond EOF). */
static void release_reserve(const prsvd_h5_writer *w) {
  struct stat st;
  if (w->reserved <= 0 || stat(w->temp, &st) != 0 || st.st_size >= w->reserved) return;
  const int fd = open(w->temp, O_WRONLY);
  if (fd < 0) return;
  if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, st.st_size, w->reserved - st.st_size)) {
    /* not supported: the blocks stay reserved, the file is still whole */
  }
  close(fd);
}

/* The data of path on disk before it takes the target's name: a crash right after the rename
 * finds the new version whole (ext4 and xfs may otherwise commit the rename first). */
static void fsync_path(const char *path) {
  const int fd = open(path, O_RDONLY);
  if (fd >= 0) {
    if (fsync(fd)) { /* the rename still comes after every write the kernel accepted */
    }
    close(fd);
  }
}

/* Rank 0: the complete temporary takes the target's name.  Without replace, a name that
 * appeared meanwhile (another run, a user) is never replaced: renameat2's RENAME_NOREPLACE,
 * or link(2), which fails on an existing name, where the file system lacks the flag; only a
 * file system with neither leaves the window between a check and rename(2). */
static int place(const prsvd_h5_writer *w) {
  static const char *const appeared =
      "%s '%s' appeared while this run wrote it (another run?): not replaced (use --force to replace it)";
  const char *what = w->output ? "output" : "file";
  int rc;
  release_reserve(w);
  if (w->keep) {
    struct stat now;
    if (stat(w->target, &now) != 0 || now.st_ino != w->kept.st_ino || now.st_dev != w->kept.st_dev ||
        now.st_size != w->kept.st_size || now.st_mtim.tv_sec != w->kept.st_mtim.tv_sec ||
        now.st_mtim.tv_nsec != w->kept.st_mtim.tv_nsec)
      PRSVD_ERR(PRSVD_ERR_OUTPUT, "'%s' changed while this run wrote its new version (another writer?): "
                "left as it is, nothing written", w->path);
    if (chmod(w->temp, w->kept.st_mode & 07777) != 0)
      PRSVD_ERR(PRSVD_ERR_OUTPUT, "cannot give '%s' the mode of '%s': %s", w->temp, w->path, strerror(errno));
    if (geteuid() == 0 && chown(w->temp, w->kept.st_uid, w->kept.st_gid) != 0)
      PRSVD_ERR(PRSVD_ERR_OUTPUT, "cannot give '%s' the owner of '%s': %s", w->temp, w->path, strerror(errno));
    fsync_path(w->temp);
  }
  if (w->replace) {
    if (prsvd_path_kind(w->target) == PRSVD_PATH_OTHER)
      PRSVD_ERR(PRSVD_ERR_OUTPUT, "%s '%s' is no longer a regular file: not replaced", what, w->path);
    rc = rename(w->temp, w->target);
  } else {
#ifdef RENAME_NOREPLACE
    rc = renameat2(AT_FDCWD, w->temp, AT_FDCWD, w->target, RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) /* not on this file system */
#endif
    {
      rc = link(w->temp, w->target);
      if (rc == 0) unlink(w->temp);
      else if (errno != EEXIST && errno != ENOENT) { /* no hard links: check, then rename */
        if (prsvd_path_kind(w->target) != PRSVD_PATH_ABSENT) PRSVD_ERR(PRSVD_ERR_OUTPUT, appeared, what, w->path);
        rc = rename(w->temp, w->target);
      }
    }
    if (rc != 0 && errno == EEXIST) PRSVD_ERR(PRSVD_ERR_OUTPUT, appeared, what, w->path);
  }
  if (rc != 0 && errno == ENOENT) /* a signalled rank removed it */
    PRSVD_ERR(PRSVD_ERR_OUTPUT, "interrupted by a signal on another rank: '%s' was not written", w->path);
  if (rc != 0)
    PRSVD_ERR(PRSVD_ERR_OUTPUT, "cannot rename '%s' to '%s': %s", w->temp, w->path, strerror(errno));
  if (w->keep) { /* the rename itself on disk: the directory's entry */
    char *copy = strdup(w->target);
    if (copy) fsync_path(dirname(copy));
    free(copy);
  }
  return PRSVD_OK;
}

static int rename_into_place(prsvd_h5_writer *w) {
  int pending = TEMP_PENDING, status = PRSVD_OK;
  if (w->output)
    snprintf(renaming_note, sizeof renaming_note, "prsvd: interrupted: '%s' was written in full",
             w->path);
  else
    renaming_note[0] = '\0';
  if (w->output) hold_after_continue(); /* a checkpoint renamed then is merely state */
  renaming_thread = pthread_self();
  if (!atomic_compare_exchange_strong(&temp_state, &pending, TEMP_RENAMING))
    PRSVD_ERR(PRSVD_ERR_OUTPUT, "interrupted by a signal: '%s' was not written", w->path);
  if (test_point(w, "rename")) test_raise();
  if ((status = place(w)) != PRSVD_OK) {
    atomic_store(&temp_state, TEMP_PENDING);
  } else {
    if (test_point(w, "renamed")) {
      test_raise();
      /* a test stopped the run here and signalled another thread: that thread's handler runs
       * first, as it would had the signal come during the rename itself (under load the main
       * thread could finish the run before it, which then left without a word) */
      hold_after_continue();
    }
    memcpy(committed_note, renaming_note, sizeof committed_note);
    atomic_store(&temp_state, TEMP_IDLE);
  }
  /* a handler on another thread waited for this outcome: the run ends there, not here */
  while (atomic_load(&handler_waits)) pause();
  return status;
}


/* The temporary's name for path up to its pid, ".NAME.tmp.HOST.": beside it, hidden, with the
 * host of rank 0, so that a later run can tell a killed run's leftover (same host, pid gone)
 * from a live one's; NAME cut short so that any pid still fits NAME_MAX. */
static void temp_prefix(const char *path, char *prefix, size_t size) {
  char host[65] = "localhost", *copy = strdup(path);
  gethostname(host, sizeof host - 1);
  host[sizeof host - 1] = '\0';
  const char *base = copy ? basename(copy) : "output";
  const int room = NAME_MAX - 1 - (int)strlen(".tmp.") - (int)strlen(host) - 1 - 20;
  snprintf(prefix, size, ".%.*s.tmp.%s.", room, base, host);
  free(copy);
}

/* ".NAME.tmp.HOST.PID" */
static void temp_name(const char *path, char *name, size_t size) {
  char prefix[NAME_MAX + 1], pid[24];
  temp_prefix(path, prefix, sizeof prefix); /* leaves room for the pid within NAME_MAX */
  snprintf(pid, sizeof pid, "%ld", (long)getpid());
  snprintf(name, size, "%.*s%s", (int)(size - 1 - strlen(pid)), prefix, pid);
}


/* How this rank reaches the temporary `name` beside w->path, and w->path itself: by their paths,
 * or, where one would reach PATH_MAX (a directory path near the limit), as
 * /proc/self/fd/N/NAME through the directory opened once (Linux), so that every path up to
 * PATH_MAX works. */
static int reach_paths(prsvd_h5_writer *w, const char *name) {
  int status = PRSVD_OK;
  char *c1 = strdup(w->path), *c2 = strdup(w->path);
  if (!c1 || !c2) PRSVD_FAIL(PRSVD_ERR_NOMEM, "out of memory");
  const char *dir = dirname(c1), *base = basename(c2);
  if (snprintf(w->temp, sizeof w->temp, "%s/%s", dir, name) < (int)sizeof w->temp) {
    snprintf(w->target, sizeof w->target, "%s", w->path);
  } else {
    w->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dir_fd < 0)
      PRSVD_FAIL(PRSVD_ERR_OUTPUT, "cannot open output directory '%s': %s", dir, strerror(errno));
    snprintf(w->temp, sizeof w->temp, "/proc/self/fd/%d/%s", w->dir_fd, name);
    snprintf(w->target, sizeof w->target, "/proc/self/fd/%d/%s", w->dir_fd, base);
  }
done:
  free(c1);
  free(c2);
  return status;
}

/* Free a writer whose temporary is gone or renamed. */
static void writer_free(prsvd_h5_writer *w) {
  release_temp(); /* before the directory closes: pending_temp may name it */
  if (w->dir_fd >= 0) close(w->dir_fd);
  free(w);
}

/* 1 if this process swept path's directory for its temporaries already, else 0 (and path is
 * remembered): a run checks an output before its work and again as its writer is created (svd,
 * id and project once more, against their other files), and one sweep is enough. */
static int swept_already(const char *path) {
  static char swept[4][PATH_MAX];
  static int n_swept;
  for (int i = 0; i < n_swept; i++)
    if (!strcmp(swept[i], path)) return 1;
  if (n_swept < 4 && strlen(path) < PATH_MAX) snprintf(swept[n_swept++], PATH_MAX, "%s", path);
  return 0;
}

/* Remove ".NAME.tmp.HOST.PID" files of path (temp_prefix) whose process on this host is gone,
 * once a process. */
void prsvd_h5_remove_stale_temps(const char *path) {
  char dir[PATH_MAX], prefix[NAME_MAX + 1], full[PATH_MAX + NAME_MAX + 2], *copy;
  if (swept_already(path) || !(copy = strdup(path))) return;
  snprintf(dir, sizeof dir, "%s", dirname(copy));
  free(copy);
  temp_prefix(path, prefix, sizeof prefix);
  DIR *d = opendir(dir);
  if (!d) return;
  const size_t np = strlen(prefix);
  for (struct dirent *e; (e = readdir(d));) {
    char *end;
    if (strncmp(e->d_name, prefix, np)) continue;
    const long pid = strtol(e->d_name + np, &end, 10);
    if (*end || pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    if (snprintf(full, sizeof full, "%s/%s", dir, e->d_name) >= (int)sizeof full) continue;
    struct stat st;
    if (lstat(full, &st) == 0 && S_ISREG(st.st_mode) && unlink(full) == 0)
      fprintf(stderr, "prsvd: note: removed '%s', left by a killed run (pid %ld is gone)\n", full, pid);
  }
  closedir(d);
}

/* Rank 0's checks of a file the run writes: paths.h's rules, then distinct from others. */
int prsvd_h5_check_distinct(const char *path, const char *what, const struct prsvd_h5_role *others) {
  for (int i = 0; others && others[i].path; i++)
    if (prsvd_path_same(path, others[i].path))
      PRSVD_ERR(PRSVD_ERR_USAGE, "%s '%s' and %s '%s' are the same file: a run never writes over a file it reads "
                "or writes one file twice", what, path, others[i].what, others[i].path);
  return PRSVD_OK;
}

/* PRSVD_ERR_OUTPUT unless the temporary of path fits its directory's name limit (as
 * prsvd_path_check_output checks path's own name): else only the commit would fail. */
static int check_temp_name(const char *path) {
  char name[NAME_MAX + 1], *copy = strdup(path);
  if (!copy) PRSVD_ERR(PRSVD_ERR_NOMEM, "out of memory");
  temp_name(path, name, sizeof name);
  const int status = prsvd_path_check_name(dirname(copy), name, "the temporary", path);
  free(copy);
  return status;
}

static int check_target(const char *path, const char *what, int force, const struct prsvd_h5_role *others) {
  const char *const *reads;
  PRSVD_CHECK(prsvd_path_check_output(path, what, force));
  PRSVD_CHECK(check_temp_name(path));
  PRSVD_CHECK(prsvd_h5_check_distinct(path, what, others));
  for (int i = 0, n = prsvd_h5_read_files(&reads); i < n; i++) /* an external link's target, a VDS source */
    if (prsvd_path_same(path, reads[i]))
      PRSVD_ERR(PRSVD_ERR_USAGE, "%s '%s' is '%s', a file this run reads (through a link or a virtual dataset of "
                "its input): a run never writes over a file it reads", what, path, reads[i]);
  prsvd_h5_remove_stale_temps(path);
  return PRSVD_OK;
}

int prsvd_h5_check_output(MPI_Comm comm, const char *path, int force, const struct prsvd_h5_role *others) {
  int rank, status = PRSVD_OK;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) status = check_target(path, "output", force, others);
  return prsvd_error_agree(comm, status);
}

int prsvd_h5_check_checkpoint(MPI_Comm comm, const char *path, const struct prsvd_h5_role *others) {
  int rank, status = PRSVD_OK;
  MPI_Comm_rank(comm, &rank);
  /* an existing checkpoint is resumed from, then replaced: no --force needed */
  if (rank == 0) status = check_target(path, "checkpoint", 1, others);
  return prsvd_error_agree(comm, status);
}

int prsvd_h5_writer_create(MPI_Comm comm, const char *path, int force, prsvd_h5_writer **out) {
  *out = NULL;
  PRSVD_CHECK(prsvd_h5_check_output(comm, path, force, NULL));
  PRSVD_CHECK(prsvd_h5_writer_create_temp(comm, path, out));
  (*out)->output = 1;
  (*out)->replace = force;
  return PRSVD_OK;
}

hid_t prsvd_h5_writer_file(const prsvd_h5_writer *w) { return w->file; }
int prsvd_h5_writer_keep(prsvd_h5_writer *w) {
  int status = PRSVD_OK;
  if (w->rank == 0 && stat(w->target, &w->kept) != 0)
    status = prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__, "cannot stat '%s': %s", w->path,
                             strerror(errno));
  w->keep = 1;
  return prsvd_error_agree(w->comm, status);
}
void prsvd_h5_writer_mark_output(prsvd_h5_writer *w, int replace) {
  w->output = 1;
  w->replace = replace;
}

/* Collective: reserve `bytes` more of disk for the temporary before they are written (rank 0,
 * fallocate with KEEP_SIZE: the file's size does not change, its blocks exist).  A full disk
 * is then an error here, where every rank can agree on it, instead of inside HDF5's
 * collective flush at close (which crashed or hung).  File systems without fallocate skip it. */
static int reserve(prsvd_h5_writer *w, int64_t bytes, const char *what) {
  int status = PRSVD_OK;
  if (w->rank == 0 && w->reserved >= 0 && bytes > 0) {
    const int fd = open(w->temp, O_WRONLY);
    int64_t want;
    if (__builtin_add_overflow(w->reserved, bytes, &want)) want = INT64_MAX;
    if (fd < 0 || fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)want) != 0) {
      if (errno == EOPNOTSUPP || errno == ENOSYS) w->reserved = -1;
      else status = prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__,
                                    "no room to write %s of '%s': reserving %lld bytes failed: %s (disk full?)",
                                    what, w->path, (long long)want, strerror(errno));
    } else {
      w->reserved = want;
    }
    if (fd >= 0) close(fd);
  }
  return prsvd_error_agree(w->comm, status);
}

/* PRSVD_ERR_OUTPUT unless the file system of path has `bytes` free for this user. */
static int check_room(const char *path, int64_t bytes) {
  struct statvfs fs;
  char *copy = strdup(path);
  const int ok = copy && statvfs(dirname(copy), &fs) == 0;
  free(copy);
  if (ok && (double)fs.f_bavail * (double)fs.f_frsize < (double)bytes)
    PRSVD_ERR(PRSVD_ERR_OUTPUT, "no room to write '%s': %.0f bytes free in its directory, at least %lld needed "
              "(disk full?)", path, (double)fs.f_bavail * (double)fs.f_frsize, (long long)bytes);
  return PRSVD_OK;
}

int prsvd_h5_writer_create_temp(MPI_Comm comm, const char *path, prsvd_h5_writer **out) {
  int status = PRSVD_OK;
  prsvd_h5_writer *w = NULL;
  hid_t fapl = -1;
  char name[NAME_MAX + 1] = "";
  *out = NULL;
  PRSVD_ALLOC(w, 1);
  w->comm = comm;
  w->file = -1;
  w->dir_fd = -1;
  w->replace = 1;
  MPI_Comm_rank(comm, &w->rank);
  if (strlen(path) >= sizeof w->path) /* the same on every rank: no rank goes on alone */
    PRSVD_FAIL(PRSVD_ERR_OUTPUT, "path too long (%zu bytes; PATH_MAX is %d): '%s'", strlen(path),
               PATH_MAX, path);
  snprintf(w->path, sizeof w->path, "%s", path);
  if (w->rank == 0) temp_name(path, name, sizeof name); /* rank 0's pid names it */
  MPI_Bcast(name, sizeof name, MPI_CHAR, 0, comm);
  status = reach_paths(w, name);
  /* even the superblock needs room: a file HDF5 cannot close is the one failure it does not
   * survive (prsvd_h5_close_failed), so a full file system is refused before creating it */
  if (!status && w->rank == 0) status = check_room(w->path, METADATA_RESERVE);
  if (!status) status = claim_temp(w->temp);
  PRSVD_TRY(prsvd_error_agree(comm, status)); /* every rank creates it, or none */
  H5_TRY(fapl = prsvd_h5_fapl(comm), PRSVD_ERR_OUTPUT, "cannot set up MPI-IO access");
  /* the 1.8 format stores large attributes (a planted spectrum) densely */
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  w->file = H5Fcreate(w->temp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (w->file < 0) {
    prsvd_h5_show_stack();
    PRSVD_FAIL(PRSVD_ERR_OUTPUT, "cannot create '%s' (for '%s')", w->temp, path);
  }
done:
  status = prsvd_error_agree(comm, status);
  if (!status) status = reserve(w, METADATA_RESERVE, "its metadata");
  if (fapl >= 0) H5Pclose(fapl);
  if (status) prsvd_h5_writer_abort(&w);
  *out = w;
  return status;
}

/* Set once an H5Fclose failed: HDF5 1.10 then keeps a half-closed file that its own shutdown
 * (at MPI_Finalize) dereferences and crashes on, so the program must end without it. */
static int close_failed;
int prsvd_h5_close_failed(void) { return close_failed; }

static int writer_close(prsvd_h5_writer *w) {
  int status = PRSVD_OK;
  if (w->file >= 0) {
    H5Fflush(w->file, H5F_SCOPE_GLOBAL);
    if (H5Fclose(w->file) < 0) {
      close_failed = 1;
      prsvd_h5_show_stack();
      status = prsvd_error_set(PRSVD_ERR_OUTPUT, __FILE__, __LINE__, __func__,
                               "cannot finish writing '%s' (disk full?)", w->temp);
    }
    w->file = -1;
  }
  return status;
}

void prsvd_h5_writer_abort(prsvd_h5_writer **w) {
  if (!w || !*w) return;
  writer_close(*w);
  MPI_Barrier((*w)->comm);
  if ((*w)->rank == 0 && (*w)->temp[0]) unlink((*w)->temp);
  writer_free(*w);
  *w = NULL;
}

int prsvd_h5_writer_commit(prsvd_h5_writer **wp) {
  prsvd_h5_writer *w = *wp;
  int status = writer_close(w);
  status = prsvd_error_agree(w->comm, status);
  if (!status && w->rank == 0) status = rename_into_place(w);
  status = prsvd_error_agree(w->comm, status);
  if (status) {
    prsvd_h5_writer_abort(wp);
    return status;
  }
  /* PRSVD_TEST_SIGTERM_AT_WRITE=commit: just after an output is in place, before the run's
   * last steps */
  if (test_point(w, "commit")) test_raise();
  writer_free(w);
  *wp = NULL;
  return PRSVD_OK;
}

int prsvd_h5_matrix_create(prsvd_h5_writer *w, const char *name, int64_t rows, int64_t cols,
                           enum prsvd_h5_dtype dtype, int64_t chunk_rows, int64_t chunk_cols,
                           int gzip, prsvd_h5_matrix **out) {
  int status = PRSVD_OK;
  prsvd_h5_matrix *m = NULL;
  hid_t space = -1, dcpl = -1, lcpl = -1;
  hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
  *out = NULL;
  /* then no product of a block's sizes in the writes below can overflow */
  if (prsvd_size_mul(prsvd_size_mul(rows, cols), 8) == PRSVD_SIZE_OVERFLOW)
    PRSVD_FAIL(PRSVD_ERR_OUTPUT, "cannot create '%s': %lld x %lld values are more than the 2^63 - 1 bytes a file holds",
               name, (long long)rows, (long long)cols);
  PRSVD_ALLOC(m, 1);
  m->w = w;
  m->rows = rows;
  m->cols = cols;
  m->dtype = dtype;
  snprintf(m->name, sizeof m->name, "%s", name);
  int64_t bytes;
  if (__builtin_mul_overflow(rows, cols, &bytes) || __builtin_mul_overflow(bytes, dtype == PRSVD_H5_FLOAT32 ? 4 : 8, &bytes))
    PRSVD_FAIL(PRSVD_ERR_OUTPUT, "dataset '%s' of %lld x %lld is too large to write", name, (long long)rows, (long long)cols);
  char what[300];
  snprintf(what, sizeof what, "'%s'", name);
  status = reserve(w, bytes, what); /* collective: every rank returns the same */
  if (status) {
    free(m);
    return status;
  }
  H5_TRY(space = H5Screate_simple(2, dims, NULL), PRSVD_ERR_OUTPUT, "cannot create a dataspace");
  H5_TRY(dcpl = H5Pcreate(H5P_DATASET_CREATE), PRSVD_ERR_OUTPUT, "cannot create a property list");
  if (chunk_rows > 0) {
    hsize_t cd[2] = {(hsize_t)(chunk_rows < rows ? chunk_rows : rows),
                     (hsize_t)(chunk_cols > 0 && chunk_cols < cols ? chunk_cols : cols)};
    H5_TRY(H5Pset_chunk(dcpl, 2, cd), PRSVD_ERR_OUTPUT, "cannot chunk '%s'", name);
    if (gzip > 0) H5_TRY(H5Pset_deflate(dcpl, (unsigned)gzip), PRSVD_ERR_OUTPUT, "cannot compress '%s'", name);
  } else {
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
  }
  H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
  H5_TRY(lcpl = H5Pcreate(H5P_LINK_CREATE), PRSVD_ERR_OUTPUT, "cannot create a property list");
  H5Pset_create_intermediate_group(lcpl, 1);
  H5_TRY(m->dset = H5Dcreate2(w->file, name,
                              dtype == PRSVD_H5_FLOAT32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE, space,
                              lcpl, dcpl, H5P_DEFAULT),
         PRSVD_ERR_OUTPUT, "cannot create dataset '%s' in '%s'", name, w->temp);
  *out = m;
  m = NULL;
done:
  if (space >= 0) H5Sclose(space);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (lcpl >= 0) H5Pclose(lcpl);
  free(m);
  return prsvd_error_agree(w->comm, status);
}

/* Tests (test_point): a point N signals every rank once the N-th collective dataset write
 * into an output's temporary is done. */
static void test_sigterm_at_write(const prsvd_h5_writer *w) {
  static long writes;
  if (w->output && signal_point[0] && atol(signal_point) == ++writes) test_raise();
}

/* Rows [row0, row0 + nrows) x columns [col0, col0 + ncols) of the dataset from data
 * (row-major with leading dimension ld), collectively; what names the block in errors. */
static int write_block(prsvd_h5_matrix *m, int64_t row0, int64_t nrows, int64_t col0, int64_t ncols,
                       const double *data, int64_t ld, const char *what) {
  int status = PRSVD_OK;
  hid_t fspace = -1, mspace = -1, dxpl = -1;
  const int by_rows = !strcmp(what, "rows");
  const int64_t first = by_rows ? row0 : col0, count_of = by_rows ? nrows : ncols;
  hsize_t start[2] = {(hsize_t)row0, (hsize_t)col0}, count[2] = {(hsize_t)nrows, (hsize_t)ncols};
  hsize_t mdims[2] = {(hsize_t)(nrows > 0 ? nrows : 1), (hsize_t)(ld > 0 ? ld : 1)}, mstart[2] = {0, 0};
  static const double none = 0.0;
  const int any = nrows > 0 && ncols > 0;
  const void *buf = any ? (const void *)data : &none;
  float *f32 = NULL;
  hid_t mtype = H5T_NATIVE_DOUBLE;
  if (m->dtype == PRSVD_H5_FLOAT32 && any) {
    /* convert here: a conversion inside HDF5 turns collective I/O independent, which
     * filtered (compressed) datasets refuse */
    PRSVD_ALLOC(f32, nrows * ld);
    for (int64_t i = 0; i < nrows; i++)
      for (int64_t j = 0; j < ncols; j++) f32[i * ld + j] = (float)data[i * ld + j];
    buf = f32;
    mtype = H5T_NATIVE_FLOAT;
  }
  H5_TRY(fspace = H5Dget_space(m->dset), PRSVD_ERR_OUTPUT, "cannot get the space of '%s'", m->name);
  H5_TRY(mspace = H5Screate_simple(2, mdims, NULL), PRSVD_ERR_OUTPUT, "cannot create a dataspace");
  if (any) {
    H5_TRY(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL), PRSVD_ERR_OUTPUT,
           "cannot select %s of '%s'", what, m->name);
    H5_TRY(H5Sselect_hyperslab(mspace, H5S_SELECT_SET, mstart, NULL, count, NULL), PRSVD_ERR_OUTPUT,
           "cannot select a block of %s", what);
  } else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  H5_TRY(dxpl = H5Pcreate(H5P_DATASET_XFER), PRSVD_ERR_OUTPUT, "cannot create a property list");
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  H5_TRY(H5Dwrite(m->dset, mtype, mspace, fspace, dxpl, buf), PRSVD_ERR_OUTPUT,
         "cannot write %s [%lld, %lld) of '%s' to '%s' (disk full?)", what, (long long)first,
         (long long)(first + count_of), m->name, m->w->temp);
done:
  if (fspace >= 0) H5Sclose(fspace);
  if (mspace >= 0) H5Sclose(mspace);
  if (dxpl >= 0) H5Pclose(dxpl);
  free(f32);
  status = prsvd_error_agree(m->w->comm, status);
  if (!status) test_sigterm_at_write(m->w);
  return status;
}

int prsvd_h5_matrix_write(prsvd_h5_matrix *m, int64_t row0, int64_t nrows, const double *rows) {
  return write_block(m, row0, nrows, 0, m->cols, rows, m->cols, "rows");
}

/* Column-major rows go out through a row-major buffer of at most WRITE_BLOCK_BYTES, refilled
 * block by block: a transposed copy of all of a rank's rows at once (40 MB for U of a
 * 100000-row svd at k = 50) took fresh pages as large as the write and left the cache before
 * HDF5 read it.  Every rank makes as many collective writes as the rank with the most blocks
 * (its last ones select nothing). */
#define WRITE_BLOCK_BYTES ((int64_t)4 << 20)

int prsvd_h5_matrix_write_colmajor(prsvd_h5_matrix *m, int64_t row0, int64_t nrows,
                                   const double *data, int64_t ld) {
  const int64_t cols = m->cols > 0 ? m->cols : 1;
  int64_t block = WRITE_BLOCK_BYTES / 8 / cols;
  if (block > nrows) block = nrows;
  if (block < 1) block = 1;
  int64_t blocks = nrows > 0 ? (nrows + block - 1) / block : 0, most = blocks;
  double *buf = malloc(sizeof(double) * (size_t)(block * cols));
  int status = buf ? PRSVD_OK
                   : prsvd_error_set(PRSVD_ERR_NOMEM, __FILE__, __LINE__, __func__,
                                     "out of memory transposing '%s'", m->name);
  status = prsvd_error_agree(m->w->comm, status);
  if (!status) MPI_Allreduce(&blocks, &most, 1, MPI_INT64_T, MPI_MAX, m->w->comm); /* errors are fatal */
  for (int64_t b = 0; !status && b < most; b++) {
    const int64_t r0 = b * block, nr = r0 >= nrows ? 0 : nrows - r0 < block ? nrows - r0 : block;
    for (int64_t i = 0; i < nr; i++)
      for (int64_t j = 0; j < m->cols; j++) buf[i * m->cols + j] = data[j * ld + r0 + i];
    status = prsvd_h5_matrix_write(m, row0 + (nr ? r0 : 0), nr, buf);
  }
  free(buf);
  return status;
}

int prsvd_h5_matrix_write_cols(prsvd_h5_matrix *m, int64_t col0, int64_t ncols, const double *data,
                               int64_t ld) {
  return write_block(m, 0, m->rows, col0, ncols, data, ld, "columns");
}

void prsvd_h5_matrix_close(prsvd_h5_matrix **m) {
  if (!m || !*m) return;
  H5Dclose((*m)->dset);
  free(*m);
  *m = NULL;
}

/* An nd-way dataset (C order) whose values every rank holds: rank 0 writes them. */
static int write_nd(prsvd_h5_writer *w, const char *name, int nd, const int64_t *shape, hid_t file_type,
                    hid_t mem_type, const void *x) {
  int status = PRSVD_OK;
  hid_t space = -1, dset = -1, dxpl = -1, lcpl = -1;
  hsize_t dims[PRSVD_H5_MAX_DIMS];
  int64_t n = 1;
  if (nd < 1 || nd > PRSVD_H5_MAX_DIMS)
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "a %d-way dataset '%s' (1 to %d)", nd, name, PRSVD_H5_MAX_DIMS);
  for (int i = 0; i < nd; i++) dims[i] = (hsize_t)shape[i], n = prsvd_size_mul(n, shape[i]);
  PRSVD_CHECK(reserve(w, prsvd_size_mul(8, n), nd == 1 ? "a vector" : "an array"));
  H5_TRY(space = H5Screate_simple(nd, dims, NULL), PRSVD_ERR_OUTPUT, "cannot create a dataspace");
  H5_TRY(lcpl = H5Pcreate(H5P_LINK_CREATE), PRSVD_ERR_OUTPUT, "cannot create a property list");
  H5Pset_create_intermediate_group(lcpl, 1);
  H5_TRY(dset = H5Dcreate2(w->file, name, file_type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT),
         PRSVD_ERR_OUTPUT, "cannot create dataset '%s' in '%s'", name, w->temp);
  H5_TRY(dxpl = H5Pcreate(H5P_DATASET_XFER), PRSVD_ERR_OUTPUT, "cannot create a property list");
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  if (w->rank != 0) H5Sselect_none(space);
  H5_TRY(H5Dwrite(dset, mem_type, space, space, dxpl, x), PRSVD_ERR_OUTPUT,
         "cannot write '%s' to '%s' (disk full?)", name, w->temp);
done:
  if (space >= 0) H5Sclose(space);
  if (dset >= 0) H5Dclose(dset);
  if (dxpl >= 0) H5Pclose(dxpl);
  if (lcpl >= 0) H5Pclose(lcpl);
  return prsvd_error_agree(w->comm, status);
}

int prsvd_h5_write_vector(prsvd_h5_writer *w, const char *name, int64_t n, const double *x) {
  return write_nd(w, name, 1, &n, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, x);
}

int prsvd_h5_write_indices(prsvd_h5_writer *w, const char *name, int64_t n, const int64_t *x) {
  return write_nd(w, name, 1, &n, H5T_STD_I64LE, H5T_NATIVE_INT64, x);
}

int prsvd_h5_write_array(prsvd_h5_writer *w, const char *name, int nd, const int64_t *shape, const double *x) {
  return write_nd(w, name, nd, shape, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, x);
}

static int write_attr(prsvd_h5_writer *w, const char *obj, const char *name, hid_t type,
                      int64_t n, const void *v) {
  int status = PRSVD_OK;
  hid_t o = -1, space = -1, attr = -1;
  hsize_t dims[1] = {(hsize_t)n};
  if (n > 64) PRSVD_CHECK(reserve(w, 8 * n, "an attribute")); /* a long one (a planted spectrum) */
  H5_TRY(o = H5Oopen(w->file, obj, H5P_DEFAULT), PRSVD_ERR_OUTPUT, "cannot open '%s'", obj);
  H5_TRY(space = n < 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL), PRSVD_ERR_OUTPUT,
         "cannot create a dataspace");
  if (H5Aexists(o, name) > 0) /* one kept from the file this run updates (io/h5update.c) */
    H5_TRY(H5Adelete(o, name), PRSVD_ERR_OUTPUT, "cannot replace attribute '%s'", name);
  H5_TRY(attr = H5Acreate2(o, name, type, space, H5P_DEFAULT, H5P_DEFAULT), PRSVD_ERR_OUTPUT,
         "cannot create attribute '%s'", name);
  H5_TRY(H5Awrite(attr, type, v), PRSVD_ERR_OUTPUT, "cannot write attribute '%s'", name);
done:
  if (attr >= 0) H5Aclose(attr);
  if (space >= 0) H5Sclose(space);
  if (o >= 0) H5Oclose(o);
  return prsvd_error_agree(w->comm, status);
}

int prsvd_h5_attr_string(prsvd_h5_writer *w, const char *obj, const char *name, const char *v) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  int status = write_attr(w, obj, name, type, -1, &v);
  H5Tclose(type);
  return status;
}

int prsvd_h5_attr_int(prsvd_h5_writer *w, const char *obj, const char *name, int64_t v) {
  return write_attr(w, obj, name, H5T_NATIVE_INT64, -1, &v);
}

/* This rank's part [offset, offset + count) of the 1-D dataset `name` of `total` entries, in a
 * collective write every rank joins (count 0: none). */
static int write_part(prsvd_h5_writer *w, hid_t group, const char *name, hid_t file_type, hid_t mem_type,
                      int64_t total, int64_t offset, int64_t count, const void *x) {
  int status = PRSVD_OK;
  hid_t fspace = -1, mspace = -1, dset = -1, dxpl = -1;
  hsize_t dims[1] = {(hsize_t)total}, start[1] = {(hsize_t)offset}, n[1] = {(hsize_t)count};
  static const double none = 0.0;
  H5_TRY(fspace = H5Screate_simple(1, dims, NULL), PRSVD_ERR_OUTPUT, "cannot create a dataspace");
  H5_TRY(mspace = H5Screate_simple(1, count > 0 ? n : (hsize_t[]){1}, NULL), PRSVD_ERR_OUTPUT,
         "cannot create a dataspace");
  H5_TRY(dset = H5Dcreate2(group, name, file_type, fspace, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
         PRSVD_ERR_OUTPUT, "cannot create dataset '%s' in '%s'", name, w->temp);
  if (count > 0) {
    H5_TRY(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, n, NULL), PRSVD_ERR_OUTPUT,
           "cannot select entries [%lld, %lld) of '%s'", (long long)offset, (long long)(offset + count), name);
  } else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  H5_TRY(dxpl = H5Pcreate(H5P_DATASET_XFER), PRSVD_ERR_OUTPUT, "cannot create a property list");
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  H5_TRY(H5Dwrite(dset, mem_type, mspace, fspace, dxpl, count > 0 ? x : (const void *)&none), PRSVD_ERR_OUTPUT,
         "cannot write '%s' to '%s' (disk full?)", name, w->temp);
done:
  if (dxpl >= 0) H5Pclose(dxpl);
  if (dset >= 0) H5Dclose(dset);
  if (mspace >= 0) H5Sclose(mspace);
  if (fspace >= 0) H5Sclose(fspace);
  return status;
}

int prsvd_h5_write_csr(prsvd_h5_writer *w, const char *name, int64_t rows, int64_t cols, int64_t nrows,
                       const int64_t *indptr, const int64_t *indices, const double *data) {
  int status = PRSVD_OK;
  hid_t group = -1, lcpl = -1;
  int64_t *ptr = NULL;
  long long mine[2] = {nrows, nrows > 0 ? indptr[nrows] : 0}, before[2] = {0, 0}, total[2];
  int bad = 0;
  for (int64_t i = 0; i < nrows && !bad; i++) bad = indptr[i + 1] < indptr[i];
  for (int64_t e = 0; e < mine[1] && !bad; e++) bad = indices[e] < 0 || indices[e] >= cols;
  PRSVD_MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, w->comm));
  if (bad) PRSVD_FAIL(PRSVD_ERR_USAGE, "the CSR rows of '%s' have decreasing offsets or a column outside [0, %lld)",
                      name, (long long)cols);
  PRSVD_MPI_TRY(MPI_Exscan(mine, before, 2, MPI_LONG_LONG, MPI_SUM, w->comm));
  if (w->rank == 0) before[0] = before[1] = 0; /* MPI_Exscan leaves rank 0's undefined */
  PRSVD_MPI_TRY(MPI_Allreduce(mine, total, 2, MPI_LONG_LONG, MPI_SUM, w->comm));
  if (total[0] != rows)
    PRSVD_FAIL(PRSVD_ERR_USAGE, "the ranks' rows of '%s' add up to %lld, not %lld", name, total[0], (long long)rows);
  PRSVD_TRY(reserve(w, 16 * total[1] + 8 * (rows + 1), "a CSR matrix"));
  /* indptr: rank 0 writes entries [0, nrows], every other rank [before + 1, before + nrows],
   * its offsets shifted by the entries of the ranks before it */
  PRSVD_ALLOC(ptr, nrows + 1);
  for (int64_t i = 0; i <= nrows; i++) ptr[i] = (nrows > 0 ? indptr[i] : 0) + before[1];
  H5_TRY(lcpl = H5Pcreate(H5P_LINK_CREATE), PRSVD_ERR_OUTPUT, "cannot create a property list");
  H5Pset_create_intermediate_group(lcpl, 1);
  H5_TRY(group = H5Gcreate2(w->file, name, lcpl, H5P_DEFAULT, H5P_DEFAULT), PRSVD_ERR_OUTPUT,
         "cannot create group '%s' in '%s'", name, w->temp);
  PRSVD_TRY(write_part(w, group, "data", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, total[1], before[1], mine[1], data));
  PRSVD_TRY(write_part(w, group, "indices", H5T_STD_I64LE, H5T_NATIVE_INT64, total[1], before[1], mine[1],
                       indices));
  if (w->rank == 0)
    PRSVD_TRY(write_part(w, group, "indptr", H5T_STD_I64LE, H5T_NATIVE_INT64, rows + 1, 0, nrows + 1, ptr));
  else
    PRSVD_TRY(write_part(w, group, "indptr", H5T_STD_I64LE, H5T_NATIVE_INT64, rows + 1, before[0] + 1, nrows,
                         ptr + 1));
done:
  status = prsvd_error_agree(w->comm, status);
  if (group >= 0) H5Gclose(group);
  if (lcpl >= 0) H5Pclose(lcpl);
  free(ptr);
  if (!status) {
    const int64_t shape[2] = {rows, cols};
    PRSVD_CHECK(prsvd_h5_attr_string(w, name, "encoding-type", "csr_matrix"));
    PRSVD_CHECK(prsvd_h5_attr_string(w, name, "encoding-version", "0.1.0"));
    PRSVD_CHECK(write_attr(w, name, "shape", H5T_NATIVE_INT64, 2, shape));
    PRSVD_CHECK(prsvd_h5_attr_string(w, name, "h5sparse_format", "csr"));
    PRSVD_CHECK(write_attr(w, name, "h5sparse_shape", H5T_NATIVE_INT64, 2, shape));
  }
  return status;
}

int prsvd_h5_attr_uint64(prsvd_h5_writer *w, const char *obj, const char *name, uint64_t v) {
  return write_attr(w, obj, name, H5T_NATIVE_UINT64, -1, &v);
}

int prsvd_h5_attr_double(prsvd_h5_writer *w, const char *obj, const char *name, double v) {
  return write_attr(w, obj, name, H5T_NATIVE_DOUBLE, -1, &v);
}

int prsvd_h5_attr_doubles(prsvd_h5_writer *w, const char *obj, const char *name, int64_t n,
                          const double *v) {
  return write_attr(w, obj, name, H5T_NATIVE_DOUBLE, n, v);
}

int prsvd_h5_attr_ints(prsvd_h5_writer *w, const char *obj, const char *name, int64_t n, const int64_t *v) {
  return write_attr(w, obj, name, H5T_NATIVE_INT64, n, v);
}
