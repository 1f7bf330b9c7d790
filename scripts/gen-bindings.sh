#!/usr/bin/env bash
# Generates the Kotlin, Swift and Python bindings of gridbook-ffi into bindings/{kotlin,swift,python}
# (git-ignored). Builds the FFI (debug) and the workspace's own uniffi-bindgen
# (ffi/uniffi-bindgen), then runs it in library mode: the bindings describe exactly the library
# that was built. Given GRIDBOOK_FFI_LIB and GRIDBOOK_UNIFFI_BINDGEN (scripts/test-all.sh passes
# those its workspace build made), it builds nothing and uses them. Library mode reads
# `cargo metadata`, so this must run inside the workspace (it cd's to the root). The Python and
# Kotlin folders also get the shared library: the generated Python module loads it from its own
# folder, the JVM tests from bindings/kotlin, so bindings and library always match. Prints the
# paths it wrote.
#
# The library holds two uniffi namespaces: gridbook_core (core's records and enums, exported as
# they are; core/uniffi.toml) and gridbook_ffi (the store, sync, evidence; ffi/uniffi.toml). Each
# gets its own file per language; they make one API: Kotlin packages app.gridbook.ffi and
# app.gridbook.ffi.core; Swift GridbookFFI.swift and GridbookCore.swift, compiled into one module
# over one C module (gridbook_ffiFFI, whose module map this script writes for both headers);
# Python `import gridbook` (ffi/python/gridbook.py) over gridbook_ffi.py and gridbook_core.py.
#
#   scripts/gen-bindings.sh            # debug build (tests)
#   PROFILE=release scripts/gen-bindings.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE="${PROFILE:-debug}"
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
if [ -n "${GRIDBOOK_FFI_LIB:-}" ] && [ -n "${GRIDBOOK_UNIFFI_BINDGEN:-}" ]; then
  LIB=$GRIDBOOK_FFI_LIB
  BINDGEN=$GRIDBOOK_UNIFFI_BINDGEN
else
  cargo_flags=(-p gridbook-ffi -p gridbook-uniffi-bindgen)
  [ "$PROFILE" = release ] && cargo_flags+=(--release)
  nice -n 5 cargo build "${cargo_flags[@]}" >&2
  case "$(uname -s)" in
    Darwin) LIB="$TARGET_DIR/$PROFILE/libgridbook_ffi.dylib" ;;
    *)      LIB="$TARGET_DIR/$PROFILE/libgridbook_ffi.so" ;;
  esac
  BINDGEN="$TARGET_DIR/$PROFILE/uniffi-bindgen"
fi
[ -f "$LIB" ] || { echo "gen-bindings: $LIB was not built" >&2; exit 1; }
[ -x "$BINDGEN" ] || { echo "gen-bindings: $BINDGEN was not built" >&2; exit 1; }

OUT=bindings
rm -rf "$OUT/kotlin" "$OUT/swift" "$OUT/python"
mkdir -p "$OUT/kotlin" "$OUT/swift" "$OUT/python"
"$BINDGEN" generate --library "$LIB" --language kotlin --no-format --out-dir "$OUT/kotlin" >&2
"$BINDGEN" generate --library "$LIB" --language swift --no-format --out-dir "$OUT/swift" >&2
"$BINDGEN" generate --library "$LIB" --language python --no-format --out-dir "$OUT/python" >&2
cp "$LIB" "$OUT/python/"
cp "$LIB" "$OUT/kotlin/"   # the JVM tests load exactly this build (jna.library.path)
cp ffi/python/gridbook.py "$OUT/python/"

# One C module for both namespaces' headers (as uniffi-bindgen-swift --modulemap writes it).
{
  echo "module gridbook_ffiFFI {"
  for h in "$OUT"/swift/*FFI.h; do echo "    header \"$(basename "$h")\""; done
  echo "    export *"
  echo "    use \"Darwin\""
  echo "    use \"_Builtin_stdbool\""
  echo "    use \"_Builtin_stdint\""
  echo "}"
} > "$OUT/swift/gridbook_ffiFFI.modulemap"

for f in "$OUT/kotlin/app/gridbook/ffi/gridbook_ffi.kt" "$OUT/kotlin/app/gridbook/ffi/core/gridbook_core.kt" \
         "$OUT/swift/GridbookFFI.swift" "$OUT/swift/GridbookCore.swift" \
         "$OUT/swift/gridbook_ffiFFI.h" "$OUT/swift/gridbook_coreFFI.h" "$OUT/swift/gridbook_ffiFFI.modulemap" \
         "$OUT/python/gridbook_ffi.py" "$OUT/python/gridbook_core.py" "$OUT/python/gridbook.py"; do
  [ -s "$f" ] || { echo "gen-bindings: expected $f" >&2; exit 1; }
  echo "$f"
done
