// The rule editor: CodeMirror 6 with XML highlighting and lint markers, and a live preview
// that follows typing (debounced) through POST /api/v1/rules/preview/.
import { EditorView, basicSetup } from "codemirror";
import { xml } from "@codemirror/lang-xml";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { nonce } from "./csp-nonce.js";

const DEBOUNCE_MS = 75;

function utf8ToBase64(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  bytes.forEach((byte) => { binary += String.fromCharCode(byte); });
  return btoa(binary);
}

// The rule as edited: its position and scope, as the preview API names them.
function ruleSettings(form) {
  const settings = {};
  const position = form.querySelector("[name=position]");
  if (position && position.value !== "") settings.position = Number(position.value);
  const scope = form.querySelector("select[name=scope]");
  if (scope) {
    settings.scope = scope.value;
    const target = form.querySelector(`select[name=${scope.value}]`);
    if (target) settings.scope_target = target.value;
  }
  const against = form.querySelector("[data-against]");
  if (against) settings.against = against.value;
  return settings;
}

function sampleChoices(form) {
  const choices = {};
  form.querySelectorAll("[data-sample]").forEach((field) => {
    const name = field.dataset.sample;
    if (name === "user_data") choices.user_data = utf8ToBase64(field.value);
    else if (field.value) choices[name] = field.value;
  });
  return choices;
}

function diagnosticsFor(problems, severity, stage, doc) {
  return problems
    .filter((problem) => problem.stage === stage && problem.line)
    .map((problem) => {
      const line = doc.line(Math.min(problem.line, doc.lines));
      const from = problem.column ? Math.min(line.from + problem.column - 1, line.to) : line.from;
      return { from, to: line.to, severity, message: problem.message };
    });
}

function renderDiff(pane, diff) {
  pane.replaceChildren();
  if (!diff) { pane.textContent = "No difference."; return; }
  for (const text of diff.split("\n")) {
    const line = document.createElement("span");
    if (text.startsWith("+") && !text.startsWith("+++")) line.className = "add";
    if (text.startsWith("-") && !text.startsWith("---")) line.className = "del";
    line.textContent = text + "\n";
    pane.append(line);
  }
}

function renderProblems(list, data) {
  list.replaceChildren();
  const items = [
    ...data.errors.map((p) => ["danger", "Error", p]),
    ...data.warnings.map((p) => ["warning", "Warning", p]),
  ];
  for (const [tone, label, problem] of items) {
    const item = document.createElement("li");
    item.className = `alert alert-${tone} py-1 px-2 mb-1 small`;
    const where = problem.line ? ` line ${problem.line}${problem.column ? `, column ${problem.column}` : ""}` : "";
    item.textContent = `${label} in ${problem.stage || "the chain"}${where}: ${problem.message}`;
    list.append(item);
  }
}

// Show only the target field that the chosen scope needs (cluster, node, image …).
function followScope(form) {
  const scope = form.querySelector("select[name=scope]");
  if (!scope) return;
  const targets = ["cluster", "node", "image", "instance_type", "owner"];
  const update = () => targets.forEach((name) => {
    const field = form.querySelector(`[data-field=${name}]`);
    if (field) field.hidden = scope.value !== name;
  });
  scope.addEventListener("change", update);
  update();
}

function mount(form) {
  followScope(form);
  const textarea = form.querySelector("textarea[name=text]");
  const status = document.getElementById("preview-status");
  const domainPane = document.getElementById("pane-domain");
  const diffPane = document.getElementById("pane-diff");
  const problems = document.getElementById("preview-problems");
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  let timer = null;
  let inFlight = null;
  let sequence = 0;

  const view = new EditorView({
    doc: textarea.value,
    parent: document.getElementById("editor"),
    extensions: [
      basicSetup,
      EditorView.cspNonce.of(nonce),
      xml(),
      lintGutter(),
      EditorView.updateListener.of((update) => {
        if (!update.docChanged) return;
        textarea.value = update.state.doc.toString();
        schedule();
      }),
    ],
  });
  textarea.hidden = true;

  function requestBody() {
    return {
      stylesheet: view.state.doc.toString(),
      rule: form.dataset.rule ? Number(form.dataset.rule) : null,
      ...ruleSettings(form),
      ...sampleChoices(form),
    };
  }

  async function preview() {
    const mine = ++sequence;
    inFlight?.abort();
    inFlight = new AbortController();
    const started = performance.now();
    const body = requestBody();
    let response;
    try {
      response = await fetch(form.dataset.previewUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body),
        signal: inFlight.signal,
        credentials: "same-origin",
      });
    } catch (error) {
      if (error.name !== "AbortError") status.textContent = `Preview failed: ${error.message}`;
      return;
    }
    const data = await response.json();
    if (mine !== sequence) return;
    if (!response.ok) {
      status.textContent = `Preview refused: ${JSON.stringify(data)}`;
      form.dataset.previewState = "refused";
      return;
    }
    const stage = form.dataset.stage;
    const doc = view.state.doc;
    view.dispatch(setDiagnostics(view.state, [
      ...diagnosticsFor(data.errors, "error", stage, doc),
      ...diagnosticsFor(data.warnings, "warning", stage, doc),
    ]));
    domainPane.textContent = data.domain_xml || "(no domain: see the errors above)";
    renderDiff(diffPane, data.diff);
    renderProblems(problems, data);
    const took = Math.round(performance.now() - started);
    status.textContent = data.errors.length
      ? `${data.errors.length} error(s) · ${took} ms`
      : `Rendered in ${took} ms · ${data.warnings.length} warning(s)`;
    form.dataset.previewState = data.errors.length ? "error" : "ok";
    form.dataset.previewCount = String(Number(form.dataset.previewCount || 0) + 1);
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(preview, DEBOUNCE_MS);
  }

  const checkButton = form.querySelector("[data-check-url]");
  checkButton?.addEventListener("click", () => checkWithLibvirt(checkButton, requestBody(), csrf));

  form.querySelectorAll("[data-sample], [data-against], [name=position], [name=scope], [data-field] select")
    .forEach((field) => field.addEventListener("input", schedule));
  window.kumoEditor = view;
  preview();
}

// "Check with libvirt": queue libvirt's own validation on the sample's node, then poll.
async function checkWithLibvirt(button, body, csrf) {
  const status = document.getElementById("check-status");
  const show = (tone, text) => { status.className = `small mb-2 text-${tone}`; status.textContent = text; };
  button.disabled = true;
  show("secondary", "Asking libvirt…");
  try {
    const response = await fetch(button.dataset.checkUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const queued = await response.json().catch(() => ({}));
    if (!response.ok) {
      show("danger", queued.detail || Object.values(queued).flat().join(" "));
      return;
    }
    for (let attempt = 0; attempt < 120; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const polled = await fetch(`${button.dataset.checkUrl}${queued.job_id}/`, { credentials: "same-origin" });
      const result = await polled.json().catch(() => ({}));
      if (!polled.ok) { show("danger", result.detail || `The check failed (HTTP ${polled.status}).`); return; }
      if (result.ok === true) { show("success", result.message); return; }
      if (result.ok === false) { show("danger", result.message); return; }
      show("secondary", `Asking libvirt on ${queued.node}… ${result.message || ""}`);
    }
    show("warning", "No answer within a minute: is a worker running?");
  } finally {
    button.disabled = false;
  }
}

const form = document.querySelector("[data-rule-editor]");
if (form) mount(form);
