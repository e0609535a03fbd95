// Result page: side-by-side or slider comparison, zoom (buttons, wheel) and pan (drag), and the
// live values of the settings sliders.
(function () {
  "use strict";
  const tabs = document.querySelectorAll("[data-view]");
  const panels = document.querySelectorAll("[data-view-panel]");
  tabs.forEach(function (tab) {
    tab.addEventListener("click", function () {
      tabs.forEach((other) => other.setAttribute("aria-selected", String(other === tab)));
      panels.forEach((panel) => (panel.hidden = panel.dataset.viewPanel !== tab.dataset.view));
    });
  });

  const slider = document.getElementById("slider-position");
  const top = document.getElementById("slider-svg");
  if (slider && top) {
    const clip = () => (top.style.clipPath = "inset(0 0 0 " + slider.value + "%)");
    slider.addEventListener("input", clip);
    clip();
  }

  // Zoom and pan: one transform for every view, so both images stay aligned.
  let scale = 1;
  let x = 0;
  let y = 0;
  const level = document.getElementById("zoom-level");
  function apply() {
    document.querySelectorAll(".zoomable").forEach(function (node) {
      node.style.transform = "translate(" + x + "px," + y + "px) scale(" + scale + ")";
    });
    if (level) level.textContent = Math.round(scale * 100) + "%";
  }
  function zoom(factor) {
    scale = Math.min(16, Math.max(1, scale * factor));
    if (scale === 1) x = y = 0;
    apply();
  }
  document.querySelectorAll("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      const action = button.dataset.zoom;
      if (action === "in") zoom(1.5);
      else if (action === "out") zoom(1 / 1.5);
      else {
        scale = 1;
        x = y = 0;
        apply();
      }
    });
  });
  document.querySelectorAll(".pane").forEach(function (pane) {
    pane.addEventListener(
      "wheel",
      function (event) {
        if (!event.ctrlKey && !event.metaKey && scale === 1 && event.deltaY > 0) return;
        event.preventDefault();
        zoom(event.deltaY < 0 ? 1.2 : 1 / 1.2);
      },
      { passive: false }
    );
    let dragging = null;
    pane.addEventListener("pointerdown", function (event) {
      if (scale === 1) return;
      dragging = { startX: event.clientX - x, startY: event.clientY - y };
      pane.setPointerCapture(event.pointerId);
    });
    pane.addEventListener("pointermove", function (event) {
      if (!dragging) return;
      x = event.clientX - dragging.startX;
      y = event.clientY - dragging.startY;
      apply();
    });
    pane.addEventListener("pointerup", () => (dragging = null));
  });

  // Settings sliders: show each value, and moving one switches the sliders on.
  const advanced = document.getElementById("id_advanced");
  document.querySelectorAll('.slider-field input[type="range"]').forEach(function (range) {
    const output = range.parentElement.querySelector("output");
    range.addEventListener("input", function () {
      output.textContent = range.value;
      if (advanced) advanced.checked = true;
    });
  });
})();
