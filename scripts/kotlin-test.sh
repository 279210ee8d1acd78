#!/usr/bin/env bash
# The Kotlin tests of the bindings, on the host JVM against the host library:
# compiles the generated Kotlin, the facade (all of android/src/main/kotlin except
# the Android-only file) and android/src/test/kotlin with kotlinc, and runs them
# with JUnit 5. Ends with one "kotlin: N passed, N failed" line. scripts/test.sh
# runs it; it runs alone too (it installs what it needs, like test.sh).
#
# Needs: the npm package kotlin-compiler (pinned in android/jvm-test/package-lock.json;
# its lib/ ships kotlinx-coroutines and kotlin-test), Debian's libjna-java and junit5,
# and the default OpenJDK 17.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=lib/apt.sh
source scripts/lib/apt.sh
ensure_apt libjna-java:/usr/share/java/jna.jar \
    junit5:/usr/share/java/junit-platform-console-standalone.jar \
    default-jdk-headless:java
jvm=android/jvm-test
if [ ! -d $jvm/node_modules/kotlin-compiler ] || [ $jvm/package-lock.json -nt $jvm/node_modules/.package-lock.json ]; then
    echo "==> npm ci --prefix $jvm"
    npm ci --prefix $jvm --no-audit --no-fund --ignore-scripts
fi
KOTLIN=$jvm/node_modules/kotlin-compiler
KLIB=$KOTLIN/lib

# The library with the test hook compiled in (a panic inside the store; see
# bindings/src/store.rs), and the hub the tests start.
echo "==> cargo build (insikt-ffi with test hooks, insikt-hub)"
cargo build --locked -q -p insikt-ffi --features test-hooks
cargo build --locked -q -p insikt-hub
LIBDIR="$PWD/target/debug"

echo "==> bindgen --check"
LIB="$LIBDIR/libinsikt_ffi.so" scripts/bindgen.sh --check

# The Swift side, as far as this machine allows (no Swift toolchain here): the C
# header the XCFramework carries compiles (gcc, with clang's nullability qualifiers
# defined away), every function it declares is in the library, the module map names
# it, and the Swift bindings import that module.
echo "==> swift: header, module map, bindings"
printf '#include "InsiktFFI.h"\n' | cc -fsyntax-only -Wall -Werror -D_Nonnull= -D_Nullable= -I ios/include -x c -
declared=$(grep -o '\b\(uniffi\|ffi_insikt_ffi\)_[a-z0-9_]*(' ios/include/InsiktFFI.h | tr -d '(' | sort -u)
exported=$(nm -D --defined-only "$LIBDIR/libinsikt_ffi.so" | awk '{ print $3 }' | sort -u)
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
if [ -n "$missing" ]; then
    echo "the header declares functions the library lacks:" >&2
    echo "$missing" >&2
    exit 1
fi
echo "    $(echo "$declared" | wc -l) functions declared, all in the library"
grep -q '^module InsiktFFI {' ios/include/InsiktFFI.modulemap
grep -q 'header "InsiktFFI.h"' ios/include/InsiktFFI.modulemap
grep -q 'import InsiktFFI' ios/Sources/Insikt/Generated/Insikt.swift

out=target/kotlin-test
rm -rf "$out" && mkdir -p "$out/classes"
cp="$KLIB/kotlinx-coroutines-core-jvm.jar:/usr/share/java/jna.jar:/usr/share/java/junit-platform-console-standalone.jar:$KLIB/kotlin-test.jar:$KLIB/kotlin-test-junit5.jar"
mapfile -t sources < <(find android/src/main/kotlin android/src/test/kotlin -name '*.kt' -not -path '*/se/insikt/android/*' | sort)
echo "==> kotlinc (${#sources[@]} files)"
JAVA_OPTS="-Xss4m" "$KOTLIN/bin/kotlinc" -nowarn -jvm-target 17 -cp "$cp" -d "$out/classes" "${sources[@]}"

echo "==> junit"
set +e
java -Djna.library.path="$LIBDIR" -Dinsikt.hub="$LIBDIR/insikt-hub" -Xmx512m \
    -jar /usr/share/java/junit-platform-console-standalone.jar \
    --disable-banner --fail-if-no-tests --details=tree --disable-ansi-colors \
    -cp "$out/classes:$KLIB/kotlin-stdlib.jar:$cp" --scan-classpath "$out/classes" \
    2>&1 | tee "$out/junit.log"
status=${PIPESTATUS[0]}
set -e
passed=$(sed -n 's/.*\[ *\([0-9]*\) tests successful *\].*/\1/p' "$out/junit.log" | tail -1)
failed=$(sed -n 's/.*\[ *\([0-9]*\) tests failed *\].*/\1/p' "$out/junit.log" | tail -1)
echo "kotlin: ${passed:-0} passed, ${failed:-0} failed"
if [ "$status" -ne 0 ] || [ -z "$passed" ] || [ "$passed" -eq 0 ]; then exit 1; fi
