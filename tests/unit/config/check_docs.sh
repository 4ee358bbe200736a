#!/bin/sh
# docs/configuration.md must contain the reference table exactly as the
# configuration table generates it.
set -eu
controller=$1
doc=$2
expected=$(mktemp)
trap 'rm -f "$expected"' EXIT
"$controller" --config-docs > "$expected"
while IFS= read -r line; do
    if ! grep -qxF -- "$line" "$doc"; then
        echo "docs/configuration.md is out of date; missing line:" >&2
        echo "  $line" >&2
        echo "regenerate the table with: cairn-controller --config-docs" >&2
        exit 1
    fi
done < "$expected"
echo "docs/configuration.md matches the configuration table"
