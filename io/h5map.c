/* Zero-copy row panels: rows of a contiguous dataset stored in the type the pass multiplies
 * (native float64 or float32, unfiltered, as contiguous storage always is) are lent as a
 * read-only mapping of the file, so the page cache itself is the panel and no read() copies
 * it.  The mapping is populated on the reading thread (MADV_SEQUENTIAL then MADV_POPULATE_READ,
 * else MAP_POPULATE), so its pages are read (a cold file) and mapped before the panel is
 * handed over, unless every page is in the page cache already, and unmapped when it is given
 * back:
 * the process holds about the two panels in use (clean file pages, which the kernel may
 * reclaim under a memory limit).  Only for POSIX reads (--read posix; --read posix-copy
 * turns it off); anything else falls back to HDF5's reads. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5util.h"

/* Bytes of an element that a pass multiplies as it is stored: 8 (native float64), 4 (native
 * float32), 0 (anything else: integers, other byte orders, other widths). */
static int native_bytes(hid_t type) {
  if (H5Tequal(type, H5T_NATIVE_DOUBLE) > 0) return 8;
  if (H5Tequal(type, H5T_NATIVE_FLOAT) > 0) return 4;
  return 0;
}

int prsvd_h5map_open(struct prsvd_h5map *mp, hid_t file, hid_t fapl, hid_t dset, hid_t type,
                     hid_t dcpl, int64_t rows, int64_t cols) {
  struct stat st;
  void *handle = NULL;
  memset(mp, 0, sizeof *mp);
  mp->fd = -1;
  const int elem = native_bytes(type);
  if (!elem || H5Pget_layout(dcpl) != H5D_CONTIGUOUS || H5Pget_nfilters(dcpl) != 0) return 0;
  if (H5Pget_driver(fapl) != H5FD_SEC2 || H5Fget_vfd_handle(file, fapl, &handle) < 0 || !handle)
    return 0;
  /* the data's byte in the file: H5Dget_offset adds the base address (the userblock) itself;
   * HADDR_UNDEF for unallocated storage or an external file */
  const haddr_t addr = H5Dget_offset(dset);
  const int64_t bytes = prsvd_size_mul(prsvd_size_mul(rows, cols), elem);
  if (addr == HADDR_UNDEF || addr > (haddr_t)(INT64_MAX - bytes) ||
      (int64_t)H5Dget_storage_size(dset) != bytes)
    return 0;
  const int64_t offset = (int64_t)addr;
  if (offset % elem) return 0; /* the rows would not be aligned to their type in memory */
  /* a descriptor of the very file HDF5 opened (the path may have been replaced since) */
  const int fd = fcntl(*(int *)handle, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return 0;
  if (fstat(fd, &st) != 0 || st.st_size < offset + bytes) {
    close(fd);
    return 0;
  }
  mp->fd = fd;
  mp->offset = offset;
  mp->row_bytes = cols * elem;
  mp->page = sysconf(_SC_PAGESIZE);
  mp->elem = elem;
  return elem;
}

#ifdef MADV_POPULATE_READ
/* 1 if every page of the mapping [base, base + len) is in the page cache (mincore).  Then
 * nothing is to be read, and the page walk that populating would do on the reading thread is
 * left to the compute threads, each faulting its own rows of the panel as it multiplies them:
 * on 2 cores the one reading thread's walk (0.14 s of CPU a warm pass of 1.6 GB) took a core
 * from one of two compute threads while the other waited for it at the panel's barrier. */
static int resident(void *base, size_t len) {
  unsigned char vec[4096];
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  for (size_t off = 0; off < len; off += sizeof vec * page) {
    const size_t n = len - off < sizeof vec * page ? len - off : sizeof vec * page;
    if (mincore((char *)base + off, n, vec) != 0) return 0;
    for (size_t i = 0; i < (n + page - 1) / page; i++)
      if (!(vec[i] & 1)) return 0;
  }
  return 1;
}
#endif

/* A read-only mapping of len bytes at `from`, its pages read in.  Marked sequential before its
 * pages are read (MADV_POPULATE_READ, Linux 5.14), so the faults read ahead as read() does.
 * Reading a cold 1.6 GB file in 4 MiB mappings, six interleaved runs each on this machine's
 * erratic virtual disk: MAP_POPULATE alone 0.58 to 2.56 s (median 0.81), this way 0.59 to
 * 1.99 s (median 0.67).  Kernels without MADV_POPULATE_READ get MAP_POPULATE. */
static void *map_rows(int fd, size_t len, off_t from) {
#ifdef MADV_POPULATE_READ
  void *base = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, from);
  if (base == MAP_FAILED) return base;
  if (resident(base, len)) return base;
  madvise(base, len, MADV_SEQUENTIAL);
  if (madvise(base, len, MADV_POPULATE_READ) == 0) return base;
  munmap(base, len);
#endif
  return mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, from);
}

