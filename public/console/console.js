// The operator console: plain DOM, no framework, no CDN. Every value from the API is put in the page
// as text (never as HTML). The admin token lives in `token` (and in sessionStorage only if asked).

const $ = (id) => document.getElementById(id);
const STORE_KEY = "qrf-console-token";
let token = sessionStorage.getItem(STORE_KEY) ?? "";
let trailTimer = 0;

/** Calls the API with the token; resolves to parsed JSON (or null), throws an Error with the API's message. */
async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new Error("The service could not be reached.");
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = data?.error;
    throw new Error(err ? `${err.code}: ${err.message}` : `HTTP ${res.status}`);
  }
  return data;
}

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
/** A table cell; its column name is repeated inside it where the table is shown as cards (phones). */
const cell = (label, ...children) =>
  el("td", { dataset: { label } }, children.length > 1 ? [el("span", {}, children)] : children);
const exact = (ms) => `${new Date(ms).toLocaleString()} (${new Date(ms).toISOString()})`;
/** "3 min ago", "in 29 d": readable at a glance, the exact time in the title (hover or long-press). */
function ago(ms) {
  const s = Math.round((Date.now() - ms) / 1000);
  const a = Math.abs(s);
  const text =
    a < 60
      ? `${a} s`
      : a < 3600
        ? `${Math.round(a / 60)} min`
        : a < 86400
          ? `${Math.round(a / 3600)} h`
          : `${Math.round(a / 86400)} d`;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}
const when = (ms) => (ms ? el("time", { dateTime: new Date(ms).toISOString(), title: exact(ms) }, [ago(ms)]) : "never");
const showError = (id, err) => {
  $(id).textContent = err ? String(err.message ?? err) : "";
};

// --- connect -----------------------------------------------------------------------------------

$("connect").addEventListener("submit", async (e) => {
  e.preventDefault();
  token = $("token").value.trim();
  $("token").value = "";
  if ($("remember").checked) sessionStorage.setItem(STORE_KEY, token);
  await connect();
});
$("forget").addEventListener("click", () => {
  token = "";
  sessionStorage.removeItem(STORE_KEY);
  clearInterval(trailTimer);
  $("panels").hidden = true;
  $("forget").hidden = true;
});

async function connect() {
  showError("connect-error");
  try {
    await api("GET", "/cc/api/qrfallback/status");
  } catch (err) {
    showError("connect-error", err);
    return;
  }
  $("panels").hidden = false;
  $("forget").hidden = false;
  await loadStatus();
  await Promise.all([loadStats(), loadApps(), loadTokens(), loadHooks()]);
  await loadTrail();
  clearInterval(trailTimer);
  trailTimer = setInterval(async () => {
    loadTrail();
    await loadStatus();
    loadStats();
  }, 5000);
}

// --- attack mode -------------------------------------------------------------------------------

let attackOn = false;
async function loadStatus() {
  try {
    const s = await api("GET", "/cc/api/qrfallback/status");
    attackOn = s.attackMode.normalCodes.active;
    $("attack-state").className = attackOn ? "attack" : "";
    $("attack-state").replaceChildren(
      ...(attackOn
        ? ["ON, ends ", when(s.attackMode.normalCodes.until), ": normal-length codes are refused, new codes are long."]
        : [`Off. Normal-length codes are served (version ${s.version}).`]),
    );
  } catch (err) {
    $("attack-state").textContent = String(err.message);
  }
}

// --- applications ------------------------------------------------------------------------------

async function loadApps(extra) {
  showError("apps-error");
  try {
    const apps = (await api("GET", "/cc/api/application")).map((a) => a.appID);
    if (extra && !apps.includes(extra)) apps.push(extra);
    const settings = await Promise.all(
      apps.map((id) => api("GET", `/cc/api/application/${encodeURIComponent(id)}/qrfallback`)),
    );
    $("apps").replaceChildren(...settings.map(appRow));
    const filter = $("filter-app");
    const chosen = filter.value;
    filter.replaceChildren(
      el("option", { value: "" }, ["every application"]),
      ...apps.map((a) => el("option", { value: a }, [a])),
    );
    filter.value = apps.includes(chosen) ? chosen : "";
  } catch (err) {
    showError("apps-error", err);
  }
}

