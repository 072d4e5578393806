/* Search page: reads ?q=, queries the prebuilt lunr index, renders results from text nodes. */
(function () {
  "use strict";
  var data = window.DIGEST_SEARCH;
  var input = document.getElementById("search-query");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var headerInput = document.getElementById("site-search");
  var MAX_RESULTS = 50;
  if (!data || !window.lunr || !input) {
    if (status) status.textContent = "Search is unavailable: the search index did not load.";
    return;
  }
  var index = lunr.Index.load(data.index);

  function plainQuery(text) {
    /* The user's words without lunr's query syntax, so "covid:19", "a^" or "+" never fail. */
    var words = lunr.tokenizer(text.replace(/[:^~*+\-]+/g, " ")).map(String).filter(Boolean);
    return index.query(function (q) {
      words.forEach(function (word) {
        q.term(word, {});
        q.term(word, { wildcard: lunr.Query.wildcard.TRAILING, boost: 0.1, usePipeline: false });
      });
    });
  }

  function search(text) {
    try {
      var results = index.search(text);
      if (results.length) return results;
    } catch (err) {
      if (!(err instanceof lunr.QueryParseError)) throw err;
    }
    return plainQuery(text);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.appendChild(document.createTextNode(text));
    return node;
  }

  function resultItem(doc) {
    var item = el("li", "paper-item");
    var title = el("h3", "paper-item-title");
    var link = el("a", "", doc.t);
    link.href = doc.p;
    title.appendChild(link);
    item.appendChild(title);
    if (doc.h) item.appendChild(el("p", "meta", "Theme: " + doc.h));
    item.appendChild(el("p", "excerpt", doc.e));
    var phrases = el("ul", "keyphrases");
    doc.k.forEach(function (k) {
      var li = el("li");
      li.appendChild(el("span", "", k));
      phrases.appendChild(li);
    });
    item.appendChild(phrases);
    return item;
  }

  function render(text) {
    while (list.firstChild) list.removeChild(list.firstChild);
    text = text.trim();
    if (!text) {
      status.textContent = "Type a word, a keyphrase or a title.";
      return;
    }
    var results = search(text);
    status.textContent = results.length
      ? results.length + " result" + (results.length === 1 ? "" : "s") + " for “" + text + "”" +
        (results.length > MAX_RESULTS ? "; showing the first " + MAX_RESULTS : "")
      : "No results for “" + text + "”.";
    results.slice(0, MAX_RESULTS).forEach(function (r) {
      list.appendChild(resultItem(data.docs[Number(r.ref)]));
    });
  }

  var initial = new URLSearchParams(window.location.search).get("q") || "";
  input.value = initial;
  if (headerInput) headerInput.value = initial;
  render(initial);

  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var url = new URL(window.location.href);
      url.searchParams.set("q", input.value);
      try { window.history.replaceState(null, "", url.toString()); } catch (err) { /* file:// */ }
      render(input.value);
    }, 120);
  });
})();
