"use strict";
// secret_stream_peer.js — a real @hyperswarm/secret-stream (and optionally protomux) peer
// for pigeon's secret-stream interop tests.
//
//   node secret_stream_peer.js --role responder [--host 127.0.0.1] [--port 0] [--mux]
//   node secret_stream_peer.js --role initiator --port P [--host 127.0.0.1] [--mux]
//        [--timeout-ms 30000]
//
// One connection only. Without --mux every received message is written back unchanged
// (an empty message is reported and echoed too). With --mux a protomux channel
// (protocol "pigeon/test", id 32 × 0x11, handshake = string) is opened with the handshake
// "hello from node"; message type 0 (string): "node 1".."node 3" are sent once the
// channel opens, and every received string s is answered with "echo: " + s.
//
// stdout (JSON lines):
//   {"event":"listening","port"}                      responder only
//   {"event":"open","handshakeHash","publicKey","remotePublicKey","isInitiator"}
//   {"event":"empty"}                                 an empty message arrived (echo mode)
//   {"event":"channel-open","handshake"}              --mux
//   {"event":"channel-message","text"}                --mux, per received string
//   {"event":"channel-close","isRemote"}              --mux
//   {"event":"closed","echoed","bytes"}               the stream closed; then exit 0
// Exit 1 on a stream error, 3 on --timeout-ms.
const net = require("net");
const { req, emit, hex, run, args, intArg, deadline, onShutdown } = require(
  "./_common",
);

const NoiseSecretStream = req("@hyperswarm/secret-stream");
const Protomux = req("protomux");
const c = req("compact-encoding");

const PROTOCOL = "pigeon/test";
const CHANNEL_ID = Buffer.alloc(32, 0x11);

run(async () => {
  const a = args({
    role: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
    mux: { type: "boolean", default: false },
    "timeout-ms": { type: "string" },
  });
  if (a.role !== "initiator" && a.role !== "responder") {
    throw new Error("--role must be initiator or responder");
  }
  deadline(intArg(a["timeout-ms"], "timeout-ms", 30_000), "secret-stream peer");
  const port = intArg(a.port, "port", 0);

  const socket = await (a.role === "initiator" ? dial(a.host, port) : accept(a.host, port));
  const stream = new NoiseSecretStream(a.role === "initiator", socket);
  let echoed = 0;
  let bytes = 0;
  onShutdown(() => stream.destroy());
  stream.on("error", (err) => {
    process.stderr.write("stream error: " + err.message + "\n");
    process.exit(1);
  });
  stream.on("close", () => {
    emit({ event: "closed", echoed, bytes });
    process.exit(0);
  });
  await stream.opened;
  emit({
    event: "open",
    handshakeHash: hex(stream.handshakeHash),
    publicKey: hex(stream.publicKey),
    remotePublicKey: hex(stream.remotePublicKey),
    isInitiator: stream.isInitiator,
  });

  if (!a.mux) {
    stream.on("data", (data) => {
      if (data.byteLength === 0) emit({ event: "empty" });
      echoed++;
      bytes += data.byteLength;
      stream.write(data);
    });
    return;
  }

  const mux = new Protomux(stream);
  const channel = mux.createChannel({
    protocol: PROTOCOL,
    id: CHANNEL_ID,
    handshake: c.string,
    onopen(handshake) {
      emit({ event: "channel-open", handshake });
      for (let i = 1; i <= 3; i++) text.send("node " + i);
    },
    onclose(isRemote) {
      emit({ event: "channel-close", isRemote });
    },
  });
  const text = channel.addMessage({
    encoding: c.string,
    onmessage(s) {
      emit({ event: "channel-message", text: s });
      text.send("echo: " + s);
    },
  });
  channel.open("hello from node");
});

function dial(host, port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.removeListener("error", reject);
      resolve(socket);
    });
  });
}

function accept(host, port) {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      server.close(); // one connection only
      resolve(socket);
    });
    server.once("error", reject);
    server.listen(
      port,
      host,
      () => emit({ event: "listening", port: server.address().port }),
    );
  });
}
