# Sourced by ./hotvisor, ./run-tests and .ci/run: selects a Java 25 JDK into JAVA_HOME or fails in one line.
hv_java_major() { "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }
hv_select_java25() {
    local candidates=() c
    [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
    for c in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*25*; do [ -d "$c" ] && candidates+=("$c"); done
    if command -v java >/dev/null 2>&1; then
        candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
    fi
    for c in "${candidates[@]}"; do
        if [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] && [ "$(hv_java_major "$c")" = "25" ]; then
            export JAVA_HOME="$c"
            export PATH="$JAVA_HOME/bin:$PATH"
            return 0
        fi
    done
    local found="none"
    command -v java >/dev/null 2>&1 && found="$(java -version 2>&1 | head -n1)"
    echo "hotvisor: needs a Java 25 JDK (set JAVA_HOME); found: $found" >&2
    return 1
}
