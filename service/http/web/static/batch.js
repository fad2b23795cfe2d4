// Watches a batch job's progress on its page and reloads the page when the job has finished.
// Without this script the page refreshes itself (a <noscript> refresh).
(function () {
  "use strict";
  const job = document.querySelector("[data-job]");
  if (!job || job.dataset.finished === "true") return;
  const bar = job.querySelector("progress");
  const text = job.querySelector("[data-progress-text]");
  const state = job.querySelector("[data-state]");
  const finished = ["succeeded", "failed", "cancelled"];

  async function poll() {
    try {
      const response = await fetch("/v1/batch-jobs/" + encodeURIComponent(job.dataset.job), { headers: { Accept: "application/json" } });
      if ([401, 403, 404, 429].includes(response.status)) {  // asking again will not help: the page says why when reloaded
        text.textContent = "Progress cannot be read (HTTP " + response.status + "): reload the page.";
        return;
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      const body = await response.json();
      const p = body.progress;
      bar.max = p.total;
      bar.value = p.done;
      bar.textContent = p.done + " of " + p.total;
      text.textContent = p.done + " of " + p.total + " projects done" + (p.failed_queries ? ", " + p.failed_queries + " failed" : "");
      state.textContent = body.state;
      state.className = "state " + body.state;
      if (finished.includes(body.state)) {
        window.location.reload();
        return;
      }
    } catch (error) {
      text.textContent = "Could not read the job's progress (" + error.message + "); retrying.";
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 500);
})();
