#!/usr/bin/env bash
# evbus-cli broker: starts, prints its bootstrap line first, serves produce/consume, stops
# cleanly with exit 0 on SIGTERM and SIGINT.
source "$(dirname "$0")/cli_testlib.sh"

start_broker
[[ $BOOTSTRAP =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "bad bootstrap $BOOTSTRAP"
ok
printf 'one\ntwo\nthree\n' | kproduce t1
timeout 30 kcat -b "$BOOTSTRAP" -C -t t1 -o beginning -e -q -f '%s\n' | sort >"$T/got"
[ "$(cat "$T/got" | tr '\n' ' ')" = "one three two " ] || fail "consumed: $(cat "$T/got")"
ok
stop_pid "$BROKER_PID"; [ "$STOP_RC" = 0 ] || fail "broker exit status on SIGTERM"
ok

# Three brokers, a pre-created topic, SIGINT.
start_broker --brokers 3 --topic orders:3 --topic one
[ "$(echo "$BOOTSTRAP" | tr ',' '\n' | wc -l)" = 3 ] || fail "3 brokers expected: $BOOTSTRAP"
ok
timeout 30 kcat -b "$BOOTSTRAP" -L -t orders >"$T/meta"
expect_in "$T/meta" 'topic "orders" with 3 partitions'
timeout 30 kcat -b "$BOOTSTRAP" -L -t one >"$T/meta"
expect_in "$T/meta" 'topic "one" with 1 partitions'
stop_pid "$BROKER_PID" INT
[ "$STOP_RC" = 0 ] || fail "exit $STOP_RC on SIGINT"
ok

# --port: a fixed bootstrap address forwarded to the cluster.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_broker --port "$port"
[ "$BOOTSTRAP" = "127.0.0.1:$port" ] || fail "bootstrap $BOOTSTRAP, expected port $port"
ok
printf 'via-port\n' | kproduce t2
timeout 30 kcat -b "$BOOTSTRAP" -C -t t2 -o beginning -e -q -f '%s\n' >"$T/got"
expect_in "$T/got" '^via-port$'
# The port is taken now: a second broker on it fails with exit 1.
expect_rc 1 "$CLI" broker --port "$port"
expect_in "$T/err" '^evbus-cli: broker: --port: cannot listen'
stop_pid "$BROKER_PID"; [ "$STOP_RC" = 0 ] || fail "broker exit status on SIGTERM (--port)"
ok

done_ok
