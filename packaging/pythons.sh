#!/usr/bin/env bash
# packaging/pythons.sh [X.Y ...]: the interpreter of each Python version
# hotpath supports (default 3.9 to 3.13), one path a line: pythonX.Y on the
# PATH when it runs, else the newest pyenv build of X.Y. A version with no
# interpreter is named on stderr and the script exits 1 after the others.
set -uo pipefail
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3.9 3.10 3.11 3.12 3.13)
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
status=0
for v in "${versions[@]}"; do
  found=""
  for cand in "$(command -v "python$v" 2>/dev/null)" $(ls -d "$pyenv_root/versions/$v".*/bin/"python$v" 2>/dev/null | sort -V -r); do
    [ -n "$cand" ] || continue
    # A pyenv shim exists for every installed version but runs only the selected ones.
    if [ "$("$cand" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$v" ]; then
      found=$cand
      break
    fi
  done
  if [ -n "$found" ]; then echo "$found"; else echo "pythons: no Python $v interpreter" >&2; status=1; fi
done
exit $status
