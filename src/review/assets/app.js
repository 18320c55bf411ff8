// codeframe review: the page. Answers are untrusted text: they only ever reach the page
// through textContent, never as markup.
"use strict";
(function () {
  var TOKEN = document.querySelector('meta[name="cf-token"]').content;
  var S = {
    frame: null, role: "primary", coder: "", page: null, cursor: 0, selected: {},
    offset: 0, limit: 100, typed: ""
  };
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function banner(msg, kind) {
    var b = $("banner");
    b.textContent = msg;
    b.className = "banner " + (kind || "info");
    b.hidden = !msg;
    if (msg && kind !== "error") {
      setTimeout(function () { if (b.textContent === msg) { b.hidden = true; } }, 4000);
    }
  }

  function api(method, path, body) {
    var opts = { method: method, headers: {} };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-Codeframe-Token"] = TOKEN;
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (r.status === 409) {
          banner(j.error || "Someone else changed this; showing the current state.", "warn");
          return refresh().then(function () { throw new Error("conflict"); });
        }
        if (!r.ok) {
          banner(j.error || ("request failed: " + r.status), "error");
          throw new Error(j.error || "failed");
        }
        return j;
      });
    });
  }

  function codeById(c) {
    if (!S.frame) { return null; }
    for (var i = 0; i < S.frame.codes.length; i++) {
      if (S.frame.codes[i].code === c) { return S.frame.codes[i]; }
    }
    return null;
  }
  // The machine's score; below its code's threshold, the threshold beside it, with as many
  // decimals as it takes to tell the two apart.
  function score(a) {
    if (a.confidence === null) { return ""; }
    var k = codeById(a.suggestion);
    var plain = " (" + a.confidence.toFixed(2) + ")";
    if (a.status !== "below threshold" || !S.frame.thresholds || !k) { return plain; }
    var t = k.threshold;
    if (t === null) { return " (" + a.confidence.toFixed(2) + "; never codes it alone)"; }
    if (a.confidence >= t) { return plain; }
    var d = 2;
    while (d < 6 && a.confidence.toFixed(d) === t.toFixed(d)) { d += 1; }
    return " (" + a.confidence.toFixed(d) + "; codes it alone from " + t.toFixed(d) + ")";
  }
  function label(c) {
    if (c === null || c === undefined) { return ""; }
    var k = codeById(c);
    return k ? k.label : "(code " + c + ")";
  }

  // ---- state -----------------------------------------------------------------------------
  function refresh() {
    return api("GET", "/api/state").then(function (s) {
      S.frame = s.frame; S.role = s.role; S.coder = s.coder;
      $("coder").textContent = s.coder;
      $("role").textContent = s.role === "second" ? "second coder (blind)" : "coder";
      document.body.classList.toggle("blind", s.role === "second");
      $("progress").textContent = s.frame.coded + " of " + s.frame.rows + " answers coded";
      drawPalette(); drawFrame(); drawCodeFilter(); drawCoders(); drawExtras();
      return loadAnswers();
    });
  }

  function query() {
    var p = new URLSearchParams();
    p.set("view", S.role === "second" ? "sample" : $("view").value);
    if ($("f-code").value !== "") { p.set("code", $("f-code").value); }
    if ($("f-status").value) { p.set("status", $("f-status").value); }
    if ($("f-conf").value !== "") { p.set("max_confidence", $("f-conf").value); }
    if ($("f-q").value.trim()) { p.set("q", $("f-q").value.trim()); }
    if ($("f-lang").value) { p.set("language", $("f-lang").value); }
    p.set("offset", S.offset); p.set("limit", S.limit);
    return "/api/answers?" + p.toString();
  }

  function loadAnswers() {
    return api("GET", query()).then(function (page) {
      S.page = page;
      if (S.cursor >= page.rows.length) { S.cursor = Math.max(0, page.rows.length - 1); }
      drawAnswers();
    });
  }

  // ---- coding screen ---------------------------------------------------------------------
  function drawAnswers() {
    var list = $("answers");
    list.textContent = "";
    var page = S.page;
    var from = page.total ? S.offset + 1 : 0;
    $("count").textContent = page.total + " answers" + (page.total ? " · " + from + "–" + (S.offset + page.rows.length) : "");
    $("page").textContent = page.total ? "page " + (Math.floor(S.offset / S.limit) + 1) + " of " + Math.ceil(page.total / S.limit) : "";
    page.rows.forEach(function (a, i) {
      var li = el("li", "answer" + (i === S.cursor ? " cursor" : "") + (S.selected[a.row] ? " selected" : ""));
      li.dataset.i = i;
      var box = el("input"); box.type = "checkbox"; box.checked = !!S.selected[a.row];
      box.setAttribute("aria-label", "select answer " + a.id);
      box.addEventListener("click", function (ev) { ev.stopPropagation(); toggle(a.row); });
      li.appendChild(box);
      var body = el("div", "body");
      body.appendChild(el("p", "text", a.text === "" ? "(blank)" : a.text));
      var meta = el("p", "meta");
      meta.appendChild(el("span", "id", a.id));
      meta.appendChild(el("span", "status", a.status));
      if (!page.blind && a.suggestion !== null) {
        var sug = el("span", "chip sug", "machine: " + label(a.suggestion) + score(a));
        meta.appendChild(sug);
      }
      var queue = $("view").value === "disagreements";
      if (!page.blind && queue) {
        // The coders' codes side by side; the decision is the reader's.
        a.codings.forEach(function (c) {
          if (c[0] !== "codeframe") { meta.appendChild(el("span", "chip other", c[0] + ": " + label(c[1]))); }
        });
      } else {
        if (!page.blind && a.final_code !== null && a.final_source && a.final_source !== "machine") {
          var who = a.final_source === "adjudicated" ? "adjudicated" : a.final_coder;
          if (who !== S.coder || a.mine === null) {
            meta.appendChild(el("span", "chip final", who + ": " + label(a.final_code)));
          }
        }
        if (a.mine !== null) { meta.appendChild(el("span", "chip mine", "you: " + label(a.mine))); }
      }
      body.appendChild(meta);
      li.appendChild(body);
      li.addEventListener("click", function () { S.cursor = i; drawAnswers(); showHistory(); });
      list.appendChild(li);
    });
    var n = Object.keys(S.selected).length;
    $("nsel").textContent = n + " selected";
    var cur = list.querySelector(".cursor");
    if (cur && cur.scrollIntoView) { cur.scrollIntoView({ block: "nearest" }); }
  }

  function toggle(row) {
    if (S.selected[row]) { delete S.selected[row]; } else { S.selected[row] = true; }
    drawAnswers();
  }

  function targets() {
    var rows = Object.keys(S.selected).map(Number);
    var byRow = {};
    S.page.rows.forEach(function (a) { byRow[a.row] = a; });
    if (!rows.length && S.page.rows[S.cursor]) { rows = [S.page.rows[S.cursor].row]; }
    return rows.map(function (r) { return [r, byRow[r] ? byRow[r].base : 0]; });
  }

  function assign(code) {
    var writes = targets();
    if (!writes.length) { return; }
    var path = $("view").value === "disagreements" && S.role !== "second" ? "/api/adjudicate" : "/api/code";
    api("POST", path, { writes: writes, code: code }).then(function () {
      var single = Object.keys(S.selected).length === 0;
      S.selected = {};
      if (single && S.cursor < S.page.rows.length - 1) { S.cursor += 1; }
      return refresh();
    }).catch(function () {});
  }

  function drawPalette() {
    var ol = $("codes");
    ol.textContent = "";
    var typed = $("typeahead").value.trim().toLowerCase();
    var shown = 0;
    S.frame.codes.forEach(function (c, i) {
      if (typed && c.label.toLowerCase().indexOf(typed) < 0) { return; }
      var li = el("li", "code" + (shown === 0 && typed ? " top" : ""));
      li.appendChild(el("span", "key", i < 9 ? String(i + 1) : ""));
      li.appendChild(el("span", "label", c.label));
      if (S.role !== "second") {
        var n = el("span", "n", c.count + (c.suggested ? " +" + c.suggested : ""));
        n.title = c.count + " coded" + (c.suggested ? ", " + c.suggested + " more suggested below threshold" : "");
        li.appendChild(n);
      }
      li.title = c.description || c.label;
      li.dataset.code = c.code;
      li.addEventListener("click", function () { assign(c.code); });
      ol.appendChild(li);
      shown += 1;
    });
  }

  function topMatch() {
    var typed = $("typeahead").value.trim().toLowerCase();
    for (var i = 0; i < S.frame.codes.length; i++) {
      if (S.frame.codes[i].label.toLowerCase().indexOf(typed) >= 0) { return S.frame.codes[i].code; }
    }
    return null;
  }

  function drawCodeFilter() {
    var sel = $("f-code"), keep = sel.value;
    sel.textContent = "";
    sel.appendChild(new Option("any", ""));
    sel.appendChild(new Option("uncoded", "-1"));
    S.frame.codes.forEach(function (c) { sel.appendChild(new Option(c.label, String(c.code))); });
    sel.value = keep;
  }

  function showHistory() {
    var box = $("history");
    box.textContent = "";
    var a = S.page && S.page.rows[S.cursor];
    if (!a || S.role === "second") { return; }
    api("GET", "/api/history?row=" + a.row).then(function (items) {
      box.appendChild(el("h3", "", "History of " + a.id));
      var ol = el("ol");
      items.forEach(function (h) {
        var when = new Date(h.at_ms).toLocaleString();
        ol.appendChild(el("li", "", when + " · " + h.actor + (h.coder !== h.actor ? " (" + h.coder + ")" : "") +
          " · " + h.source + ": " + (h.code === null ? "cleared" : label(h.code)) + (h.by ? " · " + h.by : "")));
      });
      box.appendChild(ol);
    }).catch(function () {});
  }

  // ---- frame screen ----------------------------------------------------------------------
  function edit(e) {
    // An edit of selected answers (split, non-answers) uses the selection up.
    return api("POST", "/api/edit", { version: S.frame.version, edit: e })
      .then(function () { S.selected = {}; return refresh(); }).catch(function () {});
  }

  function drawFrame() {
    var tb = $("frame-rows");
    tb.textContent = "";
    S.frame.codes.forEach(function (c) {
      var tr = el("tr");
      var name = el("input", "label"); name.value = c.label; name.setAttribute("aria-label", "label of " + c.label);
      name.addEventListener("change", function () {
        // A field emptied on the way to a new label is not a rename.
        if (!name.value.trim()) { name.value = c.label; return; }
        edit({ kind: "rename", code: c.code, label: name.value });
      });
      var td = el("td"); td.appendChild(name);
      if (c.nonanswers) { td.appendChild(el("span", "pill", "non-answers")); }
      tr.appendChild(td);
      var desc = el("textarea"); desc.value = c.description; desc.rows = 2;
      desc.addEventListener("change", function () { edit({ kind: "describe", code: c.code, description: desc.value }); });
      td = el("td"); td.appendChild(desc); tr.appendChild(td);
      var grp = el("select");
      grp.appendChild(new Option("—", ""));
      S.frame.groups.forEach(function (g) { grp.appendChild(new Option(g.label, String(g.group))); });
      grp.value = c.group === null ? "" : String(c.group);
      grp.addEventListener("change", function () { edit({ kind: "set_group", code: c.code, group: grp.value === "" ? null : Number(grp.value) }); });
      td = el("td"); td.appendChild(grp); tr.appendChild(td);
      tr.appendChild(el("td", "num", c.count));
      tr.appendChild(el("td", "num", c.suggested));
      var into = el("select");
      into.appendChild(new Option("—", ""));
      S.frame.codes.forEach(function (o) { if (o.code !== c.code) { into.appendChild(new Option(o.label, String(o.code))); } });
      into.addEventListener("change", function () {
        if (into.value !== "") { edit({ kind: "merge", from: c.code, into: Number(into.value) }); }
      });
      td = el("td"); td.appendChild(into); tr.appendChild(td);
      var del = el("button", "danger", "Delete");
      del.addEventListener("click", function () {
        if (window.confirm("Delete \u201c" + c.label + "\u201d? Its answers become uncoded (undo brings them back).")) {
          edit({ kind: "delete", code: c.code });
        }
      });
      td = el("td"); td.appendChild(del); tr.appendChild(td);
      tb.appendChild(tr);
    });
    var box = $("candidates");
    box.textContent = "";
    if (!S.frame.candidates.length) { box.appendChild(el("p", "note", "None.")); }
    S.frame.candidates.forEach(function (c) {
      var card = el("article", "card");
      card.appendChild(el("h3", "", "Candidate " + c.candidate + " · " + c.size + " answers"));
      card.appendChild(el("p", "kw", c.keywords));
      var ul = el("ul");
      c.typical.split("\n").forEach(function (t) { var li = el("li", "", t); li.title = t; ul.appendChild(li); });
      card.appendChild(ul);
      card.appendChild(el("p", "note", "nearest code: " + c.nearest));
      var name = el("input"); name.value = c.keywords.split(", ").slice(0, 3).join(", ");
      name.setAttribute("aria-label", "label for candidate " + c.candidate);
      var ok = el("button", "", "Accept as code");
      ok.addEventListener("click", function () { edit({ kind: "accept_candidate", candidate: c.candidate, label: name.value }); });
      card.appendChild(name); card.appendChild(ok);
      box.appendChild(card);
    });
  }

  function drawCoders() {
    ["a-a", "a-b"].forEach(function (id, k) {
      var sel = $(id), keep = sel.value;
      sel.textContent = "";
      S.frame.coders.forEach(function (c) { sel.appendChild(new Option(c, c)); });
      if (keep) { sel.value = keep; } else if (S.frame.coders.length > k) { sel.selectedIndex = k; }
    });
  }

  // Languages (when the answers have them) and the second coders' sheets.
  function drawExtras() {
    var sel = $("f-lang"), keep = sel.value;
    sel.textContent = "";
    sel.appendChild(new Option("any", ""));
    S.frame.languages.forEach(function (l) { sel.appendChild(new Option(l, l)); });
    sel.value = keep;
    $("f-lang-box").hidden = S.frame.languages.length === 0;
    var ul = $("sheets");
    ul.textContent = "";
    S.frame.second_coders.forEach(function (c) {
      var li = el("li"), a = el("a", "", "sample-" + c + ".csv");
      a.href = "/api/export/sample.csv?coder=" + encodeURIComponent(c);
      a.setAttribute("download", "sample-" + c + ".csv");
      li.appendChild(a);
      li.appendChild(document.createTextNode(" — " + c + "'s sample and their codes so far"));
      ul.appendChild(li);
    });
  }

  // ---- wiring ----------------------------------------------------------------------------
  document.querySelectorAll("#tabs button").forEach(function (b) {
    b.addEventListener("click", function () {
      document.querySelectorAll("#tabs button").forEach(function (x) { x.classList.toggle("on", x === b); });
      document.querySelectorAll(".tab").forEach(function (t) { t.classList.toggle("on", t.id === "tab-" + b.dataset.tab); });
    });
  });
  ["view", "f-code", "f-status", "f-lang"].forEach(function (id) {
    $(id).addEventListener("change", function () { S.offset = 0; S.cursor = 0; S.selected = {}; loadAnswers(); });
  });
  ["f-q", "f-conf"].forEach(function (id) {
    var t = null;
    $(id).addEventListener("input", function () {
      clearTimeout(t);
      t = setTimeout(function () { S.offset = 0; S.cursor = 0; loadAnswers(); }, 250);
    });
  });
  $("prev").addEventListener("click", function () { S.offset = Math.max(0, S.offset - S.limit); S.cursor = 0; loadAnswers(); });
  $("next").addEventListener("click", function () {
    if (S.offset + S.limit < S.page.total) { S.offset += S.limit; S.cursor = 0; loadAnswers(); }
  });
  $("typeahead").addEventListener("input", drawPalette);
  $("typeahead").addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") {
      var c = topMatch();
      if (c !== null) { assign(c); }
      $("typeahead").value = ""; drawPalette(); $("typeahead").blur(); ev.preventDefault();
    } else if (ev.key === "Escape") { $("typeahead").value = ""; drawPalette(); $("typeahead").blur(); }
  });
  $("b-split").addEventListener("click", function () {
    var rows = targets().map(function (w) { return w[0]; });
    var name = $("split-label").value.trim();
    if (!name) { banner("Write the new code's label first.", "warn"); $("split-label").focus(); return; }
    if (!rows.length) { return; }
    edit({ kind: "split", rows: rows, label: name }).then(function () { $("split-label").value = ""; });
  });
  $("b-nonanswer").addEventListener("click", function () {
    edit({ kind: "non_answers", rows: targets().map(function (w) { return w[0]; }) });
  });
  $("b-clear").addEventListener("click", function () { assign(null); });
  $("add-code").addEventListener("click", function () {
    if ($("new-code").value.trim()) { edit({ kind: "new_code", label: $("new-code").value }).then(function () { $("new-code").value = ""; }); }
  });
  $("add-group").addEventListener("click", function () {
    if ($("new-group").value.trim()) { edit({ kind: "new_group", label: $("new-group").value }).then(function () { $("new-group").value = ""; }); }
  });
  $("undo").addEventListener("click", function () {
    api("POST", "/api/undo", { version: S.frame.version }).then(function (r) {
      banner(r.version === null ? "Nothing of yours to undo." : "Undone.", "info");
      return refresh();
    }).catch(function () {});
  });
  $("s-suggest").addEventListener("click", function () {
    api("GET", "/api/sample-size?width=" + encodeURIComponent($("s-width").value)).then(function (r) {
      $("s-size").value = r.size;
      $("s-note").textContent = r.size + " answers give a kappa interval about " + r.width +
        " wide, if the coders agree on about " + Math.round(100 * r.expected_agreement) + "% of answers (chance agreement " +
        r.chance_agreement.toFixed(2) + ").";
    }).catch(function () {});
  });
  $("s-draw").addEventListener("click", function () {
    api("POST", "/api/sample", { coder: $("s-coder").value, size: Number($("s-size").value), seed: Number($("s-seed").value) })
      .then(function (r) {
        $("s-note").textContent = "Sample " + r.sample + ": " + r.size + " answers for " + r.coder + " (seed " + r.seed + ").";
        return refresh();
      }).catch(function () {});
  });
  $("a-go").addEventListener("click", function () {
    var a = $("a-a").value, b = $("a-b").value;
    api("GET", "/api/agreement?a=" + encodeURIComponent(a) + "&b=" + encodeURIComponent(b)).then(function (r) {
      var tb = $("a-rows");
      tb.textContent = "";
      var pair = r.pairs[0];
      var ci = function (c) {
        if (c.value === null) { return "undefined (" + (c.undefined || "") + ")"; }
        var s = c.value.toFixed(3);
        if (c.ci_low !== null && c.ci_high !== null) { s += "  [" + c.ci_low.toFixed(3) + ", " + c.ci_high.toFixed(3) + "]"; }
        return s + "  " + c.reading;
      };
      [["Answers both coded", String(pair.units)], ["Percent agreement", ci(r.overall.percent_agreement)],
       ["Cohen's kappa", ci(pair.cohen_kappa)], ["Krippendorff's alpha", ci(r.overall.krippendorff_alpha)]]
        .forEach(function (row) {
          var tr = el("tr"); tr.appendChild(el("th", "", row[0])); tr.appendChild(el("td", "num", row[1])); tb.appendChild(tr);
        });
    }).catch(function () {});
  });

  document.addEventListener("keydown", function (ev) {
    var t = ev.target.tagName;
    var typing = (t === "INPUT" && ev.target.type !== "checkbox") || t === "TEXTAREA" || t === "SELECT";
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    if (!$("tab-code").classList.contains("on") || !S.page) { return; }
    var rows = S.page.rows;
    if (ev.key === "j" || ev.key === "ArrowDown") { S.cursor = Math.min(rows.length - 1, S.cursor + 1); drawAnswers(); showHistory(); ev.preventDefault(); }
    else if (ev.key === "k" || ev.key === "ArrowUp") { S.cursor = Math.max(0, S.cursor - 1); drawAnswers(); showHistory(); ev.preventDefault(); }
    else if (ev.key >= "1" && ev.key <= "9") {
      var c = S.frame.codes[Number(ev.key) - 1];
      if (c) { assign(c.code); }
      ev.preventDefault();
    } else if (ev.key === "Enter") {
      var a = rows[S.cursor];
      if (a && a.suggestion !== null && a.suggestion !== undefined) { assign(a.suggestion); }
      ev.preventDefault();
    } else if (ev.key === "x") { assign(null); ev.preventDefault(); }
    else if (ev.key === " ") { if (rows[S.cursor]) { toggle(rows[S.cursor].row); } ev.preventDefault(); }
    else if (ev.key === "u") { $("undo").click(); ev.preventDefault(); }
    else if (ev.key.length === 1 && /[\p{L}]/u.test(ev.key)) {
      $("typeahead").focus(); $("typeahead").value = ev.key; drawPalette(); ev.preventDefault();
    }
  });

  refresh().then(function () {
    if (S.role === "second") { $("view").value = "sample"; }
    document.documentElement.setAttribute("data-ready", "1");
  }).catch(function () {});
})();
