/* Receiving by scanning: every scan is counted once, in order, at scanner speed.
 *
 * A keyboard-wedge scanner types a code and Enter within ~30 ms and may scan again 100 ms
 * later, while the previous scan is still on its way. So the scan box is never replaced:
 * on Enter its code is taken and the box emptied at once, the scan joins a queue with an id
 * made here, and the queue sends one scan at a time, in order. The server stores each scan
 * id once, so a scan re-sent after a dropped connection is not counted twice. Each answer
 * replaces the lines below the box (the element named by data-scan-queue), nothing else.
 * Scans not yet answered are kept in sessionStorage: after a new login (the session ran out
 * mid-scan) or a reload, this page sends them again, with their ids.
 */
(function () {
  "use strict";
  var form = document.querySelector("form[data-scan-queue]");
  if (!form) { return; }
  var box = form.querySelector("[data-scan]");
  var qty = form.querySelector("input[name=quantity]");
  var status = form.querySelector("[data-scan-status]");
  var lines = document.querySelector(form.getAttribute("data-scan-queue"));
  var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var key = "omni-scans:" + form.action;
  var queue = [];
  var sending = false;
  var seq = 0;

  function keep() {
    try { window.sessionStorage.setItem(key, JSON.stringify(queue)); } catch (e) { /* private mode */ }
  }

  try { queue = JSON.parse(window.sessionStorage.getItem(key) || "[]") || []; } catch (e) { queue = []; }

  function scanId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    seq += 1;
    return Date.now().toString(36) + "-" + seq + "-" + Math.random().toString(36).slice(2, 10);
  }

  function show(text) {
    if (!status) { return; }
    status.textContent = text || "";
    status.hidden = !text;
  }

  function pending() {
    show(queue.length > 1 ? status.getAttribute("data-sending") + " (" + queue.length + ")" : "");
  }

  function send() {
    if (sending || !queue.length) { return; }
    sending = true;
    var scan = queue[0];
    var body = new URLSearchParams();
    body.set("code", scan.code);
    body.set("quantity", scan.quantity);
    body.set("scan_id", scan.id);
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, "HX-Request": "true" },
      body: body
    }).then(function (response) {
      var login = response.headers.get("HX-Redirect");
      if (login) {
        // The session ended: the unanswered scans stay kept; this page sends them after login.
        show(status.getAttribute("data-login"));
        // Back to this page after the login, not to the scan address the answer names.
        var url = new URL(login, window.location.href);
        url.searchParams.set("next", window.location.pathname + window.location.search);
        window.location.href = url.toString();
        throw new Error("logged out");
      }
      if (response.status >= 500) { throw new Error("server " + response.status); }
      return response.text();
    }).then(function (html) {
      queue.shift();
      keep();
      lines.innerHTML = html;
      if (window.htmx) { window.htmx.process(lines); }
      sending = false;
      pending();
      send();
    }).catch(function (error) {
      sending = false;
      if (error && error.message === "logged out") { return; }
      // Same scan, same id: re-sending it cannot count it twice.
      show(status.getAttribute("data-offline"));
      window.setTimeout(send, 1000);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = box.value.trim();
    box.value = "";
    if (!code) {
      if (document.activeElement !== box) { box.focus(); }
      return;
    }
    var quantity = qty ? qty.value.trim() : "";
    if (qty) { qty.value = ""; }
    queue.push({ code: code, quantity: quantity, id: scanId() });
    keep();
    pending();
    if (document.activeElement !== box) { box.focus(); }
    send();
  });

  pending();
  send();
})();
