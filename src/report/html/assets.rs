//! The page's stylesheet and its one script (pinned by hash in the Content-Security-Policy).

pub(super) const CSS: &str = r#"
:root{--ink:#1d2330;--muted:#5b6475;--line:#d9dde5;--bg:#f6f7f9;--card:#fff;--accent:#0072B2}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
header,nav,main,footer{max-width:1100px;margin:0 auto;padding:0 24px}
header{padding-top:28px}
.kicker{margin:0;color:var(--muted);text-transform:uppercase;letter-spacing:.08em;font-size:12px}
h1{margin:4px 0 12px;font-size:26px;line-height:1.25}
h2{margin:36px 0 12px;font-size:20px;border-bottom:2px solid var(--line);padding-bottom:4px}
h3{margin:0 0 2px;font-size:16px}
h4{margin:10px 0 4px;font-size:13px;color:var(--muted);font-weight:600}
.meta{display:flex;flex-wrap:wrap;gap:6px 28px;margin:0}
.meta div{display:flex;gap:6px}.meta dt{color:var(--muted)}.meta dd{margin:0;font-weight:600}
.status{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0;margin:12px 0 0}
.status li{background:var(--card);border:1px solid var(--line);border-radius:999px;padding:2px 12px;font-size:13px}
.status small{color:var(--muted)}
nav{display:flex;flex-wrap:wrap;gap:4px 16px;padding-top:14px;padding-bottom:6px;font-size:14px}
nav a{color:var(--accent);text-decoration:none}nav a:hover{text-decoration:underline}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
figcaption,.note{color:var(--muted);font-size:13px;margin-top:6px}
svg text{font-family:inherit;font-size:13px;fill:var(--ink)}
.bars .val tspan{fill:var(--muted)}
.bar:hover rect{opacity:.8}
.bars rect.sug{fill-opacity:.35}
.sugn{color:var(--muted)}
.base{margin:10px 0 0;font-size:14px}
.warn{color:#a33a00}
.plot{fill:#fff;stroke:var(--line)}
#cf-map circle,#cf-map path{fill-opacity:.82}
#cf-map circle:hover,#cf-map path:hover{stroke:#000;stroke-width:1.5}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;list-style:none;padding:0;margin:8px 0 0;font-size:13px}
.legend li{display:flex;align-items:center;gap:6px}.legend small{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--accent);border-radius:8px;padding:12px 14px}
.topic{margin:0;color:var(--muted);font-size:13px}
.caution{margin:4px 0 0;font-size:13px;color:#8a5a00}
.size{margin:2px 0 6px;font-size:14px}
.kw{display:flex;flex-wrap:wrap;gap:4px;list-style:none;padding:0;margin:0}
.kw li{background:#eef3f8;border-radius:4px;padding:0 7px;font-size:12.5px}
.typical{margin:0;padding-left:18px;font-size:14px}
.typical li{margin:2px 0}
table{border-collapse:collapse;background:var(--card);font-size:14px;min-width:50%}
th,td{border:1px solid var(--line);padding:5px 10px;text-align:left;vertical-align:top}
thead th{background:#eef1f5}
tbody th{font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.scroll{overflow-x:auto}
.heat td{text-align:center;min-width:48px;font-variant-numeric:tabular-nums}
.heat td.diag{outline:2px solid #1d2330;outline-offset:-2px}
.heat caption{text-align:left;color:var(--muted);padding:4px 0;caption-side:top}
td.flag{font-weight:600;color:#a33a00}
.mini{vertical-align:middle}
.empty{color:var(--muted)}
footer{color:var(--muted);font-size:12px;padding-top:32px;padding-bottom:28px}
#cf-tip{position:fixed;z-index:10;max-width:360px;background:#1d2330;color:#fff;font-size:13px;padding:6px 9px;border-radius:6px;pointer-events:none;box-shadow:0 2px 8px rgba(0,0,0,.25)}
#cf-tip[hidden]{display:none}
@media print{
  @page{margin:14mm}
  body{background:#fff;font-size:11pt;-webkit-print-color-adjust:exact;print-color-adjust:exact}
  header,nav,main,footer{max-width:none;padding:0}
  nav,#cf-tip{display:none}
  figure,.card,tr{break-inside:avoid;page-break-inside:avoid}
  h2,h3{break-after:avoid;page-break-after:avoid}
  .cards{grid-template-columns:1fr 1fr}
  .scroll{overflow:visible}
  a{color:inherit}
}
"#;

/// The only script. It moves each mark's `<title>` into an attribute (so the
/// browser's native tooltip does not double up) and shows a styled tooltip.
/// Answer text only ever travels through `textContent`, never `innerHTML`.
pub(super) const SCRIPT: &str = r#"
(function () {
  var data = {groups: [], ungrouped: "no group"};
  var src = document.getElementById("cf-data");
  if (src) { data = JSON.parse(src.textContent); }
  var map = document.getElementById("cf-map");
  var tip = document.getElementById("cf-tip");
  if (map && tip) {
    var marks = map.querySelectorAll("[data-g] > *");
    for (var i = 0; i < marks.length; i++) {
      var t = marks[i].querySelector("title");
      if (t) { marks[i].setAttribute("data-t", t.textContent); t.remove(); }
    }
    map.addEventListener("mousemove", function (ev) {
      var m = ev.target;
      var text = m && m.getAttribute ? m.getAttribute("data-t") : null;
      if (text === null) { tip.hidden = true; return; }
      var g = parseInt(m.parentNode.getAttribute("data-g"), 10);
      var name = g >= 0 && g < data.groups.length ? data.groups[g] : data.ungrouped;
      tip.textContent = "";
      var b = document.createElement("strong");
      b.textContent = name;
      tip.appendChild(b);
      tip.appendChild(document.createElement("br"));
      tip.appendChild(document.createTextNode(text));
      tip.hidden = false;
      var x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
      var y = ev.clientY + 14;
      if (y + tip.offsetHeight > window.innerHeight - 8) { y = ev.clientY - tip.offsetHeight - 10; }
      tip.style.left = Math.max(4, x) + "px";
      tip.style.top = Math.max(4, y) + "px";
    });
    map.addEventListener("mouseleave", function () { tip.hidden = true; });
  }
  document.documentElement.setAttribute("data-cf-js", "ok");
})();
"#;

/// CSP source for [`SCRIPT`]: base64 SHA-256 of its exact text. A unit test
/// recomputes it, so editing the script without updating this fails tests.
pub(super) const SCRIPT_HASH: &str = "sha256-Gj2fMhgfjMP1+R9p3Pl1Pt6bEMxgKwGgKTIdboBRZk4=";
