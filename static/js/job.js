// Result page: polls the job's status until it finishes, then shows the SVG without a reload.
(function () {
  "use strict";
  const card = document.getElementById("job");
  if (!card) return;

  if (card.dataset.finished === "true") return;

  const statusUrl = card.dataset.statusUrl;
  const el = (id) => document.getElementById(id);
  let delay = 500;

  function formatBytes(bytes) {
    if (bytes < 1024) return bytes + " bytes";
    return (bytes / 1024).toFixed(1) + " KB";
  }

  function show(job) {
    const status = el("job-status");
    status.textContent = job.status_display;
    status.className = "status status-" + job.status;
    if (job.finished) el("job-spinner").hidden = true;
    if (job.status === "failed") {
      el("job-placeholder").hidden = true;
      el("job-error").textContent = job.error + (job.credit_returned ? " Your credit was given back." : "");
      el("job-error").hidden = false;
    }
    if (job.preview_url) {
      const preview = el("job-preview");
      preview.src = job.preview_url;
      preview.hidden = false;
      el("slider-svg").src = job.preview_url;
      el("job-placeholder").hidden = true;
      el("job-download").href = job.download_url;
      card.querySelectorAll("a[data-format]").forEach(function (link) {
        link.href = job.download_url + "?format=" + link.dataset.format;
      });
      const metrics = job.metrics;
      const report = {
        similarity: Math.round(metrics.ssim * 100) + "% (SSIM " + metrics.ssim + ")",
        size: formatBytes(job.output_bytes) + " of SVG",
        shapes: metrics.path_count + " paths, " + metrics.node_count + " points, " + metrics.color_count + " colours",
        time: job.engine_ms + " ms to trace",
      };
      Object.keys(report).forEach(function (name) {
        card.querySelector('[data-metric="' + name + '"]').textContent = report[name];
      });
      el("job-result").hidden = false;
    }
  }

  function poll() {
    fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then((job) => {
        show(job);
        if (!job.finished) {
          delay = Math.min(delay * 1.5, 3000);
          window.setTimeout(poll, delay);
        }
      })
      .catch(() => window.setTimeout(poll, 5000));
  }
  window.setTimeout(poll, delay);
})();
