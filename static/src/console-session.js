// What the VNC and serial console pages share: the status line, the Reconnect button,
// the one-time token exchange and what to do when the console proxy closes the socket.
// Tokens are single-use and short-lived, so every (re)connect asks for a fresh one; they
// stay in memory only (never in the page URL, never in the browser console).

const RETRY_MS = 3000;
const MAX_TOKEN_RETRIES = 3;

// Close codes of the console proxy, as the page received them (nodes/consoles/codes.py);
// anything else is treated as a dropped connection.
const CODES = JSON.parse(document.getElementById("console-close-codes").textContent);
const STOP_CODES = new Set(CODES.stop);
const FRESH_TOKEN_CODES = new Set(CODES.fresh_token);
const ALERT_TONES = { connecting: "info", connected: "success", retrying: "warning", failed: "danger" };

function setStatus(element, state, text) {
  element.dataset.state = state;
  element.className = `alert alert-${ALERT_TONES[state]} py-2 mb-0 flex-grow-1`;
  element.textContent = text;
}

async function requestToken(url, csrf, body) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    });
  } catch {
    return { status: 0, detail: "The console service could not be reached." };
  }
  const data = await response.json().catch(() => ({}));
  return { status: response.status, detail: data.detail || `The token request failed (HTTP ${response.status}).`, data };
}

// root carries data-token-url and data-csrf; body is the token request, e.g. {type: "vnc"};
// open(tokenData, session) starts the connection and returns its WebSocket.
export class ConsoleSession {
  constructor(root, body, open) {
    this.url = root.dataset.tokenUrl;
    this.csrf = root.dataset.csrf;
    this.body = body;
    this.open = open;
    this.status = document.getElementById("console-status");
    this.attempt = 0;
    this.tokenRetries = 0;
    this.timer = null;
    this.socket = null;
    document.getElementById("console-reconnect").addEventListener("click", () => this.reconnect());
  }

  // The Reconnect button: drop whatever is running and start again from a fresh token.
  reconnect() {
    this.tokenRetries = 0;
    this.connect();
  }

  async connect() {
    const attempt = this.forget();
    setStatus(this.status, "connecting", "Connecting…");
    const token = await requestToken(this.url, this.csrf, this.body);
    if (attempt !== this.attempt) return;
    if (token.status === 201) this.start(attempt, token.data);
    else if (token.status === 409 || token.status === 0 || token.status >= 500) this.retry(token.detail);
    else if (token.status === 401) this.fail("Your session has ended: log in again, then reopen the console.");
    else if (token.status === 403 || token.status === 404) this.fail("Access denied: you do not have access to this instance's console (any more).");
    else this.fail(token.detail);
  }

  start(attempt, data) {
    let socket;
    try {
      socket = this.open(data, this);
    } catch (error) {
      this.retry(`The console could not be opened: ${error.message}`);
      return;
    }
    this.socket = socket;
    socket.addEventListener("close", (event) => {
      if (attempt === this.attempt) this.closed(event.code, event.reason);
    });
  }

  // Called by the page once the console really works (serial data flowing, VNC handshake done).
  connected() {
    this.tokenRetries = 0;
    setStatus(this.status, "connected", "Connected");
  }

  closed(code, reason) {
    this.socket = null;
    if (FRESH_TOKEN_CODES.has(code)) {
      if (code === CODES.port_changed || this.tokenRetries++ < MAX_TOKEN_RETRIES) this.connect();
      else this.fail(reason || "The console token was refused.");
    } else if (STOP_CODES.has(code)) {
      this.fail(reason || `The console closed (code ${code}).`);
    } else if (code === 1006 || (code === 1000 && reason === "Target closed")) {
      this.retry("Disconnected, reconnecting…", "");
    } else {
      this.retry(reason || `Disconnected (code ${code}).`);
    }
  }

  retry(reason, note = " — retrying every 3 s…") {
    const attempt = this.forget();
    setStatus(this.status, "retrying", note ? `${reason.replace(/\.$/, "")}${note}` : reason);
    this.timer = setTimeout(() => { if (attempt === this.attempt) this.connect(); }, RETRY_MS);
  }

  // Stops for good: only the Reconnect button starts again.
  fail(reason) {
    this.forget();
    setStatus(this.status, "failed", reason);
  }

  // Invalidates the running attempt (its late events are ignored) and closes its socket.
  forget() {
    clearTimeout(this.timer);
    this.attempt += 1;
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close();
    return this.attempt;
  }
}