/* The mappings lent now, for the SIGBUS handler: a page of a mapping past the end of a file
 * truncated under it raises SIGBUS when touched, in whichever thread multiplies it.  The
 * handler puts zero pages in the mapping's place (the load is retried and reads 0) and marks
 * it, and prsvd_h5map_return refuses the panel, so the run ends with an error naming the file
 * instead of a bus error.  A SIGBUS elsewhere, or sent by kill, goes to the handler there was
 * before (Open MPI's backtrace, or the default).  The page that holds the new end of the file
 * raises nothing (its bytes past the end read 0), so prsvd_h5map_return also checks that the
 * file did not change while the rows were lent.  Either marks the process for good
 * (prsvd_h5map_changed): sums that took such rows are never saved in a checkpoint, even
 * once the panel is given back and its error waits on the reader thread. */
enum { LIVE = 64 }; /* two a source (the panel in use and the next) */
static struct {
  _Atomic(uintptr_t) base; /* 0: a free slot */
  _Atomic(size_t) len;
  atomic_int faulted;
  int64_t row0, nrows;
} live[LIVE];
static atomic_int changed_under; /* a lent mapping faulted or its file changed, this process */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;
static struct sigaction bus_before;

static void on_bus(int sig, siginfo_t *si, void *uc) {
  const uintptr_t at = (uintptr_t)si->si_addr;
  (void)uc;
  for (int i = 0; i < LIVE && si->si_code > 0; i++) { /* > 0: raised by the kernel, not sent */
    const uintptr_t base = atomic_load(&live[i].base);
    const size_t len = atomic_load(&live[i].len);
    if (base && at - base < len) {
      if (mmap((void *)base, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
        break;
      atomic_store(&live[i].faulted, 1);
      atomic_store(&changed_under, 1);
      return;
    }
  }
  /* not a lent mapping's: a fault recurs in the handler before, a sent signal is sent again */
  sigaction(SIGBUS, &bus_before, NULL);
  if (si->si_code <= 0) raise(sig);
}

static void bus_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_bus;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &bus_before);
}

/* The slot of a mapping lent (base 0: a free one); -1 if none. */
static int live_slot(uintptr_t base) {
  for (int i = 0; i < LIVE; i++)
    if (atomic_load(&live[i].base) == base) return i;
  return -1;
}

int prsvd_h5map_lend(const struct prsvd_h5map *mp, const char *what, int64_t row0, int64_t nrows,
                     struct prsvd_rows_lent *lent) {
  memset(lent, 0, sizeof *lent);
  if (nrows <= 0) return PRSVD_OK;
  pthread_once(&bus_once, bus_install); /* after MPI_Init, so Open MPI's handler is the one before */
  const int64_t at = mp->offset + row0 * mp->row_bytes, from = at - at % mp->page;
  const size_t len = (size_t)(nrows * mp->row_bytes + (at - from));
  void *base = map_rows(mp->fd, len, (off_t)from);
  if (base == MAP_FAILED)
    PRSVD_ERR(errno == ENOMEM ? PRSVD_ERR_NOMEM : PRSVD_ERR_INPUT,
              "cannot map rows [%lld, %lld) of %s: %s", (long long)row0, (long long)(row0 + nrows),
              what, strerror(errno));
  pthread_mutex_lock(&live_mu);
  const int i = live_slot(0);
  if (i >= 0) {
    live[i].row0 = row0, live[i].nrows = nrows;
    atomic_store(&live[i].faulted, 0);
    atomic_store(&live[i].len, len);
    atomic_store(&live[i].base, (uintptr_t)base); /* last: the handler reads base first */
  }
  pthread_mutex_unlock(&live_mu);
  if (i < 0) {
    munmap(base, len);
    PRSVD_ERR(PRSVD_ERR_INTERNAL, "more than %d mappings lent at once (rows [%lld, %lld) of %s)", LIVE,
              (long long)row0, (long long)(row0 + nrows), what);
  }
  lent->base = base;
  lent->len = len;
  lent->data = (const char *)base + (at - from);
  return PRSVD_OK;
}

int prsvd_h5map_changed(void) { return atomic_load(&changed_under); }

int prsvd_h5map_return(struct prsvd_rows_lent *lent, const char *file, const struct prsvd_file_stamp *stamp) {
  int faulted = 0, status;
  int64_t row0 = 0, nrows = 0;
  if (!lent->base) return PRSVD_OK;
  pthread_mutex_lock(&live_mu);
  const int i = live_slot((uintptr_t)lent->base);
  if (i >= 0) {
    atomic_store(&live[i].base, 0); /* first: the handler no longer looks at it */
    faulted = atomic_load(&live[i].faulted);
    row0 = live[i].row0, nrows = live[i].nrows;
  }
  pthread_mutex_unlock(&live_mu);
  munmap(lent->base, lent->len);
  memset(lent, 0, sizeof *lent);
  if (faulted)
    status = prsvd_error_set(PRSVD_ERR_INPUT, __FILE__, __LINE__, __func__,
                             "'%s' changed while it was being read (truncated under the mapped rows [%lld, %lld))",
                             file, (long long)row0, (long long)(row0 + nrows));
  else
    status = prsvd_file_unchanged(file, stamp, row0, nrows);
  if (status) atomic_store(&changed_under, 1);
  return status;
}

void prsvd_h5map_close(struct prsvd_h5map *mp) {
  if (mp->fd >= 0) close(mp->fd);
  mp->fd = -1;
}
