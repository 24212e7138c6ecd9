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
const cell = (...children) => el("td", {}, children);
const when = (ms) => (ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "never");
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
  await Promise.all([loadStatus(), loadApps(), loadTokens(), loadHooks()]);
  await loadTrail();
  clearInterval(trailTimer);
  trailTimer = setInterval(() => {
    loadTrail();
    loadStatus();
  }, 5000);
}

// --- attack mode -------------------------------------------------------------------------------

async function loadStatus() {
  try {
    const s = await api("GET", "/cc/api/qrfallback/status");
    const on = s.attackMode.normalCodes.active;
    $("attack-state").className = on ? "attack" : "";
    $("attack-state").textContent = on
      ? `ON until ${when(s.attackMode.normalCodes.until)}: normal-length codes are refused, new codes are long.`
      : `Off. Normal-length codes are served (version ${s.version}).`;
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
  const ttl = el("input", { type: "number", min: 60, max: 600, value: s.qrTtlSeconds });
  const url = el("input", { type: "url", value: s.rpUrl });
  const save = el("button", { type: "button", textContent: "Save" });
  const row = el("tr", { dataset: { app: s.appId } }, [
    cell(s.appId),
    cell(el("label", { className: "inline" }, [enabled, "on"])),
    cell(ttl),
    cell(url),
    cell(save),
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
          if (!confirm(`Revoke token ${t.id}? Every caller using it is refused within 10 seconds.`)) return;
          try {
            await api("DELETE", `/cc/api/tokens/${t.id}`);
            await loadTokens();
          } catch (err) {
            showError("tokens-error", err);
          }
        });
        return el("tr", { dataset: { token: t.id } }, [
          cell(el("code", {}, [t.id])),
          cell(t.rpAppId ?? "(every application)"),
          cell(t.scopes.join(", ")),
          cell(t.label),
          cell(t.expiresAt ? when(t.expiresAt) : "never"),
          cell(revoke),
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
              cell(h.name),
              cell(h.eventType),
              cell(h.rpAppId ?? "every application"),
              cell(h.invocationEndpoint),
              cell(h.status.delivered),
              cell(h.status.failed),
              cell(h.status.deadLettered),
              cell(h.status.lastError ? `${h.status.lastError} (${when(h.status.lastErrorAt)})` : "none"),
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
    $("trail").replaceChildren(
      ...rows.map((e) =>
        el("tr", { className: e.isSuccessful ? "" : "failed", dataset: { event: e.eventName, app: e.rpAppId ?? "" } }, [
          cell(when(e.eventTimeInUTC)),
          cell(e.eventName),
          cell(e.rpAppId ?? ""),
          cell(e.isSuccessful ? "ok" : (e.errorCode ?? "failed")),
          cell(detailOf(e)),
        ]),
      ),
    );
    showError("trail-error");
  } catch (err) {
    showError("trail-error", err);
  }
}

for (const id of ["filter-app", "filter-event", "filter-failures"]) $(id).addEventListener("change", loadTrail);
$("trail-filters").addEventListener("submit", (e) => {
  e.preventDefault();
  loadTrail();
});

if (token) connect();
