/*
 * Omni counter coupons: check a coupon's signature in the browser with the public key alone,
 * then redeem it online; while the store is offline, accept it within the store's allowance
 * and queue it, uploading on reconnect. No build step: include it with a plain <script defer>.
 *
 * The code (loyalty/codes.py) is "OC1" + base32 (RFC 4648, upper case, no padding) of
 *   'C' | coupon id (u64) | campaign id (u32) | member id (u32) | expires (u32, unix s)
 *   | n stores (u8) | n x store id (u32) | Ed25519 signature (64)
 * with one spelling only: the text must re-encode to itself, the stores be sorted and distinct,
 * nothing follow them, and the signature's S be below the group order L. The signature is
 * checked with WebCrypto's Ed25519 (crypto.subtle.verify({name: "Ed25519"}, ...)).
 *
 * Markup: <form data-coupon-form data-public-key="base64 of the 32 raw bytes"
 *   data-store="location id" data-store-code="S01" data-redeem="url" data-sync="url"
 *   data-allowance-count="20" data-allowance-amount="500.00"> with inputs code, card,
 *   items ("SKU quantity price" lines), sale_reference and the CSRF token; a <script type="application/json"
 *   id="coupon-campaigns"> of {campaign id: {kind, percent_off, amount_off, min_spend, skus,
 *   categories}} for the
 *   discount offline; [data-coupon-result] where the answer goes; [data-coupon-queue] (how many
 *   wait to upload) and [data-coupon-discrepancies] (a list). The page's sentences, in its
 *   language, are data-say-* attributes of the form (data-say-forged, data-say-offline, ...).
 *
 * The server's answers are JSON {ok, outcome, message, code, discount}: "redeemed", "refused",
 * or for an upload "accepted" / "discrepancy" (a person decides; never silently accepted twice).
 */
