#!/bin/sh
# Quality gates (issue 6): a sanitizer build (ASan + UBSan + LeakSanitizer) running the unit
# tests and small end-to-end jobs, and a valgrind memcheck run; see gates.py.
exec /usr/bin/python3 "$top_srcdir/tests/quality/gates.py"
