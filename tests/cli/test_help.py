"""What prsvd says about itself: every command's --help against its golden copy
(tests/cli/CMD-help.golden, the top level's prsvd-help.golden) and within 79 columns, the
options pca refuses unknown to it, docs/options.md as tools/options-md.sh prints it now, the
man page from tools/man.sh rendered by groff without a warning with the sections it
promises, --version naming real library versions, and docs/json.md naming every field
--json prints.

After changing an option, a help text or an example, regenerate what this file compares:
    REGENERATE=1 python3 tests/cli/test_help.py
writes the goldens and docs/options.md from the built ./prsvd, then checks them (read the
diff before committing it)."""
import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import PRSVD, SRC, check, path, run  # noqa: E402

GOLDEN = os.path.join(SRC, "tests", "cli")
REGENERATE = os.environ.get("REGENERATE") == "1"
WIDTH = 79      # the widest line --help prints (PRSVD_HELP_WIDTH)
EXAMPLE = 72    # the widest example: it fits the man page's indent of 7 in 80 columns
_help = {}


def commands():
    """The commands `prsvd --help` lists, in its order."""
    top = help_of(None)
    block = top.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines()]


def help_of(cmd):
    """stdout of `prsvd [CMD] --help`, run once per command."""
    if cmd not in _help:
        r = run(([cmd] if cmd else []) + ["--help"])
        assert r.returncode == 0, f"prsvd {cmd or ''} --help exited {r.returncode}: {r.stderr}"
        _help[cmd] = r.stdout
    return _help[cmd]


def named(cmd):
    return f"prsvd {cmd} --help" if cmd else "prsvd --help"


def golden_path(cmd):
    return os.path.join(GOLDEN, f"{cmd or 'prsvd'}-help.golden")


def diff(expected, actual):
    import difflib
    return "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                        "golden", "now", n=1))


def test_goldens():
    """Every command's --help, and the top level's, equals its golden copy; no golden is left
    for a command that is gone."""
    cmds = commands()
    check("prsvd --help lists the eleven commands",
          cmds == ["svd", "pca", "project", "eig", "id", "cur", "tucker", "kfac", "info", "verify", "gen", "import"], cmds)
    for cmd in [None] + cmds:
        name = golden_path(cmd)
        text = help_of(cmd)
        if REGENERATE:
            with open(name, "w") as g:
                g.write(text)
        expected = open(name).read() if os.path.exists(name) else ""
        check(f"{named(cmd)} matches {os.path.relpath(name, SRC)}",
              text == expected, diff(expected, text))
    stale = sorted(set(glob.glob(os.path.join(GOLDEN, "*-help.golden"))) -
                   {golden_path(c) for c in [None] + cmds})
    check("no golden without a command", not stale, stale)


def test_width_and_examples():
    """Wrapped within 79 columns, every command has examples that fit the man page, and each
    example runs the command it documents."""
    for cmd in [None] + commands():
        text = help_of(cmd)
        long = [line for line in text.splitlines() if len(line) > WIDTH]
        check(f"{named(cmd)}: no line beyond {WIDTH} columns", not long, "\n".join(long))
        examples = text.split("\nexamples:\n", 1)[1].split("\n\n", 1)[0] if "\nexamples:\n" in text else ""
        lines = [line[2:] for line in examples.splitlines()]
        check(f"{named(cmd)} has examples", len(lines) >= 2, text[-400:])
        wide = [line for line in lines if len(line) > EXAMPLE]
        check(f"{named(cmd)}: examples within {EXAMPLE} columns", not wide, "\n".join(wide))
        if cmd:
            runs = [line for line in lines if not line.startswith("#")]
            check(f"prsvd {cmd} --help: every example runs prsvd {cmd}",
                  runs and all(re.match(rf"(mpirun -n \d+ )?prsvd {cmd} ", line) for line in runs), runs)


