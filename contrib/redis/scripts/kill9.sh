#!/usr/bin/env bash
# kill9.sh: the three-terminal walkthrough of docs/ha.md, scripted.
#
# Starts 'bayeux serve --replay', a redis-server, a publisher sending 200
# events a second (examples/ha-consumer -publish 200) and three
# 'bayeux sub -group' members; kills the printing member with kill -9
# KILLS times (default 5), starting a new member each time; then checks that
# the union of what the members printed has every event, counts the events
# printed twice and prints the time from each kill to the next member's
# first line. Run from the repository root; needs redis-server on PATH.
set -euo pipefail
KILLS=${KILLS:-5}
LEASE=${LEASE:-2s}
BPORT=${BPORT:-18080}
RPORT=${RPORT:-16379}
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

go build -o "$dir/bayeux" ./cmd/bayeux
go build -o "$dir/ha-consumer" ./examples/ha-consumer
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly yes >"$dir/redis.log" 2>&1 & pids+=($!)
"$dir/bayeux" serve --replay -addr "127.0.0.1:$BPORT" >"$dir/serve.log" 2>&1 & pids+=($!)
sleep 1
url="http://127.0.0.1:$BPORT/bayeux"
sub() { "$dir/bayeux" sub -v -url "$url" -group orders -redis "redis://127.0.0.1:$RPORT/0" -lease "$LEASE" --replay -2 /event/Order__e >"$dir/out.$1" 2>"$dir/err.$1" & pids+=($!); echo $! >"$dir/pid.$1"; }
n=0
for _ in 1 2 3; do n=$((n+1)); sub $n; done
"$dir/ha-consumer" -url "$url" -channel /event/Order__e -publish 200 >"$dir/pub.out" 2>&1 & pub=$!; pids+=($pub)

# holder prints the member whose output grew last.
holder() {
  local best="" size
  for i in $(seq 1 $n); do
    kill -0 "$(cat "$dir/pid.$i")" 2>/dev/null || continue
    size=$(wc -l <"$dir/out.$i")
    if [ "$size" -gt 0 ]; then
      local before=$size; sleep 0.05; size=$(wc -l <"$dir/out.$i")
      [ "$size" -gt "$before" ] && best=$i
    fi
  done
  echo "$best"
}
ms() { date +%s%3N; }
for k in $(seq 1 "$KILLS"); do
  sleep 3
  h=$(holder); [ -n "$h" ] || { echo "no member printing"; exit 1; }
  declare -A lines; for i in $(seq 1 $n); do lines[$i]=$(wc -l <"$dir/out.$i"); done
  t0=$(ms); kill -9 "$(cat "$dir/pid.$h")"
  n=$((n+1)); sub $n
  while :; do
    new=""
    for i in $(seq 1 $n); do
      [ "$i" = "$h" ] && continue
      [ "$(wc -l <"$dir/out.$i")" -gt "${lines[$i]:-0}" ] && new=$i
    done
    [ -n "$new" ] && break
    sleep 0.01
  done
  echo "kill $k: member $h killed; member $new printing after $(( $(ms) - t0 )) ms"
done
sleep 2
kill -INT "$pub"; wait "$pub" || true
published=$(sed -n 's/^published \([0-9]*\) events$/\1/p' "$dir/pub.out")
sleep 3
cat "$dir"/out.* | sed -n 's/.*"payload":{"n":\([0-9]*\)}.*/\1/p' | sort -n >"$dir/all"
unique=$(uniq "$dir/all" | wc -l)
total=$(wc -l <"$dir/all")
missing=$(comm -23 <(seq 1 "$published" | sort) <(uniq "$dir/all" | sort) | wc -l)
echo "published $published; printed $total lines, $unique distinct; missing $missing; printed twice $((total-unique))"
[ "$missing" -eq 0 ]
