#!/bin/bash
# The layers: a file may include headers of its own layer and of the layers
# it stands on, never one above, and every project header is named with its
# layer ("ir/graph.h"), so a line says what it reaches. include/sheaf.h is
# the public API, under everything. Exit status 1 on any violation.
#   ir <- frontend, passes <- codegen <- runtime <- tools
# usage: check_layers.sh [SOURCE_ROOT] (default: this checkout)
set -u
cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}" || exit 2
declare -A may=(
    [ir]="ir"
    [frontend]="ir frontend"
    [passes]="ir passes"
    [codegen]="ir passes codegen"
    [runtime]="ir frontend passes codegen runtime"
    [tools]="ir frontend passes codegen runtime tools"
)
bad=0
for layer in ir frontend passes codegen runtime tools; do
    for f in "$layer"/*.c "$layer"/*.h "$layer"/*.def; do
        [ -e "$f" ] || continue
        while IFS=: read -r line inc; do
            case $inc in
            sheaf.h) continue ;;
            */*) to=${inc%%/*} ;;
            *) echo "$f:$line: \"$inc\" does not name its layer (write \"$layer/$inc\" or the header's own)"
               bad=1; continue ;;
            esac
            if [ ! -e "$inc" ]; then
                echo "$f:$line: \"$inc\" is not a file of the project"; bad=1
            elif [[ " ${may[$layer]} " != *" $to "* ]]; then
                echo "$f:$line: $layer/ includes \"$inc\": $to/ is above $layer/ (it may use: ${may[$layer]})"
                bad=1
            fi
        done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | sed -E 's/^([0-9]+):[^"]*"([^"]*)".*/\1:\2/')
    done
done
[ $bad = 0 ] && echo "layers: every include names its layer and none reaches upward"
exit $bad