def test_pca_takes_only_its_options():
    """pca's help leaves out what pca refuses, and its parser does not know those options
    (svd's help and parser do)."""
    svd, pca = help_of("svd"), help_of("pca")
    refused = ["--onepass-method", "--sketch", "--range-dim", "--core-dim", "--sketch-memory", "--tol",
               "--max-rank", "--block", "--transpose", "--center", "--panels"]
    for opt in refused:  # an option's line: "  -k, --rank K" or "      --tol EPS"
        label = rf"^  (-\w, |    ){opt}(?![\w-])"
        check(f"svd --help lists {opt}", re.search(label, svd, re.M), svd)
        check(f"pca --help leaves out {opt}", not re.search(label, pca, re.M), pca)
    spec = f"{path('never.h5')}:/A"
    for opt in ["--tol", "--transpose", "--panels", "--sketch"]:
        value = {"--tol": ["0.1"], "--panels": ["rows"], "--sketch": ["sparse"]}.get(opt, [])
        r = run(["pca", spec, "-k", 2, opt, *value, "-o", path("pca.h5")])
        check(f"pca {opt}: exit 1, unknown option", r.returncode == 1 and
              f"unknown option '{opt}' for 'prsvd pca'" in r.stderr, r.stderr)


def test_options_md():
    """docs/options.md is what tools/options-md.sh prints from the option tables now."""
    r = subprocess.run(["sh", os.path.join(SRC, "tools", "options-md.sh"), PRSVD], capture_output=True, text=True)
    check("tools/options-md.sh exits 0", r.returncode == 0, r.stderr)
    name = os.path.join(SRC, "docs", "options.md")
    if REGENERATE and r.returncode == 0:
        with open(name, "w") as f:
            f.write(r.stdout)
    committed = open(name).read() if os.path.exists(name) else ""
    check("docs/options.md equals tools/options-md.sh ./prsvd (regenerate: see this file's docstring)",
          r.stdout == committed, diff(committed, r.stdout))
    for cmd in commands():
        check(f"docs/options.md has prsvd {cmd}", f"\n## prsvd {cmd}\n" in committed)


def test_man_page():
    """tools/man.sh writes a page groff renders without a warning, with every section it
    promises, every command, every exit code --help names and every PRSVD_ variable the
    sources read (but the tests' own PRSVD_TEST_*)."""
    man = path("prsvd.1")
    with open(man, "w") as f:
        r = subprocess.run(["sh", os.path.join(SRC, "tools", "man.sh"), PRSVD], stdout=f, stderr=subprocess.PIPE, text=True)
    check("tools/man.sh exits 0", r.returncode == 0, r.stderr)
    g = subprocess.run(["groff", "-man", "-ww", "-z", man], capture_output=True, text=True)
    check("groff -man -ww renders prsvd.1 without a warning", g.returncode == 0 and not g.stderr, g.stderr)
    m = subprocess.run(["man", "-l", man], capture_output=True, text=True,
                       env=dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat"))
    check("man -l renders prsvd.1", m.returncode == 0 and not m.stderr and "EXIT STATUS" in m.stdout, m.stderr)
    wide = [line for line in m.stdout.splitlines() if len(line) > 80]
    check("man -l at 80 columns: no line beyond 80", not wide, "\n".join(wide))
    src = open(man).read()
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "EXAMPLES", '"EXIT STATUS"',
                    "ENVIRONMENT", "FILES", '"SEE ALSO"']:
        check(f"prsvd.1 has .SH {section}", f"\n.SH {section}\n" in src)
    for cmd in commands():
        check(f"prsvd.1 has prsvd {cmd}'s options", f'\n.SS "prsvd {cmd}"\n' in src)
    # exit codes: the ones prsvd --help names, each a .TP in EXIT STATUS
    top = help_of(None)
    codes = set(re.findall(r"\b(\d+) ", top.split("exit codes:", 1)[1]))
    status = src.split('.SH "EXIT STATUS"', 1)[1].split(".SH", 1)[0]
    listed = set(re.findall(r"\n\.B (\d+)(?:, (\d+))?\n", status))
    listed = {c for pair in listed for c in pair if c}
    check("EXIT STATUS lists the exit codes of prsvd --help", codes == listed, f"{sorted(codes)} vs {sorted(listed)}")
    usage = open(os.path.join(SRC, "docs", "usage.md")).read().split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    table = {c for row in re.findall(r"^\| ([\d, ]+) \|", usage, re.M) for c in re.findall(r"\d+", row)}
    check("docs/usage.md's exit code table has the same codes", codes == table, f"{sorted(codes)} vs {sorted(table)}")
    # environment: every PRSVD_ variable the sources read, but the test hooks
    env = src.split(".SH ENVIRONMENT", 1)[1].split(".SH", 1)[0]
    read = set()
    for folder in ["base", "mpi", "src", "io", "cli"]:
        for name in glob.glob(os.path.join(SRC, folder, "*.c")):
            read |= set(re.findall(r'getenv\("(PRSVD_\w+)"\)', open(name).read()))
    user = sorted(v for v in read if not v.startswith("PRSVD_TEST_"))
    check("the sources read some PRSVD_ variables", len(user) >= 3, user)
    for var in user:
        check(f"ENVIRONMENT documents {var}", f".B {var}\n" in env, env)
    check("ENVIRONMENT leaves out the test hooks", "PRSVD_TEST_" not in env)


