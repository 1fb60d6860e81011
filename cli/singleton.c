/* Open MPI 4's singleton (a process started without a launcher) without its daemon.
 *
 * Left to itself, a lone process's MPI_Init forks and execs an orted to serve it as PMIx server,
 * and runs two threads to talk to it: PMIx's, and Open MPI's progress thread, onto which the
 * pmix component (mca_pmix_ext3x.so) shifts each PMIx event it is told of.  The event of
 * MPI_Init itself (PMIX_MODEL_DECLARED, -147) now and then stays queued there, unrun, until
 * MPI_Finalize wakes that thread; but MPI_Finalize first finalizes PMIx and dlcloses the
 * component (orte_finalize: the singleton's rte_finalize), so the callback runs in unmapped
 * code: SIGSEGV, "Address not mapped", after a run whose output was complete, and the
 * backtrace that Open MPI's handler starts faults in its turn, so it prints the header alone.
 * 4 times in 4000 `prsvd info` runs on 2 loaded cores; each core dump has the progress thread in
 * event_base_loop calling the callback (ext3x's process_event) at an address where
 * mca_pmix_ext3x.so was, and the main thread in opal_progress_thread_finalize, joining it;
 * with pmix_base_verbose, the crashed run logs the event received but never handled.  Ranks
 * under mpirun finalize in the same order (ess pmi) and are left as they are: none crashed in
 * 600 `mpirun -n 1 prsvd info` runs.
 *
 * A singleton that never spawns has no use for the daemon: ess_singleton_isolated starts none,
 * and with it no PMIx client, thread or event (Open MPI's pmix_isolated component stands in);
 * nothing is left to queue a callback of an unloaded component on the progress thread.  It
 * also starts in half the time (0.15 s rather than 0.34 s for `prsvd info`).
 *
 * An isolated singleton takes the same job name on every start (pmix_isolated: job 1, rank 0),
 * so the default session directory, /tmp/ompi.HOST.UID/jf.0/1/0, is shared by every one running
 * on the node, and each removes it as it finalizes: another's MPI_Init then fails to create it
 * (orte_init failed), or its MPI-IO shared-file-pointer file vanishes (mca_sharedfp_sm_file_open:
 * unable to open file), as test files run beside a loop of isolated singletons showed.  So each
 * isolated singleton gets a top session directory of its own, named by its pid, which Open MPI
 * creates and removes at MPI_Finalize; prsvd_cli_singleton_cleanup removes it on the exits that
 * skip MPI_Finalize (a signal, a failed close), with the shared-file-pointer file that MPI-IO keeps
 * there while a file is open (sharedfp sm; the other components write theirs beside the
 * output, and without one MPI_File_open fails), as the orted used to when the singleton died.
 *
 * A choice the user made is kept, and the singleton is then Open MPI's own:
 * ess_singleton_isolated, orte_top_session_dir or orte_tmpdir_base in the environment (even
 * empty) or in an MCA parameter file. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"
#include "mca_params.h"

/* the session directories an isolated singleton makes, deepest first (orte_session_dir:
 * TOP/jf.FAMILY/JOB/RANK for job 1, rank 0) */
static char session_dirs[4][PATH_MAX];
static int n_session_dirs;

#if defined(OMPI_MAJOR_VERSION) && OMPI_MAJOR_VERSION < 5
static int any_value(const char *value) {
  (void)value;
  return 1;
}

/* 1 if the user set the MCA parameter, in the environment (even empty) or in a file */
static int user_chose(const char *param) {
  return prsvd_mca_env(param) != NULL || prsvd_mca_files_any(param, any_value);
}
#endif

void prsvd_cli_pick_singleton(void) {
#if defined(OMPI_MAJOR_VERSION) && OMPI_MAJOR_VERSION < 5
  static const char *const below[] = {"/jf.0/1/0", "/jf.0/1", "/jf.0", ""};
  char host[256] = "localhost", top[PATH_MAX];
  if (prsvd_cli_launcher_rank() >= 0) return; /* launched (mpirun, srun, PMI) */
  if (user_chose("ess_singleton_isolated") || user_chose("orte_top_session_dir") ||
      user_chose("orte_tmpdir_base"))
    return;
  /* the base Open MPI would take (opal_tmp_directory) */
  const char *base = getenv("TMPDIR");
  if (!base || !*base) base = getenv("TEMP");
  if (!base || !*base) base = getenv("TMP");
  if (!base || !*base) base = "/tmp";
  gethostname(host, sizeof host - 1);
  host[sizeof host - 1] = '\0';
  const int n = snprintf(top, sizeof top, "%s/ompi.%s.%lu.prsvd-%ld", base, host,
                         (unsigned long)getuid(), (long)getpid());
  if (n < 0 || (size_t)n + 16 > sizeof top) return; /* no room for the levels below */
  for (int i = 0; i < 4; i++)
    snprintf(session_dirs[i], sizeof session_dirs[i], "%s%s", top, below[i]);
  n_session_dirs = 4;
  setenv("OMPI_MCA_orte_top_session_dir", top, 1);
  setenv("OMPI_MCA_ess_singleton_isolated", "1", 1);
#endif
}

/* Unlink the files in dir (not its subdirectories), with system calls alone: called from a
 * signal handler, where opendir and readdir may not be. */
static void unlink_files(const char *dir) {
#ifdef SYS_getdents64
  struct entry { /* linux_dirent64 */
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
  };
  _Alignas(8) char buf[4096];
  const int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  long n;
  while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
    for (long at = 0; at < n;) {
      const struct entry *e = (const struct entry *)(buf + at);
      const int dot = e->name[0] == '.' && (!e->name[1] || (e->name[1] == '.' && !e->name[2]));
      if (!dot) unlinkat(fd, e->name, 0); /* fails on a directory: rmdir below takes it */
      at += e->reclen;
    }
  close(fd);
#else
  (void)dir;
#endif
}

void prsvd_cli_singleton_cleanup(void) {
  for (int i = 0; i < n_session_dirs; i++) {
    if (i < 2) unlink_files(session_dirs[i]); /* the rank's and the job's: sharedfp sm's file */
    rmdir(session_dirs[i]);
  }
}
