/*
 * Omni scan queue: scans at scanner speed, each counted exactly once, in order.
 *
 * A keyboard-wedge scanner types a code and Enter within ~30 ms and may scan again 100 ms later,
 * while the previous scan is still on its way to the server. This script owns a scan box so that
 * nothing typed is lost, merged or split. No build step: include it with a plain <script defer>.
 *
 * Markup (any staff page: picking, receiving, packing, counting):
 *
 *   <form data-scan-queue
 *         data-endpoint="/staff/picking/12/scan/?at=DC1"   where each scan is POSTed
 *         data-target="#pick-task"                          what the answer replaces
 *         data-queue-key="pick-12-u5">                      optional: the queue's name in
 *                                                           localStorage (default: endpoint)
 *     <input type="hidden" name="csrfmiddlewaretoken" value="...">
 *     <input name="code" data-scan>                         the box the scanner types into
 *     <input name="quantity" value="1" data-scan-reset>     optional: more fields, sent with
 *                                                           each scan; data-scan-reset puts
 *                                                           the field back to its default
 *     <span data-scan-pending></span>                       optional: "2 scans to send" shows here
 *   </form>
 *
 * On Enter (the form's submit) the box's value is taken and the box emptied at once, before
 * anything else runs; a blank code is ignored. The scan becomes an entry {id, code, fields},
 * its id a fresh UUID made in the browser, and joins a queue kept in localStorage, so a reload,
 * a lost connection or a new login resumes it. One entry is sent at a time, in order, as form
 * data: `scan_id`, `code` and the form's other named fields as they were at Enter, with the
 * headers `HX-Request: true` and `X-CSRFToken` (the token is read from the form when sent).
 *
 * What the server promises:
 *  - `scan_id` is idempotent: the same id again answers the stored outcome and changes nothing,
 *    so a retry after a lost answer counts once;
 *  - a 2xx or 4xx answer is an HTML fragment that replaces data-target (its root replaces the
 *    target when it has the target's id, else it fills the target); elements of the fragment
 *    marked hx-swap-oob="true" replace the element of the same id elsewhere on the page. The
 *    scan is done (counted, or refused with a sentence saying what to do) and leaves the queue;
 *  - a 5xx answer or a network error: the same entry, same id, is sent again after a pause
 *    (1 s, 2 s, 4 s … at most 15 s); nothing behind it overtakes it;
 *  - `HX-Redirect` (a session that ran out): the queue stays and the page goes there (the
 *    login); back on the page after logging in, the queue resumes;
 *  - `HX-Retarget` (the page guard's 403/404): the answer goes there and the queue is emptied,
 *    since every scan behind it would be refused the same way.
 *
 * The box itself is never replaced, so the scanner types the next code while the previous one
 * is in flight. After a swap htmx processes the new fragment (its forms may carry hx-*
 * attributes); if nothing has the focus, [data-focus] (the page's next step) or the box gets
 * it; and the form dispatches "scan:answered" with detail {entry, status}.
 */