def json_adds(text):
    """The string keys of every json_object_object_add(obj, KEY, value) call in C text (both
    keys of a KEY that is `cond ? "a" : "b"`), and the calls whose key is not a literal."""
    keys, dynamic = set(), []
    for m in re.finditer(r"json_object_object_add\(", text):
        depth, i, args, start = 0, m.end(), [], m.end()
        while len(args) < 2 and i < len(text):
            c = text[i]
            if c == '"':
                i = text.index('"', i + 1)
            elif c in "([":
                depth += 1
            elif c in ")]":
                depth -= 1
            elif c == "," and depth == 0:
                args.append(text[start:i])
                start = i + 1
            i += 1
        found = re.findall(r'"([^"]+)"', args[1]) if len(args) == 2 else []
        keys |= set(found)
        if not found:
            dynamic.append(args[1].strip() if len(args) == 2 else text[m.start():m.start() + 60])
    return keys, dynamic


def test_json_fields_documented():
    """docs/json.md names every field a command's --json can print (the literal keys in cli/,
    the phases of base/profile.c, kfac's two factors), and each field its tables list is one
    the program prints."""
    doc = open(os.path.join(SRC, "docs", "json.md")).read()
    named = set(re.findall(r"`([A-Za-z_][A-Za-z_ 0-9]*)`", doc))
    keys, dynamic = set(), []
    for f in sorted(glob.glob(os.path.join(SRC, "cli", "*.c"))):
        k, d = json_adds(open(f).read())
        keys |= k
        dynamic += d
    profile = open(os.path.join(SRC, "base", "profile.c")).read()
    phases = set(re.findall(r'"([a-z ]+)"', profile.split("names[", 1)[1].split("};", 1)[0]))
    check("the phases' names are read from base/profile.c", {"read", "sketch", "write"} <= phases, phases)
    check("the keys chosen at run time are the phases' and kfac's factors' only",
          sorted(dynamic) == ["key", "rows[e].name"], dynamic)
    missing = sorted((keys | phases | {"A", "G"}) - named)
    check(f"docs/json.md names all {len(keys)} keys of cli/ and the {len(phases)} phases", not missing,
          "not in docs/json.md: " + ", ".join(missing))
    listed = set()
    for row in re.findall(r"^\| (`[^|]*) \|", doc, re.M):
        listed |= set(re.findall(r"`([^`]+)`", row))
    stale = sorted(listed - keys)
    check(f"every field docs/json.md's tables list ({len(listed)}) is one cli/ prints", not stale,
          "documented but printed nowhere: " + ", ".join(stale))


def test_version():
    """--version prints the versions of MPI, HDF5, ScaLAPACK and BLAS, not link flags."""
    r = run(["--version"])
    lines = dict(line.split(None, 1) for line in r.stdout.splitlines()[1:] if line.strip())
    check("--version exits 0 and names prsvd", r.returncode == 0 and r.stdout.startswith("prsvd "), r.stdout)
    check("--version names MPI, HDF5, ScaLAPACK and BLAS",
          set(lines) == {"MPI", "HDF5", "ScaLAPACK", "BLAS"}, r.stdout)
    check("HDF5: a version number", re.match(r"\d+\.\d+\.\d+", lines.get("HDF5", "")), r.stdout)
    blas = lines.get("BLAS", "")
    check("BLAS: not link flags first", not blas.startswith("-"), blas)
    config = open(os.path.join(harness.TOP, "config.h")).read()
    if re.search(r'PRSVD_BLAS_LIBS ".*-lopenblas', config):
        check("BLAS: OpenBLAS's own configuration (openblas_get_config)", re.match(r"OpenBLAS \d+\.\d+", blas), blas)
    sca = lines.get("ScaLAPACK", "")
    installed = subprocess.run(["dpkg-query", "-W", "-f", "${Version}\n", "libscalapack-*"],
                               capture_output=True, text=True).stdout.split()
    check("ScaLAPACK: the package version configure found",
          sca.split(",")[0] in installed if installed else sca.startswith("unknown"), f"{sca} vs {installed}")


harness.main(globals())
