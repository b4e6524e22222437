// The quote form of a sealed job (marketseal-v1): checks the price rules in the page, verifies the notice's
// holder statements and seals the quote with MarketSeal (app/static/marketseal.js) in the browser, puts the
// canonical envelope JSON into the hidden `envelope` field, clears the plain inputs' names (so the price,
// service days and note never leave the browser) and submits. The sealing section, the job id, the holders'
// deadline, the agency code and the cap come from the form's data attributes.
(function () {
  "use strict";
  var form = document.getElementById("quote-form");
  if (!form || !form.dataset.sealing) { return; }
  var errorBox = document.getElementById("seal-error");
  var PRICE = /^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$/;

  function fail(text) {
    errorBox.textContent = text;
    errorBox.hidden = false;
    var button = form.querySelector("button");
    if (button) { button.disabled = false; }
  }

  // "85000" or "85000.5" -> "85000.50"; null when not a price of at most 2 decimals.
  function normalPrice(raw) {
    var text = raw.trim().replace(/^0+(?=\d)/, "");
    if (!PRICE.test(text)) { return null; }
    var parts = text.split(".");
    return parts[0] + "." + ((parts[1] || "") + "00").slice(0, 2);
  }
  function cents(price) { var p = price.split("."); return Number(p[0]) * 100 + Number(p[1]); }

  form.addEventListener("submit", function (event) {
    if (form.dataset.sealed === "1") { return; }  // the sealed form, submitted below
    event.preventDefault();
    errorBox.hidden = true;
    var priceInput = form.elements.namedItem("price");
    var daysInput = form.elements.namedItem("service_days");
    var noteInput = form.elements.namedItem("note");
    var price = normalPrice(priceInput.value);
    var cap = form.dataset.budgetCap;
    if (price === null || cents(price) <= 0 || cents(price) > cents(cap)) { return fail(form.dataset.msgPrice); }
    var daysText = daysInput.value.trim();
    var days = Number(daysText);
    if (!/^[0-9]{1,5}$/.test(daysText) || days > 36500) { return fail(form.dataset.msgDays); }
    // The agency's own service commitment: a quote promising more days would be ineligible at the opening.
    if (form.dataset.commitLimit && days > Number(form.dataset.commitLimit)) { return fail(form.dataset.msgCommit); }
    if (!globalThis.MarketSeal || !globalThis.crypto || !globalThis.crypto.subtle) {
      return fail(form.dataset.msgCrypto + " WebCrypto");
    }
    var sealing;
    try { sealing = JSON.parse(form.dataset.sealing); } catch (e) { return fail(form.dataset.msgNotice); }
    var button = form.querySelector("button");
    if (button) { button.disabled = true; button.textContent = form.dataset.msgSealing; }
    var opts = { sealing: sealing, jobId: form.dataset.jobId, deadline: form.dataset.deadline,
                 agencyCode: form.dataset.agencyCode, price: price, serviceDays: days, note: noteInput.value };
    MarketSeal.noticeProblem(sealing, opts.jobId, opts.deadline).then(function (problem) {
      if (problem) { throw { notice: problem }; }
      return MarketSeal.sealQuote(opts);
    }).then(function (sealed) {
      form.elements.namedItem("envelope").value = MarketSeal.canonicalText(sealed.envelope);
      // The plain inputs keep what the bidder typed on screen but are no longer sent.
      [priceInput, daysInput, noteInput].forEach(function (input) { input.removeAttribute("name"); });
      form.dataset.sealed = "1";
      form.submit();
    }).catch(function (e) {
      if (e && e.notice) { return fail(form.dataset.msgNotice + " " + e.notice); }
      fail(form.dataset.msgCrypto + " " + (e && e.message ? e.message : String(e)));
    });
  });
})();
