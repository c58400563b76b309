// oie report: filters, sorting and timelines over the page's own JSON. Every value from the
// warehouse is shown with textContent: nothing from the data is ever parsed as HTML.
(function () {
  "use strict";
  var source = document.getElementById("oie-data");
  var data = JSON.parse(source ? source.textContent : "{}");
  var table = document.getElementById("hot-table");
  if (!table || !data.leads || !data.leads.length) return;
  var F = {};
  data.lead_fields.forEach(function (name, i) { F[name] = i; });
  var COMPONENTS = ["recency", "frequency", "engagement", "high_intent", "conversions"];
  var state = { key: "rank", dir: 1, level: "", campaign: "", selected: -1 };
  var body = table.tBodies[0];

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function when(iso) { return iso ? String(iso).slice(0, 16).replace("T", " ") : "-"; }
  function secs(s) {
    if (s === null || s === undefined) return "-";
    if (s < 90) return s + " s";
    if (s < 5400) return Math.round(s / 60) + " min";
    return (s / 3600).toFixed(1) + " h";
  }
  function cell(row, text, cls) { var td = el("td", text, cls); row.appendChild(td); return td; }

  function bar(lead) {
    var wrap = el("div", null, "bar");
    wrap.title = COMPONENTS.map(function (c) { return c + " " + lead[F[c]]; }).join(", ");
    COMPONENTS.forEach(function (c) {
      var part = el("span", null, "c-" + c);
      part.style.width = Math.max(0, Number(lead[F[c]]) || 0) + "%";
      wrap.appendChild(part);
    });
    return wrap;
  }

  function visible() {
    var rows = [];
    data.leads.forEach(function (lead, i) {
      if (state.level && lead[F.level] !== state.level) return;
      if (state.campaign && lead[F.campaign_id] !== state.campaign) return;
      rows.push(i);
    });
    var k = F[state.key];
    var numeric = typeof data.leads[0][k] === "number";
    rows.sort(function (a, b) {
      var x = data.leads[a][k], y = data.leads[b][k];
      if (x === y) return data.leads[a][F.rank] - data.leads[b][F.rank];
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      var c = numeric ? x - y : String(x).localeCompare(String(y));
      return c * state.dir;
    });
    return rows;
  }

  function draw() {
    var rows = visible();
    body.replaceChildren();
    rows.forEach(function (i) {
      var lead = data.leads[i];
      var tr = el("tr");
      tr.dataset.index = String(i);
      if (i === state.selected) tr.className = "selected";
      cell(tr, lead[F.rank], "num");
      cell(tr, lead[F.name], "name");
      cell(tr, lead[F.company] || "-");
      cell(tr, lead[F.title] || "-");
      cell(tr, lead[F.campaign] || "-");
      cell(tr, lead[F.score], "num score");
      var level = cell(tr, null);
      level.appendChild(el("span", lead[F.level], "level level-" + lead[F.level]));
      if (lead[F.suppressed]) {
        // bounced or unsubscribed in the email tool: no alert, no CRM push, no outreach
        level.appendChild(el("span", "suppressed", "suppressed"));
        level.title = "bounced or unsubscribed: do not contact";
      }
      COMPONENTS.forEach(function (c) { cell(tr, lead[F[c]], "num"); });
      cell(tr, null).appendChild(bar(lead));
      cell(tr, when(lead[F.last_visit_at]));
      cell(tr, lead[F.pages_seen] || "-", "pages").title = lead[F.pages_seen] || "";
      tr.addEventListener("click", function () { show(i); });
      body.appendChild(tr);
    });
    document.getElementById("hot-count").textContent =
      rows.length + " of " + data.leads.length + " shown";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.classList.remove("sorted-asc", "sorted-desc");
      if (th.dataset.key === state.key) th.classList.add(state.dir > 0 ? "sorted-asc" : "sorted-desc");
    });
  }

  function fill(tableId, rows, render) {
    var tbody = document.getElementById(tableId).tBodies[0];
    tbody.replaceChildren();
    if (!rows.length) {
      var tr = el("tr");
      var td = cell(tr, "none", "muted");
      td.colSpan = 20;
      tbody.appendChild(tr);
    }
    rows.forEach(function (r) { var tr = el("tr"); render(tr, r); tbody.appendChild(tr); });
  }

  function show(i) {
    state.selected = i;
    var lead = data.leads[i], t = data.timelines[i];
    document.getElementById("timeline-empty").hidden = true;
    document.getElementById("timeline-body").hidden = false;
    document.getElementById("timeline-title").textContent =
      "#" + lead[F.rank] + " " + lead[F.name] + (lead[F.company] ? " (" + lead[F.company] + ")" : "");
    document.getElementById("timeline-sub").textContent =
      [lead[F.title], lead[F.campaign], "score " + lead[F.score] + ", " + lead[F.level]]
        .filter(Boolean).join(" · ");
    var S = {};
    data.session_fields.forEach(function (name, k) { S[name] = k; });
    document.getElementById("sessions-count").textContent =
      t.sessions_total > t.sessions.length
        ? "(newest " + t.sessions.length + " of " + t.sessions_total + ")"
        : "(" + t.sessions.length + ")";
    fill("sessions-table", t.sessions, function (tr, s) {
      cell(tr, when(s[S.started_at]));
      cell(tr, secs(s[S.duration_s]), "num");
      cell(tr, secs(s[S.active_s]), "num");
      cell(tr, s[S.entry_page] || "-");
      cell(tr, s[S.exit_page] || "-");
      cell(tr, s[S.pageviews], "num");
      cell(tr, s[S.max_scroll_depth] + " %", "num");
      cell(tr, s[S.forms_submitted], "num");
      cell(tr, s[S.videos_played], "num");
      cell(tr, s[S.device] || "-");
      cell(tr, s[S.browser] || "-");
      cell(tr, s[S.country] || "-");
      cell(tr, s[S.engagement_score], "num");
      cell(tr, s[S.pages_seen] || "-", "pages").title = s[S.pages_seen] || "";
    });
    document.getElementById("clicks-count").textContent =
      t.clicks_total > t.clicks.length
        ? "(newest " + t.clicks.length + " of " + t.clicks_total + ")"
        : "(" + t.clicks.length + ")";
    fill("clicks-table", t.clicks, function (tr, c) {
      cell(tr, when(c[0]));
      cell(tr, c[1] ? "link scanner (not counted)" : "person");
    });
    fill("identity-table", t.identity, function (tr, r) {
      cell(tr, r[0]);
      cell(tr, r[1]);
      cell(tr, Number(r[2]).toFixed(2), "num");
      cell(tr, r[3] ? "yes" : "no");
      cell(tr, r[4] ? "yes" : "no");
      cell(tr, when(r[5]));
    });
    draw();
  }

  var campaigns = {};
  data.leads.forEach(function (lead) { campaigns[lead[F.campaign_id]] = lead[F.campaign]; });
  var select = document.getElementById("campaign-filter");
  Object.keys(campaigns).sort().forEach(function (id) {
    var option = el("option", campaigns[id]);
    option.value = id;
    select.appendChild(option);
  });
  select.addEventListener("change", function () { state.campaign = select.value; draw(); });
  var levelSelect = document.getElementById("level-filter");
  levelSelect.addEventListener("change", function () { state.level = levelSelect.value; draw(); });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    if (!th.dataset.key) return;
    th.addEventListener("click", function () {
      if (state.key === th.dataset.key) state.dir = -state.dir;
      else { state.key = th.dataset.key; state.dir = th.dataset.type === "number" && th.dataset.key !== "rank" ? -1 : 1; }
      draw();
    });
  });
  draw();
})();
