#!/bin/sh
# docs/kafka.md must contain the API table exactly as the broker advertises
# it (cairn-broker --api-versions).
set -eu
broker=$1
doc=$2
expected=$(mktemp)
trap 'rm -f "$expected"' EXIT
"$broker" --api-versions > "$expected"
while IFS= read -r line; do
    if ! grep -qxF -- "$line" "$doc"; then
        echo "docs/kafka.md is out of date; missing line:" >&2
        echo "  $line" >&2
        echo "regenerate the table with: cairn-broker --api-versions" >&2
        exit 1
    fi
done < "$expected"
echo "docs/kafka.md matches the advertised API versions"
