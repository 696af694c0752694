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
