#!/usr/bin/env bash
# A single-node OpenSearch 2.19.1 + k-NN for the integration tests, run in-process by harness/opensearch
# (no OpenSearch distribution is installable here; Maven Central has the jars).
#
#   scripts/opensearch-node.sh build   # fetch jars (first time, ~1 min) and build the harness
#   scripts/opensearch-node.sh start   # start on 127.0.0.1:$PIXSEEK_OS_PORT, wait for health, then print
#                                      # `export PIXSEEK_TEST_OPENSEARCH_URL=...` (for eval "$(... start)")
#   scripts/opensearch-node.sh stop    # SIGTERM, wait for a clean close
#   scripts/opensearch-node.sh url | status
#
# Then: eval "$(scripts/opensearch-node.sh start)" && .venv/bin/pytest tests/index
# The tests also need the client: the `opensearch` extra (opensearch-py).
# Limits of this node: only the k-NN `lucene` engine works (faiss/nmslib need native libraries that
# are not here; a write to such an index breaks its shard), and Painless lacks k-NN's functions
# (cosineSimilarity etc.: classpath plugins get no extensions); `knn_score` scripts do work.
# Env: PIXSEEK_OS_PORT (9250), PIXSEEK_OS_DIR (.work/opensearch-node), PIXSEEK_OS_HEAP (1g),
#      PIXSEEK_OS_KEEP_DATA=1 keeps the previous data on start (default: a fresh node each start).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HARNESS="$ROOT/harness/opensearch"
TARGET="$HARNESS/target"
JAR="$TARGET/opensearch-test-node-0.1.0.jar"
PORT="${PIXSEEK_OS_PORT:-9250}"
DIR="${PIXSEEK_OS_DIR:-$ROOT/.work/opensearch-node}"
HEAP="${PIXSEEK_OS_HEAP:-1g}"
PIDFILE="$DIR/node.pid"
LOG="$DIR/node.log"
URL="http://127.0.0.1:$PORT"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

die() { echo "opensearch-node: $*" >&2; exit 1; }

running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

build() {
  command -v mvn >/dev/null || die "mvn not found (Maven 3.8+ and Java 17 are needed)"
  # Rebuild only when a source is newer than the jar; offline first, so CI caches of ~/.m2 suffice.
  if [[ -f "$JAR" && -d "$TARGET/knn" && -z "$(find "$HARNESS/pom.xml" "$HARNESS/src" -newer "$JAR" -type f)" ]]; then
    return 0
  fi
  # stdout to stderr: `start` prints only the export line, for eval.
  (cd "$HARNESS" && { mvn -q -B -o -Dstyle.color=never package 2>/dev/null || mvn -q -B package; }) >&2
  touch "$JAR"  # the jar plugin may keep an unchanged jar's old time
}

health_ok() {
  curl -fsS --max-time 2 "$URL/_cluster/health" 2>/dev/null | grep -Eq '"status":"(green|yellow)"'
}

announce() {
  "$ROOT/.venv/bin/python" -c "import opensearchpy" 2>/dev/null \
    || echo "opensearch-node: warning: opensearch-py is not in .venv (pip install -e '.[opensearch]')" >&2
  echo "export PIXSEEK_TEST_OPENSEARCH_URL=$URL"
}

start() {
  if running_pid >/dev/null; then
    announce
    return 0
  fi
  build
  "$JAVA" -version 2>&1 | grep -Eq 'version "(17|18|19|20|21)' || die "Java 17-21 is needed (set JAVA_HOME)"
  if [[ "${PIXSEEK_OS_KEEP_DATA:-0}" != 1 ]]; then rm -rf "$DIR/node"; fi
  mkdir -p "$DIR"
  # Flags as in the distribution's jvm.options; log4j's own shutdown hook would drop the close logs.
  # setsid: the node outlives this shell and gets no SIGINT meant for a foreground job.
  setsid "$JAVA" "-Xms512m" "-Xmx$HEAP" -XX:+UseSerialGC -Djava.awt.headless=true -Dfile.encoding=UTF-8 \
    -Dlog4j2.disable.jmx=true -Dlog4j.shutdownHookEnabled=false -Djava.locale.providers=SPI,COMPAT \
    -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0 \
    -cp "$JAR:$TARGET/lib/*:$TARGET/knn/*" dev.pixseek.harness.TestNode "$PORT" "$DIR/node" \
    >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local deadline=$((SECONDS + ${PIXSEEK_OS_START_TIMEOUT:-180}))
  until health_ok; do
    running_pid >/dev/null || { tail -n 40 "$LOG" >&2; die "node exited during start-up (log: $LOG)"; }
    ((SECONDS < deadline)) || { stop; die "node not healthy in time (log: $LOG)"; }
    sleep 1
  done
  announce
}

stop() {
  local pid
  pid="$(running_pid)" || { rm -f "$PIDFILE"; return 0; }
  kill -TERM "$pid"
  for _ in $(seq 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; return 0; }
    sleep 0.5
  done
  echo "opensearch-node: no clean stop in 30 s, killing $pid" >&2
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

case "${1:-}" in
  build) build ;;
  start) start ;;
  stop) stop ;;
  url) echo "$URL" ;;
  status) if pid="$(running_pid)" && health_ok; then echo "running pid $pid at $URL"; else echo "stopped"; exit 1; fi ;;
  *) die "usage: $0 build|start|stop|url|status" ;;
esac
