// Upload widgets (templates/marketplace/jobs/_files.html): with script, the chosen files are uploaded one by one
// to the widget's API address (data-upload-api) with a progress bar each, sending the page's CSRF token as the
// X-CSRF-Token header; then the page's file list (data-files-box, an element id) is refreshed as the server now
// renders it. Without script, or without an API address, the form posts as a plain multipart form.
(function () {
  "use strict";

  function errorOf(xhr, fallback) {
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.error) { return body.error; }
    } catch (e) { /* not JSON: the fallback */ }
    return fallback;
  }

  function row(list, file) {
    var li = document.createElement("li"), name = document.createElement("span");
    var bar = document.createElement("progress"), state = document.createElement("span");
    li.className = "upload-file";
    li.style.margin = ".3rem 0";
    li.style.overflowWrap = "anywhere";
    name.className = "upload-name";
    name.textContent = file.name + " ";
    bar.max = 100;
    bar.value = 0;
    bar.style.maxWidth = "100%";
    bar.setAttribute("aria-label", file.name);
    state.className = "upload-state hint";
    li.appendChild(name);
    li.appendChild(bar);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(state);
    list.appendChild(li);
    return li;
  }

  function upload(form, file, li, done) {
    var bar = li.querySelector("progress"), state = li.querySelector(".upload-state");
    function fail(msg) {
      state.textContent = msg;
      state.className = "upload-state err";
      li.classList.add("failed");
      done(false);
    }
    if (file.size > Number(form.getAttribute("data-max-bytes") || Infinity)) {
      fail(form.getAttribute("data-msg-too-big"));
      return;
    }
    var xhr = new XMLHttpRequest(), data = new FormData();
    data.append("file", file, file.name);
    xhr.open("POST", form.getAttribute("data-upload-api"));
    xhr.setRequestHeader("X-CSRF-Token", form.querySelector("input[name=csrf_token]").value);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
    });
    xhr.addEventListener("load", function () {
      if (xhr.status >= 200 && xhr.status < 300) {
        bar.value = 100;
        state.textContent = form.getAttribute("data-msg-saved");
        li.classList.add("saved");
        done(true);
      } else {
        fail(errorOf(xhr, form.getAttribute("data-msg-failed")));
      }
    });
    xhr.addEventListener("error", function () { fail(form.getAttribute("data-msg-failed")); });
    xhr.send(data);
  }

  // The file list as the server renders it now (its remove forms included); the whole page if that fails.
  function refresh(form, then) {
    var box = document.getElementById(form.getAttribute("data-files-box") || "");
    if (!box) { then(); return; }
    var xhr = new XMLHttpRequest();
    xhr.open("GET", window.location.pathname);
    xhr.responseType = "document";
    xhr.addEventListener("load", function () {
      var fresh = xhr.status === 200 && xhr.response ? xhr.response.getElementById(box.id) : null;
      if (fresh) { box.innerHTML = fresh.innerHTML; then(); } else { window.location.reload(); }
    });
    xhr.addEventListener("error", function () { window.location.reload(); });
    xhr.send();
  }

  function start(form, e) {
    var input = form.querySelector("input[type=file]"), list = form.querySelector(".upload-progress");
    var button = form.querySelector("button[type=submit], button");
    if (!input || !list || !input.files || !input.files.length) { return; }
    e.preventDefault();
    var files = Array.prototype.slice.call(input.files), i = 0, saved = 0;
    var old = form.querySelector(".err[role=alert]");
    if (old) { old.parentNode.removeChild(old); }
    list.innerHTML = "";
    list.hidden = false;
    var rows = files.map(function (f) { return row(list, f); });
    if (button) { button.disabled = true; }
    form.setAttribute("aria-busy", "true");
    function next() {
      if (i < files.length) {
        var k = i++;
        upload(form, files[k], rows[k], function (ok) { saved += ok ? 1 : 0; next(); });
        return;
      }
      var finish = function () {
        input.value = "";
        if (button) { button.disabled = false; }
        form.removeAttribute("aria-busy");
        form.setAttribute("data-uploaded", String(saved));
      };
      if (saved) { refresh(form, finish); } else { finish(); }
    }
    next();
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.classList || !form.classList.contains("upload-widget") || !form.getAttribute("data-upload-api")) {
      return;
    }
    if (!window.FormData || !window.XMLHttpRequest || e.defaultPrevented) { return; }
    start(form, e);
  });
})();
