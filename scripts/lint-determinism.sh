#!/usr/bin/env bash
# Determinism lint: code above the env never reaches the OS clock, randomness,
# sleeps, sockets, threads or stdio files. Allowed places: the two env
# backends (impl/env/uv_*, sim/), the tools that drive runs from outside the
# nodes (the CLI in impl/cli/, the report generator in reports/, real-world
# chaos in chaos/real/, which starts processes), tests, and the lines listed
# in ALLOW below. chaos/ itself (schedules, shrinking) is checked: a
# schedule is a function of its seed. Prints file:line for every hit;
# exits 1 if any.
set -uo pipefail
cd "$(dirname "$0")/.."

calls='time|clock_gettime|gettimeofday|clock|rand|random|srand|srandom|drand48|getrandom|sleep|usleep|nanosleep|socket|connect|accept|bind|listen|select|poll|epoll_wait|pthread_[a-z_]+|thrd_[a-z_]+|fork|fopen|fdopen|freopen|fread|fwrite|fclose|fgets|fputs|fscanf|fflush|printf|puts|open|creat|read|write|pread|pwrite|fsync|fdatasync|ftruncate|rename|unlink|mkdir|rmdir|opendir|readdir|uv_[a-z_]+|sg_[a-z_]+|simgrid_[a-z_]+'

# file:pattern pairs that are allowed, with the reason.
ALLOW=(
  'impl/core/assert.c:fprintf(stderr'   # the assertion message, just before abort()
  'impl/core/assert.c:fflush(stderr'
)

files=$(find impl model chaos reports -name '*.[ch]' 2>/dev/null \
        | grep -vE '^impl/env/uv_|^impl/cli/|^reports/|^chaos/real/' | sort)
hits=0
for f in $files; do
  # Strip comments and string literals, keeping line numbers.
  while IFS= read -r line; do
    n=${line%%:*}; text=${line#*:}
    allowed=0
    for a in "${ALLOW[@]}"; do
      af=${a%%:*}; ap=${a#*:}
      if [ "$f" = "$af" ] && [[ "$text" == *"$ap"* ]]; then allowed=1; fi
    done
    if [ $allowed -eq 0 ]; then
      echo "$f:$n: direct OS call above the env: $(echo "$text" | sed 's/^[[:space:]]*//')"
      hits=$((hits + 1))
    fi
  done < <(perl -0777 -pe 's{/\*.*?\*/}{ my $c = $&; $c =~ s/[^\n]//g; $c }gse; s{"(?:\\.|[^"\\\n])*"}{""}g; s{//[^\n]*}{}g' "$f" | grep -nE "(^|[^A-Za-z0-9_>.])($calls)[[:space:]]*\(")
done
if [ $hits -gt 0 ]; then
  echo "determinism lint: $hits direct OS call(s) above the env (see ../shared/ARCHITECTURE.md)"
  exit 1
fi
echo "determinism lint: ok ($(echo "$files" | wc -w) files checked)"