(function () {
  "use strict";

  var PREFIX = "OC1";
  var MAX_LENGTH = 400;
  var HEAD = 22; // 1 + 8 + 4 + 4 + 4 + 1
  var SIGNATURE = 64;
  var L = (1n << 252n) + 27742317777372353535851937790883648493n;
  var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  var RETRY_MS = 5000;

  function b32encode(bytes) {
    var out = "", bits = 0, value = 0;
    for (var i = 0; i < bytes.length; i++) {
      value = (value << 8) | bytes[i];
      bits += 8;
      while (bits >= 5) {
        out += ALPHABET[(value >>> (bits - 5)) & 31];
        bits -= 5;
      }
    }
    if (bits > 0) { out += ALPHABET[(value << (5 - bits)) & 31]; }
    return out;
  }

  function b32decode(text) {
    if (!/^[A-Z2-7]+$/.test(text)) { return null; }
    var out = [], bits = 0, value = 0;
    for (var i = 0; i < text.length; i++) {
      value = ((value << 5) | ALPHABET.indexOf(text[i])) & 0xffff;
      bits += 5;
      if (bits >= 8) {
        out.push((value >>> (bits - 8)) & 255);
        bits -= 8;
      }
    }
    var bytes = new Uint8Array(out);
    // One spelling: whatever decodes must encode back to the very same text (no stray bits,
    // no character too many).
    return b32encode(bytes) === text ? bytes : null;
  }

  function fromBase64(text) {
    var raw = atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function refused(reason, payload) { return { ok: false, reason: reason, payload: payload || null }; }

  /* What the code claims, or a refusal ("malformed", "not_canonical"). */
  function parse(text) {
    if (typeof text !== "string" || text.length > MAX_LENGTH || text.indexOf(PREFIX) !== 0) {
      return refused("malformed");
    }
    var raw = b32decode(text.slice(PREFIX.length));
    if (raw === null) { return refused("not_canonical"); }
    if (raw.length <= SIGNATURE) { return refused("malformed"); }
    var data = raw.slice(0, raw.length - SIGNATURE);
    var signature = raw.slice(raw.length - SIGNATURE);
    if (data.length < HEAD) { return refused("malformed"); }
    var view = new DataView(data.buffer);
    var count = view.getUint8(21);
    if (view.getUint8(0) !== 0x43 || count > 16) { return refused("malformed"); }
    if (data.length !== HEAD + 4 * count) { return refused("not_canonical"); }
    var stores = [];
    for (var i = 0; i < count; i++) { stores.push(view.getUint32(HEAD + 4 * i)); }
    var payload = {
      coupon: view.getBigUint64(1).toString(),
      campaign: view.getUint32(9),
      member: view.getUint32(13),
      expires: view.getUint32(17),
      stores: stores,
    };
    for (var j = 1; j < stores.length; j++) {
      if (stores[j] <= stores[j - 1]) { return refused("not_canonical", payload); }
    }
    return { ok: true, payload: payload, data: data, signature: signature };
  }

  function scalarIsReduced(signature) {
    var s = 0n;
    for (var i = SIGNATURE - 1; i >= 32; i--) { s = (s << 8n) | BigInt(signature[i]); }
    return s < L;
  }

  /* Resolves to {ok: true, payload} or {ok: false, reason, payload}. */
  function verifyCoupon(text, options) {
    var parsed = parse(text);
    if (!parsed.ok) { return Promise.resolve(parsed); }
    var payload = parsed.payload;
    if (!scalarIsReduced(parsed.signature)) { return Promise.resolve(refused("not_canonical", payload)); }
    if (!window.crypto || !window.crypto.subtle) {
      return Promise.resolve(refused("no_crypto", payload));
    }
    return window.crypto.subtle.importKey(
      "raw", options.publicKey, { name: "Ed25519" }, false, ["verify"]
    ).then(function (key) {
      return window.crypto.subtle.verify({ name: "Ed25519" }, key, parsed.signature, parsed.data);
    }).then(function (genuine) {
      if (!genuine) { return refused("forged", payload); }
      if (options.now > payload.expires) { return refused("expired", payload); }
      if (payload.stores.length && payload.stores.indexOf(options.store) < 0) {
        return refused("wrong_store", payload);
      }
      if (options.used.indexOf(payload.coupon) >= 0) { return refused("replayed", payload); }
      return { ok: true, payload: payload };
    }, function () {
      return refused("no_crypto", payload);
    });
  }

  /* ------------------------------------------------------------------ the till's memory */

  function Memory(store) { this.prefix = "omni-coupons:" + store + ":"; }
  Memory.prototype.get = function (name, fallback) {
    try {
      var raw = window.localStorage.getItem(this.prefix + name);
      return raw ? JSON.parse(raw) : fallback;
    } catch (e) { return fallback; }
  };
  Memory.prototype.set = function (name, value) {
    try { window.localStorage.setItem(this.prefix + name, JSON.stringify(value)); } catch (e) { /* full */ }
  };

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
  }

  function today() { return new Date().toISOString().slice(0, 10); }

  function money(value) { return (Math.round(value * 100) / 100).toFixed(2); }

  /* The sale's items from "SKU quantity price" lines; null when a line has no price (the
   * page cannot look prices up while offline). */
  function parseItems(text) {
    var lines = [];
    var rows = (text || "").split(/\n/);
    for (var i = 0; i < rows.length; i++) {
      var words = rows[i].trim().split(/\s+/).filter(Boolean);
      if (!words.length) { continue; }
      var quantity = words.length > 1 ? Number(words[1]) : 1;
      var price = words.length > 2 ? Number(words[2]) : NaN;
      if (!(quantity >= 1) || !(price >= 0)) { return null; }
      lines.push({ sku: words[0], quantity: quantity, price: price });
    }
    return lines.length ? lines : null;
  }

  function covers(rule, sku) {
    if (!rule.skus.length && !rule.categories.length) { return true; }
    return rule.skus.indexOf(sku) >= 0 || rule.categories.some(function (c) { return sku.indexOf(c) === 0; });
  }

  /* The discount of a campaign's rule on the items, in cents, as loyalty/rules.py computes it
   * (percent off: each eligible line rounded half-up to the cent; amount off: at most the
   * eligible total), or null when it does not apply or cannot be known offline. */
  function discountOf(rule, lines) {
    if (!rule || !lines) { return null; }
    var eligible = lines.filter(function (ln) { return covers(rule, ln.sku); });
    var cents = eligible.map(function (ln) { return Math.round(ln.quantity * ln.price * 100); });
    var base = cents.reduce(function (a, b) { return a + b; }, 0);
    if (!eligible.length || base < Math.round(Number(rule.min_spend || 0) * 100)) { return null; }
    if (rule.kind === "percent_off") {
      var pct = Number(rule.percent_off);
      return cents.reduce(function (sum, c) { return sum + Math.min(c, Math.round(c * pct / 100)); }, 0) / 100;
    }
    if (rule.kind === "amount_off") { return Math.min(Math.round(Number(rule.amount_off) * 100), base) / 100; }
    return null; // a free item is handed over online only
  }

  /* ------------------------------------------------------------------ the page */

  function CouponPage(form) {
    this.form = form;
    this.say = form.dataset;
    this.store = Number(form.dataset.store);
    this.memory = new Memory(form.dataset.storeCode);
    this.publicKey = fromBase64(form.dataset.publicKey);
    this.result = document.querySelector("[data-coupon-result]");
    this.queueView = document.querySelector("[data-coupon-queue]");
    this.discrepancyList = document.querySelector("[data-coupon-discrepancies]");
    var rules = document.getElementById("coupon-campaigns");
    this.campaigns = rules ? JSON.parse(rules.textContent) : {};
    this.syncing = false;
    form.addEventListener("submit", this.onSubmit.bind(this));
    window.addEventListener("online", this.sync.bind(this));
    this.showQueue();
    this.sync();
  }

  CouponPage.prototype.sentence = function (name, values) {
    var text = this.say["say" + name.replace(/(^|_)([a-z])/g, function (m, s, c) { return c.toUpperCase(); })] || name;
    Object.keys(values || {}).forEach(function (k) { text = text.replace("{" + k + "}", values[k]); });
    return text;
  };

  CouponPage.prototype.show = function (ok, outcome, message, code) {
    if (!this.result) { return; }
    this.result.className = "notice " + (ok ? "ok" : "error");
    this.result.hidden = false;
    this.result.dataset.outcome = outcome;
    this.result.dataset.code = code || "";
    this.result.textContent = message;
    if (outcome === "redeemed" || outcome === "accepted_offline") {
      this.form.reset(); // the next sale starts from empty fields
      this.form.elements.code.focus();
    }
    this.form.dispatchEvent(new CustomEvent("coupon:answered", { bubbles: true, detail: { outcome: outcome } }));
  };

  CouponPage.prototype.field = function (name) {
    var el = this.form.elements[name];
    return el ? el.value.trim() : "";
  };

  CouponPage.prototype.remember = function (coupon) {
    var used = this.memory.get("used", []);
    if (used.indexOf(coupon) < 0) { used.push(coupon); }
    this.memory.set("used", used.slice(-5000));
  };

  CouponPage.prototype.onSubmit = function (event) {
    event.preventDefault();
    var self = this;
    var entry = {
      client_id: uuid(),
      code: this.field("code"),
      card: this.field("card"),
      sale_reference: this.field("sale_reference"),
      items: this.form.elements.items ? this.form.elements.items.value : "",
      accepted_at: new Date().toISOString(),
    };
    if (!entry.code) { return; }
    this.form.elements.code.value = "";
    this.show(true, "checking", this.sentence("checking"));
    verifyCoupon(entry.code, {
      publicKey: this.publicKey,
      now: Math.floor(Date.now() / 1000),
      store: this.store,
      used: this.memory.get("used", []),
    }).then(function (check) {
      if (!check.ok) {
        self.show(false, "refused", self.sentence(check.reason), check.reason);
        return;
      }
      entry.coupon = check.payload.coupon;
      entry.campaign = check.payload.campaign;
      if (!navigator.onLine) { self.acceptOffline(entry); return; }
      self.redeem(entry);
    });
  };

  CouponPage.prototype.post = function (url, entry) {
    var body = new FormData();
    ["client_id", "code", "card", "sale_reference", "items", "accepted_at", "discount"].forEach(function (k) {
      if (entry[k] !== undefined) { body.append(k, entry[k]); }
    });
    var token = this.form.querySelector("[name=csrfmiddlewaretoken]").value;
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": token, "Accept": "application/json" },
    }).then(function (response) {
      if (response.status >= 500) { throw new Error("server " + response.status); }
      return response.json();
    });
  };

  CouponPage.prototype.redeem = function (entry) {
    var self = this;
    this.post(this.form.dataset.redeem, entry).then(function (answer) {
      if (answer.ok) { self.remember(entry.coupon); }
      self.show(answer.ok, answer.outcome, answer.message, answer.code);
    }, function () {
      // The server could not be reached: the network is down even if the browser thinks not.
      self.acceptOffline(entry);
    });
  };

  CouponPage.prototype.acceptOffline = function (entry) {
    var discount = discountOf(this.campaigns[String(entry.campaign)], parseItems(entry.items));
    if (discount === null) {
      this.show(false, "refused", this.sentence("offline_unknown"), "offline_unknown");
      return;
    }
    var day = this.memory.get("day", { date: today(), count: 0, amount: 0 });
    if (day.date !== today()) { day = { date: today(), count: 0, amount: 0 }; }
    var maxCount = Number(this.form.dataset.allowanceCount);
    var maxAmount = Number(this.form.dataset.allowanceAmount);
    if (day.count + 1 > maxCount || Math.round((day.amount + discount) * 100) > Math.round(maxAmount * 100)) {
      this.show(false, "refused", this.sentence("offline_allowance"), "offline_allowance_exceeded");
      return;
    }
    day.count += 1;
    day.amount += discount;
    this.memory.set("day", day);
    entry.discount = money(discount);
    var queue = this.memory.get("queue", []);
    queue.push(entry);
    this.memory.set("queue", queue);
    this.remember(entry.coupon);
    this.showQueue();
    this.show(true, "accepted_offline", this.sentence("offline", { discount: money(discount) }));
  };

  CouponPage.prototype.showQueue = function () {
    var count = this.memory.get("queue", []).length;
    if (this.queueView) {
      this.queueView.textContent = count ? this.sentence("queued", { n: count }) : "";
      this.queueView.dataset.count = String(count);
    }
  };

  CouponPage.prototype.addDiscrepancy = function (entry, message) {
    if (!this.discrepancyList) { return; }
    var item = document.createElement("li");
    item.dataset.clientId = entry.client_id;
    item.textContent = message;
    this.discrepancyList.appendChild(item);
    this.discrepancyList.closest("[hidden]") && this.discrepancyList.closest("[hidden]").removeAttribute("hidden");
  };

  /* Upload what was accepted offline, oldest first, one at a time; an answer removes it. */
  CouponPage.prototype.sync = function () {
    var self = this;
    if (this.syncing) { return; }
    var queue = this.memory.get("queue", []);
    if (!queue.length) { return; }
    this.syncing = true;
    var entry = queue[0];
    this.post(this.form.dataset.sync, entry).then(function (answer) {
      self.memory.set("queue", self.memory.get("queue", []).filter(function (e) { return e.client_id !== entry.client_id; }));
      self.syncing = false;
      if (answer.outcome === "discrepancy") { self.addDiscrepancy(entry, answer.message); }
      self.showQueue();
      self.form.dispatchEvent(new CustomEvent("coupon:synced", { bubbles: true, detail: { outcome: answer.outcome } }));
      self.sync();
    }, function () {
      self.syncing = false;
      window.setTimeout(self.sync.bind(self), RETRY_MS);
    });
  };

  function start() {
    document.querySelectorAll("form[data-coupon-form]").forEach(function (form) {
      if (!form.couponPage) { form.couponPage = new CouponPage(form); }
    });
  }

  window.OmniCoupons = { verifyCoupon: verifyCoupon, parse: parse, b32decode: b32decode, start: start };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
