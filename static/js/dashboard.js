// Staff dashboard: fetch the figures again every 30 seconds and swap them in (no reload).
(function () {
  "use strict";
  const panel = document.getElementById("dashboard-panel");
  if (!panel) return;
  window.setInterval(function () {
    fetch(panel.dataset.panelUrl, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => (panel.innerHTML = html))
      .catch(() => {});
  }, 30000);
})();