(function () {
  "use strict";

  var RETRY_MS = [1000, 2000, 4000, 8000, 15000];
  var TIMEOUT_MS = 20000; // a request hanging longer is retried (same id)

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context (https or localhost); a handheld on the shop's
    // network over plain http still has getRandomValues.
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); });
    return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") + "-" + h.slice(6, 8).join("") +
      "-" + h.slice(8, 10).join("") + "-" + h.slice(10).join("");
  }

  /* The queue in localStorage (in memory when the browser refuses storage). */
  function Store(key) {
    this.key = "omni-scans:" + key;
    this.memory = [];
  }
  Store.prototype.load = function () {
    try {
      var raw = window.localStorage.getItem(this.key);
      return raw ? JSON.parse(raw) : [];
    } catch (e) {
      return this.memory.slice();
    }
  };
  Store.prototype.save = function (entries) {
    this.memory = entries.slice();
    try {
      if (entries.length) {
        window.localStorage.setItem(this.key, JSON.stringify(entries));
      } else {
        window.localStorage.removeItem(this.key);
      }
    } catch (e) { /* private mode or full: the memory copy carries on */ }
  };

  function parse(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    return tpl.content;
  }

  function processHtmx(el) {
    if (window.htmx && el) { window.htmx.process(el); }
  }

  /* Put `html` in place of `selector` (outerHTML when its root carries the target's id). */
  function swap(selector, html, how) {
    var target = document.querySelector(selector);
    var fragment = parse(html);
    fragment.querySelectorAll("[hx-swap-oob]").forEach(function (oob) {
      oob.removeAttribute("hx-swap-oob");
      var old = oob.id && document.getElementById(oob.id);
      if (old) { old.replaceWith(oob); processHtmx(oob); } else { oob.remove(); }
    });
    if (!target) { return; }
    var root = fragment.firstElementChild;
    if (how !== "innerHTML" && root && fragment.children.length === 1 && target.id && root.id === target.id) {
      target.replaceWith(root);
      processHtmx(root);
    } else {
      target.replaceChildren(fragment);
      processHtmx(target);
    }
  }

  function ScanQueue(form) {
    this.form = form;
    this.box = form.querySelector("[data-scan]");
    this.endpoint = form.dataset.endpoint || form.getAttribute("action");
    this.target = form.dataset.target;
    this.store = new Store(form.dataset.queueKey || this.endpoint);
    this.pending = form.querySelector("[data-scan-pending]") ||
      document.querySelector("[data-scan-pending]");
    this.sending = false;
    this.failures = 0;
    form.addEventListener("submit", this.onSubmit.bind(this));
    window.addEventListener("online", this.pump.bind(this));
    // A tab left on the page picks up what another tab (or the last visit) left behind.
    window.addEventListener("storage", function (event) {
      if (event.key === this.store.key) { this.pump(); }
    }.bind(this));
    this.pump();
  }

  ScanQueue.prototype.onSubmit = function (event) {
    event.preventDefault();
    var code = this.box.value;
    this.box.value = ""; // first thing: the scanner's next characters land in an empty box
    code = code.trim();
    if (!code) { return; }
    var fields = {};
    Array.prototype.forEach.call(this.form.elements, function (el) {
      if (!el.name || el === this.box || el.name === "csrfmiddlewaretoken" || el.disabled) { return; }
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) { return; }
      fields[el.name] = el.value;
      if (el.hasAttribute("data-scan-reset")) { el.value = el.defaultValue; }
    }, this);
    var entries = this.store.load();
    entries.push({ id: uuid(), code: code, fields: fields, at: Date.now() });
    this.store.save(entries);
    this.pump();
  };

  ScanQueue.prototype.showPending = function (count, offline) {
    if (!this.pending) { return; }
    var text = "";
    if (count > 0) {
      var words = this.pending.dataset;
      text = (offline ? words.offline || "" : words.sending || "").replace("{n}", String(count));
    }
    this.pending.textContent = text;
    this.pending.classList.toggle("offline", Boolean(offline && count));
    this.form.dataset.scansWaiting = String(count);
  };

  ScanQueue.prototype.forget = function (id) {
    this.store.save(this.store.load().filter(function (e) { return e.id !== id; }));
  };

  ScanQueue.prototype.pump = function () {
    if (this.sending) { return; }
    var entries = this.store.load();
    this.showPending(entries.length, this.failures > 0);
    if (!entries.length) { return; }
    this.sending = true;
    this.send(entries[0]);
  };

  ScanQueue.prototype.send = function (entry) {
    var self = this;
    var body = new FormData();
    body.append("scan_id", entry.id);
    body.append("code", entry.code);
    Object.keys(entry.fields || {}).forEach(function (name) { body.append(name, entry.fields[name]); });
    var token = this.form.querySelector("[name=csrfmiddlewaretoken]");
    var headers = { "HX-Request": "true", "HX-Current-URL": window.location.href };
    if (token) {
      body.append("csrfmiddlewaretoken", token.value);
      headers["X-CSRFToken"] = token.value;
    }
    var abort = typeof AbortController === "function" ? new AbortController() : null;
    var timer = abort ? window.setTimeout(function () { abort.abort(); }, TIMEOUT_MS) : null;
    fetch(this.endpoint, {
      method: "POST", body: body, headers: headers, credentials: "same-origin",
      signal: abort ? abort.signal : undefined,
    }).then(function (response) {
      window.clearTimeout(timer);
      if (response.status >= 500) { throw new Error("server " + response.status); }
      return response.text().then(function (html) { self.answered(entry, response, html); });
    }).catch(function () {
      window.clearTimeout(timer);
      self.retry();
    });
  };

  ScanQueue.prototype.answered = function (entry, response, html) {
    this.failures = 0;
    this.sending = false;
    var redirect = response.headers.get("HX-Redirect");
    if (redirect) { // logged out: keep the queue, it resumes after the login
      window.location.href = redirect;
      return;
    }
    var retarget = response.headers.get("HX-Retarget");
    if (retarget) {
      this.store.save([]);
      this.showPending(0, false);
      swap(retarget, html, response.headers.get("HX-Reswap") || "innerHTML");
      return;
    }
    this.forget(entry.id);
    swap(this.target, html, "outerHTML");
    // The cursor goes back where the page asks for input ([data-focus], e.g. the next step
    // once the list is done) or to the box, unless the user is in another field.
    var active = document.activeElement;
    if (!active || active === document.body || !active.isConnected) {
      var next = document.querySelector("[data-focus]") || (this.box.isConnected ? this.box : null);
      if (next) { next.focus(); }
    }
    this.form.dispatchEvent(new CustomEvent("scan:answered", {
      bubbles: true, detail: { entry: entry, status: response.status },
    }));
    this.pump();
  };

  ScanQueue.prototype.retry = function () {
    var wait = RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)];
    this.failures += 1;
    this.showPending(this.store.load().length, true);
    window.setTimeout(function () {
      this.sending = false;
      this.pump();
    }.bind(this), wait);
  };

  function start() {
    document.querySelectorAll("form[data-scan-queue]").forEach(function (form) {
      if (!form.scanQueue) { form.scanQueue = new ScanQueue(form); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  window.OmniScanQueue = { start: start };
})();
