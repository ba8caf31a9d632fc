#!/usr/bin/python3
"""The ABI guard: what mcring promises to programs built against it.

  abi.py exports --map lib/mcring.map --lib LIB HEADER_DIR...
      Every symbol the export map lists is declared MCRING_API in a public
      header, every MCRING_API function is in the map, and the built
      library exports exactly the map's symbols.

  abi.py docs [--listed NAME.h...] -- HEADER_DIR...
      Every MCRING_API declaration sits under a comment that has a
      "Threads:" and an "Ownership:" line (include/mcring/common.h); every
      header of mcring/ is included by mcring.h and, with --listed, is in
      that list (include/mcring/meson.build's, which installs them).

  abi.py diff --lib LIB --dumps abi/ --version X.Y.Z HEADER_DIR...
      Compares LIB with the newest dump in abi/ (abi/mcring-A.B.C.abi,
      the last release) using libabigail. Additions pass. Anything else
      passes only when X.Y.Z may break the ABI against A.B.C: X > A, or,
      while both are 0.x, Y > B. Exits 77 (meson: skipped) when
      abigail-tools is not installed.

  abi.py dump [--build build] [--version X.Y.Z] [--out abi]
      Writes abi/mcring-X.Y.Z.abi from BUILD's shared library: run it when
      releasing X.Y.Z, and commit the file (older dumps are removed).

docs/api.md explains the rules.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# abidw's options for every dump, the committed one and the one compared:
# no paths of the machine that made it.
ABIDW_FLAGS = ["--no-corpus-path", "--no-show-locs", "--no-comp-dir-path"]


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


# ---- reading the public headers ---------------------------------------------


def header_files(dirs):
    files = []
    for d in dirs:
        if os.path.isfile(d):
            files.append(d)
            continue
        for root, _, names in os.walk(d):
            files += [os.path.join(root, n) for n in names if n.endswith(".h")]
    return sorted(files)


def strip_preprocessor(text):
    """Blanks #-lines (with their continuations), keeping offsets."""
    out = []
    cont = False
    for line in text.split("\n"):
        directive = cont or line.lstrip().startswith("#")
        cont = directive and line.endswith("\\")
        out.append(" " * len(line) if directive else line)
    return "\n".join(out)


COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
DECL = re.compile(r"\bMCRING_API\b(.*?);", re.S)
DEPRECATED = re.compile(r'MCRING_DEPRECATED\s*\(\s*"[^"]*"\s*\)')


def declared_name(decl):
    decl = DEPRECATED.sub(" ", decl)
    head = decl.split("(", 1)[0] if "(" in decl else decl
    names = re.findall(r"[A-Za-z_]\w*", head)
    return names[-1] if names else None


def api_declarations(path):
    """[(name, start, end)] of the MCRING_API declarations in one header,
    with the text they were found in (comments blanked) and the comments."""
    text = strip_preprocessor(open(path, encoding="utf-8").read())
    comments = [(m.start(), m.end(), m.group(0)) for m in COMMENT.finditer(text)]
    plain = COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    decls = []
    for m in DECL.finditer(plain):
        decls.append((declared_name(m.group(1)), m.start(), m.end()))
    return plain, comments, decls


def declared_functions(dirs):
    found = {}
    for path in header_files(dirs):
        for name, _, _ in api_declarations(path)[2]:
            if name is not None:
                found.setdefault(name, path)
    return found


def opaque_types(dirs):
    """Types the headers name (typedef struct x x;) but never define."""
    named, defined = set(), set()
    for path in header_files(dirs):
        text = COMMENT.sub(" ", open(path, encoding="utf-8").read())
        named |= set(re.findall(r"typedef\s+struct\s+(\w+)\s+\w+\s*;", text))
        defined |= set(re.findall(r"struct\s+(\w+)\s*\{", text))
    return sorted(named - defined)


# ---- exports ----------------------------------------------------------------


def map_symbols(path):
    text = COMMENT.sub(" ", open(path, encoding="utf-8").read())
    symbols = set()
    for block in re.findall(r"global\s*:(.*?)(?:local\s*:|\})", text, re.S):
        symbols |= set(re.findall(r"([A-Za-z_]\w*)\s*;", block))
    return symbols


