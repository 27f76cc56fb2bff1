/* Castnotes: progressive enhancement only; every page works without this file.
   No inline scripts anywhere, so a strict Content-Security-Policy can forbid them. */
(function () {
  "use strict";

  // Timestamps are links to the audio (#t=N) without JavaScript; with it they seek the player.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-seek]") : null;
    var player = document.getElementById("player");
    if (!link || !player) return;
    event.preventDefault();
    player.currentTime = parseFloat(link.getAttribute("data-seek")) || 0;
    var played = player.play();
    if (played && played.catch) played.catch(function () {});
  });

  // Regenerate: switch to "pending" at once, then post in the background (202 JSON).
  // Without JavaScript the form posts normally and the server redirects back (303).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-regenerate")) return;
    event.preventDefault();
    if (form.getAttribute("data-state") === "pending") return;
    var button = form.querySelector("button[type=submit]");
    var status = form.querySelector(".regen-status");
    form.setAttribute("data-state", "pending");
    button.disabled = true;
    button.textContent = "Regeneration pending";
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": token ? token.value : "" },
      body: new FormData(form)
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.status === 202, data: data }; });
    }).then(function (result) {
      if (result.ok) {
        var live = document.getElementById("episode-live");
        if (live && window.htmx) {
          // The live fragment comes back "pending" and polls until the new summary is in.
          window.htmx.ajax("GET", live.getAttribute("data-live-url"), { target: live, swap: "outerHTML" });
          return;
        }
        if (result.data && result.data.status === "sent") {
          window.location.reload();  // ran in-process (no queue): show the new summary
          return;
        }
        if (status) status.textContent = "A fresh summary is on its way; reload later to see it.";
        return;
      }
      form.removeAttribute("data-state");
      button.disabled = false;
      button.textContent = "Regenerate";
      if (status) status.textContent = (result.data && result.data.error) || "Could not regenerate.";
    }).catch(function () {
      form.removeAttribute("data-state");
      form.submit();  // network trouble: fall back to the plain form post
    });
  });

  // "Skip sponsor": shown while the player is inside an ad span, jumps to its end.
  // The spans come from a JSON script element (json_script), never from inline code.
  var adData = document.getElementById("ad-spans");
  var skip = document.getElementById("skip-ad");
  var player = document.getElementById("player");
  if (adData && skip && player) {
    var spans = [];
    try { spans = JSON.parse(adData.textContent) || []; } catch (error) { spans = []; }
    var inside = function () {
      var t = player.currentTime;
      for (var i = 0; i < spans.length; i++) {
        if (t >= spans[i].start && t < spans[i].end - 0.5) return spans[i];
      }
      return null;
    };
    player.addEventListener("timeupdate", function () {
      var span = inside();
      skip.hidden = !span;
      if (span) skip.textContent = span.label ? "Skip sponsor (" + span.label + ")" : "Skip sponsor";
    });
    skip.addEventListener("click", function () {
      var span = inside();
      if (span) player.currentTime = span.end;
      skip.hidden = true;
    });
  }
})();
