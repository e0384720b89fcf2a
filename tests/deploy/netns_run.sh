#!/usr/bin/env bash
# Two concnas workers in two network namespaces joined by a veth pair shaped by tc netem
# (100 Mbit/s, 2 ms each way; tbf at 100 Mbit/s where the kernel lacks netem): the logits
# must match the single-process execution.
# Usage: netns_run.sh CONCNAS_BINARY WORK_DIR. Exits 77 (ctest: skipped) where network
# namespaces or netem are not usable, saying why.
set -euo pipefail
cli=$1
work=$2
skip() { echo "SKIPPED: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces"
command -v ip >/dev/null && command -v tc >/dev/null || skip "ip and tc (Debian's iproute2) are not installed"
[ -e /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] ||
  [ -e /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte ] || skip "Fashion-MNIST is not installed"

a=cnA$$
b=cnB$$
ip netns add "$a" 2>/dev/null || skip "ip netns is not usable here"
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$b"
ip link add vA$$ netns "$a" type veth peer name vB$$ netns "$b" || skip "cannot create a veth pair"
ip -n "$a" addr add 10.231.0.1/24 dev vA$$
ip -n "$b" addr add 10.231.0.2/24 dev vB$$
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set vA$$ up
ip -n "$b" link set vB$$ up
# netem where the kernel has it; else tbf shapes the rate alone (say so).
shaping="netem 100mbit 2ms"
if ! tc -n "$a" qdisc add dev vA$$ root netem rate 100mbit delay 2ms 2>/dev/null; then
  shaping="tbf 100mbit (this kernel has no netem: no added delay)"
  tc -n "$a" qdisc add dev vA$$ root tbf rate 100mbit burst 32kbit latency 400ms 2>/dev/null ||
    skip "neither tc netem nor tbf is available"
  tc -n "$b" qdisc add dev vB$$ root tbf rate 100mbit burst 32kbit latency 400ms
else
  tc -n "$b" qdisc add dev vB$$ root netem rate 100mbit delay 2ms
fi

rm -rf "$work"
mkdir -p "$work"
"$cli" --log-level warn train --config "$(dirname "$0")/../../configs/train_fmnist.yaml" --out "$work/run" \
  --set data.train_subset=256 --set data.validation=100 --set train.epochs=1 --set train.batch_size=32 \
  --set train.threads=1 --set arch.nodes=8 --set arch.stem_channels=8 --set arch.channel_limit=16 >/dev/null
"$cli" export --arch "$work/run/arch.yaml" --weights "$work/run/weights.pt" --units 2 -o "$work/deploy" >/dev/null

master=10.231.0.1:29611
ip netns exec "$b" "$cli" run --plan "$work/deploy" --rank 1 --world 2 --master $master --timeout 30 \
  2>"$work/rank1.err" &
peer=$!
ip netns exec "$a" "$cli" run --plan "$work/deploy" --rank 0 --world 2 --master $master --timeout 30 \
  --runs 20 --warmup 2 --batch 8 --check --json "$work/r.json"
wait $peer

# The check ran every batch on both units over the shaped link and in one process.
diff=$(sed -n 's/.*"max_abs_diff": \([-0-9.eE+]*\).*/\1/p' "$work/r.json")
p50=$(grep -A2 '"latency_ms"' "$work/r.json" | sed -n 's/.*"p50": \([0-9.eE+-]*\).*/\1/p')
echo "$shaping: p50 ${p50} ms, max |logit difference| ${diff}"
awk -v d="$diff" 'BEGIN { exit !(d != "" && d < 1e-4) }' || { echo "logits differ by $diff"; exit 1; }
# Two 2 ms one-way delays at least (activations there and back): the link was shaped.
if [[ $shaping == netem* ]]; then
  awk -v p="$p50" 'BEGIN { exit !(p >= 4.0) }' || { echo "p50 $p50 ms is below the netem delay: not shaped?"; exit 1; }
fi
