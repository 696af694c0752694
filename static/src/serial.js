// The serial console: xterm.js on a binary WebSocket to the console proxy. The recent
// output comes first from the console output API, then the live stream.
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { ConsoleSession } from "./console-session.js";
import { nonceEveryStyle } from "./csp-nonce.js";

const DIM = "\x1b[2m";
const RESET = "\x1b[0m";
const SETTLE_MS = 1000;
const OUTPUT_POLLS = 20;
const OUTPUT_POLL_MS = 500;

// xterm.js adds <style> elements of its own and takes no nonce.
nonceEveryStyle();

const root = document.getElementById("console");
const readOnly = root.dataset.readOnly === "true";
const term = new Terminal({ convertEol: false, scrollback: 5000, disableStdin: readOnly });
const fit = new FitAddon();
const encoder = new TextEncoder();
let socket = null;

// For browser tests and debugging: they read the screen through term.buffer.
window.kumoTerminal = term;

let atLineStart = true;

function write(data) {
  if (data.length) atLineStart = data[data.length - 1] === (typeof data === "string" ? "\n" : 0x0a);
  term.write(data);
}

// A dim line of our own between the guest's output, on a line of its own.
function note(text) {
  write(`${atLineStart ? "" : "\r\n"}${DIM}— ${text} —${RESET}\r\n`);
}

async function fetchOutput() {
  const response = await fetch(root.dataset.outputUrl, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

// The API answers at once with the copy last read and queues a fresh read; ask again
// (for up to 10 s) until the fresh one is there.
async function readOutput() {
  let data = await fetchOutput();
  for (let polls = 0; data.refreshing && polls < OUTPUT_POLLS; polls++) {
    await new Promise((resolve) => setTimeout(resolve, OUTPUT_POLL_MS));
    data = await fetchOutput();
  }
  return data;
}

async function writeHistory() {
  try {
    const data = await readOutput();
    note(data.truncated ? "last output (only the most recent part was kept)" : "last output");
    // The stored text may have bare newlines; the terminal needs CR LF.
    write((data.output || "").replace(/\r?\n/g, "\r\n"));
  } catch (error) {
    note(`the earlier output could not be read (${error.message})`);
  }
}

function send(bytes) {
  if (!readOnly && socket?.readyState === WebSocket.OPEN) socket.send(bytes);
}

// The proxy accepts every socket and refuses a bad token with a close frame right after,
// so an open socket counts as connected only once data arrives or it stays open a moment.
function open(data, session) {
  const ws = new WebSocket(data.ws_url, ["binary"]);
  ws.binaryType = "arraybuffer";
  let settled = false;
  const settle = () => {
    if (settled || ws.readyState !== WebSocket.OPEN) return;
    settled = true;
    note(readOnly ? "live (read-only)" : "live");
    session.connected();
  };
  ws.addEventListener("open", () => {
    socket = ws;
    setTimeout(settle, SETTLE_MS);
  });
  ws.addEventListener("message", (event) => {
    settle();
    write(typeof event.data === "string" ? event.data : new Uint8Array(event.data));
  });
  ws.addEventListener("close", () => { if (socket === ws) socket = null; });
  return ws;
}

async function start() {
  const container = document.getElementById("serial-screen");
  term.loadAddon(fit);
  term.open(container);
  fit.fit();
  new ResizeObserver(() => fit.fit()).observe(container);
  term.onData((text) => send(encoder.encode(text)));
  // Mouse reports in the legacy encoding come as one byte per character.
  term.onBinary((text) => send(Uint8Array.from(text, (char) => char.charCodeAt(0))));
  await writeHistory();
  new ConsoleSession(root, { type: "serial", read_only: readOnly }, open).connect();
  if (!readOnly) term.focus();
}

start();
