// The admin page's script: the same rules as the server (GroupQuotaSettings.validate), checked
// before a save; saves as JSON with the version read (If-Match); the usage table and the chart
// refreshed every 2 seconds. The form works without it (posted, checked and answered by the server).
"use strict";
(function () {
  const form = document.getElementById("quota-form");
  if (!form) return;
  const maxCount = Number(form.dataset.maxCount), maxPeriod = Number(form.dataset.maxPeriod);
  const maxName = Number(form.dataset.maxName), maxGroups = Number(form.dataset.maxGroups);
  const csrf = form.elements.csrf.value;
  const message = document.getElementById("form-message");
  const tbody = document.querySelector("#groups tbody");

  function say(text, kind) { message.textContent = text; message.className = text ? "message " + kind : ""; }
  function errorOf(input) { return document.getElementById(input.id + "-error"); }
  function clearErrors() {
    for (const input of form.querySelectorAll("input")) {
      input.removeAttribute("aria-invalid");
      const error = errorOf(input);
      if (error) error.textContent = "";
    }
    document.getElementById("groups-error").textContent = "";
  }
  function mark(input, text) {
    input.setAttribute("aria-invalid", "true");
    const error = errorOf(input) || document.getElementById("groups-error");
    error.textContent = text;
  }
  // A whole number as typed (digits only, an optional minus), or null.
  function whole(input) { const t = input.value.trim(); return /^-?[0-9]+$/.test(t) ? Number(t) : null; }
  function checkTotal(input, errors) {
    const v = whole(input);
    if (v === null || v < 0 || v > maxCount) errors.push([input, "must be a whole number from 0 (no limit) to " + maxCount]);
    return v;
  }
  function checkSuccess(input, errors) {
    const v = whole(input);
    if (v === null || v < 1 || v > maxCount) errors.push([input, "must be a whole number from 1 to " + maxCount]);
    return v;
  }

  // The settings the form holds, and the rules each field breaks.
  function read() {
    const errors = [];
    const e = form.elements;
    const period = whole(e.period_minutes);
    if (period === null || period < 1 || period > maxPeriod) errors.push([e.period_minutes, "must be a whole number from 1 to " + maxPeriod]);
    const settings = { enabled: e.enabled.checked, period_minutes: period, total: checkTotal(e.total, errors), success: checkSuccess(e.success, errors), groups: {} };
    let count = 0;
    for (const row of tbody.querySelectorAll("tr")) {
      const [name, total, success] = row.querySelectorAll("input");
      if (!name.value && !total.value && !success.value) continue;
      count += 1;
      const chars = [...name.value];
      if (chars.length === 0) errors.push([name, "a group name must not be empty"]);
      else if (chars.length > maxName) errors.push([name, "a group name must be at most " + maxName + " characters"]);
      else if (/[\u0000-\u001f\u007f-\u009f]/.test(name.value)) errors.push([name, "a group name must not contain control characters"]);
      else if (Object.prototype.hasOwnProperty.call(settings.groups, name.value)) errors.push([name, "names another row's group"]);
      settings.groups[name.value] = [checkTotal(total, errors), checkSuccess(success, errors)];
    }
    if (count > maxGroups) errors.push([tbody.querySelector("input"), "must hold at most " + maxGroups + " groups"]);
    return [settings, errors];
  }

  // The server's refusal {"error": {"field", "rule"}} at its field.
  function show(field, rule) {
    const direct = form.elements[field];
    if (direct && direct.id) return mark(direct, rule);
    const match = /^groups\.(.*)\.(total|success)$/.exec(field) || /^groups\.(.*)$/.exec(field);
    if (match) {
      for (const row of tbody.querySelectorAll("tr")) {
        const inputs = row.querySelectorAll("input");
        if (inputs[0].value === match[1]) return mark(match[2] === "total" ? inputs[1] : match[2] === "success" ? inputs[2] : inputs[0], rule);
      }
    }
    say(field + ": " + rule, "error");
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    say("", "");
    const [settings, errors] = read();
    if (errors.length) {
      for (const [input, text] of errors) mark(input, text);
      errors[0][0].focus();
      say("Not saved: " + errors.length + (errors.length === 1 ? " field breaks a rule." : " fields break a rule."), "error");
      return;
    }
    const version = form.elements.version.value;
    const response = await fetch("/admin/quotas", {
      method: "PUT", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "If-Match": '"' + version + '"', "X-CSRF-Token": csrf },
      body: JSON.stringify(settings),
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) { window.location.assign("/admin?saved=" + body.version); return; }
    if (response.status === 412) {
      say("Not saved: someone else saved version " + body.current_version + " since you opened this page (version " + version +
        "). Reload the page to see their settings, then make your change again.", "error");
      return;
    }
    if (body.error) { show(body.error.field, body.error.rule); say("Not saved: the server refused " + body.error.field + ".", "error"); return; }
    say("Not saved: the server answered " + response.status + ".", "error");
  });

  // Rows added and removed without a round trip.
  function wire(row) {
    const remove = row.querySelector("button.remove");
    remove.hidden = false;
    remove.addEventListener("click", () => {
      for (const input of row.querySelectorAll("input")) input.value = "";
      // The last row stays, emptied: "Add a group" copies a row.
      if (tbody.querySelectorAll("tr").length > 1) row.remove();
    });
  }
  tbody.querySelectorAll("tr").forEach(wire);
  const add = document.getElementById("add-group");
  add.hidden = false;
  add.addEventListener("click", () => {
    const rows = tbody.querySelectorAll("tr");
    const index = rows.length ? Number(rows[rows.length - 1].dataset.row) + 1 : 0;
    const row = rows[0].cloneNode(true);
    row.dataset.row = String(index);
    for (const element of row.querySelectorAll("[id], [name], [aria-describedby], [aria-label]")) {
      for (const attribute of ["id", "name", "aria-describedby"]) {
        const value = element.getAttribute(attribute);
        if (value) element.setAttribute(attribute, value.replace(/^g[0-9]+_/, "g" + index + "_").replace(/ g[0-9]+_/, " g" + index + "_"));
      }
      const label = element.getAttribute("aria-label");
      if (label) element.setAttribute("aria-label", label.replace(/[0-9]+$/, String(index + 1)));
    }
    for (const input of row.querySelectorAll("input")) { input.value = ""; input.removeAttribute("aria-invalid"); }
    for (const error of row.querySelectorAll(".field-error")) error.textContent = "";
    tbody.appendChild(row);
    wire(row);
    row.querySelector("input").focus();
  });

  // The usage table and the chart, every 2 seconds.
  const svg = document.getElementById("chart");
  function draw(minutes) {
    const height = 120, width = 600, bar = width / minutes.length;
    const peak = Math.max(1, ...minutes.map((m) => m.admitted + m.refused));
    const parts = [];
    minutes.forEach((m, i) => {
      let y = height;
      for (const [value, kind] of [[m.admitted - m.failed, "ok"], [m.failed, "failed"], [m.refused, "refused"]]) {
        if (value <= 0) continue;
        const h = (value / peak) * (height - 10);
        y -= h;
        parts.push('<rect class="' + kind + '" x="' + (i * bar + 1).toFixed(1) + '" y="' + y.toFixed(1) + '" width="' + (bar - 2).toFixed(1) + '" height="' + h.toFixed(1) + '"></rect>');
      }
    });
    parts.push('<text x="2" y="136" font-size="11">60 min ago</text><text x="560" y="136" font-size="11">now</text><text x="2" y="11" font-size="11">' + peak + "</text>");
    svg.innerHTML = parts.join("");
  }
  async function refresh() {
    try {
      const response = await fetch("/admin/usage", { credentials: "same-origin" });
      if (!response.ok) return;
      const usage = await response.json();
      const rows = usage.groups.map((g) => {
        const tr = document.createElement("tr");
        const th = document.createElement("th");
        th.scope = "row";
        th.textContent = g.name;
        tr.appendChild(th);
        for (const text of [g.total_used + " / " + (g.total_limit === 0 ? "unlimited" : g.total_limit), g.success_used + " / " + g.success_limit]) {
          const td = document.createElement("td");
          td.textContent = text;
          tr.appendChild(td);
        }
        return tr;
      });
      document.querySelector("#usage tbody").replaceChildren(...rows);
      document.getElementById("period-end").textContent = usage.period_ends;
      document.getElementById("chart-summary").textContent = usage.chart_summary;
      draw(usage.minutes);
    } catch (error) { /* the next refresh tries again */ }
  }
  refresh();
  setInterval(refresh, 2000);
})();