def library_exports(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    symbols = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[1] in ("A", "a"):
            continue  # the version node itself
        symbols.add(parts[2].split("@")[0])
    return symbols


def cmd_exports(args):
    mapped = map_symbols(args.map)
    declared = declared_functions(args.headers)
    exported = library_exports(args.lib)
    problems = []
    for s in sorted(mapped - set(declared)):
        problems.append(f"{s} is in {args.map} but no public header declares "
                        "it MCRING_API: declare it in include/mcring/, or "
                        "drop it from the map (an incompatible change)")
    for s in sorted(set(declared) - mapped):
        problems.append(f"{s} is declared MCRING_API in {declared[s]} but "
                        f"not exported: add it to {args.map}")
    for s in sorted(mapped - exported):
        problems.append(f"{s} is in {args.map} but the library does not "
                        "define it")
    for s in sorted(exported - mapped):
        problems.append(f"the library exports {s}, which {args.map} does "
                        "not list")
    if problems:
        fail("\n  ".join(["the export map and the headers disagree:"] +
                         problems))
    print(f"{len(mapped)} symbols: each exported, each declared in a public "
          "header")


# ---- docs -------------------------------------------------------------------


def check_header_lists(args, problems):
    here = set()
    umbrella = None
    for path in header_files(args.headers):
        if os.path.basename(os.path.dirname(path)) == "mcring":
            here.add(os.path.basename(path))
        elif os.path.basename(path) == "mcring.h":
            umbrella = open(path, encoding="utf-8").read()
    if umbrella is None:
        problems.append("mcring.h not found in " + " ".join(args.headers))
        return
    for h in sorted(here):
        if f'#include "mcring/{h}"' not in umbrella:
            problems.append(f"mcring.h does not include mcring/{h}")
    if args.listed is not None:
        for h in sorted(here - set(args.listed)):
            problems.append(f"mcring/{h} is not in include/mcring/meson.build's "
                            "list: it would be neither installed nor tested")
        for h in sorted(set(args.listed) - here):
            problems.append(f"mcring/{h} is listed but not found")


def cmd_docs(args):
    problems = []
    check_header_lists(args, problems)
    count = 0
    for path in header_files(args.headers):
        plain, comments, decls = api_declarations(path)
        for name, start, _ in decls:
            count += 1
            # The comment that governs a declaration is the last one above
            # it with nothing between them but other MCRING_API
            # declarations (one comment may cover a group).
            above = [c for c in comments if c[1] <= start]
            doc = None
            if above:
                c = above[-1]
                between = DECL.sub(" ", plain[c[1]:start])
                if between.strip() == "":
                    doc = c[2]
            if doc is None:
                problems.append(f"{path}: {name} has no comment right above "
                                "it")
                continue
            for label in ("Threads:", "Ownership:"):
                if label not in doc:
                    problems.append(f"{path}: {name}: its comment has no "
                                    f"'{label}' line")
    if problems:
        fail("\n  ".join(["the public headers are incomplete (what a "
                          "function's comment holds: include/mcring/"
                          "common.h):"] + problems))
    print(f"{count} public declarations, each with a Threads: and an "
          "Ownership: line")


# ---- libabigail -------------------------------------------------------------


def parse_version(v):
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", v)
    if not m:
        fail(f"'{v}' is not a version MAJOR.MINOR.PATCH")
    return tuple(int(x) for x in m.groups())


def may_break(new, old):
    """Whether release `new` may break the ABI of release `old`."""
    if new[0] != old[0]:
        return new[0] > old[0]
    return new[0] == 0 and new[1] > old[1]


def newest_dump(dumps):
    found = []
    for path in glob.glob(os.path.join(dumps, "mcring-*.abi")):
        m = re.fullmatch(r"mcring-(\d+\.\d+\.\d+)\.abi", os.path.basename(path))
        if m:
            found.append((parse_version(m.group(1)), path))
    if not found:
        fail(f"no ABI dump (mcring-X.Y.Z.abi) in {dumps}: make one with "
             "tools/abi.py dump")
    return max(found)


def abidw(lib, out):
    subprocess.run(["abidw"] + ABIDW_FLAGS + ["--out-file", out, lib],
                   check=True)


def cmd_diff(args):
    if shutil.which("abidw") is None or shutil.which("abidiff") is None:
        print("abigail-tools is not installed (apt-get install "
              "abigail-tools): ABI comparison skipped")
        sys.exit(77)
    current = parse_version(args.version)
    base, dump = newest_dump(args.dumps)
    base_s = ".".join(map(str, base))
    with tempfile.TemporaryDirectory() as tmp:
        now = os.path.join(tmp, "current.abi")
        abidw(args.lib, now)
        # The objects the public headers only name (mcring_client, ...) are
        # opaque: their contents are the library's business, not the ABI.
        suppr = os.path.join(tmp, "opaque.suppr")
        with open(suppr, "w") as f:
            for t in opaque_types(args.headers):
                f.write(f"[suppress_type]\n  name = {t}\n\n")
        diff = ["abidiff", "--suppressions", suppr]
        full = subprocess.run(diff + [dump, now], capture_output=True,
                              text=True)
        if full.returncode & 3:
            fail(f"abidiff could not compare {dump} with {args.lib}:\n"
                 + full.stdout + full.stderr)
        if full.returncode == 0:
            print(f"ABI unchanged since {base_s} ({dump})")
            return
        changes = subprocess.run(diff + ["--no-added-syms", dump, now],
                                 capture_output=True, text=True)
        if changes.returncode & 3:
            fail("abidiff failed:\n" + changes.stdout + changes.stderr)
        if changes.returncode == 0:
            print(f"compatible with {base_s}: additions only\n" + full.stdout)
            return
    if may_break(current, base):
        print(f"ABI changed incompatibly since {base_s}, which version "
              f"{args.version} allows. When releasing {args.version}, record "
              "its ABI with `tools/abi.py dump` and commit "
              f"abi/mcring-{args.version}.abi.\n" + changes.stdout)
        return
    major = current[0]
    bump = (f"{major}.{current[1] + 1}.0" if major == 0
            else f"{major + 1}.0.0")
    fail(f"the ABI changed incompatibly since {base_s} ({dump}); version "
         f"{args.version} may not do that.\n\n{changes.stdout}\n"
         "Either keep the ABI (add functions instead of changing them, keep a "
         "renamed function's old name as a deprecated alias, leave public "
         "structs as they are), or make this an incompatible release: set "
         f"version: '{bump}' in meson.build's project() (from 1.0 on an "
         "incompatible change bumps MAJOR, before that MINOR), list the "
         "change in CHANGELOG.md, and when releasing record the new ABI with "
         "`tools/abi.py dump` and commit the abi/ file it writes.")


def cmd_dump(args):
    if shutil.which("abidw") is None:
        fail("abidw not found: apt-get install abigail-tools")
    lib = os.path.join(args.build, "lib", "libmcring.so")
    if not os.path.exists(lib):
        fail(f"{lib} not found: build first (meson setup {args.build} && "
             f"ninja -C {args.build})")
    version = args.version
    if version is None:
        vh = os.path.join(args.build, "include", "mcring", "version.h")
        m = re.search(r'#define MCRING_VERSION_STRING "([^"]+)"',
                      open(vh, encoding="utf-8").read())
        version = m.group(1)
    parse_version(version)
    os.makedirs(args.out, exist_ok=True)
    out = os.path.join(args.out, f"mcring-{version}.abi")
    abidw(lib, out)
    for old in glob.glob(os.path.join(args.out, "mcring-*.abi")):
        if old != out:
            os.remove(old)
            print(f"removed {old}")
    print(f"wrote {out}: commit it with the release")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("exports")
    e.add_argument("--map", required=True)
    e.add_argument("--lib", required=True)
    e.add_argument("headers", nargs="+")
    d = sub.add_parser("docs")
    d.add_argument("--listed", nargs="*")
    d.add_argument("headers", nargs="+")
    f = sub.add_parser("diff")
    f.add_argument("--lib", required=True)
    f.add_argument("--dumps", required=True)
    f.add_argument("--version", required=True)
    f.add_argument("headers", nargs="+")
    w = sub.add_parser("dump")
    w.add_argument("--build", default=os.path.join(ROOT, "build"))
    w.add_argument("--version")
    w.add_argument("--out", default=os.path.join(ROOT, "abi"))
    args = p.parse_args()
    {"exports": cmd_exports, "docs": cmd_docs, "diff": cmd_diff,
     "dump": cmd_dump}[args.cmd](args)


if __name__ == "__main__":
    main()
