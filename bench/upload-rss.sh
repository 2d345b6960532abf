#!/usr/bin/env bash
# Uploads 1 GiB through the API to a freshly started server and reports the
# server's peak RSS, next to its idle RSS as the baseline in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${SIZE_MIB:-1024}
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/gatehouse" ./cmd/gatehouse
port=$((20000 + RANDOM % 10000))
"$work/gatehouse" serve --data "$work/data" --listen 127.0.0.1:$port >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
echo 'correct horse battery' | "$work/gatehouse" user add --data "$work/data" --email bench@example.com --name Bench >/dev/null
token=$("$work/gatehouse" token create --data "$work/data" --email bench@example.com | tail -1)
auth="Authorization: Bearer $token"
drive=$(curl -fs -H "$auth" "http://127.0.0.1:$port/v1.0/me/drive")
d=$(echo "$drive" | sed -E 's/.*"driveType":"personal","id":"([^"]+)".*/\1/')
root=$(echo "$drive" | sed -E 's/.*"root":\{"id":"([^"]+)".*/\1/')
idle=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
start=$(date +%s.%N)
head -c $((size_mib << 20)) /dev/zero | curl -fs -o /dev/null -H "$auth" -T - \
  "http://127.0.0.1:$port/v1.0/drives/$d/items/$root:/big.bin:/content"
end=$(date +%s.%N)
peak=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
awk -v s="$start" -v e="$end" -v m="$size_mib" 'BEGIN { printf "uploaded %d MiB in %.1f s\n", m, e - s }'
printf 'server peak RSS: %d MiB (idle baseline before the upload: %d MiB; target under 100 MiB)\n' $((peak / 1024)) $((idle / 1024))