function appRow(s) {
  const enabled = el("input", { type: "checkbox", checked: s.enabled, title: "QR fallback codes offered" });
  const ttl = el("input", { type: "number", min: 60, max: 600, value: s.qrTtlSeconds, ariaLabel: "Lifetime (s)" });
  const url = el("input", { type: "url", value: s.rpUrl, ariaLabel: "Base URL" });
  const save = el("button", { type: "button", textContent: "Save" });
  const row = el("tr", { dataset: { app: s.appId } }, [
    cell("Application", el("strong", {}, [s.appId])),
    cell("Fallback", el("label", { className: "inline" }, [enabled, "on"])),
    cell("Lifetime (s)", ttl),
    cell("Base URL", url),
    cell("", save),
  ]);
  const put = async (body) => {
    showError("apps-error");
    try {
      await api("PUT", `/cc/api/application/${encodeURIComponent(s.appId)}/qrfallback`, body);
      await loadApps();
      await loadTrail();
    } catch (err) {
      showError("apps-error", err);
    }
  };
  // The toggle applies at once; lifetime and URL on Save (only what differs from what applies now).
  enabled.addEventListener("change", () => put({ enabled: enabled.checked }));
  save.addEventListener("click", () => {
    const body = {};
    if (Number(ttl.value) !== s.qrTtlSeconds) body.qrTtlSeconds = Number(ttl.value);
    if (url.value !== s.rpUrl) body.rpUrl = url.value;
    put(body);
  });
  return row;
}

$("add-app").addEventListener("submit", async (e) => {
  e.preventDefault();
  const id = $("new-app").value.trim();
  $("new-app").value = "";
  await loadApps(id);
});

// --- tokens ------------------------------------------------------------------------------------

async function loadTokens() {
  showError("tokens-error");
  try {
    const tokens = await api("GET", "/cc/api/tokens");
    $("tokens").replaceChildren(
      ...tokens.map((t) => {
        const revoke = el("button", { type: "button", className: "danger", textContent: "Revoke" });
        revoke.addEventListener("click", async () => {
          if (!confirm(`Revoke token ${t.id}? Every caller using it is refused within 9 seconds.`)) return;
          try {
            await api("DELETE", `/cc/api/tokens/${t.id}`);
            await loadTokens();
          } catch (err) {
            showError("tokens-error", err);
          }
        });
        return el("tr", { dataset: { token: t.id } }, [
          cell("Id", el("code", {}, [t.id])),
          cell("Application", t.rpAppId ?? "(every application)"),
          cell("Scopes", t.scopes.join(", ")),
          cell("Label", t.label),
          cell("Expires", when(t.expiresAt)),
          cell("", revoke),
        ]);
      }),
    );
  } catch (err) {
    showError("tokens-error", err);
  }
}

$("new-token").addEventListener("submit", async (e) => {
  e.preventDefault();
  showError("tokens-error");
  const scopes = [...document.querySelectorAll('input[name="scope"]:checked')].map((i) => i.value);
  const body = { scopes, label: $("token-label").value };
  const app = $("token-app").value.trim();
  if (app && !scopes.includes("admin")) body.rpAppId = app;
  if ($("token-days").value) body.expiresInDays = Number($("token-days").value);
  try {
    const made = await api("POST", "/cc/api/tokens", body);
    $("token-value").textContent = made.token;
    $("token-once").hidden = false;
    await loadTokens();
  } catch (err) {
    showError("tokens-error", err);
  }
});
$("token-dismiss").addEventListener("click", () => {
  $("token-value").textContent = "";
  $("token-once").hidden = true;
});

// --- event hooks -------------------------------------------------------------------------------

async function loadHooks() {
  try {
    const hooks = await api("GET", "/cc/api/eventhooks");
    $("hooks").replaceChildren(
      ...(hooks.length
        ? hooks.map((h) =>
            el("tr", {}, [
              cell("Name", h.name),
              cell("Events", h.eventType),
              cell("Application", h.rpAppId ?? "every application"),
              cell("Endpoint", el("span", { className: "url" }, [h.invocationEndpoint])),
              cell("Delivered", h.status.delivered),
              cell("Failed", h.status.failed),
              cell("Dead-lettered", h.status.deadLettered),
              cell(
                "Last error",
                ...(h.status.lastError ? [`${h.status.lastError} (`, when(h.status.lastErrorAt), ")"] : ["none"]),
              ),
            ]),
          )
        : [el("tr", {}, [el("td", { colSpan: 8 }, ["No event hooks."])])]),
    );
  } catch (err) {
    $("hooks").replaceChildren(el("tr", {}, [el("td", { colSpan: 8 }, [String(err.message)])]));
  }
}

// --- audit trail -------------------------------------------------------------------------------

function detailOf(e) {
  const x = e.additionalDetails?.extras ?? {};
  if (x.settingsAfter)
    return `by ${x.actorTokenId}: ${JSON.stringify(x.settingsBefore)} → ${JSON.stringify(x.settingsAfter)}`;
  if (x.tokenId) return `token ${x.tokenId} (${(x.scopes ?? []).join(", ")}) by ${x.actorTokenId}`;
  if (x.refusedCount) return `${x.refusedCount} refused from ${e.remoteIP}`;
  return e.message;
}

