// Convert page: drop or choose images; each uploads with its own progress bar, then becomes a
// card whose status follows the job (queued -> running -> done) without reloading the page.
(function () {
  "use strict";
  const section = document.getElementById("convert");
  if (!section) return;
  const form = document.getElementById("upload-form");
  const input = form.querySelector('input[type="file"]');
  const dropzone = document.getElementById("dropzone");
  const list = document.getElementById("uploads");
  const csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  const preset = form.querySelector('select[name="preset"]');

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function card(file) {
    const item = element("li", "job-card uploading");
    const thumb = element("span", "thumb");
    const local = element("img");
    local.alt = "";
    local.src = URL.createObjectURL(file); // what was chosen, until the server's preview
    local.addEventListener("load", () => URL.revokeObjectURL(local.src));
    local.addEventListener("error", function () {
      URL.revokeObjectURL(local.src);
      local.remove(); // not something the browser can show
    });
    thumb.append(local);
    const info = element("div", "job-info");
    const name = element("span", "job-name", file.name);
    const status = element("span", "status", "Uploading");
    const bar = element("progress", "bar");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Progress of " + file.name);
    const message = element("span", "meta");
    info.append(name, status, bar, message);
    item.append(thumb, info);
    list.prepend(item);
    return { item, thumb, name, status, bar, message };
  }

  function show(view, job) {
    view.status.textContent = job.status_display;
    view.status.className = "status status-" + job.status;
    view.item.className = "job-card status-card-" + job.status;
    if (!view.link) {
      view.link = element("a", "job-name", job.filename);
      view.link.href = job.detail_url;
      view.name.replaceWith(view.link);
    }
    if (job.status === "queued") {
      view.bar.removeAttribute("value"); // indeterminate: waiting for a worker
      view.message.textContent = "Waiting for a worker…";
    } else if (job.status === "running") {
      view.bar.removeAttribute("value");
      view.message.textContent = "Tracing…";
    } else if (job.status === "succeeded") {
      view.bar.remove();
      const image = element("img");
      image.src = job.preview_url;
      image.alt = "";
      view.thumb.replaceChildren(image);
      view.message.textContent =
        (job.output_bytes / 1024).toFixed(1) + " KB · " + Math.round(job.metrics.ssim * 100) + "% similar";
    } else if (job.status === "failed") {
      view.bar.remove();
      view.message.className = "error-text";
      view.message.textContent = job.error + (job.credit_returned ? " Your credit was given back." : "");
    }
  }

  // Uploads sent together are charged in whatever order the server takes them, and their
  // answers may come back in another: while any is in flight, the lowest balance is the latest.
  let inFlight = 0;
  let lowest = null;

  function showCredits(balance) {
    lowest = lowest === null ? balance : Math.min(lowest, balance);
    document.querySelectorAll("[data-credits]").forEach((node) => (node.textContent = lowest));
    const unit = document.getElementById("header-credits-unit");
    if (unit) unit.textContent = lowest === 1 ? "credit" : "credits";
  }

  function follow(view, job) {
    show(view, job);
    if (job.finished) return;
    let delay = 600;
    function poll() {
      fetch(job.status_url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
        .then((latest) => {
          show(view, latest);
          if (!latest.finished) window.setTimeout(poll, (delay = Math.min(delay * 1.4, 3000)));
        })
        .catch(() => window.setTimeout(poll, 4000));
    }
    window.setTimeout(poll, delay);
  }

  function upload(file) {
    const view = card(file);
    const data = new FormData();
    data.append("image", file);
    data.append("preset", preset.value);
    const request = new XMLHttpRequest();
    request.open("POST", section.dataset.uploadUrl);
    request.setRequestHeader("X-CSRFToken", csrf);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) view.bar.value = Math.round((event.loaded / event.total) * 100);
    });
    inFlight += 1;
    request.addEventListener("loadend", function () {
      inFlight -= 1;
      if (inFlight === 0) lowest = null; // the next uploads start from what the server says
    });
    request.addEventListener("load", function () {
      let body = {};
      try {
        body = JSON.parse(request.responseText);
      } catch (error) {
        body = { error: "The server answered unexpectedly (HTTP " + request.status + ")." };
      }
      if (request.status === 201) {
        // "Nothing here yet" is no longer true, and the new job's card is above.
        const empty = document.querySelector("#recent .empty");
        if (empty) empty.closest("section").hidden = true;
        if (typeof body.credits === "number") showCredits(body.credits);
        follow(view, body);
      } else {
        view.bar.remove();
        view.status.textContent = "Not accepted";
        view.status.className = "status status-failed";
        view.item.className = "job-card status-card-failed";
        view.message.className = "error-text";
        view.message.textContent = body.error || "The upload failed.";
        if (body.buy_url) {
          const buy = element("a", "button small", "Buy credits");
          buy.href = body.buy_url;
          view.message.after(buy);
        }
      }
    });
    request.addEventListener("error", function () {
      view.bar.remove();
      view.message.className = "error-text";
      view.message.textContent = "The upload did not reach the server. Check your connection and try again.";
    });
    request.send(data);
  }

  function send(files) {
    Array.from(files).forEach(upload);
  }

  input.addEventListener("change", function () {
    send(input.files);
    input.value = "";
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send(input.files);
  });
  ["dragenter", "dragover"].forEach(function (name) {
    dropzone.addEventListener(name, function (event) {
      event.preventDefault();
      dropzone.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    dropzone.addEventListener(name, function (event) {
      event.preventDefault();
      dropzone.classList.remove("dragging");
    });
  });
  dropzone.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files.length) send(event.dataTransfer.files);
  });
})();
