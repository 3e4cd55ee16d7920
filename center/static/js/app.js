// Progressive enhancement only: every page works without this file.
"use strict";

// Poll a job's progress and update its bar (templates/core/job.html and batch pages).
function watchJob(box) {
  const bar = box.querySelector(".js-job-bar");
  const text = box.querySelector(".js-job-text");
  const tick = async () => {
    const response = await fetch(box.dataset.jobUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const job = await response.json();
    bar.value = job.percent;
    text.textContent = `${job.done} / ${job.total} ${job.message || ""}`;
    if (job.finished) {
      if (job.result && job.result.redirect) window.location = job.result.redirect;
      return;
    }
    setTimeout(tick, 1000);
  };
  tick();
}

// Ask before a destructive or irreversible action: <button data-confirm="...">.
function confirmClicks(event) {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
}

// Disable a form's submit buttons once it is sent, so a double click sends it once.
function guardDoubleSubmit(event) {
  const form = event.target;
  if (form.dataset.submitted) { event.preventDefault(); return; }
  form.dataset.submitted = "1";
  setTimeout(() => { delete form.dataset.submitted; }, 5000);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-job-url]").forEach(watchJob);
  document.addEventListener("click", confirmClicks);
  document.querySelectorAll("form[method=post]").forEach((f) => f.addEventListener("submit", guardDoubleSubmit));
});