async function loadTrail() {
  const end = Date.now() + 1;
  const query = new URLSearchParams({
    startTSUTC: String(end - 3_600_000),
    endTSUTC: String(end),
    pageSize: "200",
    orderBy: "eventTimeInUTC",
    sortDir: "desc",
  });
  if ($("filter-app").value) query.set("rpAppId", $("filter-app").value);
  if ($("filter-event").value.trim()) query.set("eventName", $("filter-event").value.trim());
  try {
    const page = await api("GET", `/cc/api/versioned/audit/search?${query}`);
    const failuresOnly = $("filter-failures").checked;
    const rows = page.data.filter((e) => !failuresOnly || !e.isSuccessful);
    // Open details stay open across the 5 s refresh.
    const open = new Set([...document.querySelectorAll("#trail details[open]")].map((d) => d.dataset.id));
    $("trail").replaceChildren(
      ...rows.map((e) =>
        el("tr", { className: e.isSuccessful ? "" : "failed", dataset: { event: e.eventName, app: e.rpAppId ?? "" } }, [
          cell("Time", when(e.eventTimeInUTC)),
          cell("Event", e.eventName.replace(/^QR_FALLBACK_/, "")),
          cell("Application", e.rpAppId ?? ""),
          cell("Result", e.isSuccessful ? "ok" : (e.errorCode ?? "failed")),
          cell(
            "Detail",
            el("details", { open: open.has(e.id), dataset: { id: e.id } }, [
              el("summary", {}, [detailOf(e)]),
              el("pre", {}, [JSON.stringify(e, null, 2)]),
            ]),
          ),
        ]),
      ),
    );
    showError("trail-error");
  } catch (err) {
    showError("trail-error", err);
  }
}

// --- pictures: the last hour per minute (GET /cc/api/qrfallback/stats), plain SVG ------------------

const SVG = "http://www.w3.org/2000/svg";
const MINUTE = 60_000;
function svg(tag, attrs, children = []) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}
const titled = (text) => {
  const t = document.createElementNS(SVG, "title");
  t.textContent = text;
  return t;
};

/** Attack mode periods in the window, from its changes; before the first change the state is its opposite. */
function attackPeriods(s) {
  const periods = [];
  let since = (s.attackMode.length ? !s.attackMode[0].active : attackOn) ? s.from : null;
  for (const change of s.attackMode) {
    if (change.active && since === null) since = change.at;
    if (!change.active && since !== null) {
      periods.push([since, change.at]);
      since = null;
    }
  }
  if (since !== null) periods.push([since, s.to]);
  return periods;
}

/** Stacked bars, one a minute, over the shaded periods; each minute's counts in its title. */
function drawBars(box, s, minutes, series, periods) {
  const W = 600;
  const H = 100;
  const span = minutes.length * MINUTE;
  const barW = W / minutes.length;
  const max = Math.max(1, ...minutes.map((m) => series.reduce((n, [key]) => n + m[key], 0)));
  const x = (t) => ((t - s.from) / span) * W;
  const shaded = periods.map(([a, b]) =>
    svg("rect", { class: "attack-period", x: x(a), y: 0, width: Math.max(1, x(b) - x(a)), height: H }, [
      titled(`attack mode ${new Date(a).toLocaleTimeString()} – ${new Date(b).toLocaleTimeString()}`),
    ]),
  );
  const bars = minutes.map((m, i) => {
    let y = H;
    const rects = series.flatMap(([key]) => {
      if (!m[key]) return [];
      const h = (m[key] / max) * H;
      y -= h;
      return [svg("rect", { class: key, x: i * barW + 0.5, y, width: barW - 1, height: h })];
    });
    const label = series.map(([key, name]) => `${m[key]} ${name}`).join(", ");
    return svg("g", {}, [titled(`${new Date(m.minute).toLocaleTimeString()}: ${label}`), ...rects]);
  });
  box.replaceChildren(
    svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": box.id }, [
      ...shaded,
      ...bars,
    ]),
    el("span", { className: "max" }, [`${max}/min`]),
  );
}

async function loadStats() {
  try {
    const s = await api("GET", "/cc/api/qrfallback/stats");
    const counted = new Map(s.minutes.map((m) => [m.minute, m]));
    const minutes = [];
    for (let t = s.from; t <= s.to; t += MINUTE) {
      minutes.push(counted.get(t) ?? { minute: t, served: 0, failed: 0, refused: 0, created: 0 });
    }
    const sum = (key) => minutes.reduce((n, m) => n + m[key], 0);
    const lookups = [
      ["served", "served"],
      ["failed", "wrong or expired"],
      ["refused", "refused"],
    ];
    drawBars($("lookups-chart"), s, minutes, lookups, attackPeriods(s));
    drawBars($("creates-chart"), s, minutes, [["created", "created"]], []);
    $("lookups-total").textContent = `(${lookups.map(([k, name]) => `${sum(k)} ${name}`).join(", ")})`;
    $("creates-total").textContent = `(${sum("created")})`;
    showError("stats-error");
  } catch (err) {
    showError("stats-error", err);
  }
}

for (const id of ["filter-app", "filter-event", "filter-failures"]) $(id).addEventListener("change", loadTrail);
$("trail-filters").addEventListener("submit", (e) => {
  e.preventDefault();
  loadTrail();
});

if (token) connect();
