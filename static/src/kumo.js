// The console's one page script: htmx for fragments and polling, Bootstrap's components.
import htmx from "htmx.org";
import "bootstrap";

window.htmx = htmx;
// The Content-Security-Policy refuses inline styles, inline scripts and eval
// (docs/security.md); the pages need none of the htmx features that use them.
htmx.config.includeIndicatorStyles = false;
htmx.config.allowEval = false;
htmx.config.allowScriptTags = false;

// Destructive buttons ask first: <button data-confirm="Really terminate?">.
document.addEventListener("submit", (event) => {
  const question = event.submitter?.dataset.confirm || event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// <button data-back>: back to the page before, as a Cancel.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-back]")) history.back();
});

// The launch form says what the launch will use: count × the type's vCPUs and memory.
const usage = document.getElementById("launch-usage");
if (usage) {
  const sizes = JSON.parse(document.getElementById("type-sizes").textContent);
  const type = document.getElementById("id_instance_type");
  const count = document.getElementById("id_count");
  const show = () => {
    const size = sizes[type.value];
    const n = Number(count.value) || 0;
    usage.textContent = size
      ? `This launch uses ${n} instance(s), ${n * size[0]} vCPU(s) and ${n * size[1]} MiB of RAM.`
      : "";
  };
  type.addEventListener("change", show);
  count.addEventListener("input", show);
  show();
}

// A form with data-upload-progress sends its file with the upload's progress shown; the
// answer then replaces the page: the page it redirected to, or the form with its errors.
const MIB = 1024 * 1024;
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("[data-upload-progress]") || event.defaultPrevented) return;
  event.preventDefault();
  const status = form.querySelector("[data-upload-status]");
  const [bar, words] = [status.querySelector("progress"), status.querySelector(".form-text")];
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  request.setRequestHeader("X-CSRFToken", form.elements.csrfmiddlewaretoken.value);
  request.upload.addEventListener("progress", (progress) => {
    if (!progress.lengthComputable) return;
    bar.value = (100 * progress.loaded) / progress.total;
    words.textContent = `${(progress.loaded / MIB).toFixed(1)} of ${(progress.total / MIB).toFixed(1)} MiB sent`;
  });
  request.upload.addEventListener("load", () => {
    words.textContent = "Sent: checking the file…";
  });
  request.addEventListener("load", () => {
    if (request.responseURL !== form.action) return location.assign(request.responseURL);
    const answer = new DOMParser().parseFromString(request.responseText, "text/html");
    const again = answer.querySelector("main form[data-upload-progress]")?.closest("main");
    if (again) return document.querySelector("main").replaceWith(again);
    failed(`The upload was refused (${request.status} ${request.statusText}).`);
  });
  const failed = (why) => {
    words.textContent = why;
    form.querySelector("button.btn-primary").disabled = false;
  };
  request.addEventListener("error", () => {
    failed("The upload stopped: the connection to Kumo was lost. Try again.");
  });
  request.send(new FormData(form));
  status.hidden = false;
  form.querySelector("button.btn-primary").disabled = true;
});
