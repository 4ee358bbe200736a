#!/bin/sh
# A generated reference table must appear in its doc page line for line.
#   check_doc_table.sh DOC COMMAND [ARG...]
# COMMAND prints the table (cairn-controller --config-docs,
# cairn-broker --api-versions); the test fails naming the first line the
# page lacks and the command that regenerates it.
set -eu
doc=$1
shift
expected=$(mktemp)
trap 'rm -f "$expected"' EXIT
"$@" > "$expected"
while IFS= read -r line; do
    if ! grep -qxF -- "$line" "$doc"; then
        echo "$(basename "$doc") is out of date; missing line:" >&2
        echo "  $line" >&2
        echo "regenerate the table with: $(basename "$1") ${2:-}" >&2
        exit 1
    fi
done < "$expected"
echo "$(basename "$doc") matches $(basename "$1") ${2:-}"
