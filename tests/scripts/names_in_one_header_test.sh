#!/usr/bin/env bash
# Label keys and the names derived from HAL9000_PARENT_PREFIX live in one
# header, runtime/names.hpp (issue 11): no other source file under messages/,
# runtime/, docker/, actors/, daemon/ or cli/ spells one as a string literal
# (comments and actor names may). Prints each offending line; exit 1 if any.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${1:-$(cd "$here/../.." && pwd)}  # the tree to check (default: this one)
pattern='"hal9000\.(managed|role|daemon|worker)"|"hal9000-(warm|cold)-|"hal9000-(parent|chromadb|memorybank|plugins)"'
found=0
while IFS= read -r -d '' f; do
  rel=${f#"$src"/}
  [ "$rel" = runtime/names.hpp ] && continue
  # Strip // comments first (a literal after // in the same line is a comment).
  # An actor's own name (`const char* name = "hal9000.worker"`) is no label.
  if out=$(sed -e 's://.*$::' -e 's:char\* name = "hal9000\.[a-z_.]*"::' "$f" \
             | grep -nE "$pattern"); then
    while IFS= read -r line; do echo "$rel:$line"; done <<<"$out"
    found=1
  fi
done < <(find "$src"/{messages,runtime,docker,actors,daemon,cli} -type f \
           \( -name '*.cpp' -o -name '*.hpp' \) -print0)
if [ $found -ne 0 ]; then
  echo "FAIL: label keys and prefix-derived names belong in runtime/names.hpp" >&2
  exit 1
fi
echo "names_in_one_header_test: ok"
