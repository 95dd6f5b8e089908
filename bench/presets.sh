# presets.sh: named sets of scenarios and targets, sourced by run.sh when
# its first argument is a preset name (./run.sh docs). Each runs ./run.sh
# once per set, into results/<preset>-<date>-<time>/<set>/, and the figure
# presets draw their charts into results/.../charts/ (copy them to
# ../docs/img/ to update the docs).
# shellcheck shell=bash

preset_out() { echo "results/$1-$(date +%Y%m%d-%H%M%S)"; }

# preset_docs: every figure of docs/benchmarks.md (about 12 minutes).
preset_docs() {
	local out
	out=$(preset_out docs)
	"$BENCH/run.sh" -o "$out/fastpath" -s plaintext64,json64,params64 -r 3 weft go-fasthttp go-gnet-raw go-nethttp
	"$BENCH/run.sh" -o "$out/idle" -s idle -r 2 weft go-gnet-raw go-fasthttp go-nethttp
	"$BENCH/run.sh" -o "$out/mixed" -s mixed -r 3 weft node-fastify go-nethttp
	"$BENCH/bin/charts" -fastpath "$out/fastpath" -idle "$out/idle" -mixed "$out/mixed" -o "$out/charts"
	echo "charts: $out/charts/ (cp $out/charts/*.svg ../docs/img/)"
}

# preset_fastpath, preset_idle, preset_mixed: one section of docs/benchmarks.md each.
preset_fastpath() {
	local out
	out=$(preset_out fastpath)
	"$BENCH/run.sh" -o "$out" -s plaintext64,json64,params64 -r 3 weft go-fasthttp go-gnet-raw go-nethttp
	"$BENCH/bin/charts" -fastpath "$out" -o "$out/charts"
}
preset_idle() {
	local out
	out=$(preset_out idle)
	"$BENCH/run.sh" -o "$out" -s idle -r 2 weft go-gnet-raw go-fasthttp go-nethttp
	"$BENCH/bin/charts" -idle "$out" -o "$out/charts"
}
preset_mixed() {
	local out
	out=$(preset_out mixed)
	"$BENCH/run.sh" -o "$out" -s mixed -r 3 weft node-fastify go-nethttp
	"$BENCH/bin/charts" -mixed "$out" -o "$out/charts"
}

# preset_middleware: docs/middleware.md's access-log figures.
preset_middleware() {
	"$BENCH/run.sh" -o "$(preset_out middleware)" -s plaintext64 -r 3 weft weft-mw weft-mw-buffered
}

# preset_streaming: issue 8's figures, weft beside net/http, each server
# alone on core 1 and the load client on core 0 (PIN=1; docs/benchmarks.md,
# "Streaming and WebSocket: the server on its own core").
preset_streaming() {
	PIN=1 LOADGEN_CPUS=0 "$BENCH/run.sh" -o "$(preset_out streaming)" -s download1g,upload1g,big16m,sse1000,slowread weft go-nethttp
}

# preset_websocket: issue 12's figures, weft beside gorilla/websocket (on
# net/http) and Node's ws, pinned as preset_streaming.
preset_websocket() {
	PIN=1 LOADGEN_CPUS=0 "$BENCH/run.sh" -o "$(preset_out websocket)" -s ws64,ws16k,wsz,idlews,idlewsz weft go-nethttp node-http
}

# preset_metrics: issue 10's cost of metrics, weft alone (on and off).
preset_metrics() {
	"$BENCH/run.sh" -o "$(preset_out metrics)" -s metrics,metricslag weft
}

# preset_nats: issue 11's offload over NATS: weft-nats (the NATS build of
# the benchserver) with bin/nats-server and bin/weft-worker.
preset_nats() {
	local out
	out=$(preset_out nats)
	"$BENCH/run.sh" -o "$out/nats" -s natsrtt,natsscale,natskill weft-nats
	"$BENCH/run.sh" -o "$out/piscina" -s cpu1 node-fastify # piscina's round trip, beside natsrtt
}
