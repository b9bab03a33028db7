// Charts of the archive report: plain SVG, drawn from the JSON in #report-data.
// No library and nothing fetched, so the page works offline and as a single file.
(function () {
  "use strict";

  var NS = "http://www.w3.org/2000/svg";
  var PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1",
                 "#edc948", "#9c755f", "#ff9da7", "#bab0ac"];
  var STATUS = {ok: "var(--ok)", alarm: "var(--alarm)", failed: "var(--failed)",
                blocked: "var(--blocked)"};
  var WIDTH = 1000;  // drawing width when the container's own is unknown
  var DAY = 86400000;

  var data = JSON.parse(document.getElementById("report-data").textContent);

  // -- small helpers ------------------------------------------------------------

  function el(tag, attrs, parent, text) {
    var node = document.createElementNS(NS, tag);
    for (var key in attrs) { node.setAttribute(key, attrs[key]); }
    if (text !== undefined) { node.textContent = text; }
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function html(tag, attrs, parent, text) {
    var node = document.createElement(tag);
    for (var key in attrs) { node.setAttribute(key, attrs[key]); }
    if (text !== undefined) { node.textContent = text; }
    if (parent) { parent.appendChild(node); }
    return node;
  }

  // Site names are keys: "constructor" or "__proto__" must not find Object's own.
  function own(object, key) { return Object.prototype.hasOwnProperty.call(object, key); }

  function fmt(n) { return Number(n || 0).toLocaleString("en-US"); }
  function pct(x) { return Math.round((x || 0) * 100) + "%"; }
  function tip(node, text) { el("title", {}, node, text); return node; }

  // Draw at the container's own width, so that text comes out at its CSS size.
  function widthOf(container) {
    var w = Math.round(container.getBoundingClientRect().width);
    return w >= 200 ? w : WIDTH;
  }

  function svgBox(container, width, height) {
    return el("svg", {viewBox: "0 0 " + width + " " + height, width: width, height: height,
                      role: "img", preserveAspectRatio: "xMidYMid meet"}, container);
  }

  function empty(container, message) {
    html("div", {"class": "empty"}, container, message);
  }

  // Round tick values covering [0, max].
  function ticks(max, count) {
    if (max <= 0) { return [0, 1]; }
    var raw = max / count;
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 5, 10].map(function (f) { return f * power; })
      .filter(function (s) { return s >= raw; })[0];
    step = Math.max(step, 1);
    var out = [];
    for (var v = 0; v <= max + step * 0.999; v += step) { out.push(v); }
    return out;
  }

  function yAxis(svg, box, top) {
    var values = ticks(top, 5);
    var last = values[values.length - 1];
    var g = el("g", {"class": "axis"}, svg);
    values.forEach(function (v) {
      var y = box.y + box.h - (v / last) * box.h;
      el("line", {"class": "gridline", x1: box.x, x2: box.x + box.w, y1: y, y2: y}, g);
      el("text", {x: box.x - 8, y: y + 4, "text-anchor": "end"}, g, fmt(v));
    });
    el("line", {x1: box.x, x2: box.x + box.w, y1: box.y + box.h, y2: box.y + box.h}, g);
    return last;
  }

  function legend(container, names, colours) {
    var box = html("div", {"class": "legend"}, container);
    names.forEach(function (name, i) {
      var item = html("span", {}, box);
      html("i", {style: "background:" + colours[i]}, item);
      item.appendChild(document.createTextNode(name));
    });
  }

  // -- charts -------------------------------------------------------------------

  // Stacked bars over time: one colour per site; days, weeks or months.
  function perDay(container, rows, unit) {
    container.textContent = "";
    if (!rows.length) { empty(container, "No dated articles."); return 0; }
    var sites = [];
    rows.forEach(function (r) { if (sites.indexOf(r.site) < 0) { sites.push(r.site); } });
    sites.sort();
    var colours = sites.map(function (_, i) { return PALETTE[i % PALETTE.length]; });
    function bucket(day) {
      var d = new Date(day + "T00:00:00Z");
      if (unit === "week") {
        var back = (d.getUTCDay() + 6) % 7;  // Monday
        d = new Date(d.getTime() - back * DAY);
      } else if (unit === "month") {
        d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
      }
      return d.getTime();
    }
    function next(t) {
      var d = new Date(t);
      if (unit === "month") { return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1); }
      return t + (unit === "week" ? 7 : 1) * DAY;
    }
    var buckets = Object.create(null);
    rows.forEach(function (r) {
      var key = bucket(r.day);
      var b = buckets[key] || (buckets[key] = {t: key, total: 0, by: Object.create(null)});
      b.by[r.site] = (b.by[r.site] || 0) + r.n;
      b.total += r.n;
    });
    var list = Object.keys(buckets).map(function (k) { return buckets[k]; });
    list.sort(function (a, b) { return a.t - b.t; });
    var start = list[0].t, end = next(list[list.length - 1].t);
    var height = 300, W = widthOf(container);
    var box = {x: 56, y: 10, w: W - 70, h: height - 44};
    var svg = svgBox(container, W, height);
    var top = yAxis(svg, box, Math.max.apply(null, list.map(function (b) { return b.total; })));
    function x(t) { return box.x + (t - start) / (end - start) * box.w; }
    // Time axis: years, or months when the range is short.
    var g = el("g", {"class": "axis"}, svg);
    var span = (end - start) / DAY;
    var first = new Date(start);
    var months = span > 800 ? 12 : span > 200 ? 3 : 1;
    var tick = Date.UTC(first.getUTCFullYear(), first.getUTCMonth() - (first.getUTCMonth() % months), 1);
    var names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    while (tick <= end) {
      if (tick >= start) {
        var d = new Date(tick);
        var label = months === 12 ? String(d.getUTCFullYear())
          : names[d.getUTCMonth()] + (d.getUTCMonth() === 0 || months === 1 ? " " + d.getUTCFullYear() : "");
        el("line", {x1: x(tick), x2: x(tick), y1: box.y + box.h, y2: box.y + box.h + 5}, g);
        el("text", {x: x(tick), y: box.y + box.h + 18, "text-anchor": "middle"}, g, label);
      }
      var t = new Date(tick);
      tick = Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + months, 1);
    }
    var bars = el("g", {}, svg);
    list.forEach(function (b) {
      var x0 = x(b.t), x1 = x(next(b.t));
      var w = Math.max(1, (x1 - x0) * 0.85);
      var y = box.y + box.h;
      var when = new Date(b.t).toISOString().slice(0, unit === "month" ? 7 : 10);
      var lines = [(unit === "week" ? "week of " : "") + when + ": " + fmt(b.total) + " articles"];
      sites.forEach(function (site, i) {
        var n = b.by[site];
        if (!n) { return; }
        var h = n / top * box.h;
        y -= h;
        lines.push(site + ": " + fmt(n));
        el("rect", {"class": "bar", x: x0, y: y, width: w, height: Math.max(h, 0.5), fill: colours[i],
                    "data-value": n}, bars);
      });
      // One invisible column per bucket carries the tooltip for the whole stack.
      tip(el("rect", {x: x0, y: box.y, width: Math.max(w, 3), height: box.h, fill: "transparent"}, bars),
          lines.join("\n"));
    });
    legend(container, sites, colours);
    return list.length;
  }

  // Vertical bars; groups of series side by side when there are several.
  function bars(container, labels, series, opts) {
    container.textContent = "";
    var total = series.reduce(function (s, ser) {
      return s + ser.values.reduce(function (a, b) { return a + b; }, 0);
    }, 0);
    if (!labels.length || !total) { empty(container, opts.empty || "No data."); return 0; }
    var height = 260, W = widthOf(container);
    var box = {x: 56, y: 10, w: W - 66, h: height - 50};
    var svg = svgBox(container, W, height);
    var max = Math.max.apply(null, series.map(function (s) { return Math.max.apply(null, s.values); }));
    var top = yAxis(svg, box, max);
    var slot = box.w / labels.length;
    var inner = slot * 0.8 / series.length;
    var every = Math.ceil(labels.length / Math.max(4, Math.floor(box.w / 56)));
    var g = el("g", {}, svg);
    labels.forEach(function (label, i) {
      series.forEach(function (ser, j) {
        var v = ser.values[i] || 0;
        var h = v / top * box.h;
        var x = box.x + i * slot + slot * 0.1 + j * inner;
        tip(el("rect", {"class": "bar", x: x, y: box.y + box.h - h, width: Math.max(inner - 1, 1),
                        height: h, fill: ser.colour, "data-value": v, rx: 1.5}, g),
            (opts.xName ? opts.xName + " " : "") + label + " · " + ser.name + ": " + fmt(v));
      });
      if (i % every === 0) {
        el("text", {x: box.x + i * slot + slot / 2, y: box.y + box.h + 16, "text-anchor": "middle"}, g, label);
      }
    });
    if (opts.xTitle) {
      el("text", {x: box.x + box.w / 2, y: height - 6, "text-anchor": "middle"}, svg, opts.xTitle);
    }
    if (series.length > 1) {
      legend(container, series.map(function (s) { return s.name; }),
             series.map(function (s) { return s.colour; }));
    }
    return labels.length;
  }

  // Horizontal bars, longest first: names and counts.
  function ranking(container, items, colour, what) {
    container.textContent = "";
    if (!items.length) { empty(container, "No " + what + " in the archive."); return 0; }
    var row = 24;
    var height = items.length * row + 8, W = widthOf(container);
    var svg = svgBox(container, W, height);
    var labelW = Math.min(220, Math.round(W * 0.38));
    var max = Math.max.apply(null, items.map(function (i) { return i.n; }));
    var w = W - labelW - 50;
    items.forEach(function (item, i) {
      var y = 4 + i * row;
      var room = Math.floor(labelW / 7);
      var text = item.name.length > room ? item.name.slice(0, room - 1) + "…" : item.name;
      el("text", {x: labelW - 10, y: y + row / 2 + 4, "text-anchor": "end", "class": "value-label"}, svg, text);
      var bw = Math.max(item.n / max * w, 2);
      tip(el("rect", {"class": "bar", x: labelW, y: y + 3, width: bw, height: row - 7, fill: colour, rx: 2,
                      "data-value": item.n}, svg), item.name + ": " + fmt(item.n) + " articles");
      el("text", {x: labelW + bw + 6, y: y + row / 2 + 4}, svg, fmt(item.n));
    });
    return items.length;
  }

  // Runs as columns, sites as rows, a square per (run, site) coloured by status.
  function alarmGrid(container, list, runs) {
    container.textContent = "";
    list.textContent = "";
    if (!runs.length) {
      empty(container, "No crawl-all run manifests in this archive's _runs/ yet: " +
                       "run `crawler crawl-all` to start the history.");
      return 0;
    }
    var sites = [];
    runs.forEach(function (run) {
      Object.keys(run.sites).forEach(function (s) { if (sites.indexOf(s) < 0) { sites.push(s); } });
    });
    sites.sort();
    var W = widthOf(container);
    var labelW = 150, cell = Math.min(28, Math.max(4, (W - labelW - 10) / runs.length));
    var height = sites.length * 26 + 40;
    var svg = svgBox(container, W, height);
    sites.forEach(function (site, i) {
      var y = 8 + i * 26;
      el("text", {x: labelW - 10, y: y + 16, "text-anchor": "end", "class": "value-label"}, svg, site);
      runs.forEach(function (run, j) {
        var entry = own(run.sites, site) ? run.sites[site] : null;
        var status = entry ? String(entry.status) : "none";
        var colour = own(STATUS, status) ? STATUS[status] : "var(--none)";
        var text = run.run_id + " · " + site + ": " + (entry ? status : "not in this run");
        if (entry) {
          text += " · " + fmt(entry["new"]) + " new";
          if (entry.alarm.length) { text += "\n" + entry.alarm.join("\n"); }
        }
        tip(el("rect", {"class": "cell", x: labelW + j * cell + 1, y: y + 3, width: cell - 3, height: 20,
                        rx: 3, fill: colour, "data-status": status}, svg), text);
      });
    });
    var firstRun = runs[0].start || runs[0].run_id, lastRun = runs[runs.length - 1].start || runs[runs.length - 1].run_id;
    el("text", {x: labelW, y: height - 8}, svg, String(firstRun).slice(0, 16).replace("T", " "));
    if (runs.length > 1) {
      el("text", {x: labelW + runs.length * cell, y: height - 8, "text-anchor": "end"}, svg,
         String(lastRun).slice(0, 16).replace("T", " "));
    }
    var statuses = ["ok", "alarm", "failed", "blocked"];
    legend(container, statuses, statuses.map(function (s) { return STATUS[s]; }));
    var alarms = runs.filter(function (run) {
      return Object.keys(run.sites).some(function (s) { return run.sites[s].alarm.length; });
    });
    alarms.slice(-10).reverse().forEach(function (run) {
      var box = html("div", {"class": "alarm-run"}, list);
      html("h3", {}, box, "Run " + run.run_id + (run.start ? " (" + String(run.start).slice(0, 16).replace("T", " ") + ")" : ""));
      var ul = html("ul", {}, box);
      Object.keys(run.sites).sort().forEach(function (site) {
        run.sites[site].alarm.forEach(function (message) {
          var li = html("li", {}, ul);
          html("span", {"class": "tag", style: "background:var(--alarm)"}, li, site);
          li.appendChild(document.createTextNode(message));
        });
      });
    });
    return runs.length;
  }

  function cards(container) {
    var t = data.totals;
    var older = (t.rows || 0) - (t.articles || 0);
    var items = [
      ["Articles", fmt(t.articles), older > 0 ? fmt(older) + " older rows (compact drops them)" : "one row each"],
      ["Sites", fmt(t.sites), ""],
      ["Published from", t.first || "–", "to " + (t.last || "–") + "; " + fmt(t.undated) + " undated"],
      ["With images", pct(t.with_images), pct(t.with_captions) + " with a caption"],
      ["Median body", fmt(Math.round(t.median_body)) + " chars", ""],
      ["Files", fmt(data.archive.files), (data.archive.bytes / 1048576).toFixed(1) + " MiB of Parquet"],
    ];
    items.forEach(function (item) {
      var card = html("div", {"class": "card"}, container);
      html("div", {"class": "label"}, card, item[0]);
      html("div", {"class": "value"}, card, item[1]);
      if (item[2]) { html("div", {"class": "extra"}, card, item[2]); }
    });
  }

  function sitesTable(container) {
    var table = html("table", {}, container);
    var head = html("tr", {}, html("thead", {}, table));
    [["site", ""], ["articles", "num"], ["first", ""], ["last", ""], ["with images", "num"],
     ["with captions", "num"], ["median body", "num"]].forEach(function (h) {
      html("th", {"class": h[1]}, head, h[0]);
    });
    var body = html("tbody", {}, table);
    data.sites.forEach(function (s) {
      var tr = html("tr", {}, body);
      html("td", {}, tr, s.site);
      html("td", {"class": "num"}, tr, fmt(s.articles));
      html("td", {}, tr, s.first || "–");
      html("td", {}, tr, s.last || "–");
      html("td", {"class": "num"}, tr, pct(s.with_images));
      html("td", {"class": "num"}, tr, pct(s.with_captions));
      html("td", {"class": "num"}, tr, fmt(Math.round(s.median_body)));
    });
  }

  // -- the page -----------------------------------------------------------------

  document.getElementById("subtitle").textContent =
    data.archive.path + " · generated " + data.generated;
  document.getElementById("footer").textContent =
    "Made by `crawler report`. Counts use the newest row of each article (url_key); " +
    "dates are UTC. Hover any bar or square for its numbers.";
  cards(document.getElementById("cards"));

  var drawn = {};
  var perDayBox = document.getElementById("chart-per-day");
  var buttons = document.getElementById("per-day-buttons");
  ["day", "week", "month"].forEach(function (unit) {
    var b = html("button", {type: "button", "data-unit": unit}, buttons, unit);
    b.addEventListener("click", function () {
      Array.prototype.forEach.call(buttons.children, function (x) { x.classList.remove("on"); });
      b.classList.add("on");
      drawn.perDay = perDay(perDayBox, data.per_day, unit);
    });
  });
  buttons.firstChild.classList.add("on");
  drawn.perDay = perDay(perDayBox, data.per_day, "day");

  var hist = data.body_lengths.bins;
  drawn.body = bars(document.getElementById("chart-body"),
    hist.map(function (b) { return b.label; }),
    [{name: "articles", colour: PALETTE[0], values: hist.map(function (b) { return b.count; })}],
    {xTitle: "characters (bins of " + fmt(data.body_lengths.step) + ")", xName: "from", empty: "No articles."});

  var maxK = data.max_images_bin;
  var ks = [];
  for (var k = 0; k <= maxK; k++) { ks.push(k); }
  function counts(rows) {
    var by = {};
    rows.forEach(function (r) { by[r.k] = r.articles; });
    return ks.map(function (k) { return by[k] || 0; });
  }
  var lastUsed = 0;
  data.images_per_article.concat(data.captions_per_article).forEach(function (r) {
    if (r.articles && r.k > lastUsed) { lastUsed = r.k; }
  });
  var shown = ks.slice(0, lastUsed + 1);
  drawn.images = bars(document.getElementById("chart-images"),
    shown.map(function (k) { return k === maxK ? maxK + "+" : String(k); }),
    [{name: "images", colour: PALETTE[0], values: counts(data.images_per_article).slice(0, shown.length)},
     {name: "captioned images", colour: PALETTE[1], values: counts(data.captions_per_article).slice(0, shown.length)}],
    {xTitle: "per article", xName: "", empty: "No articles."});

  drawn.authors = ranking(document.getElementById("chart-authors"), data.authors, PALETTE[2], "authors");
  drawn.tags = ranking(document.getElementById("chart-tags"), data.tags, PALETTE[5], "tags");
  drawn.alarms = alarmGrid(document.getElementById("chart-alarms"), document.getElementById("alarm-list"), data.runs);
  sitesTable(document.getElementById("sites-table"));

  var root = document.documentElement;
  root.setAttribute("data-charts", String(document.querySelectorAll(".chart svg").length));
  root.setAttribute("data-points", String(document.querySelectorAll(".chart svg [data-value]").length));
  root.setAttribute("data-ready", "1");
})();
