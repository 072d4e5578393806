/* Search page: reads ?q=, loads only the index shards the query needs, searches them with
   lunr.js, and renders results from text nodes (never innerHTML of data). */
(function () {
  "use strict";
  var manifest = window.DIGEST_SEARCH;
  var input = document.getElementById("search-query");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var headerInput = document.getElementById("site-search");
  var MAX_RESULTS = 50;
  var FIRST_SHOWN = 10; /* shown as soon as their document shards are in; the rest follow */
  var WILDCARD_END = "\uffff";
  var MIN_PREFIX = 3;
  var termShards = {};
  var docShards = {};
  var loading = {};
  var composite = { key: "", index: null };
  var sequence = 0;

  if (!manifest || !window.lunr || !input) {
    if (status) status.textContent = "Search is unavailable: the search index did not load.";
    return;
  }
  var pipeline = lunr.Pipeline.load(manifest.pipeline);
  /* A term shard's file is named by a key (from its first term, so an edit elsewhere leaves
     the name alone); the manifest lists each shard's key, in term order. */
  var shardNumber = {};
  manifest.shards.forEach(function (shard, number) { shardNumber[shard[3]] = number; });
  window.digestSearchTerms = function (key, body) { termShards[shardNumber[key]] = body; };
  window.digestSearchDocs = function (number, docs) { docShards[number] = docs; };

  function loadScript(url) {
    if (!loading[url]) {
      loading[url] = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = url;
        script.async = true;
        script.onload = resolve;
        script.onerror = function () { reject(new Error("could not load " + url)); };
        document.head.appendChild(script);
      });
    }
    return loading[url];
  }

  /* Shards whose term range overlaps [low, high]; shards are sorted and disjoint. */
  function shardsBetween(low, high) {
    var found = [];
    manifest.shards.forEach(function (shard, number) {
      if (shard[1] >= low && shard[0] <= high) found.push(number);
    });
    return found;
  }

  function allShards() {
    return manifest.shards.map(function (shard, number) { return number; });
  }

  function stemmed(term) {
    return pipeline.runString(term).filter(Boolean);
  }

  /* Which shards a query touches: exact terms map to one shard, trailing wildcards to a
     range; leading wildcards and fuzzy terms may match anywhere, so they need every shard. */
  function shardsForClauses(clauses) {
    var needed = {};
    var add = function (numbers) { numbers.forEach(function (n) { needed[n] = true; }); };
    clauses.forEach(function (clause) {
      var term = clause.term;
      if (clause.editDistance || term.charAt(0) === "*" || term.indexOf("*", 1) !== -1 &&
          term.indexOf("*") !== term.length - 1) {
        add(allShards());
        return;
      }
      if (term.charAt(term.length - 1) === "*") {
        var prefix = term.slice(0, -1);
        add(shardsBetween(prefix, prefix + WILDCARD_END));
        return;
      }
      var terms = clause.usePipeline ? stemmed(term) : [term];
      terms.forEach(function (t) { add(shardsBetween(t, t)); });
    });
    return Object.keys(needed).map(Number).sort(function (a, b) { return a - b; });
  }

  function parse(text) {
    var query = new lunr.Query(manifest.fields);
    new lunr.QueryParser(text, query).parse();
    return query.clauses;
  }

  function plainWords(text) {
    return lunr.tokenizer(text.replace(/[:^~*+\-]+/g, " ")).map(String).filter(Boolean);
  }

  function plainShards(words) {
    var numbers = {};
    words.forEach(function (word) {
      stemmed(word).forEach(function (t) {
        shardsBetween(t, t).forEach(function (n) { numbers[n] = true; });
      });
      if (word.length >= MIN_PREFIX) {
        shardsBetween(word, word + WILDCARD_END).forEach(function (n) { numbers[n] = true; });
      }
    });
    return Object.keys(numbers).map(Number).sort(function (a, b) { return a - b; });
  }

  function ensureTerms(numbers) {
    return Promise.all(numbers.map(function (n) {
      return loadScript("search/terms-" + manifest.shards[n][3] + ".js");
    }));
  }

  /* One lunr.Index over the loaded shards: term ranges are sorted, so concatenating them in
     shard order keeps both the term list and every vector's entries in lunr's order. A shard
     numbers its terms from 0; each is offset by the terms of the shards loaded before it. */
  function indexOver() {
    var numbers = Object.keys(termShards).map(Number).sort(function (a, b) { return a - b; });
    var key = numbers.join(",");
    if (composite.key === key && composite.index) return composite.index;
    var inverted = [];
    var vectors = {};
    var order = [];
    var offset = 0;
    numbers.forEach(function (n) {
      var body = termShards[n];
      body.invertedIndex.forEach(function (entry) {
        var posting = {};
        Object.keys(entry[1]).forEach(function (k) { posting[k] = entry[1][k]; });
        posting._index = entry[1]._index + offset;
        inverted.push([entry[0], posting]);
      });
      body.fieldVectors.forEach(function (entry) {
        if (!vectors[entry[0]]) { vectors[entry[0]] = []; order.push(entry[0]); }
        var target = vectors[entry[0]];
        var elements = entry[1];
        for (var i = 0; i < elements.length; i += 2) {
          target.push(elements[i] + offset, elements[i + 1]);
        }
      });
      offset += body.invertedIndex.length;
    });
    var index = lunr.Index.load({
      version: manifest.lunr,
      fields: manifest.fields,
      pipeline: manifest.pipeline,
      invertedIndex: inverted,
      fieldVectors: order.map(function (ref) { return [ref, vectors[ref]]; })
    });
    composite = { key: key, index: index };
    return index;
  }

  function plainSearch(words) {
    return indexOver().query(function (q) {
      words.forEach(function (word) {
        q.term(word, {});
        if (word.length >= MIN_PREFIX) {
          q.term(word, { wildcard: lunr.Query.wildcard.TRAILING, boost: 0.1, usePipeline: false });
        }
      });
    });
  }

  /* The user's query as lunr syntax when it parses; otherwise, or when it finds nothing, the
     plain words with prefix matching, so "covid:19", "a^", "+" or "anom" never fail. */
  function search(text) {
    var clauses = null;
    try { clauses = parse(text); } catch (err) { clauses = null; }
    var first = clauses ? ensureTerms(shardsForClauses(clauses)).then(function () {
      try { return indexOver().search(text); } catch (err) { return []; }
    }) : Promise.resolve([]);
    return first.then(function (results) {
      if (results.length) return results;
      var words = plainWords(text);
      if (!words.length) return [];
      return ensureTerms(plainShards(words)).then(function () { return plainSearch(words); });
    });
  }

  function docOf(ref) {
    var position = parseInt(ref, 36);
    var shard = docShards[Math.floor(position / manifest.docsPerShard)];
    return shard ? shard[position % manifest.docsPerShard] : null;
  }

  function ensureDocs(results) {
    var numbers = {};
    results.forEach(function (r) {
      numbers[Math.floor(parseInt(r.ref, 36) / manifest.docsPerShard)] = true;
    });
    return Promise.all(Object.keys(numbers).map(function (n) {
      return loadScript("search/docs-" + n + ".js");
    }));
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

  function clear() {
    while (list.firstChild) list.removeChild(list.firstChild);
  }

  /* The results whose documents are loaded, up to the first that is not: a later result
     never shows above an earlier one still loading. */
  function show(text, results, complete) {
    clear();
    list.setAttribute("aria-busy", complete ? "false" : "true");
    status.textContent = results.length
      ? results.length + " result" + (results.length === 1 ? "" : "s") + " for “" + text + "”" +
        (results.length > MAX_RESULTS ? "; showing the first " + MAX_RESULTS : "")
      : "No results for “" + text + "”.";
    var top = results.slice(0, MAX_RESULTS);
    for (var i = 0; i < top.length; i++) {
      var doc = docOf(top[i].ref);
      if (!doc) break;
      list.appendChild(resultItem(doc));
    }
  }

  function run(text) {
    var mine = ++sequence;
    text = text.trim();
    if (!text) {
      clear();
      list.setAttribute("aria-busy", "false");
      status.textContent = "Type a word, a keyphrase or a title.";
      return Promise.resolve();
    }
    status.textContent = "Searching…";
    list.setAttribute("aria-busy", "true");
    return search(text).then(function (results) {
      var top = results.slice(0, MAX_RESULTS);
      return ensureDocs(top.slice(0, FIRST_SHOWN)).then(function () {
        if (mine !== sequence) return null;
        if (top.length > FIRST_SHOWN) show(text, results, false);
        return ensureDocs(top).then(function () {
          if (mine === sequence) show(text, results, true);
        });
      });
    }).catch(function (err) {
      if (mine !== sequence) return;
      list.setAttribute("aria-busy", "false");
      status.textContent = "Search failed: " + err.message;
    });
  }

  /* Arrow keys: down from the box into the results, then up and down through them; up from
     the first result goes back to the box. Enter opens the focused result (it is a link). */
  function resultLinks() {
    return Array.prototype.slice.call(list.querySelectorAll("li h3 a"));
  }

  function moveFocus(event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    var links = resultLinks();
    if (!links.length) return;
    var at = links.indexOf(document.activeElement);
    var next = event.key === "ArrowDown" ? at + 1 : at - 1;
    if (at === -1 && event.key === "ArrowUp") return;
    event.preventDefault();
    if (next < 0) input.focus();
    else links[Math.min(next, links.length - 1)].focus();
  }

  input.addEventListener("keydown", moveFocus);
  list.addEventListener("keydown", moveFocus);

  var initial = new URLSearchParams(window.location.search).get("q") || "";
  input.value = initial;
  if (headerInput) headerInput.value = initial;
  run(initial);

  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var url = new URL(window.location.href);
      url.searchParams.set("q", input.value);
      try { window.history.replaceState(null, "", url.toString()); } catch (err) { /* file:// */ }
      run(input.value);
    }, 120);
  });
})();
