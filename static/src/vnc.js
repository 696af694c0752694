// The VNC console: noVNC on a WebSocket we open ourselves, so that the proxy's close
// code and reason can drive the status line (see console-session.js).
import RFB from "@novnc/novnc";
import { ConsoleSession } from "./console-session.js";
import { keyFor } from "./keyboard-layouts.js";

// X11 keysyms (keysymdef.h). @novnc/novnc exports only core/rfb.js, so its own keysym
// table cannot be imported.
const XK = {
  BackSpace: 0xff08, Tab: 0xff09, Return: 0xff0d, Escape: 0xff1b,
  F1: 0xffbe, F2: 0xffbf, Shift_L: 0xffe1, Control_L: 0xffe3, Alt_L: 0xffe9,
  ISO_Level3_Shift: 0xfe03, space: 0x20,
};
const CTRL = [XK.Control_L, "ControlLeft"];
const ALT = [XK.Alt_L, "AltLeft"];
const SHIFT = [XK.Shift_L, "ShiftLeft"];
const ALTGR = [XK.ISO_Level3_Shift, "AltRight"];
const COMBOS = {
  "ctrl-alt-f1": [CTRL, ALT, [XK.F1, "F1"]],
  "ctrl-alt-f2": [CTRL, ALT, [XK.F2, "F2"]],
  "ctrl-alt-backspace": [CTRL, ALT, [XK.BackSpace, "Backspace"]],
  "alt-tab": [ALT, [XK.Tab, "Tab"]],
  "esc": [[XK.Escape, "Escape"]],
  "tab": [[XK.Tab, "Tab"]],
};

const PASTE_DELAY_MS = 10;

const root = document.getElementById("console");
const screen = document.getElementById("vnc-screen");
const scale = document.getElementById("vnc-scale");
let rfb = null;

function keysymFor(char) {
  if (char === "\n") return XK.Return;
  if (char === "\t") return XK.Tab;
  const point = char.codePointAt(0);
  return point < 0x100 ? point : 0x01000000 + point;
}

function sendCombo(keys) {
  keys.forEach(([keysym, code]) => rfb.sendKey(keysym, code, true));
  [...keys].reverse().forEach(([keysym, code]) => rfb.sendKey(keysym, code, false));
}

// A layout (us, de …) presses the key that types the character on a guest with that
// keyboard layout, with Shift or AltGr: QEMU passes physical keys on and the guest's layout
// turns them into characters. "keysym" sends the character alone and lets the VNC server
// pick a key from its own keymap (QEMU then ignores Shift).
function typeChar(char, layout) {
  const keysym = keysymFor(char);
  const key = layout !== "keysym" && keyFor(char, layout);
  if (!key) {
    rfb.sendKey(keysym, null);
    return;
  }
  const press = [keysym, key.code];
  if (key.modifier === "shift") sendCombo([SHIFT, press]);
  else if (key.modifier === "altgr") sendCombo([ALTGR, press]);
  else if (key.modifier === "altgr-shift") sendCombo([ALTGR, SHIFT, press]);
  else sendCombo([press]);
  if (key.dead) sendCombo([[XK.space, "Space"]]);
}

// Typed one key at a time with a short pause: guests drop keys that arrive in a burst.
async function typeText(text, layout) {
  for (const char of text.replace(/\r\n?/g, "\n")) {
    if (screen.dataset.connected !== "true") return;
    typeChar(char, layout);
    await new Promise((resolve) => setTimeout(resolve, PASTE_DELAY_MS));
  }
}

function open(data, session) {
  const ws = new WebSocket(data.ws_url);
  const credentials = { password: data.password };
  rfb = new RFB(screen, ws, { credentials });
  rfb.scaleViewport = scale.checked;
  rfb.resizeSession = false;
  rfb.addEventListener("connect", () => {
    screen.dataset.connected = "true";
    session.connected();
  });
  rfb.addEventListener("disconnect", () => { screen.dataset.connected = "false"; });
  rfb.addEventListener("credentialsrequired", (event) => {
    if (event.detail.types.every((type) => type === "password") && data.password) {
      event.target.sendCredentials(credentials);
    } else {
      session.fail(`The VNC server asks for credentials the console cannot give (${event.detail.types.join(", ")}).`);
    }
  });
  rfb.addEventListener("securityfailure", (event) => {
    session.fail(`VNC authentication failed${event.detail.reason ? `: ${event.detail.reason}` : ""}.`);
  });
  return ws;
}

function bindControls() {
  document.getElementById("vnc-ctrl-alt-del").addEventListener("click", () => {
    rfb?.sendCtrlAltDel();
    rfb?.focus();
  });
  document.querySelectorAll("[data-keys]").forEach((item) => item.addEventListener("click", () => {
    if (!rfb) return;
    sendCombo(COMBOS[item.dataset.keys]);
    rfb.focus();
  }));
  document.getElementById("vnc-fullscreen").addEventListener("click", () => screen.requestFullscreen());
  scale.addEventListener("change", () => { if (rfb) rfb.scaleViewport = scale.checked; });
  const paste = document.getElementById("vnc-paste");
  const layout = paste.elements.layout;
  layout.value = localStorage.getItem("kumo.keyboardLayout") || layout.value;
  layout.addEventListener("change", () => localStorage.setItem("kumo.keyboardLayout", layout.value));
  paste.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = paste.querySelector("button");
    button.disabled = true;
    await typeText(paste.elements.text.value, layout.value);
    button.disabled = false;
  });
}

window.kumoKeyFor = keyFor;  // for tests and the curious: where a character is typed
bindControls();
new ConsoleSession(root, { type: "vnc" }, open).connect();
