#!/bin/sh
# The library as others link it: tests/lib/test_lib.py.
exec /usr/bin/python3 "$top_srcdir/tests/lib/test_lib.py"
