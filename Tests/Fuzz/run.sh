#!/usr/bin/env bash
# libFuzzer campaigns for the code that reads untrusted input. See Tests/Fuzz/README.md.
#
# usage: Tests/Fuzz/run.sh [minutes-per-target] [targets...]
#        Tests/Fuzz/run.sh 0 [targets...]        build only
#   targets: safetensors config png jpeg dataset methodspec (default: all)
#   env: FUZZ_JOBS (default 2) targets run at once; FUZZ_NICE (default 19); FUZZ_ARGS extra libFuzzer flags;
#        FUZZ_SECONDS overrides the time per target (for short smoke runs).
#
# How it builds (no SwiftPM, so it never touches .build/): every library is compiled once with
# `swiftc -sanitize=fuzzer,address` (libFuzzer coverage + ASan) as its own module into a static archive under
# .build-fuzz/lib, with the same -march flags as Package.swift:
#   GEMMAVX512 (x86-64-v4) <- ViTEngine (x86-64-v3) <- TokenMethods;  CImageCodecs (clang, C), Pixels <- ImageIO
#   (x86-64-v3).
# CImageCodecs gets a generated module map in .build-fuzz/modules/CImageCodecs. Each target is Tests/Fuzz/<name>.swift,
# linked against those archives plus libpng16, libjpeg and zlib into .build-fuzz/bin/fuzz-<name>. A library is rebuilt
# only when one of its sources (or a library it depends on) is newer than its archive.
#
# How it runs: each target for the given minutes with -max_total_time, -rss_limit_mb=4096, -timeout=10,
# FUZZ_JOBS at a time. New inputs go to .build-fuzz/corpus/<name> (first corpus dir); the committed seeds in
# Tests/Fuzz/corpus/<name> are read but never written. Crashes, timeouts, OOMs and leaks land in
# .build-fuzz/artifacts/<name>/, logs in .build-fuzz/logs/<name>.log.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FUZZ=$ROOT/Tests/Fuzz
OUT=$ROOT/.build-fuzz
ALL_TARGETS=(safetensors config png jpeg dataset methodspec)
MINUTES=${1:-10}
[[ $# -gt 0 ]] && shift
TARGETS=("$@")
[[ ${#TARGETS[@]} -eq 0 ]] && TARGETS=("${ALL_TARGETS[@]}")
JOBS=${FUZZ_JOBS:-2}
[[ $MINUTES =~ ^[0-9]+$ ]] || { echo "usage: $0 [minutes-per-target] [targets...] (minutes: a whole number)" >&2; exit 64; }
for t in "${TARGETS[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "unknown target '$t'; targets: ${ALL_TARGETS[*]}" >&2; exit 64; }
done
# Let libFuzzer and ASan report crashes: the Swift runtime's own backtracer would otherwise take over a crashing
# process for up to 30 seconds per crash.
export SWIFT_BACKTRACE=enable=no
NICE=(nice -n "${FUZZ_NICE:-19}")

mkdir -p "$OUT/lib" "$OUT/modules/CImageCodecs" "$OUT/bin" "$OUT/obj" "$OUT/logs"

SWIFTFLAGS=(-swift-version 6 -O -wmo -num-threads 1 -parse-as-library -sanitize=fuzzer,address -g
            -I "$OUT/modules" -I "$OUT/modules/CImageCodecs")
MARCH=()
MARCH4=()
if [[ $(uname -m) == x86_64 ]]; then MARCH=(-Xcc -march=x86-64-v3); MARCH4=(-Xcc -march=x86-64-v4); fi

# stale OUTPUT INPUT...: true when OUTPUT is missing or older than any INPUT.
stale() {
  local out=$1; shift
  [[ -e $out ]] || return 0
  local f
  for f in "$@"; do [[ $f -nt $out ]] && return 0; done
  return 1
}

# swift_lib NAME "FLAGS..." DEPENDENCY-ARCHIVES... : compiles Sources/NAME/**/*.swift into lib/libNAME.a + its module.
swift_lib() {
  local name=$1 flags=$2; shift 2
  local archive=$OUT/lib/lib$name.a
  local sources
  mapfile -t sources < <(find "$ROOT/Sources/$name" -name '*.swift' | sort)
  if stale "$archive" "${sources[@]}" "$@"; then
    echo "== building $name (${#sources[@]} files)"
    # -enable-testing so the regression tests can be type-checked against these modules with @testable import.
    # shellcheck disable=SC2086
    "${NICE[@]}" swiftc "${SWIFTFLAGS[@]}" $flags -enable-testing -module-name "$name" \
      -emit-module -emit-module-path "$OUT/modules/$name.swiftmodule" \
      -emit-library -static -o "$archive" "${sources[@]}"
  fi
}

build_libraries() {
  local header=$ROOT/Sources/CImageCodecs/include/CImageCodecs.h
  cat > "$OUT/modules/CImageCodecs/module.modulemap.new" <<EOF
module CImageCodecs {
  header "$header"
  link "png16"
  link "jpeg"
  link "z"
  export *
}
EOF
  if ! cmp -s "$OUT/modules/CImageCodecs/module.modulemap.new" "$OUT/modules/CImageCodecs/module.modulemap"; then
    mv "$OUT/modules/CImageCodecs/module.modulemap.new" "$OUT/modules/CImageCodecs/module.modulemap"
  else
    rm "$OUT/modules/CImageCodecs/module.modulemap.new"
  fi
  if stale "$OUT/lib/libCImageCodecs.a" "$ROOT/Sources/CImageCodecs/codecs.c" "$header"; then
    echo "== building CImageCodecs"
    "${NICE[@]}" clang -O1 -g -fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer \
      -I "$ROOT/Sources/CImageCodecs/include" -c "$ROOT/Sources/CImageCodecs/codecs.c" -o "$OUT/obj/codecs.o"
    rm -f "$OUT/lib/libCImageCodecs.a"
    ar rcs "$OUT/lib/libCImageCodecs.a" "$OUT/obj/codecs.o"
  fi
  swift_lib GEMMAVX512 "${MARCH4[*]}"
  swift_lib ViTEngine "${MARCH[*]}" "$OUT/lib/libGEMMAVX512.a"
  swift_lib TokenMethods "${MARCH[*]}" "$OUT/lib/libViTEngine.a"
  swift_lib Pixels ""
  swift_lib ImageIO "${MARCH[*]}" "$OUT/lib/libCImageCodecs.a" "$OUT/modules/CImageCodecs/module.modulemap" \
    "$OUT/lib/libPixels.a"
}

LIBS=(-L "$OUT/lib" -lTokenMethods -lImageIO -lPixels -lViTEngine -lGEMMAVX512 -lCImageCodecs -lpng16 -ljpeg -lz)

# Shared helper files per target (FuzzSupport.swift goes into every one).
support_files() {
  case $1 in
    safetensors | config | methodspec) echo "$FUZZ/FuzzSupport.swift $FUZZ/ModelSupport.swift" ;;
    png | jpeg | dataset) echo "$FUZZ/FuzzSupport.swift $FUZZ/ImageSupport.swift" ;;
    *) echo "$FUZZ/FuzzSupport.swift" ;;
  esac
}

build_target() {
  local t=$1 bin=$OUT/bin/fuzz-$1
  local support
  read -r -a support <<< "$(support_files "$t")"
  if stale "$bin" "$FUZZ/$t.swift" "${support[@]}" "$OUT"/lib/*.a; then
    echo "== building fuzz-$t"
    # ld.gold warns about __asan symbols in the Swift runtime; those warnings are harmless.
    # Run from obj/: with -g, swiftc leaves the executable's .swiftmodule/.swiftdoc in the working directory.
    (cd "$OUT/obj" && "${NICE[@]}" swiftc "${SWIFTFLAGS[@]}" "${MARCH[@]}" -module-name "Fuzz_$t" \
      "$FUZZ/$t.swift" "${support[@]}" "${LIBS[@]}" -o "$bin") 2> >(grep -v -e 'warning: .*__asan' -e '^$' >&2)
  fi
}

build_libraries
for t in "${TARGETS[@]}"; do build_target "$t"; done
[[ $MINUTES == 0 ]] && { echo "built: ${TARGETS[*]/#/$OUT/bin/fuzz-}"; exit 0; }

# -------------------------------------------------------------------------------------------------------------- run

run_target() {
  local t=$1
  local corpus=$OUT/corpus/$t artifacts=$OUT/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  local dict=()
  [[ -f $FUZZ/dicts/$t.dict ]] && dict=(-dict="$FUZZ/dicts/$t.dict")
  # shellcheck disable=SC2086
  "${NICE[@]}" "$OUT/bin/fuzz-$t" -max_total_time="${FUZZ_SECONDS:-$((MINUTES * 60))}" -rss_limit_mb=4096 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" ${FUZZ_ARGS:-} \
    "$corpus" "$FUZZ/corpus/$t" > "$OUT/logs/$t.log" 2>&1 || true
}

echo "== fuzzing ${TARGETS[*]} for ${FUZZ_SECONDS:-$((MINUTES * 60))} s each, $JOBS at a time (logs in $OUT/logs)"
running=0
for t in "${TARGETS[@]}"; do
  # Artifacts from earlier runs are kept; mark the start so the summary reports only new ones.
  touch "$OUT/logs/$t.start"
  run_target "$t" &
  running=$((running + 1))
  if (( running >= JOBS )); then wait -n || true; running=$((running - 1)); fi
done
wait || true

printf '\n%-12s %14s %10s %8s  %s\n' target executions exec/s corpus findings
for t in "${TARGETS[@]}"; do
  log=$OUT/logs/$t.log
  execs=$(awk '/stat::number_of_executed_units:/ {v = $2} END {print v}' "$log")
  rate=$(awk '/stat::average_exec_per_sec:/ {v = $2} END {print v}' "$log")
  size=$(find "$OUT/corpus/$t" -type f | wc -l)
  mapfile -t found < <(find "$OUT/artifacts/$t" -type f -newer "$OUT/logs/$t.start" | sort)
  if [[ ${#found[@]} -eq 0 ]]; then findings="none"; else findings="${found[*]}"; fi
  printf '%-12s %14s %10s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$size" "$findings"
done
