/* Kernel readahead of the next row panel of a compressed dataset: after a panel is read, the
 * chunks of the panel after it (the same number of rows, clipped to the dataset; their
 * places from H5Dget_chunk_info_by_coord, HDF5 1.10.5) are handed to the kernel with
 * posix_fadvise(POSIX_FADV_WILLNEED), so that the disk reads them while the reader thread
 * inflates.  Only for filtered chunks: a contiguous or unfiltered dataset is read by large
 * sequential read()s that the kernel's own readahead keeps up with, and there the advice
 * measured slower (bench/readahead.py, bench/RESULTS.md "Readahead of the next panel").
 * Only for the sec2 driver (--read posix), whose handle is a plain file descriptor;
 * PRSVD_NO_READAHEAD=1 turns it off.  Advice is only advice: any failure leaves it off. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "h5util.h"

/* Ranges closer than this are advised as one (the gap is read, not skipped). */
#define MERGE_GAP ((haddr_t)64 << 10)

static int wanted(void) {
  const char *off = getenv("PRSVD_NO_READAHEAD");
  return !(off && off[0] && strcmp(off, "0"));
}

void prsvd_readahead_open(struct prsvd_readahead *ra, hid_t file, hid_t fapl, hid_t dcpl, int64_t rows,
                          int64_t cols) {
  void *handle = NULL;
  hsize_t cd[2];
  memset(ra, 0, sizeof *ra);
  ra->fd = -1;
  if (!wanted() || H5Pget_driver(fapl) != H5FD_SEC2) return;
  if (H5Pget_layout(dcpl) != H5D_CHUNKED || H5Pget_nfilters(dcpl) < 1 || H5Pget_chunk(dcpl, 2, cd) != 2) return;
  if (H5Fget_vfd_handle(file, fapl, &handle) < 0 || !handle) return;
  ra->rows = rows, ra->cols = cols;
  ra->chunk_rows = (int64_t)cd[0], ra->chunk_cols = (int64_t)cd[1];
  ra->fd = *(int *)handle;
  posix_fadvise(ra->fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* a larger readahead window too */
}

static void advise(int fd, haddr_t at, haddr_t bytes) {
  if (bytes) posix_fadvise(fd, (off_t)at, (off_t)bytes, POSIX_FADV_WILLNEED);
}

void prsvd_readahead_rows(const struct prsvd_readahead *ra, hid_t dset, int64_t row0, int64_t nrows) {
  if (ra->fd < 0 || nrows <= 0 || row0 >= ra->rows) return;
  if (row0 + nrows > ra->rows) nrows = ra->rows - row0;
  /* the chunks that hold rows [row0, row0 + nrows), neighbours on disk merged */
  haddr_t run_at = 0, run_end = 0;
  for (int64_t r = row0 - row0 % ra->chunk_rows; r < row0 + nrows; r += ra->chunk_rows)
    for (int64_t c = 0; c < ra->cols; c += ra->chunk_cols) {
      const hsize_t where[2] = {(hsize_t)r, (hsize_t)c};
      unsigned mask;
      haddr_t addr;
      hsize_t size;
      if (H5Dget_chunk_info_by_coord(dset, where, &mask, &addr, &size) < 0 || addr == HADDR_UNDEF) continue;
      if (run_end && addr >= run_at && addr <= run_end + MERGE_GAP) {
        if (addr + size > run_end) run_end = addr + size;
        continue;
      }
      advise(ra->fd, run_at, run_end - run_at);
      run_at = addr, run_end = addr + size;
    }
  advise(ra->fd, run_at, run_end - run_at);
}
