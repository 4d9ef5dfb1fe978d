#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft, combined broker+controller, single node) for the integration tests.
#
#   broker.sh start DIR   resolve the jars with mvn (cached in ~/.m2), format storage, start kafka.Kafka on
#                         free 127.0.0.1 ports, wait until it answers metadata requests; writes
#                         DIR/bootstrap (host:port) and DIR/pid
#   broker.sh stop DIR    stop it (SIGTERM, then SIGKILL after 20 s) and remove its data
#   broker.sh pause DIR / broker.sh resume DIR   used by tests that take the broker away
#   broker.sh freeze DIR / broker.sh thaw DIR    SIGSTOP / SIGCONT: a broker that hangs
#   BROKER_ADVERTISED_PORT=P broker.sh start DIR  clients are told to reach the broker at 127.0.0.1:P
#                         (a test's proxy in front of it); DIR/bootstrap still names the broker itself
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?usage: broker.sh start|stop DIR}
dir=${2:?usage: broker.sh start|stop DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

classpath() {
    # mvn is slow even when everything is cached; keep the resolved classpath beside the pom's hash.
    local sum cache
    sum=$(sha256sum "$here/pom.xml" | cut -c1-16)
    cache="${HOME}/.cache/newsd/kafka-classpath-$sum"
    if [ ! -s "$cache" ]; then
        mkdir -p "$(dirname "$cache")"
        (cd "$here" && mvn -q -B dependency:build-classpath -Dmdep.outputFile="$cache.tmp") >&2
        mv "$cache.tmp" "$cache"
    fi
    cat "$cache"
}

wait_ready() {
    local bootstrap=$1 deadline=$((SECONDS + 120))
    while [ $SECONDS -lt $deadline ]; do
        if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
            echo "broker.sh: kafka exited during startup; last log lines:" >&2
            tail -30 "$dir/logs/broker.log" "$dir/stdout.log" >&2 || true
            return 1
        fi
        if kcat -b "$bootstrap" -L -m 2 >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    echo "broker.sh: kafka did not answer metadata within 120 s" >&2
    return 1
}

launch() {
    local cp java
    cp=$(classpath)
    java=${JAVA_HOME:+$JAVA_HOME/bin/}java
    mkdir -p "$dir/logs"
    nohup "$java" -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
        -Dkafka.logs.dir="$dir/logs" -Dlog4j2.configurationFile="$here/log4j2.yaml" \
        -cp "$cp" kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 &
    echo $! >"$dir/pid"
    wait_ready "$(cat "$dir/bootstrap")"
}

case "$cmd" in
start)
    if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
        echo "broker.sh: already running at $(cat "$dir/bootstrap")"
        exit 0
    fi
    rm -rf "$dir/data" "$dir/logs"
    port=$(free_port); cport=$(free_port)
    while [ "$cport" = "$port" ]; do cport=$(free_port); done
    cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:${BROKER_ADVERTISED_PORT:-$port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.segment.bytes=16777216
# the cluster tests wait for a killed instance's open transaction to be aborted on timeout: check
# for expired transactions every second instead of every 10 s
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000
PROPS
    echo "127.0.0.1:$port" >"$dir/bootstrap"
    cp=$(classpath)
    java=${JAVA_HOME:+$JAVA_HOME/bin/}java
    cluster_id=$("$java" -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    "$java" -Dlog4j2.configurationFile="$here/log4j2.yaml" -Dkafka.logs.dir="$dir" -cp "$cp" \
        kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
        || { cat "$dir/format.log" >&2; exit 1; }
    launch
    echo "broker.sh: kafka up at $(cat "$dir/bootstrap") (pid $(cat "$dir/pid"))"
    ;;
pause)
    # Take the broker away (tests of a broker that goes away); data is kept for resume.
    pid=$(cat "$dir/pid"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    ;;
resume)
    launch
    ;;
freeze)
    # The broker stops answering but keeps its sockets open (SIGSTOP): what a stalled or partitioned
    # broker looks like to a client, unlike pause, which closes the connections.
    kill -STOP "$(cat "$dir/pid")"
    ;;
thaw)
    kill -CONT "$(cat "$dir/pid")"
    ;;
stop)
    if [ -f "$dir/pid" ]; then
        pid=$(cat "$dir/pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$dir/pid"
    fi
    rm -rf "$dir/data"
    echo "broker.sh: kafka stopped"
    ;;
*)
    echo "usage: broker.sh start|stop|pause|resume|freeze|thaw DIR" >&2; exit 2 ;;
esac
