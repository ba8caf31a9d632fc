#!/bin/sh
# docs/options.md holds the table `mcring options --markdown` writes, from
# the library's option table: fails (with the difference) when it is not
# current. To update it: tools/options-doc.
# usage: options_doc.sh MCRING DOC
set -eu
mcring=$1
doc=$2
expected=$(mktemp)
actual=$(mktemp)
trap 'rm -f "$expected" "$actual"' EXIT
"$mcring" options --markdown > "$expected"
sed -n '/<!-- options:begin -->/,/<!-- options:end -->/p' "$doc" |
  sed '1d;$d' > "$actual"
if ! diff -u "$actual" "$expected"; then
  echo "docs/options.md is not current: run tools/options-doc" >&2
  exit 1
fi
