// marketseal-v1 in the browser (../shared/marketseal-v1.md, "Sealing a quote"): seals a quote on the
// bidder's machine with WebCrypto (X25519, HKDF-SHA-256, AES-256-GCM) and Shamir over GF(2^8) (0x11B),
// after checking every holder's register statement (Ed25519). No dependencies, no CDN; needs a secure
// context (HTTPS or localhost). Same envelope, byte for byte, as marketplace/domain/sealing for the same
// randomness, which tests may inject. Exposes globalThis.MarketSeal.
(function (global) {
  "use strict";

  var subtle = global.crypto && global.crypto.subtle;
  var enc = new TextEncoder();
  var PRICE = /^(0|[1-9][0-9]*)\.[0-9]{2}$/;
  var NONCE = /^[0-9a-f]{32}$/;
  var HEX = /^(?:[0-9a-f]{2})*$/;
  var ID = /^[a-z0-9-]{1,32}$/;
  var REGISTER_KEYS = ["deadline", "holder", "job_id", "kind", "platform", "public_key", "v"];
  // PKCS#8 wrapping of a raw X25519 private key (WebCrypto imports private keys only as pkcs8 or jwk).
  var PKCS8_X25519 = hex("302e020100300506032b656e04220420");
  var BASE_POINT = new Uint8Array(32); BASE_POINT[0] = 9;

  // -- encodings ---------------------------------------------------------------------------------
  function hex(text) {
    if (typeof text !== "string" || !HEX.test(text)) { throw new Error("not lowercase hex: " + text); }
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) { out[i] = parseInt(text.substr(2 * i, 2), 16); }
    return out;
  }
  function toHex(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) { s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16); }
    return s;
  }
  function concat() {
    var total = 0, i;
    for (i = 0; i < arguments.length; i++) { total += arguments[i].length; }
    var out = new Uint8Array(total), at = 0;
    for (i = 0; i < arguments.length; i++) { out.set(arguments[i], at); at += arguments[i].length; }
    return out;
  }
  function codePointCompare(a, b) {  // Python's str order (code points), not UTF-16 units
    var ia = 0, ib = 0;
    while (ia < a.length && ib < b.length) {
      var ca = a.codePointAt(ia), cb = b.codePointAt(ib);
      if (ca !== cb) { return ca < cb ? -1 : 1; }
      ia += ca > 0xffff ? 2 : 1; ib += cb > 0xffff ? 2 : 1;
    }
    return (a.length - ia) - (b.length - ib);
  }
  // canonical(x): keys sorted, separators , and :, no ASCII escaping, integers only (DESIGN).
  function canonicalText(value) {
    if (value === null || typeof value === "boolean") { return JSON.stringify(value); }
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) { throw new Error("canonical JSON has integers only"); }
      return JSON.stringify(value);
    }
    if (typeof value === "string") {
      if (/[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/.test(value)) {
        throw new Error("text is not encodable as UTF-8");
      }
      return JSON.stringify(value);
    }
    if (Array.isArray(value)) { return "[" + value.map(canonicalText).join(",") + "]"; }
    if (typeof value === "object") {
      return "{" + Object.keys(value).sort(codePointCompare).map(function (k) {
        return canonicalText(k) + ":" + canonicalText(value[k]);
      }).join(",") + "}";
    }
    throw new Error("not JSON: " + typeof value);
  }
  function canonical(value) { return enc.encode(canonicalText(value)); }

  async function sha256Hex(bytes) { return toHex(new Uint8Array(await subtle.digest("SHA-256", bytes))); }

  // -- GF(2^8) and Shamir (step 3) ------------------------------------------------------------------
  var EXP = new Uint8Array(510), LOG = new Uint8Array(256);
  (function () {
    var v = 1;
    for (var p = 0; p < 255; p++) {
      EXP[p] = v; LOG[v] = p;
      var t = v << 1; if (t & 0x100) { t ^= 0x11b; }  // v * 2
      v = t ^ v;                                      // v * 3
    }
    for (p = 255; p < 510; p++) { EXP[p] = EXP[p - 255]; }
  })();
  function gfMul(a, b) { return a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]]; }

  // share j (element j-1) = f_0(j) ... f_{L-1}(j), f_t(x) = secret[t] + coefficients[0][t] x + ...
  function splitSecret(secret, k, n, coefficients) {
    checkThreshold(k, n);
    if (coefficients.length !== k - 1) { throw new Error("need k-1 coefficient strings"); }
    var poly = [secret].concat(coefficients), shares = [];
    for (var x = 1; x <= n; x++) {
      var out = new Uint8Array(poly[poly.length - 1]);
      for (var i = poly.length - 2; i >= 0; i--) {
        for (var t = 0; t < out.length; t++) { out[t] = gfMul(out[t], x) ^ poly[i][t]; }
      }
      shares.push(out);
    }
    return shares;
  }
  function checkThreshold(k, n) {
    if (!Number.isInteger(k) || !Number.isInteger(n) || !(2 <= k && k <= n && n <= 16)) {
      throw new Error("threshold must satisfy 2 <= k <= n <= 16");
    }
  }

  // -- WebCrypto primitives -------------------------------------------------------------------------
  async function x25519(privateRaw, publicRaw) {
    var sk = await subtle.importKey("pkcs8", concat(PKCS8_X25519, privateRaw), { name: "X25519" }, false,
                                    ["deriveBits"]);
    var pk = await subtle.importKey("raw", publicRaw, { name: "X25519" }, false, []);
    var z = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: pk }, sk, 256));
    if (z.every(function (b) { return b === 0; })) { throw new Error("all-zero X25519 shared secret"); }
    return z;
  }
  async function hkdf(ikm, salt, info) {
    var key = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
    return new Uint8Array(await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: salt, info: info }, key, 256));
  }
  async function aesGcm(keyRaw, iv, plaintext, aad) {
    var key = await subtle.importKey("raw", keyRaw, { name: "AES-GCM" }, false, ["encrypt"]);
    return new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv: iv, additionalData: aad, tagLength: 128 },
                                               key, plaintext));
  }
  async function verifyStatement(signingKeyHex, statement, signatureHex) {
    try {
      var key = await subtle.importKey("raw", hex(signingKeyHex), { name: "Ed25519" }, false, ["verify"]);
      return await subtle.verify({ name: "Ed25519" }, key, hex(signatureHex), canonical(statement));
    } catch (e) {
      return false;
    }
  }

  // -- the notice ("On the notice"): refuse to seal unless every statement verifies -----------------
  function keysAre(obj, keys) {
    return !!obj && typeof obj === "object" && !Array.isArray(obj) && Object.keys(obj).sort().join() === keys;
  }
  async function noticeProblem(sealing, jobId, deadline) {
    if (!keysAre(sealing, "holders,platform,protocol,threshold")) {
      return "sealing is not {protocol, platform, threshold, holders}";
    }
    if (sealing.protocol !== "marketseal-v1") { return "protocol is not marketseal-v1"; }
    if (!ID.test(sealing.platform)) { return "platform differs"; }
    var holders = sealing.holders;
    var holderKeys = "id,signature,signing_key,statement";
    if (!Array.isArray(holders) || !holders.every(function (h) { return keysAre(h, holderKeys); })) {
      return "holders are not {id, signing_key, statement, signature}";
    }
    var k = sealing.threshold;
    if (!Number.isInteger(k) || !(2 <= k && k <= holders.length && holders.length <= 16)) {
      return "threshold is not 2 <= k <= n <= 16";
    }
    for (var i = 0; i < holders.length; i++) {
      var h = holders[i];
      if (!ID.test(h.id) || (i > 0 && !(codePointCompare(holders[i - 1].id, h.id) < 0))) {
        return "holders are not sorted by distinct id";
      }
      var st = h.statement;
      if (!keysAre(st, REGISTER_KEYS.join()) || st.v !== 1 || st.kind !== "register" ||
          !/^[0-9a-f]{64}$/.test(st.public_key)) {
        return "statement of " + h.id + " is not a register statement";
      }
      if (st.holder !== h.id) { return "statement of " + h.id + " names another holder"; }
      if (st.platform !== sealing.platform || st.job_id !== jobId || st.deadline !== deadline) {
        return "statement of " + h.id + " is for another platform, job or deadline";
      }
      if (!(await verifyStatement(h.signing_key, st, h.signature))) {
        return "signature of " + h.id + " does not verify";
      }
    }
    return null;
  }

  // -- step 1: the quote's forms --------------------------------------------------------------------
  function quoteProblem(q) {
    if (typeof q.price !== "string" || !PRICE.test(q.price)) {
      return "price is not of the form (0|[1-9][0-9]*).[0-9]{2}";
    }
    if (!Number.isInteger(q.service_days) || q.service_days < 0 || q.service_days > 36500) {
      return "service_days is not an integer 0..36500";
    }
    if (typeof q.note !== "string") { return "note is not a string"; }
    if (typeof q.nonce !== "string" || !NONCE.test(q.nonce)) { return "nonce is not 32 lowercase hex characters"; }
    return null;
  }

  function randomBytes(n) { return global.crypto.getRandomValues(new Uint8Array(n)); }

  // randomness (hex strings, for tests only): {K, iv, nonce, coefficients: [k-1], ephemerals: [n]}
  function takeRandomness(given, k, n) {
    if (!given) {
      var coefficients = [], ephemerals = [];
      for (var i = 0; i < k - 1; i++) { coefficients.push(randomBytes(32)); }
      for (i = 0; i < n; i++) { ephemerals.push(randomBytes(32)); }
      return { K: randomBytes(32), iv: randomBytes(12), nonce: randomBytes(16), coefficients: coefficients,
               ephemerals: ephemerals };
    }
    var r = { K: hex(given.K), iv: hex(given.iv), nonce: hex(given.nonce),
              coefficients: given.coefficients.map(hex), ephemerals: given.ephemerals.map(hex) };
    if (r.K.length !== 32 || r.iv.length !== 12 || r.nonce.length !== 16 || r.ephemerals.length !== n ||
        r.coefficients.some(function (c) { return c.length !== 32; }) ||
        r.ephemerals.some(function (e) { return e.length !== 32; })) {
      throw new Error("randomness of the wrong sizes");
    }
    return r;
  }

  // Steps 1-5. opts: {sealing, jobId, deadline, agencyCode, price, serviceDays, note, randomness?}.
  // Resolves to {envelope, envelopeDigest, plaintext (text), holders (ids)}; rejects with the reason.
  async function sealQuote(opts) {
    var sealing = opts.sealing;
    var problem = await noticeProblem(sealing, opts.jobId, opts.deadline);
    if (problem) { throw new Error("refusing to seal: " + problem); }
    var holders = sealing.holders, n = holders.length, k = sealing.threshold;
    checkThreshold(k, n);
    var rnd = takeRandomness(opts.randomness, k, n);
    var quote = { price: opts.price, service_days: opts.serviceDays, note: opts.note, nonce: toHex(rnd.nonce) };
    problem = quoteProblem(quote);
    if (problem) { throw new Error(problem); }
    var plaintext = canonical(quote);
    var J = opts.jobId, A = opts.agencyCode;
    var content = await aesGcm(rnd.K, rnd.iv, plaintext, canonical({ job_id: J, agency_code: A }));
    var shares = splitSecret(rnd.K, k, n, rnd.coefficients);
    var entries = [];
    for (var j = 1; j <= n; j++) {
      var h = holders[j - 1], pk = hex(h.statement.public_key), e = rnd.ephemerals[j - 1];
      var E = await x25519(e, BASE_POINT);
      var Z = await x25519(e, pk);
      var key = await hkdf(Z, concat(E, pk), concat(enc.encode("marketseal-v1 share "), enc.encode(J)));
      var ct = await aesGcm(key, new Uint8Array(12), shares[j - 1],
                            canonical({ job_id: J, agency_code: A, holder: h.id, x: j }));
      entries.push({ holder: h.id, ephemeral: toHex(E), share: toHex(ct) });
    }
    if (new Set(entries.map(function (s) { return s.ephemeral; })).size !== n) {
      throw new Error("an ephemeral key was reused");
    }
    var digest = await sha256Hex(concat.apply(null, [enc.encode("marketseal-v1 shares")].concat(shares)));
    var envelope = { v: 1, job_id: J, agency_code: A, iv: toHex(rnd.iv), content: toHex(content),
                     shares_digest: digest, shares: entries };
    return { envelope: envelope, envelopeDigest: await sha256Hex(canonical(envelope)),
             plaintext: new TextDecoder().decode(plaintext), holders: holders.map(function (x) { return x.id; }) };
  }

  // "Sealed receipt": the bidder recomputes it from its envelope digest.
  function sealedReceipt(jobId, quoteId, agencyCode, envelopeDigest, submittedAt) {
    return sha256Hex(canonical({ job_id: jobId, quote_id: quoteId, agency_code: agencyCode,
                                 envelope_digest: envelopeDigest, submitted_at: submittedAt }));
  }

  global.MarketSeal = {
    sealQuote: sealQuote, noticeProblem: noticeProblem, verifyStatement: verifyStatement,
    sealedReceipt: sealedReceipt, canonicalText: canonicalText, quoteProblem: quoteProblem,
    envelopeDigest: function (envelope) { return sha256Hex(canonical(envelope)); },
    splitSecret: function (secretHex, k, n, coefficientsHex) {
      return splitSecret(hex(secretHex), k, n, coefficientsHex.map(hex)).map(toHex);
    },
    gfMul: gfMul
  };
})(globalThis);
