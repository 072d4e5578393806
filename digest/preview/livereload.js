// Injected into HTML by `digest serve` only; never part of a built site.
// Follows the server's build events: reloads the page after a rebuild, swaps stylesheets after
// a CSS-only change, and shows a build error (or warnings) in a banner until the next good build.
(function () {
  "use strict";
  var script = document.currentScript;
  var session = script ? script.getAttribute("data-digest-session") : "";
  var pageBuild = script ? Number(script.getAttribute("data-digest-build")) : 0;
  var bannerId = "digest-serve-banner";

  function isNewer(data) {
    return data.session !== session || data.build > pageBuild;
  }

  function removeBanner() {
    var old = document.getElementById(bannerId);
    if (old) old.remove();
  }

  function showBanner(title, lines, isError) {
    removeBanner();
    var banner = document.createElement("div");
    banner.id = bannerId;
    banner.setAttribute("role", isError ? "alert" : "status");
    banner.style.cssText = [
      "position:fixed", "left:0", "right:0", "bottom:0", "z-index:2147483647",
      "max-height:40vh", "overflow:auto", "margin:0", "padding:12px 16px",
      "font:14px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace",
      "white-space:pre-wrap", "box-shadow:0 -2px 8px rgba(0,0,0,.3)",
      isError ? "background:#7f1d1d;color:#fff" : "background:#fef3c7;color:#1f2937"
    ].join(";");
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", "Dismiss");
    close.style.cssText = "float:right;font:inherit;background:none;border:0;color:inherit;cursor:pointer";
    close.addEventListener("click", removeBanner);
    var heading = document.createElement("strong");
    heading.textContent = title;
    banner.appendChild(close);
    banner.appendChild(heading);
    lines.forEach(function (line) {
      banner.appendChild(document.createTextNode("\n" + line));
    });
    document.body.appendChild(banner);
  }

  function showStatus(data) {
    if (data.error) {
      showBanner("digest serve: the last build failed; showing the previous site", [data.error], true);
    } else if (data.warnings && data.warnings.length) {
      var more = data.warning_count - data.warnings.length;
      var lines = data.warnings.slice();
      if (more > 0) lines.push("… and " + more + " more (see the terminal)");
      showBanner("digest serve: " + data.warning_count + " warning(s) in the last build", lines, false);
    } else {
      removeBanner();
    }
  }

  function swapStylesheets(build) {
    var links = document.querySelectorAll('link[rel~="stylesheet"]');
    Array.prototype.forEach.call(links, function (link) {
      var url = new URL(link.href, location.href);
      if (url.origin !== location.origin) return;
      url.searchParams.set("digest-build", String(build));
      var fresh = link.cloneNode();
      fresh.href = url.href;
      fresh.addEventListener("load", function () { link.remove(); });
      fresh.addEventListener("error", function () { link.remove(); });
      link.after(fresh);
    });
  }

  // A page that comes back still older than the status it was reloaded for may reload once
  // more, not forever: a loop would hide the banner it is meant to show. Once more, because a
  // build can end while the page reloads for the preview before it: the two reloads merge
  // into one that fetched the preview's page, and that page must still reach the build.
  function reloadFor(data) {
    var target = data.session + ":" + data.build;
    try {
      var tries = sessionStorage.getItem("digest-reloaded-for") === target
        ? Number(sessionStorage.getItem("digest-reload-tries") || "1")
        : 0;
      if (tries >= 2) return false;
      sessionStorage.setItem("digest-reloaded-for", target);
      sessionStorage.setItem("digest-reload-tries", String(tries + 1));
    } catch (e) {
      // Storage can be disabled; reloading once per event is still right.
    }
    location.reload();
    return true;
  }

  var events = new EventSource(new URL("/__digest__/events", location.href).href);
  events.addEventListener("status", function (event) {
    var data = JSON.parse(event.data);
    if (isNewer(data) && reloadFor(data)) return;
    showStatus(data);
  });
  events.addEventListener("reload", function (event) {
    reloadFor(JSON.parse(event.data));
  });
  events.addEventListener("css", function (event) {
    var data = JSON.parse(event.data);
    swapStylesheets(data.build);
    session = data.session;
    pageBuild = data.build;
    showStatus(data);
  });
  events.addEventListener("failed", function (event) {
    showStatus(JSON.parse(event.data));
  });
})();
