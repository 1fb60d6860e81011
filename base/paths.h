/*
 * What a run may do with the files the user names, decided from the file system before any
 * work (lstat/stat, realpath; no HDF5): every layer that opens or replaces a user's file asks
 * here, so the rules live in one place.
 *
 *   - an input must be a regular file: a FIFO would block the open forever, a device would
 *     be read without end;
 *   - two names are the same file when they reach the same device and inode (through ./,
 *     dir/.., symbolic and hard links), or, for a name that does not exist yet, when their
 *     resolved directories and last components agree;
 *   - an existing output must be a regular file (or a symbolic link, which a commit replaces,
 *     never its target); a dangling symbolic link counts as existing;
 *   - a name to be made must fit its directory's name limit (NAME_MAX): the rename that
 *     commits an output would fail after the whole run.
 * Not collective; errors are PRSVD_ERR_INPUT (inputs) or PRSVD_ERR_OUTPUT (outputs).
 */
#ifndef PRSVD_PATHS_H
#define PRSVD_PATHS_H

/* PRSVD_ERR_INPUT naming `what` ("input", "checkpoint", ...) and path unless path exists and
 * is a regular file after following links. */
int prsvd_path_check_input(const char *path, const char *what);
/* 1 if a and b name the same file (see above), 0 if not. */
int prsvd_path_same(const char *a, const char *b);
/* How an output name stands: absent, a regular file, a symbolic link (dangling or not), or
 * something a run must never replace (directory, device, FIFO, socket). */
enum prsvd_path_kind { PRSVD_PATH_ABSENT, PRSVD_PATH_REGULAR, PRSVD_PATH_SYMLINK, PRSVD_PATH_OTHER };
enum prsvd_path_kind prsvd_path_kind(const char *path);
/* PRSVD_ERR_OUTPUT unless `what` (e.g. "output") at path can be written: a non-empty name
 * that is not a directory (no trailing '/'), in an existing, writable directory; an
 * existing name must be a regular file or a symbolic link (even with force) and needs force. */
int prsvd_path_check_output(const char *path, const char *what, int force);
/* PRSVD_ERR_OUTPUT naming `what` (and path, if not NULL, the name it is for) unless name, a
 * component to be made in the directory dir, fits the directory's name limit (pathconf's
 * _PC_NAME_MAX; NAME_MAX where it says none).  prsvd_path_check_output checks its path's last
 * component so; the temporary beside an output is checked so by its writer (io/h5writer.c). */
int prsvd_path_check_name(const char *dir, const char *name, const char *what, const char *path);

#endif
