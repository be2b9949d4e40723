// Live refresh: ask the server whether anything changed and reload only then.
(function () {
  var body = document.body;
  if (body.dataset.live !== "1") return;
  var current = body.dataset.version, url = body.dataset.versionUrl;
  var every = parseInt(body.dataset.pollMs, 10) || 1500;
  function poll() {
    fetch(url, {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (d && d.version !== current) { window.location.reload(); return; }
        setTimeout(poll, every);
      })
      .catch(function () { setTimeout(poll, every * 2); });
  }
  setTimeout(poll, every);
})();
